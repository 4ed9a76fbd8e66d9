//! Template operations: list, read, add, edit, remove. A template and its exit password are
//! written together or not at all.

use chrono::Utc;

use crate::context::SecretChange;
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::store::lease::Lease;
use crate::store::templates;
use crate::template::{PasswordChange, Removal, Template, TemplateDraft, TemplatePatch};

crate::context::service! {
    /// Template operations.
}

impl Service<'_> {
    /// All templates, by name.
    pub async fn list(&self) -> Result<Vec<Template>> {
        self.ctx.list_templates().await
    }

    /// Calls `visit` with pages of templates in their JSON form (each a non-empty JSON array of
    /// the objects `Template` serialises to), by name: for output that streams without decoding.
    pub async fn each_json_page<E: From<Error>>(
        &self,
        visit: impl FnMut(&str) -> Result<(), E>,
    ) -> Result<usize, E> {
        self.team_sync_quietly().await;
        let mut conn = self.store.pool().acquire().await.map_err(Error::from)?;
        templates::for_each_json_page(&mut conn, visit).await
    }

    /// One template by name (case-insensitive).
    pub async fn get(&self, name: &str) -> Result<Template> {
        self.ctx.template(name).await
    }

    /// Validates and stores a new template; its password (if any) goes to the keyring.
    /// On any error nothing is written: no row, no keyring entry.
    pub async fn add(&self, draft: TemplateDraft) -> Result<Template> {
        let (template, password) = draft.validate(Utc::now())?;
        if self.team.is_some() {
            self.team_ops().add_template(&template, password).await?;
            tracing::info!(id = %template.id, name = %template.name, "template added to the team");
            return Ok(template);
        }
        let changes = password
            .map(|pw| SecretChange::set(&template.id, pw, false))
            .into_iter()
            .collect();
        self.write_with_secrets(changes, async |tx| templates::insert(tx, &template).await)
            .await?;
        tracing::info!(id = %template.id, name = %template.name, exit = %template.exit, "template added");
        Ok(template)
    }

    /// Validates and applies changes to a template; an invalid change writes nothing.
    pub async fn edit(&self, name: &str, patch: TemplatePatch) -> Result<Template> {
        let current = self.template(name).await?;
        let base = patch.base_version.unwrap_or(current.version);
        let (updated, change) = patch.apply(&current, Utc::now())?;
        if self.team.is_some() {
            self.team_ops()
                .edit_template(&current, &updated, change, base)
                .await?;
            tracing::info!(id = %updated.id, name = %updated.name, "team template edited");
            return Ok(updated);
        }
        if base != current.version {
            return Err(Error::EditConflict {
                name: current.name.clone(),
                by: "another window or command on this machine".into(),
                at: crate::store::timestamp(current.updated_at),
                fields: format!("version {base} → {}", current.version),
            });
        }
        let changes = match change {
            PasswordChange::Keep => vec![],
            PasswordChange::Set(pw) => {
                vec![SecretChange::set(
                    &updated.id,
                    pw,
                    current.exit_has_password,
                )]
            }
            PasswordChange::Clear => {
                vec![SecretChange::clear(&updated.id, current.exit_has_password)]
            }
        };
        self.write_with_secrets(changes, async |tx| {
            still_as_read(tx, name, &current).await?;
            templates::update(tx, &updated).await
        })
        .await?;
        tracing::info!(id = %updated.id, name = %updated.name, exit = %updated.exit, "template edited");
        Ok(updated)
    }

    /// Deletes a template and its keyring entry. Its browser profile is kept unless `purge`.
    pub async fn remove(&self, name: &str, purge: bool) -> Result<Removal> {
        // A running browser keeps using its profile and exit: stop it first.
        let template = self.template(name).await?;
        if Lease::is_held(&self.home.profile_dir(&template.id))? {
            return Err(self.already_running(&template).await);
        }
        if self.team.is_some() {
            self.team_ops().remove_template(&template).await?;
        } else {
            let changes = if template.exit_has_password {
                vec![SecretChange::clear(&template.id, true)]
            } else {
                vec![]
            };
            self.write_with_secrets(changes, async |tx| {
                still_as_read(tx, name, &template).await?;
                templates::delete(tx, &template.id).await?;
                // Its lease is free, so a row left is a crashed session's: it goes with it.
                crate::store::sessions::delete_for_template(tx, &template.id).await
            })
            .await?;
        }
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

    fn team_ops(&self) -> crate::team::service::Service<'_> {
        crate::team::service::Service::new(self.ctx)
    }

    /// The exit password of a template, from the keyring or the team store (for the relay).
    pub async fn exit_password(&self, name: &str) -> Result<Option<Secret>> {
        let t = self.template(name).await?;
        if !t.exit_has_password {
            return Ok(None);
        }
        self.exit_secret(&t.id).await
    }
}

/// Inside the write: `name` is still the template read before the keyring was asked (another
/// process may have changed it meanwhile); else `changed_meanwhile` and nothing is written.
async fn still_as_read(
    tx: &mut sqlx::SqliteConnection,
    name: &str,
    read: &crate::template::Template,
) -> Result<()> {
    if templates::find_by_name(tx, name).await?.as_ref() == Some(read) {
        Ok(())
    } else {
        Err(Error::ChangedMeanwhile {
            name: name.to_owned(),
        })
    }
}
