//! The guard's words: the answer to a hold and who gave it.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The answer to a hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Decision {
    Proceed,
    Cancel,
}

impl Decision {
    /// The stable name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Proceed => "proceed",
            Self::Cancel => "cancel",
        }
    }
}

/// Who decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum DecidedBy {
    /// The operator, in the app's prompt.
    App,
    /// The `guard.policy` setting (no app to ask).
    Policy,
    /// No answer before `guard.prompt_timeout_secs`: cancelled.
    Timeout,
    /// The browser went while the prompt waited: the request died with it.
    SessionEnded,
}

impl DecidedBy {
    /// The stable name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::App => "app",
            Self::Policy => "policy",
            Self::Timeout => "timeout",
            Self::SessionEnded => "session_ended",
        }
    }
}
