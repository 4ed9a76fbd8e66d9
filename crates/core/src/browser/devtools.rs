//! A thin Chrome DevTools Protocol session layer over the browser's DevTools pipe: commands
//! matched to their replies by id, and one event stream for the browser and every attached
//! target (flat sessions). Events stay JSON; callers parse only what they use into tolerant
//! structs, so a newer Chromium cannot break them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tokio::net::unix::pipe;
use tokio::sync::{mpsc, oneshot};

use super::pipe::{Frame, FrameReader, PipeEnds};

/// A DevTools failure.
#[derive(Debug, thiserror::Error)]
pub enum CdpError {
    /// The pipe could not be set up.
    #[error("cannot open the DevTools pipe: {0}")]
    Pipe(#[source] std::io::Error),
    /// The browser went away.
    #[error("the DevTools connection closed")]
    Closed,
    /// The browser answered a command with an error.
    #[error("{method} failed: {message}")]
    Command { method: String, message: String },
}

/// An event from the browser or from one attached target (`session_id`).
#[derive(Debug, Clone)]
pub struct CdpEvent {
    pub session_id: Option<String>,
    pub method: String,
    pub params: Value,
}

type Pending = Arc<Mutex<HashMap<u64, (String, oneshot::Sender<Result<Value, CdpError>>)>>>;

/// The command side of a connection; cheap to clone.
#[derive(Debug, Clone)]
pub struct Cdp {
    out: mpsc::UnboundedSender<String>,
    pending: Pending,
    next_id: Arc<AtomicU64>,
}

/// One message from the browser: a reply (`id`) or an event (`method`).
#[derive(Deserialize)]
struct Incoming {
    id: Option<u64>,
    method: Option<String>,
    #[serde(default)]
    params: Value,
    result: Option<Value>,
    error: Option<Value>,
    #[serde(rename = "sessionId")]
    session_id: Option<String>,
}

/// Speaks DevTools over the browser's pipe; events arrive on the returned channel until the
/// browser closes it. One message too large to hold is skipped (and logged): a page can make
/// the browser send one, and it must not end the session's observer.
pub fn over_pipe(ends: PipeEnds) -> Result<(Cdp, mpsc::UnboundedReceiver<CdpEvent>), CdpError> {
    let mut sink = pipe::Sender::from_owned_fd(ends.to_browser).map_err(CdpError::Pipe)?;
    let source = pipe::Receiver::from_owned_fd(ends.from_browser).map_err(CdpError::Pipe)?;
    let (out, mut out_rx) = mpsc::unbounded_channel::<String>();
    let (events_tx, events) = mpsc::unbounded_channel();
    let pending: Pending = Arc::default();
    tokio::spawn(async move {
        while let Some(msg) = out_rx.recv().await {
            let mut framed = msg.into_bytes();
            framed.push(0);
            if sink.write_all(&framed).await.is_err() {
                break;
            }
        }
    });
    let replies = pending.clone();
    tokio::spawn(async move {
        let mut frames = FrameReader::new(source);
        while let Some(frame) = frames.next().await {
            match frame {
                Frame::Message(text) => dispatch(&text, &replies, &events_tx),
                Frame::Skipped => tracing::warn!(
                    limit = super::pipe::MAX_MESSAGE,
                    "skipped one DevTools message over the size limit"
                ),
            }
        }
        // Browser gone: every waiting command fails with `Closed` (its sender is dropped).
        if let Ok(mut p) = replies.lock() {
            p.clear();
        }
    });
    Ok((
        Cdp {
            out,
            pending,
            next_id: Arc::new(AtomicU64::new(1)),
        },
        events,
    ))
}

/// Parses one browser message as an event (`None` for replies and unreadable text).
pub fn parse_event(text: &str) -> Option<CdpEvent> {
    let msg = serde_json::from_str::<Incoming>(text).ok()?;
    Some(CdpEvent {
        session_id: msg.session_id,
        method: msg.method?,
        params: msg.params,
    })
}

/// Routes one message from the browser to the command waiting for it, or to the event stream.
fn dispatch(text: &str, pending: &Pending, events: &mpsc::UnboundedSender<CdpEvent>) {
    let Ok(msg) = serde_json::from_str::<Incoming>(text) else {
        tracing::debug!("ignoring an unreadable DevTools message");
        return;
    };
    if let Some(id) = msg.id {
        let waiter = pending.lock().ok().and_then(|mut p| p.remove(&id));
        if let Some((method, tx)) = waiter {
            let reply = match msg.error {
                Some(e) => Err(CdpError::Command {
                    method,
                    message: e
                        .get("message")
                        .and_then(Value::as_str)
                        .unwrap_or("unknown error")
                        .to_owned(),
                }),
                None => Ok(msg.result.unwrap_or(Value::Null)),
            };
            let _ = tx.send(reply);
        }
    } else if let Some(method) = msg.method {
        let _ = events.send(CdpEvent {
            session_id: msg.session_id,
            method,
            params: msg.params,
        });
    }
}

impl Cdp {
    /// Sends a command to the browser (`session` `None`) or to an attached target, and waits for
    /// its reply.
    pub async fn call(
        &self,
        session: Option<&str>,
        method: &str,
        params: Value,
    ) -> Result<Value, CdpError> {
        let rx = self.send(session, method, params)?;
        rx.await.map_err(|_| CdpError::Closed)?
    }

    /// Sends a command now and returns its reply as a future: commands begun one after another
    /// reach the browser in that order without waiting for each other's replies.
    pub fn begin(
        &self,
        session: Option<&str>,
        method: &str,
        params: Value,
    ) -> impl std::future::Future<Output = Result<Value, CdpError>> + Send + 'static {
        let sent = self.send(session, method, params);
        async move { sent?.await.map_err(|_| CdpError::Closed)? }
    }

    /// Opens a new tab (`Target.createTarget` with `params`); its target id.
    pub async fn create_target(&self, params: Value) -> Result<String, CdpError> {
        let created = self.call(None, "Target.createTarget", params).await?;
        Ok(created
            .get("targetId")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned())
    }

    /// Sends a command without waiting for its reply (the reply is still consumed).
    pub fn fire(&self, session: Option<&str>, method: &str, params: Value) {
        let _ = self.send(session, method, params);
    }

    fn send(
        &self,
        session: Option<&str>,
        method: &str,
        params: Value,
    ) -> Result<oneshot::Receiver<Result<Value, CdpError>>, CdpError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if let Some(s) = session {
            msg["sessionId"] = Value::String(s.to_owned());
        }
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .map_err(|_| CdpError::Closed)?
            .insert(id, (method.to_owned(), tx));
        self.out
            .send(msg.to_string())
            .map_err(|_| CdpError::Closed)?;
        Ok(rx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_go_to_their_command_and_events_to_the_stream() {
        let pending: Pending = Arc::default();
        let (tx, rx) = oneshot::channel();
        pending
            .lock()
            .unwrap()
            .insert(7, ("Network.enable".to_owned(), tx));
        let (events_tx, mut events) = mpsc::unbounded_channel();
        dispatch(r#"{"id":7,"result":{"ok":1}}"#, &pending, &events_tx);
        dispatch(
            r#"{"method":"Network.loadingFinished","sessionId":"S1","params":{"requestId":"1.2","unknownNewField":[1]}}"#,
            &pending,
            &events_tx,
        );
        dispatch("not json", &pending, &events_tx);
        assert_eq!(rx.blocking_recv().unwrap().unwrap()["ok"], 1);
        let ev = events.try_recv().unwrap();
        assert_eq!(ev.session_id.as_deref(), Some("S1"));
        assert_eq!(ev.method, "Network.loadingFinished");
        assert!(
            events.try_recv().is_err(),
            "garbage is dropped, not forwarded"
        );
    }
}
