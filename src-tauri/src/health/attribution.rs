//! What was true when a request failed: the exit and egress IP, whether the relay had just lost
//! or failed tunnels, and the token state — joined from the session's event stream.

use std::collections::VecDeque;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use ts_rs::TS;

use super::classify::{Classified, FailureStage, Signal};
use super::network::RequestOutcome;
use super::rules::RequestKind;
use crate::events::{SessionEvent, SessionRecord};

/// Relay failures remembered for joining (a burst beyond this keeps the newest).
const MAX_RELAY_FAILURES: usize = 256;
/// A relay failure this long before a request means the request went over a new connection.
const RECONNECT_WINDOW_SECS: i64 = 30;

/// One request, classified and attributed: a row of `request_outcomes`.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct RequestRecord {
    #[serde(flatten)]
    pub outcome: RequestOutcome,
    pub kind: RequestKind,
    /// Where it failed; `null` when it did not.
    pub stage: Option<FailureStage>,
    /// What an auth failure means (unauthorized, login redirect, verification, …).
    pub signal: Option<Signal>,
    /// The exit (URL without password) and the egress IP last seen through it.
    pub exit_url: String,
    pub egress_ip: Option<String>,
    /// The relay's own stage and reason for this failure, when it reported one for the host.
    pub relay_stage: Option<String>,
    pub relay_reason: Option<String>,
    /// The relay lost or failed a tunnel within the 30 s before this request.
    pub relay_reconnected: bool,
    /// Milliseconds since the last successful / failed token refresh (`null`: none yet).
    #[ts(type = "number | null")]
    pub since_refresh_ok_ms: Option<i64>,
    #[ts(type = "number | null")]
    pub since_refresh_fail_ms: Option<i64>,
}

#[derive(Debug, Clone)]
struct RelayFailure {
    at: DateTime<Utc>,
    target: String,
    stage: &'static str,
    reason: String,
}

/// The running state a request is attributed against.
#[derive(Debug, Clone)]
pub struct Attribution {
    exit_url: String,
    egress_ip: Option<String>,
    relay_failures: VecDeque<RelayFailure>,
    last_refresh_ok: Option<DateTime<Utc>>,
    last_refresh_fail: Option<DateTime<Utc>>,
}

impl Attribution {
    /// State at the start of a session.
    pub fn new(exit_url: &str, egress_ip: Option<String>) -> Self {
        Self {
            exit_url: exit_url.to_owned(),
            egress_ip,
            relay_failures: VecDeque::new(),
            last_refresh_ok: None,
            last_refresh_fail: None,
        }
    }

    /// The egress IP as last seen.
    pub fn egress_ip(&self) -> Option<&str> {
        self.egress_ip.as_deref()
    }

    /// Takes in what the relay and the prober published.
    pub fn on_session_event(&mut self, rec: &SessionRecord) {
        match &rec.event {
            SessionEvent::EgressChecked { ip, .. } => self.egress_ip = Some(ip.clone()),
            SessionEvent::EgressChanged { new, .. } => self.egress_ip = Some(new.clone()),
            SessionEvent::DialFailed {
                stage,
                target,
                reason,
            } => {
                if self.relay_failures.len() >= MAX_RELAY_FAILURES {
                    self.relay_failures.pop_front();
                }
                self.relay_failures.push_back(RelayFailure {
                    at: rec.at,
                    target: target.clone(),
                    stage: stage.as_str(),
                    reason: reason.clone(),
                });
            }
            _ => {}
        }
    }

    /// Attributes a classified outcome, and updates the token state with it.
    pub fn attribute(&mut self, outcome: RequestOutcome, c: Classified) -> RequestRecord {
        let at = outcome.at;
        let since = |t: Option<DateTime<Utc>>| t.map(|t| (at - t).num_milliseconds().max(0));
        let (mut relay_stage, mut relay_reason) = (None, None);
        if c.stage.is_some() && c.proxy_side {
            let end = at + Duration::milliseconds(outcome.total_ms.unwrap_or(0.0) as i64 + 2000);
            let start = at - Duration::seconds(1);
            if let Some(f) = self
                .relay_failures
                .iter()
                .rev()
                .find(|f| f.at >= start && f.at <= end && f.target == outcome.host)
            {
                relay_stage = Some(f.stage.to_owned());
                relay_reason = Some(f.reason.clone());
            }
        }
        let stage = match (c.stage, relay_stage.as_deref()) {
            // The relay knows better where its own tunnel failed.
            (Some(_), Some(rs)) if outcome.relay_failure.is_none() => {
                FailureStage::from_relay(rs).or(c.stage)
            }
            (s, _) => s,
        };
        let reconnect_from = at - Duration::seconds(RECONNECT_WINDOW_SECS);
        let relay_reconnected = self
            .relay_failures
            .iter()
            .any(|f| f.at >= reconnect_from && f.at < at);
        let record = RequestRecord {
            kind: c.kind,
            stage,
            signal: c.signal,
            exit_url: self.exit_url.clone(),
            egress_ip: self.egress_ip.clone(),
            relay_stage: relay_stage.or_else(|| outcome.relay_failure.clone()),
            relay_reason,
            relay_reconnected,
            since_refresh_ok_ms: since(self.last_refresh_ok),
            since_refresh_fail_ms: since(self.last_refresh_fail),
            outcome,
        };
        if c.kind == RequestKind::Refresh {
            if stage.is_some() {
                self.last_refresh_fail = Some(at);
            } else {
                self.last_refresh_ok = Some(at);
            }
        }
        record
    }
}
