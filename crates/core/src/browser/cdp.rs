//! The least of the DevTools protocol Holdfast needs here: ask the browser to close the way a
//! user closing its last window does (profile written, cookies flushed). SIGTERM is not that:
//! Chromium exits on it without committing recently set cookies.

use std::time::Duration;

use serde_json::json;

use super::devtools::{Cdp, CdpError};

/// Sends `Browser.close` over the session's DevTools pipe; `true` once the browser acknowledged
/// it or dropped the pipe (it is going away).
pub async fn close_browser(cdp: &Cdp, timeout: Duration) -> bool {
    match tokio::time::timeout(timeout, cdp.call(None, "Browser.close", json!({}))).await {
        Ok(Ok(_)) | Ok(Err(CdpError::Closed)) => true,
        Ok(Err(_)) | Err(_) => false,
    }
}
