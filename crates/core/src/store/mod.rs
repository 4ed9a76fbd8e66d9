//! SQLite through sqlx: one pool per open home, migrations embedded and applied on open.

pub(crate) mod egress;
pub(crate) mod events;
pub(crate) mod lease;
pub(crate) mod replica;
pub(crate) mod retention;
pub mod secrets;
pub(crate) mod sessions;
pub(crate) mod settings;
pub mod team;
pub mod templates;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::error::Result;

/// The stored form of an event time (egress checks, session events, metrics): RFC 3339 UTC,
/// always milliseconds, so that text order is time order in range queries.
pub fn timestamp(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The migrations of `migrations/`, compiled into the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// The database of one Holdfast home.
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
}

impl Store {
    /// Opens (creating if missing) the database at `path` and applies pending migrations.
    pub async fn open(path: &Path) -> Result<Self> {
        // sqlx's SQLite defaults are a rollback journal and synchronous=FULL: set what we rely on
        // explicitly. WAL survives a crash without blocking readers; NORMAL is durable enough in WAL.
        let options = SqliteConnectOptions::from_str("sqlite:")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        // One connection. SQLite serialises writers anyway, and sqlx returns a released
        // connection to the pool from a spawned task: with more than one allowed, the next
        // query often finds none idle and opens another (~5 ms per CLI command).
        // Never hold a connection while acquiring another: with one, that would wait forever.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(0)
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool })
    }

    /// The connection pool, for the table modules.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Waits for open connections to finish and closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A store in `dir` with one bare template, id `t1` (for rows that reference a template).
#[cfg(test)]
pub(crate) async fn with_template(dir: &std::path::Path) -> Store {
    let store = Store::open(&dir.join("t.db")).await.unwrap();
    let mut conn = store.pool().acquire().await.unwrap();
    sqlx::query(
        "INSERT INTO templates (id, name, exit_kind, exit_url, timezone, locale, created_at, updated_at) \
         VALUES ('t1', 'a', 'direct', 'direct', 'UTC', 'en-US', 'x', 'x')",
    )
    .execute(&mut *conn)
    .await
    .unwrap();
    store
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn open_sets_wal_normal_and_foreign_keys() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("h.db")).await.unwrap();
        let pool = store.pool();
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(mode, "wal", "crash safety relies on WAL");
        let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(sync, 1, "synchronous must be NORMAL (1)");
        let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(fk, 1, "foreign keys must be enforced");
        let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(
            applied as usize,
            MIGRATOR.iter().count(),
            "all migrations applied on open"
        );
    }

    #[tokio::test]
    async fn reopening_applies_nothing_twice() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.db");
        Store::open(&path).await.unwrap().close().await;
        Store::open(&path).await.unwrap();
    }
}
