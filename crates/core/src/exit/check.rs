//! `check`: the egress IP through the exit, compared with the pin and with what was seen before,
//! and recorded in the egress history.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::SqliteConnection;
use ts_rs::TS;

use crate::error::{Error, ErrorPayload, Result};
use crate::events::SessionEvent;
use crate::exit::egress::Probe;
use crate::exit::fit::GeoReport;
use crate::exit::geo::ExitGeo;
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
    /// Where the exit was at `checked_at` (ISO country code, IANA timezone), when an IP-info
    /// service said so.
    pub country: Option<String>,
    pub timezone: Option<String>,
    /// The country the exit was in at the check before, when it differs from `country`: the
    /// exit moved to another country.
    pub previous_country: Option<String>,
}

/// The result of `holdfast check`.
#[derive(Debug, Clone, Serialize, TS, schemars::JsonSchema)]
#[ts(export)]
pub struct CheckReport {
    pub egress: EgressStatus,
    /// The clock against SNTP servers (absent where only the egress was probed).
    pub clock: Option<crate::clock::ClockReport>,
    /// Where the exit is and whether the template's timezone and locale fit it (absent when
    /// the setting `egress.geo_urls` is off).
    pub geo: Option<GeoReport>,
    /// The egress was fetched and matches the pin (when pinned) and the last seen IP otherwise,
    /// the clock is not beyond `clock.block_ms`, and (for a template that requires it) the
    /// environment fits the exit: a launch would go ahead without `--force`.
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

/// What recording a probe found.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub status: EgressStatus,
    /// `(old, new)` IPs when the IP changed since the last check.
    pub moved: Option<(String, String)>,
    /// `(old, new)` countries when the exit's country changed since the last check that knew
    /// one.
    pub country_moved: Option<(String, String)>,
}

impl Recorded {
    /// The events of what changed since the last check (an egress change, the exit in another
    /// country), each logged as a warning for `template`.
    pub fn changes(&self, template: &str) -> Vec<SessionEvent> {
        let mut events = Vec::new();
        if let Some((old, new)) = self.moved.clone() {
            tracing::warn!(%old, %new, %template, "egress changed");
            events.push(SessionEvent::EgressChanged { old, new });
        }
        if let Some((old, new)) = self.country_moved.clone() {
            tracing::warn!(%old, %new, %template, "the exit is in another country");
            events.push(SessionEvent::GeoChanged {
                old,
                new,
                timezone: self.status.timezone.clone(),
            });
        }
        events
    }
}

/// Records a successful probe (with where the exit is, when known) in the egress history.
pub async fn record(
    conn: &mut SqliteConnection,
    template: &Template,
    probe: &Probe,
    geo: Option<&ExitGeo>,
    at: DateTime<Utc>,
) -> Result<Recorded> {
    let last = egress::latest(conn, &template.id).await?;
    let last_country = egress::latest_country(conn, &template.id).await?;
    let exit_url = template.exit.to_string();
    let country = geo.and_then(|g| g.country.clone());
    egress::insert(
        conn,
        egress::NewCheck {
            template_id: &template.id,
            ip: &probe.ip,
            exit_url: &exit_url,
            via: &probe.via,
            country: country.as_deref(),
            timezone: geo.and_then(|g| g.timezone.as_deref()),
            geo_source: geo.map(|g| g.source.as_str()),
            at,
        },
    )
    .await?;
    let previous = last.map(|l| l.ip);
    let moved = previous
        .as_ref()
        .filter(|old| **old != probe.ip)
        .map(|old| (old.clone(), probe.ip.clone()));
    let country_moved = match (&last_country, &country) {
        (Some(old), Some(new)) if old != new => Some((old.clone(), new.clone())),
        _ => None,
    };
    let changed = match &template.pinned_egress_ip {
        Some(pin) => *pin != probe.ip,
        None => moved.is_some(),
    };
    Ok(Recorded {
        status: EgressStatus {
            ip: Some(probe.ip.clone()),
            pinned: template.pinned_egress_ip.clone(),
            changed,
            checked_at: Some(crate::store::timestamp(at)),
            via: Some(probe.via.clone()),
            previous,
            exit: exit_url,
            country,
            timezone: geo.and_then(|g| g.timezone.clone()),
            previous_country: country_moved.as_ref().map(|(old, _)| old.clone()),
        },
        moved,
        country_moved,
    })
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
        country: last.and_then(|l| l.country.clone()),
        timezone: last.and_then(|l| l.timezone.clone()),
        previous_country: None,
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
