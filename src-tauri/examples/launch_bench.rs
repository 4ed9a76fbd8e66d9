//! Launch benchmark: bare Chromium (fresh `--user-data-dir`, `--remote-debugging-port=0`, to
//! DevToolsActivePort) against `holdfast launch --headless --json` to its JSON line (CDP ready),
//! alternating in one run. Holdfast runs its whole preflight against loopback servers: SNTP
//! (chronyd at `HOLDFAST_NTP_SERVERS`, started by bench/launch.sh) and an egress echo server
//! started here. Every Holdfast round launches a template never launched before (a fresh profile,
//! like the bare run's).
//!
//! Usage: launch_bench HOLDFAST_BIN CHROMIUM [ROUNDS]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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
            .env("HOLDFAST_CHROMIUM", chromium);
        c
    };
    for i in 0..rounds + 1 {
        let out = hf(&["template", "add", &format!("b{i}"), "--exit", "direct"])
            .output()
            .expect("holdfast");
        assert!(
            out.status.success(),
            "template add: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut bare = Vec::new();
    let mut holdfast = Vec::new();
    // Round 0 warms the page cache for both and is not counted.
    for i in 0..=rounds {
        let b = bare_chromium(chromium, tmp.path(), i);
        let h = holdfast_launch(&hf, &format!("b{i}"));
        if i > 0 {
            bare.push(b);
            holdfast.push(h);
        }
    }
    let (bm, hm) = (median(&mut bare), median(&mut holdfast));
    println!("launch to CDP-ready, headless, {rounds} rounds each, alternating (median / p90):");
    println!(
        "  bare chromium (fresh profile)          {:7.1} ms / {:7.1} ms",
        bm,
        p90(&bare)
    );
    println!(
        "  holdfast launch (preflight, fresh)     {:7.1} ms / {:7.1} ms",
        hm,
        p90(&holdfast)
    );
    let ratio = hm / bm;
    println!(
        "  ratio holdfast / bare: {ratio:.2}x  (target <= 1.15x: {})",
        if ratio <= 1.15 { "PASS" } else { "FAIL" }
    );
}

fn bare_chromium(chromium: &str, tmp: &Path, i: usize) -> f64 {
    let profile = tmp.join(format!("bare-{i}"));
    let port_file = profile.join("DevToolsActivePort");
    let start = Instant::now();
    let mut cmd = Command::new(chromium);
    cmd.arg(format!("--user-data-dir={}", profile.display()))
        .args([
            "--headless",
            "--remote-debugging-port=0",
            "--no-first-run",
            "--no-default-browser-check",
        ])
        .env("HOME", tmp)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if is_root() {
        cmd.arg("--no-sandbox");
    }
    cmd.arg("about:blank");
    let mut child = cmd.spawn().expect("chromium");
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

fn holdfast_launch(hf: &dyn Fn(&[&str]) -> Command, name: &str) -> f64 {
    let start = Instant::now();
    let mut child = hf(&["launch", name, "--headless", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("holdfast launch");
    let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    reader.read_line(&mut line).expect("read");
    let t = start.elapsed().as_secs_f64() * 1000.0;
    assert!(line.contains("\"cdp\""), "launch failed: {line:?}");
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let _ = child.wait();
    t
}

fn start_echo() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
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
