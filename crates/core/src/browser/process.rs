//! The running browser: spawned in its own process group, tied to Holdfast's life (it gets
//! SIGKILL if Holdfast dies), ready once it answers on its DevTools pipe (and, for automation
//! only, once its DevTools port listens).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde::Serialize;
use serde_json::json;
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use ts_rs::TS;

use super::devtools::{self, Cdp, CdpEvent};
use super::pipe::{self, PipeEnds};
use super::LaunchArgs;
use crate::error::{Error, Result};

/// Where the automation DevTools port listens (only when the operator asked for one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS, schemars::JsonSchema)]
#[ts(export)]
pub struct DevTools {
    pub port: u16,
    /// The browser websocket URL (`ws://127.0.0.1:PORT/devtools/browser/ID`).
    pub ws_url: String,
}

/// A started browser.
#[derive(Debug)]
pub struct Browser {
    child: Child,
    pid: i32,
    start: Option<u64>,
    /// Holdfast's ends of the DevTools pipe, until `ready` takes them.
    pipe: Option<PipeEnds>,
}

/// Holdfast's DevTools connection to a started browser, open before the browser answers:
/// commands sent now wait in the pipe and run, in order, as soon as DevTools is up.
#[derive(Debug)]
pub struct Connection {
    /// Commands over the pipe (Holdfast's own observer and guard).
    pub cdp: Cdp,
    /// Every event of the browser and its attached targets.
    pub events: mpsc::UnboundedReceiver<CdpEvent>,
}

impl Browser {
    /// Starts the browser; output goes to `log`.
    pub fn spawn(launch: &LaunchArgs, log: &Path) -> Result<Self> {
        // A file from an earlier run would name a dead port.
        let port_file = launch.profile_dir.join("DevToolsActivePort");
        match std::fs::remove_file(&port_file) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(Error::io("cannot remove", &port_file, e))
            }
            _ => {}
        }
        let out = std::fs::File::create(log).map_err(|e| Error::io("cannot create", log, e))?;
        let err = out
            .try_clone()
            .map_err(|e| Error::io("cannot open", log, e))?;
        let (ends, child_ends) = pipe::pair().map_err(|e| Error::BrowserFailed {
            detail: format!("cannot create the DevTools pipe: {e}"),
        })?;
        let (commands_fd, messages_fd) = child_ends.raw();
        let mut cmd = Command::new(&launch.binary);
        cmd.args(&launch.args)
            .envs(launch.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .kill_on_drop(false);
        #[cfg(unix)]
        {
            // Its own group, so the whole browser (renderers, GPU, zygote) can be signalled at once.
            cmd.process_group(0);
            // SAFETY: only async-signal-safe calls between fork and exec.
            unsafe {
                cmd.pre_exec(move || {
                    pipe::install_in_child(commands_fd, messages_fd)?;
                    // Dies with Holdfast: a killed Holdfast must not leave a browser behind
                    // on an exit nobody watches.
                    #[cfg(target_os = "linux")]
                    if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let child = cmd.spawn().map_err(|e| Error::BrowserFailed {
            detail: format!("cannot start {}: {e}", launch.binary.display()),
        })?;
        // Only the browser holds its ends now: when it dies, reading the pipe ends.
        drop(child_ends);
        let pid = child
            .id()
            .and_then(|p| i32::try_from(p).ok())
            .ok_or_else(|| Error::BrowserFailed {
                detail: "the browser exited at once".to_owned(),
            })?;
        Ok(Self {
            child,
            pid,
            start: crate::browser::pid::start_time(pid),
            pipe: Some(ends),
        })
    }

    /// The browser's main process.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Its start time (for the lease row).
    pub fn start_time(&self) -> Option<u64> {
        self.start
    }

    /// Opens Holdfast's DevTools connection over the pipe (once; the browser need not be up).
    pub fn connect(&mut self) -> Result<Connection> {
        let ends = self.pipe.take().ok_or_else(|| Error::BrowserFailed {
            detail: "the DevTools pipe was already taken".to_owned(),
        })?;
        let (cdp, events) = devtools::over_pipe(ends).map_err(|e| Error::BrowserFailed {
            detail: e.to_string(),
        })?;
        Ok(Connection { cdp, events })
    }

    /// Waits until the browser answers on its DevTools pipe and, with `port`, until its
    /// automation port listens (`DevToolsActivePort` written, returned); fails if the browser
    /// exits first or `timeout` passes.
    pub async fn ready(
        &mut self,
        cdp: &Cdp,
        profile_dir: &Path,
        port: bool,
        timeout: Duration,
        log: &Path,
    ) -> Result<Option<DevTools>> {
        let deadline = tokio::time::Instant::now() + timeout;
        let exited = |status: std::io::Result<std::process::ExitStatus>| Error::BrowserFailed {
            detail: format!(
                "the browser exited before it was ready ({}); see {}",
                status.map_or_else(|e| e.to_string(), |s| s.to_string()),
                log.display()
            ),
        };
        let late = || Error::BrowserFailed {
            detail: format!(
                "DevTools did not come up within {timeout:?}; see {}",
                log.display()
            ),
        };
        // The browser reads its pipe once it is up: the first reply is the readiness signal.
        tokio::select! {
            status = self.child.wait() => return Err(exited(status)),
            answer = cdp.call(None, "Browser.getVersion", json!({})) => {
                answer.map_err(|e| Error::BrowserFailed {
                    detail: format!("DevTools: {e}; see {}", log.display()),
                })?;
            }
            _ = tokio::time::sleep_until(deadline) => return Err(late()),
        }
        if !port {
            return Ok(None);
        }
        let port_file = profile_dir.join("DevToolsActivePort");
        // Chromium writes the file once, whole, after its DevTools socket listens. Polling a
        // file is the portable way to see it; a stat per millisecond costs nothing next to a
        // browser start.
        let mut tick = tokio::time::interval(Duration::from_millis(1));
        loop {
            tokio::select! {
                status = self.child.wait() => return Err(exited(status)),
                _ = tick.tick() => {}
            }
            if let Some(dt) = read_port_file(&port_file) {
                return Ok(Some(dt));
            }
            if tokio::time::Instant::now() > deadline {
                return Err(late());
            }
        }
    }

    /// Resolves when the browser's main process exits.
    pub async fn exited(&mut self) -> Option<i32> {
        self.child.wait().await.ok().and_then(|s| s.code())
    }

    /// Asks the browser to quit: `Browser.close` over DevTools (a clean shutdown that writes
    /// cookies), else SIGTERM; kills its whole group if it has not gone within `grace`.
    pub async fn stop(&mut self, cdp: Option<&Cdp>, grace: Duration) -> Option<i32> {
        let closing = match cdp {
            Some(cdp) => super::cdp::close_browser(cdp, Duration::from_secs(2)).await,
            None => false,
        };
        if !closing {
            signal(self.pid, false);
        }
        self.wait_or_kill(grace).await
    }

    /// Like [`Browser::stop`], but the whole group is gone within about `total`: a clean
    /// `Browser.close` if it fits, else the group is killed (for a deadline that must hold,
    /// such as a team lease running out).
    pub async fn stop_within(&mut self, cdp: &Cdp, total: Duration) -> Option<i32> {
        let start = std::time::Instant::now();
        if !super::cdp::close_browser(cdp, total / 2).await {
            signal(self.pid, false);
        }
        self.wait_or_kill(total.saturating_sub(start.elapsed()))
            .await
    }

    /// Waits `within` for the browser to exit, then kills its group; reaps what is left.
    async fn wait_or_kill(&mut self, within: Duration) -> Option<i32> {
        if tokio::time::timeout(within, self.child.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                pid = self.pid,
                "browser did not quit in {within:?}; killing it"
            );
            signal_group(self.pid, true);
        }
        let code = self.exited().await;
        self.reap_group().await;
        code
    }

    /// Kills what is left of the browser's process group once its main process is gone.
    pub async fn reap_group(&mut self) {
        let _ = self.child.wait().await;
        reap_group(self.pid).await;
    }
}

/// Kills every process left in group `pgid` and waits (up to 5 s) until none is left.
pub async fn reap_group(pgid: i32) {
    for _ in 0..500 {
        if !group_alive(pgid) {
            return;
        }
        signal_group(pgid, true);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tracing::warn!(pgid, "browser processes still alive after SIGKILL");
}

/// Whether any process of group `pgid` is alive.
pub fn group_alive(pgid: i32) -> bool {
    #[cfg(unix)]
    {
        // Signal 0 checks existence; ESRCH means the group is empty.
        nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pgid), None).is_ok()
    }
    #[cfg(not(unix))]
    {
        let _ = pgid;
        false
    }
}

/// SIGTERM (or SIGKILL with `kill`) to one process.
pub fn signal(pid: i32, kill: bool) {
    #[cfg(unix)]
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), term_or_kill(kill));
}

/// SIGTERM (or SIGKILL with `kill`) to a process group.
pub fn signal_group(pgid: i32, kill: bool) {
    #[cfg(unix)]
    let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pgid), term_or_kill(kill));
}

#[cfg(unix)]
fn term_or_kill(kill: bool) -> nix::sys::signal::Signal {
    if kill {
        nix::sys::signal::Signal::SIGKILL
    } else {
        nix::sys::signal::Signal::SIGTERM
    }
}

fn read_port_file(path: &Path) -> Option<DevTools> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut lines = text.lines();
    let port: u16 = lines.next()?.trim().parse().ok()?;
    let ws_path = lines.next()?.trim();
    if ws_path.is_empty() {
        return None;
    }
    Some(DevTools {
        port,
        ws_url: format!("ws://127.0.0.1:{port}{ws_path}"),
    })
}

/// The browser log file of a template's profile.
pub fn log_path(logs_dir: &Path, template_id: &str) -> PathBuf {
    logs_dir.join(format!("browser-{template_id}.log"))
}
