//! A real PostgreSQL 15 server per test: `initdb` and `pg_ctl` in a temp dir, on a free
//! loopback port, with password (SCRAM) logins. PostgreSQL refuses to run as root, so as root it
//! runs as the dedicated user `holdfast-pg` that `scripts/setup.sh test` creates.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

/// The cluster's superuser (the team store's owner in tests) and its password.
pub const OWNER: &str = "owner";
pub const OWNER_PASSWORD: &str = "owner-Pa55";
/// The database the tests use as the team store.
pub const DB: &str = "team";
const RUN_AS: &str = "holdfast-pg";

/// A running PostgreSQL; stopped (immediately) on drop.
pub struct Postgres {
    dir: TempDir,
    pub port: u16,
    bin: PathBuf,
    /// With TLS: the CA that signed the server's certificate, and one that did not.
    pub tls: Option<Tls>,
}

/// The certificate authorities of a TLS-only server.
pub struct Tls {
    /// Signed the server's certificate (for 127.0.0.1).
    pub ca: PathBuf,
    /// Signed nothing the server shows.
    pub other_ca: PathBuf,
}

fn pg_bin() -> PathBuf {
    let base = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<PathBuf> = std::fs::read_dir(base)
        .expect("PostgreSQL is installed (apt: postgresql)")
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("initdb").exists())
        .collect();
    versions.sort();
    versions
        .pop()
        .expect("an initdb under /usr/lib/postgresql/*/bin")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

impl Postgres {
    /// initdb + start; ready when `pg_ctl -w` returns. Creates the database `team`.
    pub fn start() -> Self {
        Self::start_with(false)
    }

    /// As `start`, but TCP logins must use TLS (`hostssl` only), with a certificate for
    /// 127.0.0.1 signed by a CA of the test's own.
    pub fn start_tls() -> Self {
        Self::start_with(true)
    }

    fn start_with(tls: bool) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        if is_root() {
            let status = Command::new("chown")
                .args([RUN_AS, dir.path().to_str().expect("utf8")])
                .status()
                .expect("chown");
            assert!(
                status.success(),
                "the user {RUN_AS} exists (scripts/setup.sh test)"
            );
        }
        let mut pg = Self {
            port: free_port(),
            bin: pg_bin(),
            dir,
            tls: None,
        };
        let pwfile = pg.dir.path().join("pw");
        std::fs::write(&pwfile, OWNER_PASSWORD).expect("pwfile");
        if is_root() {
            Command::new("chown")
                .arg(RUN_AS)
                .arg(&pwfile)
                .status()
                .expect("chown");
        }
        let data = pg.data();
        let out = pg.as_pg(
            &pg.bin.join("initdb"),
            &[
                "-D",
                data.to_str().expect("utf8"),
                "-U",
                OWNER,
                "--pwfile",
                pwfile.to_str().expect("utf8"),
                "--auth",
                "scram-sha-256",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale",
                "C",
            ],
        );
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if tls {
            pg.tls = Some(pg.make_tls());
        }
        pg.start_again();
        let out = pg.psql(
            OWNER,
            OWNER_PASSWORD,
            "postgres",
            &format!("CREATE DATABASE {DB}"),
        );
        assert!(
            out.status.success(),
            "createdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        pg
    }

    /// Certificates (openssl), the server's in its data dir, and `pg_hba.conf` turned from
    /// `host` to `hostssl` so that a login without TLS is refused.
    fn make_tls(&self) -> Tls {
        let d = self.dir.path();
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(d)
                .output()
                .expect("openssl is installed");
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        for ca in ["ca", "other-ca"] {
            openssl(&[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-days",
                "2",
                "-subj",
                &format!("/CN=holdfast test {ca}"),
                "-keyout",
                &format!("{ca}.key"),
                "-out",
                &format!("{ca}.pem"),
            ]);
        }
        openssl(&[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            "data/server.key",
            "-out",
            "server.csr",
        ]);
        std::fs::write(d.join("san.ext"), "subjectAltName=IP:127.0.0.1\n").expect("ext");
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "san.ext",
            "-out",
            "data/server.crt",
        ]);
        let data = self.data();
        if is_root() {
            for f in ["server.key", "server.crt"] {
                Command::new("chown")
                    .arg(RUN_AS)
                    .arg(data.join(f))
                    .status()
                    .expect("chown");
            }
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            data.join("server.key"),
            std::fs::Permissions::from_mode(0o600),
        )
        .expect("key mode");
        let hba = data.join("pg_hba.conf");
        let text = std::fs::read_to_string(&hba).expect("pg_hba.conf");
        let text: String = text
            .lines()
            .map(|l| match l.strip_prefix("host ") {
                Some(rest) => format!("hostssl {rest}\n"),
                None => format!("{l}\n"),
            })
            .collect();
        std::fs::write(&hba, text).expect("pg_hba.conf");
        let conf = data.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf).expect("postgresql.conf");
        text.push_str("ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n");
        std::fs::write(&conf, text).expect("postgresql.conf");
        Tls {
            ca: d.join("ca.pem"),
            other_ca: d.join("other-ca.pem"),
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn as_pg(&self, program: &Path, args: &[&str]) -> Output {
        let mut c = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", RUN_AS, "--"]).arg(program);
            c
        } else {
            Command::new(program)
        };
        c.args(args)
            .current_dir(self.dir.path())
            .output()
            .expect("run a PostgreSQL tool")
    }

    /// Starts the server (again, after a stop); waits until it accepts connections.
    pub fn start_again(&self) {
        let opts = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off -c full_page_writes=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("log");
        let out = self.as_pg(
            &self.bin.join("pg_ctl"),
            &[
                "-D",
                self.data().to_str().expect("utf8"),
                "-l",
                log.to_str().expect("utf8"),
                "-o",
                &opts,
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
        assert!(
            out.status.success(),
            "pg_ctl start: {} {}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    /// `pg_ctl stop -m immediate`: the server dies as in a crash.
    pub fn stop_immediate(&self) {
        let _ = self.as_pg(
            &self.bin.join("pg_ctl"),
            &[
                "-D",
                self.data().to_str().expect("utf8"),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
        );
    }

    /// A URL for `user` on the team database (no password in it).
    pub fn url(&self, user: &str) -> String {
        self.url_with(user, "sslmode=disable")
    }

    /// A URL for `user` on the team database with `query` (its libpq-style parameters).
    pub fn url_with(&self, user: &str, query: &str) -> String {
        format!("postgres://{user}@127.0.0.1:{}/{DB}?{query}", self.port)
    }

    /// Runs SQL with psql as `user`.
    pub fn psql(&self, user: &str, password: &str, db: &str, sql: &str) -> Output {
        Command::new(self.bin.join("psql"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                user,
                "-d",
                db,
            ])
            .args(["-v", "ON_ERROR_STOP=1", "-X", "-A", "-t", "-c", sql])
            .env("PGPASSWORD", password)
            .output()
            .expect("psql")
    }

    /// Runs SQL as the owner on the team database; must succeed; returns stdout.
    pub fn owner_sql(&self, sql: &str) -> String {
        let out = self.psql(OWNER, OWNER_PASSWORD, DB, sql);
        assert!(
            out.status.success(),
            "{sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Creates a login role in one of the team's group roles.
    pub fn add_user(&self, user: &str, password: &str, group: &str) {
        self.owner_sql(&format!(
            "CREATE ROLE {user} LOGIN PASSWORD '{password}' IN ROLE {group}"
        ));
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop_immediate();
    }
}
