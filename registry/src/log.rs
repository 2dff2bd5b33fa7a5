//! The exchange log: one leaf per exchange, served or refused, durable before the
//! exchange is answered.
//!
//! A leaf is the RFC 8785 canonical JSON of an [`ExchangeRecord`]: who asked whom
//! for what, under which list entry, with which outcome, and the digests of what
//! was asked and answered — never the payload. Appends are batched (group
//! commit): one writer task takes every pending leaf and, up to 64 at a time,
//! reserves a contiguous run of indices and inserts them in one transaction —
//! one round trip to the store — then answers each caller. Before it commits,
//! the writer gathers: it gives the node's other tasks a few scheduler turns to
//! bring their leaves along (see [`writer`]).

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use sqlx::Row;
use tokio::sync::{Notify, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use yrdx_signing::{HashAlg, NoteSigner, VerifierKey};

use crate::clock::now_ms;
use crate::error::{LogError, StoreError};
use crate::store::{Backend, Store, column};
use crate::tree::{Integration, Integrator};

/// Whether an exchange was answered with data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Data was returned.
    Served,
    /// Refused or failed, with a problem code.
    Refused,
}

impl Outcome {
    /// `served` or `refused`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Served => "served",
            Outcome::Refused => "refused",
        }
    }
}

/// Everything the log keeps about one exchange. No payload, no key, no personal
/// data: digests stand in for what was exchanged.
///
/// The fields are declared in the order RFC 8785 sorts their names, so that
/// serde_json's compact form of a record is already its canonical form (see
/// [`ExchangeRecord::to_leaf`]); a new field goes where its name sorts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExchangeRecord {
    /// Which API: `exchange`, `licence`, `verify`, `audit`, `tls`.
    pub api: String,
    /// The case number (办件编号).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case_no: Option<String>,
    /// The problem code of a refusal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The identified consumer, when identification got that far.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consumer: Option<String>,
    /// The responsibility-list entry that allowed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry: Option<String>,
    /// The catalogue items returned.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<String>,
    /// Time from receipt to the log append, in microseconds.
    pub latency_us: u64,
    /// SHA-256 (hex) of the mapping file that produced the record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mapping: Option<String>,
    /// SHA-256 (hex) of the provider's native response body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub native_digest: Option<String>,
    /// The gateway node that handled it.
    pub node: String,
    /// Served or refused.
    pub outcome: Outcome,
    /// For a provider call made on behalf of another request (one region's
    /// answer to a licence listing): that request's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// The provider asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// The declared purpose when it matched the list; otherwise its SHA-256, so
    /// that free text a consumer typed never lands in the log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// SHA-256 (hex) of the consumer's request body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_digest: Option<String>,
    /// The request id (UUID).
    pub request_id: String,
    /// The catalogue resource.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// SHA-256 (hex) of the canonical JSON of the data returned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_digest: Option<String>,
    /// For a retry (the same request id and request again): the index of the
    /// leaf that recorded the first request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_of: Option<u64>,
    /// The seal verification summary, for licences.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seal: Option<serde_json::Value>,
    /// The service item code (事项编码).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_item: Option<String>,
    /// The HTTP status answered.
    pub status: u16,
    /// When the exchange was received, RFC 3339 UTC with milliseconds.
    pub time: String,
    /// Record format version.
    pub v: u32,
}

impl ExchangeRecord {
    /// The leaf bytes: RFC 8785 canonical JSON.
    ///
    /// With the fields in sorted order and only strings, string arrays and
    /// integers in them, serde_json's compact output is canonical as it stands:
    /// no whitespace, the same minimal string escapes (`\n`, `\u001f`, raw
    /// UTF-8), integers in plain decimal — for integers up to 2⁵³, beyond which
    /// RFC 8785 writes the nearest double. The general canonicaliser was 8 % of
    /// a busy node's CPU. A record it must still take whole: one carrying a
    /// seal summary (JSON of any shape), or a latency or leaf index past 2⁵³.
    pub fn to_leaf(&self) -> Result<Vec<u8>, LogError> {
        const EXACT_IN_A_DOUBLE: u64 = 1 << 53;
        let encoded = if self.seal.is_some()
            || self.latency_us > EXACT_IN_A_DOUBLE
            || self.retry_of.is_some_and(|i| i > EXACT_IN_A_DOUBLE)
        {
            serde_json_canonicalizer::to_vec(self)
        } else {
            serde_json::to_vec(self)
        };
        encoded.map_err(|e| LogError::Encode(e.to_string()))
    }
}

/// Where a leaf landed: what the consumer's receipt carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// The leaf index, contiguous from 0.
    pub index: u64,
    /// The RFC 9162 leaf hash, `H(0x00 ‖ leaf)`.
    pub leaf_hash: [u8; 32],
}

/// The columns kept beside each leaf so regulators can filter without parsing.
#[derive(Clone, Debug)]
struct LeafRow {
    leaf: Vec<u8>,
    leaf_hash: [u8; 32],
    time_ms: i64,
    request_id: String,
    consumer: Option<String>,
    provider: Option<String>,
    resource: Option<String>,
    outcome: &'static str,
    code: Option<String>,
}

struct Job {
    row: LeafRow,
    reply: oneshot::Sender<Result<u64, String>>,
}

/// Group-commit settings.
#[derive(Clone, Debug)]
pub struct LogOptions {
    /// Most leaves the writer takes from the queue at once; they are written
    /// in transactions of up to 64.
    pub max_batch: usize,
    /// Most appends waiting for the writer before callers are refused.
    pub queue: usize,
    /// Integrate leaves and sign checkpoints in the background; `None` for a
    /// node (or a test) that only appends.
    pub checkpoints: Option<CheckpointOptions>,
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions {
            max_batch: 256,
            queue: 8192,
            checkpoints: None,
        }
    }
}

/// How the background integrator signs checkpoints.
#[derive(Clone, Debug)]
pub struct CheckpointOptions {
    /// The log's signing key; its name must be the log's origin.
    pub signer: Arc<NoteSigner>,
    /// The longest a durable leaf waits for a checkpoint covering it while the
    /// integrator is healthy. The integrator looks for new leaves every half
    /// interval (and at once after a local append), but signs at most once per
    /// half interval, so the delay is about half the interval plus the time an
    /// integration takes.
    pub interval: Duration,
}

/// The append side of the exchange log. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AuditLog {
    tx: mpsc::Sender<Job>,
    alg: HashAlg,
    origin: String,
    integrator: Option<Arc<Background>>,
    stats: Arc<Counts>,
    coming: Arc<AtomicUsize>,
    health: Arc<Health>,
    store: Store,
}

/// An exchange on its way to the log: while it is held, the writer knows one
/// more leaf is coming and may wait a little for it before committing (see
/// [`AuditLog::announce`]). Drop it just before appending.
#[derive(Debug)]
pub struct Announced {
    coming: Arc<AtomicUsize>,
}

impl Drop for Announced {
    fn drop(&mut self) {
        self.coming.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What the writer has committed since the log was opened in this process.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogStats {
    /// Transactions that made leaves durable.
    pub commits: u64,
    /// Leaves they made durable.
    pub leaves: u64,
}

#[derive(Debug, Default)]
struct Counts {
    commits: AtomicU64,
    leaves: AtomicU64,
}

/// A writer of the log that has failed since `since_ms` (Unix milliseconds),
/// most recently with `error`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failing {
    /// The first failure of this run of failures.
    pub since_ms: i64,
    /// The latest failure's error.
    pub error: String,
}

/// Whether the log can record now, as its writers last found: see
/// [`AuditLog::health`] and [`AuditLog::check`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogHealth {
    /// When a write to the log last succeeded (a commit of leaves or a
    /// probe), Unix milliseconds; `None` if none has since the log opened.
    pub last_write_ms: Option<i64>,
    /// Since when appends (and probes) fail, while they do.
    pub append_failing: Option<Failing>,
    /// Since when this node's integrations fail, while they do; `None` also
    /// where this node signs no checkpoints.
    pub integrate_failing: Option<Failing>,
    /// When this node's integrator last integrated (or found nothing to),
    /// Unix milliseconds; `None` where it signs no checkpoints or has not.
    pub last_integrated_ms: Option<i64>,
    /// Leaves appended that the latest checkpoint does not cover, as
    /// [`AuditLog::check`] read them; `None` from [`AuditLog::health`] or
    /// when the store could not say.
    pub checkpoint_lag: Option<u64>,
}

impl LogHealth {
    /// Whether a leaf can be made durable now and, where this node signs
    /// checkpoints, they advance.
    pub fn can_record(&self) -> bool {
        self.append_failing.is_none() && self.integrate_failing.is_none()
    }
}

/// The outcomes the writer, the integrator and probes record; read by
/// [`AuditLog::health`]. Times are Unix milliseconds, 0 for none.
#[derive(Debug, Default)]
struct Health {
    last_write_ms: AtomicI64,
    append_failing_since: AtomicI64,
    append_error: std::sync::Mutex<String>,
    last_integrated_ms: AtomicI64,
    integrate_failing_since: AtomicI64,
    integrate_error: std::sync::Mutex<String>,
}

/// Records a success: clears the failure `since`, if any, with a log line.
fn recovered(since: &AtomicI64, what: &'static str) {
    let was = since.swap(0, Ordering::Relaxed);
    if was != 0 {
        tracing::info!(
            failing_ms = now_ms().saturating_sub(was),
            "{what} succeeds again"
        );
    }
}

/// Records a failure: starts the failure `since` unless one runs, keeps `error`.
fn failed(since: &AtomicI64, slot: &std::sync::Mutex<String>, error: &dyn std::fmt::Display) {
    let _ = since.compare_exchange(0, now_ms().max(1), Ordering::Relaxed, Ordering::Relaxed);
    let mut slot = slot.lock().unwrap_or_else(|e| e.into_inner());
    *slot = error.to_string();
}

fn failing(since: &AtomicI64, slot: &std::sync::Mutex<String>) -> Option<Failing> {
    let since_ms = since.load(Ordering::Relaxed);
    (since_ms != 0).then(|| Failing {
        since_ms,
        error: slot.lock().unwrap_or_else(|e| e.into_inner()).clone(),
    })
}

impl Health {
    fn wrote(&self) {
        self.last_write_ms.store(now_ms(), Ordering::Relaxed);
        recovered(&self.append_failing_since, "writing the exchange log");
    }

    fn write_failed(&self, error: &dyn std::fmt::Display) {
        failed(&self.append_failing_since, &self.append_error, error);
    }

    fn integrated(&self) {
        self.last_integrated_ms.store(now_ms(), Ordering::Relaxed);
        recovered(
            &self.integrate_failing_since,
            "integrating the exchange log",
        );
    }

    fn integrate_failed(&self, error: &dyn std::fmt::Display) {
        failed(&self.integrate_failing_since, &self.integrate_error, error);
    }

    fn snapshot(&self) -> LogHealth {
        let some = |v: i64| (v != 0).then_some(v);
        LogHealth {
            last_write_ms: some(self.last_write_ms.load(Ordering::Relaxed)),
            append_failing: failing(&self.append_failing_since, &self.append_error),
            integrate_failing: failing(&self.integrate_failing_since, &self.integrate_error),
            last_integrated_ms: some(self.last_integrated_ms.load(Ordering::Relaxed)),
            checkpoint_lag: None,
        }
    }
}

/// How recent a successful write must be for [`AuditLog::check`] to trust it
/// without probing.
const FRESH_WRITE_MS: i64 = 1_000;

/// The background integrator of one [`AuditLog`] and its controls.
#[derive(Debug)]
struct Background {
    key: VerifierKey,
    // Whether this node held the integrator lease at its last attempt.
    leader: Arc<AtomicBool>,
    stop: watch::Sender<bool>,
    task: std::sync::Mutex<Option<JoinHandle<()>>>,
    // How long integrations may fail before appends are refused.
    grace: Duration,
}

impl Drop for Background {
    fn drop(&mut self) {
        // The last handle is gone: let the task finish on its own.
        let _ = self.stop.send(true);
    }
}

impl AuditLog {
    /// Opens the log in `store`, creating it with `origin` and `alg` if the store
    /// has none, refusing if the store's log was made with other settings; starts
    /// the writer task.
    pub async fn open(
        store: Store,
        origin: &str,
        alg: HashAlg,
        now_ms: i64,
        options: LogOptions,
    ) -> Result<AuditLog, LogError> {
        sqlx::query(
            "INSERT INTO log_meta (id, origin, hash_alg, created_ms, size) VALUES (1, $1, $2, $3, 0) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(origin)
        .bind(alg.name())
        .bind(now_ms)
        .execute(store.pool())
        .await
        .map_err(StoreError::query("creating the exchange log"))?;
        let row = sqlx::query("SELECT origin, hash_alg FROM log_meta WHERE id = 1")
            .fetch_one(store.pool())
            .await
            .map_err(StoreError::query("reading the exchange log settings"))?;
        let stored_origin: String = column(&row, 0, "reading the exchange log settings")?;
        let stored_hash: String = column(&row, 1, "reading the exchange log settings")?;
        if (stored_origin != origin || stored_hash != alg.name())
            && !reset_empty_log(&store, origin, alg).await?
        {
            return Err(LogError::Mismatch {
                stored_origin,
                stored_hash,
                origin: origin.to_owned(),
                hash: alg.name().to_owned(),
            });
        }
        let appended = Arc::new(Notify::new());
        let health = Arc::new(Health::default());
        let integrator = match options.checkpoints {
            None => None,
            Some(c) => {
                let mut integrator = Integrator::new(store.clone(), c.signer.clone()).await?;
                // The first integration runs before the node serves: leaves a
                // crash left unintegrated are covered, and the empty log gets
                // its first checkpoint. Another node may hold the lease.
                let first = integrator.integrate(now_ms).await?;
                health.integrated();
                let leader = Arc::new(AtomicBool::new(first != Integration::NotLeader));
                let (stop, stopped) = watch::channel(false);
                let task = tokio::spawn(integrate_loop(
                    integrator,
                    c.interval,
                    appended.clone(),
                    stopped,
                    leader.clone(),
                    health.clone(),
                ));
                Some(Arc::new(Background {
                    key: c.signer.verifier_key(),
                    leader,
                    stop,
                    task: std::sync::Mutex::new(Some(task)),
                    grace: c.interval,
                }))
            }
        };
        let (tx, rx) = mpsc::channel(options.queue.max(1));
        let stats = Arc::new(Counts::default());
        let coming = Arc::new(AtomicUsize::new(0));
        tokio::spawn(writer(
            store.clone(),
            rx,
            options.max_batch.max(1),
            integrator.as_ref().map(|_| appended),
            stats.clone(),
            coming.clone(),
            health.clone(),
        ));
        Ok(AuditLog {
            tx,
            alg,
            origin: origin.to_owned(),
            integrator,
            stats,
            coming,
            health,
            store,
        })
    }

    /// Tells the writer a leaf is on its way: an exchange has begun that will
    /// append. While any is announced and not yet appended, the writer waits
    /// for more leaves before committing, up to as long as its previous
    /// commit took; with none on the way it commits at once.
    pub fn announce(&self) -> Announced {
        self.coming.fetch_add(1, Ordering::Relaxed);
        Announced {
            coming: self.coming.clone(),
        }
    }

    /// Commits and leaves so far; their ratio is the mean commit size.
    pub fn stats(&self) -> LogStats {
        LogStats {
            commits: self.stats.commits.load(Ordering::Relaxed),
            leaves: self.stats.leaves.load(Ordering::Relaxed),
        }
    }

    /// The public key of this log's checkpoints, when this node signs them.
    pub fn verifier_key(&self) -> Option<&VerifierKey> {
        self.integrator.as_ref().map(|b| &b.key)
    }

    /// Whether this node integrates the log and signs checkpoints now: it
    /// held the integrator lease at its last attempt (every half checkpoint
    /// interval).
    pub fn is_integrator(&self) -> bool {
        self.integrator
            .as_ref()
            .is_some_and(|b| b.leader.load(Ordering::Relaxed))
    }

    /// Stops the background integrator after a last integration, so that the
    /// leaves appended so far are covered by a checkpoint, and gives its lease
    /// up. Appends still work; nothing integrates them until a node starts.
    pub async fn stop_integrator(&self) {
        let Some(background) = &self.integrator else {
            return;
        };
        let _ = background.stop.send(true);
        let task = match background.task.lock() {
            Ok(mut t) => t.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        if let Some(task) = task {
            let _ = task.await;
        }
    }

    /// The log's origin line (its name in checkpoints).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The log's hash algorithm.
    pub fn hash_alg(&self) -> HashAlg {
        self.alg
    }

    /// Whether the writer task still runs.
    pub fn is_running(&self) -> bool {
        !self.tx.is_closed()
    }

    /// What the log's writers last found, without asking the store: when
    /// a write last succeeded, since when appends or integrations fail.
    pub fn health(&self) -> LogHealth {
        self.health.snapshot()
    }

    /// Whether a leaf can be made durable now: [`AuditLog::health`], after
    /// a probe of the store unless a write succeeded within the last second
    /// and none has failed since. The probe is a real write, committed and
    /// synced like a batch of leaves: it rewrites the log's size as it is.
    /// On SQLite it fails too while the WAL checkpointing fails, as it does
    /// first on a full disk. A node drained for a store fault receives no exchanges, so this is
    /// what finds it can record again.
    pub async fn check(&self) -> LogHealth {
        let health = self.health.snapshot();
        let fresh = health
            .last_write_ms
            .is_some_and(|at| now_ms().saturating_sub(at) < FRESH_WRITE_MS);
        if health.append_failing.is_some() || !fresh {
            self.probe().await;
        }
        let lag = match (
            self.store.log_size().await,
            self.store.log_tree_size().await,
        ) {
            (Ok(log), Ok(tree)) => Some(log.saturating_sub(tree.get())),
            _ => None,
        };
        LogHealth {
            checkpoint_lag: lag,
            ..self.health.snapshot()
        }
    }

    /// Writes the log's size as it is, and records whether that worked.
    async fn probe(&self) {
        let probe = self
            .store
            .writer()
            .await
            .execute(sqlx::query("UPDATE log_meta SET size = size WHERE id = 1"))
            .await;
        match (probe, self.store.wal_failing()) {
            (Ok(_), None) => self.health.wrote(),
            // The probe rewrote a page the database file has; leaves need
            // new ones, which a file that cannot grow refuses.
            (Ok(_), Some(wal)) => self.health.write_failed(&wal),
            (Err(e), _) => {
                let e = StoreError::query("probing that the exchange log can be written")(e);
                self.health.write_failed(&e);
            }
        }
    }

    /// The reason to refuse an append now: this node's integrations have
    /// failed for longer than the checkpoint interval, so a leaf appended now
    /// would wait for a checkpoint longer than promised, perhaps for ever.
    fn integration_stalled(&self) -> Option<LogError> {
        let grace = self.integrator.as_ref()?.grace;
        let failing = failing(
            &self.health.integrate_failing_since,
            &self.health.integrate_error,
        )?;
        let grace_ms = i64::try_from(grace.as_millis()).unwrap_or(i64::MAX);
        let for_ms = now_ms().saturating_sub(failing.since_ms);
        (for_ms > grace_ms).then(|| {
            LogError::Store(StoreError::Unavailable(format!(
                "checkpoints have not advanced for {for_ms} ms (integration failing: {}); \
                 no leaf is appended that no checkpoint would cover",
                failing.error
            )))
        })
    }

    /// Appends one record and returns once it is durable. Refused while
    /// this node's integrator has failed for longer than the checkpoint
    /// interval.
    pub async fn append(&self, record: &ExchangeRecord, time_ms: i64) -> Result<Receipt, LogError> {
        if let Some(refused) = self.integration_stalled() {
            return Err(refused);
        }
        let leaf = record.to_leaf()?;
        let leaf_hash = self.alg.hash_parts(&[&[0u8], &leaf]);
        let row = LeafRow {
            leaf,
            leaf_hash,
            time_ms,
            request_id: record.request_id.clone(),
            consumer: record.consumer.clone(),
            provider: record.provider.clone(),
            resource: record.resource.clone(),
            outcome: record.outcome.as_str(),
            code: record.code.clone(),
        };
        let (reply, wait) = oneshot::channel();
        self.tx
            .send(Job { row, reply })
            .await
            .map_err(|_| LogError::Closed)?;
        match wait.await {
            Ok(Ok(index)) => Ok(Receipt { index, leaf_hash }),
            Ok(Err(message)) => Err(LogError::Store(StoreError::Corrupt(message))),
            Err(_) => Err(LogError::Closed),
        }
    }
}

/// Integrates new leaves until told to stop; see [`CheckpointOptions`].
/// Gives a log that holds no leaf yet the configured origin and hash: its
/// settings were a mistake nobody has relied on (only checkpoints of the
/// empty tree were signed under them, and they go too). Returns false, and
/// changes nothing, once a leaf is stored. One transaction.
async fn reset_empty_log(store: &Store, origin: &str, alg: HashAlg) -> Result<bool, LogError> {
    let what = "changing the settings of the empty exchange log";
    let mut tx = store
        .pool()
        .begin()
        .await
        .map_err(StoreError::query(what))?;
    let changed = sqlx::query(
        "UPDATE log_meta SET origin = $1, hash_alg = $2 WHERE id = 1 AND size = 0 \
         AND NOT EXISTS (SELECT 1 FROM log_leaves)",
    )
    .bind(origin)
    .bind(alg.name())
    .execute(&mut *tx)
    .await
    .map_err(StoreError::query(what))?
    .rows_affected();
    if changed == 0 {
        return Ok(false);
    }
    for sql in [
        "DELETE FROM log_checkpoints",
        "DELETE FROM log_nodes",
        "UPDATE log_tree SET size = 0 WHERE id = 1",
    ] {
        sqlx::query(sql)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::query(what))?;
    }
    tx.commit().await.map_err(StoreError::query(what))?;
    tracing::warn!(
        origin,
        hash = alg.name(),
        "the exchange log held no leaf: its origin and hash were changed to the configured ones"
    );
    Ok(true)
}

async fn integrate_loop(
    mut integrator: Integrator,
    interval: Duration,
    appended: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
    leader: Arc<AtomicBool>,
    health: Arc<Health>,
) {
    let period = (interval / 2).max(Duration::from_millis(1));
    let mut last = Instant::now();
    loop {
        // New local leaves, or the period for leaves other nodes appended.
        tokio::select! {
            _ = appended.notified() => {}
            _ = tokio::time::sleep(period) => {}
            _ = stop.changed() => break,
        }
        // At most one checkpoint per period: under load a checkpoint covers
        // many batches rather than one each.
        let since = last.elapsed();
        if since < period {
            tokio::select! {
                _ = tokio::time::sleep(period - since) => {}
                _ = stop.changed() => break,
            }
        }
        last = Instant::now();
        let result = integrator.integrate(now_ms()).await;
        let leads = matches!(
            result,
            Ok(Integration::Signed(_) | Integration::UpToDate(_) | Integration::Raced)
        );
        if leader.swap(leads, Ordering::Relaxed) != leads {
            tracing::info!(integrator = leads, "exchange log integrator role changed");
        }
        match result {
            Ok(Integration::Signed(cp)) => {
                tracing::debug!(size = cp.size.get(), "checkpoint signed");
                health.integrated();
            }
            Ok(Integration::Raced) => {
                tracing::warn!("another integrator moved the exchange log's tree; reloading");
                health.integrated();
            }
            Ok(Integration::NotLeader | Integration::UpToDate(_)) => health.integrated(),
            Err(e) => {
                tracing::error!(error = %e, "exchange log integration failed");
                health.integrate_failed(&e);
            }
        }
    }
    leader.store(false, Ordering::Relaxed);
    if let Err(e) = integrator.integrate(now_ms()).await {
        tracing::error!(error = %e, "last exchange log integration failed");
    }
    integrator.release().await;
}

/// Most scheduler turns the writer gives other tasks before a commit, and
/// how many turns in a row may bring nothing before it stops yielding.
const GATHER_TURNS: u32 = 50;
const GATHER_IDLE_TURNS: u32 = 3;

/// Takes pending leaves, gathers, commits, answers; until every sender is gone.
///
/// A commit costs about the same whatever its size: on SQLite some fifteen
/// page writes (the table's last page, one or two per filter index, the log's
/// size) and an fsync. Exchanges finishing on other tasks are often a
/// scheduler turn away from their append, so before committing the writer
/// yields while each turn brings more leaves. After [`GATHER_IDLE_TURNS`]
/// turns that bring none it commits, unless exchanges are announced
/// ([`AuditLog::announce`]) that have not appended yet — at a provider, say:
/// then it waits for the next leaf. It stops at a full batch,
/// [`GATHER_TURNS`] in all, or once gathering has taken as long as the
/// previous commit did (tokio's timer ticks in milliseconds, so a wait that
/// nothing ends lasts up to the next tick). Alone on a node it costs one idle
/// round of turns (microseconds) and never waits: the only exchange is the
/// one appending. Yielding grew commits at 16 clients to about 10 leaves and
/// req/s by some 8 %; waiting for announced leaves cut the CPU per exchange
/// by a tenth at 2,000-4,000 requests a second (docs/performance.md).
async fn writer(
    store: Store,
    mut rx: mpsc::Receiver<Job>,
    max_batch: usize,
    appended: Option<Arc<Notify>>,
    stats: Arc<Counts>,
    coming: Arc<AtomicUsize>,
    health: Arc<Health>,
) {
    // `appended` wakes the integrator after each committed batch, so a
    // checkpoint follows promptly.
    let mut batch = Vec::with_capacity(max_batch);
    let mut last_commit = Duration::from_millis(1);
    let mut known_size = None;
    // Whatever waits, up to `max_batch`; 0 once every sender is gone.
    while rx.recv_many(&mut batch, max_batch).await > 0 {
        gather(&mut rx, &mut batch, max_batch, last_commit, &coming).await;
        while !batch.is_empty() {
            let (rows, replies): (Vec<LeafRow>, Vec<_>) = batch
                .drain(..batch.len().min(INSERT_ROWS))
                .map(|job| (job.row, job.reply))
                .unzip();
            let started = Instant::now();
            match write_batch(&store, rows, &mut known_size).await {
                Ok(first_index) => {
                    last_commit = started.elapsed();
                    health.wrote();
                    stats.commits.fetch_add(1, Ordering::Relaxed);
                    stats
                        .leaves
                        .fetch_add(replies.len() as u64, Ordering::Relaxed);
                    for (i, reply) in replies.into_iter().enumerate() {
                        let _ = reply.send(Ok(first_index + i as u64));
                    }
                    if let Some(appended) = &appended {
                        appended.notify_one();
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, leaves = replies.len(), "exchange log append failed");
                    health.write_failed(&e);
                    let message = e.to_string();
                    for reply in replies {
                        let _ = reply.send(Err(message.clone()));
                    }
                }
            }
        }
    }
}

/// Adds to `batch` the leaves that arrive while the writer yields or waits for
/// announced ones; see [`writer`].
async fn gather(
    rx: &mut mpsc::Receiver<Job>,
    batch: &mut Vec<Job>,
    max_batch: usize,
    budget: Duration,
    coming: &AtomicUsize,
) {
    let started = Instant::now();
    let mut idle = 0;
    for _ in 0..GATHER_TURNS {
        if batch.len() >= max_batch || started.elapsed() >= budget {
            return;
        }
        if idle >= GATHER_IDLE_TURNS {
            if coming.load(Ordering::Relaxed) == 0 {
                return;
            }
            let left = budget.saturating_sub(started.elapsed());
            match tokio::time::timeout(left, rx.recv()).await {
                Ok(Some(job)) => {
                    batch.push(job);
                    idle = 0;
                    continue;
                }
                _ => return,
            }
        }
        tokio::task::yield_now().await;
        let before = batch.len();
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        idle = if batch.len() == before { idle + 1 } else { 0 };
    }
}

/// Writes up to [`INSERT_ROWS`] leaves in one transaction and returns the index
/// of the first. `known_size` is the log's size as this writer last left it
/// (SQLite only; `None` until known, and again after anything unexpected).
async fn write_batch(
    store: &Store,
    rows: Vec<LeafRow>,
    known_size: &mut Option<i64>,
) -> Result<u64, StoreError> {
    match store.backend() {
        Backend::Sqlite => append_sqlite(store, &rows, known_size).await,
        Backend::Postgres => append_postgres(store, rows).await,
    }
}

const COLUMNS: &str =
    "idx, leaf_hash, leaf, time_ms, request_id, consumer, provider, resource, outcome, code";

/// The rows of a batch's VALUES: the leaf's offset in the batch (a literal),
/// then its nine bound values, numbered from `first` on PostgreSQL.
fn values_list(backend: Backend, leaves: usize, first: usize) -> String {
    let mut values = String::new();
    for i in 0..leaves {
        if i > 0 {
            values.push(',');
        }
        // Writing to a String cannot fail.
        let _ = write!(
            values,
            "({i}, {})",
            backend.placeholders(first + i * 9, 1, 9)
        );
    }
    values
}

/// SQLite: one `INSERT` on its own, which SQLite commits by itself — a single
/// statement, so a single answer from sqlx's worker thread once the commit is
/// durable, where a script (`BEGIN`, reserve, insert, `COMMIT`) answered once
/// per statement and woke the writer two or three times per commit. The
/// reservation is the schema's: each inserted leaf adds itself to
/// `log_meta.size` (trigger `log_leaves_count`), and the rows take their
/// indices from the size read before the first of them is inserted (SQLite
/// computes the whole `SELECT` before inserting when the table has row
/// triggers). The writer names the size it expects; if another process
/// appended meanwhile nothing is inserted, and the writer reads the size again
/// and retries once.
///
/// The insert is `OR ROLLBACK`: a failing row ends the whole transaction,
/// which is what a batch wants anyway, and spares SQLite the statement journal
/// it keeps to undo one statement of many.
async fn append_sqlite(
    store: &Store,
    rows: &[LeafRow],
    known_size: &mut Option<i64>,
) -> Result<u64, StoreError> {
    let n = i64::try_from(rows.len()).map_err(|_| StoreError::Corrupt("batch too large".into()))?;
    // Built from placeholders and our own integers only; every value is bound.
    let sql = format!(
        "INSERT OR ROLLBACK INTO log_leaves ({COLUMNS}) \
         SELECT m.size + v.column1, v.column2, v.column3, v.column4, v.column5, \
         v.column6, v.column7, v.column8, v.column9, v.column10 \
         FROM log_meta AS m, (VALUES {}) AS v WHERE m.id = 1 AND m.size = ?",
        values_list(Backend::Sqlite, rows.len(), 1)
    );
    for _attempt in 0..2 {
        let expected = match known_size.take() {
            Some(size) => size,
            None => i64::try_from(store.log_size().await?)
                .map_err(|_| StoreError::Corrupt("log size out of range".into()))?,
        };
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
        for row in rows {
            q = q
                .bind(&row.leaf_hash[..])
                .bind(row.leaf.as_slice())
                .bind(row.time_ms)
                .bind(row.request_id.as_str())
                .bind(row.consumer.as_deref())
                .bind(row.provider.as_deref())
                .bind(row.resource.as_deref())
                .bind(row.outcome)
                .bind(row.code.as_deref());
        }
        let done = store
            .writer()
            .await
            .execute(q.bind(expected))
            .await
            .map_err(StoreError::query("appending log leaves"))?;
        let inserted = i64::try_from(done.rows_affected()).unwrap_or(i64::MAX);
        if inserted == n {
            *known_size = Some(expected + n);
            return u64::try_from(expected)
                .map_err(|_| StoreError::Corrupt("negative log size".into()));
        }
        if inserted != 0 {
            return Err(StoreError::Corrupt(format!(
                "appending {n} log leaves inserted {inserted}"
            )));
        }
        // Another process appended since this writer last did: read again.
    }
    Err(StoreError::Corrupt(
        "appending log leaves inserted none twice: log_meta's size moved under \
         the writer both times (another process appending to the same SQLite \
         file?) or its row is missing"
            .into(),
    ))
}

/// PostgreSQL: one statement whose CTE reserves the indices and inserts the
/// leaves, committed on its own — one network round trip. Reserving comes
/// first, so concurrent batches (other nodes) serialise on `log_meta`'s row
/// and never interleave indices.
async fn append_postgres(store: &Store, rows: Vec<LeafRow>) -> Result<u64, StoreError> {
    let n = i64::try_from(rows.len()).map_err(|_| StoreError::Corrupt("batch too large".into()))?;
    // `$1` is the batch length; built from placeholders and our own integers
    // only, every value is bound.
    let sql = format!(
        "WITH m AS (UPDATE log_meta SET size = size + $1 WHERE id = 1 RETURNING size), \
         ins AS (INSERT INTO log_leaves ({COLUMNS}) \
         SELECT m.size - $1 + v.idx, v.leaf_hash, v.leaf, v.time_ms, v.request_id, \
         v.consumer, v.provider, v.resource, v.outcome, v.code \
         FROM m, (VALUES {}) AS v ({COLUMNS})) \
         SELECT size FROM m",
        values_list(Backend::Postgres, rows.len(), 2)
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(n);
    for row in rows {
        q = q
            .bind(row.leaf_hash.to_vec())
            .bind(row.leaf)
            .bind(row.time_ms)
            .bind(row.request_id)
            .bind(row.consumer)
            .bind(row.provider)
            .bind(row.resource)
            .bind(row.outcome)
            .bind(row.code);
    }
    let rows = store
        .writer()
        .await
        .fetch_all(q)
        .await
        .map_err(StoreError::query("appending log leaves"))?;
    let size: i64 = rows
        .first()
        .ok_or_else(|| StoreError::Corrupt("the exchange log has no log_meta row".into()))?
        .try_get(0)
        .map_err(StoreError::query("appending log leaves"))?;
    u64::try_from(size - n).map_err(|_| StoreError::Corrupt("negative log size".into()))
}

/// Leaves per transaction: 9 bound values each keeps a statement well under
/// SQLite's and PostgreSQL's parameter limits, and the distinct statements (one
/// per batch length) within each connection's statement cache.
const INSERT_ROWS: usize = 64;

/// A stored leaf with its index, as read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredLeaf {
    /// The index.
    pub index: u64,
    /// The exact bytes that were hashed.
    pub leaf: Vec<u8>,
    /// The stored leaf hash.
    pub leaf_hash: Vec<u8>,
}

impl Store {
    /// The number of leaves in the log.
    pub async fn log_size(&self) -> Result<u64, StoreError> {
        let size: i64 = sqlx::query("SELECT size FROM log_meta WHERE id = 1")
            .fetch_optional(self.pool())
            .await
            .map_err(StoreError::query("reading the log size"))?
            .map(|row| row.try_get(0))
            .transpose()
            .map_err(StoreError::query("reading the log size"))?
            .unwrap_or(0);
        u64::try_from(size).map_err(|_| StoreError::Corrupt("negative log size".into()))
    }

    /// Leaves `start..end` (end exclusive), in index order.
    pub async fn log_leaves(&self, start: u64, end: u64) -> Result<Vec<StoredLeaf>, StoreError> {
        let to_i64 =
            |v: u64| i64::try_from(v).map_err(|_| StoreError::Corrupt("index out of range".into()));
        let rows = sqlx::query(
            "SELECT idx, leaf, leaf_hash FROM log_leaves WHERE idx >= $1 AND idx < $2 ORDER BY idx",
        )
        .bind(to_i64(start)?)
        .bind(to_i64(end)?)
        .fetch_all(self.pool())
        .await
        .map_err(StoreError::query("reading log leaves"))?;
        rows.iter().map(crate::tree::leaf_row).collect()
    }
}
