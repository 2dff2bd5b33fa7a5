//! The one query-string parser of every API: percent-decoded name/value pairs,
//! each name one the route knows and given at most once, anything else a
//! `bad_request` that names the parameter (cut to 32 characters) and never its
//! value.

use std::collections::HashMap;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::problem::{Detail, Problem};

/// A route's query parameters, checked.
#[derive(Debug, Default)]
pub struct Params {
    values: HashMap<&'static str, String>,
}

fn bad(zh: impl Into<String>, en: impl Into<String>) -> Problem {
    Problem::BadRequest(Detail::new(zh, en))
}

/// What a `period` parameter looks like, for [`Params::required`].
pub fn period_form() -> Detail {
    Detail::new("：格式为 YYYY-MM 或 YYYY-MM-DD", ": YYYY-MM or YYYY-MM-DD")
}

/// A `period` that is not a month or a day (`e` says which value).
pub fn bad_period(e: String) -> Problem {
    bad(format!("报告期不正确：{e}"), e)
}

/// At most 32 characters of what a caller sent, for a message.
pub fn shown(s: &str) -> String {
    s.chars().take(32).collect()
}

/// Parses `raw` (the URI's query, without `?`) strictly against `allowed`.
pub fn parse(raw: Option<&str>, allowed: &[&'static str]) -> Result<Params, Problem> {
    check(decode(raw)?, allowed)
}

/// The percent-decoded pairs of `raw`, in the order sent, not yet checked.
pub fn decode(raw: Option<&str>) -> Result<Vec<(String, String)>, Problem> {
    let Some(raw) = raw.filter(|r| !r.is_empty()) else {
        return Ok(Vec::new());
    };
    let uri: http::Uri = format!("/?{raw}")
        .parse()
        .map_err(|_| bad("查询字符串无效。", "the query string is not valid"))?;
    let axum::extract::Query(pairs) =
        axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&uri)
            .map_err(|_| bad("查询字符串无效。", "the query string is not valid"))?;
    Ok(pairs)
}

/// Checks decoded pairs against `allowed`: each name known, none twice.
pub fn check(pairs: Vec<(String, String)>, allowed: &[&'static str]) -> Result<Params, Problem> {
    let mut values = HashMap::new();
    for (name, value) in pairs {
        let known = allowed.iter().find(|a| **a == name).ok_or_else(|| {
            bad(
                format!(
                    "未知的查询参数 `{}`；可用参数：{}",
                    shown(&name),
                    allowed.join("、")
                ),
                format!(
                    "unknown query parameter `{}`; expected {}",
                    shown(&name),
                    allowed.join(", ")
                ),
            )
        })?;
        if values.insert(*known, value).is_some() {
            return Err(bad(
                format!("查询参数 `{known}` 出现了两次。"),
                format!("query parameter `{known}` is given twice"),
            ));
        }
    }
    Ok(Params { values })
}

impl Params {
    /// The value of `name`, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// The value of `name`, taken out.
    pub fn take(&mut self, name: &str) -> Option<String> {
        self.values.remove(name)
    }

    /// The value of `name`, which the route requires; `why` says what for.
    pub fn required(&mut self, name: &str, why: &Detail) -> Result<String, Problem> {
        self.take(name).ok_or_else(|| {
            bad(
                format!("缺少必填参数 `{name}`{}", why.zh),
                format!("`{name}` is required{}", why.en),
            )
        })
    }

    /// `name` as a non-negative decimal integer: digits only, no sign, no
    /// spaces, no hex.
    pub fn number(&self, name: &str) -> Result<Option<u64>, Problem> {
        self.get(name)
            .map(|v| {
                let wrong = || {
                    bad(
                        format!("`{name}` 须为非负整数。"),
                        format!("`{name}` must be a non-negative integer"),
                    )
                };
                if v.is_empty() || v.len() > 20 || !v.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(wrong());
                }
                v.parse().map_err(|_| wrong())
            })
            .transpose()
    }

    /// `name` as an RFC 3339 time, in Unix milliseconds.
    pub fn time_ms(&self, name: &str) -> Result<Option<i64>, Problem> {
        self.get(name)
            .map(|v| {
                let t = OffsetDateTime::parse(v, &Rfc3339).map_err(|_| {
                    bad(
                        format!("`{name}` 须为 RFC 3339 时间，如 2026-11-26T01:00:00Z。"),
                        format!("`{name}` must be an RFC 3339 time, e.g. 2026-11-26T01:00:00Z"),
                    )
                })?;
                Ok(yrdx_signing::time::unix_ms(t))
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_names_once_each_decoded() {
        let p = parse(Some("a=1&b=%E6%94%BF+x"), &["a", "b", "c"]).unwrap();
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.get("b"), Some("政 x"));
        assert_eq!(p.get("c"), None);
        assert_eq!(p.number("a").unwrap(), Some(1));
        assert!(parse(None, &["a"]).unwrap().get("a").is_none());
        assert!(parse(Some(""), &["a"]).unwrap().get("a").is_none());
    }

    #[test]
    fn unknown_repeated_and_malformed_are_bad_requests() {
        for (raw, says) in [
            ("a=1&a=2", "`a` is given twice"),
            ("zz=1", "unknown query parameter `zz`; expected a, b"),
        ] {
            match parse(Some(raw), &["a", "b"]) {
                Err(Problem::BadRequest(d)) => assert!(d.en.contains(says), "{raw}: {d:?}"),
                other => panic!("{raw}: {other:?}"),
            }
        }
        let long = "x".repeat(100);
        match parse(Some(&format!("{long}=1")), &["a"]) {
            Err(Problem::BadRequest(d)) => {
                assert!(!d.en.contains(&long) && !d.zh.contains(&long), "{d:?}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn numbers_are_plain_decimal_digits() {
        for bad in [
            "-1",
            "+1",
            " 1",
            "0x10",
            "",
            "1.0",
            "99999999999999999999999",
        ] {
            let p = parse(
                Some(&format!(
                    "n={}",
                    bad.replace(' ', "%20").replace('+', "%2B")
                )),
                &["n"],
            )
            .unwrap();
            assert!(p.number("n").is_err(), "{bad}");
        }
        let p = parse(Some("n=18446744073709551615"), &["n"]).unwrap();
        assert_eq!(p.number("n").unwrap(), Some(u64::MAX));
    }
}
