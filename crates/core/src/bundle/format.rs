//! The bundle file format (version 4), documented in `docs/bundle-format.md`.
//!
//! Parsing is strict and bounded: a size limit before anything is read into memory, the
//! `format` and `version` checked before the rest (so a newer file gets a clear "newer version"
//! error rather than a field error), unknown fields rejected, and every error names the path of
//! the offending value (`templates[3].tags[0]`).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::{Error, Result};

/// The `format` field of every bundle.
pub const FORMAT: &str = "holdfast-bundle";
/// The version this build writes and the newest it reads.
pub const VERSION: u32 = 4;
/// Largest bundle accepted, in bytes.
pub const MAX_BYTES: usize = 32 * 1024 * 1024;
/// Most templates in one bundle.
pub const MAX_TEMPLATES: usize = 100_000;

/// A bundle as written to a file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    pub format: String,
    pub version: u32,
    /// RFC 3339 UTC.
    pub exported_at: String,
    pub templates: Vec<BundleTemplate>,
    /// Exit passwords by template name: an age file (scrypt passphrase), ASCII-armored.
    /// Present only in bundles exported with `--with-secrets`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets: Option<String>,
}

/// One template in a bundle: what a teammate needs, nothing local (no id, no profile path, no
/// timestamps, no password).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[ts(export)]
pub struct BundleTemplate {
    pub name: String,
    #[serde(default)]
    pub account: String,
    /// `direct` or the exit URL without its password.
    pub exit: String,
    #[serde(default)]
    pub pinned_egress_ip: Option<String>,
    pub timezone: String,
    pub locale: String,
    #[serde(default)]
    pub start_urls: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub notes: String,
    /// Health rules (version 2) and sensitive-action rules (version 3); a version 1 bundle has
    /// none and gets the defaults, a version 2 bundle's rules get the default sensitive rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<crate::rules::TemplateRules>,
    /// Launches refuse an environment that does not fit the exit's location (version 4; false
    /// when absent).
    #[serde(default)]
    pub require_consistent: bool,
}

/// Only what is needed to decide how to read the rest.
#[derive(Deserialize)]
struct Header {
    format: Option<serde_json::Value>,
    version: Option<serde_json::Value>,
}

/// Parses and checks the structure of a bundle (not yet the template fields).
pub fn parse(bytes: &[u8]) -> Result<Bundle> {
    if bytes.len() > MAX_BYTES {
        return Err(Error::BundleTooLarge {
            size: bytes.len() as u64,
            limit: MAX_BYTES as u64,
        });
    }
    let header: Header = serde_json::from_slice(bytes).map_err(|e| format_err(json_problem(&e)))?;
    match header.format.as_ref().and_then(|v| v.as_str()) {
        Some(FORMAT) => {}
        Some(other) => {
            return Err(format_err(format!(
                "format is {other:?}, expected {FORMAT:?}: not a Holdfast bundle"
            )))
        }
        None => {
            return Err(format_err(format!(
                "no \"format\": {FORMAT:?} field: not a Holdfast bundle"
            )))
        }
    }
    let version = header
        .version
        .as_ref()
        .and_then(|v| v.as_u64())
        .ok_or_else(|| format_err("\"version\" is missing or not a whole number".to_owned()))?;
    if version > u64::from(VERSION) {
        return Err(Error::BundleVersion {
            found: version,
            supported: VERSION,
        });
    }
    if version < 1 {
        return Err(format_err(format!("version {version} does not exist")));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let bundle: Bundle = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = json_problem(e.inner());
        format_err(if path == "." {
            inner
        } else {
            format!("at {path}: {inner}")
        })
    })?;
    de.end().map_err(|e| format_err(json_problem(&e)))?;
    if bundle.templates.len() > MAX_TEMPLATES {
        return Err(format_err(format!(
            "{} templates; at most {MAX_TEMPLATES} in one bundle",
            bundle.templates.len()
        )));
    }
    Ok(bundle)
}

/// Serialises a bundle (pretty, so that a teammate can read it).
pub fn to_bytes(bundle: &Bundle) -> Result<Vec<u8>> {
    let mut out = serde_json::to_vec_pretty(bundle).map_err(|e| format_err(e.to_string()))?;
    out.push(b'\n');
    Ok(out)
}

fn json_problem(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match e.classify() {
        Category::Eof => format!(
            "the file ends too early (truncated?) at line {} column {}",
            e.line(),
            e.column()
        ),
        Category::Syntax => format!("not valid JSON: {e}"),
        Category::Data => format!("{e}"),
        Category::Io => format!("cannot read: {e}"),
    }
}

fn format_err(detail: String) -> Error {
    Error::BundleFormat { detail }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok_bundle() -> String {
        r#"{"format":"holdfast-bundle","version":1,"exported_at":"2026-01-01T00:00:00Z",
            "templates":[{"name":"a","exit":"direct","timezone":"UTC","locale":"en-US"}]}"#
            .to_owned()
    }

    #[test]
    fn a_minimal_bundle_parses_with_defaults() {
        let b = parse(ok_bundle().as_bytes()).unwrap();
        assert_eq!(b.templates[0].tags, Vec::<String>::new());
        assert_eq!(b.secrets, None);
    }

    #[test]
    fn hostile_inputs_get_errors_that_name_the_problem() {
        let cases: Vec<(String, &str)> = vec![
            (ok_bundle()[..60].to_owned(), "truncated"),
            ("[".repeat(10_000), "recursion limit"),
            (
                ok_bundle().replace("\"version\":1", "\"version\":5"),
                "version 5",
            ),
            (
                ok_bundle().replace("\"version\":1", "\"version\":\"1\""),
                "version",
            ),
            (
                ok_bundle().replace("holdfast-bundle", "other"),
                "not a Holdfast bundle",
            ),
            (
                ok_bundle().replace("\"locale\"", "\"colour\":1,\"locale\""),
                "templates[0].colour: unknown field `colour`",
            ),
            (
                ok_bundle().replace("\"exit\":\"direct\"", "\"exit\":5"),
                "templates[0].exit",
            ),
            (
                ok_bundle().replace("}]}", ",\"tags\":{\"a\":1}}]}"),
                "templates[0].tags",
            ),
            (format!("{} x", ok_bundle()), "trailing"),
        ];
        for (input, want) in cases {
            let e = parse(input.as_bytes()).expect_err(want);
            let msg = e.to_string();
            assert!(msg.contains(want), "{want:?} not in {msg:?}");
            assert!(
                e.code().is_validation(),
                "{msg}: bad input is a validation error"
            );
        }
        let huge = vec![b' '; MAX_BYTES + 1];
        assert_eq!(
            parse(&huge).unwrap_err().code(),
            crate::ErrorCode::BundleTooLarge
        );
    }
}
