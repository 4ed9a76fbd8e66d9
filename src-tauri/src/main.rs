//! Entry point: the desktop app when started without a subcommand (or with `app`), else the CLI.
//! CLI paths never touch GTK, so they work on a headless server.

// No console window for the GUI on Windows.
#![cfg_attr(
    all(not(debug_assertions), feature = "gui"),
    windows_subsystem = "windows"
)]

#[cfg(feature = "gui")]
mod app;
// Used by the desktop build only; compiled always so that its test runs without GTK.
#[cfg_attr(not(feature = "gui"), allow(dead_code))]
mod lean;

use std::process::ExitCode;

use clap::Parser;
use holdfast_cli::Cli;

fn main() -> ExitCode {
    let wants_app =
        std::env::args_os().len() <= 1 || std::env::args_os().nth(1).is_some_and(|a| a == "app");
    if wants_app {
        return app();
    }
    #[cfg(feature = "gui")]
    lean::exec_cli_only_for_long_runs();
    holdfast_cli::run(Cli::parse())
}

#[cfg(feature = "gui")]
fn app() -> ExitCode {
    app::run()
}

#[cfg(not(feature = "gui"))]
fn app() -> ExitCode {
    // Parsing with no subcommand prints usage and exits 2; `app` explains the missing feature.
    if std::env::args_os().len() <= 1 {
        Cli::parse();
    }
    eprintln!(
        "error: this holdfast binary was built without the desktop app \
         (rebuild with `--features gui`, or run ./scripts/run.sh)"
    );
    ExitCode::from(holdfast_cli::EXIT_FAILURE)
}
