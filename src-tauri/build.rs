//! Build script: only the desktop shell (`gui` feature) needs Tauri's code generation.

fn main() {
    println!("cargo:rerun-if-changed=../migrations");
    #[cfg(feature = "gui")]
    gui::build();
}

#[cfg(feature = "gui")]
mod gui {
    /// Commands the UI may call; each gets an `allow-<command>` permission that the
    /// capability file must grant explicitly (no command is reachable by default).
    const COMMANDS: &[&str] = &[
        "list_templates",
        "get_template",
        "add_template",
        "edit_template",
        "remove_template",
        "exit_statuses",
        "check_exit",
        "export_bundle",
        "import_bundle",
        "launch_session",
        "list_sessions",
        "stop_session",
        "template_health",
        "template_risk",
        "pending_holds",
        "decide_hold",
        "audit_log",
    ];

    pub fn build() {
        let attrs = tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
        if let Err(e) = tauri_build::try_build(attrs) {
            println!("cargo:warning=tauri build step failed: {e:#}");
            std::process::exit(1);
        }
    }
}
