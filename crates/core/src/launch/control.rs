//! A running session's control socket. The session's owner alone holds the browser's DevTools
//! pipe, so `holdfast stop` from another process asks the owner, here, to close the browser
//! cleanly (cookies committed). A Unix socket in the owner-only home; a peer of another user id
//! is refused even so.

use std::path::{Path, PathBuf};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::watch;

use crate::error::{Error, Result};
use crate::home::Home;

/// The one request: stop the session.
const STOP: &str = "stop";

/// The socket of a template's session.
pub fn path(home: &Home, template_id: &str) -> PathBuf {
    home.run_dir().join(format!("{template_id}.sock"))
}

/// A bound control socket; the file is removed on drop.
#[derive(Debug)]
pub struct Control {
    listener: UnixListener,
    path: PathBuf,
}

impl Control {
    /// Binds the socket at `path` (a file left by a dead owner is replaced: the caller holds
    /// the template's lease).
    pub fn bind(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent() {
            crate::home::create_private_dir(dir)?;
        }
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(Error::io("cannot remove", path, e))
            }
            _ => {}
        }
        let listener =
            UnixListener::bind(path).map_err(|e| Error::io("cannot listen on", path, e))?;
        Ok(Self {
            listener,
            path: path.to_path_buf(),
        })
    }

    /// Answers requests until dropped: `stop` sets `stop` to true.
    pub async fn serve(&self, stop: watch::Sender<bool>) {
        loop {
            let Ok((conn, _)) = self.listener.accept().await else {
                // Out of descriptors, say: do not spin.
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            };
            if !same_user(&conn) {
                tracing::warn!("refused a control connection from another user");
                continue;
            }
            let stop = stop.clone();
            tokio::spawn(async move {
                let (read, mut write) = conn.into_split();
                let mut line = String::new();
                let mut reader = BufReader::new(read).take(64);
                if reader.read_line(&mut line).await.is_ok() && line.trim() == STOP {
                    let _ = stop.send(true);
                    let _ = write.write_all(b"ok\n").await;
                }
            });
        }
    }
}

impl Drop for Control {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn same_user(conn: &UnixStream) -> bool {
    conn.peer_cred()
        .is_ok_and(|c| c.uid() == nix::unistd::geteuid().as_raw())
}

/// Asks the owner of the session behind `path` to stop it; `true` once it acknowledged.
pub async fn request_stop(path: &Path) -> bool {
    let attempt = async {
        let mut conn = UnixStream::connect(path).await.ok()?;
        conn.write_all(format!("{STOP}\n").as_bytes()).await.ok()?;
        let mut answer = String::new();
        BufReader::new(conn).read_line(&mut answer).await.ok()?;
        (answer.trim() == "ok").then_some(())
    };
    tokio::time::timeout(std::time::Duration::from_secs(2), attempt)
        .await
        .is_ok_and(|r| r.is_some())
}
