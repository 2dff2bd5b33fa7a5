//! Native paths: `data.qymc`, `items[0].code`, `Response.QYXX.@TYSHXYDM`.
//!
//! JSON and XML documents are both read into a `serde_json::Value` tree (see
//! [`crate::xml`]), so one path language selects in both: a segment is an object
//! key (an XML child element, or `@name` for an attribute), `[n]` an array index.

use std::fmt;

use serde_json::Value;

/// One step of a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    /// An object key, XML child element name or `@attribute`.
    Key(String),
    /// An array index.
    Index(usize),
}

/// A parsed native path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Path {
    text: String,
    segments: Vec<Segment>,
}

impl Path {
    /// Parses a path. The empty path selects the whole document.
    pub fn parse(text: &str) -> Result<Path, String> {
        let mut segments = Vec::new();
        if !text.is_empty() {
            for part in text.split('.') {
                let (name, mut rest) = match part.find('[') {
                    Some(i) => part.split_at(i),
                    None => (part, ""),
                };
                if name.is_empty() && rest.is_empty() {
                    return Err(format!("empty segment in path `{text}`"));
                }
                if !name.is_empty() {
                    segments.push(Segment::Key(name.to_owned()));
                }
                while let Some(r) = rest.strip_prefix('[') {
                    let close = r
                        .find(']')
                        .ok_or_else(|| format!("unclosed `[` in path `{text}`"))?;
                    let (idx, after) = r.split_at(close);
                    let idx: usize = idx
                        .parse()
                        .map_err(|_| format!("index `{idx}` in path `{text}` is not a number"))?;
                    segments.push(Segment::Index(idx));
                    rest = after.get(1..).unwrap_or_default();
                }
                if !rest.is_empty() {
                    return Err(format!("unexpected `{rest}` in path `{text}`"));
                }
            }
        }
        Ok(Path {
            text: text.to_owned(),
            segments,
        })
    }

    /// The value at this path, if there is one. An index of 0 applied to a
    /// non-array selects the value itself: XML does not say whether an element
    /// that occurs once is a list.
    pub fn select<'v>(&self, root: &'v Value) -> Option<&'v Value> {
        let mut cur = root;
        for seg in &self.segments {
            cur = match (seg, cur) {
                (Segment::Key(k), Value::Object(map)) => map.get(k)?,
                (Segment::Index(i), Value::Array(items)) => items.get(*i)?,
                (Segment::Index(0), other) => other,
                _ => return None,
            };
        }
        Some(cur)
    }

    /// The segments, for writers that build documents along a path.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.text
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
    use serde_json::json;

    #[test]
    fn selects_keys_indices_and_attributes() {
        let doc = json!({"data": {"list": [{"a": 1}, {"a": 2}], "@id": "x"}});
        assert_eq!(
            Path::parse("data.list[1].a").unwrap().select(&doc),
            Some(&json!(2))
        );
        assert_eq!(
            Path::parse("data.@id").unwrap().select(&doc),
            Some(&json!("x"))
        );
        assert_eq!(Path::parse("data.list[5].a").unwrap().select(&doc), None);
        assert_eq!(Path::parse("").unwrap().select(&doc), Some(&doc));
    }

    #[test]
    fn index_zero_on_a_single_element_selects_it() {
        let doc = json!({"Item": {"a": 1}});
        assert_eq!(
            Path::parse("Item[0].a").unwrap().select(&doc),
            Some(&json!(1))
        );
        assert_eq!(Path::parse("Item[1].a").unwrap().select(&doc), None);
    }

    #[test]
    fn malformed_paths_are_refused() {
        for bad in ["a..b", "a[", "a[x]", "a[0]b", "."] {
            assert!(Path::parse(bad).is_err(), "{bad}");
        }
    }
}
