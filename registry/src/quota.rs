//! Period quotas in the store: per-day and per-month counts per list entry and
//! consumer, exact across gateway nodes and restarts: no more calls are ever
//! granted than the limit.
//!
//! A call is decided inside a transaction that holds the counter row locked
//! (SQLite's write lock, PostgreSQL's row lock). A node does not pay that
//! transaction on every call: [`QuotaCounter`] takes a *reservation* of a block
//! of calls from the counter in the same transaction and grants the following
//! calls from it in memory. The store keeps each node's reservation
//! (`quota_leases`), so every node decides against the count *plus* the others'
//! reservations and the sum never passes the limit. A reservation is sized to
//! last about one write-back interval at the pace the node spent its previous
//! one (at least 256 calls, at most 65,536), so a busy node goes to the store
//! about once a second per counter rather than every 256 calls. Blocks are
//! small when little is left — a reservation takes at most a quarter of the
//! remaining calls divided by the live nodes — and none is taken for the last
//! few calls, which are then decided one transaction each. A node writes back
//! the calls it spent and renews its reservations every second, returns them
//! when it stops, and the reservations of a node that stopped renewing them
//! (it crashed) count as spent once they are older than the lease time: a
//! crash may cost the consumer calls it did not make (at most a reservation,
//! about a second of that node's calls), never grant one too many.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::Row;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};
use tokio::sync::{mpsc, oneshot};

use crate::clock::now_ms;
use crate::error::StoreError;
use crate::model::Quota;
use crate::store::{Backend, Store, column};

/// China Standard Time: days and months of quotas are counted in it (the
/// report module reads it from here too).
pub(crate) use crate::clock::CST;

/// Which period ran out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuotaPeriod {
    /// The calendar day.
    Day,
    /// The calendar month.
    Month,
}

/// The result of taking one call from an entry's period quotas.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Taken {
    /// Taken; the stored counts after this call, where limited and where the
    /// call was decided in the store (`None` for a call granted from a node's
    /// reservation, whose count reaches the store within a second).
    Granted {
        /// Calls today, this one included.
        day: Option<u64>,
        /// Calls this month, this one included.
        month: Option<u64>,
    },
    /// The period's limit is reached.
    Exhausted {
        /// Which period.
        period: QuotaPeriod,
        /// Seconds until it starts again.
        retry_after_s: u64,
    },
}

/// How a node counts its calls; see [`QuotaCounter`].
#[derive(Clone, Debug)]
pub struct QuotaOptions {
    /// The node's name, which its reservations are stored under.
    pub node: String,
    /// Most calls decided in one transaction.
    pub max_batch: usize,
    /// Most calls waiting for a transaction.
    pub queue: usize,
    /// Fewest calls a reservation is sized for (fewer when little is left).
    pub min_reservation: u64,
    /// Most calls one reservation holds; 0 decides every call in the store.
    pub max_reservation: u64,
    /// How often spent calls are written back and reservations renewed.
    pub flush_interval: Duration,
    /// How long a reservation outlives its last renewal before another node
    /// counts it as spent.
    pub lease_ttl: Duration,
}

impl QuotaOptions {
    /// The defaults for node `node`: batches of 256, blocks of 256 to 65,536
    /// calls, written back every second, counted as spent 10 s after their
    /// node stopped renewing them.
    pub fn new(node: &str) -> QuotaOptions {
        QuotaOptions {
            node: node.to_owned(),
            max_batch: 256,
            queue: 4096,
            min_reservation: 256,
            max_reservation: 65_536,
            flush_interval: Duration::from_secs(1),
            lease_ttl: Duration::from_secs(10),
        }
    }
}

/// A reservation takes at most 1 / (this × live nodes) of the calls left.
const SHARE: u64 = 4;

/// A call granted without a stored count to report: from a reservation, or
/// on an entry without period limits.
const GRANTED_UNCOUNTED: Taken = Taken::Granted {
    day: None,
    month: None,
};

/// The answer for an entry without period limits, which never touches the
/// store.
fn unlimited(quota: &Quota) -> Option<Taken> {
    (quota.per_day.is_none() && quota.per_month.is_none()).then_some(GRANTED_UNCOUNTED)
}

/// One counter row: an entry's calls by one consumer in one period.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct CounterId {
    entry: String,
    consumer: String,
    period: String,
}

/// Binds a [`CounterId`] as the next three parameters: entry, consumer, period.
trait BindCounter<'q> {
    fn bind_counter(self, id: &'q CounterId) -> Self;
}

impl<'q> BindCounter<'q> for sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    fn bind_counter(self, id: &'q CounterId) -> Self {
        self.bind(&id.entry).bind(&id.consumer).bind(&id.period)
    }
}

/// The counter rows a call under `quota` at `now` draws on, with their limits.
fn counters(
    entry: &str,
    consumer: &str,
    quota: &Quota,
    now: OffsetDateTime,
) -> Vec<(CounterId, u64, QuotaPeriod)> {
    let (day, month) = period_keys(now);
    [
        (day, quota.per_day, QuotaPeriod::Day),
        (month, quota.per_month, QuotaPeriod::Month),
    ]
    .into_iter()
    .filter_map(|(period, limit, which)| {
        limit.map(|limit| {
            (
                CounterId {
                    entry: entry.to_owned(),
                    consumer: consumer.to_owned(),
                    period,
                },
                limit,
                which,
            )
        })
    })
    .collect()
}

/// This node's reservation on one counter: calls it may still grant, and
/// calls granted from it that the store has not yet been told of. The stored
/// reservation is their sum. `taken` is what it held when taken, at
/// `taken_at`: the pace at which it is spent sizes the next one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Lease {
    held: u64,
    spent: u64,
    taken: u64,
    taken_at: Option<Instant>,
}

/// What the counting task and the callers share.
#[derive(Debug)]
struct Shared {
    leases: Mutex<HashMap<CounterId, Lease>>,
    live_nodes: AtomicU32,
}

impl Shared {
    fn leases(&self) -> std::sync::MutexGuard<'_, HashMap<CounterId, Lease>> {
        // A panic while holding the lock left whole numbers behind; go on.
        self.leases.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Grants one call from the reservations on every counter in `ids`, if
    /// each still holds one.
    fn spend(&self, ids: &[(CounterId, u64, QuotaPeriod)]) -> bool {
        let mut leases = self.leases();
        if !ids
            .iter()
            .all(|(id, _, _)| leases.get(id).is_some_and(|l| l.held > 0))
        {
            return false;
        }
        for (id, _, _) in ids {
            if let Some(l) = leases.get_mut(id) {
                l.held -= 1;
                l.spent += 1;
            }
        }
        true
    }
}

/// One call waiting to be counted.
struct Take {
    entry: String,
    consumer: String,
    quota: Quota,
    now: OffsetDateTime,
    reply: oneshot::Sender<Result<Taken, StoreError>>,
}

enum Job {
    Take(Take),
    Close(oneshot::Sender<()>),
}

/// Counts one node's calls against period quotas. A call its reservations
/// cover is granted at once, in memory; the others wait for the next batch:
/// every call that arrives while a batch commits joins the next one, and a
/// batch is one transaction in which each call is decided in turn against the
/// stored count and the other nodes' reservations, after which a fresh
/// reservation is taken (see the module's documentation).
#[derive(Clone, Debug)]
pub struct QuotaCounter {
    tx: mpsc::Sender<Job>,
    shared: Arc<Shared>,
}

impl QuotaCounter {
    /// Starts the counting task on `store`.
    pub fn start(store: Store, options: QuotaOptions) -> QuotaCounter {
        let (tx, rx) = mpsc::channel(options.queue.max(1));
        let shared = Arc::new(Shared {
            leases: Mutex::default(),
            live_nodes: AtomicU32::new(1),
        });
        tokio::spawn(count_batches(store, rx, shared.clone(), options));
        QuotaCounter { tx, shared }
    }

    /// Tells the counter how many nodes share the store now, this one
    /// included; reservations are sized by it.
    pub fn set_live_nodes(&self, nodes: u32) {
        self.shared
            .live_nodes
            .store(nodes.max(1), Ordering::Relaxed);
    }

    /// Takes one call from `quota` for `consumer` of `entry`.
    pub async fn take(
        &self,
        entry: &str,
        consumer: &str,
        quota: &Quota,
        now: OffsetDateTime,
    ) -> Result<Taken, StoreError> {
        if let Some(free) = unlimited(quota) {
            return Ok(free);
        }
        if self.shared.spend(&counters(entry, consumer, quota, now)) {
            return Ok(GRANTED_UNCOUNTED);
        }
        let (reply, answer) = oneshot::channel();
        let job = Take {
            entry: entry.to_owned(),
            consumer: consumer.to_owned(),
            quota: *quota,
            now,
            reply,
        };
        self.tx
            .send(Job::Take(job))
            .await
            .map_err(|_| StoreError::Unavailable("the quota counter has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable("the quota counter dropped a call".into()))?
    }

    /// Writes back every spent call and returns every unspent reservation,
    /// then stops: for a graceful shutdown, after the last exchange.
    pub async fn close(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Job::Close(done)).await.is_ok() {
            let _ = wait.await;
        }
    }
}

async fn count_batches(
    store: Store,
    mut rx: mpsc::Receiver<Job>,
    shared: Arc<Shared>,
    options: QuotaOptions,
) {
    let max_batch = options.max_batch.max(1);
    let mut jobs = Vec::with_capacity(max_batch);
    let mut tick = tokio::time::interval(options.flush_interval.max(Duration::from_millis(10)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut closing = None;
    while closing.is_none() {
        tokio::select! {
            // Whatever waits, up to `max_batch`; 0 once every sender is gone.
            n = rx.recv_many(&mut jobs, max_batch) => if n == 0 { break },
            _ = tick.tick() => {
                flush(&store, &shared, &options, false).await;
                continue;
            }
        }
        let mut batch = Vec::with_capacity(jobs.len());
        for job in jobs.drain(..) {
            match job {
                // Calls that queued while the previous batch took fresh
                // reservations are granted from them, without a transaction
                // (which would take the reservations back while it ran).
                Job::Take(t) if shared.spend(&counters(&t.entry, &t.consumer, &t.quota, t.now)) => {
                    let _ = t.reply.send(Ok(GRANTED_UNCOUNTED));
                }
                Job::Take(t) => batch.push(t),
                Job::Close(done) => closing = Some(done),
            }
        }
        if batch.is_empty() {
            continue;
        }
        let asks: Vec<Ask<'_>> = batch
            .iter()
            .map(|t| Ask {
                entry: &t.entry,
                consumer: &t.consumer,
                quota: &t.quota,
                now: t.now,
            })
            .collect();
        let lessee = Lessee {
            node: &options.node,
            shared: &shared,
            min_reservation: options.min_reservation,
            max_reservation: options.max_reservation,
            interval: options.flush_interval,
        };
        let counted = count_batch(&store, &asks, Some(&lessee), millis(options.lease_ttl)).await;
        drop(asks);
        match counted {
            Ok(results) => {
                for (job, result) in batch.into_iter().zip(results) {
                    let _ = job.reply.send(Ok(result));
                }
            }
            Err(e) => {
                // Rolled back: none of the batch's calls was counted, and
                // every one of them is refused.
                tracing::error!(error = %e, calls = batch.len(), "quota batch failed");
                for job in batch {
                    let _ = job.reply.send(Err(StoreError::Unavailable(format!(
                        "quota batch failed: {e}"
                    ))));
                }
            }
        }
    }
    flush(&store, &shared, &options, true).await;
    if let Some(done) = closing {
        let _ = done.send(());
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The node a batch takes reservations for, and how it sizes them.
struct Lessee<'a> {
    node: &'a str,
    shared: &'a Shared,
    min_reservation: u64,
    max_reservation: u64,
    interval: Duration,
}

impl Lessee<'_> {
    /// The calls a reservation replacing `last` should hold, before the
    /// share of what is left caps it: what `last` saw spent per `interval`,
    /// within the bounds; never less than `last` before it has lasted an
    /// interval, so that a short window does not shrink it.
    fn wanted(&self, last: &Lease) -> u64 {
        let paced = last.taken_at.map_or(0, |at| {
            let used = u128::from(last.taken.saturating_sub(last.held));
            let elapsed = at.elapsed();
            let paced = used * self.interval.as_micros() / elapsed.as_micros().max(1);
            let paced = u64::try_from(paced).unwrap_or(u64::MAX);
            if elapsed < self.interval {
                paced.max(last.taken)
            } else {
                paced
            }
        });
        paced.max(self.min_reservation).min(self.max_reservation)
    }
}

/// One call to count: whose, on which entry, under which limits, when.
struct Ask<'a> {
    entry: &'a str,
    consumer: &'a str,
    quota: &'a Quota,
    now: OffsetDateTime,
}

/// A counter row as a batch found it and as it leaves it.
struct Counter {
    limit: u64,
    /// Calls counted in the store, as stored and as decided.
    stored: i64,
    count: i64,
    /// Calls the other live nodes hold in reservations.
    others: i64,
    /// Whether this node had a reservation row on it.
    leased: bool,
    /// The calls a fresh reservation should hold, before the share caps it.
    wanted: u64,
}

/// Counts `asks` in order in one transaction, for `lessee`'s node if given
/// (else decides each call in the store, as [`Store::take_quota`]).
///
/// Every counter row the batch touches is locked once, in a fixed order
/// (so that nodes cannot deadlock): its count read, the reservations of nodes
/// that stopped renewing them counted as spent, this node's own reservation
/// settled (what it no longer holds was spent) and given back. Then each call
/// is decided in turn against count + the other nodes' reservations (the day
/// first, then the month; a refused call counts nowhere), and a fresh
/// reservation is taken from what is left.
async fn count_batch(
    store: &Store,
    asks: &[Ask<'_>],
    lessee: Option<&Lessee<'_>>,
    ttl_ms: i64,
) -> Result<Vec<Taken>, StoreError> {
    let mut writer = store.writer().await;
    let mut tx = writer
        .begin()
        .await
        .map_err(StoreError::query("starting a quota update"))?;
    let me = lessee.map(|l| l.node).unwrap_or_default();
    let now = now_ms();
    // The rows the batch needs, in order.
    let mut ids: BTreeMap<CounterId, (u64, QuotaPeriod)> = BTreeMap::new();
    let mut per_ask = Vec::with_capacity(asks.len());
    for ask in asks {
        let c = counters(ask.entry, ask.consumer, ask.quota, ask.now);
        for (id, limit, period) in &c {
            ids.insert(id.clone(), (*limit, *period));
        }
        per_ask.push(c);
    }
    // This node's reservations are taken out of the shared map: the fast path
    // cannot spend them while the batch settles them, and fresh ones go back
    // only after the commit. Should the batch fail, the store still holds the
    // old reservation, which the next batch counts as spent.
    let mut rows: HashMap<CounterId, Counter> = HashMap::new();
    for (id, (limit, _)) in &ids {
        let stored: i64 = sqlx::query(
            "INSERT INTO quota_usage (entry, consumer, period, count) VALUES ($1, $2, $3, 0) \
             ON CONFLICT (entry, consumer, period) DO UPDATE SET count = quota_usage.count \
             RETURNING count",
        )
        .bind_counter(id)
        .fetch_one(&mut *tx)
        .await
        .and_then(|row| row.try_get(0))
        .map_err(StoreError::query("reading a quota counter"))?;
        let mut count = stored;
        let sql = format!(
            "SELECT node, units, CAST(CASE WHEN renewed_ms < {now} - $4 THEN 1 ELSE 0 END AS BIGINT) \
             FROM quota_leases WHERE entry = $1 AND consumer = $2 AND period = $3 ORDER BY node",
            now = store.now_sql(5)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind_counter(id)
            .bind(ttl_ms);
        if store.backend() == Backend::Sqlite {
            q = q.bind(now);
        }
        let leases = q
            .fetch_all(&mut *tx)
            .await
            .map_err(StoreError::query("reading quota reservations"))?;
        let mut others = 0i64;
        let mut leased = false;
        let held = lessee
            .and_then(|l| l.shared.leases().remove(id))
            .unwrap_or_default();
        for lease in &leases {
            let what = "reading quota reservations";
            let node: String = column(lease, 0, what)?;
            let units: i64 = column(lease, 1, what)?;
            let stale: i64 = column(lease, 2, what)?;
            if lessee.is_some() && node == me {
                // All of it that this node no longer holds was spent.
                leased = true;
                let held = i64::try_from(held.held).unwrap_or(i64::MAX).min(units);
                count += units - held;
            } else if stale != 0 {
                // Its node stopped renewing it: count it spent, once.
                count += units;
                sqlx::query(
                    "DELETE FROM quota_leases WHERE entry = $1 AND consumer = $2 AND period = $3 AND node = $4",
                )
                .bind_counter(id)
                .bind(&node)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::query("reclaiming a lapsed quota reservation"))?;
                tracing::warn!(
                    node,
                    units,
                    entry = id.entry,
                    consumer = id.consumer,
                    period = id.period,
                    "a node's quota reservation lapsed; its calls count as spent"
                );
            } else {
                others += units;
            }
        }
        rows.insert(
            id.clone(),
            Counter {
                limit: *limit,
                stored,
                count,
                others,
                leased,
                wanted: lessee.map_or(0, |l| l.wanted(&held)),
            },
        );
    }
    let mut results = Vec::with_capacity(asks.len());
    for (ask, c) in asks.iter().zip(&per_ask) {
        results.push(decide(&mut rows, ask.now, c));
    }
    // Fresh reservations from what is left, and the rows that changed.
    let nodes = lessee.map_or(1, |l| {
        u64::from(l.shared.live_nodes.load(Ordering::Relaxed).max(1))
    });
    let mut fresh = Vec::new();
    for (id, row) in &rows {
        if row.count != row.stored {
            sqlx::query(
                "UPDATE quota_usage SET count = $1 WHERE entry = $2 AND consumer = $3 AND period = $4",
            )
            .bind(row.count)
            .bind_counter(id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::query("counting a quota"))?;
        }
        let Some(lessee) = lessee else { continue };
        let left = u64::try_from(row.count.saturating_add(row.others))
            .map_or(0, |used| row.limit.saturating_sub(used));
        let units = row.wanted.min(left / (SHARE * nodes));
        if units > 0 {
            let sql = format!(
                "INSERT INTO quota_leases (entry, consumer, period, node, units, renewed_ms) \
                 VALUES ($1, $2, $3, $4, $5, {now}) \
                 ON CONFLICT (entry, consumer, period, node) \
                 DO UPDATE SET units = excluded.units, renewed_ms = excluded.renewed_ms",
                now = store.now_sql(6)
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind_counter(id)
                .bind(lessee.node)
                .bind(i64::try_from(units).unwrap_or(i64::MAX));
            if store.backend() == Backend::Sqlite {
                q = q.bind(now);
            }
            q.execute(&mut *tx)
                .await
                .map_err(StoreError::query("reserving quota calls"))?;
            fresh.push((id.clone(), units));
        } else if row.leased {
            sqlx::query(
                "DELETE FROM quota_leases WHERE entry = $1 AND consumer = $2 AND period = $3 AND node = $4",
            )
            .bind_counter(id)
            .bind(lessee.node)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::query("giving back quota calls"))?;
        }
    }
    tx.commit()
        .await
        .map_err(StoreError::query("committing a quota update"))?;
    if let Some(lessee) = lessee {
        let mut leases = lessee.shared.leases();
        for (id, units) in fresh {
            leases.insert(
                id,
                Lease {
                    held: units,
                    spent: 0,
                    taken: units,
                    taken_at: Some(Instant::now()),
                },
            );
        }
    }
    Ok(results)
}

/// Decides one call against the running counts and the other nodes'
/// reservations, and counts it if granted.
fn decide(
    rows: &mut HashMap<CounterId, Counter>,
    now: OffsetDateTime,
    counters: &[(CounterId, u64, QuotaPeriod)],
) -> Taken {
    let mut after = [None, None];
    for (id, limit, period) in counters {
        let used = rows.get(id).map_or(0, |r| r.count.saturating_add(r.others));
        if u64::try_from(used).unwrap_or(0) >= *limit {
            return Taken::Exhausted {
                period: *period,
                retry_after_s: seconds_until_next(now, *period),
            };
        }
    }
    for (id, _, period) in counters {
        if let Some(row) = rows.get_mut(id) {
            row.count += 1;
            let slot = usize::from(*period == QuotaPeriod::Month);
            if let Some(a) = after.get_mut(slot) {
                *a = u64::try_from(row.count).ok();
            }
        }
    }
    let [day, month] = after;
    Taken::Granted { day, month }
}

/// Writes back the calls this node granted from its reservations and renews
/// them; returns those of periods that are over (or all of them, when
/// `all`). Calls spent meanwhile are written at the next flush; should the
/// transaction fail, everything is tried again at the next one.
async fn flush(store: &Store, shared: &Shared, options: &QuotaOptions, all: bool) {
    let (day, month) = period_keys(crate::clock::now());
    // What to write, taken under the lock: (row, still held, spent since the
    // last flush, whether the reservation ends).
    let mut work: Vec<(CounterId, Lease, bool)> = {
        let mut leases = shared.leases();
        if leases.is_empty() {
            return;
        }
        let mut work = Vec::new();
        leases.retain(|id, lease| {
            let over = all || (id.period != day && id.period != month);
            if over {
                work.push((id.clone(), *lease, true));
            } else if lease.spent > 0 {
                work.push((id.clone(), *lease, false));
                lease.spent = 0;
            }
            !over
        });
        work
    };
    work.sort_by(|a, b| a.0.cmp(&b.0));
    let result = write_back(store, &options.node, &work).await;
    match result {
        Ok(lapsed) => {
            if !lapsed.is_empty() {
                let mut leases = shared.leases();
                for id in lapsed {
                    leases.remove(&id);
                }
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "writing back quota counts failed; retrying at the next flush");
            let mut leases = shared.leases();
            for (id, lease, ended) in work {
                let slot = leases.entry(id).or_default();
                slot.spent += lease.spent;
                if ended {
                    slot.held += lease.held;
                }
            }
        }
    }
}

/// The transaction of [`flush`]; returns the rows whose reservation another
/// node counted as spent meanwhile (this node's calls on it were counted
/// then, and what it still held is gone).
async fn write_back(
    store: &Store,
    node: &str,
    work: &[(CounterId, Lease, bool)],
) -> Result<Vec<CounterId>, StoreError> {
    let mut writer = store.writer().await;
    let mut tx = writer
        .begin()
        .await
        .map_err(StoreError::query("starting a quota write-back"))?;
    let mut lapsed = Vec::new();
    for (id, lease, ended) in work {
        // The counter row first, as a batch locks it: no deadlock between nodes.
        sqlx::query(
            "UPDATE quota_usage SET count = count WHERE entry = $1 AND consumer = $2 AND period = $3",
        )
        .bind_counter(id)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::query("locking a quota counter"))?;
        let spent = i64::try_from(lease.spent).unwrap_or(i64::MAX);
        let sql = if *ended {
            "DELETE FROM quota_leases WHERE entry = $1 AND consumer = $2 AND period = $3 AND node = $4 RETURNING units"
        } else {
            "UPDATE quota_leases SET units = units - $5 WHERE entry = $1 AND consumer = $2 AND period = $3 AND node = $4 RETURNING units"
        };
        let mut q = sqlx::query(sql).bind_counter(id).bind(node);
        if !*ended {
            q = q.bind(spent);
        }
        let units: Option<i64> = q
            .fetch_optional(&mut *tx)
            .await
            .and_then(|row| row.map(|r| r.try_get(0)).transpose())
            .map_err(StoreError::query("settling a quota reservation"))?;
        let Some(units) = units else {
            lapsed.push(id.clone());
            continue;
        };
        // Ended: all of it but what is still held was spent.
        let counted = if *ended {
            units - i64::try_from(lease.held).unwrap_or(i64::MAX).min(units)
        } else {
            spent
        };
        if counted > 0 {
            sqlx::query(
                "UPDATE quota_usage SET count = count + $1 WHERE entry = $2 AND consumer = $3 AND period = $4",
            )
            .bind(counted)
            .bind_counter(id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::query("counting spent quota calls"))?;
        }
    }
    let sql = format!(
        "UPDATE quota_leases SET renewed_ms = {now} WHERE node = $1",
        now = store.now_sql(2)
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(node);
    if store.backend() == Backend::Sqlite {
        q = q.bind(now_ms());
    }
    q.execute(&mut *tx)
        .await
        .map_err(StoreError::query("renewing quota reservations"))?;
    tx.commit()
        .await
        .map_err(StoreError::query("committing a quota write-back"))?;
    Ok(lapsed)
}

/// The period keys of `now`: `d:YYYY-MM-DD` and `m:YYYY-MM`, China Standard Time.
pub fn period_keys(now: OffsetDateTime) -> (String, String) {
    let d = now.to_offset(CST).date();
    (
        format!(
            "d:{:04}-{:02}-{:02}",
            d.year(),
            u8::from(d.month()),
            d.day()
        ),
        format!("m:{:04}-{:02}", d.year(), u8::from(d.month())),
    )
}

/// Seconds from `now` until the next day (or month) begins in China Standard Time.
pub fn seconds_until_next(now: OffsetDateTime, period: QuotaPeriod) -> u64 {
    let local = now.to_offset(CST);
    let d = local.date();
    let next: Option<Date> = match period {
        QuotaPeriod::Day => d.next_day(),
        QuotaPeriod::Month => {
            let (y, m) = match d.month() {
                Month::December => (d.year() + 1, Month::January),
                m => (d.year(), m.next()),
            };
            Date::from_calendar_date(y, m, 1).ok()
        }
    };
    next.map(|n| PrimitiveDateTime::new(n, Time::MIDNIGHT).assume_offset(CST))
        .map(|start| (start - now).whole_seconds().max(1))
        .and_then(|s| u64::try_from(s).ok())
        .unwrap_or(86_400)
}

impl Store {
    /// Takes one call from the period quotas of `entry` for `consumer`,
    /// decided in the store on its own (no reservation). Entries without
    /// period limits are granted without touching the store.
    pub async fn take_quota(
        &self,
        entry: &str,
        consumer: &str,
        quota: &Quota,
        now: OffsetDateTime,
    ) -> Result<Taken, StoreError> {
        if let Some(free) = unlimited(quota) {
            return Ok(free);
        }
        let ask = Ask {
            entry,
            consumer,
            quota,
            now,
        };
        count_batch(
            self,
            std::slice::from_ref(&ask),
            None,
            millis(QuotaOptions::new("").lease_ttl),
        )
        .await?
        .pop()
        .ok_or_else(|| StoreError::Corrupt("a quota batch of one decided nothing".into()))
    }

    /// The calls of `entry` by every consumer in period `key` (`d:…` or
    /// `m:…`), by consumer: those counted plus those nodes hold in
    /// reservations, so at most a block per node more than were made until
    /// the nodes write back (within a second) or return them (when they stop).
    pub async fn quota_usage(
        &self,
        entry: &str,
        key: &str,
    ) -> Result<Vec<(String, u64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT u.consumer, u.count + CAST(COALESCE((SELECT SUM(l.units) FROM quota_leases l \
             WHERE l.entry = u.entry AND l.consumer = u.consumer AND l.period = u.period), 0) AS BIGINT) \
             FROM quota_usage u WHERE u.entry = $1 AND u.period = $2 ORDER BY u.consumer",
        )
        .bind(entry)
        .bind(key)
        .fetch_all(self.pool())
        .await
        .map_err(StoreError::query("reading quota usage"))?;
        rows.into_iter()
            .map(|row| {
                let consumer: String = column(&row, 0, "reading quota usage")?;
                let count: i64 = column(&row, 1, "reading quota usage")?;
                Ok((consumer, u64::try_from(count).unwrap_or(0)))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn periods_are_china_standard_time() {
        // 16:30 UTC on 31 January is already 1 February in Shanghai.
        let now = datetime!(2026-01-31 16:30 UTC);
        assert_eq!(
            period_keys(now),
            ("d:2026-02-01".into(), "m:2026-02".into())
        );
        assert_eq!(
            seconds_until_next(now, QuotaPeriod::Day),
            23 * 3600 + 30 * 60
        );
        let dec = datetime!(2026-12-31 15:59:59 UTC);
        assert_eq!(seconds_until_next(dec, QuotaPeriod::Month), 1);
    }
}
