//! Proxy passwords in the OS keyring (Secret Service on Linux). The only module that handles a
//! password in clear; everything else passes `Secret`, whose Debug never shows it.

use crate::error::{Error, Result};

pub use crate::secret::Secret;

/// Keyring service name under which Holdfast keeps its entries.
pub const SERVICE: &str = "holdfast";

/// The keyring entries of Holdfast: one per template, keyed by template id (names can change).
#[derive(Debug, Clone, Default)]
pub struct Secrets;

impl Secrets {
    fn entry(account: &str) -> Result<keyring::Entry> {
        keyring::Entry::new(SERVICE, account).map_err(map_err)
    }

    /// Stores (or replaces) the exit password of a template.
    pub fn set(&self, template_id: &str, password: &Secret) -> Result<()> {
        self.set_account(&account(template_id), password)
    }

    /// Reads the exit password of a template, if one is stored.
    pub fn get(&self, template_id: &str) -> Result<Option<Secret>> {
        self.get_account(&account(template_id))
    }

    /// Deletes the exit password of a template; deleting a missing entry is not an error.
    pub fn delete(&self, template_id: &str) -> Result<()> {
        self.delete_account(&account(template_id))
    }

    /// Stores (or replaces) the entry `account` (e.g. a team's database password).
    pub fn set_account(&self, account: &str, secret: &Secret) -> Result<()> {
        Self::entry(account)?
            .set_password(secret.expose())
            .map_err(map_err)
    }

    /// Reads the entry `account`, if there is one.
    pub fn get_account(&self, account: &str) -> Result<Option<Secret>> {
        match Self::entry(account)?.get_password() {
            Ok(p) => Ok(Some(Secret::new(p))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(map_err(e)),
        }
    }

    /// Deletes the entry `account`; a missing one is not an error.
    pub fn delete_account(&self, account: &str) -> Result<()> {
        match Self::entry(account)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(map_err(e)),
        }
    }
}

/// The keyring "account" (Secret Service attribute `username`) of a template's exit password.
pub fn account(template_id: &str) -> String {
    format!("exit:{template_id}")
}

fn map_err(e: keyring::Error) -> Error {
    match e {
        // No session bus, no Secret Service provider, a locked collection or a dismissed prompt:
        // the user can fix these, so they get the how-to-fix message.
        keyring::Error::PlatformFailure(inner) => Error::KeyringUnavailable {
            detail: inner.to_string(),
        },
        keyring::Error::NoStorageAccess(inner) => Error::KeyringUnavailable {
            detail: format!("keyring locked or access denied: {inner}"),
        },
        other => Error::Keyring {
            detail: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_debug_is_redacted() {
        let s = Secret::new("hunter2".into());
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert!(!format!("{:?}", Some(s)).contains("hunter2"));
    }
}
