//! Holdfast's local automation API: the third face on the core's commands, over HTTP on
//! loopback. Every request passes the gate (Host, Origin, bearer token); bodies are capped and
//! parsed strictly; errors are the CLI's `{code, field, message}`. `holdfast serve` and the
//! desktop app (setting `api.enabled`) start it.

mod body;
mod error;
mod gate;
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

/// A running API server.
pub struct Serving {
    /// Where it listens.
    pub addr: SocketAddr,
    hf: Holdfast,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Starts the API on `addr` (`127.0.0.1:0`: any free port) and writes `api.json`. A
/// non-loopback address is the caller's explicit choice (`--listen`): it is served, with a
/// warning, since anyone who can reach it and learns the token drives the browsers.
pub async fn start(hf: Holdfast, addr: SocketAddr) -> anyhow::Result<Serving> {
    if !addr.ip().is_loopback() {
        tracing::warn!(%addr, "the API listens beyond loopback: anyone who reaches it with the token drives the browsers");
    }
    let token = hf.api().token().await?;
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
    let app = router(hf.clone(), gate);
    let (shutdown, mut stopped) = watch::channel(false);
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

fn router(hf: Holdfast, gate: Gate) -> Router {
    let hosts = gate.hosts.as_ref().clone();
    routes::v1(hf.clone())
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
        if let Err(e) = self.task.await {
            tracing::warn!("the API server task failed: {e}");
        }
        self.hf.sessions().stop_all_kept().await;
        self.hf.api().remove_endpoint();
    }
}
