//! Bundles: templates exported for teammates and imported from them. Never cookies, never local
//! paths, never a secret unless asked for — and then encrypted with a passphrase.

pub mod format;
pub(crate) mod plan;
pub(crate) mod secrets;
pub mod service;

pub use format::{Bundle, BundleTemplate, FORMAT, MAX_BYTES, VERSION};
pub use plan::{Action, ImportPlan, OnConflict, PlannedTemplate};

use std::path::PathBuf;

use serde::Serialize;
use ts_rs::TS;

use crate::template::Template;

/// The bundle form of a stored template.
pub fn from_template(t: &Template) -> BundleTemplate {
    BundleTemplate {
        name: t.name.clone(),
        account: t.account.clone(),
        exit: t.exit.to_string(),
        pinned_egress_ip: t.pinned_egress_ip.clone(),
        timezone: t.timezone.clone(),
        locale: t.locale.clone(),
        start_urls: t.start_urls.clone(),
        tags: t.tags.clone(),
        notes: t.notes.clone(),
        rules: Some(t.rules.clone()),
        require_consistent: t.require_consistent,
    }
}

/// Reads a bundle file, refusing one above the size limit before reading it.
pub fn read_file(path: &std::path::Path) -> crate::Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| crate::Error::io("cannot open", path, e))?;
    let mut bytes = Vec::new();
    file.take(MAX_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| crate::Error::io("cannot read", path, e))?;
    if bytes.len() > MAX_BYTES {
        let size = std::fs::metadata(path)
            .map(|m| m.len())
            .unwrap_or(bytes.len() as u64);
        return Err(crate::Error::BundleTooLarge {
            size,
            limit: MAX_BYTES as u64,
        });
    }
    Ok(bytes)
}

/// Writes `bytes` to `path` atomically (a temp file in the same directory, then rename), with
/// owner-only permissions: a half-written bundle never appears under the final name.
pub fn write_file(path: &std::path::Path, bytes: &[u8]) -> crate::Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "bundle".to_owned());
    let tmp = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple()));
    let result = (|| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut f = options.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(crate::Error::io("cannot write bundle", path, e));
    }
    Ok(())
}

/// Which templates to export: named ones, ones with any of the tags, or all.
#[derive(Debug, Clone, Default, serde::Deserialize, TS, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[ts(export)]
pub struct Selection {
    pub names: Vec<String>,
    pub tags: Vec<String>,
    pub all: bool,
}

/// What `export_bundle` wrote.
#[derive(Debug, Clone, Serialize, TS, schemars::JsonSchema)]
#[ts(export)]
pub struct ExportSummary {
    #[ts(type = "string")]
    #[schemars(with = "String")]
    pub path: PathBuf,
    pub names: Vec<String>,
    /// How many exit passwords went into the encrypted section.
    pub secrets: usize,
    /// Templates with a password that is not in the keyring (exported without it).
    pub missing_secrets: Vec<String>,
}
