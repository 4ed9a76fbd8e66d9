//! The ground floor: the one event stream of running sessions and the vocabulary every floor
//! shares (stages, request kinds, decisions, clock verdicts, Holdfast's own headers). Producers
//! (relay, egress probe, observer, guard) publish; consumers (the recorder, the risk tracker, the
//! faces) subscribe. Producers never call consumers. This module imports no feature module.

mod clock;
mod decision;
mod failure;
mod headers;
mod request_kind;
mod stage;

pub use clock::ClockVerdict;
pub use decision::{DecidedBy, Decision};
pub use failure::FailureStage;
pub use headers::{FAILURE_HEADER, GUARD_HEADER};
pub use request_kind::RequestKind;
pub use stage::{DialError, Stage};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use ts_rs::TS;

/// The event kinds a risk window is computed from (all others are ignored).
pub const RISK_KINDS: &[&str] = &[
    "egress_changed",
    "geo_changed",
    "request_failed",
    "refresh_succeeded",
    "clock_checked",
    "observer_lost",
    "browser_started",
];

/// Something that happened in a session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export)]
pub enum SessionEvent {
    /// The relay is listening.
    RelayStarted { addr: String },
    /// A tunnel through the exit could not be opened or broke, at `stage`.
    DialFailed {
        stage: Stage,
        /// `host:port` the browser asked for.
        target: String,
        reason: String,
    },
    /// The egress IP was fetched through the exit.
    EgressChecked { ip: String, via: String },
    /// The egress IP differs from the one seen before.
    EgressChanged { old: String, new: String },
    /// The exit is in another country than at the check before (ISO 3166-1 alpha-2 codes).
    GeoChanged {
        old: String,
        new: String,
        /// The exit's timezone now, if known.
        timezone: Option<String>,
    },
    /// The egress IP could not be fetched.
    EgressCheckFailed { reason: String },
    /// The relay stopped.
    RelayStopped,
    /// The browser is up (DevTools listening).
    BrowserStarted { pid: i32 },
    /// The browser's main process exited (`code` is absent when it was killed by a signal).
    BrowserExited { code: Option<i32> },
    /// A request failed at `stage` (session layer, attributed).
    RequestFailed {
        stage: FailureStage,
        request_kind: RequestKind,
        /// Without query values.
        url: String,
        status: Option<u16>,
        error: Option<String>,
        request_id: String,
    },
    /// A token refresh succeeded.
    RefreshSucceeded {
        url: String,
        latency_ms: Option<f64>,
    },
    /// The guard held a sensitive request during a risk window, and how it was decided.
    RequestHeld {
        action: String,
        method: String,
        /// Without query values.
        url: String,
        decision: Decision,
        decided_by: DecidedBy,
    },
    /// Request records were dropped because the health writer fell behind (its queue is
    /// bounded so a flood of requests cannot grow memory without end).
    RecordsDropped {
        #[ts(type = "number")]
        #[schemars(with = "i64")]
        count: u64,
    },
    /// The DevTools observer ended while the browser kept running: no health, no guard. The
    /// relay refuses all traffic from then on and a risk window stays open until the next
    /// session starts.
    ObserverLost { reason: String },
    /// The clock was checked against the SNTP servers.
    ClockChecked {
        #[ts(type = "number | null")]
        #[schemars(with = "Option<i64>")]
        offset_ms: Option<i64>,
        verdict: ClockVerdict,
    },
}

impl SessionEvent {
    /// The stable name of the event kind, as stored.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::RelayStarted { .. } => "relay_started",
            Self::DialFailed { .. } => "dial_failed",
            Self::EgressChecked { .. } => "egress_checked",
            Self::EgressChanged { .. } => "egress_changed",
            Self::GeoChanged { .. } => "geo_changed",
            Self::EgressCheckFailed { .. } => "egress_check_failed",
            Self::RelayStopped => "relay_stopped",
            Self::BrowserStarted { .. } => "browser_started",
            Self::BrowserExited { .. } => "browser_exited",
            Self::ClockChecked { .. } => "clock_checked",
            Self::RequestFailed { .. } => "request_failed",
            Self::RefreshSucceeded { .. } => "refresh_succeeded",
            Self::RequestHeld { .. } => "request_held",
            Self::RecordsDropped { .. } => "records_dropped",
            Self::ObserverLost { .. } => "observer_lost",
        }
    }
}

/// An event with where and when it happened.
#[derive(Debug, Clone, PartialEq, Serialize, TS, schemars::JsonSchema)]
#[ts(export)]
pub struct SessionRecord {
    pub template_id: String,
    pub session_id: String,
    #[ts(type = "string")]
    #[schemars(with = "String")]
    pub at: DateTime<Utc>,
    pub event: SessionEvent,
}

/// Publishing side of the event stream of one session.
#[derive(Debug, Clone)]
pub struct EventBus {
    tx: broadcast::Sender<SessionRecord>,
    template_id: String,
    session_id: String,
}

impl EventBus {
    /// A bus for one session; slow subscribers lose the oldest events beyond `capacity`.
    pub fn new(template_id: &str, session_id: &str, capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity.max(16));
        Self {
            tx,
            template_id: template_id.to_owned(),
            session_id: session_id.to_owned(),
        }
    }

    /// Publishes an event stamped now. Nobody listening is fine.
    pub fn publish(&self, event: SessionEvent) {
        let _ = self.tx.send(SessionRecord {
            template_id: self.template_id.clone(),
            session_id: self.session_id.clone(),
            at: Utc::now(),
            event,
        });
    }

    /// A new subscriber, seeing events published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<SessionRecord> {
        self.tx.subscribe()
    }

    /// The session this bus belongs to.
    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    /// The template this bus belongs to.
    pub fn template_id(&self) -> &str {
        &self.template_id
    }
}

/// Resolves once a stop flag turns true (or its sender is gone).
pub async fn stopped(rx: &mut tokio::sync::watch::Receiver<bool>) {
    // The guard `wait_for` returns is dropped here, not held across an await by the caller.
    let _ = rx.wait_for(|s| *s).await.map(|_| ());
}
