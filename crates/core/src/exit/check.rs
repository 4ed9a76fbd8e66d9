//! `check`: the egress IP through the exit, compared with the pin and with what was seen before,
//! and recorded in the egress history.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::SqliteConnection;
use ts_rs::TS;

use crate::error::{Error, ErrorPayload, Result};
use crate::exit::egress::Probe;
use crate::exit::{DialError, Stage};
use crate::store::egress::{self, EgressCheck};
use crate::template::Template;

/// The egress of a template as `holdfast check` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS, schemars::JsonSchema)]
#[ts(export)]
pub struct EgressStatus {
    /// The IP just seen (or, for a stored status, the last seen), if any.
    pub ip: Option<String>,
    /// The pinned egress IP of the template, if any.
    pub pinned: Option<String>,
    /// The IP differs from the pin (or, with no pin, from the IP seen before).
    pub changed: bool,
    /// When `ip` was seen (RFC 3339 UTC).
    pub checked_at: Option<String>,
    /// The echo URL that answered.
    pub via: Option<String>,
    /// The IP seen before this one, if any.
    pub previous: Option<String>,
    /// The exit used (URL without password).
    pub exit: String,
}

/// The result of `holdfast check`.
#[derive(Debug, Clone, Serialize, TS, schemars::JsonSchema)]
#[ts(export)]
pub struct CheckReport {
    pub egress: EgressStatus,
    /// The clock against SNTP servers (absent where only the egress was probed).
    pub clock: Option<crate::clock::ClockReport>,
    /// The egress was fetched and matches the pin (when pinned) and the last seen IP otherwise,
    /// and the clock is not beyond `clock.block_ms`: a launch would go ahead without `--force`.
    pub ok: bool,
    /// Why the egress could not be fetched, when it could not.
    pub error: Option<ErrorPayload>,
}

/// The stored egress status of a template (no network): for lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS, schemars::JsonSchema)]
#[ts(export)]
pub struct ExitStatus {
    pub template_id: String,
    pub egress: EgressStatus,
}

/// Records a successful probe; returns the status and `(old, new)` if the IP changed since the
/// last check.
pub async fn record(
    conn: &mut SqliteConnection,
    template: &Template,
    probe: &Probe,
    at: DateTime<Utc>,
) -> Result<(EgressStatus, Option<(String, String)>)> {
    let last = egress::latest(conn, &template.id).await?;
    let exit_url = template.exit.to_string();
    egress::insert(conn, &template.id, &probe.ip, &exit_url, &probe.via, at).await?;
    let previous = last.map(|l| l.ip);
    let moved = previous
        .as_ref()
        .filter(|old| **old != probe.ip)
        .map(|old| (old.clone(), probe.ip.clone()));
    let changed = match &template.pinned_egress_ip {
        Some(pin) => *pin != probe.ip,
        None => moved.is_some(),
    };
    Ok((
        EgressStatus {
            ip: Some(probe.ip.clone()),
            pinned: template.pinned_egress_ip.clone(),
            changed,
            checked_at: Some(crate::store::timestamp(at)),
            via: Some(probe.via.clone()),
            previous,
            exit: exit_url,
        },
        moved,
    ))
}

/// The status from the stored history (last check), without probing.
pub fn stored(
    template: &Template,
    last: Option<&EgressCheck>,
    before: Option<&str>,
) -> EgressStatus {
    let ip = last.map(|l| l.ip.clone());
    let changed = match (&template.pinned_egress_ip, &ip) {
        (Some(pin), Some(ip)) => pin != ip,
        (None, Some(ip)) => before.is_some_and(|b| b != ip),
        _ => false,
    };
    EgressStatus {
        ip,
        pinned: template.pinned_egress_ip.clone(),
        changed,
        checked_at: last.map(|l| l.checked_at.clone()),
        via: last.map(|l| l.via.clone()),
        previous: before.map(str::to_owned),
        exit: template.exit.to_string(),
    }
}

/// The error to report when a probe failed: the relay's own failure names the stage better than
/// the HTTP client (which sees only "tunnel refused").
pub fn probe_error(probe_err: Error, relay_failure: Option<DialError>) -> Error {
    match relay_failure {
        Some(f) if f.stage == Stage::ProxyAuth => Error::ExitAuthFailed { detail: f.reason },
        Some(f) if f.stage == Stage::TcpConnect || f.stage == Stage::ProxyHandshake => {
            Error::ExitUnreachable {
                detail: format!("{} ({})", f.reason, f.stage.as_str()),
            }
        }
        _ => probe_err,
    }
}
