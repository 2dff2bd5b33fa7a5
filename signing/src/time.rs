//! Time as yrdx counts it: calendar days and months in China Standard Time
//! ([`CST`]), stored moments as Unix milliseconds ([`unix_ms`]).
//!
//! Nothing here reads the clock, like everything in this crate: the callers
//! that may (the registry's store and the gateway) read it themselves and use
//! these to speak of what they read.
//!
//! ```
//! use time::macros::datetime;
//! use yrdx_signing::time::{CST, unix_ms};
//!
//! // 16:30 UTC on 31 January is already 1 February in Shanghai.
//! let t = datetime!(2026-01-31 16:30 UTC);
//! assert_eq!(t.to_offset(CST).day(), 1);
//! assert_eq!(unix_ms(t), 1_769_877_000_000);
//! ```

use ::time::{OffsetDateTime, UtcOffset};

/// China Standard Time (UTC+8): the offset of every catalogue moment, and the
/// time zone whose calendar days and months quotas and reports count.
pub const CST: UtcOffset = ::time::macros::offset!(+8);

/// The Unix time of `t` in milliseconds: whole milliseconds since
/// 1970-01-01T00:00:00Z, truncated toward zero (negative before 1970).
///
/// Every moment [`OffsetDateTime`] can hold (its years reach ±9999, or
/// ±999,999 with the `large-dates` feature) is well within `i64`
/// milliseconds (about ±292 million years), so the result is always exact; it
/// would saturate at [`i64::MIN`] or [`i64::MAX`], never wrap or read as 0.
pub fn unix_ms(t: OffsetDateTime) -> i64 {
    let ms = t.unix_timestamp_nanos() / 1_000_000;
    i64::try_from(ms).unwrap_or(if ms < 0 { i64::MIN } else { i64::MAX })
}

/// `t` as a person in China reads it: China Standard Time with its offset,
/// to the second (`2026-02-01 00:30:00 +08:00`). Stored forms (log leaves,
/// JSON) keep RFC 3339 in UTC; this is for text people read.
pub fn display_cst(t: OffsetDateTime) -> String {
    let t = t.to_offset(CST);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} +08:00",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// [`display_cst`] of a moment in Unix milliseconds.
pub fn display_cst_ms(ms: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    display_cst(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::time::macros::datetime;

    #[test]
    fn times_for_people_are_shown_in_china_standard_time() {
        let t = datetime!(2026-01-31 16:30:05 UTC);
        assert_eq!(display_cst(t), "2026-02-01 00:30:05 +08:00");
        assert_eq!(display_cst_ms(unix_ms(t)), "2026-02-01 00:30:05 +08:00");
    }

    #[test]
    fn china_standard_time_is_eight_hours_ahead() {
        assert_eq!(CST.whole_seconds(), 8 * 3600);
        let t = datetime!(2026-12-31 16:00 UTC).to_offset(CST);
        assert_eq!((t.year(), u8::from(t.month()), t.day()), (2027, 1, 1));
    }

    #[test]
    fn unix_milliseconds_are_exact_across_the_whole_range() {
        assert_eq!(unix_ms(OffsetDateTime::UNIX_EPOCH), 0);
        assert_eq!(unix_ms(datetime!(1970-01-01 00:00:00.001 UTC)), 1);
        assert_eq!(unix_ms(datetime!(2026-01-31 16:30 UTC)), 1_769_877_000_000);
        assert_eq!(unix_ms(datetime!(2026-02-01 00:30 +8)), 1_769_877_000_000);
        // Before 1970: negative, truncated toward zero.
        assert_eq!(unix_ms(datetime!(1969-12-31 23:59:59.9995 UTC)), 0);
        assert_eq!(unix_ms(datetime!(1969-12-31 23:59:59 UTC)), -1000);
        // The ends of the range are far from saturating.
        assert!(unix_ms(datetime!(9999-12-31 23:59:59.999 UTC)) < i64::MAX / 1000);
        assert!(unix_ms(datetime!(-9999-01-01 0:00 UTC)) > i64::MIN / 1000);
    }
}
