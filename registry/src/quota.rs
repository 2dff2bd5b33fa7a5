//! Period quotas in the store: per-day and per-month counts per list entry and
//! consumer. A call is decided inside a transaction that holds the counter
//! rows locked (SQLite's write lock, PostgreSQL's row locks), so the count
//! never passes the limit — under concurrent requests and across gateway
//! nodes — and survives restarts. A node counts its calls in batches, one
//! transaction per batch (see [`QuotaCounter`]).

use std::collections::HashMap;

use sqlx::Row;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};
use tokio::sync::{mpsc, oneshot};

use crate::error::StoreError;
use crate::model::Quota;
use crate::store::Store;

/// China Standard Time: days and months of quotas are counted in it.
pub const CST: UtcOffset = match UtcOffset::from_hms(8, 0, 0) {
    Ok(o) => o,
    Err(_) => UtcOffset::UTC,
};

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
    /// Taken; the counts after this call, where limited.
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

/// The answer for an entry without period limits, which never touches the
/// store.
fn unlimited(quota: &Quota) -> Option<Taken> {
    (quota.per_day.is_none() && quota.per_month.is_none()).then_some(Taken::Granted {
        day: None,
        month: None,
    })
}

/// One call waiting to be counted.
struct Take {
    entry: String,
    consumer: String,
    quota: Quota,
    now: OffsetDateTime,
    reply: oneshot::Sender<Result<Taken, StoreError>>,
}

/// Counts calls against period quotas in batches: every call that arrives while
/// a batch commits joins the next one, and a batch is one transaction in which
/// each call is decided in turn, exactly as [`Store::take_quota`] would decide
/// it alone. One writer instead of one transaction per call keeps SQLite's
/// single write lock free of waiters and PostgreSQL's commits few; the counts
/// stay exact because each call still sees every earlier one.
#[derive(Clone, Debug)]
pub struct QuotaCounter {
    tx: mpsc::Sender<Take>,
}

impl QuotaCounter {
    /// Starts the counting task on `store`; batches hold at most `max_batch`
    /// calls and at most `queue` calls wait for one.
    pub fn start(store: Store, max_batch: usize, queue: usize) -> QuotaCounter {
        let (tx, rx) = mpsc::channel(queue.max(1));
        tokio::spawn(count_batches(store, rx, max_batch.max(1)));
        QuotaCounter { tx }
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
        let (reply, answer) = oneshot::channel();
        let job = Take {
            entry: entry.to_owned(),
            consumer: consumer.to_owned(),
            quota: *quota,
            now,
            reply,
        };
        self.tx
            .send(job)
            .await
            .map_err(|_| StoreError::Unavailable("the quota counter has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable("the quota counter dropped a call".into()))?
    }
}

async fn count_batches(store: Store, mut rx: mpsc::Receiver<Take>, max_batch: usize) {
    let mut batch = Vec::with_capacity(max_batch);
    // Whatever waits, up to `max_batch`; 0 once every sender is gone.
    while rx.recv_many(&mut batch, max_batch).await > 0 {
        let asks: Vec<Ask<'_>> = batch
            .iter()
            .map(|t| Ask {
                entry: &t.entry,
                consumer: &t.consumer,
                quota: &t.quota,
                now: t.now,
            })
            .collect();
        let counted = count_batch(&store, &asks).await;
        drop(asks);
        match counted {
            Ok(results) => {
                for (job, result) in batch.drain(..).zip(results) {
                    let _ = job.reply.send(Ok(result));
                }
            }
            Err(e) => {
                // Rolled back: none of the batch's calls was counted, and
                // every one of them is refused.
                tracing::error!(error = %e, calls = batch.len(), "quota batch failed");
                for job in batch.drain(..) {
                    let _ = job.reply.send(Err(StoreError::Unavailable(format!(
                        "quota batch failed: {e}"
                    ))));
                }
            }
        }
    }
}

/// One call to count: whose, on which entry, under which limits, when.
struct Ask<'a> {
    entry: &'a str,
    consumer: &'a str,
    quota: &'a Quota,
    now: OffsetDateTime,
}

/// Counts `asks` in order in one transaction. Calls of the same consumer on
/// the same entry in the same periods share their counter rows: the rows are
/// locked once, every call is decided against the running counts in memory
/// (the day first, then the month; a refused call counts nowhere), and the
/// counts that changed are written once. At most four statements per
/// consumer and entry in the batch, however many calls they made.
async fn count_batch(store: &Store, asks: &[Ask<'_>]) -> Result<Vec<Taken>, StoreError> {
    let _gate = store.write_gate().await;
    let mut tx = store
        .begin_usage_write()
        .await
        .map_err(StoreError::query("starting a quota update"))?;
    // Counter rows by (entry, consumer, period key), as read and as decided.
    let mut counts: HashMap<(&str, &str, String), i64> = HashMap::new();
    let mut read = HashMap::new();
    let mut results = Vec::with_capacity(asks.len());
    for ask in asks {
        let (day_key, month_key) = period_keys(ask.now);
        let periods = [
            (day_key, ask.quota.per_day, QuotaPeriod::Day),
            (month_key, ask.quota.per_month, QuotaPeriod::Month),
        ];
        // Bring the rows this call needs into `counts`, locking them.
        for (key, limit, _) in &periods {
            let id = (ask.entry, ask.consumer, key.clone());
            if limit.is_none() || counts.contains_key(&id) {
                continue;
            }
            // One statement creates the row if need be, locks it (a no-op
            // update takes the row lock on PostgreSQL; SQLite's write lock is
            // already held) and reads its count.
            let count: i64 = sqlx::query(
                "INSERT INTO quota_usage (entry, consumer, period, count) VALUES ($1, $2, $3, 0) \
                 ON CONFLICT (entry, consumer, period) DO UPDATE SET count = quota_usage.count \
                 RETURNING count",
            )
            .bind(ask.entry)
            .bind(ask.consumer)
            .bind(key)
            .fetch_one(&mut *tx)
            .await
            .and_then(|row| row.try_get(0))
            .map_err(StoreError::query("reading a quota counter"))?;
            read.insert(id.clone(), count);
            counts.insert(id, count);
        }
        results.push(decide(&mut counts, ask, periods));
    }
    for (id, count) in &counts {
        if read.get(id) == Some(count) {
            continue;
        }
        let (entry, consumer, key) = id;
        sqlx::query(
            "UPDATE quota_usage SET count = $1 WHERE entry = $2 AND consumer = $3 AND period = $4",
        )
        .bind(*count)
        .bind(*entry)
        .bind(*consumer)
        .bind(key)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::query("counting a quota"))?;
    }
    tx.commit()
        .await
        .map_err(StoreError::query("committing a quota update"))?;
    Ok(results)
}

/// Decides one call against the running counts and counts it if granted.
fn decide<'a>(
    counts: &mut HashMap<(&'a str, &'a str, String), i64>,
    ask: &Ask<'a>,
    periods: [(String, Option<u64>, QuotaPeriod); 2],
) -> Taken {
    let mut after = [None, None];
    let mut ids = Vec::with_capacity(2);
    for (slot, (key, limit, period)) in periods.into_iter().enumerate() {
        let Some(limit) = limit else { continue };
        let id = (ask.entry, ask.consumer, key);
        let count = counts.get(&id).copied().unwrap_or(0);
        if u64::try_from(count).unwrap_or(0) >= limit {
            return Taken::Exhausted {
                period,
                retry_after_s: seconds_until_next(ask.now, period),
            };
        }
        if let Some(a) = after.get_mut(slot) {
            *a = u64::try_from(count + 1).ok();
        }
        ids.push(id);
    }
    for id in ids {
        if let Some(c) = counts.get_mut(&id) {
            *c += 1;
        }
    }
    let [day, month] = after;
    Taken::Granted { day, month }
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
    /// Takes one call from the period quotas of `entry` for `consumer`. Entries
    /// without period limits are granted without touching the store.
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
        count_batch(self, std::slice::from_ref(&ask))
            .await?
            .pop()
            .ok_or_else(|| StoreError::Corrupt("a quota batch of one decided nothing".into()))
    }

    /// The count of calls of `entry` by every consumer in period `key`
    /// (`d:…` or `m:…`), by consumer.
    pub async fn quota_usage(
        &self,
        entry: &str,
        key: &str,
    ) -> Result<Vec<(String, u64)>, StoreError> {
        let rows = sqlx::query("SELECT consumer, count FROM quota_usage WHERE entry = $1 AND period = $2 ORDER BY consumer")
            .bind(entry)
            .bind(key)
            .fetch_all(self.usage_pool())
            .await
            .map_err(StoreError::query("reading quota usage"))?;
        rows.into_iter()
            .map(|row| {
                let consumer: String = row
                    .try_get(0)
                    .map_err(StoreError::query("reading quota usage"))?;
                let count: i64 = row
                    .try_get(1)
                    .map_err(StoreError::query("reading quota usage"))?;
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
