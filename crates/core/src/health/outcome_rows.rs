//! The `request_outcomes` table: the session layer's requests, written in batches, pruned by age
//! and by row count, read back in aggregates for `holdfast health`.

use sqlx::{Connection, SqliteConnection};

use crate::error::Result;
use crate::health::RequestRecord;
use crate::store::timestamp;

/// Columns of a row, in insert order.
const COLUMNS: &str = "template_id, session_id, at, request_id, method, url, host, resource_type, \
     kind, status, error, redirect_to, stage, signal, relay_stage, relay_reason, exit_url, \
     egress_ip, relay_reconnected, since_refresh_ok_ms, since_refresh_fail_ms, connect_ms, tls_ms, \
     ttfb_ms, total_ms";
/// Rows per multi-row INSERT: 25 parameters each, well under SQLite's 32,766. sqlx runs SQLite
/// on a worker thread, so a statement per row costs a thread round trip per row.
const CHUNK: usize = 256;

/// Writes a batch in one transaction.
pub async fn insert_batch(
    conn: &mut SqliteConnection,
    template_id: &str,
    session_id: &str,
    batch: &[RequestRecord],
) -> Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let row = format!("({})", vec!["?"; 25].join(", "));
    let mut tx = conn.begin().await?;
    for chunk in batch.chunks(CHUNK) {
        let sql = format!(
            "INSERT INTO request_outcomes ({COLUMNS}) VALUES {}",
            vec![row.as_str(); chunk.len()].join(", ")
        );
        let mut q = sqlx::query(&sql);
        // Whatever a page controls is stored capped (URLs are already; these are the rest).
        let cap = |s: &str| crate::rules::cap(s, crate::rules::MAX_STORED).into_owned();
        let cap_opt = |s: &Option<String>| s.as_deref().map(cap);
        for r in chunk {
            let o = &r.outcome;
            q = q
                .bind(template_id)
                .bind(session_id)
                .bind(timestamp(o.at))
                .bind(&o.request_id)
                .bind(cap(&o.method))
                .bind(cap(&o.url))
                .bind(cap(&o.host))
                .bind(cap(&o.resource_type))
                .bind(r.kind.as_str())
                .bind(o.status.map(i64::from))
                .bind(cap_opt(&o.error))
                .bind(cap_opt(&o.redirect_to))
                .bind(r.stage.map(|s| s.as_str()))
                .bind(r.signal.map(|s| s.as_str()))
                .bind(&r.relay_stage)
                .bind(cap_opt(&r.relay_reason))
                .bind(&r.exit_url)
                .bind(&r.egress_ip)
                .bind(r.relay_reconnected)
                .bind(r.since_refresh_ok_ms)
                .bind(r.since_refresh_fail_ms)
                .bind(o.connect_ms)
                .bind(o.tls_ms)
                .bind(o.ttfb_ms)
                .bind(o.total_ms);
        }
        q.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Deletes rows older than `before`, then the oldest beyond `max_rows`, then the oldest while
/// the rows' text (estimated: the variable columns plus a fixed part per row) exceeds
/// `max_bytes`. Returns how many.
pub async fn prune(
    conn: &mut SqliteConnection,
    before: &str,
    max_rows: u64,
    max_bytes: u64,
) -> Result<u64> {
    let old = sqlx::query("DELETE FROM request_outcomes WHERE at < ?1")
        .bind(before)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    let keep = i64::try_from(max_rows).unwrap_or(i64::MAX);
    let over = sqlx::query(
        "DELETE FROM request_outcomes WHERE id <= \
         (SELECT id FROM request_outcomes ORDER BY id DESC LIMIT 1 OFFSET ?1)",
    )
    .bind(keep)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    let big = crate::store::retention::prune_to_size(
        conn,
        "request_outcomes",
        "length(url) + length(host) + length(method) + coalesce(length(error), 0) \
         + coalesce(length(redirect_to), 0) + coalesce(length(relay_reason), 0) \
         + length(request_id) + 200",
        max_bytes,
    )
    .await?;
    Ok(old + over + big)
}

/// Counts of one window.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct Counts {
    pub requests: i64,
    pub failed: i64,
    pub unauthorized: i64,
    pub forbidden: i64,
    pub login_redirects: i64,
    pub verifications: i64,
    pub refreshes: i64,
    pub refresh_ok: i64,
}

/// Counts of a template's requests since `since`.
pub async fn counts(conn: &mut SqliteConnection, template_id: &str, since: &str) -> Result<Counts> {
    Ok(sqlx::query_as(
        "SELECT count(*) AS requests, \
         coalesce(sum(stage IS NOT NULL), 0) AS failed, \
         coalesce(sum(signal = 'unauthorized'), 0) AS unauthorized, \
         coalesce(sum(signal = 'forbidden'), 0) AS forbidden, \
         coalesce(sum(signal = 'login_redirect'), 0) AS login_redirects, \
         coalesce(sum(signal = 'verification'), 0) AS verifications, \
         coalesce(sum(kind = 'refresh'), 0) AS refreshes, \
         coalesce(sum(kind = 'refresh' AND stage IS NULL), 0) AS refresh_ok \
         FROM request_outcomes WHERE template_id = ?1 AND at >= ?2",
    )
    .bind(template_id)
    .bind(since)
    .fetch_one(conn)
    .await?)
}

/// `(exit_url, egress_ip, stage, count)` of failures, and `(exit_url, egress_ip, "", requests)`.
pub async fn by_exit(
    conn: &mut SqliteConnection,
    template_id: &str,
    since: &str,
) -> Result<Vec<(String, Option<String>, Option<String>, i64)>> {
    Ok(sqlx::query_as(
        "SELECT exit_url, egress_ip, stage, count(*) FROM request_outcomes \
         WHERE template_id = ?1 AND at >= ?2 GROUP BY exit_url, egress_ip, stage \
         ORDER BY exit_url, egress_ip, stage",
    )
    .bind(template_id)
    .bind(since)
    .fetch_all(conn)
    .await?)
}

/// A latency column of the requests since `since` (`kind` narrows to one kind).
pub async fn latencies(
    conn: &mut SqliteConnection,
    template_id: &str,
    since: &str,
    column: Latency,
    kind: Option<&str>,
) -> Result<Vec<f64>> {
    let sql = format!(
        "SELECT {c} FROM request_outcomes WHERE template_id = ?1 AND at >= ?2 \
         AND (?3 IS NULL OR kind = ?3) AND {c} IS NOT NULL AND stage IS NULL",
        c = column.as_str()
    );
    Ok(sqlx::query_scalar(&sql)
        .bind(template_id)
        .bind(since)
        .bind(kind)
        .fetch_all(conn)
        .await?)
}

/// A latency column of `request_outcomes`.
#[derive(Debug, Clone, Copy)]
pub enum Latency {
    Total,
    FirstByte,
}

impl Latency {
    fn as_str(self) -> &'static str {
        match self {
            Self::Total => "total_ms",
            Self::FirstByte => "ttfb_ms",
        }
    }
}

/// One stored failure, attributed.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, ts_rs::TS, schemars::JsonSchema)]
#[ts(export)]
pub struct FailureRow {
    pub at: String,
    pub session_id: String,
    pub request_id: String,
    pub method: String,
    pub url: String,
    pub kind: String,
    pub stage: String,
    pub signal: Option<String>,
    #[ts(type = "number | null")]
    #[schemars(with = "Option<i64>")]
    pub status: Option<i64>,
    pub error: Option<String>,
    pub redirect_to: Option<String>,
    pub relay_stage: Option<String>,
    pub relay_reason: Option<String>,
    pub exit_url: String,
    pub egress_ip: Option<String>,
    pub relay_reconnected: bool,
    #[ts(type = "number | null")]
    #[schemars(with = "Option<i64>")]
    pub since_refresh_ok_ms: Option<i64>,
    #[ts(type = "number | null")]
    #[schemars(with = "Option<i64>")]
    pub since_refresh_fail_ms: Option<i64>,
}

/// The newest failures since `since`, newest first.
pub async fn failures(
    conn: &mut SqliteConnection,
    template_id: &str,
    since: &str,
    limit: i64,
) -> Result<Vec<FailureRow>> {
    Ok(sqlx::query_as(
        "SELECT at, session_id, request_id, method, url, kind, stage, signal, status, error, \
         redirect_to, relay_stage, relay_reason, exit_url, egress_ip, relay_reconnected, \
         since_refresh_ok_ms, since_refresh_fail_ms FROM request_outcomes \
         WHERE template_id = ?1 AND at >= ?2 AND stage IS NOT NULL ORDER BY id DESC LIMIT ?3",
    )
    .bind(template_id)
    .bind(since)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// `(minute bucket start, stage or NULL, count)` since `since`, for the time series.
pub async fn per_bucket(
    conn: &mut SqliteConnection,
    template_id: &str,
    since: &str,
    bucket_secs: i64,
) -> Result<Vec<(i64, Option<String>, i64)>> {
    Ok(sqlx::query_as(
        "SELECT (CAST(strftime('%s', at) AS INTEGER) / ?3) * ?3 AS b, stage, count(*) \
         FROM request_outcomes WHERE template_id = ?1 AND at >= ?2 GROUP BY b, stage ORDER BY b",
    )
    .bind(template_id)
    .bind(since)
    .bind(bucket_secs.max(1))
    .fetch_all(conn)
    .await?)
}

/// Per template since `since`: `(template_id, requests, failed, connection-layer failures,
/// 401s)`, in one pass for the fleet list.
pub async fn recent_per_template(
    conn: &mut SqliteConnection,
    since: &str,
) -> Result<Vec<(String, i64, i64, i64, i64)>> {
    Ok(sqlx::query_as(
        "SELECT template_id, count(*), count(stage), \
         sum(stage IN ('tcp_connect', 'proxy', 'tls', 'first_byte', 'mid_stream')), \
         sum(status = 401) \
         FROM request_outcomes WHERE at >= ?1 GROUP BY template_id",
    )
    .bind(since)
    .fetch_all(conn)
    .await?)
}

/// `(bucket start, stage or NULL, count)` over every template since `since`.
pub async fn per_bucket_all(
    conn: &mut SqliteConnection,
    since: &str,
    bucket_secs: i64,
) -> Result<Vec<(i64, Option<String>, i64)>> {
    Ok(sqlx::query_as(
        "SELECT (CAST(strftime('%s', at) AS INTEGER) / ?2) * ?2 AS b, stage, count(*) \
         FROM request_outcomes WHERE at >= ?1 GROUP BY b, stage ORDER BY b",
    )
    .bind(since)
    .bind(bucket_secs.max(1))
    .fetch_all(conn)
    .await?)
}

/// `(stage, count)` of failures since `since`.
pub async fn stage_counts(
    conn: &mut SqliteConnection,
    template_id: &str,
    since: &str,
) -> Result<Vec<(String, i64)>> {
    Ok(sqlx::query_as(
        "SELECT stage, count(*) FROM request_outcomes WHERE template_id = ?1 AND at >= ?2 \
         AND stage IS NOT NULL GROUP BY stage",
    )
    .bind(template_id)
    .bind(since)
    .fetch_all(conn)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use crate::TemplateDraft;

    fn record(at: chrono::DateTime<chrono::Utc>, i: usize) -> RequestRecord {
        RequestRecord::sample(at, i, None, None)
    }

    #[tokio::test]
    async fn pruning_keeps_the_retention_and_the_size_bound() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("h.db")).await.unwrap();
        let mut conn = store.pool().acquire().await.unwrap();
        let (t, _) = TemplateDraft {
            name: "a".into(),
            exit: "direct".into(),
            ..TemplateDraft::default()
        }
        .validate(chrono::Utc::now())
        .unwrap();
        crate::store::templates::insert(&mut conn, &t)
            .await
            .unwrap();
        let now = chrono::Utc::now();
        let old: Vec<_> = (0..5)
            .map(|i| record(now - chrono::Duration::days(40), i))
            .collect();
        let new: Vec<_> = (5..1000).map(|i| record(now, i)).collect();
        insert_batch(&mut conn, &t.id, "s", &old).await.unwrap();
        insert_batch(&mut conn, &t.id, "s", &new).await.unwrap();
        let before = timestamp(now - chrono::Duration::days(30));
        let deleted = prune(&mut conn, &before, 600, u64::MAX).await.unwrap();
        assert_eq!(
            deleted,
            5 + 395,
            "5 too old, then the oldest beyond 600 rows"
        );
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT request_id FROM request_outcomes ORDER BY id")
                .fetch_all(&mut *conn)
                .await
                .unwrap();
        assert_eq!(ids.len(), 600);
        assert_eq!(ids[0], "400", "the newest rows are the ones kept");

        // A size budget of about 100 rows' text: the oldest beyond it go too.
        let per_row: i64 = sqlx::query_scalar(
            "SELECT max(length(url) + length(host) + length(method) + length(request_id) + 200) \
             FROM request_outcomes",
        )
        .fetch_one(&mut *conn)
        .await
        .unwrap();
        let budget = u64::try_from(per_row * 100).unwrap();
        prune(&mut conn, &before, 600, budget).await.unwrap();
        let left: i64 = sqlx::query_scalar("SELECT count(*) FROM request_outcomes")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert!(
            (90..=101).contains(&left),
            "the size bound keeps about 100 rows, kept {left}"
        );
    }
}
