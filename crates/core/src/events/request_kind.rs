//! What a request is by a template's rules: refresh, login, verification or other.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// What a request is, by the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum RequestKind {
    Refresh,
    Login,
    Verification,
    Other,
}

impl RequestKind {
    /// The stable name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Refresh => "refresh",
            Self::Login => "login",
            Self::Verification => "verification",
            Self::Other => "other",
        }
    }
}
