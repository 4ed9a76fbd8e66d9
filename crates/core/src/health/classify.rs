//! Where a request failed, from the session layer's point of view, refined by what the relay
//! said: tcp connect, proxy, TLS, first byte, mid-stream, HTTP, or auth.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::network::RequestOutcome;
pub use crate::events::{FailureStage, RequestKind};
use crate::rules::TemplateRules;

/// What an auth-stage failure means for the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Signal {
    /// 401.
    Unauthorized,
    /// 403.
    Forbidden,
    /// Redirected to a login page: logged out.
    LoginRedirect,
    /// A second verification (challenge, 2FA, captcha) was shown.
    Verification,
}

impl Signal {
    /// The stable name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::LoginRedirect => "login_redirect",
            Self::Verification => "verification",
        }
    }
}

/// A request sorted by the rules, and its failure stage if it failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classified {
    pub kind: RequestKind,
    pub stage: Option<FailureStage>,
    /// For auth failures: which kind.
    pub signal: Option<Signal>,
    /// The failure is one the relay reported for the connection (joinable with relay events).
    pub proxy_side: bool,
}

/// Sorts an outcome: which kind of request, and at which stage it failed (if it did).
pub fn classify(o: &RequestOutcome, rules: &TemplateRules) -> Classified {
    let kind = rules.kind(&o.url);
    let mut proxy_side = false;
    let mut signal = None;
    let stage = if let Some(relay) = o.relay_failure.as_deref() {
        proxy_side = true;
        FailureStage::from_relay(relay).or(Some(FailureStage::Proxy))
    } else if let Some(err) = o.error.as_deref() {
        let stage = net_error_stage(err, o.status.is_some());
        proxy_side = stage == FailureStage::Proxy;
        Some(stage)
    } else {
        let (stage, s) = status_stage(o, kind, rules);
        signal = s;
        stage
    };
    Classified {
        kind,
        stage,
        signal,
        proxy_side,
    }
}

fn status_stage(
    o: &RequestOutcome,
    kind: RequestKind,
    rules: &TemplateRules,
) -> (Option<FailureStage>, Option<Signal>) {
    let auth = |s| (Some(FailureStage::Auth), Some(s));
    let Some(status) = o.status else {
        return (None, None);
    };
    match status {
        401 => return auth(Signal::Unauthorized),
        403 => return auth(Signal::Forbidden),
        _ => {}
    }
    if let Some(to) = o.redirect_to.as_deref() {
        // Sent to the login page from a page that was not one: logged out.
        if rules.is_login(to) && !rules.is_login(&o.url) {
            return auth(Signal::LoginRedirect);
        }
    }
    // The verification page loaded as a document is the trigger (counted once, whether it was
    // reached by a redirect or not).
    if kind == RequestKind::Verification
        && o.resource_type == "Document"
        && o.redirect_to.is_none()
        && (200..300).contains(&status)
    {
        return auth(Signal::Verification);
    }
    if status >= 500 || status == 429 || (kind == RequestKind::Refresh && status >= 400) {
        return (Some(FailureStage::Http), None);
    }
    (None, None)
}

/// The stage of a Chromium net error (`net::ERR_…`).
pub fn net_error_stage(err: &str, had_response: bool) -> FailureStage {
    let e = err.trim_start_matches("net::");
    if e.starts_with("ERR_PROXY")
        || e.starts_with("ERR_TUNNEL")
        || e == "ERR_MANDATORY_PROXY_CONFIGURATION_FAILED"
        || e == "ERR_SOCKS_CONNECTION_FAILED"
    {
        return FailureStage::Proxy;
    }
    if e.starts_with("ERR_SSL") || e.starts_with("ERR_CERT") || e == "ERR_BAD_SSL_CLIENT_AUTH_CERT"
    {
        return FailureStage::Tls;
    }
    match e {
        "ERR_CONNECTION_REFUSED"
        | "ERR_CONNECTION_TIMED_OUT"
        | "ERR_ADDRESS_UNREACHABLE"
        | "ERR_ADDRESS_INVALID"
        | "ERR_NAME_NOT_RESOLVED"
        | "ERR_NAME_RESOLUTION_FAILED"
        | "ERR_INTERNET_DISCONNECTED"
        | "ERR_NETWORK_CHANGED"
        | "ERR_CONNECTION_FAILED" => FailureStage::TcpConnect,
        _ if had_response => FailureStage::MidStream,
        _ => FailureStage::FirstByte,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(url: &str) -> RequestOutcome {
        RequestOutcome::sample(url)
    }

    #[test]
    fn net_errors_map_to_their_stage() {
        assert_eq!(
            net_error_stage("net::ERR_TUNNEL_CONNECTION_FAILED", false),
            FailureStage::Proxy
        );
        assert_eq!(
            net_error_stage("net::ERR_SSL_PROTOCOL_ERROR", false),
            FailureStage::Tls
        );
        assert_eq!(
            net_error_stage("net::ERR_CONNECTION_REFUSED", false),
            FailureStage::TcpConnect
        );
        assert_eq!(
            net_error_stage("net::ERR_EMPTY_RESPONSE", false),
            FailureStage::FirstByte
        );
        assert_eq!(
            net_error_stage("net::ERR_CONNECTION_RESET", true),
            FailureStage::MidStream
        );
    }

    #[test]
    fn the_relay_names_the_stage_of_its_own_failures() {
        let r = TemplateRules::default();
        let mut o = outcome("http://h.test/");
        o.status = Some(502);
        o.relay_failure = Some("tcp_connect".into());
        let c = classify(&o, &r);
        assert_eq!(c.stage, Some(FailureStage::TcpConnect));
        assert!(c.proxy_side);
        o.relay_failure = None;
        assert_eq!(
            classify(&o, &r).stage,
            Some(FailureStage::Http),
            "a site's own 502"
        );
    }

    #[test]
    fn auth_signals_and_refresh_failures() {
        let r = TemplateRules::default();
        let mut o = outcome("http://h.test/api/refresh");
        o.status = Some(503);
        let c = classify(&o, &r);
        assert_eq!(
            (c.kind, c.stage),
            (RequestKind::Refresh, Some(FailureStage::Http))
        );
        o.status = Some(200);
        assert_eq!(classify(&o, &r).stage, None, "a good refresh");
        let mut o = outcome("http://h.test/inbox");
        o.status = Some(302);
        o.redirect_to = Some("http://h.test/login?next=".into());
        assert_eq!(
            classify(&o, &r).stage,
            Some(FailureStage::Auth),
            "logged out"
        );
        o.redirect_to = None;
        o.status = Some(401);
        assert_eq!(classify(&o, &r).stage, Some(FailureStage::Auth));
        o.status = Some(404);
        assert_eq!(
            classify(&o, &r).stage,
            None,
            "a missing page is not a session failure"
        );
    }
}
