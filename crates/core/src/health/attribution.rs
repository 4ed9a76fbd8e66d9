//! What was true when a request failed: the exit and egress IP, whether the relay had just lost
//! or failed tunnels, and the token state — joined from the session's event stream.

use std::collections::VecDeque;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use ts_rs::TS;

use super::classify::{Classified, FailureStage, Signal};
use super::network::RequestOutcome;
use crate::events::{SessionEvent, SessionRecord};
use crate::rules::RequestKind;

/// Relay failures remembered for joining (a burst beyond this keeps the newest).
const MAX_RELAY_FAILURES: usize = 256;
/// A relay failure this long before a request means the request went over a new connection.
const RECONNECT_WINDOW_SECS: i64 = 30;

/// One request, classified and attributed: a row of `request_outcomes`.
#[derive(Debug, Clone, PartialEq, Serialize, TS, schemars::JsonSchema)]
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
    /// The relay lost or failed a tunnel to the same host within the 30 s before this request.
    pub relay_reconnected: bool,
    /// Milliseconds since the last successful / failed token refresh (`null`: none yet).
    #[ts(type = "number | null")]
    #[schemars(with = "Option<i64>")]
    pub since_refresh_ok_ms: Option<i64>,
    #[ts(type = "number | null")]
    #[schemars(with = "Option<i64>")]
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
        // Only this host's tunnels count: the browser's own background requests to other
        // hosts fail or reconnect without touching this request's connection.
        let reconnect_from = at - Duration::seconds(RECONNECT_WINDOW_SECS);
        let relay_reconnected = self
            .relay_failures
            .iter()
            .any(|f| f.at >= reconnect_from && f.at < at && f.target == outcome.host);
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

#[cfg(test)]
impl RequestRecord {
    /// A request of the tests: to `http://h.test/` at `at`, direct, failed at `stage` if given.
    pub(crate) fn sample(
        at: chrono::DateTime<chrono::Utc>,
        i: usize,
        stage: Option<crate::events::FailureStage>,
        status: Option<u16>,
    ) -> Self {
        Self {
            outcome: crate::health::RequestOutcome {
                at,
                request_id: i.to_string(),
                status,
                ..crate::health::RequestOutcome::sample("http://h.test/")
            },
            kind: crate::health::RequestKind::Other,
            stage,
            signal: None,
            exit_url: "direct".into(),
            egress_ip: None,
            relay_reconnected: false,
            relay_stage: None,
            relay_reason: None,
            since_refresh_ok_ms: None,
            since_refresh_fail_ms: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{SessionEvent, SessionRecord};
    use crate::exit::Stage;
    use crate::health::classify::classify;
    use crate::health::TemplateRules;

    fn dial_failed(at: DateTime<Utc>, target: &str, stage: Stage) -> SessionRecord {
        SessionRecord {
            template_id: "t".into(),
            session_id: "s".into(),
            at,
            event: SessionEvent::DialFailed {
                stage,
                target: target.into(),
                reason: "refused".into(),
            },
        }
    }

    #[test]
    fn a_proxy_failure_is_joined_with_the_relay_failure_for_its_host_only() {
        let mut a = Attribution::new("http://u@proxy:8080", Some("127.0.0.2".into()));
        let now = Utc::now();
        a.on_session_event(&dial_failed(
            now - Duration::seconds(5),
            "noise.test:443",
            Stage::ProxyHandshake,
        ));
        let mut o = RequestOutcome::sample("http://h.test/a");
        o.at = now;
        let ok = a.attribute(o.clone(), classify(&o, &TemplateRules::default()));
        assert!(
            !ok.relay_reconnected,
            "another host's failure says nothing about this request"
        );
        a.on_session_event(&dial_failed(now, "h.test:80", Stage::TcpConnect));
        let mut failed = o.clone();
        failed.at = now + Duration::milliseconds(10);
        failed.error = Some("net::ERR_TUNNEL_CONNECTION_FAILED".into());
        failed.status = None;
        let r = a.attribute(failed.clone(), classify(&failed, &TemplateRules::default()));
        assert_eq!(
            r.stage,
            Some(FailureStage::TcpConnect),
            "the relay's stage wins"
        );
        assert_eq!(r.relay_stage.as_deref(), Some("tcp_connect"));
        assert_eq!(r.relay_reason.as_deref(), Some("refused"));
        assert!(r.relay_reconnected);
        assert_eq!(r.egress_ip.as_deref(), Some("127.0.0.2"));
    }

    #[test]
    fn the_token_state_follows_refreshes() {
        let mut a = Attribution::new("direct", None);
        let t0 = Utc::now();
        let mut ok = RequestOutcome::sample("http://h.test/api/refresh");
        ok.at = t0;
        a.attribute(ok.clone(), classify(&ok, &TemplateRules::default()));
        let mut bad = ok.clone();
        bad.at = t0 + Duration::seconds(2);
        bad.status = Some(503);
        let r = a.attribute(bad.clone(), classify(&bad, &TemplateRules::default()));
        assert_eq!(r.since_refresh_ok_ms, Some(2000));
        assert_eq!(r.since_refresh_fail_ms, None, "no failure before this one");
        let mut next = ok.clone();
        next.at = t0 + Duration::seconds(3);
        let r = a.attribute(next.clone(), classify(&next, &TemplateRules::default()));
        assert_eq!(r.since_refresh_fail_ms, Some(1000));
    }
}
