//! Tauri commands: the UI's view of the core API. Errors cross as `ErrorPayload` (stable code,
//! field, message) so the UI can switch on the code.

use tauri::State;

use crate::{
    CheckReport, ErrorPayload, ExitStatus, Holdfast, Removal, Template, TemplateDraft,
    TemplatePatch,
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
