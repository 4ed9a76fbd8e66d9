//! Tauri commands: the UI's view of the core API. Errors cross as `ErrorPayload` (stable code,
//! field, message) so the UI can switch on the code.

use tauri::{AppHandle, Emitter, State};

use crate::bundle::{ImportPlan, OnConflict};
use crate::launch::{LaunchOptions, LaunchProgress, Launched, Session, SessionInfo};
use crate::secrets::Secret;
use crate::{
    CheckReport, ErrorPayload, ExitStatus, ExportSummary, Holdfast, Removal, Selection, Template,
    TemplateDraft, TemplatePatch,
};

type CmdResult<T> = Result<T, ErrorPayload>;

/// All templates, by name.
#[tauri::command]
pub async fn list_templates(hf: State<'_, Holdfast>) -> CmdResult<Vec<Template>> {
    Ok(hf.list_templates().await?)
}

/// One template by name.
#[tauri::command]
pub async fn get_template(hf: State<'_, Holdfast>, name: String) -> CmdResult<Template> {
    Ok(hf.template(&name).await?)
}

/// Adds a template.
#[tauri::command]
pub async fn add_template(hf: State<'_, Holdfast>, draft: TemplateDraft) -> CmdResult<Template> {
    Ok(hf.add_template(draft).await?)
}

/// Changes a template.
#[tauri::command]
pub async fn edit_template(
    hf: State<'_, Holdfast>,
    name: String,
    patch: TemplatePatch,
) -> CmdResult<Template> {
    Ok(hf.edit_template(&name, patch).await?)
}

/// Removes a template (its profile is kept unless `purge`).
#[tauri::command]
pub async fn remove_template(
    hf: State<'_, Holdfast>,
    name: String,
    purge: bool,
) -> CmdResult<Removal> {
    Ok(hf.remove_template(&name, purge).await?)
}

/// The last seen egress of every template (no network).
#[tauri::command]
pub async fn exit_statuses(hf: State<'_, Holdfast>) -> CmdResult<Vec<ExitStatus>> {
    Ok(hf.exit_statuses().await?)
}

/// Fetches a template's egress IP through its exit now and records it.
#[tauri::command]
pub async fn check_exit(hf: State<'_, Holdfast>, name: String) -> CmdResult<CheckReport> {
    Ok(hf.check(&name).await?)
}

/// Writes a bundle of the selected templates to `path` (chosen in a save dialog).
#[tauri::command]
pub async fn export_bundle(
    hf: State<'_, Holdfast>,
    selection: Selection,
    path: String,
    passphrase: Option<String>,
) -> CmdResult<ExportSummary> {
    let passphrase = passphrase.filter(|p| !p.is_empty()).map(Secret::new);
    Ok(hf
        .export_bundle(&selection, std::path::Path::new(&path), passphrase)
        .await?)
}

/// Plans (`dry_run`) or performs the import of the bundle at `path`.
#[tauri::command]
pub async fn import_bundle(
    hf: State<'_, Holdfast>,
    path: String,
    on_conflict: OnConflict,
    passphrase: Option<String>,
    dry_run: bool,
) -> CmdResult<ImportPlan> {
    let passphrase = passphrase.filter(|p| !p.is_empty()).map(Secret::new);
    Ok(hf
        .import_bundle(
            std::path::Path::new(&path),
            on_conflict,
            passphrase,
            dry_run,
        )
        .await?)
}

/// Sessions launched by this window, kept so that they live as long as the app (dropping one
/// would end it) and can be stopped cleanly on quit.
#[derive(Default)]
pub struct Running(tokio::sync::Mutex<std::collections::HashMap<String, Session>>);

impl Running {
    /// Stops every session this app launched (on quit).
    pub async fn stop_all(&self) {
        let sessions: Vec<Session> = self.0.lock().await.drain().map(|(_, s)| s).collect();
        for s in sessions {
            s.stop().await;
        }
    }
}

/// Launches a template's browser; progress goes out as `launch-progress` events.
#[tauri::command]
pub async fn launch_session(
    app: AppHandle,
    hf: State<'_, Holdfast>,
    running: State<'_, Running>,
    name: String,
    options: LaunchOptions,
) -> CmdResult<Launched> {
    let emit = move |p: &LaunchProgress| {
        let _ = app.emit("launch-progress", p);
    };
    let session = hf.launch(&name, options, &emit).await?;
    let out = Launched {
        session: session.info().clone(),
        preflight: session.preflight().clone(),
    };
    running
        .0
        .lock()
        .await
        .insert(out.session.template_id.clone(), session);
    Ok(out)
}

/// Running sessions (of this app and of any other Holdfast process on the same home).
#[tauri::command]
pub async fn list_sessions(
    hf: State<'_, Holdfast>,
    running: State<'_, Running>,
) -> CmdResult<Vec<SessionInfo>> {
    running.0.lock().await.retain(|_, s| !s.is_finished());
    Ok(hf.sessions().await?)
}

/// Stops a template's session: cleanly through its own handle when this app launched it.
#[tauri::command]
pub async fn stop_session(
    hf: State<'_, Holdfast>,
    running: State<'_, Running>,
    name: String,
) -> CmdResult<SessionInfo> {
    let template = hf.template(&name).await?;
    let mine = running.0.lock().await.remove(&template.id);
    match mine {
        Some(s) if !s.is_finished() => {
            let info = s.info().clone();
            s.stop().await;
            Ok(info)
        }
        _ => Ok(hf.stop(&name).await?),
    }
}

/// The risk window of a template now (the health panel's banner).
#[tauri::command]
pub async fn template_risk(
    hf: State<'_, Holdfast>,
    name: String,
) -> CmdResult<crate::guard::RiskState> {
    Ok(hf.risk(&name).await?)
}

/// Holds of this app's sessions waiting for Proceed or Cancel, oldest first.
#[tauri::command]
pub fn pending_holds(hf: State<'_, Holdfast>) -> Vec<crate::guard::PendingHold> {
    hf.pending_holds()
}

/// The operator's answer to a hold.
#[tauri::command]
pub fn decide_hold(
    hf: State<'_, Holdfast>,
    id: i64,
    decision: crate::guard::Decision,
) -> CmdResult<()> {
    Ok(hf.decide_hold(id, decision)?)
}

/// The guard's audit log, newest first: of one template, or all when `name` is null.
#[tauri::command]
pub async fn audit_log(
    hf: State<'_, Holdfast>,
    name: Option<String>,
) -> CmdResult<Vec<crate::store::holds::HoldRecord>> {
    Ok(hf.audit(name.as_deref(), 200).await?)
}

/// The health of a template over 5 min / 1 h / 24 h (both layers, per exit, timeline, series).
#[tauri::command]
pub async fn template_health(
    hf: State<'_, Holdfast>,
    name: String,
) -> CmdResult<crate::health::HealthReport> {
    Ok(hf.health(&name, None).await?)
}
