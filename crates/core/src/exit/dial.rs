//! Opening a tunnel to a target through the exit: TCP to the exit, then its proxy handshake
//! (HTTP CONNECT with Basic auth, or SOCKS5 with username/password), or straight to the target
//! when the exit is `direct`. There is no other path: a failed exit fails the tunnel.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use hyper::StatusCode;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::{timeout, Instant};

use super::backoff::ExitGate;
use super::config::RelayConfig;
use super::head::read_head;
use super::metrics::RelayMetrics;
use super::warm::Warm;
use crate::events::{DialError, Stage};
use crate::events::{EventBus, SessionEvent};
use crate::store::secrets::Secret;
use crate::template::{Exit, ExitKind, ProxyAddr};

/// Where the browser wants to go: a host name (resolved by the exit) or an IP literal, and a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Host name or IP literal, IPv6 without brackets.
    pub host: String,
    pub port: u16,
}

impl Target {
    /// `host:port`, with brackets around an IPv6 literal.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// An open tunnel to a target.
#[derive(Debug)]
pub struct Tunnel {
    pub stream: TcpStream,
    /// Bytes the exit sent after its handshake answer, to be delivered first.
    pub leftover: Bytes,
}

/// Dials targets through one exit, with the exit's timeouts, back-off and dial cap.
#[derive(Debug)]
pub struct Dialer {
    exit: Exit,
    password: Option<Secret>,
    config: RelayConfig,
    gate: Arc<ExitGate>,
    metrics: Arc<RelayMetrics>,
    events: Option<EventBus>,
    last_failure: Mutex<Option<DialError>>,
    /// Connections to a proxy exit opened ahead of need (none for `direct`).
    warm: Option<Arc<Warm>>,
    /// Dials under way through this dialer.
    in_flight: AtomicUsize,
}

/// Counts a dial as under way until dropped (a dial whose browser left is dropped mid-way).
struct InFlight<'a>(&'a AtomicUsize);

impl<'a> InFlight<'a> {
    fn enter(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::AcqRel);
        Self(count)
    }

    /// Whether this is the only dial under way.
    fn alone(&self) -> bool {
        self.0.load(Ordering::Acquire) == 1
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A failed proxy handshake, and whether the exit answered at all: one that closed or reset a
/// warm connection without a word had dropped it while idle, and a fresh dial may still work.
struct Refused {
    error: DialError,
    unanswered: bool,
}

impl Refused {
    fn answered(error: DialError) -> Self {
        Self {
            error,
            unanswered: false,
        }
    }

    fn unanswered(error: DialError) -> Self {
        Self {
            error,
            unanswered: true,
        }
    }
}

impl Dialer {
    /// A dialer for `exit`, authenticating with `password` when the exit has a username.
    pub fn new(
        exit: Exit,
        password: Option<Secret>,
        config: RelayConfig,
        events: Option<EventBus>,
    ) -> Self {
        Self {
            // A proxy exit's back-off and dial cap are shared by every session using it; `direct`
            // goes to many different hosts, so each relay keeps its own.
            gate: match &exit {
                Exit::Direct => Arc::new(ExitGate::new(&config)),
                Exit::Proxy(_) => ExitGate::shared(&exit.to_string(), &config),
            },
            warm: match &exit {
                Exit::Direct => None,
                Exit::Proxy(p) => Some(Arc::new(Warm::new(
                    &p.host,
                    p.port,
                    config.connect_timeout,
                    config.keepalive,
                ))),
            },
            exit,
            password,
            config,
            metrics: Arc::new(RelayMetrics::default()),
            events,
            last_failure: Mutex::new(None),
            in_flight: AtomicUsize::new(0),
        }
    }

    /// Opens warm connections to a proxy exit in the background, so that the first tunnels
    /// (the browser's first requests) skip the TCP connect. Must be called within a Tokio runtime.
    pub fn warm_up(&self) {
        if let Some(warm) = &self.warm {
            warm.fill();
        }
    }

    /// The exit this dialer goes through.
    pub fn exit(&self) -> &Exit {
        &self.exit
    }

    /// The relay's timeouts and limits.
    pub fn config(&self) -> &RelayConfig {
        &self.config
    }

    /// The live counters.
    pub fn metrics(&self) -> &Arc<RelayMetrics> {
        &self.metrics
    }

    /// The most recent dial failure, if any.
    pub fn last_failure(&self) -> Option<DialError> {
        self.last_failure.lock().ok().and_then(|f| f.clone())
    }

    /// Records a failure of an open tunnel (first byte, mid-stream, idle reclaim).
    pub fn tunnel_failed(&self, target: &Target, e: DialError) {
        self.note_failure(target, e);
    }

    /// Opens a tunnel to `target` through the exit.
    pub async fn dial(&self, target: &Target) -> Result<Tunnel, DialError> {
        let wait = self.gate.delay();
        if !wait.is_zero() {
            self.metrics.backoff_waited();
            tokio::time::sleep(wait).await;
        }
        let _permit = self.gate.permit().await;
        self.metrics.dial_started();
        let in_flight = InFlight::enter(&self.in_flight);
        let result = self.dial_once(target).await;
        match &result {
            Ok(_) => {
                self.gate.succeeded();
                // More tunnels tend to follow one (the next page, a new host). Not during a
                // burst: every dial of it already pays its own connect, in parallel, and
                // connections opened beside them would only compete.
                if in_flight.alone() {
                    self.warm_up();
                }
            }
            Err(e) => {
                if e.stage.blames_exit() && self.exit.kind() != ExitKind::Direct {
                    self.gate.failed();
                }
                self.note_failure(target, e.clone());
            }
        }
        result
    }

    fn note_failure(&self, target: &Target, e: DialError) {
        self.metrics.failed(e.stage);
        tracing::debug!(target = %target.authority(), stage = e.stage.as_str(), reason = %e.reason, "relay failure");
        if let Some(bus) = &self.events {
            let cap = |s: &str| crate::rules::cap(s, crate::rules::MAX_STORED).into_owned();
            bus.publish(SessionEvent::DialFailed {
                stage: e.stage,
                target: cap(&target.authority()),
                reason: cap(&e.reason),
            });
        }
        if let Ok(mut last) = self.last_failure.lock() {
            *last = Some(e);
        }
    }

    async fn dial_once(&self, target: &Target) -> Result<Tunnel, DialError> {
        if let (Exit::Proxy(proxy), Some(warm)) = (&self.exit, &self.warm) {
            if let Some(c) = warm.take() {
                let started = Instant::now();
                match self.handshake(c.stream, proxy, target).await {
                    Ok(tunnel) => {
                        self.metrics
                            .dial_succeeded(c.connect, Some(started.elapsed()));
                        return Ok(tunnel);
                    }
                    // The exit let the idle connection go just now: dial afresh below.
                    Err(r) if r.unanswered => {
                        tracing::debug!(reason = %r.error.reason, "warm connection to the exit was dropped")
                    }
                    Err(r) => return Err(r.error),
                }
            }
        }
        let started = Instant::now();
        let (host, port) = match &self.exit {
            Exit::Direct => (target.host.as_str(), target.port),
            Exit::Proxy(p) => (p.host.as_str(), p.port),
        };
        let stream = connect(
            host,
            port,
            self.config.connect_timeout,
            self.config.keepalive,
        )
        .await?;
        let connected = Instant::now();
        let connect_time = connected - started;
        let Exit::Proxy(proxy) = &self.exit else {
            self.metrics.dial_succeeded(connect_time, None);
            return Ok(Tunnel {
                stream,
                leftover: Bytes::new(),
            });
        };
        let tunnel = self
            .handshake(stream, proxy, target)
            .await
            .map_err(|r| r.error)?;
        self.metrics
            .dial_succeeded(connect_time, Some(connected.elapsed()));
        Ok(tunnel)
    }

    /// The proxy handshake on a connected `stream`, within the handshake timeout.
    async fn handshake(
        &self,
        stream: TcpStream,
        proxy: &ProxyAddr,
        target: &Target,
    ) -> Result<Tunnel, Refused> {
        let handshake = async {
            match proxy.kind {
                ExitKind::Socks5 => self.socks5(stream, proxy, target).await,
                _ => self.http_connect(stream, proxy, target).await,
            }
        };
        match timeout(self.config.handshake_timeout, handshake).await {
            Ok(r) => r,
            Err(_) => {
                // An exit that accepts TCP but never answers is as dead as one that refuses.
                self.gate.failed();
                Err(Refused::answered(DialError::new(
                    Stage::ProxyHandshake,
                    format!(
                        "the exit did not complete its handshake within {} ms",
                        self.config.handshake_timeout.as_millis()
                    ),
                )))
            }
        }
    }

    async fn http_connect(
        &self,
        mut stream: TcpStream,
        proxy: &ProxyAddr,
        target: &Target,
    ) -> Result<Tunnel, Refused> {
        // Written and parsed in this task (no hyper connection task to hand the socket back
        // from): a tunnel's handshake is one write and one read.
        let handshake_err = |what: &str, e: &dyn std::fmt::Display| {
            DialError::new(Stage::ProxyHandshake, format!("{what}: {e}"))
        };
        let authority = target.authority();
        let mut request = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
        if let Some(user) = &proxy.username {
            let pw = self.password.as_ref().map(Secret::expose).unwrap_or("");
            let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pw}"));
            request.push_str(&format!("Proxy-Authorization: Basic {token}\r\n"));
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes()).await.map_err(|e| {
            Refused::unanswered(handshake_err("cannot send CONNECT to the exit", &e))
        })?;
        drop(request);
        let (buf, head_len) = match read_head(&mut stream).await {
            Ok(Some(h)) => h,
            Ok(None) => {
                return Err(Refused::unanswered(DialError::new(
                    Stage::ProxyHandshake,
                    "the exit closed the connection without answering CONNECT",
                )))
            }
            Err(e) if is_drop(&e) => {
                return Err(Refused::unanswered(handshake_err(
                    "no answer to CONNECT",
                    &e,
                )))
            }
            Err(e) => {
                return Err(Refused::answered(handshake_err(
                    "no valid answer to CONNECT",
                    &e,
                )))
            }
        };
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut response = httparse::Response::new(&mut headers);
        match response.parse(&buf[..head_len]) {
            Ok(httparse::Status::Complete(_)) => {}
            Ok(httparse::Status::Partial) => {
                return Err(Refused::answered(handshake_err(
                    "answer to CONNECT",
                    &"incomplete head",
                )))
            }
            Err(e) => {
                return Err(Refused::answered(handshake_err(
                    "the exit's answer to CONNECT is not HTTP",
                    &e,
                )))
            }
        }
        let code = response.code.unwrap_or(0);
        if !(200..300).contains(&code) {
            let status = StatusCode::from_u16(code)
                .map(|s| s.to_string())
                .unwrap_or_else(|_| code.to_string());
            let auth = code == 407 || code == 401;
            let why = match (auth, proxy.username.is_some()) {
                (true, true) => "the exit rejected the username or password",
                (true, false) => "the exit requires a username and password",
                (false, _) => "the exit refused the tunnel",
            };
            return Err(Refused::answered(DialError::new(
                if auth {
                    Stage::ProxyAuth
                } else {
                    Stage::ProxyHandshake
                },
                format!("CONNECT {authority} answered {status}: {why}"),
            )));
        }
        Ok(Tunnel {
            stream,
            leftover: Bytes::copy_from_slice(&buf[head_len..]),
        })
    }

    async fn socks5(
        &self,
        stream: TcpStream,
        proxy: &ProxyAddr,
        target: &Target,
    ) -> Result<Tunnel, Refused> {
        use tokio_socks::tcp::Socks5Stream;
        use tokio_socks::Error as S;
        // A host name goes to the exit as a name (ATYP domain): DNS is resolved by the exit.
        let dest = (target.host.as_str(), target.port);
        let result = match &proxy.username {
            Some(user) => {
                let pw = self.password.as_ref().map(Secret::expose).unwrap_or("");
                Socks5Stream::connect_with_password_and_socket(stream, dest, user, pw).await
            }
            None => Socks5Stream::connect_with_socket(stream, dest).await,
        };
        match result {
            Ok(s) => Ok(Tunnel {
                stream: s.into_inner(),
                leftover: Bytes::new(),
            }),
            Err(e) => {
                let unanswered = matches!(&e, S::Io(io) if is_drop(io));
                let stage = match e {
                    S::PasswordAuthFailure(_)
                    | S::AuthorizationRequired
                    | S::NoAcceptableAuthMethods
                    | S::InvalidAuthValues(_) => Stage::ProxyAuth,
                    _ => Stage::ProxyHandshake,
                };
                let why = match stage {
                    Stage::ProxyAuth if proxy.username.is_none() => {
                        "the exit requires a username and password"
                    }
                    Stage::ProxyAuth => "the exit rejected the username or password",
                    _ => "the SOCKS5 exit refused the tunnel",
                };
                let error = DialError::new(
                    stage,
                    format!("SOCKS5 to {}: {e}: {why}", target.authority()),
                );
                Err(Refused { error, unanswered })
            }
        }
    }
}

/// A TCP connection to `host:port` within `limit`, tuned (see `tune`): the first step of every
/// dial, and of a warm connection.
pub(crate) async fn connect(
    host: &str,
    port: u16,
    limit: Duration,
    keepalive: Duration,
) -> Result<TcpStream, DialError> {
    let stream = match timeout(limit, TcpStream::connect((host, port))).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            return Err(DialError::new(
                Stage::TcpConnect,
                format!("cannot connect to {host}:{port}: {e}"),
            ))
        }
        Err(_) => {
            return Err(DialError::new(
                Stage::TcpConnect,
                format!(
                    "no TCP connection to {host}:{port} within {} ms",
                    limit.as_millis()
                ),
            ))
        }
    };
    tune(&stream, keepalive);
    Ok(stream)
}

/// Whether an I/O error means the peer closed or reset the connection.
fn is_drop(e: &std::io::Error) -> bool {
    use std::io::ErrorKind as K;
    matches!(
        e.kind(),
        K::UnexpectedEof | K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe
    )
}

/// No Nagle delay (request/response latency), and TCP keepalive so that NAT entries stay
/// and dead peers are found. Failure to tune is not worth failing a connection for.
pub fn tune(stream: &TcpStream, keepalive: Duration) {
    tune_socket(socket2::SockRef::from(stream), keepalive);
}

/// `tune` for any TCP socket (a listener's options are inherited by the sockets it accepts).
pub fn tune_socket(socket: socket2::SockRef<'_>, keepalive: Duration) {
    let _ = socket.set_tcp_nodelay(true);
    let ka = socket2::TcpKeepalive::new()
        .with_time(keepalive)
        .with_interval(Duration::from_secs(10).min(keepalive))
        .with_retries(3);
    let _ = socket.set_tcp_keepalive(&ka);
}
