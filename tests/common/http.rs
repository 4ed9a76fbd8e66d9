//! The one HTTP/1.1 test server of the Rust tests: accepts on 127.0.0.1 (port 0), reads each
//! request of a kept-alive connection and hands it to the server's own handler (the echo origin
//! in `servers.rs`, the site in `site.rs`). Also the one readiness helper every server uses.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// One request as read off the socket.
pub struct Request {
    /// The request target without scheme and host (a proxied request may carry the absolute URL).
    pub target: String,
    /// Header names in lower case.
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Request {
    /// The target's path and query, split at `?`.
    pub fn path_and_query(&self) -> (&str, &str) {
        self.target.split_once('?').unwrap_or((&self.target, ""))
    }
}

/// Binds 127.0.0.1:0 and serves each connection on its own thread with `conn(stream, peer IP)`;
/// returns the port.
pub fn serve(conn: impl Fn(TcpStream, String) + Send + Sync + Clone + 'static) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a test server");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let peer = stream
                .peer_addr()
                .map(|a| a.ip().to_string())
                .unwrap_or_default();
            let conn = conn.clone();
            std::thread::spawn(move || conn(stream, peer));
        }
    });
    port
}

/// Reads the next request of a connection; `None` once the peer closed it (or sent garbage).
pub fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return None;
    }
    let target = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let target = match target.find("://") {
        Some(i) => target[i + 3..]
            .find('/')
            .map_or("/".to_owned(), |j| target[i + 3 + j..].to_owned()),
        None => target,
    };
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 {
            return None;
        }
        if h == "\r\n" || h == "\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        target,
        headers,
        body,
    })
}

/// Polls `ready` every 10 ms until it holds (true) or `limit` has passed (false).
pub fn poll_until(limit: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while !ready() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

/// Polls `ready` until it holds, failing the test with "`what` …" after `limit`. For servers
/// that announce nothing when they are up (a real daemon started by a test).
pub fn wait_until(what: &str, limit: Duration, ready: impl FnMut() -> bool) {
    assert!(poll_until(limit, ready), "{what} (waited {limit:?})");
}

/// Sends `request` over UDP to 127.0.0.1:`port` until something answers (an NTP or STUN server
/// is up): whether one did within `limit`.
pub fn udp_answers(port: u16, request: &[u8], limit: Duration) -> bool {
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp");
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .expect("timeout");
    let mut buf = [0u8; 512];
    poll_until(limit, || {
        let _ = sock.send_to(request, ("127.0.0.1", port));
        sock.recv_from(&mut buf).is_ok()
    })
}

/// [`udp_answers`], failing the test with "`what` …" if nothing did.
pub fn wait_udp_answer(port: u16, request: &[u8], what: &str, limit: Duration) {
    assert!(
        udp_answers(port, request, limit),
        "{what} (waited {limit:?})"
    );
}
