//! Launch: preflight (lease, clock, egress) → relay → Chromium on the template's own profile,
//! then the session runs under a supervisor until the browser exits or is stopped. Also the
//! list of running sessions and stopping one from any process.

mod control;
mod egress_check;
pub mod kept;
pub(crate) mod preflight;
mod stale;
mod state;
mod supervisor;
mod team_lease;

use std::time::Duration;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use ts_rs::TS;

pub use kept::Kept;
pub use preflight::Preflight;
pub use supervisor::SessionEnd;

use crate::browser::pid;
use crate::browser::{self, process, Browser, LaunchArgs};
use crate::context::Context;
use crate::error::{Error, Result};
use crate::events::SessionEvent;
use crate::exit::service::{Service as Exits, Starter};
use crate::guard::service::Service as Guarding;
use crate::health::{Observer, ObserverConfig, WriterConfig};
use crate::store::lease::Lease;
use crate::store::sessions::{self, SessionRow};
use crate::store::templates;
use crate::{clock, store, Template};

/// How long a launched browser has to bring DevTools up.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a launch with extensions waits for one's background context to start before it
/// checks the browser's egress (one without a background context never starts any).
const EXTENSION_START: Duration = Duration::from_secs(3);
/// How long after its first check a launch with extensions checks the browser's egress again.
const EXTENSION_SETTLE: Duration = Duration::from_millis(700);
/// How long `stop` waits for a clean browser shutdown before killing it.
pub const STOP_GRACE: Duration = Duration::from_secs(10);

/// How to launch.
#[derive(Debug, Clone, Default, Deserialize, TS, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[ts(export, optional_fields)]
pub struct LaunchOptions {
    /// No window (scripts, tests, servers).
    pub headless: bool,
    /// Go on despite a refusing preflight (clock beyond `clock.block_ms`, egress failure or
    /// mismatch with the pin). Never overrides the lease.
    pub force: bool,
    /// Open a DevTools TCP port on 127.0.0.1 for automation (Playwright, Puppeteer), also when
    /// the template's `automation` setting is off. Any local process that finds it can drive
    /// the browser; without either, no process of the session listens on TCP.
    pub cdp: bool,
    /// Open these (http or https) instead of the template's start URLs, this once.
    pub start_urls: Option<Vec<String>>,
}

/// Where a launch is (for progress display).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum LaunchStep {
    /// Taking the one-session-per-template lease.
    Lease,
    /// Checking the clock and the egress through the relay.
    Preflight,
    /// Starting Chromium.
    Browser,
    /// DevTools is up: the session runs.
    Ready,
}

/// A progress report of a launch: the step starting now, and once the preflight is judged,
/// what it saw (shown before the browser comes up).
#[derive(Debug, Clone, Serialize, TS, schemars::JsonSchema)]
#[ts(export)]
pub struct LaunchProgress {
    pub template: String,
    pub step: LaunchStep,
    pub preflight: Option<Preflight>,
}

/// A running session as `launch --json`, `status` and the app show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS, schemars::JsonSchema)]
#[ts(export)]
pub struct SessionInfo {
    /// The template's name.
    pub template: String,
    pub template_id: String,
    pub session_id: String,
    /// The browser's main process.
    #[ts(type = "number | null")]
    #[schemars(with = "Option<i64>")]
    pub pid: Option<i64>,
    /// The Holdfast process that owns the session (CLI or app).
    #[ts(type = "number")]
    #[schemars(with = "i64")]
    pub holdfast_pid: i64,
    /// RFC 3339 UTC.
    pub since: String,
    /// The automation DevTools websocket URL; `None` unless the launch asked for a port.
    pub cdp: Option<String>,
    /// The relay's `host:port`.
    pub relay: Option<String>,
    pub profile_dir: String,
    pub headless: bool,
    /// The last egress IP seen through the relay.
    pub egress_ip: Option<String>,
    /// The last clock offset measured.
    #[ts(type = "number | null")]
    #[schemars(with = "Option<i64>")]
    pub clock_offset_ms: Option<i64>,
    /// The template's risk window now (in `status`; closed in a launch's own report).
    pub risk: crate::guard::RiskState,
}

impl SessionInfo {
    fn from_row(name: &str, row: &SessionRow) -> Self {
        Self {
            template: name.to_owned(),
            template_id: row.template_id.clone(),
            session_id: row.session_id.clone(),
            pid: row.browser_pid,
            holdfast_pid: row.owner_pid,
            since: row.started_at.clone(),
            cdp: row.cdp.clone(),
            relay: row.relay.clone(),
            profile_dir: row.profile_dir.clone(),
            headless: row.headless,
            egress_ip: row.egress_ip.clone(),
            clock_offset_ms: row.clock_offset_ms,
            risk: crate::guard::RiskState::default(),
        }
    }
}

/// What a launch reports once the browser is up (the app's `launch_session`).
#[derive(Debug, Clone, Serialize, TS, schemars::JsonSchema)]
#[ts(export)]
pub struct Launched {
    pub session: SessionInfo,
    pub preflight: Preflight,
}

/// What `holdfast launch --json` prints once the browser is up: the session as `status` shows
/// it, with what the preflight warned about and what `--force` overrode.
#[derive(Debug, Clone, Serialize, TS, schemars::JsonSchema)]
#[ts(export)]
pub struct LaunchReport {
    #[serde(flatten)]
    pub session: SessionInfo,
    pub warnings: Vec<String>,
    pub forced: Vec<String>,
}

impl Launched {
    /// The flat report of `launch --json`.
    pub fn report(&self) -> LaunchReport {
        LaunchReport {
            session: self.session.clone(),
            warnings: self.preflight.warnings.clone(),
            forced: self.preflight.forced.clone(),
        }
    }
}

/// A session launched by this process.
#[derive(Debug)]
pub struct Session {
    info: SessionInfo,
    preflight: Preflight,
    /// A receiver of the session's event stream, kept only to hand out others: it does not
    /// hold the stream open, so theirs close when the session ends.
    events: tokio::sync::broadcast::Receiver<crate::events::SessionRecord>,
    stop: watch::Sender<bool>,
    done: JoinHandle<SessionEnd>,
}

impl Session {
    /// What was launched.
    pub fn info(&self) -> &SessionInfo {
        &self.info
    }

    /// What the preflight saw.
    pub fn preflight(&self) -> &Preflight {
        &self.preflight
    }

    /// What the app's `launch_session` answers: the session and its preflight.
    pub fn launched(&self) -> Launched {
        Launched {
            session: self.info.clone(),
            preflight: self.preflight.clone(),
        }
    }

    /// The session's events from now on (the stream closes when the session has ended).
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<crate::events::SessionRecord> {
        self.events.resubscribe()
    }

    /// A handle that stops the session from elsewhere (a signal handler, the app).
    pub fn stopper(&self) -> watch::Sender<bool> {
        self.stop.clone()
    }

    /// Whether the session has ended.
    pub fn is_finished(&self) -> bool {
        self.done.is_finished()
    }

    /// Waits until the browser exits (or the session is stopped) and everything is cleaned up.
    pub async fn wait(self) -> SessionEnd {
        match self.done.await {
            Ok(end) => end,
            Err(e) => {
                tracing::error!("session supervisor failed: {e}");
                SessionEnd {
                    browser_exit: None,
                    stopped: false,
                    ended_by: None,
                }
            }
        }
    }

    /// Asks the browser to quit, waits for the clean-up.
    pub async fn stop(self) -> SessionEnd {
        let _ = self.stop.send(true);
        self.wait().await
    }
}

/// Session operations: launch, list, stop.
#[derive(Debug, Clone, Copy)]
pub struct Service<'a> {
    ctx: &'a Context,
    kept: &'a Kept,
}

impl std::ops::Deref for Service<'_> {
    type Target = Context;

    fn deref(&self) -> &Context {
        self.ctx
    }
}

impl<'a> Service<'a> {
    /// The service over the shared context and this process's kept sessions.
    pub(crate) fn new(ctx: &'a Context, kept: &'a Kept) -> Self {
        Self { ctx, kept }
    }

    /// Launches a template's browser: lease, preflight (clock and egress, refusing unless
    /// `force`), relay, Chromium with the template's profile, proxy, timezone and language.
    /// `progress` is told each step as it starts.
    pub async fn launch(
        &self,
        name: &str,
        options: LaunchOptions,
        progress: &(dyn Fn(&LaunchProgress) + Send + Sync),
    ) -> Result<Session> {
        let began = std::time::Instant::now();
        let mut options = options;
        if let Some(urls) = &options.start_urls {
            options.start_urls = Some(crate::template::fields::start_urls(urls)?);
        }
        let template = self.template(name).await?;
        let settings = self.settings().await?;
        let binary = browser::find(settings.browser_path())?;
        let profile_dir = self.home.profile_dir(&template.id);
        crate::home::create_private_dir(&profile_dir)?;
        let shown_name = template.name.clone();
        let report = |step, preflight: Option<&Preflight>| {
            // Where launch time goes, for `HOLDFAST_LOG=holdfast=debug`.
            tracing::debug!(
                ?step,
                elapsed_ms = began.elapsed().as_secs_f64() * 1000.0,
                "launch step"
            );
            progress(&LaunchProgress {
                template: shown_name.clone(),
                step,
                preflight: preflight.cloned(),
            });
        };

        // Where launch time goes, for `HOLDFAST_LOG=holdfast=debug` (bench/launch.sh reads it).
        let mark = |what: &str| {
            tracing::debug!(
                elapsed_ms = began.elapsed().as_secs_f64() * 1000.0,
                "{what}"
            );
        };
        report(LaunchStep::Lease, None);
        let Some(lease) = Lease::try_acquire(&profile_dir)? else {
            return Err(self.already_running(&template).await);
        };
        let mut conn = self.store.pool().acquire().await?;
        let old = sessions::get(&mut conn, &template.id).await?;
        drop(conn);
        stale::clean(&template.name, &profile_dir, old.as_ref()).await?;
        if let Some(old) = &old {
            tracing::info!(template = %template.name, pid = old.owner_pid, "replacing the record of a session that died");
            let mut conn = self.store.pool().acquire().await?;
            sessions::delete(&mut conn, &old.session_id).await?;
        }

        // One session per account across the team: the team's lease, after this machine's.
        let mut team_lease = team_lease::TeamLease::take(self.ctx, &template, &settings).await?;
        let started: Result<Session> = async {
            report(LaunchStep::Preflight, None);
            let exits = Exits::new(self.ctx);
            let relay = exits
                .start_relay_session(template.clone(), &settings, Starter::Launch)
                .await?;
            // The account's latest session state from the team, if this profile is older: its
            // local storage before the browser starts, its cookies once it answers (before any
            // page opens).
            let mut restore = None;
            if let Some(l) = &team_lease {
                match l.latest_state().await {
                    Ok(Some((epoch, st))) if epoch > state::profile_epoch(&profile_dir) => {
                        if let Err(e) = state::write_local_storage(&profile_dir, &st.local_storage)
                        {
                            relay.stop().await;
                            return Err(e);
                        }
                        restore = Some((epoch, st.cookies));
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(template = %template.name, "the team's session state is not restored: {e}"),
                }
            }
            let automation = options.cdp || template.automation;
            let log = process::log_path(&self.home.logs_dir(), &template.id);
            // The browser starts while the preflight runs: it sits on about:blank, and the relay
            // (held) lets none of its connections through until the preflight has passed. A
            // refusing preflight stops it.
            let spawned = async {
                browser::prefs::apply(&profile_dir, &template)?;
                let args = LaunchArgs::new(
                    binary,
                    &template,
                    &profile_dir,
                    relay.relay().addr(),
                    options.headless,
                    automation,
                );
                let mut b = Browser::spawn(&args, &log)?;
                mark("browser spawned");
                match b.connect() {
                    Ok(c) => Ok((b, c)),
                    Err(e) => {
                        b.stop(None, Duration::from_secs(2)).await;
                        Err(e)
                    }
                }
            }
            .await;
            let (mut browser, browser::Connection { cdp, events }) = match spawned {
                Ok(v) => v,
                Err(e) => {
                    relay.stop().await;
                    return Err(e);
                }
            };
            let clock_config = settings.clock();
            let preflight_then_observe = async {
                let (egress, clock_report) = tokio::join!(
                    exits.egress_report(&template, relay.relay(), &settings, relay.session_id()),
                    clock::check(&clock_config)
                );
                relay.bus().publish(SessionEvent::ClockChecked {
                    offset_ms: clock_report.offset_ms,
                    verdict: clock_report.verdict,
                });
                let preflight = egress.and_then(|(report, error)| {
                    preflight::judge(
                        clock_report,
                        report,
                        error,
                        template.require_consistent,
                        options.force,
                    )
                })?;
                relay.open();
                // Info, not warn: the CLI and the app show these to the operator themselves;
                // the log file keeps them.
                for w in preflight.warnings.iter().chain(&preflight.forced) {
                    tracing::info!(template = %template.name, "launch preflight: {w}");
                }
                report(LaunchStep::Browser, Some(&preflight));
                // The observer attaches at once: its commands wait in the pipe and run as soon
                // as DevTools is up, ahead of anything else, while the browser is still starting.
                let observer = self
                    .observe(cdp.clone(), events, &template, &settings, &relay, &preflight)
                    .await?;
                Ok::<_, Error>((preflight, observer))
            };
            // A refusing preflight ends the wait for the browser at once.
            let started = tokio::try_join!(
                async {
                    let ready = browser
                        .ready(&cdp, &profile_dir, automation, READY_TIMEOUT, &log)
                        .await;
                    mark("browser answers on its DevTools pipe");
                    ready
                },
                preflight_then_observe
            );
            let (port, mut preflight, observer) = match started {
                Ok((port, (preflight, observer))) => (port, preflight, observer),
                Err(e) => {
                    // It may not answer on DevTools yet: a signal (Chromium closes cleanly on it).
                    browser.stop(None, Duration::from_secs(2)).await;
                    relay.stop().await;
                    return Err(e);
                }
            };
            let cdp_url = port.map(|p| p.ws_url);
            // The breakdown of where launch time goes: when the first tab's renderer runs.
            let resumed = observer.first_tab_resumed();
            tokio::spawn(async move {
                resumed.await;
                tracing::debug!(
                    elapsed_ms = began.elapsed().as_secs_f64() * 1000.0,
                    "first tab resumed"
                );
            });
            let extensions = browser::extensions::may_run(&profile_dir, browser.pid());
            let checked = async {
                observer.first_tab().await;
                mark("first tab attached");
                // Without extensions nothing can change the proxy after start-up (a policy
                // applies before the first request): the first tab's quick fetch is enough. An
                // extension may switch it a moment later: a page load in a hidden tab gives it
                // that moment.
                let (how, checked) = if extensions {
                    // Under load an extension's service worker may start after the check's
                    // tab has loaded: wait for it first.
                    observer.extension_started(EXTENSION_START).await;
                    mark("an extension's background context started (or none did)");
                    (
                        crate::health::Probe::Tab,
                        "the browser's own egress checked (hidden tab)",
                    )
                } else {
                    (
                        crate::health::Probe::Quick,
                        "the browser's own egress checked (first tab)",
                    )
                };
                let (probe, echo_urls) = (observer.probe(), settings.echo_urls());
                let verify = |how| {
                    egress_check::verify(
                        &probe,
                        how,
                        &echo_urls,
                        preflight.egress.egress.ip.as_deref(),
                    )
                };
                let mut warning = verify(how).await?;
                mark(checked);
                if extensions && warning.is_none() {
                    // An extension's proxy setting reaches the network stack asynchronously
                    // (on a loaded machine it took over 400 ms after its worker ran): ask once
                    // more a moment later.
                    tokio::time::sleep(EXTENSION_SETTLE).await;
                    warning = verify(crate::health::Probe::Quick).await?;
                    mark("the browser's own egress checked again");
                }
                Ok::<_, Error>(warning)
            }
            .await;
            match checked {
                Ok(warning) => {
                    if let Some(w) = warning {
                        tracing::warn!(template = %template.name, "{w}");
                        preflight.warnings.push(w);
                    }
                }
                Err(e) => {
                    browser.stop(Some(&cdp), Duration::from_secs(2)).await;
                    relay.stop().await;
                    return Err(e);
                }
            };

            // The account's pages open only now: after the egress check, with the team's
            // cookies in place.
            let opened = async {
                if let Some((epoch, c)) = &restore {
                    state::set_cookies(&cdp, c).await?;
                    state::set_profile_epoch(&profile_dir, *epoch)?;
                    tracing::info!(template = %template.name, epoch, cookies = c.len(), "session state restored from the team");
                }
                observer
                    .open(options.start_urls.as_ref().unwrap_or(&template.start_urls))
                    .await
                    .map_err(|e| Error::BrowserFailed {
                        detail: format!("DevTools: {e}"),
                    })
            }
            .await;
            if let Err(e) = opened {
                browser.stop(Some(&cdp), Duration::from_secs(2)).await;
                relay.stop().await;
                return Err(e);
            }
            mark("start URLs opened");
            let now = store::timestamp(Utc::now());
            let row = SessionRow {
                template_id: template.id.clone(),
                session_id: relay.session_id().to_owned(),
                owner_pid: i64::from(pid::own()),
                owner_start: pid::start_time(pid::own()).and_then(|s| i64::try_from(s).ok()),
                browser_pid: Some(i64::from(browser.pid())),
                browser_start: browser.start_time().and_then(|s| i64::try_from(s).ok()),
                started_at: now.clone(),
                relay: Some(relay.relay().addr().to_string()),
                cdp: cdp_url.clone(),
                profile_dir: profile_dir.to_string_lossy().into_owned(),
                headless: options.headless,
                egress_ip: preflight.egress.egress.ip.clone(),
                clock_offset_ms: preflight.clock.offset_ms,
                updated_at: now,
            };
            let recorded = async {
                let mut conn = self.store.pool().acquire().await?;
                sessions::put(&mut conn, &row).await
            }
            .await;
            if let Err(e) = recorded {
                browser.stop(Some(&cdp), Duration::from_secs(2)).await;
                relay.stop().await;
                return Err(e);
            }
            relay
                .bus()
                .publish(SessionEvent::BrowserStarted { pid: browser.pid() });
            tracing::info!(template = %template.name, pid = browser.pid(), automation = cdp_url.is_some(), "browser launched");
            report(LaunchStep::Ready, None);

            let info = SessionInfo::from_row(&template.name, &row);
            let (stop, stop_rx) = watch::channel(false);
            // Without it `holdfast stop` from another process can only signal the browser.
            let control = control::Control::bind(&control::path(&self.home, &template.id))
                .inspect_err(|e| tracing::warn!("no control socket for the session: {e}"))
                .ok();
            let events = relay.bus().subscribe();
            let done = tokio::spawn(supervisor::run(supervisor::Supervised {
                store: self.store.clone(),
                template,
                settings,
                browser,
                cdp,
                control,
                stopper: stop.clone(),
                relay,
                observer,
                lease,
                team_lease: team_lease.take(),
                profile_dir: profile_dir.clone(),
                stop: stop_rx,
            }));
            Ok(Session {
                info,
                preflight,
                events,
                stop,
                done,
            })
        }
        .await;
        if started.is_err() {
            if let Some(l) = team_lease.take() {
                l.release().await;
            }
        }
        started
    }

    /// Attaches the health observer (and the guard) to the new browser; the caller then checks
    /// the browser's own egress and opens the start URLs through it.
    async fn observe(
        &self,
        cdp: browser::devtools::Cdp,
        events: tokio::sync::mpsc::UnboundedReceiver<browser::devtools::CdpEvent>,
        template: &Template,
        settings: &crate::settings::Settings,
        relay: &crate::exit::session::RelaySession,
        preflight: &Preflight,
    ) -> Result<Observer> {
        let config = ObserverConfig {
            writer: WriterConfig {
                template_id: template.id.clone(),
                session_id: relay.session_id().to_owned(),
                retention: settings.retention(),
                max_rows: settings.health_max_rows(),
                max_bytes: settings.health_max_bytes(),
            },
            exit_url: template.exit.to_string(),
            egress_ip: preflight.egress.egress.ip.clone(),
            rules: template.rules.clone(),
            guard: Some(crate::guard::GuardConfig {
                template_id: template.id.clone(),
                template_name: template.name.clone(),
                session_id: relay.session_id().to_owned(),
                rules: template.rules.sensitive.clone(),
                risk: settings.risk(),
                policy: settings.guard_policy(),
                prompt_timeout: settings.prompt_timeout(),
                broker: self.guard.clone(),
                history: Guarding::new(self.ctx).history(&template.id).await?,
            }),
        };
        Ok(Observer::attach(
            cdp,
            events,
            self.store.clone(),
            relay.bus(),
            config,
        ))
    }

    /// Running sessions of every template. Records left by a Holdfast that died (its lease is
    /// free) are removed on the way.
    pub async fn list(&self) -> Result<Vec<SessionInfo>> {
        let mut conn = self.store.pool().acquire().await?;
        let rows = sessions::all(&mut conn).await?;
        drop(conn);
        let risk = self.settings().await?.risk();
        let mut out = Vec::new();
        for row in rows {
            let dir = std::path::PathBuf::from(&row.profile_dir);
            if !dir.exists() {
                // No profile, no lease: a session that died and whose profile was purged.
                let mut conn = self.store.pool().acquire().await?;
                sessions::delete(&mut conn, &row.session_id).await?;
                continue;
            }
            // By id, one row at a time: sessions are few, templates may be thousands.
            let name = {
                let mut conn = self.store.pool().acquire().await?;
                templates::name_of(&mut conn, &row.template_id).await?
            };
            match (Lease::try_acquire(&dir), name) {
                (Ok(Some(_free)), name) => {
                    // Nobody holds it: the owner died. Clean while holding the lease.
                    stale::clean(name.as_deref().unwrap_or("?"), &dir, Some(&row))
                        .await
                        .ok();
                    let mut conn = self.store.pool().acquire().await?;
                    sessions::delete(&mut conn, &row.session_id).await?;
                }
                (Ok(None), Some(name)) => {
                    let mut info = SessionInfo::from_row(&name, &row);
                    let history = Guarding::new(self.ctx).history(&row.template_id).await?;
                    info.risk = crate::guard::evaluate(&history, Utc::now(), &risk);
                    out.push(info);
                }
                (Ok(None), None) => {}
                (Err(e), _) => return Err(e),
            }
        }
        Ok(out)
    }

    /// The running session of a template, if any.
    pub async fn of_template(&self, name: &str) -> Result<Option<SessionInfo>> {
        let t = self.template(name).await?;
        Ok(self
            .list()
            .await?
            .into_iter()
            .find(|s| s.template_id == t.id))
    }

    /// Stops a template's session, whichever process owns it: asks the browser to quit (the
    /// owner then cleans up), kills it if it does not within the grace period.
    pub async fn stop(&self, name: &str) -> Result<SessionInfo> {
        let template = self.template(name).await?;
        let Some(info) = self.of_template(name).await? else {
            return Err(Error::NotRunning {
                name: template.name.clone(),
            });
        };
        let dir = std::path::PathBuf::from(&info.profile_dir);
        let bpid = info.pid.and_then(|p| i32::try_from(p).ok());
        // A clean close (cookies written) by the owner, who holds the DevTools pipe; it sees
        // the browser exit and cleans up.
        let closing = control::request_stop(&control::path(&self.home, &info.template_id)).await;
        if let (false, Some(bpid)) = (closing, bpid) {
            process::signal(bpid, false);
        }
        if !wait_released(&dir, STOP_GRACE).await? {
            if let Some(bpid) = bpid {
                tracing::warn!(pid = bpid, "browser did not quit; killing it");
                process::signal_group(bpid, true);
            }
            if !wait_released(&dir, AFTER_KILL).await? {
                return Err(Error::BrowserFailed {
                    detail: format!(
                        "the session of {} did not end (owner pid {})",
                        template.name, info.holdfast_pid
                    ),
                });
            }
        }
        tracing::info!(template = %template.name, "session stopped");
        Ok(info)
    }
}

/// How long a stop waits for the owner to end the session once the browser was killed. The
/// owner still flushes the session's last health rows (its observer alone is given
/// `FINISH_WITHIN`) and writes the store before it releases the lease: a wait of 5 s was no
/// longer than the flush alone, and under load (the API's soak test, on two cores) a stop
/// answered `browser_failed` for a session that was ending. 10 s more for the rest.
const AFTER_KILL: Duration =
    crate::health::observer::FINISH_WITHIN.saturating_add(Duration::from_secs(10));

/// Waits until nobody holds the lease of `dir`, up to `limit`.
async fn wait_released(dir: &std::path::Path, limit: Duration) -> Result<bool> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        // The owner releases the lease as its last step; a lock has no event to await.
        if !Lease::is_held(dir)? {
            return Ok(true);
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
