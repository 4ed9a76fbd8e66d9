//! Which Chromium to run: `HOLDFAST_CHROMIUM` / `browser.path`, else the first of the usual
//! names on PATH.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Names tried on PATH, in order.
pub const CANDIDATES: &[&str] = &[
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
];

/// The browser binary to launch.
pub fn find(configured: Option<PathBuf>) -> Result<PathBuf> {
    if let Some(path) = configured {
        return if is_executable(&path) {
            Ok(path)
        } else {
            Err(Error::BrowserNotFound {
                detail: format!(
                    "{} (from HOLDFAST_CHROMIUM or the setting browser.path) is not an executable file",
                    path.display()
                ),
            })
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in CANDIDATES {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if is_executable(&candidate) {
                return Ok(candidate);
            }
        }
    }
    Err(Error::BrowserNotFound {
        detail: format!(
            "none of {} is on PATH; install Chromium (Debian/Ubuntu: apt install chromium) or set \
             `holdfast setting set browser.path /path/to/chrome`",
            CANDIDATES.join(", ")
        ),
    })
}

fn is_executable(p: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        p.is_file()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configured_path_must_be_an_executable() {
        let dir = tempfile::tempdir().unwrap();
        let e = find(Some(dir.path().join("nope"))).unwrap_err();
        assert_eq!(e.code(), crate::ErrorCode::BrowserNotFound);
        assert!(
            e.to_string().contains("nope"),
            "the message names the path: {e}"
        );
    }
}
