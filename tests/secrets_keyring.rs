//! Proxy passwords live in the real OS keyring (Secret Service via gnome-keyring on a private
//! bus) and nowhere else: not in SQLite (nor its WAL), not in logs, not in command output.

mod common;

use common::{stderr, KeyringSession, TestHome};
use sqlx::Connection;

/// Opens the home's database and keeps the connection: while it is open, the CLI's clean close
/// cannot checkpoint and delete the WAL, so every frame the CLI wrote stays on disk to search.
fn hold_wal_open(h: &TestHome) -> (tokio::runtime::Runtime, sqlx::SqliteConnection) {
    h.ok(&["template", "list"]); // creates the database in WAL mode
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // Explicit WAL: sqlx's default options would switch the database back to a rollback journal.
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(h.path().join("holdfast.db"))
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal);
    let conn = rt
        .block_on(sqlx::SqliteConnection::connect_with(&options))
        .unwrap();
    (rt, conn)
}

fn assert_nowhere_in_home(h: &TestHome, secret: &str) {
    let files = h.files();
    assert!(
        files.iter().any(|f| f.ends_with("holdfast.db-wal")),
        "the WAL must be among the files checked"
    );
    assert!(
        files.iter().any(|f| f.starts_with(h.path().join("logs"))),
        "the logs must be among the files checked"
    );
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
        assert!(!found, "the password must not appear in {}", f.display());
    }
}

#[test]
fn password_is_in_the_keyring_and_nowhere_in_sqlite_or_logs() {
    let keyring = KeyringSession::start();
    let h = TestHome::with_keyring(&keyring);
    let _wal = hold_wal_open(&h);
    let inline = "Inline-S3cret-7f3a";
    let piped = "Piped-S3cret-91bc";

    let exit = format!("http://alice:{inline}@127.0.0.1:3128");
    let mut add = h.cmd();
    // Verbose logging, to give a leak every chance to show.
    add.env("HOLDFAST_LOG", "trace")
        .args(["template", "add", "inline", "--exit", &exit]);
    let out = add.output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let out = h.run_with_stdin(
        &[
            "template",
            "add",
            "piped",
            "--exit",
            "socks5://bob@127.0.0.1:1080",
            "--exit-password-stdin",
        ],
        &format!("{piped}\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));

    for (name, pw) in [("inline", inline), ("piped", piped)] {
        let t = h.show_json(name);
        assert_eq!(t["exit_has_password"], true);
        let id = t["id"].as_str().unwrap();
        assert_eq!(
            keyring.lookup("holdfast", &format!("exit:{id}")).as_deref(),
            Some(pw),
            "another Secret Service client reads the password of {name}"
        );
    }
    let listing = h.ok(&["template", "list", "--json"]);
    assert!(
        !listing.contains(inline) && !listing.contains(piped),
        "list output has no password"
    );
    assert_nowhere_in_home(&h, inline);
    assert_nowhere_in_home(&h, piped);
    // Control: the same search does find what is stored (the username), so it is not vacuous.
    let db_bytes: Vec<u8> = ["holdfast.db", "holdfast.db-wal"]
        .iter()
        .flat_map(|f| std::fs::read(h.path().join(f)).unwrap())
        .collect();
    assert!(
        db_bytes.windows(5).any(|w| w == b"alice"),
        "the username is stored, so the search sees data"
    );
}

#[test]
fn edit_replaces_or_clears_and_rm_deletes_the_keyring_entry() {
    let keyring = KeyringSession::start();
    let h = TestHome::with_keyring(&keyring);
    h.ok(&[
        "template",
        "add",
        "t",
        "--exit",
        "http://u:first@127.0.0.1:3128",
    ]);
    let id = h.show_json("t")["id"].as_str().unwrap().to_owned();
    let account = format!("exit:{id}");

    let out = h.run_with_stdin(
        &["template", "edit", "t", "--exit-password-stdin"],
        "second\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        keyring.lookup("holdfast", &account).as_deref(),
        Some("second")
    );

    h.ok(&["template", "edit", "t", "--exit", "http://u@127.0.0.2:3128"]);
    assert_eq!(
        keyring.lookup("holdfast", &account).as_deref(),
        Some("second"),
        "same username on a new host keeps the password"
    );

    h.ok(&[
        "template",
        "edit",
        "t",
        "--exit",
        "http://other@127.0.0.2:3128",
    ]);
    assert_eq!(
        keyring.lookup("holdfast", &account),
        None,
        "another username drops the old password"
    );
    assert_eq!(h.show_json("t")["exit_has_password"], false);

    h.ok(&[
        "template",
        "edit",
        "t",
        "--exit",
        "http://other:third@127.0.0.2:3128",
    ]);
    assert_eq!(
        keyring.lookup("holdfast", &account).as_deref(),
        Some("third")
    );
    h.ok(&["template", "rm", "t"]);
    assert_eq!(
        keyring.lookup("holdfast", &account),
        None,
        "rm deletes the keyring entry"
    );
}

#[test]
fn a_keyring_waiting_on_its_unlock_prompt_blocks_no_database_write() {
    let keyring = KeyringSession::start();
    let home = TestHome::with_keyring(&keyring);
    // The keyring stops answering, as while it waits on an unlock prompt.
    // SAFETY: kill(2) on the daemon this test started.
    unsafe { libc::kill(keyring.bus_pid, libc::SIGSTOP) };
    let mut waiting = home
        .cmd()
        .args([
            "template",
            "add",
            "locked",
            "--exit",
            "http://user@127.0.0.1:3128",
            "--exit-password-stdin",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("template add");
    {
        use std::io::Write as _;
        let mut stdin = waiting.stdin.take().expect("stdin");
        stdin.write_all(b"pw\n").expect("password");
    }
    // No event tells that the first add reached the keyring call; give it ample time to.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    if let Some(status) = waiting.try_wait().expect("wait") {
        let mut err = String::new();
        use std::io::Read as _;
        let _ = waiting
            .stderr
            .take()
            .expect("stderr")
            .read_to_string(&mut err);
        panic!("the add should wait on the frozen keyring, but ended ({status}): {err}");
    }

    // Meanwhile another process writes to the same database (the busy timeout is 5 s).
    let started = std::time::Instant::now();
    let out = home.run(&["template", "add", "free", "--exit", "direct"]);
    assert!(
        out.status.success(),
        "a database write is not blocked by a keyring call in flight: {}",
        stderr(&out)
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "…and does not wait for it: {:?}",
        started.elapsed()
    );

    // SAFETY: as above.
    unsafe { libc::kill(keyring.bus_pid, libc::SIGCONT) };
    let out = waiting.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "the first add completes once the keyring answers: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list = home.run(&["template", "list", "--json"]);
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(
        text.contains("\"locked\"") && text.contains("\"free\""),
        "both templates exist: {text}"
    );
}
