//! The Tauri desktop shell (feature `gui`): window, plugins and commands. Every command is a
//! thin call into [`crate::Holdfast`]; nothing here knows about SQLite or the keyring.

mod commands;

use std::process::ExitCode;

use tauri::Manager;

use crate::{logging, Holdfast, Home};

/// Runs the desktop app until its window closes.
pub fn run() -> ExitCode {
    match try_run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn try_run() -> anyhow::Result<()> {
    let home = Home::from_env()?;
    home.ensure()?;
    let _log = logging::init(&home, "info")?;
    let hf = tauri::async_runtime::block_on(Holdfast::open(home))?;
    tracing::info!(home = %hf.home().root().display(), "desktop app starting");
    tauri::Builder::default()
        // A second start focuses the running window instead of opening another on the same data.
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            if let Some(w) = app.get_webview_window("main") {
                let _ = w.unminimize();
                let _ = w.show();
                let _ = w.set_focus();
            }
        }))
        .setup(|app| {
            // Holds of the sessions this app launches go to its prompt, not the policy. The
            // window is raised so a held action is never missed; the UI polls the list (no
            // event permission is granted to the page).
            let handle = app.handle().clone();
            app.state::<Holdfast>()
                .enable_hold_prompt(std::sync::Arc::new(move |hold| {
                    tracing::info!(id = hold.id, action = %hold.action, "asking the operator");
                    if let Some(w) = handle.get_webview_window("main") {
                        let _ = w.unminimize();
                        let _ = w.show();
                        let _ = w.set_focus();
                    }
                }));
            Ok(())
        })
        .manage(hf)
        .manage(commands::Running::default())
        .invoke_handler(tauri::generate_handler![
            commands::list_templates,
            commands::get_template,
            commands::add_template,
            commands::edit_template,
            commands::remove_template,
            commands::exit_statuses,
            commands::check_exit,
            commands::export_bundle,
            commands::import_bundle,
            commands::launch_session,
            commands::list_sessions,
            commands::template_health,
            commands::template_risk,
            commands::pending_holds,
            commands::decide_hold,
            commands::audit_log,
            commands::stop_session,
        ])
        .build(tauri::generate_context!())?
        .run(|app, event| {
            if let tauri::RunEvent::Exit = event {
                // Browsers this app launched are closed cleanly (cookies written) before it goes;
                // were it killed instead, they would die with it anyway.
                let running = app.state::<commands::Running>();
                tauri::async_runtime::block_on(running.stop_all());
            }
        });
    Ok(())
}
