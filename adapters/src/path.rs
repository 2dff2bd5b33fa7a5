//! Native paths: `data.qymc`, `items[0].code`, `list[*].name`,
//! `Response.QYXX.@TYSHXYDM`, `hj:Response.hj:RYXX`, `$.header.status`.
//!
//! A path is a list of dot-separated steps, read against a [`Document`]:
//!
//! | step | JSON | XML |
//! |---|---|---|
//! | `name` | the member `name` | every child element with local name `name` |
//! | `p:name` | (the member `p:name`) | child elements `name` in the namespace the mapping binds to `p` |
//! | `*` | every member's value | every child element |
//! | `name[n]` | element `n` of the array at `name` (`[0]` of a non-array is the value itself) | the `n`th child element `name` |
//! | `name[*]` | every element of the array at `name` (a non-array is itself) | every child element `name` |
//! | `@attr`, `@p:attr` | — | the attribute (last step only) |
//! | `#text` | — | the element's own text (last step only) |
//! | `$` (first step only) | the document's top, not the record | the same |
//!
//! An unprefixed XML step matches by local name in any namespace; a prefixed
//! step matches the namespace URI the mapping declares for the prefix, whatever
//! prefix the document itself uses. A path selects zero, one or several values;
//! the item rule decides what several mean. Evaluation visits each value of the
//! document at most once per step: time is linear in the document for a given
//! path, and there is no recursion or repetition in the language.

use std::collections::BTreeMap;
use std::fmt;

use crate::doc::{Document, Element, Node};

/// How a path's names are read: plain JSON member names, or XML names whose
/// prefixes the mapping binds to namespace URIs.
#[derive(Clone, Copy, Debug)]
pub enum Binding<'a> {
    /// JSON: a name is the member name as written (a `:` is part of it).
    Json,
    /// XML: `prefix:name` needs `prefix` in this table (prefix → URI).
    Xml(&'a BTreeMap<String, String>),
}

/// Which namespace a step matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ns {
    /// Any namespace, or none.
    Any,
    /// Exactly this namespace URI.
    Uri(Box<str>),
}

/// An index applied to a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Index {
    /// `[n]`.
    At(usize),
    /// `[*]`.
    All,
}

/// One step of a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// A member or child element (`*` for all), with an optional index.
    Key {
        /// The name, `*` for any.
        name: Box<str>,
        /// The namespace to match (XML).
        ns: Ns,
        /// `[n]` or `[*]` right after the name.
        index: Option<Index>,
    },
    /// A further `[n]` / `[*]`, e.g. the second one of `grid[0][1]`.
    Index(Index),
    /// An XML attribute.
    Attr {
        /// Local name.
        name: Box<str>,
        /// Namespace to match.
        ns: Ns,
    },
    /// An XML element's own text.
    Text,
}

/// A parsed native path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Path {
    text: String,
    from_root: bool,
    steps: Vec<Step>,
}

/// One value a path selected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hit<'d> {
    /// A value of the tree.
    Node(&'d Node),
    /// An attribute value or an element's text.
    Text(&'d str),
}

impl<'d> Hit<'d> {
    /// The value as text, if it is a scalar (see [`Node::scalar_text`]).
    pub fn scalar_text(&self) -> Option<&'d str> {
        match self {
            Hit::Node(n) => n.scalar_text(),
            Hit::Text(t) => Some(t),
        }
    }

    /// Whether it stands for "no value" (JSON `null`, `xsi:nil`).
    pub fn is_null(&self) -> bool {
        matches!(self, Hit::Node(n) if n.is_null())
    }

    /// Whether it is empty: blank text, an XML element with no text and no
    /// children, an empty array or object.
    pub fn is_empty(&self) -> bool {
        match self {
            Hit::Text(t) => t.trim().is_empty(),
            Hit::Node(Node::Str(s)) => s.trim().is_empty(),
            Hit::Node(Node::Array(a)) => a.is_empty(),
            Hit::Node(Node::Object(o)) => o.is_empty(),
            Hit::Node(Node::Element(e)) => !e.nil && e.children.is_empty() && e.text.is_empty(),
            Hit::Node(_) => false,
        }
    }
}

impl Path {
    /// Parses a path. The empty path selects the base value itself.
    pub fn parse(text: &str, binding: Binding<'_>) -> Result<Path, String> {
        let mut steps = Vec::new();
        let mut from_root = false;
        if !text.is_empty() {
            for (i, part) in text.split('.').enumerate() {
                if let Some(Step::Attr { .. } | Step::Text) = steps.last() {
                    return Err(format!(
                        "nothing can follow an attribute or `#text` in `{text}`: the step is unreachable"
                    ));
                }
                if part == "$" {
                    if i != 0 {
                        return Err(format!("`$` can only start a path, in `{text}`"));
                    }
                    from_root = true;
                    continue;
                }
                parse_step(part, text, binding, &mut steps)?;
            }
        }
        Ok(Path {
            text: text.to_owned(),
            from_root,
            steps,
        })
    }

    /// Every value the path selects, in document order. `base` is where a
    /// relative path starts (the record); `$` paths start at the document's top.
    pub fn select<'d>(&self, doc: &'d Document, base: &'d Node) -> Vec<Hit<'d>> {
        let start = if self.from_root { &doc.root } else { base };
        let Some((first, rest)) = self.steps.split_first() else {
            return vec![Hit::Node(start)];
        };
        // Two lists, swapped from step to step, whatever the path's length.
        let mut current = Vec::new();
        apply(first, start, doc, &mut current);
        let mut next = Vec::new();
        for step in rest {
            if current.is_empty() {
                break;
            }
            next.clear();
            for hit in &current {
                if let Hit::Node(node) = hit {
                    apply(step, node, doc, &mut next);
                }
            }
            std::mem::swap(&mut current, &mut next);
        }
        current
    }

    /// The steps.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// Whether the path starts at the document's top (`$`).
    pub fn from_root(&self) -> bool {
        self.from_root
    }

    /// Whether the path can select several values (a wildcard or `[*]`, or an
    /// unindexed XML step).
    pub fn may_select_several(&self, xml: bool) -> bool {
        self.steps.iter().any(|s| match s {
            Step::Key { name, index, .. } => {
                &**name == "*" || index == &Some(Index::All) || (xml && index.is_none())
            }
            Step::Index(i) => *i == Index::All,
            _ => false,
        })
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

fn parse_step(
    part: &str,
    text: &str,
    binding: Binding<'_>,
    steps: &mut Vec<Step>,
) -> Result<(), String> {
    if let Some(attr) = part.strip_prefix('@') {
        let Binding::Xml(namespaces) = binding else {
            return Err(format!(
                "`{part}` in `{text}` is an XML attribute, but the document is JSON: the path is unreachable"
            ));
        };
        let (ns, name) = qualified(attr, namespaces, text)?;
        if name.is_empty() || name == "*" || name.contains(['[', ']']) {
            return Err(format!("bad attribute name `{part}` in `{text}`"));
        }
        steps.push(Step::Attr {
            name: name.into(),
            ns,
        });
        return Ok(());
    }
    if part == "#text" {
        if let Binding::Json = binding {
            return Err(format!(
                "`#text` in `{text}` is XML element text, but the document is JSON: the path is unreachable"
            ));
        }
        steps.push(Step::Text);
        return Ok(());
    }
    let (name, mut rest) = match part.find('[') {
        Some(i) => part.split_at(i),
        None => (part, ""),
    };
    if name.is_empty() && rest.is_empty() {
        return Err(format!("empty step in path `{text}`"));
    }
    let mut indices = Vec::new();
    while let Some(r) = rest.strip_prefix('[') {
        let close = r
            .find(']')
            .ok_or_else(|| format!("unclosed `[` in path `{text}`"))?;
        let (idx, after) = r.split_at(close);
        indices.push(match idx {
            "*" => Index::All,
            n => Index::At(
                n.parse()
                    .map_err(|_| format!("index `{n}` in path `{text}` is not a number or `*`"))?,
            ),
        });
        rest = after.get(1..).unwrap_or_default();
    }
    if !rest.is_empty() {
        return Err(format!("unexpected `{rest}` in path `{text}`"));
    }
    if name.contains([']', '#', '@', '$']) {
        return Err(format!("bad name `{name}` in path `{text}`"));
    }
    let mut indices = indices.into_iter();
    if !name.is_empty() {
        let (ns, local) = match binding {
            Binding::Json => (Ns::Any, name),
            Binding::Xml(namespaces) => qualified(name, namespaces, text)?,
        };
        if local.is_empty() {
            return Err(format!("empty name in path `{text}`"));
        }
        steps.push(Step::Key {
            name: local.into(),
            ns,
            index: indices.next(),
        });
    }
    steps.extend(indices.map(Step::Index));
    Ok(())
}

fn qualified<'n>(
    name: &'n str,
    namespaces: &BTreeMap<String, String>,
    text: &str,
) -> Result<(Ns, &'n str), String> {
    match name.split_once(':') {
        None => Ok((Ns::Any, name)),
        Some((prefix, local)) => {
            let uri = namespaces.get(prefix).ok_or_else(|| {
                format!("prefix `{prefix}` in `{text}` is not declared in the mapping's namespaces")
            })?;
            Ok((Ns::Uri(uri.as_str().into()), local))
        }
    }
}

fn ns_matches(want: &Ns, have: Option<u32>, doc: &Document) -> bool {
    match want {
        Ns::Any => true,
        Ns::Uri(uri) => have
            .and_then(|i| doc.namespaces.get(usize::try_from(i).ok()?))
            .is_some_and(|h| h == uri),
    }
}

fn index_value<'d>(node: &'d Node, index: Option<Index>, out: &mut Vec<Hit<'d>>) {
    match (index, node) {
        (None, n) => out.push(Hit::Node(n)),
        (Some(Index::At(i)), Node::Array(items)) => {
            if let Some(n) = items.get(i) {
                out.push(Hit::Node(n));
            }
        }
        (Some(Index::All), Node::Array(items)) => out.extend(items.iter().map(Hit::Node)),
        // XML does not say whether something that occurs once is a list, and
        // neither do providers that translate XML to JSON.
        (Some(Index::At(0) | Index::All), n) => out.push(Hit::Node(n)),
        (Some(Index::At(_)), _) => {}
    }
}

fn apply<'d>(step: &Step, node: &'d Node, doc: &'d Document, out: &mut Vec<Hit<'d>>) {
    match (step, node) {
        (Step::Key { name, index, .. }, Node::Object(members)) => {
            if &**name == "*" {
                for (_, v) in members {
                    index_value(v, *index, out);
                }
            } else if let Some((_, v)) = members.iter().find(|(k, _)| k == name) {
                // Member names are unique (the reader refuses duplicates).
                index_value(v, *index, out);
            }
        }
        (Step::Key { name, ns, index }, Node::Element(e)) => {
            let matching = e.children.iter().filter(|c| match c {
                Node::Element(c) => {
                    (&**name == "*" || c.local == *name) && ns_matches(ns, c.ns, doc)
                }
                _ => false,
            });
            match index {
                None | Some(Index::All) => out.extend(matching.map(Hit::Node)),
                Some(Index::At(i)) => out.extend(matching.skip(*i).take(1).map(Hit::Node)),
            }
        }
        (Step::Index(index), n) => index_value(n, Some(*index), out),
        (Step::Attr { name, ns }, Node::Element(e)) => {
            let Element { attrs, .. } = &**e;
            out.extend(
                attrs
                    .iter()
                    .filter(|a| a.local == *name && ns_matches(ns, a.ns, doc))
                    .map(|a| Hit::Text(&a.value)),
            );
        }
        (Step::Text, Node::Element(e)) => out.push(Hit::Text(&e.text)),
        _ => {}
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json;
    use crate::xml;

    fn jdoc(text: &str) -> Document {
        Document {
            root: json::parse(text).unwrap(),
            namespaces: vec![],
        }
    }

    fn texts(path: &str, binding: Binding<'_>, doc: &Document) -> Vec<String> {
        Path::parse(path, binding)
            .unwrap()
            .select(doc, &doc.root)
            .iter()
            .map(|h| h.scalar_text().unwrap_or("<non-scalar>").to_owned())
            .collect()
    }

    #[test]
    fn selects_members_indices_and_wildcards_in_json() {
        let doc = jdoc(r#"{"data": {"list": [{"a": 1}, {"a": 2}], "one": {"a": 3}, "n": null}}"#);
        let j = Binding::Json;
        assert_eq!(texts("data.list[1].a", j, &doc), ["2"]);
        assert_eq!(texts("data.list[*].a", j, &doc), ["1", "2"]);
        assert_eq!(texts("data.one[*].a", j, &doc), ["3"]);
        assert_eq!(texts("data.one[0].a", j, &doc), ["3"]);
        assert!(texts("data.one[1].a", j, &doc).is_empty());
        assert_eq!(texts("data.*.a", j, &doc), ["3"]);
        assert!(texts("data.list.a", j, &doc).is_empty());
        assert!(texts("data.list[5].a", j, &doc).is_empty());
        let p = Path::parse("data.n", j).unwrap();
        assert!(p.select(&doc, &doc.root)[0].is_null());
        // `$` starts at the top whatever the base.
        let base = &doc.root;
        let inner = match Path::parse("data.one", j).unwrap().select(&doc, base)[0] {
            Hit::Node(n) => n,
            Hit::Text(_) => panic!(),
        };
        let p = Path::parse("$.data.list[0].a", j).unwrap();
        assert_eq!(p.select(&doc, inner)[0].scalar_text(), Some("1"));
        assert_eq!(
            Path::parse("a", j).unwrap().select(&doc, inner)[0].scalar_text(),
            Some("3")
        );
    }

    #[test]
    fn selects_xml_by_local_name_or_by_namespace_uri() {
        let doc = xml::parse(
            r#"<g:Response xmlns:g="urn:ga" xmlns:o="urn:other" code="0">
                 <g:RYXX SFZHM="1"><g:XM>甲</g:XM><o:XM>乙</o:XM></g:RYXX>
                 <g:RYXX SFZHM="2"><XM>丙</XM></g:RYXX>
                 <ZCZB DW="万元">300</ZCZB>
               </g:Response>"#,
        )
        .unwrap();
        let mut ns = BTreeMap::new();
        ns.insert("hj".to_owned(), "urn:ga".to_owned());
        let x = Binding::Xml(&ns);
        assert_eq!(texts("Response.@code", x, &doc), ["0"]);
        assert_eq!(texts("Response.RYXX.@SFZHM", x, &doc), ["1", "2"]);
        assert_eq!(texts("Response.RYXX[1].@SFZHM", x, &doc), ["2"]);
        // Unprefixed: any namespace. Prefixed: the mapping's URI, not the
        // document's prefix.
        assert_eq!(texts("Response.RYXX[0].XM", x, &doc), ["甲", "乙"]);
        assert_eq!(texts("Response.RYXX[0].hj:XM", x, &doc), ["甲"]);
        assert_eq!(texts("hj:Response.hj:RYXX.hj:XM", x, &doc), ["甲"]);
        assert_eq!(texts("Response.*[1].*", x, &doc), ["丙"]);
        assert_eq!(texts("Response.ZCZB", x, &doc), ["300"]);
        assert_eq!(texts("Response.ZCZB.#text", x, &doc), ["300"]);
        assert_eq!(texts("Response.ZCZB.@DW", x, &doc), ["万元"]);
        assert_eq!(texts("Response.RYXX[0]", x, &doc), ["<non-scalar>"]);
    }

    #[test]
    fn malformed_and_unreachable_paths_are_refused() {
        let ns = BTreeMap::new();
        for bad in [
            "a..b",
            "a[",
            "a[x]",
            "a[0]b",
            ".",
            "a.@b.c",
            "a.#text.b",
            "b.$",
            "@",
            "a[-1]",
        ] {
            assert!(Path::parse(bad, Binding::Xml(&ns)).is_err(), "{bad}");
        }
        assert!(Path::parse("p:a", Binding::Xml(&ns)).is_err());
        assert!(Path::parse("a.@b", Binding::Json).is_err());
        assert!(Path::parse("a.#text", Binding::Json).is_err());
        // In JSON a colon is part of the member name.
        assert!(Path::parse("p:a", Binding::Json).is_ok());
        assert!(Path::parse("[0].a", Binding::Json).is_ok());
        assert!(Path::parse("", Binding::Json).is_ok());
    }
}
