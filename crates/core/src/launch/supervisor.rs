//! A running session: waits for the browser to exit or a stop request, keeps the session row
//! current (egress, clock), and tears everything down in order: browser (and its whole process
//! group) → relay and recorder → row → lease.

use serde::Serialize;
use tokio::sync::{broadcast, watch};
use ts_rs::TS;

use crate::browser::devtools::Cdp;
use crate::browser::Browser;
use crate::clock;
use crate::events::{self, EventBus, SessionEvent};
use crate::exit::session::RelaySession;
use crate::health::Observer;
use crate::settings::Settings;
use crate::store::lease::Lease;
use crate::store::{sessions, Store};
use crate::template::Template;

/// How a session ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS, schemars::JsonSchema)]
#[ts(export)]
pub struct SessionEnd {
    /// The browser's exit code (absent when killed by a signal).
    pub browser_exit: Option<i32>,
    /// Ended by a stop request from this process (rather than the browser exiting).
    pub stopped: bool,
    /// Why Holdfast itself ended the session, e.g. `egress_bypassed` (the browser's own
    /// requests stopped going through the exit).
    pub ended_by: Option<crate::error::ErrorPayload>,
}

/// Everything a running session owns.
pub(super) struct Supervised {
    pub store: Store,
    pub template: Template,
    pub settings: Settings,
    pub browser: Browser,
    /// Holdfast's DevTools pipe (a clean `Browser.close` on stop).
    pub cdp: Cdp,
    /// Where `holdfast stop` from another process asks (absent if it could not be bound).
    pub control: Option<super::control::Control>,
    /// Sets `stop` (for the control socket).
    pub stopper: watch::Sender<bool>,
    pub relay: RelaySession,
    pub observer: Observer,
    pub lease: Lease,
    /// The team-wide lease, in team mode.
    pub team_lease: Option<super::team_lease::TeamLease>,
    /// The profile (its session state goes to the team on a clean stop).
    pub profile_dir: std::path::PathBuf,
    pub stop: watch::Receiver<bool>,
}

/// How long a browser whose DevTools pipe closed has to exit before its session counts as blind.
const OBSERVER_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

pub(super) async fn run(mut s: Supervised) -> SessionEnd {
    let session_id = s.relay.session_id().to_owned();
    let (stop_watch, watch_stopped) = watch::channel(false);
    let (bypassed_tx, mut bypassed) = tokio::sync::mpsc::channel::<crate::error::Error>(1);
    let watcher = tokio::spawn(keep_current(
        s.store.clone(),
        s.relay.bus().clone(),
        s.relay.bus().subscribe(),
        s.settings.clone(),
        watch_stopped,
        s.observer.probe(),
        bypassed_tx,
    ));
    let mut ended_by = None;
    let control = s.control.take();
    let stopper = s.stopper.clone();
    let serving = tokio::spawn(async move {
        if let Some(c) = &control {
            c.serve(stopper).await;
        }
    });
    let mut observed = true;
    // In a team, the cookies read just before a requested stop: the session state to store.
    let mut cookies = None;
    // A browser closed from its own window gives no chance to read them at the end: keep the
    // latest copy instead (read off this loop, which must stay free to act on a lost lease).
    let snapshots = s
        .team_lease
        .is_some()
        .then(|| CookieSnapshots::start(s.cdp.clone()));
    let (browser_exit, stopped) = loop {
        tokio::select! {
            code = s.browser.exited() => break (code, false),
            _ = events::stopped(&mut s.stop) => {
                if s.team_lease.is_some() {
                    cookies = super::state::cookies(&s.cdp)
                        .await
                        .inspect_err(|e| tracing::warn!("the session's cookies cannot be read: {e}"))
                        .ok();
                }
                break (s.browser.stop(Some(&s.cdp), super::STOP_GRACE).await, true);
            }
            Some(e) = bypassed.recv() => {
                tracing::error!(template = %s.template.name, "{e}");
                ended_by = Some(e.payload());
                break (s.browser.stop(Some(&s.cdp), super::STOP_GRACE).await, true);
            }
            reason = lease_lost(&mut s.team_lease) => {
                let e = crate::error::Error::LeaseLost { name: s.template.name.clone(), reason };
                tracing::error!(template = %s.template.name, "{e}");
                ended_by = Some(e.payload());
                let within = s.team_lease.as_ref().map_or(super::STOP_GRACE, |l| l.close_within);
                break (s.browser.stop_within(&s.cdp, within).await, true);
            }
            _ = s.observer.ended(), if observed => {
                observed = false;
                // The pipe also closes when the browser exits: that is no loss.
                let gone = tokio::time::timeout(OBSERVER_GRACE, s.browser.exited()).await;
                if let Ok(code) = gone {
                    break (code, false);
                }
                // Blind: no health, no guard. Fail closed rather than let sensitive actions
                // through unseen: the relay refuses everything until the operator relaunches.
                tracing::error!(template = %s.template.name, "the session observer ended while the browser runs; the relay now refuses all traffic");
                s.relay.relay().refuse_all();
                s.relay.bus().publish(SessionEvent::ObserverLost {
                    reason: "the DevTools connection ended while the browser runs".to_owned(),
                });
            }
        }
    };
    // Closed from its window (or the read at the stop failed): the latest copy. Not when
    // Holdfast ended the session itself (a lost lease must not write; a bypass is suspect).
    if cookies.is_none() && ended_by.is_none() {
        cookies = snapshots.as_ref().and_then(CookieSnapshots::latest);
    }
    drop(snapshots);
    // Renderers and helpers may outlive the main process for a moment: none may stay.
    s.browser.reap_group().await;
    // Dropping the control socket removes its file.
    serving.abort();
    let _ = serving.await;
    tracing::info!(template = %s.template.name, ?browser_exit, stopped, "browser gone; ending the session");
    let _ = stop_watch.send(true);
    let _ = watcher.await;
    let requests = s.observer.finish().await;
    tracing::debug!(requests, "session observer finished");
    s.relay
        .bus()
        .publish(SessionEvent::BrowserExited { code: browser_exit });
    s.relay.stop().await;
    match s.store.pool().acquire().await {
        Ok(mut conn) => {
            if let Err(e) = sessions::delete(&mut conn, &session_id).await {
                tracing::warn!("cannot delete the session row: {e}");
            }
        }
        Err(e) => tracing::warn!("cannot delete the session row: {e}"),
    }
    // The session travels: stored under this lease before it is released.
    if let (Some(l), Some(cookies)) = (&s.team_lease, cookies) {
        save_state(l, &s.profile_dir, cookies).await;
    }
    // Last: once released, a new launch may start at once (the team's first, then this
    // machine's).
    if let Some(l) = s.team_lease.take() {
        l.release().await;
    }
    drop(s.lease);
    SessionEnd {
        browser_exit,
        stopped,
        ended_by,
    }
}

/// How often a team session's cookies are copied while it runs (what a browser closed from its
/// own window leaves to the team: at most this old).
const SNAPSHOT_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// The latest cookies of a running session, read every `SNAPSHOT_EVERY`; stops on drop.
struct CookieSnapshots {
    latest: watch::Receiver<Option<Vec<serde_json::Value>>>,
    task: tokio::task::JoinHandle<()>,
}

impl CookieSnapshots {
    fn start(cdp: Cdp) -> Self {
        let (tx, latest) = watch::channel(None);
        let task = tokio::spawn(async move {
            let mut every = tokio::time::interval(SNAPSHOT_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                // A failed read (the browser closing) keeps the previous copy.
                if let Ok(c) = super::state::cookies(&cdp).await {
                    let _ = tx.send(Some(c));
                }
            }
        });
        Self { latest, task }
    }

    fn latest(&self) -> Option<Vec<serde_json::Value>> {
        self.latest.borrow().clone()
    }
}

impl Drop for CookieSnapshots {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Stores the session state (the cookies read before the stop, the local storage the browser
/// left) in the team, and marks the profile as holding it. A failure is reported, not fatal: the
/// next machine then starts from its own profile.
async fn save_state(
    lease: &super::team_lease::TeamLease,
    profile: &std::path::Path,
    cookies: Vec<serde_json::Value>,
) {
    let saved = async {
        let state = super::state::SessionState {
            cookies,
            local_storage: super::state::read_local_storage(profile)?,
        };
        lease.save_state(&state).await?;
        super::state::set_profile_epoch(profile, lease.epoch)
    }
    .await;
    if let Err(e) = saved {
        tracing::error!("the session state did not go to the team: {e}");
    }
}

/// Resolves when the team lease is lost; never without one.
async fn lease_lost(lease: &mut Option<super::team_lease::TeamLease>) -> String {
    match lease {
        Some(l) => l.lost().await,
        None => std::future::pending().await,
    }
}

/// Re-checks the clock every `clock.check_interval_secs` and writes the egress the relay's
/// prober sees, both into the session row (what `status` and the app show); after each of the
/// relay's probes checks the browser's own egress too and reports a bypass on `bypassed`.
#[allow(clippy::too_many_arguments)]
async fn keep_current(
    store: Store,
    bus: EventBus,
    mut events: broadcast::Receiver<crate::events::SessionRecord>,
    settings: Settings,
    mut stopped: watch::Receiver<bool>,
    probe: crate::health::BrowserProbe,
    bypassed: tokio::sync::mpsc::Sender<crate::error::Error>,
) {
    let interval = settings.clock_interval();
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let config = settings.clock();
    let session_id = bus.session_id().to_owned();
    let echo_urls = settings.echo_urls();
    loop {
        tokio::select! {
            _ = events::stopped(&mut stopped) => return,
            _ = tick.tick() => {
                let report = tokio::select! {
                    r = clock::check(&config) => r,
                    _ = events::stopped(&mut stopped) => return,
                };
                if report.verdict != clock::ClockVerdict::Ok {
                    tracing::warn!(offset_ms = ?report.offset_ms, verdict = ?report.verdict, "clock re-check");
                }
                bus.publish(SessionEvent::ClockChecked { offset_ms: report.offset_ms, verdict: report.verdict });
                if let Ok(mut conn) = store.pool().acquire().await {
                    let _ = sessions::set_clock(&mut conn, &session_id, report.offset_ms).await;
                }
            }
            ev = events.recv() => match ev {
                Ok(rec) => {
                    if let SessionEvent::EgressChecked { ip, .. } = rec.event {
                        if let Ok(mut conn) = store.pool().acquire().await {
                            let _ = sessions::set_egress(&mut conn, &session_id, &ip).await;
                        }
                        let checked = tokio::select! {
                            r = super::egress_check::verify(&probe, crate::health::Probe::Quick, &echo_urls, Some(&ip)) => r,
                            _ = events::stopped(&mut stopped) => return,
                        };
                        match checked {
                            Ok(None) => {}
                            Ok(Some(warning)) => tracing::warn!("{warning}"),
                            Err(e) => {
                                let _ = bypassed.send(e).await;
                                return;
                            }
                        }
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return,
            },
        }
    }
}
