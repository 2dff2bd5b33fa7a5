//! The native document: what a provider's JSON or XML answer is read into
//! before any item is selected. One tree shape serves both formats, so one path
//! language selects in both (see [`crate::path`]).
//!
//! The tree keeps what a mapping must be able to tell apart and what a generic
//! JSON value would lose:
//!
//! - JSON numbers exactly as written (`12345678901234567890.10` keeps every
//!   digit; no float is ever made from a native number);
//! - a JSON `null`, an empty string or element, and a missing member;
//! - XML elements with their namespace URI, attributes, text and repeated
//!   children in document order, and `xsi:nil="true"` as a null.

use encoding_rs::Encoding;

use crate::error::MapError;
use crate::{json, xml};

/// Deepest nesting accepted in a native document (JSON arrays and objects, XML
/// elements).
pub const MAX_DEPTH: usize = 64;
/// Most values (JSON) or elements and attributes (XML) accepted in one document.
pub const MAX_NODES: usize = 100_000;

/// A native document format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// JSON (RFC 8259).
    Json,
    /// XML 1.0 with namespaces.
    Xml,
}

impl Format {
    /// `json` or `xml`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Xml => "xml",
        }
    }
}

/// One value of a native document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    /// JSON `null`.
    Null,
    /// JSON `true` / `false`.
    Bool(bool),
    /// A JSON number, exactly as written.
    Number(Box<str>),
    /// A JSON string.
    Str(Box<str>),
    /// A JSON array.
    Array(Vec<Node>),
    /// A JSON object, members in document order; names are unique.
    Object(Vec<(Box<str>, Node)>),
    /// An XML element.
    Element(Box<Element>),
}

/// An XML element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Element {
    /// Index of its namespace URI in [`Document::namespaces`], if it has one.
    pub ns: Option<u32>,
    /// Local name, without prefix.
    pub local: Box<str>,
    /// Attributes (namespace declarations excluded), in document order.
    pub attrs: Vec<Attr>,
    /// Child elements (each a [`Node::Element`]), in document order.
    pub children: Vec<Node>,
    /// The element's own text (character data and CDATA between its tags,
    /// outside child elements), trimmed.
    pub text: Box<str>,
    /// `xsi:nil="true"`: the element stands for a null.
    pub nil: bool,
}

/// An XML attribute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attr {
    /// Index of its namespace URI, for a prefixed attribute.
    pub ns: Option<u32>,
    /// Local name.
    pub local: Box<str>,
    /// The value, entities resolved.
    pub value: Box<str>,
}

/// A parsed native document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Document {
    /// The top of the tree. For XML, an unnamed element whose one child is the
    /// document element, so that paths start with the document element's name.
    pub root: Node,
    /// Namespace URIs met in an XML document, indexed by [`Element::ns`].
    pub namespaces: Vec<Box<str>>,
}

impl Document {
    /// Parses `text` (already decoded) as `format`.
    pub fn parse_text(format: Format, text: &str) -> Result<Document, MapError> {
        match format {
            Format::Json => Ok(Document {
                root: json::parse(text)?,
                namespaces: Vec::new(),
            }),
            Format::Xml => xml::parse(text),
        }
    }

    /// Decodes `body` (see [`decode_text`]) and parses it as `format`.
    pub fn parse(
        format: Format,
        body: &[u8],
        content_type: Option<&str>,
        declared: Option<&'static Encoding>,
    ) -> Result<Document, MapError> {
        let text = decode_text(body, content_type, format, declared)?;
        Document::parse_text(format, &text)
    }

    /// The index of a namespace URI, if the document uses it.
    pub fn namespace(&self, uri: &str) -> Option<u32> {
        self.namespaces
            .iter()
            .position(|n| &**n == uri)
            .and_then(|i| u32::try_from(i).ok())
    }
}

impl Node {
    /// The value as one piece of text, if it is a scalar: strings as they are,
    /// numbers exactly as written, booleans as `true`/`false`, an XML element
    /// without child elements as its text. `None` for null, arrays, objects and
    /// elements with children.
    pub fn scalar_text(&self) -> Option<&str> {
        match self {
            Node::Str(s) | Node::Number(s) => Some(s),
            Node::Bool(true) => Some("true"),
            Node::Bool(false) => Some("false"),
            Node::Element(e) if !e.nil && e.children.is_empty() => Some(&e.text),
            _ => None,
        }
    }

    /// Whether the value stands for "no value": JSON `null` or `xsi:nil`.
    pub fn is_null(&self) -> bool {
        match self {
            Node::Null => true,
            Node::Element(e) => e.nil,
            _ => false,
        }
    }
}

/// Decodes a native body to text: the mapping's declared encoding, else the
/// `charset` of the content type, else (XML) the document's declaration, else
/// UTF-8 (a UTF-8 byte-order mark is dropped). Malformed bytes are an error,
/// never replaced.
pub fn decode_text(
    body: &[u8],
    content_type: Option<&str>,
    format: Format,
    declared: Option<&'static Encoding>,
) -> Result<String, MapError> {
    let from_header = content_type
        .and_then(charset_of)
        .and_then(|l| Encoding::for_label(l.as_bytes()));
    let from_document = match format {
        Format::Xml => xml::declared_encoding(body).and_then(|l| Encoding::for_label(l.as_bytes())),
        Format::Json => None,
    };
    let encoding = declared
        .or(from_header)
        .or(from_document)
        .unwrap_or(encoding_rs::UTF_8);
    let body = match encoding == encoding_rs::UTF_8 {
        true => body.strip_prefix(b"\xef\xbb\xbf").unwrap_or(body),
        false => body,
    };
    encoding
        .decode_without_bom_handling_and_without_replacement(body)
        .map(|s| s.into_owned())
        .ok_or(MapError::Encoding {
            encoding: encoding.name(),
        })
}

/// The `charset` parameter of a media type.
pub fn charset_of(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches('"'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding_follows_mapping_then_header_then_declaration() {
        let (gb, _, _) = encoding_rs::GB18030
            .encode("<?xml version=\"1.0\" encoding=\"GB18030\"?><a>王䶮𠮷</a>");
        let text = decode_text(&gb, None, Format::Xml, None).unwrap();
        assert!(text.contains("王䶮𠮷"));
        // The header wins over the declaration: these bytes are not UTF-8.
        assert!(matches!(
            decode_text(&gb, Some("text/xml; charset=utf-8"), Format::Xml, None),
            Err(MapError::Encoding { encoding: "UTF-8" })
        ));
        // The mapping wins over the header.
        let text = decode_text(
            &gb,
            Some("text/xml; charset=utf-8"),
            Format::Xml,
            Some(encoding_rs::GB18030),
        )
        .unwrap();
        assert!(text.contains("𠮷"));
        // JSON in GBK, declared by the header.
        let (gbk, _, _) = encoding_rs::GBK.encode(r#"{"xm":"张三"}"#);
        let text = decode_text(
            &gbk,
            Some("application/json;charset=GBK"),
            Format::Json,
            None,
        )
        .unwrap();
        assert_eq!(text, r#"{"xm":"张三"}"#);
        // A BOM before UTF-8 is dropped.
        assert_eq!(
            decode_text(b"\xef\xbb\xbf{}", None, Format::Json, None).unwrap(),
            "{}"
        );
    }

    #[test]
    fn malformed_gb18030_is_refused_not_replaced() {
        // 0x81 opens a two- or four-byte sequence; 0x20 cannot continue it.
        let bad = b"<?xml version=\"1.0\" encoding=\"GB18030\"?><a>\x81\x20</a>";
        assert!(matches!(
            decode_text(bad, None, Format::Xml, None),
            Err(MapError::Encoding { .. })
        ));
        assert_eq!(charset_of("text/xml; Charset=\"GBK\""), Some("GBK"));
        assert_eq!(charset_of("text/xml"), None);
    }
}
