//! Normalisers: native values in the forms met in the field, turned into the
//! catalogue's one form for each item type. Each takes the native text (a JSON
//! number arrives exactly as written) and returns `None` when it cannot be read
//! as that type; the caller reports which item and path, never the value.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};
use yrdx_signing::{IdentError, Uscc, check_resident_id};

use crate::area;

/// China Standard Time, the offset of every catalogue moment: the one
/// constant of `yrdx_signing::time`, re-exported for this crate's callers.
pub use yrdx_signing::time::CST;

/// Full-width ASCII (U+FF01–U+FF5E) and the ideographic space to their
/// half-width forms, then trimmed. Provinces' forms are often typed with a
/// Chinese IME on.
pub fn half_width(s: &str) -> String {
    let wide = |c: char| matches!(c, '\u{3000}' | '\u{ff01}'..='\u{ff5e}');
    // Most text has nothing to narrow: one copy, of the trimmed text.
    if !s.chars().any(wide) {
        return s.trim().to_owned();
    }
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

/// A calendar date as `YYYY-MM-DD`, from `2024-05-01`, `2024-5-1`, `20240501`,
/// `2024/5/1`, `2024.5.1`, `2024年5月1日`; any of them followed by a time
/// (which is dropped — unless it carries an offset, when the moment is first
/// brought to China Standard Time) or by an offset alone (`2024-05-01+08:00`,
/// as XML Schema writes dates); `20240501102030`; or epoch milliseconds
/// (13 digits, read in China Standard Time).
pub fn date(s: &str) -> Option<String> {
    let s = half_width(s);
    if let Some(moment) = epoch_or_compact(&s) {
        return Some(format_date(moment.date()));
    }
    let (d, rest) = parse_date_prefix(&s)?;
    if rest.is_empty() {
        return Some(format_date(d));
    }
    if let Some(time) = rest.strip_prefix(['T', ' ']) {
        let (t, rest) = parse_time_prefix(time.trim_start())?;
        let rest = rest.trim();
        let d = match rest.is_empty() {
            true => d,
            false => PrimitiveDateTime::new(d, t)
                .assume_offset(parse_offset(rest)?)
                .to_offset(CST)
                .date(),
        };
        return Some(format_date(d));
    }
    parse_offset(rest.trim())?;
    Some(format_date(d))
}

/// A moment as RFC 3339 in `+08:00`, from the date forms of [`date`] followed
/// by `HH:MM[:SS[.fff]]` or `HH时MM分[SS秒]` (a space or `T` between), with an
/// optional `Z` or `±HH[:MM]` offset (no offset means China Standard Time);
/// `20240501102030`; or epoch milliseconds. A date alone is midnight.
/// Fractions of a second are dropped: the catalogue keeps seconds.
pub fn datetime(s: &str) -> Option<String> {
    let s = half_width(s);
    let moment = match epoch_or_compact(&s) {
        Some(m) => m,
        None => {
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

/// A month as `YYYY-MM`, from `2026-10`, `2026-1`, `202610`, `2026/10`,
/// `2026.10`, `2026年10月`, or any form [`date`] reads (the day is dropped).
pub fn year_month(s: &str) -> Option<String> {
    let s = half_width(s);
    if let Some(d) = date(&s) {
        return d.get(..7).map(str::to_owned);
    }
    let (y, m) = if s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit()) {
        (s.get(..4)?, s.get(4..)?)
    } else {
        let y = s.get(..4)?;
        let rest = s.get(4..)?;
        let rest = rest.strip_prefix(['-', '/', '.']).or_else(|| {
            rest.strip_prefix('年')
                .map(|r| r.strip_suffix('月').unwrap_or(""))
        })?;
        (y, rest)
    };
    if !y.bytes().all(|b| b.is_ascii_digit())
        || !(1..=2).contains(&m.len())
        || !m.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let month: u8 = m.parse().ok()?;
    if !(1..=12).contains(&month) {
        return None;
    }
    Some(format!("{y}-{month:02}"))
}

/// 13 digits: epoch milliseconds; 14 digits: `YYYYMMDDhhmmss` in China
/// Standard Time.
fn epoch_or_compact(s: &str) -> Option<OffsetDateTime> {
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match s.len() {
        13 => epoch_millis(s.parse().ok()?),
        14 => {
            let d = make_date(
                s.get(0..4)?.parse().ok()?,
                s.get(4..6)?.parse().ok()?,
                s.get(6..8)?.parse().ok()?,
            )?;
            let t = Time::from_hms(
                s.get(8..10)?.parse().ok()?,
                s.get(10..12)?.parse().ok()?,
                s.get(12..14)?.parse().ok()?,
            )
            .ok()?;
            Some(PrimitiveDateTime::new(d, t).assume_offset(CST))
        }
        _ => None,
    }
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

fn digits_end(s: &str) -> usize {
    s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len())
}

/// Parses a leading date and returns it with the rest of the string.
fn parse_date_prefix(s: &str) -> Option<(Date, &str)> {
    // Compact form: exactly eight digits.
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

/// A number of one to `max_digits` digits at the start of `s`, and the rest.
fn number(s: &str, max_digits: usize) -> Option<(u8, &str)> {
    let n = digits_end(s);
    if n == 0 || n > max_digits {
        return None;
    }
    Some((s.get(..n)?.parse().ok()?, s.get(n..)?))
}

/// `H:MM[:SS[.fff]]` or `H时M分[S秒]`, hours of one or two digits.
fn parse_time_prefix(s: &str) -> Option<(Time, &str)> {
    let (h, rest) = number(s, 2)?;
    if let Some(rest) = rest.strip_prefix('时') {
        let (mi, rest) = number(rest, 2)?;
        let rest = rest.strip_prefix('分')?;
        let (sec, rest) = match number(rest, 2) {
            Some((sec, r)) => (sec, r.strip_prefix('秒')?),
            None => (0, rest),
        };
        return Some((Time::from_hms(h, mi, sec).ok()?, rest));
    }
    let rest = rest.strip_prefix(':')?;
    let (mi, mut rest) = number(rest, 2)?;
    let mut sec = 0u8;
    if let Some(r) = rest.strip_prefix(':') {
        let (s, r) = number(r, 2)?;
        sec = s;
        rest = r;
        if let Some(r) = rest.strip_prefix('.') {
            rest = r.get(digits_end(r)..)?;
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
            if !body.bytes().all(|b| b.is_ascii_digit() || b == b':') {
                return None;
            }
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

/// A magnitude of yuan that amounts are written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// 元.
    Yuan,
    /// 万元 (10⁴ yuan).
    TenThousand,
    /// 亿元 (10⁸ yuan).
    HundredMillion,
}

impl Unit {
    /// Reads `元`, `万元`, `亿元` (also `万`, `亿`, and with `人民币` around).
    pub fn parse(s: &str) -> Option<Unit> {
        let s = half_width(s);
        let s = s.trim_start_matches("人民币").trim_end_matches("人民币");
        match s.trim() {
            "元" => Some(Unit::Yuan),
            "万元" | "万" => Some(Unit::TenThousand),
            "亿元" | "亿" => Some(Unit::HundredMillion),
            _ => None,
        }
    }

    fn exponent(self) -> i32 {
        match self {
            Unit::Yuan => 0,
            Unit::TenThousand => 4,
            Unit::HundredMillion => 8,
        }
    }

    /// The unit as the mapping and messages write it.
    pub fn name(self) -> &'static str {
        match self {
            Unit::Yuan => "元",
            Unit::TenThousand => "万元",
            Unit::HundredMillion => "亿元",
        }
    }
}

/// How an amount's units are read: the unit the catalogue item is in, and the
/// unit of a bare number (from the native document or the mapping).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Units {
    /// The catalogue item's unit. Without it, any unit or currency mark in the
    /// native value is refused: a unit is never dropped silently.
    pub target: Option<Unit>,
    /// The unit of a number written without one.
    pub native: Option<Unit>,
}

/// Largest decimal exponent accepted (`1.5E+40`): beyond it the digits would
/// be invented zeros.
const MAX_EXPONENT: i32 = 40;

/// A decimal amount as a plain decimal string (`-12.50`), never through a
/// float. Accepts thousands separators (`1,234.50`), full-width digits, a sign,
/// exponent forms as Java writes doubles (`5.0E7`), and — when the item has a
/// unit — currency marks (`￥`, `¥`, `RMB`, `CNY`, `人民币`) and unit suffixes
/// (`元`, `万元`, `亿元`, `万`, `亿`), converting to the item's unit by moving
/// the decimal point. The digits written are kept (`500.00` stays `500.00`);
/// zeros a conversion adds at the end are dropped (`5000000元` in 万元 is
/// `500`). A currency mark without a unit means 元.
pub fn decimal(s: &str, units: Units) -> Option<String> {
    let s = half_width(s);
    let mut body = s.as_str();
    let mut negative = false;
    if let Some((neg, rest)) = strip_sign(body) {
        negative = neg;
        body = rest;
    }
    let mut currency = false;
    for mark in ["￥", "¥", "RMB", "CNY", "人民币"] {
        if let Some(r) = body.strip_prefix(mark) {
            body = r.trim_start();
            currency = true;
            break;
        }
    }
    if currency
        && !negative
        && let Some((neg, rest)) = strip_sign(body)
    {
        negative = neg;
        body = rest;
    }
    if let Some(r) = body.strip_suffix("人民币") {
        body = r.trim_end();
        currency = true;
    }
    let mut suffix = None;
    for (text, unit) in [
        ("亿元", Unit::HundredMillion),
        ("万元", Unit::TenThousand),
        ("元", Unit::Yuan),
        ("亿", Unit::HundredMillion),
        ("万", Unit::TenThousand),
    ] {
        if let Some(r) = body.strip_suffix(text) {
            body = r.trim_end();
            suffix = Some(unit);
            break;
        }
    }
    let target = match units.target {
        Some(t) => t,
        None if suffix.is_some() || currency => return None,
        None => Unit::Yuan,
    };
    let native = suffix
        .or(if currency { Some(Unit::Yuan) } else { None })
        .or(units.native)
        .unwrap_or(target);
    let number = parse_number(body)?;
    let shift = native.exponent() - target.exponent();
    let keep = match number.exponent == 0 {
        true => number.frac_len,
        false => 0,
    };
    Some(render(
        negative,
        &number.digits,
        number.frac_len - number.exponent - shift,
        keep,
    ))
}

/// A leading `-` or `+`: whether negative, and the rest.
fn strip_sign(s: &str) -> Option<(bool, &str)> {
    if let Some(r) = s.strip_prefix('-') {
        Some((true, r.trim_start()))
    } else {
        s.strip_prefix('+').map(|r| (false, r.trim_start()))
    }
}

struct Number {
    /// Integer and fraction digits, no separators.
    digits: String,
    frac_len: i32,
    exponent: i32,
}

fn parse_number(s: &str) -> Option<Number> {
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => {
            let e = s.get(i + 1..)?;
            let e = e.strip_prefix('+').unwrap_or(e);
            let n: i32 = e.parse().ok()?;
            if n.abs() > MAX_EXPONENT || e.is_empty() {
                return None;
            }
            (s.get(..i)?, n)
        }
        None => (s, 0),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (mantissa, None),
    };
    let all_digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    let int_digits: String = if int.contains(',') {
        // Thousands separators: 1–3 digits, then groups of exactly three.
        let mut groups = int.split(',');
        let first = groups.next()?;
        if exponent != 0 || !all_digits(first) || first.len() > 3 {
            return None;
        }
        let mut out = first.to_owned();
        for g in groups {
            if g.len() != 3 || !all_digits(g) {
                return None;
            }
            out.push_str(g);
        }
        out
    } else {
        if !all_digits(int) {
            return None;
        }
        int.to_owned()
    };
    let frac = match frac {
        Some(f) if all_digits(f) => f,
        Some(_) => return None,
        None => "",
    };
    Some(Number {
        digits: format!("{int_digits}{frac}"),
        frac_len: i32::try_from(frac.len()).ok()?,
        exponent,
    })
}

/// Writes `digits × 10^-scale`, dropping trailing fraction zeros beyond `keep`
/// and leading integer zeros.
fn render(negative: bool, digits: &str, scale: i32, keep: i32) -> String {
    let (int, frac) = if scale <= 0 {
        let zeros = usize::try_from(-scale).unwrap_or(0);
        (format!("{digits}{}", "0".repeat(zeros)), String::new())
    } else {
        let scale = usize::try_from(scale).unwrap_or(0);
        let padded = match digits.len() <= scale {
            true => format!("{}{digits}", "0".repeat(scale + 1 - digits.len())),
            false => digits.to_owned(),
        };
        let (i, f) = padded.split_at(padded.len() - scale);
        (i.to_owned(), f.to_owned())
    };
    let keep = usize::try_from(keep).unwrap_or(0);
    let mut frac = frac.as_str();
    while frac.len() > keep && frac.ends_with('0') {
        frac = frac.get(..frac.len() - 1).unwrap_or_default();
    }
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let zero = int == "0" && frac.bytes().all(|b| b == b'0');
    let mut out = String::new();
    if negative && !zero {
        out.push('-');
    }
    out.push_str(int);
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    out
}

/// A whole number: digits with an optional sign and thousands separators.
pub fn integer(s: &str) -> Option<i64> {
    let s = half_width(s);
    let (negative, body) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(&s)),
    };
    let n = parse_number(body)?;
    if n.frac_len != 0 || n.exponent != 0 {
        return None;
    }
    let v: i64 = n.digits.parse().ok()?;
    Some(if negative { -v } else { v })
}

/// True or false, from `true`/`false`, `1`/`0`, `Y`/`N`, `是`/`否`, `有`/`无`.
pub fn boolean(s: &str) -> Option<bool> {
    match half_width(s).as_str() {
        "1" | "true" | "TRUE" | "True" | "Y" | "y" | "是" | "有" => Some(true),
        "0" | "false" | "FALSE" | "False" | "N" | "n" | "否" | "无" => Some(false),
        _ => None,
    }
}

/// A unified social credit code: half-width, upper case, check character
/// verified (GB 32100).
pub fn uscc(s: &str) -> Option<String> {
    let s = half_width(s).to_ascii_uppercase();
    Uscc::parse(&s).ok()?;
    Some(s)
}

/// A resident identity number: half-width, `x` as `X`, check character
/// verified (GB 11643). A first-generation 15-digit number is raised to 18
/// digits as GB 11643 prescribes (century `19` inserted, check computed).
pub fn resident_id(s: &str) -> Option<String> {
    let s = half_width(s).to_ascii_uppercase();
    if s.len() == 15 && s.bytes().all(|b| b.is_ascii_digit()) {
        let first17 = format!("{}19{}", s.get(..6)?, s.get(6..)?);
        let check = match check_resident_id(&format!("{first17}0")) {
            Ok(()) => '0',
            Err(IdentError::ResidentIdCheck { expected }) => expected,
            Err(_) => return None,
        };
        return Some(format!("{first17}{check}"));
    }
    check_resident_id(&s).ok()?;
    Some(s)
}

/// A GB/T 2260 administrative division code: six digits with a known province
/// (and, in the YRD, a known prefecture). A 12-digit statistical division code
/// (统计用区划代码) is cut to its six-digit county part.
pub fn area_code(s: &str) -> Option<String> {
    let s = half_width(s);
    let code = match s.len() {
        12 if s.bytes().all(|b| b.is_ascii_digit()) => s.get(..6)?.to_owned(),
        _ => s,
    };
    area::is_known(&code).then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_the_forms_met_in_the_field() {
        for form in [
            "2024-05-01",
            "2024-5-1",
            "20240501",
            "2024/5/1",
            "2024.05.01",
            "2024年5月1日",
            "2024年05月01日",
            "２０２４－０５－０１",
            " 2024-05-01 ",
            "2024-05-01 10:20:30",
            "2024-05-01T10:20",
            "2024-05-01+08:00",
            "2024-05-01Z",
            "20240501102030",
            "1714492800000",
            // 16:00 UTC on 30 April is already 1 May in China Standard Time.
            "2024-04-30T16:00:00Z",
        ] {
            assert_eq!(date(form).as_deref(), Some("2024-05-01"), "{form}");
        }
        for bad in [
            "2024-13-01",
            "2024-02-30",
            "24-05-01",
            "May 1 2024",
            "",
            "2024年5月1",
            "2024-05-01abc",
            "2024-05-01 25:00",
            "171449280000",
        ] {
            assert_eq!(date(bad), None, "{bad}");
        }
    }

    #[test]
    fn datetimes_end_in_china_standard_time() {
        for (form, want) in [
            ("2024-05-01 10:20:30", "2024-05-01T10:20:30+08:00"),
            ("2024-05-01T02:20:30Z", "2024-05-01T10:20:30+08:00"),
            ("2024-05-01T10:20:30.123+0800", "2024-05-01T10:20:30+08:00"),
            ("2024-05-01T04:20:30+02:00", "2024-05-01T10:20:30+08:00"),
            ("2024/5/1 9:05", "2024-05-01T09:05:00+08:00"),
            ("2024年5月1日 10时20分30秒", "2024-05-01T10:20:30+08:00"),
            ("2024/5/1", "2024-05-01T00:00:00+08:00"),
            ("20240501102030", "2024-05-01T10:20:30+08:00"),
            ("1714530030000", "2024-05-01T10:20:30+08:00"),
        ] {
            assert_eq!(datetime(form).as_deref(), Some(want), "{form}");
        }
        for bad in ["2024-05-01 25:00", "2024-05-01T10:20+8", "2024-05-01 10"] {
            assert_eq!(datetime(bad), None, "{bad}");
        }
    }

    #[test]
    fn months() {
        for form in [
            "2026-10",
            "202610",
            "2026/10",
            "2026.10",
            "2026年10月",
            "2026-10-15",
            "20261015",
        ] {
            assert_eq!(year_month(form).as_deref(), Some("2026-10"), "{form}");
        }
        assert_eq!(year_month("2026-1").as_deref(), Some("2026-01"));
        for bad in ["2026-13", "2026", "26-10", "2026年10", "202613"] {
            assert_eq!(year_month(bad), None, "{bad}");
        }
    }

    #[test]
    fn decimals_keep_every_digit() {
        let plain = Units::default();
        assert_eq!(
            decimal("12345678901234567890.10", plain).as_deref(),
            Some("12345678901234567890.10")
        );
        assert_eq!(decimal("－１２.５", plain).as_deref(), Some("-12.5"));
        assert_eq!(decimal("500", plain).as_deref(), Some("500"));
        assert_eq!(decimal("007.50", plain).as_deref(), Some("7.50"));
        assert_eq!(decimal("-0.00", plain).as_deref(), Some("0.00"));
        assert_eq!(decimal("1,234.50", plain).as_deref(), Some("1234.50"));
        assert_eq!(decimal("5.0E7", plain).as_deref(), Some("50000000"));
        assert_eq!(decimal("1.25e-1", plain).as_deref(), Some("0.125"));
        for bad in [
            "1.2.3",
            ".5",
            "5.",
            "1e",
            "1e99",
            "abc",
            "",
            "12,34",
            "1,2345",
            "1,234e3",
            "--1",
            "500万元",
            "￥300",
        ] {
            assert_eq!(decimal(bad, plain), None, "{bad}");
        }
    }

    #[test]
    fn amounts_with_units_move_the_point_and_never_round() {
        let wan = Units {
            target: Some(Unit::TenThousand),
            native: None,
        };
        for (form, want) in [
            ("500.00万元", "500.00"),
            ("500万", "500"),
            ("500.00万元人民币", "500.00"),
            ("人民币500万元", "500"),
            ("5000000元", "500"),
            ("5,000,000.00元", "500.00"),
            ("1,234.50元", "0.12345"),
            ("￥300", "0.03"),
            ("3亿元", "30000"),
            ("1.5亿", "15000"),
            ("8000", "8000"),
            ("-12元", "-0.0012"),
        ] {
            assert_eq!(decimal(form, wan).as_deref(), Some(want), "{form}");
        }
        let yuan_native = Units {
            target: Some(Unit::TenThousand),
            native: Some(Unit::Yuan),
        };
        assert_eq!(decimal("5000000", yuan_native).as_deref(), Some("500"));
        assert_eq!(decimal("500万元", yuan_native).as_deref(), Some("500"));
        let yuan = Units {
            target: Some(Unit::Yuan),
            native: None,
        };
        assert_eq!(decimal("￥1,200.50", yuan).as_deref(), Some("1200.50"));
        assert_eq!(decimal("0.12万元", yuan).as_deref(), Some("1200"));
        for bad in ["100万美元", "USD 100", "万元", "元500"] {
            assert_eq!(decimal(bad, wan), None, "{bad}");
        }
        assert_eq!(Unit::parse(" 万元 "), Some(Unit::TenThousand));
        assert_eq!(Unit::parse("美元"), None);
    }

    proptest::proptest! {
        /// Narrowed character by character, then trimmed, whether or not the
        /// text has anything to narrow; and narrowing twice changes nothing.
        #[test]
        fn half_width_narrows_every_wide_form_and_trims(
            s in "[ \u{3000}\u{ff01}-\u{ff5e}\u{ff5f}a-z0-9\t年、\u{a0}]{0,12}|\\PC{0,8}",
        ) {
            let narrowed: String = s
                .chars()
                .map(|c| match u32::from(c) {
                    0x3000 => ' ',
                    n @ 0xff01..=0xff5e => char::from_u32(n - 0xfee0).unwrap(),
                    _ => c,
                })
                .collect();
            let once = half_width(&s);
            proptest::prop_assert_eq!(&once, narrowed.trim());
            proptest::prop_assert_eq!(half_width(&once), once.clone());
        }

        #[test]
        fn every_date_form_reads_the_same_day(y in 1900i32..2100, m in 1u8..13, d in 1u8..29) {
            let want = format!("{y:04}-{m:02}-{d:02}");
            for form in [
                want.clone(),
                format!("{y}{m:02}{d:02}"),
                format!("{y}/{m}/{d}"),
                format!("{y}.{m}.{d}"),
                format!("{y}年{m}月{d}日"),
                format!("{want} 23:59:59"),
                format!("{want}T23:59:59+08:00"),
            ] {
                proptest::prop_assert_eq!(date(&form), Some(want.clone()), "{}", form);
            }
        }

        #[test]
        fn moving_the_point_loses_no_digit(int in "[1-9][0-9]{0,20}", frac in "[0-9]{0,6}") {
            let yuan = if frac.is_empty() { int.clone() } else { format!("{int}.{frac}") };
            let to_wan = Units { target: Some(Unit::TenThousand), native: Some(Unit::Yuan) };
            let wan = decimal(&yuan, to_wan).unwrap();
            let back = decimal(&wan, Units { target: Some(Unit::Yuan), native: Some(Unit::TenThousand) }).unwrap();
            // Equal as numbers: the same digits once trailing fraction zeros go.
            let trim = |s: &str| match s.split_once('.') {
                Some((i, f)) => {
                    let f = f.trim_end_matches('0');
                    if f.is_empty() { i.to_owned() } else { format!("{i}.{f}") }
                }
                None => s.to_owned(),
            };
            proptest::prop_assert_eq!(trim(&back), trim(&yuan));
        }
    }

    #[test]
    fn booleans_and_integers() {
        assert_eq!(boolean("是"), Some(true));
        assert_eq!(boolean("0"), Some(false));
        assert_eq!(boolean("maybe"), None);
        assert_eq!(integer("４２"), Some(42));
        assert_eq!(integer("1,234"), Some(1234));
        assert_eq!(integer("-7"), Some(-7));
        assert_eq!(integer("1.5"), None);
        assert_eq!(integer("1e3"), None);
        assert_eq!(integer("99999999999999999999"), None);
    }

    #[test]
    fn identifiers_are_check_character_verified() {
        assert_eq!(
            uscc("９１３２０１０６ｍａ１ｙ８ｎ２ｐ４ｙ").as_deref(),
            Some("91320106MA1Y8N2P4Y")
        );
        assert_eq!(uscc("91320106MA1Y8N2P4X"), None);
        assert_eq!(
            resident_id("11010519491231002x").as_deref(),
            Some("11010519491231002X")
        );
        assert_eq!(resident_id("110105194912310021"), None);
        // A first-generation number: 110105 491231 002 → 11010519491231002X.
        assert_eq!(
            resident_id("110105491231002").as_deref(),
            Some("11010519491231002X")
        );
        assert_eq!(area_code("３２０１０６").as_deref(), Some("320106"));
        assert_eq!(area_code("320106001001").as_deref(), Some("320106"));
        assert_eq!(area_code("329906"), None);
        assert_eq!(area_code("32010"), None);
    }
}
