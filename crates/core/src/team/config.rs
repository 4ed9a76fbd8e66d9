//! This home's membership of a team: `team.json` in the home (no secret in it: the database
//! password and the team key are in the OS keyring), and the home's machine id.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::home::{write_private, Home};
use crate::secret::Secret;

/// What `team init` / `team join` recorded for this home.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamConfig {
    /// The team's id (from the team store).
    pub team_id: String,
    /// The database URL, without its password.
    pub url: String,
    /// This home's member id in the team.
    pub member_id: String,
    /// This home's member name (shown to teammates as who changed what, who holds a lease).
    pub member_name: String,
    /// This home's machine id.
    pub machine_id: String,
    pub joined_at: DateTime<Utc>,
}

fn path(home: &Home) -> PathBuf {
    home.root().join("team.json")
}

impl TeamConfig {
    /// The membership of `home`, if it joined a team.
    pub fn load(home: &Home) -> Result<Option<Self>> {
        let p = path(home);
        match std::fs::read(&p) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                Error::io(
                    "cannot read the team membership",
                    &p,
                    std::io::Error::new(std::io::ErrorKind::InvalidData, e),
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io("cannot read the team membership", &p, e)),
        }
    }

    /// Writes the membership (owner-only, replaced atomically).
    pub fn save(&self, home: &Home) -> Result<()> {
        let p = path(home);
        let json = serde_json::to_vec_pretty(self).map_err(|e| {
            Error::io(
                "cannot write the team membership",
                &p,
                std::io::Error::other(e),
            )
        })?;
        write_private(&p, &json)
    }

    /// Forgets the membership.
    pub fn remove(home: &Home) -> Result<()> {
        let p = path(home);
        match std::fs::remove_file(&p) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io("cannot remove the team membership", &p, e)),
        }
    }

    /// The keyring account of the database password (per member: two homes of one user may
    /// log in to the same team as different database users).
    pub fn db_password_account(&self) -> String {
        format!("team-db:{}:{}", self.team_id, self.member_id)
    }

    /// The keyring account of the team key.
    pub fn key_account(&self) -> String {
        format!("team-key:{}", self.team_id)
    }
}

/// This home's machine id: made once, kept in the home (two homes on one computer are two
/// machines to the team, as the tests use them).
pub fn machine_id(home: &Home) -> Result<String> {
    let p = home.root().join("machine-id");
    match std::fs::read_to_string(&p) {
        Ok(id) if !id.trim().is_empty() => Ok(id.trim().to_owned()),
        Ok(_) => new_machine_id(&p),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => new_machine_id(&p),
        Err(e) => Err(Error::io("cannot read the machine id", &p, e)),
    }
}

fn new_machine_id(p: &std::path::Path) -> Result<String> {
    let id = uuid::Uuid::new_v4().to_string();
    write_private(p, id.as_bytes())?;
    Ok(id)
}

/// A database URL split into the URL without its password and the password, if it held one.
pub fn split_db_url(raw: &str) -> Result<(String, Option<Secret>)> {
    let invalid = |reason: &'static str| Error::InvalidText {
        field: "url",
        value: crate::template::exit::redact(raw),
        reason,
    };
    let mut url = url::Url::parse(raw.trim()).map_err(|_| invalid("not a URL"))?;
    if !matches!(url.scheme(), "postgres" | "postgresql") {
        return Err(invalid("a team store URL starts with postgres://"));
    }
    let password = url.password().map(|p| {
        Secret::new(
            percent_encoding::percent_decode_str(p)
                .decode_utf8_lossy()
                .into_owned(),
        )
    });
    url.set_password(None)
        .map_err(|()| invalid("the URL cannot hold a user"))?;
    Ok((url.to_string(), password))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_leaves_the_url() {
        let (url, pw) =
            split_db_url("postgres://alice:s%40cret@127.0.0.1:5432/team?sslmode=require").unwrap();
        assert_eq!(url, "postgres://alice@127.0.0.1:5432/team?sslmode=require");
        assert_eq!(pw.map(|p| p.expose().to_owned()).as_deref(), Some("s@cret"));
        assert!(split_db_url("mysql://a@b/c").is_err());
        let err = split_db_url("postgres://a:pw@[bad")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("pw@"), "the password is not quoted: {err}");
    }

    #[test]
    fn membership_round_trips_and_the_machine_id_is_stable() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path());
        assert_eq!(TeamConfig::load(&home).unwrap(), None);
        let c = TeamConfig {
            team_id: "t".into(),
            url: "postgres://a@h/d".into(),
            member_id: "m".into(),
            member_name: "n".into(),
            machine_id: machine_id(&home).unwrap(),
            joined_at: Utc::now(),
        };
        c.save(&home).unwrap();
        assert_eq!(TeamConfig::load(&home).unwrap(), Some(c.clone()));
        assert_eq!(machine_id(&home).unwrap(), c.machine_id);
        TeamConfig::remove(&home).unwrap();
        assert_eq!(TeamConfig::load(&home).unwrap(), None);
    }
}
