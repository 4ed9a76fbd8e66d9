//! The `guard_holds` table: the audit log of the guard. A row is written when a request is held
//! (so a crash mid-hold still leaves the record) and completed with the decision.

use serde::Serialize;
use sqlx::SqliteConnection;
use ts_rs::TS;

use crate::error::Result;
use crate::guard::{DecidedBy, Decision, RiskReason};

/// A hold as it is first written.
#[derive(Debug, Clone)]
pub struct NewHold<'a> {
    pub held_at: &'a str,
    pub template_id: &'a str,
    pub template_name: &'a str,
    pub session_id: &'a str,
    pub action: &'a str,
    pub method: &'a str,
    pub url: &'a str,
    pub reasons: &'a [RiskReason],
}

/// One audit record (`holdfast audit --json`, the app's audit list).
#[derive(Debug, Clone, PartialEq, Serialize, TS, sqlx::FromRow, schemars::JsonSchema)]
#[ts(export)]
pub struct HoldRecord {
    #[ts(type = "number")]
    #[schemars(with = "i64")]
    pub id: i64,
    /// RFC 3339 UTC.
    pub held_at: String,
    pub template: String,
    pub session_id: String,
    pub action: String,
    pub method: String,
    /// Without query values.
    pub url: String,
    /// The risk reasons when it was held, as one line.
    pub reasons: String,
    /// `proceed` or `cancel`; `null` while it waits (or if Holdfast died meanwhile).
    pub decision: Option<String>,
    /// `app`, `policy`, `timeout` or `session_ended`.
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
}

/// Writes a new hold; returns its id.
pub async fn insert(conn: &mut SqliteConnection, h: &NewHold<'_>) -> Result<i64> {
    let reasons = h
        .reasons
        .iter()
        .map(|r| r.detail.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    let id = sqlx::query_scalar(
        "INSERT INTO guard_holds (held_at, template_id, template_name, session_id, action, \
         method, url, reasons) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(h.held_at)
    .bind(h.template_id)
    .bind(h.template_name)
    .bind(h.session_id)
    .bind(h.action)
    .bind(h.method)
    .bind(h.url)
    .bind(reasons)
    .fetch_one(conn)
    .await?;
    Ok(id)
}

/// Completes a hold with its decision.
pub async fn decide(
    conn: &mut SqliteConnection,
    id: i64,
    decision: Decision,
    by: DecidedBy,
    at: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE guard_holds SET decision = ?, decided_by = ?, decided_at = ? \
         WHERE id = ? AND decision IS NULL",
    )
    .bind(decision.as_str())
    .bind(by.as_str())
    .bind(at)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// The newest `limit` records, of one template or all, newest first.
pub async fn newest(
    conn: &mut SqliteConnection,
    template_id: Option<&str>,
    limit: i64,
) -> Result<Vec<HoldRecord>> {
    let rows = sqlx::query_as(
        "SELECT id, held_at, template_name AS template, session_id, action, method, url, \
         reasons, decision, decided_by, decided_at FROM guard_holds \
         WHERE ?1 IS NULL OR template_id = ?1 ORDER BY id DESC LIMIT ?2",
    )
    .bind(template_id)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    Ok(rows)
}
