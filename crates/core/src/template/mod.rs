//! Templates: the stored per-account environment, and all of its validation.

pub mod exit;
pub(crate) mod fields;
pub mod service;

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub use exit::{Exit, ExitKind, ProxyAddr};

use crate::error::{Error, Result};
use crate::rules::TemplateRules;
use crate::secret::Secret;

/// Timezone given to a template when none is set.
pub const DEFAULT_TIMEZONE: &str = "UTC";
/// Locale given to a template when none is set.
pub const DEFAULT_LOCALE: &str = "en-US";

/// A stored template. Serialised as the stable `--json` and UI form; never holds a password.
/// The store builds this same form in SQL (`store::templates`); a test keeps the two identical.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, schemars::JsonSchema)]
#[ts(export)]
pub struct Template {
    pub id: String,
    pub name: String,
    pub account: String,
    /// The exit URL without its password: `direct`, `http://[user@]host:port`, `socks5://…`.
    #[ts(type = "string")]
    #[schemars(with = "String")]
    pub exit: Exit,
    /// Whether a password for the exit is kept in the OS keyring.
    pub exit_has_password: bool,
    pub pinned_egress_ip: Option<String>,
    pub timezone: String,
    pub locale: String,
    pub start_urls: Vec<String>,
    pub tags: Vec<String>,
    pub notes: String,
    /// URL patterns of token refreshes, login and verification pages (for health).
    pub rules: TemplateRules,
    /// Whether launches open a DevTools TCP port for automation tools (off unless asked for:
    /// any local process can drive a browser through that port).
    pub automation: bool,
    /// Refuse launches (unless forced) while the timezone or locale does not fit where the exit
    /// is, or while that is unknown; off: only warn.
    #[serde(default)]
    pub require_consistent: bool,
    /// 1 when added, +1 per saved change: an edit may require the version it started from.
    #[ts(type = "number")]
    #[schemars(with = "i64")]
    pub version: i64,
    #[ts(type = "string")]
    #[schemars(with = "String")]
    pub created_at: DateTime<Utc>,
    #[ts(type = "string")]
    #[schemars(with = "String")]
    pub updated_at: DateTime<Utc>,
}

/// What lists of many templates need of each (the fleet): identity, exit, pin and tags, without
/// the rules and notes that make up most of a stored template.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Listing {
    pub id: String,
    pub name: String,
    pub account: String,
    /// The exit URL without its password, as shown.
    pub exit: String,
    pub pinned_egress_ip: Option<String>,
    pub tags: Vec<String>,
}

/// Input for a new template, from the CLI, the app or the API. Unset optional fields get defaults.
#[derive(Debug, Clone, Default, Deserialize, TS, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[ts(export, optional_fields)]
pub struct TemplateDraft {
    pub name: String,
    pub account: Option<String>,
    /// `direct`, `http://[user[:pass]@]host:port` or `socks5://[user[:pass]@]host:port`.
    pub exit: String,
    /// The exit password, when not given inside the URL. Goes to the keyring only.
    pub exit_password: Option<String>,
    pub pinned_egress_ip: Option<String>,
    pub timezone: Option<String>,
    pub locale: Option<String>,
    pub start_urls: Option<Vec<String>>,
    pub tags: Option<Vec<String>>,
    pub notes: Option<String>,
    /// Health rules; defaults when absent.
    pub rules: Option<TemplateRules>,
    /// Open a DevTools TCP port at each launch (default off).
    pub automation: Option<bool>,
    /// Refuse launches that do not fit the exit's location (default off: warn).
    pub require_consistent: Option<bool>,
}

/// Changes to a template; `None` keeps a field as it is. An empty pinned IP clears the pin.
#[derive(Debug, Clone, Default, Deserialize, TS, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[ts(export, optional_fields)]
pub struct TemplatePatch {
    pub name: Option<String>,
    pub account: Option<String>,
    pub exit: Option<String>,
    /// A new exit password. Empty or absent keeps the stored one (if the username is unchanged).
    pub exit_password: Option<String>,
    pub pinned_egress_ip: Option<String>,
    pub timezone: Option<String>,
    pub locale: Option<String>,
    pub start_urls: Option<Vec<String>>,
    pub tags: Option<Vec<String>>,
    pub notes: Option<String>,
    /// New health rules (each list replaced whole).
    pub rules: Option<TemplateRules>,
    /// Turn the automation port of launches on or off.
    pub automation: Option<bool>,
    /// Turn refusing launches that do not fit the exit's location on or off.
    pub require_consistent: Option<bool>,
    /// The version this edit started from (the app sends the one it showed): if another save
    /// came in between, nothing is written and the edit fails with `edit_conflict`.
    #[ts(optional, type = "number")]
    pub base_version: Option<i64>,
}

/// What a validated add or edit does to the keyring entry of the template.
#[derive(Debug)]
pub enum PasswordChange {
    /// Leave the stored password as it is.
    Keep,
    /// Store this password.
    Set(Secret),
    /// Delete the stored password.
    Clear,
}

impl TemplateDraft {
    /// Validates every field and builds the template to insert (new id, timestamps now).
    pub fn validate(&self, now: DateTime<Utc>) -> Result<(Template, Option<Secret>)> {
        let name = fields::name(&self.name)?;
        let account = fields::label("account", self.account.as_deref().unwrap_or(""))?;
        let (exit, password) = exit_with_password(&self.exit, self.exit_password.as_deref())?;
        let template = Template {
            id: uuid::Uuid::new_v4().to_string(),
            name,
            account,
            exit_has_password: password.is_some(),
            exit,
            pinned_egress_ip: fields::egress_ip(self.pinned_egress_ip.as_deref().unwrap_or(""))?,
            timezone: fields::timezone(self.timezone.as_deref().unwrap_or(DEFAULT_TIMEZONE))?,
            locale: fields::locale(self.locale.as_deref().unwrap_or(DEFAULT_LOCALE))?,
            start_urls: fields::start_urls(self.start_urls.as_deref().unwrap_or_default())?,
            tags: fields::tags(self.tags.as_deref().unwrap_or_default())?,
            notes: fields::notes(self.notes.as_deref().unwrap_or(""))?,
            rules: self.rules.clone().unwrap_or_default().validated()?,
            automation: self.automation.unwrap_or(false),
            require_consistent: self.require_consistent.unwrap_or(false),
            version: 1,
            created_at: now,
            updated_at: now,
        };
        Ok((template, password))
    }
}

impl TemplatePatch {
    /// Validates the changed fields and applies them to a copy of `current`.
    pub fn apply(
        &self,
        current: &Template,
        now: DateTime<Utc>,
    ) -> Result<(Template, PasswordChange)> {
        let mut t = current.clone();
        if let Some(v) = &self.name {
            t.name = fields::name(v)?;
        }
        if let Some(v) = &self.account {
            t.account = fields::label("account", v)?;
        }
        let new_password = self.exit_password.as_deref().filter(|p| !p.is_empty());
        let change = match &self.exit {
            Some(url) => {
                let (exit, password) = exit_with_password(url, new_password)?;
                let same_user =
                    exit.username().is_some() && exit.username() == current.exit.username();
                let change = match password {
                    Some(p) => PasswordChange::Set(p),
                    None if same_user && current.exit_has_password => PasswordChange::Keep,
                    None if current.exit_has_password => PasswordChange::Clear,
                    None => PasswordChange::Keep,
                };
                t.exit = exit;
                change
            }
            None => match new_password {
                Some(p) => {
                    require_username(&t.exit)?;
                    PasswordChange::Set(Secret::new(p.to_owned()))
                }
                None => PasswordChange::Keep,
            },
        };
        t.exit_has_password = match &change {
            PasswordChange::Set(_) => true,
            PasswordChange::Clear => false,
            PasswordChange::Keep => current.exit_has_password,
        };
        if let Some(v) = &self.pinned_egress_ip {
            t.pinned_egress_ip = fields::egress_ip(v)?;
        }
        if let Some(v) = &self.timezone {
            t.timezone = fields::timezone(v)?;
        }
        if let Some(v) = &self.locale {
            t.locale = fields::locale(v)?;
        }
        if let Some(v) = &self.start_urls {
            t.start_urls = fields::start_urls(v)?;
        }
        if let Some(v) = &self.tags {
            t.tags = fields::tags(v)?;
        }
        if let Some(v) = &self.notes {
            t.notes = fields::notes(v)?;
        }
        if let Some(v) = &self.rules {
            t.rules = v.clone().validated()?;
        }
        if let Some(v) = self.automation {
            t.automation = v;
        }
        if let Some(v) = self.require_consistent {
            t.require_consistent = v;
        }
        t.version = current.version + 1;
        t.updated_at = now;
        Ok((t, change))
    }
}

/// Parses an exit URL and merges the password from the URL or the separate field (not both).
fn exit_with_password(url: &str, separate: Option<&str>) -> Result<(Exit, Option<Secret>)> {
    let parsed = Exit::parse(url)?;
    let separate = separate.filter(|p| !p.is_empty());
    let password = match (parsed.password, separate) {
        (Some(_), Some(_)) => {
            return Err(Error::InvalidExit {
                value: exit::redact(url),
                reason: "password given both in the URL and separately",
            })
        }
        (Some(p), None) => Some(p),
        (None, Some(p)) => Some(Secret::new(p.to_owned())),
        (None, None) => None,
    };
    if password.is_some() {
        require_username(&parsed.exit)?;
    }
    Ok((parsed.exit, password))
}

fn require_username(exit: &Exit) -> Result<()> {
    if exit.username().is_some() {
        Ok(())
    } else {
        Err(Error::InvalidExit {
            value: exit.to_string(),
            reason: "a password needs a username (user:pass@host:port)",
        })
    }
}

/// What `remove_template` did.
#[derive(Debug, Clone, Serialize, TS, schemars::JsonSchema)]
#[ts(export)]
pub struct Removal {
    pub template: Template,
    /// The template's browser profile directory.
    #[ts(type = "string")]
    #[schemars(with = "String")]
    pub profile_dir: PathBuf,
    /// Whether that directory exists after the removal (kept unless purged).
    pub profile_kept: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn draft(exit: &str) -> TemplateDraft {
        TemplateDraft {
            name: "shop-eu".into(),
            exit: exit.into(),
            ..Default::default()
        }
    }

    #[test]
    fn draft_gets_defaults_and_splits_the_password() {
        let (t, pw) = draft("http://u:pw@127.0.0.1:8080")
            .validate(Utc::now())
            .unwrap();
        assert_eq!(
            (t.timezone.as_str(), t.locale.as_str()),
            (DEFAULT_TIMEZONE, DEFAULT_LOCALE)
        );
        assert_eq!(t.exit.to_string(), "http://u@127.0.0.1:8080");
        assert!(t.exit_has_password);
        assert_eq!(pw.map(|p| p.expose().to_owned()).as_deref(), Some("pw"));
    }

    #[test]
    fn password_twice_or_without_user_is_rejected() {
        let mut d = draft("http://u:pw@h:1");
        d.exit_password = Some("other".into());
        assert_eq!(
            d.validate(Utc::now()).unwrap_err().code(),
            ErrorCode::InvalidExit
        );
        let mut d = draft("http://h:1");
        d.exit_password = Some("pw".into());
        assert_eq!(
            d.validate(Utc::now()).unwrap_err().code(),
            ErrorCode::InvalidExit
        );
    }

    #[test]
    fn patch_keeps_password_for_same_user_and_clears_it_for_another() {
        let (t, _) = draft("socks5://u:pw@h:1080").validate(Utc::now()).unwrap();
        let same = TemplatePatch {
            exit: Some("socks5://u@other:1080".into()),
            ..Default::default()
        };
        let (t2, change) = same.apply(&t, Utc::now()).unwrap();
        assert!(matches!(change, PasswordChange::Keep) && t2.exit_has_password);
        let other = TemplatePatch {
            exit: Some("socks5://v@h:1080".into()),
            ..Default::default()
        };
        let (t3, change) = other.apply(&t, Utc::now()).unwrap();
        assert!(matches!(change, PasswordChange::Clear) && !t3.exit_has_password);
    }

    #[test]
    fn patch_validates_every_changed_field() {
        let (t, _) = draft("direct").validate(Utc::now()).unwrap();
        let bad = TemplatePatch {
            timezone: Some("Nowhere/Land".into()),
            ..Default::default()
        };
        assert_eq!(
            bad.apply(&t, Utc::now()).unwrap_err().code(),
            ErrorCode::InvalidTimezone
        );
    }
}
