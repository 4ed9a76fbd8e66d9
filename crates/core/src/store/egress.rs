//! The `egress_checks` table: the egress IPs seen through each template's exit, with time.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::SqliteConnection;
use ts_rs::TS;

use super::timestamp;
use crate::error::Result;

/// One egress check as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS, sqlx::FromRow, schemars::JsonSchema)]
#[ts(export)]
pub struct EgressCheck {
    pub template_id: String,
    pub ip: String,
    pub exit_url: String,
    pub via: String,
    /// RFC 3339 UTC.
    pub checked_at: String,
}

/// Records a check.
pub async fn insert(
    conn: &mut SqliteConnection,
    template_id: &str,
    ip: &str,
    exit_url: &str,
    via: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO egress_checks (template_id, ip, exit_url, via, checked_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .bind(template_id)
    .bind(ip)
    .bind(exit_url)
    .bind(via)
    .bind(timestamp(at))
    .execute(conn)
    .await?;
    Ok(())
}

/// The latest check of a template.
pub async fn latest(conn: &mut SqliteConnection, template_id: &str) -> Result<Option<EgressCheck>> {
    Ok(sqlx::query_as(
        "SELECT template_id, ip, exit_url, via, checked_at FROM egress_checks \
         WHERE template_id = ?1 ORDER BY id DESC LIMIT 1",
    )
    .bind(template_id)
    .fetch_optional(conn)
    .await?)
}

/// The latest two checks of every template that has one, newest first per template.
pub async fn latest_two_all(conn: &mut SqliteConnection) -> Result<Vec<EgressCheck>> {
    Ok(sqlx::query_as(
        "SELECT template_id, ip, exit_url, via, checked_at FROM \
         (SELECT *, row_number() OVER (PARTITION BY template_id ORDER BY id DESC) AS rn \
          FROM egress_checks) WHERE rn <= 2 ORDER BY template_id, id DESC",
    )
    .fetch_all(conn)
    .await?)
}

/// The history of a template, newest first.
pub async fn history(
    conn: &mut SqliteConnection,
    template_id: &str,
    limit: i64,
) -> Result<Vec<EgressCheck>> {
    Ok(sqlx::query_as(
        "SELECT template_id, ip, exit_url, via, checked_at FROM egress_checks \
         WHERE template_id = ?1 ORDER BY id DESC LIMIT ?2",
    )
    .bind(template_id)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}
