//! The exchange log's Merkle tree in the store: node hashes, signed
//! checkpoints, and everything a regulator reads — proofs, tiles, filtered
//! leaves and exports.
//!
//! Appends write leaves only ([`crate::AuditLog`]), so any number of gateway
//! nodes can append to one PostgreSQL database. One [`Integrator`] at a time —
//! it holds a [`lease`](Integrator::integrate) — reads the leaves past the
//! integrated size, computes the node hashes they complete with a
//! [`Frontier`], and writes those nodes and a newly signed checkpoint in one
//! transaction that moves `log_tree.size` forward only if it still holds the
//! size the integrator started from. A second integrator that raced it (a lease
//! lost to a network partition, two processes on one SQLite file) therefore
//! fails that compare-and-set and rolls back: the nodes and checkpoints always
//! describe one append-only tree, and every checkpoint extends the one before.
//!
//! The hashing and signing are `yrdx-signing`'s; proofs follow its plan →
//! fetch → assemble pattern with one query per proof.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use sqlx::{AnyConnection, AnyPool, Row};
use yrdx_signing::{
    Checkpoint, ConsistencyProof, ExportHeader, Frontier, Hash, HashAlg, InclusionProof, LeafIndex,
    MerkleError, NodeId, NoteSigner, ProofPlan, Tile, TileKind, TreeSize, VerifierKey,
    consistency_plan, encode_entry_bundle, export_entry_line, frontier_nodes, inclusion_plan,
    leaf_hash, root_plan,
};

use crate::error::{LogError, StoreError};
use crate::log::StoredLeaf;
use crate::store::{Backend, Store, column};

/// Most leaves one integration transaction takes; a larger backlog (after a
/// long outage of every integrator) is integrated in several, each signing its
/// own checkpoint.
pub const INTEGRATE_CHUNK: u64 = 16_384;

/// Most leaves `/v1/audit/entries` and [`Store::log_entries`] return at once.
pub const MAX_ENTRIES_PAGE: u64 = 1_000;

/// A signed checkpoint as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// The tree size it commits to.
    pub size: TreeSize,
    /// The root hash.
    pub root: Hash,
    /// The C2SP signed note, exactly as signed.
    pub note: String,
    /// When it was signed, milliseconds since the Unix epoch.
    pub time_ms: i64,
}

/// What one call of [`Integrator::integrate`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Integration {
    /// Another integrator holds the lease; nothing was done.
    NotLeader,
    /// Every leaf was already covered by the latest checkpoint.
    UpToDate(TreeSize),
    /// New leaves were integrated and this checkpoint signed (the last one,
    /// when the backlog took several transactions).
    Signed(StoredCheckpoint),
    /// Another integrator moved the tree meanwhile; this one rolled back and
    /// reloads its frontier next time.
    Raced,
}

/// The exchange log's settings as stored when it was created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogInfo {
    /// The origin line of its checkpoints.
    pub origin: String,
    /// Its tree hash.
    pub alg: HashAlg,
    /// Leaves appended so far.
    pub size: u64,
}

/// Filters for [`Store::log_entries`]. Indices are `[start, end)`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EntryQuery {
    /// First index.
    pub start: u64,
    /// One past the last index; at most [`MAX_ENTRIES_PAGE`] after `start`.
    pub end: u64,
    /// Only leaves whose exchange was received at or after this time (ms).
    pub time_from_ms: Option<i64>,
    /// Only leaves whose exchange was received before this time (ms).
    pub time_to_ms: Option<i64>,
    /// Only this consumer (member id).
    pub consumer: Option<String>,
    /// Only this provider (member id).
    pub provider: Option<String>,
    /// Only this catalogue resource.
    pub resource: Option<String>,
    /// Only `served` or only `refused`.
    pub outcome: Option<crate::Outcome>,
    /// Only refusals with this problem code.
    pub code: Option<String>,
    /// Only exchanges under this responsibility-list entry. The leaves keep
    /// no column for it: the window's leaves are read and their records'
    /// `entry` compared, which a window of at most [`MAX_ENTRIES_PAGE`]
    /// leaves keeps cheap.
    pub entry: Option<String>,
}

/// The one field of an exchange record the entry filter reads.
#[derive(serde::Deserialize)]
struct EntryOf<'a> {
    #[serde(default, borrow)]
    entry: Option<std::borrow::Cow<'a, str>>,
}

/// What [`Store::export`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportSummary {
    /// The first leaf exported.
    pub start: u64,
    /// One past the last leaf: the final checkpoint's size.
    pub end: u64,
    /// Leaf lines written (fewer than `end - start` only if rows are missing).
    pub leaves: u64,
    /// Earlier checkpoints embedded in the header.
    pub checkpoints: usize,
}

fn to_i64(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Corrupt(format!("{v} is out of range")))
}

fn to_u64(v: i64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("negative {what}: {v}")))
}

fn tree_size(v: i64) -> Result<TreeSize, StoreError> {
    TreeSize::new(to_u64(v, "tree size")?)
        .map_err(|e| StoreError::Corrupt(format!("tree size: {e}")))
}

fn hash_of(bytes: &[u8], what: &str) -> Result<Hash, StoreError> {
    Hash::from_slice(bytes).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

fn checkpoint_row(row: &sqlx::any::AnyRow) -> Result<StoredCheckpoint, StoreError> {
    let what = "reading a checkpoint";
    let size: i64 = column(row, 0, what)?;
    let root: Vec<u8> = column(row, 1, what)?;
    Ok(StoredCheckpoint {
        size: tree_size(size)?,
        root: hash_of(&root, "checkpoint root")?,
        note: column(row, 2, what)?,
        time_ms: column(row, 3, what)?,
    })
}

pub(crate) fn leaf_row(row: &sqlx::any::AnyRow) -> Result<StoredLeaf, StoreError> {
    let what = "reading log leaves";
    let idx: i64 = column(row, 0, what)?;
    Ok(StoredLeaf {
        index: to_u64(idx, "leaf index")?,
        leaf: column(row, 1, what)?,
        leaf_hash: column(row, 2, what)?,
    })
}

impl Store {
    /// The log's stored settings and size, if a log was created.
    pub async fn log_info(&self) -> Result<Option<LogInfo>, StoreError> {
        let what = "reading the exchange log settings";
        let Some(row) = sqlx::query("SELECT origin, hash_alg, size FROM log_meta WHERE id = 1")
            .fetch_optional(self.pool())
            .await
            .map_err(StoreError::query(what))?
        else {
            return Ok(None);
        };
        let hash: String = column(&row, 1, what)?;
        let size: i64 = column(&row, 2, what)?;
        Ok(Some(LogInfo {
            origin: column(&row, 0, what)?,
            alg: HashAlg::from_name(&hash)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown log hash `{hash}`")))?,
            size: to_u64(size, "log size")?,
        }))
    }

    /// The number of leaves the tree (and so the latest checkpoint) covers.
    pub async fn log_tree_size(&self) -> Result<TreeSize, StoreError> {
        let size: i64 = sqlx::query("SELECT size FROM log_tree WHERE id = 1")
            .fetch_one(self.pool())
            .await
            .map_err(StoreError::query("reading the tree size"))?
            .try_get(0)
            .map_err(StoreError::query("reading the tree size"))?;
        tree_size(size)
    }

    /// The latest signed checkpoint, if one was signed.
    pub async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError> {
        sqlx::query(
            "SELECT size, root, note, time_ms FROM log_checkpoints ORDER BY size DESC LIMIT 1",
        )
        .fetch_optional(self.pool())
        .await
        .map_err(StoreError::query("reading the latest checkpoint"))?
        .as_ref()
        .map(checkpoint_row)
        .transpose()
    }

    /// The checkpoint signed at exactly `size`, if there is one.
    pub async fn checkpoint_at(
        &self,
        size: TreeSize,
    ) -> Result<Option<StoredCheckpoint>, StoreError> {
        sqlx::query("SELECT size, root, note, time_ms FROM log_checkpoints WHERE size = $1")
            .bind(to_i64(size.get())?)
            .fetch_optional(self.pool())
            .await
            .map_err(StoreError::query("reading a checkpoint"))?
            .as_ref()
            .map(checkpoint_row)
            .transpose()
    }

    /// The sizes of the checkpoints with `from <= size < to`, ascending.
    pub async fn checkpoint_sizes(&self, from: u64, to: u64) -> Result<Vec<u64>, StoreError> {
        let what = "reading checkpoint sizes";
        sqlx::query("SELECT size FROM log_checkpoints WHERE size >= $1 AND size < $2 ORDER BY size")
            .bind(to_i64(from)?)
            .bind(to_i64(to)?)
            .fetch_all(self.pool())
            .await
            .map_err(StoreError::query(what))?
            .iter()
            .map(|row| to_u64(column(row, 0, what)?, "size"))
            .collect()
    }

    /// The checkpoints signed at `sizes` (ascending), those that exist.
    pub async fn checkpoints_at(&self, sizes: &[u64]) -> Result<Vec<StoredCheckpoint>, StoreError> {
        let mut out = Vec::with_capacity(sizes.len());
        for chunk in sizes.chunks(NODE_ROWS) {
            let sql = format!(
                "SELECT size, root, note, time_ms FROM log_checkpoints WHERE size IN ({}) ORDER BY size",
                self.backend().placeholders(1, 1, chunk.len())
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for size in chunk {
                q = q.bind(to_i64(*size)?);
            }
            for row in q
                .fetch_all(self.pool())
                .await
                .map_err(StoreError::query("reading checkpoints"))?
            {
                out.push(checkpoint_row(&row)?);
            }
        }
        Ok(out)
    }

    /// The stored hashes of `ids`, in the same order, in one query. A missing
    /// node is a corrupt store (callers check sizes first).
    pub async fn log_nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, StoreError> {
        let what = "reading tree nodes";
        let mut out = Vec::with_capacity(ids.len());
        // Plans name at most ~124 nodes and tiles 256, so one statement serves
        // every caller; chunk anyway to stay under parameter limits.
        for chunk in ids.chunks(NODE_ROWS) {
            let sql = format!(
                "SELECT id, hash FROM log_nodes WHERE id IN ({})",
                self.backend().placeholders(1, 1, chunk.len())
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                q = q.bind(to_i64(id.storage_index())?);
            }
            let rows = q
                .fetch_all(self.pool())
                .await
                .map_err(StoreError::query(what))?;
            let mut found = std::collections::HashMap::with_capacity(rows.len());
            for row in &rows {
                let key: i64 = column(row, 0, what)?;
                let hash: Vec<u8> = column(row, 1, what)?;
                found.insert(key, hash_of(&hash, "tree node")?);
            }
            for id in chunk {
                let hash = found
                    .get(&to_i64(id.storage_index())?)
                    .ok_or_else(|| StoreError::Corrupt(format!("tree node {id} is missing")))?;
                out.push(*hash);
            }
        }
        Ok(out)
    }

    /// Checks that the tree has `size` leaves integrated.
    async fn require_tree(&self, size: TreeSize) -> Result<(), LogError> {
        let tree = self.log_tree_size().await?;
        if size > tree {
            return Err(LogError::BeyondTree {
                requested: size.get(),
                tree: tree.get(),
            });
        }
        Ok(())
    }

    /// The hashes a plan over the tree of `size` leaves asks for: the tree
    /// checked to hold `size` leaves first, then `plan` made, its nodes read
    /// in one query, and assembled.
    async fn planned(
        &self,
        alg: HashAlg,
        size: TreeSize,
        plan: impl FnOnce() -> Result<ProofPlan, MerkleError>,
    ) -> Result<Vec<Hash>, LogError> {
        self.require_tree(size).await?;
        let plan = plan()?;
        let hashes = self.log_nodes(plan.nodes()).await?;
        Ok(plan.assemble(alg, &hashes)?)
    }

    /// The root of the tree of `size` leaves (at most the integrated size).
    pub async fn log_root(&self, alg: HashAlg, size: TreeSize) -> Result<Hash, LogError> {
        Ok(self
            .planned(alg, size, || Ok(root_plan(size)))
            .await?
            .first()
            .copied()
            .unwrap_or_else(|| yrdx_signing::empty_root(alg)))
    }

    /// The inclusion proof of leaf `index` in the tree of `size` leaves (at
    /// most the integrated size): plan, one query, assemble.
    pub async fn inclusion_proof(
        &self,
        alg: HashAlg,
        index: LeafIndex,
        size: TreeSize,
    ) -> Result<InclusionProof, LogError> {
        Ok(InclusionProof {
            index,
            size,
            proof: self
                .planned(alg, size, || inclusion_plan(index, size))
                .await?,
        })
    }

    /// The consistency proof between the trees of `from` and `to` leaves (`to`
    /// at most the integrated size).
    pub async fn consistency_proof(
        &self,
        alg: HashAlg,
        from: TreeSize,
        to: TreeSize,
    ) -> Result<ConsistencyProof, LogError> {
        Ok(ConsistencyProof {
            from,
            to,
            proof: self.planned(alg, to, || consistency_plan(from, to)).await?,
        })
    }

    /// The bytes of a C2SP tlog-tiles tile or entry bundle. The tree must
    /// hold all of it (`tile.is_within(tree size)`), else
    /// [`LogError::BeyondTree`].
    pub async fn log_tile(&self, tile: &Tile) -> Result<Vec<u8>, LogError> {
        let tree = self.log_tree_size().await?;
        if !tile.is_within(tree) {
            return Err(LogError::TileBeyondTree {
                path: tile.path(),
                tree: tree.get(),
            });
        }
        match tile.kind() {
            TileKind::Hashes { .. } => {
                let nodes = tile.nodes()?;
                let hashes = self.log_nodes(&nodes).await?;
                Ok(hashes.iter().flat_map(|h| *h.as_bytes()).collect())
            }
            TileKind::Entries => {
                let start = tile.index() * 256;
                let end = start + u64::from(tile.width());
                let leaves = self.log_leaves(start, end).await?;
                if leaves.len() != usize::from(tile.width()) {
                    return Err(StoreError::Corrupt(format!(
                        "leaves {start}..{end}: {} of {} present",
                        leaves.len(),
                        tile.width()
                    ))
                    .into());
                }
                Ok(encode_entry_bundle(
                    leaves.iter().map(|l| l.leaf.as_slice()),
                )?)
            }
        }
    }

    /// The first index of a leaf received at or after `time_ms`, found
    /// through the log's time index; `None` if there is none.
    pub async fn log_first_index_at(&self, time_ms: i64) -> Result<Option<u64>, StoreError> {
        let what = "finding the first leaf at a time";
        let row = sqlx::query("SELECT MIN(idx) FROM log_leaves WHERE time_ms >= $1")
            .bind(time_ms)
            .fetch_one(self.pool())
            .await
            .map_err(StoreError::query(what))?;
        let idx: Option<i64> = row.try_get(0).map_err(StoreError::query(what))?;
        idx.map(|i| to_u64(i, "leaf index")).transpose()
    }

    /// Leaves in `[query.start, query.end)` that pass the filters, in index
    /// order. The window is at most [`MAX_ENTRIES_PAGE`] leaves.
    pub async fn log_entries(&self, query: &EntryQuery) -> Result<Vec<StoredLeaf>, LogError> {
        if query.end < query.start || query.end - query.start > MAX_ENTRIES_PAGE {
            return Err(LogError::Window {
                start: query.start,
                end: query.end,
                max: MAX_ENTRIES_PAGE,
            });
        }
        let mut sql = String::from(
            "SELECT idx, leaf, leaf_hash FROM log_leaves WHERE idx >= $1 AND idx < $2",
        );
        let mut n = 2;
        let mut cond = |sql: &mut String, clause: &str| {
            n += 1;
            sql.push_str(&format!(" AND {clause} ${n}"));
        };
        if query.time_from_ms.is_some() {
            cond(&mut sql, "time_ms >=");
        }
        if query.time_to_ms.is_some() {
            cond(&mut sql, "time_ms <");
        }
        if query.consumer.is_some() {
            cond(&mut sql, "consumer =");
        }
        if query.provider.is_some() {
            cond(&mut sql, "provider =");
        }
        if query.resource.is_some() {
            cond(&mut sql, "resource =");
        }
        if query.outcome.is_some() {
            cond(&mut sql, "outcome =");
        }
        if query.code.is_some() {
            cond(&mut sql, "code =");
        }
        sql.push_str(" ORDER BY idx");
        // Built from fixed clauses and placeholders only; every value is bound.
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(to_i64(query.start)?)
            .bind(to_i64(query.end)?);
        if let Some(t) = query.time_from_ms {
            q = q.bind(t);
        }
        if let Some(t) = query.time_to_ms {
            q = q.bind(t);
        }
        for text in [&query.consumer, &query.provider, &query.resource]
            .into_iter()
            .flatten()
        {
            q = q.bind(text.clone());
        }
        if let Some(o) = query.outcome {
            q = q.bind(o.as_str());
        }
        if let Some(code) = &query.code {
            q = q.bind(code.clone());
        }
        let rows = q
            .fetch_all(self.pool())
            .await
            .map_err(StoreError::query("reading log leaves"))?;
        let mut leaves = Vec::with_capacity(rows.len());
        for row in &rows {
            let leaf = leaf_row(row)?;
            if let Some(want) = &query.entry {
                let record: EntryOf<'_> = serde_json::from_slice(&leaf.leaf)
                    .map_err(|e| StoreError::Corrupt(format!("log leaf {}: {e}", leaf.index)))?;
                if record.entry.as_deref() != Some(want.as_str()) {
                    continue;
                }
            }
            leaves.push(leaf);
        }
        Ok(leaves)
    }

    /// Writes a `yrdx-audit-export` of leaves `[from, to)` to `out`: the
    /// header with the checkpoint signed at `to` (which must be a checkpoint
    /// size), the frontier hashes left of `from`, and the earlier checkpoints
    /// in `[from, to)` (evenly thinned to the format's bound), then one line
    /// per stored leaf. Leaves are written as stored — a missing or altered
    /// row is the verifier's to find, not this function's to hide.
    pub async fn export(
        &self,
        from: u64,
        to: Option<u64>,
        out: &mut (impl std::io::Write + Send),
    ) -> Result<ExportSummary, LogError> {
        let info = self.log_info().await?.ok_or(LogError::NoCheckpoint)?;
        let last = match to {
            None => self.latest_checkpoint().await?,
            Some(size) => self.checkpoint_at(TreeSize::new(size)?).await?,
        }
        .ok_or(match to {
            None => LogError::NoCheckpoint,
            Some(size) => LogError::NotACheckpointSize(size),
        })?;
        let end = last.size.get();
        if from > end {
            return Err(LogError::Window {
                start: from,
                end,
                max: end,
            });
        }
        let start = TreeSize::new(from)?;
        let prefix = self.log_nodes(&frontier_nodes(start)).await?;
        // Only sizes first: a long log has millions of checkpoints, of which
        // the header carries an evenly spread selection.
        let sizes = self.checkpoint_sizes(from, end).await?;
        let earlier = self
            .checkpoints_at(&thin(sizes, EXPORT_CHECKPOINTS))
            .await?;
        let header = ExportHeader {
            origin: info.origin,
            alg: info.alg,
            start: from,
            prefix,
            checkpoint: last.note.clone(),
            checkpoints: earlier.iter().map(|c| c.note.clone()).collect(),
        };
        out.write_all(header.to_line().as_bytes())?;
        let mut leaves = 0;
        let mut at = from;
        while at < end {
            let page_end = (at + EXPORT_PAGE).min(end);
            for leaf in self.log_leaves(at, page_end).await? {
                out.write_all(
                    export_entry_line(LeafIndex::new(leaf.index)?, &leaf.leaf).as_bytes(),
                )?;
                leaves += 1;
            }
            at = page_end;
        }
        out.flush()?;
        Ok(ExportSummary {
            start: from,
            end,
            leaves,
            checkpoints: earlier.len(),
        })
    }
}

/// Most earlier checkpoints an export embeds: about 200 bytes each keeps the
/// header line well under [`yrdx_signing::MAX_HEADER_LINE`].
pub const EXPORT_CHECKPOINTS: usize = 50_000;

/// Leaves per read while exporting.
const EXPORT_PAGE: u64 = 4_096;

/// Node rows per statement (two parameters each).
const NODE_ROWS: usize = 500;

/// Keeps at most `max` of `items`, evenly spread, always the last.
fn thin<T>(items: Vec<T>, max: usize) -> Vec<T> {
    let n = items.len();
    if max == 0 {
        return Vec::new();
    }
    if n <= max {
        return items;
    }
    // Item i is kept when it is the last of its bucket of about n/max items.
    let bucket = |k: usize| k.saturating_mul(max) / n;
    items
        .into_iter()
        .enumerate()
        .filter(|(i, _)| *i + 1 == n || bucket(*i) != bucket(*i + 1))
        .map(|(_, item)| item)
        .collect()
}

/// The integrator's lease: at most one integrator works at a time. Where the
/// dialects differ this is the only seam — PostgreSQL has session advisory
/// locks; an SQLite file is written by one process, which holds the lease
/// trivially. Correctness never rests on the lease alone (the integration
/// transaction is a compare-and-set on the tree size); the lease keeps
/// several nodes from doing the same work.
pub trait Lease: Send + std::fmt::Debug {
    /// Whether this integrator holds the lease now, taking it if it is free.
    fn hold(&mut self) -> Pin<Box<dyn Future<Output = Result<bool, StoreError>> + Send + '_>>;
    /// Gives the lease up.
    fn release(&mut self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// The lease on SQLite: the process that writes the file holds it.
#[derive(Debug, Default)]
pub struct ProcessLease;

impl Lease for ProcessLease {
    fn hold(&mut self) -> Pin<Box<dyn Future<Output = Result<bool, StoreError>> + Send + '_>> {
        Box::pin(async { Ok(true) })
    }
    fn release(&mut self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async {})
    }
}

/// The lease on PostgreSQL: a session advisory lock held on a connection of
/// its own, released by PostgreSQL itself if this process dies or the
/// connection breaks. A node that does not hold the lease keeps its
/// connection too and tries again on it at each call, so waiting costs one
/// query per call and no reconnection.
#[derive(Debug)]
pub struct AdvisoryLease {
    pool: AnyPool,
    // Detached from the pool: dropping it closes the session, and with it the
    // lock, instead of handing a locked session to another pool user.
    conn: Option<AnyConnection>,
    held: bool,
}

/// The advisory lock key: "yrdxlog1" as a big-endian integer. Advisory locks
/// are per database, so one key serves every log.
const ADVISORY_KEY: i64 = 0x7972_6478_6c6f_6731;

/// TCP keepalives on the lease session, so that PostgreSQL notices a lease
/// holder whose machine vanished (no FIN ever comes) within about
/// idle + interval × count = 4 s and frees the lock. A holder that merely
/// dies (SIGKILL, crash) closes its socket and frees the lock at once.
const LEASE_KEEPALIVES: &str =
    "SET tcp_keepalives_idle = 2; SET tcp_keepalives_interval = 1; SET tcp_keepalives_count = 2";

impl AdvisoryLease {
    /// A lease on the database of `store`, not yet taken.
    pub fn new(store: &Store) -> AdvisoryLease {
        AdvisoryLease {
            pool: store.pool().clone(),
            conn: None,
            held: false,
        }
    }
}

impl Lease for AdvisoryLease {
    fn hold(&mut self) -> Pin<Box<dyn Future<Output = Result<bool, StoreError>> + Send + '_>> {
        Box::pin(async move {
            if self.held {
                if let Some(conn) = self.conn.as_mut() {
                    // Still ours while the session lives.
                    if sqlx::query("SELECT 1").execute(&mut *conn).await.is_ok() {
                        return Ok(true);
                    }
                }
                tracing::warn!("exchange log integrator lost its lease connection");
                self.conn = None;
                self.held = false;
            }
            let conn = match self.conn.as_mut() {
                Some(conn) => conn,
                None => {
                    let mut conn = self
                        .pool
                        .acquire()
                        .await
                        .map_err(StoreError::query("taking the integrator lease"))?
                        .detach();
                    // Best effort: a server that refuses them still frees the
                    // lock when the session ends.
                    if let Err(e) = sqlx::raw_sql(LEASE_KEEPALIVES).execute(&mut conn).await {
                        tracing::debug!(error = %e, "lease session keepalives not set");
                    }
                    self.conn.insert(conn)
                }
            };
            let taken = sqlx::query("SELECT pg_try_advisory_lock($1)")
                .bind(ADVISORY_KEY)
                .fetch_one(&mut *conn)
                .await
                .and_then(|row| row.try_get::<bool, _>(0));
            match taken {
                Ok(taken) => {
                    self.held = taken;
                    Ok(taken)
                }
                Err(e) => {
                    // A broken session: open a new one next time.
                    self.conn = None;
                    Err(StoreError::query("taking the integrator lease")(e))
                }
            }
        })
    }

    fn release(&mut self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            if let Some(mut conn) = self.conn.take() {
                if self.held {
                    let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
                        .bind(ADVISORY_KEY)
                        .execute(&mut conn)
                        .await;
                }
                let _ = sqlx::Connection::close(conn).await;
            }
            self.held = false;
        })
    }
}

/// The lease for `store`'s backend.
pub fn lease_for(store: &Store) -> Box<dyn Lease> {
    match store.backend() {
        Backend::Sqlite => Box::new(ProcessLease),
        Backend::Postgres => Box::new(AdvisoryLease::new(store)),
    }
}

/// Integrates appended leaves into the tree and signs checkpoints.
#[derive(Debug)]
pub struct Integrator {
    store: Store,
    signer: Arc<NoteSigner>,
    origin: String,
    alg: HashAlg,
    lease: Box<dyn Lease>,
    // The right edge of the tree as last integrated by this integrator; None
    // until loaded, and again after a failed or raced integration.
    frontier: Option<Frontier>,
}

impl Integrator {
    /// An integrator for the log in `store`, which must exist; `signer`'s
    /// name must be the log's origin (clients look keys up by origin).
    pub async fn new(store: Store, signer: Arc<NoteSigner>) -> Result<Integrator, LogError> {
        let info = store.log_info().await?.ok_or(LogError::NoLog)?;
        if signer.name() != info.origin {
            return Err(LogError::KeyName {
                key: signer.name().to_owned(),
                origin: info.origin,
            });
        }
        let lease = lease_for(&store);
        Ok(Integrator {
            store,
            signer,
            origin: info.origin,
            alg: info.alg,
            lease,
            frontier: None,
        })
    }

    /// The public key of the checkpoints this integrator signs.
    pub fn verifier_key(&self) -> VerifierKey {
        self.signer.verifier_key()
    }

    /// Gives the lease up (at shutdown).
    pub async fn release(&mut self) {
        self.lease.release().await;
        self.frontier = None;
    }

    /// Integrates every leaf appended before the call, if this integrator holds the
    /// lease, signing a checkpoint per transaction of at most
    /// [`INTEGRATE_CHUNK`] leaves. The empty log gets a checkpoint of size 0,
    /// so there is always one to serve.
    pub async fn integrate(&mut self, now_ms: i64) -> Result<Integration, LogError> {
        if !self.lease.hold().await? {
            self.frontier = None;
            return Ok(Integration::NotLeader);
        }
        let mut last = None;
        // The leaves appended when the call began, and no more: under load
        // new ones keep arriving, and chasing them would sign a checkpoint
        // (and commit a transaction) per handful of leaves. They wait for the
        // next call.
        let mut target = None;
        loop {
            let tree = self.store.log_tree_size().await?;
            let log = match target {
                Some(log) => log,
                None => {
                    let log = self.store.log_size().await?;
                    if log < tree.get() {
                        return Err(StoreError::Corrupt(format!(
                            "the tree covers {tree} leaves but the log holds {log}"
                        ))
                        .into());
                    }
                    *target.insert(log)
                }
            };
            if log <= tree.get()
                && (tree.get() > 0 || self.store.latest_checkpoint().await?.is_some())
            {
                return Ok(last.map_or(Integration::UpToDate(tree), Integration::Signed));
            }
            let end = log.min(tree.get() + INTEGRATE_CHUNK);
            match self.step(tree, end, now_ms).await {
                Ok(Some(cp)) => last = Some(cp),
                Ok(None) => {
                    self.frontier = None;
                    return Ok(Integration::Raced);
                }
                Err(e) => {
                    self.frontier = None;
                    return Err(e);
                }
            }
        }
    }

    /// Integrates leaves `[tree, end)`; `None` if another integrator moved
    /// the tree first.
    async fn step(
        &mut self,
        tree: TreeSize,
        end: u64,
        now_ms: i64,
    ) -> Result<Option<StoredCheckpoint>, LogError> {
        let mut frontier = match self.frontier.take() {
            Some(f) if f.size() == tree => f,
            _ => {
                let hashes = self.store.log_nodes(&frontier_nodes(tree)).await?;
                Frontier::from_hashes(self.alg, tree, hashes)?
            }
        };
        let leaves = self.store.log_leaves(tree.get(), end).await?;
        let mut nodes = Vec::with_capacity(leaves.len() * 2);
        let mut expected = tree.get();
        for leaf in &leaves {
            if leaf.index != expected {
                return Err(StoreError::Corrupt(format!("log leaf {expected} is missing")).into());
            }
            let hash = leaf_hash(self.alg, &leaf.leaf);
            if hash.as_bytes().as_slice() != leaf.leaf_hash.as_slice() {
                return Err(StoreError::Corrupt(format!(
                    "log leaf {expected}: stored leaf hash does not match the leaf"
                ))
                .into());
            }
            nodes.extend(frontier.push(hash)?);
            expected += 1;
        }
        if expected != end {
            return Err(StoreError::Corrupt(format!("log leaf {expected} is missing")).into());
        }
        let size = frontier.size();
        let root = frontier.root();
        let note = Checkpoint::of_log(&self.origin, self.alg, size, root)?.sign(&self.signer)?;
        let written = write(&self.store, tree, size, &nodes, root, &note, now_ms)
            .await
            .map_err(LogError::Store)?;
        if !written {
            return Ok(None);
        }
        self.frontier = Some(frontier);
        Ok(Some(StoredCheckpoint {
            size,
            root,
            note,
            time_ms: now_ms,
        }))
    }
}

/// One transaction: move the tree size from `from` to `to` (or nothing, if
/// it no longer is `from`), insert the nodes and the checkpoint.
#[allow(clippy::too_many_arguments, reason = "one transaction's inputs")]
async fn write(
    store: &Store,
    from: TreeSize,
    to: TreeSize,
    nodes: &[(NodeId, Hash)],
    root: Hash,
    note: &str,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let mut writer = store.writer().await;
    let mut tx = writer
        .begin()
        .await
        .map_err(StoreError::query("starting a tree integration"))?;
    // First statement and a write: takes the write lock (SQLite) or the
    // row lock (PostgreSQL) at once, so integrations serialise here.
    let moved = sqlx::query("UPDATE log_tree SET size = $1 WHERE id = 1 AND size = $2")
        .bind(to_i64(to.get())?)
        .bind(to_i64(from.get())?)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::query("advancing the tree size"))?
        .rows_affected();
    if moved != 1 {
        tx.rollback()
            .await
            .map_err(StoreError::query("rolling back a raced integration"))?;
        return Ok(false);
    }
    for chunk in nodes.chunks(NODE_ROWS) {
        let values = store.backend().placeholders(1, 2, chunk.len());
        // Built from placeholders only; every value is bound.
        let mut q = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO log_nodes (id, hash) VALUES {values}"
        )));
        for (id, hash) in chunk {
            q = q
                .bind(to_i64(id.storage_index())?)
                .bind(hash.as_bytes().to_vec());
        }
        q.execute(&mut *tx)
            .await
            .map_err(StoreError::query("inserting tree nodes"))?;
    }
    // The leaves' hourly counts (migration 0008), in the same transaction:
    // they cover exactly what the checkpoint does.
    sqlx::query(sqlx::AssertSqlSafe(count_hours(store.backend())))
        .bind(to_i64(from.get())?)
        .bind(to_i64(to.get())?)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::query("counting the leaves per hour"))?;
    sqlx::query(
        "INSERT INTO log_checkpoints (size, root, note, time_ms) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (size) DO NOTHING",
    )
    .bind(to_i64(to.get())?)
    .bind(root.as_bytes().to_vec())
    .bind(note)
    .bind(now_ms)
    .execute(&mut *tx)
    .await
    .map_err(StoreError::query("storing a checkpoint"))?;
    tx.commit()
        .await
        .map_err(StoreError::query("committing a tree integration"))?;
    Ok(true)
}

/// The statement adding leaves `[$1, $2)` to the hourly counts `log_hours`
/// reads: by hour of `time_ms`, consumer, provider, resource, list entry (the
/// record's `entry`, which has no column of its own), outcome and code, `-`
/// for what a record lacks. Built from fixed text only.
fn count_hours(backend: Backend) -> String {
    let entry = match backend {
        Backend::Sqlite => "json_extract(CAST(leaf AS TEXT), '$.entry')",
        Backend::Postgres => "convert_from(leaf, 'UTF8')::jsonb ->> 'entry'",
    };
    format!(
        "INSERT INTO log_hours (hour_ms, consumer, provider, resource, entry, outcome, code, count) \
         SELECT (time_ms / 3600000) * 3600000, COALESCE(consumer, '-'), COALESCE(provider, '-'), \
                COALESCE(resource, '-'), COALESCE({entry}, '-'), outcome, COALESCE(code, '-'), COUNT(*) \
         FROM log_leaves WHERE idx >= $1 AND idx < $2 \
         GROUP BY 1, 2, 3, 4, 5, 6, 7 \
         ON CONFLICT (hour_ms, consumer, provider, resource, entry, outcome, code) \
         DO UPDATE SET count = log_hours.count + excluded.count"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinning_keeps_the_bound_and_the_last() {
        let items: Vec<u32> = (0..1000).collect();
        let kept = thin(items.clone(), 10);
        assert!(kept.len() <= 10, "{kept:?}");
        assert_eq!(kept.last(), Some(&999));
        assert_eq!(thin(items.clone(), 2000), items);
        let kept = thin((0..7).collect::<Vec<u32>>(), 3);
        assert_eq!(kept.len(), 3, "{kept:?}");
        assert!(thin(items, 0).is_empty());
    }
}
