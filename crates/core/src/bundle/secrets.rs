//! Exit passwords in a bundle: a JSON map name → {exit, password}, encrypted with a passphrase
//! (age, scrypt recipient) and ASCII-armored. Passwords are never in a bundle in any other form.
//! Each password is sealed together with the exit URL it belongs to, so whoever edits the
//! (plain) template part of a file cannot send a password to another host: the import uses a
//! password only for the exit it was sealed with.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use age::secrecy::SecretString;

use crate::error::{Error, Result};
use crate::secret::Secret;

/// Shortest passphrase accepted for export.
pub const MIN_PASSPHRASE: usize = 8;
/// scrypt work factor (log2 N) of an export: ~1 s and 256 MiB here; the same on every machine,
/// so a teammate's import never meets a factor it refuses.
pub const WORK_FACTOR: u8 = 18;
/// Highest work factor an import accepts: a hostile file could otherwise ask for minutes of
/// CPU and gigabytes of memory before the passphrase is even checked.
pub const MAX_WORK_FACTOR: u8 = 20;

/// A password as sealed in a bundle, with the exit it belongs to.
#[derive(Debug, Clone)]
pub struct Sealed {
    /// The exit URL (without password) it was exported for; `None` in bundles of a Holdfast
    /// that did not bind them yet.
    pub exit: Option<String>,
    pub password: Secret,
}

/// What is inside the encryption: current (bound) or legacy (bare password) entries.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
enum Entry {
    Bound { exit: String, password: String },
    Legacy(String),
}

/// Encrypts `passwords` (template name → (exit URL, password)) with `passphrase`.
pub fn seal(passwords: &BTreeMap<String, (String, Secret)>, passphrase: &Secret) -> Result<String> {
    if passphrase.expose().chars().count() < MIN_PASSPHRASE {
        return Err(Error::BundlePassphrase {
            detail: format!("a bundle passphrase needs at least {MIN_PASSPHRASE} characters"),
        });
    }
    let plain: BTreeMap<&str, Entry> = passwords
        .iter()
        .map(|(k, (exit, pw))| {
            (
                k.as_str(),
                Entry::Bound {
                    exit: exit.clone(),
                    password: pw.expose().to_owned(),
                },
            )
        })
        .collect();
    let json = serde_json::to_vec(&plain).map_err(|e| crypto_err(e.to_string()))?;
    let mut recipient =
        age::scrypt::Recipient::new(SecretString::from(passphrase.expose().to_owned()));
    recipient.set_work_factor(WORK_FACTOR);
    let encryptor = age::Encryptor::with_recipients(std::iter::once(&recipient as _))
        .map_err(|e| crypto_err(e.to_string()))?;
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

/// Decrypts the secrets of a bundle. A wrong passphrase is `bundle_passphrase`; a work factor
/// above [`MAX_WORK_FACTOR`] is refused before any work.
pub fn open(armored: &str, passphrase: &Secret) -> Result<BTreeMap<String, Sealed>> {
    let reader = age::armor::ArmoredReader::new(armored.as_bytes());
    let decryptor = age::Decryptor::new(reader).map_err(|e| Error::BundleFormat {
        detail: format!("the secrets section is not an age file: {e}"),
    })?;
    if !decryptor.is_scrypt() {
        return Err(Error::BundleFormat {
            detail: "the secrets section is not encrypted with a passphrase".to_owned(),
        });
    }
    let mut identity =
        age::scrypt::Identity::new(SecretString::from(passphrase.expose().to_owned()));
    identity.set_max_work_factor(MAX_WORK_FACTOR);
    let mut reader = decryptor
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::DecryptionFailed | age::DecryptError::NoMatchingKeys => {
                Error::BundlePassphrase {
                    detail: "wrong passphrase: the bundle's secrets cannot be decrypted".to_owned(),
                }
            }
            age::DecryptError::ExcessiveWork { required, .. } => Error::BundleFormat {
                detail: format!(
                    "the secrets ask for scrypt work factor {required}, above the {MAX_WORK_FACTOR} \
                     an import accepts (a file made to exhaust CPU and memory)"
                ),
            },
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
    let map: BTreeMap<String, Entry> =
        serde_json::from_slice(&json).map_err(|e| Error::BundleFormat {
            detail: format!("the decrypted secrets are not a name → password map: {e}"),
        })?;
    Ok(map
        .into_iter()
        .map(|(k, v)| {
            let sealed = match v {
                Entry::Bound { exit, password } => Sealed {
                    exit: Some(exit),
                    password: Secret::new(password),
                },
                Entry::Legacy(password) => Sealed {
                    exit: None,
                    password: Secret::new(password),
                },
            };
            (k, sealed)
        })
        .collect())
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
        pw.insert(
            "shop".to_owned(),
            (
                "http://u@proxy.example:3128".to_owned(),
                Secret::new("Sup3r-secret".to_owned()),
            ),
        );
        let sealed = seal(&pw, &Secret::new("correct horse".to_owned())).unwrap();
        assert!(sealed.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"));
        assert!(!sealed.contains("Sup3r-secret"));
        let opened = open(&sealed, &Secret::new("correct horse".to_owned())).unwrap();
        assert_eq!(opened["shop"].password.expose(), "Sup3r-secret");
        assert_eq!(
            opened["shop"].exit.as_deref(),
            Some("http://u@proxy.example:3128"),
            "the password comes back with the exit it was sealed for"
        );
        let e = open(&sealed, &Secret::new("wrong horse".to_owned())).unwrap_err();
        assert_eq!(e.code(), crate::ErrorCode::BundlePassphrase);
        assert!(seal(&pw, &Secret::new("short".to_owned())).is_err());
    }

    /// Armors `plain` encrypted with `passphrase` at work factor `log_n`.
    fn sealed_at(plain: &[u8], passphrase: &str, log_n: u8) -> String {
        let mut r = age::scrypt::Recipient::new(SecretString::from(passphrase.to_owned()));
        r.set_work_factor(log_n);
        let enc = age::Encryptor::with_recipients(std::iter::once(&r as _)).unwrap();
        let mut out = Vec::new();
        let armor =
            age::armor::ArmoredWriter::wrap_output(&mut out, age::armor::Format::AsciiArmor)
                .unwrap();
        let mut w = enc.wrap_output(armor).unwrap();
        w.write_all(plain).unwrap();
        w.finish().and_then(|a| a.finish()).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_work_factor_above_the_cap_is_refused_before_any_work() {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        // A real file at factor 10, its stanza then edited to ask for 2^30 (a 128 GiB scrypt):
        // the cap must refuse it on sight (the header MAC is checked only after scrypt).
        let armored = sealed_at(b"{}", "correct horse", 10);
        let body: String = armored
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        let mut bin = b64.decode(body).unwrap();
        let text = String::from_utf8_lossy(&bin).into_owned();
        let stanza = text.lines().find(|l| l.starts_with("-> scrypt ")).unwrap();
        let edited = format!("{} 30", stanza.strip_suffix(" 10").unwrap());
        let at = bin
            .windows(stanza.len())
            .position(|w| w == stanza.as_bytes())
            .unwrap();
        bin.splice(at..at + stanza.len(), edited.bytes());
        let encoded = b64.encode(&bin);
        let mut hostile = String::from("-----BEGIN AGE ENCRYPTED FILE-----\n");
        for chunk in encoded.as_bytes().chunks(64) {
            hostile.push_str(std::str::from_utf8(chunk).unwrap());
            hostile.push('\n');
        }
        hostile.push_str("-----END AGE ENCRYPTED FILE-----\n");
        let started = std::time::Instant::now();
        let e = open(&hostile, &Secret::new("correct horse".to_owned())).unwrap_err();
        assert!(
            e.to_string().contains("work factor 30"),
            "the refusal names the factor: {e}"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn legacy_bare_passwords_open_unbound() {
        let armored = sealed_at(br#"{"shop":"pw"}"#, "correct horse", 10);
        let opened = open(&armored, &Secret::new("correct horse".to_owned())).unwrap();
        assert!(opened["shop"].exit.is_none());
        assert_eq!(opened["shop"].password.expose(), "pw");
    }
}
