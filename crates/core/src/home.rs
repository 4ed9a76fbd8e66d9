//! Where a Holdfast installation keeps its data: `HOLDFAST_HOME`, else the platform data dir.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Environment variable that overrides the data directory (tests set it to a temp dir).
pub const HOME_ENV: &str = "HOLDFAST_HOME";

/// The data directory and the paths inside it.
#[derive(Debug, Clone)]
pub struct Home {
    root: PathBuf,
}

impl Home {
    /// `HOLDFAST_HOME` if set and non-empty, else the platform data dir
    /// (`~/.local/share/holdfast` on Linux).
    pub fn from_env() -> Result<Self> {
        match std::env::var_os(HOME_ENV) {
            Some(v) if !v.is_empty() => Ok(Self::at(PathBuf::from(v))),
            _ => directories::ProjectDirs::from("", "", "holdfast")
                .map(|d| Self::at(d.data_dir().to_path_buf()))
                .ok_or(Error::HomeUnavailable),
        }
    }

    /// A home at an explicit path.
    pub fn at(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Creates the directory tree (owner-only on Unix: it holds cookies and session data).
    pub fn ensure(&self) -> Result<()> {
        for dir in [self.root.clone(), self.logs_dir(), self.profiles_dir()] {
            create_private_dir(&dir)?;
        }
        Ok(())
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The SQLite database.
    pub fn db_path(&self) -> PathBuf {
        self.root.join("holdfast.db")
    }

    /// Rotating log files.
    pub fn logs_dir(&self) -> PathBuf {
        self.root.join("logs")
    }

    /// Parent of all browser profiles.
    pub fn profiles_dir(&self) -> PathBuf {
        self.root.join("profiles")
    }

    /// Control sockets of running sessions (private: the home is owner-only).
    pub fn run_dir(&self) -> PathBuf {
        self.root.join("run")
    }

    /// The browser profile (`--user-data-dir`) of one template.
    pub fn profile_dir(&self, template_id: &str) -> PathBuf {
        self.profiles_dir().join(template_id)
    }
}

pub(crate) fn create_private_dir(dir: &Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|e| Error::io("cannot create directory", dir, e))
}

/// Writes `bytes` to `p` readable by the owner only (0600), whole or not at all (a temporary
/// file renamed over it).
pub(crate) fn write_private(p: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let tmp = p.with_extension("tmp");
    let write = || -> std::io::Result<()> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut f = options.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, p)
    };
    write().map_err(|e| Error::io("cannot write", p, e))
}
