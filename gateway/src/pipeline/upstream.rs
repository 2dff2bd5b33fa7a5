//! Upstream: the one stage that waits on another organisation — the grant's
//! provider called through the node's [`Upstream`] client, bounded by the
//! list entry's reply deadline.

use std::time::{Duration, Instant};

use yrdx_adapters::NativeRequest;
use yrdx_registry::Grant;

use crate::context::{Exchange, Stage};
use crate::problem::Problem;
use crate::upstream::{Answer, Upstream};

/// The upstream stage: calls the grant's provider with `native` within the
/// entry's reply deadline, times the stage, keeps the digest of the native
/// answer, and refuses a 404 as `record_not_found` and any other status
/// outside 2xx as `upstream_error`.
pub async fn run(
    client: &Upstream,
    cx: &mut Exchange,
    grant: &Grant<'_>,
    native: &NativeRequest,
) -> Result<Answer, Problem> {
    let t = Instant::now();
    let endpoint = grant
        .provider
        .endpoint
        .as_deref()
        .ok_or(Problem::Internal)?;
    let answer = client
        .call(
            endpoint,
            native,
            Duration::from_millis(grant.entry.deadline_ms),
        )
        .await;
    cx.timed(Stage::Upstream, t);
    let answer = answer?;
    cx.native_digest = Some(cx.digest(&answer.body));
    match answer.status {
        200..=299 => Ok(answer),
        404 => Err(Problem::RecordNotFound),
        status => Err(Problem::UpstreamError { status }),
    }
}
