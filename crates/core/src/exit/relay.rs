//! The relay: a local HTTP proxy on 127.0.0.1 for one session's browser, forwarding every
//! connection to the template's exit and nowhere else.
//!
//! The browser speaks HTTP proxy to the relay (`--proxy-server=http://127.0.0.1:PORT`). With an
//! HTTP proxy, Chromium never resolves names itself: it sends `CONNECT host:443` and
//! absolute-form `GET http://host/…`, and the relay hands the name on unresolved (CONNECT to an
//! HTTP exit, ATYP domain to a SOCKS5 exit), so DNS is resolved on the exit side. (SOCKS5 to the
//! relay would also carry names, but HTTP lets the relay answer a failed tunnel with a 502 that
//! says why, which the browser shows and the health view can attribute.)

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, HOST};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::timeout;

use super::dial::{tune_socket, Dialer, Target};
use super::head::{read_head, Prefixed};
use super::metrics::RelayMetrics;
use super::pump::pump;
use crate::events::{DialError, Stage};

type Body = BoxBody<Bytes, hyper::Error>;

pub use crate::events::FAILURE_HEADER;

/// The listener's backlog. A browser opens dozens of connections at once (a page of many hosts,
/// a restored session, an automation script): past the backlog the kernel drops their SYNs and
/// each costs a 1 s retransmission. The default of a bound listener is 128; the kernel caps
/// this at `net.core.somaxconn` (4096 on current kernels).
const BACKLOG: u32 = 4096;

/// A running relay. Dropping it stops the listener; `stop` also closes open tunnels.
#[derive(Debug)]
pub struct Relay {
    addr: SocketAddr,
    probe_addr: SocketAddr,
    dialer: Arc<Dialer>,
    stop: watch::Sender<bool>,
    open: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Relay {
    /// Starts a relay on 127.0.0.1 with a free port, forwarding through `dialer`.
    pub async fn start(dialer: Arc<Dialer>) -> std::io::Result<Self> {
        Self::start_with(dialer, false)
    }

    /// Starts a relay that accepts nothing at `addr` until `open` is called: the browser can
    /// start meanwhile (its connections wait in the listen queue, unanswered), while a launch's
    /// preflight probes the exit through `probe_addr`, a listener of its own that the browser
    /// is never told. Stopped or dropped unopened, the relay refuses what waited.
    pub async fn start_held(dialer: Arc<Dialer>) -> std::io::Result<Self> {
        Self::start_with(dialer, true)
    }

    fn start_with(dialer: Arc<Dialer>, held: bool) -> std::io::Result<Self> {
        let listener = listen(&dialer)?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = watch::channel(false);
        let (open, opened) = watch::channel(!held);
        let mut tasks = vec![tokio::spawn(accept_loop(
            listener,
            addr,
            dialer.clone(),
            stopped.clone(),
            Some(opened),
        ))];
        let probe_addr = if held {
            let probe = listen(&dialer)?;
            let probe_addr = probe.local_addr()?;
            tasks.push(tokio::spawn(accept_loop(
                probe,
                probe_addr,
                dialer.clone(),
                stopped,
                None,
            )));
            probe_addr
        } else {
            addr
        };
        // The first requests follow at once: have a connection to the exit waiting.
        dialer.warm_up();
        tracing::info!(%addr, held, exit = %dialer.exit(), "relay listening");
        Ok(Self {
            addr,
            probe_addr,
            dialer,
            stop,
            open,
            tasks,
        })
    }

    /// Lets the browser's connections in (a relay from `start_held`; others are open).
    pub fn open(&self) {
        let _ = self.open.send(true);
    }

    /// Where the relay's own probes connect: the held relay's side door, else `addr`.
    pub fn probe_addr(&self) -> SocketAddr {
        self.probe_addr
    }

    /// Where the browser connects.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The `--proxy-server` value for the browser.
    pub fn proxy_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The dialer (and through it the exit, the metrics and the last failure).
    pub fn dialer(&self) -> &Arc<Dialer> {
        &self.dialer
    }

    /// The live counters.
    pub fn metrics(&self) -> &Arc<RelayMetrics> {
        self.dialer.metrics()
    }

    /// Closes every open tunnel and the listener: from now on the browser reaches nothing
    /// (its connections are refused). The relay is not restarted.
    pub fn refuse_all(&self) {
        let _ = self.stop.send(true);
        self.tasks.iter().for_each(JoinHandle::abort);
    }

    /// Stops accepting and closes every open tunnel.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        self.tasks.iter().for_each(JoinHandle::abort);
        // Let the connection tasks see the signal before the caller moves on.
        tokio::task::yield_now().await;
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        self.tasks.iter().for_each(JoinHandle::abort);
    }
}

/// A listener on 127.0.0.1 with a free port and room for a burst of connections.
fn listen(dialer: &Dialer) -> std::io::Result<TcpListener> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    // Accepted sockets inherit these: no per-connection system calls to set them.
    tune_socket(socket2::SockRef::from(&socket), dialer.config().keepalive);
    socket.bind(SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, 0)))?;
    socket.listen(BACKLOG)
}

/// Accepts connections on `listener` (bound at `local`, which is every accepted socket's own
/// address) and serves each of this user's on a task of its own; with `opened`, only once it
/// says so.
async fn accept_loop(
    listener: TcpListener,
    local: SocketAddr,
    dialer: Arc<Dialer>,
    stopped: watch::Receiver<bool>,
    opened: Option<watch::Receiver<bool>>,
) {
    if let Some(mut opened) = opened {
        // Until then the kernel keeps the connections queued; nothing is read or dialled.
        if opened.wait_for(|open| *open).await.is_err() {
            return;
        }
    }
    let me = super::peer::own_uid();
    loop {
        let (stream, from) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of file descriptors and the like: wait a moment rather than spin.
                tracing::warn!("relay accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        // Before a byte is read, let alone sent upstream: only this user's processes may use
        // the exit's credentials.
        if !is_own(local, from, me) {
            continue;
        }
        let (dialer, mut stopped) = (dialer.clone(), stopped.clone());
        tokio::spawn(async move {
            tokio::select! {
                _ = serve(stream, dialer) => {}
                _ = crate::events::stopped(&mut stopped) => {}
            }
        });
    }
}

/// Whether the connecting socket belongs to user `me`; anything else (another user, an owner
/// the kernel cannot name) is refused and logged.
fn is_own(local: SocketAddr, from: SocketAddr, me: u32) -> bool {
    match super::peer::owner(from, local) {
        Ok(super::peer::Peer::Uid(uid)) if uid == me => true,
        Ok(super::peer::Peer::Unchecked) => true,
        Ok(owner) => {
            tracing::warn!(%from, ?owner, "relay refused a connection that is not this user's");
            false
        }
        Err(e) => {
            tracing::warn!(%from, "relay refused a connection whose owner cannot be checked: {e}");
            false
        }
    }
}

async fn serve(mut stream: TcpStream, dialer: Arc<Dialer>) {
    // Dropping the stream closes it: nothing was sent upstream yet.
    let head = timeout(dialer.config().head_timeout, read_head(&mut stream)).await;
    let Ok(Ok(Some((buf, head_len)))) = head else {
        return;
    };
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut headers);
    let connect = match req.parse(&buf[..head_len]) {
        Ok(httparse::Status::Complete(_)) if req.method == Some("CONNECT") => req.path,
        _ => None,
    };
    if let Some(authority) = connect {
        let authority = authority.to_owned();
        let early = Bytes::copy_from_slice(&buf[head_len..]);
        return connect_raw(stream, &authority, early, dialer).await;
    }
    // Anything else (plain requests, and whatever follows on a kept-alive connection) goes
    // through hyper, with the bytes already read replayed first.
    let io = Prefixed::new(Bytes::from(buf), stream);
    let service = service_fn(move |req| {
        let dialer = dialer.clone();
        async move { Ok::<_, Infallible>(handle(req, dialer).await) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .preserve_header_case(true)
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades()
        .await;
}

/// The CONNECT fast path on the raw socket: dial, answer, pump — all in this one task.
async fn connect_raw(mut browser: TcpStream, authority: &str, early: Bytes, dialer: Arc<Dialer>) {
    use tokio::io::AsyncWriteExt;
    let Some(target) = parse_authority(authority) else {
        let _ = browser
            .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 22\r\nConnection: close\r\n\r\nCONNECT needs host:port")
            .await;
        return;
    };
    let tunnel = match dialer.dial(&target).await {
        Ok(t) => t,
        Err(e) => {
            let body = failure_text(&e);
            let head = format!(
                "HTTP/1.1 {} {}\r\nContent-Type: text/plain; charset=utf-8\r\n{FAILURE_HEADER}: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                failure_status(&e).as_u16(),
                failure_status(&e).canonical_reason().unwrap_or(""),
                e.stage.as_str(),
                body.len()
            );
            let _ = browser.write_all(head.as_bytes()).await;
            let _ = browser.write_all(body.as_bytes()).await;
            let _ = browser.shutdown().await;
            return;
        }
    };
    if browser
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .await
        .is_err()
    {
        return;
    }
    run_tunnel(browser, early, tunnel, &target, &dialer).await;
}

async fn run_tunnel(
    browser: TcpStream,
    early: Bytes,
    tunnel: super::dial::Tunnel,
    target: &Target,
    dialer: &Dialer,
) {
    let metrics = dialer.metrics();
    metrics.tunnel_delta(1);
    let result = pump(
        browser,
        early,
        tunnel.stream,
        tunnel.leftover,
        dialer.config(),
        metrics,
    )
    .await;
    metrics.tunnel_delta(-1);
    if let Err(e) = result {
        dialer.tunnel_failed(target, e);
    }
}

/// `host:port` or `[v6]:port` of a CONNECT request.
fn parse_authority(authority: &str) -> Option<Target> {
    let a: hyper::http::uri::Authority = authority.parse().ok()?;
    let port = a.port_u16()?;
    Some(Target {
        host: a.host().trim_matches(['[', ']']).to_owned(),
        port,
    })
}

async fn handle(req: Request<Incoming>, dialer: Arc<Dialer>) -> Response<Body> {
    if req.method() == Method::CONNECT {
        return connect(req, dialer).await;
    }
    match plain_target(req.uri()) {
        Some(target) => forward(req, target, dialer).await,
        None => text(
            StatusCode::BAD_REQUEST,
            "This is a Holdfast relay: use it as an HTTP proxy (absolute-form requests or CONNECT).\n",
        ),
    }
}

/// `CONNECT` after other requests on a kept-alive connection (rare): the same as the fast path,
/// through hyper's upgrade.
async fn connect(req: Request<Incoming>, dialer: Arc<Dialer>) -> Response<Body> {
    let Some(target) = req
        .uri()
        .authority()
        .and_then(|a| parse_authority(a.as_str()))
    else {
        return text(StatusCode::BAD_REQUEST, "CONNECT needs host:port\n");
    };
    let tunnel = match dialer.dial(&target).await {
        Ok(t) => t,
        Err(e) => return failure(&e),
    };
    tokio::spawn(async move {
        let upgraded = match hyper::upgrade::on(req).await {
            Ok(u) => u,
            Err(_) => return, // the browser left before the tunnel was handed over
        };
        let Ok(parts) = upgraded.downcast::<TokioIo<Prefixed<TcpStream>>>() else {
            return;
        };
        let (unread, browser) = parts.io.into_inner().into_parts();
        // hyper read ahead first; any replayed bytes it did not take come after.
        let early = if unread.is_empty() {
            parts.read_buf
        } else {
            let mut b = parts.read_buf.to_vec();
            b.extend_from_slice(&unread);
            Bytes::from(b)
        };
        run_tunnel(browser, early, tunnel, &target, &dialer).await;
    });
    Response::new(empty())
}

/// A plain `http://` request: tunnelled through the exit like CONNECT (so a proxy's own 401/407
/// is never mistaken for the site's), one upstream connection per request. Nothing is pooled,
/// so an upstream connection that has received FIN is never reused.
async fn forward(req: Request<Incoming>, target: Target, dialer: Arc<Dialer>) -> Response<Body> {
    let tunnel = match dialer.dial(&target).await {
        Ok(t) => t,
        Err(e) => return failure(&e),
    };
    if !tunnel.leftover.is_empty() {
        return failure(&DialError::new(
            Stage::ProxyHandshake,
            "the exit sent data before the request",
        ));
    }
    let (mut sender, conn) = match hyper::client::conn::http1::Builder::new()
        .preserve_header_case(true)
        .handshake(TokioIo::new(tunnel.stream))
        .await
    {
        Ok(pair) => pair,
        Err(e) => {
            return failure(&DialError::new(
                Stage::ProxyHandshake,
                format!("HTTP to {}: {e}", target.authority()),
            ))
        }
    };
    tokio::spawn(conn);
    let metrics = dialer.metrics().clone();
    let request = origin_form(req, &target, metrics.clone());
    let sent = tokio::time::Instant::now();
    match timeout(
        dialer.config().first_byte_timeout,
        sender.send_request(request),
    )
    .await
    {
        Ok(Ok(response)) => {
            metrics.first_byte(sent.elapsed());
            response.map(|body| {
                body.map_frame(move |frame| {
                    if let Some(data) = frame.data_ref() {
                        metrics.add_down(data.len() as u64);
                    }
                    frame
                })
                .boxed()
            })
        }
        Ok(Err(e)) => {
            let e = DialError::new(
                if e.is_incomplete_message() {
                    Stage::FirstByte
                } else {
                    Stage::MidStream
                },
                format!(
                    "{} closed or failed before answering: {e}",
                    target.authority()
                ),
            );
            dialer.tunnel_failed(&target, e.clone());
            failure(&e)
        }
        Err(_) => {
            let e = DialError::new(
                Stage::FirstByte,
                format!(
                    "{} did not answer within {} ms",
                    target.authority(),
                    dialer.config().first_byte_timeout.as_millis()
                ),
            );
            dialer.tunnel_failed(&target, e.clone());
            failure(&e)
        }
    }
}

/// The target of an absolute-form `http://` request URI.
fn plain_target(uri: &Uri) -> Option<Target> {
    if uri.scheme_str() != Some("http") {
        return None;
    }
    let authority = uri.authority()?;
    Some(Target {
        host: authority.host().trim_matches(['[', ']']).to_owned(),
        port: authority.port_u16().unwrap_or(80),
    })
}

/// Rewrites a proxy request for the origin: origin-form URI, no hop-by-hop or proxy headers.
fn origin_form(
    req: Request<Incoming>,
    target: &Target,
    metrics: Arc<RelayMetrics>,
) -> Request<Body> {
    let (mut parts, body) = req.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/")
        .to_owned();
    parts.uri = path.parse().unwrap_or_else(|_| Uri::from_static("/"));
    let headers = &mut parts.headers;
    // Headers named by Connection are hop-by-hop too.
    let named: Vec<String> = headers
        .get_all(hyper::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    for name in named {
        headers.remove(name.as_str());
    }
    for name in [
        "connection",
        "proxy-connection",
        "proxy-authorization",
        "proxy-authenticate",
        "keep-alive",
        "te",
        "trailer",
        "upgrade",
    ] {
        headers.remove(name);
    }
    if !headers.contains_key(HOST) {
        if let Ok(v) = HeaderValue::from_str(&host_header(target)) {
            headers.insert(HOST, v);
        }
    }
    let body = body
        .map_frame(move |frame| {
            if let Some(data) = frame.data_ref() {
                metrics.add_up(data.len() as u64);
            }
            frame
        })
        .boxed();
    Request::from_parts(parts, body)
}

fn host_header(target: &Target) -> String {
    if target.port == 80 {
        if target.host.contains(':') {
            format!("[{}]", target.host)
        } else {
            target.host.clone()
        }
    } else {
        target.authority()
    }
}

/// The relay's answer to a failed tunnel: 502 (504 when the target never answered), naming the
/// stage and the reason.
fn failure(e: &DialError) -> Response<Body> {
    let mut response = text(failure_status(e), &failure_text(e));
    response
        .headers_mut()
        .insert(FAILURE_HEADER, HeaderValue::from_static(e.stage.as_str()));
    response
}

fn failure_status(e: &DialError) -> StatusCode {
    if e.stage == Stage::FirstByte {
        StatusCode::GATEWAY_TIMEOUT
    } else {
        StatusCode::BAD_GATEWAY
    }
}

fn failure_text(e: &DialError) -> String {
    format!("Holdfast relay: {e}\nNo direct connection was made.\n")
}

fn text(status: StatusCode, body: &str) -> Response<Body> {
    let mut response = Response::new(
        Full::new(Bytes::from(body.to_owned()))
            .map_err(|never| match never {})
            .boxed(),
    );
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

fn empty() -> Body {
    Empty::new().map_err(|never| match never {}).boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::config::RelayConfig;
    use crate::template::Exit;

    /// The backlog the kernel keeps for the listener on `port`: the Send-Q that `ss` shows for
    /// a listening socket (iproute2, installed by scripts/setup.sh test).
    fn backlog_of(port: u16) -> Option<u32> {
        let out = std::process::Command::new("ss")
            .args(["-ltnH", &format!("sport = :{port}")])
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        text.split_whitespace().nth(2)?.parse().ok()
    }

    #[tokio::test]
    async fn the_listener_takes_a_burst_of_connections_without_dropping_syns() {
        let dialer = Dialer::new(Exit::Direct, None, RelayConfig::default(), None);
        let relay = Relay::start(Arc::new(dialer)).await.unwrap();
        let somaxconn: u32 = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(4096);
        assert_eq!(
            backlog_of(relay.addr().port()),
            Some(BACKLOG.min(somaxconn)),
            "the relay's backlog is its own, not a bound listener's default of 128 (which \
             drops SYNs when a browser opens many connections at once)"
        );
        relay.stop().await;
    }
}
