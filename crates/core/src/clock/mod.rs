//! Clock preflight: the local clock's offset from SNTP servers (RFC 4330), and the verdict.
//! `rsntp` does the protocol and its sanity checks (origin timestamp echoed, stratum 1–15,
//! leap indicator not 3, non-zero transmit time, kiss-o'-death); this adds the median over
//! several servers and the warn/block thresholds.

use std::net::SocketAddr;
use std::time::Duration;

use serde::Serialize;
use ts_rs::TS;

pub use crate::events::ClockVerdict;

/// One server's answer (or why it gave none).
#[derive(Debug, Clone, PartialEq, Serialize, TS, schemars::JsonSchema)]
#[ts(export)]
pub struct ServerSample {
    /// `host:port` as configured.
    pub server: String,
    /// Server clock minus local clock, in ms (positive: the local clock is behind).
    pub offset_ms: Option<f64>,
    pub round_trip_ms: Option<f64>,
    pub stratum: Option<u8>,
    pub error: Option<String>,
}

/// The clock part of `holdfast check` and of the launch preflight.
#[derive(Debug, Clone, PartialEq, Serialize, TS, schemars::JsonSchema)]
#[ts(export)]
pub struct ClockReport {
    /// Median offset of the servers that answered, rounded to ms.
    #[ts(type = "number | null")]
    #[schemars(with = "Option<i64>")]
    pub offset_ms: Option<i64>,
    pub servers: Vec<ServerSample>,
    /// The offset is known and within `clock.warn_ms`.
    pub ok: bool,
    pub verdict: ClockVerdict,
    #[ts(type = "number")]
    #[schemars(with = "i64")]
    pub warn_ms: u64,
    #[ts(type = "number")]
    #[schemars(with = "i64")]
    pub block_ms: u64,
}

/// Where to ask and what to accept.
#[derive(Debug, Clone)]
pub struct ClockConfig {
    pub servers: Vec<String>,
    pub timeout: Duration,
    pub warn_ms: u64,
    pub block_ms: u64,
}

/// Asks every server at once and judges the median offset.
pub async fn check(config: &ClockConfig) -> ClockReport {
    let asks = config
        .servers
        .iter()
        .map(|s| ask(s.clone(), config.timeout));
    let servers = futures_util::future::join_all(asks).await;
    judge(servers, config.warn_ms, config.block_ms)
}

/// The verdict over a set of samples.
pub fn judge(servers: Vec<ServerSample>, warn_ms: u64, block_ms: u64) -> ClockReport {
    let mut offsets: Vec<f64> = servers.iter().filter_map(|s| s.offset_ms).collect();
    offsets.sort_by(f64::total_cmp);
    let median = match offsets.len() {
        0 => None,
        n if n % 2 == 1 => Some(offsets[n / 2]),
        n => Some((offsets[n / 2 - 1] + offsets[n / 2]) / 2.0),
    };
    let verdict = match median {
        None => ClockVerdict::Unknown,
        Some(m) if m.abs() > block_ms as f64 => ClockVerdict::Block,
        Some(m) if m.abs() > warn_ms as f64 => ClockVerdict::Warn,
        Some(_) => ClockVerdict::Ok,
    };
    ClockReport {
        // Offsets are bounded by the NTP era, far inside i64 ms.
        offset_ms: median.map(|m| m.round() as i64),
        servers,
        ok: verdict == ClockVerdict::Ok,
        verdict,
        warn_ms,
        block_ms,
    }
}

async fn ask(server: String, timeout: Duration) -> ServerSample {
    let failed = |server: String, e: String| ServerSample {
        server,
        offset_ms: None,
        round_trip_ms: None,
        stratum: None,
        error: Some(e),
    };
    let resolved = tokio::net::lookup_host(server.as_str())
        .await
        .map(|mut addrs| addrs.next());
    let addr: SocketAddr = match resolved {
        Ok(Some(a)) => a,
        Ok(None) => return failed(server, "no address".to_owned()),
        Err(e) => return failed(server, format!("cannot resolve: {e}")),
    };
    // rsntp binds 0.0.0.0 by default; an IPv6 server needs an IPv6 socket.
    let bind: SocketAddr = if addr.is_ipv6() {
        SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, 0))
    } else {
        SocketAddr::from((std::net::Ipv4Addr::UNSPECIFIED, 0))
    };
    let client = rsntp::AsyncSntpClient::with_config(
        rsntp::Config::default().bind_address(bind).timeout(timeout),
    );
    match client.synchronize(addr).await {
        Ok(r) => ServerSample {
            server,
            offset_ms: Some(r.clock_offset().as_secs_f64() * 1000.0),
            round_trip_ms: Some(r.round_trip_delay().as_secs_f64() * 1000.0),
            stratum: Some(r.stratum()),
            error: None,
        },
        Err(e) => failed(server, e.to_string()),
    }
}

impl crate::settings::Settings {
    /// The clock check's servers and thresholds.
    pub fn clock(&self) -> ClockConfig {
        ClockConfig {
            servers: self.ntp_servers(),
            timeout: Duration::from_millis(self.number("clock.timeout_ms")),
            warn_ms: self.number("clock.warn_ms"),
            block_ms: self.number("clock.block_ms"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(offset: Option<f64>) -> ServerSample {
        ServerSample {
            server: "s:123".into(),
            offset_ms: offset,
            round_trip_ms: None,
            stratum: None,
            error: None,
        }
    }

    #[test]
    fn median_of_answers_decides_the_verdict() {
        let r = judge(
            vec![
                sample(Some(10.0)),
                sample(None),
                sample(Some(7000.0)),
                sample(Some(30.0)),
            ],
            1000,
            5000,
        );
        assert_eq!(
            r.offset_ms,
            Some(30),
            "one wild server must not move the median far"
        );
        assert_eq!(r.verdict, ClockVerdict::Ok);
        assert_eq!(
            judge(vec![sample(Some(-1500.0))], 1000, 5000).verdict,
            ClockVerdict::Warn
        );
        assert_eq!(
            judge(vec![sample(Some(30_000.0))], 1000, 5000).verdict,
            ClockVerdict::Block
        );
        let none = judge(vec![sample(None)], 1000, 5000);
        assert_eq!(none.verdict, ClockVerdict::Unknown);
        assert!(!none.ok, "an unchecked clock is not ok");
        assert_eq!(
            judge(vec![sample(Some(1.0)), sample(Some(3.0))], 1000, 5000).offset_ms,
            Some(2)
        );
    }
}
