//! Request ids as idempotency keys. A consumer's request id names one
//! request for a day (`keep_ms`): a retry with the same id and the same
//! request is answered again and recorded as a retry of the first leaf; the
//! same id with another request is refused. The store keeps one row per
//! consumer and id in `request_ids` — what was asked (a fingerprint), the
//! first leaf, whether that request was counted against period quotas — and
//! the node removes the rows whose day is over ([`Store::purge_request_ids`]).
//!
//! Two requests with one id at once: the first to claim the row holds it
//! (`busy_until_ms`) until its leaf is written; the other is told it is in
//! progress ([`IdClaim::InProgress`]) and may try again once the first is
//! answered. A node that died holding a row lets it go when the hold lapses.
//! Times are the caller's clock, on both backends.

use crate::error::StoreError;
use crate::store::{Store, column};

/// What claiming a request id found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdClaim {
    /// The first request with this id (or the earlier ones left no leaf):
    /// it is held for this request now.
    First,
    /// A retry of a request already recorded: held for this retry now.
    Retry {
        /// The index of the first leaf that recorded the request.
        first_leaf: u64,
        /// Whether a request with this id was counted against the period
        /// quotas already.
        counted: bool,
    },
    /// The id was used with a different request.
    Reused,
    /// A request with this id is being answered now.
    InProgress,
}

/// One consumer's request id and what it asks.
#[derive(Clone, Copy, Debug)]
pub struct RequestKey<'a> {
    /// The consumer (member id).
    pub consumer: &'a str,
    /// The request id.
    pub request_id: &'a str,
    /// A digest of what the request asks (API, path, query, body).
    pub fingerprint: &'a str,
}

fn leaf_of(stored: Option<i64>) -> Option<u64> {
    stored.and_then(|i| u64::try_from(i).ok())
}

impl Store {
    /// Claims `key` at `now_ms` for one request, held until `busy_until_ms`
    /// or until [`Store::answered_request_id`]; a new row lasts until
    /// `expires_ms`.
    pub async fn claim_request_id(
        &self,
        key: &RequestKey<'_>,
        now_ms: i64,
        busy_until_ms: i64,
        expires_ms: i64,
    ) -> Result<IdClaim, StoreError> {
        let what = "claiming a request id";
        let mut writer = self.writer().await;
        let mut tx = writer.begin().await.map_err(StoreError::query(what))?;
        // A row whose day is over is as good as none.
        sqlx::query(
            "DELETE FROM request_ids WHERE consumer = $1 AND request_id = $2 AND expires_ms <= $3",
        )
        .bind(key.consumer)
        .bind(key.request_id)
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::query(what))?;
        let inserted = sqlx::query(
            "INSERT INTO request_ids \
             (consumer, request_id, fingerprint, first_leaf, counted, busy_until_ms, expires_ms) \
             VALUES ($1, $2, $3, NULL, 0, $4, $5) ON CONFLICT (consumer, request_id) DO NOTHING",
        )
        .bind(key.consumer)
        .bind(key.request_id)
        .bind(key.fingerprint)
        .bind(busy_until_ms)
        .bind(expires_ms)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::query(what))?
        .rows_affected();
        let claim = if inserted == 1 {
            IdClaim::First
        } else {
            // The same request, not held by another: hold it for this one.
            let held = sqlx::query(
                "UPDATE request_ids SET busy_until_ms = $4 \
                 WHERE consumer = $1 AND request_id = $2 AND fingerprint = $3 AND busy_until_ms <= $5 \
                 RETURNING first_leaf, counted",
            )
            .bind(key.consumer)
            .bind(key.request_id)
            .bind(key.fingerprint)
            .bind(busy_until_ms)
            .bind(now_ms)
            .fetch_optional(&mut *tx)
            .await
            .map_err(StoreError::query(what))?;
            match held {
                Some(row) => {
                    let first_leaf: Option<i64> = column(&row, 0, what)?;
                    let counted: i64 = column(&row, 1, what)?;
                    match leaf_of(first_leaf) {
                        Some(first_leaf) => IdClaim::Retry {
                            first_leaf,
                            counted: counted != 0,
                        },
                        None => IdClaim::First,
                    }
                }
                None => {
                    let row = sqlx::query(
                        "SELECT fingerprint FROM request_ids WHERE consumer = $1 AND request_id = $2",
                    )
                    .bind(key.consumer)
                    .bind(key.request_id)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(StoreError::query(what))?;
                    let stored: Option<String> = row.map(|r| column(&r, 0, what)).transpose()?;
                    if stored.is_some_and(|f| f != key.fingerprint) {
                        IdClaim::Reused
                    } else {
                        IdClaim::InProgress
                    }
                }
            }
        };
        tx.commit().await.map_err(StoreError::query(what))?;
        Ok(claim)
    }

    /// Lets `key`'s row go after its request: with the index of the leaf that
    /// recorded it (the first leaf is kept if there was one) and whether it was
    /// counted against period quotas. A request that left no leaf (`leaf`
    /// None) leaves no binding behind unless an earlier one did.
    pub async fn answered_request_id(
        &self,
        consumer: &str,
        request_id: &str,
        leaf: Option<u64>,
        counted: bool,
    ) -> Result<(), StoreError> {
        let what = "recording a request id's answer";
        let mut writer = self.writer().await;
        let query = match leaf.map(i64::try_from) {
            Some(Ok(leaf)) => sqlx::query(
                "UPDATE request_ids SET first_leaf = COALESCE(first_leaf, $3), \
                 counted = CASE WHEN $4 = 1 THEN 1 ELSE counted END, busy_until_ms = 0 \
                 WHERE consumer = $1 AND request_id = $2",
            )
            .bind(consumer)
            .bind(request_id)
            .bind(leaf)
            .bind(i64::from(counted)),
            _ => {
                writer
                    .execute(
                        sqlx::query(
                            "DELETE FROM request_ids WHERE consumer = $1 AND request_id = $2 \
                             AND first_leaf IS NULL",
                        )
                        .bind(consumer)
                        .bind(request_id),
                    )
                    .await
                    .map_err(StoreError::query(what))?;
                sqlx::query(
                    "UPDATE request_ids SET busy_until_ms = 0, \
                     counted = CASE WHEN $3 = 1 THEN 1 ELSE counted END \
                     WHERE consumer = $1 AND request_id = $2",
                )
                .bind(consumer)
                .bind(request_id)
                .bind(i64::from(counted))
            }
        };
        writer
            .execute(query)
            .await
            .map(|_| ())
            .map_err(StoreError::query(what))
    }

    /// Removes the request ids whose day ended at `now_ms`; says how many.
    pub async fn purge_request_ids(&self, now_ms: i64) -> Result<u64, StoreError> {
        let mut writer = self.writer().await;
        writer
            .execute(sqlx::query("DELETE FROM request_ids WHERE expires_ms <= $1").bind(now_ms))
            .await
            .map(|r| r.rows_affected())
            .map_err(StoreError::query("removing expired request ids"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a panic is a failing test")]
    use super::*;
    use crate::store::StoreOptions;

    const DAY: i64 = 86_400_000;

    fn key<'a>(id: &'a str, fingerprint: &'a str) -> RequestKey<'a> {
        RequestKey {
            consumer: "zj:11330000002482028A:data",
            request_id: id,
            fingerprint,
        }
    }

    async fn check(store: &Store) {
        let now = 1_800_000_000_000_i64;
        let claim = |k: RequestKey<'static>, at: i64| {
            let store = store.clone();
            async move {
                store
                    .claim_request_id(&k, at, at + 30_000, at + DAY)
                    .await
                    .unwrap()
            }
        };
        // The first holds the id; the same request meanwhile is in progress,
        // another with the same id is a reuse.
        assert_eq!(claim(key("a", "f1"), now).await, IdClaim::First);
        assert_eq!(claim(key("a", "f1"), now + 1).await, IdClaim::InProgress);
        assert_eq!(claim(key("a", "f2"), now + 1).await, IdClaim::Reused);
        // Another consumer's id of the same name is its own.
        let other = RequestKey {
            consumer: "sh:91310000000000000X:data",
            ..key("a", "f2")
        };
        assert_eq!(claim(other, now).await, IdClaim::First);
        // Answered: a retry names the first leaf and whether it was counted.
        store
            .answered_request_id(key("a", "f1").consumer, "a", Some(41), true)
            .await
            .unwrap();
        let retry = IdClaim::Retry {
            first_leaf: 41,
            counted: true,
        };
        assert_eq!(claim(key("a", "f1"), now + 2).await, retry);
        assert_eq!(claim(key("a", "f2"), now + 2).await, IdClaim::Reused);
        // The retry's own leaf does not replace the first.
        store
            .answered_request_id(key("a", "f1").consumer, "a", Some(57), false)
            .await
            .unwrap();
        assert_eq!(claim(key("a", "f1"), now + 3).await, retry);
        store
            .answered_request_id(key("a", "f1").consumer, "a", Some(58), false)
            .await
            .unwrap();
        // A request that left no leaf leaves no binding: the id is free.
        assert_eq!(claim(key("b", "f1"), now).await, IdClaim::First);
        store
            .answered_request_id(key("b", "f1").consumer, "b", None, false)
            .await
            .unwrap();
        assert_eq!(claim(key("b", "f2"), now + 1).await, IdClaim::First);
        // A hold that lapsed (its node died) is taken over.
        assert_eq!(claim(key("c", "f1"), now).await, IdClaim::First);
        assert_eq!(
            claim(key("c", "f1"), now + 30_000).await,
            IdClaim::First,
            "the first left no leaf, so the retry is a first"
        );
        // After a day the id is free, and the node removes the rows.
        assert_eq!(claim(key("a", "f2"), now + DAY).await, IdClaim::First);
        // Ended: the other consumer's and c's; a's new row and b's remain.
        assert_eq!(store.purge_request_ids(now + DAY).await.unwrap(), 2);
        assert_eq!(store.purge_request_ids(now + 2 * DAY).await.unwrap(), 2);
    }

    /// Two claims of one id at once: exactly one holds it.
    async fn check_race(store: &Store, other: &Store) {
        let now = 1_800_000_000_000_i64;
        for round in 0..20 {
            let id = format!("race-{round}");
            let k = key(&id, "f");
            let (a, b) = tokio::join!(
                store.claim_request_id(&k, now, now + 30_000, now + DAY),
                other.claim_request_id(&k, now, now + 30_000, now + DAY),
            );
            let mut got = [a.unwrap(), b.unwrap()];
            got.sort_by_key(|c| matches!(c, IdClaim::InProgress));
            assert_eq!(got, [IdClaim::First, IdClaim::InProgress], "round {round}");
        }
    }

    #[tokio::test]
    async fn a_request_id_binds_one_request_for_a_day() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("ids.db").display());
        let store = Store::open(&url, &StoreOptions::default()).await.unwrap();
        let other = Store::open(&url, &StoreOptions::default()).await.unwrap();
        check(&store).await;
        check_race(&store, &other).await;
        if let Some(server) = crate::testing::postgres_url("a_request_id_binds_one_request") {
            let url = crate::testing::fresh_postgres(&server, "request_ids")
                .await
                .unwrap();
            let store = Store::open(&url, &StoreOptions::default()).await.unwrap();
            let other = Store::open(&url, &StoreOptions::default()).await.unwrap();
            check(&store).await;
            check_race(&store, &other).await;
        }
    }
}
