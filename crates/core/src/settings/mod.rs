//! Settings: a few named knobs stored in SQLite (`holdfast setting set KEY VALUE`), each with a
//! default and validation; some have an environment override for scripts and tests.

pub mod service;

use std::time::Duration;

use serde::Serialize;
use ts_rs::TS;

use crate::error::{Error, Result};

/// Environment variable that overrides `egress.echo_urls` (comma-separated).
pub const ECHO_URLS_ENV: &str = "HOLDFAST_ECHO_URLS";

/// Environment variable that overrides `egress.geo_urls` (comma-separated, or `off`).
pub const GEO_URLS_ENV: &str = "HOLDFAST_GEO_URLS";

/// Environment variable that overrides `clock.servers` (comma-separated `host:port`).
pub const NTP_SERVERS_ENV: &str = "HOLDFAST_NTP_SERVERS";
/// Environment variable that overrides `browser.path`.
pub const CHROMIUM_ENV: &str = "HOLDFAST_CHROMIUM";
/// SNTP servers asked when none are set.
pub const DEFAULT_NTP_SERVERS: &str = "0.pool.ntp.org:123,1.pool.ntp.org:123,2.pool.ntp.org:123";

/// What a setting holds.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// Comma-separated http(s) URLs.
    Urls,
    /// Comma-separated http(s) URLs, or `off`.
    UrlsOrOff,
    /// Comma-separated `host:port`.
    HostPorts,
    /// An absolute file path, or empty.
    Path,
    /// A whole number in `min..=max`.
    Number { min: u64, max: u64 },
    /// One of a few words.
    OneOf(&'static [&'static str]),
}

/// A known setting.
struct Spec {
    key: &'static str,
    kind: Kind,
    default: &'static str,
    about: &'static str,
}

const SPECS: &[Spec] = &[
    Spec {
        key: "egress.echo_urls",
        kind: Kind::Urls,
        default: "",
        about: "IP-echo URLs tried in order (plain-text IP or JSON `ip`); env HOLDFAST_ECHO_URLS overrides",
    },
    Spec {
        key: "egress.geo_urls",
        kind: Kind::UrlsOrOff,
        default: "",
        about: "IP-info URLs (JSON with country/country_code and timezone/time_zone) fetched through the exit to learn where it is; `off` asks none; env HOLDFAST_GEO_URLS overrides",
    },
    Spec {
        key: "egress.probe_interval_secs",
        kind: Kind::Number { min: 1, max: 86_400 },
        default: "300",
        about: "how often a running session re-checks its egress IP",
    },
    Spec {
        key: "egress.probe_timeout_secs",
        kind: Kind::Number { min: 1, max: 120 },
        default: "10",
        about: "time allowed per echo URL",
    },
    Spec {
        key: "relay.connect_timeout_ms",
        kind: Kind::Number { min: 100, max: 120_000 },
        default: "10000",
        about: "TCP connect to the exit",
    },
    Spec {
        key: "relay.handshake_timeout_ms",
        kind: Kind::Number { min: 100, max: 120_000 },
        default: "10000",
        about: "proxy handshake (CONNECT / SOCKS5) after connect",
    },
    Spec {
        key: "relay.first_byte_timeout_ms",
        kind: Kind::Number { min: 100, max: 600_000 },
        default: "30000",
        about: "first byte back after the browser's first byte on a tunnel",
    },
    Spec {
        key: "relay.idle_timeout_secs",
        kind: Kind::Number { min: 1, max: 86_400 },
        default: "50",
        about: "close a tunnel idle this long (keep below the exit's and NATs' idle timeouts)",
    },
    Spec {
        key: "relay.max_concurrent_dials",
        kind: Kind::Number { min: 1, max: 4096 },
        default: "64",
        about: "dials to one exit in flight at once",
    },
    Spec {
        key: "metrics.flush_secs",
        kind: Kind::Number { min: 1, max: 3600 },
        default: "10",
        about: "how often a running session writes its metrics",
    },
    Spec {
        key: "clock.servers",
        kind: Kind::HostPorts,
        default: DEFAULT_NTP_SERVERS,
        about: "SNTP servers (host:port) for the clock check; env HOLDFAST_NTP_SERVERS overrides",
    },
    Spec {
        key: "clock.warn_ms",
        kind: Kind::Number { min: 1, max: 3_600_000 },
        default: "1000",
        about: "clock offset above which a launch warns",
    },
    Spec {
        key: "clock.block_ms",
        kind: Kind::Number { min: 1, max: 3_600_000 },
        default: "5000",
        about: "clock offset above which a launch is refused (unless --force)",
    },
    Spec {
        key: "clock.timeout_ms",
        kind: Kind::Number { min: 50, max: 30_000 },
        default: "2000",
        about: "time allowed per SNTP server",
    },
    Spec {
        key: "team.lease_secs",
        kind: Kind::Number { min: 4, max: 3_600 },
        default: "20",
        about: "team mode: how long a session's lease lasts unrenewed (by the database's clock)",
    },
    Spec {
        key: "team.heartbeat_secs",
        kind: Kind::Number { min: 1, max: 600 },
        default: "5",
        about: "team mode: how often a running session renews its lease",
    },
    Spec {
        key: "clock.check_interval_secs",
        kind: Kind::Number { min: 1, max: 86_400 },
        default: "600",
        about: "how often a running session re-checks the clock",
    },
    Spec {
        key: "api.enabled",
        kind: Kind::OneOf(&["on", "off"]),
        default: "off",
        about: "the desktop app serves the local automation API (holdfast serve does regardless)",
    },
    Spec {
        key: "api.port",
        kind: Kind::Number { min: 0, max: 65_535 },
        default: "0",
        about: "the local API's port on 127.0.0.1 (0: any free port; HOLDFAST_HOME/api.json names it)",
    },
    Spec {
        key: "api.allowed_origins",
        kind: Kind::Urls,
        default: "",
        about: "web origins (scheme://host[:port]) whose pages may call the local API; none by default",
    },
    Spec {
        key: "browser.path",
        kind: Kind::Path,
        default: "",
        about: "Chromium binary; empty: env HOLDFAST_CHROMIUM, else chromium / chromium-browser / google-chrome on PATH",
    },
    Spec {
        key: "health.max_rows",
        kind: Kind::Number { min: 1_000, max: 100_000_000 },
        default: "1000000",
        about: "request records kept for the health view; the oldest beyond this are deleted",
    },
    Spec {
        key: "health.max_mb",
        kind: Kind::Number { min: 1, max: 1_000_000 },
        default: "512",
        about: "space the request records and session events may take (MB, estimated from their text); the oldest beyond are deleted",
    },
    Spec {
        key: "metrics.retention_days",
        kind: Kind::Number { min: 1, max: 3650 },
        default: "30",
        about: "metrics and events older than this are deleted",
    },
    Spec {
        key: "guard.policy",
        kind: Kind::OneOf(&["block", "allow"]),
        default: "block",
        about: "a held request when no app can ask (holdfast launch alone): block it, or allow it and log",
    },
    Spec {
        key: "guard.prompt_timeout_secs",
        kind: Kind::Number { min: 5, max: 3_600 },
        default: "60",
        about: "how long the app's prompt waits for Proceed or Cancel; no answer means Cancel",
    },
    Spec {
        key: "risk.egress_calm_mins",
        kind: Kind::Number { min: 1, max: 1_440 },
        default: "15",
        about: "an egress change keeps the risk window open this long",
    },
    Spec {
        key: "risk.refresh_calm_mins",
        kind: Kind::Number { min: 1, max: 1_440 },
        default: "10",
        about: "after a failed token refresh, refreshes must succeed this long to close the window",
    },
    Spec {
        key: "risk.spike_failures",
        kind: Kind::Number { min: 1, max: 10_000 },
        default: "5",
        about: "connection-layer request failures within risk.spike_window_secs that open the window",
    },
    Spec {
        key: "risk.spike_window_secs",
        kind: Kind::Number { min: 1, max: 3_600 },
        default: "60",
        about: "the span in which risk.spike_failures failures make a failure spike",
    },
    Spec {
        key: "risk.spike_calm_mins",
        kind: Kind::Number { min: 1, max: 1_440 },
        default: "5",
        about: "a failure spike keeps the window open this long after its last failure",
    },
];

/// One setting as shown by `holdfast setting list`.
#[derive(Debug, Clone, Serialize, TS, schemars::JsonSchema)]
#[ts(export)]
pub struct SettingView {
    pub key: String,
    pub value: String,
    pub default: String,
    /// Whether the value was set (stored), rather than the default.
    pub is_set: bool,
    pub about: String,
}

/// Public IP-echo services used when no setting or environment override names others.
pub const DEFAULT_ECHO_URLS: [&str; 3] = [
    "https://api.ipify.org",
    "https://icanhazip.com",
    "https://ifconfig.me/ip",
];

/// Public IP-info services (JSON) used when no setting or environment override names others:
/// ipinfo.io (`country`, `timezone`), ipapi.co (`country_code`, `timezone`), ipwho.is
/// (`country_code`, `timezone.id`).
pub const DEFAULT_GEO_URLS: [&str; 3] = [
    "https://ipinfo.io/json",
    "https://ipapi.co/json/",
    "https://ipwho.is/",
];

/// The settings in effect (stored values over defaults, environment over both).
#[derive(Debug, Clone)]
pub struct Settings {
    stored: Vec<(String, String)>,
}

impl Settings {
    /// How long a prompt waits for the operator.
    pub fn prompt_timeout(&self) -> Duration {
        Duration::from_secs(self.number("guard.prompt_timeout_secs"))
    }

    /// Bytes the stored request records (and, as much again, the session events) may take.
    pub fn health_max_bytes(&self) -> u64 {
        self.number("health.max_mb").saturating_mul(1024 * 1024)
    }

    /// Request records kept at most (the health view's size bound).
    pub fn health_max_rows(&self) -> u64 {
        self.number("health.max_rows")
    }

    /// Settings from stored `(key, value)` pairs. Unknown or invalid stored values are ignored
    /// (with a warning) in favour of the default: a bad row must not stop every session.
    pub fn from_stored(stored: Vec<(String, String)>) -> Self {
        let stored = stored
            .into_iter()
            .filter(|(k, v)| match validate(k, v) {
                Ok(_) => true,
                Err(e) => {
                    tracing::warn!("ignoring stored setting: {e}");
                    false
                }
            })
            .collect();
        Self { stored }
    }

    pub(crate) fn raw(&self, key: &str) -> &str {
        self.stored
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .or_else(|| SPECS.iter().find(|s| s.key == key).map(|s| s.default))
            .unwrap_or("")
    }

    pub(crate) fn number(&self, key: &str) -> u64 {
        let fallback = SPECS
            .iter()
            .find(|s| s.key == key)
            .and_then(|s| s.default.parse().ok())
            .unwrap_or(0);
        self.raw(key).trim().parse().unwrap_or(fallback)
    }

    /// IP-echo URLs: `HOLDFAST_ECHO_URLS`, else the setting, else public defaults.
    pub fn echo_urls(&self) -> Vec<String> {
        if let Ok(env) = std::env::var(ECHO_URLS_ENV) {
            let urls = split_urls(&env);
            if !urls.is_empty() {
                return urls;
            }
        }
        let urls = split_urls(self.raw("egress.echo_urls"));
        if urls.is_empty() {
            DEFAULT_ECHO_URLS.iter().map(|s| (*s).to_owned()).collect()
        } else {
            urls
        }
    }

    /// IP-info URLs for the exit's location: `HOLDFAST_GEO_URLS`, else the setting, else public
    /// defaults; an empty list when either says `off`.
    pub fn geo_urls(&self) -> Vec<String> {
        let chosen = match std::env::var(GEO_URLS_ENV) {
            Ok(env) if !env.trim().is_empty() => env,
            _ => self.raw("egress.geo_urls").to_owned(),
        };
        if chosen.trim().eq_ignore_ascii_case("off") {
            return Vec::new();
        }
        let urls = split_urls(&chosen);
        if urls.is_empty() {
            DEFAULT_GEO_URLS.iter().map(|s| (*s).to_owned()).collect()
        } else {
            urls
        }
    }

    /// SNTP servers: `HOLDFAST_NTP_SERVERS`, else the setting (default: a public pool).
    pub fn ntp_servers(&self) -> Vec<String> {
        if let Ok(env) = std::env::var(NTP_SERVERS_ENV) {
            let list = split_urls(&env);
            if !list.is_empty() {
                return list;
            }
        }
        split_urls(self.raw("clock.servers"))
    }

    /// Team mode: how long a session's lease lasts unrenewed.
    pub fn team_lease(&self) -> Duration {
        Duration::from_secs(self.number("team.lease_secs"))
    }

    /// Team mode: how often a running session renews its lease.
    pub fn team_heartbeat(&self) -> Duration {
        Duration::from_secs(self.number("team.heartbeat_secs"))
    }

    /// Whether the desktop app serves the local API.
    pub fn api_enabled(&self) -> bool {
        self.raw("api.enabled") == "on"
    }

    /// The local API's port (0: any free one).
    pub fn api_port(&self) -> u16 {
        u16::try_from(self.number("api.port")).unwrap_or(0)
    }

    /// Web origins allowed to call the local API (without a trailing slash).
    pub fn api_allowed_origins(&self) -> Vec<String> {
        split_urls(self.raw("api.allowed_origins"))
            .into_iter()
            .map(|o| o.trim_end_matches('/').to_owned())
            .collect()
    }

    /// How often a running session re-checks the clock.
    pub fn clock_interval(&self) -> Duration {
        Duration::from_secs(self.number("clock.check_interval_secs"))
    }

    /// The configured browser: `HOLDFAST_CHROMIUM`, else the setting; `None` means search PATH.
    pub fn browser_path(&self) -> Option<std::path::PathBuf> {
        match std::env::var_os(CHROMIUM_ENV) {
            Some(v) if !v.is_empty() => Some(v.into()),
            _ => Some(self.raw("browser.path").trim())
                .filter(|p| !p.is_empty())
                .map(Into::into),
        }
    }

    /// How often a running session re-probes its egress.
    pub fn probe_interval(&self) -> Duration {
        Duration::from_secs(self.number("egress.probe_interval_secs"))
    }

    /// Time allowed per echo URL.
    pub fn probe_timeout(&self) -> Duration {
        Duration::from_secs(self.number("egress.probe_timeout_secs"))
    }

    /// How often metrics are flushed.
    pub fn metrics_flush(&self) -> Duration {
        Duration::from_secs(self.number("metrics.flush_secs"))
    }

    /// How long metrics and events are kept.
    pub fn retention(&self) -> chrono::Duration {
        chrono::Duration::days(i64::try_from(self.number("metrics.retention_days")).unwrap_or(30))
    }

    /// Every known setting with its value in effect.
    pub fn view(&self) -> Vec<SettingView> {
        SPECS
            .iter()
            .map(|s| {
                let stored = self.stored.iter().find(|(k, _)| k == s.key);
                SettingView {
                    key: s.key.to_owned(),
                    value: stored.map_or(s.default, |(_, v)| v.as_str()).to_owned(),
                    default: s.default.to_owned(),
                    is_set: stored.is_some(),
                    about: s.about.to_owned(),
                }
            })
            .collect()
    }
}

/// Checks a value for a key; returns the normalised value to store.
pub fn validate(key: &str, value: &str) -> Result<String> {
    let invalid = |reason: String| Error::InvalidSetting {
        key: key.to_owned(),
        value: value.to_owned(),
        reason,
    };
    let Some(spec) = SPECS.iter().find(|s| s.key == key) else {
        let known: Vec<_> = SPECS.iter().map(|s| s.key).collect();
        return Err(invalid(format!(
            "unknown setting; known: {}",
            known.join(", ")
        )));
    };
    match spec.kind {
        Kind::Number { min, max } => {
            let n: u64 = value
                .trim()
                .parse()
                .map_err(|_| invalid(format!("expected a whole number from {min} to {max}")))?;
            if !(min..=max).contains(&n) {
                return Err(invalid(format!("must be from {min} to {max}")));
            }
            Ok(n.to_string())
        }
        Kind::UrlsOrOff if value.trim().eq_ignore_ascii_case("off") => Ok("off".to_owned()),
        Kind::Urls | Kind::UrlsOrOff => {
            let urls = split_urls(value);
            for u in &urls {
                let parsed =
                    url::Url::parse(u).map_err(|e| invalid(format!("{u:?} is not a URL: {e}")))?;
                if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
                    return Err(invalid(format!("{u:?} is not an http(s) URL")));
                }
            }
            Ok(urls.join(","))
        }
        Kind::HostPorts => {
            let list = split_urls(value);
            for hp in &list {
                let port = hp.rsplit_once(':').map(|(h, p)| (h, p.parse::<u16>()));
                match port {
                    Some((h, Ok(p))) if !h.is_empty() && p != 0 => {}
                    _ => return Err(invalid(format!("{hp:?} is not host:port"))),
                }
            }
            if list.is_empty() {
                return Err(invalid("give at least one host:port".to_owned()));
            }
            Ok(list.join(","))
        }
        Kind::OneOf(words) => {
            let v = value.trim().to_ascii_lowercase();
            if words.contains(&v.as_str()) {
                Ok(v)
            } else {
                Err(invalid(format!("expected one of: {}", words.join(", "))))
            }
        }
        Kind::Path => {
            let v = value.trim();
            if !v.is_empty() && !std::path::Path::new(v).is_absolute() {
                return Err(invalid(
                    "give an absolute path (or empty to search PATH)".to_owned(),
                ));
            }
            Ok(v.to_owned())
        }
    }
}

/// Whether `key` names a known setting.
pub fn is_known(key: &str) -> bool {
    SPECS.iter().any(|s| s.key == key)
}

fn split_urls(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_validated_and_normalised() {
        assert_eq!(validate("relay.idle_timeout_secs", " 45 ").unwrap(), "45");
        let e = validate("relay.idle_timeout_secs", "0").unwrap_err();
        assert_eq!(e.code(), crate::ErrorCode::InvalidSetting);
        assert!(e.to_string().contains("from 1 to"), "{e}");
        assert!(validate("relay.nope", "1")
            .unwrap_err()
            .to_string()
            .contains("known:"));
        assert_eq!(
            validate(
                "egress.echo_urls",
                "http://127.0.0.1:9/ip , https://e.example/"
            )
            .unwrap(),
            "http://127.0.0.1:9/ip,https://e.example/"
        );
        assert!(validate("egress.echo_urls", "ftp://x/").is_err());
        assert_eq!(validate("egress.geo_urls", " OFF ").unwrap(), "off");
        assert!(
            validate("egress.echo_urls", "off").is_err(),
            "only the location may be switched off"
        );
        assert!(validate("egress.geo_urls", "file:///etc/passwd").is_err());
    }

    #[test]
    fn geo_urls_default_to_public_services_and_can_be_switched_off() {
        // The environment override is read too; this test's process does not set it.
        if std::env::var_os(GEO_URLS_ENV).is_some() {
            return;
        }
        let none = Settings::from_stored(Vec::new());
        assert_eq!(none.geo_urls().len(), DEFAULT_GEO_URLS.len());
        let off = Settings::from_stored(vec![("egress.geo_urls".into(), "off".into())]);
        assert!(off.geo_urls().is_empty());
        let own = Settings::from_stored(vec![(
            "egress.geo_urls".into(),
            "http://127.0.0.1:9/geo".into(),
        )]);
        assert_eq!(own.geo_urls(), ["http://127.0.0.1:9/geo"]);
    }

    #[test]
    fn stored_values_override_defaults_and_bad_rows_are_ignored() {
        let s = Settings::from_stored(vec![
            ("relay.idle_timeout_secs".into(), "20".into()),
            ("relay.connect_timeout_ms".into(), "banana".into()),
        ]);
        let r = s.relay();
        assert_eq!(r.idle_timeout, Duration::from_secs(20));
        assert_eq!(
            r.connect_timeout,
            Duration::from_secs(10),
            "bad row → default"
        );
        assert_eq!(s.probe_interval(), Duration::from_secs(300));
    }
}
