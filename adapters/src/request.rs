//! Catalogue key → native request, and back (the reverse serves tests and
//! tools: a request the gateway builds can always be read back to the key it
//! was built from).

use std::collections::BTreeMap;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use serde_json::{Map, Value};

use crate::convert;
use crate::doc::{Document, Format};
use crate::error::MapError;
use crate::json;
use crate::schema::Schema;
use crate::spec::{BodySpec, BodyStep, PathPart, RequestSpec, Source, const_text};
use crate::xml;

/// The request a mapping asks the provider for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NativeRequest {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// Path and query, percent-encoded, starting with `/`.
    pub path_and_query: String,
    /// Extra headers the provider's API needs (never `Host`, `Content-Type` or
    /// framing headers); names are HTTP tokens, values printable ASCII.
    pub headers: Vec<(String, String)>,
    /// The body's media type, when there is a body.
    pub content_type: Option<String>,
    /// The body, empty for `GET`.
    pub body: Vec<u8>,
}

/// Characters left as they are in query values and path segments (RFC 3986
/// unreserved).
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Checks a consumer's key against the schema and returns each field in its
/// catalogue form, as text for the native request.
pub(crate) fn normalise_key(
    key: &Map<String, Value>,
    schema: &Schema,
) -> Result<BTreeMap<String, String>, MapError> {
    let mut out = BTreeMap::new();
    for (name, value) in key {
        let field = schema.key_field(name).ok_or_else(|| MapError::BadKey {
            field: name.chars().take(64).collect(),
            expected: format!(
                "one of the key fields of {}: {}",
                schema.resource,
                schema
                    .key
                    .iter()
                    .map(|f| format!("{} ({})", f.name, f.ty))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })?;
        let bad = || MapError::BadKey {
            field: name.clone(),
            expected: field.ty.to_string(),
        };
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => return Err(bad()),
        };
        let converted =
            convert::text(&text, field, &convert::Options::default()).ok_or_else(bad)?;
        out.insert(name.clone(), convert::as_text(&converted));
    }
    for field in schema.key.iter().filter(|f| f.required) {
        if !out.contains_key(&field.name) {
            return Err(MapError::MissingKey {
                field: field.name.clone(),
            });
        }
    }
    Ok(out)
}

/// What a source gives for this key: `None` when it names an optional key
/// field the consumer did not send.
fn resolve(source: &Source, key: &BTreeMap<String, String>) -> Result<Option<Value>, MapError> {
    match source {
        Source::Value(v) => Ok(Some(v.clone())),
        Source::Key(field) => match key.get(field) {
            Some(v) => Ok(Some(Value::String(v.clone()))),
            None => Ok(None),
        },
    }
}

pub(crate) fn build(
    spec: &RequestSpec,
    key: &BTreeMap<String, String>,
) -> Result<NativeRequest, MapError> {
    let mut path_and_query = String::new();
    for part in &spec.path {
        match part {
            PathPart::Literal(s) => path_and_query.push_str(s),
            PathPart::Key(k) => {
                let v = key
                    .get(k)
                    .ok_or_else(|| MapError::MissingKey { field: k.clone() })?;
                path_and_query.extend(utf8_percent_encode(v, COMPONENT));
            }
        }
    }
    let mut first = true;
    for (native, source) in &spec.query {
        let Some(v) = resolve(source, key)? else {
            continue;
        };
        path_and_query.push(if first { '?' } else { '&' });
        first = false;
        path_and_query.extend(utf8_percent_encode(native, COMPONENT));
        path_and_query.push('=');
        path_and_query.extend(utf8_percent_encode(&const_text(&v), COMPONENT));
    }
    let mut headers = Vec::new();
    for (name, source) in &spec.headers {
        if let Some(v) = resolve(source, key)? {
            headers.push((name.clone(), const_text(&v)));
        }
    }
    let (content_type, body) = match &spec.body {
        None => (None, Vec::new()),
        Some(body) => {
            let (ct, bytes) = build_body(body, key)?;
            (Some(ct), bytes)
        }
    };
    Ok(NativeRequest {
        method: spec.method,
        path_and_query,
        headers,
        content_type,
        body,
    })
}

fn build_body(
    spec: &BodySpec,
    key: &BTreeMap<String, String>,
) -> Result<(String, Vec<u8>), MapError> {
    match spec.format {
        Format::Json => {
            let mut doc = Map::new();
            for field in &spec.fields {
                if let Some(v) = resolve(&field.source, key)? {
                    put_json(&mut doc, &field.steps, v);
                }
            }
            Ok((
                "application/json".to_owned(),
                Value::Object(doc).to_string().into_bytes(),
            ))
        }
        Format::Xml => {
            let mut root = XmlElement {
                name: spec.root.clone().unwrap_or_default(),
                ..XmlElement::default()
            };
            for (prefix, uri) in &spec.namespaces {
                root.attrs.push((format!("xmlns:{prefix}"), uri.clone()));
            }
            for field in &spec.fields {
                if let Some(v) = resolve(&field.source, key)? {
                    root.put(&field.steps, const_text(&v));
                }
            }
            let mut text = format!(
                "<?xml version=\"1.0\" encoding=\"{}\"?>",
                spec.encoding.name()
            );
            root.write(&mut text);
            // encoding_rs writes a character the encoding lacks as a numeric
            // character reference, which XML reads back as that character.
            let (bytes, _, _) = spec.encoding.encode(&text);
            Ok((
                format!("application/xml; charset={}", spec.encoding.name()),
                bytes.into_owned(),
            ))
        }
    }
}

fn put_json(doc: &mut Map<String, Value>, steps: &[BodyStep], value: Value) {
    let mut cur = doc;
    let mut steps = steps.iter().peekable();
    while let Some(BodyStep::Element(k) | BodyStep::Attr(k)) = steps.next() {
        if steps.peek().is_none() {
            cur.insert(k.clone(), value);
            return;
        }
        let next = cur
            .entry(k.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        let Value::Object(map) = next else { return };
        cur = map;
    }
}

#[derive(Debug, Default)]
struct XmlElement {
    name: String,
    attrs: Vec<(String, String)>,
    children: Vec<XmlElement>,
    text: Option<String>,
}

impl XmlElement {
    fn put(&mut self, steps: &[BodyStep], value: String) {
        match steps.split_first() {
            None => self.text = Some(value),
            Some((BodyStep::Attr(a), _)) => self.attrs.push((a.clone(), value)),
            Some((BodyStep::Element(name), rest)) => {
                let pos = match self.children.iter().position(|c| &c.name == name) {
                    Some(p) => p,
                    None => {
                        self.children.push(XmlElement {
                            name: name.clone(),
                            ..XmlElement::default()
                        });
                        self.children.len() - 1
                    }
                };
                if let Some(child) = self.children.get_mut(pos) {
                    child.put(rest, value);
                }
            }
        }
    }

    fn write(&self, out: &mut String) {
        out.push('<');
        out.push_str(&self.name);
        for (k, v) in &self.attrs {
            out.push_str(&format!(" {k}=\"{}\"", xml::escape(v)));
        }
        out.push('>');
        if let Some(t) = &self.text {
            out.push_str(&xml::escape(t));
        }
        for c in &self.children {
            c.write(out);
        }
        out.push_str(&format!("</{}>", self.name));
    }
}

/// Reads the catalogue key back out of a request this mapping built.
pub(crate) fn read_key(
    spec: &RequestSpec,
    request: &NativeRequest,
) -> Result<Map<String, Value>, MapError> {
    let malformed = |reason: &str| MapError::Malformed {
        format: "request",
        reason: reason.to_owned(),
    };
    let mut key = Map::new();
    let mut put = |field: &str, value: String| -> Result<(), MapError> {
        match key.get(field) {
            Some(Value::String(v)) if *v != value => Err(malformed("one key field, two values")),
            _ => {
                key.insert(field.to_owned(), Value::String(value));
                Ok(())
            }
        }
    };
    let (path, query) = match request.path_and_query.split_once('?') {
        Some((p, q)) => (p, q),
        None => (request.path_and_query.as_str(), ""),
    };
    let decode = |s: &str| -> Result<String, MapError> {
        percent_decode_str(s)
            .decode_utf8()
            .map(|c| c.into_owned())
            .map_err(|_| malformed("not UTF-8 after percent-decoding"))
    };
    let mut rest = path;
    let mut parts = spec.path.iter().peekable();
    while let Some(part) = parts.next() {
        match part {
            PathPart::Literal(lit) => {
                rest = rest
                    .strip_prefix(lit.as_str())
                    .ok_or_else(|| malformed("path does not match the template"))?;
            }
            PathPart::Key(field) => {
                let end = match parts.peek() {
                    Some(PathPart::Literal(next)) => rest
                        .find(next.as_str())
                        .ok_or_else(|| malformed("path does not match the template"))?,
                    _ => rest.len(),
                };
                let (value, after) = rest.split_at(end);
                put(field, decode(value)?)?;
                rest = after;
            }
        }
    }
    if !rest.is_empty() {
        return Err(malformed("path does not match the template"));
    }
    let pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            Ok((decode(k)?, decode(v)?))
        })
        .collect::<Result<_, MapError>>()?;
    for (native, source) in &spec.query {
        if let Source::Key(field) = source
            && let Some((_, v)) = pairs.iter().find(|(k, _)| k == native)
        {
            put(field, v.clone())?;
        }
    }
    for (name, source) in &spec.headers {
        if let Source::Key(field) = source
            && let Some((_, v)) = request
                .headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
        {
            put(field, v.clone())?;
        }
    }
    if let Some(body) = &spec.body {
        let doc = match body.format {
            Format::Json => {
                let text = std::str::from_utf8(&request.body)
                    .map_err(|_| malformed("JSON body is not UTF-8"))?;
                Document {
                    root: json::parse(text)?,
                    namespaces: Vec::new(),
                }
            }
            Format::Xml => Document::parse(
                Format::Xml,
                &request.body,
                request.content_type.as_deref(),
                Some(body.encoding),
            )?,
        };
        for field in &body.fields {
            if let Source::Key(name) = &field.source {
                let hits = field.read.select(&doc, &doc.root);
                if let Some(v) = hits.first().and_then(|h| h.scalar_text()) {
                    put(name, v.to_owned())?;
                }
            }
        }
    }
    Ok(key)
}
