//! The team store: PostgreSQL through sqlx, with migrations of its own (`migrations-team/`).
//! Rows and bytes only: sealing and opening secrets is the team key's job, deciding what to
//! write the team service's.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::{Connection, Row};

use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::template::Template;

/// The migrations of `migrations-team/`, compiled into the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations-team");

/// How long to wait for the team store before working offline.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A connection pool to a team store.
#[derive(Debug, Clone)]
pub struct TeamDb {
    pool: PgPool,
}

/// The `team` row.
#[derive(Debug, Clone)]
pub struct TeamRow {
    pub id: String,
    pub kdf_salt: Vec<u8>,
    pub kdf_log_n: u8,
    pub key_check: Vec<u8>,
}

/// What a member may do, from its PostgreSQL role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbRole {
    /// Owns the team's tables (ran `team init`).
    Owner,
    /// Member of `holdfast_editor`.
    Editor,
    /// Member of `holdfast_runner` only.
    Runner,
    /// Neither: can read nothing.
    None,
}

/// A template as the team store holds it.
#[derive(Debug, Clone)]
pub struct TeamTemplate {
    pub template: Template,
    pub version: i64,
    pub changed_by: String,
    pub changed_at: DateTime<Utc>,
}

/// Templates changed and removed since a generation, and the newest generation seen.
#[derive(Debug, Default)]
pub struct Changes {
    pub changed: Vec<TeamTemplate>,
    pub removed: Vec<String>,
    pub gen: i64,
}

/// What an update does to the sealed exit password.
#[derive(Debug)]
pub enum SealedChange {
    Keep,
    Set(Vec<u8>),
    Clear,
}

/// Who holds a template's lease now.
#[derive(Debug, Clone)]
pub struct LeaseHolder {
    pub member_name: String,
    pub machine_id: String,
    pub taken_at: DateTime<Utc>,
}

/// A connection that hears the team store's template notices (`pg_notify` from its trigger).
pub struct TemplateNotices {
    listener: sqlx::postgres::PgListener,
}

impl TemplateNotices {
    /// Waits for the next notice; an error when the connection is lost (notices sent meanwhile
    /// are gone: the caller pulls again after reconnecting).
    pub async fn next(&mut self) -> Result<()> {
        match self.listener.try_recv().await.map_err(map_err)? {
            Some(_) => Ok(()),
            None => Err(unavailable("the connection that hears notices was lost")),
        }
    }
}

impl TeamDb {
    /// Connects to the team store at `url` (without password) with `password`.
    pub async fn connect(url: &str, password: Option<&Secret>) -> Result<Self> {
        let mut options = PgConnectOptions::from_str(url).map_err(unavailable)?;
        if let Some(pw) = password {
            options = options.password(pw.expose());
        }
        // One plain connection first: the pool would retry a refused connection until its
        // timeout, and a member whose store is down should know at once and work offline.
        let probe = tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options))
            .await
            .map_err(|_| unavailable("no answer within 5 s"))?
            .map_err(map_err)?;
        let _ = probe.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .min_connections(0)
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_lazy_with(options);
        Ok(Self { pool })
    }

    /// The pool (for LISTEN and tests).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Creates or updates the schema and the group roles (needs the database owner).
    pub async fn migrate(&self) -> Result<()> {
        MIGRATOR.run(&self.pool).await.map_err(|e| match e {
            sqlx::migrate::MigrateError::Execute(e) => map_err(e),
            other => Error::TeamUnavailable {
                detail: format!("cannot create the team schema: {other}"),
            },
        })
    }

    /// The team row, if the schema holds one.
    pub async fn team(&self) -> Result<Option<TeamRow>> {
        let row = sqlx::query("SELECT id::text, kdf_salt, kdf_log_n, key_check FROM team LIMIT 1")
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.map(|r| {
            Ok(TeamRow {
                id: r.try_get(0).map_err(map_err)?,
                kdf_salt: r.try_get(1).map_err(map_err)?,
                kdf_log_n: u8::try_from(r.try_get::<i32, _>(2).map_err(map_err)?)
                    .unwrap_or(u8::MAX),
                key_check: r.try_get(3).map_err(map_err)?,
            })
        })
        .transpose()
    }

    /// Writes the team row of a new team.
    pub async fn create_team(&self, row: &TeamRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO team (id, kdf_salt, kdf_log_n, key_check) VALUES ($1::uuid, $2, $3, $4)",
        )
        .bind(&row.id)
        .bind(&row.kdf_salt)
        .bind(i32::from(row.kdf_log_n))
        .bind(&row.key_check)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    /// What the logged-in user may do.
    pub async fn role(&self) -> Result<DbRole> {
        let (owner, editor, runner): (bool, bool, bool) = sqlx::query_as(
            "SELECT pg_has_role(current_user, (SELECT tableowner FROM pg_tables \
                                               WHERE schemaname = current_schema() AND tablename = 'templates'), 'MEMBER'), \
                    pg_has_role(current_user, 'holdfast_editor', 'MEMBER'), \
                    pg_has_role(current_user, 'holdfast_runner', 'MEMBER')",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(match (owner, editor, runner) {
            (true, _, _) => DbRole::Owner,
            (_, true, _) => DbRole::Editor,
            (_, _, true) => DbRole::Runner,
            _ => DbRole::None,
        })
    }

    /// Records this machine as a member (a machine that joined before gets a new row).
    pub async fn add_member(&self, id: &str, name: &str, machine_id: &str) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        sqlx::query("UPDATE members SET left_at = now() WHERE machine_id = $1 AND left_at IS NULL")
            .bind(machine_id)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        sqlx::query("INSERT INTO members (id, name, machine_id) VALUES ($1::uuid, $2, $3)")
            .bind(id)
            .bind(name)
            .bind(machine_id)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)
    }

    /// Marks a member as gone.
    pub async fn leave(&self, member_id: &str) -> Result<()> {
        sqlx::query("UPDATE members SET left_at = now() WHERE id = $1::uuid AND left_at IS NULL")
            .bind(member_id)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    /// Number of members now, and of templates.
    pub async fn counts(&self) -> Result<(i64, i64)> {
        sqlx::query_as(
            "SELECT (SELECT count(*) FROM members WHERE left_at IS NULL), (SELECT count(*) FROM templates)",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)
    }

    /// Inserts new templates (with their sealed passwords) in one transaction, as `by`.
    pub async fn insert_templates(
        &self,
        list: &[(&Template, Option<Vec<u8>>)],
        by: &str,
    ) -> Result<()> {
        let done = self.write_batch(list, Vec::new(), by).await?;
        debug_assert!(done, "inserts check no version");
        Ok(())
    }

    /// Replaces a template if it is still at `base_version`; `None` when it is not (or gone).
    pub async fn update_template(
        &self,
        t: &Template,
        sealed: SealedChange,
        base_version: i64,
        by: &str,
    ) -> Result<Option<i64>> {
        let done = self
            .write_batch(&[], vec![(t, sealed, base_version)], by)
            .await?;
        Ok(done.then_some(base_version + 1))
    }

    /// Inserts `new` and replaces `replaced` (each only if still at its base version) in one
    /// transaction, as `by`. False, and nothing written, when a replaced one moved on.
    pub async fn write_batch(
        &self,
        new: &[(&Template, Option<Vec<u8>>)],
        replaced: Vec<(&Template, SealedChange, i64)>,
        by: &str,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        for (t, sealed) in new {
            sqlx::query(
                "INSERT INTO templates (id, name, doc, exit_secret, changed_by) \
                 VALUES ($1::uuid, $2, $3::jsonb, $4, $5)",
            )
            .bind(&t.id)
            .bind(&t.name)
            .bind(doc(t)?)
            .bind(sealed.as_deref())
            .bind(by)
            .execute(&mut *tx)
            .await
            .map_err(|e| map_named(e, &t.name))?;
        }
        for (t, sealed, base_version) in replaced {
            let (set_secret, secret) = match sealed {
                SealedChange::Keep => (false, None),
                SealedChange::Set(b) => (true, Some(b)),
                SealedChange::Clear => (true, None),
            };
            let done = sqlx::query(
                "UPDATE templates SET name = $2, doc = $3::jsonb, \
                     exit_secret = CASE WHEN $4 THEN $5 ELSE exit_secret END, \
                     version = version + 1, changed_by = $6 \
                 WHERE id = $1::uuid AND version = $7",
            )
            .bind(&t.id)
            .bind(&t.name)
            .bind(doc(t)?)
            .bind(set_secret)
            .bind(secret)
            .bind(by)
            .bind(base_version)
            .execute(&mut *tx)
            .await
            .map_err(|e| map_named(e, &t.name))?;
            if done.rows_affected() != 1 {
                return Ok(false);
            }
        }
        tx.commit().await.map_err(map_err)?;
        Ok(true)
    }

    /// Deletes a template if it is still at `base_version`; false when it is not (or gone).
    pub async fn delete_template(&self, id: &str, base_version: i64) -> Result<bool> {
        let done = sqlx::query("DELETE FROM templates WHERE id = $1::uuid AND version = $2")
            .bind(id)
            .bind(base_version)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }

    /// One template as stored now.
    pub async fn template(&self, id: &str) -> Result<Option<TeamTemplate>> {
        let row = sqlx::query(
            "SELECT doc::text, version, changed_by, changed_at FROM templates WHERE id = $1::uuid",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.map(|r| team_template(&r)).transpose()
    }

    /// A template as it was at `version` (the current row or a replaced one), if known.
    pub async fn template_at(&self, id: &str, version: i64) -> Result<Option<Template>> {
        let doc: Option<String> = sqlx::query_scalar(
            "SELECT doc::text FROM templates WHERE id = $1::uuid AND version = $2 \
             UNION ALL SELECT doc::text FROM template_history WHERE id = $1::uuid AND version = $2 \
             LIMIT 1",
        )
        .bind(id)
        .bind(version)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        doc.as_deref().map(parse_doc).transpose()
    }

    /// Templates changed and removed after generation `since`.
    pub async fn changes_since(&self, since: i64) -> Result<Changes> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        // One snapshot for both reads: a change between them must not be lost.
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        let rows = sqlx::query(
            "SELECT doc::text, version, changed_by, changed_at, gen FROM templates WHERE gen > $1",
        )
        .bind(since)
        .fetch_all(&mut *tx)
        .await
        .map_err(map_err)?;
        let removed: Vec<(String, i64)> =
            sqlx::query_as("SELECT id::text, gen FROM template_tombstones WHERE gen > $1")
                .bind(since)
                .fetch_all(&mut *tx)
                .await
                .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        let mut out = Changes {
            gen: since,
            ..Changes::default()
        };
        for r in &rows {
            out.gen = out.gen.max(r.try_get::<i64, _>(4).map_err(map_err)?);
            out.changed.push(team_template(r)?);
        }
        for (id, gen) in removed {
            out.gen = out.gen.max(gen);
            out.removed.push(id);
        }
        Ok(out)
    }

    /// The sealed exit password of a template, if it has one.
    pub async fn exit_secret(&self, id: &str) -> Result<Option<Vec<u8>>> {
        let v: Option<Option<Vec<u8>>> =
            sqlx::query_scalar("SELECT exit_secret FROM templates WHERE id = $1::uuid")
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
        Ok(v.flatten())
    }

    /// Takes the lease of a template for `ttl` (database clock): the new fencing epoch, or
    /// `None` while another machine holds it.
    pub async fn lease_take(
        &self,
        template_id: &str,
        member_id: &str,
        member_name: &str,
        machine_id: &str,
        ttl: Duration,
    ) -> Result<Option<i64>> {
        sqlx::query_scalar("SELECT lease_take($1::uuid, $2::uuid, $3, $4, $5)")
            .bind(template_id)
            .bind(member_id)
            .bind(member_name)
            .bind(machine_id)
            .bind(millis(ttl))
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)
    }

    /// The live holder of a template's lease, if any.
    pub async fn lease_holder(&self, template_id: &str) -> Result<Option<LeaseHolder>> {
        let row: Option<(String, String, DateTime<Utc>)> = sqlx::query_as(
            "SELECT member_name, machine_id, taken_at FROM leases \
             WHERE template_id = $1::uuid AND expires_at > now()",
        )
        .bind(template_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(row.map(|(member_name, machine_id, taken_at)| LeaseHolder {
            member_name,
            machine_id,
            taken_at,
        }))
    }

    /// Renews the lease of `epoch` for `ttl`; false when it is lost (expired or taken over).
    pub async fn lease_renew(&self, template_id: &str, epoch: i64, ttl: Duration) -> Result<bool> {
        let until: Option<DateTime<Utc>> =
            sqlx::query_scalar("SELECT lease_renew($1::uuid, $2, $3)")
                .bind(template_id)
                .bind(epoch)
                .bind(millis(ttl))
                .fetch_one(&self.pool)
                .await
                .map_err(map_err)?;
        Ok(until.is_some())
    }

    /// Frees the lease of `epoch` (nothing if another holds it now).
    pub async fn lease_release(&self, template_id: &str, epoch: i64) -> Result<()> {
        sqlx::query("SELECT lease_release($1::uuid, $2)")
            .bind(template_id)
            .bind(epoch)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    /// The sealed exit password through the live lease of `epoch` (runners read it only so).
    pub async fn leased_exit_secret(
        &self,
        template_id: &str,
        epoch: i64,
    ) -> Result<Option<Vec<u8>>> {
        sqlx::query_scalar("SELECT leased_exit_secret($1::uuid, $2)")
            .bind(template_id)
            .bind(epoch)
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)
    }

    /// Stores a sealed session state under lease `epoch`; false when that lease is not held.
    pub async fn state_save(
        &self,
        template_id: &str,
        epoch: i64,
        sealed: &[u8],
        by: &str,
    ) -> Result<bool> {
        sqlx::query_scalar("SELECT state_save($1::uuid, $2, $3, $4)")
            .bind(template_id)
            .bind(epoch)
            .bind(sealed)
            .bind(by)
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)
    }

    /// The latest sealed session state (its epoch and bytes), for the holder of lease `epoch`.
    pub async fn state_latest(
        &self,
        template_id: &str,
        epoch: i64,
    ) -> Result<Option<(i64, Vec<u8>)>> {
        sqlx::query_as("SELECT epoch, sealed FROM state_latest($1::uuid, $2)")
            .bind(template_id)
            .bind(epoch)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)
    }

    /// Every live lease: template id, holder member, machine, since when.
    pub async fn live_leases(&self) -> Result<Vec<(String, String, String, DateTime<Utc>)>> {
        sqlx::query_as(
            "SELECT template_id::text, member_name, machine_id, taken_at FROM leases \
             WHERE expires_at > now() ORDER BY taken_at",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)
    }

    /// Starts listening for template changes on a connection of its own.
    pub async fn template_notices(&self) -> Result<TemplateNotices> {
        let mut listener = sqlx::postgres::PgListener::connect_with(&self.pool)
            .await
            .map_err(map_err)?;
        listener
            .listen("holdfast_templates")
            .await
            .map_err(map_err)?;
        Ok(TemplateNotices { listener })
    }
}

fn millis(d: Duration) -> i32 {
    i32::try_from(d.as_millis()).unwrap_or(i32::MAX)
}

fn doc(t: &Template) -> Result<String> {
    serde_json::to_string(t).map_err(|e| Error::Store(sqlx::Error::Encode(Box::new(e))))
}

/// A template from its stored JSON form.
fn parse_doc(doc: &str) -> Result<Template> {
    serde_json::from_str(doc).map_err(|e| {
        Error::Store(sqlx::Error::Decode(
            format!("a template in the team store: {e}").into(),
        ))
    })
}

fn team_template(r: &sqlx::postgres::PgRow) -> Result<TeamTemplate> {
    let doc: String = r.try_get(0).map_err(map_err)?;
    Ok(TeamTemplate {
        template: parse_doc(&doc)?,
        version: r.try_get(1).map_err(map_err)?,
        changed_by: r.try_get(2).map_err(map_err)?,
        changed_at: r.try_get(3).map_err(map_err)?,
    })
}

fn unavailable(e: impl std::fmt::Display) -> Error {
    Error::TeamUnavailable {
        detail: e.to_string(),
    }
}

/// PostgreSQL's refusals keep their meaning; everything that is the connection is "unavailable".
pub(crate) fn map_err(e: sqlx::Error) -> Error {
    match &e {
        sqlx::Error::Database(db) if db.code().as_deref() == Some("42501") => {
            Error::PermissionDenied {
                detail: db.message().to_owned(),
            }
        }
        sqlx::Error::Database(db) if db.code().as_deref().is_some_and(|c| c.starts_with("28")) => {
            Error::TeamUnavailable {
                detail: format!("login refused: {}", db.message()),
            }
        }
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Protocol(_)
        | sqlx::Error::Configuration(_) => unavailable(&e),
        _ => Error::Store(e),
    }
}

fn map_named(e: sqlx::Error, name: &str) -> Error {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => Error::DuplicateName {
            value: name.to_owned(),
        },
        _ => map_err(e),
    }
}
