//! `holdfast template …` end to end: the real binary against a temp home.

mod common;

use common::{stderr, TestHome};
use serde_json::Value;

#[test]
fn add_list_show_edit_rm_round_trip() {
    let h = TestHome::new();
    assert!(h.list_json().is_empty(), "a fresh home has no templates");
    h.ok(&[
        "template",
        "add",
        "shop-eu",
        "--exit",
        "http://alice@127.0.0.1:3128",
        "--timezone",
        "Europe/Berlin",
        "--locale",
        "de-DE",
        "--start-url",
        "https://shop.example/login",
        "--tag",
        "eu",
        "--tag",
        "shop",
        "--account",
        "alice@shop",
        "--notes",
        "main store",
    ]);
    h.ok(&["template", "add", "Ads-US", "--exit", "direct"]);

    let list = h.list_json();
    let names: Vec<&str> = list.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["Ads-US", "shop-eu"],
        "list is ordered by name, case-insensitively"
    );

    let t = h.show_json("SHOP-EU");
    assert_eq!(
        t["name"], "shop-eu",
        "names are looked up case-insensitively"
    );
    assert_eq!(t["exit"], "http://alice@127.0.0.1:3128");
    assert_eq!(t["timezone"], "Europe/Berlin");
    assert_eq!(t["locale"], "de-DE");
    assert_eq!(
        t["start_urls"],
        serde_json::json!(["https://shop.example/login"])
    );
    assert_eq!(t["tags"], serde_json::json!(["eu", "shop"]));
    assert_eq!(t["account"], "alice@shop");

    h.ok(&[
        "template",
        "edit",
        "shop-eu",
        "--rename",
        "shop-de",
        "--timezone",
        "Europe/Vienna",
        "--clear-tags",
        "--pin",
        "127.0.0.2",
    ]);
    let t = h.show_json("shop-de");
    assert_eq!(t["timezone"], "Europe/Vienna");
    assert_eq!(t["tags"], serde_json::json!([]));
    assert_eq!(t["pinned_egress_ip"], "127.0.0.2");
    assert_eq!(t["locale"], "de-DE", "fields not given to edit are kept");
    assert_ne!(t["updated_at"], t["created_at"], "edit bumps updated_at");

    h.ok(&["template", "rm", "shop-de"]);
    let names: Vec<Value> = h.list_json().iter().map(|t| t["name"].clone()).collect();
    assert_eq!(names, ["Ads-US"]);
}

#[test]
fn list_json_has_the_documented_stable_fields() {
    let h = TestHome::new();
    h.ok(&[
        "template",
        "add",
        "a",
        "--exit",
        "socks5://bob@127.0.0.1:1080",
        "--tag",
        "t",
    ]);
    let list = h.list_json();
    let t = list[0].as_object().expect("each entry is an object");
    for key in [
        "id",
        "name",
        "account",
        "exit",
        "timezone",
        "locale",
        "tags",
        "start_urls",
        "exit_has_password",
        "pinned_egress_ip",
        "notes",
        "automation",
        "require_consistent",
        "created_at",
        "updated_at",
    ] {
        assert!(t.contains_key(key), "list --json entries must have `{key}`");
    }
    assert_eq!(
        t["exit"], "socks5://bob@127.0.0.1:1080",
        "exit is the URL without a password"
    );
    assert!(
        t["id"].as_str().is_some_and(|id| id.len() == 36),
        "id is a UUID"
    );
}

/// Every bad input exits 2, names the field and the value, and changes nothing.
#[test]
fn bad_input_exits_2_names_field_and_value_and_writes_nothing() {
    let h = TestHome::new();
    h.ok(&["template", "add", "taken", "--exit", "direct"]);
    let before = h.list_json();
    let cases: &[(&[&str], &str, &str)] = &[
        (
            &["template", "add", "t1", "--timezone", "Mars/Olympus"],
            "invalid_timezone",
            "Mars/Olympus",
        ),
        (
            &["template", "add", "t1", "--exit", "http://h:0"],
            "invalid_port",
            "\"0\"",
        ),
        (
            &["template", "add", "t1", "--exit", "http://h:65536"],
            "invalid_port",
            "65536",
        ),
        (
            &["template", "add", "t1", "--exit", "ftp://h:21"],
            "unsupported_scheme",
            "ftp://h:21",
        ),
        (
            &["template", "add", "TAKEN", "--exit", "direct"],
            "duplicate_name",
            "TAKEN",
        ),
        (&["template", "add", "a/b"], "invalid_name", "a/b"),
        (
            &["template", "add", "bell\u{7}"],
            "invalid_name",
            "bell\\u{7}",
        ),
        (&["template", "add", ""], "invalid_name", "\"\""),
        (
            &["template", "add", "t1", "--start-url", "file:///etc/passwd"],
            "invalid_start_url",
            "file:///etc/passwd",
        ),
        (
            &[
                "template",
                "add",
                "t1",
                "--start-url",
                "javascript:alert(1)",
            ],
            "invalid_start_url",
            "javascript:alert(1)",
        ),
        (
            &["template", "add", "t1", "--locale", "de_DE"],
            "invalid_locale",
            "de_DE",
        ),
        (
            &["template", "add", "t1", "--pin", "300.0.0.1"],
            "invalid_egress_ip",
            "300.0.0.1",
        ),
        (
            &["template", "edit", "taken", "--timezone", "Nowhere/Land"],
            "invalid_timezone",
            "Nowhere/Land",
        ),
        (
            &["template", "edit", "taken", "--exit", "socks4://h:1080"],
            "unsupported_scheme",
            "socks4://h:1080",
        ),
    ];
    for (args, code, value) in cases {
        let out = h.run(args);
        let err = stderr(&out);
        assert_eq!(
            out.status.code(),
            Some(2),
            "`{}` must exit 2; stderr: {err}",
            args.join(" ")
        );
        assert!(
            err.contains(&format!("error[{code}]")),
            "`{}` must report {code}; got: {err}",
            args.join(" ")
        );
        assert!(
            err.contains(value),
            "the message must quote the value {value}; got: {err}"
        );
        assert_eq!(
            h.list_json(),
            before,
            "`{}` must not change any template",
            args.join(" ")
        );
    }
    assert!(
        std::fs::read_dir(h.path().join("profiles"))
            .unwrap()
            .next()
            .is_none(),
        "rejected input creates no profile directory"
    );
}

#[test]
fn unknown_template_exits_3() {
    let h = TestHome::new();
    for args in [
        &["template", "show", "ghost"][..],
        &["template", "rm", "ghost"],
        &["template", "edit", "ghost", "--tag", "x"],
    ] {
        let out = h.run(args);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("template_not_found"));
    }
}

#[test]
fn rm_keeps_the_profile_and_says_where_unless_purged() {
    let h = TestHome::new();
    h.ok(&["template", "add", "keep", "--exit", "direct"]);
    h.ok(&["template", "add", "purge", "--exit", "direct"]);
    let profile = |name: &str| {
        h.path()
            .join("profiles")
            .join(h.show_json(name)["id"].as_str().unwrap())
    };
    let (keep_dir, purge_dir) = (profile("keep"), profile("purge"));
    for dir in [&keep_dir, &purge_dir] {
        std::fs::create_dir_all(dir.join("Default")).unwrap();
        std::fs::write(dir.join("Default").join("Cookies"), b"cookie jar").unwrap();
    }

    let out = h.ok(&["template", "rm", "keep"]);
    assert!(
        keep_dir.join("Default/Cookies").exists(),
        "without --purge the profile stays"
    );
    assert!(
        out.contains(&keep_dir.display().to_string()),
        "rm says where the profile was kept: {out}"
    );

    h.ok(&["template", "rm", "purge", "--purge"]);
    assert!(!purge_dir.exists(), "--purge deletes the profile directory");
}

#[test]
fn without_a_keyring_only_password_commands_fail_with_a_fix() {
    let h = TestHome::new(); // its session bus does not exist
    let out = h.run(&[
        "template",
        "add",
        "secret",
        "--exit",
        "http://u:pw@127.0.0.1:3128",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a missing keyring is not a validation error"
    );
    let err = stderr(&out);
    assert!(err.contains("error[keyring_unavailable]"), "{err}");
    assert!(
        err.contains("Secret Service") && err.contains("unlock"),
        "the message says how to fix it: {err}"
    );
    assert!(!err.contains("pw@"), "the password is not echoed");
    assert!(
        h.list_json().is_empty(),
        "a failed keyring write leaves no template behind"
    );

    h.ok(&[
        "template",
        "add",
        "open",
        "--exit",
        "http://u@127.0.0.1:3128",
    ]);
    h.ok(&["template", "edit", "open", "--tag", "x"]);
    assert_eq!(
        h.list_json().len(),
        1,
        "commands without a secret work without a keyring"
    );
}

#[test]
fn password_from_stdin_needs_a_username() {
    let h = TestHome::new();
    let out = h.run_with_stdin(
        &[
            "template",
            "add",
            "x",
            "--exit",
            "http://h:1",
            "--exit-password-stdin",
        ],
        "pw\n",
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("needs a username"));
}

#[test]
fn human_list_shows_an_empty_state_and_rows() {
    let h = TestHome::new();
    assert!(h.ok(&["template", "list"]).contains("no templates yet"));
    h.ok(&[
        "template",
        "add",
        "row",
        "--exit",
        "socks5://u@127.0.0.1:1080",
        "--tag",
        "eu",
    ]);
    let out = h.ok(&["template", "list"]);
    assert!(
        out.contains("row") && out.contains("socks5://u@127.0.0.1:1080") && out.contains("eu"),
        "{out}"
    );
}

#[test]
fn without_holdfast_home_the_platform_data_dir_is_used() {
    let h = TestHome::new();
    let data = h.path().join("xdg-data");
    let out = h
        .cmd()
        .env_remove("HOLDFAST_HOME")
        .env("HOME", h.path())
        .env("XDG_DATA_HOME", &data)
        .args(["template", "add", "x", "--exit", "direct"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        data.join("holdfast").join("holdfast.db").is_file(),
        "with HOLDFAST_HOME unset the database goes to $XDG_DATA_HOME/holdfast"
    );
}

#[test]
fn a_reader_that_closed_the_pipe_is_not_an_error() {
    let h = TestHome::new();
    h.ok(&["template", "add", "piped", "--exit", "direct"]);
    for args in [
        &["template", "list", "--json"][..],
        &["template", "list"],
        &["template", "show", "piped", "--json"],
        &["template", "show", "piped"],
    ] {
        // The read end is gone before the child starts: every write fails with EPIPE.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = h
            .cmd()
            .args(args)
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "`{}` after `| head`-style close: {}",
            args.join(" "),
            stderr(&out)
        );
        assert!(
            stderr(&out).is_empty(),
            "nothing is reported: {}",
            stderr(&out)
        );
    }
}

#[test]
fn rules_are_set_from_the_cli_and_bad_ones_are_refused_at_their_field() {
    let h = TestHome::new();
    h.ok(&["template", "add", "acct"]);
    let defaults = h.show_json("acct")["rules"].clone();
    assert!(
        defaults["sensitive"]
            .as_array()
            .is_some_and(|v| v.iter().any(|r| r["action"] == "payment")),
        "a new template holds payments by default: {defaults:#}"
    );
    h.ok(&[
        "template",
        "edit",
        "acct",
        "--sensitive",
        "wire-transfer post */transfer*",
        "--sensitive",
        "any-delete DELETE *",
    ]);
    let rules = h.show_json("acct")["rules"].clone();
    assert_eq!(
        rules["sensitive"],
        serde_json::json!([
            {"action": "wire-transfer", "methods": ["POST"], "url": "*/transfer*"},
            {"action": "any-delete", "methods": ["DELETE"], "url": "*"},
        ]),
        "given rules replace the list, methods upper-cased"
    );
    assert_eq!(rules["refresh"], defaults["refresh"], "other lists kept");

    let out = h.run(&[
        "template",
        "edit",
        "acct",
        "--sensitive",
        "payment */checkout*",
    ]);
    assert_eq!(out.status.code(), Some(2), "bad input exits 2");
    let err = stderr(&out);
    assert!(
        err.contains("invalid_rule") && err.contains("rules.sensitive"),
        "the error names its code and field: {err}"
    );
    assert_eq!(h.show_json("acct")["rules"], rules, "nothing changed");

    h.ok(&["template", "edit", "acct", "--no-sensitive"]);
    assert_eq!(
        h.show_json("acct")["rules"]["sensitive"],
        serde_json::json!([]),
        "--no-sensitive: nothing is ever held"
    );
}

#[test]
fn an_inline_exit_password_is_warned_about_and_never_echoed() {
    let keyring = common::KeyringSession::start();
    let home = TestHome::with_keyring(&keyring);
    let out = home.run(&[
        "template",
        "add",
        "inline",
        "--exit",
        "http://user:hunter2@127.0.0.1:3128",
    ]);
    assert!(out.status.success(), "add: {}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("warning") && err.contains("--exit-password-stdin"),
        "the operator is told the password is visible in the process list: {err}"
    );
    assert!(
        !err.contains("hunter2"),
        "the warning does not repeat it: {err}"
    );

    let out = home
        .cmd()
        .args([
            "template",
            "add",
            "piped",
            "--exit",
            "http://user@127.0.0.1:3128",
            "--exit-password-stdin",
        ])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write as _;
            c.stdin.take().expect("stdin").write_all(b"hunter2\n")?;
            c.wait_with_output()
        })
        .expect("template add");
    assert!(out.status.success(), "add: {}", stderr(&out));
    assert!(
        !stderr(&out).contains("warning"),
        "no warning when the password comes on stdin: {}",
        stderr(&out)
    );

    // A forgotten scheme is an error that hides the password too.
    let out = home.run(&[
        "template",
        "add",
        "noscheme",
        "--exit",
        "user:hunter2@127.0.0.1:3128",
    ]);
    assert!(!out.status.success());
    assert!(
        !stderr(&out).contains("hunter2"),
        "the error hides the password: {}",
        stderr(&out)
    );
}
