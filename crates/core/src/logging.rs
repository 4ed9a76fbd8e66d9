//! Logs: `tracing` to stderr and to a daily-rotated file under `HOLDFAST_HOME/logs`.
//! Nothing logged may hold a secret: passwords travel only as `Secret`, whose Debug is redacted.

use std::io::IsTerminal;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, Layer};

use crate::error::{Error, Result};
use crate::home::Home;

/// Environment variable with a filter for stderr: a level and `target=level` pairs
/// (e.g. `debug`, `warn,holdfast=trace`).
pub const LOG_ENV: &str = "HOLDFAST_LOG";
/// Lines the file log may queue before it drops lines.
const LOG_QUEUE_LINES: usize = 4_096;
/// How many daily log files are kept.
pub const KEEP_FILES: usize = 14;

/// Flushes the file log when dropped; keep it alive for the life of the process.
#[must_use = "dropping the guard stops file logging"]
pub struct LogGuard {
    _file: WorkerGuard,
}

/// Installs the global subscriber. `stderr_default` is the stderr level when `HOLDFAST_LOG` is
/// unset (the CLI keeps stderr quiet; the file always gets `info`).
pub fn init(home: &Home, stderr_default: &str) -> Result<LogGuard> {
    let dir = home.logs_dir();
    let appender = RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix("holdfast")
        .filename_suffix("log")
        .max_log_files(KEEP_FILES)
        .build(&dir)
        .map_err(|e| Error::io("cannot open log file in", &dir, std::io::Error::other(e)))?;
    // The default queue holds 128,000 lines, allocated (4 MB) up front; a few thousand lines
    // of headroom is plenty for a desktop app and a CLI (a full queue drops, it never blocks).
    let (file_writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(LOG_QUEUE_LINES)
        .finish(appender);
    // `Targets` rather than `EnvFilter`: it parses without compiling regexes, which cost
    // ~3 ms on every CLI command.
    let from_env = std::env::var(LOG_ENV)
        .ok()
        .and_then(|v| v.parse::<Targets>().ok());
    let stderr_filter = from_env
        .or_else(|| stderr_default.parse().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::WARN));
    let file_filter = Targets::new()
        .with_default(LevelFilter::INFO)
        .with_target("sqlx", LevelFilter::WARN);
    // A second init in one process (tests) keeps the first subscriber; that is fine.
    let _ = tracing_subscriber::registry()
        .with(
            fmt::layer()
                // Colours for a terminal only: a log piped to a file or a program stays plain.
                .with_ansi(std::io::stderr().is_terminal())
                .with_writer(std::io::stderr)
                .with_filter(stderr_filter),
        )
        .with(
            fmt::layer()
                .with_ansi(false)
                .with_writer(file_writer)
                .with_filter(file_filter),
        )
        .try_init();
    Ok(LogGuard { _file: guard })
}
