//! Real servers on loopback for relay tests: tinyproxy (HTTP, Basic auth) and dante (SOCKS5,
//! username auth), each with its own outgoing address, and small origin servers that say which
//! address a request came from.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::Children;

/// The system user dante checks SOCKS5 passwords against (created by `scripts/setup.sh test`).
pub const SOCKS_USER: &str = "holdfast-test";
/// Its password.
pub const SOCKS_PASS: &str = "hf-socks-test-pw";
/// tinyproxy's Basic auth user and password.
pub const HTTP_USER: &str = "hfuser";
pub const HTTP_PASS: &str = "hf-http-test-pw";

/// A free port on 127.0.0.1 (for servers that cannot be told to take port 0).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Waits until something accepts TCP on `port` (the server is ready).
pub fn wait_listening(port: u16, what: &str) {
    super::http::wait_until(
        &format!("{what} did not start listening on {port}"),
        Duration::from_secs(10),
        || TcpStream::connect(("127.0.0.1", port)).is_ok(),
    );
}

/// Whether a TCP listener on `port` is held by process `pid` or one of its children (dante's
/// workers).
fn listener_is_of(pid: u32, port: u16) -> bool {
    let inodes = super::listening_tcp_inodes(Some(port));
    let holds = |p: &str| {
        std::fs::read_dir(format!("/proc/{p}/fd"))
            .into_iter()
            .flatten()
            .flatten()
            .any(|fd| {
                std::fs::read_link(fd.path())
                    .is_ok_and(|l| inodes.contains(l.to_string_lossy().as_ref()))
            })
    };
    let pid = pid.to_string();
    if holds(&pid) {
        return true;
    }
    let children =
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    children.split_whitespace().any(holds)
}

/// A real upstream proxy process, stopped on drop.
pub struct Upstream {
    pub port: u16,
    pub outgoing: String,
    children: Children,
    dir: TempDir,
}

impl Upstream {
    /// tinyproxy on 127.0.0.1:`port` (0: any free port) with Basic auth, leaving from `outgoing`.
    pub fn tinyproxy(outgoing: &str, port: u16) -> Self {
        Self::tinyproxy_with_timeout(outgoing, port, 60)
    }

    /// tinyproxy as above, closing connections idle for `timeout_secs`.
    pub fn tinyproxy_with_timeout(outgoing: &str, port: u16, timeout_secs: u32) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = if port == 0 { free_port() } else { port };
        let conf = dir.path().join("tinyproxy.conf");
        std::fs::write(
            &conf,
            format!(
                "Port {port}\nListen 127.0.0.1\nBind {outgoing}\nTimeout {timeout_secs}\nMaxClients 2048\n\
                 LogFile \"{d}/tinyproxy.log\"\nLogLevel Error\nPidFile \"{d}/tinyproxy.pid\"\n\
                 Allow 127.0.0.1\nBasicAuth {HTTP_USER} {HTTP_PASS}\n",
                d = dir.path().display()
            ),
        )
        .expect("write tinyproxy.conf");
        let mut cmd = Command::new("tinyproxy");
        cmd.args(["-d", "-c"]).arg(&conf);
        Self::spawn(cmd, port, outgoing, dir)
    }

    /// dante on 127.0.0.1:`port` (0: any free port) with username auth, leaving from `outgoing`.
    pub fn dante(outgoing: &str, port: u16) -> Self {
        assert_socks_user();
        let dir = tempfile::tempdir().expect("temp dir");
        let port = if port == 0 { free_port() } else { port };
        let conf = dir.path().join("danted.conf");
        std::fs::write(
            &conf,
            format!(
                "logoutput: {d}/danted.log\ninternal: 127.0.0.1 port = {port}\nexternal: {outgoing}\n\
                 clientmethod: none\nsocksmethod: username\nuser.privileged: root\n\
                 user.unprivileged: nobody\n\
                 client pass {{ from: 127.0.0.0/8 to: 0.0.0.0/0 }}\n\
                 socks pass {{ from: 127.0.0.0/8 to: 0.0.0.0/0 command: connect }}\n",
                d = dir.path().display()
            ),
        )
        .expect("write danted.conf");
        let mut cmd = Command::new("danted");
        cmd.arg("-f")
            .arg(&conf)
            .arg("-p")
            .arg(dir.path().join("danted.pid"));
        Self::spawn(cmd, port, outgoing, dir)
    }

    /// Starts the proxy and waits until it listens.
    fn spawn(mut cmd: Command, port: u16, outgoing: &str, dir: TempDir) -> Self {
        let program = cmd.get_program().to_string_lossy().into_owned();
        let mut children = Children::default();
        children.push(
            cmd.stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| {
                    panic!("{program} must be installed (scripts/setup.sh test): {e}")
                }),
        );
        wait_listening(port, &program);
        // Something answering is not enough: a port chosen free a moment ago (or freed by a
        // killed proxy) can be taken by another test's process before ours binds it.
        let pid = children.last_pid();
        assert!(
            listener_is_of(pid, port),
            "{program} could not bind port {port}: another process took it first"
        );
        Self {
            port,
            outgoing: outgoing.to_owned(),
            children,
            dir,
        }
    }

    /// The exit URL with credentials, as a user would type it.
    pub fn http_url(&self) -> String {
        format!("http://{HTTP_USER}:{HTTP_PASS}@127.0.0.1:{}", self.port)
    }

    /// The SOCKS5 exit URL with credentials.
    pub fn socks_url(&self) -> String {
        format!("socks5://{SOCKS_USER}:{SOCKS_PASS}@127.0.0.1:{}", self.port)
    }

    /// Kills the proxy (and, for dante, its worker processes) and waits until the port is dead.
    pub fn kill(&mut self) {
        // dante forks workers; kill the whole family by its pid file's parent and children.
        let pid_file = self.dir.path().join("danted.pid");
        if let Ok(pid) = std::fs::read_to_string(&pid_file) {
            let _ = Command::new("pkill")
                .args(["-KILL", "-P", pid.trim()])
                .status();
        }
        self.children = Children::default();
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
            assert!(
                Instant::now() < deadline,
                "proxy on {} did not die",
                self.port
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

fn assert_socks_user() {
    let ok = Command::new("id")
        .arg(SOCKS_USER)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "system user {SOCKS_USER} is missing: run `scripts/setup.sh test` (dante checks SOCKS5 \
         passwords against system users)"
    );
}

/// An origin server on 127.0.0.1 that answers every request with the peer's IP, and counts
/// connections per peer IP. Paths: `/ip` (plain text), `/json` (`{"ip": …}`), `/bytes/N`.
/// With `close_after_response` it half-closes (FIN) after each response, like a server whose
/// keep-alive is off or whose idle timeout fired.
pub struct Origin {
    pub port: u16,
    peers: Arc<Mutex<HashMap<String, usize>>>,
}

impl Origin {
    pub fn start() -> Self {
        Self::start_with(false)
    }

    pub fn start_with(close_after_response: bool) -> Self {
        let peers = Arc::new(Mutex::new(HashMap::new()));
        let seen = peers.clone();
        let port = super::http::serve(move |stream, peer| {
            serve(stream, peer, &seen, close_after_response)
        });
        Self { port, peers }
    }

    /// Connections seen from each peer IP.
    pub fn peers(&self) -> HashMap<String, usize> {
        self.peers.lock().expect("lock").clone()
    }

    /// Connections seen from `ip`.
    pub fn from(&self, ip: &str) -> usize {
        self.peers().get(ip).copied().unwrap_or(0)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

fn serve(
    stream: TcpStream,
    peer: String,
    seen: &Mutex<HashMap<String, usize>>,
    close_after_response: bool,
) {
    *seen.lock().expect("lock").entry(peer.clone()).or_default() += 1;
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut writer = stream;
    while let Some(request) = super::http::read_request(&mut reader) {
        let path = request.target.as_str();
        let body: Vec<u8> = if path == "/json" {
            format!("{{\"ip\": \"{peer}\"}}").into_bytes()
        } else if let Some(n) = path.strip_prefix("/bytes/") {
            vec![b'x'; n.parse().unwrap_or(0)]
        } else {
            peer.clone().into_bytes()
        };
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: text/plain\r\n{}\r\n",
            body.len(),
            if close_after_response {
                ""
            } else {
                "Connection: keep-alive\r\n"
            }
        );
        if writer.write_all(head.as_bytes()).is_err() || writer.write_all(&body).is_err() {
            return;
        }
        if close_after_response {
            // FIN after the response, without saying so in a header: the peer learns only by
            // reading EOF (or by a reset when it writes again).
            let _ = writer.shutdown(Shutdown::Write);
            // Drain until the peer goes, then close (a later write by it meets a reset).
            let mut sink = [0u8; 1024];
            while reader.read(&mut sink).unwrap_or(0) > 0 {}
            return;
        }
    }
}

/// An IP-info service on 127.0.0.1 that says where a request came from, by its peer address, as
/// public services do: 127.0.0.2 is in Germany (ipinfo.io's shape), 127.0.0.3 in Japan (ipwho.is'
/// shape, timezone as an object); any other peer is unknown (404). `/garbage` answers an HTML
/// page with 200, as a captive portal or a rate limiter would.
pub struct GeoInfo {
    pub port: u16,
}

impl GeoInfo {
    pub fn start() -> Self {
        let port = super::http::serve(|stream, peer| {
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut writer = stream;
            while let Some(request) = super::http::read_request(&mut reader) {
                let (status, body) = match (request.target.as_str(), peer.as_str()) {
                    ("/garbage", _) => ("200 OK", "<html>rate limited</html>".to_owned()),
                    (_, "127.0.0.2") => (
                        "200 OK",
                        format!(r#"{{"ip":"{peer}","country":"DE","timezone":"Europe/Berlin"}}"#),
                    ),
                    (_, "127.0.0.3") => (
                        "200 OK",
                        format!(
                            r#"{{"ip":"{peer}","country":"Japan","country_code":"JP","timezone":{{"id":"Asia/Tokyo","utc":"+09:00"}}}}"#
                        ),
                    ),
                    _ => ("404 Not Found", r#"{"error":"unknown address"}"#.to_owned()),
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/json\r\n\r\n",
                    body.len()
                );
                if writer.write_all(head.as_bytes()).is_err()
                    || writer.write_all(body.as_bytes()).is_err()
                {
                    return;
                }
            }
        });
        Self { port }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

/// A TCP server that accepts and then says nothing (a black hole), counting connections.
pub struct Silent {
    pub port: u16,
    pub accepted: Arc<Mutex<usize>>,
    pub open: Arc<Mutex<usize>>,
    /// Connections on which a client sent anything (a handshake begun); a connection opened
    /// ahead of need and still idle is not counted.
    pub asked: Arc<Mutex<usize>>,
}

impl Silent {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind silent");
        let port = listener.local_addr().expect("addr").port();
        let accepted = Arc::new(Mutex::new(0));
        let open = Arc::new(Mutex::new(0));
        let asked = Arc::new(Mutex::new(0));
        let (a, o, k) = (accepted.clone(), open.clone(), asked.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                *a.lock().expect("lock") += 1;
                *o.lock().expect("lock") += 1;
                let (o, k) = (o.clone(), k.clone());
                std::thread::spawn(move || {
                    let mut sink = [0u8; 1024];
                    let mut first = true;
                    while stream.read(&mut sink).unwrap_or(0) > 0 {
                        if std::mem::take(&mut first) {
                            *k.lock().expect("lock") += 1;
                        }
                    }
                    *o.lock().expect("lock") -= 1;
                });
            }
        });
        Self {
            port,
            accepted,
            open,
            asked,
        }
    }
}

/// A real NTP server: chronyd on a loopback port, optionally under libfaketime with a skew
/// (`"+30s"`), off the system clock (`-x`). Stopped through its pid file on drop (faketime
/// forks, so the child we hold is only the wrapper).
pub struct Chrony {
    pub port: u16,
    children: Children,
    dir: TempDir,
}

impl Chrony {
    pub fn start(skew: Option<&str>) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_udp_port();
        let d = dir.path().display();
        std::fs::write(
            dir.path().join("chrony.conf"),
            format!(
                "port {port}\nbindaddress 127.0.0.1\nallow 127.0.0.1\nlocal stratum 8\ncmdport 0\n\
                 user root\nbindcmdaddress /\ndriftfile {d}/drift\npidfile {d}/chronyd.pid\n"
            ),
        )
        .expect("write chrony.conf");
        let conf = dir.path().join("chrony.conf");
        let mut cmd = match skew {
            Some(s) => {
                let mut c = Command::new("faketime");
                c.args(["-f", s, "chronyd"]);
                c
            }
            None => Command::new("chronyd"),
        };
        cmd.args(["-d", "-x", "-f"])
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut children = Children::default();
        children.push(
            cmd.spawn()
                .expect("chronyd (apt: chrony) and faketime must be installed"),
        );
        let me = Self {
            port,
            children,
            dir,
        };
        me.wait_answering();
        me
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    // Sends SNTP requests until one is answered.
    fn wait_answering(&self) {
        let mut req = [0u8; 48];
        req[0] = 0x23; // LI 0, version 4, mode 3 (client)
        req[40] = 1; // a non-zero transmit timestamp
        let what = format!("chronyd did not answer on {}", self.port);
        super::http::wait_udp_answer(self.port, &req, &what, Duration::from_secs(10));
    }
}

impl Drop for Chrony {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(self.dir.path().join("chronyd.pid")) {
            let _ = Command::new("kill").args(["-KILL", pid.trim()]).status();
        }
        self.children = Children::default();
    }
}

/// A free UDP port on 127.0.0.1.
pub fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("free udp port")
}

/// A real STUN server (coturn, STUN only) on a loopback port, logging each binding request.
pub struct Stun {
    pub port: u16,
    log: Arc<Mutex<Vec<String>>>,
    children: Children,
    _dir: TempDir,
}

impl Stun {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_udp_port();
        let mut children = Children::default();
        let child = children.push(
            Command::new("turnserver")
                .args([
                    "-n",
                    "--listening-ip=127.0.0.1",
                    "--stun-only",
                    // STUN over UDP only: with its TCP listener on (the same port number) coturn
                    // retries a bind forever, and never answers on UDP, when another process
                    // holds that TCP port; RFC 5780 would also take the port above.
                    "--no-tcp",
                    "--no-rfc5780",
                    "--no-cli",
                    "--no-tls",
                    "--no-dtls",
                    "-V",
                    "--log-file=stdout",
                ])
                .arg(format!("--listening-port={port}"))
                .arg(format!("--userdb={}/turndb", dir.path().display()))
                .arg(format!("--pidfile={}/turn.pid", dir.path().display()))
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("turnserver (apt: coturn) must be installed"),
        );
        let out = child.stdout.take().expect("stdout");
        let log = Arc::new(Mutex::new(Vec::new()));
        let l = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                l.lock().expect("lock").push(line);
            }
        });
        let me = Self {
            port,
            log,
            children,
            _dir: dir,
        };
        me.wait_answering();
        me
    }

    /// Binding requests the server logged so far.
    pub fn bindings(&self) -> usize {
        self.log
            .lock()
            .expect("lock")
            .iter()
            .filter(|l| l.contains("handle_turn_binding") || l.contains("BINDING"))
            .count()
    }

    // A STUN binding request of our own, until answered.
    fn wait_answering(&self) {
        let mut req = vec![0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42];
        req.extend_from_slice(&[7u8; 12]);
        let limit = Duration::from_secs(20);
        assert!(
            super::http::udp_answers(self.port, &req, limit),
            "turnserver did not answer on {} (waited {limit:?}); its log:\n{}",
            self.port,
            self.log.lock().expect("lock").join("\n")
        );
    }
}
