//! Team operations: put this home in a team store (`init`, `join`), report on it (`status`),
//! take it out (`leave`), and the template writes of team mode (versioned, never
//! last-write-wins).

use chrono::Utc;
use serde::Serialize;
use ts_rs::TS;

use crate::context::TeamLink;
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::store::replica;
use crate::store::team::{DbRole, SealedChange, TeamDb, TeamRow};
use crate::team::config::{machine_id, split_db_url, TeamConfig};
use crate::team::key::{exit_binding, TeamKey, KDF_LOG_N};
use crate::template::{PasswordChange, Template};

crate::context::service! {
    /// Team operations.
}

/// What a member may do in the team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Role {
    /// Ran `team init`: owns the team's tables.
    Owner,
    /// Edits templates and rules.
    Editor,
    /// Lists, launches and stops; cannot edit or read exit passwords.
    Runner,
}

/// `team status`: the membership, and the store as seen now.
#[derive(Debug, Clone, Serialize, TS, schemars::JsonSchema)]
#[ts(export)]
pub struct TeamStatus {
    pub team_id: String,
    /// The database URL, without its password.
    pub url: String,
    pub member: String,
    pub machine_id: String,
    /// Whether the team store answered just now.
    pub connected: bool,
    /// Why it did not, when it did not.
    pub error: Option<String>,
    /// This member's role (known when connected).
    pub role: Option<Role>,
    /// Members of the team now (when connected).
    #[ts(type = "number | null")]
    #[schemars(with = "Option<i64>")]
    pub members: Option<i64>,
    /// Templates in this home's copy.
    #[ts(type = "number")]
    #[schemars(with = "i64")]
    pub templates: i64,
    /// When this home last pulled the team's templates (RFC 3339), if ever.
    pub synced_at: Option<String>,
    /// Who runs which account now, anywhere in the team (when connected).
    pub running: Vec<RunningElsewhere>,
}

/// A live lease: an account running somewhere in the team.
#[derive(Debug, Clone, Serialize, TS, schemars::JsonSchema)]
#[ts(export)]
pub struct RunningElsewhere {
    pub template_id: String,
    /// The template's name in this home's copy (its id when not there).
    pub template: String,
    pub member: String,
    pub machine_id: String,
    /// Whether it runs on this machine.
    pub here: bool,
    /// Since when (RFC 3339, the database's clock).
    pub since: String,
}

/// How to reach a team store, and the team's passphrase.
#[derive(Debug)]
pub struct Connect {
    /// `postgres://user[:password]@host[:port]/db[?sslmode=…]`.
    pub url: String,
    /// The database password when not in the URL.
    pub db_password: Option<Secret>,
    /// The team passphrase (8+ characters).
    pub passphrase: Secret,
    /// This machine's name in the team (default: the host name).
    pub member_name: Option<String>,
}

impl Service<'_> {
    /// Creates the team store's schema and roles in an empty database (as its owner), and puts
    /// this home in the new team; the home's templates become the team's.
    pub async fn init(&self, c: Connect) -> Result<TeamStatus> {
        self.not_in_a_team()?;
        let (url, db, password) = connect(&c).await?;
        db.migrate().await?;
        if let Some(team) = db.team().await? {
            return Err(Error::AlreadyInTeam {
                team_id: team.id,
                url: format!("{url} (the database already holds a team: use `team join`)"),
            });
        }
        let salt = TeamKey::new_salt();
        let key = derive(c.passphrase, salt.clone(), KDF_LOG_N).await?;
        let row = TeamRow {
            id: uuid::Uuid::new_v4().to_string(),
            kdf_salt: salt,
            kdf_log_n: KDF_LOG_N,
            key_check: key.check_value()?,
        };
        db.create_team(&row).await?;
        tracing::info!(team = %row.id, %url, "team store created");
        self.enter(db, url, password, row.id, key, c.member_name)
            .await
    }

    /// Puts this home in the team whose store is at `url`; the passphrase must be the team's.
    /// The home's own templates are added to the team (an editor's right), or it joins empty.
    pub async fn join(&self, c: Connect) -> Result<TeamStatus> {
        self.not_in_a_team()?;
        let (url, db, password) = connect(&c).await?;
        let team = db.team().await?.ok_or_else(|| Error::TeamUnavailable {
            detail: format!("{url} holds no team: create one with `holdfast team init`"),
        })?;
        let key = derive(c.passphrase, team.kdf_salt.clone(), team.kdf_log_n).await?;
        if !key.matches(&team.key_check) {
            return Err(Error::TeamPassphrase {
                detail: "this is not the team's passphrase".into(),
            });
        }
        self.enter(db, url, password, team.id, key, c.member_name)
            .await
    }

    /// The membership and, if the store answers, the role and member count.
    pub async fn status(&self) -> Result<TeamStatus> {
        let link = self.team_link()?;
        let (connected, error, role, members, leases) = match self.online_status(link).await {
            Ok((role, members, leases)) => (true, None, role, Some(members), leases),
            Err(e) => (false, Some(e.to_string()), None, None, Vec::new()),
        };
        let mut conn = self.store.pool().acquire().await?;
        let templates: i64 = sqlx::query_scalar("SELECT count(*) FROM templates")
            .fetch_one(&mut *conn)
            .await?;
        let synced_at = replica::last_sync(&mut conn).await?.map(|(_, at)| at);
        let c = &link.config;
        let mut running = Vec::new();
        for (template_id, member, machine_id, since) in leases {
            let template: Option<String> =
                sqlx::query_scalar("SELECT name FROM templates WHERE id = ?1")
                    .bind(&template_id)
                    .fetch_optional(&mut *conn)
                    .await?;
            running.push(RunningElsewhere {
                template: template.unwrap_or_else(|| template_id.clone()),
                here: machine_id == c.machine_id,
                template_id,
                member,
                machine_id,
                since: crate::store::timestamp(since),
            });
        }
        Ok(TeamStatus {
            team_id: c.team_id.clone(),
            url: c.url.clone(),
            member: c.member_name.clone(),
            machine_id: c.machine_id.clone(),
            connected,
            error,
            role,
            members,
            templates,
            synced_at,
            running,
        })
    }

    /// [`Service::status`], or `None` when this home is in no team (for the app's header).
    pub async fn status_if_any(&self) -> Result<Option<TeamStatus>> {
        if self.team.is_none() {
            return Ok(None);
        }
        self.status().await.map(Some)
    }

    /// Takes this home out of its team: the member is marked gone (when the store answers),
    /// the team's secrets leave the keyring, and the templates stay as local ones — with their
    /// exit passwords moved to the keyring where this member can read them.
    pub async fn leave(&self) -> Result<()> {
        let link = self.team_link()?;
        // Pulled first (if the store answers): the latest templates are the ones kept.
        let all = self.list_templates().await?;
        for t in all.into_iter().filter(|t| t.exit_has_password) {
            let kept = match self.exit_secret(&t.id).await {
                Ok(Some(pw)) => self.set_secret(&t.id, pw).await.is_ok(),
                _ => false,
            };
            if !kept {
                tracing::warn!(template = %t.name, "its exit password stays with the team");
                let mut conn = self.store.pool().acquire().await?;
                sqlx::query("UPDATE templates SET exit_has_password = 0 WHERE id = ?1")
                    .bind(&t.id)
                    .execute(&mut *conn)
                    .await?;
            }
        }
        match self.team_db(link).await {
            Ok(db) => db.leave(&link.config.member_id).await?,
            Err(e) => tracing::warn!("leaving without telling the team store: {e}"),
        }
        self.keyring_delete(&link.config.db_password_account())
            .await?;
        self.keyring_delete(&link.config.key_account()).await?;
        let mut conn = self.store.pool().acquire().await?;
        replica::forget(&mut conn).await?;
        TeamConfig::remove(&self.home)?;
        tracing::info!(team = %link.config.team_id, "left the team");
        Ok(())
    }

    /// Listens for the team's template changes (PostgreSQL NOTIFY) and pulls each into this
    /// home's copy, then calls `changed` with how many this pull brought (0 when another process
    /// of this home, e.g. the CLI, pulled it first: this home's copy changed all the same);
    /// pulls once on each (re)connect for what changed meanwhile, and retries with backoff
    /// while the store is away. Returns only without a team; a long-lived face runs it.
    pub async fn watch(&self, changed: impl Fn(usize) + Send + Sync) {
        let Some(link) = self.team.as_deref() else {
            return;
        };
        let mut backoff = std::time::Duration::from_secs(1);
        loop {
            let heard = async {
                let db = self.team_db(link).await?;
                let mut notices = db.template_notices().await?;
                let n = self.team_sync().await?.unwrap_or(0);
                if n > 0 {
                    changed(n);
                }
                loop {
                    notices.next().await?;
                    changed(self.team_sync().await?.unwrap_or(0));
                }
            }
            .await;
            let e: Error = match heard {
                Err(e) => e,
                Ok::<(), Error>(()) => continue,
            };
            tracing::warn!("not hearing the team's changes ({e}); again in {backoff:?}");
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(std::time::Duration::from_secs(30));
        }
    }

    /// Pulls the team's changes now; how many templates changed.
    pub async fn sync(&self) -> Result<usize> {
        Ok(self.team_sync().await?.unwrap_or(0))
    }

    /// Team mode: adds a validated template (its password sealed with the team key).
    pub(crate) async fn add_template(&self, t: &Template, pw: Option<Secret>) -> Result<()> {
        let (link, db) = self.online().await?;
        let sealed = match pw {
            Some(pw) => Some(self.seal_exit(link, &t.id, &pw).await?),
            None => None,
        };
        db.insert_templates(&[(t, sealed)], &link.config.member_name)
            .await?;
        self.team_sync().await?;
        Ok(())
    }

    /// Team mode: replaces `current` (as this home read it) with `updated`, only if the team
    /// store still holds version `base` (the one the edit started from); else `edit_conflict`
    /// naming who changed which fields.
    pub(crate) async fn edit_template(
        &self,
        current: &Template,
        updated: &Template,
        change: PasswordChange,
        base: i64,
    ) -> Result<()> {
        let (link, db) = self.online().await?;
        let sealed = match change {
            PasswordChange::Keep => SealedChange::Keep,
            PasswordChange::Clear => SealedChange::Clear,
            PasswordChange::Set(pw) => {
                SealedChange::Set(self.seal_exit(link, &updated.id, &pw).await?)
            }
        };
        let done = db
            .update_template(updated, sealed, base, &link.config.member_name)
            .await?;
        if done.is_none() {
            return Err(self.conflict(&db, current, base).await);
        }
        self.team_sync().await?;
        Ok(())
    }

    /// Team mode: writes an import's plan to the team store in one transaction — new templates
    /// added, replaced ones only if still at the version the plan read — then pulls.
    pub(crate) async fn import_templates(
        &self,
        ready: &[crate::bundle::plan::Ready],
    ) -> Result<()> {
        use crate::bundle::Action;
        let (link, db) = self.online().await?;
        let mut new = Vec::new();
        let mut replaced = Vec::new();
        for r in ready.iter().filter(|r| r.action != Action::Skip) {
            let sealed = match &r.password {
                Some(pw) => Some(self.seal_exit(link, &r.template.id, pw).await?),
                None => None,
            };
            match (&r.replaces, r.action) {
                (Some(old), Action::Replace) => {
                    let change = match sealed {
                        Some(b) => SealedChange::Set(b),
                        None if r.template.exit_has_password => SealedChange::Keep,
                        None => SealedChange::Clear,
                    };
                    replaced.push((&r.template, change, old.version));
                }
                _ => new.push((&r.template, sealed)),
            }
        }
        if !db
            .write_batch(&new, replaced, &link.config.member_name)
            .await?
        {
            return Err(Error::ChangedMeanwhile {
                name: "a template the import replaces".into(),
            });
        }
        self.team_sync().await?;
        Ok(())
    }

    /// Team mode: deletes `current` (as this home read it), only if nobody changed it since.
    pub(crate) async fn remove_template(&self, current: &Template) -> Result<()> {
        let (_, db) = self.online().await?;
        if !db.delete_template(&current.id, current.version).await? {
            return Err(self.conflict(&db, current, current.version).await);
        }
        self.team_sync().await?;
        Ok(())
    }

    fn not_in_a_team(&self) -> Result<()> {
        match &self.team {
            Some(link) => Err(Error::AlreadyInTeam {
                team_id: link.config.team_id.clone(),
                url: link.config.url.clone(),
            }),
            None => Ok(()),
        }
    }

    async fn online(&self) -> Result<(&TeamLink, TeamDb)> {
        let link = self.team_link()?;
        Ok((link, self.team_db(link).await?))
    }

    #[allow(clippy::type_complexity)]
    async fn online_status(
        &self,
        link: &TeamLink,
    ) -> Result<(
        Option<Role>,
        i64,
        Vec<(String, String, String, chrono::DateTime<Utc>)>,
    )> {
        let db = self.team_db(link).await?;
        let db_role = db.role().await?;
        if db_role == DbRole::Owner {
            // A newer Holdfast's team migrations are applied by the owner, here.
            db.migrate().await?;
        }
        self.team_sync().await?;
        let role = role_of(db_role);
        let (members, _) = db.counts().await?;
        Ok((role, members, db.live_leases().await?))
    }

    async fn seal_exit(&self, link: &TeamLink, id: &str, pw: &Secret) -> Result<Vec<u8>> {
        self.team_key(link)
            .await?
            .seal(&exit_binding(id), pw.expose().as_bytes())
    }

    /// The conflict error for an edit of `read` that started from version `base`: who changed
    /// it in the store, and which fields since `base`.
    async fn conflict(&self, db: &TeamDb, read: &Template, base: i64) -> Error {
        let then = match db.template_at(&read.id, base).await {
            Ok(Some(t)) => t,
            _ => read.clone(),
        };
        match db.template(&read.id).await {
            Ok(Some(now)) => Error::EditConflict {
                name: read.name.clone(),
                by: now.changed_by,
                at: crate::store::timestamp(now.changed_at),
                fields: changed_fields(&then, &now.template),
            },
            Ok(None) => Error::TemplateNotFound {
                name: format!("{} (removed from the team meanwhile)", read.name),
            },
            Err(e) => e,
        }
    }

    /// Enters the team: uploads the home's templates, records the member, keeps the secrets in
    /// the keyring and the membership in the home, then pulls the team's templates.
    async fn enter(
        &self,
        db: TeamDb,
        url: String,
        password: Option<Secret>,
        team_id: String,
        key: TeamKey,
        member_name: Option<String>,
    ) -> Result<TeamStatus> {
        let role = db.role().await?;
        if role == DbRole::None {
            return Err(Error::PermissionDenied {
                detail: "this database user is in neither holdfast_editor nor holdfast_runner; \
                         ask the team's owner to grant one"
                    .into(),
            });
        }
        let machine = machine_id(&self.home)?;
        let name = member_name
            .map(|n| crate::template::fields::label("member", &n))
            .transpose()?
            .filter(|n| !n.is_empty())
            .unwrap_or_else(host_name);
        self.upload_local(&db, &key, &name).await?;
        let member_id = uuid::Uuid::new_v4().to_string();
        db.add_member(&member_id, &name, &machine).await?;
        let config = TeamConfig {
            team_id,
            url,
            member_id,
            member_name: name,
            machine_id: machine,
            joined_at: Utc::now(),
        };
        if let Some(pw) = password {
            self.keyring_set(&config.db_password_account(), pw).await?;
        }
        self.keyring_set(&config.key_account(), key.to_keyring())
            .await?;
        config.save(&self.home)?;
        tracing::info!(team = %config.team_id, member = %config.member_name, "joined the team");
        // This process's context was opened outside the team: continue with a fresh one.
        let ctx = crate::context::Context::open(self.home.clone()).await?;
        Service::new(&ctx).status().await
    }

    /// Adds this home's templates that the team does not hold yet (with their passwords, sealed).
    async fn upload_local(&self, db: &TeamDb, key: &TeamKey, by: &str) -> Result<()> {
        // Not in a team yet: this lists the home's own templates (no pull).
        let local = self.list_templates().await?;
        let mut rows = Vec::new();
        for t in &local {
            if db.template(&t.id).await?.is_some() {
                continue;
            }
            let sealed = match t.exit_has_password {
                true => match self.get_secret(&t.id).await? {
                    Some(pw) => Some(key.seal(&exit_binding(&t.id), pw.expose().as_bytes())?),
                    None => None,
                },
                false => None,
            };
            rows.push((t, sealed));
        }
        if rows.is_empty() {
            return Ok(());
        }
        let n = rows.len();
        db.insert_templates(&rows, by).await?;
        tracing::info!(templates = n, "this home's templates added to the team");
        Ok(())
    }
}

async fn connect(c: &Connect) -> Result<(String, TeamDb, Option<Secret>)> {
    let (url, in_url) = split_db_url(&c.url)?;
    let password = in_url.or_else(|| c.db_password.clone());
    let db = TeamDb::connect(&url, password.as_ref()).await?;
    Ok((url, db, password))
}

async fn derive(passphrase: Secret, salt: Vec<u8>, log_n: u8) -> Result<TeamKey> {
    // scrypt is CPU work of a fraction of a second: off the async workers.
    tokio::task::spawn_blocking(move || TeamKey::derive(&passphrase, &salt, log_n))
        .await
        .map_err(|e| Error::TeamPassphrase {
            detail: format!("key derivation failed: {e}"),
        })?
}

fn role_of(r: DbRole) -> Option<Role> {
    match r {
        DbRole::Owner => Some(Role::Owner),
        DbRole::Editor => Some(Role::Editor),
        DbRole::Runner => Some(Role::Runner),
        DbRole::None => None,
    }
}

fn host_name() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "member".to_owned())
}

/// The fields (JSON keys) in which two forms of a template differ, bookkeeping aside.
fn changed_fields(a: &Template, b: &Template) -> String {
    let (Ok(serde_json::Value::Object(a)), Ok(serde_json::Value::Object(b))) =
        (serde_json::to_value(a), serde_json::to_value(b))
    else {
        return "unknown fields".into();
    };
    let fields: Vec<&str> = a
        .iter()
        .filter(|(k, v)| {
            !matches!(k.as_str(), "updated_at" | "version") && b.get(k.as_str()) != Some(v)
        })
        .map(|(k, _)| k.as_str())
        .collect();
    if fields.is_empty() {
        "no field of the template; it was saved again".into()
    } else {
        fields.join(", ")
    }
}
