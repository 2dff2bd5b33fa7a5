//! Fixture cases: a native sample and the catalogue record (or the failure) a
//! mapping must make of it. The files live beside the mappings
//! (`{region}/cases/{mapping}/{case}.native.{json,xml}` and
//! `{case}.expected.json`); finding and reading them is the caller's business,
//! running one is this module's.
//!
//! An expected file is JSON:
//!
//! ```json
//! { "note": "why this case exists",
//!   "content_type": "text/xml; charset=GB18030",
//!   "record": { "name": "…" } }
//! ```
//!
//! or, for a listing (`response.rows = true`), `"rows": [{…}, …]`, the
//! records in order; or, for a document the mapping must refuse,
//! `{ "error": { "kind": "unknown_code", "item": "status", "path": "djzt" } }`
//! (`kind` is [`crate::MapError::kind`]; `item` and `path` are checked when given).

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::Value;

use crate::mapping::{Mapping, NativeResponse};
use crate::response::Record;
use crate::schema::Schema;

/// What a case expects.
#[derive(Clone, Debug, PartialEq)]
pub struct Expectation {
    /// The `Content-Type` the native sample arrives with.
    pub content_type: Option<String>,
    /// The record, or the failure.
    pub outcome: Outcome,
}

/// The expected outcome of a case.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// This record, exactly.
    Record(Record),
    /// A listing's rows, exactly and in order.
    Rows(Vec<Record>),
    /// A failure of this kind (and item and path, when given).
    Error {
        /// [`crate::MapError::kind`].
        kind: String,
        /// The catalogue item named.
        item: Option<String>,
        /// The native path named.
        path: Option<String>,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Shape {
    #[serde(default)]
    #[allow(dead_code, reason = "for the reader of the file")]
    note: Option<String>,
    content_type: Option<String>,
    record: Option<Record>,
    rows: Option<Vec<Record>>,
    error: Option<ErrorShape>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ErrorShape {
    kind: String,
    item: Option<String>,
    path: Option<String>,
}

impl Expectation {
    /// Reads an expected file.
    pub fn parse(text: &str) -> Result<Expectation, String> {
        let shape: Shape = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let outcome = match (shape.record, shape.rows, shape.error) {
            (Some(r), None, None) => Outcome::Record(r),
            (None, Some(rows), None) => Outcome::Rows(rows),
            (None, None, Some(e)) => Outcome::Error {
                kind: e.kind,
                item: e.item,
                path: e.path,
            },
            _ => return Err("give exactly one of `record`, `rows` or `error`".into()),
        };
        Ok(Expectation {
            content_type: shape.content_type,
            outcome,
        })
    }
}

/// The result of one case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseReport {
    /// Whether the mapping did what the case expects.
    pub passed: bool,
    /// On failure, a readable difference: `-` expected, `+` got.
    pub diff: String,
}

/// Runs one case: maps `native` with `mapping` and compares.
pub fn run_case(
    mapping: &Mapping,
    schema: &Schema,
    native: &[u8],
    expected: &Expectation,
) -> CaseReport {
    let response = NativeResponse {
        content_type: expected.content_type.as_deref(),
        body: native,
    };
    let mut diff = String::new();
    if mapping.is_listing() {
        return run_listing(mapping, schema, response, expected);
    }
    let got = mapping.catalogue_record(response, schema);
    let passed = match (&expected.outcome, &got) {
        (Outcome::Record(want), Ok(have)) => compare(want, have, &mut diff),
        (Outcome::Rows(_), _) => {
            diff.push_str("- rows\n+ this mapping answers one record, not rows\n");
            false
        }
        (Outcome::Record(want), Err(e)) => {
            diff.push_str(&format!("- record {}\n", Value::Object(want.clone())));
            diff.push_str(&format!("+ error {}: {e}\n", e.kind()));
            false
        }
        (Outcome::Error { .. }, Ok(have)) => {
            diff.push_str(&format!("- {}\n", describe(&expected.outcome)));
            diff.push_str(&format!("+ record {}\n", Value::Object(have.clone())));
            false
        }
        (Outcome::Error { kind, item, path }, Err(e)) => {
            let ok = e.kind() == kind
                && item.as_deref().is_none_or(|i| e.item() == Some(i))
                && path.as_deref().is_none_or(|p| e.path() == Some(p));
            if !ok {
                diff.push_str(&format!("- {}\n", describe(&expected.outcome)));
                diff.push_str(&format!("+ error {}: {e}\n", e.kind()));
            }
            ok
        }
    };
    CaseReport {
        passed,
        diff: if passed { String::new() } else { diff },
    }
}

/// Item by item: `true` when the records are the same; the lines go to `diff`.
fn compare(want: &Record, have: &Record, diff: &mut String) -> bool {
    let keys: BTreeSet<&String> = want.keys().chain(have.keys()).collect();
    let mut same = true;
    for k in keys {
        match (want.get(k), have.get(k)) {
            (Some(a), Some(b)) if a == b => diff.push_str(&format!("  {k}: {a}\n")),
            (a, b) => {
                same = false;
                if let Some(a) = a {
                    diff.push_str(&format!("- {k}: {a}\n"));
                }
                if let Some(b) = b {
                    diff.push_str(&format!("+ {k}: {b}\n"));
                }
            }
        }
    }
    same
}

/// A listing's case: its rows, in order, or the failure.
fn run_listing(
    mapping: &Mapping,
    schema: &Schema,
    response: NativeResponse<'_>,
    expected: &Expectation,
) -> CaseReport {
    let got = mapping.catalogue_rows(response, schema);
    let mut diff = String::new();
    let passed = match (&expected.outcome, &got) {
        (Outcome::Rows(want), Ok(have)) => {
            let mut same = want.len() == have.len();
            if !same {
                diff.push_str(&format!("- {} rows\n+ {} rows\n", want.len(), have.len()));
            }
            for (i, (w, h)) in want.iter().zip(have).enumerate() {
                diff.push_str(&format!("  row {i}\n"));
                same &= compare(w, h, &mut diff);
            }
            same
        }
        (Outcome::Record(_), _) => {
            diff.push_str("- record\n+ this mapping is a listing: expect `rows`\n");
            false
        }
        (Outcome::Rows(want), Err(e)) => {
            diff.push_str(&format!("- {} rows\n", want.len()));
            diff.push_str(&format!("+ error {}: {e}\n", e.kind()));
            false
        }
        (Outcome::Error { .. }, Ok(have)) => {
            diff.push_str(&format!("- {}\n", describe(&expected.outcome)));
            diff.push_str(&format!("+ {} rows\n", have.len()));
            false
        }
        (Outcome::Error { kind, item, path }, Err(e)) => {
            let ok = e.kind() == kind
                && item.as_deref().is_none_or(|i| e.item() == Some(i))
                && path.as_deref().is_none_or(|p| e.path() == Some(p));
            if !ok {
                diff.push_str(&format!("- {}\n", describe(&expected.outcome)));
                diff.push_str(&format!("+ error {}: {e}\n", e.kind()));
            }
            ok
        }
    };
    CaseReport {
        passed,
        diff: if passed { String::new() } else { diff },
    }
}

fn describe(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Record(r) => format!("record {}", Value::Object(r.clone())),
        Outcome::Rows(rows) => format!("{} rows", rows.len()),
        Outcome::Error { kind, item, path } => {
            let mut s = format!("error {kind}");
            if let Some(i) = item {
                s.push_str(&format!(" item `{i}`"));
            }
            if let Some(p) = path {
                s.push_str(&format!(" path `{p}`"));
            }
            s
        }
    }
}

/// The error kinds an expected file may name.
pub fn error_kinds() -> &'static [&'static str] {
    &[
        "missing_key",
        "bad_key",
        "malformed",
        "encoding",
        "not_found",
        "provider_failure",
        "no_record",
        "several_records",
        "missing_item",
        "no_value",
        "ambiguous",
        "invalid",
        "unknown_code",
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Field, ItemType};

    fn setup() -> (Mapping, Schema) {
        let m = Mapping::parse(
            "t.toml",
            r#"
provider = "js:11320000014000118J:data"
resource = "YRD-T-0001"
version = "1"
[request]
method = "GET"
path = "/x/{id}"
[response]
format = "json"
record = "data"
[items]
name = { path = "mc" }
status = { path = "zt", codes = { "A" = "1" } }
"#,
        )
        .unwrap();
        let s = Schema {
            resource: "YRD-T-0001".into(),
            key: vec![Field {
                name: "id".into(),
                ty: ItemType::Text { max_len: None },
                required: true,
                codes: vec![],
            }],
            items: vec![
                Field {
                    name: "name".into(),
                    ty: ItemType::Text { max_len: None },
                    required: true,
                    codes: vec![],
                },
                Field {
                    name: "status".into(),
                    ty: ItemType::Code,
                    required: false,
                    codes: vec!["1".into()],
                },
            ],
        };
        (m, s)
    }

    #[test]
    fn a_matching_record_passes_and_a_difference_is_shown() {
        let (m, s) = setup();
        let native = br#"{"data":{"mc":"x","zt":"A"}}"#;
        let ok = Expectation::parse(r#"{"record":{"name":"x","status":"1"}}"#).unwrap();
        assert!(run_case(&m, &s, native, &ok).passed);
        let wrong = Expectation::parse(r#"{"record":{"name":"y","status":"1"}}"#).unwrap();
        let report = run_case(&m, &s, native, &wrong);
        assert!(!report.passed);
        assert_eq!(
            report.diff,
            "- name: \"y\"\n+ name: \"x\"\n  status: \"1\"\n"
        );
    }

    #[test]
    fn expected_errors_match_on_kind_item_and_path() {
        let (m, s) = setup();
        let native = br#"{"data":{"mc":"x","zt":"B"}}"#;
        let exp =
            Expectation::parse(r#"{"error":{"kind":"unknown_code","item":"status","path":"zt"}}"#)
                .unwrap();
        assert!(run_case(&m, &s, native, &exp).passed);
        let exp = Expectation::parse(r#"{"error":{"kind":"invalid"}}"#).unwrap();
        let report = run_case(&m, &s, native, &exp);
        assert!(!report.passed);
        assert!(
            report.diff.contains("+ error unknown_code"),
            "{}",
            report.diff
        );
        assert!(Expectation::parse(r#"{"record":{},"error":{"kind":"x"}}"#).is_err());
        assert!(Expectation::parse(r#"{"recrod":{}}"#).is_err());
        for k in error_kinds() {
            assert!(!k.is_empty());
        }
    }

    #[test]
    fn an_error_where_a_record_is_expected_says_so() {
        let (m, s) = setup();
        let exp = Expectation::parse(r#"{"record":{"name":"x"}}"#).unwrap();
        let report = run_case(&m, &s, b"{", &exp);
        assert!(!report.passed);
        assert!(report.diff.contains("+ error malformed"), "{}", report.diff);
    }
}
