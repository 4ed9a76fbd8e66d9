//! The import plan: every template of a bundle validated as `template add` would, duplicates in
//! the file found, and for each template what the import will do (add, skip, rename, replace).

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::format::{Bundle, BundleTemplate};
use super::secrets::Sealed;
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::template::{fields, Exit, Template, TemplateDraft};

/// What to do with a template whose name is already taken.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum OnConflict {
    /// Keep the existing template; do not import this one.
    #[default]
    Skip,
    /// Import under a free name: `name (2)`, `name (3)`, …
    Rename,
    /// Overwrite the existing template's fields (it keeps its id and browser profile).
    Replace,
}

/// What the import does with one template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Action {
    Add,
    Skip,
    Rename,
    Replace,
}

/// One line of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS, schemars::JsonSchema)]
#[ts(export)]
pub struct PlannedTemplate {
    /// The name in the bundle.
    pub name: String,
    pub action: Action,
    /// The name it will have (differs from `name` for `rename`).
    pub final_name: String,
    pub exit: String,
    /// Whether an exit password from the bundle will be stored in the keyring.
    pub with_secret: bool,
    /// Why the bundle's password for this template is not used (sealed for another exit, or
    /// by a Holdfast that did not bind passwords to exits).
    pub secret_refused: Option<String>,
    /// For `replace`: how the new template is weaker than the one it overwrites (a proxied or
    /// pinned exit turned `direct`, a pin dropped, the fit with the exit no longer required);
    /// importing it needs `allow_weaker`.
    pub weaker: Option<String>,
}

/// What an import will do (or did).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS, schemars::JsonSchema)]
#[ts(export)]
pub struct ImportPlan {
    pub dry_run: bool,
    pub templates: Vec<PlannedTemplate>,
    pub added: usize,
    pub skipped: usize,
    pub renamed: usize,
    pub replaced: usize,
    /// `none` (the bundle has no secrets), `imported`, or `not_imported` (no passphrase given).
    pub secrets: String,
}

/// A template ready to be written, with its keyring change.
#[derive(Debug)]
pub(crate) struct Ready {
    pub action: Action,
    pub template: Template,
    pub password: Option<Secret>,
    /// For `replace`: the stored template it overwrites.
    pub replaces: Option<Template>,
    pub secret_refused: Option<String>,
    pub weaker: Option<String>,
}

/// Validates every template of `bundle` and decides what to do with each. `existing` are the
/// stored templates; `passwords` the decrypted secrets (if any).
pub(crate) fn plan(
    bundle: &Bundle,
    existing: &[Template],
    passwords: Option<&BTreeMap<String, Sealed>>,
    on_conflict: OnConflict,
    now: DateTime<Utc>,
) -> Result<Vec<Ready>> {
    duplicates(&bundle.templates)?;
    if let Some(pw) = passwords {
        let names: HashSet<String> = bundle.templates.iter().map(|t| fold(&t.name)).collect();
        if let Some(stray) = pw.keys().find(|k| !names.contains(&fold(k))) {
            return Err(Error::BundleFormat {
                detail: format!(
                    "the secrets name a template {stray:?} that the bundle does not hold"
                ),
            });
        }
    }
    let by_name: HashMap<String, &Template> = existing.iter().map(|t| (fold(&t.name), t)).collect();
    let mut taken: HashSet<String> = by_name.keys().cloned().collect();
    taken.extend(bundle.templates.iter().map(|t| fold(&t.name)));
    let mut ready = Vec::with_capacity(bundle.templates.len());
    for (i, bt) in bundle.templates.iter().enumerate() {
        let (password, secret_refused) = match passwords.and_then(|p| p.get(&bt.name)) {
            None => (None, None),
            Some(sealed) => bound_password(sealed, &bt.exit),
        };
        let mut template = validate(i, bt, password.is_some(), now)?;
        let current = by_name.get(&fold(&template.name)).copied();
        let action = match (current, on_conflict) {
            (None, _) => Action::Add,
            (Some(_), OnConflict::Skip) => Action::Skip,
            (Some(_), OnConflict::Rename) => {
                template.name = free_name(&template.name, &mut taken);
                Action::Rename
            }
            (Some(_), OnConflict::Replace) => Action::Replace,
        };
        let replaces = match action {
            Action::Replace => current.cloned(),
            _ => None,
        };
        if let Some(old) = &replaces {
            // The template keeps its identity (and so its browser profile).
            template.id = old.id.clone();
            template.created_at = old.created_at;
            // Whether an automation port opens is this machine's choice; a bundle never carries it.
            template.automation = old.automation;
            template.version = old.version + 1;
            // The stored password stays only for the very same proxy: scheme, host, port and
            // username unchanged (a file must not send it to another host).
            if password.is_none()
                && old.exit_has_password
                && template.exit.username().is_some()
                && template.exit == old.exit
            {
                template.exit_has_password = true;
            }
        }
        let weaker = replaces.as_ref().and_then(|old| weaker(old, &template));
        ready.push(Ready {
            action,
            template,
            password,
            replaces,
            secret_refused,
            weaker,
        });
    }
    Ok(ready)
}

/// The plan as shown to the user.
pub(crate) fn summary(
    ready: &[Ready],
    bundle: &Bundle,
    names: &[String],
    dry_run: bool,
    secrets: &str,
) -> ImportPlan {
    let count = |a: Action| ready.iter().filter(|r| r.action == a).count();
    ImportPlan {
        dry_run,
        templates: ready
            .iter()
            .zip(names)
            .map(|(r, name)| PlannedTemplate {
                name: name.clone(),
                action: r.action,
                final_name: r.template.name.clone(),
                exit: r.template.exit.to_string(),
                with_secret: r.password.is_some() && r.action != Action::Skip,
                secret_refused: r.secret_refused.clone(),
                weaker: r.weaker.clone(),
            })
            .collect(),
        added: count(Action::Add),
        skipped: count(Action::Skip),
        renamed: count(Action::Rename),
        replaced: count(Action::Replace),
        secrets: if bundle.secrets.is_none() {
            "none"
        } else {
            secrets
        }
        .to_owned(),
    }
}

/// The password sealed for `exit`, or why it is not used.
fn bound_password(sealed: &Sealed, exit: &str) -> (Option<Secret>, Option<String>) {
    let canonical = |url: &str| Exit::parse(url).ok().map(|p| p.exit.to_string());
    match &sealed.exit {
        None => (
            None,
            Some(
                "its password was sealed without its exit (an older Holdfast): not imported; \
                 re-export the bundle"
                    .to_owned(),
            ),
        ),
        Some(bound) if canonical(bound).is_some_and(|b| Some(b) == canonical(exit)) => {
            (Some(sealed.password.clone()), None)
        }
        Some(_) => (
            None,
            Some(
                "the exit in the file is not the one its password was sealed for: the password \
                 is not imported"
                    .to_owned(),
            ),
        ),
    }
}

/// How `new` protects less than the stored template `old` it would overwrite.
fn weaker(old: &Template, new: &Template) -> Option<String> {
    let mut what = Vec::new();
    if old.exit != Exit::Direct && new.exit == Exit::Direct {
        what.push(format!("exit {} becomes direct", old.exit));
    }
    if old.pinned_egress_ip.is_some() && new.pinned_egress_ip.is_none() {
        what.push(format!(
            "the pinned egress IP {} is dropped",
            old.pinned_egress_ip.as_deref().unwrap_or_default()
        ));
    }
    if old.require_consistent && !new.require_consistent {
        what.push("launches no longer refuse an environment that does not fit the exit".to_owned());
    }
    (!what.is_empty()).then(|| what.join("; "))
}

/// Validates one bundle template exactly as `template add` would.
fn validate(
    index: usize,
    bt: &BundleTemplate,
    has_secret: bool,
    now: DateTime<Utc>,
) -> Result<Template> {
    let invalid = |e: Error| Error::BundleInvalid {
        index,
        name: bt.name.chars().take(80).collect(),
        code: e.code(),
        detail: e.to_string(),
    };
    // A bundle carries passwords only in its encrypted section, never in an exit URL.
    let parsed = Exit::parse(&bt.exit).map_err(invalid)?;
    if parsed.password.is_some() {
        return Err(invalid(Error::InvalidExit {
            value: crate::template::exit::redact(&bt.exit),
            reason: "a bundle's exit URL must not hold a password",
        }));
    }
    let draft = TemplateDraft {
        name: bt.name.clone(),
        account: Some(bt.account.clone()),
        exit: bt.exit.clone(),
        exit_password: None,
        pinned_egress_ip: bt.pinned_egress_ip.clone(),
        timezone: Some(bt.timezone.clone()),
        locale: Some(bt.locale.clone()),
        start_urls: Some(bt.start_urls.clone()),
        tags: Some(bt.tags.clone()),
        notes: Some(bt.notes.clone()),
        rules: bt.rules.clone(),
        // New templates from a bundle never open an automation port until the operator says so.
        automation: None,
        require_consistent: Some(bt.require_consistent),
    };
    let (mut template, _) = draft.validate(now).map_err(invalid)?;
    if has_secret {
        if template.exit.username().is_none() {
            return Err(invalid(Error::InvalidExit {
                value: bt.exit.clone(),
                reason: "the bundle has a password for an exit without a username",
            }));
        }
        template.exit_has_password = true;
    }
    Ok(template)
}

/// Names equal to SQLite's NOCASE (ASCII letters only).
fn fold(name: &str) -> String {
    name.trim().to_ascii_lowercase()
}

fn duplicates(templates: &[BundleTemplate]) -> Result<()> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut dups: Vec<String> = Vec::new();
    for t in templates {
        let n = seen.entry(fold(&t.name)).or_default();
        *n += 1;
        if *n == 2 {
            dups.push(t.name.clone());
        }
    }
    if dups.is_empty() {
        Ok(())
    } else {
        Err(Error::BundleDuplicateName { names: dups })
    }
}

/// `name (2)`, `name (3)`, … — the first not taken (shortening `name` to fit the length limit).
fn free_name(name: &str, taken: &mut HashSet<String>) -> String {
    for n in 2u32.. {
        let suffix = format!(" ({n})");
        let room = fields::NAME_MAX.saturating_sub(suffix.chars().count());
        let base: String = name.chars().take(room).collect();
        let candidate = format!("{}{suffix}", base.trim_end());
        if taken.insert(fold(&candidate)) {
            return candidate;
        }
    }
    name.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_names_count_up_and_fit_the_limit() {
        let mut taken: HashSet<String> =
            ["shop", "shop (2)"].iter().map(|s| s.to_string()).collect();
        assert_eq!(free_name("Shop", &mut taken), "Shop (3)");
        assert_eq!(free_name("Shop", &mut taken), "Shop (4)");
        let long = "x".repeat(64);
        let renamed = free_name(&long, &mut taken);
        assert_eq!(renamed.chars().count(), 64);
        assert!(renamed.ends_with(" (2)"));
    }
}
