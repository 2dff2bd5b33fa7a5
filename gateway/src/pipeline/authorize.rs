//! Authorize: the responsibility list decides whether this consumer may take
//! this resource, from which provider, for this purpose, today. Every route
//! that serves data asks it the same way.

use serde_json::{Map, Value};
use time::OffsetDateTime;
use yrdx_registry::{Ask, CST, Grant, Registry};
use yrdx_signing::MemberId;

use crate::problem::Problem;

/// What a use of a resource declares, as the list weighs it.
#[derive(Debug, Clone, Copy)]
pub struct Use<'a> {
    /// The declared purpose (用证/用数事由).
    pub purpose: &'a str,
    /// The service item code (事项编码), if given.
    pub service_item: Option<&'a str>,
    /// The case number (办件编号), if given.
    pub case_no: Option<&'a str>,
    /// An explicit provider: a member id or a region code.
    pub provider: Option<&'a str>,
    /// The catalogue key, for routing by area code.
    pub key: &'a Map<String, Value>,
}

/// Finds the entry that allows `consumer` this use of `resource` at `now`.
pub fn run<'r>(
    registry: &'r Registry,
    consumer: &MemberId,
    resource: &str,
    usage: &Use<'_>,
    now: OffsetDateTime,
) -> Result<Grant<'r>, Problem> {
    let ask = Ask {
        consumer,
        resource,
        purpose: usage.purpose,
        service_item: usage.service_item,
        case_no: usage.case_no,
        provider: usage.provider,
        key: usage.key,
        today: now.to_offset(CST).date(),
    };
    registry.authorize(&ask).map_err(Problem::from)
}
