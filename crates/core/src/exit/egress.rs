//! The egress IP: what the outside world sees, fetched through the relay (so through the exit)
//! from IP-echo services.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::error::{Error, Result};

pub use crate::settings::DEFAULT_ECHO_URLS;

/// Largest echo or IP-info answer read.
const MAX_ANSWER: usize = 64 * 1024;

/// One successful probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// The egress IP, canonical form.
    pub ip: String,
    /// The echo URL that answered.
    pub via: String,
}

/// Fetches the egress IP through the relay at `relay`, trying each echo URL in turn.
pub async fn probe(relay: SocketAddr, echo_urls: &[String], per_url: Duration) -> Result<Probe> {
    let client = through(relay, per_url).map_err(probe_err)?;
    let mut failures = Vec::new();
    for url in echo_urls {
        match fetch(&client, url).await {
            Ok(ip) => {
                return Ok(Probe {
                    ip,
                    via: url.clone(),
                })
            }
            Err(why) => failures.push(format!("{url}: {why}")),
        }
    }
    Err(Error::EgressProbe {
        detail: if failures.is_empty() {
            "no echo URLs configured (setting egress.echo_urls)".to_owned()
        } else {
            failures.join("; ")
        },
    })
}

/// An HTTP client whose every request goes through the relay at `relay` (so through the exit),
/// each allowed `per_url`.
pub(crate) fn through(relay: SocketAddr, per_url: Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .proxy(reqwest::Proxy::all(format!("http://{relay}"))?)
        .timeout(per_url)
        .user_agent(concat!("holdfast/", env!("CARGO_PKG_VERSION")))
        .build()
}

async fn fetch(client: &reqwest::Client, url: &str) -> std::result::Result<String, String> {
    let body = fetch_small(client, url).await?;
    parse_ip(&body).ok_or_else(|| format!("no IP address in the answer {:?}", first_line(&body)))
}

/// GETs `url` and returns its body: an error names the HTTP failure or the status. Answers are
/// a few bytes; a large page is refused rather than read into memory.
pub(crate) async fn fetch_small(
    client: &reqwest::Client,
    url: &str,
) -> std::result::Result<String, String> {
    let mut response = client.get(url).send().await.map_err(|e| {
        // reqwest hides the proxy's answer behind "unsuccessful tunnel"; the relay's reason
        // comes from its last failure instead (see `Holdfast::check`).
        let mut s = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(inner) = source {
            s.push_str(": ");
            s.push_str(&inner.to_string());
            source = inner.source();
        }
        s
    })?;
    let status = response.status();
    // Echo and IP-info answers are a few hundred bytes; refuse to read a large page into memory,
    // whether it says its length or streams without one.
    if response
        .content_length()
        .is_some_and(|n| n > MAX_ANSWER as u64)
    {
        return Err("answer too large".into());
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
        if bytes.len() + chunk.len() > MAX_ANSWER {
            return Err("answer too large".into());
        }
        bytes.extend_from_slice(&chunk);
    }
    let body = String::from_utf8_lossy(&bytes).into_owned();
    if !status.is_success() {
        return Err(format!("answered {status}: {}", first_line(&body)));
    }
    Ok(body)
}

/// Reads an IP from a plain-text answer or from a JSON object's `ip` field; canonical form.
pub fn parse_ip(body: &str) -> Option<String> {
    let body = body.trim();
    if let Ok(ip) = body.parse::<IpAddr>() {
        return Some(ip.to_string());
    }
    let json: serde_json::Value = serde_json::from_str(body).ok()?;
    let ip: IpAddr = json.get("ip")?.as_str()?.trim().parse().ok()?;
    Some(ip.to_string())
}

pub(crate) fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").chars().take(120).collect()
}

fn probe_err(e: reqwest::Error) -> Error {
    Error::EgressProbe {
        detail: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_ip;

    #[test]
    fn plain_text_and_json_ip_answers_are_understood() {
        assert_eq!(parse_ip("203.0.113.7\n").as_deref(), Some("203.0.113.7"));
        assert_eq!(
            parse_ip(r#"{"ip": "2001:db8::0001", "country": "DE"}"#).as_deref(),
            Some("2001:db8::1"),
            "JSON ip field, canonical IPv6"
        );
        assert_eq!(parse_ip("<html>blocked</html>"), None);
        assert_eq!(parse_ip(r#"{"origin": "1.2.3.4"}"#), None);
        assert_eq!(parse_ip(r#"{"ip": 42}"#), None);
    }
}
