//! A small, bounded XML reader for bills: an element tree whose every node keeps
//! the byte range it occupies in the received file, so signed content is sliced
//! from the original bytes and never re-serialised.
//!
//! Hostile input is refused before it costs anything: the size is bounded, the
//! file must be UTF-8 (the declaration may say nothing else), a DOCTYPE (and with
//! it every entity declaration) is refused, entity references other than the five
//! predefined ones and character references are refused, and element count and
//! depth are bounded.

use std::ops::Range;

use quick_xml::events::{BytesStart, Event};

use super::BillError;

/// The largest bill file read, in bytes. A bill with thousands of item lines is
/// well under a megabyte.
pub const MAX_BILL_LEN: usize = 8 * 1024 * 1024;
/// Elements per bill.
const MAX_ELEMENTS: usize = 100_000;
/// Nesting depth; bills nest about six deep.
const MAX_DEPTH: usize = 32;

/// One element.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Node {
    /// Local name, as written.
    pub name: String,
    /// Attributes by local name, values unescaped.
    pub attrs: Vec<(String, String)>,
    /// Text directly inside the element, unescaped and trimmed.
    pub text: String,
    /// `<Name …>` to the end of `</Name>` (or the whole empty element) in the input.
    pub span: Range<usize>,
    /// Child elements in order.
    pub children: Vec<Node>,
}

impl Node {
    /// Parses `bytes` into its root element.
    pub fn parse(bytes: &[u8]) -> Result<Node, BillError> {
        if bytes.len() > MAX_BILL_LEN {
            return Err(BillError::TooLarge {
                len: bytes.len(),
                max: MAX_BILL_LEN,
            });
        }
        if let Err(e) = std::str::from_utf8(bytes) {
            return Err(BillError::Encoding(format!(
                "not UTF-8 at byte {}",
                e.valid_up_to()
            )));
        }
        let mut reader = quick_xml::Reader::from_reader(bytes);
        reader.config_mut().check_end_names = true;
        let err = |position: u64, reason: String| BillError::Xml { position, reason };
        // The stack's bottom is a synthetic document node.
        let mut stack: Vec<Node> = vec![Node::default()];
        let mut count = 0usize;
        loop {
            let before = reader.buffer_position();
            let event = reader
                .read_event()
                .map_err(|e| err(before, e.to_string()))?;
            let after = reader.buffer_position();
            let start = usize::try_from(before).unwrap_or(usize::MAX);
            let end = usize::try_from(after).unwrap_or(usize::MAX);
            match event {
                Event::Decl(d) => {
                    if let Some(enc) = d.encoding() {
                        let enc = enc.map_err(|e| err(before, e.to_string()))?;
                        let name = String::from_utf8_lossy(&enc).to_ascii_lowercase();
                        if name != "utf-8" && name != "utf8" {
                            return Err(BillError::Encoding(format!(
                                "the declaration names encoding `{}`; bills are read as UTF-8 only",
                                name.chars().take(32).collect::<String>()
                            )));
                        }
                    }
                }
                Event::DocType(_) => {
                    return Err(err(
                        before,
                        "a DOCTYPE is not allowed in a bill (no entity declarations)".into(),
                    ));
                }
                Event::Start(e) | Event::Empty(e)
                    if stack.len() > MAX_DEPTH || count >= MAX_ELEMENTS =>
                {
                    let _ = e;
                    return Err(err(before, "too many or too deeply nested elements".into()));
                }
                Event::Start(e) => {
                    count = count.saturating_add(1);
                    let mut node = element(&e).map_err(|r| err(before, r))?;
                    node.span = start..start;
                    stack.push(node);
                }
                Event::Empty(e) => {
                    count = count.saturating_add(1);
                    let mut node = element(&e).map_err(|r| err(before, r))?;
                    node.span = start..end;
                    if stack.len() == 1 && !top(&stack).children.is_empty() {
                        return Err(err(before, "more than one root element".into()));
                    }
                    push_child(&mut stack, node);
                }
                Event::End(_) => {
                    let mut done = stack
                        .pop()
                        .ok_or_else(|| err(before, "unbalanced end tag".into()))?;
                    if stack.is_empty() {
                        return Err(err(before, "unbalanced end tag".into()));
                    }
                    done.span.end = end;
                    done.text = done.text.trim().to_owned();
                    if stack.len() == 1 && !top(&stack).children.is_empty() {
                        return Err(err(before, "more than one root element".into()));
                    }
                    push_child(&mut stack, done);
                }
                Event::Text(t) => {
                    let text = t.decode().map_err(|e| err(before, e.to_string()))?;
                    if stack.len() == 1 {
                        if !text.trim().is_empty() {
                            return Err(err(before, "text outside the root element".into()));
                        }
                    } else if let Some(node) = stack.last_mut() {
                        node.text.push_str(&text);
                    }
                }
                Event::CData(t) => {
                    let text = t.decode().map_err(|e| err(before, e.to_string()))?;
                    if let Some(node) = stack.last_mut() {
                        node.text.push_str(&text);
                    }
                }
                Event::GeneralRef(r) => {
                    let name = r.decode().map_err(|e| err(before, e.to_string()))?;
                    let c = reference(&name).ok_or_else(|| {
                        err(
                            before,
                            format!(
                                "entity `&{};` is not one of the predefined ones",
                                name.chars().take(32).collect::<String>()
                            ),
                        )
                    })?;
                    if let Some(node) = stack.last_mut() {
                        node.text.push(c);
                    }
                }
                Event::Eof => break,
                Event::Comment(_) | Event::PI(_) => {}
            }
        }
        let mut doc = match (stack.pop(), stack.is_empty()) {
            (Some(doc), true) => doc,
            _ => {
                return Err(err(
                    reader.buffer_position(),
                    "unclosed element at the end of the file".into(),
                ));
            }
        };
        match doc.children.pop() {
            Some(root) if doc.children.is_empty() => Ok(root),
            _ => Err(err(0, "no root element".into())),
        }
    }

    /// The only direct child called `name`; `Ok(None)` if there is none, an error
    /// if there are several (a bill never repeats the elements read from it).
    pub fn child(&self, name: &str) -> Result<Option<&Node>, BillError> {
        let mut found = self.children.iter().filter(|c| c.name == name);
        let first = found.next();
        if found.next().is_some() {
            return Err(BillError::Duplicate {
                element: format!("{}/{}", self.name, name),
            });
        }
        Ok(first)
    }

    /// The only direct child called `name`, which must be there.
    pub fn need(&self, name: &str) -> Result<&Node, BillError> {
        self.child(name)?.ok_or_else(|| BillError::Missing {
            element: format!("{}/{}", self.name, name),
        })
    }

    /// The text of the only child called `name`, which must be there and not empty.
    pub fn text_of(&self, name: &str) -> Result<&str, BillError> {
        let node = self.need(name)?;
        if node.text.is_empty() {
            return Err(BillError::Missing {
                element: format!("{}/{}", self.name, name),
            });
        }
        Ok(&node.text)
    }

    /// The text of the only child called `name`, if present and not empty.
    pub fn opt_text(&self, name: &str) -> Result<Option<&str>, BillError> {
        Ok(self
            .child(name)?
            .map(|n| n.text.as_str())
            .filter(|t| !t.is_empty()))
    }

    /// Every descendant called `name`, in document order.
    pub fn descendants(&self, name: &str) -> Vec<&Node> {
        let mut out = Vec::new();
        let mut todo: Vec<&Node> = self.children.iter().rev().collect();
        while let Some(n) = todo.pop() {
            if n.name == name {
                out.push(n);
            }
            todo.extend(n.children.iter().rev());
        }
        out
    }

    /// An attribute by local name.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn top(stack: &[Node]) -> &Node {
    // The synthetic document node is always at the bottom.
    static EMPTY: Node = Node {
        name: String::new(),
        attrs: Vec::new(),
        text: String::new(),
        span: 0..0,
        children: Vec::new(),
    };
    stack.first().unwrap_or(&EMPTY)
}

fn push_child(stack: &mut [Node], node: Node) {
    if let Some(parent) = stack.last_mut() {
        parent.children.push(node);
    }
}

fn element(e: &BytesStart<'_>) -> Result<Node, String> {
    let name = std::str::from_utf8(e.local_name().as_ref())
        .map_err(|err| err.to_string())?
        .to_owned();
    Ok(Node {
        name,
        attrs: crate::ofd::attributes(e)?,
        ..Node::default()
    })
}

/// The five predefined entities and character references.
fn reference(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => {
            let num = name.strip_prefix('#')?;
            let code = match num.strip_prefix('x') {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => num.parse().ok()?,
            };
            char::from_u32(code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_are_the_received_bytes() {
        let xml =
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<A><B x=\"1\">t&amp;u</B>\n <C/></A>";
        let root = Node::parse(xml.as_bytes()).map_err(|e| e.to_string());
        let root = root.as_ref().map_err(String::as_str);
        let Ok(root) = root else {
            panic!("{root:?}");
        };
        assert_eq!(root.name, "A");
        let b = &root.children[0];
        assert_eq!(&xml[b.span.clone()], "<B x=\"1\">t&amp;u</B>");
        assert_eq!(b.text, "t&u");
        assert_eq!(b.attr("x"), Some("1"));
        assert_eq!(&xml[root.children[1].span.clone()], "<C/>");
        assert_eq!(&xml[root.span.clone()], &xml[39..]);
    }

    #[test]
    fn hostile_input_is_refused() {
        let cases: &[(&[u8], &str)] = &[
            (b"<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>", "DOCTYPE"),
            (b"<a>&x;</a>", "predefined"),
            (
                b"<?xml version=\"1.0\" encoding=\"GBK\"?><a/>",
                "UTF-8 only",
            ),
            (b"<a>\xff</a>", "not UTF-8"),
            (b"<a><b></a>", "ill-formed"),
            (b"<a/><b/>", "more than one root"),
            (b"", "no root"),
            (b"<a>", "unclosed"),
            (b"text<a/>", "outside"),
        ];
        for (input, expect) in cases {
            let e = Node::parse(input).map(|n| n.name);
            let msg = format!("{e:?}");
            assert!(msg.contains(expect), "{input:?}: {msg}");
        }
        let deep = "<a>".repeat(40) + &"</a>".repeat(40);
        assert!(format!("{:?}", Node::parse(deep.as_bytes())).contains("nested"));
        let big = vec![b' '; MAX_BILL_LEN + 1];
        assert!(matches!(Node::parse(&big), Err(BillError::TooLarge { .. })));
    }

    #[test]
    fn duplicates_and_missing_are_named() {
        let root = Node::parse(b"<a><b>1</b><b>2</b><c/></a>").ok();
        let Some(root) = root else { panic!() };
        assert!(matches!(root.child("b"), Err(BillError::Duplicate { .. })));
        assert!(matches!(root.text_of("c"), Err(BillError::Missing { .. })));
        assert!(matches!(root.need("d"), Err(BillError::Missing { element }) if element == "a/d"));
    }
}
