//! Chromium's command line and environment for one template's session.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::template::Template;

/// Browser features Holdfast turns off: the omnibox's suggestion popup as a web page, which
/// Chromium renders in its own renderer at every window's start-up (~1 s of CPU and ~100 MB
/// before the first tab can fetch anything, measured on Chromium 156), whether or not the
/// operator ever types in the address bar. Without them the address bar keeps its native popup.
pub const DISABLED_FEATURES: &str =
    "--disable-features=WebUIOmniboxPopup,WebUIOmniboxAimPopup,WebUIOmniboxFullPopup";

/// Everything the browser is started with.
#[derive(Debug, Clone)]
pub struct LaunchArgs {
    pub binary: PathBuf,
    pub args: Vec<String>,
    /// Extra environment (TZ, LANGUAGE).
    pub env: Vec<(String, String)>,
    pub profile_dir: PathBuf,
}

impl LaunchArgs {
    /// The command line for `template`, its profile at `profile_dir`, its relay at `relay`;
    /// `automation` adds a DevTools TCP port (anyone on the machine who finds it can drive the
    /// browser, so only when the operator asked).
    pub fn new(
        binary: PathBuf,
        template: &Template,
        profile_dir: &Path,
        relay: SocketAddr,
        headless: bool,
        automation: bool,
    ) -> Self {
        let mut args = vec![
            format!("--user-data-dir={}", profile_dir.display()),
            // All traffic to the relay; the relay only dials through the exit. No direct
            // fallback: an HTTP proxy in Chromium has none unless a PAC script says DIRECT.
            format!("--proxy-server=http://{relay}"),
            // Loopback bypasses the proxy by default; the profile must not reach anything directly.
            "--proxy-bypass-list=<-loopback>".to_owned(),
            // WebRTC only over the proxy: no UDP, so no host or STUN-mapped address leaks.
            "--webrtc-ip-handling-policy=disable_non_proxied_udp".to_owned(),
            format!("--accept-lang={}", accept_languages(&template.locale)),
            format!("--lang={}", template.locale),
            // Holdfast's own DevTools: a pipe on fds 3 and 4 that no other process can reach.
            "--remote-debugging-pipe".to_owned(),
            "--no-first-run".to_owned(),
            "--no-default-browser-check".to_owned(),
            DISABLED_FEATURES.to_owned(),
        ];
        if automation {
            // A port on 127.0.0.1 the OS picks, written to DevToolsActivePort.
            args.push("--remote-debugging-address=127.0.0.1".to_owned());
            args.push("--remote-debugging-port=0".to_owned());
        }
        if headless {
            args.push("--headless".to_owned());
        }
        if running_as_root() {
            // Chromium refuses to start as root with its sandbox on.
            args.push("--no-sandbox".to_owned());
        }
        // The start URLs are opened over DevTools once the observer is attached to the tab,
        // so their first requests are seen.
        args.push("about:blank".to_owned());
        let env = vec![
            ("TZ".to_owned(), template.timezone.clone()),
            ("LANGUAGE".to_owned(), template.locale.replace('-', "_")),
        ];
        Self {
            binary,
            args,
            env,
            profile_dir: profile_dir.to_path_buf(),
        }
    }
}

/// `de-DE` → `de-DE,de`: the locale, then its language alone (what a browser in that locale sends).
pub fn accept_languages(locale: &str) -> String {
    match locale.split_once('-') {
        Some((lang, _)) if !lang.is_empty() => format!("{locale},{lang}"),
        _ => locale.to_owned(),
    }
}

fn running_as_root() -> bool {
    #[cfg(unix)]
    {
        nix::unistd::geteuid().is_root()
    }
    #[cfg(not(unix))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_languages_adds_the_bare_language() {
        assert_eq!(accept_languages("de-DE"), "de-DE,de");
        assert_eq!(accept_languages("en"), "en");
    }
}
