//! Holdfast core: per-account browser environments. Knows nothing of Tauri, clap or the terminal;
//! the faces (the desktop app's commands, the CLI, the coming local HTTP/MCP API) are thin calls
//! into the feature services reached from [`Holdfast`], and the operations they share are listed
//! once in [`commands`].
//!
//! # Floors
//! Imports go downward only (checked by `scripts/check-layers.py`, run in CI):
//!
//! | floor | modules | may import |
//! |---|---|---|
//! | 4 facade | `lib.rs`, [`commands`] | everything below |
//! | 3 operations | [`context`], every feature's `service.rs`, [`launch`] | floors 0–2 and other services |
//! | 2 session | [`exit`], [`health`], [`guard`], [`browser`], [`clock`], [`bundle`] | floors 0–1; `health` may drive `guard`'s interception |
//! | 1 model and store | [`template`], [`rules`], [`store`], [`team`], [`api`] | floor 0 and each other's types (`store` reads and writes `template` rows) |
//! | 0 ground | [`events`] (the event stream and the shared vocabulary), [`error`], [`settings`], [`home`], [`logging`] | nothing above; `events` imports no other module |
//!
//! A running session publishes [`events::SessionEvent`]s on one bus; consumers (the recorder,
//! the risk tracker, the faces) subscribe. Producers never call consumers.

pub mod api;
pub mod browser;
pub mod bundle;
pub mod clock;
pub mod commands;
pub(crate) mod context;
pub mod error;
pub mod events;
pub mod exit;
pub mod fleet;
pub mod guard;
pub mod health;
pub mod home;
pub mod launch;
pub mod logging;
pub mod memory;
pub(crate) mod rules;
pub(crate) mod secret;
pub mod settings;
pub mod store;
pub mod team;
pub mod template;

pub use bundle::{ExportSummary, Selection};
use context::Context;
pub use error::{Error, ErrorCode, ErrorPayload, Result};
pub use exit::check::{CheckReport, EgressStatus, ExitStatus};
pub use exit::session::RelaySession;
pub use exit::stats::RelayStats;
pub use home::Home;
pub use settings::{SettingView, Settings};
pub use template::{Removal, Template, TemplateDraft, TemplatePatch};

/// The one API of Holdfast: an open home and the feature services over it.
#[derive(Debug, Clone)]
pub struct Holdfast {
    ctx: Context,
    /// Sessions this process launched for a long-lived face (the app, the local API).
    kept: launch::Kept,
}

impl Holdfast {
    /// Opens a home: creates its directories and database, applies migrations.
    pub async fn open(home: Home) -> Result<Self> {
        Ok(Self {
            ctx: Context::open(home).await?,
            kept: launch::Kept::default(),
        })
    }

    /// The home this instance works in.
    pub fn home(&self) -> &Home {
        &self.ctx.home
    }

    /// Closes the database cleanly.
    pub async fn close(&self) {
        self.ctx.store.close().await;
    }

    /// Templates: list, read, add, edit, remove.
    pub fn templates(&self) -> template::service::Service<'_> {
        template::service::Service::new(&self.ctx)
    }

    /// Settings: read, set, unset.
    pub fn settings(&self) -> settings::service::Service<'_> {
        settings::service::Service::new(&self.ctx)
    }

    /// Exits: check, pin, relay, statistics, events, egress history.
    pub fn exits(&self) -> exit::service::Service<'_> {
        exit::service::Service::new(&self.ctx)
    }

    /// Sessions: launch, list, stop.
    pub fn sessions(&self) -> launch::Service<'_> {
        launch::Service::new(&self.ctx, &self.kept)
    }

    /// The fleet: every template's state, the health overview, the charts' series.
    pub fn fleet(&self) -> fleet::service::Service<'_> {
        fleet::service::Service::new(&self.ctx, &self.kept)
    }

    /// Health reports.
    pub fn health(&self) -> health::service::Service<'_> {
        health::service::Service::new(&self.ctx)
    }

    /// The guard: risk windows, holds, audit log.
    pub fn guard(&self) -> guard::service::Service<'_> {
        guard::service::Service::new(&self.ctx)
    }

    /// Bundles: export and import.
    pub fn bundles(&self) -> bundle::service::Service<'_> {
        bundle::service::Service::new(&self.ctx)
    }

    /// The local API's token and endpoint file.
    pub fn api(&self) -> api::service::Service<'_> {
        api::service::Service::new(&self.ctx)
    }

    /// The team store: init, join, status, leave, sync.
    pub fn team(&self) -> team::service::Service<'_> {
        team::service::Service::new(&self.ctx)
    }
}
