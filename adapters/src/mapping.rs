//! A mapping file: one per provider × resource, declaring how a catalogue key
//! becomes the provider's native request and how its native response becomes a
//! catalogue record. The language is described in `docs/adapters.md`; its
//! parts live in [`crate::spec`] (the file), [`crate::request`],
//! [`crate::response`] and [`crate::lint`].

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use yrdx_signing::{MemberId, hex, sha256};

use crate::doc::{Document, Format};
use crate::error::{MapError, MappingError};
use crate::lint::{self, Finding, Severity};
use crate::request::{self, NativeRequest};
use crate::response::{self, Record};
use crate::schema::Schema;
use crate::spec::{self, Lines, Spec};

/// A provider's answer as the gateway received it.
#[derive(Clone, Copy, Debug)]
pub struct NativeResponse<'a> {
    /// The `Content-Type` header, if any.
    pub content_type: Option<&'a str>,
    /// The body bytes.
    pub body: &'a [u8],
}

/// A loaded mapping, checked against nothing yet: call [`Mapping::check`] with
/// the resource's schema before use.
#[derive(Clone, Debug)]
pub struct Mapping {
    file: String,
    hash: String,
    lines: Lines,
    spec: Spec,
}

impl Mapping {
    /// Reads a mapping file. `file` names it in errors; the content hash is
    /// taken over `text` exactly as given.
    pub fn parse(file: &str, text: &str) -> Result<Mapping, MappingError> {
        let lines = Lines::index(text);
        let spec = spec::read(file, text, &lines)?;
        Ok(Mapping {
            file: file.to_owned(),
            hash: hex(&sha256(text.as_bytes())),
            lines,
            spec,
        })
    }

    /// Every finding of the mapping against its resource's schema: unknown
    /// items and key fields, type mismatches, code tables naming codes outside
    /// the catalogue's list, unreachable rules and paths, required items not
    /// mapped.
    pub fn lint(&self, schema: &Schema) -> Vec<Finding> {
        lint::lint(&self.spec, schema, &|key| self.lines.line(key))
    }

    /// The first error [`Mapping::lint`] finds, if any.
    pub fn check(&self, schema: &Schema) -> Result<(), MappingError> {
        match self
            .lint(schema)
            .into_iter()
            .find(|f| f.severity == Severity::Error)
        {
            None => Ok(()),
            Some(f) => Err(MappingError::Invalid {
                file: self.file.clone(),
                line: f.line,
                key: f.key,
                problem: f.problem,
            }),
        }
    }

    /// The provider that answers this mapping's requests.
    pub fn provider(&self) -> &MemberId {
        &self.spec.provider
    }

    /// The catalogue resource.
    pub fn resource(&self) -> &str {
        &self.spec.resource
    }

    /// The mapping's own version label.
    pub fn version(&self) -> &str {
        &self.spec.version
    }

    /// The format of the provider's answers.
    pub fn response_format(&self) -> Format {
        self.spec.response.format
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
        let key = request::normalise_key(key, schema)?;
        request::build(&self.spec.request, &key)
    }

    /// Builds the native request from a key already checked and normalised by
    /// [`Schema::normalise_key`].
    pub fn native_request_for(
        &self,
        key: &BTreeMap<String, String>,
    ) -> Result<NativeRequest, MapError> {
        request::build(&self.spec.request, key)
    }

    /// Reads the catalogue key back out of a request this mapping built: the
    /// request direction's inverse, for tests and tools. Each key field comes
    /// back as text in its catalogue form.
    pub fn key_from_request(
        &self,
        request: &NativeRequest,
    ) -> Result<Map<String, Value>, MapError> {
        request::read_key(&self.spec.request, request)
    }

    /// Decodes and parses a provider's answer in this mapping's format and
    /// encoding rules.
    pub fn parse_response(&self, response: NativeResponse<'_>) -> Result<Document, MapError> {
        Document::parse(
            self.spec.response.format,
            response.body,
            response.content_type,
            self.spec.response.encoding,
        )
    }

    /// A parsed native document → catalogue record.
    pub fn record_from(&self, doc: &Document, schema: &Schema) -> Result<Record, MapError> {
        response::record(&self.spec.response, &self.spec.items, doc, schema)
    }

    /// Whether the mapping is a listing (`response.rows = true`): its answer
    /// holds zero or more records.
    pub fn is_listing(&self) -> bool {
        self.spec.response.rows
    }

    /// A listing's native response → its rows, each a catalogue record
    /// converted and validated like one record; "not found" is no row.
    pub fn catalogue_rows(
        &self,
        response: NativeResponse<'_>,
        schema: &Schema,
    ) -> Result<Vec<Record>, MapError> {
        let doc = self.parse_response(response)?;
        self.rows_from(&doc, schema)
    }

    /// A listing's parsed native document → its rows.
    pub fn rows_from(&self, doc: &Document, schema: &Schema) -> Result<Vec<Record>, MapError> {
        response::rows(&self.spec.response, &self.spec.items, doc, schema)
    }

    /// Native response → catalogue record, every item converted to and
    /// validated against its catalogue type. Items the mapping does not map are
    /// absent.
    pub fn catalogue_record(
        &self,
        response: NativeResponse<'_>,
        schema: &Schema,
    ) -> Result<Record, MapError> {
        let doc = self.parse_response(response)?;
        self.record_from(&doc, schema)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Field, ItemType};
    use serde_json::json;

    fn field(name: &str, ty: &str, required: bool) -> Field {
        Field {
            name: name.into(),
            ty: ty.parse().unwrap(),
            required,
            codes: if ty == "code" {
                vec!["1".into(), "2".into(), "3".into(), "9".into()]
            } else {
                vec![]
            },
        }
    }

    fn schema() -> Schema {
        Schema {
            resource: "YRD-SCJG-0001".into(),
            key: vec![field("uscc", "uscc", true)],
            items: vec![
                field("name", "text(100)", true),
                field("uscc", "uscc", true),
                field("established_date", "date", false),
                field("registered_capital", "decimal", false),
                field("status", "code", false),
                field("address", "text(300)", false),
                field("term_to", "date", false),
                field("legal_representative", "text(50)", false),
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

    fn map(m: &Mapping, body: &str) -> Result<Record, MapError> {
        m.catalogue_record(
            NativeResponse {
                content_type: Some("application/json"),
                body: body.as_bytes(),
            },
            &schema(),
        )
    }

    fn with_items(items: &str) -> Mapping {
        let text = format!(
            r#"
provider = "js:11320000014000118J:data"
resource = "YRD-SCJG-0001"
version = "t"
[request]
method = "GET"
path = "/x"
query = {{ q = "uscc" }}
[response]
format = "json"
record = "data"
[items]
uscc = {{ path = "id" }}
name = {{ path = "mc" }}
{items}"#
        );
        let m = Mapping::parse("t.toml", &text).unwrap();
        m.check(&schema()).unwrap();
        m
    }

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
        assert_eq!(m.key_from_request(&req).unwrap(), key);
        let body = json!({"code": "0000", "data": {"qymc": " 某某科技有限公司 ", "tyshxydm": "１１330105002500287C",
            "clrq": "20150312", "zczb": "500.00", "djzt": "吊销"}})
        .to_string();
        assert_eq!(
            Value::Object(map(&m, &body).unwrap()),
            json!({"name": "某某科技有限公司", "uscc": "11330105002500287C", "established_date": "2015-03-12",
                   "registered_capital": "500.00", "status": "9"})
        );
    }

    #[test]
    fn provider_envelopes_decide_not_found_and_failure() {
        let m = Mapping::parse("js.toml", JS).unwrap();
        assert_eq!(map(&m, r#"{"code":"4004"}"#), Err(MapError::NotFound));
        assert!(matches!(
            map(&m, r#"{"code":"5000"}"#),
            Err(MapError::ProviderFailure { .. })
        ));
        assert!(matches!(map(&m, "<html>"), Err(MapError::Malformed { .. })));
        assert!(matches!(
            map(&m, r#"{"code":"0000","data":null}"#),
            Err(MapError::NoRecord { .. })
        ));
        assert!(matches!(
            map(&m, r#"{"code":"0000","data":{"qymc":"x"}}"#),
            Err(MapError::MissingItem { .. })
        ));
        let e = map(
            &m,
            r#"{"code":"0000","data":{"qymc":"x","tyshxydm":"11330105002500287C","clrq":"2015-02-30"}}"#,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "catalogue item `established_date` from native path `clrq`: expected date"
        );
    }

    #[test]
    fn numbers_keep_every_digit() {
        let m = with_items("registered_capital = { path = \"zb\" }");
        let r = map(
            &m,
            r#"{"data":{"id":"11330105002500287C","mc":"x","zb":12345678901234567890.10}}"#,
        )
        .unwrap();
        assert_eq!(r["registered_capital"], "12345678901234567890.10");
    }

    #[test]
    fn null_empty_and_absent_are_told_apart() {
        let m = with_items(
            r#"term_to = { path = "qx", null = "null", empty = "error", absent = "omit", nulls = ["长期"] }
legal_representative = { path = "fr", default = "（未登记）", absent = "default", null = "omit" }"#,
        );
        let base = r#""id":"11330105002500287C","mc":"x""#;
        let r = map(&m, &format!(r#"{{"data":{{{base},"qx":null,"fr":null}}}}"#)).unwrap();
        assert_eq!(r.get("term_to"), Some(&Value::Null));
        assert_eq!(r.get("legal_representative"), None);
        let r = map(&m, &format!(r#"{{"data":{{{base},"qx":"长期"}}}}"#)).unwrap();
        assert_eq!(r.get("term_to"), Some(&Value::Null));
        assert_eq!(r["legal_representative"], "（未登记）");
        let r = map(&m, &format!(r#"{{"data":{{{base}}}}}"#)).unwrap();
        assert_eq!(r.get("term_to"), None);
        let e = map(&m, &format!(r#"{{"data":{{{base},"qx":" "}}}}"#)).unwrap_err();
        assert_eq!(
            e,
            MapError::NoValue {
                item: "term_to".into(),
                path: "qx".into(),
                found: "empty"
            }
        );
    }

    #[test]
    fn join_split_and_when() {
        let m = with_items(
            r#"address = { path = ["dz.sheng", "dz.shi", "dz.xq[*]"], join = "" }
established_date = { path = "yyqx", split = ["至", "~"], part = 0 }
term_to = { path = "yyqx", split = ["至", "~"], part = 1, nulls = ["长期"], null = "null" }

[[items.registered_capital]]
when = { path = "bz", in = ["156", "人民币"] }
path = "zb"
unit = "万元"

[[items.status]]
when = { path = "zxbs", equals = "0" }
value = "1"

[[items.status]]
path = "zxyy"
codes = { "迁出" = "2", "死亡" = "3" }
"#,
        );
        let body = r#"{"data":{"id":"11330105002500287C","mc":"x",
            "dz":{"sheng":"江苏省","shi":"南京市","xq":["玄武区","玄武大道699号"]},
            "yyqx":"2017-04-15至长期","bz":"人民币","zb":"1,000.00万元","zxbs":"1","zxyy":"迁出"}}"#;
        let r = map(&m, body).unwrap();
        assert_eq!(r["address"], "江苏省南京市玄武区玄武大道699号");
        assert_eq!(r["established_date"], "2017-04-15");
        assert_eq!(r["term_to"], Value::Null);
        assert_eq!(r["registered_capital"], "1000.00");
        assert_eq!(r["status"], "2");
        let body = r#"{"data":{"id":"11330105002500287C","mc":"x","yyqx":"2017-04-15~2037-04-14",
            "bz":"840","zb":"100","zxbs":"0"}}"#;
        let r = map(&m, body).unwrap();
        assert_eq!(r.get("address"), None);
        assert_eq!(r["term_to"], "2037-04-14");
        assert_eq!(
            r.get("registered_capital"),
            None,
            "foreign currency: not taken"
        );
        assert_eq!(r["status"], "1");
        // An unknown code without a fallback fails, naming item and path only.
        let body = r#"{"data":{"id":"11330105002500287C","mc":"x","zxbs":"1","zxyy":"失踪"}}"#;
        assert_eq!(
            map(&m, body),
            Err(MapError::UnknownCode {
                item: "status".into(),
                path: "zxyy".into()
            })
        );
    }

    #[test]
    fn several_values_for_one_item_are_refused() {
        let m = with_items("address = { path = \"dz\" }");
        let xml = Mapping::parse(
            "x.toml",
            r#"
provider = "ah:113400000029868223:data"
resource = "YRD-SCJG-0001"
version = "1"
[request]
method = "POST"
path = "/ws"
body = { format = "xml", root = "Request", fields = { "Q.@type" = { value = "QY" }, "Q.ID" = "uscc" } }
[response]
format = "xml"
record = "R.QY"
[items]
uscc = { path = "@ID" }
name = { path = "MC" }
"#,
        )
        .unwrap();
        xml.check(&schema()).unwrap();
        let r = xml.catalogue_record(
            NativeResponse {
                content_type: None,
                body: r#"<R><QY ID="11330105002500287C"><MC>a</MC><MC>b</MC></QY></R>"#.as_bytes(),
            },
            &schema(),
        );
        assert!(matches!(r, Err(MapError::Ambiguous { .. })), "{r:?}");
        let r = xml.catalogue_record(
            NativeResponse {
                content_type: None,
                body: r#"<R><QY/><QY/></R>"#.as_bytes(),
            },
            &schema(),
        );
        assert!(matches!(r, Err(MapError::SeveralRecords { .. })), "{r:?}");
        let mut key = Map::new();
        key.insert("uscc".into(), json!("11330105002500287C"));
        let req = xml.native_request(&key, &schema()).unwrap();
        assert_eq!(
            String::from_utf8(req.body.clone()).unwrap(),
            r#"<?xml version="1.0" encoding="UTF-8"?><Request><Q type="QY"><ID>11330105002500287C</ID></Q></Request>"#
        );
        assert_eq!(xml.key_from_request(&req).unwrap(), key);
        assert!(matches!(
            map(
                &m,
                r#"{"data":{"id":"11330105002500287C","mc":"x","dz":{"a":1}}}"#
            ),
            Err(MapError::Invalid { .. })
        ));
    }

    #[test]
    fn xml_in_gb18030_with_namespaces_is_decoded_and_never_mangled() {
        let text = r#"
provider = "ah:113400000029868223:data"
resource = "YRD-SCJG-0001"
version = "1"
[request]
method = "POST"
path = "/ws/qyxx"
headers = { "X-Service" = { value = "QYXX01" } }
body = { format = "xml", root = "q:Request", encoding = "GB18030", namespaces = { q = "urn:ah:qy" }, fields = { "q:Query.q:TYSHXYDM" = "uscc" } }
[response]
format = "xml"
namespaces = { qy = "urn:ah:qy" }
record = "qy:Response.qy:QYXX"
success = { path = "Response.@code", equals = 0 }
[items]
name = { path = "qy:QYMC" }
uscc = { path = "@TYSHXYDM" }
established_date = { path = "CLRQ" }
registered_capital = { path = "ZCZB", unit = "万元", unit_path = "ZCZB.@DW" }
legal_representative = { path = "FDDBR", null = "null" }
"#;
        let m = Mapping::parse("ah.toml", text).unwrap();
        let s = schema();
        m.check(&s).unwrap();
        let mut key = Map::new();
        key.insert("uscc".into(), json!("11330105002500287C"));
        let req = m.native_request(&key, &s).unwrap();
        assert_eq!(req.headers, [("X-Service".to_owned(), "QYXX01".to_owned())]);
        let (decoded, _, bad) = encoding_rs::GB18030.decode(&req.body);
        assert!(!bad);
        assert!(decoded.contains(
            r#"<q:Request xmlns:q="urn:ah:qy"><q:Query><q:TYSHXYDM>11330105002500287C</q:TYSHXYDM></q:Query></q:Request>"#
        ), "{decoded}");
        assert_eq!(m.key_from_request(&req).unwrap(), key);
        // The document's prefix (`a`) is not the mapping's (`qy`): URIs match.
        let doc = r#"<?xml version="1.0" encoding="GB18030"?><a:Response xmlns:a="urn:ah:qy" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" code="0"><a:QYXX TYSHXYDM="11330105002500287C"><a:QYMC>安徽䶮𠮷股份有限公司</a:QYMC><CLRQ>2015年3月12日</CLRQ><ZCZB DW="元">5000000</ZCZB><FDDBR xsi:nil="true"/></a:QYXX></a:Response>"#;
        let (bytes, _, _) = encoding_rs::GB18030.encode(doc);
        let response = |ct: &'static str| NativeResponse {
            content_type: Some(ct),
            body: &bytes,
        };
        let rec = m.catalogue_record(response("text/xml"), &s).unwrap();
        assert_eq!(rec["name"], "安徽䶮𠮷股份有限公司");
        assert_eq!(rec["established_date"], "2015-03-12");
        assert_eq!(rec["registered_capital"], "500");
        assert_eq!(rec["legal_representative"], Value::Null);
        // The same bytes declared as UTF-8 are refused, not replaced.
        assert!(matches!(
            m.catalogue_record(response("text/xml; charset=utf-8"), &s),
            Err(MapError::Encoding { .. })
        ));
        // Another namespace under the same local name is not the record.
        let other = doc.replace("urn:ah:qy", "urn:elsewhere");
        let (bytes, _, _) = encoding_rs::GB18030.encode(&other);
        assert!(matches!(
            m.catalogue_record(
                NativeResponse {
                    content_type: None,
                    body: &bytes
                },
                &s
            ),
            Err(MapError::NoRecord { .. })
        ));
    }

    #[test]
    fn lint_names_the_key_and_line_that_are_wrong() {
        let bad = JS.replace("name = { path = \"qymc\" }", "nmae = { path = \"qymc\" }");
        let m = Mapping::parse("js.toml", &bad).unwrap();
        let findings = m.lint(&schema());
        let errors: Vec<_> = findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .collect();
        assert_eq!(errors.len(), 2, "{findings:?}");
        assert_eq!(errors[0].key, "items.nmae");
        assert_eq!(errors[0].line.0, Some(15));
        assert!(errors[1].problem.contains("required item `name`"));
        let err = m.check(&schema()).unwrap_err().to_string();
        assert!(err.starts_with("js.toml:15: `items.nmae`: "), "{err}");

        let bad = JS.replace("fallback = \"9\"", "fallback = \"7\"");
        let m = Mapping::parse("js.toml", &bad).unwrap();
        assert!(matches!(
            m.check(&schema()),
            Err(MappingError::Invalid { key, .. }) if key == "items.status.codes"
        ));
        for (items, key) in [
            (
                "status = { path = \"a\", unit = \"万元\" }",
                "items.status.unit",
            ),
            ("address = { path = \"a\", default = 1 }", ""),
            (
                "established_date = { path = \"a\", default = \"2024-02-30\" }",
                "items.established_date.default",
            ),
            ("name2 = { path = \"a\" }", "items.name2"),
            ("address = { path = \"list[*].a\" }", "items.address.path"),
            ("status = { value = \"7\" }", "items.status.value"),
            (
                "established_date = { path = \"a\", half_width = true }",
                "items.established_date.half_width",
            ),
        ] {
            let text = JS.replace("[items]\n", &format!("[items]\n{items}\n"));
            let text = if items.starts_with("status") {
                text.replace("status = { path = \"djzt\", codes = { \"存续\" = \"1\", \"注销\" = \"2\" }, fallback = \"9\" }\n", "")
            } else if items.starts_with("established_date") {
                text.replace("established_date = { path = \"clrq\" }\n", "")
            } else {
                text
            };
            let m = Mapping::parse("js.toml", &text).unwrap();
            match m.check(&schema()) {
                Ok(()) => assert!(key.is_empty(), "{items}"),
                Err(MappingError::Invalid { key: k, .. }) => assert_eq!(k, key, "{items}"),
                Err(e) => panic!("{e}"),
            }
        }
        let text = JS.replace(
            "name = { path = \"qymc\" }",
            "name = { path = \"qymc\", absent = \"omit\" }",
        );
        assert!(
            Mapping::parse("js.toml", &text)
                .unwrap()
                .check(&schema())
                .is_err()
        );
    }

    #[test]
    fn files_that_cannot_be_read_say_where() {
        for (text, want) in [
            ("provider = 1", "x.toml:1: "),
            (
                &JS.replace("name = { path = \"qymc\" }", "name = { pth = \"qymc\" }") as &str,
                "x.toml:15: `items.name`: unknown field `pth`",
            ),
            (
                &JS.replace("path = \"qymc\"", "path = \"a.@b\""),
                "x.toml:15: `items.name.path`: `@b` in `a.@b` is an XML attribute",
            ),
            (
                &JS.replace("path = \"qymc\"", "path = [\"a\", \"b\"]"),
                "x.toml:15: `items.name.path`: several paths",
            ),
            (
                &JS.replace("method = \"GET\"", "method = \"PUT\""),
                "x.toml:6: `request.method`",
            ),
            (
                &JS.replace(
                    "status = { path = \"djzt\",",
                    "status = { path = \"djzt\", part = 1,",
                ),
                "x.toml:19: `items.status`: `split` and `part`",
            ),
        ] {
            let err = Mapping::parse("x.toml", text).unwrap_err().to_string();
            assert!(err.starts_with(want), "{err}");
        }
        let rules = JS.replace(
            "status = { path = \"djzt\", codes = { \"存续\" = \"1\", \"注销\" = \"2\" }, fallback = \"9\" }",
            "[[items.status]]\npath = \"a\"\n\n[[items.status]]\npath = \"b\"",
        );
        let err = Mapping::parse("x.toml", &rules).unwrap_err().to_string();
        assert!(
            err.starts_with("x.toml:19: `items.status[0]`: this rule has no `when`"),
            "{err}"
        );
    }

    #[test]
    fn the_hash_is_of_the_file_bytes() {
        let a = Mapping::parse("js.toml", JS).unwrap();
        let b = Mapping::parse("js.toml", &format!("{JS}\n")).unwrap();
        assert_ne!(a.hash(), b.hash());
        assert_eq!(a.hash(), hex(&sha256(JS.as_bytes())));
    }

    #[test]
    fn requests_that_do_not_fit_the_mapping_are_not_read_back() {
        let m = Mapping::parse("js.toml", JS).unwrap();
        let request = |path_and_query: &str| NativeRequest {
            method: "GET",
            path_and_query: path_and_query.to_owned(),
            headers: vec![],
            content_type: None,
            body: vec![],
        };
        for bad in [
            "/api/v1/qydj/x",
            "/api/v2/qydj/%FF",
            "/api/v2/qydj/11330105002500287C?fmt=91320100MA1MXX4B2Y",
        ] {
            assert!(
                matches!(
                    m.key_from_request(&request(bad)),
                    Err(MapError::Malformed {
                        format: "request",
                        ..
                    })
                ),
                "{bad}"
            );
        }
        let key = m
            .key_from_request(&request(
                "/api/v2/qydj/11330105002500287C?x=1&fmt=11330105002500287C",
            ))
            .unwrap();
        assert_eq!(key["uscc"], "11330105002500287C");
    }

    #[test]
    fn key_types_are_checked_before_any_request() {
        let m = Mapping::parse("js.toml", JS).unwrap();
        let s = schema();
        for key in [
            json!({}),
            json!({"uscc": 1}),
            json!({"uscc": "x"}),
            json!({"other": "x"}),
        ] {
            let key = key.as_object().unwrap().clone();
            assert!(m.native_request(&key, &s).is_err(), "{key:?}");
        }
        let _ = ItemType::Code;
    }
}
