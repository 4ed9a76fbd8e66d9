//! A password in memory: the one type that carries an exit password between the keyring, the
//! forms and the proxy handshake. Its Debug never shows it.

use std::fmt;

/// A password. Its Debug output is redacted so that it cannot reach a log by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a password.
    pub fn new(value: String) -> Self {
        Self(value)
    }

    /// The password in clear, for the keyring and the proxy handshake only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}
