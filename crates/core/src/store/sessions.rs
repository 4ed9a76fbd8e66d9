//! The `sessions` table: the record of each running session (who owns it, the browser's pid,
//! where its relay and DevTools listen, the last egress and clock offset seen).

use sqlx::SqliteConnection;

use super::timestamp;
use crate::error::Result;

/// A session row.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SessionRow {
    pub template_id: String,
    pub session_id: String,
    pub owner_pid: i64,
    pub owner_start: Option<i64>,
    pub browser_pid: Option<i64>,
    pub browser_start: Option<i64>,
    pub started_at: String,
    pub relay: Option<String>,
    pub cdp: Option<String>,
    pub profile_dir: String,
    pub headless: bool,
    pub egress_ip: Option<String>,
    pub clock_offset_ms: Option<i64>,
    pub updated_at: String,
}

const COLUMNS: &str =
    "template_id, session_id, owner_pid, owner_start, browser_pid, browser_start, \
    started_at, relay, cdp, profile_dir, headless, egress_ip, clock_offset_ms, updated_at";

/// Writes (or overwrites a stale) row for a template.
pub async fn put(conn: &mut SqliteConnection, row: &SessionRow) -> Result<()> {
    sqlx::query(&format!(
        "INSERT OR REPLACE INTO sessions ({COLUMNS}) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
    ))
    .bind(&row.template_id)
    .bind(&row.session_id)
    .bind(row.owner_pid)
    .bind(row.owner_start)
    .bind(row.browser_pid)
    .bind(row.browser_start)
    .bind(&row.started_at)
    .bind(&row.relay)
    .bind(&row.cdp)
    .bind(&row.profile_dir)
    .bind(row.headless)
    .bind(&row.egress_ip)
    .bind(row.clock_offset_ms)
    .bind(&row.updated_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The row of a template, if any.
pub async fn get(conn: &mut SqliteConnection, template_id: &str) -> Result<Option<SessionRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM sessions WHERE template_id = ?1"
    ))
    .bind(template_id)
    .fetch_optional(conn)
    .await?)
}

/// All rows, oldest first.
pub async fn all(conn: &mut SqliteConnection) -> Result<Vec<SessionRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM sessions ORDER BY started_at"
    ))
    .fetch_all(conn)
    .await?)
}

/// Records the last egress IP seen by a session.
pub async fn set_egress(conn: &mut SqliteConnection, session_id: &str, ip: &str) -> Result<()> {
    sqlx::query("UPDATE sessions SET egress_ip = ?2, updated_at = ?3 WHERE session_id = ?1")
        .bind(session_id)
        .bind(ip)
        .bind(timestamp(chrono::Utc::now()))
        .execute(conn)
        .await?;
    Ok(())
}

/// Records the last clock offset seen by a session.
pub async fn set_clock(
    conn: &mut SqliteConnection,
    session_id: &str,
    offset_ms: Option<i64>,
) -> Result<()> {
    sqlx::query("UPDATE sessions SET clock_offset_ms = ?2, updated_at = ?3 WHERE session_id = ?1")
        .bind(session_id)
        .bind(offset_ms)
        .bind(timestamp(chrono::Utc::now()))
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes the row of one session (not a newer one of the same template).
pub async fn delete(conn: &mut SqliteConnection, session_id: &str) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE session_id = ?1")
        .bind(session_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes whatever row a template has (the template is going away).
pub async fn delete_for_template(conn: &mut SqliteConnection, template_id: &str) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE template_id = ?1")
        .bind(template_id)
        .execute(conn)
        .await?;
    Ok(())
}
