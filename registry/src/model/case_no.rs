//! Case numbers (办件编号): the shape a list entry sets for them
//! (`case_no_pattern`), and the numbers no case number may be — a resident
//! identity number or a unified social credit code, which would put a person
//! or an organisation into the permanent log.
//!
//! A pattern is the case number written with placeholders:
//!
//! | in the pattern | matches |
//! |---|---|
//! | `#` | one digit `0-9` |
//! | `@` | one capital letter `A-Z` |
//! | `*` | one or more of `A-Z a-z 0-9 . - _ /` |
//! | any other of `A-Z a-z 0-9 . - _ /` | itself |
//!
//! `SH-####-######` matches `SH-2026-000123`; `@@-####-*` matches any
//! two-letter prefix and year followed by anything code-like.

use yrdx_signing::{Uscc, check_resident_id};

/// The longest case number, and the longest pattern.
pub const MAX_LEN: usize = 64;

/// Whether `b` may appear in a case number.
fn code_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"._-/".contains(&b)
}

/// Checks a pattern as the list states it: 1 to 64 characters, each a
/// placeholder or a character a case number may hold.
pub fn check_pattern(pattern: &str) -> Result<(), String> {
    if pattern.is_empty() || pattern.len() > MAX_LEN {
        return Err(format!(
            "办件编号格式须为 1 至 {MAX_LEN} 个字符 a case-number pattern has 1 to {MAX_LEN} characters"
        ));
    }
    if let Some(c) = pattern
        .bytes()
        .find(|&b| !(code_byte(b) || b"#@*".contains(&b)))
    {
        return Err(format!(
            "办件编号格式含不允许的字符 a case-number pattern may hold `#`, `@`, `*` and \
             A-Z a-z 0-9 . - _ /, not {:?}",
            char::from(c)
        ));
    }
    Ok(())
}

/// Whether `case_no` has the shape `pattern` sets (the whole of it).
pub fn matches(pattern: &str, case_no: &str) -> bool {
    let (p, s) = (pattern.as_bytes(), case_no.as_bytes());
    if s.len() > MAX_LEN || p.len() > MAX_LEN || !s.iter().all(|&b| code_byte(b)) {
        return false;
    }
    // reach[j]: the pattern so far matches the first j bytes of the number.
    let mut reach = vec![false; s.len() + 1];
    if let Some(first) = reach.first_mut() {
        *first = true;
    }
    for &pc in p {
        let mut next = vec![false; s.len() + 1];
        for j in 0..s.len() {
            if !reach.get(j).copied().unwrap_or(false) {
                continue;
            }
            match pc {
                // One or more: every end from j + 1 on.
                b'*' => {
                    for slot in next.iter_mut().skip(j + 1) {
                        *slot = true;
                    }
                    break;
                }
                _ => {
                    let b = s.get(j).copied().unwrap_or_default();
                    let fits = match pc {
                        b'#' => b.is_ascii_digit(),
                        b'@' => b.is_ascii_uppercase(),
                        literal => b == literal,
                    };
                    if fits && let Some(slot) = next.get_mut(j + 1) {
                        *slot = true;
                    }
                }
            }
        }
        reach = next;
    }
    reach.last().copied().unwrap_or(false)
}

/// Whether `s` is a resident identity number (18 characters, its check
/// character right) or a unified social credit code: what a case number must
/// never be, since the log keeps case numbers.
pub fn is_identity_number(s: &str) -> bool {
    let upper = s.to_ascii_uppercase();
    check_resident_id(&upper).is_ok() || Uscc::parse(&upper).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn placeholders_match_their_characters_and_literals_themselves() {
        let p = "SH-####-######";
        assert!(matches(p, "SH-2026-000123"));
        for no in [
            "SH-2026-00012",
            "SH-2026-0001234",
            "ZJ-2026-000123",
            "SH-20x6-000123",
            "",
        ] {
            assert!(!matches(p, no), "{no}");
        }
        assert!(matches("@@-*", "AH-1"));
        assert!(matches("@@-*", "AH-1-2/3.x_y"));
        assert!(!matches("@@-*", "AH-"));
        assert!(!matches("@@-*", "ah-1"));
        assert!(matches("*-#", "a-b-1"));
        assert!(!matches("#", "1 "));
    }

    #[test]
    fn patterns_are_checked() {
        assert!(check_pattern("SH-####-*").is_ok());
        for bad in ["", "SH ####", "SH-#{4}", &"#".repeat(65)] {
            assert!(check_pattern(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn identity_numbers_and_credit_codes_are_told() {
        assert!(is_identity_number("11010519491231002X"));
        assert!(is_identity_number("11010519491231002x"));
        assert!(is_identity_number("91330106MA27Y9KE3E"));
        // Wrong check characters, other lengths: not identity numbers.
        assert!(!is_identity_number("110105194912310021"));
        assert!(!is_identity_number("91330106MA27Y9KE3F"));
        assert!(!is_identity_number("SH-2026-000123"));
    }

    /// The matcher against a plain backtracking reading of the same rules.
    fn reference(p: &[u8], s: &[u8]) -> bool {
        match p.split_first() {
            None => s.is_empty(),
            Some((b'*', rest)) => (1..=s.len()).any(|n| reference(rest, &s[n..])),
            Some((&c, rest)) => match s.split_first() {
                Some((&b, tail)) => {
                    let fits = match c {
                        b'#' => b.is_ascii_digit(),
                        b'@' => b.is_ascii_uppercase(),
                        l => b == l,
                    };
                    fits && reference(rest, tail)
                }
                None => false,
            },
        }
    }

    proptest! {
        #[test]
        fn the_matcher_agrees_with_backtracking(
            p in "[#@*A-C1-2-]{0,8}",
            s in "[A-Ca-c0-2-]{0,10}",
        ) {
            prop_assert_eq!(matches(&p, &s), reference(p.as_bytes(), s.as_bytes()));
        }

        #[test]
        fn the_matcher_never_panics(p in "\\PC{0,80}", s in "\\PC{0,80}") {
            let _ = matches(&p, &s);
        }
    }
}
