//! The `settings` table: key → text value, validated by `crate::settings` before it is written.

use sqlx::SqliteConnection;

use crate::error::Result;

/// Every stored setting, by key.
pub async fn all(conn: &mut SqliteConnection) -> Result<Vec<(String, String)>> {
    Ok(
        sqlx::query_as("SELECT key, value FROM settings ORDER BY key")
            .fetch_all(conn)
            .await?,
    )
}

/// Stores (or replaces) one setting.
pub async fn set(conn: &mut SqliteConnection, key: &str, value: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO settings (key, value) VALUES (?1, ?2) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .bind(key)
    .bind(value)
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes one setting (back to its default). Returns whether it was set.
pub async fn unset(conn: &mut SqliteConnection, key: &str) -> Result<bool> {
    let done = sqlx::query("DELETE FROM settings WHERE key = ?1")
        .bind(key)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}
