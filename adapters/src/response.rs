//! Native document → catalogue record: envelope checks, the record, then each
//! item by its rules. Every value is converted to and validated against its
//! catalogue type; a failure names the item and the native path, never the
//! value.

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::convert::{self, Options};
use crate::doc::{Document, Node};
use crate::error::MapError;
use crate::normalise::{self, Unit, Units};
use crate::path::Hit;
use crate::schema::{Field, Schema};
use crate::spec::{
    ItemSpec, Predicate, ResponseSpec, Rule, RuleSource, Test, Treatment, const_text,
};

/// A catalogue record: item name → value in the catalogue's form. An item the
/// provider holds no value for is absent, or `null` where the mapping says so.
pub type Record = Map<String, Value>;

/// What a rule found for its item, before conversion.
enum Found {
    Value(String),
    Null,
    Empty,
    Absent,
}

impl Found {
    fn name(&self) -> &'static str {
        match self {
            Found::Value(_) => "a value",
            Found::Null => "null",
            Found::Empty => "empty",
            Found::Absent => "absent",
        }
    }
}

pub(crate) fn record(
    response: &ResponseSpec,
    items: &[ItemSpec],
    doc: &Document,
    schema: &Schema,
) -> Result<Record, MapError> {
    if let Some(check) = &response.not_found
        && holds(check, doc, &doc.root)
    {
        return Err(MapError::NotFound);
    }
    if let Some(check) = &response.success
        && !holds(check, doc, &doc.root)
    {
        return Err(MapError::ProviderFailure {
            path: check.path.to_string(),
        });
    }
    let hits = response.record.select(doc, &doc.root);
    let record = match hits.as_slice() {
        [Hit::Node(n)] if !n.is_null() && is_structure(n) => *n,
        [] | [_] => {
            return Err(MapError::NoRecord {
                path: response.record.to_string(),
            });
        }
        _ => {
            return Err(MapError::SeveralRecords {
                path: response.record.to_string(),
            });
        }
    };
    map_one(items, doc, record, schema)
}

/// A listing's native document → its rows, each mapped as a record. "Not
/// found" is no row; the record path selecting nothing is no row too.
pub(crate) fn rows(
    response: &ResponseSpec,
    items: &[ItemSpec],
    doc: &Document,
    schema: &Schema,
) -> Result<Vec<Record>, MapError> {
    if let Some(check) = &response.not_found
        && holds(check, doc, &doc.root)
    {
        return Ok(Vec::new());
    }
    if let Some(check) = &response.success
        && !holds(check, doc, &doc.root)
    {
        return Err(MapError::ProviderFailure {
            path: check.path.to_string(),
        });
    }
    let mut out = Vec::new();
    for hit in response.record.select(doc, &doc.root) {
        match hit {
            Hit::Node(n) if n.is_null() => {}
            Hit::Node(n) if is_structure(n) => out.push(map_one(items, doc, n, schema)?),
            _ => {
                return Err(MapError::NoRecord {
                    path: response.record.to_string(),
                });
            }
        }
    }
    Ok(out)
}

/// One record node → its catalogue record, item by item.
fn map_one(
    items: &[ItemSpec],
    doc: &Document,
    record: &Node,
    schema: &Schema,
) -> Result<Record, MapError> {
    let mut out = Record::new();
    for spec in items {
        let Some(field) = schema.item(&spec.item) else {
            continue;
        };
        let rule = spec
            .rules
            .iter()
            .find(|r| r.when.as_ref().is_none_or(|w| holds(w, doc, record)));
        let Some(rule) = rule else {
            // No rule applies: the item is absent.
            if field.required {
                return Err(MapError::MissingItem {
                    item: spec.item.clone(),
                    path: spec
                        .rules
                        .iter()
                        .map(|r| r.described.as_str())
                        .collect::<Vec<_>>()
                        .join(" | "),
                });
            }
            continue;
        };
        if let Some(value) = item(&spec.item, rule, field, doc, record)? {
            out.insert(spec.item.clone(), value);
        }
    }
    Ok(out)
}

fn is_structure(n: &Node) -> bool {
    matches!(n, Node::Object(_) | Node::Element(_) | Node::Array(_))
}

/// Whether a predicate holds, paths read from `base`.
pub(crate) fn holds(p: &Predicate, doc: &Document, base: &Node) -> bool {
    let hits = p.path.select(doc, base);
    let texts = || {
        hits.iter()
            .filter(|h| !h.is_null())
            .filter_map(|h| h.scalar_text())
            .map(normalise::half_width)
    };
    match &p.test {
        Test::Present(want) => hits.iter().any(|h| !h.is_null() && !h.is_empty()) == *want,
        Test::Equals(v) => texts().any(|t| t == *v),
        Test::NotEquals(v) => !texts().any(|t| t == *v),
        Test::In(list) => texts().any(|t| list.contains(&t)),
    }
}

fn find(rule: &Rule, item: &str, doc: &Document, record: &Node) -> Result<Found, MapError> {
    let invalid = || MapError::Invalid {
        item: item.to_owned(),
        path: rule.described.clone(),
        expected: "a single value, not a structure".to_owned(),
    };
    // Borrowed from the document until the end, where the trimmed text is
    // copied once.
    let text: Cow<'_, str> = match &rule.source {
        RuleSource::Value(v) => Cow::Owned(const_text(v)),
        RuleSource::Paths(paths) => {
            let hits = match paths.as_slice() {
                [p] => p.select(doc, record),
                _ => paths.iter().flat_map(|p| p.select(doc, record)).collect(),
            };
            match &rule.join {
                None => match hits.as_slice() {
                    [] => return Ok(Found::Absent),
                    [h] if h.is_null() => return Ok(Found::Null),
                    [h] if h.is_empty() => return Ok(Found::Empty),
                    [h] => Cow::Borrowed(h.scalar_text().ok_or_else(invalid)?),
                    _ => {
                        return Err(MapError::Ambiguous {
                            item: item.to_owned(),
                            path: rule.described.clone(),
                        });
                    }
                },
                Some(separator) => {
                    if hits.is_empty() {
                        return Ok(Found::Absent);
                    }
                    let mut parts = Vec::new();
                    for h in &hits {
                        if h.is_null() || h.is_empty() {
                            continue;
                        }
                        parts.push(h.scalar_text().ok_or_else(invalid)?.trim());
                    }
                    if parts.is_empty() {
                        return Ok(match hits.iter().any(Hit::is_null) {
                            true => Found::Null,
                            false => Found::Empty,
                        });
                    }
                    Cow::Owned(parts.join(separator))
                }
            }
        }
    };
    let text = match &rule.split {
        None => &*text,
        Some(split) => {
            let separator = split.separators.iter().find(|s| text.contains(s.as_str()));
            let part = match separator {
                Some(sep) => text.split(sep.as_str()).nth(split.part),
                None => (split.part == 0).then_some(&*text),
            };
            match part {
                Some(p) => p,
                None => return Ok(Found::Absent),
            }
        }
    };
    let text = text.trim();
    if text.is_empty() {
        return Ok(Found::Empty);
    }
    if !rule.nulls.is_empty() && rule.nulls.contains(&normalise::half_width(text)) {
        return Ok(Found::Null);
    }
    Ok(Found::Value(text.to_owned()))
}

fn item(
    name: &str,
    rule: &Rule,
    field: &Field,
    doc: &Document,
    record: &Node,
) -> Result<Option<Value>, MapError> {
    let found = find(rule, name, doc, record)?;
    let treatment = |explicit: Option<Treatment>| {
        explicit.unwrap_or(match (&rule.default, field.required) {
            (Some(_), _) => Treatment::Default,
            (None, true) => Treatment::Error,
            (None, false) => Treatment::Omit,
        })
    };
    let (text, from_default) = match found {
        Found::Value(t) => (t, false),
        other => {
            let t = match other {
                Found::Null => treatment(rule.on_null),
                Found::Empty => treatment(rule.on_empty),
                _ => treatment(rule.on_absent),
            };
            match t {
                // A required item is never left out, whatever the file says
                // (the lint refuses such a file; this is the last line).
                Treatment::Omit | Treatment::Null if field.required => {
                    return Err(missing(name, rule, &other));
                }
                Treatment::Omit => return Ok(None),
                Treatment::Null => return Ok(Some(Value::Null)),
                Treatment::Error => return Err(missing(name, rule, &other)),
                Treatment::Default => match &rule.default {
                    Some(d) => (const_text(d), true),
                    None => return Err(missing(name, rule, &other)),
                },
            }
        }
    };
    let units = Units {
        target: rule.unit,
        native: native_unit(rule, name, doc, record)?,
    };
    let options = Options {
        units,
        half_width: rule.half_width,
    };
    let invalid = || MapError::Invalid {
        item: name.to_owned(),
        path: rule.described.clone(),
        expected: convert::expected(field, &options),
    };
    // A default is already a catalogue value: it skips the code table.
    if let (Some(codes), false) = (&rule.codes, from_default) {
        let native = normalise::half_width(&text);
        let code = codes
            .get(&native)
            .or(rule.fallback.as_ref())
            .ok_or_else(|| MapError::UnknownCode {
                item: name.to_owned(),
                path: rule.described.clone(),
            })?;
        return convert::text(code, field, &options)
            .map(Some)
            .ok_or_else(invalid);
    }
    convert::text(&text, field, &options)
        .map(Some)
        .ok_or_else(invalid)
}

fn missing(name: &str, rule: &Rule, found: &Found) -> MapError {
    match found {
        Found::Null | Found::Empty => MapError::NoValue {
            item: name.to_owned(),
            path: rule.described.clone(),
            found: found.name(),
        },
        _ => MapError::MissingItem {
            item: name.to_owned(),
            path: rule.described.clone(),
        },
    }
}

/// The unit of a bare amount: from `unit_path` if the document has it there,
/// else the mapping's `native_unit`.
fn native_unit(
    rule: &Rule,
    name: &str,
    doc: &Document,
    record: &Node,
) -> Result<Option<Unit>, MapError> {
    let Some(path) = &rule.unit_path else {
        return Ok(rule.native_unit);
    };
    let hits = path.select(doc, record);
    let Some(text) = hits.first().and_then(|h| h.scalar_text()) else {
        return Ok(rule.native_unit);
    };
    if text.trim().is_empty() {
        return Ok(rule.native_unit);
    }
    Unit::parse(text)
        .map(Some)
        .ok_or_else(|| MapError::Invalid {
            item: name.to_owned(),
            path: path.to_string(),
            expected: "a unit of 元, 万元 or 亿元".to_owned(),
        })
}
