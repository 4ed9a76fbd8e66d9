//! Cleaning up after a session that died: only ever called while holding the lease.

use std::path::Path;

use crate::browser::pid;
use crate::browser::{process, singleton};
use crate::error::{Error, Result};
use crate::store::sessions::SessionRow;

/// Kills a recorded browser that outlived its Holdfast (it normally dies with it), then removes
/// Chromium's Singleton* files if the pid they name is gone.
pub async fn clean(name: &str, profile_dir: &Path, row: Option<&SessionRow>) -> Result<()> {
    if let Some(row) = row {
        if let Some(bpid) = row.browser_pid.and_then(|p| i32::try_from(p).ok()) {
            let start = row.browser_start.and_then(|s| u64::try_from(s).ok());
            // Only the recorded browser's own group (pid and start time match): a pid from the
            // row may since belong to someone else's process group (after a reboot, say).
            if pid::is_same_alive(bpid, start) {
                tracing::warn!(pid = bpid, "killing a browser left from a crashed session");
                process::signal_group(bpid, true);
                // Its children may outlive it for a moment.
                process::reap_group(bpid).await;
            }
        }
    }
    if let Some(holder) = singleton::recorded_pid(profile_dir) {
        if uses_profile(holder, profile_dir) && !is_own_dead_browser(row, holder) {
            return Err(Error::ProfileInUse {
                name: name.to_owned(),
                pid: holder,
            });
        }
    }
    let removed = singleton::remove(profile_dir);
    if removed > 0 {
        tracing::info!(profile = %profile_dir.display(), removed, "removed stale Chromium lock files");
    }
    Ok(())
}

// A live process whose command line names this profile: a browser on it. A recycled pid (say,
// after a reboot) names something else and the lock files are stale.
fn uses_profile(pid: i32, profile_dir: &Path) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let want = profile_dir.to_string_lossy();
    cmdline
        .split(|b| *b == 0)
        .any(|arg| String::from_utf8_lossy(arg).contains(want.as_ref()))
}

// A pid in SingletonLock that is alive is someone else's browser, unless it is the one we just
// killed and which has not been reaped by its parent yet.
fn is_own_dead_browser(row: Option<&SessionRow>, holder: i32) -> bool {
    row.and_then(|r| r.browser_pid)
        .is_some_and(|p| p == i64::from(holder))
        && !process::group_alive(holder)
}
