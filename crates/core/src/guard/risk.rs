//! Risk windows: computed from a session's event stream (live, or stored events read back by
//! another process), so the CLI, the app and the guard agree without shared memory.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use ts_rs::TS;

use crate::events::ClockVerdict;
use crate::events::{FailureStage, RequestKind};
use crate::events::{SessionEvent, SessionRecord};

pub use crate::events::RISK_KINDS;

/// Thresholds of the risk window.
#[derive(Debug, Clone)]
pub struct RiskConfig {
    /// How long an egress change (or the exit's move to another country) keeps the window open.
    pub egress_calm: Duration,
    /// How long refreshes must succeed after a failure before the window closes.
    pub refresh_calm: Duration,
    /// Connection-layer request failures within `spike_window` that make a spike.
    pub spike_failures: usize,
    pub spike_window: Duration,
    /// How long after the spike's last failure the window stays open.
    pub spike_calm: Duration,
}

impl Default for RiskConfig {
    fn default() -> Self {
        Self {
            egress_calm: Duration::minutes(15),
            refresh_calm: Duration::minutes(10),
            spike_failures: 5,
            spike_window: Duration::seconds(60),
            spike_calm: Duration::minutes(5),
        }
    }
}

/// Why a window is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum RiskKind {
    EgressChanged,
    /// The exit moved to another country.
    GeoChanged,
    RefreshFailed,
    ClockDrift,
    FailureSpike,
    /// The session runs without its DevTools observer (no health, no guard).
    ObserverLost,
}

impl RiskKind {
    /// The stable name, as in `--json`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EgressChanged => "egress_changed",
            Self::GeoChanged => "geo_changed",
            Self::RefreshFailed => "refresh_failed",
            Self::ClockDrift => "clock_drift",
            Self::FailureSpike => "failure_spike",
            Self::ObserverLost => "observer_lost",
        }
    }
}

/// One reason, since when, and what happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS, schemars::JsonSchema)]
#[ts(export)]
pub struct RiskReason {
    pub kind: RiskKind,
    #[ts(type = "string")]
    #[schemars(with = "String")]
    pub since: DateTime<Utc>,
    pub detail: String,
}

/// `holdfast risk NAME --json`: `{"open", "reasons": [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS, schemars::JsonSchema)]
#[ts(export)]
pub struct RiskState {
    pub open: bool,
    pub reasons: Vec<RiskReason>,
}

impl RiskState {
    /// The reasons in one line, each with its age: "egress 127.0.0.2 → 127.0.0.3 4 min ago;
    /// refresh failed (503): … 1 min ago".
    pub fn summary(&self, now: DateTime<Utc>) -> String {
        self.reasons
            .iter()
            .map(|r| format!("{} {}", r.detail, ago(now - r.since)))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// "just now", "40 s ago", "4 min ago", "2 h ago".
pub fn ago(d: Duration) -> String {
    let s = d.num_seconds().max(0);
    match s {
        0..=4 => "just now".to_owned(),
        5..=59 => format!("{s} s ago"),
        60..=5_399 => format!("{} min ago", s / 60),
        _ => format!("{} h ago", s / 3_600),
    }
}

/// The risk state at `now` from a session's events, oldest first.
pub fn evaluate(events: &[SessionRecord], now: DateTime<Utc>, c: &RiskConfig) -> RiskState {
    let mut reasons = Vec::new();
    if let Some(r) = egress(events, now, c) {
        reasons.push(r);
    }
    if let Some(r) = geo(events, now, c) {
        reasons.push(r);
    }
    if let Some(r) = refresh(events, now, c) {
        reasons.push(r);
    }
    if let Some(r) = clock(events) {
        reasons.push(r);
    }
    if let Some(r) = spike(events, now, c) {
        reasons.push(r);
    }
    if let Some(r) = observer_lost(events) {
        reasons.push(r);
    }
    RiskState {
        open: !reasons.is_empty(),
        reasons,
    }
}

fn egress(events: &[SessionRecord], now: DateTime<Utc>, c: &RiskConfig) -> Option<RiskReason> {
    events.iter().rev().find_map(|r| match &r.event {
        SessionEvent::EgressChanged { old, new } if now - r.at < c.egress_calm => {
            Some(RiskReason {
                kind: RiskKind::EgressChanged,
                since: r.at,
                detail: format!("egress {old} → {new}"),
            })
        }
        _ => None,
    })
}

fn geo(events: &[SessionRecord], now: DateTime<Utc>, c: &RiskConfig) -> Option<RiskReason> {
    events.iter().rev().find_map(|r| match &r.event {
        SessionEvent::GeoChanged { old, new, .. } if now - r.at < c.egress_calm => {
            Some(RiskReason {
                kind: RiskKind::GeoChanged,
                since: r.at,
                detail: format!("exit country {old} → {new}"),
            })
        }
        _ => None,
    })
}

fn is_refresh_failure(e: &SessionEvent) -> bool {
    matches!(
        e,
        SessionEvent::RequestFailed {
            request_kind: RequestKind::Refresh,
            ..
        }
    )
}

fn refresh(events: &[SessionRecord], now: DateTime<Utc>, c: &RiskConfig) -> Option<RiskReason> {
    let last_fail = events.iter().rposition(|r| is_refresh_failure(&r.event))?;
    let failed = &events[last_fail];
    let first_ok = events[last_fail + 1..]
        .iter()
        .find(|r| matches!(r.event, SessionEvent::RefreshSucceeded { .. }));
    // Closed once refreshes have succeeded for the calm period after the last failure.
    if let Some(ok) = first_ok {
        if now - ok.at >= c.refresh_calm {
            return None;
        }
    }
    let detail = match &failed.event {
        SessionEvent::RequestFailed {
            status: Some(s),
            url,
            ..
        } => format!("refresh failed ({s}): {url}"),
        SessionEvent::RequestFailed {
            error: Some(e),
            url,
            ..
        } => format!("refresh failed ({e}): {url}"),
        _ => "refresh failed".to_owned(),
    };
    Some(RiskReason {
        kind: RiskKind::RefreshFailed,
        since: failed.at,
        detail,
    })
}

fn clock(events: &[SessionRecord]) -> Option<RiskReason> {
    events.iter().rev().find_map(|r| match &r.event {
        SessionEvent::ClockChecked { offset_ms, verdict } => match verdict {
            ClockVerdict::Warn | ClockVerdict::Block => Some(Some(RiskReason {
                kind: RiskKind::ClockDrift,
                since: r.at,
                detail: format!("clock offset {} ms", offset_ms.unwrap_or(0)),
            })),
            _ => Some(None),
        },
        _ => None,
    })?
}

/// Open from a lost observer until a browser starts again (a new session).
fn observer_lost(events: &[SessionRecord]) -> Option<RiskReason> {
    events.iter().rev().find_map(|r| match &r.event {
        SessionEvent::ObserverLost { reason } => Some(Some(RiskReason {
            kind: RiskKind::ObserverLost,
            since: r.at,
            detail: format!("observer lost ({reason})"),
        })),
        SessionEvent::BrowserStarted { .. } => Some(None),
        _ => None,
    })?
}

fn is_connection_failure(e: &SessionEvent) -> bool {
    matches!(
        e,
        SessionEvent::RequestFailed {
            stage: FailureStage::TcpConnect
                | FailureStage::Proxy
                | FailureStage::Tls
                | FailureStage::FirstByte
                | FailureStage::MidStream,
            ..
        }
    )
}

fn spike(events: &[SessionRecord], now: DateTime<Utc>, c: &RiskConfig) -> Option<RiskReason> {
    let failures: Vec<DateTime<Utc>> = events
        .iter()
        .filter(|r| is_connection_failure(&r.event))
        .map(|r| r.at)
        .collect();
    let n = c.spike_failures.max(1);
    // The newest run of `n` failures within the spike window.
    let end = failures
        .windows(n)
        .rev()
        .find(|w| w[n - 1] - w[0] <= c.spike_window)?;
    let (first, last) = (end[0], end[n - 1]);
    if now - last >= c.spike_calm {
        return None;
    }
    Some(RiskReason {
        kind: RiskKind::FailureSpike,
        since: first,
        detail: format!(
            "{n} connection failures within {} s",
            (last - first).num_seconds()
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64, event: SessionEvent) -> SessionRecord {
        SessionRecord {
            template_id: "t".into(),
            session_id: "s".into(),
            at: DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap(),
            event,
        }
    }

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    fn failed(kind: RequestKind, stage: FailureStage) -> SessionEvent {
        SessionEvent::RequestFailed {
            stage,
            request_kind: kind,
            url: "https://x.test/api/refresh".into(),
            status: Some(503),
            error: None,
            request_id: "1".into(),
        }
    }

    fn ok() -> SessionEvent {
        SessionEvent::RefreshSucceeded {
            url: "https://x.test/api/refresh".into(),
            latency_ms: Some(10.0),
        }
    }

    #[test]
    fn a_lost_observer_opens_a_window_until_the_next_browser_starts() {
        let c = RiskConfig::default();
        let lost = at(
            10,
            SessionEvent::ObserverLost {
                reason: "DevTools pipe closed".into(),
            },
        );
        let state = evaluate(std::slice::from_ref(&lost), t(10_000), &c);
        assert!(state.open, "no calm period closes it: the session is blind");
        assert_eq!(state.reasons[0].kind, RiskKind::ObserverLost);
        let next = at(20_000, SessionEvent::BrowserStarted { pid: 1 });
        assert!(
            !evaluate(&[lost, next], t(20_001), &c).open,
            "a new session (browser started) closes it"
        );
    }

    #[test]
    fn kind_names_are_the_serde_names() {
        for k in [
            RiskKind::EgressChanged,
            RiskKind::GeoChanged,
            RiskKind::RefreshFailed,
            RiskKind::ClockDrift,
            RiskKind::FailureSpike,
        ] {
            assert_eq!(
                serde_json::to_value(k).unwrap(),
                k.as_str(),
                "text and --json agree"
            );
        }
    }

    #[test]
    fn the_exit_moving_to_another_country_opens_the_window_for_the_calm_period() {
        let c = RiskConfig::default();
        let moved = [at(
            0,
            SessionEvent::GeoChanged {
                old: "DE".into(),
                new: "JP".into(),
                timezone: Some("Asia/Tokyo".into()),
            },
        )];
        let s = evaluate(&moved, t(60), &c);
        assert!(s.open);
        assert_eq!(s.reasons[0].kind, RiskKind::GeoChanged);
        assert_eq!(s.reasons[0].detail, "exit country DE → JP");
        assert!(
            !evaluate(&moved, t(15 * 60 + 1), &c).open,
            "closed after the calm"
        );
    }

    #[test]
    fn an_egress_change_opens_the_window_for_the_calm_period() {
        let ev = [at(
            0,
            SessionEvent::EgressChanged {
                old: "127.0.0.2".into(),
                new: "127.0.0.3".into(),
            },
        )];
        let c = RiskConfig::default();
        let s = evaluate(&ev, t(60), &c);
        assert!(s.open);
        assert_eq!(s.reasons[0].kind, RiskKind::EgressChanged);
        assert_eq!(s.reasons[0].detail, "egress 127.0.0.2 → 127.0.0.3");
        assert!(
            !evaluate(&ev, t(15 * 60), &c).open,
            "closed after 15 minutes"
        );
    }

    #[test]
    fn a_failed_refresh_stays_open_until_refreshes_succeed_for_the_calm_period() {
        let c = RiskConfig::default();
        let mut ev = vec![at(0, failed(RequestKind::Refresh, FailureStage::Http))];
        assert!(
            evaluate(&ev, t(3600), &c).open,
            "no success yet: still open"
        );
        ev.push(at(30, ok()));
        assert!(evaluate(&ev, t(30 + 9 * 60), &c).open);
        assert!(!evaluate(&ev, t(30 + 10 * 60), &c).open);
        ev.push(at(700, failed(RequestKind::Refresh, FailureStage::Http)));
        let s = evaluate(&ev, t(701), &c);
        assert_eq!(s.reasons[0].since, t(700), "a new failure reopens it");
        assert_eq!(
            s.reasons[0].detail,
            "refresh failed (503): https://x.test/api/refresh"
        );
    }

    #[test]
    fn clock_drift_follows_the_latest_check() {
        let c = RiskConfig::default();
        let drift = SessionEvent::ClockChecked {
            offset_ms: Some(1500),
            verdict: ClockVerdict::Warn,
        };
        let fine = SessionEvent::ClockChecked {
            offset_ms: Some(3),
            verdict: ClockVerdict::Ok,
        };
        assert!(evaluate(&[at(0, drift.clone())], t(1), &c).open);
        assert!(!evaluate(&[at(0, drift), at(600, fine)], t(601), &c).open);
    }

    #[test]
    fn a_burst_of_connection_failures_is_a_spike_and_auth_failures_are_not() {
        let c = RiskConfig::default();
        let burst: Vec<_> = (0..5)
            .map(|i| at(i * 5, failed(RequestKind::Other, FailureStage::TcpConnect)))
            .collect();
        let s = evaluate(&burst, t(30), &c);
        assert_eq!(s.reasons[0].kind, RiskKind::FailureSpike);
        assert!(
            !evaluate(&burst, t(20 + 5 * 60), &c).open,
            "calm after 5 minutes"
        );
        let spread: Vec<_> = (0..5)
            .map(|i| at(i * 30, failed(RequestKind::Other, FailureStage::TcpConnect)))
            .collect();
        assert!(
            !evaluate(&spread, t(121), &c).open,
            "five failures in two minutes are no spike"
        );
        let auth: Vec<_> = (0..5)
            .map(|i| at(i, failed(RequestKind::Other, FailureStage::Auth)))
            .collect();
        assert!(!evaluate(&auth, t(6), &c).open);
    }
}
