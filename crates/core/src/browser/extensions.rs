//! Whether extensions can run in a started browser. An extension's proxy setting overrides
//! `--proxy-server`, and one may set it a moment after start-up: the launch's check of the
//! browser's own egress takes its slower, later path only when one could.

use std::path::Path;

/// Whether the browser `pid` (already answering on DevTools, so past any wrapper's `exec`) may
/// run extensions: its command line loads unpacked ones, or its profile has installed ones.
/// `true` when it cannot be told.
pub fn may_run(profile_dir: &Path, pid: i32) -> bool {
    loads_unpacked(pid).unwrap_or(true) || has_installed(profile_dir)
}

/// `--load-extension=PATHS` with a path on the process's command line (Debian's wrapper always
/// passes the flag, empty unless `/usr/share/chromium/extensions` has some); `None` if it
/// cannot be read.
fn loads_unpacked(pid: i32) -> Option<bool> {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some(names_a_path(&cmdline))
}

/// Whether a command line (NUL-separated, or as Chromium rewrites its own: one string, spaces
/// between switches) holds `--load-extension=` with something after it. A path with a space
/// still counts: its first part is not empty.
fn names_a_path(cmdline: &[u8]) -> bool {
    cmdline.split(|b| *b == 0 || *b == b' ').any(|arg| {
        arg.strip_prefix(b"--load-extension=")
            .is_some_and(|paths| paths.iter().any(|b| !b",\t".contains(b)))
    })
}

/// Any entry in the profile's `Default/Extensions` (where installed extensions are unpacked;
/// `Temp` is the installer's scratch space). Component extensions live in the binary.
fn has_installed(profile_dir: &Path) -> bool {
    match std::fs::read_dir(profile_dir.join("Default").join("Extensions")) {
        Ok(entries) => entries
            .flatten()
            .any(|e| e.file_name().to_str() != Some("Temp")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(_) => true,
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn chromium_s_rewritten_command_line_is_read_too() {
        let debian = b"/usr/lib/chromium/chromium --enable-remote-extensions --load-extension= about:blank --headless";
        assert!(!names_a_path(debian), "Debian's empty flag loads nothing");
        let with = b"/usr/lib/chromium/chromium --load-extension= about:blank --load-extension=/tmp/proxy-off --headless";
        assert!(
            names_a_path(with),
            "an extension given after Debian's flags is seen"
        );
        assert!(names_a_path(b"chromium\0--load-extension=/a b,/c\0"));
        assert!(!names_a_path(b"chromium\0--load-extension=\0"));
    }

    #[test]
    fn a_fresh_profile_without_load_extension_runs_none() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            !may_run(dir.path(), crate::browser::pid::own()),
            "this test process has no --load-extension and the profile is empty"
        );
        std::fs::create_dir_all(dir.path().join("Default/Extensions/Temp")).unwrap();
        assert!(
            !may_run(dir.path(), crate::browser::pid::own()),
            "the installer's scratch folder is not an extension"
        );
        std::fs::create_dir_all(dir.path().join("Default/Extensions/abcdefgh")).unwrap();
        assert!(
            may_run(dir.path(), crate::browser::pid::own()),
            "an installed extension counts"
        );
    }

    /// `sh -c 'read x; :' ARG0` once it has exec'd (before, /proc shows the forked test). It
    /// waits on its stdin in the shell itself: no child of its own outlives the kill.
    fn shell_with_arg0(arg0: &str) -> (std::process::Child, i32) {
        let child = std::process::Command::new("sh")
            .args(["-c", "read x; :", arg0])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let pid = i32::try_from(child.id()).unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        // An exec has no event to await.
        while !std::fs::read(format!("/proc/{pid}/cmdline"))
            .unwrap_or_default()
            .ends_with(format!("{arg0}\0").as_bytes())
        {
            assert!(std::time::Instant::now() < deadline, "sh never started");
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        (child, pid)
    }

    #[test]
    fn an_empty_load_extension_as_debian_s_wrapper_passes_loads_none() {
        let dir = tempfile::tempdir().unwrap();
        let (mut child, pid) = shell_with_arg0("--load-extension=");
        let seen = may_run(dir.path(), pid);
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(!seen, "an empty --load-extension= loads nothing");
    }

    #[test]
    fn load_extension_on_the_command_line_counts_and_an_unreadable_one_is_assumed() {
        let dir = tempfile::tempdir().unwrap();
        let (mut child, pid) = shell_with_arg0("--load-extension=/x");
        let seen = may_run(dir.path(), pid);
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(seen, "a process started with --load-extension may run one");
        assert!(
            may_run(dir.path(), i32::MAX),
            "a process whose command line cannot be read is assumed to"
        );
    }
}
