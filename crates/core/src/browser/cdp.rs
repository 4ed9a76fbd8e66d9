//! The least of the DevTools protocol Holdfast needs here: ask the browser to close the way a
//! user closing its last window does (profile written, cookies flushed). SIGTERM is not that:
//! Chromium exits on it without committing recently set cookies.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

/// Sends `Browser.close` on the browser websocket; `true` once the browser acknowledged it or
/// dropped the connection (it is going away).
pub async fn close_browser(ws_url: &str, timeout: Duration) -> bool {
    let attempt = async {
        let (mut ws, _) = tokio_tungstenite::connect_async(ws_url).await.ok()?;
        ws.send(Message::text(r#"{"id":1,"method":"Browser.close"}"#))
            .await
            .ok()?;
        while let Some(msg) = ws.next().await {
            match msg {
                Ok(Message::Text(t)) if t.contains(r#""id":1"#) => return Some(()),
                Ok(Message::Close(_)) | Err(_) => return Some(()),
                Ok(_) => {}
            }
        }
        // The browser closed the socket without a close frame (it does on exit).
        Some(())
    };
    matches!(tokio::time::timeout(timeout, attempt).await, Ok(Some(())))
}
