//! Guard operations: the risk window, waiting holds and their answers, the audit log.

use chrono::Utc;

use crate::error::Result;
use crate::{events, guard, store};

crate::context::service! {
    /// Guard operations.
}

impl Service<'_> {
    /// The risk window of a template now, from its stored events of the last 24 hours (any
    /// session: an egress change in the previous session still counts), with the thresholds of
    /// the `risk.*` settings — the same events and rules the guard of a running session uses.
    pub async fn risk(&self, name: &str) -> Result<guard::RiskState> {
        let template = self.template(name).await?;
        let records = self.history(&template.id).await?;
        let config = self.settings().await?.risk();
        Ok(guard::evaluate(&records, Utc::now(), &config))
    }

    /// A template's stored events of the last 24 hours, oldest first, as session records.
    pub(crate) async fn history(&self, template_id: &str) -> Result<Vec<events::SessionRecord>> {
        let since = store::timestamp(Utc::now() - chrono::Duration::hours(24));
        let mut conn = self.store.pool().acquire().await?;
        let stored = store::events::risk_inputs(&mut conn, template_id, &since).await?;
        Ok(stored
            .into_iter()
            .filter_map(|e| {
                Some(events::SessionRecord {
                    at: chrono::DateTime::parse_from_rfc3339(&e.at)
                        .ok()?
                        .with_timezone(&Utc),
                    event: serde_json::from_value(e.detail).ok()?,
                    template_id: e.template_id,
                    session_id: e.session_id,
                })
            })
            .collect())
    }

    /// From now on, holds of this process's sessions go to a prompt instead of the policy
    /// (the app calls this once); `notice` is told of each new hold.
    pub fn enable_prompt(&self, notice: guard::HoldNotice) {
        self.guard.enable_prompt(notice);
    }

    /// Holds waiting for an answer in this process, oldest first.
    pub fn pending(&self) -> Vec<guard::PendingHold> {
        self.guard.pending()
    }

    /// Answers a waiting hold (`hold_not_found` once it was answered or timed out).
    pub fn decide(&self, id: i64, decision: guard::Decision) -> Result<()> {
        self.guard.decide(id, decision)
    }

    /// The guard's audit log, newest first: of one template (by name) or all.
    pub async fn audit(
        &self,
        name: Option<&str>,
        limit: i64,
    ) -> Result<Vec<guard::audit::HoldRecord>> {
        let template_id = match name {
            Some(n) => Some(self.template(n).await?.id),
            None => None,
        };
        let mut conn = self.store.pool().acquire().await?;
        guard::audit::newest(&mut conn, template_id.as_deref(), limit.clamp(1, 100_000)).await
    }
}
