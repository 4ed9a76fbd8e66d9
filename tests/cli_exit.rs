//! `holdfast check`, `template pin`, `relay`, `stats`, `events` end to end: the real binary, a
//! real keyring holding the exit passwords, tinyproxy (egress 127.0.0.2) and dante (127.0.0.3),
//! and an origin on loopback as the IP-echo service.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use common::servers::{Origin, Upstream, HTTP_PASS};
use common::{json_of, stderr, Children, KeyringSession, TestHome};

fn run(home: &TestHome, echo: &str, args: &[&str]) -> Output {
    home.cmd()
        .env("HOLDFAST_ECHO_URLS", echo)
        .args(args)
        .output()
        .expect("run holdfast")
}

#[test]
fn check_reports_the_egress_and_an_exit_moved_to_another_proxy_is_a_change() {
    let keyring = KeyringSession::start();
    let home = TestHome::with_keyring(&keyring);
    let origin = Origin::start();
    let http = Upstream::tinyproxy("127.0.0.2", 0);
    let socks = Upstream::dante("127.0.0.3", 0);
    let echo = origin.url("/ip");

    home.ok(&["template", "add", "acct", "--exit", &http.http_url()]);
    let out = run(&home, &echo, &["check", "acct", "--json"]);
    assert!(out.status.success(), "check passes: {}", stderr(&out));
    let r = json_of(&out);
    assert_eq!(r["ok"], true);
    assert_eq!(
        r["egress"]["ip"], "127.0.0.2",
        "the IP the echo service saw through tinyproxy"
    );
    assert_eq!(r["egress"]["pinned"], Value::Null);
    assert_eq!(r["egress"]["changed"], false);
    assert_eq!(r["egress"]["via"], echo.as_str());
    assert!(r["egress"]["checked_at"]
        .as_str()
        .is_some_and(|s| s.ends_with('Z')));

    home.ok(&["template", "pin", "acct", "127.0.0.2"]);
    assert_eq!(home.show_json("acct")["pinned_egress_ip"], "127.0.0.2");

    // Move the exit to the SOCKS5 proxy (a JSON echo this time): a different egress.
    home.ok(&["template", "edit", "acct", "--exit", &socks.socks_url()]);
    let out = run(&home, &origin.url("/json"), &["check", "acct", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a changed egress is a failed check"
    );
    let r = json_of(&out);
    assert_eq!(r["ok"], false);
    assert_eq!(r["egress"]["ip"], "127.0.0.3");
    assert_eq!(r["egress"]["pinned"], "127.0.0.2");
    assert_eq!(r["egress"]["previous"], "127.0.0.2");
    assert_eq!(r["egress"]["changed"], true);

    let events = json_of(&run(
        &home,
        &echo,
        &["events", "acct", "--kind", "egress_changed", "--json"],
    ));
    let events = events.as_array().expect("array");
    assert_eq!(events.len(), 1, "one change stored: {events:?}");
    assert_eq!(events[0]["detail"]["old"], "127.0.0.2");
    assert_eq!(events[0]["detail"]["new"], "127.0.0.3");

    // Pin without an IP: pins what the exit shows now.
    let out = run(&home, &echo, &["template", "pin", "acct"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(home.show_json("acct")["pinned_egress_ip"], "127.0.0.3");
    assert_eq!(
        origin.from("127.0.0.1"),
        0,
        "every probe went through an exit"
    );
}

#[test]
fn a_failed_check_names_the_stage_as_an_error_code() {
    let keyring = KeyringSession::start();
    let home = TestHome::with_keyring(&keyring);
    let origin = Origin::start();
    let mut http = Upstream::tinyproxy("127.0.0.2", 0);
    let echo = origin.url("/ip");

    home.ok(&[
        "template",
        "add",
        "bad-pw",
        "--exit",
        &http.http_url().replace(HTTP_PASS, "nope"),
    ]);
    let out = run(&home, &echo, &["check", "bad-pw", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let r = json_of(&out);
    assert_eq!(r["ok"], false);
    assert_eq!(r["error"]["code"], "exit_auth_failed", "{r}");
    assert_eq!(r["egress"]["ip"], Value::Null);

    home.ok(&["template", "add", "down", "--exit", &http.http_url()]);
    http.kill();
    let out = run(&home, &echo, &["check", "down"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("error[exit_unreachable]"),
        "{}",
        stderr(&out)
    );
    assert!(
        origin.peers().is_empty(),
        "nothing reached the echo service: {:?}",
        origin.peers()
    );
}

/// Reads JSON lines from a running `holdfast relay --json` until one matches.
fn wait_line(
    lines: &mut impl Iterator<Item = std::io::Result<String>>,
    want: impl Fn(&Value) -> bool,
    what: &str,
) -> Value {
    for line in lines {
        let line = line.expect("read relay output");
        let v: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
        if want(&v) {
            return v;
        }
    }
    panic!("relay output ended before {what}");
}

#[test]
fn a_running_relay_reprobes_records_a_silent_exit_change_and_flushes_metrics() {
    let keyring = KeyringSession::start();
    let home = TestHome::with_keyring(&keyring);
    let origin = Origin::start();
    let mut http = Upstream::tinyproxy("127.0.0.2", 0);
    let echo = origin.url("/ip");
    home.ok(&["template", "add", "acct", "--exit", &http.http_url()]);
    home.ok(&["setting", "set", "egress.probe_interval_secs", "1"]);
    home.ok(&["setting", "set", "metrics.flush_secs", "1"]);

    let mut children = Children::default();
    let child = children.push(
        home.cmd()
            .env("HOLDFAST_ECHO_URLS", &echo)
            .args(["relay", "acct", "--json"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("start relay"),
    );
    let pid = child.id();
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first: Value =
        serde_json::from_str(&lines.next().expect("first line").expect("read")).expect("JSON");
    let relay = first["relay"].as_str().expect("relay address").to_owned();
    wait_line(
        &mut lines,
        |v| v["event"]["kind"] == "egress_checked" && v["event"]["ip"] == "127.0.0.2",
        "first egress check",
    );

    // Browser traffic through the relay: 50 requests.
    let started = std::time::Instant::now();
    for _ in 0..50 {
        let mut s = TcpStream::connect(&relay).expect("connect relay");
        write!(
            s,
            "GET {} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            origin.url("/bytes/1000")
        )
        .unwrap();
        let mut answer = Vec::new();
        s.read_to_end(&mut answer).unwrap();
        assert!(
            answer.starts_with(b"HTTP/1.1 200"),
            "{}",
            String::from_utf8_lossy(&answer)
        );
    }

    // The exit silently changes: same proxy address, another egress.
    let port = http.port;
    http.kill();
    let _http2 = Upstream::tinyproxy("127.0.0.4", port);
    let change = wait_line(
        &mut lines,
        |v| v["event"]["kind"] == "egress_changed",
        "the egress change",
    );
    assert_eq!(change["event"]["old"], "127.0.0.2");
    assert_eq!(change["event"]["new"], "127.0.0.4");

    Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(
        child.wait().expect("wait").success(),
        "SIGTERM stops the relay cleanly"
    );

    let events = json_of(&run(
        &home,
        &echo,
        &["events", "acct", "--kind", "egress_changed", "--json"],
    ));
    assert_eq!(
        events.as_array().map(Vec::len),
        Some(1),
        "the change was stored: {events}"
    );

    let stats = json_of(&run(&home, &echo, &["stats", "acct", "--json"]));
    let exits = stats["exits"].as_array().expect("exits");
    assert_eq!(exits.len(), 1, "{stats}");
    let e = &exits[0];
    assert_eq!(
        e["key"],
        format!("http://hfuser@127.0.0.1:{port}"),
        "per exit, URL without password"
    );
    assert!(
        e["dial_ok"].as_u64().unwrap() >= 2,
        "probe and browser dials: {e}"
    );
    assert!(e["bytes_down"].as_u64().unwrap() >= 1000, "{e}");
    assert!(
        e["connect_ms"]["p50"].as_f64().is_some(),
        "latency quantiles: {e}"
    );
    assert_eq!(stats["sessions"].as_array().map(Vec::len), Some(1));
    assert!(
        e["dial_ok"].as_u64().unwrap() >= 51,
        "every request counted: {e}"
    );
    // Batched: at most one metrics row per flush interval (1 s here), not one per request.
    let rows = Command::new("sqlite3")
        .arg(home.path().join("holdfast.db"))
        .arg("SELECT count(*) FROM relay_metrics")
        .output()
        .expect("sqlite3");
    let rows: u64 = String::from_utf8_lossy(&rows.stdout)
        .trim()
        .parse()
        .expect("a count");
    let seconds = started.elapsed().as_secs() + 2;
    assert!(
        rows >= 1 && rows <= seconds,
        "{rows} metric rows for 50 requests over ~{seconds} s"
    );
    let db = std::fs::read(home.path().join("holdfast.db")).unwrap_or_default();
    assert!(
        !String::from_utf8_lossy(&db).contains(HTTP_PASS),
        "no password in the database"
    );
}
