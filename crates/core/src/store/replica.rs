//! This home's copy of the team's templates: rows of `templates` as usual (so everything that
//! reads templates works offline and unchanged), plus the team version of each and the last
//! generation pulled.

use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;

use crate::error::Result;
use crate::store::team::{Changes, TeamTemplate};
use crate::store::{templates, timestamp};

/// The last generation pulled and when, if any.
pub async fn last_sync(conn: &mut SqliteConnection) -> Result<Option<(i64, String)>> {
    Ok(
        sqlx::query_as("SELECT gen, synced_at FROM team_sync WHERE id = 1")
            .fetch_optional(conn)
            .await?,
    )
}

/// Applies pulled changes in one transaction: changed templates replace (or join) the local
/// rows by id — history rows keyed by the id stay — and removed ones go.
pub async fn apply(
    conn: &mut SqliteConnection,
    changes: &Changes,
    now: DateTime<Utc>,
) -> Result<()> {
    use sqlx::Connection;
    let mut tx = conn.begin().await?;
    // Renames can swap names within one batch: park the changed rows' names first.
    for c in &changes.changed {
        sqlx::query("UPDATE templates SET name = char(0) || id WHERE id = ?1")
            .bind(&c.template.id)
            .execute(&mut *tx)
            .await?;
    }
    for c in &changes.changed {
        upsert(&mut tx, c).await?;
    }
    for id in &changes.removed {
        templates::delete(&mut tx, id).await?;
        crate::store::sessions::delete_for_template(&mut tx, id).await?;
        sqlx::query("DELETE FROM team_replica WHERE template_id = ?1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query(
        "INSERT INTO team_sync (id, gen, synced_at) VALUES (1, ?1, ?2) \
         ON CONFLICT (id) DO UPDATE SET gen = excluded.gen, synced_at = excluded.synced_at",
    )
    .bind(changes.gen)
    .bind(timestamp(now))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

async fn upsert(tx: &mut SqliteConnection, c: &TeamTemplate) -> Result<()> {
    let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM templates WHERE id = ?1")
        .bind(&c.template.id)
        .fetch_optional(&mut *tx)
        .await?;
    if exists.is_some() {
        templates::update(tx, &c.template).await?;
    } else {
        templates::insert(tx, &c.template).await?;
    }
    sqlx::query(
        "INSERT INTO team_replica (template_id, version, changed_by, changed_at) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (template_id) DO UPDATE SET version = excluded.version, \
             changed_by = excluded.changed_by, changed_at = excluded.changed_at",
    )
    .bind(&c.template.id)
    .bind(c.version)
    .bind(&c.changed_by)
    .bind(timestamp(c.changed_at))
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Forgets the team's bookkeeping (on `team leave`); the templates stay as local ones.
pub async fn forget(conn: &mut SqliteConnection) -> Result<()> {
    sqlx::query("DELETE FROM team_replica")
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM team_sync").execute(conn).await?;
    Ok(())
}
