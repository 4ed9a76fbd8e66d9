//! Where a request failed, as the session layer names it (tcp connect, proxy, TLS, first
//! byte, mid-stream, HTTP, auth).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The stage at which a request failed.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    TS,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum FailureStage {
    /// No TCP connection (to the exit, or by the exit to the site).
    TcpConnect,
    /// The proxy refused or botched the tunnel.
    Proxy,
    /// The TLS handshake with the site failed.
    Tls,
    /// The request went out and no answer came (closed, reset or timed out before a byte).
    FirstByte,
    /// The answer started and the connection broke.
    MidStream,
    /// The site answered with a server error or rate limit (5xx, 429).
    Http,
    /// The session was refused: 401/403, a redirect to a login page, a verification page.
    Auth,
}

impl FailureStage {
    /// Every stage, in display order.
    pub const ALL: [FailureStage; 7] = [
        Self::TcpConnect,
        Self::Proxy,
        Self::Tls,
        Self::FirstByte,
        Self::MidStream,
        Self::Http,
        Self::Auth,
    ];

    /// The stable name, as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TcpConnect => "tcp_connect",
            Self::Proxy => "proxy",
            Self::Tls => "tls",
            Self::FirstByte => "first_byte",
            Self::MidStream => "mid_stream",
            Self::Http => "http",
            Self::Auth => "auth",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// The session-layer stage of a relay (connection-layer) failure stage.
    pub fn from_relay(stage: &str) -> Option<Self> {
        Some(match stage {
            "tcp_connect" => Self::TcpConnect,
            "proxy_auth" | "proxy_handshake" => Self::Proxy,
            "first_byte" => Self::FirstByte,
            "mid_stream" | "idle_reclaim" => Self::MidStream,
            _ => return None,
        })
    }
}
