//! The team store on a real PostgreSQL: init and join from two homes (two machines, each with
//! its own real keyring), shared templates with versions, conflicts, and what a runner may not do.

mod common;

use serde_json::Value;

use common::pg::{Postgres, OWNER, OWNER_PASSWORD};
use common::{stderr, KeyringSession, TestHome};

const PASSPHRASE: &str = "team-Passphrase-1";
const EXIT_PASSWORD: &str = "Exit-Pa55word-team";
const WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// A machine: a home with its own keyring.
struct Machine {
    home: TestHome,
    _keyring: KeyringSession,
}

fn machine() -> Machine {
    let keyring = KeyringSession::start();
    Machine {
        home: TestHome::with_keyring(&keyring),
        _keyring: keyring,
    }
}

fn team(m: &Machine, verb: &str, url: &str, name: &str, db_password: &str) -> std::process::Output {
    m.home.run_with_stdin(
        &[
            "team",
            verb,
            url,
            "--name",
            name,
            "--passphrase-stdin",
            "--db-password-stdin",
            "--json",
        ],
        &format!("{PASSPHRASE}\n{db_password}\n"),
    )
}

/// The template names a machine lists.
fn names(m: &Machine) -> Vec<String> {
    m.home
        .list_json()
        .iter()
        .filter_map(|t| t["name"].as_str().map(str::to_owned))
        .collect()
}

fn status(m: &Machine) -> Value {
    serde_json::from_str(&m.home.ok(&["team", "status", "--json"])).expect("status json")
}

/// The owner's machine with one template (with an exit password) made before the team.
fn owner_with_team(pg: &Postgres) -> Machine {
    owner_with_team_at(&pg.url(OWNER))
}

/// As `owner_with_team`, the team made at `url` (the owner's login).
fn owner_with_team_at(url: &str) -> Machine {
    let a = machine();
    let out = a.home.run_with_stdin(
        &[
            "template",
            "add",
            "shop",
            "--exit",
            "socks5://alice@127.0.0.1:1080",
            "--exit-password-stdin",
            "--timezone",
            "Europe/Berlin",
        ],
        &format!("{EXIT_PASSWORD}\n"),
    );
    assert!(out.status.success(), "add: {}", stderr(&out));
    let out = team(&a, "init", url, "alice", OWNER_PASSWORD);
    assert!(out.status.success(), "team init: {}", stderr(&out));
    a
}

#[test]
fn init_shares_the_homes_templates_and_a_member_sees_them_with_the_secret_sealed() {
    let pg = Postgres::start();
    let a = owner_with_team(&pg);
    let s = status(&a);
    assert_eq!(s["connected"], true, "{s}");
    assert_eq!(s["role"], "owner");
    assert_eq!(s["member"], "alice");
    assert!(
        !std::fs::read_to_string(a.home.path().join("team.json"))
            .unwrap()
            .contains(OWNER_PASSWORD),
        "the database password is in the keyring, not in a file"
    );

    // The database holds the template, and its exit password only sealed.
    let stored = pg.owner_sql("SELECT name || ' ' || encode(exit_secret, 'escape') FROM templates");
    assert!(stored.starts_with("shop "), "{stored}");
    assert!(
        !stored.contains(EXIT_PASSWORD),
        "no exit password in clear in the team store"
    );

    pg.add_user("carol", "carol-pw", "holdfast_editor");
    let c = machine();
    let out = team(&c, "join", &pg.url("carol"), "carol", "carol-pw");
    assert!(out.status.success(), "join: {}", stderr(&out));
    let list = c.home.list_json();
    assert_eq!(list.len(), 1, "the member's home holds the team's template");
    assert_eq!(list[0]["name"], "shop");
    assert_eq!(list[0]["timezone"], "Europe/Berlin");
    assert_eq!(list[0]["exit_has_password"], true);
    assert_eq!(status(&c)["role"], "editor");

    // A change by one member reaches the other.
    c.home
        .ok(&["template", "add", "ads", "--timezone", "Asia/Tokyo"]);
    assert_eq!(
        names(&a),
        ["ads", "shop"],
        "alice sees carol's new template"
    );
    a.home.ok(&["template", "rm", "ads"]);
    assert_eq!(c.home.list_json().len(), 1, "carol sees it removed");

    // A bundle imported by one member is the team's, not only that home's.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("b.json");
    std::fs::write(
        &file,
        r#"{"format":"holdfast-bundle","version":1,"exported_at":"2026-12-01T00:00:00Z",
            "templates":[{"name":"imported","exit":"direct","timezone":"UTC","locale":"en-US"}]}"#,
    )
    .unwrap();
    c.home.ok(&["import", file.to_str().unwrap()]);
    assert_eq!(
        names(&a),
        ["imported", "shop"],
        "alice sees the template carol imported"
    );
}

#[test]
fn a_wrong_passphrase_or_a_user_without_a_team_role_joins_nothing() {
    let pg = Postgres::start();
    let _a = owner_with_team(&pg);
    pg.add_user("carol", "carol-pw", "holdfast_editor");
    let c = machine();
    let out = c.home.run_with_stdin(
        &[
            "team",
            "join",
            &pg.url("carol"),
            "--passphrase-stdin",
            "--db-password-stdin",
        ],
        "not-the-team-passphrase\ncarol-pw\n",
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("team_passphrase"), "{}", stderr(&out));
    assert!(!c.home.path().join("team.json").exists(), "not a member");
    assert!(c.home.list_json().is_empty(), "nothing pulled");

    pg.owner_sql("CREATE ROLE mallory LOGIN PASSWORD 'm-pw'");
    let m = machine();
    let out = team(&m, "join", &pg.url("mallory"), "mallory", "m-pw");
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("permission_denied"),
        "{}",
        stderr(&out)
    );
    assert!(!m.home.path().join("team.json").exists());
}

#[test]
fn a_stale_edit_fails_with_edit_conflict_naming_who_and_which_fields_and_nothing_is_lost() {
    let pg = Postgres::start();
    let a = owner_with_team(&pg);
    pg.add_user("carol", "carol-pw", "holdfast_editor");
    let c = machine();
    assert!(team(&c, "join", &pg.url("carol"), "carol", "carol-pw")
        .status
        .success());

    // Carol opens the template (version 1); Alice saves a change meanwhile.
    let seen = c.home.show_json("shop");
    let base = seen["version"].as_i64().expect("version").to_string();
    a.home
        .ok(&["template", "edit", "shop", "--timezone", "Asia/Tokyo"]);

    let out = c.home.run(&[
        "template",
        "edit",
        "shop",
        "--locale",
        "ja-JP",
        "--base-version",
        &base,
    ]);
    let err = stderr(&out);
    assert!(!out.status.success(), "a stale edit is refused");
    assert!(err.contains("edit_conflict"), "{err}");
    assert!(err.contains("alice"), "names who changed it: {err}");
    assert!(err.contains("timezone"), "names the field: {err}");
    let now = a.home.show_json("shop");
    assert_eq!(now["timezone"], "Asia/Tokyo", "alice's change is kept");
    assert_eq!(now["locale"], "en-US", "carol's stale change wrote nothing");

    // Re-applied on the current version, both changes hold.
    c.home
        .ok(&["template", "edit", "shop", "--locale", "ja-JP"]);
    let both = a.home.show_json("shop");
    assert_eq!(
        (both["timezone"].as_str(), both["locale"].as_str()),
        (Some("Asia/Tokyo"), Some("ja-JP"))
    );
    assert_eq!(both["version"], 3);
}

#[test]
fn a_runner_can_list_but_cannot_edit_nor_read_a_password_from_the_database() {
    let pg = Postgres::start();
    let _a = owner_with_team(&pg);
    pg.add_user("bob", "bob-pw", "holdfast_runner");
    let b = machine();
    let out = team(&b, "join", &pg.url("bob"), "bob", "bob-pw");
    assert!(out.status.success(), "join: {}", stderr(&out));
    assert_eq!(status(&b)["role"], "runner");
    assert_eq!(
        b.home.list_json().len(),
        1,
        "a runner lists the team's templates"
    );

    let out = b
        .home
        .run(&["template", "edit", "shop", "--timezone", "UTC"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("permission_denied"),
        "{}",
        stderr(&out)
    );
    assert_eq!(b.home.show_json("shop")["timezone"], "Europe/Berlin");

    // Outside a launch the runner cannot get the exit password (running the relay alone takes
    // no lease); a launch holds the lease and gets it: that launch then fails only because
    // nothing listens at the exit's address.
    let out = b.home.run(&["relay", "shop", "--json"]);
    assert!(
        stderr(&out).contains("permission_denied"),
        "{}",
        stderr(&out)
    );
    let site = common::site::Site::start();
    let err = common::launched::try_launch(&b.home, &site, "shop", &[])
        .err()
        .expect("the exit is not there");
    assert!(
        !err.contains("permission_denied") && err.contains("exit_unreachable"),
        "the password came through the lease; the exit itself failed: {err}"
    );

    // PostgreSQL itself refuses, whatever the client: no sealed passwords, no writes.
    for sql in [
        "SELECT exit_secret FROM templates",
        "UPDATE templates SET name = 'x'",
    ] {
        let out = pg.psql("bob", "bob-pw", common::pg::DB, sql);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains("permission denied"),
            "{sql}: {err}"
        );
    }
}

#[test]
fn offline_the_home_lists_its_copy_and_says_so_and_leave_keeps_the_templates() {
    let pg = Postgres::start();
    let a = owner_with_team(&pg);
    pg.stop_immediate();
    let list = a.home.list_json();
    assert_eq!(
        list.len(),
        1,
        "listing works from this home's copy while the store is down"
    );
    let s = status(&a);
    assert_eq!(s["connected"], false, "{s}");
    assert!(s["error"].as_str().is_some_and(|e| !e.is_empty()), "{s}");
    let out = a
        .home
        .run(&["template", "edit", "shop", "--timezone", "UTC"]);
    assert!(!out.status.success(), "no edit without the store");
    assert!(
        stderr(&out).contains("team_unavailable"),
        "{}",
        stderr(&out)
    );
    pg.start_again();

    a.home.ok(&["team", "leave"]);
    assert!(!a.home.path().join("team.json").exists());
    let t = a.home.show_json("shop");
    assert_eq!(
        t["exit_has_password"], true,
        "the owner keeps the exit password locally"
    );
    let out = a.home.run(&["team", "status"]);
    assert!(stderr(&out).contains("not_in_team"), "{}", stderr(&out));
}

/// Two machines of one team sharing the template `acct` (a direct exit whose start page is on
/// `site`), with short lease timings (9 s, renewed every second) so the tests run in seconds.
fn two_machines(pg: &Postgres, site: &common::site::Site) -> (Machine, Machine) {
    let a = machine();
    common::add_direct(&a.home, "acct", &site.url("/page"));
    assert!(team(&a, "init", &pg.url(OWNER), "alice", OWNER_PASSWORD)
        .status
        .success());
    pg.add_user("bob", "bob-pw", "holdfast_runner");
    let b = machine();
    let out = team(&b, "join", &pg.url("bob"), "bob", "bob-pw");
    assert!(out.status.success(), "join: {}", stderr(&out));
    for m in [&a, &b] {
        m.home.ok(&["setting", "set", "team.lease_secs", "9"]);
        m.home.ok(&["setting", "set", "team.heartbeat_secs", "1"]);
    }
    (a, b)
}

/// Launches `acct` on `m`, again every 250 ms while refused (no event tells a machine that
/// another's lease ran out); `refused` checks each refusal (and fails the test when too late).
fn launch_once_free(
    m: &Machine,
    site: &common::site::Site,
    refused: impl Fn(&str),
) -> common::launched::Launched {
    loop {
        match common::launched::try_launch(&m.home, site, "acct", &[]) {
            Ok(l) => return l,
            Err(e) => {
                refused(&e);
                std::thread::sleep(std::time::Duration::from_millis(250));
            }
        }
    }
}

#[test]
fn two_machines_launching_one_account_at_once_exactly_one_wins_and_the_other_names_the_holder() {
    let pg = Postgres::start();
    let site = common::site::Site::start();
    let (a, b) = two_machines(&pg, &site);
    let (ra, rb) = std::thread::scope(|s| {
        let ta = s.spawn(|| common::launched::try_launch(&a.home, &site, "acct", &[]));
        let tb = s.spawn(|| common::launched::try_launch(&b.home, &site, "acct", &[]));
        (ta.join().expect("a"), tb.join().expect("b"))
    });
    let (winner, loser_err, holder) = match (ra, rb) {
        (Ok(l), Err(e)) => (l, e, "alice"),
        (Err(e), Ok(l)) => (l, e, "bob"),
        (Ok(_), Ok(_)) => panic!("both machines run the account at once"),
        (Err(ea), Err(eb)) => panic!("neither launched: {ea} / {eb}"),
    };
    assert!(winner.browser_pid() > 0);
    assert!(loser_err.contains("already_running"), "{loser_err}");
    assert!(
        loser_err.contains(holder),
        "the refusal names the holder ({holder}): {loser_err}"
    );
}

#[test]
fn a_holder_killed_with_kill_9_frees_the_account_within_one_lease_period() {
    let pg = Postgres::start();
    let site = common::site::Site::start();
    let (a, b) = two_machines(&pg, &site);
    let mut held = common::launched::launch(&a.home, &site, "acct");
    let err = common::launched::try_launch(&b.home, &site, "acct", &[])
        .err()
        .expect("the account runs on alice's machine");
    assert!(
        err.contains("already_running") && err.contains("alice"),
        "{err}"
    );

    // SAFETY: kill(2) on a child of this test.
    unsafe { libc::kill(held.holdfast_pid(), libc::SIGKILL) };
    held.wait_exit(std::time::Duration::from_secs(10));
    let killed = std::time::Instant::now();
    let relaunched = launch_once_free(&b, &site, |e| {
        assert!(e.contains("already_running"), "{e}");
        assert!(
            killed.elapsed() < std::time::Duration::from_secs(9 + 3),
            "still held {:?} after the kill (lease 9 s)",
            killed.elapsed()
        );
    });
    assert!(relaunched.browser_pid() > 0);
    assert!(
        killed.elapsed() < std::time::Duration::from_secs(9 + 3),
        "taken over {:?} after the kill",
        killed.elapsed()
    );
}

#[test]
fn with_the_store_down_the_holder_closes_its_browser_before_the_lease_expires_and_nobody_launches()
{
    let pg = Postgres::start();
    let site = common::site::Site::start();
    let (a, b) = two_machines(&pg, &site);
    let mut held = common::launched::launch(&a.home, &site, "acct");
    let browser = held.browser_pid();
    let wall = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs_f64()
    };
    pg.stop_immediate();
    let down = std::time::Instant::now();
    // No event crosses from the browser's process group: poll whether it still exists.
    // SAFETY: signal 0 only asks whether the process group exists.
    while unsafe { libc::kill(-browser, 0) } == 0 {
        assert!(
            down.elapsed() < std::time::Duration::from_secs(10),
            "the browser still runs {:?} after the store went down",
            down.elapsed()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let gone_at = wall();
    let closed_after = down.elapsed();
    let status = held.wait_exit(std::time::Duration::from_secs(20));
    assert!(!status.success(), "the session ended because of the lease");
    eprintln!("browser closed {closed_after:?} after the store went down (lease 9 s)");
    let said = held.stderr.lock().expect("stderr").clone();
    assert!(
        said.contains("lease_lost"),
        "the operator is told why: {said}"
    );

    let err = common::launched::try_launch(&b.home, &site, "acct", &[])
        .err()
        .expect("nobody launches while the store is down");
    assert!(err.contains("team_unavailable"), "{err}");

    pg.start_again();
    // The database's own record of when the lease would have run out (same machine, same
    // clock as the test's): the browser was gone before it.
    let expires_at: f64 = pg
        .owner_sql("SELECT extract(epoch FROM expires_at) FROM leases")
        .parse()
        .expect("one lease row");
    assert!(
        gone_at < expires_at,
        "the browser was gone {:.3} s before the lease expired",
        expires_at - gone_at
    );
    eprintln!(
        "browser gone {:.3} s before the lease expired",
        expires_at - gone_at
    );
    // Once the lease has run out by the database's clock, the other machine takes over.
    let again = launch_once_free(&b, &site, |e| {
        assert!(
            wall() < expires_at + 5.0,
            "still refused after the lease ran out: {e}"
        );
    });
    assert!(
        again.browser_pid() > 0,
        "with the store back, the account runs again"
    );
}

/// Machine A launches `acct` on the site's login page as alice; her (HttpOnly) session cookie
/// is set.
fn alice_logs_in_on(a: &Machine, site: &common::site::Site) -> common::launched::Launched {
    a.home.ok(&[
        "template",
        "edit",
        "acct",
        "--start-url",
        &site.url("/login?user=alice"),
    ]);
    let on_a = common::launched::launch(&a.home, site, "acct");
    let hit = site.wait_for("alice logged in on A", WAIT, |h| h.path == "/whoami");
    assert_eq!(hit.cookie("sid").as_deref(), Some("alice"));
    on_a
}

/// Machine B launches `acct` (A has ended it): B's first request carries alice's cookie
/// (`what`), and B never logs in.
fn b_opens_as_alice(a: &Machine, b: &Machine, site: &common::site::Site, what: &str) {
    a.home.ok(&[
        "template",
        "edit",
        "acct",
        "--start-url",
        &site.url("/after-move"),
    ]);
    let logins = site.count("/login");
    let _on_b = common::launched::launch(&b.home, site, "acct");
    let hit = site.wait_for("B's first page", WAIT, |h| h.path == "/after-move");
    assert_eq!(
        hit.cookie("sid").as_deref(),
        Some("alice"),
        "B's first request carries {what}: {hit:?}"
    );
    assert_eq!(site.count("/login"), logins, "no login on B");
}

#[test]
fn the_session_travels_machine_b_is_still_logged_in_where_machine_a_logged_in() {
    let pg = Postgres::start();
    let site = common::site::Site::start();
    let (a, b) = two_machines(&pg, &site);
    let mut on_a = alice_logs_in_on(&a, &site);
    // A clean stop from another process: the state goes to the team before the lease is freed.
    a.home.ok(&["stop", "acct"]);
    assert!(on_a.wait_exit(WAIT).success(), "A stops cleanly");
    let stored = pg.owner_sql("SELECT epoch || ' ' || octet_length(sealed) FROM session_states");
    assert!(!stored.is_empty(), "a session state is stored");
    assert!(
        !pg.owner_sql("SELECT encode(sealed, 'escape') FROM session_states")
            .contains("alice"),
        "sealed: the database cannot read the cookie"
    );

    b_opens_as_alice(&a, &b, &site, "A's HttpOnly session cookie");
}

#[test]
fn a_session_closed_from_the_browser_itself_still_travels() {
    let pg = Postgres::start();
    let site = common::site::Site::start();
    let (a, b) = two_machines(&pg, &site);
    let mut on_a = alice_logs_in_on(&a, &site);
    // The session's cookies are copied every 5 s while it runs (no event marks a copy): let
    // one copy follow the login.
    std::thread::sleep(std::time::Duration::from_secs(6));
    // The operator closes the browser itself (SIGTERM: Chromium's clean shutdown), so
    // Holdfast gets no stop request and cannot read the cookies at the end.
    // SAFETY: kill(2) on the browser this test launched.
    unsafe { libc::kill(on_a.browser_pid(), libc::SIGTERM) };
    assert!(
        on_a.wait_exit(WAIT).success(),
        "A's session ends with its browser"
    );
    assert!(
        !pg.owner_sql("SELECT count(*) FROM session_states")
            .starts_with('0'),
        "a session state is stored"
    );

    b_opens_as_alice(&a, &b, &site, "the cookie A's browser held when it closed");
}

#[test]
fn tls_works_as_libpq_users_expect_verify_full_with_the_teams_ca_and_nothing_in_clear() {
    let pg = Postgres::start_tls();
    let tls = pg.tls.as_ref().expect("tls");
    let verified = |ca: &std::path::Path| {
        format!(
            "sslmode=verify-full&sslrootcert={}",
            ca.to_str().expect("utf8")
        )
    };
    let a = owner_with_team_at(&pg.url_with(OWNER, &verified(&tls.ca)));
    assert_eq!(status(&a)["connected"], true, "{}", status(&a));

    pg.add_user("bob", "bob-pw", "holdfast_runner");
    let b = machine();
    let out = team(&b, "join", &pg.url("bob"), "bob", "bob-pw");
    assert!(
        !out.status.success(),
        "the server takes TLS logins only, so sslmode=disable cannot join"
    );
    assert!(
        stderr(&out).contains("no encryption"),
        "the server's reason reaches the operator: {}",
        stderr(&out)
    );
    let out = team(
        &b,
        "join",
        &pg.url_with("bob", &verified(&tls.other_ca)),
        "bob",
        "bob-pw",
    );
    assert!(
        !out.status.success(),
        "verify-full refuses a server whose certificate another CA signed"
    );
    assert!(
        stderr(&out).to_lowercase().contains("certificate"),
        "the refusal says it is the certificate: {}",
        stderr(&out)
    );
    assert!(
        !b.home.path().join("team.json").exists(),
        "a refused join leaves no team behind"
    );
    // require: encrypted, the certificate not checked (as libpq without a root.crt).
    let out = team(
        &b,
        "join",
        &pg.url_with("bob", "sslmode=require"),
        "bob",
        "bob-pw",
    );
    assert!(out.status.success(), "join with require: {}", stderr(&out));
    assert_eq!(
        names(&b),
        vec!["shop".to_owned()],
        "bob sees the team's templates"
    );
    assert_eq!(status(&b)["connected"], true, "{}", status(&b));
}
