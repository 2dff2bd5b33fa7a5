//! Checks of a mapping against its catalogue resource: what [`crate::spec`]
//! cannot know without the catalogue. Errors make a mapping unusable (the
//! gateway refuses to start with one); warnings are worth a look.

use std::fmt;

use crate::convert::{self, Options};
use crate::doc::Format;
use crate::error::Line;
use crate::normalise::Units;
use crate::path::{Index, Step};
use crate::schema::{ItemType, Schema};
use crate::spec::{PathPart, RuleSource, Source, Spec, Treatment, const_text};

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

pub(crate) fn lint(spec: &Spec, schema: &Schema, line: &dyn Fn(&str) -> Line) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut push = |severity: Severity, key: &str, problem: String| {
        out.push(Finding {
            severity,
            line: line(key),
            key: key.to_owned(),
            problem,
        });
    };
    use Severity::{Error, Warning};
    if schema.resource != spec.resource {
        push(
            Error,
            "resource",
            format!(
                "schema is for `{}`, mapping for `{}`",
                schema.resource, spec.resource
            ),
        );
        return out;
    }

    // The request: every key field it sends exists; headers carry ASCII only.
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
    for (key, field, header) in &sent {
        match schema.key_field(field) {
            None => push(
                Error,
                key,
                format!("`{field}` is not a key field of {}", spec.resource),
            ),
            Some(f) if *header && matches!(f.ty, ItemType::Text { .. }) => push(
                Error,
                key,
                format!("key field `{field}` is free text, which a header cannot carry"),
            ),
            Some(_) => {}
        }
    }
    for field in schema.key.iter().filter(|f| f.required) {
        if !sent.iter().any(|(_, k, _)| *k == field.name) {
            push(
                Warning,
                "request",
                format!(
                    "required key field `{}` is not sent to the provider",
                    field.name
                ),
            );
        }
    }

    // The items.
    for spec_item in &spec.items {
        let Some(field) = schema.item(&spec_item.item) else {
            push(
                Error,
                &spec_item.key,
                format!("`{}` is not an item of {}", spec_item.item, spec.resource),
            );
            continue;
        };
        for rule in &spec_item.rules {
            let at = |f: &str| format!("{}.{f}", rule.key);
            if let Some(codes) = &rule.codes {
                if field.ty != ItemType::Code {
                    push(
                        Error,
                        &at("codes"),
                        format!("a code table on an item of type {}", field.ty),
                    );
                } else {
                    for target in codes.values().chain(rule.fallback.iter()) {
                        if !field.codes.contains(target) {
                            push(
                                Error,
                                &at("codes"),
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
                        .filter(|c| {
                            !codes.values().any(|v| v == *c) && rule.fallback.as_ref() != Some(c)
                        })
                        .map(String::as_str)
                        .collect();
                    if !unreachable.is_empty() && spec_item.rules.len() == 1 {
                        push(
                            Warning,
                            &at("codes"),
                            format!(
                                "catalogue codes {} are never produced",
                                unreachable.join(", ")
                            ),
                        );
                    }
                }
            }
            if (rule.unit.is_some() || rule.unit_path.is_some()) && field.ty != ItemType::Decimal {
                push(
                    Error,
                    &at("unit"),
                    format!("units are for decimal items, not {}", field.ty),
                );
            }
            if rule.half_width && !matches!(field.ty, ItemType::Text { .. }) {
                push(
                    Error,
                    &at("half_width"),
                    format!(
                        "`half_width` is for text items; {} values are always made half-width",
                        field.ty
                    ),
                );
            }
            let options = Options {
                units: Units {
                    target: rule.unit,
                    native: rule.unit,
                },
                half_width: rule.half_width,
            };
            if let Some(d) = &rule.default
                && convert::text(&const_text(d), field, &options).is_none()
            {
                push(
                    Error,
                    &at("default"),
                    format!(
                        "the default is not a {}",
                        convert::expected(field, &options)
                    ),
                );
            }
            if let RuleSource::Value(v) = &rule.source {
                let text = const_text(v);
                let code = rule
                    .codes
                    .as_ref()
                    .and_then(|c| c.get(&text).or(rule.fallback.as_ref()));
                if convert::text(code.unwrap_or(&text), field, &options).is_none() {
                    push(
                        Error,
                        &at("value"),
                        format!("the value is not a {}", convert::expected(field, &options)),
                    );
                }
            }
            if field.required {
                for (name, t) in [
                    ("null", rule.on_null),
                    ("empty", rule.on_empty),
                    ("absent", rule.on_absent),
                ] {
                    if matches!(t, Some(Treatment::Omit | Treatment::Null)) {
                        push(
                            Error,
                            &at(name),
                            "the catalogue requires this item: it cannot be omitted or null".into(),
                        );
                    }
                }
            }
            if let RuleSource::Paths(paths) = &rule.source
                && rule.join.is_none()
            {
                for p in paths {
                    let explicit = p.steps().iter().any(|s| match s {
                        Step::Key { name, index, .. } => {
                            &**name == "*" || *index == Some(Index::All)
                        }
                        Step::Index(i) => *i == Index::All,
                        _ => false,
                    });
                    if explicit {
                        push(
                            Error,
                            &at("path"),
                            format!(
                                "`{p}` selects several values for one item: add `join`, or an index"
                            ),
                        );
                    }
                }
            }
            if let RuleSource::Paths(paths) = &rule.source
                && spec.response.format == Format::Json
                && paths.iter().any(|p| p.from_root())
                && spec.response.record.steps().is_empty()
            {
                push(
                    Warning,
                    &at("path"),
                    "`$` is the record itself here: the record path is empty".into(),
                );
            }
        }
        if field.required && spec_item.rules.iter().all(|r| r.when.is_some()) {
            push(
                Warning,
                &spec_item.key,
                "a required item whose every rule has a `when`: the mapping fails when none holds"
                    .into(),
            );
        }
    }
    for field in schema.items.iter().filter(|i| i.required) {
        if !spec.items.iter().any(|s| s.item == field.name) {
            push(
                Error,
                "items",
                format!("required item `{}` is not mapped", field.name),
            );
        }
    }
    out
}
