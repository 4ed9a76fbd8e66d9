//! The context every operation shares: the home, its database, the keyring and the guard's
//! broker. Also the two reads almost every operation starts with (a template by name, the
//! settings) and the one helper that writes rows and keyring entries together.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::guard::Broker;
use crate::home::Home;
use crate::settings::Settings;
use crate::store::secrets::{Secret, Secrets};
use crate::store::team::TeamDb;
use crate::store::{self, templates, Store};
use crate::team::config::TeamConfig;
use crate::team::key::TeamKey;
use crate::template::Template;

/// Declares a feature's service: a `Service` over the shared [`Context`] (derefs to it), made by
/// `Service::new(ctx)`.
macro_rules! service {
    ($(#[$doc:meta])*) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct Service<'a> {
            ctx: &'a $crate::context::Context,
        }

        impl<'a> Service<'a> {
            /// The service over the shared context.
            pub(crate) fn new(ctx: &'a $crate::context::Context) -> Self {
                Self { ctx }
            }
        }

        impl std::ops::Deref for Service<'_> {
            type Target = $crate::context::Context;

            fn deref(&self) -> &$crate::context::Context {
                self.ctx
            }
        }
    };
}
pub(crate) use service;

/// One open home: database, keyring entries, profiles, and this process's guard broker.
#[derive(Debug, Clone)]
pub struct Context {
    pub(crate) home: Home,
    pub(crate) store: Store,
    pub(crate) secrets: Secrets,
    /// Passes the guard's holds to the app's prompt (shared by every session of this process).
    pub(crate) guard: Arc<Broker>,
    /// The team this home belongs to, if any.
    pub(crate) team: Option<Arc<TeamLink>>,
}

/// This home's link to its team store: the membership, and the connection and the team key,
/// each made on first use (so that a command that needs neither works offline).
#[derive(Debug)]
pub(crate) struct TeamLink {
    pub(crate) config: TeamConfig,
    db: tokio::sync::OnceCell<TeamDb>,
    key: tokio::sync::OnceCell<TeamKey>,
    /// Epochs of the team leases this process holds, by template id (a held lease is how a
    /// runner reads an exit password).
    held: std::sync::Mutex<std::collections::HashMap<String, i64>>,
}

impl TeamLink {
    /// A link for `config` that has not connected yet.
    pub(crate) fn new(config: TeamConfig) -> Self {
        Self {
            config,
            db: tokio::sync::OnceCell::new(),
            key: tokio::sync::OnceCell::new(),
            held: std::sync::Mutex::default(),
        }
    }

    /// The held epochs (a poisoned lock only means a panic elsewhere: the map is still whole).
    fn held(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, i64>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records that this process holds the lease of `template_id` at `epoch`.
    pub(crate) fn hold(&self, template_id: &str, epoch: i64) {
        self.held().insert(template_id.to_owned(), epoch);
    }

    /// Forgets the lease of `template_id`.
    pub(crate) fn unhold(&self, template_id: &str) {
        self.held().remove(template_id);
    }

    /// The epoch of the lease this process holds for `template_id`, if any.
    pub(crate) fn held_epoch(&self, template_id: &str) -> Option<i64> {
        self.held().get(template_id).copied()
    }
}

/// A change to one template's keyring entry, applied with a database transaction.
#[derive(Debug)]
pub(crate) struct SecretChange {
    /// The template's id.
    id: String,
    /// The new password, or `None` to delete the entry.
    password: Option<Secret>,
    /// Whether the template had a stored password before (its row's `exit_has_password`): only
    /// then is the old entry read, to put back if the write fails.
    existed: bool,
}

impl SecretChange {
    /// Store (or replace) the exit password of the template `id`.
    pub(crate) fn set(id: &str, password: Secret, existed: bool) -> Self {
        Self {
            id: id.to_owned(),
            password: Some(password),
            existed,
        }
    }

    /// Delete the exit password of the template `id`.
    pub(crate) fn clear(id: &str, existed: bool) -> Self {
        Self {
            id: id.to_owned(),
            password: None,
            existed,
        }
    }
}

impl Context {
    /// Opens a home: creates its directories and database, applies migrations.
    pub(crate) async fn open(home: Home) -> Result<Self> {
        home.ensure()?;
        let store = Store::open(&home.db_path()).await?;
        let team = TeamConfig::load(&home)?.map(|c| Arc::new(TeamLink::new(c)));
        Ok(Self {
            home,
            store,
            secrets: Secrets,
            guard: Arc::default(),
            team,
        })
    }

    /// The team link, or `not_in_team`.
    pub(crate) fn team_link(&self) -> Result<&TeamLink> {
        self.team.as_deref().ok_or(Error::NotInTeam)
    }

    /// The team store connection (made on first use with the password from the keyring).
    pub(crate) async fn team_db(&self, link: &TeamLink) -> Result<TeamDb> {
        link.db
            .get_or_try_init(|| async {
                let account = link.config.db_password_account();
                let password = self.keyring_get(&account).await?;
                TeamDb::connect(&link.config.url, password.as_ref()).await
            })
            .await
            .cloned()
    }

    /// The team key (from the keyring, where `team init`/`join` put it).
    pub(crate) async fn team_key(&self, link: &TeamLink) -> Result<TeamKey> {
        link.key
            .get_or_try_init(|| async {
                let text = self
                    .keyring_get(&link.config.key_account())
                    .await?
                    .ok_or_else(|| Error::TeamPassphrase {
                        detail: "the team key is not in this keyring: run `holdfast team join` \
                                 again"
                            .into(),
                    })?;
                TeamKey::from_keyring(&text)
            })
            .await
            .cloned()
    }

    /// In a team: pulls the templates changed since the last pull into this home's copy.
    /// Returns how many changed (`None` without a team).
    pub(crate) async fn team_sync(&self) -> Result<Option<usize>> {
        let Some(link) = self.team.as_deref() else {
            return Ok(None);
        };
        let db = self.team_db(link).await?;
        let mut conn = self.store.pool().acquire().await?;
        let since = store::replica::last_sync(&mut conn)
            .await?
            .map_or(0, |(gen, _)| gen);
        drop(conn);
        let changes = db.changes_since(since).await?;
        let n = changes.changed.len() + changes.removed.len();
        let mut conn = self.store.pool().acquire().await?;
        store::replica::apply(&mut conn, &changes, chrono::Utc::now()).await?;
        if n > 0 {
            tracing::info!(
                changed = changes.changed.len(),
                removed = changes.removed.len(),
                gen = changes.gen,
                "pulled team templates"
            );
        }
        Ok(Some(n))
    }

    /// [`Context::team_sync`] for reads: when the team store cannot be reached, this home's
    /// copy is used as it is (offline) and the reason logged.
    pub(crate) async fn team_sync_quietly(&self) {
        if let Err(e) = self.team_sync().await {
            tracing::warn!("working offline from this home's copy of the team's templates: {e}");
        }
    }

    /// The exit password of a template: in a team, opened from the team store with the team
    /// key; else from the OS keyring.
    pub(crate) async fn exit_secret(&self, id: &str) -> Result<Option<Secret>> {
        let Some(link) = self.team.as_deref() else {
            return self.get_secret(id).await;
        };
        let db = self.team_db(link).await?;
        let sealed = match link.held_epoch(id) {
            Some(epoch) => db.leased_exit_secret(id, epoch).await?,
            None => db.exit_secret(id).await?,
        };
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        let key = self.team_key(link).await?;
        let plain = key.open(&crate::team::key::exit_binding(id), &sealed)?;
        String::from_utf8(plain)
            .map(|p| Some(Secret::new(p)))
            .map_err(|_| Error::TeamPassphrase {
                detail: "a sealed exit password is not text".into(),
            })
    }

    /// All templates, by name (in a team: after pulling changes, if the store answers).
    pub(crate) async fn list_templates(&self) -> Result<Vec<Template>> {
        self.team_sync_quietly().await;
        let mut list = Vec::new();
        let mut conn = self.store.pool().acquire().await?;
        templates::for_each(&mut conn, |t| {
            list.push(t);
            Ok::<_, Error>(())
        })
        .await?;
        Ok(list)
    }

    /// Every template's listing, by name (in a team: after pulling changes, if the store answers).
    pub(crate) async fn list_listings(&self) -> Result<Vec<crate::template::Listing>> {
        self.team_sync_quietly().await;
        let mut conn = self.store.pool().acquire().await?;
        templates::listings(&mut conn).await
    }

    /// One template by name (case-insensitive; in a team: after pulling changes, if the store
    /// answers).
    pub(crate) async fn template(&self, name: &str) -> Result<Template> {
        self.team_sync_quietly().await;
        let mut conn = self.store.pool().acquire().await?;
        templates::find_by_name(&mut conn, name)
            .await?
            .ok_or_else(|| not_found(name))
    }

    /// The settings in effect.
    pub(crate) async fn settings(&self) -> Result<Settings> {
        let mut conn = self.store.pool().acquire().await?;
        Ok(Settings::from_stored(
            store::settings::all(&mut conn).await?,
        ))
    }

    /// Writes keyring `changes`, then runs `write` in a database transaction and commits it; or
    /// neither: if a change, `write` or the commit fails, the entries already changed get their
    /// previous value back (and the transaction rolls back). The keyring goes first, with no
    /// transaction open: a keyring call can wait on an unlock prompt, and an open write
    /// transaction would hold SQLite's write lock — and every health write — meanwhile.
    /// The one place where a template row and its password are written together.
    pub(crate) async fn write_with_secrets<T>(
        &self,
        changes: Vec<SecretChange>,
        write: impl AsyncFnOnce(&mut sqlx::SqliteConnection) -> Result<T>,
    ) -> Result<T> {
        // (template id, what it held before) of every entry changed so far.
        let mut undo: Vec<(String, Option<Secret>)> = Vec::new();
        let mut result = Ok(());
        for SecretChange {
            id,
            password,
            existed,
        } in changes
        {
            let applied = async {
                let previous = if existed {
                    self.get_secret(&id).await?
                } else {
                    None
                };
                match password {
                    Some(pw) => self.set_secret(&id, pw).await?,
                    None => self.delete_secret(&id).await?,
                }
                Ok::<_, Error>(previous)
            }
            .await;
            match applied {
                Ok(previous) => undo.push((id, previous)),
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        let written = match result {
            Ok(()) => {
                async {
                    let mut tx = self.store.pool().begin().await?;
                    let value = write(&mut tx).await?;
                    tx.commit().await?;
                    Ok(value)
                }
                .await
            }
            Err(e) => Err(e),
        };
        if written.is_err() {
            for (id, previous) in undo.into_iter().rev() {
                let restored = match previous {
                    Some(old) => self.set_secret(&id, old).await,
                    None => self.delete_secret(&id).await,
                };
                if let Err(e) = restored {
                    tracing::warn!(template_id = %id, "cannot restore the keyring entry: {e}");
                }
            }
        }
        written
    }

    /// The error for a template whose session runs (or is being launched) already.
    pub(crate) async fn already_running(&self, template: &Template) -> Error {
        let row = match self.store.pool().acquire().await {
            Ok(mut conn) => store::sessions::get(&mut conn, &template.id)
                .await
                .ok()
                .flatten(),
            Err(_) => None,
        };
        match row {
            Some(r) => Error::AlreadyRunning {
                name: template.name.clone(),
                pid: r.browser_pid.unwrap_or(r.owner_pid),
                since: r.started_at,
            },
            None => {
                let holder = std::fs::read_to_string(
                    self.home
                        .profile_dir(&template.id)
                        .join(crate::store::lease::LOCK_FILE),
                )
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(0);
                Error::AlreadyRunning {
                    name: template.name.clone(),
                    pid: holder,
                    since: "now (still launching)".to_owned(),
                }
            }
        }
    }

    // The keyring client is blocking (D-Bus round trips, maybe an unlock prompt): keep it off
    // the async workers.
    pub(crate) async fn set_secret(&self, id: &str, pw: Secret) -> Result<()> {
        let (s, id) = (self.secrets.clone(), id.to_owned());
        blocking(move || s.set(&id, &pw)).await
    }

    pub(crate) async fn get_secret(&self, id: &str) -> Result<Option<Secret>> {
        let (s, id) = (self.secrets.clone(), id.to_owned());
        blocking(move || s.get(&id)).await
    }

    pub(crate) async fn delete_secret(&self, id: &str) -> Result<()> {
        let (s, id) = (self.secrets.clone(), id.to_owned());
        blocking(move || s.delete(&id)).await
    }

    pub(crate) async fn keyring_get(&self, account: &str) -> Result<Option<Secret>> {
        let (s, a) = (self.secrets.clone(), account.to_owned());
        blocking(move || s.get_account(&a)).await
    }

    pub(crate) async fn keyring_set(&self, account: &str, secret: Secret) -> Result<()> {
        let (s, a) = (self.secrets.clone(), account.to_owned());
        blocking(move || s.set_account(&a, &secret)).await
    }

    pub(crate) async fn keyring_delete(&self, account: &str) -> Result<()> {
        let (s, a) = (self.secrets.clone(), account.to_owned());
        blocking(move || s.delete_account(&a)).await
    }
}

/// The error for a template name that does not exist.
pub(crate) fn not_found(name: &str) -> Error {
    Error::TemplateNotFound {
        name: name.to_owned(),
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Keyring {
            detail: format!("keyring task failed: {e}"),
        })?
}
