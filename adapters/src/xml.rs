//! XML in and out. A native XML document is read into [`Element`]s that keep
//! each element's and attribute's namespace URI (not its prefix: a provider's
//! prefixes may change between releases, the URIs do not), attributes, text and
//! repeated children in document order. `xsi:nil="true"` marks a null.
//!
//! Refused: DOCTYPE (and so every entity but the five predefined ones),
//! undeclared prefixes, mismatched tags, content outside the document element,
//! nesting deeper than [`MAX_DEPTH`], more than [`MAX_NODES`] elements and
//! attributes. Errors give a byte position, never content.

use std::collections::HashMap;

use quick_xml::NsReader;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;

use crate::doc::{Attr, Document, Element, MAX_DEPTH, MAX_NODES, Node};
use crate::error::MapError;

/// The XML Schema instance namespace, home of `xsi:nil`.
pub const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

fn malformed(reason: impl Into<String>) -> MapError {
    MapError::Malformed {
        format: "xml",
        reason: reason.into(),
    }
}

struct Reader<'a> {
    ns: NsReader<&'a [u8]>,
    names: Namespaces,
    nodes: usize,
}

/// Namespace URIs met so far, each stored once.
#[derive(Default)]
struct Namespaces {
    list: Vec<Box<str>>,
    index: HashMap<Box<str>, u32>,
}

impl Namespaces {
    fn intern(&mut self, uri: &[u8]) -> Result<u32, MapError> {
        let uri = std::str::from_utf8(uri).map_err(|_| malformed("namespace URI is not UTF-8"))?;
        if let Some(&i) = self.index.get(uri) {
            return Ok(i);
        }
        let i = u32::try_from(self.list.len()).map_err(|_| malformed("too many namespaces"))?;
        self.list.push(uri.into());
        self.index.insert(uri.into(), i);
        Ok(i)
    }
}

/// Parses an XML document (already decoded to UTF-8).
pub fn parse(text: &str) -> Result<Document, MapError> {
    let mut r = Reader {
        ns: NsReader::from_str(text),
        names: Namespaces::default(),
        nodes: 0,
    };
    r.ns.config_mut().trim_text(false);
    // Each open element with its text so far (trimmed when it closes).
    let mut stack: Vec<(Element, String)> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let position = r.ns.buffer_position();
        let (resolved, event) = match r.ns.read_resolved_event() {
            Ok(read) => read,
            Err(e) => {
                return Err(malformed(format!(
                    "after byte {position}: {}",
                    describe(&e)
                )));
            }
        };
        let element_ns = match resolved {
            ResolveResult::Bound(ns) => Some(r.names.intern(ns.into_inner())?),
            ResolveResult::Unbound => None,
            ResolveResult::Unknown(_) => {
                return Err(malformed(format!("at byte {position}: undeclared prefix")));
            }
        };
        match event {
            Event::Start(start) | Event::Empty(start) if root.is_some() => {
                let _ = start;
                return Err(malformed(format!(
                    "at byte {position}: content after the document element"
                )));
            }
            Event::Start(start) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(malformed(format!(
                        "nested deeper than {MAX_DEPTH} elements"
                    )));
                }
                let element = r.open(&start, element_ns)?;
                stack.push((element, String::new()));
            }
            Event::Empty(start) => {
                let element = r.open(&start, element_ns)?;
                close((element, String::new()), &mut stack, &mut root);
            }
            Event::End(_) => {
                let element = stack
                    .pop()
                    .ok_or_else(|| malformed(format!("at byte {position}: unbalanced end tag")))?;
                close(element, &mut stack, &mut root);
            }
            Event::Text(t) => {
                let s = t
                    .xml_content()
                    .map_err(|_| malformed("text is not valid in its encoding"))?;
                match stack.last_mut() {
                    Some((_, text)) => text.push_str(&s),
                    None if s.trim().is_empty() => {}
                    None => {
                        return Err(malformed(format!(
                            "at byte {position}: text outside the document element"
                        )));
                    }
                }
            }
            Event::CData(c) => {
                let s = c
                    .decode()
                    .map_err(|_| malformed("CDATA is not valid in its encoding"))?;
                let (_, text) = stack.last_mut().ok_or_else(|| {
                    malformed(format!(
                        "at byte {position}: CDATA outside the document element"
                    ))
                })?;
                text.push_str(&s);
            }
            Event::GeneralRef(reference) => {
                let (_, text) = stack.last_mut().ok_or_else(|| {
                    malformed(format!(
                        "at byte {position}: reference outside the document element"
                    ))
                })?;
                let ch = match reference
                    .resolve_char_ref()
                    .map_err(|_| malformed("bad character reference"))?
                {
                    Some(c) => c,
                    None => match reference
                        .decode()
                        .map_err(|_| malformed("bad entity reference"))?
                        .as_ref()
                    {
                        "lt" => '<',
                        "gt" => '>',
                        "amp" => '&',
                        "apos" => '\'',
                        "quot" => '"',
                        _ => {
                            return Err(malformed(format!(
                                "at byte {position}: undeclared entity"
                            )));
                        }
                    },
                };
                text.push(ch);
            }
            Event::DocType(_) => return Err(malformed("DOCTYPE is not accepted")),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(malformed("document ends inside an element"));
    }
    let root = root.ok_or_else(|| malformed("no document element"))?;
    Ok(Document {
        root: Node::Element(Box::new(Element {
            ns: None,
            local: "".into(),
            attrs: Vec::new(),
            children: vec![Node::Element(Box::new(root))],
            text: "".into(),
            nil: false,
        })),
        namespaces: r.names.list,
    })
}

impl Reader<'_> {
    fn count(&mut self) -> Result<(), MapError> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(malformed(format!(
                "more than {MAX_NODES} elements and attributes"
            )));
        }
        Ok(())
    }

    fn open(&mut self, start: &BytesStart<'_>, ns: Option<u32>) -> Result<Element, MapError> {
        self.count()?;
        let local = name_text(start.local_name().into_inner())?;
        let mut attrs = Vec::new();
        let mut nil = false;
        for attr in start.attributes() {
            let attr = attr.map_err(|_| malformed("malformed attribute"))?;
            let key = attr.key.as_ref();
            // Namespace declarations are not data.
            if key == b"xmlns" || key.starts_with(b"xmlns:") {
                continue;
            }
            self.count()?;
            let (resolved, local_name) = self.ns.resolve_attribute(attr.key);
            let (ns, xsi) = match resolved {
                ResolveResult::Bound(uri) => (
                    Some(self.names.intern(uri.into_inner())?),
                    uri.into_inner() == XSI.as_bytes(),
                ),
                ResolveResult::Unbound => (None, false),
                ResolveResult::Unknown(_) => return Err(malformed("undeclared attribute prefix")),
            };
            let local = name_text(local_name.into_inner())?;
            let value = attr
                .unescape_value()
                .map_err(|_| malformed("bad reference in an attribute value"))?;
            if xsi && &*local == "nil" && matches!(value.trim(), "true" | "1") {
                nil = true;
            }
            attrs.push(Attr {
                ns,
                local,
                value: value.into_owned().into_boxed_str(),
            });
        }
        Ok(Element {
            ns,
            local,
            attrs,
            children: Vec::new(),
            text: "".into(),
            nil,
        })
    }
}

/// What went wrong, without quoting the document: quick-xml's messages name
/// elements and entities, and a hostile provider chooses those.
fn describe(e: &quick_xml::Error) -> String {
    use quick_xml::Error;
    match e {
        // Syntax errors say what construct is unclosed or malformed, nothing more.
        Error::Syntax(s) => s.to_string(),
        Error::IllFormed(_) => "tags do not nest properly".into(),
        Error::InvalidAttr(_) => "malformed attribute".into(),
        Error::Encoding(_) => "not valid in its encoding".into(),
        Error::Escape(_) => "bad character or entity reference".into(),
        Error::Namespace(_) => "bad namespace declaration".into(),
        _ => "malformed".into(),
    }
}

fn name_text(name: &[u8]) -> Result<Box<str>, MapError> {
    std::str::from_utf8(name)
        .map(Into::into)
        .map_err(|_| malformed("element or attribute name is not UTF-8"))
}

fn close(
    (mut element, text): (Element, String),
    stack: &mut [(Element, String)],
    root: &mut Option<Element>,
) {
    element.text = text.trim().into();
    match stack.last_mut() {
        Some((parent, _)) => parent.children.push(Node::Element(Box::new(element))),
        None => *root = Some(element),
    }
}

/// Escapes text for element content and attribute values.
pub fn escape(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}

/// Reads the `encoding` of an XML declaration, if the document starts with one.
pub fn declared_encoding(bytes: &[u8]) -> Option<String> {
    let head = bytes.get(..bytes.len().min(200))?;
    let head = String::from_utf8_lossy(head);
    let decl = head.strip_prefix('\u{feff}').unwrap_or(&head);
    let decl = decl.strip_prefix("<?xml")?;
    let end = decl.find("?>")?;
    let decl = decl.get(..end)?;
    let at = decl.find("encoding")?;
    let rest = decl
        .get(at + "encoding".len()..)?
        .trim_start()
        .strip_prefix('=')?
        .trim_start();
    let quote = rest.chars().next()?;
    if quote != '"' && quote != '\'' {
        return None;
    }
    let rest = rest.get(1..)?;
    let close = rest.find(quote)?;
    rest.get(..close).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn element(node: &Node) -> &Element {
        match node {
            Node::Element(e) => e,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn elements_attributes_namespaces_and_repeats_become_a_tree() {
        let doc = parse(
            r#"<?xml version="1.0"?>
            <ns:Response xmlns:ns="urn:x" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" code="0">
              <QYXX TYSHXYDM="91320100MA1XXXXX0X"><QYMC>某某&amp;公司&#x4E00;</QYMC></QYXX>
              <Item>1</Item><Item><![CDATA[<2>]]></Item>
              <Empty/>
              <Nil xsi:nil="true"/>
            </ns:Response>"#,
        )
        .unwrap();
        assert_eq!(doc.namespaces.len(), 2);
        let top = element(&doc.root);
        let response = element(top.children.first().unwrap());
        assert_eq!(&*response.local, "Response");
        assert_eq!(response.ns, Some(0));
        assert_eq!(&*doc.namespaces[0], "urn:x");
        assert_eq!(response.attrs.len(), 1);
        assert_eq!(&*response.attrs[0].value, "0");
        let kids: Vec<&Element> = response.children.iter().map(element).collect();
        assert_eq!(kids.len(), 5);
        assert_eq!(kids[0].ns, None);
        assert_eq!(&*element(&kids[0].children[0]).text, "某某&公司一");
        assert_eq!(&*kids[2].text, "<2>");
        assert_eq!(&*kids[3].text, "");
        assert!(!kids[3].nil);
        assert!(kids[4].nil);
    }

    #[test]
    fn hostile_documents_are_refused() {
        let deep = "<a>".repeat(MAX_DEPTH + 1);
        for bad in [
            deep.as_str(),
            "<!DOCTYPE x [<!ENTITY e 'boom'>]><x>&e;</x>",
            "<a><b></a>",
            "<a/><b/>",
            "text",
            "",
            "<a>&unknown;</a>",
            "<p:a/>",
            "<a p:b=\"1\"/>",
            "<a x=\"1\" x=\"2\"/>",
            "<a>",
            "</a>",
        ] {
            assert!(
                matches!(parse(bad), Err(MapError::Malformed { format: "xml", .. })),
                "{bad}"
            );
        }
        let wide = format!("<a>{}</a>", "<b/>".repeat(MAX_NODES));
        assert!(parse(&wide).is_err());
        // Messages never quote the document.
        for bad in [
            "<secret-name></other-name>",
            "<a>&secret;</a>",
            "<a x=secret/>",
        ] {
            let Err(MapError::Malformed { reason, .. }) = parse(bad) else {
                panic!("{bad}")
            };
            assert!(!reason.contains("secret"), "{reason}");
        }
    }

    #[test]
    fn reads_the_declared_encoding() {
        assert_eq!(
            declared_encoding(br#"<?xml version="1.0" encoding="GB18030"?><a/>"#).as_deref(),
            Some("GB18030")
        );
        assert_eq!(
            declared_encoding(b"<?xml version='1.0' encoding='gbk'?><a/>").as_deref(),
            Some("gbk")
        );
        assert_eq!(declared_encoding(b"<a/>"), None);
    }
}
