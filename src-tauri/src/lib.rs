//! Holdfast core: per-account browser environments. Knows nothing of Tauri; the desktop shell
//! (`app`, feature `gui`), the CLI and the local API are thin calls into [`Holdfast`].

pub mod browser;
pub mod bundle;
pub mod check;
pub mod clock;
pub mod error;
pub mod events;
pub mod exit;
pub mod guard;
pub mod health;
pub mod home;
pub mod launch;
pub mod lease;
pub mod logging;
pub mod pid;
pub mod recorder;
pub mod relay_session;
pub mod secrets;
pub mod settings;
pub mod stats;
pub mod store;
pub mod template;

#[cfg(feature = "gui")]
pub mod app;

use std::path::PathBuf;
use std::sync::Arc;

use chrono::Utc;
use serde::Serialize;
use ts_rs::TS;

pub use check::{CheckReport, EgressStatus, ExitStatus};
pub use error::{Error, ErrorCode, ErrorPayload, Result};
pub use home::Home;
pub use relay_session::RelaySession;
pub use settings::{SettingView, Settings};
pub use stats::RelayStats;
pub use template::{Template, TemplateDraft, TemplatePatch};

use events::EventBus;
use exit::{Dialer, Relay};
use recorder::{Recorder, RecorderConfig};
use secrets::{Secret, Secrets};
use store::{templates, Store};
use template::PasswordChange;

/// What `remove_template` did.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct Removal {
    pub template: Template,
    /// The template's browser profile directory.
    #[ts(type = "string")]
    pub profile_dir: PathBuf,
    /// Whether that directory exists after the removal (kept unless purged).
    pub profile_kept: bool,
}

/// Which templates to export: named ones, ones with any of the tags, or all.
#[derive(Debug, Clone, Default, serde::Deserialize, TS)]
#[serde(default, deny_unknown_fields)]
#[ts(export)]
pub struct Selection {
    pub names: Vec<String>,
    pub tags: Vec<String>,
    pub all: bool,
}

/// What `export_bundle` wrote.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct ExportSummary {
    #[ts(type = "string")]
    pub path: PathBuf,
    pub names: Vec<String>,
    /// How many exit passwords went into the encrypted section.
    pub secrets: usize,
    /// Templates with a password that is not in the keyring (exported without it).
    pub missing_secrets: Vec<String>,
}

/// The one API of Holdfast: one open home (database, keyring entries, profiles).
#[derive(Debug, Clone)]
pub struct Holdfast {
    home: Home,
    store: Store,
    secrets: Secrets,
    /// Passes the guard's holds to the app's prompt (shared by every session of this process).
    guard: Arc<guard::Broker>,
}

impl Holdfast {
    /// Opens a home: creates its directories and database, applies migrations.
    pub async fn open(home: Home) -> Result<Self> {
        home.ensure()?;
        let store = Store::open(&home.db_path()).await?;
        Ok(Self {
            home,
            store,
            secrets: Secrets,
            guard: Arc::default(),
        })
    }

    /// The home this instance works in.
    pub fn home(&self) -> &Home {
        &self.home
    }

    /// Closes the database cleanly.
    pub async fn close(&self) {
        self.store.close().await;
    }

    /// All templates, by name.
    pub async fn list_templates(&self) -> Result<Vec<Template>> {
        let mut list = Vec::new();
        let mut conn = self.store.pool().acquire().await?;
        templates::for_each(&mut conn, |t| {
            list.push(t);
            Ok::<_, Error>(())
        })
        .await?;
        Ok(list)
    }

    /// Calls `visit` with pages of templates in their JSON form (each a non-empty JSON array of
    /// the objects `Template` serialises to), by name: for output that streams without decoding.
    pub async fn each_template_json_page<E: From<Error>>(
        &self,
        visit: impl FnMut(&str) -> Result<(), E>,
    ) -> Result<usize, E> {
        let mut conn = self.store.pool().acquire().await.map_err(Error::from)?;
        templates::for_each_json_page(&mut conn, visit).await
    }

    /// One template by name (case-insensitive).
    pub async fn template(&self, name: &str) -> Result<Template> {
        let mut conn = self.store.pool().acquire().await?;
        templates::find_by_name(&mut conn, name)
            .await?
            .ok_or_else(|| not_found(name))
    }

    /// Validates and stores a new template; its password (if any) goes to the keyring.
    /// On any error nothing is written: no row, no keyring entry.
    pub async fn add_template(&self, draft: TemplateDraft) -> Result<Template> {
        let (template, password) = draft.validate(Utc::now())?;
        let mut tx = self.store.pool().begin().await?;
        templates::insert(&mut tx, &template).await?;
        if let Some(pw) = &password {
            // Keyring failure drops `tx`, which rolls the insert back.
            self.set_secret(&template.id, pw.clone()).await?;
        }
        if let Err(e) = tx.commit().await {
            if password.is_some() {
                self.delete_secret(&template.id).await.ok();
            }
            return Err(e.into());
        }
        tracing::info!(id = %template.id, name = %template.name, exit = %template.exit, "template added");
        Ok(template)
    }

    /// Validates and applies changes to a template; an invalid change writes nothing.
    pub async fn edit_template(&self, name: &str, patch: TemplatePatch) -> Result<Template> {
        let mut tx = self.store.pool().begin().await?;
        let current = templates::find_by_name(&mut tx, name)
            .await?
            .ok_or_else(|| not_found(name))?;
        let (updated, change) = patch.apply(&current, Utc::now())?;
        templates::update(&mut tx, &updated).await?;
        // Keep the old password until the row is committed, to put it back if the commit fails.
        let previous = match change {
            PasswordChange::Keep => None,
            PasswordChange::Set(_) | PasswordChange::Clear if !current.exit_has_password => None,
            PasswordChange::Set(_) | PasswordChange::Clear => self.get_secret(&current.id).await?,
        };
        match &change {
            PasswordChange::Keep => {}
            PasswordChange::Set(pw) => self.set_secret(&updated.id, pw.clone()).await?,
            PasswordChange::Clear => self.delete_secret(&updated.id).await?,
        }
        if let Err(e) = tx.commit().await {
            match previous {
                Some(old) => self.set_secret(&current.id, old).await.ok(),
                None if matches!(change, PasswordChange::Set(_)) => {
                    self.delete_secret(&current.id).await.ok()
                }
                None => None,
            };
            return Err(e.into());
        }
        tracing::info!(id = %updated.id, name = %updated.name, exit = %updated.exit, "template edited");
        Ok(updated)
    }

    /// Deletes a template and its keyring entry. Its browser profile is kept unless `purge`.
    pub async fn remove_template(&self, name: &str, purge: bool) -> Result<Removal> {
        // A running browser keeps using its profile and exit: stop it first.
        let current = self.template(name).await?;
        if lease::Lease::is_held(&self.home.profile_dir(&current.id))? {
            return Err(self.already_running(&current).await);
        }
        let mut tx = self.store.pool().begin().await?;
        let template = templates::find_by_name(&mut tx, name)
            .await?
            .ok_or_else(|| not_found(name))?;
        templates::delete(&mut tx, &template.id).await?;
        if template.exit_has_password {
            self.delete_secret(&template.id).await?;
        }
        tx.commit().await?;
        let profile_dir = self.home.profile_dir(&template.id);
        if purge && profile_dir.exists() {
            tokio::fs::remove_dir_all(&profile_dir)
                .await
                .map_err(|e| Error::io("cannot delete profile", &profile_dir, e))?;
        }
        tracing::info!(id = %template.id, name = %template.name, purge, "template removed");
        Ok(Removal {
            profile_kept: profile_dir.exists(),
            template,
            profile_dir,
        })
    }

    /// The exit password of a template, read from the keyring (for the relay).
    pub async fn exit_password(&self, name: &str) -> Result<Option<Secret>> {
        let t = self.template(name).await?;
        if !t.exit_has_password {
            return Ok(None);
        }
        self.get_secret(&t.id).await
    }

    /// The settings in effect.
    pub async fn settings(&self) -> Result<Settings> {
        let mut conn = self.store.pool().acquire().await?;
        Ok(Settings::from_stored(
            store::settings::all(&mut conn).await?,
        ))
    }

    /// Validates and stores a setting; returns every setting as now in effect.
    pub async fn set_setting(&self, key: &str, value: &str) -> Result<Vec<SettingView>> {
        let value = settings::validate(key, value)?;
        let mut conn = self.store.pool().acquire().await?;
        store::settings::set(&mut conn, key, &value).await?;
        drop(conn);
        Ok(self.settings().await?.view())
    }

    /// Puts a setting back to its default.
    pub async fn unset_setting(&self, key: &str) -> Result<Vec<SettingView>> {
        if !settings::is_known(key) {
            // Same message as for `set` with an unknown key.
            settings::validate(key, "")?;
        }
        let mut conn = self.store.pool().acquire().await?;
        store::settings::unset(&mut conn, key).await?;
        drop(conn);
        Ok(self.settings().await?.view())
    }

    /// A relay for a template's exit, not yet recording (for `check` and tests).
    pub async fn relay_for(
        &self,
        template: &Template,
        settings: &Settings,
        bus: Option<EventBus>,
    ) -> Result<Relay> {
        let password = if template.exit_has_password {
            self.get_secret(&template.id).await?
        } else {
            None
        };
        let dialer = Dialer::new(template.exit.clone(), password, settings.relay(), bus);
        Relay::start(Arc::new(dialer)).await.map_err(Error::Relay)
    }

    /// Fetches the egress IP through the template's exit, records it in the egress history (an
    /// IP different from the last seen is stored as an `egress_changed` event) and compares it
    /// with the pin; checks the clock against the SNTP servers at the same time. A failed probe
    /// is a report with `ok: false` and the error, not an `Err`.
    pub async fn check(&self, name: &str) -> Result<CheckReport> {
        let template = self.template(name).await?;
        let settings = self.settings().await?;
        let relay = self.relay_for(&template, &settings, None).await?;
        let clock_config = settings.clock();
        let (egress, clock) = tokio::join!(
            self.egress_report(&template, &relay, &settings, "check"),
            clock::check(&clock_config)
        );
        relay.stop().await;
        let (mut report, _) = egress?;
        report.ok = report.ok && clock.verdict != clock::ClockVerdict::Block;
        report.clock = Some(clock);
        Ok(report)
    }

    /// Probes the egress through `relay` and records it (see `check`). The error, if any, comes
    /// back beside the report for callers that refuse on it.
    pub(crate) async fn egress_report(
        &self,
        template: &Template,
        relay: &Relay,
        settings: &Settings,
        session_id: &str,
    ) -> Result<(CheckReport, Option<Error>)> {
        let probe = exit::egress::probe(
            relay.addr(),
            &settings.echo_urls(),
            settings.probe_timeout(),
        )
        .await;
        let relay_failure = relay.dialer().last_failure();
        let mut conn = self.store.pool().acquire().await?;
        match probe {
            Ok(p) => {
                let now = Utc::now();
                let (status, moved) = check::record(&mut conn, template, &p, now).await?;
                if let Some((old, new)) = moved {
                    let record = events::SessionRecord {
                        template_id: template.id.clone(),
                        session_id: session_id.to_owned(),
                        at: now,
                        event: events::SessionEvent::EgressChanged { old, new },
                    };
                    store::events::insert_batch(&mut conn, &[record]).await?;
                }
                tracing::info!(template = %template.name, ip = %p.ip, changed = status.changed, "egress checked");
                Ok((
                    CheckReport {
                        ok: !status.changed,
                        egress: status,
                        clock: None,
                        error: None,
                    },
                    None,
                ))
            }
            Err(e) => {
                let e = check::probe_error(e, relay_failure);
                tracing::warn!(template = %template.name, "egress check failed: {e}");
                let history = store::egress::history(&mut conn, &template.id, 2).await?;
                let mut status =
                    check::stored(template, None, history.first().map(|c| c.ip.as_str()));
                status.changed = false;
                Ok((
                    CheckReport {
                        ok: false,
                        egress: status,
                        clock: None,
                        error: Some(e.payload()),
                    },
                    Some(e),
                ))
            }
        }
    }

    /// Pins a template's egress IP: the given one, or the one `check` sees now.
    pub async fn pin(&self, name: &str, ip: Option<&str>) -> Result<Template> {
        let ip = match ip {
            Some(ip) => ip.to_owned(),
            None => {
                let report = self.check(name).await?;
                match (report.egress.ip, report.error) {
                    (Some(ip), _) => ip,
                    (None, Some(e)) => return Err(Error::EgressProbe { detail: e.message }),
                    (None, None) => {
                        return Err(Error::EgressProbe {
                            detail: "no IP seen".to_owned(),
                        })
                    }
                }
            }
        };
        if ip.trim().is_empty() {
            return Err(Error::InvalidEgressIp { value: ip });
        }
        let patch = TemplatePatch {
            pinned_egress_ip: Some(ip),
            ..TemplatePatch::default()
        };
        self.edit_template(name, patch).await
    }

    /// The last seen egress of every template (no network), for lists.
    pub async fn exit_statuses(&self) -> Result<Vec<ExitStatus>> {
        let mut conn = self.store.pool().acquire().await?;
        let checks = store::egress::latest_two_all(&mut conn).await?;
        drop(conn);
        let templates = self.list_templates().await?;
        Ok(templates
            .iter()
            .map(|t| {
                let mine: Vec<_> = checks.iter().filter(|c| c.template_id == t.id).collect();
                ExitStatus {
                    template_id: t.id.clone(),
                    egress: check::stored(
                        t,
                        mine.first().copied(),
                        mine.get(1).map(|c| c.ip.as_str()),
                    ),
                }
            })
            .collect())
    }

    /// Starts a recorded relay for a template: listening on 127.0.0.1, writing its metrics and
    /// events, and re-probing the egress through itself.
    pub async fn start_relay(&self, name: &str) -> Result<RelaySession> {
        let template = self.template(name).await?;
        let settings = self.settings().await?;
        self.start_relay_session(template, &settings, true).await
    }

    /// `start_relay` for a loaded template; `probe_now: false` leaves the first egress probe to
    /// the caller (the launch preflight) and re-probes one interval later.
    pub(crate) async fn start_relay_session(
        &self,
        template: Template,
        settings: &Settings,
        probe_now: bool,
    ) -> Result<RelaySession> {
        let session_id = uuid::Uuid::new_v4().to_string();
        let bus = EventBus::new(&template.id, &session_id, 4096);
        let relay = self
            .relay_for(&template, settings, Some(bus.clone()))
            .await?;
        let recorder = Recorder::spawn(
            self.store.clone(),
            &bus,
            relay.metrics().clone(),
            RecorderConfig {
                template_id: template.id.clone(),
                session_id,
                exit_url: template.exit.to_string(),
                flush: settings.metrics_flush(),
                retention: settings.retention(),
            },
        );
        Ok(RelaySession::start(
            self.store.clone(),
            template,
            relay,
            bus,
            recorder,
            settings,
            probe_now,
        ))
    }

    /// The health of a template: both layers over 5 min / 1 h / 24 h (or over `since` alone,
    /// labelled), per exit, with attributed failures, a timeline and a time series.
    pub async fn health(
        &self,
        name: &str,
        since: Option<(String, chrono::Duration)>,
    ) -> Result<health::HealthReport> {
        let template = self.template(name).await?;
        let now = Utc::now();
        let mut conn = self.store.pool().acquire().await?;
        health::report::build(
            &mut conn,
            &template.id,
            &template.name,
            now,
            health::report::windows(now, since),
        )
        .await
    }

    /// Connection-layer statistics of a template since `since`, per session and per exit.
    pub async fn relay_stats(
        &self,
        name: &str,
        since: chrono::DateTime<Utc>,
    ) -> Result<RelayStats> {
        let template = self.template(name).await?;
        let since = store::timestamp(since);
        let mut conn = self.store.pool().acquire().await?;
        let rows = store::metrics::of_template(&mut conn, &template.id, &since).await?;
        Ok(stats::summarise(&template.name, &since, &rows))
    }

    /// The risk window of a template now, from its stored events of the last 24 hours (any
    /// session: an egress change in the previous session still counts), with the thresholds of
    /// the `risk.*` settings — the same events and rules the guard of a running session uses.
    pub async fn risk(&self, name: &str) -> Result<guard::RiskState> {
        let template = self.template(name).await?;
        let records = self.risk_history(&template.id).await?;
        let config = self.settings().await?.risk();
        Ok(guard::evaluate(&records, Utc::now(), &config))
    }

    /// A template's stored events of the last 24 hours, oldest first, as session records.
    async fn risk_history(&self, template_id: &str) -> Result<Vec<events::SessionRecord>> {
        let since = store::timestamp(Utc::now() - chrono::Duration::hours(24));
        let mut conn = self.store.pool().acquire().await?;
        let stored = store::events::risk_inputs(&mut conn, template_id, &since).await?;
        Ok(stored
            .into_iter()
            .filter_map(|e| {
                Some(events::SessionRecord {
                    at: chrono::DateTime::parse_from_rfc3339(&e.at)
                        .ok()?
                        .with_timezone(&Utc),
                    event: serde_json::from_value(e.detail).ok()?,
                    template_id: e.template_id,
                    session_id: e.session_id,
                })
            })
            .collect())
    }

    /// From now on, holds of this process's sessions go to a prompt instead of the policy
    /// (the app calls this once); `notice` is told of each new hold.
    pub fn enable_hold_prompt(&self, notice: guard::HoldNotice) {
        self.guard.enable_prompt(notice);
    }

    /// Holds waiting for an answer in this process, oldest first.
    pub fn pending_holds(&self) -> Vec<guard::PendingHold> {
        self.guard.pending()
    }

    /// Answers a waiting hold (`hold_not_found` once it was answered or timed out).
    pub fn decide_hold(&self, id: i64, decision: guard::Decision) -> Result<()> {
        self.guard.decide(id, decision)
    }

    /// The guard's audit log, newest first: of one template (by name) or all.
    pub async fn audit(
        &self,
        name: Option<&str>,
        limit: i64,
    ) -> Result<Vec<store::holds::HoldRecord>> {
        let template_id = match name {
            Some(n) => Some(self.template(n).await?.id),
            None => None,
        };
        let mut conn = self.store.pool().acquire().await?;
        store::holds::newest(&mut conn, template_id.as_deref(), limit.clamp(1, 100_000)).await
    }

    /// Stored events of a template since `since`, optionally of one kind.
    pub async fn events(
        &self,
        name: &str,
        kind: Option<&str>,
        since: chrono::DateTime<Utc>,
    ) -> Result<Vec<store::events::StoredEvent>> {
        let template = self.template(name).await?;
        let since = store::timestamp(since);
        let mut conn = self.store.pool().acquire().await?;
        store::events::of_template(&mut conn, &template.id, kind, &since).await
    }

    /// Egress history of a template, newest first.
    pub async fn egress_history(
        &self,
        name: &str,
        limit: i64,
    ) -> Result<Vec<store::egress::EgressCheck>> {
        let template = self.template(name).await?;
        let mut conn = self.store.pool().acquire().await?;
        store::egress::history(&mut conn, &template.id, limit).await
    }

    /// Writes a bundle of the selected templates to `path` (atomically). With a passphrase, the
    /// exit passwords go into it encrypted; without, no secret is in the file.
    pub async fn export_bundle(
        &self,
        selection: &Selection,
        path: &std::path::Path,
        passphrase: Option<Secret>,
    ) -> Result<ExportSummary> {
        let all = self.list_templates().await?;
        for name in &selection.names {
            let folded = name.trim().to_ascii_lowercase();
            if !all.iter().any(|t| t.name.to_ascii_lowercase() == folded) {
                return Err(not_found(name));
            }
        }
        let chosen: Vec<&Template> = all
            .iter()
            .filter(|t| {
                selection.all
                    || selection
                        .names
                        .iter()
                        .any(|n| n.trim().eq_ignore_ascii_case(&t.name))
                    || t.tags.iter().any(|tag| selection.tags.contains(tag))
            })
            .collect();
        if chosen.is_empty() {
            return Err(Error::NothingSelected {
                detail: "name templates, give --tag T, or --all".to_owned(),
            });
        }
        let mut secrets = None;
        let mut count = 0;
        let mut missing = Vec::new();
        if let Some(pass) = &passphrase {
            let mut map = std::collections::BTreeMap::new();
            for t in chosen.iter().filter(|t| t.exit_has_password) {
                match self.get_secret(&t.id).await? {
                    Some(pw) => {
                        map.insert(t.name.clone(), pw);
                    }
                    None => missing.push(t.name.clone()),
                }
            }
            count = map.len();
            let (map, pass) = (map, pass.clone());
            // scrypt is deliberately slow (~1 s): keep it off the async workers.
            secrets = Some(
                tokio::task::spawn_blocking(move || bundle::secrets::seal(&map, &pass))
                    .await
                    .map_err(|e| Error::BundleFormat {
                        detail: format!("encryption task failed: {e}"),
                    })??,
            );
        }
        let b = bundle::Bundle {
            format: bundle::FORMAT.to_owned(),
            version: bundle::VERSION,
            exported_at: store::timestamp(Utc::now()),
            templates: chosen.iter().map(|t| bundle::from_template(t)).collect(),
            secrets,
        };
        let bytes = bundle::format::to_bytes(&b)?;
        let target = path.to_path_buf();
        tokio::task::spawn_blocking(move || bundle::write_file(&target, &bytes))
            .await
            .map_err(|e| Error::io("cannot write bundle", path, std::io::Error::other(e)))??;
        tracing::info!(path = %path.display(), templates = chosen.len(), secrets = count, "bundle exported");
        Ok(ExportSummary {
            path: path.to_path_buf(),
            names: chosen.iter().map(|t| t.name.clone()).collect(),
            secrets: count,
            missing_secrets: missing,
        })
    }

    /// Imports a bundle: validates everything first, then writes all of it in one transaction,
    /// or nothing. `dry_run` returns the plan and writes nothing. A bundle with secrets needs the
    /// right passphrase to restore them; without one, templates are imported without passwords.
    pub async fn import_bundle(
        &self,
        path: &std::path::Path,
        on_conflict: bundle::OnConflict,
        passphrase: Option<Secret>,
        dry_run: bool,
    ) -> Result<bundle::ImportPlan> {
        let target = path.to_path_buf();
        let bytes = tokio::task::spawn_blocking(move || bundle::read_file(&target))
            .await
            .map_err(|e| Error::io("cannot read", path, std::io::Error::other(e)))??;
        let parsed = bundle::format::parse(&bytes)?;
        drop(bytes);
        let passwords = match (&parsed.secrets, passphrase) {
            (Some(sealed), Some(pass)) => {
                let sealed = sealed.clone();
                Some(
                    tokio::task::spawn_blocking(move || bundle::secrets::open(&sealed, &pass))
                        .await
                        .map_err(|e| Error::BundleFormat {
                            detail: format!("decryption task failed: {e}"),
                        })??,
                )
            }
            _ => None,
        };
        let secrets_state = if passwords.is_some() {
            "imported"
        } else {
            "not_imported"
        };
        let existing = self.list_templates().await?;
        let ready = bundle::plan::plan(
            &parsed,
            &existing,
            passwords.as_ref(),
            on_conflict,
            Utc::now(),
        )?;
        let names: Vec<String> = parsed.templates.iter().map(|t| t.name.clone()).collect();
        let summary = bundle::plan::summary(&ready, &parsed, &names, dry_run, secrets_state);
        if dry_run {
            return Ok(summary);
        }
        self.apply_import(&ready).await?;
        tracing::info!(path = %path.display(), added = summary.added, renamed = summary.renamed,
            replaced = summary.replaced, skipped = summary.skipped, "bundle imported");
        Ok(summary)
    }

    async fn apply_import(&self, ready: &[bundle::plan::Ready]) -> Result<()> {
        use bundle::Action;
        // Old passwords of replaced templates, to put back if the commit fails.
        let mut previous = Vec::new();
        let mut written = Vec::new();
        let mut tx = self.store.pool().begin().await?;
        let new: Vec<&Template> = ready
            .iter()
            .filter(|r| matches!(r.action, Action::Add | Action::Rename))
            .map(|r| &r.template)
            .collect();
        templates::insert_many(&mut tx, &new).await?;
        for r in ready.iter().filter(|r| r.action == Action::Replace) {
            templates::update(&mut tx, &r.template).await?;
        }
        let result = async {
            for r in ready.iter().filter(|r| r.action != Action::Skip) {
                if let Some(pw) = &r.password {
                    if let Some(old) = r.replaces.as_ref().filter(|o| o.exit_has_password) {
                        previous.push((old.id.clone(), self.get_secret(&old.id).await?));
                    }
                    self.set_secret(&r.template.id, pw.clone()).await?;
                    written.push(r.template.id.clone());
                }
            }
            Ok::<_, Error>(())
        }
        .await;
        let result = match result {
            Ok(()) => tx.commit().await.map_err(Error::from),
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            for id in &written {
                self.delete_secret(id).await.ok();
            }
            for (id, old) in previous {
                if let Some(old) = old {
                    self.set_secret(&id, old).await.ok();
                }
            }
            return Err(e);
        }
        // Replaced templates whose new exit has no stored password lose the old one.
        for r in ready.iter().filter(|r| r.action == Action::Replace) {
            if let Some(old) = &r.replaces {
                if old.exit_has_password && !r.template.exit_has_password {
                    self.delete_secret(&old.id).await.ok();
                }
            }
        }
        Ok(())
    }

    // The keyring client is blocking (D-Bus round trips, maybe an unlock prompt): keep it off
    // the async workers.
    async fn set_secret(&self, id: &str, pw: Secret) -> Result<()> {
        let (s, id) = (self.secrets.clone(), id.to_owned());
        blocking(move || s.set(&id, &pw)).await
    }

    async fn get_secret(&self, id: &str) -> Result<Option<Secret>> {
        let (s, id) = (self.secrets.clone(), id.to_owned());
        blocking(move || s.get(&id)).await
    }

    async fn delete_secret(&self, id: &str) -> Result<()> {
        let (s, id) = (self.secrets.clone(), id.to_owned());
        blocking(move || s.delete(&id)).await
    }
}

fn not_found(name: &str) -> Error {
    Error::TemplateNotFound {
        name: name.to_owned(),
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Keyring {
            detail: format!("keyring task failed: {e}"),
        })?
}
