//! The command line: argument parsing and output. Each subcommand is a thin call into the core.

mod api;
mod bundle;
mod exit;
mod fleet;
mod health;
mod launch;
mod output;
mod setting;
mod team;
mod template;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use holdfast_core::{Error, Holdfast, Home};

/// Exit status for bad input (also what clap uses for bad arguments).
pub const EXIT_INVALID: u8 = 2;
/// Exit status when the named template does not exist.
pub const EXIT_NOT_FOUND: u8 = 3;
/// Exit status for any other failure.
pub const EXIT_FAILURE: u8 = 1;

/// `--version` says whether the desktop app is built in (the `gui` feature).
#[cfg(feature = "gui")]
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (desktop app included)");
#[cfg(not(feature = "gui"))]
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (CLI only)");

/// Holdfast: per-account browser environments with a fixed exit and a checked clock.
#[derive(Debug, Parser)]
#[command(name = "holdfast", version = VERSION, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Manage environment templates.
    #[command(subcommand)]
    Template(Box<template::TemplateCommand>),
    /// Fetch the egress IP through a template's exit, compare it with the pin, and check the clock.
    Check {
        name: String,
        /// Print `{"egress": {...}, "ok": ..., "error": ...}`.
        #[arg(long)]
        json: bool,
    },
    /// Run a template's relay in the foreground (until Ctrl-C / SIGTERM), printing its events.
    Relay {
        name: String,
        /// Print JSON lines: first the relay address, then one per event.
        #[arg(long)]
        json: bool,
    },
    /// Why sessions drop: connection layer (relay) and session layer (requests, auth, token
    /// refresh) over 5 min / 1 h / 24 h, per exit, with attributed failures and a timeline.
    Health {
        name: String,
        /// One window instead of the three: 30s, 5m, 1h, 7d.
        #[arg(long)]
        since: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Whether a template is in a risk window, and why (for scripts to consult before they act).
    Risk {
        name: String,
        /// Print `{"open", "reasons": [{"kind", "since", "detail"}]}`.
        #[arg(long)]
        json: bool,
    },
    /// The guard's audit log: every held sensitive request and its decision, newest first.
    Audit {
        /// Only this template's holds.
        name: Option<String>,
        /// At most this many records.
        #[arg(long, default_value_t = 100)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
    /// Connection-layer metrics of a template's relays, per session and per exit.
    Stats {
        name: String,
        /// How far back: 30s, 5m, 1h, 7d.
        #[arg(long, default_value = "24h")]
        since: String,
        #[arg(long)]
        json: bool,
    },
    /// Stored session events of a template (egress changes, relay failures, …).
    Events {
        name: String,
        /// Only this kind (e.g. egress_changed, dial_failed).
        #[arg(long)]
        kind: Option<String>,
        /// How far back: 30s, 5m, 1h, 7d.
        #[arg(long, default_value = "24h")]
        since: String,
        #[arg(long)]
        json: bool,
    },
    /// Write templates to a bundle file for teammates (no secrets unless --with-secrets).
    Export(bundle::ExportArgs),
    /// Import a bundle file: all of it or nothing.
    Import(bundle::ImportArgs),
    /// Show and change settings.
    #[command(subcommand)]
    Setting(setting::SettingCommand),
    /// Share templates through a team store (PostgreSQL): init, join, status, sync, leave.
    #[command(subcommand)]
    Team(team::TeamCommand),
    /// Launch a template's browser (preflight, relay, Chromium); stays in the foreground until
    /// the browser exits or Ctrl-C / SIGTERM.
    Launch {
        name: String,
        /// No window.
        #[arg(long)]
        headless: bool,
        /// Print one JSON line {"template","pid","cdp","relay","profile_dir",…} once ready.
        #[arg(long)]
        json: bool,
        /// Launch despite a refusing preflight (clock skew, egress failure or pin mismatch).
        #[arg(long)]
        force: bool,
        /// Open a DevTools port on 127.0.0.1 for automation (printed as "cdp"). Any process on
        /// this machine, of any user, that finds the port can drive the browser and read its
        /// cookies: use only on a machine you do not share.
        #[arg(long)]
        cdp: bool,
    },
    /// Every template at a glance: state, egress and pin, 5 min of health, risk, last launch.
    Fleet {
        #[arg(long)]
        json: bool,
    },
    /// The sessions in trouble now, ranked, and each exit judged across its accounts.
    Overview {
        #[arg(long)]
        json: bool,
    },
    /// List running sessions.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Stop a template's running session (whichever process launched it).
    Stop {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Serve the local automation API (HTTP on 127.0.0.1, bearer token) until Ctrl-C /
    /// SIGTERM; needs no display. Writes its address and token to HOLDFAST_HOME/api.json (0600).
    Serve {
        /// The port (default: setting api.port; 0: any free port).
        #[arg(long)]
        port: Option<u16>,
        /// Listen on this address instead of 127.0.0.1: anyone who can reach it and has the
        /// token drives the browsers. Only with reason.
        #[arg(long)]
        listen: Option<std::net::IpAddr>,
        /// Print one JSON line {"url","pid"} once listening.
        #[arg(long)]
        json: bool,
    },
    /// The local API's token.
    #[command(subcommand)]
    Api(api::ApiCommand),
    /// Open the desktop app (the default when no subcommand is given).
    App,
}

/// An error already shown to the user (e.g. inside `--json` output): exit 1, print nothing more.
#[derive(Debug, thiserror::Error)]
#[error("reported")]
pub struct Reported;

/// Parses the arguments and runs the subcommand.
pub fn run(cli: Cli) -> ExitCode {
    let home = match Home::from_env() {
        Ok(h) => h,
        Err(e) => return report(&e.into()),
    };
    if let Err(e) = home.ensure() {
        return report(&e.into());
    }
    // Keep stderr quiet by default: command output goes to stdout and may be piped to jq.
    // sqlx's slow-statement warnings go to the log file, not into a script's stderr.
    let _log = match holdfast_core::logging::init(&home, "warn,sqlx=error") {
        Ok(guard) => Some(guard),
        Err(e) => {
            eprintln!("warning: file logging disabled: {e}");
            None
        }
    };
    // A relay serves many connections at once: give it every core. One-shot commands start
    // faster on one thread.
    let mut builder = if matches!(
        cli.command,
        Command::Relay { .. } | Command::Launch { .. } | Command::Serve { .. }
    ) {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return report(&anyhow::Error::new(e).context("cannot start the async runtime")),
    };
    let result = runtime.block_on(async {
        let hf = Holdfast::open(home).await?;
        let out = match cli.command {
            Command::Template(cmd) => template::run(&hf, *cmd).await,
            Command::Check { name, json } => exit::check(&hf, &name, json).await,
            Command::Relay { name, json } => exit::relay(&hf, &name, json).await,
            Command::Health { name, since, json } => {
                health::run(&hf, &name, since.as_deref(), json).await
            }
            Command::Risk { name, json } => health::risk(&hf, &name, json).await,
            Command::Audit { name, limit, json } => {
                health::audit(&hf, name.as_deref(), limit, json).await
            }
            Command::Stats { name, since, json } => exit::stats(&hf, &name, &since, json).await,
            Command::Events {
                name,
                kind,
                since,
                json,
            } => exit::events(&hf, &name, kind.as_deref(), &since, json).await,
            Command::Export(args) => bundle::export(&hf, args).await,
            Command::Import(args) => bundle::import(&hf, args).await,
            Command::Setting(cmd) => setting::run(&hf, cmd).await,
            Command::Team(cmd) => team::run(&hf, cmd).await,
            Command::Launch {
                name,
                headless,
                json,
                force,
                cdp,
            } => {
                launch::launch(
                    &hf,
                    &name,
                    holdfast_core::launch::LaunchOptions {
                        headless,
                        force,
                        cdp,
                        start_urls: None,
                    },
                    json,
                )
                .await
            }
            Command::Status { json } => launch::status(&hf, json).await,
            Command::Fleet { json } => fleet::list(&hf, json).await,
            Command::Overview { json } => fleet::overview(&hf, json).await,
            Command::Stop { name, json } => launch::stop(&hf, &name, json).await,
            Command::Serve { port, listen, json } => api::serve(&hf, port, listen, json).await,
            Command::Api(cmd) => api::run(&hf, cmd).await,
            Command::App => Err(anyhow::anyhow!("unreachable: `app` is handled by main")),
        };
        hf.close().await;
        out
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(&e),
    }
}

/// Prints an error as `error[code]: message` and maps it to an exit status.
fn report(e: &anyhow::Error) -> ExitCode {
    // A reader that stopped early (`| head`, `| jq -e …`) chose to: not an error of ours.
    let closed_pipe = e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    });
    if closed_pipe {
        return ExitCode::SUCCESS;
    }
    if e.downcast_ref::<Reported>().is_some() {
        return ExitCode::from(EXIT_FAILURE);
    }
    match e.downcast_ref::<Error>() {
        Some(core) => {
            eprintln!("error[{}]: {core}", core.code().as_str());
            let code = core.code();
            if code.is_validation() {
                ExitCode::from(EXIT_INVALID)
            } else if code == holdfast_core::ErrorCode::TemplateNotFound {
                ExitCode::from(EXIT_NOT_FOUND)
            } else {
                ExitCode::from(EXIT_FAILURE)
            }
        }
        None => {
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}
