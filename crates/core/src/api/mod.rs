//! What the local automation API needs from the home: its bearer token (kept in the OS keyring)
//! and `api.json`, the owner-only file that tells local scripts where the API listens and with
//! which token. The HTTP server itself is a face (`holdfast-api`); it knows nothing of this.

pub mod service;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The file in the home naming the running API.
pub const ENDPOINT_FILE: &str = "api.json";
/// The keyring account of the token.
pub(crate) const TOKEN_ACCOUNT: &str = "api-token";

/// Where the local API listens and how to call it (`api.json`, mode 0600).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, schemars::JsonSchema)]
#[ts(export)]
pub struct ApiEndpoint {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The bearer token every request carries.
    pub token: String,
    /// The process serving it.
    #[ts(type = "number")]
    #[schemars(with = "i64")]
    pub pid: u32,
}

impl ApiEndpoint {
    /// The endpoint file at `path`, if there is a readable one.
    pub fn read(path: &std::path::Path) -> Option<Self> {
        serde_json::from_slice(&std::fs::read(path).ok()?).ok()
    }
}

/// A fresh token: 32 random bytes, base64url, with a prefix that makes it recognisable in a
/// leaked log or paste.
pub(crate) fn new_token() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!(
        "hf_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// Whether `given` is `token`, in time that does not depend on where they differ.
pub fn token_matches(token: &str, given: &str) -> bool {
    let (a, b) = (token.as_bytes(), given.as_bytes());
    // The length is not secret (every token has the same); the contents are.
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_compared_whole() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b, "two tokens differ");
        assert_eq!(a.len(), 3 + 43, "hf_ and 32 bytes in base64url");
        assert!(token_matches(&a, &a));
        assert!(!token_matches(&a, &b));
        assert!(
            !token_matches(&a, &a[..a.len() - 1]),
            "a prefix is not the token"
        );
        assert!(!token_matches(&a, ""));
    }
}
