//! XML in and out. A native XML document is read into the same tree shape as JSON:
//! an element becomes an object of its attributes (`@name`), its child elements
//! (repeated children become an array) and its text (`#text`); an element with only
//! text becomes that string. Namespace prefixes are dropped: providers' prefixes
//! vary between releases, their local names do not.

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use serde_json::{Map, Value};

use crate::error::MapError;

/// Deepest element nesting accepted.
pub const MAX_DEPTH: usize = 64;
/// Most elements and attributes accepted in one document.
pub const MAX_NODES: usize = 100_000;

fn malformed(reason: impl Into<String>) -> MapError {
    MapError::Malformed {
        format: "xml",
        reason: reason.into(),
    }
}

struct Frame {
    name: String,
    map: Map<String, Value>,
    text: String,
}

/// Parses an XML document (already decoded to UTF-8) into a tree whose root is an
/// object holding the root element under its name.
pub fn parse(text: &str) -> Result<Value, MapError> {
    let mut reader = Reader::from_str(text);
    reader.config_mut().trim_text(false);
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Value> = None;
    let mut nodes = 0usize;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| malformed(format!("at byte {}: {e}", reader.error_position())))?;
        match event {
            Event::Start(start) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(malformed(format!(
                        "nested deeper than {MAX_DEPTH} elements"
                    )));
                }
                if root.is_some() {
                    return Err(malformed("content after the root element"));
                }
                stack.push(open(&start, &mut nodes)?);
            }
            Event::Empty(start) => {
                if root.is_some() {
                    return Err(malformed("content after the root element"));
                }
                let frame = open(&start, &mut nodes)?;
                close(frame, &mut stack, &mut root)?;
            }
            Event::End(_) => {
                let frame = stack.pop().ok_or_else(|| malformed("unbalanced end tag"))?;
                close(frame, &mut stack, &mut root)?;
            }
            Event::Text(t) => {
                let s = t.xml_content().map_err(|e| malformed(e.to_string()))?;
                match stack.last_mut() {
                    Some(frame) => frame.text.push_str(&s),
                    None if s.trim().is_empty() => {}
                    None => return Err(malformed("text outside the root element")),
                }
            }
            Event::CData(c) => {
                let s = c.decode().map_err(|e| malformed(e.to_string()))?;
                let frame = stack
                    .last_mut()
                    .ok_or_else(|| malformed("CDATA outside the root element"))?;
                frame.text.push_str(&s);
            }
            Event::GeneralRef(r) => {
                let frame = stack
                    .last_mut()
                    .ok_or_else(|| malformed("reference outside the root element"))?;
                let ch = match r.resolve_char_ref().map_err(|e| malformed(e.to_string()))? {
                    Some(c) => c,
                    None => match r.decode().map_err(|e| malformed(e.to_string()))?.as_ref() {
                        "lt" => '<',
                        "gt" => '>',
                        "amp" => '&',
                        "apos" => '\'',
                        "quot" => '"',
                        other => {
                            return Err(malformed(format!(
                                "undeclared entity `&{};`",
                                other.chars().take(32).collect::<String>()
                            )));
                        }
                    },
                };
                frame.text.push(ch);
            }
            Event::DocType(_) => return Err(malformed("DOCTYPE is not accepted")),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(malformed("document ends inside an element"));
    }
    root.ok_or_else(|| malformed("no root element"))
}

fn local(name: &[u8]) -> Result<String, MapError> {
    let local = match name.iter().rposition(|&b| b == b':') {
        Some(i) => name.get(i + 1..).unwrap_or_default(),
        None => name,
    };
    std::str::from_utf8(local)
        .map(str::to_owned)
        .map_err(|_| malformed("element or attribute name is not UTF-8"))
}

fn open(start: &BytesStart<'_>, nodes: &mut usize) -> Result<Frame, MapError> {
    *nodes += 1;
    let name = local(start.name().as_ref())?;
    let mut map = Map::new();
    for attr in start.attributes() {
        let attr = attr.map_err(|e| malformed(e.to_string()))?;
        let key = attr.key.as_ref();
        // Namespace declarations are not data.
        if key == b"xmlns" || key.starts_with(b"xmlns:") {
            continue;
        }
        *nodes += 1;
        if *nodes > MAX_NODES {
            return Err(malformed(format!(
                "more than {MAX_NODES} elements and attributes"
            )));
        }
        let value = attr
            .unescape_value()
            .map_err(|e| malformed(e.to_string()))?;
        map.insert(
            format!("@{}", local(key)?),
            Value::String(value.into_owned()),
        );
    }
    if *nodes > MAX_NODES {
        return Err(malformed(format!(
            "more than {MAX_NODES} elements and attributes"
        )));
    }
    Ok(Frame {
        name,
        map,
        text: String::new(),
    })
}

fn close(frame: Frame, stack: &mut [Frame], root: &mut Option<Value>) -> Result<(), MapError> {
    let Frame {
        name,
        mut map,
        text,
    } = frame;
    let value = if map.is_empty() {
        Value::String(text.trim().to_owned())
    } else {
        if !text.trim().is_empty() {
            map.insert("#text".to_owned(), Value::String(text.trim().to_owned()));
        }
        Value::Object(map)
    };
    match stack.last_mut() {
        Some(parent) => {
            match parent.map.get_mut(&name) {
                Some(Value::Array(items)) => items.push(value),
                Some(existing) => {
                    let first = existing.take();
                    *existing = Value::Array(vec![first, value]);
                }
                None => {
                    parent.map.insert(name, value);
                }
            }
            Ok(())
        }
        None => {
            let mut top = Map::new();
            top.insert(name, value);
            *root = Some(Value::Object(top));
            Ok(())
        }
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
    use serde_json::json;

    #[test]
    fn elements_attributes_and_repeats_become_a_tree() {
        let doc = r#"<?xml version="1.0"?>
            <ns:Response xmlns:ns="urn:x" code="0">
              <QYXX TYSHXYDM="91320100MA1XXXXX0X"><QYMC>某某&amp;公司</QYMC></QYXX>
              <Item>1</Item><Item>2</Item>
              <Empty/>
            </ns:Response>"#;
        let v = parse(doc).unwrap();
        assert_eq!(
            v,
            json!({"Response": {
                "@code": "0",
                "QYXX": {"@TYSHXYDM": "91320100MA1XXXXX0X", "QYMC": "某某&公司"},
                "Item": ["1", "2"],
                "Empty": ""
            }})
        );
    }

    #[test]
    fn hostile_documents_are_refused() {
        let deep = "<a>".repeat(MAX_DEPTH + 1);
        assert!(parse(&deep).is_err());
        assert!(parse("<!DOCTYPE x [<!ENTITY e 'boom'>]><x>&e;</x>").is_err());
        assert!(parse("<a><b></a>").is_err());
        assert!(parse("<a/><b/>").is_err());
        assert!(parse("text").is_err());
        assert!(parse("").is_err());
        assert!(parse("<a>&unknown;</a>").is_err());
    }

    #[test]
    fn reads_the_declared_encoding() {
        assert_eq!(
            declared_encoding(br#"<?xml version="1.0" encoding="GB18030"?><a/>"#).as_deref(),
            Some("GB18030")
        );
        assert_eq!(declared_encoding(b"<a/>"), None);
    }
}
