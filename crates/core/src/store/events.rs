//! The `session_events` table: what happened in sessions, written in batches.

use serde::Serialize;
use sqlx::{Connection, SqliteConnection};
use ts_rs::TS;

use super::timestamp;
use crate::error::Result;
use crate::events::SessionRecord;

/// One stored event.
#[derive(Debug, Clone, PartialEq, Serialize, TS, sqlx::FromRow, schemars::JsonSchema)]
#[ts(export)]
pub struct StoredEvent {
    pub template_id: String,
    pub session_id: String,
    pub at: String,
    pub kind: String,
    /// The event as JSON (its `kind` and fields).
    #[ts(type = "unknown")]
    #[sqlx(json)]
    pub detail: serde_json::Value,
}

/// Writes a batch of events in one transaction.
pub async fn insert_batch(conn: &mut SqliteConnection, batch: &[SessionRecord]) -> Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let mut tx = conn.begin().await?;
    for r in batch {
        let detail = serde_json::to_string(&r.event).unwrap_or_else(|_| "{}".to_owned());
        sqlx::query(
            "INSERT INTO session_events (template_id, session_id, at, kind, detail) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .bind(&r.template_id)
        .bind(&r.session_id)
        .bind(timestamp(r.at))
        .bind(r.event.kind())
        .bind(detail)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Events of a template (optionally one kind) since `since` (RFC 3339), oldest first.
pub async fn of_template(
    conn: &mut SqliteConnection,
    template_id: &str,
    kind: Option<&str>,
    since: &str,
) -> Result<Vec<StoredEvent>> {
    Ok(sqlx::query_as(
        "SELECT template_id, session_id, at, kind, detail FROM session_events \
         WHERE template_id = ?1 AND (?2 IS NULL OR kind = ?2) AND at >= ?3 ORDER BY id",
    )
    .bind(template_id)
    .bind(kind)
    .bind(since)
    .fetch_all(conn)
    .await?)
}

/// Egress changes and failed token refreshes since `since`, of one template or of all, oldest
/// first, at most `limit` (the newest kept): the marks on a health chart's time axis.
pub async fn marks(
    conn: &mut SqliteConnection,
    template_id: Option<&str>,
    since: &str,
    limit: i64,
) -> Result<Vec<StoredEvent>> {
    let mut rows: Vec<StoredEvent> = sqlx::query_as(
        "SELECT template_id, session_id, at, kind, detail FROM session_events \
         WHERE (?1 IS NULL OR template_id = ?1) AND at >= ?2 \
         AND (kind = 'egress_changed' OR (kind = 'request_failed' \
              AND json_extract(detail, '$.request_kind') = 'refresh')) \
         ORDER BY at DESC LIMIT ?3",
    )
    .bind(template_id)
    .bind(since)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.reverse();
    Ok(rows)
}

/// When each template's browser last started: `(template_id, at)`.
pub async fn last_started(conn: &mut SqliteConnection) -> Result<Vec<(String, String)>> {
    Ok(sqlx::query_as(
        "SELECT template_id, max(at) FROM session_events WHERE kind = 'browser_started' \
         GROUP BY template_id",
    )
    .fetch_all(conn)
    .await?)
}

/// Events of a template since `since` of the kinds a risk window is computed from, oldest first
/// (the frequent relay events are left out in SQL: `status` asks this every poll).
pub async fn risk_inputs(
    conn: &mut SqliteConnection,
    template_id: &str,
    since: &str,
) -> Result<Vec<StoredEvent>> {
    let kinds = crate::events::RISK_KINDS
        .iter()
        .map(|k| format!("'{k}'"))
        .collect::<Vec<_>>()
        .join(", ");
    Ok(sqlx::query_as(&format!(
        "SELECT template_id, session_id, at, kind, detail FROM session_events \
         WHERE template_id = ?1 AND at >= ?2 AND kind IN ({kinds}) ORDER BY id"
    ))
    .bind(template_id)
    .bind(since)
    .fetch_all(conn)
    .await?)
}

/// Deletes events older than `before` (RFC 3339), then the oldest while their text (estimated)
/// exceeds `max_bytes`. Returns how many.
pub async fn prune(conn: &mut SqliteConnection, before: &str, max_bytes: u64) -> Result<u64> {
    let old = sqlx::query("DELETE FROM session_events WHERE at < ?1")
        .bind(before)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    let big = super::retention::prune_to_size(
        conn,
        "session_events",
        "length(detail) + length(kind) + 120",
        max_bytes,
    )
    .await?;
    Ok(old + big)
}
