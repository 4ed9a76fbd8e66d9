//! What a clock check concluded.

use serde::Serialize;
use ts_rs::TS;

/// What the clock check found.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, TS, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum ClockVerdict {
    /// Within `clock.warn_ms`.
    Ok,
    /// Above `clock.warn_ms`: launch goes on with a warning.
    Warn,
    /// Above `clock.block_ms`: launch is refused unless forced.
    Block,
    /// No server answered: the clock could not be checked (a warning, not a block).
    Unknown,
}
