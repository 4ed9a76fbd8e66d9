//! The fleet: every template's state at a glance for operators with hundreds of accounts, the
//! sessions in trouble ranked, and each exit judged across the accounts that use it.

pub mod rank;
pub mod service;

use serde::Serialize;
use ts_rs::TS;

use crate::guard::RiskState;
use crate::health::report::SeriesPoint;
use crate::launch::SessionInfo;

/// Where a template's session is now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum FleetState {
    /// A browser runs on this machine (any Holdfast process of this home).
    Running,
    /// This process is launching it.
    Starting,
    /// Not running.
    Stopped,
    /// Another member or machine of the team holds its lease.
    Elsewhere,
}

/// How a template's requests went over the last five minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum HealthBadge {
    /// No request in the window.
    Idle,
    Ok,
    /// Some failures or 401s.
    Warn,
    /// Most requests failed, or connection-layer failures piled up.
    Bad,
}

/// One template's row in the fleet list.
#[derive(Debug, Clone, Serialize, TS, schemars::JsonSchema)]
#[ts(export)]
pub struct FleetRow {
    pub template_id: String,
    pub name: String,
    pub account: String,
    /// The exit URL without password.
    pub exit: String,
    pub tags: Vec<String>,
    pub state: FleetState,
    /// Who runs it when it runs elsewhere in the team: "member on machine".
    pub held_by: Option<String>,
    /// The session when it runs on this machine.
    pub session: Option<SessionInfo>,
    /// The session's egress IP, else the last one checked.
    pub egress_ip: Option<String>,
    pub pinned_egress_ip: Option<String>,
    /// The egress differs from the pin.
    pub pin_mismatch: bool,
    /// The running session's last clock offset.
    #[ts(type = "number | null")]
    pub clock_offset_ms: Option<i64>,
    /// The risk window of the running session (closed when stopped).
    pub risk: RiskState,
    /// Requests, failures, connection-layer failures and 401s over the last five minutes.
    #[ts(type = "number")]
    pub requests_5m: i64,
    #[ts(type = "number")]
    pub failures_5m: i64,
    #[ts(type = "number")]
    pub connection_failures_5m: i64,
    #[ts(type = "number")]
    pub unauthorized_5m: i64,
    pub health: HealthBadge,
    /// When its browser last started (RFC 3339), if ever.
    pub last_launched: Option<String>,
}

/// A session in trouble now, and why.
#[derive(Debug, Clone, Serialize, TS, schemars::JsonSchema)]
#[ts(export)]
pub struct Trouble {
    pub template: String,
    pub template_id: String,
    /// Higher is worse; the list is sorted by it.
    #[ts(type = "number")]
    pub score: i64,
    /// Readable reasons, worst first.
    pub reasons: Vec<String>,
}

/// What failures through an exit point at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum ExitVerdict {
    /// Nothing fails through it.
    Ok,
    /// One account fails through it while the others do not: look at the account.
    Account,
    /// Several accounts fail through it at the connection layer: the exit is the problem.
    Exit,
}

/// One exit across the accounts that use it, over the last five minutes.
#[derive(Debug, Clone, Serialize, TS, schemars::JsonSchema)]
#[ts(export)]
pub struct ExitOverview {
    /// The exit URL without password.
    pub exit: String,
    /// Templates using it, and those of them running now.
    #[ts(type = "number")]
    pub accounts: i64,
    #[ts(type = "number")]
    pub running: i64,
    #[ts(type = "number")]
    pub requests_5m: i64,
    #[ts(type = "number")]
    pub failures_5m: i64,
    #[ts(type = "number")]
    pub connection_failures_5m: i64,
    /// Names of the templates with failures through it.
    pub failing: Vec<String>,
    pub verdict: ExitVerdict,
    /// One sentence for the operator.
    pub summary: String,
}

/// The health overview across all accounts.
#[derive(Debug, Clone, Serialize, TS, schemars::JsonSchema)]
#[ts(export)]
pub struct Overview {
    pub generated_at: String,
    /// Sessions in trouble, worst first.
    pub trouble: Vec<Trouble>,
    /// Exits, the ones in trouble first.
    pub exits: Vec<ExitOverview>,
    #[ts(type = "number")]
    pub running: i64,
    #[ts(type = "number")]
    pub risk_open: i64,
}

/// Something marked on a chart's time axis.
#[derive(Debug, Clone, Serialize, TS, schemars::JsonSchema)]
#[ts(export)]
pub struct SeriesMark {
    pub at: String,
    /// `egress_change` or `refresh_failed`.
    pub kind: String,
    pub template: String,
    pub detail: String,
}

/// Requests and failures per stage over a window, with the marks, for the charts.
#[derive(Debug, Clone, Serialize, TS, schemars::JsonSchema)]
#[ts(export)]
pub struct HealthSeries {
    /// `5m`, `1h` or `24h`.
    pub window: String,
    pub from: String,
    pub to: String,
    #[ts(type = "number")]
    pub bucket_secs: i64,
    pub points: Vec<SeriesPoint>,
    pub marks: Vec<SeriesMark>,
}

/// The window a chart may show: its label and length.
pub fn window(label: &str) -> Option<chrono::Duration> {
    match label {
        "5m" => Some(chrono::Duration::minutes(5)),
        "1h" => Some(chrono::Duration::hours(1)),
        "24h" => Some(chrono::Duration::hours(24)),
        _ => None,
    }
}
