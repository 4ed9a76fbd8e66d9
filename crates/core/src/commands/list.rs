// The operations every face offers, each written once: name, arguments, result, and the call
// into the core. Three macros read this list: the core's (`commands/mod.rs`: one async function
// per operation and its TypeScript signature), the desktop shell's (a Tauri handler each) and
// its build script's (an `allow-…` permission each, granted to the main window). The local
// HTTP/MCP API will be a fourth reader. Types are the ones `commands::types` exports.
// `#[chosen(arg, Save|Open)]` marks a path argument that the desktop shell accepts only when the
// operator picked that very path in its file dialog (a page in the webview must not name files);
// the other faces take the path as given.
commands! {
    /// All templates, by name.
    list_templates() -> Vec<Template> |hf| hf.templates().list().await;
    /// One template by name.
    get_template(name: String) -> Template |hf| hf.templates().get(&name).await;
    /// Adds a template.
    add_template(draft: TemplateDraft) -> Template |hf| hf.templates().add(draft).await;
    /// Changes a template.
    edit_template(name: String, patch: TemplatePatch) -> Template
        |hf| hf.templates().edit(&name, patch).await;
    /// Removes a template (its profile is kept unless `purge`).
    remove_template(name: String, purge: bool) -> Removal
        |hf| hf.templates().remove(&name, purge).await;
    /// The last seen egress of every template (no network).
    exit_statuses() -> Vec<ExitStatus> |hf| hf.exits().statuses().await;
    /// Fetches a template's egress IP through its exit now and records it.
    check_exit(name: String) -> CheckReport |hf| hf.exits().check(&name).await;
    /// Where a template's exit is now (asked through the exit) and the timezone and locale
    /// that would fit it; nothing is saved.
    exit_fit(name: String) -> ExitFit |hf| hf.exits().fit(&name).await;
    /// Writes a bundle of the selected templates to `path` (an empty passphrase is none).
    #[chosen(path, Save)]
    export_bundle(selection: Selection, path: String, passphrase: Option<String>) -> ExportSummary
        |hf| hf.bundles().export(&selection, Path::new(&path), secret(passphrase)).await;
    /// Plans (`dry_run`) or performs the import of the bundle at `path` (`allow_weaker`: let a
    /// replacement turn a proxied or pinned exit direct or drop a pin).
    #[chosen(path, Open)]
    import_bundle(path: String, on_conflict: OnConflict, passphrase: Option<String>, dry_run: bool, allow_weaker: bool) -> ImportPlan
        |hf| hf.bundles().import(Path::new(&path), on_conflict, secret(passphrase), dry_run, allow_weaker).await;
    /// Launches a template's browser and keeps the session in this process; progress goes to
    /// the launch progress stream.
    launch_session(name: String, options: LaunchOptions) -> Launched
        |hf| hf.sessions().launch_kept(&name, options).await;
    /// Running sessions (of this process and of any other Holdfast process on the same home).
    list_sessions() -> Vec<SessionInfo> |hf| hf.sessions().list_kept().await;
    /// Stops a template's session: cleanly through its own handle when this process launched it.
    stop_session(name: String) -> SessionInfo |hf| hf.sessions().stop_kept(&name).await;
    /// Every template's row of the fleet list: state, egress and pin, clock, risk, 5 min of
    /// health, last launch.
    fleet() -> Vec<FleetRow> |hf| hf.fleet().rows().await;
    /// Sessions in trouble ranked, and each exit judged across its accounts.
    fleet_overview() -> Overview |hf| { let rows = hf.fleet().rows().await?; Ok(hf.fleet().overview(&rows)) };
    /// Requests and failures per stage over `window` (5m, 1h, 24h) of one template or of all
    /// (`name` null), with egress changes and failed refreshes marked.
    health_series(name: Option<String>, window: String) -> HealthSeries
        |hf| hf.fleet().series(name.as_deref(), &window).await;
    /// The health of a template over 5 min / 1 h / 24 h (both layers, per exit, timeline, series).
    template_health(name: String) -> HealthReport |hf| hf.health().report(&name, None).await;
    /// The risk window of a template now.
    template_risk(name: String) -> RiskState |hf| hf.guard().risk(&name).await;
    /// Holds of this process's sessions waiting for Proceed or Cancel, oldest first.
    pending_holds() -> Vec<PendingHold> |hf| Ok(hf.guard().pending());
    /// The operator's answer to a hold.
    decide_hold(id: i64, decision: Decision) -> () |hf| hf.guard().decide(id, decision);
    /// This home's team (membership, role, connected or offline, who runs which account where);
    /// null without a team.
    team_status() -> Option<TeamStatus> |hf| hf.team().status_if_any().await;
    /// The guard's audit log, newest first (at most 200): of one template, or all when `name` is null.
    audit_log(name: Option<String>) -> Vec<HoldRecord> |hf| hf.guard().audit(name.as_deref(), 200).await;
}
