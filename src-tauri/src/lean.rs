//! A long-running CLI command of the desktop build hands itself over to the CLI-only build that
//! the package installs beside it, so that the process keeping a session (`launch`) or serving
//! the API (`serve`) maps no GTK or WebKit: ~60 MB of RSS otherwise, for a process that never
//! opens a window. Only the installed layout has that binary (`/usr/bin/holdfast` ->
//! `/usr/lib/holdfast/holdfast-cli`); anywhere else the command runs in this process as before.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

/// Subcommands that keep running (a session, the API server): worth one `exec` at start.
const LONG_RUNNING: &[&str] = &["launch", "serve"];

/// Where the CLI-only build sits relative to the installed desktop binary.
const CLI_ONLY: &str = "lib/holdfast/holdfast-cli";

/// Replaces this process with the CLI-only build for a long-running subcommand, when it is
/// installed beside this binary; returns (and the caller runs the command here) otherwise.
pub fn exec_cli_only_for_long_runs() {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    if !args
        .first()
        .is_some_and(|a| LONG_RUNNING.iter().any(|c| a == c))
    {
        return;
    }
    // Found from this binary's own location, never from the environment or the arguments.
    let Some(cli) = std::env::current_exe()
        .ok()
        .and_then(|exe| cli_only_beside(&exe))
    else {
        return;
    };
    let err = std::process::Command::new(&cli).args(&args).exec();
    eprintln!(
        "holdfast: cannot start {} ({err}); running in this process",
        cli.display()
    );
}

/// `<prefix>/lib/holdfast/holdfast-cli` for `<prefix>/bin/holdfast`, if that file exists.
fn cli_only_beside(exe: &Path) -> Option<PathBuf> {
    let prefix = exe.parent()?.parent()?;
    let cli = prefix.join(CLI_ONLY);
    cli.is_file().then_some(cli)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cli_only_build_is_looked_for_under_the_binarys_own_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("bin/holdfast");
        assert_eq!(
            cli_only_beside(&exe),
            None,
            "no CLI-only build installed: run here"
        );
        std::fs::create_dir_all(dir.path().join("lib/holdfast")).unwrap();
        std::fs::write(dir.path().join(CLI_ONLY), b"").unwrap();
        assert_eq!(cli_only_beside(&exe), Some(dir.path().join(CLI_ONLY)));
    }
}
