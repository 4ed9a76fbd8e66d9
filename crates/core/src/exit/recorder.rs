//! The recorder: subscribes to a session's events and takes its relay's metrics, and writes
//! both to SQLite in batches (one transaction per flush, never a write per packet), pruning
//! rows older than the retention limit.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

use super::metric_rows::{self, MetricsSource};
use crate::events::{EventBus, SessionEvent, SessionRecord};
use crate::exit::RelayMetrics;
use crate::store::{self, Store};

/// Events buffered before a flush is forced.
const MAX_BUFFER: usize = 512;
/// How often rows past the retention are pruned.
#[derive(Debug, Clone, Copy)]
pub struct Pruning {
    /// While the session writes: every minute, as the health writer does.
    pub busy: Duration,
    /// While it writes nothing: rarely, so that an idle session does not page the database's
    /// code back in after it was handed back (see `memory`). Rows are kept for days; an hour
    /// late is nothing.
    pub idle: Duration,
}

impl Default for Pruning {
    fn default() -> Self {
        Self {
            busy: Duration::from_secs(60),
            idle: Duration::from_secs(3600),
        }
    }
}

/// A running recorder; `stop` flushes what is left.
#[derive(Debug)]
pub struct Recorder {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// What the recorder writes for.
#[derive(Debug, Clone)]
pub struct RecorderConfig {
    pub template_id: String,
    pub session_id: String,
    pub exit_url: String,
    pub flush: Duration,
    pub retention: chrono::Duration,
    /// Bytes the stored events may take (estimated); the oldest beyond are deleted.
    pub max_bytes: u64,
    /// How often old rows are pruned.
    pub pruning: Pruning,
}

impl Recorder {
    /// Starts recording `bus` and `metrics` into `store`.
    pub fn spawn(
        store: Store,
        bus: &EventBus,
        metrics: Arc<RelayMetrics>,
        config: RecorderConfig,
    ) -> Self {
        let (stop, stopped) = watch::channel(false);
        let rx = bus.subscribe();
        let task = tokio::spawn(run(store, rx, metrics, config, stopped));
        Self { stop, task }
    }

    /// Stops after a last flush.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

async fn run(
    store: Store,
    mut rx: broadcast::Receiver<SessionRecord>,
    metrics: Arc<RelayMetrics>,
    config: RecorderConfig,
    mut stopped: watch::Receiver<bool>,
) {
    let mut buffer: Vec<SessionRecord> = Vec::new();
    let mut period_start = Utc::now();
    // The first prune comes a while after start: the start-up writes are no reason to run it
    // at once (the health writer prunes at its start).
    let mut pruned = Pruned {
        at: tokio::time::Instant::now(),
        wrote_since: false,
    };
    let mut tick = tokio::time::interval(config.flush);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        let mut flush_metrics = false;
        tokio::select! {
            r = rx.recv() => match r {
                Ok(record) => {
                    // What opens a risk window is written at once: another process (the CLI's
                    // `risk`, a script) may be deciding on it.
                    let urgent = matches!(
                        record.event,
                        SessionEvent::EgressChanged { .. }
                            | SessionEvent::GeoChanged { .. }
                            | SessionEvent::ClockChecked { .. }
                            | SessionEvent::RequestHeld { .. }
                            | SessionEvent::ObserverLost { .. }
                            | SessionEvent::RequestFailed {
                                request_kind: crate::events::RequestKind::Refresh,
                                ..
                            }
                    );
                    buffer.push(record);
                    if !urgent && buffer.len() < MAX_BUFFER {
                        continue;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(lost = n, "recorder fell behind; events lost");
                    continue;
                }
                Err(broadcast::error::RecvError::Closed) => {
                    flush(&store, &mut buffer, &metrics, &config, &mut period_start, true, &mut pruned).await;
                    return;
                }
            },
            _ = tick.tick() => flush_metrics = true,
            _ = crate::events::stopped(&mut stopped) => {
                // Take what was published before the stop.
                while let Ok(record) = rx.try_recv() {
                    buffer.push(record);
                }
                flush(&store, &mut buffer, &metrics, &config, &mut period_start, true, &mut pruned).await;
                return;
            }
        }
        flush(
            &store,
            &mut buffer,
            &metrics,
            &config,
            &mut period_start,
            flush_metrics,
            &mut pruned,
        )
        .await;
    }
}

/// When old rows were last pruned, and whether anything was written since.
struct Pruned {
    at: tokio::time::Instant,
    wrote_since: bool,
}

async fn flush(
    store: &Store,
    buffer: &mut Vec<SessionRecord>,
    metrics: &RelayMetrics,
    config: &RecorderConfig,
    period_start: &mut chrono::DateTime<Utc>,
    with_metrics: bool,
    pruned: &mut Pruned,
) {
    let now = Utc::now();
    let has_data = !buffer.is_empty() || (with_metrics && !metrics.is_quiet());
    pruned.wrote_since |= has_data;
    let every = if pruned.wrote_since {
        config.pruning.busy
    } else {
        config.pruning.idle
    };
    let prune_due = with_metrics && pruned.at.elapsed() >= every;
    // An idle session does no database work between prunes (nor pages the database's code
    // back in after it was handed back, see `memory`).
    if !has_data && !prune_due {
        if with_metrics {
            *period_start = now;
        }
        return;
    }
    let result = async {
        let mut conn = store.pool().acquire().await?;
        store::events::insert_batch(&mut conn, buffer).await?;
        buffer.clear();
        if with_metrics {
            // Taken once the store is at hand: counts of a flush that could not start stay
            // for the next one.
            let delta = metrics.take();
            if !delta.is_quiet() {
                let src = MetricsSource {
                    template_id: &config.template_id,
                    session_id: &config.session_id,
                    exit_url: &config.exit_url,
                };
                metric_rows::insert(&mut conn, &src, *period_start, now, &delta).await?;
            }
            *period_start = now;
        }
        if prune_due {
            let before = store::timestamp(now - config.retention);
            metric_rows::prune(&mut conn, &before).await?;
            store::events::prune(&mut conn, &before, config.max_bytes).await?;
            store::retention::prune_holds(&mut conn, &before).await?;
            *pruned = Pruned {
                at: tokio::time::Instant::now(),
                wrote_since: false,
            };
        }
        Ok::<_, crate::Error>(())
    }
    .await;
    if let Err(e) = result {
        // Keep the session running; the buffer is retried at the next flush.
        tracing::warn!("recording session data failed: {e}");
        if buffer.len() > MAX_BUFFER * 8 {
            buffer.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn count(store: &Store, sql: &str) -> i64 {
        let mut conn = store.pool().acquire().await.unwrap();
        sqlx::query_scalar(sql).fetch_one(&mut *conn).await.unwrap()
    }

    #[tokio::test]
    async fn an_idle_session_still_prunes_old_rows_at_its_pace_and_writes_no_empty_metrics() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::with_template(dir.path()).await;
        {
            let mut conn = store.pool().acquire().await.unwrap();
            let old = SessionRecord {
                template_id: "t1".into(),
                session_id: "s0".into(),
                at: Utc::now() - chrono::Duration::days(40),
                event: SessionEvent::RelayStopped,
            };
            store::events::insert_batch(&mut conn, &[old])
                .await
                .unwrap();
        }
        let bus = EventBus::new("t1", "s1", 16);
        let recorder = Recorder::spawn(
            store.clone(),
            &bus,
            Arc::new(RelayMetrics::default()),
            RecorderConfig {
                template_id: "t1".into(),
                session_id: "s1".into(),
                exit_url: "direct".into(),
                flush: Duration::from_millis(20),
                retention: chrono::Duration::days(30),
                max_bytes: 1 << 30,
                pruning: Pruning {
                    busy: Duration::from_millis(50),
                    idle: Duration::from_millis(200),
                },
            },
        );
        // An idle session prunes too, at its idle pace.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while count(&store, "SELECT count(*) FROM session_events").await > 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "rows past the retention are pruned by an idle session too"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Several quiet flushes later: nothing written for them.
        tokio::time::sleep(Duration::from_millis(100)).await;
        recorder.stop().await;
        assert_eq!(
            count(&store, "SELECT count(*) FROM relay_metrics").await,
            0,
            "quiet periods leave no metrics rows"
        );
    }
}
