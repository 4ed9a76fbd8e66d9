//! Exit passwords in a bundle: a JSON map name → password, encrypted with a passphrase (age,
//! scrypt recipient) and ASCII-armored. Passwords are never in a bundle in any other form.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use age::secrecy::SecretString;

use crate::error::{Error, Result};
use crate::secret::Secret;

/// Shortest passphrase accepted for export.
pub const MIN_PASSPHRASE: usize = 8;

/// Encrypts `passwords` (template name → password) with `passphrase`.
pub fn seal(passwords: &BTreeMap<String, Secret>, passphrase: &Secret) -> Result<String> {
    if passphrase.expose().chars().count() < MIN_PASSPHRASE {
        return Err(Error::BundlePassphrase {
            detail: format!("a bundle passphrase needs at least {MIN_PASSPHRASE} characters"),
        });
    }
    let plain: BTreeMap<&str, &str> = passwords
        .iter()
        .map(|(k, v)| (k.as_str(), v.expose()))
        .collect();
    let json = serde_json::to_vec(&plain).map_err(|e| crypto_err(e.to_string()))?;
    let encryptor =
        age::Encryptor::with_user_passphrase(SecretString::from(passphrase.expose().to_owned()));
    let mut armored = Vec::new();
    let armor =
        age::armor::ArmoredWriter::wrap_output(&mut armored, age::armor::Format::AsciiArmor)
            .map_err(|e| crypto_err(e.to_string()))?;
    let mut writer = encryptor
        .wrap_output(armor)
        .map_err(|e| crypto_err(e.to_string()))?;
    writer
        .write_all(&json)
        .map_err(|e| crypto_err(e.to_string()))?;
    writer
        .finish()
        .and_then(|armor| armor.finish())
        .map_err(|e| crypto_err(e.to_string()))?;
    String::from_utf8(armored).map_err(|e| crypto_err(e.to_string()))
}

/// Decrypts the secrets of a bundle. A wrong passphrase is `bundle_passphrase`.
pub fn open(armored: &str, passphrase: &Secret) -> Result<BTreeMap<String, Secret>> {
    let reader = age::armor::ArmoredReader::new(armored.as_bytes());
    let decryptor = age::Decryptor::new(reader).map_err(|e| Error::BundleFormat {
        detail: format!("the secrets section is not an age file: {e}"),
    })?;
    if !decryptor.is_scrypt() {
        return Err(Error::BundleFormat {
            detail: "the secrets section is not encrypted with a passphrase".to_owned(),
        });
    }
    let identity = age::scrypt::Identity::new(SecretString::from(passphrase.expose().to_owned()));
    let mut reader = decryptor
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::DecryptionFailed | age::DecryptError::NoMatchingKeys => {
                Error::BundlePassphrase {
                    detail: "wrong passphrase: the bundle's secrets cannot be decrypted".to_owned(),
                }
            }
            other => Error::BundleFormat {
                detail: format!("cannot decrypt the secrets section: {other}"),
            },
        })?;
    let mut json = Vec::new();
    reader
        .read_to_end(&mut json)
        .map_err(|e| Error::BundlePassphrase {
            detail: format!("the secrets section cannot be decrypted: {e}"),
        })?;
    let map: BTreeMap<String, String> =
        serde_json::from_slice(&json).map_err(|e| Error::BundleFormat {
            detail: format!("the decrypted secrets are not a name → password map: {e}"),
        })?;
    Ok(map.into_iter().map(|(k, v)| (k, Secret::new(v))).collect())
}

fn crypto_err(detail: String) -> Error {
    Error::BundleFormat {
        detail: format!("cannot encrypt the secrets: {detail}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_the_passphrase() {
        let mut pw = BTreeMap::new();
        pw.insert("shop".to_owned(), Secret::new("Sup3r-secret".to_owned()));
        let sealed = seal(&pw, &Secret::new("correct horse".to_owned())).unwrap();
        assert!(sealed.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"));
        assert!(!sealed.contains("Sup3r-secret"));
        let opened = open(&sealed, &Secret::new("correct horse".to_owned())).unwrap();
        assert_eq!(opened["shop"].expose(), "Sup3r-secret");
        let e = open(&sealed, &Secret::new("wrong horse".to_owned())).unwrap_err();
        assert_eq!(e.code(), crate::ErrorCode::BundlePassphrase);
        assert!(seal(&pw, &Secret::new("short".to_owned())).is_err());
    }
}
