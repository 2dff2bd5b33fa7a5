//! Meter: the entry's quotas for this consumer, before the provider is
//! troubled — the per-second rate from this node's [`Meters`], then the
//! per-day and per-month counts in the store. A call counts when it passes
//! the meter, whatever the provider then does: the quota protects the
//! provider. A retry of a call that was counted (its request id's, see
//! [`crate::pipeline::request_ids`]) passes the rate only.

use time::OffsetDateTime;
use yrdx_registry::{Grant, QuotaCounter, Taken};
use yrdx_signing::MemberId;

use crate::meters::Meters;
use crate::metrics::{EntryLabels, Metrics, StoreLabels};
use crate::problem::Problem;

/// Applies the entry's rate, then its period quotas unless `quotas` is None.
pub async fn run(
    meters: &Meters,
    quotas: Option<&QuotaCounter>,
    metrics: &Metrics,
    grant: &Grant<'_>,
    consumer: &MemberId,
    now: OffsetDateTime,
) -> Result<(), Problem> {
    let entry = &grant.entry.id;
    let refuse = |retry_after_s: u64| {
        metrics
            .quota_refusals
            .get_or_create(&EntryLabels {
                entry: entry.clone(),
            })
            .inc();
        Problem::QuotaExhausted {
            retry_after_s: retry_after_s.max(1),
        }
    };
    meters.check_rate(entry, consumer).map_err(refuse)?;
    let Some(quotas) = quotas else {
        return Ok(());
    };
    match quotas
        .take(entry, &consumer.to_string(), &grant.entry.quota, now)
        .await
    {
        Ok(Taken::Granted { .. }) => Ok(()),
        Ok(Taken::Exhausted { retry_after_s, .. }) => Err(refuse(retry_after_s)),
        Err(e) => {
            tracing::error!(error = %e, "quota store unavailable; refusing");
            metrics
                .store_errors
                .get_or_create(&StoreLabels { operation: "quota" })
                .inc();
            Err(Problem::StoreUnavailable)
        }
    }
}
