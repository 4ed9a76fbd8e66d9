//! Moving bytes both ways through an open tunnel, with the first-byte and idle timeouts, and
//! telling a clean end from a failure of the exit side.

use std::io::ErrorKind;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::config::RelayConfig;
use super::metrics::RelayMetrics;
use crate::events::{DialError, Stage};

/// Buffers start small (an idle tunnel holds little memory) and grow to `BUF` once a read fills
/// one (bulk transfer).
const BUF_START: usize = 8 * 1024;
const BUF: usize = 64 * 1024;
/// A tunnel closed by the exit side after this long without traffic was reclaimed as idle.
const UPSTREAM_IDLE: Duration = Duration::from_secs(1);
/// "Not yet" in the nanosecond clocks below.
const NEVER: u64 = u64::MAX;

/// Moves bytes between the browser and the exit until both sides are done, a side fails, or a
/// timeout closes the tunnel. `Err` is a failure of the exit side, at its stage.
pub async fn pump(
    mut browser: TcpStream,
    browser_early: Bytes,
    mut exit: TcpStream,
    exit_early: Bytes,
    config: &RelayConfig,
    metrics: &RelayMetrics,
) -> Result<(), DialError> {
    let start = Instant::now();
    let clock = Clocks {
        start,
        last_activity: AtomicU64::new(0),
        first_sent: AtomicU64::new(NEVER),
        first_received: AtomicU64::new(NEVER),
    };
    let (mut br, mut bw) = browser.split();
    let (mut er, mut ew) = exit.split();

    let up = async {
        if !browser_early.is_empty() {
            clock.sent();
            ew.write_all(&browser_early).await?;
            metrics.add_up(browser_early.len() as u64);
        }
        let mut buf = vec![0u8; BUF_START];
        loop {
            let n = br.read(&mut buf).await?;
            if n == 0 {
                // The browser is done sending; the exit may still answer (half-close).
                let _ = ew.shutdown().await;
                return Ok::<_, std::io::Error>(());
            }
            clock.sent();
            ew.write_all(&buf[..n]).await?;
            metrics.add_up(n as u64);
            grow(&mut buf, n);
        }
    };
    let down = async {
        if !exit_early.is_empty() {
            clock.received(metrics);
            bw.write_all(&exit_early).await.map_err(Side::Browser)?;
            metrics.add_down(exit_early.len() as u64);
        }
        let mut buf = vec![0u8; BUF_START];
        loop {
            let n = er.read(&mut buf).await.map_err(Side::Exit)?;
            if n == 0 {
                let _ = bw.shutdown().await;
                return Ok::<_, Side>(());
            }
            clock.received(metrics);
            bw.write_all(&buf[..n]).await.map_err(Side::Browser)?;
            metrics.add_down(n as u64);
            grow(&mut buf, n);
        }
    };
    let (mut up_done, mut down_done) = (false, false);
    tokio::pin!(up, down);
    loop {
        let (deadline, _) = clock.deadline(config);
        tokio::select! {
            r = &mut up, if !up_done => {
                up_done = true;
                if r.is_err() {
                    // The browser went away (or the exit stopped reading): nothing to blame on
                    // the exit unless the other direction says so.
                    return Ok(());
                }
            }
            r = &mut down, if !down_done => {
                down_done = true;
                match r {
                    Ok(()) if clock.nothing_received() && clock.anything_sent() => {
                        return Err(DialError::new(Stage::FirstByte, "the exit side closed the tunnel before answering"));
                    }
                    // The exit side closed a tunnel that had been quiet and the browser still
                    // held open: an upstream idle timeout reclaimed it.
                    Ok(()) if !up_done && clock.idle_for() >= UPSTREAM_IDLE => {
                        return Err(DialError::new(
                            Stage::IdleReclaim,
                            format!(
                                "the exit side closed the tunnel after {} ms without traffic",
                                clock.idle_for().as_millis()
                            ),
                        ));
                    }
                    Ok(()) => {}
                    Err(Side::Browser(_)) => return Ok(()),
                    Err(Side::Exit(e)) => return Err(mid_stream(&e, &clock)),
                }
            }
            _ = tokio::time::sleep_until(deadline) => {
                if let Some(e) = clock.expired(config) {
                    return Err(e);
                }
            }
        }
        if up_done && down_done {
            return Ok(());
        }
    }
}

fn grow(buf: &mut Vec<u8>, last_read: usize) {
    if last_read == buf.len() && buf.len() < BUF {
        buf.resize(BUF, 0);
    }
}

enum Side {
    Browser(#[allow(dead_code)] std::io::Error),
    Exit(std::io::Error),
}

fn mid_stream(e: &std::io::Error, clock: &Clocks) -> DialError {
    let what = match e.kind() {
        ErrorKind::ConnectionReset => "the connection was reset by the exit side",
        ErrorKind::ConnectionAborted => "the connection was aborted on the exit side",
        ErrorKind::TimedOut => "the exit side stopped answering TCP keepalives",
        _ => "the exit side failed",
    };
    let stage = if clock.nothing_received() && clock.anything_sent() {
        Stage::FirstByte
    } else {
        Stage::MidStream
    };
    DialError::new(stage, format!("{what}: {e}"))
}

/// Which timeout the next deadline belongs to.
#[derive(Clone, Copy)]
enum Timer {
    FirstByte,
    Idle,
    Recheck,
}

/// Times since the tunnel opened, in nanoseconds, shared by both directions.
struct Clocks {
    start: Instant,
    last_activity: AtomicU64,
    first_sent: AtomicU64,
    first_received: AtomicU64,
}

impl Clocks {
    fn now(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    fn sent(&self) {
        let now = self.now();
        self.last_activity.store(now, Ordering::Relaxed);
        let _ = self
            .first_sent
            .compare_exchange(NEVER, now, Ordering::Relaxed, Ordering::Relaxed);
    }

    fn received(&self, metrics: &RelayMetrics) {
        let now = self.now();
        self.last_activity.store(now, Ordering::Relaxed);
        if self.first_received.load(Ordering::Relaxed) == NEVER {
            self.first_received.store(now, Ordering::Relaxed);
            let sent = self.first_sent.load(Ordering::Relaxed);
            if sent != NEVER {
                metrics.first_byte(Duration::from_nanos(now.saturating_sub(sent)));
            }
        }
    }

    /// Time since the last byte either way.
    fn idle_for(&self) -> Duration {
        Duration::from_nanos(
            self.now()
                .saturating_sub(self.last_activity.load(Ordering::Relaxed)),
        )
    }

    fn anything_sent(&self) -> bool {
        self.first_sent.load(Ordering::Relaxed) != NEVER
    }

    fn nothing_received(&self) -> bool {
        self.first_received.load(Ordering::Relaxed) == NEVER
    }

    /// The earliest moment a timeout could fire, and which.
    fn deadline(&self, config: &RelayConfig) -> (Instant, Timer) {
        let idle = self.start
            + Duration::from_nanos(self.last_activity.load(Ordering::Relaxed))
            + config.idle_timeout;
        let sent = self.first_sent.load(Ordering::Relaxed);
        if sent == NEVER {
            // The first byte may go out while we sleep, and would not wake us: look again
            // within a first-byte timeout.
            let recheck = Instant::now() + config.first_byte_timeout;
            if recheck < idle {
                return (recheck, Timer::Recheck);
            }
        } else if self.nothing_received() {
            let fb = self.start + Duration::from_nanos(sent) + config.first_byte_timeout;
            if fb < idle {
                return (fb, Timer::FirstByte);
            }
        }
        (idle, Timer::Idle)
    }

    /// Whether the timer really expired (activity may have moved the deadline since).
    fn expired(&self, config: &RelayConfig) -> Option<DialError> {
        let (deadline, timer) = self.deadline(config);
        if Instant::now() < deadline {
            return None;
        }
        Some(match timer {
            Timer::Recheck => return None,
            Timer::FirstByte => DialError::new(
                Stage::FirstByte,
                format!(
                    "no answer within {} ms of the first byte sent",
                    config.first_byte_timeout.as_millis()
                ),
            ),
            Timer::Idle => DialError::new(
                Stage::IdleReclaim,
                format!(
                    "closed after {} s without traffic, before a middlebox could drop it silently",
                    config.idle_timeout.as_secs()
                ),
            ),
        })
    }
}
