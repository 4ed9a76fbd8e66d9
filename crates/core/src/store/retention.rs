//! Retention: the guard's audit log (rows older than the retention period go at each metrics
//! flush, like metrics and events; the recorder drives all three), and the size budget shared
//! by the tables a page can fill (request records, session events).

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

/// Deletes the oldest rows of `table` (by `id`) while the estimated size of its rows — the sum of
/// `row_bytes`, an SQL expression over its columns — exceeds `max_bytes`; returns how many went.
/// One pass: as many rows as the excess takes at the average row size.
pub async fn prune_to_size(
    conn: &mut SqliteConnection,
    table: &'static str,
    row_bytes: &'static str,
    max_bytes: u64,
) -> Result<u64> {
    let (rows, bytes): (i64, i64) = sqlx::query_as(&format!(
        "SELECT count(*), coalesce(sum({row_bytes}), 0) FROM {table}"
    ))
    .fetch_one(&mut *conn)
    .await?;
    let budget = i64::try_from(max_bytes).unwrap_or(i64::MAX);
    if bytes <= budget || rows == 0 {
        return Ok(0);
    }
    let excess_rows = ((bytes - budget) / (bytes / rows).max(1) + 1).min(rows);
    let done = sqlx::query(&format!(
        "DELETE FROM {table} WHERE id IN (SELECT id FROM {table} ORDER BY id LIMIT ?1)"
    ))
    .bind(excess_rows)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}
