//! Connection-layer statistics read back from the stored relay metrics, per session and per exit.

use std::collections::BTreeMap;

use serde::Serialize;
use ts_rs::TS;

use super::metric_rows::MetricsRow;
use crate::exit::{Histogram, MetricsDelta, Stage};

/// Latency quantiles in milliseconds (`null` with no observations).
#[derive(Debug, Clone, PartialEq, Serialize, TS, schemars::JsonSchema)]
#[ts(export)]
pub struct Quantiles {
    #[ts(type = "number")]
    #[schemars(with = "i64")]
    pub count: u64,
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
}

impl From<&Histogram> for Quantiles {
    fn from(h: &Histogram) -> Self {
        let round = |v: Option<f64>| v.map(|ms| (ms * 1000.0).round() / 1000.0);
        Self {
            count: h.count(),
            p50: round(h.quantile_ms(0.5)),
            p95: round(h.quantile_ms(0.95)),
            p99: round(h.quantile_ms(0.99)),
        }
    }
}

/// Connection-layer totals over a period, for one session or one exit.
#[derive(Debug, Clone, PartialEq, Serialize, TS, schemars::JsonSchema)]
#[ts(export)]
pub struct ConnStats {
    /// The session id, or the exit URL.
    pub key: String,
    pub first: String,
    pub last: String,
    pub dial_attempts: u64,
    pub dial_ok: u64,
    /// Failures by stage (every stage present, zero included).
    pub failures: BTreeMap<String, u64>,
    pub backoff_waits: u64,
    /// Tunnels open at the last flush.
    pub active_tunnels: i64,
    pub bytes_up: u64,
    pub bytes_down: u64,
    pub connect_ms: Quantiles,
    pub handshake_ms: Quantiles,
    pub first_byte_ms: Quantiles,
}

/// `holdfast stats`: per session and per exit.
#[derive(Debug, Clone, PartialEq, Serialize, TS, schemars::JsonSchema)]
#[ts(export)]
pub struct RelayStats {
    pub template: String,
    pub since: String,
    pub sessions: Vec<ConnStats>,
    pub exits: Vec<ConnStats>,
}

#[derive(Default)]
struct Acc {
    first: String,
    last: String,
    sum: MetricsDelta,
}

impl Acc {
    fn add(&mut self, row: &MetricsRow) {
        if self.first.is_empty() {
            self.first = row.period_start.clone();
        }
        self.last = row.period_end.clone();
        let (s, d) = (&mut self.sum, &row.delta);
        s.dial_attempts += d.dial_attempts;
        s.dial_ok += d.dial_ok;
        for (a, b) in s.failures.iter_mut().zip(d.failures) {
            *a += b;
        }
        s.backoff_waits += d.backoff_waits;
        s.active_tunnels = d.active_tunnels;
        s.bytes_up += d.bytes_up;
        s.bytes_down += d.bytes_down;
        s.connect.merge(&d.connect);
        s.handshake.merge(&d.handshake);
        s.first_byte.merge(&d.first_byte);
    }

    fn finish(self, key: String) -> ConnStats {
        let s = self.sum;
        ConnStats {
            key,
            first: self.first,
            last: self.last,
            dial_attempts: s.dial_attempts,
            dial_ok: s.dial_ok,
            failures: Stage::ALL
                .iter()
                .map(|st| (st.as_str().to_owned(), s.failures_at(*st)))
                .collect(),
            backoff_waits: s.backoff_waits,
            active_tunnels: s.active_tunnels,
            bytes_up: s.bytes_up,
            bytes_down: s.bytes_down,
            connect_ms: (&s.connect).into(),
            handshake_ms: (&s.handshake).into(),
            first_byte_ms: (&s.first_byte).into(),
        }
    }
}

/// Sums all rows (oldest first) into one total, latency histograms merged.
pub fn total(rows: &[MetricsRow]) -> ConnStats {
    let mut acc = Acc::default();
    for row in rows {
        acc.add(row);
    }
    acc.finish(String::new())
}

/// Sums rows (oldest first) per session and per exit.
pub fn summarise(template: &str, since: &str, rows: &[MetricsRow]) -> RelayStats {
    let mut sessions: Vec<(String, Acc)> = Vec::new();
    let mut exits: Vec<(String, Acc)> = Vec::new();
    for row in rows {
        for (list, key) in [
            (&mut sessions, &row.session_id),
            (&mut exits, &row.exit_url),
        ] {
            match list.iter_mut().find(|(k, _)| k == key) {
                Some((_, acc)) => acc.add(row),
                None => {
                    let mut acc = Acc::default();
                    acc.add(row);
                    list.push((key.clone(), acc));
                }
            }
        }
    }
    let done = |v: Vec<(String, Acc)>| v.into_iter().map(|(k, a)| a.finish(k)).collect();
    RelayStats {
        template: template.to_owned(),
        since: since.to_owned(),
        sessions: done(sessions),
        exits: done(exits),
    }
}
