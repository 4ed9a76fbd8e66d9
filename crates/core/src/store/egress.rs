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
    /// Where the exit was, by the IP-info service that answered (`geo_source`), if one did.
    pub country: Option<String>,
    pub timezone: Option<String>,
    pub geo_source: Option<String>,
}

/// A check to record.
#[derive(Debug, Clone, Copy)]
pub struct NewCheck<'a> {
    pub template_id: &'a str,
    pub ip: &'a str,
    /// The exit (URL without password) and the echo URL that answered.
    pub exit_url: &'a str,
    pub via: &'a str,
    /// Where the exit was, when an IP-info service said so, and which one.
    pub country: Option<&'a str>,
    pub timezone: Option<&'a str>,
    pub geo_source: Option<&'a str>,
    pub at: DateTime<Utc>,
}

/// Records a check.
pub async fn insert(conn: &mut SqliteConnection, c: NewCheck<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO egress_checks \
         (template_id, ip, exit_url, via, checked_at, country, timezone, geo_source) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .bind(c.template_id)
    .bind(c.ip)
    .bind(c.exit_url)
    .bind(c.via)
    .bind(timestamp(c.at))
    .bind(c.country)
    .bind(c.timezone)
    .bind(c.geo_source)
    .execute(conn)
    .await?;
    Ok(())
}

/// The country of the latest check of a template that learned one.
pub async fn latest_country(
    conn: &mut SqliteConnection,
    template_id: &str,
) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT country FROM egress_checks WHERE template_id = ?1 AND country IS NOT NULL \
         ORDER BY id DESC LIMIT 1",
    )
    .bind(template_id)
    .fetch_optional(conn)
    .await?)
}

/// The latest check of a template.
pub async fn latest(conn: &mut SqliteConnection, template_id: &str) -> Result<Option<EgressCheck>> {
    Ok(sqlx::query_as(
        "SELECT template_id, ip, exit_url, via, checked_at, country, timezone, geo_source FROM egress_checks \
         WHERE template_id = ?1 ORDER BY id DESC LIMIT 1",
    )
    .bind(template_id)
    .fetch_optional(conn)
    .await?)
}

/// The latest two checks of every template that has one, newest first per template.
pub async fn latest_two_all(conn: &mut SqliteConnection) -> Result<Vec<EgressCheck>> {
    Ok(sqlx::query_as(
        "SELECT template_id, ip, exit_url, via, checked_at, country, timezone, geo_source FROM \
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
        "SELECT template_id, ip, exit_url, via, checked_at, country, timezone, geo_source FROM egress_checks \
         WHERE template_id = ?1 ORDER BY id DESC LIMIT ?2",
    )
    .bind(template_id)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}
