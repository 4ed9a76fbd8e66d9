//! Timeouts and limits of the relay. Each network step has its own timeout.

use std::time::Duration;

/// How the relay treats connections to the exit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayConfig {
    /// TCP connect to the exit (or, for `direct`, to the target).
    pub connect_timeout: Duration,
    /// The proxy handshake after connect: CONNECT and its answer, or SOCKS5 greeting, auth and reply.
    pub handshake_timeout: Duration,
    /// From the first byte the browser sends on a tunnel to the first byte back.
    pub first_byte_timeout: Duration,
    /// A new connection must send its first complete request head within this time, or the
    /// relay closes it: an idle socket held open costs a file descriptor, and thousands of them
    /// would stop every session (a kept-alive connection between requests is not affected).
    /// Longer than the 10 s Chromium keeps an unused preconnected socket, so the relay never
    /// closes one the browser is about to use.
    pub head_timeout: Duration,
    /// A tunnel with no byte in either direction for this long is closed by the relay.
    /// Below the 60 s that many proxies, NATs and load balancers use, so that Holdfast closes the
    /// tunnel cleanly (the browser sees a FIN and reconnects) before a middlebox drops it silently
    /// (the browser would see a reset, or a hang, on its next request).
    pub idle_timeout: Duration,
    /// TCP keepalive idle time on both legs: keeps NAT entries alive and finds dead peers.
    pub keepalive: Duration,
    /// At most this many dials to the exit in flight at once; more wait their turn.
    pub max_concurrent_dials: usize,
    /// First back-off delay after a failed dial; doubles per consecutive failure.
    pub backoff_base: Duration,
    /// Largest back-off delay.
    pub backoff_cap: Duration,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            handshake_timeout: Duration::from_secs(10),
            first_byte_timeout: Duration::from_secs(30),
            head_timeout: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(50),
            keepalive: Duration::from_secs(30),
            max_concurrent_dials: 64,
            backoff_base: Duration::from_millis(100),
            backoff_cap: Duration::from_secs(10),
        }
    }
}

impl crate::settings::Settings {
    /// The relay's timeouts and limits.
    pub fn relay(&self) -> RelayConfig {
        let ms = |k| Duration::from_millis(self.number(k));
        RelayConfig {
            connect_timeout: ms("relay.connect_timeout_ms"),
            handshake_timeout: ms("relay.handshake_timeout_ms"),
            first_byte_timeout: ms("relay.first_byte_timeout_ms"),
            idle_timeout: Duration::from_secs(self.number("relay.idle_timeout_secs")),
            max_concurrent_dials: usize::try_from(self.number("relay.max_concurrent_dials"))
                .unwrap_or(64),
            ..RelayConfig::default()
        }
    }
}
