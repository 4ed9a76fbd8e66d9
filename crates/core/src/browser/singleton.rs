//! Chromium's profile lock: `SingletonLock` is a symlink to `<hostname>-<pid>`; with
//! `SingletonSocket` and `SingletonCookie` it is left behind when the browser is killed.

use std::path::Path;

/// Files Chromium leaves in a profile it did not shut down.
pub const FILES: &[&str] = &["SingletonLock", "SingletonSocket", "SingletonCookie"];

/// The pid recorded in `SingletonLock`, if the file is there and readable.
pub fn recorded_pid(profile_dir: &Path) -> Option<i32> {
    let target = std::fs::read_link(profile_dir.join("SingletonLock")).ok()?;
    let s = target.to_string_lossy().into_owned();
    s.rsplit_once('-')?.1.parse().ok()
}

/// Removes the stale files. The caller holds the lease and has seen the recorded pid gone.
pub fn remove(profile_dir: &Path) -> usize {
    let mut n = 0;
    for f in FILES {
        let p = profile_dir.join(f);
        if std::fs::symlink_metadata(&p).is_ok() && std::fs::remove_file(&p).is_ok() {
            n += 1;
        }
    }
    n
}
