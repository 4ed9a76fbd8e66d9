//! `holdfast launch --headless --json` run in the background by tests, stopped on drop.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::site::Site;
use super::TestHome;

const WAIT: Duration = Duration::from_secs(60);

/// A `holdfast launch --headless --json` in the background; SIGTERM (then SIGKILL) on drop.
pub struct Launched {
    pub child: Child,
    pub info: Value,
    /// What the launcher wrote to stderr so far (read as it comes).
    pub stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Launched {
    pub fn browser_pid(&self) -> i32 {
        self.info["pid"].as_i64().expect("pid") as i32
    }

    pub fn holdfast_pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Waits for the launch process to end.
    pub fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "holdfast launch did not exit within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Launched {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            signal(self.holdfast_pid(), libc::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(15);
            while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub fn signal(pid: i32, sig: i32) {
    // SAFETY: kill(2) with a pid we started.
    unsafe {
        libc::kill(pid, sig);
    }
}

pub fn cmd(home: &TestHome, site: &Site) -> std::process::Command {
    let mut c = home.cmd();
    c.env("HOLDFAST_ECHO_URLS", site.url("/ip"));
    c
}

pub fn try_launch(
    home: &TestHome,
    site: &Site,
    name: &str,
    extra: &[&str],
) -> Result<Launched, String> {
    try_launch_env(home, site, name, extra, &[])
}

pub fn try_launch_env(
    home: &TestHome,
    site: &Site,
    name: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> Result<Launched, String> {
    let mut child = cmd(home, site)
        .envs(env.iter().copied())
        .args(["launch", name, "--headless", "--json"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn holdfast launch");
    let out = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(out);
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        let _ = tx.send(line);
        // Keep reading so the launcher never blocks on a full pipe.
        let mut sink = String::new();
        let _ = reader.read_to_string(&mut sink);
    });
    let line = rx.recv_timeout(WAIT).unwrap_or_default();
    if line.trim().is_empty() {
        let _ = child.kill();
        let _ = child.wait();
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        return Err(err);
    }
    // Drain stderr so the launcher never blocks on it; keep it for the test.
    let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    if let Some(e) = child.stderr.take() {
        let keep = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(e).lines().map_while(Result::ok) {
                let mut k = keep.lock().expect("stderr");
                k.push_str(&line);
                k.push('\n');
            }
        });
    }
    let info: Value = serde_json::from_str(&line).expect("launch --json prints one JSON line");
    Ok(Launched {
        child,
        info,
        stderr,
    })
}

pub fn launch(home: &TestHome, site: &Site, name: &str) -> Launched {
    try_launch(home, site, name, &[]).unwrap_or_else(|e| panic!("launch {name} failed: {e}"))
}
