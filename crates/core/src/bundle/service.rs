//! Bundle operations: export the selected templates, plan and apply an import.

use chrono::Utc;

use crate::bundle::{self, ExportSummary, Selection};
use crate::context::{not_found, SecretChange};
use crate::error::{Error, Result};
use crate::store::{self, secrets::Secret, templates};
use crate::template::Template;

crate::context::service! {
    /// Bundle operations.
}

impl Service<'_> {
    /// Writes a bundle of the selected templates to `path` (atomically). With a passphrase, the
    /// exit passwords go into it encrypted; without, no secret is in the file.
    pub async fn export(
        &self,
        selection: &Selection,
        path: &std::path::Path,
        passphrase: Option<Secret>,
    ) -> Result<ExportSummary> {
        let all = self.list_templates().await?;
        for name in &selection.names {
            let folded = name.trim().to_ascii_lowercase();
            if !all.iter().any(|t| t.name.to_ascii_lowercase() == folded) {
                return Err(not_found(name));
            }
        }
        let chosen: Vec<&Template> = all
            .iter()
            .filter(|t| {
                selection.all
                    || selection
                        .names
                        .iter()
                        .any(|n| n.trim().eq_ignore_ascii_case(&t.name))
                    || t.tags.iter().any(|tag| selection.tags.contains(tag))
            })
            .collect();
        if chosen.is_empty() {
            return Err(Error::NothingSelected {
                detail: "name templates, give --tag T, or --all".to_owned(),
            });
        }
        let mut secrets = None;
        let mut count = 0;
        let mut missing = Vec::new();
        if let Some(pass) = &passphrase {
            let mut map = std::collections::BTreeMap::new();
            for t in chosen.iter().filter(|t| t.exit_has_password) {
                match self.exit_secret(&t.id).await? {
                    Some(pw) => {
                        map.insert(t.name.clone(), (t.exit.to_string(), pw));
                    }
                    None => missing.push(t.name.clone()),
                }
            }
            count = map.len();
            let (map, pass) = (map, pass.clone());
            // scrypt is deliberately slow (~1 s): keep it off the async workers.
            secrets = Some(
                tokio::task::spawn_blocking(move || bundle::secrets::seal(&map, &pass))
                    .await
                    .map_err(|e| Error::BundleFormat {
                        detail: format!("encryption task failed: {e}"),
                    })??,
            );
        }
        let b = bundle::Bundle {
            format: bundle::FORMAT.to_owned(),
            version: bundle::VERSION,
            exported_at: store::timestamp(Utc::now()),
            templates: chosen.iter().map(|t| bundle::from_template(t)).collect(),
            secrets,
        };
        let bytes = bundle::format::to_bytes(&b)?;
        let target = path.to_path_buf();
        tokio::task::spawn_blocking(move || bundle::write_file(&target, &bytes))
            .await
            .map_err(|e| Error::io("cannot write bundle", path, std::io::Error::other(e)))??;
        tracing::info!(path = %path.display(), templates = chosen.len(), secrets = count, "bundle exported");
        Ok(ExportSummary {
            path: path.to_path_buf(),
            names: chosen.iter().map(|t| t.name.clone()).collect(),
            secrets: count,
            missing_secrets: missing,
        })
    }

    /// Imports a bundle: validates everything first, then writes all of it in one transaction,
    /// or nothing. `dry_run` returns the plan and writes nothing. A bundle with secrets needs the
    /// right passphrase to restore them; without one, templates are imported without passwords.
    /// A replacement that weakens a stored template (proxied or pinned exit turned direct, pin
    /// dropped) is refused with `import_weaker` unless `allow_weaker`.
    pub async fn import(
        &self,
        path: &std::path::Path,
        on_conflict: bundle::OnConflict,
        passphrase: Option<Secret>,
        dry_run: bool,
        allow_weaker: bool,
    ) -> Result<bundle::ImportPlan> {
        let target = path.to_path_buf();
        let bytes = tokio::task::spawn_blocking(move || bundle::read_file(&target))
            .await
            .map_err(|e| Error::io("cannot read", path, std::io::Error::other(e)))??;
        let parsed = bundle::format::parse(&bytes)?;
        drop(bytes);
        let passwords = match (&parsed.secrets, passphrase) {
            (Some(sealed), Some(pass)) => {
                let sealed = sealed.clone();
                Some(
                    tokio::task::spawn_blocking(move || bundle::secrets::open(&sealed, &pass))
                        .await
                        .map_err(|e| Error::BundleFormat {
                            detail: format!("decryption task failed: {e}"),
                        })??,
                )
            }
            _ => None,
        };
        let secrets_state = if passwords.is_some() {
            "imported"
        } else {
            "not_imported"
        };
        let existing = self.list_templates().await?;
        let ready = bundle::plan::plan(
            &parsed,
            &existing,
            passwords.as_ref(),
            on_conflict,
            Utc::now(),
        )?;
        let names: Vec<String> = parsed.templates.iter().map(|t| t.name.clone()).collect();
        let summary = bundle::plan::summary(&ready, &parsed, &names, dry_run, secrets_state);
        if dry_run {
            return Ok(summary);
        }
        let weaker: Vec<String> = summary
            .templates
            .iter()
            .filter_map(|t| Some(format!("{}: {}", t.final_name, t.weaker.as_deref()?)))
            .collect();
        if !weaker.is_empty() && !allow_weaker {
            return Err(Error::ImportWeaker {
                detail: weaker.join("; "),
            });
        }
        self.apply_import(&ready).await?;
        tracing::info!(path = %path.display(), added = summary.added, renamed = summary.renamed,
            replaced = summary.replaced, skipped = summary.skipped, "bundle imported");
        Ok(summary)
    }

    pub(crate) async fn apply_import(&self, ready: &[bundle::plan::Ready]) -> Result<()> {
        use bundle::Action;
        if self.team.is_some() {
            return crate::team::service::Service::new(self.ctx)
                .import_templates(ready)
                .await;
        }
        let new: Vec<&Template> = ready
            .iter()
            .filter(|r| matches!(r.action, Action::Add | Action::Rename))
            .map(|r| &r.template)
            .collect();
        let changes = ready
            .iter()
            .filter(|r| r.action != Action::Skip)
            .filter_map(|r| {
                let pw = r.password.clone()?;
                let existed = r.replaces.as_ref().is_some_and(|o| o.exit_has_password);
                Some(SecretChange::set(&r.template.id, pw, existed))
            })
            .collect();
        self.write_with_secrets(changes, async |tx| {
            templates::insert_many(tx, &new).await?;
            for r in ready.iter().filter(|r| r.action == Action::Replace) {
                templates::update(tx, &r.template).await?;
            }
            Ok(())
        })
        .await?;
        // Replaced templates whose new exit has no stored password lose the old one.
        for r in ready.iter().filter(|r| r.action == Action::Replace) {
            if let Some(old) = &r.replaces {
                if old.exit_has_password && !r.template.exit_has_password {
                    self.delete_secret(&old.id).await.ok();
                }
            }
        }
        Ok(())
    }
}
