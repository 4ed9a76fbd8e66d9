//! Paths the operator chose in the app's file dialog. The export and import commands take a path
//! from the webview only when it is the one last chosen here for that purpose: a page running in
//! the window (a bug, an injected script) cannot name a file to write or read.

use std::sync::Mutex;

use holdfast_core::{Error, ErrorPayload};
use serde::Deserialize;
use tauri::{Manager, State};
use tauri_plugin_dialog::DialogExt;

/// What a chosen path is for: a file to write (save dialog) or one to read (open dialog).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// A bundle to write.
    Save,
    /// A bundle to read.
    Open,
}

/// The last path chosen for each purpose (a new choice replaces the old one).
#[derive(Debug, Default)]
pub struct ChosenPaths {
    save: Mutex<Option<String>>,
    open: Mutex<Option<String>>,
}

impl ChosenPaths {
    fn slot(&self, purpose: Purpose) -> &Mutex<Option<String>> {
        match purpose {
            Purpose::Save => &self.save,
            Purpose::Open => &self.open,
        }
    }

    fn remember(&self, purpose: Purpose, path: String) {
        // A poisoned lock only means a panic elsewhere held it; the value is still a path.
        *self.slot(purpose).lock().unwrap_or_else(|e| e.into_inner()) = Some(path);
    }

    /// Admits `path` when it is exactly the one the operator chose for `purpose`.
    pub fn admit(&self, purpose: Purpose, path: &str) -> Result<(), ErrorPayload> {
        let slot = self.slot(purpose).lock().unwrap_or_else(|e| e.into_inner());
        if slot.as_deref() == Some(path) {
            Ok(())
        } else {
            tracing::warn!(
                ?purpose,
                path,
                "refused a path not chosen in the file dialog"
            );
            Err(Error::PathNotChosen {
                path: path.to_owned(),
            }
            .payload())
        }
    }
}

/// Opens the native file dialog (save or open) over the main window and returns the path the
/// operator chose, now admitted for that purpose; `None` when the dialog was cancelled.
#[tauri::command]
pub async fn choose_bundle_path(
    app: tauri::AppHandle,
    chosen: State<'_, ChosenPaths>,
    purpose: Purpose,
) -> Result<Option<String>, ErrorPayload> {
    let mut dialog = app.dialog().file().add_filter("Holdfast bundle", &["json"]);
    if let Some(window) = app.get_webview_window("main") {
        dialog = dialog.set_parent(&window);
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    let done = move |p| {
        let _ = tx.send(p);
    };
    match purpose {
        Purpose::Save => dialog
            .set_title("Export templates to")
            .set_file_name("holdfast-bundle.json")
            .save_file(done),
        Purpose::Open => dialog.set_title("Import a bundle").pick_file(done),
    }
    let Some(picked) = rx.await.ok().flatten() else {
        return Ok(None);
    };
    let path = picked.into_path().map_err(|e| {
        Error::InvalidText {
            field: "path",
            value: e.to_string(),
            reason: "not a local file",
        }
        .payload()
    })?;
    let Some(text) = path.to_str() else {
        return Err(Error::InvalidText {
            field: "path",
            value: path.to_string_lossy().into_owned(),
            reason: "the path is not valid UTF-8; choose another name",
        }
        .payload());
    };
    chosen.remember(purpose, text.to_owned());
    Ok(Some(text.to_owned()))
}
