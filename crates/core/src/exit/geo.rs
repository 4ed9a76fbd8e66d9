//! Where the exit is: its country and timezone, from IP-info services fetched through the relay
//! (so through the exit, as a site would see it).
//!
//! Understood answers: a JSON object with the country as a two-letter code in `country_code`,
//! `countryCode`, `country` (ipinfo.io, ipapi.co, ip-api.com's `countryCode`) or
//! `country.iso_code`, and the timezone as an IANA name in `timezone` or `time_zone`, either a
//! string (ipinfo.io, ipapi.co, ip-api.com) or an object with `id` or `name` (ipwho.is,
//! ipgeolocation.io). A country given as a full name ("Germany") or an unknown timezone counts
//! as absent, never as a guess.

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

use super::egress::{fetch_small, first_line, through};

/// Where an IP-info service says the exit is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, schemars::JsonSchema)]
#[ts(export)]
pub struct ExitGeo {
    /// ISO 3166-1 alpha-2, upper case (`DE`), when the service gave one.
    pub country: Option<String>,
    /// IANA timezone (`Europe/Berlin`), canonical spelling, when the service gave one.
    pub timezone: Option<String>,
    /// The URL that answered.
    pub source: String,
}

/// Asks each URL in turn through the relay at `relay` until one gives a country or a timezone.
/// `Err` says why none did (every URL's reason), or that none is configured.
pub async fn locate(
    relay: SocketAddr,
    urls: &[String],
    per_url: Duration,
) -> Result<ExitGeo, String> {
    if urls.is_empty() {
        return Err("no IP-info URLs (setting egress.geo_urls is off)".to_owned());
    }
    let client = through(relay, per_url).map_err(|e| e.to_string())?;
    let mut failures = Vec::new();
    for url in urls {
        let answer = fetch_small(&client, url).await.and_then(|body| {
            parse(&body).ok_or_else(|| {
                format!(
                    "no country or timezone in the answer {:?}",
                    first_line(&body)
                )
            })
        });
        match answer {
            Ok((country, timezone)) => {
                return Ok(ExitGeo {
                    country,
                    timezone,
                    source: url.clone(),
                })
            }
            Err(why) => failures.push(format!("{url}: {why}")),
        }
    }
    Err(failures.join("; "))
}

/// `locate` when any IP-info URL is set (`None` when the lookup is off); an unknown location is
/// logged for `template`.
pub async fn lookup(
    relay: SocketAddr,
    urls: &[String],
    per_url: Duration,
    template: &str,
) -> Option<Result<ExitGeo, String>> {
    if urls.is_empty() {
        return None;
    }
    let located = locate(relay, urls, per_url).await;
    if let Err(why) = &located {
        tracing::warn!(%template, "the exit's location is unknown: {why}");
    }
    Some(located)
}

/// The country and timezone in an IP-info answer; `None` when it holds neither.
pub fn parse(body: &str) -> Option<(Option<String>, Option<String>)> {
    let json: Value = serde_json::from_str(body.trim()).ok()?;
    let json = json.as_object()?;
    let country = ["country_code", "countryCode", "country"]
        .iter()
        .filter_map(|k| json.get(*k))
        .chain(json.get("country").and_then(|c| c.get("iso_code")))
        .find_map(country_code);
    let timezone = ["timezone", "time_zone"]
        .iter()
        .filter_map(|k| json.get(*k))
        .find_map(|v| match v {
            Value::Object(o) => o.get("id").or_else(|| o.get("name")).and_then(tz_name),
            other => tz_name(other),
        });
    (country.is_some() || timezone.is_some()).then_some((country, timezone))
}

fn country_code(v: &Value) -> Option<String> {
    let s = v.as_str()?.trim();
    (s.len() == 2 && s.bytes().all(|b| b.is_ascii_alphabetic())).then(|| s.to_ascii_uppercase())
}

fn tz_name(v: &Value) -> Option<String> {
    let tz = chrono_tz::Tz::from_str(v.as_str()?.trim()).ok()?;
    Some(tz.name().to_owned())
}

#[cfg(test)]
mod tests {
    use super::parse;

    fn both(c: &str, t: &str) -> Option<(Option<String>, Option<String>)> {
        Some((Some(c.to_owned()), Some(t.to_owned())))
    }

    #[test]
    fn the_common_ip_info_shapes_are_understood() {
        // ipinfo.io
        assert_eq!(
            parse(r#"{"ip":"192.0.2.1","country":"DE","timezone":"Europe/Berlin"}"#),
            both("DE", "Europe/Berlin")
        );
        // ipapi.co: a full country name beside the code
        assert_eq!(
            parse(
                r#"{"country_name":"Japan","country":"JP","country_code":"JP","timezone":"Asia/Tokyo"}"#
            ),
            both("JP", "Asia/Tokyo")
        );
        // ip-api.com: `country` is a name, the code is `countryCode`
        assert_eq!(
            parse(r#"{"country":"Germany","countryCode":"DE","timezone":"Europe/Berlin"}"#),
            both("DE", "Europe/Berlin")
        );
        // ipwho.is: timezone object
        assert_eq!(
            parse(r#"{"country_code":"jp","timezone":{"id":"Asia/Tokyo","utc":"+09:00"}}"#),
            both("JP", "Asia/Tokyo")
        );
        // MaxMind-like nesting and `time_zone`
        assert_eq!(
            parse(r#"{"country":{"iso_code":"FR"},"time_zone":"Europe/Paris"}"#),
            both("FR", "Europe/Paris")
        );
    }

    #[test]
    fn garbage_and_guesses_give_nothing() {
        assert_eq!(parse("<html>rate limited</html>"), None);
        assert_eq!(parse(r#"{"ip":"192.0.2.1"}"#), None);
        assert_eq!(
            parse(r#"{"country":"Germany","timezone":"Mars/Olympus"}"#),
            None,
            "a country name and an unknown zone are not a location"
        );
        assert_eq!(
            parse(r#"{"country_code":"DE"}"#),
            Some((Some("DE".to_owned()), None)),
            "half an answer is kept as half"
        );
        assert_eq!(parse("[1,2]"), None);
    }
}
