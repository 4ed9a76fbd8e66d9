//! Retention of the guard's audit log: rows older than the retention period go at each metrics
//! flush, like metrics and events (the recorder drives all three).

use sqlx::SqliteConnection;

use crate::error::Result;

/// Deletes audit rows (`guard_holds`) held before `before` (RFC 3339); returns how many went.
pub async fn prune_holds(conn: &mut SqliteConnection, before: &str) -> Result<u64> {
    let done = sqlx::query("DELETE FROM guard_holds WHERE held_at < ?")
        .bind(before)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}
