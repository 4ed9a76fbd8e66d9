//! Push and alerts: every event of the sessions this app keeps goes to the page as a Tauri
//! event (`session-event`), the ones the operator must see become desktop notifications that
//! bring the window to that account when clicked, and the tray shows what runs and what is at
//! risk, with a Quit that stops the sessions cleanly.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tauri::menu::{Menu, MenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Emitter, Manager};
use tokio::sync::broadcast::error::RecvError;

use holdfast_core::launch::kept::{Alert, KeptEvent};
use holdfast_core::Holdfast;

/// The same alert for the same account is not repeated within this long (a flapping exit must
/// not bury the desktop in notifications).
const REPEAT_AFTER: Duration = Duration::from_secs(60);

/// The tray's menu items that change.
struct Tray {
    counts: MenuItem<tauri::Wry>,
    icon: tauri::tray::TrayIcon,
}

/// Builds the tray and starts forwarding session events; returns at once. A desktop without a
/// tray host still gets the events and the notifications.
pub fn start(app: &AppHandle) {
    let tray = match tray(app) {
        Ok(t) => Some(t),
        Err(e) => {
            tracing::warn!("no tray icon: {e}");
            None
        }
    };
    let hf = app.state::<Holdfast>().inner().clone();
    let mut events = hf.sessions().kept_events();
    let handle = app.clone();
    tauri::async_runtime::spawn(async move {
        let mut shown: HashMap<(String, &'static str), Instant> = HashMap::new();
        refresh_tray(&hf, tray.as_ref()).await;
        loop {
            match events.recv().await {
                Ok(event) => {
                    let _ = handle.emit("session-event", &event);
                    if let Some(alert) = event.alert() {
                        let key = (alert.template.clone(), alert.kind);
                        let fresh = shown.get(&key).is_none_or(|t| t.elapsed() >= REPEAT_AFTER);
                        if fresh {
                            shown.insert(key, Instant::now());
                            notify(&handle, alert);
                        }
                    }
                    if !matches!(event, KeptEvent::Session { .. }) {
                        refresh_tray(&hf, tray.as_ref()).await;
                    }
                }
                Err(RecvError::Lagged(_)) => {
                    // The page missed some: it reloads its rows.
                    let _ = handle.emit("session-events-lagged", ());
                }
                Err(RecvError::Closed) => break,
            }
        }
    });
}

fn tray(app: &AppHandle) -> tauri::Result<Tray> {
    let counts = MenuItem::with_id(app, "counts", "0 running · 0 at risk", false, None::<&str>)?;
    let show = MenuItem::with_id(app, "show", "Show Holdfast", true, None::<&str>)?;
    let quit = MenuItem::with_id(
        app,
        "quit",
        "Quit (stops sessions cleanly)",
        true,
        None::<&str>,
    )?;
    let menu = Menu::with_items(app, &[&counts, &show, &quit])?;
    let mut builder = TrayIconBuilder::with_id("holdfast")
        .tooltip("Holdfast")
        .menu(&menu)
        .on_menu_event(|app, e| match e.id().as_ref() {
            "show" => super::raise(app),
            // The exit handler stops every kept session cleanly before the process goes.
            "quit" => app.exit(0),
            _ => {}
        });
    if let Some(icon) = app.default_window_icon() {
        builder = builder.icon(icon.clone());
    }
    let icon = builder.build(app)?;
    Ok(Tray { counts, icon })
}

async fn refresh_tray(hf: &Holdfast, tray: Option<&Tray>) {
    let Some(tray) = tray else {
        return;
    };
    let Ok(sessions) = hf.sessions().list_kept().await else {
        return;
    };
    let risky = sessions.iter().filter(|s| s.risk.open).count();
    let text = format!("{} running · {risky} at risk", sessions.len());
    let _ = tray.counts.set_text(&text);
    let _ = tray.icon.set_tooltip(Some(format!("Holdfast: {text}")));
}

/// Shows a notification on the session bus's notification daemon; its click raises the window
/// and tells the page to open that account.
fn notify(app: &AppHandle, alert: Alert) {
    let app = app.clone();
    // The daemon answers on D-Bus, and waiting for the click blocks: one short-lived thread per
    // notification (they are rate-limited above).
    let spawned = std::thread::Builder::new()
        .name("notification".to_owned())
        .spawn(move || {
            let shown = notify_rust::Notification::new()
                .appname("Holdfast")
                .summary(&alert.title)
                .body(&alert.body)
                .hint(notify_rust::Hint::Category(alert.kind.to_owned()))
                .action("default", "Open")
                .show();
            match shown {
                Ok(handle) => handle.wait_for_action(|action| {
                    if action == "default" {
                        super::raise(&app);
                        let _ = app.emit("focus-template", &alert.template);
                    }
                }),
                Err(e) => tracing::warn!(kind = alert.kind, "no notification shown: {e}"),
            }
        });
    if let Err(e) = spawned {
        tracing::warn!("no notification thread: {e}");
    }
}
