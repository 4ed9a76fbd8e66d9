//! Validation of the plain fields of a template. Each function returns the normalised value or
//! an error that names the field and quotes the value.

use std::net::IpAddr;
use std::str::FromStr;

use language_tags::LanguageTag;

use crate::error::{Error, Result};

/// Longest template name, in characters.
pub const NAME_MAX: usize = 64;
/// Longest account label and tag, in characters.
pub const LABEL_MAX: usize = 128;
/// Longest notes text, in characters.
pub const NOTES_MAX: usize = 10_000;
/// Most start URLs and tags on one template.
pub const LIST_MAX: usize = 64;

/// A name: 1–64 characters after trimming, no `/`, `\` or control characters.
pub fn name(value: &str) -> Result<String> {
    let v = value.trim();
    let invalid = |reason| Error::InvalidName {
        value: value.to_owned(),
        reason,
    };
    // Checked before trimming: a trailing newline or tab is a control character, not padding.
    if value.chars().any(char::is_control) {
        return Err(invalid("must not contain control characters"));
    }
    if v.is_empty() {
        return Err(invalid("must not be empty"));
    }
    if v.chars().count() > NAME_MAX {
        return Err(invalid("longer than 64 characters"));
    }
    if v.contains(['/', '\\']) {
        return Err(invalid("must not contain '/' or '\\'"));
    }
    Ok(v.to_owned())
}

/// An IANA time zone name, e.g. `Europe/Berlin`; returned in its canonical spelling.
pub fn timezone(value: &str) -> Result<String> {
    let v = value.trim();
    chrono_tz::Tz::from_str(v)
        .or_else(|_| chrono_tz::Tz::from_str_insensitive(v))
        .map(|tz| tz.name().to_owned())
        .map_err(|_| Error::InvalidTimezone {
            value: value.to_owned(),
        })
}

/// A well-formed BCP 47 language tag, e.g. `de-DE`; returned as given (trimmed).
pub fn locale(value: &str) -> Result<String> {
    let v = value.trim();
    let invalid = |reason: String| Error::InvalidLocale {
        value: value.to_owned(),
        reason,
    };
    if v.is_empty() {
        return Err(invalid("must not be empty".into()));
    }
    // Underscore forms (de_DE) are POSIX locales, not BCP 47; say so rather than guessing.
    if v.contains('_') {
        return Err(invalid(format!(
            "use '-' not '_' (BCP 47), e.g. {}",
            v.replace('_', "-")
        )));
    }
    let tag =
        LanguageTag::parse(v).map_err(|e| invalid(format!("not a BCP 47 language tag ({e})")))?;
    tag.validate()
        .map_err(|e| invalid(format!("not a valid BCP 47 language tag ({e})")))?;
    Ok(tag.as_str().to_owned())
}

/// A start URL: absolute `http` or `https` with a host.
pub fn start_url(value: &str) -> Result<String> {
    let v = value.trim();
    let invalid = |reason| Error::InvalidStartUrl {
        value: value.to_owned(),
        reason,
    };
    let url = url::Url::parse(v).map_err(|_| invalid("not an absolute URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("only http and https URLs can be start URLs"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("URL has no host"));
    }
    Ok(url.to_string())
}

/// A list of start URLs, each validated, at most `LIST_MAX`.
pub fn start_urls(values: &[String]) -> Result<Vec<String>> {
    if values.len() > LIST_MAX {
        return Err(Error::InvalidStartUrl {
            value: format!("{} URLs", values.len()),
            reason: "at most 64 start URLs",
        });
    }
    values.iter().map(|v| start_url(v)).collect()
}

/// Tags: each 1–128 characters, no control characters; duplicates dropped, order kept.
pub fn tags(values: &[String]) -> Result<Vec<String>> {
    if values.len() > LIST_MAX {
        return Err(Error::InvalidText {
            field: "tags",
            value: format!("{} tags", values.len()),
            reason: "at most 64 tags",
        });
    }
    let mut out: Vec<String> = Vec::with_capacity(values.len());
    for v in values {
        let t = label("tags", v)?;
        if t.is_empty() {
            return Err(Error::InvalidText {
                field: "tags",
                value: v.clone(),
                reason: "a tag must not be empty",
            });
        }
        if !out.contains(&t) {
            out.push(t);
        }
    }
    Ok(out)
}

/// A short single-line label (account, tag): trimmed, ≤128 characters, no control characters.
pub fn label(field: &'static str, value: &str) -> Result<String> {
    let v = value.trim();
    let invalid = |reason| Error::InvalidText {
        field,
        value: value.to_owned(),
        reason,
    };
    if v.chars().count() > LABEL_MAX {
        return Err(invalid("longer than 128 characters"));
    }
    if v.chars().any(char::is_control) {
        return Err(invalid("must not contain control characters"));
    }
    Ok(v.to_owned())
}

/// Free-form notes: ≤10,000 characters; newlines and tabs allowed, other control characters not.
pub fn notes(value: &str) -> Result<String> {
    let invalid = |reason| Error::InvalidText {
        field: "notes",
        value: value.chars().take(40).collect(),
        reason,
    };
    if value.chars().count() > NOTES_MAX {
        return Err(invalid("longer than 10000 characters"));
    }
    if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
    {
        return Err(invalid(
            "must not contain control characters other than newlines and tabs",
        ));
    }
    Ok(value.to_owned())
}

/// A pinned egress IP: an IPv4 or IPv6 address, stored in canonical form. Empty means none.
pub fn egress_ip(value: &str) -> Result<Option<String>> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(None);
    }
    v.parse::<IpAddr>()
        .map(|ip| Some(ip.to_string()))
        .map_err(|_| Error::InvalidEgressIp {
            value: value.to_owned(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(name("  shop-eu 01 ").unwrap(), "shop-eu 01");
        assert_eq!(name(&"é".repeat(64)).unwrap().chars().count(), 64);
        for bad in [
            "",
            "   ",
            "a/b",
            "a\\b",
            "tab\there",
            "nl\n",
            &"x".repeat(65),
        ] {
            assert_eq!(
                name(bad).unwrap_err().code(),
                ErrorCode::InvalidName,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn timezones_must_be_iana_names() {
        assert_eq!(timezone("Europe/Berlin").unwrap(), "Europe/Berlin");
        assert_eq!(
            timezone("asia/tokyo").unwrap(),
            "Asia/Tokyo",
            "canonical spelling"
        );
        for bad in ["Mars/Olympus", "", "GMT+25", "Europe/"] {
            assert_eq!(
                timezone(bad).unwrap_err().code(),
                ErrorCode::InvalidTimezone,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn locales_must_be_bcp47() {
        for ok in ["en-US", "de", "zh-Hant-TW", "es-419"] {
            assert_eq!(locale(ok).unwrap(), ok);
        }
        for bad in ["", "de_DE", "english!", "x", "en--US"] {
            assert_eq!(
                locale(bad).unwrap_err().code(),
                ErrorCode::InvalidLocale,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn start_urls_are_http_or_https_only() {
        assert_eq!(
            start_url("https://example.com").unwrap(),
            "https://example.com/"
        );
        for bad in [
            "file:///etc/passwd",
            "javascript:alert(1)",
            "ftp://h/",
            "example.com",
            "data:,x",
        ] {
            assert_eq!(
                start_url(bad).unwrap_err().code(),
                ErrorCode::InvalidStartUrl,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn tags_dedupe_and_reject_empty() {
        let t = tags(&["eu".into(), " eu ".into(), "shop".into()]).unwrap();
        assert_eq!(t, vec!["eu", "shop"]);
        assert!(tags(&["".into()]).is_err());
    }

    #[test]
    fn egress_ip_is_optional_and_canonical() {
        assert_eq!(egress_ip("").unwrap(), None);
        assert_eq!(egress_ip("::0001").unwrap().as_deref(), Some("::1"));
        assert!(egress_ip("300.1.1.1").is_err());
    }
}
