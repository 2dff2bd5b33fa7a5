//! Authorize: the responsibility list decides whether this consumer may take
//! this resource, from which provider, for this purpose, today.

use time::OffsetDateTime;
use yrdx_registry::{Ask, CST, Grant, Registry};
use yrdx_signing::MemberId;

use crate::pipeline::request::ExchangeRequest;
use crate::problem::Problem;

/// Finds the entry that allows the exchange.
pub fn run<'r>(
    registry: &'r Registry,
    consumer: &MemberId,
    resource: &str,
    request: &ExchangeRequest,
    now: OffsetDateTime,
) -> Result<Grant<'r>, Problem> {
    let ask = Ask {
        consumer,
        resource,
        purpose: &request.purpose,
        service_item: request.service_item.as_deref(),
        case_no: request.case_no.as_deref(),
        provider: request.provider.as_deref(),
        key: &request.key,
        today: now.to_offset(CST).date(),
    };
    registry.authorize(&ask).map_err(Problem::from)
}
