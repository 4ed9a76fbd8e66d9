//! Per-template rules: which requests are token refreshes, login pages and second
//! verifications (for health), and which are sensitive actions (for the guard). URL patterns
//! where `*` matches anything.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::{Error, Result};
pub use crate::events::RequestKind;
pub mod sensitive;
mod url;

pub use sensitive::{default_sensitive, SensitiveRule};
pub use url::{cap, clean_url, MAX_STORED};

/// URL patterns of one template (`*` matches any run of characters; case-insensitive; matched
/// against the URL without query values, e.g. `https://example.com/oauth/token`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[ts(export)]
pub struct TemplateRules {
    /// Token refresh endpoints.
    pub refresh: Vec<String>,
    /// Login pages: a redirect to one means the session was logged out.
    pub login: Vec<String>,
    /// Second verification: challenge, 2FA, captcha pages.
    pub verification: Vec<String>,
    /// Sensitive actions the guard holds in a risk window. Last, so that migration 0005's
    /// `json_set` (which appends) writes exactly this struct's serde form.
    pub sensitive: Vec<SensitiveRule>,
}

impl Default for TemplateRules {
    fn default() -> Self {
        let v = |p: &[&str]| p.iter().map(|s| (*s).to_owned()).collect();
        Self {
            refresh: v(&[
                "*/oauth/token*",
                "*/oauth2/token*",
                "*/token/refresh*",
                "*/auth/refresh*",
                "*/refresh_token*",
                "*/refresh-token*",
                "*/session/refresh*",
                "*/api/refresh*",
            ]),
            login: v(&[
                "*/login*",
                "*/signin*",
                "*/sign-in*",
                "*/sign_in*",
                "*/logon*",
            ]),
            verification: v(&[
                "*/challenge*",
                "*/captcha*",
                "*/2fa*",
                "*/mfa*",
                "*/two-factor*",
                "*/two_factor*",
                "*/checkpoint*",
                "*/verify*",
            ]),
            sensitive: default_sensitive(),
        }
    }
}

impl TemplateRules {
    /// Validates every pattern (non-empty, printable, bounded) and drops duplicates.
    pub fn validated(self) -> Result<Self> {
        let check = |field: &'static str, list: Vec<String>| -> Result<Vec<String>> {
            if list.len() > 100 {
                return Err(Error::InvalidRule {
                    field,
                    reason: "at most 100 patterns".to_owned(),
                });
            }
            let mut out: Vec<String> = Vec::new();
            for p in list {
                let p = p.trim().to_owned();
                if p.is_empty() || p.len() > 500 || p.chars().any(char::is_control) {
                    return Err(Error::InvalidRule {
                        field,
                        reason: format!("pattern {p:?} must be 1–500 printable characters"),
                    });
                }
                if !out.contains(&p) {
                    out.push(p);
                }
            }
            Ok(out)
        };
        Ok(Self {
            refresh: check("rules.refresh", self.refresh)?,
            login: check("rules.login", self.login)?,
            verification: check("rules.verification", self.verification)?,
            sensitive: sensitive::validated(self.sensitive)?,
        })
    }

    /// The kind of a request to `url` (refresh wins over verification over login).
    pub fn kind(&self, url: &str) -> RequestKind {
        if any_match(&self.refresh, url) {
            RequestKind::Refresh
        } else if any_match(&self.verification, url) {
            RequestKind::Verification
        } else if any_match(&self.login, url) {
            RequestKind::Login
        } else {
            RequestKind::Other
        }
    }

    /// Whether `url` is a login page.
    pub fn is_login(&self, url: &str) -> bool {
        any_match(&self.login, url)
    }
}

fn any_match(patterns: &[String], url: &str) -> bool {
    patterns.iter().any(|p| glob(p.as_bytes(), url.as_bytes()))
}

/// `*` wildcard match, ASCII case-insensitive, linear backtracking on the last star.
pub fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p].eq_ignore_ascii_case(&text[t]) {
            p += 1;
            t += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_like_globs() {
        assert!(glob(b"*/oauth/token*", b"https://a.test/oauth/token"));
        assert!(glob(b"*/LOGIN*", b"http://a.test/login?next="));
        assert!(!glob(b"*/login", b"http://a.test/login/x"));
        assert!(glob(b"http://*.test/*", b"http://a.test/x"));
        assert!(!glob(b"a*b", b"acd"));
    }

    #[test]
    fn default_rules_sort_common_paths() {
        let r = TemplateRules::default();
        assert_eq!(r.kind("https://x.test/api/refresh"), RequestKind::Refresh);
        assert_eq!(r.kind("https://x.test/login?next="), RequestKind::Login);
        assert_eq!(
            r.kind("https://x.test/challenge"),
            RequestKind::Verification
        );
        assert_eq!(r.kind("https://x.test/inbox"), RequestKind::Other);
    }

    #[test]
    fn templates_from_before_rules_get_exactly_the_default_rules() {
        // 0004 stored the three health lists; 0005 appends the sensitive list with json_set.
        let health = include_str!("../../../../migrations/0004_health.sql");
        let guard = include_str!("../../../../migrations/0005_guard.sql");
        let defaults = serde_json::to_string(&TemplateRules::default()).unwrap();
        let sensitive = serde_json::to_string(&default_sensitive()).unwrap();
        let before = defaults
            .strip_suffix(&format!(",\"sensitive\":{sensitive}}}"))
            .expect("sensitive is the last field");
        assert!(
            health.contains(&format!("DEFAULT '{before}}}'")),
            "0004's default must be the serde form of the three health lists: {before}}}"
        );
        assert!(
            guard.contains(&format!("json('{sensitive}')")),
            "0005 must append exactly the default sensitive rules: {sensitive}"
        );
    }

    #[test]
    fn bad_patterns_name_their_field() {
        let r = TemplateRules {
            login: vec![" ".into()],
            ..TemplateRules::default()
        };
        let e = r.validated().unwrap_err();
        assert_eq!(e.field(), Some("rules.login"));
    }
}
