//! A mapping file as read: the TOML shape serde sees, the line of every key
//! (for `file:line` messages), and the checked model the rest of the crate
//! evaluates. Everything that can be checked without the catalogue is checked
//! here; [`crate::lint`] checks the rest against a resource's schema.

use std::collections::{BTreeMap, HashMap};

use encoding_rs::Encoding;
use serde::Deserialize;
use serde_json::Value;
use yrdx_signing::MemberId;

use crate::doc::Format;
use crate::error::{Line, MappingError};
use crate::normalise::Unit;
use crate::path::{Binding, Path};

// ---------------------------------------------------------------------------
// The checked model.

/// Where a request value comes from.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Source {
    /// A catalogue key field, in its catalogue form.
    Key(String),
    /// A constant (string, integer or boolean).
    Value(Value),
}

#[derive(Clone, Debug)]
pub(crate) enum PathPart {
    Literal(String),
    Key(String),
}

#[derive(Clone, Debug)]
pub(crate) struct RequestSpec {
    pub method: &'static str,
    pub path: Vec<PathPart>,
    pub query: Vec<(String, Source)>,
    pub headers: Vec<(String, Source)>,
    pub body: Option<BodySpec>,
}

/// One step of a path in a request body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum BodyStep {
    /// A JSON member or XML element (qualified name as written).
    Element(String),
    /// An XML attribute of the element the previous steps name.
    Attr(String),
}

#[derive(Clone, Debug)]
pub(crate) struct BodyField {
    /// As written in the file, for messages.
    pub text: String,
    pub steps: Vec<BodyStep>,
    /// The same place as a response path, to read the key back (tests, tools).
    pub read: Path,
    pub source: Source,
}

#[derive(Clone, Debug)]
pub(crate) struct BodySpec {
    pub format: Format,
    /// XML: the document element's qualified name.
    pub root: Option<String>,
    pub encoding: &'static Encoding,
    pub namespaces: BTreeMap<String, String>,
    pub fields: Vec<BodyField>,
}

#[derive(Clone, Debug)]
pub(crate) struct ResponseSpec {
    pub format: Format,
    pub encoding: Option<&'static Encoding>,
    /// Prefix → namespace URI, for the paths of an XML response.
    pub namespaces: BTreeMap<String, String>,
    pub record: Path,
    /// A listing: `record` selects zero or more records (rows), and "not
    /// found" is no row rather than a failure.
    pub rows: bool,
    pub success: Option<Predicate>,
    pub not_found: Option<Predicate>,
}

#[derive(Clone, Debug)]
pub(crate) struct Predicate {
    pub path: Path,
    pub test: Test,
}

#[derive(Clone, Debug)]
pub(crate) enum Test {
    Equals(String),
    NotEquals(String),
    In(Vec<String>),
    Present(bool),
}

/// What to do with a native null, an empty value, or a missing path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Treatment {
    /// Leave the item out of the record.
    Omit,
    /// Put the item in the record as `null`: the provider holds no value.
    Null,
    /// Use the rule's `default`.
    Default,
    /// Fail the mapping.
    Error,
}

#[derive(Clone, Debug)]
pub(crate) enum RuleSource {
    Paths(Vec<Path>),
    Value(Value),
}

#[derive(Clone, Debug)]
pub(crate) struct Split {
    pub separators: Vec<String>,
    pub part: usize,
}

#[derive(Clone, Debug)]
pub(crate) struct Rule {
    /// The TOML key of the rule: `items.name` or `items.name[1]`.
    pub key: String,
    /// The native paths as written, for messages.
    pub described: String,
    pub when: Option<Predicate>,
    pub source: RuleSource,
    pub join: Option<String>,
    pub split: Option<Split>,
    pub codes: Option<BTreeMap<String, String>>,
    pub fallback: Option<String>,
    pub default: Option<Value>,
    pub on_null: Option<Treatment>,
    pub on_empty: Option<Treatment>,
    pub on_absent: Option<Treatment>,
    pub nulls: Vec<String>,
    pub unit: Option<Unit>,
    pub native_unit: Option<Unit>,
    pub unit_path: Option<Path>,
    pub half_width: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct ItemSpec {
    pub item: String,
    pub key: String,
    pub rules: Vec<Rule>,
}

#[derive(Clone, Debug)]
pub(crate) struct Spec {
    pub provider: MemberId,
    pub resource: String,
    pub version: String,
    pub request: RequestSpec,
    pub response: ResponseSpec,
    pub items: Vec<ItemSpec>,
}

// ---------------------------------------------------------------------------
// Lines of keys.

/// The line (and byte offset) of every key of a TOML file, by its dotted path
/// (`items.status.codes`, `request.body.fields."Query.TYSHXYDM"`,
/// `items.status[1].when`).
#[derive(Clone, Debug, Default)]
pub(crate) struct Lines {
    keys: HashMap<String, (usize, usize)>,
}

impl Lines {
    pub fn index(text: &str) -> Lines {
        let mut keys = HashMap::new();
        if let Ok(table) = toml::de::DeTable::parse(text) {
            let starts = line_starts(text);
            walk(table.get_ref(), "", &starts, &mut keys);
        }
        Lines { keys }
    }

    /// The line of `key`, or of the nearest enclosing key that has one.
    pub fn line(&self, key: &str) -> Line {
        let segments = split_key(key);
        for n in (1..=segments.len()).rev() {
            let k = segments.get(..n).unwrap_or_default().concat();
            if let Some((line, _)) = self.keys.get(&k) {
                return Line(Some(*line));
            }
        }
        Line(None)
    }

    /// The byte offset of `key`, for keeping a table's members in file order.
    pub fn offset(&self, key: &str) -> usize {
        self.keys.get(key).map_or(usize::MAX, |(_, o)| *o)
    }
}

fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect()
}

fn line_of(starts: &[usize], offset: usize) -> usize {
    starts.partition_point(|&s| s <= offset)
}

fn walk(
    table: &toml::de::DeTable<'_>,
    prefix: &str,
    starts: &[usize],
    out: &mut HashMap<String, (usize, usize)>,
) {
    for (k, v) in table {
        let key = join_key(prefix, k.get_ref());
        let at = k.span().start;
        out.insert(key.clone(), (line_of(starts, at), at));
        walk_value(v, &key, starts, out);
    }
}

fn walk_value(
    v: &toml::Spanned<toml::de::DeValue<'_>>,
    key: &str,
    starts: &[usize],
    out: &mut HashMap<String, (usize, usize)>,
) {
    match v.get_ref() {
        toml::de::DeValue::Table(t) => walk(t, key, starts, out),
        toml::de::DeValue::Array(a) => {
            for (i, item) in a.iter().enumerate() {
                let k = format!("{key}[{i}]");
                let at = item.span().start;
                out.insert(k.clone(), (line_of(starts, at), at));
                walk_value(item, &k, starts, out);
            }
        }
        _ => {}
    }
}

/// `prefix.segment`, quoting the segment as TOML would when it is not bare.
pub(crate) fn join_key(prefix: &str, segment: &str) -> String {
    let bare = !segment.is_empty()
        && segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    let segment = match bare {
        true => segment.to_owned(),
        false => format!("\"{}\"", segment.replace('\\', "\\\\").replace('"', "\\\"")),
    };
    match prefix.is_empty() {
        true => segment,
        false => format!("{prefix}.{segment}"),
    }
}

/// Splits a key path into its segments, each with its leading `.` (or `[`),
/// so that concatenating a prefix of them gives the parent key.
fn split_key(key: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in key.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '.' | '[' if !quoted && i > start => {
                out.push(key.get(start..i).unwrap_or_default());
                start = i;
            }
            _ => {}
        }
    }
    out.push(key.get(start..).unwrap_or_default());
    out
}

// ---------------------------------------------------------------------------
// The file's shape, as serde reads it.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileShape {
    provider: String,
    resource: String,
    version: String,
    #[serde(default)]
    tables: BTreeMap<String, BTreeMap<String, String>>,
    request: RequestShape,
    response: ResponseShape,
    items: BTreeMap<String, toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestShape {
    method: String,
    path: String,
    #[serde(default)]
    query: BTreeMap<String, toml::Value>,
    #[serde(default)]
    headers: BTreeMap<String, toml::Value>,
    body: Option<BodyShape>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BodyShape {
    format: Format,
    root: Option<String>,
    encoding: Option<String>,
    #[serde(default)]
    namespaces: BTreeMap<String, String>,
    fields: BTreeMap<String, toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResponseShape {
    format: Format,
    encoding: Option<String>,
    #[serde(default)]
    namespaces: BTreeMap<String, String>,
    #[serde(default)]
    record: String,
    #[serde(default)]
    rows: bool,
    success: Option<toml::Value>,
    not_found: Option<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PredicateShape {
    path: String,
    equals: Option<toml::Value>,
    not_equals: Option<toml::Value>,
    #[serde(rename = "in")]
    one_of: Option<Vec<toml::Value>>,
    present: Option<bool>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum CodesShape {
    Named(String),
    Table(BTreeMap<String, String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleShape {
    path: Option<OneOrMany>,
    value: Option<toml::Value>,
    when: Option<toml::Value>,
    join: Option<String>,
    split: Option<OneOrMany>,
    part: Option<usize>,
    codes: Option<CodesShape>,
    fallback: Option<String>,
    default: Option<toml::Value>,
    null: Option<Treatment>,
    empty: Option<Treatment>,
    absent: Option<Treatment>,
    #[serde(default)]
    nulls: Vec<String>,
    unit: Option<String>,
    native_unit: Option<String>,
    unit_path: Option<String>,
    #[serde(default)]
    half_width: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceShape {
    key: Option<String>,
    value: Option<toml::Value>,
}

// ---------------------------------------------------------------------------
// Reading a file into the model.

struct Reader<'a> {
    file: &'a str,
    lines: &'a Lines,
}

impl Reader<'_> {
    fn invalid(&self, key: &str, problem: impl Into<String>) -> MappingError {
        MappingError::Invalid {
            file: self.file.to_owned(),
            line: self.lines.line(key),
            key: key.to_owned(),
            problem: problem.into(),
        }
    }

    fn shape<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
        value: toml::Value,
    ) -> Result<T, MappingError> {
        value
            .try_into()
            .map_err(|e: toml::de::Error| self.invalid(key, e.message().trim().to_owned()))
    }

    /// Members of a table in the order the file writes them.
    fn in_file_order<V>(&self, prefix: &str, map: BTreeMap<String, V>) -> Vec<(String, V)> {
        let mut members: Vec<(String, V)> = map.into_iter().collect();
        members.sort_by_key(|(k, _)| self.lines.offset(&join_key(prefix, k)));
        members
    }
}

/// Reads and checks a mapping file (everything that needs no catalogue).
pub(crate) fn read(file: &str, text: &str, lines: &Lines) -> Result<Spec, MappingError> {
    let shape: FileShape = toml::from_str(text).map_err(|e| MappingError::Syntax {
        file: file.to_owned(),
        line: Line(e.span().map(|s| line_of(&line_starts(text), s.start))),
        message: e.message().trim().to_owned(),
    })?;
    let r = Reader { file, lines };
    let provider =
        MemberId::parse(&shape.provider).map_err(|e| r.invalid("provider", e.to_string()))?;
    let request = read_request(&r, shape.request)?;
    let response = read_response(&r, shape.response)?;
    let mut items = Vec::new();
    for (item, value) in r.in_file_order("items", shape.items) {
        let key = join_key("items", &item);
        let rules = match value {
            toml::Value::Array(tables) => {
                if tables.is_empty() {
                    return Err(r.invalid(&key, "an item needs at least one rule"));
                }
                tables
                    .into_iter()
                    .enumerate()
                    .map(|(i, t)| {
                        read_rule(&r, &format!("{key}[{i}]"), t, &response, &shape.tables)
                    })
                    .collect::<Result<Vec<_>, _>>()?
            }
            table @ toml::Value::Table(_) => {
                vec![read_rule(&r, &key, table, &response, &shape.tables)?]
            }
            _ => return Err(r.invalid(&key, "an item is a table, or an array of tables (rules)")),
        };
        if let Some(unconditional) = rules
            .iter()
            .take(rules.len().saturating_sub(1))
            .find(|rule| rule.when.is_none())
        {
            return Err(r.invalid(
                &unconditional.key,
                "this rule has no `when`, so the rules after it can never apply",
            ));
        }
        items.push(ItemSpec { item, key, rules });
    }
    Ok(Spec {
        provider,
        resource: shape.resource,
        version: shape.version,
        request,
        response,
        items,
    })
}

fn read_request(r: &Reader<'_>, shape: RequestShape) -> Result<RequestSpec, MappingError> {
    let method = match shape.method.as_str() {
        "GET" => "GET",
        "POST" => "POST",
        other => {
            return Err(r.invalid("request.method", format!("`{other}` is not GET or POST")));
        }
    };
    let path = parse_template(&shape.path).map_err(|p| r.invalid("request.path", p))?;
    let mut query = Vec::new();
    for (name, v) in r.in_file_order("request.query", shape.query) {
        let key = join_key("request.query", &name);
        if name.is_empty() {
            return Err(r.invalid(&key, "a parameter needs a name"));
        }
        query.push((name, read_source(r, &key, v)?));
    }
    let mut headers = Vec::new();
    for (name, v) in r.in_file_order("request.headers", shape.headers) {
        let key = join_key("request.headers", &name);
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
        {
            return Err(r.invalid(&key, "not an HTTP header name"));
        }
        if matches!(
            name.to_ascii_lowercase().as_str(),
            "host" | "content-type" | "content-length" | "transfer-encoding" | "connection"
        ) {
            return Err(r.invalid(&key, "the gateway sets this header itself"));
        }
        let source = read_source(r, &key, v)?;
        if let Source::Value(v) = &source
            && !const_text(v).bytes().all(|b| (0x20..0x7f).contains(&b))
        {
            return Err(r.invalid(&key, "a header value must be printable ASCII"));
        }
        headers.push((name, source));
    }
    let body = match shape.body {
        None => None,
        Some(b) => {
            if method == "GET" {
                return Err(r.invalid("request.body", "a GET request has no body"));
            }
            Some(read_body(r, b)?)
        }
    };
    Ok(RequestSpec {
        method,
        path,
        query,
        headers,
        body,
    })
}

fn read_body(r: &Reader<'_>, b: BodyShape) -> Result<BodySpec, MappingError> {
    if b.format == Format::Xml && b.root.is_none() {
        return Err(r.invalid(
            "request.body.root",
            "an XML body needs a document element name",
        ));
    }
    if b.format == Format::Json && (b.root.is_some() || !b.namespaces.is_empty()) {
        return Err(r.invalid("request.body", "`root` and `namespaces` are for XML bodies"));
    }
    let encoding = match &b.encoding {
        None => encoding_rs::UTF_8,
        Some(label) => lookup_encoding(label).map_err(|p| r.invalid("request.body.encoding", p))?,
    };
    if let Some(root) = &b.root {
        check_xml_name(root, &b.namespaces).map_err(|p| r.invalid("request.body.root", p))?;
    }
    let mut fields = Vec::new();
    for (native, v) in r.in_file_order("request.body.fields", b.fields) {
        let key = join_key("request.body.fields", &native);
        let mut steps = Vec::new();
        for part in native.split('.') {
            if let Some(step) = steps.last()
                && matches!(step, BodyStep::Attr(_))
            {
                return Err(r.invalid(&key, "nothing can follow an attribute"));
            }
            match part.strip_prefix('@') {
                Some(attr) if b.format == Format::Xml => {
                    check_xml_name(attr, &b.namespaces).map_err(|p| r.invalid(&key, p))?;
                    steps.push(BodyStep::Attr(attr.to_owned()));
                }
                Some(_) => return Err(r.invalid(&key, "a JSON body has no attributes")),
                None => {
                    if part.is_empty() || part.contains(['[', ']', '*', '$', '#']) {
                        return Err(r.invalid(
                            &key,
                            "body paths are member or element names (and a last `@attribute`), no indices or wildcards",
                        ));
                    }
                    if b.format == Format::Xml {
                        check_xml_name(part, &b.namespaces).map_err(|p| r.invalid(&key, p))?;
                    }
                    steps.push(BodyStep::Element(part.to_owned()));
                }
            }
        }
        let read_text = match &b.root {
            Some(root) => format!("{root}.{native}"),
            None => native.clone(),
        };
        let binding = match b.format {
            Format::Json => Binding::Json,
            Format::Xml => Binding::Xml(&b.namespaces),
        };
        let read = Path::parse(&read_text, binding).map_err(|p| r.invalid(&key, p))?;
        let source = read_source(r, &key, v)?;
        fields.push(BodyField {
            text: native,
            steps,
            read,
            source,
        });
    }
    // Two fields writing the same place would make the request depend on order.
    for (i, f) in fields.iter().enumerate() {
        let clash = fields.iter().skip(i + 1).find(|g| {
            g.steps == f.steps
                || g.steps.starts_with(&f.steps) && b.format == Format::Json
                || f.steps.starts_with(&g.steps) && b.format == Format::Json
        });
        if let Some(g) = clash {
            return Err(r.invalid(
                &join_key("request.body.fields", &g.text),
                format!("writes where `{}` already writes", f.text),
            ));
        }
    }
    Ok(BodySpec {
        format: b.format,
        root: b.root,
        encoding,
        namespaces: b.namespaces,
        fields,
    })
}

fn check_xml_name(name: &str, namespaces: &BTreeMap<String, String>) -> Result<(), String> {
    let local = match name.split_once(':') {
        Some((prefix, local)) => {
            if !namespaces.contains_key(prefix) {
                return Err(format!("prefix `{prefix}` is not declared in `namespaces`"));
            }
            local
        }
        None => name,
    };
    let ok = local.chars().enumerate().all(|(i, c)| {
        c.is_alphabetic() || c == '_' || (i > 0 && (c.is_ascii_digit() || c == '-' || c == '.'))
    });
    if local.is_empty() || !ok {
        return Err(format!("`{name}` is not an XML name"));
    }
    Ok(())
}

fn read_source(r: &Reader<'_>, key: &str, v: toml::Value) -> Result<Source, MappingError> {
    match v {
        toml::Value::String(field) => Ok(Source::Key(field)),
        table @ toml::Value::Table(_) => {
            let s: SourceShape = r.shape(key, table)?;
            match (s.key, s.value) {
                (Some(field), None) => Ok(Source::Key(field)),
                (None, Some(v)) => Ok(Source::Value(constant(&v).ok_or_else(|| {
                    r.invalid(key, "a constant is a string, integer or boolean")
                })?)),
                _ => Err(r.invalid(key, "give exactly one of `key` or `value`")),
            }
        }
        _ => Err(r.invalid(
            key,
            "a key field name, or `{ key = \"…\" }`, or `{ value = … }`",
        )),
    }
}

/// A TOML scalar as a JSON value: strings, integers, booleans.
pub(crate) fn constant(v: &toml::Value) -> Option<Value> {
    match v {
        toml::Value::String(s) => Some(Value::String(s.clone())),
        toml::Value::Integer(i) => Some(Value::from(*i)),
        toml::Value::Boolean(b) => Some(Value::Bool(*b)),
        _ => None,
    }
}

/// A constant as text, for query parameters, headers and comparisons.
pub(crate) fn const_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn read_response(r: &Reader<'_>, shape: ResponseShape) -> Result<ResponseSpec, MappingError> {
    if shape.format == Format::Json && !shape.namespaces.is_empty() {
        return Err(r.invalid("response.namespaces", "namespaces are for XML responses"));
    }
    let binding = match shape.format {
        Format::Json => Binding::Json,
        Format::Xml => Binding::Xml(&shape.namespaces),
    };
    let record =
        Path::parse(&shape.record, binding).map_err(|p| r.invalid("response.record", p))?;
    if matches!(
        record.steps().last(),
        Some(crate::path::Step::Attr { .. } | crate::path::Step::Text)
    ) {
        return Err(r.invalid(
            "response.record",
            "a record is an object or element, not an attribute or text",
        ));
    }
    let success = shape
        .success
        .map(|v| read_predicate(r, "response.success", v, binding))
        .transpose()?;
    let not_found = shape
        .not_found
        .map(|v| read_predicate(r, "response.not_found", v, binding))
        .transpose()?;
    let encoding = shape
        .encoding
        .as_deref()
        .map(lookup_encoding)
        .transpose()
        .map_err(|p| r.invalid("response.encoding", p))?;
    Ok(ResponseSpec {
        format: shape.format,
        encoding,
        record,
        rows: shape.rows,
        success,
        not_found,
        namespaces: shape.namespaces,
    })
}

fn read_predicate(
    r: &Reader<'_>,
    key: &str,
    v: toml::Value,
    binding: Binding<'_>,
) -> Result<Predicate, MappingError> {
    let p: PredicateShape = r.shape(key, v)?;
    let text = |v: &toml::Value, at: &str| {
        constant(v)
            .map(|c| const_text(&c))
            .ok_or_else(|| r.invalid(at, "must be a string, integer or boolean"))
    };
    let test = match (p.equals, p.not_equals, p.one_of, p.present) {
        (Some(v), None, None, None) => Test::Equals(text(&v, &format!("{key}.equals"))?),
        (None, Some(v), None, None) => Test::NotEquals(text(&v, &format!("{key}.not_equals"))?),
        (None, None, Some(list), None) => Test::In(
            list.iter()
                .map(|v| text(v, &format!("{key}.in")))
                .collect::<Result<_, _>>()?,
        ),
        (None, None, None, Some(b)) => Test::Present(b),
        _ => {
            return Err(r.invalid(
                key,
                "give exactly one of `equals`, `not_equals`, `in` or `present`",
            ));
        }
    };
    let path = Path::parse(&p.path, binding).map_err(|e| r.invalid(&format!("{key}.path"), e))?;
    Ok(Predicate { path, test })
}

fn read_rule(
    r: &Reader<'_>,
    key: &str,
    value: toml::Value,
    response: &ResponseSpec,
    tables: &BTreeMap<String, BTreeMap<String, String>>,
) -> Result<Rule, MappingError> {
    let s: RuleShape = r.shape(key, value)?;
    let at = |field: &str| format!("{key}.{field}");
    let binding = match response.format {
        Format::Json => Binding::Json,
        Format::Xml => Binding::Xml(&response.namespaces),
    };
    let (source, described) = match (s.path, &s.value) {
        (Some(paths), None) => {
            let texts = paths.into_vec();
            if texts.is_empty() {
                return Err(r.invalid(&at("path"), "give at least one path"));
            }
            if texts.len() > 1 && s.join.is_none() {
                return Err(r.invalid(
                    &at("path"),
                    "several paths are concatenated: say with what, e.g. `join = \"\"`",
                ));
            }
            let paths = texts
                .iter()
                .map(|t| Path::parse(t, binding).map_err(|p| r.invalid(&at("path"), p)))
                .collect::<Result<Vec<_>, _>>()?;
            (RuleSource::Paths(paths), texts.join("+"))
        }
        (None, Some(v)) => {
            if s.join.is_some() || s.split.is_some() {
                return Err(r.invalid(key, "`join` and `split` need a `path`"));
            }
            let v = constant(v)
                .ok_or_else(|| r.invalid(&at("value"), "a string, integer or boolean"))?;
            (RuleSource::Value(v), "(constant)".to_owned())
        }
        _ => return Err(r.invalid(key, "give exactly one of `path` or `value`")),
    };
    let when = s
        .when
        .map(|v| read_predicate(r, &at("when"), v, binding))
        .transpose()?;
    let split = match (s.split, s.part) {
        (Some(seps), Some(part)) => {
            let separators = seps.into_vec();
            if separators.is_empty() || separators.iter().any(String::is_empty) {
                return Err(r.invalid(&at("split"), "separators cannot be empty"));
            }
            Some(Split { separators, part })
        }
        (None, None) => None,
        _ => {
            return Err(r.invalid(
                key,
                "`split` and `part` go together: split on what, keep which part (from 0)",
            ));
        }
    };
    let codes =
        match s.codes {
            None => None,
            Some(CodesShape::Table(t)) => Some(t),
            Some(CodesShape::Named(name)) => Some(tables.get(&name).cloned().ok_or_else(|| {
                r.invalid(&at("codes"), format!("no table `{name}` in `[tables]`"))
            })?),
        };
    if s.fallback.is_some() && codes.is_none() {
        return Err(r.invalid(&at("fallback"), "a fallback needs a code table"));
    }
    let default = s
        .default
        .as_ref()
        .map(|v| {
            constant(v).ok_or_else(|| r.invalid(&at("default"), "a string, integer or boolean"))
        })
        .transpose()?;
    for (name, t) in [("null", s.null), ("empty", s.empty), ("absent", s.absent)] {
        if t == Some(Treatment::Default) && default.is_none() {
            return Err(r.invalid(&at(name), "`default` treatment without a `default` value"));
        }
    }
    let unit = |text: &Option<String>, field: &str| {
        text.as_deref()
            .map(|u| {
                Unit::parse(u).ok_or_else(|| r.invalid(&at(field), "a unit is 元, 万元 or 亿元"))
            })
            .transpose()
    };
    let target = unit(&s.unit, "unit")?;
    let native_unit = unit(&s.native_unit, "native_unit")?;
    let unit_path = s
        .unit_path
        .as_deref()
        .map(|p| Path::parse(p, binding).map_err(|e| r.invalid(&at("unit_path"), e)))
        .transpose()?;
    if target.is_none() && (native_unit.is_some() || unit_path.is_some()) {
        return Err(r.invalid(key, "`native_unit` and `unit_path` need the item's `unit`"));
    }
    Ok(Rule {
        key: key.to_owned(),
        described,
        when,
        source,
        join: s.join,
        split,
        codes,
        fallback: s.fallback,
        default,
        on_null: s.null,
        on_empty: s.empty,
        on_absent: s.absent,
        nulls: s
            .nulls
            .iter()
            .map(|n| crate::normalise::half_width(n))
            .collect(),
        unit: target,
        native_unit,
        unit_path,
        half_width: s.half_width,
    })
}

fn parse_template(template: &str) -> Result<Vec<PathPart>, String> {
    if !template.starts_with('/') {
        return Err("must start with /".into());
    }
    if template.contains(['?', '#']) {
        return Err("the path holds no query or fragment: use `query`".into());
    }
    let mut parts = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let (lit, after) = rest.split_at(open);
        if !lit.is_empty() {
            parts.push(PathPart::Literal(lit.to_owned()));
        } else if matches!(parts.last(), Some(PathPart::Key(_))) {
            return Err("two `{key}` segments need something between them".into());
        }
        let close = after.find('}').ok_or("unclosed `{`")?;
        let name = after.get(1..close).unwrap_or_default();
        if name.is_empty() || name.contains('{') {
            return Err("empty or nested `{}`".into());
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
    match Encoding::for_label(label.as_bytes()) {
        // encoding_rs maps some labels (e.g. `iso-2022-kr`) to an encoding that
        // decodes everything as one replacement character.
        Some(e) if e != encoding_rs::REPLACEMENT => Ok(e),
        _ => Err(format!("unknown text encoding `{label}`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_found_for_nested_quoted_and_array_keys() {
        let text = r#"a = 1
[request]
method = "GET"
body = { fields = { "Query.X" = "uscc" } }

[[items.status]]
when = { path = "x", equals = "1" }
value = "1"

[[items.status]]
path = "y"
"#;
        let lines = Lines::index(text);
        assert_eq!(lines.line("a"), Line(Some(1)));
        assert_eq!(lines.line("request.method"), Line(Some(3)));
        assert_eq!(lines.line("request.body.fields.\"Query.X\""), Line(Some(4)));
        assert_eq!(lines.line("items.status[1].path"), Line(Some(11)));
        assert_eq!(lines.line("items.status[0].when.equals"), Line(Some(7)));
        // A key that is not there takes its parent's line.
        assert_eq!(lines.line("items.status[1].codes"), Line(Some(10)));
        assert_eq!(lines.line("nowhere"), Line(None));
        assert_eq!(join_key("a", "b.c"), "a.\"b.c\"");
        assert_eq!(split_key("a.\"b.c\"[1].d"), ["a", ".\"b.c\"", "[1]", ".d"]);
    }

    #[test]
    fn templates() {
        assert!(parse_template("/a/{x}/b").is_ok());
        for bad in ["a", "/a/{x}{y}", "/a/{", "/a/}", "/a?x=1", "/a/{}"] {
            assert!(parse_template(bad).is_err(), "{bad}");
        }
    }
}
