//! The endpoints under `/v1`: each one a thin call into one of the core's commands.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use holdfast_core::commands::{self, types::*};
use holdfast_core::{Error, Holdfast};

use crate::body::Body;
use crate::error::ApiResult;

/// The `/v1` routes over `hf`; event streams end when `stopping` turns true (a graceful
/// shutdown waits for every open response).
pub fn v1(hf: Holdfast, stopping: tokio::sync::watch::Receiver<bool>) -> Router {
    Router::new()
        .route("/v1/templates", get(list_templates).post(add_template))
        .route(
            "/v1/templates/{name}",
            get(get_template)
                .patch(edit_template)
                .delete(remove_template),
        )
        .route("/v1/templates/{name}/start", post(start))
        .route("/v1/templates/{name}/stop", post(stop))
        .route("/v1/templates/{name}/check", post(check_exit))
        .route("/v1/templates/{name}/exit-fit", get(exit_fit))
        .route("/v1/templates/{name}/health", get(health))
        .route("/v1/templates/{name}/risk", get(risk))
        .route("/v1/sessions", get(sessions))
        .route("/v1/events", get(events).layer(axum::Extension(stopping)))
        .route("/v1/exits", get(exits))
        .route("/v1/audit", get(audit))
        .route("/v1/holds", get(holds))
        .route("/v1/holds/{id}", post(decide))
        .route("/v1/team", get(team))
        .route("/v1/bundles/export", post(export_bundle))
        .route("/v1/bundles/import", post(import_bundle))
        .with_state(hf)
}

async fn list_templates(State(hf): State<Holdfast>) -> ApiResult<Json<Vec<Template>>> {
    Ok(Json(commands::list_templates(&hf).await?))
}

async fn add_template(
    State(hf): State<Holdfast>,
    Body(draft): Body<TemplateDraft>,
) -> ApiResult<(StatusCode, Json<Template>)> {
    Ok((
        StatusCode::CREATED,
        Json(commands::add_template(&hf, draft).await?),
    ))
}

async fn get_template(
    State(hf): State<Holdfast>,
    Path(name): Path<String>,
) -> ApiResult<Json<Template>> {
    Ok(Json(commands::get_template(&hf, name).await?))
}

async fn edit_template(
    State(hf): State<Holdfast>,
    Path(name): Path<String>,
    Body(patch): Body<TemplatePatch>,
) -> ApiResult<Json<Template>> {
    Ok(Json(commands::edit_template(&hf, name, patch).await?))
}

/// `?purge=true` also deletes the profile.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RemoveQuery {
    purge: bool,
}

async fn remove_template(
    State(hf): State<Holdfast>,
    Path(name): Path<String>,
    Query(q): Query<RemoveQuery>,
) -> ApiResult<Json<Removal>> {
    Ok(Json(commands::remove_template(&hf, name, q.purge).await?))
}

/// What `POST /v1/templates/{name}/start` takes.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct StartRequest {
    /// No window.
    pub headless: bool,
    /// Open these instead of the template's start URLs, this once.
    pub start_urls: Option<Vec<String>>,
    /// Go on despite a refusing preflight (clock, egress); never overrides the lease.
    pub force: bool,
}

/// A started session with every form of its automation endpoint.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct StartReply {
    pub template: String,
    pub session_id: String,
    pub pid: Option<i64>,
    /// `ws://127.0.0.1:PORT/devtools/browser/ID`: Puppeteer `browserWSEndpoint`, Playwright
    /// `connectOverCDP`.
    pub ws_endpoint: String,
    /// `127.0.0.1:PORT`: Selenium's `debuggerAddress`.
    pub debugger_address: String,
    /// `http://127.0.0.1:PORT`.
    pub http_endpoint: String,
    /// The relay's `host:port`.
    pub relay: Option<String>,
    pub egress_ip: Option<String>,
    pub clock_offset_ms: Option<i64>,
    /// What the preflight warned about (and what `force` overrode).
    pub warnings: Vec<String>,
}

async fn start(
    State(hf): State<Holdfast>,
    Path(name): Path<String>,
    Body(req): Body<StartRequest>,
) -> ApiResult<(StatusCode, Json<StartReply>)> {
    let reply = req.start(&hf, name).await?;
    Ok((StatusCode::CREATED, Json(reply)))
}

impl StartRequest {
    /// Starts `name` with its automation port (the API starts sessions to be automated: the
    /// DevTools port is the point), for the HTTP endpoint and the MCP tool alike.
    pub async fn start(self, hf: &Holdfast, name: String) -> Result<StartReply, Error> {
        let options = LaunchOptions {
            headless: self.headless,
            force: self.force,
            cdp: true,
            start_urls: self.start_urls,
        };
        Ok(reply(commands::launch_session(hf, name, options).await?))
    }
}

/// The start reply of a launched session.
fn reply(launched: Launched) -> StartReply {
    let s = launched.session;
    let ws = s.cdp.clone().unwrap_or_default();
    // ws://HOST:PORT/devtools/browser/ID → HOST:PORT
    let address = ws
        .strip_prefix("ws://")
        .and_then(|r| r.split('/').next())
        .unwrap_or_default()
        .to_owned();
    let mut warnings = launched.preflight.warnings;
    warnings.extend(launched.preflight.forced);
    StartReply {
        template: s.template,
        session_id: s.session_id,
        pid: s.pid,
        http_endpoint: format!("http://{address}"),
        debugger_address: address,
        ws_endpoint: ws,
        relay: s.relay,
        egress_ip: s.egress_ip,
        clock_offset_ms: s.clock_offset_ms,
        warnings,
    }
}

async fn stop(
    State(hf): State<Holdfast>,
    Path(name): Path<String>,
) -> ApiResult<Json<SessionInfo>> {
    Ok(Json(commands::stop_session(&hf, name).await?))
}

async fn check_exit(
    State(hf): State<Holdfast>,
    Path(name): Path<String>,
) -> ApiResult<Json<CheckReport>> {
    Ok(Json(commands::check_exit(&hf, name).await?))
}

async fn exit_fit(
    State(hf): State<Holdfast>,
    Path(name): Path<String>,
) -> ApiResult<Json<ExitFit>> {
    Ok(Json(commands::exit_fit(&hf, name).await?))
}

async fn health(
    State(hf): State<Holdfast>,
    Path(name): Path<String>,
) -> ApiResult<Json<HealthReport>> {
    Ok(Json(commands::template_health(&hf, name).await?))
}

async fn risk(State(hf): State<Holdfast>, Path(name): Path<String>) -> ApiResult<Json<RiskState>> {
    Ok(Json(commands::template_risk(&hf, name).await?))
}

async fn sessions(State(hf): State<Holdfast>) -> ApiResult<Json<Vec<SessionInfo>>> {
    Ok(Json(commands::list_sessions(&hf).await?))
}

/// `GET /v1/events`: Server-Sent Events, one `KeptEvent` (JSON, its `type` as the SSE event
/// name) per message, for the sessions this API started: launched, every session event,
/// risk window opened and closed, holds waiting, ended. A client too slow to keep up loses
/// the oldest and gets a `lagged` event saying how many.
async fn events(
    State(hf): State<Holdfast>,
    axum::Extension(stopping): axum::Extension<tokio::sync::watch::Receiver<bool>>,
) -> axum::response::sse::Sse<
    impl futures_util::Stream<Item = Result<axum::response::sse::Event, std::convert::Infallible>>,
> {
    use axum::response::sse::{Event, KeepAlive, Sse};
    use tokio::sync::broadcast::error::RecvError;
    let rx = hf.sessions().kept_events();
    let stream =
        futures_util::stream::unfold((rx, stopping), |(mut rx, mut stopping)| async move {
            let next = tokio::select! {
                r = rx.recv() => r,
                _ = stopping.wait_for(|s| *s) => return None,
            };
            let event = match next {
                Ok(e) => {
                    let json = serde_json::to_value(&e).unwrap_or_default();
                    let name = json["type"].as_str().unwrap_or("event").to_owned();
                    Event::default().event(name).data(json.to_string())
                }
                Err(RecvError::Lagged(n)) => Event::default()
                    .event("lagged")
                    .data(serde_json::json!({ "type": "lagged", "missed": n }).to_string()),
                Err(RecvError::Closed) => return None,
            };
            Some((Ok(event), (rx, stopping)))
        });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

async fn exits(State(hf): State<Holdfast>) -> ApiResult<Json<Vec<ExitStatus>>> {
    Ok(Json(commands::exit_statuses(&hf).await?))
}

/// `?name=T`: one template's holds only.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct AuditQuery {
    name: Option<String>,
}

async fn audit(
    State(hf): State<Holdfast>,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Json<Vec<HoldRecord>>> {
    Ok(Json(commands::audit_log(&hf, q.name).await?))
}

async fn holds(State(hf): State<Holdfast>) -> ApiResult<Json<Vec<PendingHold>>> {
    Ok(Json(commands::pending_holds(&hf).await?))
}

/// The answer to a hold.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DecideRequest {
    decision: Decision,
}

async fn decide(
    State(hf): State<Holdfast>,
    Path(id): Path<i64>,
    Body(req): Body<DecideRequest>,
) -> ApiResult<StatusCode> {
    commands::decide_hold(&hf, id, req.decision).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn team(State(hf): State<Holdfast>) -> ApiResult<Json<Option<TeamStatus>>> {
    Ok(Json(commands::team_status(&hf).await?))
}

/// A bundle to write (a path on this machine).
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportRequest {
    #[serde(default)]
    selection: Selection,
    path: String,
    #[serde(default)]
    passphrase: Option<String>,
}

async fn export_bundle(
    State(hf): State<Holdfast>,
    Body(req): Body<ExportRequest>,
) -> ApiResult<Json<ExportSummary>> {
    Ok(Json(
        commands::export_bundle(&hf, req.selection, req.path, req.passphrase).await?,
    ))
}

/// A bundle to read (a path on this machine), planned or imported.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportRequest {
    path: String,
    on_conflict: OnConflict,
    #[serde(default)]
    passphrase: Option<String>,
    #[serde(default)]
    dry_run: bool,
    #[serde(default)]
    allow_weaker: bool,
}

async fn import_bundle(
    State(hf): State<Holdfast>,
    Body(req): Body<ImportRequest>,
) -> ApiResult<Json<ImportPlan>> {
    Ok(Json(
        commands::import_bundle(
            &hf,
            req.path,
            req.on_conflict,
            req.passphrase,
            req.dry_run,
            req.allow_weaker,
        )
        .await?,
    ))
}
