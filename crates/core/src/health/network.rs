//! Turns the Network events of every attached target into one outcome per request (per hop of a
//! redirect chain): status, net error, redirect, relay failure stage and timing.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

use crate::browser::devtools::CdpEvent;
use crate::exit::relay::FAILURE_HEADER;
pub use crate::rules::clean_url;

/// Requests in flight kept before the oldest are dropped (a tab that never finishes its
/// requests must not grow memory without bound).
const MAX_IN_FLIGHT: usize = 20_000;

/// What became of one request as the browser saw it.
#[derive(Debug, Clone, PartialEq, Serialize, TS, schemars::JsonSchema)]
#[ts(export)]
pub struct RequestOutcome {
    /// When the request started (the browser's wall clock).
    #[ts(type = "string")]
    #[schemars(with = "String")]
    pub at: DateTime<Utc>,
    /// The browser's request id (the same across the hops of a redirect chain).
    pub request_id: String,
    pub method: String,
    /// The URL with query values and fragment removed (no tokens in the store).
    pub url: String,
    /// `host:port`.
    pub host: String,
    /// Document, XHR, Fetch, Script, …
    pub resource_type: String,
    pub status: Option<u16>,
    /// Chromium's net error, e.g. `net::ERR_CONNECTION_RESET`.
    pub error: Option<String>,
    /// Where a redirect hop pointed (query values removed).
    pub redirect_to: Option<String>,
    /// The stage the relay named in its failure answer (`x-holdfast-failure`).
    pub relay_failure: Option<String>,
    pub connect_ms: Option<f64>,
    pub tls_ms: Option<f64>,
    pub ttfb_ms: Option<f64>,
    pub total_ms: Option<f64>,
}

#[derive(Debug)]
struct Flight {
    at: DateTime<Utc>,
    started: f64,
    method: String,
    url: String,
    host: String,
    resource_type: String,
    /// Its outcome was already reported at the response head.
    answered: bool,
    response: Option<Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    status: u16,
    relay_failure: Option<String>,
    connect_ms: Option<f64>,
    tls_ms: Option<f64>,
    ttfb_ms: Option<f64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WillBeSent {
    request_id: String,
    request: RequestInfo,
    #[serde(default)]
    wall_time: f64,
    #[serde(default)]
    timestamp: f64,
    redirect_response: Option<Response>,
    #[serde(rename = "type", default)]
    resource_type: String,
}

#[derive(Deserialize)]
struct RequestInfo {
    url: String,
    #[serde(default)]
    method: String,
}

#[derive(Deserialize)]
struct Response {
    #[serde(default)]
    url: String,
    #[serde(default)]
    status: u16,
    #[serde(default)]
    headers: HashMap<String, Value>,
    timing: Option<Timing>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Timing {
    #[serde(default = "unset")]
    connect_start: f64,
    #[serde(default = "unset")]
    connect_end: f64,
    #[serde(default = "unset")]
    ssl_start: f64,
    #[serde(default = "unset")]
    ssl_end: f64,
    #[serde(default = "unset")]
    send_end: f64,
    #[serde(default = "unset")]
    receive_headers_end: f64,
}

fn unset() -> f64 {
    -1.0
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResponseReceived {
    request_id: String,
    response: Response,
    #[serde(default, rename = "type")]
    resource_type: String,
    #[serde(default)]
    timestamp: f64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Finished {
    request_id: String,
    #[serde(default)]
    timestamp: f64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Failed {
    request_id: String,
    #[serde(default)]
    timestamp: f64,
    #[serde(default)]
    error_text: String,
    #[serde(default)]
    canceled: bool,
}

#[cfg(test)]
impl RequestOutcome {
    /// A successful GET of `url` as an XHR, for tests.
    pub(crate) fn sample(url: &str) -> Self {
        Self {
            at: Utc::now(),
            request_id: "1".into(),
            method: "GET".into(),
            url: url.into(),
            host: "h.test:80".into(),
            resource_type: "XHR".into(),
            status: Some(200),
            error: None,
            redirect_to: None,
            relay_failure: None,
            connect_ms: None,
            tls_ms: None,
            ttfb_ms: None,
            total_ms: None,
        }
    }
}

/// Requests in flight, per target session.
#[derive(Debug, Default)]
pub struct Tracker {
    flights: HashMap<(String, String), Flight>,
}

impl Tracker {
    /// A tracker with nothing in flight.
    pub fn new() -> Self {
        Self::default()
    }

    /// Requests started and not yet finished.
    pub fn in_flight(&self) -> usize {
        self.flights.len()
    }

    /// Feeds one event; returns the outcome it completes, if any.
    pub fn on_event(&mut self, ev: &CdpEvent) -> Option<RequestOutcome> {
        let session = ev.session_id.clone().unwrap_or_default();
        match ev.method.as_str() {
            "Network.requestWillBeSent" => {
                let e = WillBeSent::deserialize(&ev.params).ok()?;
                let key = (session, e.request_id.clone());
                let (url, host) = clean_url(&e.request.url)?;
                // A redirect reuses the request id: the previous hop ends here.
                let hop = match (e.redirect_response, self.flights.remove(&key)) {
                    (Some(resp), Some(prev)) => {
                        let seen = seen(&resp);
                        Some(finish(
                            &prev,
                            &key.1,
                            Some(seen),
                            None,
                            Some(url.clone()),
                            e.timestamp,
                        ))
                    }
                    _ => None,
                };
                self.start(
                    key,
                    Flight {
                        at: wall(e.wall_time),
                        started: e.timestamp,
                        method: e.request.method,
                        url,
                        host,
                        resource_type: e.resource_type,
                        answered: false,
                        response: None,
                    },
                );
                hop
            }
            // The outcome is known with the response head: Chromium sends no loadingFinished
            // for a fetch whose body the page never reads. The flight stays, answered, so a
            // body that breaks later is still reported (as a failure after the response).
            "Network.responseReceived" => {
                let e = ResponseReceived::deserialize(&ev.params).ok()?;
                let key = (session, e.request_id);
                // The guard's own "cancelled" page: a decision with its audit record, not a
                // response of the site.
                if has_header(&e.response, crate::guard::intercept::GUARD_HEADER) {
                    self.flights.remove(&key);
                    return None;
                }
                if !self.flights.contains_key(&key) {
                    // Chromium now and then (under load, early in a new document) sends a
                    // response whose requestWillBeSent never came: keep the request from its
                    // response (method unknown, start time = now) rather than lose it.
                    let (url, host) = clean_url(&e.response.url)?;
                    self.start(
                        key.clone(),
                        Flight {
                            at: Utc::now(),
                            started: e.timestamp,
                            method: "?".to_owned(),
                            url,
                            host,
                            resource_type: e.resource_type.clone(),
                            answered: false,
                            response: None,
                        },
                    );
                }
                let f = self.flights.get_mut(&key)?;
                if f.answered {
                    return None;
                }
                f.answered = true;
                let seen = seen(&e.response);
                let status = seen.status;
                f.response = Some(Seen {
                    status,
                    ..Seen::default()
                });
                Some(finish(f, &key.1, Some(seen), None, None, e.timestamp))
            }
            "Network.loadingFinished" => {
                let e = Finished::deserialize(&ev.params).ok()?;
                let key = (session, e.request_id);
                let mut f = self.flights.remove(&key)?;
                if f.answered {
                    return None;
                }
                let resp = f.response.take();
                Some(finish(&f, &key.1, resp, None, None, e.timestamp))
            }
            "Network.loadingFailed" => {
                let e = Failed::deserialize(&ev.params).ok()?;
                let key = (session, e.request_id);
                let mut f = self.flights.remove(&key)?;
                let resp = f.response.take();
                // A request the page or a navigation cancelled is not a failure of anything;
                // one the guard cancelled is a decision (in the audit log), not a failure.
                if e.canceled
                    || e.error_text.contains("ERR_ABORTED")
                    || e.error_text.contains("ERR_BLOCKED_BY_CLIENT")
                {
                    return None;
                }
                Some(finish(
                    &f,
                    &key.1,
                    resp,
                    Some(e.error_text),
                    None,
                    e.timestamp,
                ))
            }
            "Target.detachedFromTarget" => {
                if let Some(s) = ev.params.get("sessionId").and_then(Value::as_str) {
                    self.flights.retain(|(k, _), _| k != s);
                }
                None
            }
            _ => None,
        }
    }

    /// Tracks a new flight, making room first.
    fn start(&mut self, key: (String, String), flight: Flight) {
        if self.flights.len() >= MAX_IN_FLIGHT {
            self.drop_oldest();
        }
        self.flights.insert(key, flight);
    }

    fn drop_oldest(&mut self) {
        let mut starts: Vec<f64> = self.flights.values().map(|f| f.started).collect();
        starts.sort_by(f64::total_cmp);
        if let Some(&cut) = starts.get(starts.len() / 4) {
            self.flights.retain(|_, f| f.started > cut);
        }
    }
}

fn finish(
    f: &Flight,
    request_id: &str,
    seen: Option<Seen>,
    error: Option<String>,
    redirect_to: Option<String>,
    ended: f64,
) -> RequestOutcome {
    let total = (ended > 0.0 && f.started > 0.0).then(|| round((ended - f.started) * 1000.0));
    let seen = seen.unwrap_or_default();
    RequestOutcome {
        at: f.at,
        request_id: request_id.to_owned(),
        method: f.method.clone(),
        url: f.url.clone(),
        host: f.host.clone(),
        resource_type: f.resource_type.clone(),
        status: (seen.status > 0).then_some(seen.status),
        error: error.filter(|e| !e.is_empty()),
        redirect_to,
        relay_failure: seen.relay_failure,
        connect_ms: seen.connect_ms,
        tls_ms: seen.tls_ms,
        ttfb_ms: seen.ttfb_ms,
        total_ms: total.filter(|t| *t >= 0.0),
    }
}

fn has_header(r: &Response, name: &str) -> bool {
    r.headers.keys().any(|k| k.eq_ignore_ascii_case(name))
}

fn seen(r: &Response) -> Seen {
    let span = |a: f64, b: f64| (a >= 0.0 && b >= a).then(|| round(b - a));
    let relay_failure = r
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(FAILURE_HEADER))
        .and_then(|(_, v)| v.as_str())
        .map(str::to_owned);
    let t = r.timing.as_ref();
    Seen {
        status: r.status,
        relay_failure,
        connect_ms: t.and_then(|t| span(t.connect_start, t.connect_end)),
        tls_ms: t.and_then(|t| span(t.ssl_start, t.ssl_end)),
        ttfb_ms: t.and_then(|t| span(t.send_end, t.receive_headers_end)),
    }
}

fn round(ms: f64) -> f64 {
    (ms * 1000.0).round() / 1000.0
}

fn wall(secs: f64) -> DateTime<Utc> {
    if secs > 0.0 {
        // Whole microseconds; the fraction below that is noise.
        let micros = (secs * 1e6) as i64;
        DateTime::from_timestamp_micros(micros).unwrap_or_else(Utc::now)
    } else {
        Utc::now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(method: &str, params: Value) -> CdpEvent {
        CdpEvent {
            session_id: Some("S".into()),
            method: method.into(),
            params,
        }
    }

    fn sent(id: &str, url: &str, ts: f64) -> CdpEvent {
        ev(
            "Network.requestWillBeSent",
            json!({"requestId": id, "request": {"url": url, "method": "GET"}, "wallTime": 1.7e9, "timestamp": ts, "type": "Document"}),
        )
    }

    #[test]
    fn query_values_never_reach_the_store() {
        let (url, host) =
            clean_url("https://u:p@example.test/a/refresh?token=SECRET&x=1#frag").unwrap();
        assert_eq!(url, "https://example.test/a/refresh?token=&x=");
        assert_eq!(host, "example.test:443");
        assert!(clean_url("data:text/plain,hi").is_none());
    }

    #[test]
    fn a_finished_request_has_status_and_timing() {
        let mut t = Tracker::new();
        assert!(t
            .on_event(&sent("1", "http://127.0.0.1:8080/x", 10.0))
            .is_none());
        let o = t
            .on_event(&ev(
                "Network.responseReceived",
                json!({"requestId": "1", "timestamp": 10.25, "response": {"status": 401, "headers": {}, "timing": {"connectStart": 1.0, "connectEnd": 3.5, "sslStart": -1, "sendEnd": 4.0, "receiveHeadersEnd": 14.0}, "someNewField": true}}),
            ))
            .expect("the outcome is known at the response head");
        assert!(
            t.on_event(&ev(
                "Network.loadingFinished",
                json!({"requestId": "1", "timestamp": 10.5})
            ))
            .is_none(),
            "reported once"
        );
        assert_eq!(o.status, Some(401));
        assert_eq!(o.connect_ms, Some(2.5));
        assert_eq!(o.tls_ms, None, "no TLS on plain http");
        assert_eq!(o.ttfb_ms, Some(10.0));
        assert_eq!(o.total_ms, Some(250.0));
        assert_eq!(t.in_flight(), 0);
    }

    #[test]
    fn a_response_whose_request_event_never_came_is_still_counted() {
        let mut t = Tracker::new();
        let o = t
            .on_event(&ev(
                "Network.responseReceived",
                json!({"requestId": "9", "timestamp": 3.0, "type": "Fetch", "response": {"url": "http://h.test/api/private?k=v", "status": 401, "headers": {}}}),
            ))
            .expect("an outcome from the response alone");
        assert_eq!(o.status, Some(401));
        assert_eq!(
            o.url, "http://h.test/api/private?k=",
            "query values still cleaned"
        );
        assert_eq!(o.resource_type, "Fetch");
        assert_eq!(o.method, "?", "the method is not known");
        assert!(
            t.on_event(&ev(
                "Network.loadingFinished",
                json!({"requestId": "9", "timestamp": 3.5})
            ))
            .is_none(),
            "reported once"
        );
        assert_eq!(t.in_flight(), 0);
    }

    #[test]
    fn redirects_and_failures_each_end_a_hop() {
        let mut t = Tracker::new();
        t.on_event(&sent("7", "http://h.test/account", 1.0));
        let mut redirect = sent("7", "http://h.test/login?next=/account", 1.1);
        redirect.params["redirectResponse"] = json!({"status": 302, "headers": {}});
        let hop = t.on_event(&redirect).unwrap();
        assert_eq!(hop.status, Some(302));
        assert_eq!(
            hop.redirect_to.as_deref(),
            Some("http://h.test/login?next=")
        );
        let failed = t
            .on_event(&ev("Network.loadingFailed", json!({"requestId": "7", "timestamp": 2.0, "errorText": "net::ERR_CONNECTION_RESET"})))
            .unwrap();
        assert_eq!(failed.error.as_deref(), Some("net::ERR_CONNECTION_RESET"));
        assert_eq!(failed.url, "http://h.test/login?next=");
        t.on_event(&sent("8", "http://h.test/big", 3.0));
        t.on_event(&ev(
            "Network.responseReceived",
            json!({"requestId": "8", "response": {"status": 200}}),
        ));
        let broke = t
            .on_event(&ev(
                "Network.loadingFailed",
                json!({"requestId": "8", "errorText": "net::ERR_CONNECTION_RESET"}),
            ))
            .expect("a body that breaks after the head is reported");
        assert_eq!(broke.status, Some(200));
        assert_eq!(broke.error.as_deref(), Some("net::ERR_CONNECTION_RESET"));
    }

    #[test]
    fn relay_failure_header_and_cancelled_requests() {
        let mut t = Tracker::new();
        t.on_event(&sent("1", "http://h.test/", 1.0));
        let o = t
            .on_event(&ev(
                "Network.responseReceived",
                json!({"requestId": "1", "response": {"status": 502, "headers": {"X-Holdfast-Failure": "tcp_connect"}}}),
            ))
            .unwrap();
        assert_eq!(o.relay_failure.as_deref(), Some("tcp_connect"));
        t.on_event(&sent("2", "http://h.test/slow", 1.0));
        let cancelled = t.on_event(&ev(
            "Network.loadingFailed",
            json!({"requestId": "2", "errorText": "net::ERR_ABORTED", "canceled": true}),
        ));
        assert!(cancelled.is_none(), "a cancelled request is not a failure");
    }
}
