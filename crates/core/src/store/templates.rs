//! The `templates` table.
//!
//! SQLite builds each template's JSON form itself (`TEMPLATE_JSON`), and that one form serves
//! every read: the CLI streams it out unchanged, and `Template` is deserialised from it. Why:
//! sqlx runs SQLite on a worker thread and hands rows across one at a time, which for 10,000
//! rows cost several times the query; and decoding rows only to encode the same JSON again
//! tripled the work. Measured on 10,000 templates with the bundled SQLite 3.46: `json_object`
//! with an ordered aggregate 70 ms, the concatenation below without the aggregate sort 25 ms.
//! A test keeps this JSON byte-identical to `Template`'s serde form.

use std::cmp::Ordering;

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::{Connection, Sqlite, SqliteConnection};

use crate::error::{Error, Result};
use crate::template::{Exit, Listing, Template};

/// One template as JSON text, keys and value forms exactly as `Template` serialises (serde_json
/// escapes like `json_quote`; the list columns are stored as serde wrote them).
const TEMPLATE_JSON: &str = r#"'{"id":' || json_quote(id) || ',"name":' || json_quote(name)
     || ',"account":' || json_quote(account) || ',"exit":' || json_quote(exit_url)
     || ',"exit_has_password":' || CASE WHEN exit_has_password THEN 'true' ELSE 'false' END
     || ',"pinned_egress_ip":' || json_quote(pinned_egress_ip)
     || ',"timezone":' || json_quote(timezone) || ',"locale":' || json_quote(locale)
     || ',"start_urls":' || start_urls || ',"tags":' || tags || ',"notes":' || json_quote(notes)
     || ',"rules":' || health_rules
     || ',"automation":' || CASE WHEN automation THEN 'true' ELSE 'false' END
     || ',"require_consistent":' || CASE WHEN require_consistent THEN 'true' ELSE 'false' END
     || ',"version":' || version
     || ',"created_at":' || json_quote(created_at) || ',"updated_at":' || json_quote(updated_at)
     || '}'"#;

/// One template's listing as JSON text, as `Listing` deserialises it: what the fleet shows,
/// without the rules and notes that make up most of a stored template.
const LISTING_JSON: &str = r#"'{"id":' || json_quote(id) || ',"name":' || json_quote(name)
     || ',"account":' || json_quote(account) || ',"exit":' || json_quote(exit_url)
     || ',"pinned_egress_ip":' || json_quote(pinned_egress_ip) || ',"tags":' || tags || '}'"#;

/// Separates records in a page, and a record's name from its JSON. Neither can occur inside:
/// names reject control characters and `json_quote` escapes them.
const RECORD_SEP: char = '\u{1e}';
const NAME_SEP: char = '\u{1f}';

/// Templates per page when listing: memory is bounded by a page, not by the template count.
const PAGE: i64 = 1_000;

/// Calls `visit` with pages of templates, by name (case-insensitive); each page is a non-empty
/// JSON array of template objects. All pages come from one snapshot. Returns the total count.
pub async fn for_each_json_page<E: From<Error>>(
    conn: &mut SqliteConnection,
    visit: impl FnMut(&str) -> Result<(), E>,
) -> Result<usize, E> {
    json_pages(conn, TEMPLATE_JSON, visit).await
}

/// Every template's listing, by name (case-insensitive).
pub async fn listings(conn: &mut SqliteConnection) -> Result<Vec<Listing>> {
    let mut all = Vec::new();
    decoded(conn, LISTING_JSON, |l| {
        all.push(l);
        Ok::<_, Error>(())
    })
    .await?;
    Ok(all)
}

/// The name of the template with this id, if any.
pub async fn name_of(conn: &mut SqliteConnection, id: &str) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT name FROM templates WHERE id = ?1")
            .bind(id)
            .fetch_optional(conn)
            .await?,
    )
}

/// Pages of `object` (an SQL expression building one row's JSON object), by name.
async fn json_pages<E: From<Error>>(
    conn: &mut SqliteConnection,
    object: &str,
    mut visit: impl FnMut(&str) -> Result<(), E>,
) -> Result<usize, E> {
    // Keyset pages over the unique NOCASE index on name: no sort of the table, no OFFSET scan.
    // The index scan feeds group_concat in name order; SQLite does not promise that order for
    // an aggregate, so each record carries its name and `in_name_order` checks (and mends).
    let sql = format!(
        "SELECT group_concat(name || char(31) || {object}, char(30)) \
         FROM (SELECT * FROM templates WHERE ?1 IS NULL OR name > ?1 \
               ORDER BY name COLLATE NOCASE LIMIT ?2)"
    );
    // One read transaction: every page comes from the same WAL snapshot, even with writers.
    let mut tx = conn.begin().await.map_err(Error::from)?;
    let mut after: Option<String> = None;
    let mut total = 0;
    let mut json = String::new();
    loop {
        let page: Option<String> = sqlx::query_scalar(&sql)
            .bind(after.as_deref())
            .bind(PAGE)
            .fetch_one(&mut *tx)
            .await
            .map_err(Error::from)?;
        let Some(page) = page else { break };
        let records = in_name_order(&page)?;
        json.clear();
        json.push('[');
        for (i, (_, object)) in records.iter().enumerate() {
            if i > 0 {
                json.push(',');
            }
            json.push_str(object);
        }
        json.push(']');
        visit(&json)?;
        total += records.len();
        if i64::try_from(records.len()).map_or(true, |n| n < PAGE) {
            break;
        }
        after = records.last().map(|(name, _)| (*name).to_owned());
    }
    tx.commit().await.map_err(Error::from)?;
    Ok(total)
}

/// Splits a page into (name, JSON) records in NOCASE name order, sorting only if needed.
fn in_name_order(page: &str) -> Result<Vec<(&str, &str)>> {
    let mut records = page
        .split(RECORD_SEP)
        .map(|r| {
            r.split_once(NAME_SEP)
                .ok_or_else(|| decode_err("a listed record has no name separator"))
        })
        .collect::<Result<Vec<_>>>()?;
    if !records
        .windows(2)
        .all(|w| nocase_cmp(w[0].0, w[1].0) == Ordering::Less)
    {
        records.sort_by(|a, b| nocase_cmp(a.0, b.0));
    }
    Ok(records)
}

/// SQLite's NOCASE collation: ASCII letters folded, everything else compared bytewise.
fn nocase_cmp(a: &str, b: &str) -> Ordering {
    a.bytes()
        .map(|c| c.to_ascii_lowercase())
        .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
}

/// Calls `visit` with every template, by name (case-insensitive). Returns how many.
pub async fn for_each<E: From<Error>>(
    conn: &mut SqliteConnection,
    visit: impl FnMut(Template) -> Result<(), E>,
) -> Result<usize, E> {
    decoded(conn, TEMPLATE_JSON, visit).await
}

/// Calls `visit` with each row's `object` decoded as `T`, by name. Returns how many.
async fn decoded<T: serde::de::DeserializeOwned, E: From<Error>>(
    conn: &mut SqliteConnection,
    object: &str,
    mut visit: impl FnMut(T) -> Result<(), E>,
) -> Result<usize, E> {
    json_pages(conn, object, |page| {
        let page: Vec<T> = serde_json::from_str(page).map_err(decode_err)?;
        for item in page {
            visit(item)?;
        }
        Ok(())
    })
    .await
}

/// The template with this name (case-insensitive), if any.
pub async fn find_by_name(conn: &mut SqliteConnection, name: &str) -> Result<Option<Template>> {
    let sql = format!("SELECT {TEMPLATE_JSON} FROM templates WHERE name = ?1");
    let json: Option<String> = sqlx::query_scalar(&sql)
        .bind(name.trim())
        .fetch_optional(conn)
        .await?;
    json.map(|j| serde_json::from_str(&j).map_err(decode_err))
        .transpose()
}

const COLUMNS: &str = "id, name, account, exit_kind, exit_host, exit_port, exit_username, \
     exit_has_password, exit_url, pinned_egress_ip, timezone, locale, start_urls, tags, notes, \
     created_at, updated_at, health_rules, automation, version, require_consistent";

/// Inserts a validated template; a taken name is `duplicate_name`.
pub async fn insert(conn: &mut SqliteConnection, t: &Template) -> Result<()> {
    let sql = format!(
        "INSERT INTO templates ({COLUMNS}) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)"
    );
    bind_all(sqlx::query(&sql), t)?
        .execute(conn)
        .await
        .map_err(|e| unique_to_duplicate(e, &t.name))?;
    Ok(())
}

/// Rows per multi-row INSERT: 21 parameters each, well under SQLite's 32,766.
const INSERT_CHUNK: usize = 400;

/// Inserts many validated templates with multi-row statements: sqlx runs SQLite on a worker
/// thread, and one statement per row costs a thread round trip per row (10,000 rows: ~1 s).
pub async fn insert_many(conn: &mut SqliteConnection, list: &[&Template]) -> Result<()> {
    for chunk in list.chunks(INSERT_CHUNK) {
        let row = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
        let values = vec![row; chunk.len()].join(", ");
        let sql = format!("INSERT INTO templates ({COLUMNS}) VALUES {values}");
        let mut q = sqlx::query(&sql);
        for t in chunk {
            q = bind_all(q, t)?;
        }
        q.execute(&mut *conn).await.map_err(|e| {
            let names: Vec<&str> = chunk.iter().map(|t| t.name.as_str()).collect();
            unique_to_duplicate(e, &names.join(", "))
        })?;
    }
    Ok(())
}

/// Replaces every column of an existing template (matched by id).
pub async fn update(conn: &mut SqliteConnection, t: &Template) -> Result<()> {
    let sql = "UPDATE templates SET id = ?1, name = ?2, account = ?3, exit_kind = ?4, \
         exit_host = ?5, exit_port = ?6, exit_username = ?7, exit_has_password = ?8, \
         exit_url = ?9, pinned_egress_ip = ?10, timezone = ?11, locale = ?12, start_urls = ?13, \
         tags = ?14, notes = ?15, created_at = ?16, updated_at = ?17, health_rules = ?18, \
         automation = ?19, version = ?20, require_consistent = ?21 WHERE id = ?1";
    let done = bind_all(sqlx::query(sql), t)?
        .execute(conn)
        .await
        .map_err(|e| unique_to_duplicate(e, &t.name))?;
    if done.rows_affected() == 0 {
        return Err(Error::TemplateNotFound {
            name: t.name.clone(),
        });
    }
    Ok(())
}

/// Deletes a template by id.
pub async fn delete(conn: &mut SqliteConnection, id: &str) -> Result<()> {
    sqlx::query("DELETE FROM templates WHERE id = ?1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

type Query<'q> = sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments<'q>>;

fn bind_all<'q>(q: Query<'q>, t: &'q Template) -> Result<Query<'q>> {
    let (host, port, username) = match &t.exit {
        Exit::Direct => ("", 0_i64, None),
        Exit::Proxy(p) => (p.host.as_str(), i64::from(p.port), p.username.as_deref()),
    };
    Ok(q.bind(&t.id)
        .bind(&t.name)
        .bind(&t.account)
        .bind(t.exit.kind().as_str())
        .bind(host)
        .bind(port)
        .bind(username)
        .bind(t.exit_has_password)
        .bind(t.exit.to_string())
        .bind(t.pinned_egress_ip.as_deref())
        .bind(&t.timezone)
        .bind(&t.locale)
        .bind(to_json(&t.start_urls)?)
        .bind(to_json(&t.tags)?)
        .bind(&t.notes)
        .bind(timestamp(&t.created_at))
        .bind(timestamp(&t.updated_at))
        .bind(serde_json::to_string(&t.rules).map_err(decode_err)?)
        .bind(t.automation)
        .bind(t.version)
        .bind(t.require_consistent))
}

/// A time as stored and as `Template`'s serde form writes it (chrono: RFC 3339, AutoSi, `Z`).
fn timestamp(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn to_json(v: &[String]) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::Store(sqlx::Error::Encode(Box::new(e))))
}

fn decode_err(e: impl std::fmt::Display) -> Error {
    Error::Store(sqlx::Error::Decode(format!("stored template: {e}").into()))
}

fn unique_to_duplicate(e: sqlx::Error, name: &str) -> Error {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => Error::DuplicateName {
            value: name.to_owned(),
        },
        _ => Error::Store(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use crate::template::TemplateDraft;
    use chrono::TimeZone;

    fn draft(name: &str, exit: &str) -> TemplateDraft {
        TemplateDraft {
            name: name.into(),
            exit: exit.into(),
            ..Default::default()
        }
    }

    /// Awkward values for every column: the SQL-built JSON must equal serde's, byte for byte.
    fn awkward() -> Vec<Template> {
        let drafts = [
            draft("plain", "direct"),
            TemplateDraft {
                account: Some("ünïcødé \"quoted\" \\ back".into()),
                notes: Some("line one\r\nline\ttwo \u{1F600} </script>".into()),
                tags: Some(vec!["a\"b".into(), "ß".into()]),
                start_urls: Some(vec!["https://ex.example/a?b=c&d=\"e\"".into()]),
                pinned_egress_ip: Some("2001:db8::1".into()),
                automation: Some(true),
                require_consistent: Some(true),
                ..draft("Ünicode name", "socks5://us%40er:pw@[::1]:1080")
            },
            draft("http-user", "http://bob@proxy.example:3128"),
        ];
        let times = [
            Utc.timestamp_opt(1_700_000_000, 0).unwrap(),
            Utc.timestamp_opt(1_700_000_000, 120_000_000).unwrap(),
            Utc.timestamp_opt(1_700_000_000, 123_456_000).unwrap(),
            Utc.timestamp_opt(1_700_000_000, 123_456_789).unwrap(),
        ];
        drafts
            .iter()
            .zip(times.iter().cycle())
            .map(|(d, t)| {
                let (mut tpl, _) = d.validate(*t).unwrap();
                tpl.updated_at = times[3];
                tpl
            })
            .collect()
    }

    /// A store holding the awkward templates, and those templates in name order.
    async fn stored_awkward() -> (tempfile::TempDir, Store, Vec<Template>) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("h.db")).await.unwrap();
        let mut conn = store.pool().acquire().await.unwrap();
        let mut expected = awkward();
        for t in &expected {
            insert(&mut conn, t).await.unwrap();
        }
        drop(conn);
        expected.sort_by_key(|t| t.name.to_lowercase());
        (dir, store, expected)
    }

    #[tokio::test]
    async fn sql_json_is_exactly_the_serde_form_of_template() {
        let (_dir, store, expected) = stored_awkward().await;
        let mut conn = store.pool().acquire().await.unwrap();
        let mut pages = Vec::new();
        for_each_json_page(&mut conn, |p| {
            pages.push(p.to_owned());
            Ok::<_, Error>(())
        })
        .await
        .unwrap();
        assert_eq!(pages.len(), 1);
        assert_eq!(
            pages[0],
            serde_json::to_string(&expected).unwrap(),
            "the JSON SQLite builds must be byte-identical to serde's form of Template"
        );
        // NOCASE folds ASCII letters only: `Ü` must match itself, `name` may be any case.
        let found = find_by_name(&mut conn, "Ünicode NAME").await.unwrap();
        assert_eq!(
            found.as_ref(),
            expected.iter().find(|t| t.name == "Ünicode name")
        );
    }

    #[tokio::test]
    async fn listings_carry_the_same_values_as_the_templates_and_names_are_found_by_id() {
        let (_dir, store, expected) = stored_awkward().await;
        let mut conn = store.pool().acquire().await.unwrap();
        let got = listings(&mut conn).await.unwrap();
        let want: Vec<Listing> = expected
            .iter()
            .map(|t| Listing {
                id: t.id.clone(),
                name: t.name.clone(),
                account: t.account.clone(),
                exit: t.exit.to_string(),
                pinned_egress_ip: t.pinned_egress_ip.clone(),
                tags: t.tags.clone(),
            })
            .collect();
        assert_eq!(
            got, want,
            "a listing is the template's own values, in name order"
        );
        assert_eq!(
            name_of(&mut conn, &expected[1].id)
                .await
                .unwrap()
                .as_deref(),
            Some(expected[1].name.as_str())
        );
        assert_eq!(name_of(&mut conn, "no-such-id").await.unwrap(), None);
    }

    #[test]
    fn records_are_put_in_nocase_order_whatever_order_they_arrive_in() {
        let page = "b\u{1f}{2}\u{1e}A\u{1f}{1}\u{1e}c\u{1f}{3}";
        let names: Vec<&str> = in_name_order(page).unwrap().iter().map(|r| r.0).collect();
        assert_eq!(names, ["A", "b", "c"]);
        assert!(
            in_name_order("no separator").is_err(),
            "a malformed record is an error"
        );
    }

    #[tokio::test]
    async fn pages_cover_every_template_once_in_name_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("h.db")).await.unwrap();
        let mut conn = store.pool().acquire().await.unwrap();
        let n = usize::try_from(PAGE).unwrap() * 2 + 7;
        for i in 0..n {
            let (t, _) = draft(&format!("T-{i:05}"), "direct")
                .validate(Utc::now())
                .unwrap();
            insert(&mut conn, &t).await.unwrap();
        }
        let mut names = Vec::new();
        let mut page_count = 0;
        let total = for_each_json_page(&mut conn, |p| {
            page_count += 1;
            let page: Vec<Template> = serde_json::from_str(p).unwrap();
            names.extend(page.into_iter().map(|t| t.name));
            Ok::<_, Error>(())
        })
        .await
        .unwrap();
        assert_eq!((total, names.len(), page_count), (n, n, 3));
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(
            names, sorted,
            "every template once, in name order, across page borders"
        );
    }
}
