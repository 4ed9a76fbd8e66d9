//! The Tauri desktop shell (feature `gui`): window, plugins and commands. Every command is a
//! thin call into [`crate::Holdfast`]; nothing here knows about SQLite or the keyring.

mod alerts;
mod chosen;
mod commands;
mod memory;

use std::process::ExitCode;

use tauri::{Emitter, Manager};

use holdfast_core::{logging, Holdfast, Home};

/// The local API while the app serves it.
type ApiServer = std::sync::Arc<tokio::sync::Mutex<Option<holdfast_api::Serving>>>;

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
    memory::keep_small();
    let hf = tauri::async_runtime::block_on(Holdfast::open(home))?;
    tracing::info!(home = %hf.home().root().display(), "desktop app starting");
    tauri::Builder::default()
        // File dialogs are opened from Rust only (`chosen`); the page has no dialog permission.
        .plugin(tauri_plugin_dialog::init())
        // A second start focuses the running window instead of opening another on the same data.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            raise(app)
        }))
        .setup(|app| {
            // Holds of the sessions this app launches go to its prompt, not the policy. The
            // window is raised so a held action is never missed; the UI polls the list.
            let handle = app.handle().clone();
            let kept = app.state::<Holdfast>().sessions().kept();
            app.state::<Holdfast>()
                .guard()
                .enable_prompt(std::sync::Arc::new(move |hold| {
                    tracing::info!(id = hold.id, action = %hold.action, "asking the operator");
                    // The local API's event stream hears of it too (if the API is on).
                    kept.hold_waiting(hold);
                    raise(&handle);
                }));
            // The local automation API, when switched on (`api.enabled`): same listener,
            // gate and token as `holdfast serve`; holds still go to this window.
            let hf = app.state::<Holdfast>().inner().clone();
            let serving = app.state::<ApiServer>().inner().clone();
            tauri::async_runtime::spawn(async move {
                match hf.settings().current().await {
                    Ok(s) if s.api_enabled() => {
                        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], s.api_port()));
                        match holdfast_api::start(hf.clone(), addr, false).await {
                            Ok(api) => *serving.lock().await = Some(api),
                            Err(e) => tracing::error!("the local API did not start: {e:#}"),
                        }
                    }
                    Ok(_) => {}
                    Err(e) => tracing::error!("cannot read the settings: {e}"),
                }
            });
            // In a team, others' template changes are pulled as the store announces them, and
            // the page is told to reload its list.
            let hf = app.state::<Holdfast>().inner().clone();
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move {
                hf.team()
                    .watch(|n| {
                        let _ = handle.emit("templates-changed", n);
                    })
                    .await;
            });
            // Session events go to the page (push, not poll), alerts to the desktop, counts to
            // the tray.
            alerts::start(app.handle());
            // Launch progress of the sessions this app keeps goes to the page as events.
            let mut progress = app.state::<Holdfast>().sessions().launch_progress();
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move {
                loop {
                    match progress.recv().await {
                        Ok(p) => {
                            let _ = handle.emit("launch-progress", &p);
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                    }
                }
            });
            Ok(())
        })
        .manage(hf)
        .manage(ApiServer::default())
        .manage(chosen::ChosenPaths::default())
        .invoke_handler(commands::handler())
        .build(tauri::generate_context!())?
        .run(|app, event| {
            if let tauri::RunEvent::Exit = event {
                // Browsers this app launched are closed cleanly (cookies written) before it goes;
                // were it killed instead, they would die with it anyway.
                let hf = app.state::<Holdfast>();
                let api = app.state::<ApiServer>().inner().clone();
                tauri::async_runtime::block_on(async move {
                    if let Some(serving) = api.lock().await.take() {
                        serving.stop().await;
                    }
                    hf.sessions().stop_all_kept().await;
                });
            }
        });
    Ok(())
}

/// Brings the main window to the front (a second start, a held request).
fn raise(app: &tauri::AppHandle) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
    }
}
