//! The `templates` table.

use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, SqliteConnection};

use crate::error::{Error, Result};
use crate::template::{Exit, ExitKind, Template};

const COLUMNS: &str = "id, name, account, exit_kind, exit_host, exit_port, exit_username, \
     exit_has_password, pinned_egress_ip, timezone, locale, start_urls, tags, notes, \
     created_at, updated_at";

/// All templates, ordered by name (case-insensitive).
pub async fn list(conn: &mut SqliteConnection) -> Result<Vec<Template>> {
    let sql = format!("SELECT {COLUMNS} FROM templates ORDER BY name COLLATE NOCASE, id");
    let rows = sqlx::query(&sql).fetch_all(conn).await?;
    rows.iter().map(from_row).collect()
}

/// The template with this name (case-insensitive), if any.
pub async fn find_by_name(conn: &mut SqliteConnection, name: &str) -> Result<Option<Template>> {
    let sql = format!("SELECT {COLUMNS} FROM templates WHERE name = ?1");
    let row = sqlx::query(&sql)
        .bind(name.trim())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Inserts a validated template; a taken name is `duplicate_name`.
pub async fn insert(conn: &mut SqliteConnection, t: &Template) -> Result<()> {
    let sql = format!(
        "INSERT INTO templates ({COLUMNS}) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"
    );
    bind_all(sqlx::query(&sql), t)?
        .execute(conn)
        .await
        .map_err(|e| unique_to_duplicate(e, &t.name))?;
    Ok(())
}

/// Replaces every column of an existing template (matched by id).
pub async fn update(conn: &mut SqliteConnection, t: &Template) -> Result<()> {
    let sql = "UPDATE templates SET id = ?1, name = ?2, account = ?3, exit_kind = ?4, \
         exit_host = ?5, exit_port = ?6, exit_username = ?7, exit_has_password = ?8, \
         pinned_egress_ip = ?9, timezone = ?10, locale = ?11, start_urls = ?12, tags = ?13, \
         notes = ?14, created_at = ?15, updated_at = ?16 WHERE id = ?1";
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
        .bind(t.pinned_egress_ip.as_deref())
        .bind(&t.timezone)
        .bind(&t.locale)
        .bind(to_json(&t.start_urls)?)
        .bind(to_json(&t.tags)?)
        .bind(&t.notes)
        .bind(t.created_at.to_rfc3339())
        .bind(t.updated_at.to_rfc3339()))
}

fn to_json(v: &[String]) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::Store(sqlx::Error::Encode(Box::new(e))))
}

fn decode_err(column: &str, detail: String) -> Error {
    Error::Store(sqlx::Error::Decode(format!("{column}: {detail}").into()))
}

fn from_row(row: &SqliteRow) -> Result<Template> {
    let kind: String = row.try_get("exit_kind")?;
    let kind = ExitKind::parse(&kind).ok_or_else(|| decode_err("exit_kind", kind.clone()))?;
    let port: i64 = row.try_get("exit_port")?;
    let port = u16::try_from(port).map_err(|e| decode_err("exit_port", e.to_string()))?;
    let list = |col: &str| -> Result<Vec<String>> {
        let s: &str = row.try_get(col)?;
        serde_json::from_str(s).map_err(|e| decode_err(col, e.to_string()))
    };
    let time = |col: &str| -> Result<DateTime<Utc>> {
        let s: &str = row.try_get(col)?;
        DateTime::parse_from_rfc3339(s)
            .map(|d| d.with_timezone(&Utc))
            .map_err(|e| decode_err(col, e.to_string()))
    };
    Ok(Template {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        account: row.try_get("account")?,
        exit: Exit::from_parts(
            kind,
            row.try_get("exit_host")?,
            port,
            row.try_get("exit_username")?,
        ),
        exit_has_password: row.try_get("exit_has_password")?,
        pinned_egress_ip: row.try_get("pinned_egress_ip")?,
        timezone: row.try_get("timezone")?,
        locale: row.try_get("locale")?,
        start_urls: list("start_urls")?,
        tags: list("tags")?,
        notes: row.try_get("notes")?,
        created_at: time("created_at")?,
        updated_at: time("updated_at")?,
    })
}

fn unique_to_duplicate(e: sqlx::Error, name: &str) -> Error {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => Error::DuplicateName {
            value: name.to_owned(),
        },
        _ => Error::Store(e),
    }
}
