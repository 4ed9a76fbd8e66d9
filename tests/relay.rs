//! The relay against real upstream proxies on loopback: tinyproxy (HTTP, Basic auth, leaving
//! from 127.0.0.2) and dante (SOCKS5, username auth, leaving from 127.0.0.3). An origin server on
//! 127.0.0.1 sees which address each connection came from; the relay's own address is 127.0.0.1,
//! so a connection from 127.0.0.1 at the origin would be a leak.

mod common;

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use common::http::wait_until;
use common::servers::{Origin, Silent, Upstream, HTTP_PASS, SOCKS_PASS};
use holdfast_core::exit::{Dialer, Relay, RelayConfig, Stage};
use holdfast_core::store::secrets::Secret;
use holdfast_core::template::Exit;

fn exit(url: &str) -> (Exit, Option<Secret>) {
    let parsed = Exit::parse(url).expect("valid exit URL");
    (parsed.exit, parsed.password)
}

async fn relay(url: &str, config: RelayConfig) -> Relay {
    let (exit, password) = exit(url);
    Relay::start(Arc::new(Dialer::new(exit, password, config, None)))
        .await
        .expect("relay starts")
}

/// A response as read off the wire: status code, raw head, body.
struct Answer {
    status: u16,
    head: String,
    body: String,
}

fn parse_answer(raw: &[u8]) -> Answer {
    let text = String::from_utf8_lossy(raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Answer {
        status,
        head: head.to_owned(),
        body: body.to_owned(),
    }
}

/// `GET url` through the relay as a browser sends it to an HTTP proxy (absolute form).
async fn proxy_get(relay: &Relay, url: &str) -> Answer {
    let mut s = TcpStream::connect(relay.addr())
        .await
        .expect("connect relay");
    let host = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or("");
    s.write_all(
        format!("GET {url} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .expect("write");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.expect("read");
    parse_answer(&raw)
}

/// Reads one response head (up to the blank line) from `s`.
async fn read_head(s: &mut TcpStream) -> Answer {
    let mut raw = Vec::new();
    let mut byte = [0u8; 1];
    while !raw.ends_with(b"\r\n\r\n") {
        if s.read(&mut byte).await.expect("read head") == 0 {
            break;
        }
        raw.push(byte[0]);
    }
    parse_answer(&raw)
}

/// `CONNECT authority` through the relay; returns the stream and the relay's answer head.
async fn tunnel(relay: &Relay, authority: &str) -> (TcpStream, Answer) {
    let mut s = TcpStream::connect(relay.addr())
        .await
        .expect("connect relay");
    s.write_all(format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n\r\n").as_bytes())
        .await
        .expect("write");
    let head = read_head(&mut s).await;
    (s, head)
}

/// A GET on an open connection; returns the body. `target` is a path inside a tunnel, or an
/// absolute URL on a kept-alive connection to the relay used as a proxy.
async fn get_in_tunnel(s: &mut TcpStream, port: u16, target: &str) -> String {
    s.write_all(format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n").as_bytes())
        .await
        .expect("write");
    let head = read_head(s).await;
    assert_eq!(
        head.status, 200,
        "origin answers inside the tunnel: {}",
        head.head
    );
    let len: usize = head
        .head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap_or(0))
        })
        .unwrap_or(0);
    let mut body = vec![0; len];
    s.read_exact(&mut body).await.expect("body");
    String::from_utf8_lossy(&body).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_exit_carries_connect_and_plain_requests_from_its_own_address() {
    let origin = Origin::start();
    let proxy = Upstream::tinyproxy("127.0.0.2", 0);
    let relay = relay(&proxy.http_url(), RelayConfig::default()).await;

    let plain = proxy_get(&relay, &origin.url("/ip")).await;
    assert_eq!(
        plain.status, 200,
        "plain GET through the relay: {}",
        plain.head
    );
    assert_eq!(
        plain.body, "127.0.0.2",
        "the origin sees tinyproxy's outgoing address"
    );

    let (mut s, answer) = tunnel(&relay, &format!("127.0.0.1:{}", origin.port)).await;
    assert_eq!(answer.status, 200, "CONNECT accepted: {}", answer.head);
    assert_eq!(get_in_tunnel(&mut s, origin.port, "/ip").await, "127.0.0.2");
    assert_eq!(
        get_in_tunnel(&mut s, origin.port, "/json").await,
        r#"{"ip": "127.0.0.2"}"#,
        "keep-alive inside the tunnel"
    );

    assert_eq!(
        origin.from("127.0.0.1"),
        0,
        "no connection left from the relay's own address"
    );
    let m = relay.metrics().take();
    assert_eq!(m.dial_ok, 2, "one dial per tunnel");
    assert!(
        m.connect.count() == 2 && m.handshake.count() == 2,
        "connect and handshake latencies recorded"
    );
    assert!(m.bytes_up > 0 && m.bytes_down > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socks5_exit_authenticates_and_passes_host_names_to_the_exit() {
    let origin = Origin::start();
    let proxy = Upstream::dante("127.0.0.3", 0);
    let relay = relay(&proxy.socks_url(), RelayConfig::default()).await;

    // "localhost" goes to dante as a name (SOCKS5 ATYP domain): dante resolves it.
    let answer = proxy_get(&relay, &format!("http://localhost:{}/ip", origin.port)).await;
    assert_eq!(answer.status, 200, "{}", answer.head);
    assert_eq!(
        answer.body, "127.0.0.3",
        "the origin sees dante's outgoing address"
    );

    let (mut s, answer) = tunnel(&relay, &format!("127.0.0.1:{}", origin.port)).await;
    assert_eq!(answer.status, 200);
    assert_eq!(get_in_tunnel(&mut s, origin.port, "/ip").await, "127.0.0.3");
    assert_eq!(
        origin.from("127.0.0.1"),
        0,
        "nothing from the relay's own address"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_fail_at_the_proxy_auth_stage_for_both_kinds() {
    let origin = Origin::start();
    let http = Upstream::tinyproxy("127.0.0.2", 0);
    let socks = Upstream::dante("127.0.0.3", 0);
    for url in [
        http.http_url().replace(HTTP_PASS, "wrong"),
        socks.socks_url().replace(SOCKS_PASS, "wrong"),
        format!("http://127.0.0.1:{}", http.port),
    ] {
        let relay = relay(&url, RelayConfig::default()).await;
        let answer = proxy_get(&relay, &origin.url("/ip")).await;
        assert_eq!(
            answer.status, 502,
            "{url}: the browser gets a 502, not a direct connection"
        );
        assert!(
            answer.head.contains("x-holdfast-failure: proxy_auth"),
            "{url}: the stage is named: {}",
            answer.head
        );
        assert!(
            answer.body.contains("username") || answer.body.contains("password"),
            "{url}: the reason says what is wrong: {}",
            answer.body
        );
        let (_, connect) = tunnel(&relay, &format!("127.0.0.1:{}", origin.port)).await;
        assert_eq!(connect.status, 502, "{url}: CONNECT fails closed too");
        assert_eq!(relay.metrics().take().failures_at(Stage::ProxyAuth), 2);
    }
    assert!(
        origin.peers().is_empty(),
        "no request reached the origin: {:?}",
        origin.peers()
    );
}

/// The leak test: an exit that dies mid-session fails every new connection; the origin never
/// sees a connection that did not come through the exit's address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_exit_fails_closed_and_nothing_reaches_the_target_directly() {
    for kind in ["http", "socks5"] {
        let origin = Origin::start();
        let (mut proxy, url, egress) = if kind == "http" {
            let p = Upstream::tinyproxy("127.0.0.2", 0);
            let u = p.http_url();
            (p, u, "127.0.0.2")
        } else {
            let p = Upstream::dante("127.0.0.3", 0);
            let u = p.socks_url();
            (p, u, "127.0.0.3")
        };
        let relay = relay(
            &url,
            RelayConfig {
                backoff_base: Duration::from_millis(5),
                ..RelayConfig::default()
            },
        )
        .await;
        assert_eq!(proxy_get(&relay, &origin.url("/ip")).await.body, egress);
        // A tunnel open while the exit dies.
        let (mut open, _) = tunnel(&relay, &format!("127.0.0.1:{}", origin.port)).await;
        assert_eq!(get_in_tunnel(&mut open, origin.port, "/ip").await, egress);

        proxy.kill();

        for _ in 0..5 {
            let a = proxy_get(&relay, &origin.url("/ip")).await;
            assert_eq!(a.status, 502, "{kind}: exit down → 502: {}", a.head);
            assert!(
                a.head.contains("x-holdfast-failure: tcp_connect"),
                "{}",
                a.head
            );
            let (_, c) = tunnel(&relay, &format!("127.0.0.1:{}", origin.port)).await;
            assert_eq!(c.status, 502, "{kind}: CONNECT with the exit down → 502");
        }
        // The tunnel that was open is gone with its exit, not rerouted.
        let mut rest = Vec::new();
        let _ = open.write_all(b"GET /ip HTTP/1.1\r\nHost: x\r\n\r\n").await;
        let _ = open.read_to_end(&mut rest).await;
        assert!(
            rest.is_empty(),
            "{kind}: no answer on a tunnel whose exit died: {:?}",
            String::from_utf8_lossy(&rest)
        );

        let peers = origin.peers();
        assert_eq!(
            peers.get("127.0.0.1"),
            None,
            "{kind}: a direct connection leaked: {peers:?}"
        );
        assert!(
            peers.keys().all(|ip| ip == egress),
            "{kind}: only the exit's address: {peers:?}"
        );
        let m = relay.metrics().take();
        assert_eq!(
            m.failures_at(Stage::TcpConnect),
            10,
            "{kind}: every failed dial counted at tcp_connect"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_tunnels_are_reclaimed_by_the_relay_with_a_clean_close() {
    let origin = Origin::start();
    let relay = relay(
        "direct",
        RelayConfig {
            idle_timeout: Duration::from_millis(300),
            ..RelayConfig::default()
        },
    )
    .await;
    let (mut s, answer) = tunnel(&relay, &format!("127.0.0.1:{}", origin.port)).await;
    assert_eq!(answer.status, 200);
    assert_eq!(get_in_tunnel(&mut s, origin.port, "/ip").await, "127.0.0.1");
    let started = std::time::Instant::now();
    let mut rest = Vec::new();
    let n = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut rest))
        .await
        .expect("the relay closes an idle tunnel")
        .expect("a clean FIN, not a reset");
    assert_eq!(n, 0);
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "not before the idle timeout"
    );
    assert_eq!(relay.metrics().take().failures_at(Stage::IdleReclaim), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_target_fails_at_first_byte() {
    let silent = Silent::start();
    let relay = relay(
        "direct",
        RelayConfig {
            first_byte_timeout: Duration::from_millis(300),
            ..RelayConfig::default()
        },
    )
    .await;
    let (mut s, answer) = tunnel(&relay, &format!("127.0.0.1:{}", silent.port)).await;
    assert_eq!(answer.status, 200, "the TCP connection itself works");
    // A browser's preconnected tunnel that has sent nothing is not timed out by first-byte.
    tokio::time::sleep(Duration::from_millis(500)).await;
    s.write_all(b"hello").await.expect("write");
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut rest))
        .await
        .expect("closed after the first-byte timeout")
        .ok();
    let m = relay.metrics().take();
    assert_eq!(
        m.failures_at(Stage::FirstByte),
        1,
        "failure attributed to first byte"
    );
    assert_eq!(m.failures_at(Stage::IdleReclaim), 0);

    // Plain requests: a 504 naming the stage.
    let a = proxy_get(&relay, &format!("http://127.0.0.1:{}/", silent.port)).await;
    assert_eq!(a.status, 504, "{}", a.head);
    assert!(a.head.contains("x-holdfast-failure: first_byte"));
}

/// A server that sends FIN after every response: the browser's keep-alive connection to the
/// relay keeps working, because the relay never reuses an upstream connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_closes_after_every_response_never_breaks_a_later_request() {
    let origin = Origin::start_with(true);
    let proxy = Upstream::tinyproxy("127.0.0.2", 0);
    for url in ["direct".to_owned(), proxy.http_url()] {
        let relay = relay(&url, RelayConfig::default()).await;
        let mut s = TcpStream::connect(relay.addr()).await.expect("connect");
        let egress = if url == "direct" {
            "127.0.0.1"
        } else {
            "127.0.0.2"
        };
        for i in 0..5 {
            let body = get_in_tunnel(&mut s, origin.port, &origin.url("/ip")).await;
            assert_eq!(
                body, egress,
                "{url}: request {i} over one browser connection"
            );
        }
        let m = relay.metrics().take();
        assert_eq!(
            m.dial_ok, 5,
            "{url}: one fresh upstream connection per request"
        );
        assert_eq!(m.failures.iter().sum::<u64>(), 0, "{url}: no failure");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_exit_is_dialled_with_exponential_backoff() {
    let dead = common::servers::free_port();
    let relay = relay(
        &format!("http://127.0.0.1:{dead}"),
        RelayConfig {
            backoff_base: Duration::from_millis(100),
            ..RelayConfig::default()
        },
    )
    .await;
    let started = std::time::Instant::now();
    for _ in 0..4 {
        assert_eq!(proxy_get(&relay, "http://127.0.0.1:9/").await.status, 502);
    }
    // Waits before dials 2, 3, 4: at least half of 100 + 200 + 400 ms.
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(350),
        "dials spaced out by back-off, took {took:?}"
    );
    let m = relay.metrics().take();
    assert_eq!(m.dial_attempts, 4);
    assert_eq!(m.backoff_waits, 3, "every dial after the first waited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dials_to_one_exit_are_capped() {
    // An exit that accepts TCP but never answers the handshake.
    let silent = Silent::start();
    let relay = Arc::new(
        relay(
            &format!("http://127.0.0.1:{}", silent.port),
            RelayConfig {
                max_concurrent_dials: 3,
                handshake_timeout: Duration::from_millis(800),
                ..RelayConfig::default()
            },
        )
        .await,
    );
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let r = relay.clone();
        tasks.push(tokio::spawn(async move {
            proxy_get(&r, "http://127.0.0.1:9/").await.status
        }));
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    // Handshakes begun, not TCP connections: up to two idle warm connections may be open too.
    let at_once = *silent.asked.lock().unwrap();
    assert_eq!(
        at_once, 3,
        "only max_concurrent_dials reach the exit at once"
    );
    for t in tasks {
        assert_eq!(t.await.unwrap(), 502);
    }
    let m = relay.metrics().take();
    assert_eq!(
        m.failures_at(Stage::ProxyHandshake),
        10,
        "an exit that never answers its handshake fails each dial at proxy_handshake"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_legs_of_a_tunnel_have_tcp_keepalive() {
    let origin = Origin::start();
    let proxy = Upstream::tinyproxy("127.0.0.2", 0);
    let relay = relay(&proxy.http_url(), RelayConfig::default()).await;
    let (mut s, _) = tunnel(&relay, &format!("127.0.0.1:{}", origin.port)).await;
    assert_eq!(get_in_tunnel(&mut s, origin.port, "/ip").await, "127.0.0.2");
    // `ss` shows one timer per socket: a retransmit timer while an ACK is outstanding, the
    // keepalive timer once the connection is quiet. Look until the quiet state is seen.
    let relay_port = format!("127.0.0.1:{}", relay.addr().port());
    let exit_peer = format!("127.0.0.1:{}", proxy.port);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let (browser_leg, exit_legs) = loop {
        let out = std::process::Command::new("ss")
            .args(["-tnoH", "state", "established"])
            .output()
            .expect("ss (iproute2)");
        let table = String::from_utf8_lossy(&out.stdout).into_owned();
        let browser_leg = table
            .lines()
            .find(|l| l.split_whitespace().nth(2) == Some(relay_port.as_str()))
            .map(str::to_owned);
        let exit_legs: Vec<String> = table
            .lines()
            .filter(|l| l.split_whitespace().nth(3) == Some(exit_peer.as_str()))
            .map(str::to_owned)
            .collect();
        let quiet = browser_leg
            .as_deref()
            .is_some_and(|l| l.contains("keepalive"))
            && !exit_legs.is_empty()
            && exit_legs.iter().all(|l| l.contains("keepalive"));
        if quiet || std::time::Instant::now() > deadline {
            break (browser_leg, exit_legs);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let browser_leg = browser_leg.expect("the relay's side of the browser connection");
    assert!(
        browser_leg.contains("keepalive"),
        "browser leg: {browser_leg}"
    );
    assert!(
        !exit_legs.is_empty() && exit_legs.iter().all(|l| l.contains("keepalive")),
        "exit leg: {exit_legs:?}"
    );
}

/// A CONNECT that follows a plain request on one kept-alive browser connection takes the other
/// (hyper) path; it must tunnel the same way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_after_a_plain_request_on_one_connection_tunnels_through_the_exit() {
    let origin = Origin::start();
    let proxy = Upstream::tinyproxy("127.0.0.2", 0);
    let relay = relay(&proxy.http_url(), RelayConfig::default()).await;
    let mut s = TcpStream::connect(relay.addr())
        .await
        .expect("connect relay");
    assert_eq!(
        get_in_tunnel(&mut s, origin.port, &origin.url("/ip")).await,
        "127.0.0.2",
        "a plain request on the kept-alive connection"
    );
    s.write_all(
        format!(
            "CONNECT 127.0.0.1:{0} HTTP/1.1\r\nHost: 127.0.0.1:{0}\r\n\r\n",
            origin.port
        )
        .as_bytes(),
    )
    .await
    .expect("write");
    let head = read_head(&mut s).await;
    assert_eq!(head.status, 200, "{}", head.head);
    assert_eq!(get_in_tunnel(&mut s, origin.port, "/ip").await, "127.0.0.2");
    assert_eq!(origin.from("127.0.0.1"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_sends_no_request_head_is_closed_and_a_kept_alive_one_is_not() {
    let origin = Origin::start();
    let relay = relay(
        "direct",
        RelayConfig {
            head_timeout: Duration::from_millis(300),
            ..RelayConfig::default()
        },
    )
    .await;
    // Silent from the start, and a head that never ends: both are closed by the relay.
    let mut silent = TcpStream::connect(relay.addr()).await.expect("connect");
    let mut partial = TcpStream::connect(relay.addr()).await.expect("connect");
    partial
        .write_all(b"GET http://127.0.0.1/ HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .expect("write");
    for (what, s) in [("silent", &mut silent), ("partial head", &mut partial)] {
        let mut buf = [0u8; 64];
        let read = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await;
        assert!(
            matches!(read, Ok(Ok(0)) | Ok(Err(_))),
            "{what}: the relay closes a connection without a complete head, got {read:?}"
        );
    }
    // A connection that sent a request and then idles between requests stays open.
    let mut kept = TcpStream::connect(relay.addr()).await.expect("connect");
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\r\n",
        origin.url("/ip"),
        origin.port
    );
    kept.write_all(request.as_bytes()).await.expect("write");
    // The whole answer (head and body may come in separate reads), so that what follows reads
    // only what the relay does while the connection idles.
    let answer = read_head(&mut kept).await;
    assert_eq!(answer.status, 200, "{}", answer.head);
    let length: usize = answer
        .head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().to_owned())
        })
        .and_then(|v| v.parse().ok())
        .expect("content-length");
    let mut body = vec![0u8; length.saturating_sub(answer.body.len())];
    kept.read_exact(&mut body).await.expect("body");
    let mut buf = [0u8; 512];
    let idle = tokio::time::timeout(Duration::from_millis(900), kept.read(&mut buf)).await;
    assert!(
        idle.is_err(),
        "a kept-alive connection between requests is not closed by the head timeout: {idle:?}"
    );
}

/// `curl` through the relay as another OS user (the test user the setup creates); its exit code.
async fn curl_as(user: Option<&str>, relay: &Relay, url: &str) -> i32 {
    let proxy = format!("http://{}", relay.addr());
    let mut cmd = match user {
        Some(u) => {
            let mut c = tokio::process::Command::new("setpriv");
            c.args([
                &format!("--reuid={u}"),
                &format!("--regid={u}"),
                "--clear-groups",
                "--",
                "curl",
            ]);
            c
        }
        None => tokio::process::Command::new("curl"),
    };
    cmd.args([
        "-s",
        "-o",
        "/dev/null",
        "--max-time",
        "10",
        "-x",
        &proxy,
        url,
    ]);
    cmd.status()
        .await
        .expect("setpriv and curl (apt: util-linux, curl)")
        .code()
        .unwrap_or(-1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_users_connection_is_refused_before_anything_goes_upstream() {
    let origin = Origin::start();
    let proxy = Upstream::tinyproxy("127.0.0.2", 0);
    let relay = relay(&proxy.http_url(), RelayConfig::default()).await;

    let theirs = curl_as(
        Some(common::servers::SOCKS_USER),
        &relay,
        &origin.url("/ip"),
    )
    .await;
    assert_ne!(
        theirs, 0,
        "another user's request through the relay must fail (curl exit {theirs})"
    );
    assert_eq!(
        origin.from("127.0.0.2"),
        0,
        "nothing of another user's reached the exit and the origin"
    );
    assert_eq!(
        relay.metrics().take().dial_ok,
        0,
        "the exit was not even dialled for another user"
    );

    let ours = curl_as(None, &relay, &origin.url("/ip")).await;
    assert_eq!(ours, 0, "the relay's own user is served");
    assert_eq!(
        origin.from("127.0.0.2"),
        1,
        "our request left through the exit"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_silent_connections_are_all_closed_and_the_relay_keeps_serving() {
    // Both ends of every connection live in this process: make room for them.
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain libc calls on a struct we own.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        limit.rlim_cur = limit.rlim_max.min(16_384);
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
    }
    let n = 2000.min((limit.rlim_cur as usize).saturating_sub(200) / 2);
    let origin = Origin::start();
    let relay = relay(
        "direct",
        RelayConfig {
            head_timeout: Duration::from_millis(500),
            ..RelayConfig::default()
        },
    )
    .await;
    let mut silent = Vec::with_capacity(n);
    for _ in 0..n {
        silent.push(TcpStream::connect(relay.addr()).await.expect("connect"));
    }
    for (i, s) in silent.iter_mut().enumerate() {
        let mut buf = [0u8; 16];
        let read = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf)).await;
        assert!(
            matches!(read, Ok(Ok(0)) | Ok(Err(_))),
            "silent connection {i} of {n} was closed by the relay, got {read:?}"
        );
    }
    let answer = proxy_get(&relay, &origin.url("/ip")).await;
    assert_eq!(
        answer.status, 200,
        "after {n} idle sockets the relay still serves: {}",
        answer.head
    );
}

/// The relay's connections to the exit at `port`, by TCP state, as the kernel lists them.
fn legs_to_exit(port: u16) -> (usize, usize) {
    let out = std::process::Command::new("ss")
        .args(["-tnH", "dst", &format!("127.0.0.1:{port}")])
        .output()
        .expect("ss (iproute2)");
    let table = String::from_utf8_lossy(&out.stdout).into_owned();
    let count = |state: &str| table.lines().filter(|l| l.starts_with(state)).count();
    (count("ESTAB"), count("CLOSE-WAIT"))
}

/// A connection opened to the exit ahead of need saves a tunnel its TCP connect; one the exit
/// closed while idle (tinyproxy's own idle limit, here 1 s) is never handed to a tunnel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warm_connections_wait_for_tunnels_and_one_the_exit_closed_is_never_used() {
    let origin = Origin::start();
    let proxy = Upstream::tinyproxy_with_timeout("127.0.0.2", 0, 1);
    let relay = relay(&proxy.http_url(), RelayConfig::default()).await;
    wait_until(
        "the relay connects to the exit before the browser asks for a tunnel",
        Duration::from_secs(5),
        || legs_to_exit(proxy.port).0 > 0,
    );
    // The exit's idle limit passes: it closes the connections nobody used.
    wait_until(
        "tinyproxy closes idle connections after its Timeout",
        Duration::from_secs(10),
        || legs_to_exit(proxy.port).1 > 0,
    );
    let (mut s, answer) = tunnel(&relay, &format!("127.0.0.1:{}", origin.port)).await;
    assert_eq!(
        answer.status, 200,
        "tunnel after the exit closed the warm connections: {}",
        answer.head
    );
    assert_eq!(get_in_tunnel(&mut s, origin.port, "/ip").await, "127.0.0.2");
    let m = relay.metrics().take();
    assert_eq!(m.dial_ok, 1, "one dial, and it worked");
    assert_eq!(
        m.failures_at(Stage::ProxyHandshake) + m.failures_at(Stage::FirstByte),
        0,
        "a connection the exit had closed is not mistaken for a failing exit"
    );
}

/// A launch's relay is held while its preflight runs: the browser, started meanwhile, gets no
/// answer and reaches nothing, while the preflight's own probe goes through a side door. Once
/// opened, what waited goes through; a relay stopped unopened refuses it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_relay_lets_only_its_probe_through_until_opened() {
    let origin = Origin::start();
    let proxy = Upstream::tinyproxy("127.0.0.2", 0);
    let (exit, password) = exit(&proxy.http_url());
    let held = || async {
        Relay::start_held(Arc::new(Dialer::new(
            exit.clone(),
            password.clone(),
            RelayConfig::default(),
            None,
        )))
        .await
        .expect("relay starts")
    };
    let connect_to = |addr: std::net::SocketAddr| {
        let target = format!("127.0.0.1:{}", origin.port);
        async move {
            let mut s = TcpStream::connect(addr)
                .await
                .expect("the kernel queues it");
            s.write_all(format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n").as_bytes())
                .await
                .expect("CONNECT written");
            s
        }
    };

    let relay = held().await;
    assert_ne!(
        relay.addr(),
        relay.probe_addr(),
        "the probe has a door of its own"
    );
    let mut waiting = connect_to(relay.addr()).await;
    // The preflight's probe works while the browser's door is held.
    let mut probe = connect_to(relay.probe_addr()).await;
    let answer = read_head(&mut probe).await;
    assert_eq!(
        answer.status, 200,
        "the probe tunnels at once: {}",
        answer.head
    );
    assert_eq!(
        get_in_tunnel(&mut probe, origin.port, "/ip").await,
        "127.0.0.2"
    );
    let mut byte = [0u8; 1];
    assert!(
        tokio::time::timeout(Duration::from_millis(300), waiting.read(&mut byte))
            .await
            .is_err(),
        "a held relay answers the browser nothing"
    );
    assert_eq!(
        relay.metrics().take().dial_ok,
        1,
        "only the probe was dialled"
    );
    relay.open();
    let answer = read_head(&mut waiting).await;
    assert_eq!(
        answer.status, 200,
        "once open, the waiting CONNECT goes through: {}",
        answer.head
    );
    assert_eq!(
        get_in_tunnel(&mut waiting, origin.port, "/ip").await,
        "127.0.0.2"
    );
    relay.stop().await;

    // A refused preflight: the relay stops unopened and what waited is refused.
    let relay = held().await;
    let mut waiting = connect_to(relay.addr()).await;
    relay.stop().await;
    let got = tokio::time::timeout(WAIT_CLOSE, waiting.read(&mut byte))
        .await
        .expect("the waiting connection is ended, not left hanging");
    assert!(
        matches!(got, Ok(0) | Err(_)),
        "closed or reset without an answer: {got:?}"
    );
}

/// How long a closed relay may take to end a connection that waited.
const WAIT_CLOSE: Duration = Duration::from_secs(5);
