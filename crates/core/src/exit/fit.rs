//! Whether a template's timezone and locale fit where its exit is, and what would fit.
//!
//! Only what a site can compare is judged: the timezone's UTC offset now (two zones with the
//! same offset today look the same to a page) and the locale's region against the exit's
//! country. A locale without a region (`de`) fits every country. An exit whose location is not
//! known is `unknown`, never `consistent`.

use chrono::{DateTime, Offset, Utc};
use icu_locale::{LanguageIdentifier, LocaleExpander};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::geo::ExitGeo;

/// Where the exit is and the timezone and locale that would fit it ("match the exit").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, schemars::JsonSchema)]
#[ts(export)]
pub struct ExitFit {
    /// The exit's country (ISO 3166-1 alpha-2).
    pub country: String,
    /// The exit's timezone: the one to set.
    pub timezone: String,
    /// The main language of the exit's country with the country as region: the locale to set.
    pub locale: String,
    /// The IP-info URL that answered.
    pub source: String,
    /// The template's timezone and locale now.
    pub current_timezone: String,
    pub current_locale: String,
}

/// The verdict of a fit check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum GeoVerdict {
    /// Timezone offset and locale region both fit the exit.
    Consistent,
    /// At least one does not (see `issues`).
    Mismatch,
    /// The exit's location (or part of it) is not known, and nothing known disagrees.
    Unknown,
}

/// One way the environment does not fit the exit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, schemars::JsonSchema)]
#[ts(export)]
pub struct GeoIssue {
    /// `timezone_offset` or `locale_region`.
    pub code: String,
    pub message: String,
}

/// `holdfast check --json`'s `geo`: where the exit is and whether the template fits it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, schemars::JsonSchema)]
#[ts(export)]
pub struct GeoReport {
    /// The exit's country (ISO 3166-1 alpha-2), if known.
    pub country: Option<String>,
    /// The exit's timezone (IANA), if known.
    pub timezone: Option<String>,
    /// The IP-info URL that answered, if one did.
    pub source: Option<String>,
    /// True only when the location is known and everything fits (`verdict` is `consistent`).
    pub consistent: bool,
    pub verdict: GeoVerdict,
    pub issues: Vec<GeoIssue>,
    /// Why the location is unknown, when it is.
    pub reason: Option<String>,
}

impl GeoReport {
    /// The issues in one line (for warnings and errors).
    pub fn summary(&self) -> String {
        match self.verdict {
            GeoVerdict::Unknown if self.issues.is_empty() => format!(
                "the exit's location is unknown: {}",
                self.reason.as_deref().unwrap_or("no country or timezone")
            ),
            _ => self
                .issues
                .iter()
                .map(|i| i.message.as_str())
                .collect::<Vec<_>>()
                .join("; "),
        }
    }
}

/// Judges `timezone` and `locale` (a template's) against `geo` (or the reason it is unknown).
pub fn judge(
    timezone: &str,
    locale: &str,
    geo: Result<&ExitGeo, &str>,
    now: DateTime<Utc>,
) -> GeoReport {
    let exit = match geo {
        Ok(g) => g,
        Err(reason) => {
            return GeoReport {
                country: None,
                timezone: None,
                source: None,
                consistent: false,
                verdict: GeoVerdict::Unknown,
                issues: Vec::new(),
                reason: Some(reason.to_owned()),
            }
        }
    };
    let mut issues = Vec::new();
    if let (Some(mine), Some(theirs)) = (offset(timezone, now), exit.timezone.as_deref()) {
        if let Some(exit_offset) = offset(theirs, now) {
            if mine != exit_offset {
                issues.push(GeoIssue {
                    code: "timezone_offset".to_owned(),
                    message: format!(
                        "the timezone {timezone} is UTC{} now, the exit's ({theirs}) UTC{}",
                        hours(mine),
                        hours(exit_offset)
                    ),
                });
            }
        }
    }
    if let (Some(region), Some(country)) = (region(locale), exit.country.as_deref()) {
        if region != country {
            issues.push(GeoIssue {
                code: "locale_region".to_owned(),
                message: format!("the locale {locale} names {region}, the exit is in {country}"),
            });
        }
    }
    let verdict = if !issues.is_empty() {
        GeoVerdict::Mismatch
    } else if exit.country.is_some() && exit.timezone.is_some() {
        GeoVerdict::Consistent
    } else {
        GeoVerdict::Unknown
    };
    GeoReport {
        country: exit.country.clone(),
        timezone: exit.timezone.clone(),
        source: Some(exit.source.clone()),
        consistent: verdict == GeoVerdict::Consistent,
        verdict,
        reason: (verdict == GeoVerdict::Unknown).then(|| {
            if exit.country.is_none() {
                "the IP-info service gave no country".to_owned()
            } else {
                "the IP-info service gave no timezone".to_owned()
            }
        }),
        issues,
    }
}

/// The locale that fits a country: its most likely language there (CLDR likely subtags), with
/// the country as region (`JP` → `ja-JP`, `DE` → `de-DE`, `CH` → `de-CH`).
pub fn locale_for(country: &str) -> Option<String> {
    let mut id: LanguageIdentifier = format!("und-{country}").parse().ok()?;
    LocaleExpander::new_extended().maximize(&mut id);
    let region = id.region?;
    if id.language.is_unknown() {
        return None;
    }
    Some(format!("{}-{}", id.language, region))
}

/// The UTC offset of `tz` at `now`, in seconds.
fn offset(tz: &str, now: DateTime<Utc>) -> Option<i32> {
    let tz: chrono_tz::Tz = tz.parse().ok()?;
    Some(now.with_timezone(&tz).offset().fix().local_minus_utc())
}

/// `+09:00`, `-03:30`, `+00:00`.
fn hours(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let m = seconds.unsigned_abs() / 60;
    format!("{sign}{:02}:{:02}", m / 60, m % 60)
}

/// The two-letter region of a locale (`de-DE` → `DE`); none for `de` or `es-419`.
fn region(locale: &str) -> Option<String> {
    let id: LanguageIdentifier = locale.parse().ok()?;
    let r = id.region?;
    let r = r.as_str();
    r.bytes()
        .all(|b| b.is_ascii_alphabetic())
        .then(|| r.to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geo(country: Option<&str>, tz: Option<&str>) -> ExitGeo {
        ExitGeo {
            country: country.map(str::to_owned),
            timezone: tz.map(str::to_owned),
            source: "http://127.0.0.1/geo".to_owned(),
        }
    }

    fn winter() -> DateTime<Utc> {
        "2026-01-15T12:00:00Z".parse().expect("time")
    }

    #[test]
    fn berlin_and_german_through_a_german_exit_fit() {
        let g = geo(Some("DE"), Some("Europe/Berlin"));
        let r = judge("Europe/Berlin", "de-DE", Ok(&g), winter());
        assert_eq!(r.verdict, GeoVerdict::Consistent, "{r:?}");
        assert!(r.consistent);
        // Another zone with the same offset today looks the same to a page.
        let r = judge("Europe/Paris", "de", Ok(&g), winter());
        assert_eq!(r.verdict, GeoVerdict::Consistent, "{r:?}");
    }

    #[test]
    fn berlin_and_german_through_a_japanese_exit_do_not() {
        let g = geo(Some("JP"), Some("Asia/Tokyo"));
        let r = judge("Europe/Berlin", "de-DE", Ok(&g), winter());
        assert_eq!(r.verdict, GeoVerdict::Mismatch);
        assert!(!r.consistent);
        let codes: Vec<&str> = r.issues.iter().map(|i| i.code.as_str()).collect();
        assert_eq!(codes, ["timezone_offset", "locale_region"]);
        assert_eq!(
            r.issues[0].message,
            "the timezone Europe/Berlin is UTC+01:00 now, the exit's (Asia/Tokyo) UTC+09:00"
        );
    }

    #[test]
    fn an_unknown_location_is_never_consistent() {
        let r = judge("UTC", "en-US", Err("down"), winter());
        assert_eq!(r.verdict, GeoVerdict::Unknown);
        assert!(!r.consistent);
        assert_eq!(r.reason.as_deref(), Some("down"));
        let half = geo(Some("US"), None);
        let r = judge("America/New_York", "en-US", Ok(&half), winter());
        assert_eq!(r.verdict, GeoVerdict::Unknown, "no timezone: not proven");
        assert!(!r.consistent);
        let r = judge("America/New_York", "de-DE", Ok(&half), winter());
        assert_eq!(r.verdict, GeoVerdict::Mismatch, "what is known disagrees");
    }

    #[test]
    fn the_fitting_locale_comes_from_cldr() {
        assert_eq!(locale_for("JP").as_deref(), Some("ja-JP"));
        assert_eq!(locale_for("DE").as_deref(), Some("de-DE"));
        assert_eq!(locale_for("BR").as_deref(), Some("pt-BR"));
        assert_eq!(locale_for("CH").as_deref(), Some("de-CH"));
        assert_eq!(locale_for("zz"), None);
        assert_eq!(locale_for("not a country"), None);
    }
}
