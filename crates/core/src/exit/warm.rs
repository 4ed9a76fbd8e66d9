//! Warm connections to a proxy exit: TCP connections opened ahead of need, so that a new tunnel
//! starts with the proxy handshake instead of a TCP connect (a round trip to the exit, and the
//! exit's accept). Browsers preconnect to sites the same way.
//!
//! Nothing is sent on a warm connection until a tunnel takes it: no credentials, no target. A
//! few are kept, only for a short while after the relay was used (at start, and after a dial
//! when no other is under way), so an idle session holds none open and no exit's idle limit is
//! reached (dante closes a client that has not negotiated within 30 s).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::Instant;

use super::dial::connect;

/// Warm connections kept at most: a page opens several connections at once.
const KEEP: usize = 2;
/// A warm connection not taken within this long is closed.
const TTL: Duration = Duration::from_secs(5);

/// A connection to the exit, connected and idle.
#[derive(Debug)]
pub struct WarmConnection {
    /// The connected socket; the exit has seen no byte on it.
    pub stream: TcpStream,
    /// How long its TCP connect took (reported as the tunnel's connect time).
    pub connect: Duration,
    opened: Instant,
}

/// The warm connections of one dialer.
#[derive(Debug)]
pub struct Warm {
    host: String,
    port: u16,
    connect_timeout: Duration,
    keepalive: Duration,
    ttl: Duration,
    ready: Mutex<VecDeque<WarmConnection>>,
    filling: AtomicBool,
}

impl Warm {
    /// Warm connections to the exit at `host:port`.
    pub fn new(host: &str, port: u16, connect_timeout: Duration, keepalive: Duration) -> Self {
        Self {
            host: host.to_owned(),
            port,
            connect_timeout,
            keepalive,
            ttl: TTL,
            ready: Mutex::new(VecDeque::new()),
            filling: AtomicBool::new(false),
        }
    }

    /// The newest warm connection the exit has not closed, if any.
    pub fn take(&self) -> Option<WarmConnection> {
        let Ok(mut ready) = self.ready.lock() else {
            return None;
        };
        while let Some(c) = ready.pop_back() {
            if c.opened.elapsed() < self.ttl && idle(&c.stream) {
                return Some(c);
            }
        }
        None
    }

    /// Tops the warm connections up to `KEEP` in the background, unless that is under way.
    /// Must be called within a Tokio runtime.
    pub fn fill(self: &Arc<Self>) {
        if self.filling.swap(true, Ordering::AcqRel) {
            return;
        }
        let warm = Arc::clone(self);
        tokio::spawn(async move {
            while warm.len() < KEEP {
                let started = Instant::now();
                let connected =
                    connect(&warm.host, warm.port, warm.connect_timeout, warm.keepalive).await;
                // A failed warm-up is not a failed dial: the next tunnel dials as usual and
                // reports what it finds.
                let Ok(stream) = connected else { break };
                let c = WarmConnection {
                    stream,
                    connect: started.elapsed(),
                    opened: Instant::now(),
                };
                match warm.ready.lock() {
                    Ok(mut ready) => ready.push_back(c),
                    Err(_) => break,
                }
            }
            warm.filling.store(false, Ordering::Release);
            // Close what was not taken in time, so that an idle session holds nothing open.
            tokio::time::sleep(warm.ttl).await;
            warm.expire();
        });
    }

    fn len(&self) -> usize {
        self.ready.lock().map(|r| r.len()).unwrap_or(KEEP)
    }

    fn expire(&self) {
        if let Ok(mut ready) = self.ready.lock() {
            ready.retain(|c| c.opened.elapsed() < self.ttl);
        }
    }
}

/// Whether the exit has neither closed the connection nor sent anything on it.
fn idle(stream: &TcpStream) -> bool {
    let mut byte = [0u8; 1];
    matches!(stream.try_read(&mut byte), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    async fn warm_to(listener: &TcpListener) -> Arc<Warm> {
        warm_for(listener, TTL)
    }

    fn warm_for(listener: &TcpListener, ttl: Duration) -> Arc<Warm> {
        let port = listener.local_addr().unwrap().port();
        let mut warm = Warm::new(
            "127.0.0.1",
            port,
            Duration::from_secs(5),
            Duration::from_secs(30),
        );
        warm.ttl = ttl;
        Arc::new(warm)
    }

    async fn filled(warm: &Arc<Warm>) {
        warm.fill();
        while warm.filling.load(Ordering::Acquire) || warm.len() < KEEP {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn a_warm_connection_reaches_the_exit_and_sends_nothing_until_taken() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let warm = warm_to(&listener).await;
        filled(&warm).await;
        let (mut exit_side, _) = listener.accept().await.unwrap();
        let mut byte = [0u8; 1];
        assert!(
            matches!(exit_side.try_read(&mut byte), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
            "the exit must see no byte before a tunnel takes the connection"
        );
        let taken = warm.take().expect("a warm connection is ready");
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = taken.stream;
        stream.write_all(b"x").await.unwrap();
        // Either of the two warm connections may be the one taken.
        let (mut other, _) = listener.accept().await.unwrap();
        let mut other_byte = [0u8; 1];
        let got = tokio::select! {
            r = exit_side.read_exact(&mut byte) => r.map(|_| byte[0]),
            r = other.read_exact(&mut other_byte) => r.map(|_| other_byte[0]),
        };
        assert_eq!(got.unwrap(), b'x', "the taken connection leads to the exit");
    }

    #[tokio::test]
    async fn a_connection_the_exit_closed_is_not_handed_out() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let warm = warm_to(&listener).await;
        filled(&warm).await;
        // The exit drops both idle connections (an idle limit, a restart).
        for _ in 0..KEEP {
            let (s, _) = listener.accept().await.unwrap();
            drop(s);
        }
        // Let the runtime see the FINs arrive.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let seen = warm.ready.lock().unwrap().iter().all(|c| !idle(&c.stream));
            if seen || Instant::now() > deadline {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert!(
            warm.take().is_none(),
            "a closed warm connection must not be used for a tunnel"
        );
    }

    #[tokio::test]
    async fn warm_connections_are_closed_when_not_taken_in_time() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let ttl = Duration::from_millis(100);
        let warm = warm_for(&listener, ttl);
        filled(&warm).await;
        let (mut exit_side, _) = listener.accept().await.unwrap();
        // The exit sees the connection closed once its time is up.
        let mut byte = [0u8; 1];
        use tokio::io::AsyncReadExt;
        let n = tokio::time::timeout(ttl * 50, exit_side.read(&mut byte))
            .await
            .expect("the warm connection is closed after its time")
            .unwrap();
        assert_eq!(n, 0, "closed without a byte sent");
        assert_eq!(
            warm.len(),
            0,
            "an idle session holds no connection to the exit"
        );
    }
}
