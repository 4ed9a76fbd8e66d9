//! One session per template: an exclusive OS file lock on `<profile>/holdfast.lock`, held for
//! the whole session. The OS drops it when the holder dies (even by kill -9), so a crash never
//! leaves a lease that needs manual cleanup; the `sessions` row says who held it.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

/// The lock file's name inside a profile.
pub const LOCK_FILE: &str = "holdfast.lock";

/// A held lease. Dropping it releases the lock.
#[derive(Debug)]
pub struct Lease {
    // Held for its lock; closed (and so unlocked) on drop. Opened close-on-exec, so the
    // browser never inherits it.
    _file: File,
}

impl Lease {
    /// Takes the lease of a profile, or `None` if another holder has it.
    pub fn try_acquire(profile_dir: &Path) -> Result<Option<Self>> {
        let path = profile_dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io("cannot open lease file", &path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Ok(None),
            Err(TryLockError::Error(e)) => return Err(Error::io("cannot lock", &path, e)),
        }
        // For people looking at the profile: who holds it.
        file.set_len(0).ok();
        let _ = writeln!(file, "{}", std::process::id());
        Ok(Some(Self { _file: file }))
    }

    /// Whether someone holds the lease of a profile right now.
    pub fn is_held(profile_dir: &Path) -> Result<bool> {
        if !profile_dir.join(LOCK_FILE).exists() {
            return Ok(false);
        }
        Ok(Self::try_acquire(profile_dir)?.is_none())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lease_excludes_a_second_even_in_the_same_process() {
        let dir = tempfile::tempdir().unwrap();
        let first = Lease::try_acquire(dir.path())
            .unwrap()
            .expect("free at first");
        assert!(
            Lease::try_acquire(dir.path()).unwrap().is_none(),
            "second holder refused"
        );
        assert!(Lease::is_held(dir.path()).unwrap());
        drop(first);
        assert!(!Lease::is_held(dir.path()).unwrap(), "released on drop");
        assert!(Lease::try_acquire(dir.path()).unwrap().is_some());
    }
}
