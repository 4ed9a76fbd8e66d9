//! The one error type of the core. Every variant has a stable snake_case code that the UI, the
//! CLI (exit status) and the HTTP API switch on; messages are for people and never hold a secret.

use serde::Serialize;
use ts_rs::TS;

/// Result type of the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Stable error codes. Adding a variant is fine; renaming one breaks scripts and the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum ErrorCode {
    InvalidName,
    DuplicateName,
    InvalidTimezone,
    InvalidLocale,
    InvalidExit,
    InvalidPort,
    UnsupportedScheme,
    InvalidStartUrl,
    InvalidEgressIp,
    InvalidText,
    TemplateNotFound,
    KeyringUnavailable,
    KeyringError,
    StoreError,
    IoError,
    HomeUnavailable,
    ExitUnreachable,
    ExitAuthFailed,
    EgressProbeFailed,
    InvalidSetting,
    RelayFailed,
    BundleFormat,
    BundleVersion,
    BundleTooLarge,
    BundleInvalid,
    BundleDuplicateName,
    BundlePassphrase,
    NothingSelected,
    BrowserNotFound,
    BrowserFailed,
    AlreadyRunning,
    ProfileInUse,
    ClockSkew,
    EgressMismatch,
    EnvironmentMismatch,
    ExitLocationUnknown,
    NotRunning,
    InvalidRule,
    HoldNotFound,
    ChangedMeanwhile,
    ImportWeaker,
    EgressBypassed,
    PathNotChosen,
    TeamPassphrase,
    TeamUnavailable,
    NotInTeam,
    AlreadyInTeam,
    EditConflict,
    PermissionDenied,
    LeaseLost,
    /// The local API: no or a wrong bearer token.
    Unauthorized,
    /// The local API: a request from a page (an `Origin` not allowed) or a foreign `Host`.
    Forbidden,
    /// The local API: a request body over the limit.
    BodyTooLarge,
    /// The local API: a body that is not the JSON the endpoint takes (e.g. an unknown field).
    InvalidRequest,
    /// The local API: no such endpoint.
    NoSuchEndpoint,
}

impl ErrorCode {
    /// The code as it appears on the wire and in CLI output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidName => "invalid_name",
            Self::DuplicateName => "duplicate_name",
            Self::InvalidTimezone => "invalid_timezone",
            Self::InvalidLocale => "invalid_locale",
            Self::InvalidExit => "invalid_exit",
            Self::InvalidPort => "invalid_port",
            Self::UnsupportedScheme => "unsupported_scheme",
            Self::InvalidStartUrl => "invalid_start_url",
            Self::InvalidEgressIp => "invalid_egress_ip",
            Self::InvalidText => "invalid_text",
            Self::TemplateNotFound => "template_not_found",
            Self::KeyringUnavailable => "keyring_unavailable",
            Self::KeyringError => "keyring_error",
            Self::StoreError => "store_error",
            Self::IoError => "io_error",
            Self::HomeUnavailable => "home_unavailable",
            Self::ExitUnreachable => "exit_unreachable",
            Self::ExitAuthFailed => "exit_auth_failed",
            Self::EgressProbeFailed => "egress_probe_failed",
            Self::InvalidSetting => "invalid_setting",
            Self::RelayFailed => "relay_failed",
            Self::BundleFormat => "bundle_format",
            Self::BundleVersion => "bundle_version",
            Self::BundleTooLarge => "bundle_too_large",
            Self::BundleInvalid => "bundle_invalid",
            Self::BundleDuplicateName => "bundle_duplicate_name",
            Self::BundlePassphrase => "bundle_passphrase",
            Self::NothingSelected => "nothing_selected",
            Self::BrowserNotFound => "browser_not_found",
            Self::BrowserFailed => "browser_failed",
            Self::AlreadyRunning => "already_running",
            Self::ProfileInUse => "profile_in_use",
            Self::ClockSkew => "clock_skew",
            Self::EgressMismatch => "egress_mismatch",
            Self::EnvironmentMismatch => "environment_mismatch",
            Self::ExitLocationUnknown => "exit_location_unknown",
            Self::NotRunning => "not_running",
            Self::InvalidRule => "invalid_rule",
            Self::HoldNotFound => "hold_not_found",
            Self::ChangedMeanwhile => "changed_meanwhile",
            Self::ImportWeaker => "import_weaker",
            Self::EgressBypassed => "egress_bypassed",
            Self::PathNotChosen => "path_not_chosen",
            Self::TeamPassphrase => "team_passphrase",
            Self::TeamUnavailable => "team_unavailable",
            Self::NotInTeam => "not_in_team",
            Self::AlreadyInTeam => "already_in_team",
            Self::EditConflict => "edit_conflict",
            Self::PermissionDenied => "permission_denied",
            Self::LeaseLost => "lease_lost",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::BodyTooLarge => "body_too_large",
            Self::InvalidRequest => "invalid_request",
            Self::NoSuchEndpoint => "no_such_endpoint",
        }
    }

    /// The HTTP status the local API answers this code with (4xx: the caller's to fix).
    pub fn http_status(self) -> u16 {
        match self {
            Self::Unauthorized => 401,
            Self::Forbidden | Self::PermissionDenied | Self::PathNotChosen => 403,
            Self::TemplateNotFound | Self::HoldNotFound | Self::NoSuchEndpoint => 404,
            Self::AlreadyRunning
            | Self::ProfileInUse
            | Self::DuplicateName
            | Self::EditConflict
            | Self::ChangedMeanwhile
            | Self::NotRunning
            | Self::AlreadyInTeam
            | Self::NotInTeam => 409,
            Self::BodyTooLarge => 413,
            Self::InvalidRequest => 400,
            // A launch refused by its preflight: the request was fine, the environment is not.
            Self::ClockSkew
            | Self::EgressMismatch
            | Self::EnvironmentMismatch
            | Self::ImportWeaker => 422,
            Self::ExitLocationUnknown => 502,
            Self::ExitUnreachable
            | Self::ExitAuthFailed
            | Self::EgressProbeFailed
            | Self::TeamUnavailable => 502,
            Self::KeyringUnavailable | Self::BrowserNotFound => 503,
            c if c.is_validation() => 400,
            _ => 500,
        }
    }

    /// Bad input from the caller (CLI exit status 2); nothing was changed.
    pub fn is_validation(self) -> bool {
        matches!(
            self,
            Self::InvalidName
                | Self::DuplicateName
                | Self::InvalidTimezone
                | Self::InvalidLocale
                | Self::InvalidExit
                | Self::InvalidPort
                | Self::UnsupportedScheme
                | Self::InvalidStartUrl
                | Self::InvalidEgressIp
                | Self::InvalidText
                | Self::InvalidSetting
                | Self::BundleFormat
                | Self::BundleVersion
                | Self::BundleTooLarge
                | Self::BundleInvalid
                | Self::BundleDuplicateName
                | Self::BundlePassphrase
                | Self::TeamPassphrase
                | Self::NothingSelected
                | Self::InvalidRule
        )
    }
}

/// Errors of the core. Values quoted in messages are user input with any password removed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid name {value:?}: {reason}")]
    InvalidName { value: String, reason: &'static str },

    #[error("name {value:?} is already used by another template")]
    DuplicateName { value: String },

    #[error("invalid timezone {value:?}: not an IANA time zone name (e.g. Europe/Berlin)")]
    InvalidTimezone { value: String },

    #[error("invalid locale {value:?}: {reason}")]
    InvalidLocale { value: String, reason: String },

    #[error("invalid exit {value:?}: {reason}")]
    InvalidExit { value: String, reason: &'static str },

    #[error("invalid exit port {value:?}: must be a number from 1 to 65535")]
    InvalidPort { value: String },

    #[error(
        "unsupported exit scheme {value:?}: use direct, http://host:port or socks5://host:port"
    )]
    UnsupportedScheme { value: String },

    #[error("invalid start URL {value:?}: {reason}")]
    InvalidStartUrl { value: String, reason: &'static str },

    #[error("invalid pinned egress IP {value:?}: not an IPv4 or IPv6 address")]
    InvalidEgressIp { value: String },

    #[error("invalid {field} {value:?}: {reason}")]
    InvalidText {
        field: &'static str,
        value: String,
        reason: &'static str,
    },

    #[error("no template named {name:?}")]
    TemplateNotFound { name: String },

    #[error(
        "the OS keyring is not available ({detail}); proxy passwords are kept only there. \
         Start a Secret Service provider (e.g. gnome-keyring or KeePassXC) in a desktop session \
         with a D-Bus session bus and unlock it, or use an exit without a password"
    )]
    KeyringUnavailable { detail: String },

    #[error("keyring error: {detail}")]
    Keyring { detail: String },

    #[error("database error: {0}")]
    Store(#[from] sqlx::Error),

    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),

    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: std::path::PathBuf,
        source: std::io::Error,
    },

    #[error("no data directory: set HOLDFAST_HOME or HOME")]
    HomeUnavailable,

    #[error("the exit is unreachable: {detail}")]
    ExitUnreachable { detail: String },

    #[error("the exit refused the credentials: {detail}")]
    ExitAuthFailed { detail: String },

    #[error("could not fetch the egress IP through the exit: {detail}")]
    EgressProbe { detail: String },

    #[error("invalid setting {key:?} = {value:?}: {reason}")]
    InvalidSetting {
        key: String,
        value: String,
        reason: String,
    },

    #[error("cannot start the relay: {0}")]
    Relay(std::io::Error),

    #[error("not a valid bundle: {detail}")]
    BundleFormat { detail: String },

    #[error("the bundle is format version {found}; this Holdfast reads up to version {supported}: update Holdfast to import it")]
    BundleVersion { found: u64, supported: u32 },

    #[error("the bundle is {size} bytes; the limit is {limit}")]
    BundleTooLarge { size: u64, limit: u64 },

    #[error("template #{} ({name:?}) in the bundle is invalid: {detail}", index + 1)]
    BundleInvalid {
        index: usize,
        name: String,
        code: ErrorCode,
        detail: String,
    },

    #[error("the bundle holds these names more than once: {}", names.join(", "))]
    BundleDuplicateName { names: Vec<String> },

    #[error("{detail}")]
    BundlePassphrase { detail: String },

    #[error("nothing to export: {detail}")]
    NothingSelected { detail: String },

    #[error("no browser found: {detail}")]
    BrowserNotFound { detail: String },

    #[error("the browser failed: {detail}")]
    BrowserFailed { detail: String },

    #[error("{name} is already running (pid {pid}, since {since})")]
    AlreadyRunning {
        name: String,
        pid: i64,
        since: String,
    },

    #[error("the profile of {name} is open in a browser Holdfast did not start (pid {pid}); close it first")]
    ProfileInUse { name: String, pid: i32 },

    #[error("the clock is off by {offset_ms} ms (limit {limit_ms} ms): fix the system clock, or launch with --force")]
    ClockSkew { offset_ms: i64, limit_ms: u64 },

    #[error("the egress IP is {seen}, but {pinned} is pinned: the exit moved; launch with --force to go on anyway")]
    EgressMismatch { seen: String, pinned: String },

    #[error("the environment does not fit the exit ({detail}); the template requires it to (`template edit --match-exit` fixes it, or launch with --force)")]
    EnvironmentMismatch { detail: String },

    #[error("where the exit is could not be learned: {detail}")]
    ExitLocationUnknown { detail: String },

    #[error("{name} is not running")]
    NotRunning { name: String },
    #[error("{name} is already running on {holder}'s machine {machine} (since {since}); only one session per account runs in the team")]
    RunningElsewhere {
        name: String,
        holder: String,
        machine: String,
        since: String,
    },
    #[error("the session of {name} was ended: {reason}")]
    LeaseLost { name: String, reason: String },
    #[error("{field}: {reason}")]
    InvalidRule { field: &'static str, reason: String },
    #[error("hold {id} is no longer waiting (answered, timed out, or its session ended)")]
    HoldNotFound { id: i64 },
    #[error("template {name:?} was changed by another process meanwhile; nothing was written, try again")]
    ChangedMeanwhile { name: String },
    #[error("the import would weaken stored templates ({detail}); nothing was written. Check the plan (--dry-run) and import with --allow-weaker if that is meant")]
    ImportWeaker { detail: String },
    #[error("the browser's own request reached the echo from {seen}, not through the exit ({expected}): an extension or a managed policy has switched the profile's proxy off; the session was stopped")]
    EgressBypassed { seen: String, expected: String },
    #[error("{path:?} was not chosen in the file dialog; choose the file again")]
    PathNotChosen { path: String },
    #[error("team passphrase: {detail}")]
    TeamPassphrase { detail: String },
    #[error("the team store cannot be reached: {detail}")]
    TeamUnavailable { detail: String },
    #[error("this home is not in a team (holdfast team init URL, or team join URL)")]
    NotInTeam,
    #[error(
        "this home is already in team {team_id} ({url}); leave it first (holdfast team leave)"
    )]
    AlreadyInTeam { team_id: String, url: String },
    #[error("{name:?} was changed by {by} at {at} since you read it ({fields}); nothing was written: reload it and apply your change again")]
    EditConflict {
        name: String,
        by: String,
        at: String,
        fields: String,
    },
    #[error("permission denied by the team store: {detail}")]
    PermissionDenied { detail: String },
}

impl Error {
    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidName { .. } => ErrorCode::InvalidName,
            Self::DuplicateName { .. } => ErrorCode::DuplicateName,
            Self::InvalidTimezone { .. } => ErrorCode::InvalidTimezone,
            Self::InvalidLocale { .. } => ErrorCode::InvalidLocale,
            Self::InvalidExit { .. } => ErrorCode::InvalidExit,
            Self::InvalidPort { .. } => ErrorCode::InvalidPort,
            Self::UnsupportedScheme { .. } => ErrorCode::UnsupportedScheme,
            Self::InvalidStartUrl { .. } => ErrorCode::InvalidStartUrl,
            Self::InvalidEgressIp { .. } => ErrorCode::InvalidEgressIp,
            Self::InvalidText { .. } => ErrorCode::InvalidText,
            Self::TemplateNotFound { .. } => ErrorCode::TemplateNotFound,
            Self::KeyringUnavailable { .. } => ErrorCode::KeyringUnavailable,
            Self::Keyring { .. } => ErrorCode::KeyringError,
            Self::Store(_) | Self::Migrate(_) => ErrorCode::StoreError,
            Self::Io { .. } => ErrorCode::IoError,
            Self::HomeUnavailable => ErrorCode::HomeUnavailable,
            Self::ExitUnreachable { .. } => ErrorCode::ExitUnreachable,
            Self::ExitAuthFailed { .. } => ErrorCode::ExitAuthFailed,
            Self::EgressProbe { .. } => ErrorCode::EgressProbeFailed,
            Self::InvalidSetting { .. } => ErrorCode::InvalidSetting,
            Self::Relay(_) => ErrorCode::RelayFailed,
            Self::BundleFormat { .. } => ErrorCode::BundleFormat,
            Self::BundleVersion { .. } => ErrorCode::BundleVersion,
            Self::BundleTooLarge { .. } => ErrorCode::BundleTooLarge,
            Self::BundleInvalid { .. } => ErrorCode::BundleInvalid,
            Self::BundleDuplicateName { .. } => ErrorCode::BundleDuplicateName,
            Self::BundlePassphrase { .. } => ErrorCode::BundlePassphrase,
            Self::NothingSelected { .. } => ErrorCode::NothingSelected,
            Self::BrowserNotFound { .. } => ErrorCode::BrowserNotFound,
            Self::BrowserFailed { .. } => ErrorCode::BrowserFailed,
            Self::AlreadyRunning { .. } => ErrorCode::AlreadyRunning,
            Self::ProfileInUse { .. } => ErrorCode::ProfileInUse,
            Self::ClockSkew { .. } => ErrorCode::ClockSkew,
            Self::EgressMismatch { .. } => ErrorCode::EgressMismatch,
            Self::EnvironmentMismatch { .. } => ErrorCode::EnvironmentMismatch,
            Self::ExitLocationUnknown { .. } => ErrorCode::ExitLocationUnknown,
            Self::NotRunning { .. } => ErrorCode::NotRunning,
            Self::InvalidRule { .. } => ErrorCode::InvalidRule,
            Self::HoldNotFound { .. } => ErrorCode::HoldNotFound,
            Self::ChangedMeanwhile { .. } => ErrorCode::ChangedMeanwhile,
            Self::ImportWeaker { .. } => ErrorCode::ImportWeaker,
            Self::EgressBypassed { .. } => ErrorCode::EgressBypassed,
            Self::PathNotChosen { .. } => ErrorCode::PathNotChosen,
            Self::TeamPassphrase { .. } => ErrorCode::TeamPassphrase,
            Self::TeamUnavailable { .. } => ErrorCode::TeamUnavailable,
            Self::NotInTeam => ErrorCode::NotInTeam,
            Self::AlreadyInTeam { .. } => ErrorCode::AlreadyInTeam,
            Self::EditConflict { .. } => ErrorCode::EditConflict,
            Self::PermissionDenied { .. } => ErrorCode::PermissionDenied,
            Self::RunningElsewhere { .. } => ErrorCode::AlreadyRunning,
            Self::LeaseLost { .. } => ErrorCode::LeaseLost,
        }
    }

    /// The input field this error is about, as named in `TemplateDraft`, if any.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Self::InvalidName { .. } | Self::DuplicateName { .. } => Some("name"),
            Self::InvalidTimezone { .. } => Some("timezone"),
            Self::InvalidLocale { .. } => Some("locale"),
            Self::InvalidExit { .. }
            | Self::InvalidPort { .. }
            | Self::UnsupportedScheme { .. } => Some("exit"),
            Self::InvalidStartUrl { .. } => Some("start_urls"),
            Self::InvalidEgressIp { .. } => Some("pinned_egress_ip"),
            Self::InvalidText { field, .. } | Self::InvalidRule { field, .. } => Some(field),
            Self::InvalidSetting { .. } => Some("setting"),
            Self::BundlePassphrase { .. } => Some("passphrase"),
            _ => None,
        }
    }

    /// Wraps an I/O error with what was being done and where.
    pub fn io(
        action: &'static str,
        path: impl Into<std::path::PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }

    /// The serialisable form that crosses the Tauri, HTTP and `--json` boundaries.
    pub fn payload(&self) -> ErrorPayload {
        ErrorPayload {
            code: self.code(),
            field: self.field().map(str::to_owned),
            message: self.to_string(),
        }
    }
}

/// An error as the UI and scripts see it: switch on `code`, show `message` next to `field`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS, schemars::JsonSchema)]
#[ts(export)]
pub struct ErrorPayload {
    pub code: ErrorCode,
    pub field: Option<String>,
    pub message: String,
}

impl From<Error> for ErrorPayload {
    fn from(e: Error) -> Self {
        e.payload()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialize_as_their_stable_strings() {
        for code in [
            ErrorCode::InvalidName,
            ErrorCode::DuplicateName,
            ErrorCode::KeyringUnavailable,
            ErrorCode::StoreError,
        ] {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(
                json,
                format!("\"{}\"", code.as_str()),
                "wire form must equal as_str()"
            );
        }
    }

    #[test]
    fn validation_errors_name_their_field() {
        let e = Error::InvalidTimezone {
            value: "Mars/Base".into(),
        };
        let p = e.payload();
        assert_eq!(p.field.as_deref(), Some("timezone"));
        assert!(
            p.message.contains("Mars/Base"),
            "message must quote the bad value"
        );
        assert!(p.code.is_validation());
    }
}
