//! `holdfast health`: the connection layer (relay metrics) and the session layer (requests seen
//! over DevTools) of a template, over 5 min / 1 h / 24 h (or one window), per exit, with the
//! newest failures attributed, a timeline of what happened, and a time series for charts.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use sqlx::SqliteConnection;
use ts_rs::TS;

use super::classify::FailureStage;
use super::outcome_rows::{self as outcomes, FailureRow};
use crate::error::Result;
use crate::exit::metric_rows;
use crate::exit::stats::{self, Quantiles};
use crate::exit::Stage;
use crate::store::{self, events::StoredEvent};

/// Failures listed in a report (newest first).
const FAILURES_SHOWN: i64 = 50;
/// Buckets of the time series.
pub const SERIES_BUCKETS: i64 = 60;
/// Tunnel failures of one stage within a minute that make a spike.
const SPIKE: u64 = 3;

/// The health of a template.
#[derive(Debug, Clone, Serialize, TS, schemars::JsonSchema)]
#[ts(export)]
pub struct HealthReport {
    pub template: String,
    pub generated_at: String,
    pub windows: Vec<HealthWindow>,
    /// Per exit and egress IP, over the longest window.
    pub exits: Vec<ExitHealth>,
    /// The newest failures of the longest window, attributed.
    pub failures: Vec<FailureRow>,
    /// What happened, oldest first, over the longest window.
    pub timeline: Vec<TimelineEntry>,
    /// Requests and failures per bucket over the longest window.
    pub series: Vec<SeriesPoint>,
}

/// Both layers over one window.
#[derive(Debug, Clone, Serialize, TS, schemars::JsonSchema)]
#[ts(export)]
pub struct HealthWindow {
    /// `5m`, `1h`, `24h`, or the `--since` given.
    pub label: String,
    pub since: String,
    pub connection: ConnectionHealth,
    pub session: SessionHealth,
}

/// The connection layer: the relay's tunnels through the exit.
#[derive(Debug, Clone, Serialize, TS, schemars::JsonSchema)]
#[ts(export)]
pub struct ConnectionHealth {
    #[ts(type = "number")]
    #[schemars(with = "i64")]
    pub dials: u64,
    #[ts(type = "number")]
    #[schemars(with = "i64")]
    pub dial_ok: u64,
    /// Failures by relay stage.
    #[ts(type = "Record<string, number>")]
    pub failures: BTreeMap<String, u64>,
    /// Share of dials that failed at tcp connect, proxy auth or proxy handshake.
    pub handshake_failure_rate: Option<f64>,
    /// New upstream connections per minute.
    pub reconnects_per_min: f64,
    #[ts(type = "number")]
    #[schemars(with = "i64")]
    pub idle_reclaims: u64,
    pub connect_ms: Quantiles,
    pub first_byte_ms: Quantiles,
}

/// The session layer: what the browser's requests met.
#[derive(Debug, Clone, Serialize, TS, schemars::JsonSchema)]
#[ts(export)]
pub struct SessionHealth {
    #[ts(type = "number")]
    #[schemars(with = "i64")]
    pub requests: i64,
    #[ts(type = "number")]
    #[schemars(with = "i64")]
    pub failed: i64,
    /// Failures by stage (every stage present).
    #[ts(type = "Record<string, number>")]
    pub failures: BTreeMap<String, i64>,
    #[ts(type = "number")]
    #[schemars(with = "i64")]
    pub unauthorized: i64,
    #[ts(type = "number")]
    #[schemars(with = "i64")]
    pub forbidden: i64,
    /// 401s per request.
    pub unauthorized_ratio: Option<f64>,
    #[ts(type = "number")]
    #[schemars(with = "i64")]
    pub login_redirects: i64,
    #[ts(type = "number")]
    #[schemars(with = "i64")]
    pub verifications: i64,
    #[ts(type = "number")]
    #[schemars(with = "i64")]
    pub refreshes: i64,
    #[ts(type = "number")]
    #[schemars(with = "i64")]
    pub refresh_ok: i64,
    pub refresh_success_rate: Option<f64>,
    pub refresh_latency_p95_ms: Option<f64>,
    pub first_byte_ms: Quantiles,
}

/// Requests and failures through one exit and egress IP.
#[derive(Debug, Clone, Serialize, TS, schemars::JsonSchema)]
#[ts(export)]
pub struct ExitHealth {
    pub exit_url: String,
    pub egress_ip: Option<String>,
    #[ts(type = "number")]
    #[schemars(with = "i64")]
    pub requests: i64,
    #[ts(type = "Record<string, number>")]
    pub failures: BTreeMap<String, i64>,
}

/// One thing that happened.
#[derive(Debug, Clone, Serialize, TS, schemars::JsonSchema)]
#[ts(export)]
pub struct TimelineEntry {
    pub at: String,
    /// `egress_change`, `geo_change`, `request_failed`, `refresh_failed`, `relay_failure`, `reconnect_spike`,
    /// `clock_drift`, `session_start`, `session_end`.
    pub kind: String,
    pub stage: Option<String>,
    pub detail: String,
    /// How many like it were folded into this entry.
    #[ts(type = "number")]
    #[schemars(with = "i64")]
    pub count: u64,
}

/// One bucket of the time series.
#[derive(Debug, Clone, Serialize, TS, schemars::JsonSchema)]
#[ts(export)]
pub struct SeriesPoint {
    pub at: String,
    #[ts(type = "number")]
    #[schemars(with = "i64")]
    pub requests: i64,
    #[ts(type = "Record<string, number>")]
    pub failures: BTreeMap<String, i64>,
}

/// The windows of a report: `5m`, `1h`, `24h` by default, or just `since`.
pub fn windows(
    now: DateTime<Utc>,
    since: Option<(String, Duration)>,
) -> Vec<(String, DateTime<Utc>)> {
    match since {
        Some((label, d)) => vec![(label, now - d)],
        None => vec![
            ("5m".to_owned(), now - Duration::minutes(5)),
            ("1h".to_owned(), now - Duration::hours(1)),
            ("24h".to_owned(), now - Duration::hours(24)),
        ],
    }
}

/// Builds the report of one template.
pub async fn build(
    conn: &mut SqliteConnection,
    template_id: &str,
    template_name: &str,
    now: DateTime<Utc>,
    windows: Vec<(String, DateTime<Utc>)>,
) -> Result<HealthReport> {
    let mut out = Vec::new();
    let mut longest = now;
    for (label, from) in windows {
        longest = longest.min(from);
        let since = store::timestamp(from);
        out.push(HealthWindow {
            connection: connection(conn, template_id, &since, now - from).await?,
            session: session(conn, template_id, &since).await?,
            label,
            since,
        });
    }
    let since = store::timestamp(longest);
    let events = store::events::of_template(conn, template_id, None, &since).await?;
    Ok(HealthReport {
        template: template_name.to_owned(),
        generated_at: store::timestamp(now),
        windows: out,
        exits: exits(conn, template_id, &since).await?,
        failures: outcomes::failures(conn, template_id, &since, FAILURES_SHOWN).await?,
        timeline: timeline(&events),
        series: series(conn, template_id, longest, now).await?,
    })
}

async fn connection(
    conn: &mut SqliteConnection,
    template_id: &str,
    since: &str,
    span: Duration,
) -> Result<ConnectionHealth> {
    let rows = metric_rows::of_template(conn, template_id, since).await?;
    let t = stats::total(&rows);
    let minutes = (span.num_seconds().max(60) as f64) / 60.0;
    let f = |s: Stage| t.failures.get(s.as_str()).copied().unwrap_or(0);
    let handshake = f(Stage::TcpConnect) + f(Stage::ProxyAuth) + f(Stage::ProxyHandshake);
    Ok(ConnectionHealth {
        dials: t.dial_attempts,
        dial_ok: t.dial_ok,
        handshake_failure_rate: ratio(handshake as f64, t.dial_attempts as f64),
        reconnects_per_min: round(t.dial_attempts as f64 / minutes),
        idle_reclaims: f(Stage::IdleReclaim),
        failures: t.failures,
        connect_ms: t.connect_ms,
        first_byte_ms: t.first_byte_ms,
    })
}

async fn session(
    conn: &mut SqliteConnection,
    template_id: &str,
    since: &str,
) -> Result<SessionHealth> {
    let c = outcomes::counts(conn, template_id, since).await?;
    let by_stage = outcomes::stage_counts(conn, template_id, since).await?;
    let mut failures: BTreeMap<String, i64> = FailureStage::ALL
        .iter()
        .map(|s| (s.as_str().to_owned(), 0))
        .collect();
    for (stage, n) in by_stage {
        failures.insert(stage, n);
    }
    let refresh = outcomes::latencies(
        conn,
        template_id,
        since,
        outcomes::Latency::Total,
        Some("refresh"),
    )
    .await?;
    let ttfb =
        outcomes::latencies(conn, template_id, since, outcomes::Latency::FirstByte, None).await?;
    Ok(SessionHealth {
        requests: c.requests,
        failed: c.failed,
        failures,
        unauthorized: c.unauthorized,
        forbidden: c.forbidden,
        unauthorized_ratio: ratio(c.unauthorized as f64, c.requests as f64),
        login_redirects: c.login_redirects,
        verifications: c.verifications,
        refreshes: c.refreshes,
        refresh_ok: c.refresh_ok,
        refresh_success_rate: ratio(c.refresh_ok as f64, c.refreshes as f64),
        refresh_latency_p95_ms: quantile(&refresh, 0.95),
        first_byte_ms: Quantiles {
            count: ttfb.len() as u64,
            p50: quantile(&ttfb, 0.5),
            p95: quantile(&ttfb, 0.95),
            p99: quantile(&ttfb, 0.99),
        },
    })
}

async fn exits(
    conn: &mut SqliteConnection,
    template_id: &str,
    since: &str,
) -> Result<Vec<ExitHealth>> {
    let mut out: Vec<ExitHealth> = Vec::new();
    for (exit_url, egress_ip, stage, n) in outcomes::by_exit(conn, template_id, since).await? {
        let idx = match out
            .iter()
            .position(|e| e.exit_url == exit_url && e.egress_ip == egress_ip)
        {
            Some(i) => i,
            None => {
                out.push(ExitHealth {
                    exit_url,
                    egress_ip,
                    requests: 0,
                    failures: BTreeMap::new(),
                });
                out.len() - 1
            }
        };
        let e = &mut out[idx];
        e.requests += n;
        if let Some(stage) = stage {
            *e.failures.entry(stage).or_default() += n;
        }
    }
    Ok(out)
}

async fn series(
    conn: &mut SqliteConnection,
    template_id: &str,
    from: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<SeriesPoint>> {
    let span = (now - from).num_seconds().max(SERIES_BUCKETS);
    let bucket = (span / SERIES_BUCKETS).max(1);
    let rows = outcomes::per_bucket(conn, template_id, &store::timestamp(from), bucket).await?;
    Ok(points(rows))
}

/// Folds `(bucket start, stage or NULL, count)` rows, ordered by bucket, into series points.
pub fn points(rows: Vec<(i64, Option<String>, i64)>) -> Vec<SeriesPoint> {
    let mut out: Vec<SeriesPoint> = Vec::new();
    for (b, stage, n) in rows {
        let at = DateTime::from_timestamp(b, 0)
            .map(store::timestamp)
            .unwrap_or_default();
        if out.last().is_none_or(|p| p.at != at) {
            out.push(SeriesPoint {
                at,
                requests: 0,
                failures: BTreeMap::new(),
            });
        }
        if let Some(p) = out.last_mut() {
            p.requests += n;
            if let Some(stage) = stage {
                *p.failures.entry(stage).or_default() += n;
            }
        }
    }
    out
}

/// Folds the stored events into a readable timeline: repeats of the same failure within a
/// minute become one entry with a count; tunnel failures become a spike past a threshold.
pub fn timeline(events: &[StoredEvent]) -> Vec<TimelineEntry> {
    let mut out: Vec<TimelineEntry> = Vec::new();
    for e in events {
        let d = &e.detail;
        let s = |k: &str| d.get(k).and_then(|v| v.as_str()).unwrap_or("").to_owned();
        let (kind, stage, detail) = match e.kind.as_str() {
            "egress_changed" => (
                "egress_change",
                None,
                format!("{} → {}", s("old"), s("new")),
            ),
            "geo_changed" => (
                "geo_change",
                None,
                format!("exit country {} → {}", s("old"), s("new")),
            ),
            "request_failed" => {
                let what = match (d.get("status").and_then(|v| v.as_u64()), s("error")) {
                    (_, err) if !err.is_empty() => err,
                    (Some(code), _) => format!("HTTP {code}"),
                    _ => String::new(),
                };
                let kind = if s("request_kind") == "refresh" {
                    "refresh_failed"
                } else {
                    "request_failed"
                };
                (kind, Some(s("stage")), format!("{} {what}", s("url")))
            }
            "observer_lost" => (
                "observer_lost",
                None,
                format!(
                    "observer lost: {}; the relay refuses all traffic",
                    s("reason")
                ),
            ),
            "records_dropped" => (
                "records_dropped",
                None,
                format!(
                    "{} request records dropped: the health writer fell behind",
                    d.get("count").and_then(|v| v.as_u64()).unwrap_or(0)
                ),
            ),
            "dial_failed" => (
                "relay_failure",
                Some(s("stage")),
                format!("{}: {}", s("target"), s("reason")),
            ),
            "clock_checked" if s("verdict") == "warn" || s("verdict") == "block" => {
                let off = d.get("offset_ms").and_then(|v| v.as_i64()).unwrap_or(0);
                ("clock_drift", None, format!("clock offset {off} ms"))
            }
            "request_held" => (
                "request_held",
                None,
                format!(
                    "{} {} {}: {} by {}",
                    s("action"),
                    s("method"),
                    s("url"),
                    s("decision"),
                    s("decided_by")
                ),
            ),
            "browser_started" => ("session_start", None, "browser started".to_owned()),
            "browser_exited" => ("session_end", None, "browser exited".to_owned()),
            _ => continue,
        };
        if let Some(last) = out.last_mut() {
            let same = last.stage == stage
                && (last.kind == kind
                    || (last.kind == "reconnect_spike" && kind == "relay_failure"))
                && (kind == "relay_failure" || last.detail == detail)
                && within_a_minute(&last.at, &e.at);
            if same && kind != "egress_change" && kind != "request_held" {
                last.count += 1;
                if last.kind == "relay_failure" && last.count >= SPIKE {
                    last.kind = "reconnect_spike".to_owned();
                }
                if last.kind == "reconnect_spike" {
                    last.detail = format!(
                        "{} tunnel failures within a minute; last: {detail}",
                        last.count
                    );
                }
                continue;
            }
        }
        out.push(TimelineEntry {
            at: e.at.clone(),
            kind: kind.to_owned(),
            stage,
            detail,
            count: 1,
        });
    }
    out
}

fn within_a_minute(a: &str, b: &str) -> bool {
    match (
        DateTime::parse_from_rfc3339(a),
        DateTime::parse_from_rfc3339(b),
    ) {
        (Ok(a), Ok(b)) => (b - a).num_seconds().abs() <= 60,
        _ => false,
    }
}

fn ratio(n: f64, d: f64) -> Option<f64> {
    (d > 0.0).then(|| round(n / d))
}

fn round(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

fn quantile(values: &[f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let idx = ((v.len() as f64 - 1.0) * q).round() as usize;
    v.get(idx.min(v.len() - 1)).map(|x| round(*x))
}
