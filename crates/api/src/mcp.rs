//! The same operations as Model Context Protocol tools, over streamable HTTP at `/mcp` behind
//! the same gate (Host, Origin, token) as `/v1`. A start answers with `ws_endpoint`, which an
//! agent hands to a browser-control server (Playwright MCP's `--cdp-endpoint`).

use std::sync::Arc;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, Implementation, ServerCapabilities, ServerConfig};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{schemars, tool, tool_handler, tool_router, ServerHandler};
use serde::{Deserialize, Serialize};
use serde_json::json;

use holdfast_core::commands;
use holdfast_core::{Error, Holdfast};

/// The tools over one Holdfast.
#[derive(Clone)]
pub struct Tools {
    hf: Holdfast,
    tool_router: ToolRouter<Self>,
}

/// A template, by name.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct Named {
    /// The template's name.
    pub name: String,
}

/// What to start.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct Start {
    /// The template's name.
    pub name: String,
    /// No window (default true: an agent drives it through `ws_endpoint`).
    #[serde(default = "yes")]
    pub headless: bool,
    /// Open these (http or https) instead of the template's start URLs.
    #[serde(default)]
    pub start_urls: Option<Vec<String>>,
}

fn yes() -> bool {
    true
}

/// A tool's answer: the value as structured content (an object), or the core's error payload
/// (`{code, field, message}`) marked as an error.
fn answer<T: Serialize>(key: &str, r: Result<T, Error>) -> CallToolResult {
    match r {
        Ok(v) => CallToolResult::structured(json!({ key: v })),
        Err(e) => CallToolResult::structured_error(json!(e.payload())),
    }
}

#[tool_router]
impl Tools {
    /// Tools over `hf`.
    pub fn new(hf: Holdfast) -> Self {
        Self {
            hf,
            tool_router: Self::tool_router(),
        }
    }

    /// Every template (account environment): name, account, exit, timezone, locale, tags.
    #[tool]
    async fn list_templates(&self) -> CallToolResult {
        answer("templates", commands::list_templates(&self.hf).await)
    }

    /// Starts a template's browser through its exit and answers with `ws_endpoint` (CDP:
    /// Playwright connectOverCDP, Puppeteer browserWSEndpoint) and `debugger_address`.
    #[tool]
    async fn start(&self, Parameters(p): Parameters<Start>) -> CallToolResult {
        let request = crate::routes::StartRequest {
            headless: p.headless,
            start_urls: p.start_urls,
            force: false,
        };
        match request.start(&self.hf, p.name).await {
            Ok(reply) => CallToolResult::structured(json!(reply)),
            Err(e) => CallToolResult::structured_error(json!(e.payload())),
        }
    }

    /// Stops a template's running session (the browser closes cleanly).
    #[tool]
    async fn stop(&self, Parameters(p): Parameters<Named>) -> CallToolResult {
        answer("stopped", commands::stop_session(&self.hf, p.name).await)
    }

    /// Running sessions: template, pid, since, egress IP, clock offset, risk window.
    #[tool]
    async fn status(&self) -> CallToolResult {
        answer("sessions", commands::list_sessions(&self.hf).await)
    }

    /// Why a template's sessions drop: connection and session layer, per exit, over 5 min,
    /// 1 h and 24 h, with a timeline.
    #[tool]
    async fn health(&self, Parameters(p): Parameters<Named>) -> CallToolResult {
        answer("health", commands::template_health(&self.hf, p.name).await)
    }

    /// Whether a template is in a risk window now, and why (sensitive actions are held then).
    #[tool]
    async fn risk(&self, Parameters(p): Parameters<Named>) -> CallToolResult {
        answer("risk", commands::template_risk(&self.hf, p.name).await)
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Tools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("holdfast", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Holdfast keeps one isolated browser environment per account. `start` one and \
                 drive it over the returned ws_endpoint; `risk` says whether sensitive actions \
                 are held now; `stop` it when done.",
            )
    }
}

/// The `/mcp` service; `hosts` are the `Host` values the gate accepts.
pub fn service(
    hf: Holdfast,
    hosts: Vec<String>,
) -> StreamableHttpService<Tools, LocalSessionManager> {
    let mut config = StreamableHttpServerConfig::default();
    config.allowed_hosts = hosts;
    StreamableHttpService::new(
        move || Ok(Tools::new(hf.clone())),
        Arc::new(LocalSessionManager::default()),
        config,
    )
}
