//! The launch preflight's verdict: what refuses a launch (unless forced) and what only warns.

use serde::Serialize;
use ts_rs::TS;

use crate::clock::{ClockReport, ClockVerdict};
use crate::error::Error;
use crate::exit::check::CheckReport;
use crate::exit::fit::GeoVerdict;

/// What the preflight saw, shown before and after a launch.
#[derive(Debug, Clone, Serialize, TS, schemars::JsonSchema)]
#[ts(export)]
pub struct Preflight {
    pub clock: ClockReport,
    pub egress: CheckReport,
    /// Things the operator should know that did not stop the launch.
    pub warnings: Vec<String>,
    /// Refusals overridden with `--force`.
    pub forced: Vec<String>,
}

/// Judges the clock and egress results (and, with `require_consistent`, whether the environment
/// fits the exit's location): `Err` with the first refusal unless `force`.
pub fn judge(
    clock: ClockReport,
    egress: CheckReport,
    egress_error: Option<Error>,
    require_consistent: bool,
    force: bool,
) -> Result<Preflight, Error> {
    let mut refusals: Vec<Error> = Vec::new();
    let mut warnings = Vec::new();
    match clock.verdict {
        ClockVerdict::Ok => {}
        ClockVerdict::Warn => warnings.push(format!(
            "the clock is off by {} ms (warning above {} ms)",
            clock.offset_ms.unwrap_or_default(),
            clock.warn_ms
        )),
        ClockVerdict::Block => refusals.push(Error::ClockSkew {
            offset_ms: clock.offset_ms.unwrap_or_default(),
            limit_ms: clock.block_ms,
        }),
        ClockVerdict::Unknown => {
            let why: Vec<String> = clock
                .servers
                .iter()
                .map(|s| {
                    format!(
                        "{}: {}",
                        s.server,
                        s.error.as_deref().unwrap_or("no answer")
                    )
                })
                .collect();
            warnings.push(format!(
                "the clock could not be checked ({})",
                why.join("; ")
            ));
        }
    }
    if let Some(e) = egress_error {
        refusals.push(e);
    } else if let (Some(seen), Some(pinned)) = (&egress.egress.ip, &egress.egress.pinned) {
        if seen != pinned {
            refusals.push(Error::EgressMismatch {
                seen: seen.clone(),
                pinned: pinned.clone(),
            });
        }
    } else if egress.egress.changed {
        warnings.push(format!(
            "the egress IP changed: {} → {}",
            egress.egress.previous.as_deref().unwrap_or("?"),
            egress.egress.ip.as_deref().unwrap_or("?")
        ));
    }
    match egress.geo.as_ref().map(|g| (g.verdict, g.summary())) {
        None | Some((GeoVerdict::Consistent, _)) => {}
        Some((_, detail)) if require_consistent => {
            refusals.push(Error::EnvironmentMismatch { detail })
        }
        Some((GeoVerdict::Mismatch, detail)) => {
            warnings.push(format!("the environment does not fit the exit: {detail}"))
        }
        Some((_, detail)) => warnings.push(detail),
    }
    if !force {
        if let Some(first) = refusals.into_iter().next() {
            return Err(first);
        }
        return Ok(Preflight {
            clock,
            egress,
            warnings,
            forced: Vec::new(),
        });
    }
    let forced = refusals.iter().map(ToString::to_string).collect();
    Ok(Preflight {
        clock,
        egress,
        warnings,
        forced,
    })
}
