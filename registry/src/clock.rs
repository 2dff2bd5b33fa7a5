//! The clock: the one place this crate reads the time of day. The pure crates
//! never read it; the words for what is read — China Standard Time and Unix
//! milliseconds — are `yrdx_signing::time`'s, and [`CST`] is re-exported here
//! so that callers of the registry need name only this crate.

use time::OffsetDateTime;
pub use yrdx_signing::time::CST;
use yrdx_signing::time::unix_ms;

/// Now, in UTC, from the system clock.
pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// Now, as Unix milliseconds ([`yrdx_signing::time::unix_ms`] of [`now`]):
/// what the store records as the time of a write and compares leases and
/// effective dates with.
pub fn now_ms() -> i64 {
    unix_ms(now())
}
