//! The session observer: attached to Chromium over DevTools on every page, popup, frame and
//! worker from its first request (auto-attach, each new target held until Network is on), it
//! feeds the pipeline, writes every request in batches and publishes failures on the session's
//! event stream.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::{broadcast, mpsc, Notify};
use tokio::task::JoinHandle;

use super::attribution::Attribution;
use super::pipeline::{notable, Pipeline};
use super::writer::{OutcomeWriter, WriterConfig};
use crate::browser::devtools::{Cdp, CdpError, CdpEvent};
use crate::events::{EventBus, SessionRecord};
use crate::guard::intercept::{attach_target, detach_target, SharedInterception};
use crate::guard::Guard;
use crate::rules::TemplateRules;
use crate::store::Store;

/// How long `open` waits for a tab to be attached.
const ATTACH_TIMEOUT: Duration = Duration::from_secs(10);

/// How long `Observer::finish` waits for the observer to end with the browser and write its
/// last records before it warns (and goes on waiting).
pub(crate) const FINISH_WITHIN: Duration = Duration::from_secs(5);

/// What the observer needs to know about its session.
#[derive(Debug, Clone)]
pub struct ObserverConfig {
    pub writer: WriterConfig,
    pub exit_url: String,
    pub egress_ip: Option<String>,
    pub rules: TemplateRules,
    /// The guard's part; `None` leaves every request alone.
    pub guard: Option<crate::guard::GuardConfig>,
}

/// Pages whose observing commands were sent (in order, ahead of anything else sent to them):
/// target id → session id.
#[derive(Debug)]
pub(super) struct ReadyPages {
    pages: Mutex<HashMap<String, String>>,
    changed: Notify,
    /// Set once a page has answered its observing commands (its renderer runs).
    resumed: tokio::sync::watch::Sender<bool>,
    /// Set once an extension's background context (service worker, background page) has run
    /// its start-up script.
    extension_started: tokio::sync::watch::Sender<bool>,
}

impl Default for ReadyPages {
    fn default() -> Self {
        Self {
            pages: Mutex::default(),
            changed: Notify::new(),
            resumed: tokio::sync::watch::Sender::new(false),
            extension_started: tokio::sync::watch::Sender::new(false),
        }
    }
}

/// A page the observer is attached to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Page {
    /// Also the id of its main frame.
    pub target: String,
    pub session: String,
}

impl ReadyPages {
    fn add(&self, target: String, session: String) {
        if let Ok(mut p) = self.pages.lock() {
            p.insert(target, session);
        }
        self.changed.notify_waiters();
    }

    /// Forgets the page of a detached session (a closed tab).
    fn detached(&self, session: &str) {
        if let Ok(mut p) = self.pages.lock() {
            p.retain(|_, s| s != session);
        }
    }

    /// `target` (any page with `None`), once ready.
    pub(super) async fn wait(&self, target: Option<&str>) -> Option<Page> {
        let find = || {
            let p = self.pages.lock().ok()?;
            let (target, session) = match target {
                Some(t) => p.get_key_value(t)?,
                None => p.iter().next()?,
            };
            Some(Page {
                target: target.clone(),
                session: session.clone(),
            })
        };
        tokio::time::timeout(ATTACH_TIMEOUT, async {
            loop {
                let notified = self.changed.notified();
                if let Some(s) = find() {
                    return s;
                }
                notified.await;
            }
        })
        .await
        .ok()
    }
}

/// A running observer.
#[derive(Debug)]
pub struct Observer {
    cdp: Cdp,
    ready: Arc<ReadyPages>,
    task: JoinHandle<u64>,
    /// The task's result once `ended` saw it finish.
    done: Option<u64>,
}

impl Observer {
    /// Takes the browser's DevTools connection and starts attaching to every target.
    pub fn attach(
        cdp: Cdp,
        events: mpsc::UnboundedReceiver<CdpEvent>,
        store: Store,
        bus: &EventBus,
        config: ObserverConfig,
    ) -> Self {
        let ready = Arc::new(ReadyPages::default());
        let pipeline = Pipeline::new(
            config.rules,
            Attribution::new(&config.exit_url, config.egress_ip),
        );
        let mut guard = config
            .guard
            .and_then(|g| Guard::new(g, store.clone(), bus.clone()));
        // Targets attached from now on get Fetch before they run while a window is open (one
        // may be open already: an egress change in the previous session); `run` follows it.
        let fetch = guard.as_mut().map(|g| (g.start(), g.fetch_params()));
        let writer = OutcomeWriter::spawn(store, config.writer);
        let task = tokio::spawn(run(
            cdp.clone(),
            events,
            bus.clone(),
            bus.subscribe(),
            pipeline,
            writer,
            ready.clone(),
            guard,
            fetch,
        ));
        // Not awaited: sent now, they wait in the pipe until DevTools is up and run before
        // anything sent later. A failure leaves no page attached, which `open` reports.
        let discover = cdp.begin(
            None,
            "Target.setDiscoverTargets",
            json!({ "discover": true }),
        );
        let attach = cdp.begin(None, "Target.setAutoAttach", auto_attach());
        tokio::spawn(async move {
            if let Err(e) = discover.await.and(attach.await) {
                tracing::error!("the session observer cannot attach to the browser's targets: {e}");
            }
        });
        Self {
            cdp,
            ready,
            task,
            done: None,
        }
    }

    /// Opens the start URLs: the first in the browser's first tab, the others in new tabs —
    /// each only once the observer is attached to it, so its first request is seen. Returns
    /// once every page has its answer (committed, or failed: a failure is logged, the observer
    /// records its requests like any other).
    pub async fn open(&self, urls: &[String]) -> Result<(), CdpError> {
        let mut navigations = Vec::new();
        for (i, url) in urls.iter().enumerate() {
            let page = if i == 0 {
                self.ready.wait(None).await
            } else {
                let target = self
                    .cdp
                    .create_target(json!({ "url": "about:blank" }))
                    .await?;
                self.ready.wait(Some(&target)).await
            };
            let Some(page) = page else {
                return Err(CdpError::Command {
                    method: "Target.attachedToTarget".to_owned(),
                    message: format!("no tab was attached within {ATTACH_TIMEOUT:?}"),
                });
            };
            // Under way at once; their answers are awaited together.
            navigations.push(self.cdp.begin(
                Some(&page.session),
                "Page.navigate",
                json!({ "url": url }),
            ));
        }
        for nav in navigations {
            if let Some(e) = nav.await?.get("errorText").and_then(Value::as_str) {
                tracing::warn!("a start URL did not open: {e}");
            }
        }
        Ok(())
    }

    /// Resolves once the first tab is attached (its observing commands sent).
    pub async fn first_tab(&self) {
        self.ready.wait(None).await;
    }

    /// Resolves once a tab has answered its observing commands, i.e. its renderer runs (for the
    /// launch's timing breakdown).
    pub fn first_tab_resumed(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut resumed = self.ready.resumed.subscribe();
        async move {
            let _ = resumed.wait_for(|r| *r).await;
        }
    }

    /// Resolves once an extension's background context has run its start-up script, or after
    /// `wait` (a profile whose extensions have no background context starts none). An
    /// extension that switches the proxy at start-up does so about then, so a check of the
    /// browser's egress in a tab opened afterwards sees it.
    pub async fn extension_started(&self, wait: Duration) {
        let mut started = self.ready.extension_started.subscribe();
        let _ = tokio::time::timeout(wait, started.wait_for(|s| *s)).await;
    }

    /// A handle that asks the browser itself for its egress (see [`BrowserProbe`]).
    pub fn probe(&self) -> super::browser_egress::BrowserProbe {
        super::browser_egress::BrowserProbe {
            cdp: self.cdp.clone(),
            ready: self.ready.clone(),
        }
    }

    /// Resolves when the observer has ended (normally: the browser went; otherwise the session
    /// is blind). Pending forever once it has been seen ending.
    pub async fn ended(&mut self) {
        if self.done.is_some() {
            return std::future::pending().await;
        }
        let result = (&mut self.task).await;
        if let Err(e) = &result {
            tracing::error!("the session observer failed: {e}");
        }
        self.done = Some(result.unwrap_or(0));
    }

    /// Waits for the observer to end (it ends when the browser goes) and its last records to be
    /// written; returns how many requests were written in all.
    pub async fn finish(mut self) -> u64 {
        if let Some(n) = self.done {
            return n;
        }
        if let Ok(done) = tokio::time::timeout(FINISH_WITHIN, &mut self.task).await {
            return done.unwrap_or(0);
        }
        tracing::warn!("the session observer did not end with the browser");
        self.task.await.unwrap_or(0)
    }
}

fn auto_attach() -> Value {
    json!({ "autoAttach": true, "waitForDebuggerOnStart": true, "flatten": true })
}

#[allow(clippy::too_many_arguments)]
async fn run(
    cdp: Cdp,
    mut events: mpsc::UnboundedReceiver<CdpEvent>,
    bus: EventBus,
    mut session_events: broadcast::Receiver<SessionRecord>,
    mut pipeline: Pipeline,
    writer: OutcomeWriter,
    ready: Arc<ReadyPages>,
    mut guard: Option<Guard>,
    fetch: Option<(SharedInterception, Value)>,
) -> u64 {
    let mut bus_open = true;
    let mut dropped_told = 0;
    // Windows also close by time alone: look again every second (and tell of dropped records).
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if let Some(g) = guard.as_mut() {
                    g.sync(&cdp);
                }
                let dropped = writer.dropped();
                if dropped > dropped_told {
                    tracing::warn!(count = dropped - dropped_told, "request records dropped: the health writer fell behind");
                    bus.publish(crate::events::SessionEvent::RecordsDropped { count: dropped - dropped_told });
                    dropped_told = dropped;
                }
            }
            ev = events.recv() => {
                let Some(ev) = ev else { break };
                if ev.method == "Target.attachedToTarget" {
                    attached(&cdp, &ev, &ready, fetch.clone());
                }
                if ev.method == "Target.detachedFromTarget" {
                    if let Some(s) = ev.params.get("sessionId").and_then(Value::as_str) {
                        ready.detached(s);
                        if let Some((shared, _)) = &fetch {
                            detach_target(shared, s);
                        }
                    }
                }
                if ev.method == "Fetch.requestPaused" {
                    if let Some(g) = guard.as_mut() {
                        g.on_paused(&cdp, &ev);
                    }
                    continue;
                }
                if let Some(record) = pipeline.on_cdp(&ev) {
                    if let Some(event) = notable(&record) {
                        bus.publish(event);
                    }
                    writer.push(record);
                }
            }
            rec = session_events.recv(), if bus_open => match rec {
                Ok(rec) => {
                    if let Some(g) = guard.as_mut() {
                        if g.on_session(&rec) {
                            g.sync(&cdp);
                        }
                    }
                    pipeline.on_session(&rec);
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(lost = n, "observer fell behind the session's events");
                }
                Err(broadcast::error::RecvError::Closed) => bus_open = false,
            },
        }
    }
    tracing::debug!(
        in_flight = pipeline.in_flight(),
        "DevTools connection closed; observer ends"
    );
    if let Some(g) = &guard {
        g.finish();
    }
    writer.finish().await
}

/// A new target: turn Network on (pages, frames, workers), attach to its own children, then let
/// it run. Done off the event loop so events keep flowing meanwhile.
fn attached(
    cdp: &Cdp,
    ev: &CdpEvent,
    ready: &Arc<ReadyPages>,
    fetch: Option<(SharedInterception, Value)>,
) {
    let Some(session) = ev.params.get("sessionId").and_then(Value::as_str) else {
        return;
    };
    let info = ev.params.get("targetInfo");
    let kind = info
        .and_then(|i| i.get("type"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let target = info
        .and_then(|i| i.get("targetId"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let extension = matches!(kind, "service_worker" | "background_page")
        && info
            .and_then(|i| i.get("url"))
            .and_then(Value::as_str)
            .is_some_and(|u| u.starts_with("chrome-extension://"));
    let (cdp, ready, session, kind) = (
        cdp.clone(),
        ready.clone(),
        session.to_owned(),
        kind.to_owned(),
    );
    tokio::spawn(async move {
        let observed = matches!(
            kind.as_str(),
            "page" | "iframe" | "worker" | "shared_worker" | "service_worker"
        );
        // Sent back to back (the browser handles a session's commands in order, so all are in
        // effect before the target runs) and awaited together: during the browser's start the
        // answers take up to a hundred milliseconds (they wait for the page's renderer).
        let mut steps = Vec::new();
        if observed {
            steps.push((
                "Network.enable",
                cdp.begin(Some(&session), "Network.enable", json!({})),
            ));
            if kind == "page" || kind == "iframe" {
                steps.push((
                    "Target.setAutoAttach",
                    cdp.begin(Some(&session), "Target.setAutoAttach", auto_attach()),
                ));
            }
            // The guard: in a risk window, sensitive requests pause from this target's first.
            if let Some((shared, params)) = &fetch {
                if attach_target(shared, &session) {
                    steps.push((
                        "Fetch.enable",
                        cdp.begin(Some(&session), "Fetch.enable", params.clone()),
                    ));
                }
            }
        }
        let resume = cdp.begin(Some(&session), "Runtime.runIfWaitingForDebugger", json!({}));
        // Ready now, not at the answers: whatever is sent to this target from here on reaches
        // the browser after these commands, and a page's session handles them in order (the
        // browser-side Network and Fetch handlers at once, before it dispatches anything later),
        // so the first request of a navigation sent next is seen. The answers come only once
        // the page's renderer runs.
        if kind == "page" {
            ready.add(target, session.clone());
        }
        for (method, step) in steps {
            if let Err(e) = step.await {
                tracing::debug!(%kind, "{method} failed: {e}");
            }
        }
        let resumed = resume.await.is_ok();
        if resumed && kind == "page" {
            ready.resumed.send_replace(true);
        }
        if resumed && extension {
            // Answered on the context's own thread once its start-up script has run. (A
            // promise awaiting a timer here is never answered in a service worker.)
            let turn = cdp
                .call(
                    Some(&session),
                    "Runtime.evaluate",
                    json!({ "expression": "0" }),
                )
                .await;
            tracing::debug!(
                ok = turn.is_ok(),
                "an extension's background context started"
            );
            ready.extension_started.send_replace(true);
        }
    });
}
