//! The local automation API (`holdfast serve`) as a client meets it: the token file, the gate
//! (token, Host, Origin, body size, strict bodies), and sessions started through it driven by
//! real automation clients — Playwright (Python), Puppeteer (Node) and Selenium with Debian's
//! chromedriver — through the account's exit. The README's examples are what runs.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use common::servers::Upstream;
use common::site::Site;
use common::{KeyringSession, TestHome};

const WAIT: Duration = Duration::from_secs(60);

/// `holdfast serve` on a free port; SIGTERM and wait on drop.
struct Served {
    child: Child,
    port: u16,
}

impl Served {
    fn start(home: &TestHome, site: &Site) -> Self {
        Self::start_with(home, site, &[])
    }

    /// As `start`, with more environment (e.g. the NTP servers to check the clock against).
    fn start_with(home: &TestHome, site: &Site, env: &[(&str, &str)]) -> Self {
        let mut cmd = common::launched::cmd(home, site);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .args(["serve", "--port", "0", "--json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn holdfast serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("serve prints its address");
        let info: Value = serde_json::from_str(&line).expect("one JSON line");
        let url = info["url"].as_str().expect("url");
        let port = url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port");
        Self { child, port }
    }

    /// Ends `serve` as Ctrl-C would; its exit status.
    fn stop(mut self) -> std::process::ExitStatus {
        common::launched::signal(self.child.id() as i32, libc::SIGTERM);
        self.child.wait().expect("wait serve")
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            common::launched::signal(self.child.id() as i32, libc::SIGTERM);
            let deadline = std::time::Instant::now() + Duration::from_secs(20);
            while self.child.try_wait().ok().flatten().is_none()
                && std::time::Instant::now() < deadline
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `api.json` of a home.
fn endpoint(home: &TestHome) -> Value {
    serde_json::from_slice(&std::fs::read(home.path().join("api.json")).expect("api.json"))
        .expect("api.json is JSON")
}

/// One HTTP/1.1 request with exactly these headers (a client library would add its own Host).
fn raw(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, Value) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the API");
    s.set_read_timeout(Some(WAIT)).expect("timeout");
    let mut req = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    s.write_all(req.as_bytes()).expect("write head");
    // A server may answer (413) before it has read all of a large body.
    let _ = s.write_all(body);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("an HTTP answer: {text:?}"));
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// A request as a well-behaved client sends it: right Host, the token, JSON.
fn call(port: u16, token: &str, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let host = format!("127.0.0.1:{port}");
    let auth = format!("Bearer {token}");
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    raw(
        port,
        method,
        path,
        &[
            ("Host", &host),
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        body.as_bytes(),
    )
}

#[test]
fn serve_writes_an_owner_only_token_file_and_refuses_every_request_without_it_or_from_a_page() {
    let keyring = KeyringSession::start();
    let home = TestHome::with_keyring(&keyring);
    let site = Site::start();
    let served = Served::start(&home, &site);
    let port = served.port;

    let file = home.path().join("api.json");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&file).expect("api.json").permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "api.json is the owner's only");
    let e = endpoint(&home);
    let token = e["token"].as_str().expect("token").to_owned();
    assert_eq!(e["url"], format!("http://127.0.0.1:{port}"));
    assert_eq!(
        home.ok(&["api", "token"]).trim(),
        token,
        "the token is the keyring's"
    );

    let host = format!("127.0.0.1:{port}");
    let (status, body) = raw(port, "GET", "/v1/templates", &[("Host", &host)], b"");
    assert_eq!(status, 401, "no token: {body}");
    assert_eq!(body["code"], "unauthorized");
    let (status, _) = raw(
        port,
        "GET",
        "/v1/templates",
        &[
            ("Host", &host),
            ("Authorization", "Bearer hf_not-the-token"),
        ],
        b"",
    );
    assert_eq!(status, 401, "a wrong token");
    let auth = format!("Bearer {token}");
    let (status, body) = raw(
        port,
        "GET",
        "/v1/templates",
        &[("Host", "evil.example"), ("Authorization", &auth)],
        b"",
    );
    assert_eq!(status, 403, "a foreign Host (DNS rebinding): {body}");
    assert_eq!(body["field"], "host");
    let (status, body) = raw(
        port,
        "GET",
        "/v1/templates",
        &[
            ("Host", &host),
            ("Authorization", &auth),
            ("Origin", "http://evil.example"),
        ],
        b"",
    );
    assert_eq!(
        status, 403,
        "a page's request (Origin), even with the token: {body}"
    );
    let (status, body) = call(port, &token, "GET", "/v1/templates", None);
    assert_eq!((status, body), (200, json!([])), "the token opens the API");

    let big = vec![b' '; holdfast_api_max_body() + 1];
    let (status, body) = raw(
        port,
        "POST",
        "/v1/templates",
        &[("Host", &host), ("Authorization", &auth)],
        &big,
    );
    assert_eq!(status, 413, "an oversize body: {body}");
    assert_eq!(body["code"], "body_too_large");
    let (status, body) = call(
        port,
        &token,
        "POST",
        "/v1/templates",
        Some(json!({"name": "a", "exit": "direct", "admin": true})),
    );
    assert_eq!(status, 400, "an unknown field: {body}");
    assert_eq!(body["code"], "invalid_request");
    assert_eq!(
        body["field"], "admin",
        "the payload names the field: {body}"
    );
    let (status, body) = call(
        port,
        &token,
        "POST",
        "/v1/templates",
        Some(json!({"name": "a", "exit": "direct", "timezone": "Mars/Olympus"})),
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        (body["code"].as_str(), body["field"].as_str()),
        (Some("invalid_timezone"), Some("timezone")),
        "the core's own validation, as the CLI reports it: {body}"
    );
    assert!(
        home.list_json().is_empty(),
        "nothing was written by refused requests"
    );

    // Rotation: the old token stops working at the next request.
    let rotated = home.ok(&["api", "token", "--rotate"]).trim().to_owned();
    assert_ne!(rotated, token);
    assert_eq!(call(port, &token, "GET", "/v1/templates", None).0, 401);
    assert_eq!(call(port, &rotated, "GET", "/v1/templates", None).0, 200);

    assert!(served.stop().success(), "serve ends cleanly on SIGTERM");
    assert!(!file.exists(), "and takes its api.json with it");
}

/// The body limit the API states (kept in step with `holdfast_api::MAX_BODY`).
fn holdfast_api_max_body() -> usize {
    256 * 1024
}

/// A home with template `acct` behind a real tinyproxy leaving from 127.0.0.2, and its API.
struct Account {
    _keyring: KeyringSession,
    home: TestHome,
    site: Site,
    _proxy: Upstream,
    served: Option<Served>,
}

fn account() -> Account {
    let site = Site::start();
    let proxy = Upstream::tinyproxy("127.0.0.2", 0);
    let (home, keyring) = common::account_with_keyring(&proxy.http_url(), &site.url("/page"));
    let served = Served::start(&home, &site);
    Account {
        _keyring: keyring,
        home,
        site,
        _proxy: proxy,
        served: Some(served),
    }
}

impl Account {
    fn port(&self) -> u16 {
        self.served.as_ref().expect("serving").port
    }
    fn token(&self) -> String {
        endpoint(&self.home)["token"]
            .as_str()
            .expect("token")
            .to_owned()
    }
}

#[test]
fn start_answers_with_every_endpoint_form_a_second_start_is_409_and_stop_closes_it() {
    let a = account();
    let (port, token) = (a.port(), a.token());
    let (status, s) = call(
        port,
        &token,
        "POST",
        "/v1/templates/acct/start",
        Some(json!({"headless": true})),
    );
    assert_eq!(status, 201, "{s}");
    let ws = s["ws_endpoint"].as_str().expect("ws_endpoint");
    let addr = s["debugger_address"].as_str().expect("debugger_address");
    assert!(
        ws.starts_with(&format!("ws://{addr}/devtools/browser/")),
        "a browser websocket on the debugger address: {s}"
    );
    assert_eq!(s["http_endpoint"], format!("http://{addr}"));
    assert_eq!(s["egress_ip"], "127.0.0.2", "checked through the exit: {s}");
    assert!(s["pid"].as_i64().is_some_and(|p| p > 0), "{s}");
    assert!(s["relay"].as_str().is_some(), "{s}");
    assert!(s["warnings"].is_array(), "{s}");
    a.site
        .wait_for("the start page through the exit", WAIT, |h| {
            h.path == "/page" && h.peer == "127.0.0.2"
        });

    let (status, body) = call(port, &token, "POST", "/v1/templates/acct/start", None);
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "already_running");
    let (status, list) = call(port, &token, "GET", "/v1/sessions", None);
    assert_eq!(status, 200);
    assert_eq!(
        list.as_array().map(Vec::len),
        Some(1),
        "one session: {list}"
    );

    let (status, stopped) = call(port, &token, "POST", "/v1/templates/acct/stop", None);
    assert_eq!(status, 200, "{stopped}");
    let (_, list) = call(port, &token, "GET", "/v1/sessions", None);
    assert_eq!(list, json!([]), "no session after the stop");
    let pid = s["pid"].as_i64().expect("pid") as i32;
    // SAFETY: signal 0 only asks whether the process exists.
    let alive = unsafe { libc::kill(pid, 0) } == 0;
    assert!(!alive, "the browser is gone");
}

/// Runs one of the README's examples (`examples/api/…`) against the account; its stdout.
fn example(a: &Account, program: &str, script: &str) -> String {
    let dir = repo().join("examples/api");
    let out = Command::new(program)
        .arg(dir.join(script))
        .args(["acct", &a.site.url("/hello")])
        .current_dir(&dir)
        .env("HOLDFAST_HOME", a.home.path())
        .output()
        .unwrap_or_else(|e| panic!("{program} (scripts/setup.sh test installs it): {e}"));
    assert!(
        out.status.success(),
        "{script}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        common::stderr(&out)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repo root")
        .to_path_buf()
}

fn venv_python() -> String {
    repo()
        .join(".venv-e2e/bin/python")
        .to_string_lossy()
        .into_owned()
}

/// Each client drove the account: its page went out through the exit, and the session is
/// stopped again.
fn assert_drove(a: &Account, client: &str) {
    let hit = a
        .site
        .wait_for(&format!("{client}'s page"), WAIT, |h| h.path == "/hello");
    assert_eq!(
        hit.peer, "127.0.0.2",
        "{client}'s page went out through the account's exit"
    );
    let (_, list) = call(a.port(), &a.token(), "GET", "/v1/sessions", None);
    assert_eq!(list, json!([]), "{client}'s example stopped the session");
}

#[test]
fn playwright_drives_a_started_account_over_ws_endpoint() {
    let a = account();
    let out = example(&a, &venv_python(), "playwright_start.py");
    assert!(out.contains("hello"), "Playwright read the page: {out}");
    assert_drove(&a, "Playwright");
}

#[test]
fn puppeteer_drives_a_started_account_over_browser_ws_endpoint() {
    let a = account();
    let out = example(&a, "node", "puppeteer_start.mjs");
    assert!(out.contains("hello"), "Puppeteer read the page: {out}");
    assert_drove(&a, "Puppeteer");
}

#[test]
fn selenium_with_chromedriver_drives_a_started_account_over_debugger_address() {
    let a = account();
    let out = example(&a, &venv_python(), "selenium_start.py");
    assert!(out.contains("hello"), "Selenium read the page: {out}");
    assert_drove(&a, "Selenium");
}

#[test]
fn an_mcp_client_lists_the_tools_starts_an_account_gets_its_ws_endpoint_and_stops_it() {
    let a = account();
    let out = example(&a, &venv_python(), "mcp_start.py");
    for tool in [
        "health",
        "list_templates",
        "risk",
        "start",
        "status",
        "stop",
    ] {
        assert!(
            out.contains(&format!("'{tool}'")),
            "the tool {tool} is listed: {out}"
        );
    }
    assert!(
        out.contains("ws_endpoint: ws://127.0.0.1:"),
        "the start answers with the browser's websocket: {out}"
    );
    assert!(out.contains("stopped: True"), "{out}");
    let hit = a
        .site
        .wait_for("the start page", WAIT, |h| h.path == "/page");
    assert_eq!(hit.peer, "127.0.0.2", "started through the account's exit");
    let (_, list) = call(a.port(), &a.token(), "GET", "/v1/sessions", None);
    assert_eq!(list, json!([]), "stopped through MCP");

    // The MCP endpoint is behind the same gate.
    let host = format!("127.0.0.1:{}", a.port());
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}});
    let (status, _) = raw(
        a.port(),
        "POST",
        "/mcp",
        &[
            ("Host", &host),
            ("Accept", "application/json, text/event-stream"),
        ],
        init.to_string().as_bytes(),
    );
    assert_eq!(status, 401, "/mcp without the token");
}

#[test]
fn the_openapi_document_is_served_and_schemathesis_finds_no_server_error() {
    let keyring = KeyringSession::start();
    let home = TestHome::with_keyring(&keyring);
    let site = Site::start();
    let served = Served::start(&home, &site);
    let port = served.port;
    let token = endpoint(&home)["token"].as_str().expect("token").to_owned();
    let (status, doc) = call(port, &token, "GET", "/v1/openapi.json", None);
    assert_eq!(status, 200);
    let printed: Value =
        serde_json::from_str(&home.ok(&["api", "openapi"])).expect("api openapi prints JSON");
    assert_eq!(
        doc, printed,
        "`holdfast api openapi` prints the served document"
    );
    for (path, method) in [
        ("/v1/templates", "post"),
        ("/v1/templates/{name}/start", "post"),
        ("/v1/sessions", "get"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is described"
        );
    }
    assert!(
        doc["components"]["schemas"]["StartReply"]["properties"]["ws_endpoint"].is_object(),
        "the start answer's schema comes from its Rust type"
    );

    // Property tests from the document: bounded, reproducible, no 5xx and no crash. Bundles
    // (files on this machine) and start/check (browsers, exits) have tests of their own.
    let st = repo().join(".venv-e2e/bin/st");
    let out = Command::new(&st)
        .args(["run", &format!("http://127.0.0.1:{port}/v1/openapi.json")])
        .args(["-H", &format!("Authorization: Bearer {token}")])
        .args(["--checks", "not_a_server_error", "-n", "25", "--seed", "1"])
        .args(["--phases", "examples,coverage,fuzzing"])
        .args([
            "--exclude-path-regex",
            r"^/v1/(bundles|events|templates/\{name\}/(start|check))",
        ])
        .current_dir(home.path())
        .output()
        .unwrap_or_else(|e| panic!("schemathesis (scripts/setup.sh test installs it): {e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis found a failure:\n{text}\n{}",
        common::stderr(&out)
    );
    assert!(text.contains("passed"), "{text}");
    let mut served = served;
    assert!(
        served.child.try_wait().expect("wait").is_none(),
        "serve survived the fuzzing"
    );
}

#[test]
fn a_page_on_another_origin_gets_nothing_from_the_api_and_changes_nothing() {
    let a = account();
    let (port, token) = (a.port(), a.token());
    // The account's own browser opens a hostile page that goes for the API.
    let attack = a.site.url(&format!("/attack?port={port}"));
    let (status, s) = call(
        port,
        &token,
        "POST",
        "/v1/templates/acct/start",
        Some(json!({"headless": true, "start_urls": [attack]})),
    );
    assert_eq!(status, 201, "{s}");
    let report = a
        .site
        .wait_for("the page's report", WAIT, |h| h.path == "/report/attack");
    let lines: Vec<&str> = report.body.lines().collect();
    assert_eq!(
        lines,
        vec![
            "cors-get blocked",
            "nocors-get opaque 0 []",
            "nocors-post opaque 0",
            "cors-post blocked",
        ],
        "a CORS read fails, a no-cors one is opaque (nothing readable), a write with or \
         without preflight gets nowhere"
    );
    let (_, list) = call(port, &token, "GET", "/v1/templates", None);
    let names: Vec<&str> = list
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(names, vec!["acct"], "the page created nothing");
}

/// `GET /v1/events`, read on a thread: each SSE message's `data` as JSON, in order.
fn event_stream(port: u16, token: &str) -> std::sync::mpsc::Receiver<Value> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let req = format!(
        "GET /v1/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n\
         Accept: text/event-stream\r\n\r\n"
    );
    s.write_all(req.as_bytes()).expect("write");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // Chunked transfer: chunk-size lines are neither `data:` nor JSON, so they drop out.
        for line in BufReader::new(s).lines() {
            let Ok(line) = line else { break };
            if let Some(data) = line.strip_prefix("data: ") {
                if let Ok(v) = serde_json::from_str::<Value>(data) {
                    if tx.send(v).is_err() {
                        break;
                    }
                }
            }
        }
    });
    rx
}

/// The next event of type `kind` (others before it are skipped).
fn next_event(rx: &std::sync::mpsc::Receiver<Value>, kind: &str) -> Value {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(v) if v["type"] == kind => return v,
            Ok(_) => continue,
            Err(e) => panic!("no {kind} event on /v1/events: {e}"),
        }
    }
}

#[test]
fn the_event_stream_tells_a_script_of_launch_session_events_and_the_end() {
    let a = account();
    let (port, token) = (a.port(), a.token());
    let events = event_stream(port, &token);
    let (status, _) = call(
        port,
        &token,
        "POST",
        "/v1/templates/acct/start",
        Some(json!({"headless": true})),
    );
    assert_eq!(status, 201);
    let launched = next_event(&events, "launched");
    assert_eq!(launched["template"], "acct", "{launched}");
    let stopped =
        std::thread::spawn(move || call(port, &token, "POST", "/v1/templates/acct/stop", None));
    let exited = loop {
        let e = next_event(&events, "session");
        if e["record"]["event"]["kind"] == "browser_exited" {
            break e;
        }
    };
    assert_eq!(exited["template"], "acct", "{exited}");
    let ended = next_event(&events, "ended");
    assert_eq!(ended["template"], "acct", "{ended}");
    assert_eq!(stopped.join().expect("stop").0, 200);
}

/// The browsers running on each profile of `home`: the pids of the processes Holdfast started
/// as browsers, i.e. process-group leaders (it spawns each browser in its own group) that are
/// alive, carry no `--type=`, name a profile of `home`, and are not a child of a process on that
/// profile. Chromium rewrites its `/proc/PID/cmdline` into one space-joined string once it runs,
/// so both forms are read. Not counted: a fork of a killed wrapper script that is still exiting
/// (not a group leader), and a child the browser has just forked that still shows the browser's
/// command line until it execs (the crash handler's launch puts one in a session of its own).
fn browsers_per_profile(home: &TestHome) -> std::collections::HashMap<String, Vec<String>> {
    let profiles = format!("--user-data-dir={}/profiles/", home.path().display());
    let mut found: std::collections::HashMap<String, Vec<String>> = Default::default();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let pid = entry.file_name().to_string_lossy().into_owned();
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<String> = cmdline
            .split(|b| *b == 0 || *b == b' ')
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let Some(profile) = args.iter().find_map(|a| a.strip_prefix(&profiles)) else {
            continue;
        };
        if args.iter().any(|a| a.starts_with("--type=")) {
            continue;
        }
        // state ppid pgrp session …
        let stat = common::proc_stat(&pid);
        let alive = stat.first().is_some_and(|s| s != "Z" && s != "X");
        // Its own group, but not its own session: Holdfast never calls setsid for a browser,
        // while Chromium's crash handler launch does (a double fork whose middle process calls
        // setsid and shows the browser's command line until it forks again).
        let leader = stat.get(2) == Some(&pid) && stat.get(3) != Some(&pid);
        let parent = stat
            .get(1)
            .and_then(|ppid| std::fs::read(format!("/proc/{ppid}/cmdline")).ok())
            .unwrap_or_default();
        let forked = String::from_utf8_lossy(&parent).contains(&format!("{profiles}{profile}"));
        if alive && leader && !forked {
            found.entry(profile.to_owned()).or_default().push(format!(
                "{pid} (parent {}): {}",
                stat.get(1).map_or("?", String::as_str),
                String::from_utf8_lossy(&cmdline)
            ));
        }
    }
    found
}

#[test]
fn twenty_clients_starting_and_stopping_ten_accounts_at_random_never_run_one_twice() {
    let keyring = KeyringSession::start();
    let home = TestHome::with_keyring(&keyring);
    let site = Site::start();
    let names: Vec<String> = (0..10).map(|i| format!("acct{i}")).collect();
    for n in &names {
        common::add_direct(&home, n, &site.url("/page"));
    }
    let served = Served::start(&home, &site);
    let port = served.port;
    let token = endpoint(&home)["token"].as_str().expect("token").to_owned();
    let secs: u64 = std::env::var("HOLDFAST_API_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let until = std::time::Instant::now() + Duration::from_secs(secs);
    let done = std::sync::atomic::AtomicBool::new(false);
    let (starts, (seen_one, twice)) = std::thread::scope(|s| {
        // Watches the processes throughout: never two browsers on one profile.
        let watcher = s.spawn(|| {
            let mut worst: Vec<String> = Vec::new();
            let mut seen_one = false;
            // Also ends by itself: a failed client must not leave the scope waiting here.
            let give_up = until + WAIT;
            while !done.load(std::sync::atomic::Ordering::SeqCst)
                && std::time::Instant::now() < give_up
            {
                for browsers in browsers_per_profile(&home).into_values() {
                    seen_one = true;
                    if browsers.len() > worst.len().max(1) {
                        worst = browsers;
                    }
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            (seen_one, worst)
        });
        let clients: Vec<_> = (0..20u64)
            .map(|c| {
                let (names, token) = (&names, &token);
                s.spawn(move || {
                    let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ (c + 1);
                    let mut starts = 0;
                    while std::time::Instant::now() < until {
                        // xorshift: a different, repeatable sequence per client
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        let name = &names[(x % 10) as usize];
                        let (verb, body) = if x & 0x100 == 0 {
                            ("start", Some(json!({"headless": true})))
                        } else {
                            ("stop", None)
                        };
                        let (status, answer) = call(
                            port,
                            token,
                            "POST",
                            &format!("/v1/templates/{name}/{verb}"),
                            body,
                        );
                        let expected: &[u16] = if verb == "start" {
                            &[201, 409]
                        } else {
                            &[200, 409]
                        };
                        assert!(
                            expected.contains(&status),
                            "{verb} {name}: {status} {answer}"
                        );
                        if status == 201 {
                            starts += 1;
                        }
                    }
                    starts
                })
            })
            .collect();
        let starts: usize = clients.into_iter().map(|c| c.join().expect("client")).sum();
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        (starts, watcher.join().expect("watcher"))
    });
    assert!(starts >= 10, "the clients got sessions started ({starts})");
    // The watcher must see the browsers at all, or its "never two" would prove nothing.
    assert!(seen_one, "the watcher saw the running browsers");
    assert!(
        twice.is_empty(),
        "never two browsers on one profile, saw: {twice:#?}"
    );

    // After: every account stops, then starts and stops again — no stale lease, no orphan.
    for n in &names {
        let (status, body) = call(
            port,
            &token,
            "POST",
            &format!("/v1/templates/{n}/stop"),
            None,
        );
        assert!(status == 200 || status == 409, "stop {n}: {status} {body}");
    }
    assert!(
        browsers_per_profile(&home).is_empty(),
        "no browser outlives its stop: {:?}",
        browsers_per_profile(&home)
    );
    for n in &names {
        let (status, body) = call(
            port,
            &token,
            "POST",
            &format!("/v1/templates/{n}/start"),
            Some(json!({"headless": true})),
        );
        assert_eq!(status, 201, "{n} starts again, no stale lease: {body}");
        let (status, _) = call(
            port,
            &token,
            "POST",
            &format!("/v1/templates/{n}/stop"),
            None,
        );
        assert_eq!(status, 200);
    }
    assert!(served.stop().success());
    assert!(
        browsers_per_profile(&home).is_empty(),
        "no orphan after serve ends"
    );
}

/// An account `acct` (direct exit, opening `start_path` on the site) started through the API and
/// forced past a clock 30 s off (a real chronyd under faketime), re-checked every second, with
/// its event stream read from before the start.
struct ClockOff {
    site: Site,
    _chrony: common::servers::Chrony,
    _keyring: KeyringSession,
    _home: TestHome,
    served: Served,
    token: String,
    events: std::sync::mpsc::Receiver<Value>,
    /// The start's answer.
    started: Value,
}

fn clock_off(start_path: &str) -> ClockOff {
    let site = Site::start();
    let chrony = common::servers::Chrony::start(Some("+30s"));
    let keyring = KeyringSession::start();
    let home = TestHome::with_keyring(&keyring);
    common::add_direct(&home, "acct", &site.url(start_path));
    // Re-checked every second while it runs: each check reaches the stream.
    home.ok(&["setting", "set", "clock.check_interval_secs", "1"]);
    let ntp = format!("127.0.0.1:{}", chrony.port);
    let served = Served::start_with(&home, &site, &[("HOLDFAST_NTP_SERVERS", &ntp)]);
    let token = endpoint(&home)["token"].as_str().expect("token").to_owned();
    let events = event_stream(served.port, &token);
    let (status, started) = call(
        served.port,
        &token,
        "POST",
        "/v1/templates/acct/start",
        Some(json!({"headless": true, "force": true})),
    );
    assert_eq!(status, 201, "forced past the clock refusal: {started}");
    ClockOff {
        site,
        _chrony: chrony,
        _keyring: keyring,
        _home: home,
        served,
        token,
        events,
        started,
    }
}

#[test]
fn the_event_stream_says_when_a_risk_window_opens_a_clock_thirty_seconds_off() {
    let c = clock_off("/page");
    assert!(
        c.started["warnings"].to_string().contains("clock"),
        "the start says what it overrode: {}",
        c.started
    );
    let opened = next_event(&c.events, "risk_opened");
    assert_eq!(opened["template"], "acct", "{opened}");
    assert!(
        opened["reasons"]
            .as_array()
            .is_some_and(|r| r.iter().any(|x| x["kind"] == "clock_drift")),
        "the window opened for the clock: {opened}"
    );
    let (status, _) = call(
        c.served.port,
        &c.token,
        "POST",
        "/v1/templates/acct/stop",
        None,
    );
    assert_eq!(status, 200);
}

#[test]
fn a_held_sensitive_request_is_announced_on_the_stream_and_answered_through_the_api() {
    let c = clock_off("/settings");
    let (site, events, port, token) = (&c.site, &c.events, c.served.port, c.token.as_str());
    next_event(events, "risk_opened");
    // The session's guard intercepts once its own judgement opens the window: the first
    // submissions may still pass. Submit until one is held.
    let (n, hold) = (1..=10)
        .find_map(|_| {
            let n = site.request_submit("fetch");
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while let Ok(e) =
                events.recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
            {
                if e["type"] == "hold_waiting" {
                    return Some((n, e["hold"].clone()));
                }
            }
            site.wait_submit_report(n, WAIT);
            None
        })
        .expect("a submission in the risk window is held");
    assert_eq!(hold["action"], "export", "{hold}");
    let (status, pending) = call(port, token, "GET", "/v1/holds", None);
    assert_eq!(status, 200);
    assert_eq!(
        pending[0]["id"], hold["id"],
        "the hold waits in the list: {pending}"
    );
    let id = hold["id"].as_i64().expect("id");
    let (status, body) = call(
        port,
        token,
        "POST",
        &format!("/v1/holds/{id}"),
        Some(json!({"decision": "proceed"})),
    );
    assert_eq!(status, 204, "{body}");
    let report = site.wait_submit_report(n, WAIT);
    assert_eq!(
        report,
        format!("{n} fetch status 200"),
        "proceeded: the request reached the site"
    );
}
