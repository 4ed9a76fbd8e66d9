//! Where in a connection's life a failure happened: the connection layer's vocabulary.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The stage at which a relayed connection failed.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Stage {
    /// TCP connect to the exit (or the target, for `direct`), including DNS for `direct`.
    TcpConnect,
    /// The exit refused the credentials (HTTP 401/407, SOCKS5 auth failure).
    ProxyAuth,
    /// The proxy handshake failed: CONNECT answered with an error status, SOCKS5 reply error,
    /// garbage, or no answer in time.
    ProxyHandshake,
    /// No first byte back from the target in time, or the tunnel closed before any.
    FirstByte,
    /// The connection was reset, or closed by the exit side, in the middle of a stream.
    MidStream,
    /// The relay closed a tunnel that had been idle for the idle timeout.
    IdleReclaim,
}

impl Stage {
    /// Every stage, in a fixed order (the order of the metric columns).
    pub const ALL: [Stage; 6] = [
        Stage::TcpConnect,
        Stage::ProxyAuth,
        Stage::ProxyHandshake,
        Stage::FirstByte,
        Stage::MidStream,
        Stage::IdleReclaim,
    ];

    /// The stable name, as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TcpConnect => "tcp_connect",
            Self::ProxyAuth => "proxy_auth",
            Self::ProxyHandshake => "proxy_handshake",
            Self::FirstByte => "first_byte",
            Self::MidStream => "mid_stream",
            Self::IdleReclaim => "idle_reclaim",
        }
    }

    /// Position in [`Stage::ALL`].
    pub fn index(self) -> usize {
        match self {
            Self::TcpConnect => 0,
            Self::ProxyAuth => 1,
            Self::ProxyHandshake => 2,
            Self::FirstByte => 3,
            Self::MidStream => 4,
            Self::IdleReclaim => 5,
        }
    }

    /// Whether this failure says something about the exit itself (and so feeds its back-off),
    /// rather than about one target.
    pub fn blames_exit(self) -> bool {
        matches!(self, Self::TcpConnect | Self::ProxyAuth)
    }
}

/// A failed attempt to open a tunnel through the exit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} failed: {reason}", stage.as_str())]
pub struct DialError {
    pub stage: Stage,
    /// What happened, for people; never holds a password.
    pub reason: String,
}

impl DialError {
    /// A failure at `stage`.
    pub fn new(stage: Stage, reason: impl Into<String>) -> Self {
        Self {
            stage,
            reason: reason.into(),
        }
    }
}
