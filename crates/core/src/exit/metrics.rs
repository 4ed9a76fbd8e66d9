//! Connection-layer counters of one relay, kept in memory (atomics on the hot path) and taken
//! as deltas by the recorder, which writes them to SQLite in batches.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::histogram::Histogram;
use crate::events::Stage;

/// Live counters of one relay.
#[derive(Debug, Default)]
pub struct RelayMetrics {
    dial_attempts: AtomicU64,
    dial_ok: AtomicU64,
    failures: [AtomicU64; Stage::ALL.len()],
    backoff_waits: AtomicU64,
    active_tunnels: AtomicI64,
    bytes_up: AtomicU64,
    bytes_down: AtomicU64,
    latency: Mutex<Latencies>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Latencies {
    connect: Histogram,
    handshake: Histogram,
    first_byte: Histogram,
}

/// What happened since the previous snapshot (and the gauge of active tunnels now).
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricsDelta {
    pub dial_attempts: u64,
    pub dial_ok: u64,
    /// Failures per stage, in the order of [`Stage::ALL`].
    pub failures: [u64; Stage::ALL.len()],
    /// Dials that waited for the exit's back-off delay.
    pub backoff_waits: u64,
    /// Tunnels open at the moment of the snapshot.
    pub active_tunnels: i64,
    pub bytes_up: u64,
    pub bytes_down: u64,
    pub connect: Histogram,
    pub handshake: Histogram,
    pub first_byte: Histogram,
}

impl MetricsDelta {
    /// Whether nothing happened in this interval (and nothing is open): no row needed.
    pub fn is_quiet(&self) -> bool {
        self.dial_attempts == 0
            && self.backoff_waits == 0
            && self.active_tunnels == 0
            && self.bytes_up == 0
            && self.bytes_down == 0
            && self.failures.iter().all(|&n| n == 0)
    }

    /// Failures at one stage.
    pub fn failures_at(&self, stage: Stage) -> u64 {
        self.failures[stage.index()]
    }
}

impl RelayMetrics {
    /// A dial to the exit begins.
    pub fn dial_started(&self) {
        self.dial_attempts.fetch_add(1, Ordering::Relaxed);
    }

    /// A dial reached the target through the exit, in `connect` + `handshake` time.
    pub fn dial_succeeded(&self, connect: Duration, handshake: Option<Duration>) {
        self.dial_ok.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut l) = self.latency.lock() {
            l.connect.record(connect);
            if let Some(h) = handshake {
                l.handshake.record(h);
            }
        }
    }

    /// A failure at `stage` (of a dial or of an open tunnel).
    pub fn failed(&self, stage: Stage) {
        self.failures[stage.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// A dial waited for the back-off delay.
    pub fn backoff_waited(&self) {
        self.backoff_waits.fetch_add(1, Ordering::Relaxed);
    }

    /// Time from the browser's first byte to the first byte back.
    pub fn first_byte(&self, d: Duration) {
        if let Ok(mut l) = self.latency.lock() {
            l.first_byte.record(d);
        }
    }

    /// A tunnel opened (`+1`) or closed (`-1`).
    pub fn tunnel_delta(&self, n: i64) {
        self.active_tunnels.fetch_add(n, Ordering::Relaxed);
    }

    /// Bytes moved browser → exit.
    pub fn add_up(&self, n: u64) {
        self.bytes_up.fetch_add(n, Ordering::Relaxed);
    }

    /// Bytes moved exit → browser.
    pub fn add_down(&self, n: u64) {
        self.bytes_down.fetch_add(n, Ordering::Relaxed);
    }

    /// Tunnels open now.
    pub fn active_tunnels(&self) -> i64 {
        self.active_tunnels.load(Ordering::Relaxed)
    }

    /// Whether `take` would now give a quiet delta (see [`MetricsDelta::is_quiet`]), without
    /// taking anything.
    pub fn is_quiet(&self) -> bool {
        self.counts(|a| a.load(Ordering::Relaxed)).is_quiet()
    }

    /// Takes the counts since the last call (resetting them) and the active-tunnel gauge.
    pub fn take(&self) -> MetricsDelta {
        let latency = self
            .latency
            .lock()
            .map(|mut l| std::mem::take(&mut *l))
            .unwrap_or_default();
        MetricsDelta {
            connect: latency.connect,
            handshake: latency.handshake,
            first_byte: latency.first_byte,
            ..self.counts(|a| a.swap(0, Ordering::Relaxed))
        }
    }

    /// The counters, each read with `read` (a load, or a swap to zero), and the active-tunnel
    /// gauge; no latencies.
    fn counts(&self, read: impl Fn(&AtomicU64) -> u64) -> MetricsDelta {
        MetricsDelta {
            dial_attempts: read(&self.dial_attempts),
            dial_ok: read(&self.dial_ok),
            failures: std::array::from_fn(|i| read(&self.failures[i])),
            backoff_waits: read(&self.backoff_waits),
            active_tunnels: self.active_tunnels(),
            bytes_up: read(&self.bytes_up),
            bytes_down: read(&self.bytes_down),
            ..MetricsDelta::default()
        }
    }
}
