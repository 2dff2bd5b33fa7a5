//! Normalisers: native values in the forms met in the field, turned into the
//! catalogue's one form for each item type. Each returns `None` when the value
//! cannot be read as that type; the caller reports which item and path.

use serde_json::Value;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// China Standard Time, the offset of every catalogue moment.
pub const CST: UtcOffset = match UtcOffset::from_hms(8, 0, 0) {
    Ok(o) => o,
    Err(_) => UtcOffset::UTC,
};

/// Full-width ASCII (U+FF01–U+FF5E) and the ideographic space to their half-width
/// forms, then trimmed. Provinces' forms are often typed with a Chinese IME on.
pub fn half_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{3000}' => ' ',
            '\u{ff01}'..='\u{ff5e}' => char::from_u32(u32::from(c) - 0xfee0).unwrap_or(c),
            other => other,
        })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// A scalar as text: strings as they are, numbers and booleans as JSON writes them.
pub fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A calendar date as `YYYY-MM-DD`, from `2024-05-01`, `20240501`, `2024/5/1`,
/// `2024.5.1`, `2024年5月1日` (any of them followed by a time, which is dropped),
/// or epoch milliseconds (read in China Standard Time).
pub fn date(v: &Value) -> Option<String> {
    let d = match v {
        Value::Number(n) => epoch_millis(n.as_i64()?)?.date(),
        Value::String(s) => parse_date_prefix(&half_width(s))?.0,
        _ => return None,
    };
    Some(format_date(d))
}

/// A moment as RFC 3339 in `+08:00`, from the date forms of [`date`] followed by
/// `HH:MM[:SS]` (a space or `T` between), with an optional `Z` or `±HH:MM`
/// offset (no offset means China Standard Time), or epoch milliseconds. A date
/// alone is midnight.
pub fn datetime(v: &Value) -> Option<String> {
    let moment = match v {
        Value::Number(n) => epoch_millis(n.as_i64()?)?,
        Value::String(s) => {
            let s = half_width(s);
            if s.bytes().all(|b| b.is_ascii_digit()) && s.len() == 13 {
                epoch_millis(s.parse().ok()?)?
            } else {
                let (d, rest) = parse_date_prefix(&s)?;
                let rest = rest.trim_start_matches(['T', ' ']);
                if rest.is_empty() {
                    PrimitiveDateTime::new(d, Time::MIDNIGHT).assume_offset(CST)
                } else {
                    let (t, rest) = parse_time_prefix(rest)?;
                    let offset = parse_offset(rest.trim())?;
                    PrimitiveDateTime::new(d, t)
                        .assume_offset(offset)
                        .to_offset(CST)
                }
            }
        }
        _ => return None,
    };
    let d = moment.date();
    let t = moment.time();
    Some(format!(
        "{}T{:02}:{:02}:{:02}+08:00",
        format_date(d),
        t.hour(),
        t.minute(),
        t.second()
    ))
}

fn epoch_millis(ms: i64) -> Option<OffsetDateTime> {
    let nanos = i128::from(ms).checked_mul(1_000_000)?;
    OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .map(|t| t.to_offset(CST))
}

fn format_date(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// Parses a leading date and returns it with the rest of the string.
fn parse_date_prefix(s: &str) -> Option<(Date, &str)> {
    let digits_end = |s: &str| s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    // Compact form: exactly eight digits, then nothing, a space or T.
    let n = digits_end(s);
    if n == 8 {
        let (ds, rest) = s.split_at(8);
        let y: i32 = ds.get(0..4)?.parse().ok()?;
        let m: u8 = ds.get(4..6)?.parse().ok()?;
        let d: u8 = ds.get(6..8)?.parse().ok()?;
        return Some((make_date(y, m, d)?, rest));
    }
    if n != 4 {
        return None;
    }
    let y: i32 = s.get(..4)?.parse().ok()?;
    let mut rest = s.get(4..)?;
    let sep = rest.chars().next()?;
    let (sep1, sep2, end) = match sep {
        '-' => ('-', '-', None),
        '/' => ('/', '/', None),
        '.' => ('.', '.', None),
        '年' => ('年', '月', Some('日')),
        _ => return None,
    };
    rest = rest.strip_prefix(sep1)?;
    let n = digits_end(rest);
    if !(1..=2).contains(&n) {
        return None;
    }
    let m: u8 = rest.get(..n)?.parse().ok()?;
    rest = rest.get(n..)?.strip_prefix(sep2)?;
    let n = digits_end(rest);
    if !(1..=2).contains(&n) {
        return None;
    }
    let d: u8 = rest.get(..n)?.parse().ok()?;
    rest = rest.get(n..)?;
    if let Some(end) = end {
        rest = rest.strip_prefix(end)?;
    }
    Some((make_date(y, m, d)?, rest))
}

fn make_date(y: i32, m: u8, d: u8) -> Option<Date> {
    Date::from_calendar_date(y, Month::try_from(m).ok()?, d).ok()
}

fn parse_time_prefix(s: &str) -> Option<(Time, &str)> {
    let two = |s: &str| -> Option<u8> {
        let t = s.get(..2)?;
        if t.bytes().all(|b| b.is_ascii_digit()) {
            t.parse().ok()
        } else {
            None
        }
    };
    let h = two(s)?;
    let rest = s.get(2..)?.strip_prefix(':')?;
    let mi = two(rest)?;
    let mut rest = rest.get(2..)?;
    let mut sec = 0u8;
    if let Some(r) = rest.strip_prefix(':') {
        sec = two(r)?;
        rest = r.get(2..)?;
        // Fractions of a second are dropped: the catalogue keeps seconds.
        if let Some(r) = rest.strip_prefix('.') {
            let n = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
            rest = r.get(n..)?;
        }
    }
    Some((Time::from_hms(h, mi, sec).ok()?, rest))
}

fn parse_offset(s: &str) -> Option<UtcOffset> {
    match s {
        "" => Some(CST),
        "Z" | "z" => Some(UtcOffset::UTC),
        _ => {
            let sign: i8 = match s.chars().next()? {
                '+' => 1,
                '-' => -1,
                _ => return None,
            };
            let body = s.get(1..)?;
            let (h, m) = match body.len() {
                5 if body.as_bytes().get(2) == Some(&b':') => (body.get(..2)?, body.get(3..)?),
                4 => (body.get(..2)?, body.get(2..)?),
                2 => (body, "00"),
                _ => return None,
            };
            let h: i8 = h.parse().ok()?;
            let m: i8 = m.parse().ok()?;
            UtcOffset::from_hms(sign * h, sign * m, 0).ok()
        }
    }
}

/// A decimal amount as a plain decimal string (`-12.50`), never through a float.
pub fn decimal(v: &Value) -> Option<String> {
    let s = half_width(&scalar_text(v)?);
    let body = s.strip_prefix('-').unwrap_or(&s);
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || frac.is_some_and(|f| !digits(f)) {
        return None;
    }
    Some(s)
}

/// A whole number.
pub fn integer(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => half_width(s).parse().ok(),
        _ => None,
    }
}

/// True or false, from JSON booleans, `1`/`0`, `true`/`false`, `Y`/`N`, `是`/`否`.
pub fn boolean(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_i64()? {
            1 => Some(true),
            0 => Some(false),
            _ => None,
        },
        Value::String(s) => match half_width(s).as_str() {
            "1" | "true" | "TRUE" | "True" | "Y" | "y" | "是" => Some(true),
            "0" | "false" | "FALSE" | "False" | "N" | "n" | "否" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dates_in_the_forms_met_in_the_field() {
        for form in [
            "2024-05-01",
            "20240501",
            "2024/5/1",
            "2024.05.01",
            "2024年5月1日",
            "２０２４-05-01",
            "2024-05-01 10:20:30",
        ] {
            assert_eq!(date(&json!(form)).as_deref(), Some("2024-05-01"), "{form}");
        }
        // 2024-04-30T16:00:00Z is already 1 May in China Standard Time.
        assert_eq!(
            date(&json!(1714492800000i64)).as_deref(),
            Some("2024-05-01")
        );
        for bad in [
            "2024-13-01",
            "2024-02-30",
            "24-05-01",
            "May 1 2024",
            "",
            "2024年5月1",
        ] {
            assert_eq!(date(&json!(bad)), None, "{bad}");
        }
    }

    #[test]
    fn datetimes_end_in_china_standard_time() {
        assert_eq!(
            datetime(&json!("2024-05-01 10:20:30")).as_deref(),
            Some("2024-05-01T10:20:30+08:00")
        );
        assert_eq!(
            datetime(&json!("2024-05-01T02:20:30Z")).as_deref(),
            Some("2024-05-01T10:20:30+08:00")
        );
        assert_eq!(
            datetime(&json!("2024-05-01T10:20:30.123+0800")).as_deref(),
            Some("2024-05-01T10:20:30+08:00")
        );
        assert_eq!(
            datetime(&json!("2024/5/1")).as_deref(),
            Some("2024-05-01T00:00:00+08:00")
        );
        assert_eq!(datetime(&json!("2024-05-01 25:00")), None);
    }

    #[test]
    fn decimals_keep_every_digit() {
        assert_eq!(
            decimal(&json!("12345678901234567890.10")).as_deref(),
            Some("12345678901234567890.10")
        );
        assert_eq!(decimal(&json!("－１２.５")).as_deref(), Some("-12.5"));
        assert_eq!(decimal(&json!(500)).as_deref(), Some("500"));
        for bad in ["1.2.3", ".5", "5.", "1e3", "abc", ""] {
            assert_eq!(decimal(&json!(bad)), None, "{bad}");
        }
    }

    #[test]
    fn booleans_and_integers() {
        assert_eq!(boolean(&json!("是")), Some(true));
        assert_eq!(boolean(&json!(0)), Some(false));
        assert_eq!(boolean(&json!("maybe")), None);
        assert_eq!(integer(&json!("４２")), Some(42));
        assert_eq!(integer(&json!(1.5)), None);
    }
}
