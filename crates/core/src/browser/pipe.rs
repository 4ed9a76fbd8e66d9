//! DevTools over `--remote-debugging-pipe`: the browser reads commands on its fd 3 and writes
//! replies and events on its fd 4, each message JSON ended by a NUL byte. Unlike a TCP port, the
//! pipe is reachable by no other process or user: only the two ends Holdfast made exist.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use tokio::io::{AsyncRead, AsyncReadExt};

/// One message larger than this is skipped, not read into memory (a page can make Chromium
/// send arbitrarily large events, e.g. a WebSocket frame's payload). Far above any message the
/// observer uses.
pub const MAX_MESSAGE: usize = 64 * 1024 * 1024;

/// The parent's ends of the two pipes, made before the browser starts.
#[derive(Debug)]
pub struct PipeEnds {
    /// Holdfast writes commands here (the browser's fd 3 reads them).
    pub to_browser: OwnedFd,
    /// Holdfast reads messages here (the browser writes them on its fd 4).
    pub from_browser: OwnedFd,
}

/// The browser's ends, kept until the browser is spawned and then closed in Holdfast (so a
/// dead browser reads as end-of-file).
#[derive(Debug)]
pub struct ChildEnds {
    pub commands: OwnedFd,
    pub messages: OwnedFd,
}

impl ChildEnds {
    /// The raw fds for `pre_exec` (commands, messages).
    pub fn raw(&self) -> (RawFd, RawFd) {
        (self.commands.as_raw_fd(), self.messages.as_raw_fd())
    }
}

/// Two fresh pipes (close-on-exec; the child gets its ends by `dup2` onto fds 3 and 4).
pub fn pair() -> std::io::Result<(PipeEnds, ChildEnds)> {
    let (commands_rx, commands_tx) = std::io::pipe()?;
    let (messages_rx, messages_tx) = std::io::pipe()?;
    Ok((
        PipeEnds {
            to_browser: commands_tx.into(),
            from_browser: messages_rx.into(),
        },
        ChildEnds {
            commands: commands_rx.into(),
            messages: messages_tx.into(),
        },
    ))
}

/// In the forked child, before exec: puts the browser's ends on fds 3 and 4 (where Chromium
/// looks for them). Only async-signal-safe calls.
///
/// # Safety
/// Call only between fork and exec.
pub unsafe fn install_in_child(commands: RawFd, messages: RawFd) -> std::io::Result<()> {
    // Move both out of the way first: either may already sit on 3 or 4, and the first dup2
    // would then close the other.
    let high_cmd = libc::fcntl(commands, libc::F_DUPFD, 10);
    let high_msg = libc::fcntl(messages, libc::F_DUPFD, 10);
    if high_cmd < 0 || high_msg < 0 {
        return Err(std::io::Error::last_os_error());
    }
    if libc::dup2(high_cmd, 3) < 0 || libc::dup2(high_msg, 4) < 0 {
        return Err(std::io::Error::last_os_error());
    }
    libc::close(high_cmd);
    libc::close(high_msg);
    Ok(())
}

/// What one read step gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// A whole message (without its NUL).
    Message(String),
    /// A message over [`MAX_MESSAGE`] (or not UTF-8) was dropped; the stream goes on.
    Skipped,
}

/// Splits the browser's byte stream into messages, holding at most [`MAX_MESSAGE`] bytes.
#[derive(Debug)]
pub struct FrameReader<R> {
    inner: R,
    buf: Vec<u8>,
    /// Bytes of `buf` already searched for a NUL.
    scanned: usize,
    /// Inside a message that is too large: drop bytes up to its NUL.
    skipping: bool,
    limit: usize,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    /// Reads messages from `inner`.
    pub fn new(inner: R) -> Self {
        Self::with_limit(inner, MAX_MESSAGE)
    }

    /// With a smaller limit (tests).
    pub fn with_limit(inner: R, limit: usize) -> Self {
        Self {
            inner,
            buf: Vec::with_capacity(64 * 1024),
            scanned: 0,
            skipping: false,
            limit,
        }
    }

    /// The next message; `None` at end of stream (the browser is gone).
    pub async fn next(&mut self) -> Option<Frame> {
        loop {
            if let Some(pos) = self.buf[self.scanned..].iter().position(|b| *b == 0) {
                let end = self.scanned + pos;
                let frame = if self.skipping || end > self.limit {
                    self.skipping = false;
                    Frame::Skipped
                } else {
                    let bytes = self.buf[..end].to_vec();
                    String::from_utf8(bytes).map_or(Frame::Skipped, Frame::Message)
                };
                self.buf.drain(..=end);
                self.scanned = 0;
                return Some(frame);
            }
            self.scanned = self.buf.len();
            if self.buf.len() > self.limit {
                // Too large to keep: forget what we have and drop the rest up to its NUL.
                self.skipping = true;
                self.buf.clear();
                self.scanned = 0;
            }
            let mut chunk = [0u8; 64 * 1024];
            match self.inner.read(&mut chunk).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn messages_split_on_nul_and_an_oversized_one_is_skipped_not_fatal() {
        let mut stream = Vec::new();
        stream.extend_from_slice(b"{\"id\":1}\0");
        stream.extend(std::iter::repeat_n(b'x', 1000));
        stream.push(0);
        stream.extend_from_slice(b"{\"id\":2}\0{\"id\":3}");
        let mut r = FrameReader::with_limit(&stream[..], 100);
        assert_eq!(r.next().await, Some(Frame::Message("{\"id\":1}".into())));
        assert_eq!(
            r.next().await,
            Some(Frame::Skipped),
            "a message over the limit is dropped"
        );
        assert_eq!(
            r.next().await,
            Some(Frame::Message("{\"id\":2}".into())),
            "and the stream goes on after it"
        );
        assert_eq!(
            r.next().await,
            None,
            "a message cut by EOF is not delivered"
        );
    }
}
