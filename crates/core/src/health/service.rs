//! Health operations: the report that joins both layers.

use chrono::Utc;

use crate::error::Result;
use crate::health;

crate::context::service! {
    /// Health operations.
}

impl Service<'_> {
    /// The health of a template: both layers over 5 min / 1 h / 24 h (or over `since` alone,
    /// labelled), per exit, with attributed failures, a timeline and a time series.
    pub async fn report(
        &self,
        name: &str,
        since: Option<(String, chrono::Duration)>,
    ) -> Result<health::HealthReport> {
        let template = self.template(name).await?;
        let now = Utc::now();
        let mut conn = self.store.pool().acquire().await?;
        health::report::build(
            &mut conn,
            &template.id,
            &template.name,
            now,
            health::report::windows(now, since),
        )
        .await
    }
}
