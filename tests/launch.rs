//! Launch with real Chromium (headless): the profile goes only through its exit, with its own
//! timezone, language, cookies and DevTools; WebRTC leaks no address; the clock preflight
//! against real chronyd (straight and skewed by libfaketime); one session per template; and
//! recovery from kill -9 of Holdfast or of the browser.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::launched::{cmd, launch, signal, try_launch, try_launch_env};
use common::servers::{Chrony, Stun, Upstream};
use common::site::Site;
use common::{add_direct, stderr, KeyringSession, TestHome};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(60);

fn group_alive(pgid: i32) -> bool {
    // SAFETY: signal 0 only checks for existence.
    unsafe { libc::kill(-pgid, 0) == 0 }
}

/// Waits until no process of the browser's group is left (a process's end has no event we
/// could await from here).
fn wait_group_gone(pgid: i32, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while group_alive(pgid) {
        assert!(
            Instant::now() < deadline,
            "{what}: browser processes (group {pgid}) still alive"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn status(home: &TestHome) -> Vec<Value> {
    let out = home
        .cmd()
        .args(["status", "--json"])
        .output()
        .expect("status");
    assert!(out.status.success(), "status: {}", stderr(&out));
    serde_json::from_slice::<Value>(&out.stdout)
        .expect("json")
        .as_array()
        .cloned()
        .expect("status --json is a list")
}

/// The body of a GET on 127.0.0.1 (DevTools keeps the connection open: read by Content-Length).
fn http_get(port: u16, path: &str) -> String {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(WAIT)).expect("timeout");
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n").expect("write");
    let mut reader = BufReader::new(s);
    let mut len = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("read head");
        if line.trim().is_empty() {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().expect("length");
        }
    }
    let mut body = vec![0; len];
    reader.read_exact(&mut body).expect("read body");
    String::from_utf8_lossy(&body).into_owned()
}

#[test]
fn a_launched_profile_reaches_sites_only_through_its_exit_with_its_timezone_language_and_devtools()
{
    let keyring = KeyringSession::start();
    let home = TestHome::with_keyring(&keyring);
    let site = Site::start();
    let proxy = Upstream::tinyproxy("127.0.0.2", 0);
    home.ok(&[
        "template",
        "add",
        "tokyo",
        "--exit",
        &proxy.http_url(),
        "--timezone",
        "Asia/Tokyo",
        "--locale",
        "de-DE",
        "--start-url",
        &site.url("/env"),
    ]);
    let id = home.show_json("tokyo")["id"]
        .as_str()
        .expect("id")
        .to_owned();

    let mut launched = try_launch(&home, &site, "tokyo", &["--cdp"])
        .unwrap_or_else(|e| panic!("launch tokyo --cdp failed: {e}"));
    let info = launched.info.clone();
    assert_eq!(info["template"], "tokyo");
    assert_eq!(
        info["profile_dir"].as_str().expect("profile_dir"),
        home.path()
            .join("profiles")
            .join(&id)
            .to_str()
            .expect("utf8"),
        "each template has its own user-data-dir under HOLDFAST_HOME/profiles/<id>"
    );
    assert_eq!(
        info["egress_ip"], "127.0.0.2",
        "the preflight saw the exit's address"
    );

    let report = site.wait_for("the /env page's report", WAIT, |h| h.path == "/report/env");
    let env: Value = serde_json::from_str(&report.body).expect("report json");
    assert_eq!(
        env["tz"], "Asia/Tokyo",
        "the template's timezone reaches JS"
    );
    assert_eq!(env["offset"], -540);
    assert_eq!(
        env["language"], "de-DE",
        "the template's language reaches navigator.language"
    );
    assert!(
        report
            .header("accept-language")
            .is_some_and(|v| v.starts_with("de-DE")),
        "Accept-Language follows the template: {:?}",
        report.header("accept-language")
    );
    for h in site.hits() {
        assert_eq!(
            h.peer, "127.0.0.2",
            "every request of the profile left through the exit: {h:?}"
        );
    }

    // Asked for with --cdp: DevTools on 127.0.0.1 at the port the JSON line names.
    let cdp = info["cdp"].as_str().expect("cdp");
    let port: u16 = cdp
        .strip_prefix("ws://127.0.0.1:")
        .and_then(|r| r.split('/').next())
        .and_then(|p| p.parse().ok())
        .expect("cdp is ws://127.0.0.1:PORT/...");
    let version = http_get(port, "/json/version");
    assert!(
        version.contains(cdp),
        "DevTools answers with the same browser websocket: {version}"
    );
    // Stock Chromium renders the address bar's popup as a page of its own at start-up (it is
    // listed beside the tab from the first moment); Holdfast turns that off to start faster.
    let targets = http_get(port, "/json/list");
    assert!(
        targets.contains("\"page\"") && !targets.contains("omnibox-popup"),
        "the session's browser has its tab and no preloaded omnibox popup page: {targets}"
    );

    let running = status(&home);
    assert_eq!(running.len(), 1, "status lists the session: {running:?}");
    assert_eq!(running[0]["pid"], info["pid"]);
    assert_eq!(running[0]["template"], "tokyo");

    let again = try_launch(&home, &site, "tokyo", &[]);
    let err = again
        .err()
        .expect("a second launch of the same template is refused");
    assert!(
        err.contains("error[already_running]")
            && err.contains(&format!("pid {}", launched.browser_pid())),
        "the refusal names the running pid: {err}"
    );

    let out = home.run(&["template", "rm", "tokyo", "--purge"]);
    assert!(
        stderr(&out).contains("error[already_running]"),
        "a running template's profile is not deleted under its browser: {}",
        stderr(&out)
    );

    let out = home.run(&["stop", "tokyo"]);
    assert!(out.status.success(), "stop: {}", stderr(&out));
    assert!(
        launched.wait_exit(WAIT).success(),
        "the launcher ends cleanly after stop"
    );
    wait_group_gone(launched.browser_pid(), "after stop");
    assert!(status(&home).is_empty(), "nothing runs after stop");
    let out = home.run(&["stop", "tokyo"]);
    assert!(
        stderr(&out).contains("error[not_running]"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn webrtc_gathers_no_candidate_and_sends_nothing_to_stun() {
    let home = TestHome::new();
    let site = Site::start();
    let stun = Stun::start();
    let page = site.url(&format!("/ice?stun=127.0.0.1:{}", stun.port));

    // Control: the same page in a plain Chromium does gather and asks the STUN server, so the
    // page and the server would show a leak.
    let before = stun.bindings();
    let profile = tempfile::tempdir().expect("tmp");
    let mut bare = std::process::Command::new("chromium")
        .args(["--headless", "--no-sandbox", "--no-first-run"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(&page)
        .env("HOME", home.path().join("user-home"))
        .env("XDG_CONFIG_HOME", home.path().join("user-home/.config"))
        .env("XDG_CACHE_HOME", home.path().join("user-home/.cache"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium (apt: chromium)");
    let control = site.wait_for("the control's ICE report", WAIT, |h| {
        h.path == "/report/ice"
    });
    let _ = bare.kill();
    let _ = bare.wait();
    let control: Value = serde_json::from_str(&control.body).expect("json");
    assert!(
        !control["candidates"].as_array().expect("list").is_empty() && stun.bindings() > before,
        "control: a plain Chromium gathers candidates and asks STUN: {control}"
    );

    home.ok(&[
        "template",
        "add",
        "rtc",
        "--exit",
        "direct",
        "--start-url",
        &page,
    ]);
    let before = stun.bindings();
    let _launched = launch(&home, &site, "rtc");
    // The control's report came first; the second is the profile's.
    let hit = site.wait_nth("the launched profile's ICE report", WAIT, 2, |h| {
        h.path == "/report/ice"
    });
    let mine: Value = serde_json::from_str(&hit.body).expect("json");
    assert_eq!(
        mine["candidates"].as_array().expect("list").len(),
        0,
        "no host, mDNS or server-reflexive candidate: {mine}"
    );
    assert_eq!(stun.bindings(), before, "no STUN request left the profile");
}

#[test]
fn cookies_stay_in_their_own_profile_and_survive_stop_and_relaunch() {
    let home = TestHome::new();
    let site = Site::start();
    add_direct(&home, "alice", &site.url("/login?user=alice"));
    add_direct(&home, "bob", &site.url("/whoami"));

    let mut alice = launch(&home, &site, "alice");
    let hit = site.wait_for("alice's page after login", WAIT, |h| h.path == "/whoami");
    assert_eq!(
        hit.cookie("sid").as_deref(),
        Some("alice"),
        "alice's profile keeps its cookie"
    );

    let bob = launch(&home, &site, "bob");
    let hit = site.wait_nth("bob's page", WAIT, 2, |h| h.path == "/whoami");
    assert_eq!(
        hit.cookie("sid"),
        None,
        "bob's profile does not see alice's cookie: {hit:?}"
    );
    drop(bob);

    let out = home.run(&["stop", "alice"]);
    assert!(out.status.success(), "stop: {}", stderr(&out));
    assert!(alice.wait_exit(WAIT).success());
    home.ok(&[
        "template",
        "edit",
        "alice",
        "--start-url",
        &site.url("/after-relaunch"),
    ]);
    let _alice = launch(&home, &site, "alice");
    let hit = site.wait_for("alice's page after relaunch", WAIT, |h| {
        h.path == "/after-relaunch"
    });
    assert_eq!(
        hit.cookie("sid").as_deref(),
        Some("alice"),
        "after stop and relaunch the profile is still logged in"
    );
}

#[test]
fn the_clock_is_checked_against_real_ntp_and_a_skewed_clock_refuses_the_launch() {
    let home = TestHome::new();
    let site = Site::start();
    let good = Chrony::start(None);
    let skewed = Chrony::start(Some("+30s"));
    home.ok(&["template", "add", "clocked", "--exit", "direct"]);

    let check = |servers: &str| {
        let out = cmd(&home, &site)
            .env("HOLDFAST_NTP_SERVERS", servers)
            .args(["check", "clocked", "--json"])
            .output()
            .expect("check");
        (
            out.status.success(),
            serde_json::from_slice::<Value>(&out.stdout).expect("json"),
        )
    };
    let (ok, r) = check(&good.addr());
    assert!(ok, "a true clock passes: {r}");
    let clock = &r["clock"];
    assert!(
        clock["offset_ms"].as_i64().expect("offset").abs() < 500,
        "{clock}"
    );
    assert_eq!(clock["ok"], true);
    assert_eq!(clock["servers"][0]["stratum"], 8, "chronyd's local stratum");

    let (ok, r) = check(&skewed.addr());
    assert!(!ok, "30 s off is beyond clock.block_ms: {r}");
    let offset = r["clock"]["offset_ms"].as_i64().expect("offset");
    assert!(
        (29_000..31_000).contains(&offset),
        "faketime +30s is seen as +30 s: {offset}"
    );
    assert_eq!(r["clock"]["verdict"], "block");

    // The median of three: one skewed server does not move it.
    let three = format!("{},{},{}", good.addr(), skewed.addr(), good.addr());
    let (ok, r) = check(&three);
    assert!(
        ok && r["clock"]["offset_ms"].as_i64().expect("offset").abs() < 500,
        "{r}"
    );

    let out = cmd(&home, &site)
        .env("HOLDFAST_NTP_SERVERS", skewed.addr())
        .args(["launch", "clocked", "--headless", "--json"])
        .output()
        .expect("launch");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("error[clock_skew]"),
        "{}",
        stderr(&out)
    );
    assert!(status(&home).is_empty(), "a refused launch starts nothing");
    // The browser starts while the preflight runs; a refusal stops it before the command ends.
    let left = std::process::Command::new("pgrep")
        .args(["-f", &home.path().display().to_string()])
        .output()
        .expect("pgrep");
    assert!(
        left.stdout.is_empty(),
        "no process of the refused launch is left: {}",
        String::from_utf8_lossy(&left.stdout)
    );

    // A running session re-checks the clock: every second here.
    home.ok(&["setting", "set", "clock.check_interval_secs", "1"]);
    home.ok(&["setting", "set", "metrics.flush_secs", "1"]);
    let mut forced = try_launch_env(
        &home,
        &site,
        "clocked",
        &["--force"],
        &[("HOLDFAST_NTP_SERVERS", &skewed.addr())],
    )
    .unwrap_or_else(|e| panic!("--force launches anyway: {e}"));
    let forced_list = forced.info["forced"].as_array().expect("forced").clone();
    assert!(
        forced_list
            .iter()
            .any(|f| f.as_str().is_some_and(|s| s.contains("clock is off"))),
        "the overridden refusal is reported: {forced_list:?}"
    );
    assert!((29_000..31_000).contains(&forced.info["clock_offset_ms"].as_i64().expect("offset")));
    let deadline = Instant::now() + WAIT;
    loop {
        let out = home.ok(&["events", "clocked", "--kind", "clock_checked", "--json"]);
        let events: Vec<Value> = serde_json::from_str(&out).expect("events json");
        // One from the preflight, then the periodic ones.
        if events.len() >= 3 {
            assert!(
                events.iter().all(|e| e.to_string().contains("block")),
                "each re-check sees the skew: {events:?}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the clock was not re-checked while running: {events:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    signal(forced.holdfast_pid(), libc::SIGTERM);
    assert!(
        forced.wait_exit(WAIT).success(),
        "SIGTERM ends the session cleanly"
    );
    wait_group_gone(forced.browser_pid(), "after SIGTERM");
}

#[test]
fn a_missing_browser_is_a_clear_error() {
    let home = TestHome::new();
    let site = Site::start();
    home.ok(&["template", "add", "nob", "--exit", "direct"]);
    let out = cmd(&home, &site)
        .env("HOLDFAST_CHROMIUM", "/nonexistent/chrome")
        .args(["launch", "nob", "--headless"])
        .output()
        .expect("launch");
    assert!(
        stderr(&out).contains("error[browser_not_found]")
            && stderr(&out).contains("/nonexistent/chrome"),
        "{}",
        stderr(&out)
    );
    let empty = tempfile::tempdir().expect("tmp");
    let out = cmd(&home, &site)
        .env("PATH", empty.path())
        .args(["launch", "nob", "--headless"])
        .output()
        .expect("launch");
    assert!(
        stderr(&out).contains("error[browser_not_found]")
            && stderr(&out).contains("apt install chromium"),
        "the error says what to install: {}",
        stderr(&out)
    );
}

#[test]
fn after_kill_9_of_holdfast_or_of_the_browser_the_next_launch_just_works() {
    let home = TestHome::new();
    let site = Site::start();
    home.ok(&["template", "add", "crashy", "--exit", "direct"]);

    // Holdfast killed: the browser dies with it, the lease goes with the process.
    let mut first = launch(&home, &site, "crashy");
    let (hf, browser) = (first.holdfast_pid(), first.browser_pid());
    signal(hf, libc::SIGKILL);
    let _ = first.wait_exit(WAIT);
    wait_group_gone(browser, "after kill -9 of holdfast");
    assert!(
        status(&home).is_empty(),
        "status drops the dead session's record"
    );

    // The browser killed: the launcher notices, cleans up and exits.
    let mut second = launch(&home, &site, "crashy");
    signal(second.browser_pid(), libc::SIGKILL);
    let code = second.wait_exit(WAIT);
    assert!(
        code.success(),
        "the launcher ends when its browser dies: {code:?}"
    );
    wait_group_gone(second.browser_pid(), "after kill -9 of the browser");
    assert!(status(&home).is_empty());

    let third = launch(&home, &site, "crashy");
    assert_eq!(
        status(&home).len(),
        1,
        "relaunch works without manual cleanup"
    );
    drop(third);
}

/// The pids of every process in group `pgid` (the browser and its helpers).
fn group_members(pgid: i32) -> Vec<i32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        // state ppid pgrp …
        if common::proc_stat(&pid.to_string()).get(2) == Some(&pgid.to_string()) {
            pids.push(pid);
        }
    }
    pids
}

#[test]
fn without_cdp_no_process_of_the_session_listens_on_tcp_and_stop_still_closes_cleanly() {
    let home = TestHome::new();
    let site = Site::start();
    add_direct(&home, "quiet", &site.url("/page"));
    let mut launched = launch(&home, &site, "quiet");
    assert!(
        launched.info["cdp"].is_null(),
        "no automation port unless asked: {}",
        launched.info
    );
    site.wait_for("the start page", WAIT, |h| h.path == "/page");
    let members = group_members(launched.browser_pid());
    assert!(
        members.len() > 1,
        "the browser runs with its helpers: {members:?}"
    );
    let listening = common::listening_tcp_inodes(None);
    for pid in &members {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        assert!(
            !cmdline.contains("--remote-debugging-port"),
            "no DevTools port on the command line of {pid}: {cmdline}"
        );
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let target = std::fs::read_link(fd.path()).unwrap_or_default();
            let target = target.to_string_lossy();
            if let Some(inode) = target
                .strip_prefix("socket:[")
                .and_then(|r| r.strip_suffix(']'))
            {
                assert!(
                    !listening.contains(target.as_ref()),
                    "process {pid} ({cmdline}) listens on TCP (socket inode {inode})"
                );
            }
        }
    }
    // Another process's `stop` goes through the owner, which holds the pipe.
    let out = home.run(&["stop", "quiet"]);
    assert!(out.status.success(), "stop: {}", stderr(&out));
    assert!(
        launched.wait_exit(WAIT).success(),
        "the launcher ends cleanly after stop"
    );
    wait_group_gone(launched.browser_pid(), "after stop");
}

#[test]
fn a_template_with_automation_on_opens_the_port_at_every_launch_and_off_closes_it_again() {
    let home = TestHome::new();
    let site = Site::start();
    add_direct(&home, "scripted", &site.url("/page"));
    let out = home.run(&["template", "edit", "scripted", "--automation", "on"]);
    assert!(out.status.success(), "edit: {}", stderr(&out));
    assert!(
        stderr(&out).contains("any process on this machine"),
        "turning automation on says what it means: {}",
        stderr(&out)
    );
    assert_eq!(home.show_json("scripted")["automation"], true);

    // Without --cdp: the template's setting opens the port, and it really is DevTools.
    let launched = launch(&home, &site, "scripted");
    let ws = launched.info["cdp"]
        .as_str()
        .unwrap_or_else(|| {
            panic!(
                "automation on: a DevTools URL is printed: {}",
                launched.info
            )
        })
        .to_owned();
    let port: u16 = ws
        .strip_prefix("ws://127.0.0.1:")
        .and_then(|r| r.split('/').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("a loopback DevTools URL: {ws}"));
    let version = http_get(port, "/json/version");
    assert!(
        version.contains(&ws),
        "the port serves this browser's DevTools: {version}"
    );
    drop(launched);

    let out = home.run(&["template", "edit", "scripted", "--automation", "off"]);
    assert!(out.status.success(), "edit: {}", stderr(&out));
    let launched = launch(&home, &site, "scripted");
    assert!(
        launched.info["cdp"].is_null(),
        "automation off again: no port: {}",
        launched.info
    );
}

/// Processes whose command line mentions `needle` (a test home: profiles, crash database).
fn processes_mentioning(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if text.contains(needle) {
                found.push(format!("{}: {}", name.to_string_lossy(), text));
            }
        }
    }
    found
}

fn sqlite(home: &TestHome, sql: &str) -> String {
    let out = std::process::Command::new("sqlite3")
        .arg(home.path().join("holdfast.db"))
        .arg(sql)
        .output()
        .expect("sqlite3 (apt: sqlite3)");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The crash test: rounds of launch → kill -9 (Holdfast and Chromium in turn) → relaunch.
/// `HOLDFAST_CRASH_ROUNDS` overrides the 50 rounds.
#[test]
fn fifty_rounds_of_kill_9_leave_no_stale_lease_no_orphan_and_a_sound_database() {
    let rounds: usize = std::env::var("HOLDFAST_CRASH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let home = TestHome::new();
    let site = Site::start();
    add_direct(&home, "crash", &site.url("/page"));
    let needle = home.path().to_string_lossy().into_owned();
    for round in 0..rounds {
        let mut s = try_launch(&home, &site, "crash", &[])
            .unwrap_or_else(|e| panic!("round {round}: relaunch after a kill -9 failed: {e}"));
        let (hf, browser) = (s.holdfast_pid(), s.browser_pid());
        let victim = if round % 2 == 0 { hf } else { browser };
        signal(victim, libc::SIGKILL);
        let _ = s.wait_exit(WAIT);
        wait_group_gone(browser, &format!("round {round}"));
    }
    let last = launch(&home, &site, "crash");
    assert_eq!(
        sqlite(&home, "SELECT count(*) FROM sessions"),
        "1",
        "only the live session is recorded"
    );
    let out = home.run(&["stop", "crash"]);
    assert!(out.status.success(), "stop: {}", stderr(&out));
    drop(last);
    assert_eq!(
        sqlite(&home, "SELECT count(*) FROM sessions"),
        "0",
        "no stale lease record"
    );
    assert_eq!(sqlite(&home, "PRAGMA integrity_check"), "ok");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left = processes_mentioning(&needle);
        if left.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "orphan processes left: {left:#?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let dir = home.path().join("profiles");
    for p in std::fs::read_dir(&dir).expect("profiles").flatten() {
        for f in ["SingletonLock", "SingletonSocket", "SingletonCookie"] {
            assert!(
                std::fs::symlink_metadata(p.path().join(f)).is_err(),
                "{f} left in {}",
                p.path().display()
            );
        }
    }
}

#[test]
fn crash_cleanup_kills_no_one_elses_process_group_and_a_purged_template_leaves_status_working() {
    let home = TestHome::new();
    let site = Site::start();
    home.ok(&["template", "add", "gone", "--exit", "direct"]);
    home.ok(&["template", "add", "other", "--exit", "direct"]);

    // A crash leaves a session row behind; the browser's pid is then taken by someone else's
    // process group leader (as after a reboot).
    let mut crashed = launch(&home, &site, "other");
    let browser = crashed.browser_pid();
    signal(crashed.holdfast_pid(), libc::SIGKILL);
    let _ = crashed.wait_exit(WAIT);
    wait_group_gone(browser, "after kill -9 of holdfast");
    let mut bystander = std::process::Command::new("sleep")
        .arg("300")
        .process_group(0)
        .spawn()
        .expect("sleep");
    let pid = bystander.id();
    sqlite(&home, &format!("UPDATE sessions SET browser_pid = {pid}"));
    assert!(status(&home).is_empty(), "the dead session is dropped");
    assert!(
        bystander.try_wait().expect("wait").is_none(),
        "the process group now under the recorded pid is someone else's and lives on"
    );
    let _ = bystander.kill();
    let _ = bystander.wait();

    // A crash, then the template is removed with its profile: status still works.
    let mut crashed = launch(&home, &site, "gone");
    let browser = crashed.browser_pid();
    signal(crashed.holdfast_pid(), libc::SIGKILL);
    let _ = crashed.wait_exit(WAIT);
    wait_group_gone(browser, "after kill -9 of holdfast");
    home.ok(&["template", "rm", "gone", "--purge"]);
    assert!(
        status(&home).is_empty(),
        "status works and lists nothing after the purge"
    );
    assert_eq!(sqlite(&home, "SELECT count(*) FROM sessions"), "0");
}

#[test]
fn a_hangup_ends_the_session_as_cleanly_as_ctrl_c_and_keeps_fresh_cookies() {
    let home = TestHome::new();
    let site = Site::start();
    add_direct(&home, "hup", &site.url("/login?user=hup"));
    let mut s = launch(&home, &site, "hup");
    site.wait_for("the page after login", WAIT, |h| h.path == "/whoami");
    // The terminal that ran `holdfast launch` closes.
    signal(s.holdfast_pid(), libc::SIGHUP);
    let code = s.wait_exit(WAIT);
    assert!(
        code.success(),
        "SIGHUP stops the session cleanly, not by the default kill: {code:?}"
    );
    wait_group_gone(s.browser_pid(), "after SIGHUP");
    home.ok(&[
        "template",
        "edit",
        "hup",
        "--start-url",
        &site.url("/after-relaunch"),
    ]);
    let _again = launch(&home, &site, "hup");
    let hit = site.wait_for("the page after relaunch", WAIT, |h| {
        h.path == "/after-relaunch"
    });
    assert_eq!(
        hit.cookie("sid").as_deref(),
        Some("hup"),
        "the cookie set just before the hangup was committed"
    );
}

/// A Chromium wrapper in `dir` that loads an unpacked extension turning the profile's proxy
/// off (an extension's proxy setting overrides --proxy-server) after `delay_ms`.
fn chromium_with_proxy_off_extension(dir: &std::path::Path, delay_ms: u64) -> std::path::PathBuf {
    let ext = dir.join("proxy-off");
    std::fs::create_dir(&ext).expect("mkdir");
    std::fs::write(
        ext.join("manifest.json"),
        r#"{"manifest_version": 3, "name": "proxy off", "version": "1.0",
            "permissions": ["proxy"], "background": {"service_worker": "bg.js"}}"#,
    )
    .expect("manifest");
    std::fs::write(
        ext.join("bg.js"),
        format!(
            r#"setTimeout(() => chrome.proxy.settings.set({{value: {{mode: "direct"}}, scope: "regular"}}), {delay_ms});"#
        ),
    )
    .expect("bg.js");
    let wrapper = dir.join("chromium-with-extension");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nexec chromium --load-extension={} \"$@\"\n",
            ext.display()
        ),
    )
    .expect("wrapper");
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    wrapper
}

#[test]
fn an_extension_that_switches_the_proxy_off_is_caught_and_the_launch_refused_with_egress_bypassed()
{
    let site = Site::start();
    let proxy = Upstream::tinyproxy("127.0.0.2", 0);
    let (home, _keyring) =
        common::account_with_keyring(&proxy.http_url(), &site.url("/start-page"));
    let dir = tempfile::tempdir().expect("tmp");
    let wrapper = chromium_with_proxy_off_extension(dir.path(), 0);
    let err = try_launch_env(
        &home,
        &site,
        "acct",
        &[],
        &[("HOLDFAST_CHROMIUM", wrapper.to_str().expect("utf8"))],
    )
    .map(|l| l.info.clone())
    .expect_err("a browser whose own requests bypass the relay is not left running");
    assert!(
        err.contains("error[egress_bypassed]") && err.contains("127.0.0.1"),
        "the operator is told the browser's own request went out directly: {err}"
    );
    assert!(
        !site.hits().iter().any(|h| h.path == "/start-page"),
        "the start page was never opened on the bypassed profile"
    );
    assert!(status(&home).is_empty(), "no session is left");
}

#[test]
fn an_extension_that_switches_the_proxy_off_mid_session_stops_it_at_the_next_probe() {
    let site = Site::start();
    let proxy = Upstream::tinyproxy("127.0.0.2", 0);
    let (home, _keyring) = common::account_with_keyring(&proxy.http_url(), &site.url("/page"));
    home.ok(&["setting", "set", "egress.probe_interval_secs", "1"]);
    let dir = tempfile::tempdir().expect("tmp");
    // Late enough that the launch's own check still sees the relay in use.
    let wrapper = chromium_with_proxy_off_extension(dir.path(), 8000);
    let mut s = try_launch_env(
        &home,
        &site,
        "acct",
        &[],
        &[("HOLDFAST_CHROMIUM", wrapper.to_str().expect("utf8"))],
    )
    .unwrap_or_else(|e| panic!("the launch passes its check before the switch: {e}"));
    let code = s.wait_exit(WAIT);
    assert!(
        !code.success(),
        "the session is ended by Holdfast, and the launcher says so with a failure: {code:?}"
    );
    wait_group_gone(s.browser_pid(), "after the bypass");
    let logs: String = std::fs::read_dir(home.path().join("logs"))
        .expect("logs")
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect();
    assert!(
        logs.contains("not through the exit (127.0.0.2)"),
        "the reason is logged"
    );
    assert!(status(&home).is_empty(), "no session is left");
}

#[test]
fn a_session_whose_observer_is_lost_is_shown_as_a_risk_and_its_relay_refuses_everything() {
    let home = TestHome::new();
    let site = Site::start();
    home.ok(&["template", "add", "blind", "--exit", "direct"]);
    // Real Chromium's pipe outlives anything a page can do, so a stand-in browser that speaks
    // the pipe protocol and then closes it while it runs on plays the fault.
    let fake = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fakes/pipe_browser.py"
    );
    let mut s = try_launch_env(
        &home,
        &site,
        "blind",
        &[],
        &[("HOLDFAST_CHROMIUM", fake), ("FAKE_PIPE_CLOSE_AFTER", "1")],
    )
    .unwrap_or_else(|e| panic!("launch with the stand-in browser: {e}"));
    let relay = s.info["relay"].as_str().expect("relay").to_owned();

    let deadline = Instant::now() + WAIT;
    let risk = loop {
        let out = home.run(&["risk", "blind", "--json"]);
        assert!(out.status.success(), "risk: {}", stderr(&out));
        let risk: Value = serde_json::from_slice(&out.stdout).expect("json");
        if risk["open"] == true {
            break risk;
        }
        assert!(Instant::now() < deadline, "no risk window opened: {risk}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(risk["reasons"][0]["kind"], "observer_lost", "{risk}");
    let running = status(&home);
    assert_eq!(running.len(), 1, "the session still runs: {running:?}");
    assert_eq!(
        running[0]["risk"]["reasons"][0]["kind"], "observer_lost",
        "status shows the blind session: {running:?}"
    );
    assert!(
        std::net::TcpStream::connect(&relay).is_err(),
        "the relay refuses every connection: nothing, sensitive or not, goes out unseen"
    );

    let out = home.run(&["stop", "blind"]);
    assert!(out.status.success(), "stop: {}", stderr(&out));
    let _ = s.wait_exit(WAIT);
}
