//! Sensitive-action rules: which requests the guard holds while a risk window is open. Each rule
//! names its action (shown in the prompt and the audit log), the methods it applies to and a URL
//! pattern (`*` matches anything, case-insensitive, as the health rules).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::glob;
use crate::error::{Error, Result};

/// Methods that change something: what sensitive actions are sent with.
const WRITES: &[&str] = &["POST", "PUT", "PATCH", "DELETE"];

/// One sensitive action: `action` for people, `methods` (`*` = any) and a URL pattern.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[ts(export)]
pub struct SensitiveRule {
    /// What the action is, e.g. `password-change` (no spaces).
    pub action: String,
    /// Upper-case HTTP methods, or `["*"]` for any.
    pub methods: Vec<String>,
    /// URL pattern where `*` matches anything (see the defaults for examples).
    pub url: String,
}

impl SensitiveRule {
    fn writes(action: &str, url: &str) -> Self {
        Self {
            action: action.to_owned(),
            methods: WRITES.iter().map(|m| (*m).to_owned()).collect(),
            url: url.to_owned(),
        }
    }

    /// Whether a request matches this rule.
    pub fn matches(&self, method: &str, url: &str) -> bool {
        let method_ok = self
            .methods
            .iter()
            .any(|m| m == "*" || m.eq_ignore_ascii_case(method));
        method_ok && glob(self.url.as_bytes(), url.as_bytes())
    }

    /// The rule's one-line text form: `ACTION METHODS URL`, e.g. `payment POST,PUT */checkout*`.
    pub fn to_line(&self) -> String {
        format!("{} {} {}", self.action, self.methods.join(","), self.url)
    }

    /// Parses the text form (`ACTION METHODS URL`).
    pub fn parse(line: &str) -> Result<Self> {
        let mut parts = line.split_whitespace();
        let (Some(action), Some(methods), Some(url), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid(format!(
                "{line:?} must be `ACTION METHODS URL`, e.g. `payment POST */checkout*`"
            )));
        };
        Self {
            action: action.to_owned(),
            methods: methods.split(',').map(str::to_owned).collect(),
            url: url.to_owned(),
        }
        .validated()
    }

    /// Checks the parts and normalises methods to upper case.
    pub fn validated(self) -> Result<Self> {
        let printable = |s: &str, max: usize| {
            !s.is_empty()
                && s.len() <= max
                && !s.chars().any(|c| c.is_control() || c.is_whitespace())
        };
        if !printable(&self.action, 60) {
            return Err(invalid(format!(
                "action {:?} must be 1–60 characters without spaces",
                self.action
            )));
        }
        if !printable(&self.url, 500) {
            return Err(invalid(format!(
                "URL pattern {:?} must be 1–500 characters without spaces",
                self.url
            )));
        }
        let mut methods: Vec<String> = Vec::new();
        for m in &self.methods {
            let m = m.trim().to_ascii_uppercase();
            if m != "*"
                && (m.is_empty() || m.len() > 20 || !m.bytes().all(|b| b.is_ascii_alphabetic()))
            {
                return Err(invalid(format!("method {m:?} must be a method name or *")));
            }
            if !methods.contains(&m) {
                methods.push(m);
            }
        }
        if methods.is_empty() {
            return Err(invalid("a rule needs at least one method".to_owned()));
        }
        Ok(Self { methods, ..self })
    }
}

fn invalid(reason: String) -> Error {
    Error::InvalidRule {
        field: "rules.sensitive",
        reason,
    }
}

/// The default sensitive actions: password and e-mail changes, payment and checkout, data
/// export, and 2FA or device and phone binding — each for writing methods only, so viewing the
/// page is never held, submitting it is.
pub fn default_sensitive() -> Vec<SensitiveRule> {
    let mut rules = Vec::new();
    let mut add = |action: &str, urls: &[&str]| {
        rules.extend(urls.iter().map(|u| SensitiveRule::writes(action, u)));
    };
    add(
        "password-change",
        &["*/password*", "*/passwd*", "*/change-password*"],
    );
    add(
        "email-change",
        &[
            "*/account/email*",
            "*/settings/email*",
            "*/change-email*",
            "*/email/change*",
        ],
    );
    add(
        "payment",
        &[
            "*/checkout*",
            "*/payment*",
            "*/billing*",
            "*/purchase*",
            "*/pay/*",
        ],
    );
    add("export", &["*/export*", "*/takeout*", "*/download-data*"]);
    add(
        "binding",
        &[
            "*/2fa*",
            "*/two-factor*",
            "*/mfa*",
            "*/totp*",
            "*/webauthn*",
            "*/devices*",
            "*/phone*",
        ],
    );
    rules
}

/// Validates a list of rules (at most 100, duplicates dropped).
pub fn validated(list: Vec<SensitiveRule>) -> Result<Vec<SensitiveRule>> {
    if list.len() > 100 {
        return Err(invalid("at most 100 sensitive-action rules".to_owned()));
    }
    let mut out: Vec<SensitiveRule> = Vec::new();
    for r in list {
        let r = r.validated()?;
        if !out.contains(&r) {
            out.push(r);
        }
    }
    Ok(out)
}

/// The first rule a request matches.
pub fn matching<'a>(
    rules: &'a [SensitiveRule],
    method: &str,
    url: &str,
) -> Option<&'a SensitiveRule> {
    rules.iter().find(|r| r.matches(method, url))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_hold_writes_to_common_sensitive_paths_only() {
        let d = default_sensitive();
        let hit = |m: &str, u: &str| matching(&d, m, u).map(|r| r.action.clone());
        assert_eq!(
            hit("POST", "https://x.test/account/password"),
            Some("password-change".into())
        );
        assert_eq!(
            hit("post", "https://x.test/Checkout/confirm"),
            Some("payment".into())
        );
        assert_eq!(
            hit("PUT", "https://x.test/settings/2fa"),
            Some("binding".into())
        );
        assert_eq!(hit("POST", "https://x.test/export"), Some("export".into()));
        assert_eq!(
            hit("GET", "https://x.test/account/password"),
            None,
            "viewing is not held"
        );
        assert_eq!(hit("POST", "https://x.test/api/data"), None);
    }

    #[test]
    fn the_text_form_round_trips_and_bad_lines_are_refused() {
        let r = SensitiveRule::parse("payment post,PUT */checkout*").unwrap();
        assert_eq!(r.methods, vec!["POST", "PUT"]);
        assert_eq!(r.to_line(), "payment POST,PUT */checkout*");
        assert_eq!(SensitiveRule::parse(&r.to_line()).unwrap(), r);
        assert!(SensitiveRule::parse("any * *")
            .unwrap()
            .matches("GET", "http://a"));
        for bad in ["payment */checkout*", "a b c d", "x P0ST /y", "x , /y"] {
            let e = SensitiveRule::parse(bad).unwrap_err();
            assert_eq!(
                e.field(),
                Some("rules.sensitive"),
                "{bad:?} refused at its field"
            );
        }
    }
}
