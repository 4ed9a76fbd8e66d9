//! Test harness: a temp `HOLDFAST_HOME` per test, the real `holdfast` binary, and a private
//! D-Bus session with a real gnome-keyring for tests that need the OS keyring.
#![allow(dead_code)]

pub mod http;
pub mod launched;
pub mod pg;
pub mod servers;
pub mod site;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Output, Stdio};

use serde_json::Value;
use tempfile::TempDir;

/// One isolated Holdfast home. Commands run against it never reach the user's real keyring:
/// unless a `KeyringSession` is attached, the session bus points at a socket that does not exist.
pub struct TestHome {
    dir: TempDir,
    bus: Option<String>,
}

impl TestHome {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
            bus: None,
        }
    }

    /// A home whose commands use this private keyring.
    pub fn with_keyring(keyring: &KeyringSession) -> Self {
        let mut h = Self::new();
        h.bus = Some(keyring.address.clone());
        h
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `holdfast` with this home and no way to the user's real session bus.
    pub fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_holdfast"));
        let no_bus = format!("unix:path={}/no-such-bus", self.path().display());
        c.env("HOLDFAST_HOME", self.path())
            .env(
                "DBUS_SESSION_BUS_ADDRESS",
                self.bus.as_deref().unwrap_or(&no_bus),
            )
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .env_remove("HOLDFAST_LOG")
            // The clock check never leaves loopback: a closed port fails at once. Tests that
            // check the clock point this at their own chronyd.
            .env("HOLDFAST_NTP_SERVERS", "127.0.0.1:9")
            // No IP-info service is asked where the exit is (they are public hosts); tests
            // of the exit's location point this at their own server.
            .env("HOLDFAST_GEO_URLS", "off")
            // Chromium writes ~/.pki and the like: keep that in the temp dir too.
            .env("HOME", self.path().join("user-home"))
            .env("XDG_CONFIG_HOME", self.path().join("user-home/.config"))
            .env("XDG_CACHE_HOME", self.path().join("user-home/.cache"))
            .stdin(Stdio::null());
        c
    }

    /// Runs `holdfast ARGS…` to completion.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().expect("run holdfast")
    }

    /// Runs `holdfast ARGS…` with `stdin` fed to it.
    pub fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = self
            .cmd()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn holdfast");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("write stdin");
        child.wait_with_output().expect("wait holdfast")
    }

    /// Runs a command that must succeed; returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "`holdfast {}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 stdout")
    }

    /// `template list --json`, parsed.
    pub fn list_json(&self) -> Vec<Value> {
        let out = self.ok(&["template", "list", "--json"]);
        match serde_json::from_str(&out).expect("list --json is JSON") {
            Value::Array(a) => a,
            other => panic!("list --json must be an array, got {other}"),
        }
    }

    /// `template show NAME --json`, parsed.
    pub fn show_json(&self, name: &str) -> Value {
        serde_json::from_str(&self.ok(&["template", "show", name, "--json"])).expect("show --json")
    }

    /// Every file under the home, recursively (database, WAL, logs, profiles).
    pub fn files(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let p = entry.path();
                if p.is_dir() {
                    walk(&p, out);
                } else {
                    out.push(p);
                }
            }
        }
        let mut out = Vec::new();
        walk(self.path(), &mut out);
        out
    }
}

/// Text of a finished command's stderr.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A finished command's stdout as JSON; says what came instead when it is not.
pub fn json_of(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            stderr(out)
        )
    })
}

/// Child processes killed (and reaped) on drop, even when a test panics half-way through setup.
#[derive(Default)]
pub struct Children(Vec<Child>);

impl Children {
    pub fn push(&mut self, child: Child) -> &mut Child {
        self.0.push(child);
        self.0.last_mut().expect("just pushed")
    }

    /// The pid of the last child pushed.
    pub fn last_pid(&self) -> u32 {
        self.0.last().expect("a child").id()
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        for child in self.0.iter_mut().rev() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The fields of `/proc/PID/stat` after the parenthesised name (state, ppid, pgrp, …); empty
/// when the process is gone.
pub fn proc_stat(pid: &str) -> Vec<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rsplit_once(')')
        .map_or("", |(_, r)| r)
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// Socket inodes (`socket:[N]` form) in TCP LISTEN state, from /proc/net/tcp and tcp6; only
/// those on `port` when given.
pub fn listening_tcp_inodes(port: Option<u16>) -> std::collections::HashSet<String> {
    let mut inodes = std::collections::HashSet::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let on_port = port.is_none_or(|p| {
                cols.get(1)
                    .is_some_and(|local| local.ends_with(&format!(":{p:04X}")))
            });
            if cols.get(3) == Some(&"0A") && on_port {
                if let Some(inode) = cols.get(9) {
                    inodes.insert(format!("socket:[{inode}]"));
                }
            }
        }
    }
    inodes
}

/// Adds template `name` with a direct exit opening `start_url`.
pub fn add_direct(home: &TestHome, name: &str, start_url: &str) {
    home.ok(&[
        "template",
        "add",
        name,
        "--exit",
        "direct",
        "--start-url",
        start_url,
    ]);
}

/// A home with its own private keyring (the exit's password lives there) and a template `acct`
/// behind `exit` that opens `start_url` at launch.
pub fn account_with_keyring(exit: &str, start_url: &str) -> (TestHome, KeyringSession) {
    let keyring = KeyringSession::start();
    let home = TestHome::with_keyring(&keyring);
    home.ok(&[
        "template",
        "add",
        "acct",
        "--exit",
        exit,
        "--start-url",
        start_url,
    ]);
    (home, keyring)
}

/// A private session bus with a real, unlocked gnome-keyring (Secret Service) in a temp dir.
/// Stopped on drop; nothing of it touches the user's own keyring.
pub struct KeyringSession {
    pub address: String,
    /// The session bus daemon (a test can freeze it: a keyring that does not answer, as while
    /// it waits on an unlock prompt).
    pub bus_pid: i32,
    // Held open so that a late write by a daemon never meets a closed pipe (SIGPIPE).
    _pipes: Vec<BufReader<ChildStdout>>,
    // Dropped before `dir`: the daemons stop before their directory goes.
    _children: Children,
    dir: TempDir,
}

impl KeyringSession {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut children = Children::default();
        let socket = dir.path().join("bus");
        // A bus that starts no service on demand: the standard session bus would start a second
        // keyring daemon, with the real user's HOME, for any client that asks for the secret
        // service before ours owns the name, and ours would then give up ("another secret
        // service is running").
        let config = dir.path().join("bus.conf");
        std::fs::write(
            &config,
            format!(
                r#"<busconfig>
  <type>session</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
                socket.display()
            ),
        )
        .expect("write bus config");
        let dbus = children.push(
            Command::new("dbus-daemon")
                .args(["--nofork", "--print-address=1"])
                .arg(format!("--config-file={}", config.display()))
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("dbus-daemon (apt: dbus) must be installed"),
        );
        let bus_pid = dbus.id() as i32;
        // dbus-daemon prints its address once it accepts connections.
        let (address, dbus_out) = first_line(dbus, "dbus-daemon");
        let keyring = children.push(
            Command::new("gnome-keyring-daemon")
                .args(["--foreground", "--unlock", "--components=secrets"])
                .env("DBUS_SESSION_BUS_ADDRESS", &address)
                .env("HOME", dir.path())
                .env("XDG_DATA_HOME", dir.path().join("data"))
                // With XDG_RUNTIME_DIR set it uses the standard socket and prints no ready line.
                .env_remove("XDG_RUNTIME_DIR")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("gnome-keyring-daemon (apt: gnome-keyring) must be installed"),
        );
        {
            // The unlock password of the new login keyring, then EOF.
            let mut stdin = keyring.stdin.take().expect("stdin");
            stdin.write_all(b"test-unlock").expect("unlock keyring");
        }
        // It prints its control socket once the secrets component is up on the bus.
        let (ready, keyring_out) = first_line(keyring, "gnome-keyring-daemon");
        assert!(
            ready.starts_with("GNOME_KEYRING_CONTROL"),
            "keyring not ready: {ready}"
        );
        // The control line can come before the daemon owns its bus name and before the login
        // collection is unlocked. Wait, by a read that stores nothing, until the default
        // collection answers unlocked.
        wait_unlocked(&address);
        Self {
            address,
            bus_pid,
            _pipes: vec![dbus_out, keyring_out],
            _children: children,
            dir,
        }
    }

    /// Looks an item up with libsecret's `secret-tool`, a client independent of Holdfast.
    pub fn lookup(&self, service: &str, username: &str) -> Option<String> {
        let out = Command::new("secret-tool")
            .args(["lookup", "service", service, "username", username])
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .output()
            .expect("secret-tool (apt: libsecret-tools) must be installed");
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The keyring's files on disk.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }
}

/// Polls the default collection's `Locked` property (dbus-send, from the dbus package) until it
/// is false; panics after 10 s.
fn wait_unlocked(address: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut last = String::new();
    while std::time::Instant::now() < deadline {
        let out = Command::new("dbus-send")
            .arg(format!("--bus={address}"))
            .args([
                "--print-reply",
                "--dest=org.freedesktop.secrets",
                "/org/freedesktop/secrets/aliases/default",
                "org.freedesktop.DBus.Properties.Get",
                "string:org.freedesktop.Secret.Collection",
                "string:Locked",
            ])
            .output()
            .expect("dbus-send (apt: dbus) must be installed");
        last = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if out.status.success() && last.contains("boolean false") {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("the test keyring's default collection never came unlocked: {last}");
}

fn first_line(child: &mut Child, what: &str) -> (String, BufReader<ChildStdout>) {
    let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    reader
        .read_line(&mut line)
        .unwrap_or_else(|e| panic!("{what} did not start: {e}"));
    assert!(!line.is_empty(), "{what} exited before it was ready");
    (line.trim().to_owned(), reader)
}
