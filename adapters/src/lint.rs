//! Checks of a mapping against its catalogue resource: what [`crate::spec`]
//! cannot know without the catalogue. Errors make a mapping unusable (the
//! gateway refuses to start with one); warnings are worth a look.

use std::fmt;

use crate::convert::{self, Options};
use crate::doc::Format;
use crate::error::Line;
use crate::normalise::Units;
use crate::path::{Index, Step};
use crate::schema::{Field, ItemType, Schema};
use crate::spec::{ItemSpec, PathPart, Rule, RuleSource, Source, Spec, Treatment, const_text};
use Severity::{Error, Warning};

/// How serious a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Worth a look; the mapping is usable.
    Warning,
    /// The mapping cannot be used.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// One finding of [`crate::Mapping::lint`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// The line of the key, when known.
    pub line: Line,
    /// The TOML key concerned, e.g. `items.status.codes`.
    pub key: String,
    /// What is wrong.
    pub problem: String,
}

/// Checks `spec` against the catalogue's `schema`, in this order: the
/// resource, the request's key fields, then each item and its rules, then the
/// items the catalogue requires. `line` gives the line of a TOML key.
pub(crate) fn lint(spec: &Spec, schema: &Schema, line: &dyn Fn(&str) -> Line) -> Vec<Finding> {
    let mut out = Findings {
        found: Vec::new(),
        line,
    };
    if !same_resource(spec, schema, &mut out) {
        return out.found;
    }
    let sent = sent_keys(spec);
    sent_keys_exist(spec, schema, &sent, &mut out);
    required_keys_sent(schema, &sent, &mut out);
    for spec_item in &spec.items {
        let Some(field) = schema.item(&spec_item.item) else {
            out.push(
                Error,
                &spec_item.key,
                format!("`{}` is not an item of {}", spec_item.item, spec.resource),
            );
            continue;
        };
        for rule in &spec_item.rules {
            codes_in_catalogue(spec_item, field, rule, &mut out);
            unit_on_decimal(field, rule, &mut out);
            half_width_on_text(field, rule, &mut out);
            default_converts(field, rule, &mut out);
            value_converts(field, rule, &mut out);
            required_not_omitted(field, rule, &mut out);
            paths_select_one(rule, &mut out);
            root_path_not_record(spec, rule, &mut out);
        }
        required_item_unconditional(spec_item, field, &mut out);
    }
    required_items_mapped(spec, schema, &mut out);
    out.found
}

/// The findings so far, each with the line of its key.
struct Findings<'a> {
    found: Vec<Finding>,
    line: &'a dyn Fn(&str) -> Line,
}

impl Findings<'_> {
    fn push(&mut self, severity: Severity, key: &str, problem: String) {
        self.found.push(Finding {
            severity,
            line: (self.line)(key),
            key: key.to_owned(),
            problem,
        });
    }
}

/// The schema and the mapping are for the same resource (nothing else is
/// checked when they are not).
fn same_resource(spec: &Spec, schema: &Schema, out: &mut Findings<'_>) -> bool {
    if schema.resource != spec.resource {
        out.push(
            Error,
            "resource",
            format!(
                "schema is for `{}`, mapping for `{}`",
                schema.resource, spec.resource
            ),
        );
        return false;
    }
    true
}

/// The key fields the request sends: (TOML key, field, whether in a header).
fn sent_keys(spec: &Spec) -> Vec<(String, String, bool)> {
    let mut sent = Vec::new();
    for part in &spec.request.path {
        if let PathPart::Key(k) = part {
            sent.push(("request.path".to_owned(), k.clone(), false));
        }
    }
    let sources = spec
        .request
        .query
        .iter()
        .map(|(n, s)| (crate::spec::join_key("request.query", n), s, false))
        .chain(
            spec.request
                .headers
                .iter()
                .map(|(n, s)| (crate::spec::join_key("request.headers", n), s, true)),
        )
        .chain(spec.request.body.iter().flat_map(|b| {
            b.fields.iter().map(|f| {
                (
                    crate::spec::join_key("request.body.fields", &f.text),
                    &f.source,
                    false,
                )
            })
        }));
    for (key, source, header) in sources {
        if let Source::Key(k) = source {
            sent.push((key, k.clone(), header));
        }
    }
    sent
}

/// Every key field the request sends exists; headers carry ASCII only.
fn sent_keys_exist(
    spec: &Spec,
    schema: &Schema,
    sent: &[(String, String, bool)],
    out: &mut Findings<'_>,
) {
    for (key, field, header) in sent {
        match schema.key_field(field) {
            None => out.push(
                Error,
                key,
                format!("`{field}` is not a key field of {}", spec.resource),
            ),
            Some(f) if *header && matches!(f.ty, ItemType::Text { .. }) => out.push(
                Error,
                key,
                format!("key field `{field}` is free text, which a header cannot carry"),
            ),
            Some(_) => {}
        }
    }
}

/// Every key field the catalogue requires is sent.
fn required_keys_sent(schema: &Schema, sent: &[(String, String, bool)], out: &mut Findings<'_>) {
    for field in schema.key.iter().filter(|f| f.required) {
        if !sent.iter().any(|(_, k, _)| *k == field.name) {
            out.push(
                Warning,
                "request",
                format!(
                    "required key field `{}` is not sent to the provider",
                    field.name
                ),
            );
        }
    }
}

/// The key of one of `rule`'s settings, e.g. `items.status.codes`.
fn at(rule: &Rule, setting: &str) -> String {
    format!("{}.{setting}", rule.key)
}

/// A code table is on a code item, produces only catalogue codes and, for an
/// item with one rule, every one of them.
fn codes_in_catalogue(spec_item: &ItemSpec, field: &Field, rule: &Rule, out: &mut Findings<'_>) {
    let Some(codes) = &rule.codes else {
        return;
    };
    if field.ty != ItemType::Code {
        out.push(
            Error,
            &at(rule, "codes"),
            format!("a code table on an item of type {}", field.ty),
        );
        return;
    }
    for target in codes.values().chain(rule.fallback.iter()) {
        if !field.codes.contains(target) {
            out.push(
                Error,
                &at(rule, "codes"),
                format!(
                    "`{target}` is not in the catalogue's code list for {}",
                    spec_item.item
                ),
            );
        }
    }
    let unreachable: Vec<&str> = field
        .codes
        .iter()
        .filter(|c| !codes.values().any(|v| v == *c) && rule.fallback.as_ref() != Some(c))
        .map(String::as_str)
        .collect();
    if !unreachable.is_empty() && spec_item.rules.len() == 1 {
        out.push(
            Warning,
            &at(rule, "codes"),
            format!(
                "catalogue codes {} are never produced",
                unreachable.join(", ")
            ),
        );
    }
}

/// Units only on decimal items.
fn unit_on_decimal(field: &Field, rule: &Rule, out: &mut Findings<'_>) {
    if (rule.unit.is_some() || rule.unit_path.is_some()) && field.ty != ItemType::Decimal {
        out.push(
            Error,
            &at(rule, "unit"),
            format!("units are for decimal items, not {}", field.ty),
        );
    }
}

/// `half_width` only on text items.
fn half_width_on_text(field: &Field, rule: &Rule, out: &mut Findings<'_>) {
    if rule.half_width && !matches!(field.ty, ItemType::Text { .. }) {
        out.push(
            Error,
            &at(rule, "half_width"),
            format!(
                "`half_width` is for text items; {} values are always made half-width",
                field.ty
            ),
        );
    }
}

/// The conversion options a rule's constants are checked with.
fn options(rule: &Rule) -> Options {
    Options {
        units: Units {
            target: rule.unit,
            native: rule.unit,
        },
        half_width: rule.half_width,
    }
}

/// The default converts to the item's type.
fn default_converts(field: &Field, rule: &Rule, out: &mut Findings<'_>) {
    let options = options(rule);
    if let Some(d) = &rule.default
        && convert::text(&const_text(d), field, &options).is_none()
    {
        out.push(
            Error,
            &at(rule, "default"),
            format!(
                "the default is not a {}",
                convert::expected(field, &options)
            ),
        );
    }
}

/// A constant value converts (through the code table, if any) to the item's type.
fn value_converts(field: &Field, rule: &Rule, out: &mut Findings<'_>) {
    let options = options(rule);
    if let RuleSource::Value(v) = &rule.source {
        let text = const_text(v);
        let code = rule
            .codes
            .as_ref()
            .and_then(|c| c.get(&text).or(rule.fallback.as_ref()));
        if convert::text(code.unwrap_or(&text), field, &options).is_none() {
            out.push(
                Error,
                &at(rule, "value"),
                format!("the value is not a {}", convert::expected(field, &options)),
            );
        }
    }
}

/// A required item is never omitted or null.
fn required_not_omitted(field: &Field, rule: &Rule, out: &mut Findings<'_>) {
    if field.required {
        for (name, t) in [
            ("null", rule.on_null),
            ("empty", rule.on_empty),
            ("absent", rule.on_absent),
        ] {
            if matches!(t, Some(Treatment::Omit | Treatment::Null)) {
                out.push(
                    Error,
                    &at(rule, name),
                    "the catalogue requires this item: it cannot be omitted or null".into(),
                );
            }
        }
    }
}

/// Without `join`, no path selects several values.
fn paths_select_one(rule: &Rule, out: &mut Findings<'_>) {
    if let RuleSource::Paths(paths) = &rule.source
        && rule.join.is_none()
    {
        for p in paths {
            let explicit = p.steps().iter().any(|s| match s {
                Step::Key { name, index, .. } => &**name == "*" || *index == Some(Index::All),
                Step::Index(i) => *i == Index::All,
                _ => false,
            });
            if explicit {
                out.push(
                    Error,
                    &at(rule, "path"),
                    format!("`{p}` selects several values for one item: add `join`, or an index"),
                );
            }
        }
    }
}

/// A JSON path from `$` is worth a look when the record path is empty.
fn root_path_not_record(spec: &Spec, rule: &Rule, out: &mut Findings<'_>) {
    if let RuleSource::Paths(paths) = &rule.source
        && spec.response.format == Format::Json
        && paths.iter().any(|p| p.from_root())
        && spec.response.record.steps().is_empty()
    {
        out.push(
            Warning,
            &at(rule, "path"),
            "`$` is the record itself here: the record path is empty".into(),
        );
    }
}

/// A required item has a rule without `when`.
fn required_item_unconditional(spec_item: &ItemSpec, field: &Field, out: &mut Findings<'_>) {
    if field.required && spec_item.rules.iter().all(|r| r.when.is_some()) {
        out.push(
            Warning,
            &spec_item.key,
            "a required item whose every rule has a `when`: the mapping fails when none holds"
                .into(),
        );
    }
}

/// Every item the catalogue requires is mapped.
fn required_items_mapped(spec: &Spec, schema: &Schema, out: &mut Findings<'_>) {
    for field in schema.items.iter().filter(|i| i.required) {
        if !spec.items.iter().any(|s| s.item == field.name) {
            out.push(
                Error,
                "items",
                format!("required item `{}` is not mapped", field.name),
            );
        }
    }
}
