//! The guard's settings: the risk thresholds and the policy when no app can ask.

use super::{Policy, RiskConfig};

impl crate::settings::Settings {
    /// What a held request gets when no app can ask.
    pub fn guard_policy(&self) -> Policy {
        if self.raw("guard.policy") == "allow" {
            Policy::Allow
        } else {
            Policy::Block
        }
    }

    /// The risk window's thresholds.
    pub fn risk(&self) -> RiskConfig {
        let mins = |k| {
            chrono::Duration::minutes(i64::try_from(self.number(k)).unwrap_or(i64::MAX / 60_000))
        };
        RiskConfig {
            egress_calm: mins("risk.egress_calm_mins"),
            refresh_calm: mins("risk.refresh_calm_mins"),
            spike_failures: usize::try_from(self.number("risk.spike_failures")).unwrap_or(5),
            spike_window: chrono::Duration::seconds(
                i64::try_from(self.number("risk.spike_window_secs")).unwrap_or(60),
            ),
            spike_calm: mins("risk.spike_calm_mins"),
        }
    }
}
