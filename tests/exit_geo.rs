//! Where the exit is, with real parts: a real tinyproxy with a password leaving from 127.0.0.2
//! (an address the local IP-info service places in Germany) or 127.0.0.3 (Japan), the IP-info
//! service asked through the exit, the real keyring, and headless Chromium for the sessions.

mod common;

use std::process::Output;
use std::time::{Duration, Instant};

use serde_json::Value;

use common::launched::{try_launch_env, Launched};
use common::servers::{free_port, GeoInfo, Upstream};
use common::site::Site;
use common::{account_with_keyring, json_of, stderr, TestHome};

/// Long enough for a loaded CI machine; every wait ends as soon as its condition holds.
const WAIT: Duration = Duration::from_secs(60);

/// `holdfast ARGS` with the site as IP-echo service and `geo` as IP-info service.
fn run(home: &TestHome, site: &Site, geo: &str, args: &[&str]) -> Output {
    home.cmd()
        .env("HOLDFAST_ECHO_URLS", site.url("/ip"))
        .env("HOLDFAST_GEO_URLS", geo)
        .args(args)
        .output()
        .expect("run holdfast")
}

fn issue_codes(geo: &Value) -> Vec<String> {
    geo["issues"]
        .as_array()
        .expect("issues")
        .iter()
        .map(|i| i["code"].as_str().expect("code").to_owned())
        .collect()
}

fn launch_with(home: &TestHome, site: &Site, geo: &str) -> Result<Launched, String> {
    try_launch_env(home, site, "acct", &[], &[("HOLDFAST_GEO_URLS", geo)])
}

/// An account `acct` in Europe/Berlin and de-DE, through a tinyproxy with a password leaving
/// from 127.0.0.2 (Germany, to the IP-info service).
struct Berlin {
    site: Site,
    geo: GeoInfo,
    proxy: Upstream,
    home: TestHome,
    _keyring: common::KeyringSession,
}

impl Berlin {
    fn start() -> Self {
        let site = Site::start();
        let geo = GeoInfo::start();
        let proxy = Upstream::tinyproxy("127.0.0.2", 0);
        let (home, keyring) = account_with_keyring(&proxy.http_url(), &site.url("/"));
        home.ok(&[
            "template",
            "edit",
            "acct",
            "--timezone",
            "Europe/Berlin",
            "--locale",
            "de-DE",
        ]);
        Self {
            site,
            geo,
            proxy,
            home,
            _keyring: keyring,
        }
    }

    /// The provider moves the same proxy endpoint to an address in Japan.
    fn move_exit_to_japan(&mut self) {
        let port = self.proxy.port;
        self.proxy.kill();
        self.proxy = Upstream::tinyproxy("127.0.0.3", port);
    }
}

#[test]
fn a_berlin_template_fits_a_german_exit_not_a_japanese_one_and_match_exit_fixes_it() {
    let mut b = Berlin::start();
    let geo_url = b.geo.url("/json");

    let out = run(&b.home, &b.site, &geo_url, &["check", "acct", "--json"]);
    assert!(out.status.success(), "check passes: {}", stderr(&out));
    let r = json_of(&out);
    let g = &r["geo"];
    assert_eq!(
        g["country"], "DE",
        "the IP-info service saw the exit: {r:#}"
    );
    assert_eq!(g["timezone"], "Europe/Berlin");
    assert_eq!(g["source"], geo_url.as_str());
    assert_eq!(g["verdict"], "consistent", "{g:#}");
    assert_eq!(g["consistent"], true);
    assert!(issue_codes(g).is_empty(), "{g:#}");
    assert_eq!(r["egress"]["country"], "DE", "stored with the egress");

    // The provider moves the same proxy endpoint to an address in Japan.
    b.move_exit_to_japan();
    let out = run(&b.home, &b.site, &geo_url, &["check", "acct", "--json"]);
    let r = json_of(&out);
    let g = &r["geo"];
    assert_eq!(g["country"], "JP", "{r:#}");
    assert_eq!(g["timezone"], "Asia/Tokyo", "ipwho.is' timezone object");
    assert_eq!(g["verdict"], "mismatch");
    assert_eq!(g["consistent"], false);
    assert_eq!(
        issue_codes(g),
        ["timezone_offset", "locale_region"],
        "{g:#}"
    );
    assert_eq!(
        r["egress"]["previous_country"], "DE",
        "an egress change that also changes the country is called out: {r:#}"
    );
    let text = run(&b.home, &b.site, &geo_url, &["check", "acct"]);
    let said = String::from_utf8_lossy(&text.stdout);
    assert!(
        said.contains("exit is in: JP / Asia/Tokyo (MISMATCH)"),
        "the text report says so too: {said}"
    );

    // Only a warning until the template opts in…
    let warned = launch_with(&b.home, &b.site, &geo_url).expect("a mismatch alone only warns");
    let warnings = warned.info["warnings"].to_string();
    assert!(
        warnings.contains("does not fit the exit") && warnings.contains("the exit is in JP"),
        "the launch says why: {}",
        warned.info
    );
    drop(warned);
    // …then the launch is refused.
    b.home
        .ok(&["template", "edit", "acct", "--require-consistent", "on"]);
    assert_eq!(b.home.show_json("acct")["require_consistent"], true);
    let refused = match launch_with(&b.home, &b.site, &geo_url) {
        Ok(l) => panic!("a launch that does not fit its exit went ahead: {}", l.info),
        Err(e) => e,
    };
    assert!(
        refused.contains("environment_mismatch") && refused.contains("Asia/Tokyo"),
        "refused with the stable code and the reason: {refused}"
    );

    // One command fixes it: the exit's timezone and its country's main language.
    let out = run(
        &b.home,
        &b.site,
        &geo_url,
        &["template", "edit", "acct", "--match-exit"],
    );
    assert!(out.status.success(), "match-exit: {}", stderr(&out));
    let t = b.home.show_json("acct");
    assert_eq!(t["timezone"], "Asia/Tokyo");
    assert_eq!(t["locale"], "ja-JP");
    let r = json_of(&run(
        &b.home,
        &b.site,
        &geo_url,
        &["check", "acct", "--json"],
    ));
    assert_eq!(r["geo"]["verdict"], "consistent", "{r:#}");
    let launched = launch_with(&b.home, &b.site, &geo_url).expect("a fitting launch goes ahead");
    assert!(launched.info["pid"].as_i64().is_some());
    drop(launched);

    // The opt-in travels with the template to a teammate.
    let bundle = b.home.path().join("out.json");
    b.home
        .ok(&["export", "acct", "-o", bundle.to_str().expect("path")]);
    let written: Value =
        serde_json::from_slice(&std::fs::read(&bundle).expect("bundle")).expect("JSON");
    assert_eq!(written["version"], 4);
    assert_eq!(written["templates"][0]["require_consistent"], true);
    let teammate = TestHome::new();
    teammate.ok(&["import", bundle.to_str().expect("path")]);
    assert_eq!(teammate.show_json("acct")["require_consistent"], true);
}

#[test]
fn an_ip_info_service_down_or_answering_garbage_gives_unknown_never_consistent() {
    let b = Berlin::start();
    let down = format!("http://127.0.0.1:{}/json", free_port());
    let garbage = b.geo.url("/garbage");

    for urls in [down.clone(), garbage.clone(), format!("{down},{garbage}")] {
        let out = run(&b.home, &b.site, &urls, &["check", "acct", "--json"]);
        assert!(
            out.status.success(),
            "an unknown location alone fails no check: {}",
            stderr(&out)
        );
        let g = &json_of(&out)["geo"];
        assert_eq!(g["verdict"], "unknown", "{urls}: {g:#}");
        assert_eq!(g["consistent"], false, "never a false consistent");
        assert_eq!(g["country"], Value::Null);
        assert!(
            g["reason"].as_str().is_some_and(|r| !r.is_empty()),
            "says why: {g:#}"
        );
    }

    // A template that requires the fit is refused while nobody can say where the exit is.
    b.home
        .ok(&["template", "edit", "acct", "--require-consistent", "on"]);
    let out = run(&b.home, &b.site, &garbage, &["check", "acct", "--json"]);
    assert_eq!(out.status.code(), Some(1), "not ok for this template");
    assert_eq!(json_of(&out)["ok"], false);
    match launch_with(&b.home, &b.site, &garbage) {
        Ok(l) => panic!("launched with an unknown location: {}", l.info),
        Err(e) => assert!(e.contains("environment_mismatch"), "{e}"),
    }
    let before = b.home.show_json("acct");
    let out = run(
        &b.home,
        &b.site,
        &down,
        &["template", "edit", "acct", "--match-exit"],
    );
    assert!(!out.status.success(), "nothing to match");
    assert!(
        stderr(&out).contains("exit_location_unknown"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        b.home.show_json("acct")["version"],
        before["version"],
        "nothing was written"
    );
}

#[test]
fn the_exit_moving_to_another_country_mid_session_raises_geo_changed_and_a_risk_window() {
    let mut b = Berlin::start();
    let geo_url = b.geo.url("/json");
    b.home
        .ok(&["setting", "set", "egress.probe_interval_secs", "1"]);
    let _launched = launch_with(&b.home, &b.site, &geo_url).expect("launch");
    let risk = |b: &Berlin| json_of(&run(&b.home, &b.site, "off", &["risk", "acct", "--json"]));
    assert_eq!(risk(&b)["open"], false, "a fitting session starts calm");

    b.move_exit_to_japan();
    let deadline = Instant::now() + WAIT;
    let reasons = loop {
        let r = risk(&b);
        let reasons = r["reasons"].as_array().cloned().unwrap_or_default();
        if reasons.iter().any(|x| x["kind"] == "geo_changed") {
            assert_eq!(r["open"], true);
            break reasons;
        }
        assert!(
            Instant::now() < deadline,
            "no geo_changed risk window: {r:#}"
        );
        // The re-probe runs every second and `risk` reads what it stored: nothing to await.
        std::thread::sleep(Duration::from_millis(200));
    };
    let geo_reason = reasons
        .iter()
        .find(|x| x["kind"] == "geo_changed")
        .expect("geo reason");
    assert_eq!(geo_reason["detail"], "exit country DE → JP");
    let events = json_of(&run(
        &b.home,
        &b.site,
        "off",
        &["events", "acct", "--kind", "geo_changed", "--json"],
    ));
    let e = &events[0]["detail"];
    assert_eq!(
        (&e["old"], &e["new"], &e["timezone"]),
        (
            &Value::from("DE"),
            &Value::from("JP"),
            &Value::from("Asia/Tokyo")
        ),
        "{events:#}"
    );
}
