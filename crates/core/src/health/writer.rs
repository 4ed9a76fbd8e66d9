//! Batched writes of request records: one transaction per batch (never a write per request),
//! and pruning by age, row count and size now and then. The queue is bounded: when the store
//! cannot keep up with a flood of requests, records are dropped and counted (the observer
//! reports the count as a `records_dropped` event), never silently.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::attribution::RequestRecord;
use super::outcome_rows as outcomes;
use crate::store::{self, Store};

/// Largest batch per transaction.
const MAX_BATCH: usize = 4096;
/// How often old rows are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(60);
/// Records waiting to be written, at most (~16 batches).
const QUEUE: usize = 65_536;

/// Where and how long records are kept.
#[derive(Debug, Clone)]
pub struct WriterConfig {
    pub template_id: String,
    pub session_id: String,
    pub retention: chrono::Duration,
    pub max_rows: u64,
    /// Bytes the stored records may take (their text, estimated); the oldest beyond are deleted.
    pub max_bytes: u64,
}

/// A running writer.
#[derive(Debug)]
pub struct OutcomeWriter {
    tx: mpsc::Sender<RequestRecord>,
    dropped: Arc<AtomicU64>,
    task: JoinHandle<u64>,
}

impl OutcomeWriter {
    /// Starts writing into `store`.
    pub fn spawn(store: Store, config: WriterConfig) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        let task = tokio::spawn(run(store, config, rx));
        Self {
            tx,
            dropped: Arc::default(),
            task,
        }
    }

    /// Queues a record; drops (and counts) it when the queue is full.
    pub fn push(&self, record: RequestRecord) {
        if self.tx.try_send(record).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Records dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Writes what is queued and stops; returns how many records were written in all.
    pub async fn finish(self) -> u64 {
        drop(self.tx);
        self.task.await.unwrap_or(0)
    }
}

async fn run(store: Store, config: WriterConfig, mut rx: mpsc::Receiver<RequestRecord>) -> u64 {
    let mut written = 0u64;
    let mut batch: Vec<RequestRecord> = Vec::with_capacity(MAX_BATCH);
    let mut last_prune = tokio::time::Instant::now();
    prune(&store, &config).await;
    while let Some(first) = rx.recv().await {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        written += write(&store, &config, &mut batch).await;
        if last_prune.elapsed() >= PRUNE_EVERY {
            prune(&store, &config).await;
            last_prune = tokio::time::Instant::now();
        }
    }
    written + write(&store, &config, &mut batch).await
}

async fn write(store: &Store, config: &WriterConfig, batch: &mut Vec<RequestRecord>) -> u64 {
    if batch.is_empty() {
        return 0;
    }
    // A busy or failing store is retried a few times before the batch is given up (and said so).
    for attempt in 0..5u32 {
        let done = async {
            let mut conn = store.pool().acquire().await?;
            outcomes::insert_batch(&mut conn, &config.template_id, &config.session_id, batch).await
        }
        .await;
        match done {
            Ok(()) => {
                let n = batch.len() as u64;
                batch.clear();
                return n;
            }
            Err(e) => {
                tracing::warn!(attempt, "writing request outcomes failed: {e}");
                tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
            }
        }
    }
    tracing::error!(lost = batch.len(), "request outcomes could not be written");
    batch.clear();
    0
}

async fn prune(store: &Store, config: &WriterConfig) {
    let before = store::timestamp(chrono::Utc::now() - config.retention);
    let done = async {
        let mut conn = store.pool().acquire().await?;
        outcomes::prune(&mut conn, &before, config.max_rows, config.max_bytes).await
    }
    .await;
    if let Err(e) = done {
        tracing::warn!("pruning request outcomes failed: {e}");
    }
}
