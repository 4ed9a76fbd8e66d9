//! Holdfast core: per-account browser environments. Knows nothing of Tauri; the desktop shell
//! (`app`, feature `gui`), the CLI and the local API are thin calls into [`Holdfast`].

pub mod error;
pub mod home;
pub mod logging;
pub mod secrets;
pub mod store;
pub mod template;

#[cfg(feature = "gui")]
pub mod app;

use std::path::PathBuf;

use chrono::Utc;
use serde::Serialize;
use ts_rs::TS;

pub use error::{Error, ErrorCode, ErrorPayload, Result};
pub use home::Home;
pub use template::{Template, TemplateDraft, TemplatePatch};

use secrets::{Secret, Secrets};
use store::{templates, Store};
use template::PasswordChange;

/// What `remove_template` did.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct Removal {
    pub template: Template,
    /// The template's browser profile directory.
    #[ts(type = "string")]
    pub profile_dir: PathBuf,
    /// Whether that directory exists after the removal (kept unless purged).
    pub profile_kept: bool,
}

/// The one API of Holdfast: one open home (database, keyring entries, profiles).
#[derive(Debug, Clone)]
pub struct Holdfast {
    home: Home,
    store: Store,
    secrets: Secrets,
}

impl Holdfast {
    /// Opens a home: creates its directories and database, applies migrations.
    pub async fn open(home: Home) -> Result<Self> {
        home.ensure()?;
        let store = Store::open(&home.db_path()).await?;
        Ok(Self {
            home,
            store,
            secrets: Secrets,
        })
    }

    /// The home this instance works in.
    pub fn home(&self) -> &Home {
        &self.home
    }

    /// Closes the database cleanly.
    pub async fn close(&self) {
        self.store.close().await;
    }

    /// All templates, by name.
    pub async fn list_templates(&self) -> Result<Vec<Template>> {
        let mut list = Vec::new();
        let mut conn = self.store.pool().acquire().await?;
        templates::for_each(&mut conn, |t| {
            list.push(t);
            Ok::<_, Error>(())
        })
        .await?;
        Ok(list)
    }

    /// Calls `visit` with pages of templates in their JSON form (each a non-empty JSON array of
    /// the objects `Template` serialises to), by name: for output that streams without decoding.
    pub async fn each_template_json_page<E: From<Error>>(
        &self,
        visit: impl FnMut(&str) -> Result<(), E>,
    ) -> Result<usize, E> {
        let mut conn = self.store.pool().acquire().await.map_err(Error::from)?;
        templates::for_each_json_page(&mut conn, visit).await
    }

    /// One template by name (case-insensitive).
    pub async fn template(&self, name: &str) -> Result<Template> {
        let mut conn = self.store.pool().acquire().await?;
        templates::find_by_name(&mut conn, name)
            .await?
            .ok_or_else(|| not_found(name))
    }

    /// Validates and stores a new template; its password (if any) goes to the keyring.
    /// On any error nothing is written: no row, no keyring entry.
    pub async fn add_template(&self, draft: TemplateDraft) -> Result<Template> {
        let (template, password) = draft.validate(Utc::now())?;
        let mut tx = self.store.pool().begin().await?;
        templates::insert(&mut tx, &template).await?;
        if let Some(pw) = &password {
            // Keyring failure drops `tx`, which rolls the insert back.
            self.set_secret(&template.id, pw.clone()).await?;
        }
        if let Err(e) = tx.commit().await {
            if password.is_some() {
                self.delete_secret(&template.id).await.ok();
            }
            return Err(e.into());
        }
        tracing::info!(id = %template.id, name = %template.name, exit = %template.exit, "template added");
        Ok(template)
    }

    /// Validates and applies changes to a template; an invalid change writes nothing.
    pub async fn edit_template(&self, name: &str, patch: TemplatePatch) -> Result<Template> {
        let mut tx = self.store.pool().begin().await?;
        let current = templates::find_by_name(&mut tx, name)
            .await?
            .ok_or_else(|| not_found(name))?;
        let (updated, change) = patch.apply(&current, Utc::now())?;
        templates::update(&mut tx, &updated).await?;
        // Keep the old password until the row is committed, to put it back if the commit fails.
        let previous = match change {
            PasswordChange::Keep => None,
            PasswordChange::Set(_) | PasswordChange::Clear if !current.exit_has_password => None,
            PasswordChange::Set(_) | PasswordChange::Clear => self.get_secret(&current.id).await?,
        };
        match &change {
            PasswordChange::Keep => {}
            PasswordChange::Set(pw) => self.set_secret(&updated.id, pw.clone()).await?,
            PasswordChange::Clear => self.delete_secret(&updated.id).await?,
        }
        if let Err(e) = tx.commit().await {
            match previous {
                Some(old) => self.set_secret(&current.id, old).await.ok(),
                None if matches!(change, PasswordChange::Set(_)) => {
                    self.delete_secret(&current.id).await.ok()
                }
                None => None,
            };
            return Err(e.into());
        }
        tracing::info!(id = %updated.id, name = %updated.name, exit = %updated.exit, "template edited");
        Ok(updated)
    }

    /// Deletes a template and its keyring entry. Its browser profile is kept unless `purge`.
    pub async fn remove_template(&self, name: &str, purge: bool) -> Result<Removal> {
        let mut tx = self.store.pool().begin().await?;
        let template = templates::find_by_name(&mut tx, name)
            .await?
            .ok_or_else(|| not_found(name))?;
        templates::delete(&mut tx, &template.id).await?;
        if template.exit_has_password {
            self.delete_secret(&template.id).await?;
        }
        tx.commit().await?;
        let profile_dir = self.home.profile_dir(&template.id);
        if purge && profile_dir.exists() {
            tokio::fs::remove_dir_all(&profile_dir)
                .await
                .map_err(|e| Error::io("cannot delete profile", &profile_dir, e))?;
        }
        tracing::info!(id = %template.id, name = %template.name, purge, "template removed");
        Ok(Removal {
            profile_kept: profile_dir.exists(),
            template,
            profile_dir,
        })
    }

    /// The exit password of a template, read from the keyring (for the relay).
    pub async fn exit_password(&self, name: &str) -> Result<Option<Secret>> {
        let t = self.template(name).await?;
        if !t.exit_has_password {
            return Ok(None);
        }
        self.get_secret(&t.id).await
    }

    // The keyring client is blocking (D-Bus round trips, maybe an unlock prompt): keep it off
    // the async workers.
    async fn set_secret(&self, id: &str, pw: Secret) -> Result<()> {
        let (s, id) = (self.secrets.clone(), id.to_owned());
        blocking(move || s.set(&id, &pw)).await
    }

    async fn get_secret(&self, id: &str) -> Result<Option<Secret>> {
        let (s, id) = (self.secrets.clone(), id.to_owned());
        blocking(move || s.get(&id)).await
    }

    async fn delete_secret(&self, id: &str) -> Result<()> {
        let (s, id) = (self.secrets.clone(), id.to_owned());
        blocking(move || s.delete(&id)).await
    }
}

fn not_found(name: &str) -> Error {
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
