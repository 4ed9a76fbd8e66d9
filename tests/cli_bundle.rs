//! `holdfast export` / `holdfast import`: round trips between homes (with a real keyring for
//! the secrets), and hostile files that must each give a clear error and write nothing.

mod common;

use std::path::Path;

use serde_json::{json, Value};

use common::{stderr, KeyringSession, TestHome};

const PASSWORD: &str = "Exit-Pa55word-xyz";
const PASSPHRASE: &str = "correct horse battery";

/// The fields a bundle carries: a template without its local identity.
fn portable(t: &Value) -> Value {
    let mut t = t.clone();
    for local in ["id", "created_at", "updated_at", "automation"] {
        t.as_object_mut().expect("object").remove(local);
    }
    t
}

fn seed(home: &TestHome) {
    let out = home.run_with_stdin(
        &[
            "template",
            "add",
            "shop-eu",
            "--exit",
            "socks5://alice@127.0.0.1:1080",
            "--exit-password-stdin",
            "--timezone",
            "Europe/Berlin",
            "--locale",
            "de-DE",
            "--tag",
            "eu",
            "--tag",
            "shop",
            "--start-url",
            "https://shop.example/login",
            "--account",
            "alice@shop",
            "--notes",
            "line one\nline two",
            "--pin",
            "203.0.113.7",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    home.ok(&[
        "template",
        "add",
        "ads-us",
        "--exit",
        "http://127.0.0.1:3128",
        "--tag",
        "us",
        "--sensitive",
        "payment POST,PUT */checkout*",
    ]);
    home.ok(&[
        "template",
        "add",
        "plain",
        "--timezone",
        "Asia/Tokyo",
        "--locale",
        "ja-JP",
    ]);
}

#[test]
fn round_trip_restores_identical_templates_and_secrets_only_with_the_right_passphrase() {
    let keyring = KeyringSession::start();
    let a = TestHome::with_keyring(&keyring);
    seed(&a);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("team.json");
    let file_s = file.to_str().unwrap();
    let out = a.run_with_stdin(
        &[
            "export",
            "--all",
            "-o",
            file_s,
            "--with-secrets",
            "--passphrase-stdin",
        ],
        &format!("{PASSPHRASE}\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        !text.contains(PASSWORD),
        "the password is only in the encrypted section"
    );
    assert!(text.contains("BEGIN AGE ENCRYPTED FILE"));
    assert!(
        !text.contains(&a.path().display().to_string()),
        "no local path in a bundle"
    );

    // Wrong passphrase: a clear error, nothing imported.
    let keyring_b = KeyringSession::start();
    let b = TestHome::with_keyring(&keyring_b);
    let out = b.run_with_stdin(
        &["import", file_s, "--passphrase-stdin"],
        "wrong passphrase\n",
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("error[bundle_passphrase]: wrong passphrase"),
        "{}",
        stderr(&out)
    );
    assert!(
        b.list_json().is_empty(),
        "a wrong passphrase imports nothing"
    );

    let out = b.run_with_stdin(
        &["import", file_s, "--passphrase-stdin"],
        &format!("{PASSPHRASE}\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let before: Vec<Value> = a.list_json().iter().map(portable).collect();
    let after: Vec<Value> = b.list_json().iter().map(portable).collect();
    assert_eq!(before, after, "every field survives the round trip");
    let id = b.show_json("shop-eu")["id"].as_str().unwrap().to_owned();
    assert_eq!(
        keyring_b
            .lookup("holdfast", &format!("exit:{id}"))
            .as_deref(),
        Some(PASSWORD),
        "the password is back in the keyring"
    );

    // Without a passphrase the templates come, the password does not.
    let keyring_c = KeyringSession::start();
    let c = TestHome::with_keyring(&keyring_c);
    let out = c.run(&["import", file_s]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--passphrase-stdin"),
        "says how to restore the passwords"
    );
    assert_eq!(c.show_json("shop-eu")["exit_has_password"], false);
}

#[test]
fn a_bundle_without_secrets_holds_no_secret_and_selection_works() {
    let keyring = KeyringSession::start();
    let a = TestHome::with_keyring(&keyring);
    seed(&a);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("eu.json");
    let file_s = file.to_str().unwrap();
    a.ok(&["export", "--tag", "eu", "plain", "-o", file_s]);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains(PASSWORD), "no secret without --with-secrets");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["format"], "holdfast-bundle");
    assert_eq!(
        v["version"], 4,
        "version 4 carries health and sensitive-action rules and the fit opt-in"
    );
    assert!(
        v["templates"][0]["rules"]["refresh"].is_array(),
        "templates travel with their health rules"
    );
    assert!(v.get("secrets").is_none());
    let names: Vec<&str> = v["templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["plain", "shop-eu"],
        "named and tagged templates, by name"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let out = a.run(&["export", "-o", file_s]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("error[nothing_selected]"));
    let out = a.run(&["export", "nope", "-o", file_s]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "an unknown name is template_not_found"
    );
}

#[test]
fn conflicts_are_skipped_renamed_or_replaced_and_dry_run_writes_nothing() {
    let a = TestHome::new();
    a.ok(&["template", "add", "shop", "--timezone", "Europe/Paris"]);
    a.ok(&["template", "add", "other"]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("b.json");
    let file_s = file.to_str().unwrap();
    a.ok(&["export", "--all", "-o", file_s]);

    let b = TestHome::new();
    b.ok(&["template", "add", "SHOP", "--timezone", "UTC"]);
    let original_id = b.show_json("shop")["id"].clone();
    let files_before = b.list_json();

    let plan: Value = serde_json::from_str(&b.ok(&[
        "import",
        file_s,
        "--dry-run",
        "--json",
        "--on-conflict",
        "rename",
    ]))
    .unwrap();
    assert_eq!(plan["dry_run"], true);
    assert_eq!(
        (plan["added"].as_u64(), plan["renamed"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(plan["templates"][1]["final_name"], "shop (2)");
    assert_eq!(b.list_json(), files_before, "a dry run writes nothing");

    let plan: Value = serde_json::from_str(&b.ok(&["import", file_s, "--json"])).unwrap();
    assert_eq!(
        (plan["added"].as_u64(), plan["skipped"].as_u64()),
        (Some(1), Some(1)),
        "skip is the default"
    );
    assert_eq!(
        b.show_json("shop")["timezone"],
        "UTC",
        "skipped: the existing template is untouched"
    );

    b.ok(&["import", file_s, "--on-conflict", "rename"]);
    assert_eq!(b.show_json("shop (2)")["timezone"], "Europe/Paris");
    assert_eq!(b.show_json("other (2)")["timezone"], "UTC");

    b.ok(&["import", file_s, "--on-conflict", "replace"]);
    let shop = b.show_json("shop");
    assert_eq!(
        shop["timezone"], "Europe/Paris",
        "replaced with the bundle's fields"
    );
    assert_eq!(
        shop["id"], original_id,
        "a replaced template keeps its id (and its profile)"
    );
    assert_eq!(b.list_json().len(), 4);
}

#[test]
fn a_bundle_never_carries_nor_turns_on_the_automation_port() {
    let a = TestHome::new();
    a.ok(&["template", "add", "scripted", "--automation", "on"]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.json");
    let file_s = file.to_str().unwrap();
    a.ok(&["export", "--all", "-o", file_s]);
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert!(
        written["templates"][0].get("automation").is_none(),
        "the automation port is this machine's choice, not the bundle's: {written}"
    );

    let b = TestHome::new();
    b.ok(&["import", file_s]);
    assert_eq!(
        b.show_json("scripted")["automation"],
        false,
        "an imported template starts with no automation port"
    );
    b.ok(&["template", "edit", "scripted", "--automation", "on"]);
    b.ok(&["import", file_s, "--on-conflict", "replace"]);
    assert_eq!(
        b.show_json("scripted")["automation"],
        true,
        "a replaced template keeps its own setting"
    );

    let mut edited = bundle(json!([t("opened")]));
    edited["templates"][0]["automation"] = json!(true);
    rejected(
        &b,
        dir.path(),
        "automation-in-file",
        edited.to_string().as_bytes(),
        "automation",
    );
}

fn bundle(templates: Value) -> Value {
    json!({"format": "holdfast-bundle", "version": 1, "exported_at": "2026-11-21T00:00:00Z", "templates": templates})
}

fn t(name: &str) -> Value {
    json!({"name": name, "exit": "direct", "timezone": "UTC", "locale": "en-US"})
}

/// Writes `content` and imports it into `home`: must exit 2 naming `want`, and write nothing.
fn rejected(home: &TestHome, dir: &Path, label: &str, content: &[u8], want: &str) {
    let file = dir.join(format!("{label}.json"));
    std::fs::write(&file, content).unwrap();
    let before = home.list_json();
    let out = home.run(&["import", file.to_str().unwrap()]);
    let err = stderr(&out);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{label}: bad input exits 2: {err}"
    );
    assert!(
        err.contains(want),
        "{label}: error must name the problem ({want:?}): {err}"
    );
    assert!(
        err.lines().count() <= 2,
        "{label}: one clear error, not a dump: {err}"
    );
    assert_eq!(home.list_json(), before, "{label}: nothing written");
}

#[test]
fn a_version_2_bundle_imports_with_the_default_sensitive_action_rules() {
    let home = TestHome::new();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("v2.json");
    let mut with_rules = t("older");
    with_rules["rules"] =
        json!({"refresh": ["*/tok*"], "login": ["*/in*"], "verification": ["*/chk*"]});
    let mut b = bundle(json!([with_rules]));
    b["version"] = json!(2);
    std::fs::write(&file, serde_json::to_vec(&b).unwrap()).unwrap();
    home.ok(&["import", file.to_str().unwrap()]);
    let got = home.show_json("older");
    assert_eq!(
        got["rules"]["refresh"],
        json!(["*/tok*"]),
        "its own lists kept"
    );
    let fresh = TestHome::new();
    fresh.ok(&["template", "add", "new"]);
    assert_eq!(
        got["rules"]["sensitive"],
        fresh.show_json("new")["rules"]["sensitive"],
        "the list a version 2 file lacks gets the defaults"
    );
    assert!(got["rules"]["sensitive"]
        .as_array()
        .is_some_and(|v| !v.is_empty()));
}

#[test]
fn hostile_bundles_get_a_clear_error_and_write_nothing() {
    let home = TestHome::new();
    home.ok(&["template", "add", "existing"]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = serde_json::to_vec(&bundle(json!([t("a"), t("b")]))).unwrap();

    rejected(
        &home,
        d,
        "truncated",
        &good[..good.len() / 2],
        "error[bundle_format]: not a valid bundle: the file ends too early",
    );
    let mut huge = b"{\"format\":\"holdfast-bundle\",\"version\":1,\"notes\":\"".to_vec();
    huge.resize(33 * 1024 * 1024, b'x');
    rejected(&home, d, "huge", &huge, "error[bundle_too_large]");
    let nested = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    rejected(
        &home,
        d,
        "nested",
        nested.as_bytes(),
        "recursion limit exceeded",
    );
    let nested = format!(
        "{{\"format\":\"holdfast-bundle\",\"version\":1,\"templates\":{}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    rejected(
        &home,
        d,
        "nested-templates",
        nested.as_bytes(),
        "at templates[0][0]: invalid type: sequence",
    );
    let mut wrong = bundle(json!([t("a")]));
    wrong["templates"][0]["tags"] = json!("eu");
    rejected(
        &home,
        d,
        "wrong-type",
        wrong.to_string().as_bytes(),
        "templates[0].tags: invalid type",
    );
    let mut unknown = bundle(json!([t("a")]));
    unknown["templates"][0]["cookies"] = json!("SID=1");
    rejected(
        &home,
        d,
        "unknown-field",
        unknown.to_string().as_bytes(),
        "unknown field `cookies`",
    );
    rejected(
        &home,
        d,
        "path-name",
        bundle(json!([t("a"), t("../../etc/passwd")]))
            .to_string()
            .as_bytes(),
        "template #2 (\"../../etc/passwd\") in the bundle is invalid: invalid name",
    );
    let mut newer = bundle(json!([t("a")]));
    newer["version"] = json!(7);
    rejected(
        &home,
        d,
        "newer",
        newer.to_string().as_bytes(),
        "error[bundle_version]: the bundle is format version 7",
    );
    rejected(
        &home,
        d,
        "not-a-bundle",
        b"{\"hello\": 1}",
        "not a Holdfast bundle",
    );
    rejected(
        &home,
        d,
        "dupes",
        bundle(json!([t("Dup"), t("x"), t("dup")]))
            .to_string()
            .as_bytes(),
        "error[bundle_duplicate_name]: the bundle holds these names more than once: dup",
    );
    let mut inline = bundle(json!([t("a")]));
    inline["templates"][0]["exit"] = json!("http://u:hunter2@127.0.0.1:3128");
    rejected(
        &home,
        d,
        "inline-password",
        inline.to_string().as_bytes(),
        "must not hold a password",
    );
    let mut bad_tz = bundle(json!([t("a")]));
    bad_tz["templates"][0]["timezone"] = json!("Mars/Olympus");
    rejected(
        &home,
        d,
        "bad-timezone",
        bad_tz.to_string().as_bytes(),
        "invalid timezone \"Mars/Olympus\"",
    );

    // 10,000 templates with one bad one at the end: all or nothing.
    let mut many: Vec<Value> = (0..10_000).map(|i| t(&format!("bulk-{i:05}"))).collect();
    many[9_999]["locale"] = json!("not a locale!");
    rejected(
        &home,
        d,
        "ten-thousand",
        bundle(Value::Array(many.clone())).to_string().as_bytes(),
        "template #10000 (\"bulk-09999\")",
    );
    many[9_999]["locale"] = json!("en-GB");
    let file = d.join("ok-10k.json");
    std::fs::write(&file, bundle(Value::Array(many)).to_string()).unwrap();
    home.ok(&["import", file.to_str().unwrap()]);
    assert_eq!(
        home.list_json().len(),
        10_001,
        "the fixed file imports every template"
    );
}

/// Exports every template of `home` with its secrets; returns the bundle as JSON.
fn export_with_secrets(home: &TestHome, file: &Path) -> Value {
    let out = home.run_with_stdin(
        &[
            "export",
            "--all",
            "-o",
            file.to_str().expect("utf8"),
            "--with-secrets",
            "--passphrase-stdin",
        ],
        &format!("{PASSPHRASE}\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_str(&std::fs::read_to_string(file).expect("bundle")).expect("json")
}

#[test]
fn an_edited_bundle_cannot_send_a_password_to_another_host_nor_silently_weaken_a_template() {
    let keyring = KeyringSession::start();
    let a = TestHome::with_keyring(&keyring);
    let out = a.run_with_stdin(
        &[
            "template",
            "add",
            "shop",
            "--exit",
            "http://alice@127.0.0.1:3128",
            "--exit-password-stdin",
            "--pin",
            "127.0.0.2",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("team.json");
    let mut bundle = export_with_secrets(&a, &file);

    // Someone edits the plain part: same template, the exit now on their host.
    bundle["templates"][0]["exit"] = json!("http://alice@127.0.0.9:3128");
    let edited = dir.path().join("edited.json");
    std::fs::write(&edited, bundle.to_string()).expect("write");
    let keyring_b = KeyringSession::start();
    let b = TestHome::with_keyring(&keyring_b);
    let out = b.run_with_stdin(
        &[
            "import",
            edited.to_str().expect("utf8"),
            "--passphrase-stdin",
            "--json",
        ],
        &format!("{PASSPHRASE}\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let plan: Value = serde_json::from_slice(&out.stdout).expect("plan");
    let row = &plan["templates"][0];
    assert_eq!(
        row["with_secret"], false,
        "the password is not used: {plan}"
    );
    assert!(
        row["secret_refused"]
            .as_str()
            .unwrap_or("")
            .contains("sealed for"),
        "the plan says why: {plan}"
    );
    let id = b.show_json("shop")["id"].as_str().expect("id").to_owned();
    assert_eq!(
        keyring_b.lookup("holdfast", &format!("exit:{id}")),
        None,
        "no password stored for the edited exit"
    );
    assert_eq!(b.show_json("shop")["exit_has_password"], false);

    // Replacing a stored template: its password stays only for the same scheme, host, port
    // and user; the same file with the host changed (no secrets given) drops it.
    let out = a.run_with_stdin(
        &[
            "import",
            edited.to_str().expect("utf8"),
            "--on-conflict",
            "replace",
            "--json",
        ],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let shop = a.show_json("shop");
    assert_eq!(shop["exit"], "http://alice@127.0.0.9:3128");
    assert_eq!(
        shop["exit_has_password"], false,
        "the stored password did not follow the exit to another host"
    );
    assert_eq!(
        keyring.lookup(
            "holdfast",
            &format!("exit:{}", shop["id"].as_str().expect("id"))
        ),
        None,
        "…and is gone from the keyring"
    );

    // A replacement that turns the pinned proxy exit into direct and drops the pin.
    let mut weak = bundle.clone();
    weak["templates"][0]["exit"] = json!("direct");
    weak["templates"][0]["pinned_egress_ip"] = Value::Null;
    weak.as_object_mut().expect("object").remove("secrets");
    let weak_file = dir.path().join("weak.json");
    std::fs::write(&weak_file, weak.to_string()).expect("write");
    let weak_s = weak_file.to_str().expect("utf8");
    let before = a.show_json("shop");
    let out = a.run(&["import", weak_s, "--on-conflict", "replace", "--dry-run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("WEAKER") && shown.contains("becomes direct") && shown.contains("pinned"),
        "the plan marks the weakening: {shown}"
    );
    let out = a.run(&["import", weak_s, "--on-conflict", "replace"]);
    assert!(
        stderr(&out).contains("error[import_weaker]"),
        "refused without --allow-weaker: {}",
        stderr(&out)
    );
    assert_eq!(a.show_json("shop"), before, "nothing was written");
    let out = a.run(&[
        "import",
        weak_s,
        "--on-conflict",
        "replace",
        "--allow-weaker",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(a.show_json("shop")["exit"], "direct");
}
