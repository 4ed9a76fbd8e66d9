//! Session state that travels with an account across a team: every cookie (HttpOnly too, read
//! through DevTools) and the profile's local storage. Captured when a session ends (cookies read
//! at a stop, or the latest 5-second copy when the browser closed itself), restored at the next
//! launch on a machine whose profile is older, before any start URL opens.

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::browser::devtools::Cdp;
use crate::error::{Error, Result};

/// The largest state stored (the team store refuses more, too).
pub const MAX_STATE: usize = 16 * 1024 * 1024;
/// Where in a profile the local storage lives.
const LOCAL_STORAGE: &str = "Default/Local Storage/leveldb";
/// The epoch of the state a profile holds (written after a save or a restore).
const MARKER: &str = "holdfast-state-epoch";

/// Cookies and local storage files of one profile.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct SessionState {
    /// `Storage.getCookies` objects, as the browser gave them.
    pub cookies: Vec<Value>,
    /// Local storage files: name in the leveldb directory → base64 bytes.
    pub local_storage: Vec<(String, String)>,
}

impl SessionState {
    /// The state as bytes to seal; `None` (and why) above the cap.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let bytes = serde_json::to_vec(self).map_err(|e| Error::BrowserFailed {
            detail: format!("cannot encode the session state: {e}"),
        })?;
        if bytes.len() > MAX_STATE {
            return Err(Error::BrowserFailed {
                detail: format!(
                    "the session state is {} MiB, over the 16 MiB the team store keeps; it was \
                     not stored (the next machine starts from its own profile)",
                    bytes.len() / (1024 * 1024)
                ),
            });
        }
        Ok(bytes)
    }

    /// A state from its bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        serde_json::from_slice(bytes).map_err(|e| Error::BrowserFailed {
            detail: format!("the stored session state is not readable: {e}"),
        })
    }
}

/// Every cookie of the browser (all profiles' partitions it has open), through DevTools.
pub(crate) async fn cookies(cdp: &Cdp) -> Result<Vec<Value>> {
    let reply = tokio::time::timeout(
        Duration::from_secs(3),
        cdp.call(None, "Storage.getCookies", json!({})),
    )
    .await
    .map_err(|_| devtools("Storage.getCookies timed out"))?
    .map_err(|e| devtools(&e.to_string()))?;
    Ok(reply["cookies"].as_array().cloned().unwrap_or_default())
}

/// Sets cookies captured elsewhere, before the account's pages open.
pub(crate) async fn set_cookies(cdp: &Cdp, cookies: &[Value]) -> Result<()> {
    if cookies.is_empty() {
        return Ok(());
    }
    let params: Vec<Value> = cookies.iter().map(cookie_param).collect();
    tokio::time::timeout(
        Duration::from_secs(5),
        cdp.call(None, "Storage.setCookies", json!({ "cookies": params })),
    )
    .await
    .map_err(|_| devtools("Storage.setCookies timed out"))?
    .map_err(|e| devtools(&e.to_string()))?;
    Ok(())
}

/// A `Network.Cookie` as the `Network.CookieParam` that sets it again (a session cookie has no
/// expiry to give).
fn cookie_param(c: &Value) -> Value {
    let mut p = serde_json::Map::new();
    for key in [
        "name",
        "value",
        "domain",
        "path",
        "secure",
        "httpOnly",
        "sameSite",
        "priority",
        "sourceScheme",
        "sourcePort",
        "partitionKey",
    ] {
        if let Some(v) = c.get(key) {
            p.insert(key.to_owned(), v.clone());
        }
    }
    if c.get("session").and_then(Value::as_bool) != Some(true) {
        if let Some(e) = c.get("expires") {
            p.insert("expires".to_owned(), e.clone());
        }
    }
    Value::Object(p)
}

/// The profile's local storage files (the browser has exited: they are consistent).
pub(crate) fn read_local_storage(profile: &Path) -> Result<Vec<(String, String)>> {
    let dir = profile.join(LOCAL_STORAGE);
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(out);
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name == "LOCK" || !e.path().is_file() {
            continue;
        }
        let bytes = std::fs::read(e.path())
            .map_err(|err| Error::io("cannot read local storage", e.path(), err))?;
        out.push((
            name,
            base64::engine::general_purpose::STANDARD.encode(bytes),
        ));
    }
    Ok(out)
}

/// Replaces the profile's local storage with `files` (before the browser starts).
pub(crate) fn write_local_storage(profile: &Path, files: &[(String, String)]) -> Result<()> {
    let dir = profile.join(LOCAL_STORAGE);
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .map_err(|e| Error::io("cannot replace local storage", &dir, e))?;
    }
    if files.is_empty() {
        return Ok(());
    }
    std::fs::create_dir_all(&dir).map_err(|e| Error::io("cannot create", &dir, e))?;
    for (name, b64) in files {
        // Names come from a state this team sealed; still, only plain file names are written.
        if name.contains(['/', '\\']) || name == ".." || name == "." {
            continue;
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| Error::BrowserFailed {
                detail: format!("a stored local storage file is damaged: {e}"),
            })?;
        let p: PathBuf = dir.join(name);
        std::fs::write(&p, bytes).map_err(|e| Error::io("cannot write local storage", &p, e))?;
    }
    Ok(())
}

/// The epoch of the state this profile holds (0: none from the team).
pub(crate) fn profile_epoch(profile: &Path) -> i64 {
    std::fs::read_to_string(profile.join(MARKER))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// Records that this profile holds the state of `epoch`.
pub(crate) fn set_profile_epoch(profile: &Path, epoch: i64) -> Result<()> {
    let p = profile.join(MARKER);
    std::fs::write(&p, epoch.to_string()).map_err(|e| Error::io("cannot write", &p, e))
}

fn devtools(detail: &str) -> Error {
    Error::BrowserFailed {
        detail: format!("DevTools: {detail}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_over_the_cap_is_refused_and_a_normal_one_round_trips() {
        let big = SessionState {
            cookies: vec![],
            local_storage: vec![("000003.log".into(), "A".repeat(MAX_STATE + 1))],
        };
        let err = big.to_bytes().unwrap_err().to_string();
        assert!(err.contains("16 MiB"), "{err}");
        let small = SessionState {
            cookies: vec![json!({"name": "sid", "value": "v", "domain": "a.test"})],
            local_storage: vec![("000003.log".into(), "AAEC".into())],
        };
        let back = SessionState::from_bytes(&small.to_bytes().unwrap()).unwrap();
        assert_eq!(back.cookies, small.cookies);
        assert_eq!(back.local_storage, small.local_storage);
    }

    #[test]
    fn a_cookie_is_set_again_without_read_only_fields_and_a_session_cookie_without_expiry() {
        let c = json!({"name": "sid", "value": "v", "domain": "a.test", "path": "/", "size": 4,
                       "httpOnly": true, "session": true, "expires": -1});
        let p = cookie_param(&c);
        assert_eq!(p["httpOnly"], true);
        assert!(p.get("size").is_none() && p.get("session").is_none());
        assert!(p.get("expires").is_none(), "a session cookie stays one");
        let kept =
            cookie_param(&json!({"name": "a", "value": "b", "expires": 1.9e9, "session": false}));
        assert_eq!(kept["expires"], 1.9e9);
    }

    #[test]
    fn local_storage_round_trips_and_no_name_escapes_its_directory() {
        let dir = tempfile::tempdir().unwrap();
        let files = vec![
            ("000003.log".to_owned(), "AAEC".to_owned()),
            ("../escape".to_owned(), "AAEC".to_owned()),
        ];
        write_local_storage(dir.path(), &files).unwrap();
        assert!(!dir.path().join("Default/Local Storage/escape").exists());
        let read = read_local_storage(dir.path()).unwrap();
        assert_eq!(read, vec![("000003.log".to_owned(), "AAEC".to_owned())]);
        assert_eq!(profile_epoch(dir.path()), 0);
        set_profile_epoch(dir.path(), 7).unwrap();
        assert_eq!(profile_epoch(dir.path()), 7);
    }
}
