//! Mapping files: one per provider × resource, declaring how a catalogue key
//! becomes the provider's native request and how its native response becomes a
//! catalogue record.
//!
//! ```toml
//! provider = "js:11320000014000118J:data"
//! resource = "YRD-SCJG-0001"
//! version = "2026.1"
//!
//! [request]
//! method = "GET"
//! path = "/api/v2/qydj"            # may hold {key_field} segments
//! query = { tyshxydm = "uscc" }    # native parameter = catalogue key field
//!
//! [response]
//! format = "json"                  # json | xml
//! record = "data"                  # native path of the record
//! success = { path = "code", equals = "0000" }
//! not_found = { path = "code", equals = "4004" }
//!
//! [items]
//! name = { path = "qymc" }
//! status = { path = "djzt", codes = { "存续" = "1", "注销" = "2" }, fallback = "9" }
//! ```

use std::collections::BTreeMap;

use encoding_rs::Encoding;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;
use serde_json::{Map, Value};
use yrdx_signing::{MemberId, Uscc, check_resident_id, hex, sha256};

use crate::error::{MapError, MappingError};
use crate::normalise;
use crate::path::{Path, Segment};
use crate::schema::{Field, ItemType, Schema};
use crate::xml;

/// A catalogue record: item name → value in the catalogue's form.
pub type Record = Map<String, Value>;

/// The request a mapping asks the provider for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NativeRequest {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// Path and query, percent-encoded, starting with `/`.
    pub path_and_query: String,
    /// The body's media type, when there is a body.
    pub content_type: Option<String>,
    /// The body, empty for `GET`.
    pub body: Vec<u8>,
}

/// A provider's answer as the gateway received it.
#[derive(Clone, Copy, Debug)]
pub struct NativeResponse<'a> {
    /// The `Content-Type` header, if any.
    pub content_type: Option<&'a str>,
    /// The body bytes.
    pub body: &'a [u8],
}

/// A native document format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// JSON (RFC 8259).
    Json,
    /// XML 1.0.
    Xml,
}

/// A loaded mapping, checked against nothing yet: call [`Mapping::check`] with the
/// resource's schema before use.
#[derive(Clone, Debug)]
pub struct Mapping {
    file: String,
    hash: String,
    provider: MemberId,
    resource: String,
    version: String,
    request: RequestSpec,
    response: ResponseSpec,
    items: Vec<ItemSpec>,
}

#[derive(Clone, Debug)]
struct RequestSpec {
    method: &'static str,
    path: Vec<PathPart>,
    query: Vec<(String, String)>,
    body: Option<BodySpec>,
}

#[derive(Clone, Debug)]
enum PathPart {
    Literal(String),
    Key(String),
}

#[derive(Clone, Debug)]
struct BodySpec {
    format: Format,
    root: Option<String>,
    encoding: &'static Encoding,
    fields: Vec<(Path, String)>,
}

#[derive(Clone, Debug)]
struct ResponseSpec {
    format: Format,
    encoding: Option<&'static Encoding>,
    record: Path,
    success: Option<Check>,
    not_found: Option<Check>,
}

#[derive(Clone, Debug)]
struct Check {
    path: Path,
    equals: String,
}

#[derive(Clone, Debug)]
struct ItemSpec {
    item: String,
    path: Path,
    codes: Option<BTreeMap<String, String>>,
    fallback: Option<String>,
}

// The file's shape, as serde reads it.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileShape {
    provider: String,
    resource: String,
    version: String,
    request: RequestShape,
    response: ResponseShape,
    items: BTreeMap<String, ItemShape>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestShape {
    method: String,
    path: String,
    #[serde(default)]
    query: BTreeMap<String, String>,
    body: Option<BodyShape>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BodyShape {
    format: Format,
    root: Option<String>,
    encoding: Option<String>,
    fields: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResponseShape {
    format: Format,
    encoding: Option<String>,
    #[serde(default)]
    record: String,
    success: Option<CheckShape>,
    not_found: Option<CheckShape>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckShape {
    path: String,
    equals: toml::Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemShape {
    path: String,
    codes: Option<BTreeMap<String, String>>,
    fallback: Option<String>,
}

/// Characters left as they are in query values and path segments (RFC 3986
/// unreserved).
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

impl Mapping {
    /// Reads a mapping file. `file` names it in errors; the content hash is taken
    /// over `text` exactly as given.
    pub fn parse(file: &str, text: &str) -> Result<Mapping, MappingError> {
        let shape: FileShape = toml::from_str(text).map_err(|e| MappingError::Syntax {
            file: file.to_owned(),
            message: e.to_string(),
        })?;
        let invalid = |key: &str, problem: String| MappingError::Invalid {
            file: file.to_owned(),
            key: key.to_owned(),
            problem,
        };
        let provider =
            MemberId::parse(&shape.provider).map_err(|e| invalid("provider", e.to_string()))?;
        let method = match shape.request.method.as_str() {
            "GET" => "GET",
            "POST" => "POST",
            other => {
                return Err(invalid(
                    "request.method",
                    format!("`{other}` is not GET or POST"),
                ));
            }
        };
        let path = parse_template(&shape.request.path).map_err(|p| invalid("request.path", p))?;
        let query = shape.request.query.into_iter().collect();
        let body = match shape.request.body {
            None => None,
            Some(b) => {
                if method == "GET" {
                    return Err(invalid("request.body", "a GET request has no body".into()));
                }
                if b.format == Format::Xml && b.root.is_none() {
                    return Err(invalid(
                        "request.body.root",
                        "an XML body needs a root element name".into(),
                    ));
                }
                let encoding = match &b.encoding {
                    None => encoding_rs::UTF_8,
                    Some(label) => {
                        lookup_encoding(label).map_err(|p| invalid("request.body.encoding", p))?
                    }
                };
                let mut fields = Vec::new();
                for (native, key) in b.fields {
                    let p = Path::parse(&native)
                        .map_err(|p| invalid(&format!("request.body.fields.{native}"), p))?;
                    if p.segments().iter().any(|s| matches!(s, Segment::Index(_))) {
                        return Err(invalid(
                            &format!("request.body.fields.{native}"),
                            "body paths are element or key names only".into(),
                        ));
                    }
                    fields.push((p, key));
                }
                Some(BodySpec {
                    format: b.format,
                    root: b.root,
                    encoding,
                    fields,
                })
            }
        };
        let check = |c: Option<CheckShape>, key: &str| -> Result<Option<Check>, MappingError> {
            c.map(|c| {
                let equals = match c.equals {
                    toml::Value::String(s) => s,
                    toml::Value::Integer(i) => i.to_string(),
                    toml::Value::Boolean(b) => b.to_string(),
                    _ => {
                        return Err(invalid(
                            &format!("{key}.equals"),
                            "must be a string, integer or boolean".into(),
                        ));
                    }
                };
                Ok(Check {
                    path: Path::parse(&c.path).map_err(|p| invalid(&format!("{key}.path"), p))?,
                    equals,
                })
            })
            .transpose()
        };
        let response = ResponseSpec {
            format: shape.response.format,
            encoding: shape
                .response
                .encoding
                .as_deref()
                .map(lookup_encoding)
                .transpose()
                .map_err(|p| invalid("response.encoding", p))?,
            record: Path::parse(&shape.response.record)
                .map_err(|p| invalid("response.record", p))?,
            success: check(shape.response.success, "response.success")?,
            not_found: check(shape.response.not_found, "response.not_found")?,
        };
        let mut items = Vec::new();
        for (item, spec) in shape.items {
            let key = format!("items.{item}");
            if spec.fallback.is_some() && spec.codes.is_none() {
                return Err(invalid(
                    &format!("{key}.fallback"),
                    "a fallback needs a code table".into(),
                ));
            }
            items.push(ItemSpec {
                path: Path::parse(&spec.path).map_err(|p| invalid(&format!("{key}.path"), p))?,
                item,
                codes: spec.codes,
                fallback: spec.fallback,
            });
        }
        Ok(Mapping {
            file: file.to_owned(),
            hash: hex(&sha256(text.as_bytes())),
            provider,
            resource: shape.resource,
            version: shape.version,
            request: RequestSpec {
                method,
                path,
                query,
                body,
            },
            response,
            items,
        })
    }

    /// Checks the mapping against its resource's schema: every mapped item and key
    /// field exists, code tables only name catalogue codes, required items are
    /// mapped.
    pub fn check(&self, schema: &Schema) -> Result<(), MappingError> {
        let invalid = |key: String, problem: String| MappingError::Invalid {
            file: self.file.clone(),
            key,
            problem,
        };
        if schema.resource != self.resource {
            return Err(invalid(
                "resource".into(),
                format!(
                    "schema is for `{}`, mapping for `{}`",
                    schema.resource, self.resource
                ),
            ));
        }
        let key_fields = self
            .request
            .path
            .iter()
            .filter_map(|p| match p {
                PathPart::Key(k) => Some(("request.path".to_owned(), k)),
                PathPart::Literal(_) => None,
            })
            .chain(
                self.request
                    .query
                    .iter()
                    .map(|(n, k)| (format!("request.query.{n}"), k)),
            )
            .chain(
                self.request
                    .body
                    .iter()
                    .flat_map(|b| b.fields.iter())
                    .map(|(n, k)| (format!("request.body.fields.{n}"), k)),
            );
        for (at, field) in key_fields {
            if schema.key_field(field).is_none() {
                return Err(invalid(
                    at,
                    format!("`{field}` is not a key field of {}", self.resource),
                ));
            }
        }
        for spec in &self.items {
            let key = format!("items.{}", spec.item);
            let Some(item) = schema.item(&spec.item) else {
                return Err(invalid(
                    key,
                    format!("`{}` is not an item of {}", spec.item, self.resource),
                ));
            };
            if let Some(codes) = &spec.codes {
                if item.ty != ItemType::Code {
                    return Err(invalid(
                        key,
                        format!("a code table on an item of type {}", item.ty),
                    ));
                }
                for target in codes.values().chain(spec.fallback.iter()) {
                    if !item.codes.contains(target) {
                        return Err(invalid(
                            format!("{key}.codes"),
                            format!(
                                "`{target}` is not in the catalogue's code list for {}",
                                spec.item
                            ),
                        ));
                    }
                }
            }
        }
        for item in schema.items.iter().filter(|i| i.required) {
            if !self.items.iter().any(|s| s.item == item.name) {
                return Err(invalid(
                    "items".into(),
                    format!("required item `{}` is not mapped", item.name),
                ));
            }
        }
        Ok(())
    }

    /// The provider that answers this mapping's requests.
    pub fn provider(&self) -> &MemberId {
        &self.provider
    }

    /// The catalogue resource.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// The mapping's own version label.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// SHA-256 of the mapping file, hex: the lineage recorded with every record
    /// this mapping produces.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// The file name the mapping was loaded from.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// Catalogue key → native request. The key is checked against the schema's
    /// key fields first (types and check characters).
    pub fn native_request(
        &self,
        key: &Map<String, Value>,
        schema: &Schema,
    ) -> Result<NativeRequest, MapError> {
        let key = normalise_key(key, schema)?;
        let get = |field: &str| -> Result<&str, MapError> {
            key.get(field)
                .map(String::as_str)
                .ok_or_else(|| MapError::MissingKey {
                    field: field.to_owned(),
                })
        };
        let mut path_and_query = String::new();
        for part in &self.request.path {
            match part {
                PathPart::Literal(s) => path_and_query.push_str(s),
                PathPart::Key(k) => path_and_query.extend(utf8_percent_encode(get(k)?, COMPONENT)),
            }
        }
        for (i, (native, field)) in self.request.query.iter().enumerate() {
            path_and_query.push(if i == 0 { '?' } else { '&' });
            path_and_query.extend(utf8_percent_encode(native, COMPONENT));
            path_and_query.push('=');
            path_and_query.extend(utf8_percent_encode(get(field)?, COMPONENT));
        }
        let (content_type, body) = match &self.request.body {
            None => (None, Vec::new()),
            Some(spec) => {
                let mut values = Vec::new();
                for (path, field) in &spec.fields {
                    values.push((path, get(field)?));
                }
                match spec.format {
                    Format::Json => {
                        let mut doc = Value::Object(Map::new());
                        for (path, v) in values {
                            put_json(&mut doc, path, v);
                        }
                        (
                            Some("application/json".to_owned()),
                            doc.to_string().into_bytes(),
                        )
                    }
                    Format::Xml => {
                        let root = spec.root.as_deref().unwrap_or("Request");
                        let text = xml_body(root, spec.encoding.name(), &values);
                        let (bytes, _, _) = spec.encoding.encode(&text);
                        (
                            Some(format!("application/xml; charset={}", spec.encoding.name())),
                            bytes.into_owned(),
                        )
                    }
                }
            }
        };
        Ok(NativeRequest {
            method: self.request.method,
            path_and_query,
            content_type,
            body,
        })
    }

    /// Native response → catalogue record, every item converted to and validated
    /// against its catalogue type. Items the mapping does not map are absent.
    pub fn catalogue_record(
        &self,
        response: NativeResponse<'_>,
        schema: &Schema,
    ) -> Result<Record, MapError> {
        let format = self.response.format;
        let text = decode_text(response, format, self.response.encoding)?;
        let doc = match format {
            Format::Json => {
                serde_json::from_str::<Value>(&text).map_err(|e| MapError::Malformed {
                    format: "json",
                    reason: format!(
                        "line {} column {}: {:?}",
                        e.line(),
                        e.column(),
                        e.classify()
                    ),
                })?
            }
            Format::Xml => xml::parse(&text)?,
        };
        if let Some(check) = &self.response.not_found
            && check.matches(&doc)
        {
            return Err(MapError::NotFound);
        }
        if let Some(check) = &self.response.success
            && !check.matches(&doc)
        {
            return Err(MapError::ProviderFailure {
                path: check.path.to_string(),
            });
        }
        let record = self
            .response
            .record
            .select(&doc)
            .ok_or_else(|| MapError::NoRecord {
                path: self.response.record.to_string(),
            })?;
        let mut out = Record::new();
        for spec in &self.items {
            let Some(item) = schema.item(&spec.item) else {
                continue;
            };
            let value = match spec.path.select(record) {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) if s.trim().is_empty() => None,
                Some(v) => Some(v),
            };
            let Some(value) = value else {
                if item.required {
                    return Err(MapError::MissingItem {
                        item: spec.item.clone(),
                        path: spec.path.to_string(),
                    });
                }
                continue;
            };
            let converted = spec.convert(value, item)?;
            out.insert(spec.item.clone(), converted);
        }
        Ok(out)
    }
}

impl Check {
    fn matches(&self, doc: &Value) -> bool {
        self.path
            .select(doc)
            .and_then(normalise::scalar_text)
            .is_some_and(|s| s == self.equals)
    }
}

impl ItemSpec {
    fn convert(&self, value: &Value, item: &Field) -> Result<Value, MapError> {
        let invalid = || MapError::Invalid {
            item: self.item.clone(),
            path: self.path.to_string(),
            expected: item.ty.to_string(),
        };
        if let Some(codes) = &self.codes {
            let native = normalise::scalar_text(value)
                .map(|s| normalise::half_width(&s))
                .ok_or_else(invalid)?;
            let code = codes
                .get(&native)
                .or(self.fallback.as_ref())
                .ok_or_else(|| MapError::UnknownCode {
                    item: self.item.clone(),
                    path: self.path.to_string(),
                })?;
            return Ok(Value::String(code.clone()));
        }
        convert_scalar(value, item).ok_or_else(invalid)
    }
}

/// Converts one native scalar to the catalogue form of `field`'s type.
fn convert_scalar(value: &Value, field: &Field) -> Option<Value> {
    Some(match &field.ty {
        ItemType::Text { max_len } => {
            let s = normalise::scalar_text(value)?.trim().to_owned();
            if max_len.is_some_and(|n| s.chars().count() > n) {
                return None;
            }
            Value::String(s)
        }
        ItemType::Integer => Value::from(normalise::integer(value)?),
        ItemType::Decimal => Value::String(normalise::decimal(value)?),
        ItemType::Boolean => Value::Bool(normalise::boolean(value)?),
        ItemType::Date => Value::String(normalise::date(value)?),
        ItemType::DateTime => Value::String(normalise::datetime(value)?),
        ItemType::Code => {
            let s = normalise::half_width(&normalise::scalar_text(value)?);
            if !field.codes.contains(&s) {
                return None;
            }
            Value::String(s)
        }
        ItemType::Uscc => {
            let s = normalise::half_width(&normalise::scalar_text(value)?).to_ascii_uppercase();
            Uscc::parse(&s).ok()?;
            Value::String(s)
        }
        ItemType::ResidentId => {
            let s = normalise::half_width(&normalise::scalar_text(value)?).to_ascii_uppercase();
            check_resident_id(&s).ok()?;
            Value::String(s)
        }
        ItemType::AreaCode => {
            let s = normalise::half_width(&normalise::scalar_text(value)?);
            if s.len() != 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            Value::String(s)
        }
    })
}

/// Checks a consumer's key against the schema and returns each field in its
/// catalogue form, as text for the native request.
fn normalise_key(
    key: &Map<String, Value>,
    schema: &Schema,
) -> Result<BTreeMap<String, String>, MapError> {
    let mut out = BTreeMap::new();
    for (name, value) in key {
        let field = schema.key_field(name).ok_or_else(|| MapError::BadKey {
            field: name.chars().take(64).collect(),
            expected: format!("one of the key fields of {}", schema.resource),
        })?;
        let converted = convert_scalar(value, field).ok_or_else(|| MapError::BadKey {
            field: name.clone(),
            expected: field.ty.to_string(),
        })?;
        let text = match converted {
            Value::String(s) => s,
            other => other.to_string(),
        };
        out.insert(name.clone(), text);
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

fn parse_template(template: &str) -> Result<Vec<PathPart>, String> {
    if !template.starts_with('/') {
        return Err("must start with /".into());
    }
    let mut parts = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let (lit, after) = rest.split_at(open);
        if !lit.is_empty() {
            parts.push(PathPart::Literal(lit.to_owned()));
        }
        let close = after.find('}').ok_or("unclosed `{`")?;
        let name = after.get(1..close).unwrap_or_default();
        if name.is_empty() {
            return Err("empty `{}`".into());
        }
        parts.push(PathPart::Key(name.to_owned()));
        rest = after.get(close + 1..).unwrap_or_default();
    }
    if rest.contains('}') {
        return Err("`}` without `{`".into());
    }
    if !rest.is_empty() {
        parts.push(PathPart::Literal(rest.to_owned()));
    }
    Ok(parts)
}

fn lookup_encoding(label: &str) -> Result<&'static Encoding, String> {
    Encoding::for_label(label.as_bytes()).ok_or_else(|| format!("unknown text encoding `{label}`"))
}

fn charset_of(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches('"'))
    })
}

/// Decodes a native body to text: the mapping's declared encoding, else the
/// `charset` of the content type, else (XML) the document's declaration, else
/// UTF-8. Malformed bytes are an error, never replaced.
fn decode_text(
    response: NativeResponse<'_>,
    format: Format,
    declared: Option<&'static Encoding>,
) -> Result<String, MapError> {
    let from_header = response
        .content_type
        .and_then(charset_of)
        .and_then(|l| Encoding::for_label(l.as_bytes()));
    let from_document = match format {
        Format::Xml => {
            xml::declared_encoding(response.body).and_then(|l| Encoding::for_label(l.as_bytes()))
        }
        Format::Json => None,
    };
    let encoding = declared
        .or(from_header)
        .or(from_document)
        .unwrap_or(encoding_rs::UTF_8);
    let body = match encoding == encoding_rs::UTF_8 {
        true => response
            .body
            .strip_prefix(b"\xef\xbb\xbf")
            .unwrap_or(response.body),
        false => response.body,
    };
    encoding
        .decode_without_bom_handling_and_without_replacement(body)
        .map(|s| s.into_owned())
        .ok_or(MapError::Encoding {
            encoding: encoding.name(),
        })
}

fn put_json(doc: &mut Value, path: &Path, value: &str) {
    let mut cur = doc;
    let segments = path.segments();
    for (i, seg) in segments.iter().enumerate() {
        let Segment::Key(k) = seg else { return };
        let Value::Object(map) = cur else { return };
        if i + 1 == segments.len() {
            map.insert(k.clone(), Value::String(value.to_owned()));
            return;
        }
        cur = map
            .entry(k.clone())
            .or_insert_with(|| Value::Object(Map::new()));
    }
}

fn xml_body(root: &str, encoding: &str, values: &[(&Path, &str)]) -> String {
    // Build a small tree first so that fields sharing a parent share its element.
    let mut tree = Value::Object(Map::new());
    for (path, v) in values {
        put_json(&mut tree, path, v);
    }
    let mut out = format!("<?xml version=\"1.0\" encoding=\"{encoding}\"?><{root}>");
    write_xml(&tree, &mut out);
    out.push_str(&format!("</{root}>"));
    out
}

fn write_xml(v: &Value, out: &mut String) {
    if let Value::Object(map) = v {
        for (k, child) in map {
            match child {
                Value::String(s) => {
                    if let Some(attr) = k.strip_prefix('@') {
                        // Attributes on the root are not supported by request bodies;
                        // write them as elements so nothing is lost.
                        out.push_str(&format!("<{attr}>{}</{attr}>", xml::escape(s)));
                    } else {
                        out.push_str(&format!("<{k}>{}</{k}>", xml::escape(s)));
                    }
                }
                other => {
                    out.push_str(&format!("<{k}>"));
                    write_xml(other, out);
                    out.push_str(&format!("</{k}>"));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Schema {
        let f = |name: &str, ty: &str, required: bool| Field {
            name: name.into(),
            ty: ty.parse().unwrap(),
            required,
            codes: if ty == "code" {
                vec!["1".into(), "2".into(), "9".into()]
            } else {
                vec![]
            },
        };
        Schema {
            resource: "YRD-SCJG-0001".into(),
            key: vec![f("uscc", "uscc", true)],
            items: vec![
                f("name", "text(100)", true),
                f("uscc", "uscc", true),
                f("established_date", "date", false),
                f("registered_capital", "decimal", false),
                f("status", "code", false),
            ],
        }
    }

    const JS: &str = r#"
provider = "js:11320000014000118J:data"
resource = "YRD-SCJG-0001"
version = "2026.1"
[request]
method = "GET"
path = "/api/v2/qydj/{uscc}"
query = { fmt = "uscc" }
[response]
format = "json"
record = "data"
success = { path = "code", equals = "0000" }
not_found = { path = "code", equals = "4004" }
[items]
name = { path = "qymc" }
uscc = { path = "tyshxydm" }
established_date = { path = "clrq" }
registered_capital = { path = "zczb" }
status = { path = "djzt", codes = { "存续" = "1", "注销" = "2" }, fallback = "9" }
"#;

    #[test]
    fn maps_a_json_record_and_builds_a_get_request() {
        let m = Mapping::parse("js.toml", JS).unwrap();
        let s = schema();
        m.check(&s).unwrap();
        let mut key = Map::new();
        key.insert("uscc".into(), json!("91320100MA1MXXXX0Q"));
        // Wrong check character: refused before any request is built.
        assert!(matches!(
            m.native_request(&key, &s),
            Err(MapError::BadKey { .. })
        ));
        key.insert("uscc".into(), json!("11330105002500287C"));
        let req = m.native_request(&key, &s).unwrap();
        assert_eq!(
            req.path_and_query,
            "/api/v2/qydj/11330105002500287C?fmt=11330105002500287C"
        );
        let body = json!({"code": "0000", "data": {"qymc": " 某某科技有限公司 ", "tyshxydm": "１１330105002500287C",
            "clrq": "20150312", "zczb": "500.00", "djzt": "吊销"}}).to_string();
        let rec = m
            .catalogue_record(
                NativeResponse {
                    content_type: Some("application/json"),
                    body: body.as_bytes(),
                },
                &s,
            )
            .unwrap();
        assert_eq!(
            Value::Object(rec),
            json!({"name": "某某科技有限公司", "uscc": "11330105002500287C", "established_date": "2015-03-12",
                   "registered_capital": "500.00", "status": "9"})
        );
    }

    #[test]
    fn provider_envelopes_decide_not_found_and_failure() {
        let m = Mapping::parse("js.toml", JS).unwrap();
        let s = schema();
        let resp = |b: &str| {
            m.catalogue_record(
                NativeResponse {
                    content_type: None,
                    body: b.as_bytes(),
                },
                &s,
            )
        };
        assert_eq!(resp(r#"{"code":"4004"}"#), Err(MapError::NotFound));
        assert!(matches!(
            resp(r#"{"code":"5000"}"#),
            Err(MapError::ProviderFailure { .. })
        ));
        assert!(matches!(resp("<html>"), Err(MapError::Malformed { .. })));
        assert!(matches!(
            resp(r#"{"code":"0000","data":{"qymc":"x"}}"#),
            Err(MapError::MissingItem { .. })
        ));
        assert!(matches!(
            resp(
                r#"{"code":"0000","data":{"qymc":"x","tyshxydm":"11330105002500287C","clrq":"2015-02-30"}}"#
            ),
            Err(MapError::Invalid { .. })
        ));
    }

    #[test]
    fn xml_in_gb18030_is_decoded_and_never_mangled() {
        let text = r#"
provider = "ah:113400000029868223:data"
resource = "YRD-SCJG-0001"
version = "1"
[request]
method = "POST"
path = "/ws/qyxx"
body = { format = "xml", root = "Request", encoding = "GB18030", fields = { "Query.TYSHXYDM" = "uscc" } }
[response]
format = "xml"
record = "Response.QYXX"
success = { path = "Response.@code", equals = 0 }
[items]
name = { path = "QYMC" }
uscc = { path = "@TYSHXYDM" }
established_date = { path = "CLRQ" }
"#;
        let m = Mapping::parse("ah.toml", text).unwrap();
        let s = schema();
        m.check(&s).unwrap();
        let mut key = Map::new();
        key.insert("uscc".into(), json!("11330105002500287C"));
        let req = m.native_request(&key, &s).unwrap();
        assert_eq!(req.method, "POST");
        let (decoded, _, bad) = encoding_rs::GB18030.decode(&req.body);
        assert!(!bad);
        assert!(
            decoded.contains(
                "<Request><Query><TYSHXYDM>11330105002500287C</TYSHXYDM></Query></Request>"
            )
        );
        let doc = r#"<?xml version="1.0" encoding="GB18030"?><Response code="0"><QYXX TYSHXYDM="11330105002500287C"><QYMC>安徽某某股份有限公司</QYMC><CLRQ>2015年3月12日</CLRQ></QYXX></Response>"#;
        let (bytes, _, _) = encoding_rs::GB18030.encode(doc);
        let rec = m
            .catalogue_record(
                NativeResponse {
                    content_type: Some("text/xml"),
                    body: &bytes,
                },
                &s,
            )
            .unwrap();
        assert_eq!(rec.get("name"), Some(&json!("安徽某某股份有限公司")));
        assert_eq!(rec.get("established_date"), Some(&json!("2015-03-12")));
        // The same bytes declared as UTF-8 are refused, not replaced.
        let err = m.catalogue_record(
            NativeResponse {
                content_type: Some("text/xml; charset=utf-8"),
                body: &bytes,
            },
            &s,
        );
        assert!(matches!(err, Err(MapError::Encoding { .. })));
    }

    #[test]
    fn check_names_the_key_that_is_wrong() {
        let bad = JS.replace("name = { path = \"qymc\" }", "nmae = { path = \"qymc\" }");
        let m = Mapping::parse("js.toml", &bad).unwrap();
        match m.check(&schema()) {
            Err(MappingError::Invalid { key, .. }) => assert_eq!(key, "items.nmae"),
            other => panic!("{other:?}"),
        }
        let bad = JS.replace("fallback = \"9\"", "fallback = \"7\"");
        let m = Mapping::parse("js.toml", &bad).unwrap();
        assert!(
            matches!(m.check(&schema()), Err(MappingError::Invalid { key, .. }) if key == "items.status.codes")
        );
        assert!(matches!(
            Mapping::parse("x.toml", "provider = 1"),
            Err(MappingError::Syntax { .. })
        ));
    }

    #[test]
    fn the_hash_is_of_the_file_bytes() {
        let a = Mapping::parse("js.toml", JS).unwrap();
        let b = Mapping::parse("js.toml", &format!("{JS}\n")).unwrap();
        assert_ne!(a.hash(), b.hash());
        assert_eq!(a.hash(), hex(&sha256(JS.as_bytes())));
    }
}
