//! The team key: derived from the team passphrase with scrypt (the salt and work factor live in
//! the team store), it seals every secret the team store holds with XChaCha20-Poly1305. Each
//! sealed value is bound to what it belongs to (associated data), so a database administrator
//! can neither read a secret nor move one to another row.

use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;

use crate::error::{Error, Result};
use crate::secret::Secret;

/// scrypt work factor (log2 N) of a new team: ~0.3 s and 32 MiB here, once per init or join.
pub const KDF_LOG_N: u8 = 15;
/// The highest work factor a team store may ask for (a hostile store must not stall a join).
pub const KDF_LOG_N_MAX: u8 = 20;
/// The text sealed into `team.key_check`: opening it proves the passphrase.
const CHECK: &[u8] = b"holdfast team key check v1";
const NONCE: usize = 24;

/// What a sealed exit password is bound to: its template.
pub fn exit_binding(template_id: &str) -> String {
    format!("exit:{template_id}")
}

/// What a sealed session state is bound to: its template and the lease epoch that wrote it.
pub fn state_binding(template_id: &str, epoch: i64) -> String {
    format!("state:{template_id}:{epoch}")
}

/// A 32-byte team key. Its Debug never shows it.
#[derive(Clone)]
pub struct TeamKey([u8; 32]);

impl std::fmt::Debug for TeamKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TeamKey(…)")
    }
}

impl TeamKey {
    /// Derives the key from `passphrase` (at least 8 characters) with scrypt.
    pub fn derive(passphrase: &Secret, salt: &[u8], log_n: u8) -> Result<Self> {
        if passphrase.expose().chars().count() < 8 {
            return Err(Error::TeamPassphrase {
                detail: "the team passphrase must have at least 8 characters".into(),
            });
        }
        if log_n > KDF_LOG_N_MAX {
            return Err(Error::TeamPassphrase {
                detail: format!("the team store asks for scrypt work factor {log_n}, above the cap {KDF_LOG_N_MAX}"),
            });
        }
        let params = scrypt::Params::new(log_n, 8, 1, 32).map_err(|e| Error::TeamPassphrase {
            detail: format!("bad scrypt parameters: {e}"),
        })?;
        let mut key = [0u8; 32];
        scrypt::scrypt(passphrase.expose().as_bytes(), salt, &params, &mut key).map_err(|e| {
            Error::TeamPassphrase {
                detail: format!("scrypt: {e}"),
            }
        })?;
        Ok(Self(key))
    }

    /// A fresh random salt for a new team.
    pub fn new_salt() -> Vec<u8> {
        let mut salt = vec![0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        salt
    }

    /// Seals `plain` bound to `bound_to` (e.g. `exit:<template id>`): nonce ‖ ciphertext.
    pub fn seal(&self, bound_to: &str, plain: &[u8]) -> Result<Vec<u8>> {
        let cipher = XChaCha20Poly1305::new((&self.0).into());
        let mut nonce = [0u8; NONCE];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: bound_to.as_bytes(),
                },
            )
            .map_err(|_| Error::TeamPassphrase {
                detail: "cannot seal a value with the team key".into(),
            })?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens a value sealed by [`TeamKey::seal`] for `bound_to`; any other key, binding or a
    /// changed byte is an error.
    pub fn open(&self, bound_to: &str, sealed: &[u8]) -> Result<Vec<u8>> {
        let bad = || Error::TeamPassphrase {
            detail: format!(
                "a secret of the team store ({bound_to}) does not open with this team key: \
                 wrong passphrase, or the value was changed or moved in the database"
            ),
        };
        if sealed.len() < NONCE {
            return Err(bad());
        }
        let (nonce, body) = sealed.split_at(NONCE);
        XChaCha20Poly1305::new((&self.0).into())
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: bound_to.as_bytes(),
                },
            )
            .map_err(|_| bad())
    }

    /// The value stored in `team.key_check` for this key.
    pub fn check_value(&self) -> Result<Vec<u8>> {
        self.seal("team-key-check", CHECK)
    }

    /// Whether `check` (from `team.key_check`) opens with this key.
    pub fn matches(&self, check: &[u8]) -> bool {
        self.open("team-key-check", check).is_ok_and(|v| v == CHECK)
    }

    /// The key as text, for the OS keyring.
    pub fn to_keyring(&self) -> Secret {
        Secret::new(base64::engine::general_purpose::STANDARD.encode(self.0))
    }

    /// The key from its keyring text.
    pub fn from_keyring(text: &Secret) -> Result<Self> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.expose())
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or_else(|| Error::TeamPassphrase {
                detail: "the team key in the keyring is damaged: run `holdfast team join` again"
                    .into(),
            })?;
        Ok(Self(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(pass: &str, salt: &[u8]) -> TeamKey {
        TeamKey::derive(&Secret::new(pass.into()), salt, 10).unwrap()
    }

    #[test]
    fn a_sealed_value_opens_only_with_the_same_key_and_binding() {
        let k = key("correct horse", b"salt-1");
        let sealed = k.seal("exit:a", b"pw").unwrap();
        assert_eq!(k.open("exit:a", &sealed).unwrap(), b"pw");
        assert!(k.open("exit:b", &sealed).is_err(), "moved to another row");
        assert!(key("wrong horse!", b"salt-1")
            .open("exit:a", &sealed)
            .is_err());
        let mut flipped = sealed.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(k.open("exit:a", &flipped).is_err(), "a changed byte");
    }

    #[test]
    fn the_check_value_tells_the_right_passphrase() {
        let k = key("correct horse", b"salt-1");
        let check = k.check_value().unwrap();
        assert!(k.matches(&check));
        assert!(!key("correct horsf", b"salt-1").matches(&check));
        assert!(TeamKey::from_keyring(&k.to_keyring())
            .unwrap()
            .matches(&check));
    }

    #[test]
    fn short_passphrases_and_absurd_work_factors_are_refused() {
        assert!(TeamKey::derive(&Secret::new("short".into()), b"s", 10).is_err());
        assert!(TeamKey::derive(&Secret::new("long enough".into()), b"s", 30).is_err());
    }
}
