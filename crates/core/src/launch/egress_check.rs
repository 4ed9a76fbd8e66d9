//! Judging the browser's own egress against the exit's (at launch and at each re-probe).

use crate::error::{Error, Result};
use crate::health::{BrowserEgress, BrowserProbe, Probe};

/// Loads the first echo URL in the browser; `Err(egress_bypassed)` if the echo saw another IP
/// than `expected` (the exit's, as the relay's probe saw it), `Ok(Some(warning))` if it could
/// not be checked, `Ok(None)` when it matched.
pub(crate) async fn verify(
    probe: &BrowserProbe,
    how: Probe,
    echo_urls: &[String],
    expected: Option<&str>,
) -> Result<Option<String>> {
    let (Some(url), Some(expected)) = (echo_urls.first(), expected) else {
        return Ok(Some(
            "the browser's own egress was not checked (no echo URL or no exit IP to compare)"
                .to_owned(),
        ));
    };
    match probe.egress(url, how).await {
        Ok(BrowserEgress::Seen(ip)) if same_ip(&ip, expected) => Ok(None),
        Ok(BrowserEgress::Seen(ip)) => Err(Error::EgressBypassed {
            seen: ip.chars().take(64).collect(),
            expected: expected.to_owned(),
        }),
        Ok(BrowserEgress::Failed(why)) => Ok(Some(format!(
            "the browser's own egress could not be checked: {why}"
        ))),
        Err(e) => Ok(Some(format!(
            "the browser's own egress could not be checked: {e}"
        ))),
    }
}

/// Equal as addresses (so `::ffff:1.2.3.4` style forms do not count as a change), else as text.
fn same_ip(seen: &str, expected: &str) -> bool {
    match (
        seen.trim().parse::<std::net::IpAddr>(),
        expected.parse::<std::net::IpAddr>(),
    ) {
        (Ok(a), Ok(b)) => a.to_canonical() == b.to_canonical(),
        _ => seen.trim() == expected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_compare_as_addresses() {
        assert!(same_ip("127.0.0.2\n", "127.0.0.2"));
        assert!(same_ip("::ffff:127.0.0.2", "127.0.0.2"));
        assert!(!same_ip("127.0.0.1", "127.0.0.2"));
    }
}
