//! Request ids as idempotency keys (docs/api.md, "Retries"): a consumer's
//! `Yrdx-Request-Id` names one request — its API, path, query and body — for
//! 24 hours.
//!
//! - The first request with an id is answered as usual, and the id bound to
//!   it and to its leaf.
//! - A retry (the same id, the same request) is answered again — the data is
//!   not kept, so the provider is asked again — and recorded as a new leaf
//!   whose `retry_of` names the first leaf's index. It is not counted again
//!   against the entry's period quotas once a request with the id was; the
//!   per-second rate applies to it like to any call.
//! - The same id with another request is refused: `request_id_reused`.
//! - A request with an id that another request is being answered under is
//!   refused: `request_in_progress`, with `Retry-After` — try again once the
//!   first is answered.
//!
//! Only ids the caller sent are keys; the ids the gateway makes up are not.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use yrdx_registry::{IdClaim, RequestKey as StoredKey};
use yrdx_signing::{HashAlg, MemberId, hex};

use crate::context::{Exchange, RequestKey};
use crate::metrics::StoreLabels;
use crate::problem::Problem;
use crate::state::App;

/// How long a request id names its request.
pub const KEEP: Duration = Duration::from_secs(24 * 60 * 60);

/// How often the node removes request ids whose day is over.
const PURGE_EVERY: Duration = Duration::from_secs(10 * 60);

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// What a request asks, as the key binds it: SHA-256 over its API, its path
/// parameter, its query and its body, each prefixed with its length.
pub fn fingerprint(api: &str, path: &str, query: Option<&str>, body: &[u8]) -> String {
    let query = query.unwrap_or_default();
    let lengths =
        [api.len(), path.len(), query.len(), body.len()].map(|n| (n as u64).to_be_bytes());
    hex(&HashAlg::Sha256.hash_parts(&[
        &lengths[0],
        api.as_bytes(),
        &lengths[1],
        path.as_bytes(),
        &lengths[2],
        query.as_bytes(),
        &lengths[3],
        body,
    ]))
}

fn store_failed(app: &App, e: &yrdx_registry::StoreError) {
    tracing::error!(error = %e, "request id store unavailable; refusing");
    app.metrics
        .store_errors
        .get_or_create(&StoreLabels {
            operation: "request_id",
        })
        .inc();
}

/// Claims the caller's request id for this request, or refuses it.
pub async fn claim(
    app: &App,
    cx: &mut Exchange,
    consumer: &MemberId,
    path: &str,
    query: Option<&str>,
    body: &[u8],
) -> Result<(), Problem> {
    let consumer = consumer.to_string();
    let fingerprint = fingerprint(cx.api, path, query, body);
    let key = StoredKey {
        consumer: &consumer,
        request_id: &cx.request_id,
        fingerprint: &fingerprint,
    };
    let now = yrdx_signing::time::unix_ms(cx.received);
    // Held at most as long as a request may take, twice over: a node that
    // died holding it lets it go then.
    let busy_until = now.saturating_add(millis(app.config.limits.request_timeout) * 2);
    let claim = app
        .store
        .claim_request_id(&key, now, busy_until, now.saturating_add(millis(KEEP)))
        .await;
    let (first_leaf, counted_before) = match claim {
        Ok(IdClaim::First) => (None, false),
        Ok(IdClaim::Retry {
            first_leaf,
            counted,
        }) => (Some(first_leaf), counted),
        Ok(IdClaim::Reused) => return Err(Problem::RequestIdReused),
        Ok(IdClaim::InProgress) => return Err(Problem::RequestInProgress),
        Err(e) => {
            store_failed(app, &e);
            return Err(Problem::StoreUnavailable);
        }
    };
    cx.counted = counted_before;
    cx.request_key = Some(RequestKey {
        consumer,
        first_leaf,
        counted_before,
    });
    Ok(())
}

/// Lets the request id go once the request's leaf is written (`leaf`), or
/// failed to be (`None`). A failure here costs only a retry's wait: the
/// hold lapses by itself.
pub async fn answered(app: &App, cx: &Exchange, leaf: Option<u64>) {
    let Some(key) = &cx.request_key else {
        return;
    };
    if let Err(e) = app
        .store
        .answered_request_id(&key.consumer, &cx.request_id, leaf, cx.counted)
        .await
    {
        tracing::warn!(error = %e, "cannot record a request id's answer; it is held until its hold lapses");
    }
}

/// Removes the request ids whose day is over, every ten minutes, until told
/// to stop.
pub async fn purge_loop(app: Arc<App>, mut stop: watch::Receiver<bool>) {
    loop {
        match app.store.purge_request_ids(yrdx_registry::now_ms()).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(removed = n, "expired request ids removed"),
            Err(e) => tracing::warn!(error = %e, "cannot remove expired request ids"),
        }
        tokio::select! {
            _ = tokio::time::sleep(PURGE_EVERY) => {}
            _ = stop.changed() => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fingerprint;

    /// Moving bytes from one part to the next makes another request.
    #[test]
    fn a_fingerprint_keeps_the_parts_apart() {
        let a = fingerprint("exchange", "enterprise", Some("x=1"), b"{}");
        assert_eq!(a, fingerprint("exchange", "enterprise", Some("x=1"), b"{}"));
        for other in [
            fingerprint("exchange", "enterprisex", Some("=1"), b"{}"),
            fingerprint("exchange", "enterprise", None, b"x=1{}"),
            fingerprint("licence", "enterprise", Some("x=1"), b"{}"),
            fingerprint("exchange", "enterprise", Some("x=1"), b"{ }"),
        ] {
            assert_ne!(a, other);
        }
        assert_eq!(
            fingerprint("exchange", "r", None, b""),
            fingerprint("exchange", "r", Some(""), b"")
        );
    }
}
