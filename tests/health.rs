//! The fault harness of session health: real Chromium (headless) through the relay and a real
//! tinyproxy to a local site with a token refresh endpoint, a 401 route, a login redirect and a
//! challenge page. Each fault must show in `holdfast health` at the right stage — and a healthy
//! run must show none.

mod common;

use std::time::{Duration, Instant};

use common::launched::{launch, Launched};
use common::servers::{Origin, Upstream};
use common::site::Site;
use common::{account_with_keyring, stderr, KeyringSession, TestHome};
use serde_json::Value;

/// Long enough for a loaded CI machine; the waits end as soon as the condition holds.
const WAIT: Duration = Duration::from_secs(60);

/// A template `acct` whose start page is the site's app (with `query`), metrics flushed every
/// second so the connection layer shows quickly.
fn setup(site: &Site, proxy: &Upstream, query: &str) -> (TestHome, KeyringSession) {
    let (home, keyring) =
        account_with_keyring(&proxy.http_url(), &site.url(&format!("/app?{query}")));
    home.ok(&["setting", "set", "metrics.flush_secs", "1"]);
    (home, keyring)
}

fn health(home: &TestHome) -> Value {
    let out = home
        .cmd()
        .args(["health", "acct", "--since", "10m", "--json"])
        .output()
        .expect("holdfast health");
    assert!(out.status.success(), "health: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).expect("health --json is JSON")
}

/// Polls `holdfast health` until `pred` holds (the session writes in batches, so there is no
/// event a test could await); returns the report.
fn wait_health(home: &TestHome, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let h = health(home);
        if pred(&h) {
            return h;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; health was:\n{}",
            serde_json::to_string_pretty(&h).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn risk(home: &TestHome) -> Value {
    let out = home
        .cmd()
        .args(["risk", "acct", "--json"])
        .output()
        .expect("holdfast risk");
    assert!(out.status.success(), "risk: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).expect("risk --json is JSON")
}

fn window(h: &Value) -> &Value {
    &h["windows"][0]
}

/// Failures of requests to `port` (Chromium's own background requests to Google fail through
/// any proxy here and are not the site's).
fn failures_to(h: &Value, port: u16) -> Vec<Value> {
    let needle = format!("127.0.0.1:{port}/");
    h["failures"]
        .as_array()
        .expect("failures")
        .iter()
        .filter(|f| f["url"].as_str().unwrap_or("").contains(&needle))
        .cloned()
        .collect()
}

fn stage_count(h: &Value, stage: &str) -> i64 {
    window(h)["session"]["failures"][stage]
        .as_i64()
        .unwrap_or(0)
}

fn start(home: &TestHome, site: &Site) -> Launched {
    let launched = launch(home, site, "acct");
    // The app is running once it has refreshed a few times.
    site.wait_nth("app refreshes", WAIT, 3, |h| h.path == "/api/refresh");
    launched
}

#[test]
fn a_healthy_session_shows_requests_and_refreshes_and_no_failure() {
    let site = Site::start();
    let proxy = Upstream::tinyproxy("127.0.0.2", 0);
    let (home, _keyring) = setup(&site, &proxy, "");
    let launched = start(&home, &site);
    site.wait_nth("20 refreshes", WAIT, 20, |h| h.path == "/api/refresh");
    let h = wait_health(&home, "20 good refreshes recorded", |h| {
        window(h)["session"]["refresh_ok"].as_i64().unwrap_or(0) >= 20
    });
    drop(launched);
    let s = &window(&h)["session"];
    assert!(
        failures_to(&h, site.port).is_empty(),
        "a healthy run has no failure: {:#}",
        h["failures"]
    );
    assert_eq!(s["refreshes"], s["refresh_ok"], "every refresh succeeded");
    assert_eq!(s["refresh_success_rate"], 1.0);
    assert!(
        s["refresh_latency_p95_ms"].as_f64().is_some(),
        "refresh latency is measured"
    );
    assert_eq!(s["unauthorized"], 0);
    assert!(
        window(&h)["connection"]["dials"].as_u64().unwrap_or(0) >= 20,
        "the connection layer saw the relay's tunnels: {:#}",
        window(&h)["connection"]
    );
    let exits = h["exits"].as_array().expect("exits");
    assert!(
        exits.iter().any(|e| e["egress_ip"] == "127.0.0.2"),
        "requests are attributed to the exit's egress 127.0.0.2: {exits:#?}"
    );
    let timeline = h["timeline"].as_array().expect("timeline");
    assert!(
        !timeline.iter().any(|t| t["kind"] == "request_failed"
            || t["kind"] == "refresh_failed"
            || t["kind"] == "egress_change"),
        "nothing bad in the timeline: {timeline:#?}"
    );
}

#[test]
fn a_killed_upstream_proxy_is_a_tcp_connect_failure_named_by_the_relay() {
    let site = Site::start();
    let mut proxy = Upstream::tinyproxy("127.0.0.2", 0);
    let (home, _keyring) = setup(&site, &proxy, "");
    let _launched = start(&home, &site);
    proxy.kill();
    let h = wait_health(&home, "tcp_connect failures", |h| {
        failures_to(h, site.port)
            .iter()
            .any(|f| f["stage"] == "tcp_connect")
            && window(h)["connection"]["failures"]["tcp_connect"]
                .as_u64()
                .unwrap_or(0)
                > 0
    });
    let f = failures_to(&h, site.port)
        .into_iter()
        .find(|f| f["stage"] == "tcp_connect")
        .expect("a tcp_connect failure");
    assert_eq!(
        f["relay_stage"], "tcp_connect",
        "the relay named the stage: {f:#}"
    );
    assert_eq!(
        f["status"], 502,
        "the relay answered for the dead exit: {f:#}"
    );
    assert_eq!(
        f["egress_ip"], "127.0.0.2",
        "attributed to the exit in use: {f:#}"
    );
    assert!(
        f["exit_url"]
            .as_str()
            .unwrap_or("")
            .contains(&proxy.port.to_string()),
        "attributed to the exit: {f:#}"
    );
    assert_eq!(
        stage_count(&h, "auth") + stage_count(&h, "http"),
        0,
        "a dead exit is not an auth or HTTP failure"
    );
    assert!(
        window(&h)["connection"]["handshake_failure_rate"]
            .as_f64()
            .unwrap_or(0.0)
            > 0.0,
        "the connection layer counts the failed handshakes"
    );
}

#[test]
fn an_upstream_idle_timeout_shows_as_idle_reclaims_in_the_connection_layer() {
    let site = Site::start();
    // tinyproxy closes tunnels idle for 2 s; the app's WebSocket stays idle.
    let proxy = Upstream::tinyproxy_with_timeout("127.0.0.2", 0, 2);
    let (home, _keyring) = setup(&site, &proxy, "ws=1");
    let _launched = start(&home, &site);
    site.wait_for("the WebSocket", WAIT, |h| h.path == "/ws");
    let h = wait_health(&home, "an idle reclaim", |h| {
        window(h)["connection"]["idle_reclaims"]
            .as_u64()
            .unwrap_or(0)
            >= 1
    });
    let timeline = h["timeline"].as_array().expect("timeline");
    assert!(
        timeline.iter().any(|t| t["stage"] == "idle_reclaim"
            && t["detail"]
                .as_str()
                .unwrap_or("")
                .contains(&site.port.to_string())),
        "the reclaimed tunnel is on the timeline: {timeline:#?}"
    );
    assert!(
        failures_to(&h, site.port).is_empty(),
        "an idle reclaim is not a request failure: {:#}",
        h["failures"]
    );
}

#[test]
fn a_server_that_half_closes_after_every_response_fails_no_request() {
    let site = Site::start();
    let origin = Origin::start_with(true);
    let proxy = Upstream::tinyproxy("127.0.0.2", 0);
    let (home, _keyring) = setup(&site, &proxy, &format!("half={}", origin.port));
    let _launched = start(&home, &site);
    let h = wait_health(&home, "20 requests to the half-closing server", |h| {
        h["exits"].as_array().map_or(0, |e| {
            e.iter()
                .map(|x| x["requests"].as_i64().unwrap_or(0))
                .sum::<i64>()
        }) >= 60
            && origin.from("127.0.0.2") >= 20
    });
    assert!(
        failures_to(&h, origin.port).is_empty(),
        "the relay opens a fresh upstream connection per plain request, so a server's FIN never \
         breaks the next one: {:#}",
        h["failures"]
    );
    assert!(
        window(&h)["connection"]["dials"].as_u64().unwrap_or(0) >= origin.from("127.0.0.2") as u64,
        "one upstream connection per request shows as reconnects: {:#}",
        window(&h)["connection"]
    );
}

#[test]
fn a_failing_refresh_endpoint_and_auth_signals_are_attributed_to_http_and_auth() {
    let site = Site::start();
    let proxy = Upstream::tinyproxy("127.0.0.2", 0);
    let (home, _keyring) = setup(&site, &proxy, "auth=1");
    let _launched = start(&home, &site);
    site.set_refresh_status(503);
    let h = wait_health(&home, "refresh failures and auth signals", |h| {
        let s = &window(h)["session"];
        s["refreshes"].as_i64().unwrap_or(0) > s["refresh_ok"].as_i64().unwrap_or(0) + 3
            && s["unauthorized"].as_i64().unwrap_or(0) >= 1
            && s["login_redirects"].as_i64().unwrap_or(0) >= 1
            && s["verifications"].as_i64().unwrap_or(0) >= 1
            // The timeline comes from the session's events, flushed on their own tick.
            && h["timeline"]
                .as_array()
                .is_some_and(|t| t.iter().any(|e| e["kind"] == "refresh_failed"))
    });
    let failures = failures_to(&h, site.port);
    let refresh = failures
        .iter()
        .find(|f| f["kind"] == "refresh")
        .expect("a refresh failure");
    assert_eq!(refresh["stage"], "http", "{refresh:#}");
    assert_eq!(refresh["status"], 503, "{refresh:#}");
    assert!(
        refresh["relay_stage"].is_null(),
        "the site answered; the relay did not fail: {refresh:#}"
    );
    let later = failures
        .iter()
        .find(|f| f["kind"] == "refresh" && !f["since_refresh_fail_ms"].is_null())
        .expect("a refresh failure after another");
    assert!(
        !later["since_refresh_ok_ms"].is_null(),
        "the token state says when the last good refresh was: {later:#}"
    );
    for (signal, path) in [
        ("unauthorized", "/api/private"),
        ("login_redirect", "/account"),
        ("verification", "/challenge"),
    ] {
        let f = failures
            .iter()
            .find(|f| f["signal"] == signal)
            .unwrap_or_else(|| panic!("a {signal} failure in {failures:#?}"));
        assert_eq!(f["stage"], "auth", "{f:#}");
        assert!(f["url"].as_str().unwrap_or("").contains(path), "{f:#}");
    }
    assert_eq!(stage_count(&h, "tcp_connect") + stage_count(&h, "proxy"), 0);
    let timeline = h["timeline"].as_array().expect("timeline");
    assert!(
        timeline
            .iter()
            .any(|t| t["kind"] == "refresh_failed" && t["stage"] == "http"),
        "the refresh failure is on the timeline: {timeline:#?}"
    );
    let r = risk(&home);
    assert!(
        r["reasons"]
            .as_array()
            .is_some_and(|v| v.iter().any(|x| x["kind"] == "refresh_failed")),
        "a failed refresh opens the risk window: {r:#}"
    );
}

#[test]
fn an_exit_switched_mid_session_shows_the_egress_change_and_attributes_requests_to_each_egress() {
    let site = Site::start();
    let mut proxy = Upstream::tinyproxy("127.0.0.2", 0);
    let (home, _keyring) = setup(&site, &proxy, "");
    home.ok(&["setting", "set", "egress.probe_interval_secs", "1"]);
    let _launched = start(&home, &site);
    wait_health(&home, "requests through 127.0.0.2", |h| {
        h["exits"]
            .as_array()
            .is_some_and(|e| e.iter().any(|x| x["egress_ip"] == "127.0.0.2"))
    });
    // The provider moves the same proxy endpoint to another outgoing address.
    let port = proxy.port;
    proxy.kill();
    let _switched = Upstream::tinyproxy("127.0.0.3", port);
    let h = wait_health(
        &home,
        "the egress change and requests through 127.0.0.3",
        |h| {
            let changed = h["timeline"]
                .as_array()
                .is_some_and(|t| t.iter().any(|e| e["kind"] == "egress_change"));
            let through_new = h["exits"].as_array().is_some_and(|e| {
                e.iter().any(|x| {
                    x["egress_ip"] == "127.0.0.3" && x["requests"].as_i64().unwrap_or(0) >= 5
                })
            });
            changed && through_new
        },
    );
    let change = h["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .find(|e| e["kind"] == "egress_change")
        .cloned()
        .expect("egress change");
    assert_eq!(change["detail"], "127.0.0.2 → 127.0.0.3", "{change:#}");
    let r = risk(&home);
    assert_eq!(
        r["open"], true,
        "an egress change opens the risk window: {r:#}"
    );
    assert!(
        r["reasons"].as_array().is_some_and(|v| v.iter().any(
            |x| x["kind"] == "egress_changed" && x["detail"] == "egress 127.0.0.2 → 127.0.0.3"
        )),
        "{r:#}"
    );
    for f in failures_to(&h, site.port) {
        assert!(
            f["stage"] == "tcp_connect" || f["stage"] == "proxy",
            "only the moment the exit was down may fail, at the connection: {f:#}"
        );
    }
}

#[test]
fn one_huge_devtools_message_from_a_page_does_not_end_the_observer() {
    let site = Site::start();
    let proxy = Upstream::tinyproxy("127.0.0.2", 0);
    // A 20 MB WebSocket frame: DevTools reports it in one message larger than a websocket
    // client's usual 16 MiB frame limit.
    let (home, _keyring) = setup(&site, &proxy, "bigws=20");
    let launched = start(&home, &site);
    let report = site.wait_for("the page's report of the big frame", WAIT, |h| {
        h.path == "/report/bigws"
    });
    assert_eq!(
        report.body,
        (20 * 1024 * 1024).to_string(),
        "the page got the whole frame"
    );
    let seen = site
        .hits()
        .iter()
        .filter(|h| h.path == "/api/refresh")
        .count();
    // The observer still records what the page does after the frame.
    site.wait_nth("10 more refreshes", WAIT, seen + 10, |h| {
        h.path == "/api/refresh"
    });
    wait_health(&home, "refreshes after the big frame recorded", |h| {
        window(h)["session"]["refresh_ok"].as_i64().unwrap_or(0) >= (seen + 5) as i64
    });
    drop(launched);
}

/// The database's logical size in bytes (pages in use, WAL included).
fn db_bytes(home: &TestHome) -> u64 {
    let out = std::process::Command::new("sqlite3")
        .arg(home.path().join("holdfast.db"))
        .arg("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()")
        .output()
        .expect("sqlite3 (apt: sqlite3)");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("a size")
}

#[test]
fn a_page_fetching_thousands_of_huge_paths_grows_the_database_by_little() {
    let site = Site::start();
    let proxy = Upstream::tinyproxy("127.0.0.2", 0);
    let (home, _keyring) =
        common::account_with_keyring(&proxy.http_url(), &site.url("/flood?n=2000&kb=60"));
    let before = db_bytes(&home);
    let launched = launch(&home, &site, "acct");
    site.wait_for("the page's report that all 2,000 were fetched", WAIT, |h| {
        h.path == "/report/flood"
    });
    let h = wait_health(&home, "2,000 long requests recorded", |h| {
        window(h)["session"]["requests"].as_i64().unwrap_or(0) >= 2000
    });
    drop(launched);
    let grown = db_bytes(&home).saturating_sub(before);
    eprintln!("the database grew by {grown} bytes");
    assert!(
        grown < 4 * 1024 * 1024,
        "2,000 requests with 60 KiB paths (120 MB of URLs) grew the database by {grown} bytes"
    );
    let failures = h["failures"].as_array().cloned().unwrap_or_default();
    for f in failures {
        let url = f["url"].as_str().unwrap_or("");
        assert!(
            url.len() < 1200,
            "a stored URL is capped: {} bytes",
            url.len()
        );
    }
}
