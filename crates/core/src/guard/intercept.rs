//! The guard inside a session. While a risk window is open, Chromium pauses requests that match
//! a sensitive-action rule (`Fetch.enable` with the rules' URL patterns, so no other request is
//! ever paused); a paused request whose method matches too is held — recorded, decided
//! by the app's prompt, the policy or the timeout — and then continued or cancelled with a page
//! that says why. Outside a window Fetch is off: Chromium then routes no request through DevTools
//! interception at all (measured: with Fetch on, even requests matching no pattern take longer),
//! so requests are untouched.
//!
//! Fetch is enabled per target (each page, out-of-process frame and worker session), not
//! browser-wide: a browser-wide enable made at run time does not reach the subresource requests
//! of documents already loaded (seen: a `fetch()` POST went through unpaused), a per-target one
//! does. New targets get it before they run while a window is open.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use chrono::Utc;
use serde::Deserialize;
use serde_json::{json, Value};

use super::audit as holds;
use super::hold::{Broker, DecidedBy, Decision, PendingHold, Policy};
use super::risk::{evaluate, RiskConfig, RiskReason, RiskState, RISK_KINDS};
use crate::browser::devtools::{Cdp, CdpEvent};
use crate::events::{EventBus, SessionEvent, SessionRecord};
use crate::rules::clean_url;
use crate::rules::sensitive::{matching, SensitiveRule};
use crate::store::{self, Store};

pub use crate::events::GUARD_HEADER;
/// Events kept for the risk window (its longest look-back is a day).
const MAX_HISTORY: usize = 20_000;

/// What the guard of one session needs.
#[derive(Debug, Clone)]
pub struct GuardConfig {
    pub template_id: String,
    pub template_name: String,
    pub session_id: String,
    pub rules: Vec<SensitiveRule>,
    pub risk: RiskConfig,
    pub policy: Policy,
    pub prompt_timeout: Duration,
    pub broker: Arc<Broker>,
    /// The template's stored events of the last day, oldest first (an egress change in the
    /// previous session still counts).
    pub history: Vec<SessionRecord>,
}

/// The targets Fetch is enabled on, shared with the observer's attach tasks.
#[derive(Debug, Default)]
pub struct Interception {
    /// Whether Fetch is (to be) on in every target.
    on: bool,
    /// Sessions of the attached targets that can intercept.
    sessions: HashSet<String>,
}

/// Shared between the guard and the observer's attach tasks.
pub type SharedInterception = Arc<Mutex<Interception>>;

/// Registers a new target; true if Fetch must be enabled in it before it runs.
pub fn attach_target(shared: &SharedInterception, session: &str) -> bool {
    shared.lock().is_ok_and(|mut i| {
        i.sessions.insert(session.to_owned());
        i.on
    })
}

/// Forgets a target that went away.
pub fn detach_target(shared: &SharedInterception, session: &str) {
    if let Ok(mut i) = shared.lock() {
        i.sessions.remove(session);
    }
}

/// The guard of one session.
#[derive(Debug)]
pub struct Guard {
    holds: Arc<Holds>,
    events: VecDeque<SessionRecord>,
    /// Where Fetch is on (while a window is open, or a hold waits).
    interception: SharedInterception,
}

/// What the guard shares with its hold tasks.
#[derive(Debug)]
struct Holds {
    config: GuardConfig,
    store: Store,
    bus: EventBus,
    /// Holds not yet answered: Fetch stays on until they are (disabling it would release them).
    in_flight: AtomicUsize,
    /// Holds put to the prompt and not yet answered, withdrawn when the session ends.
    asked: Mutex<HashSet<i64>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Paused {
    request_id: String,
    request: PausedRequest,
    #[serde(default)]
    resource_type: String,
}

#[derive(Deserialize)]
struct PausedRequest {
    url: String,
    method: String,
}

impl Guard {
    /// A guard for a session; `None` when the template has no sensitive-action rules.
    pub fn new(mut config: GuardConfig, store: Store, bus: EventBus) -> Option<Self> {
        if config.rules.is_empty() {
            return None;
        }
        let mut events = VecDeque::new();
        for r in std::mem::take(&mut config.history) {
            let _ = keep(&mut events, r);
        }
        Some(Self {
            holds: Arc::new(Holds {
                config,
                store,
                bus,
                in_flight: AtomicUsize::new(0),
                asked: Mutex::default(),
            }),
            events,
            interception: Arc::default(),
        })
    }

    /// Turns Fetch interception on in every target when a window opened, off when it closed
    /// and no hold waits (disabling would release a held request). Called for each new session
    /// event and once a second (windows close by time). Commands on one websocket keep their
    /// order, so fire-and-forget is safe here.
    pub fn sync(&mut self, cdp: &Cdp) {
        let open = self.risk().open;
        let idle = self.holds.in_flight.load(Ordering::SeqCst) == 0;
        let Ok(mut i) = self.interception.lock() else {
            return;
        };
        if open && !i.on {
            tracing::info!("risk window open: holding sensitive actions");
            i.on = true;
            let params = self.fetch_params();
            for s in &i.sessions {
                cdp.fire(Some(s), "Fetch.enable", params.clone());
            }
        } else if !open && i.on && idle {
            tracing::info!("risk window closed: sensitive actions pass");
            i.on = false;
            for s in &i.sessions {
                cdp.fire(Some(s), "Fetch.disable", json!({}));
            }
        }
    }

    /// At attach: the interception state the observer's attach tasks share, on from the start
    /// if a window is open already (an egress change in the previous session).
    pub fn start(&mut self) -> SharedInterception {
        let open = self.risk().open;
        if let Ok(mut i) = self.interception.lock() {
            i.on = open;
        }
        self.interception.clone()
    }

    /// `Fetch.enable` parameters: pause only requests whose URL matches a rule, before they are
    /// sent. Chromium matches these patterns case-sensitively; the rule itself (case-insensitive,
    /// with its methods) is checked again on each paused request.
    pub fn fetch_params(&self) -> Value {
        let mut urls: Vec<&str> = self
            .holds
            .config
            .rules
            .iter()
            .map(|r| r.url.as_str())
            .collect();
        urls.sort_unstable();
        urls.dedup();
        let patterns: Vec<Value> = urls
            .into_iter()
            .map(|u| json!({ "urlPattern": u, "requestStage": "Request" }))
            .collect();
        json!({ "patterns": patterns })
    }

    /// Keeps what the risk window is computed from; true if it may have changed the window.
    pub fn on_session(&mut self, record: &SessionRecord) -> bool {
        keep(&mut self.events, record.clone())
    }

    /// The risk window now.
    pub fn risk(&mut self) -> RiskState {
        evaluate(
            self.events.make_contiguous(),
            Utc::now(),
            &self.holds.config.risk,
        )
    }

    /// A `Fetch.requestPaused` event: continued at once, or held on its own task.
    pub fn on_paused(&mut self, cdp: &Cdp, ev: &CdpEvent) {
        let Ok(p) = Paused::deserialize(&ev.params) else {
            return;
        };
        let session = ev.session_id.clone();
        let url = clean_url(&p.request.url).map_or_else(
            || crate::rules::cap(&p.request.url, crate::rules::MAX_STORED).into_owned(),
            |(u, _)| u,
        );
        let rule = matching(&self.holds.config.rules, &p.request.method, &url).cloned();
        // The window only matters (and is only computed) for a request that matches a rule.
        let risk = rule.as_ref().map(|_| self.risk()).filter(|r| r.open);
        let (Some(rule), Some(risk)) = (rule, risk) else {
            cdp.fire(
                session.as_deref(),
                "Fetch.continueRequest",
                json!({ "requestId": p.request_id }),
            );
            return;
        };
        let held = Held {
            fetch_id: p.request_id,
            session,
            document: p.resource_type == "Document",
            action: rule.action,
            method: p.request.method,
            url,
            reasons: risk.reasons,
        };
        let (holds, cdp) = (self.holds.clone(), cdp.clone());
        holds.in_flight.fetch_add(1, Ordering::SeqCst);
        tokio::spawn(async move {
            hold(&holds, &cdp, held).await;
            holds.in_flight.fetch_sub(1, Ordering::SeqCst);
        });
    }

    /// The browser went: takes this session's holds off the prompt (their requests died with it).
    pub fn finish(&self) {
        let ids: Vec<i64> = self
            .holds
            .asked
            .lock()
            .map(|mut a| a.drain().collect())
            .unwrap_or_default();
        for id in ids {
            self.holds.config.broker.withdraw(id);
        }
    }
}

/// Keeps the events the risk window reads, bounded; true if `r` was one.
fn keep(events: &mut VecDeque<SessionRecord>, r: SessionRecord) -> bool {
    if !RISK_KINDS.contains(&r.event.kind()) {
        return false;
    }
    if events.len() >= MAX_HISTORY {
        events.pop_front();
    }
    events.push_back(r);
    true
}

/// A request being held.
#[derive(Debug)]
struct Held {
    fetch_id: String,
    session: Option<String>,
    document: bool,
    action: String,
    method: String,
    url: String,
    reasons: Vec<RiskReason>,
}

/// Ids for holds whose audit record could not be written (negative: never a row id).
static UNRECORDED: AtomicI64 = AtomicI64::new(-1);

async fn hold(ctx: &Holds, cdp: &Cdp, h: Held) {
    let (config, store, asked) = (&ctx.config, &ctx.store, &ctx.asked);
    let now = Utc::now();
    let held_at = store::timestamp(now);
    let id = record(ctx, &h, &held_at).await;
    tracing::info!(id, action = %h.action, url = %h.url, "holding a sensitive request");
    let (decision, by) = if config.broker.is_interactive() {
        let deadline = now
            + chrono::Duration::from_std(config.prompt_timeout).unwrap_or(chrono::Duration::MAX);
        let answer = config.broker.ask(PendingHold {
            id,
            template: config.template_name.clone(),
            action: h.action.clone(),
            method: h.method.clone(),
            url: h.url.clone(),
            reasons: h.reasons.clone(),
            held_at: held_at.clone(),
            deadline: store::timestamp(deadline),
        });
        if let Ok(mut a) = asked.lock() {
            a.insert(id);
        }
        let answered = tokio::time::timeout(config.prompt_timeout, answer).await;
        if let Ok(mut a) = asked.lock() {
            a.remove(&id);
        }
        match answered {
            Ok(Ok(d)) => (d, DecidedBy::App),
            // Withdrawn: the session ended while it waited; the request died with the browser.
            Ok(Err(_)) => (Decision::Cancel, DecidedBy::SessionEnded),
            // No answer means Cancel.
            Err(_) => {
                config.broker.withdraw(id);
                (Decision::Cancel, DecidedBy::Timeout)
            }
        }
    } else {
        match config.policy {
            Policy::Allow => (Decision::Proceed, DecidedBy::Policy),
            Policy::Block => (Decision::Cancel, DecidedBy::Policy),
        }
    };
    if id >= 0 {
        let at = store::timestamp(Utc::now());
        let written = match store.pool().acquire().await {
            Ok(mut conn) => holds::decide(&mut conn, id, decision, by, &at).await,
            Err(e) => Err(e.into()),
        };
        if let Err(e) = written {
            tracing::warn!(id, "cannot record the guard's decision: {e}");
        }
    }
    ctx.bus.publish(SessionEvent::RequestHeld {
        action: h.action.clone(),
        method: h.method.clone(),
        url: h.url.clone(),
        decision,
        decided_by: by,
    });
    let answered = match decision {
        Decision::Proceed => {
            cdp.call(
                h.session.as_deref(),
                "Fetch.continueRequest",
                json!({ "requestId": h.fetch_id }),
            )
            .await
        }
        Decision::Cancel if h.document => {
            let page = blocked_page(&h, by);
            cdp.call(
                h.session.as_deref(),
                "Fetch.fulfillRequest",
                json!({
                    "requestId": h.fetch_id,
                    "responseCode": 403,
                    "responseHeaders": [
                        { "name": "content-type", "value": "text/html; charset=utf-8" },
                        { "name": "cache-control", "value": "no-store" },
                        { "name": GUARD_HEADER, "value": "cancelled" },
                    ],
                    "body": base64::engine::general_purpose::STANDARD.encode(page),
                }),
            )
            .await
        }
        Decision::Cancel => {
            cdp.call(
                h.session.as_deref(),
                "Fetch.failRequest",
                json!({ "requestId": h.fetch_id, "errorReason": "BlockedByClient" }),
            )
            .await
        }
    };
    if let Err(e) = answered {
        // The tab or the browser went meanwhile: the request never left either way.
        tracing::debug!(id, "answering a held request failed: {e}");
    }
}

/// Writes the audit record; a write failure must not lose the hold itself.
async fn record(ctx: &Holds, h: &Held, held_at: &str) -> i64 {
    let config = &ctx.config;
    let new = holds::NewHold {
        held_at,
        template_id: &config.template_id,
        template_name: &config.template_name,
        session_id: &config.session_id,
        action: &h.action,
        method: &h.method,
        url: &h.url,
        reasons: &h.reasons,
    };
    let written = match ctx.store.pool().acquire().await {
        Ok(mut conn) => holds::insert(&mut conn, &new).await,
        Err(e) => Err(e.into()),
    };
    written.unwrap_or_else(|e| {
        tracing::warn!("cannot write the guard's audit record: {e}");
        UNRECORDED.fetch_sub(1, Ordering::Relaxed)
    })
}

/// The page a cancelled navigation shows instead of the site's answer.
fn blocked_page(h: &Held, by: DecidedBy) -> String {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let why = match by {
        DecidedBy::App => "you chose Cancel in Holdfast",
        DecidedBy::Timeout => "no one answered Holdfast's prompt in time",
        DecidedBy::Policy => "the guard policy blocks sensitive actions during a risk window",
        DecidedBy::SessionEnded => "the session ended while it was held",
    };
    let reasons: String = h
        .reasons
        .iter()
        .map(|r| format!("<li>{}</li>", esc(&r.detail)))
        .collect();
    format!(
        "<!doctype html><meta charset=utf-8><title>Held by Holdfast</title>\
         <body style=\"font-family:sans-serif;max-width:40em;margin:3em auto\">\
         <h1 id=holdfast-blocked>Cancelled by Holdfast</h1>\
         <p>This {action} request was <b>not sent</b>: {why}.</p>\
         <p><code>{method} {url}</code></p>\
         <p>The session is in a risk window:</p><ul>{reasons}</ul>\
         <p>Wait for the window to close, or try again and choose Proceed.</p>",
        action = esc(&h.action),
        method = esc(&h.method),
        url = esc(&h.url),
    )
}
