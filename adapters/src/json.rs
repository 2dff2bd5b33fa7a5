//! A strict RFC 8259 reader into [`Node`]s. It exists (rather than
//! `serde_json::Value`) so that numbers keep every digit as written — an amount
//! of `12345678901234567890.10` must not pass through a float — and so that
//! depth, size and duplicate member names are bounded and refused in one place.
//!
//! Refused: duplicate member names (two readers of the same document could
//! disagree on which one counts), nesting deeper than [`MAX_DEPTH`], more than
//! [`MAX_NODES`] values, lone surrogates, control characters in strings,
//! anything after the value. Errors give line and column, never content.

use crate::doc::{MAX_DEPTH, MAX_NODES, Node};
use crate::error::MapError;

/// Parses one JSON document.
pub fn parse(text: &str) -> Result<Node, MapError> {
    let mut p = Parser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        nodes: 0,
    };
    p.skip_ws();
    let value = p.value(0)?;
    p.skip_ws();
    if p.pos < p.bytes.len() {
        return Err(p.error("content after the document"));
    }
    Ok(value)
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    nodes: usize,
}

impl Parser<'_> {
    fn error(&self, what: &str) -> MapError {
        let before = self.bytes.get(..self.pos).unwrap_or(self.bytes);
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let column = self
            .text
            .get(line_start..self.pos)
            .map_or(0, |s| s.chars().count())
            + 1;
        MapError::Malformed {
            format: "json",
            reason: format!("line {line} column {column}: {what}"),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn literal(&mut self, word: &str, node: Node) -> Result<Node, MapError> {
        if self.bytes.get(self.pos..self.pos + word.len()) == Some(word.as_bytes()) {
            self.pos += word.len();
            Ok(node)
        } else {
            Err(self.error("expected a value"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node, MapError> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(self.error(&format!("more than {MAX_NODES} values")));
        }
        match self.peek() {
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => Ok(Node::Str(self.string()?)),
            Some(b't') => self.literal("true", Node::Bool(true)),
            Some(b'f') => self.literal("false", Node::Bool(false)),
            Some(b'n') => self.literal("null", Node::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.error("expected a value")),
            None => Err(self.error("document ends where a value should be")),
        }
    }

    fn object(&mut self, depth: usize) -> Result<Node, MapError> {
        let mut members: Vec<(Box<str>, Node)> = Vec::new();
        if self.open(depth, b'}')? {
            return Ok(Node::Object(members));
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(self.error("expected a member name"));
            }
            let name = self.string()?;
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(self.error("expected `:`"));
            }
            self.pos += 1;
            self.skip_ws();
            let value = self.value(depth)?;
            members.push((name, value));
            if self.separator(b'}')? {
                break;
            }
        }
        if has_duplicate(&members) {
            return Err(self.error("duplicate member name in an object"));
        }
        Ok(Node::Object(members))
    }

    fn array(&mut self, depth: usize) -> Result<Node, MapError> {
        let mut items = Vec::new();
        if self.open(depth, b']')? {
            return Ok(Node::Array(items));
        }
        loop {
            self.skip_ws();
            items.push(self.value(depth)?);
            if self.separator(b']')? {
                return Ok(Node::Array(items));
            }
        }
    }

    /// Steps over the opening bracket of an object or array at nesting
    /// `depth`, refusing one nested too deep. True when `close` follows at
    /// once: the container is empty, and its end is stepped over too.
    fn open(&mut self, depth: usize, close: u8) -> Result<bool, MapError> {
        if depth > MAX_DEPTH {
            return Err(self.error(&format!("nested deeper than {MAX_DEPTH}")));
        }
        self.pos += 1;
        self.skip_ws();
        if self.peek() == Some(close) {
            self.pos += 1;
            return Ok(true);
        }
        Ok(false)
    }

    /// Steps over the `,` or the `close` after a member or element. True at
    /// `close`: the container ends.
    fn separator(&mut self, close: u8) -> Result<bool, MapError> {
        self.skip_ws();
        match self.peek() {
            Some(b',') => {
                self.pos += 1;
                Ok(false)
            }
            Some(c) if c == close => {
                self.pos += 1;
                Ok(true)
            }
            _ => Err(self.error(&format!("expected `,` or `{}`", char::from(close)))),
        }
    }

    fn number(&mut self) -> Result<Node, MapError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.error("malformed number")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.error("malformed number"));
            }
            self.digits();
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.error("malformed number"));
            }
            self.digits();
        }
        let text = self
            .text
            .get(start..self.pos)
            .ok_or_else(|| self.error("malformed number"))?;
        Ok(Node::Number(text.into()))
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
    }

    /// Reads a string starting at its opening quote.
    fn string(&mut self) -> Result<Box<str>, MapError> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            let start = self.pos;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            // The stops are ASCII, so both ends are character boundaries.
            let run = self.text.get(start..self.pos).unwrap_or_default();
            match self.peek() {
                // Without escapes (most strings) the text is copied once, to
                // its exact size.
                Some(b'"') if out.is_empty() => {
                    self.pos += 1;
                    return Ok(run.into());
                }
                Some(b'"') => {
                    self.pos += 1;
                    out.push_str(run);
                    return Ok(out.into_boxed_str());
                }
                Some(b'\\') => {
                    self.pos += 1;
                    out.push_str(run);
                    let c = self.escape()?;
                    out.push(c);
                }
                Some(_) => return Err(self.error("control character in a string")),
                None => return Err(self.error("unterminated string")),
            }
        }
    }

    fn escape(&mut self) -> Result<char, MapError> {
        let b = self
            .peek()
            .ok_or_else(|| self.error("unterminated string"))?;
        self.pos += 1;
        Ok(match b {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let hi = self.hex4()?;
                match hi {
                    0xD800..=0xDBFF => {
                        if self.bytes.get(self.pos..self.pos + 2) != Some(b"\\u") {
                            return Err(self.error("lone surrogate in a string"));
                        }
                        self.pos += 2;
                        let lo = self.hex4()?;
                        if !(0xDC00..=0xDFFF).contains(&lo) {
                            return Err(self.error("lone surrogate in a string"));
                        }
                        let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                        char::from_u32(c).ok_or_else(|| self.error("bad escape"))?
                    }
                    0xDC00..=0xDFFF => return Err(self.error("lone surrogate in a string")),
                    c => char::from_u32(c).ok_or_else(|| self.error("bad escape"))?,
                }
            }
            _ => return Err(self.error("bad escape")),
        })
    }

    fn hex4(&mut self) -> Result<u32, MapError> {
        let digits = self
            .text
            .get(self.pos..self.pos + 4)
            .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| self.error("bad \\u escape"))?;
        self.pos += 4;
        u32::from_str_radix(digits, 16).map_err(|_| self.error("bad \\u escape"))
    }
}

/// Whether two members share a name: pairwise for small objects, sorted for
/// large ones, so that a hostile object costs n·log n, not n².
fn has_duplicate(members: &[(Box<str>, Node)]) -> bool {
    if members.len() <= 8 {
        members.iter().enumerate().any(|(i, (a, _))| {
            members
                .get(i + 1..)
                .unwrap_or_default()
                .iter()
                .any(|(b, _)| a == b)
        })
    } else {
        let mut names: Vec<&str> = members.iter().map(|(n, _)| &**n).collect();
        names.sort_unstable();
        names.windows(2).any(|w| w.first() == w.get(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(members: Vec<(&str, Node)>) -> Node {
        Node::Object(members.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    #[test]
    fn reads_every_kind_of_value_and_keeps_numbers_exact() {
        let v = parse(
            r#" {"a": [1, -0.5, 12345678901234567890.10, 5.0E7], "b": "\u738b\ud842\udfb7\n",
                 "c": null, "d": true, "e": {}, "f": []} "#,
        )
        .unwrap();
        assert_eq!(
            v,
            obj(vec![
                (
                    "a",
                    Node::Array(vec![
                        Node::Number("1".into()),
                        Node::Number("-0.5".into()),
                        Node::Number("12345678901234567890.10".into()),
                        Node::Number("5.0E7".into()),
                    ])
                ),
                ("b", Node::Str("王𠮷\n".into())),
                ("c", Node::Null),
                ("d", Node::Bool(true)),
                ("e", Node::Object(vec![])),
                ("f", Node::Array(vec![])),
            ])
        );
    }

    proptest::proptest! {
        /// Any text, as serde_json escapes it (or with every character
        /// escaped), reads back as itself, as a value and as a member name.
        #[test]
        fn strings_read_back_whatever_their_escapes(s in "\\PC{0,12}|[\"\\\\a\u{0}-\u{1f}]{0,8}", all in proptest::bool::ANY) {
            let quoted = match all {
                false => serde_json::to_string(&s).unwrap(),
                true => {
                    let units: String = s.encode_utf16().map(|u| format!("\\u{u:04x}")).collect();
                    format!("\"{units}\"")
                }
            };
            proptest::prop_assert_eq!(parse(&quoted).unwrap(), Node::Str(s.as_str().into()));
            let member = format!("{{{quoted}:1}}");
            proptest::prop_assert_eq!(
                parse(&member).unwrap(),
                obj(vec![(s.as_str(), Node::Number("1".into()))])
            );
        }
    }

    #[test]
    fn malformed_documents_are_refused_with_a_position() {
        for bad in [
            "",
            "{",
            "{\"a\":1,}",
            "[1,]",
            "[01]",
            "[1.]",
            "[.5]",
            "[1e]",
            "[+1]",
            "\"\\x\"",
            "\"a\nb\"",
            "\"\\ud800\"",
            "\"\\udc00x\"",
            "{\"a\":1,\"a\":2}",
            "{\"a\" 1}",
            "{1:2}",
            "nul",
            "[1] [2]",
            "<html>",
            "NaN",
        ] {
            match parse(bad) {
                Err(MapError::Malformed {
                    format: "json",
                    reason,
                }) => {
                    assert!(reason.starts_with("line "), "{bad}: {reason}")
                }
                other => panic!("{bad:?}: {other:?}"),
            }
        }
        let Err(MapError::Malformed { reason, .. }) = parse("{\n  \"a\": tru\n}") else {
            panic!()
        };
        assert_eq!(reason, "line 2 column 8: expected a value");
    }

    #[test]
    fn depth_size_and_duplicates_are_bounded() {
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(parse(&deep).is_err());
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(&ok).is_ok());
        let many = format!("[{}0]", "0,".repeat(MAX_NODES));
        assert!(parse(&many).is_err());
        let members: Vec<String> = (0..100).map(|i| format!("\"k{i}\":{i}")).collect();
        let mut big = format!("{{{}}}", members.join(","));
        assert!(parse(&big).is_ok());
        big.insert_str(1, "\"k57\":0,");
        assert!(parse(&big).is_err());
    }
}
