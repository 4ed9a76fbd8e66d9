//! Sessions launched by this process for a long-lived face (the app, the local API): kept so
//! they live as long as the process (dropping one would end it), stopped cleanly through their
//! own handle, and the launch progress stream those faces forward.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde::Serialize;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, Mutex};
use ts_rs::TS;

use super::{LaunchOptions, LaunchProgress, Launched, Service, Session, SessionInfo};
use crate::context::Context;
use crate::error::Result;
use crate::events::{SessionRecord, RISK_KINDS};
use crate::guard::{PendingHold, RiskReason};

/// What the faces' event streams (the API's `/v1/events`) carry about the sessions this
/// process keeps.
#[derive(Debug, Clone, Serialize, TS, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
#[ts(export)]
pub enum KeptEvent {
    /// A session was launched.
    Launched {
        template: String,
        session: SessionInfo,
    },
    /// One event of a running session (egress change, failures, holds decided, browser exit…).
    Session {
        template: String,
        record: SessionRecord,
    },
    /// The template's risk window opened (sensitive actions are held from now on).
    RiskOpened {
        template: String,
        reasons: Vec<RiskReason>,
    },
    /// The template's risk window closed.
    RiskClosed { template: String },
    /// A sensitive request is held until answered (`POST /v1/holds/{id}`) or its deadline.
    HoldWaiting { hold: PendingHold },
    /// A session ended: `expected` when a stop was asked for, not when the browser exited or
    /// Holdfast ended it (an alert for the operator).
    Ended { template: String, expected: bool },
}

/// What the operator is told about at once (a desktop notification): which account, what kind
/// of trouble, a title and a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub template: String,
    /// `risk_opened`, `exit_failing`, `hold_waiting` or `ended_unexpectedly`.
    pub kind: &'static str,
    pub title: String,
    pub body: String,
}

impl KeptEvent {
    /// The alert this event raises, if it is one the operator must see even when not looking:
    /// a risk window opening (a failure spike reads as the exit failing), a held request, a
    /// session that ended without being asked to.
    pub fn alert(&self) -> Option<Alert> {
        match self {
            Self::RiskOpened { template, reasons } => {
                let spike = reasons
                    .iter()
                    .any(|r| r.kind == crate::guard::RiskKind::FailureSpike);
                let body = reasons
                    .iter()
                    .map(|r| r.detail.as_str())
                    .collect::<Vec<_>>()
                    .join("; ");
                Some(if spike {
                    Alert {
                        template: template.clone(),
                        kind: "exit_failing",
                        title: format!("{template}: its exit is failing"),
                        body: format!("Sensitive actions are held. {body}"),
                    }
                } else {
                    Alert {
                        template: template.clone(),
                        kind: "risk_opened",
                        title: format!("{template}: risk window open"),
                        body: format!("Sensitive actions are held. {body}"),
                    }
                })
            }
            Self::HoldWaiting { hold } => Some(Alert {
                template: hold.template.clone(),
                kind: "hold_waiting",
                title: format!("{}: {} is held", hold.template, hold.action),
                body: format!("{} {} waits for your answer", hold.method, hold.url),
            }),
            Self::Ended {
                template,
                expected: false,
            } => Some(Alert {
                template: template.clone(),
                kind: "ended_unexpectedly",
                title: format!("{template}: session ended"),
                body: "The browser exited or Holdfast ended the session; nobody asked it to stop."
                    .to_owned(),
            }),
            _ => None,
        }
    }
}

/// Risk inputs kept per forwarded session.
const MAX_HISTORY: usize = 4096;

/// How often an open risk window is looked at again (it closes by time passing, too).
const RISK_RECHECK: Duration = Duration::from_secs(5);

/// Sessions launched by this process for a long-lived face (the app, the local API), kept so
/// they live as long as the process, by template id, and where their launch progress goes.
#[derive(Debug, Clone)]
pub struct Kept {
    sessions: Arc<Mutex<HashMap<String, Session>>>,
    /// Sessions being stopped by one request, by template id: another stop of the same
    /// session waits for that one (changed only under the `sessions` lock).
    stopping: Arc<std::sync::Mutex<HashMap<String, Stopping>>>,
    /// Template ids whose launch is under way in this process (the fleet's "starting").
    launching: Arc<std::sync::Mutex<HashMap<String, ()>>>,
    progress: broadcast::Sender<LaunchProgress>,
    events: broadcast::Sender<KeptEvent>,
}

impl Default for Kept {
    fn default() -> Self {
        Self {
            sessions: Arc::default(),
            stopping: Arc::default(),
            launching: Arc::default(),
            progress: broadcast::channel(64).0,
            events: broadcast::channel(256).0,
        }
    }
}

impl Kept {
    /// Template ids whose launch is under way in this process.
    pub fn launching(&self) -> std::collections::HashSet<String> {
        lock(&self.launching).keys().cloned().collect()
    }

    /// Tells the event streams that a hold waits (the face that answers holds calls this).
    pub fn hold_waiting(&self, hold: &PendingHold) {
        let _ = self
            .events
            .send(KeptEvent::HoldWaiting { hold: hold.clone() });
    }
}

impl Service<'_> {
    /// Launches a template's browser and keeps the session in this process; each step goes to
    /// [`Service::launch_progress`].
    pub async fn launch_kept(&self, name: &str, options: LaunchOptions) -> Result<Launched> {
        let tx = self.kept.progress.clone();
        let emit = move |p: &LaunchProgress| {
            // Nobody listening is fine.
            let _ = tx.send(p.clone());
        };
        let id = self.template(name).await?.id;
        let session = {
            let _starting = Listed::insert(&self.kept.launching, &id, ());
            self.launch(name, options, &emit).await?
        };
        let out = session.launched();
        let _ = self.kept.events.send(KeptEvent::Launched {
            template: out.session.template.clone(),
            session: out.session.clone(),
        });
        tokio::spawn(forward(
            self.ctx.clone(),
            out.session.template.clone(),
            out.session.template_id.clone(),
            session.subscribe(),
            session.stopper().subscribe(),
            self.kept.events.clone(),
        ));
        self.kept
            .sessions
            .lock()
            .await
            .insert(out.session.template_id.clone(), session);
        Ok(out)
    }

    /// The progress of launches made with [`Service::launch_kept`], from now on.
    pub fn launch_progress(&self) -> broadcast::Receiver<LaunchProgress> {
        self.kept.progress.subscribe()
    }

    /// The events of kept sessions from now on.
    pub fn kept_events(&self) -> broadcast::Receiver<KeptEvent> {
        self.kept.events.subscribe()
    }

    /// The handle the faces use to announce holds.
    pub fn kept(&self) -> Kept {
        self.kept.clone()
    }

    /// Running sessions (after forgetting kept ones that ended).
    pub async fn list_kept(&self) -> Result<Vec<SessionInfo>> {
        self.kept
            .sessions
            .lock()
            .await
            .retain(|_, s| !s.is_finished());
        self.list().await
    }

    /// Stops a template's session: through its own handle when this process keeps it (clean
    /// shutdown, cookies written), else as [`Service::stop`] does for any process.
    pub async fn stop_kept(&self, name: &str) -> Result<SessionInfo> {
        let template = self.template(name).await?;
        let mut running = self.kept.sessions.lock().await;
        match running.remove(&template.id) {
            Some(s) if !s.is_finished() => {
                let info = s.info().clone();
                let (done, waiters) = tokio::sync::watch::channel(false);
                let _entry = Listed::insert(
                    &self.kept.stopping,
                    &template.id,
                    Stopping {
                        info: info.clone(),
                        done: waiters,
                    },
                );
                drop(running);
                s.stop().await;
                let _ = done.send(true);
                Ok(info)
            }
            _ => {
                let underway = lock(&self.kept.stopping).get(&template.id).cloned();
                drop(running);
                match underway {
                    // Another request of this process is closing it: its answer is ours.
                    Some(mut other) => {
                        let _ = other.done.wait_for(|d| *d).await;
                        Ok(other.info)
                    }
                    None => self.stop(name).await,
                }
            }
        }
    }

    /// Stops every kept session (when the process quits).
    pub async fn stop_all_kept(&self) {
        let sessions: Vec<Session> = self
            .kept
            .sessions
            .lock()
            .await
            .drain()
            .map(|(_, s)| s)
            .collect();
        // At once, not one after another: each waits for its browser's clean close.
        futures_util::future::join_all(sessions.into_iter().map(Session::stop)).await;
    }
}

/// Forwards one kept session's events to the faces' stream, with its template's risk window
/// opening and closing (judged from the stored history plus what arrives, so the recorder's
/// batching does not delay it), until the session ends.
async fn forward(
    ctx: Context,
    template: String,
    template_id: String,
    mut rx: broadcast::Receiver<SessionRecord>,
    stop: tokio::sync::watch::Receiver<bool>,
    tx: broadcast::Sender<KeptEvent>,
) {
    let guard = crate::guard::service::Service::new(&ctx);
    let mut history = guard.history(&template_id).await.unwrap_or_default();
    let config = match ctx.settings().await {
        Ok(s) => s.risk(),
        Err(e) => {
            tracing::warn!("no settings for the risk window of {template}: {e}");
            return;
        }
    };
    let mut open = false;
    let judge = |history: &[SessionRecord], open: &mut bool| {
        let risk = crate::guard::evaluate(history, Utc::now(), &config);
        if risk.open != *open {
            *open = risk.open;
            let _ = tx.send(if risk.open {
                KeptEvent::RiskOpened {
                    template: template.clone(),
                    reasons: risk.reasons,
                }
            } else {
                KeptEvent::RiskClosed {
                    template: template.clone(),
                }
            });
        }
    };
    judge(&history, &mut open);
    let mut recheck = tokio::time::interval(RISK_RECHECK);
    loop {
        tokio::select! {
            r = rx.recv() => match r {
                Ok(record) => {
                    let risky = RISK_KINDS.contains(&record.event.kind());
                    let _ = tx.send(KeptEvent::Session {
                        template: template.clone(),
                        record: record.clone(),
                    });
                    if risky {
                        history.push(record);
                        // A failure storm must not grow this (nor the judging) without end:
                        // the window looks back minutes, the oldest half can go.
                        if history.len() > MAX_HISTORY {
                            history.drain(..MAX_HISTORY / 2);
                        }
                        judge(&history, &mut open);
                    }
                }
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => break,
            },
            _ = recheck.tick(), if open => judge(&history, &mut open),
        }
    }
    let expected = *stop.borrow();
    let _ = tx.send(KeptEvent::Ended { template, expected });
}

/// A stop under way: what it stops, and when it is done.
#[derive(Debug, Clone)]
struct Stopping {
    info: SessionInfo,
    done: tokio::sync::watch::Receiver<bool>,
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Keeps an entry (a stop, a launch) listed while the work runs, also when the request that
/// runs it is dropped.
struct Listed<'a, V> {
    map: &'a std::sync::Mutex<HashMap<String, V>>,
    id: String,
}

impl<'a, V> Listed<'a, V> {
    fn insert(map: &'a std::sync::Mutex<HashMap<String, V>>, id: &str, value: V) -> Self {
        lock(map).insert(id.to_owned(), value);
        Self {
            map,
            id: id.to_owned(),
        }
    }
}

impl<V> Drop for Listed<'_, V> {
    fn drop(&mut self) {
        lock(self.map).remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guard::RiskKind;

    fn reason(kind: RiskKind, detail: &str) -> RiskReason {
        RiskReason {
            kind,
            since: Utc::now(),
            detail: detail.to_owned(),
        }
    }

    #[test]
    fn alerts_go_to_what_the_operator_must_see_and_not_to_an_asked_for_stop() {
        let opened = KeptEvent::RiskOpened {
            template: "a".into(),
            reasons: vec![reason(RiskKind::EgressChanged, "egress x → y")],
        }
        .alert()
        .unwrap();
        assert_eq!(opened.kind, "risk_opened");
        assert!(opened.body.contains("egress x → y"), "{}", opened.body);
        let spike = KeptEvent::RiskOpened {
            template: "a".into(),
            reasons: vec![reason(RiskKind::FailureSpike, "7 tunnel failures")],
        }
        .alert()
        .unwrap();
        assert_eq!(
            spike.kind, "exit_failing",
            "a failure spike reads as the exit failing"
        );
        let gone = KeptEvent::Ended {
            template: "a".into(),
            expected: false,
        };
        assert_eq!(gone.alert().unwrap().kind, "ended_unexpectedly");
        let stopped = KeptEvent::Ended {
            template: "a".into(),
            expected: true,
        };
        assert!(stopped.alert().is_none(), "an asked-for stop alerts nobody");
        assert!(KeptEvent::RiskClosed {
            template: "a".into()
        }
        .alert()
        .is_none());
    }
}
