//! The guard with real parts: headless Chromium through the relay and a real tinyproxy with a
//! password to a local site whose settings page submits a password form (into an iframe) or
//! posts to `/export` (from the page or from a dedicated worker) when the test asks. The exit is
//! switched mid-session (the same proxy port now leaves from 127.0.0.3), which opens the risk
//! window; then a sensitive submission must be held and decided by the `guard.policy` setting
//! (no app here), and recorded in the audit log.

mod common;

use std::time::{Duration, Instant};

use common::launched::{launch, Launched};
use common::servers::Upstream;
use common::site::Site;
use common::{account_with_keyring, stderr, KeyringSession, TestHome};
use serde_json::Value;

/// Long enough for a loaded CI machine; every wait ends as soon as its condition holds.
const WAIT: Duration = Duration::from_secs(60);

struct Guarded {
    site: Site,
    home: TestHome,
    proxy: Upstream,
    _keyring: KeyringSession,
    _launched: Launched,
}

/// A running session of `acct` on the site's settings page, leaving from 127.0.0.2, with the
/// given guard policy.
fn start(policy: &str) -> Guarded {
    let site = Site::start();
    let proxy = Upstream::tinyproxy("127.0.0.2", 0);
    let (home, keyring) = account_with_keyring(&proxy.http_url(), &site.url("/settings"));
    home.ok(&["setting", "set", "egress.probe_interval_secs", "1"]);
    home.ok(&["setting", "set", "guard.policy", policy]);
    let launched = launch(&home, &site, "acct");
    site.wait_nth("the settings page polling", WAIT, 2, |h| {
        h.path == "/api/submit"
    });
    Guarded {
        site,
        home,
        proxy,
        _keyring: keyring,
        _launched: launched,
    }
}

fn json(home: &TestHome, args: &[&str]) -> Value {
    let out = home.cmd().args(args).output().expect("run holdfast");
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).expect("--json prints JSON")
}

/// The provider moves the same proxy endpoint to another outgoing address; waits until the
/// risk window is open because of it.
fn switch_exit(g: &mut Guarded) {
    let port = g.proxy.port;
    g.proxy.kill();
    g.proxy = Upstream::tinyproxy("127.0.0.3", port);
    let deadline = Instant::now() + WAIT;
    loop {
        let r = json(&g.home, &["risk", "acct", "--json"]);
        let egress = r["reasons"]
            .as_array()
            .is_some_and(|v| v.iter().any(|x| x["kind"] == "egress_changed"));
        if r["open"] == true && egress {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the risk window never opened: {r:#}"
        );
        // The re-probe runs every second and `risk` reads what it stored: nothing to await.
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn audit(home: &TestHome) -> Vec<Value> {
    json(home, &["audit", "acct", "--json"])
        .as_array()
        .expect("audit --json is an array")
        .clone()
}

fn posts(site: &Site, path: &str) -> usize {
    site.hits()
        .iter()
        .filter(|h| h.path == path && h.body.contains("n="))
        .count()
}

#[test]
fn outside_a_risk_window_a_sensitive_submission_passes_untouched() {
    let g = start("block");
    let n = g.site.request_submit("form");
    let report = g.site.wait_submit_report(n, WAIT);
    assert!(
        report.ends_with("password changed"),
        "the site's own answer reached the page: {report}"
    );
    assert_eq!(posts(&g.site, "/account/password"), 1, "sent exactly once");
    let n = g.site.request_submit("fetch");
    let report = g.site.wait_submit_report(n, WAIT);
    assert_eq!(report, format!("{n} fetch status 200"));
    assert_eq!(posts(&g.site, "/export"), 1);
    let n = g.site.request_submit("worker");
    let report = g.site.wait_submit_report(n, WAIT);
    assert_eq!(report, format!("{n} worker status 200"));
    assert_eq!(posts(&g.site, "/export"), 2);
    assert!(
        audit(&g.home).is_empty(),
        "nothing is held without a risk window"
    );
}

#[test]
fn after_an_exit_switch_the_block_policy_cancels_and_the_server_never_receives_it() {
    let mut g = start("block");
    switch_exit(&mut g);
    let n = g.site.request_submit("form");
    let report = g.site.wait_submit_report(n, WAIT);
    assert!(
        report.ends_with("Held by Holdfast"),
        "the form's frame shows the guard's blocked page: {report}"
    );
    let n = g.site.request_submit("fetch");
    let report = g.site.wait_submit_report(n, WAIT);
    assert!(
        report.starts_with(&format!("{n} fetch error")),
        "a cancelled fetch fails in the page: {report}"
    );
    let n = g.site.request_submit("worker");
    let report = g.site.wait_submit_report(n, WAIT);
    assert!(
        report.starts_with(&format!("{n} worker error")),
        "a POST from a dedicated worker is held too: {report}"
    );
    assert_eq!(
        posts(&g.site, "/account/password"),
        0,
        "a cancelled form never reaches the server"
    );
    assert_eq!(
        posts(&g.site, "/export"),
        0,
        "nor a cancelled fetch; the site saw: {:?}",
        g.site
            .hits()
            .iter()
            .map(|h| (h.path.clone(), h.peer.clone(), h.body.clone()))
            .collect::<Vec<_>>()
    );
    let records = audit(&g.home);
    assert_eq!(records.len(), 3, "form, fetch and worker: {records:#?}");
    let form = records
        .iter()
        .find(|r| r["action"] == "password-change")
        .expect("the form's hold");
    assert_eq!(form["method"], "POST");
    assert_eq!(form["url"], g.site.url("/account/password"));
    assert_eq!(form["decision"], "cancel");
    assert_eq!(form["decided_by"], "policy");
    assert!(
        form["reasons"]
            .as_str()
            .is_some_and(|r| r.contains("egress 127.0.0.2 → 127.0.0.3")),
        "the hold names why: {form:#}"
    );
    let exports: Vec<_> = records.iter().filter(|r| r["action"] == "export").collect();
    assert_eq!(
        exports.len(),
        2,
        "the page's and the worker's: {records:#?}"
    );
    assert!(exports.iter().all(|e| e["decision"] == "cancel"));
    // The decisions are also on the session's timeline.
    let h = json(&g.home, &["health", "acct", "--since", "10m", "--json"]);
    let held = h["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter(|e| e["kind"] == "request_held")
        .count();
    assert_eq!(held, 3, "{:#}", h["timeline"]);
    assert!(
        h["failures"]
            .as_array()
            .expect("failures")
            .iter()
            .all(|f| !f["url"]
                .as_str()
                .unwrap_or("")
                .contains("/account/password")),
        "a cancelled request is a decision, not a session failure"
    );
}

#[test]
fn after_an_exit_switch_the_allow_policy_lets_it_through_exactly_once_and_logs_it() {
    let mut g = start("allow");
    switch_exit(&mut g);
    let n = g.site.request_submit("form");
    let report = g.site.wait_submit_report(n, WAIT);
    assert!(report.ends_with("password changed"), "{report}");
    let got: Vec<_> = g
        .site
        .hits()
        .into_iter()
        .filter(|h| h.path == "/account/password")
        .collect();
    assert_eq!(got.len(), 1, "received exactly once");
    assert!(
        got[0].body.contains("new=s3cret"),
        "with its form body: {:?}",
        got[0].body
    );
    assert_eq!(got[0].peer, "127.0.0.3", "through the new exit");
    let records = audit(&g.home);
    assert_eq!(records.len(), 1, "{records:#?}");
    assert_eq!(records[0]["decision"], "proceed");
    assert_eq!(records[0]["decided_by"], "policy");
}

#[test]
fn a_window_opened_in_the_previous_session_holds_from_the_next_sessions_first_request() {
    let mut g = start("block");
    switch_exit(&mut g);
    g.home.ok(&["stop", "acct"]);
    // The next session starts inside the window (the egress change was minutes ago, not 15).
    g._launched = launch(&g.home, &g.site, "acct");
    let n = g.site.request_submit("form");
    let report = g.site.wait_submit_report(n, WAIT);
    assert!(
        report.ends_with("Held by Holdfast"),
        "held in the new session too: {report}"
    );
    assert_eq!(posts(&g.site, "/account/password"), 0);
    let records = audit(&g.home);
    assert_eq!(records.len(), 1, "{records:#?}");
    assert_eq!(records[0]["decision"], "cancel");
}
