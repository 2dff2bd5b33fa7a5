//! Amounts as exact decimals: bills write them as decimal text (`1234.50`,
//! `-12.00` on red bills), and a claim is compared with the bill exactly, never
//! through a float.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

use super::BillError;

/// Fractional digits kept; bills use two, unit prices and rates up to six.
const SCALE: u32 = 8;
/// Integer digits accepted (far above any bill, far below i128's range).
const MAX_INT_DIGITS: usize = 18;

/// A decimal amount, exact to eight places. `1.5` and `1.50` are equal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount(i128);

impl Amount {
    /// Parses `[-]digits[.digits]` (at most 18 integer and 8 fractional digits;
    /// no exponent, no grouping, no `+`).
    pub fn parse(text: &str) -> Result<Amount, BillError> {
        let bad = || BillError::Amount(text.chars().take(40).collect());
        let t = text.trim();
        let (negative, digits) = match t.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, t),
        };
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if int.is_empty()
            || int.len() > MAX_INT_DIGITS
            || frac.len() > SCALE as usize
            || !all_digits(int)
            || !all_digits(frac)
            || (digits.contains('.') && frac.is_empty())
        {
            return Err(bad());
        }
        let mut value: i128 = 0;
        for b in int.bytes().chain(frac.bytes()) {
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(i128::from(b - b'0')))
                .ok_or_else(bad)?;
        }
        let pad = SCALE.saturating_sub(u32::try_from(frac.len()).unwrap_or(SCALE));
        value = value.checked_mul(10i128.pow(pad)).ok_or_else(bad)?;
        Ok(Amount(if negative { -value } else { value }))
    }

    /// Whether the amount is below zero (red bills, refund lines).
    pub fn is_negative(self) -> bool {
        self.0 < 0
    }
}

impl FromStr for Amount {
    type Err = BillError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Amount::parse(s)
    }
}

impl fmt::Display for Amount {
    /// Canonical text: at least two decimals, trailing zeros beyond them dropped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = 10u128.pow(SCALE);
        let abs = self.0.unsigned_abs();
        let int = abs / unit;
        let mut frac = format!("{:08}", abs % unit);
        while frac.len() > 2 && frac.ends_with('0') {
            frac.pop();
        }
        let sign = if self.0 < 0 { "-" } else { "" };
        write!(f, "{sign}{int}.{frac}")
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn exact_comparison() {
        let a = Amount::parse("1234.5").ok();
        assert_eq!(a, Amount::parse("1234.50").ok());
        assert_ne!(a, Amount::parse("1234.51").ok());
        // 0.1 + 0.2 style float hazards do not exist here.
        assert_eq!(Amount::parse("0.30").ok(), Amount::parse("0.3").ok());
        assert_eq!(
            Amount::parse("-12").map(|a| a.to_string()).ok().as_deref(),
            Some("-12.00")
        );
        assert_eq!(
            Amount::parse("0.123456")
                .map(|a| a.to_string())
                .ok()
                .as_deref(),
            Some("0.123456")
        );
    }

    #[test]
    fn malformed_amounts() {
        for bad in [
            "",
            "-",
            ".5",
            "5.",
            "1e3",
            "+1",
            "1,000.00",
            "1.123456789",
            "12a",
            "--1",
            "1234567890123456789",
            "١٢",
        ] {
            assert!(Amount::parse(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn display_round_trips(cents in any::<i64>()) {
            let text = format!("{}{}.{:02}", if cents < 0 { "-" } else { "" }, (cents / 100).unsigned_abs(), (cents % 100).unsigned_abs());
            let a = Amount::parse(&text);
            prop_assert!(a.is_ok(), "{}", text);
            if let Ok(a) = a {
                prop_assert_eq!(Amount::parse(&a.to_string()).ok(), Some(a));
                prop_assert_eq!(a.is_negative(), cents < 0);
            }
        }

        #[test]
        fn never_panics(s in ".{0,40}") {
            let _ = Amount::parse(&s);
        }
    }
}
