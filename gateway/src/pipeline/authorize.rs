//! Authorize: the responsibility list decides whether this consumer may take
//! this resource, from which provider, for this purpose, today.

use serde_json::{Map, Value};
use time::OffsetDateTime;
use yrdx_registry::{Ask, Grant, Registry};
use yrdx_signing::MemberId;

use crate::problem::Problem;

/// China Standard Time, in which list entries' dates are written.
const CST: time::UtcOffset = match time::UtcOffset::from_hms(8, 0, 0) {
    Ok(o) => o,
    Err(_) => time::UtcOffset::UTC,
};

/// Finds the entry that allows the exchange.
pub fn run<'r>(
    registry: &'r Registry,
    consumer: &MemberId,
    resource: &str,
    purpose: &str,
    provider: Option<&str>,
    key: &Map<String, Value>,
    now: OffsetDateTime,
) -> Result<Grant<'r>, Problem> {
    let ask = Ask {
        consumer,
        resource,
        purpose,
        provider,
        key,
        today: now.to_offset(CST).date(),
    };
    registry.authorize(&ask).map_err(Problem::from)
}
