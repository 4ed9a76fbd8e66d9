//! The `relay_metrics` table: one row per relay per flush interval, pruned by age.

use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;

use crate::error::Result;
use crate::exit::{Histogram, MetricsDelta, Stage};
use crate::store::timestamp;

/// Where a row of metrics comes from.
#[derive(Debug, Clone)]
pub struct MetricsSource<'a> {
    pub template_id: &'a str,
    pub session_id: &'a str,
    pub exit_url: &'a str,
}

/// One stored interval.
#[derive(Debug, Clone)]
pub struct MetricsRow {
    pub session_id: String,
    pub exit_url: String,
    pub period_start: String,
    pub period_end: String,
    pub delta: MetricsDelta,
}

/// Writes one interval.
pub async fn insert(
    conn: &mut SqliteConnection,
    src: &MetricsSource<'_>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    d: &MetricsDelta,
) -> Result<()> {
    let hist = |h: &Histogram| serde_json::to_string(h).unwrap_or_else(|_| "[]".to_owned());
    let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    sqlx::query(
        "INSERT INTO relay_metrics (template_id, session_id, exit_url, period_start, period_end, \
         dial_attempts, dial_ok, fail_tcp_connect, fail_proxy_auth, fail_proxy_handshake, \
         fail_first_byte, fail_mid_stream, fail_idle_reclaim, backoff_waits, active_tunnels, \
         bytes_up, bytes_down, connect_hist, handshake_hist, first_byte_hist) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
    )
    .bind(src.template_id)
    .bind(src.session_id)
    .bind(src.exit_url)
    .bind(timestamp(start))
    .bind(timestamp(end))
    .bind(n(d.dial_attempts))
    .bind(n(d.dial_ok))
    .bind(n(d.failures_at(Stage::TcpConnect)))
    .bind(n(d.failures_at(Stage::ProxyAuth)))
    .bind(n(d.failures_at(Stage::ProxyHandshake)))
    .bind(n(d.failures_at(Stage::FirstByte)))
    .bind(n(d.failures_at(Stage::MidStream)))
    .bind(n(d.failures_at(Stage::IdleReclaim)))
    .bind(n(d.backoff_waits))
    .bind(d.active_tunnels)
    .bind(n(d.bytes_up))
    .bind(n(d.bytes_down))
    .bind(hist(&d.connect))
    .bind(hist(&d.handshake))
    .bind(hist(&d.first_byte))
    .execute(conn)
    .await?;
    Ok(())
}

type Raw = (
    String,
    String,
    String,
    String,
    [i64; 12],
    (String, String, String),
);

/// Rows of a template since `since` (RFC 3339), oldest first.
pub async fn of_template(
    conn: &mut SqliteConnection,
    template_id: &str,
    since: &str,
) -> Result<Vec<MetricsRow>> {
    use sqlx::Row;
    let rows = sqlx::query(
        "SELECT session_id, exit_url, period_start, period_end, dial_attempts, dial_ok, \
         fail_tcp_connect, fail_proxy_auth, fail_proxy_handshake, fail_first_byte, \
         fail_mid_stream, fail_idle_reclaim, backoff_waits, active_tunnels, bytes_up, bytes_down, \
         connect_hist, handshake_hist, first_byte_hist FROM relay_metrics \
         WHERE template_id = ?1 AND period_end >= ?2 ORDER BY id",
    )
    .bind(template_id)
    .bind(since)
    .fetch_all(conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let raw: Raw = (
            row.try_get(0)?,
            row.try_get(1)?,
            row.try_get(2)?,
            row.try_get(3)?,
            std::array::from_fn(|i| row.try_get::<i64, _>(4 + i).unwrap_or(0)),
            (row.try_get(16)?, row.try_get(17)?, row.try_get(18)?),
        );
        out.push(decode(raw));
    }
    Ok(out)
}

fn decode((session_id, exit_url, period_start, period_end, n, h): Raw) -> MetricsRow {
    let u = |v: i64| u64::try_from(v).unwrap_or(0);
    let hist = |s: &str| serde_json::from_str::<Histogram>(s).unwrap_or_default();
    MetricsRow {
        session_id,
        exit_url,
        period_start,
        period_end,
        delta: MetricsDelta {
            dial_attempts: u(n[0]),
            dial_ok: u(n[1]),
            failures: [u(n[2]), u(n[3]), u(n[4]), u(n[5]), u(n[6]), u(n[7])],
            backoff_waits: u(n[8]),
            active_tunnels: n[9],
            bytes_up: u(n[10]),
            bytes_down: u(n[11]),
            connect: hist(&h.0),
            handshake: hist(&h.1),
            first_byte: hist(&h.2),
        },
    }
}

/// Deletes intervals that ended before `before` (RFC 3339). Returns how many.
pub async fn prune(conn: &mut SqliteConnection, before: &str) -> Result<u64> {
    let done = sqlx::query("DELETE FROM relay_metrics WHERE period_end < ?1")
        .bind(before)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn rows_round_trip_and_old_rows_are_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::with_template(dir.path()).await;
        let mut conn = store.pool().acquire().await.unwrap();
        let src = MetricsSource {
            template_id: "t1",
            session_id: "s",
            exit_url: "direct",
        };
        let mut d = MetricsDelta {
            dial_attempts: 3,
            dial_ok: 2,
            ..MetricsDelta::default()
        };
        d.failures[Stage::MidStream.index()] = 1;
        d.connect.record(std::time::Duration::from_millis(2));
        let now = Utc::now();
        let old = now - chrono::Duration::days(40);
        insert(&mut conn, &src, old, old, &d).await.unwrap();
        insert(&mut conn, &src, now, now, &d).await.unwrap();
        let rows = of_template(&mut conn, "t1", "2000-01-01T00:00:00.000Z")
            .await
            .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].delta, d, "a stored row reads back as written");
        let cut = timestamp(now - chrono::Duration::days(30));
        assert_eq!(
            prune(&mut conn, &cut).await.unwrap(),
            1,
            "only the 40-day-old row goes"
        );
        assert_eq!(
            of_template(&mut conn, "t1", "2000-01-01T00:00:00.000Z")
                .await
                .unwrap()
                .len(),
            1
        );
    }
}
