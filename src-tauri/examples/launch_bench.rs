//! Launch benchmark, alternating in one run:
//! - bare Chromium (fresh `--user-data-dir`) to `DevToolsActivePort` (the port file: written
//!   before the browser can answer anything on that port);
//! - bare Chromium with `--remote-debugging-pipe` to its first DevTools answer
//!   (`Browser.getVersion`, what an automation client such as Playwright waits for): the same
//!   readiness Holdfast needs, the fair baseline;
//! - bare Chromium with the pipe to the first fetch it completes in its first tab
//!   (`Network.loadNetworkResource`): the earliest a page of bare Chromium loads anything, and
//!   what Holdfast's check of the browser's own egress waits for;
//! - the last two again with the browser features Holdfast turns off
//!   (`holdfast_core::browser::DISABLED_FEATURES`): what of the difference is Chromium's own
//!   start-up work and what is Holdfast's;
//! - `holdfast launch --headless --json` to its JSON line, i.e. preflight, relay, browser,
//!   observer attached, the browser's own egress checked, start URL opened. Each step's time
//!   comes from the launch's debug log (`HOLDFAST_LOG=holdfast=debug`).
//!
//! Every run opens the same start URL (a loopback echo page). Holdfast runs its whole preflight
//! against loopback servers: SNTP (chronyd at `HOLDFAST_NTP_SERVERS`, started by
//! bench/launch.sh) and the echo server started here. Every Holdfast round launches a template
//! never launched before (a fresh profile, like the bare runs').
//!
//! With `BENCH_EXIT_DELAY_MS=N` the echo page answers N ms late, as through an exit far away
//! (the preflight's probe, the browser's own check and the start URL each wait for it).
//!
//! Usage: launch_bench HOLDFAST_BIN CHROMIUM [ROUNDS]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The launch's debug lines that mark a step, and the name the breakdown gives it.
const STEPS: &[(&str, &str)] = &[
    ("step=Lease", "lease taken"),
    ("step=Preflight", "preflight starts"),
    ("step=Browser", "preflight passed"),
    ("browser spawned", "browser spawned"),
    ("browser answers on its DevTools pipe", "DevTools answers"),
    ("first tab attached", "first tab attached"),
    ("first tab resumed", "first tab resumed (renderer runs)"),
    ("the browser's own egress checked", "browser egress checked"),
    ("start URLs opened", "start URL opened"),
    ("step=Ready", "ready (line printed)"),
];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(bin), Some(chromium)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: launch_bench HOLDFAST_BIN CHROMIUM [ROUNDS]");
        std::process::exit(2);
    };
    let rounds: usize = args.get(3).and_then(|r| r.parse().ok()).unwrap_or(20);
    let tmp = tempfile::tempdir().expect("temp dir");
    let home = tmp.path().join("home");
    let echo = start_echo();
    let hf = |args: &[&str]| {
        let mut c = Command::new(bin);
        c.args(args)
            .env("HOLDFAST_HOME", &home)
            .env("HOME", tmp.path())
            .env("HOLDFAST_ECHO_URLS", &echo)
            .env("HOLDFAST_GEO_URLS", "off")
            .env("HOLDFAST_CHROMIUM", chromium);
        c
    };
    for i in 0..rounds + 1 {
        let out = hf(&[
            "template",
            "add",
            &format!("b{i}"),
            "--exit",
            "direct",
            "--start-url",
            &echo,
        ])
        .output()
        .expect("holdfast");
        assert!(
            out.status.success(),
            "template add: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut port_file = Vec::new();
    let mut pipe = Vec::new();
    let mut fetch = Vec::new();
    let mut pipe_lean = Vec::new();
    let mut fetch_lean = Vec::new();
    let lean = [holdfast_core::browser::DISABLED_FEATURES];
    let mut holdfast = Vec::new();
    let mut steps: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
    // Round 0 warms the page cache for every side and is not counted.
    for i in 0..=rounds {
        let b = bare_chromium(chromium, tmp.path(), i, &echo);
        let p = bare_pipe(chromium, tmp.path(), &format!("pipe-{i}"), &echo, &[]);
        let f = bare_first_fetch(chromium, tmp.path(), &format!("fetch-{i}"), &echo, &[]);
        let pl = bare_pipe(chromium, tmp.path(), &format!("pipe-l-{i}"), &echo, &lean);
        let fl = bare_first_fetch(chromium, tmp.path(), &format!("fetch-l-{i}"), &echo, &lean);
        let (h, marks) = holdfast_launch(&hf, &format!("b{i}"));
        if i > 0 {
            port_file.push(b);
            pipe.push(p);
            fetch.push(f);
            pipe_lean.push(pl);
            fetch_lean.push(fl);
            holdfast.push(h);
            for (k, ms) in marks {
                steps.entry(k).or_default().push(ms);
            }
        }
    }
    let (fm, pm, xm, hm) = (
        median(&mut port_file),
        median(&mut pipe),
        median(&mut fetch),
        median(&mut holdfast),
    );
    let (plm, flm) = (median(&mut pipe_lean), median(&mut fetch_lean));
    println!("launch, headless, one start URL, {rounds} rounds each, alternating (median / p90):");
    println!(
        "  bare chromium to DevToolsActivePort        {:7.1} ms / {:7.1} ms",
        fm,
        p90(&port_file)
    );
    println!(
        "  bare chromium to its first DevTools answer {:7.1} ms / {:7.1} ms",
        pm,
        p90(&pipe)
    );
    println!(
        "  bare chromium to a first fetch in its tab  {:7.1} ms / {:7.1} ms",
        xm,
        p90(&fetch)
    );
    println!("  the same two with Holdfast's {}:", lean[0]);
    println!(
        "    bare chromium to its first answer        {:7.1} ms / {:7.1} ms",
        plm,
        p90(&pipe_lean)
    );
    println!(
        "    bare chromium to a first fetch in its tab{:7.1} ms / {:7.1} ms",
        flm,
        p90(&fetch_lean)
    );
    println!(
        "  holdfast launch to its line                {:7.1} ms / {:7.1} ms",
        hm,
        p90(&holdfast)
    );
    println!("  holdfast's steps, median time since the launch began (process start excluded):");
    let mut before = 0.0;
    let mut medians: Vec<(f64, usize)> = steps.iter_mut().map(|(k, v)| (median(v), *k)).collect();
    medians.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (m, k) in medians {
        println!("    {:<36} {:7.1} ms  (+{:.1})", STEPS[k].1, m, m - before);
        before = m;
    }
    println!(
        "    {:<36} {:7.1} ms",
        "process start, store open (the rest)",
        hm - before
    );
    let fair = hm / pm;
    println!(
        "  ratio holdfast / bare to first answer: {fair:.2}x  (target <= 1.15x: {})",
        if fair <= 1.15 { "PASS" } else { "FAIL" }
    );
    println!("  ratio holdfast / bare to the port file: {:.2}x", hm / fm);
    println!(
        "  ratio holdfast / bare to a first fetch in its tab: {:.2}x",
        hm / xm
    );
    println!(
        "  ratio holdfast / bare with the same features off: {:.2}x to first answer, {:.2}x to a first fetch",
        hm / plm,
        hm / flm
    );
    // The launch has the browser fetch (its own egress check) before its line: no launch that
    // does can beat the moment bare Chromium first fetches, so this is its floor.
    println!(
        "  floor: bare chromium's own first fetch / its first answer: {:.2}x ({:.2}x with the same features off)",
        xm / pm,
        flm / plm
    );
}

fn bare_chromium(chromium: &str, tmp: &Path, i: usize, url: &str) -> f64 {
    let profile = tmp.join(format!("bare-{i}"));
    let port_file = profile.join("DevToolsActivePort");
    let start = Instant::now();
    let mut child = bare_command(
        chromium,
        tmp,
        &profile,
        "--remote-debugging-port=0",
        url,
        &[],
    )
    .spawn()
    .expect("chromium");
    // Same readiness test as Holdfast: the port file, polled at 1 ms.
    while !std::fs::read_to_string(&port_file).is_ok_and(|s| s.lines().count() >= 2) {
        std::thread::sleep(Duration::from_millis(1));
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "bare chromium never became ready"
        );
    }
    let t = start.elapsed().as_secs_f64() * 1000.0;
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let _ = child.wait();
    t
}

/// Bare headless Chromium on a fresh profile with one DevTools switch and `extra` switches,
/// opening `url`.
fn bare_command(
    chromium: &str,
    tmp: &Path,
    profile: &Path,
    devtools: &str,
    url: &str,
    extra: &[&str],
) -> Command {
    let mut cmd = Command::new(chromium);
    cmd.args(extra);
    cmd.arg(format!("--user-data-dir={}", profile.display()))
        .args([
            "--headless",
            devtools,
            "--no-first-run",
            "--no-default-browser-check",
        ])
        .env("HOME", tmp)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if is_root() {
        cmd.arg("--no-sandbox");
    }
    cmd.arg(url);
    cmd
}

/// Starts bare Chromium with Holdfast's DevTools channel (a pipe on fds 3 and 4); the
/// browser, the commands' end and the messages' end.
fn spawn_piped(
    chromium: &str,
    tmp: &Path,
    profile: &Path,
    url: &str,
    extra: &[&str],
) -> (
    std::process::Child,
    std::io::PipeWriter,
    std::io::PipeReader,
) {
    let (commands_rx, commands_tx) = std::io::pipe().expect("pipe");
    let (messages_rx, messages_tx) = std::io::pipe().expect("pipe");
    let mut cmd = bare_command(
        chromium,
        tmp,
        profile,
        "--remote-debugging-pipe",
        url,
        extra,
    );
    let (rx, tx) = (
        std::os::fd::AsRawFd::as_raw_fd(&commands_rx),
        std::os::fd::AsRawFd::as_raw_fd(&messages_tx),
    );
    // SAFETY: only dup2/fcntl between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let (a, b) = (
                libc::fcntl(rx, libc::F_DUPFD, 10),
                libc::fcntl(tx, libc::F_DUPFD, 10),
            );
            if a < 0 || b < 0 || libc::dup2(a, 3) < 0 || libc::dup2(b, 4) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn().expect("chromium");
    drop((commands_rx, messages_tx));
    (child, commands_tx, messages_rx)
}

/// Bare Chromium with Holdfast's DevTools channel, ready at the first answer.
fn bare_pipe(chromium: &str, tmp: &Path, profile: &str, url: &str, extra: &[&str]) -> f64 {
    let start = Instant::now();
    let (mut child, mut commands_tx, messages_rx) =
        spawn_piped(chromium, tmp, &tmp.join(profile), url, extra);
    commands_tx
        .write_all(b"{\"id\":1,\"method\":\"Browser.getVersion\"}\0")
        .expect("write the pipe");
    let mut reader = BufReader::new(messages_rx);
    let mut answer = Vec::new();
    reader.read_until(0, &mut answer).expect("read the pipe");
    let t = start.elapsed().as_secs_f64() * 1000.0;
    assert!(
        answer.windows(7).any(|w| w == b"\"id\":1,"),
        "bare chromium answered: {}",
        String::from_utf8_lossy(&answer)
    );
    let _ = child.kill();
    let _ = child.wait();
    t
}

/// Bare Chromium with the pipe, to the first fetch it completes in its first tab
/// (`Network.loadNetworkResource` in the tab's main frame, what Holdfast's check of the
/// browser's own egress needs): the earliest moment a page of bare Chromium can load anything.
fn bare_first_fetch(chromium: &str, tmp: &Path, profile: &str, url: &str, extra: &[&str]) -> f64 {
    let start = Instant::now();
    let (mut child, mut commands_tx, messages_rx) =
        spawn_piped(chromium, tmp, &tmp.join(profile), "about:blank", extra);
    commands_tx
        .write_all(b"{\"id\":1,\"method\":\"Target.setAutoAttach\",\"params\":{\"autoAttach\":true,\"waitForDebuggerOnStart\":false,\"flatten\":true}}\0")
        .expect("write the pipe");
    let mut reader = BufReader::new(messages_rx);
    let t = loop {
        let mut raw = Vec::new();
        reader.read_until(0, &mut raw).expect("read the pipe");
        raw.pop();
        let msg: serde_json::Value = serde_json::from_slice(&raw).expect("a DevTools message");
        if msg["method"] == "Target.attachedToTarget"
            && msg["params"]["targetInfo"]["type"] == "page"
        {
            let fetch = serde_json::json!({
                "id": 2,
                "sessionId": msg["params"]["sessionId"],
                "method": "Network.loadNetworkResource",
                "params": {
                    "frameId": msg["params"]["targetInfo"]["targetId"],
                    "url": url,
                    "options": { "disableCache": true, "includeCredentials": false },
                },
            });
            let mut framed = fetch.to_string().into_bytes();
            framed.push(0);
            commands_tx.write_all(&framed).expect("write the pipe");
        }
        if msg["id"] == 2 {
            assert_eq!(
                msg["result"]["resource"]["success"], true,
                "bare fetch: {msg}"
            );
            break start.elapsed().as_secs_f64() * 1000.0;
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    t
}

/// The time to the JSON line, and each step's mark (index into `STEPS`, ms since the launch
/// began) from the debug log.
fn holdfast_launch(hf: &dyn Fn(&[&str]) -> Command, name: &str) -> (f64, Vec<(usize, f64)>) {
    let start = Instant::now();
    let mut child = hf(&["launch", name, "--headless", "--json"])
        .env("HOLDFAST_LOG", "holdfast=debug")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("holdfast launch");
    let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    reader.read_line(&mut line).expect("read");
    let t = start.elapsed().as_secs_f64() * 1000.0;
    assert!(line.contains("\"cdp\""), "launch failed: {line:?}");
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let mut log = String::new();
    let _ = child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut log);
    let _ = child.wait();
    let marks = log
        .lines()
        .filter_map(|l| {
            let k = STEPS.iter().position(|(m, _)| l.contains(m))?;
            let ms = l.split("elapsed_ms=").nth(1)?.split_whitespace().next()?;
            Some((k, ms.parse().ok()?))
        })
        .collect();
    (t, marks)
}

/// The echo page (also the start URL). `BENCH_EXIT_DELAY_MS` delays each answer, a stand-in for
/// an exit far away: every request through it waits for a round trip.
fn start_echo() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let delay = Duration::from_millis(
        std::env::var("BENCH_EXIT_DELAY_MS")
            .ok()
            .and_then(|d| d.parse().ok())
            .unwrap_or(0),
    );
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut s = stream;
                let peer = s
                    .peer_addr()
                    .map(|a| a.ip().to_string())
                    .unwrap_or_default();
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                std::thread::sleep(delay);
                let _ = write!(
                    s,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{peer}",
                    peer.len()
                );
            });
        }
    });
    format!("http://127.0.0.1:{port}/ip")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn p90(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[(s.len() * 9 / 10).min(s.len() - 1)]
}
