//! One DevTools event in, at most one attributed request record out: tracking, classification
//! and attribution in one place, shared by the live observer and the ingest benchmark.

use super::attribution::{Attribution, RequestRecord};
use super::classify::classify;
use super::network::Tracker;
use crate::browser::devtools::CdpEvent;
use crate::events::{SessionEvent, SessionRecord};
use crate::rules::{RequestKind, TemplateRules};

/// The session layer's processing state.
#[derive(Debug)]
pub struct Pipeline {
    tracker: Tracker,
    rules: TemplateRules,
    attribution: Attribution,
}

impl Pipeline {
    /// A pipeline for one session.
    pub fn new(rules: TemplateRules, attribution: Attribution) -> Self {
        Self {
            tracker: Tracker::new(),
            rules,
            attribution,
        }
    }

    /// Feeds one DevTools event.
    pub fn on_cdp(&mut self, ev: &CdpEvent) -> Option<RequestRecord> {
        let outcome = self.tracker.on_event(ev)?;
        let c = classify(&outcome, &self.rules);
        Some(self.attribution.attribute(outcome, c))
    }

    /// Feeds one event of the session's own stream (relay, prober).
    pub fn on_session(&mut self, rec: &SessionRecord) {
        self.attribution.on_session_event(rec);
    }

    /// Requests started and not finished.
    pub fn in_flight(&self) -> usize {
        self.tracker.in_flight()
    }
}

/// The event a record is worth publishing on the session's stream, if any: failures and
/// refresh successes (what the timeline and the risk window act on), never every request.
pub fn notable(r: &RequestRecord) -> Option<SessionEvent> {
    if let Some(stage) = r.stage {
        return Some(SessionEvent::RequestFailed {
            stage,
            request_kind: r.kind,
            url: r.outcome.url.clone(),
            status: r.outcome.status,
            error: r.outcome.error.clone(),
            request_id: r.outcome.request_id.clone(),
        });
    }
    (r.kind == RequestKind::Refresh).then(|| SessionEvent::RefreshSucceeded {
        url: r.outcome.url.clone(),
        latency_ms: r.outcome.total_ms,
    })
}
