//! Holdfast's local automation API: the third face on the core's commands, over HTTP on
//! loopback. Every request passes the gate (Host, Origin, bearer token); bodies are capped and
//! parsed strictly; errors are the CLI's `{code, field, message}`. `holdfast serve` and the
//! desktop app (setting `api.enabled`) start it.

mod body;
mod error;
mod gate;
pub mod holds;
mod mcp;
pub mod openapi;
pub mod routes;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use axum::extract::DefaultBodyLimit;
use axum::Router;
use tokio::sync::watch;

use holdfast_core::api::{ApiEndpoint, ENDPOINT_FILE};
use holdfast_core::{ErrorCode, Holdfast};

pub use body::MAX_BODY;
use error::ApiError;
use gate::{Gate, TokenCache};

/// How long a stopping server waits for open responses to finish.
const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(3);

/// A running API server.
pub struct Serving {
    /// Where it listens.
    pub addr: SocketAddr,
    hf: Holdfast,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Starts the API on `addr` (`127.0.0.1:0`: any free port) and writes `api.json`; holds of
/// the sessions it starts then wait for an answer through it (`answer_holds`; the desktop app,
/// which asks in its window, passes false). A
/// non-loopback address is the caller's explicit choice (`--listen`): it is served, with a
/// warning, since anyone who can reach it and learns the token drives the browsers.
pub async fn start(hf: Holdfast, addr: SocketAddr, answer_holds: bool) -> anyhow::Result<Serving> {
    if !addr.ip().is_loopback() {
        tracing::warn!(%addr, "the API listens beyond loopback: anyone who reaches it with the token drives the browsers");
    }
    let token = hf.api().token().await?;
    if answer_holds {
        holds::answer_through_api(&hf);
    }
    let settings = hf.settings().current().await?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let addr = listener.local_addr()?;
    let port = addr.port();
    let mut hosts = vec![
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
    ];
    if !addr.ip().is_loopback() && !addr.ip().is_unspecified() {
        hosts.push(addr.to_string());
    }
    let endpoint = ApiEndpoint {
        url: format!("http://{}", endpoint_host(addr)),
        token: token.clone(),
        pid: std::process::id(),
    };
    hf.api().write_endpoint(&endpoint)?;
    let gate = Gate {
        hosts: Arc::new(hosts),
        origins: Arc::new(settings.api_allowed_origins()),
        token: TokenCache::new(hf.home().root().join(ENDPOINT_FILE), token),
    };
    let (shutdown, mut stopped) = watch::channel(false);
    let app = router(hf.clone(), gate, stopped.clone());
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.wait_for(|s| *s).await;
            })
            .await
    });
    tracing::info!(url = %endpoint.url, "local API listening");
    Ok(Serving {
        addr,
        hf,
        shutdown,
        task,
    })
}

/// `127.0.0.1:PORT` as a URL host (an unspecified bind is reached on loopback).
fn endpoint_host(addr: SocketAddr) -> String {
    if addr.ip().is_unspecified() {
        format!("127.0.0.1:{}", addr.port())
    } else {
        addr.to_string()
    }
}

fn router(hf: Holdfast, gate: Gate, stopping: watch::Receiver<bool>) -> Router {
    let hosts = gate.hosts.as_ref().clone();
    routes::v1(hf.clone(), stopping)
        .nest_service("/mcp", mcp::service(hf, hosts))
        .route(
            "/v1/openapi.json",
            axum::routing::get(|| async { axum::Json(openapi::document()) }),
        )
        .fallback(|| async {
            ApiError::new(
                ErrorCode::NoSuchEndpoint,
                None,
                "no such endpoint (see /v1/openapi.json)",
            )
        })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn_with_state(gate, gate::check))
}

impl Serving {
    /// Stops listening, closes the sessions the API started (cleanly: cookies written) and
    /// removes `api.json`.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        // Event streams end at once; a client that keeps another response open (an MCP
        // stream) is not waited for long.
        let mut task = self.task;
        match tokio::time::timeout(STOP_GRACE, &mut task).await {
            Ok(Err(e)) => tracing::warn!("the API server task failed: {e}"),
            Ok(Ok(_)) => {}
            Err(_) => {
                tracing::warn!("open API connections did not close within {STOP_GRACE:?}; dropped");
                task.abort();
            }
        }
        self.hf.sessions().stop_all_kept().await;
        self.hf.api().remove_endpoint();
    }
}
