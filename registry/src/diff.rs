//! What changed between two registry versions, item by item and field by field.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde_json::Value;

use crate::model::RegistryData;

/// One field that differs, with its old and new value as text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    /// The field, dotted for nested ones (`items.status.codes`).
    pub field: String,
    /// The old value (empty when absent).
    pub old: String,
    /// The new value (empty when absent).
    pub new: String,
}

/// How one member, resource or entry changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "change")]
pub enum ChangeKind {
    /// Only in the newer version.
    Added,
    /// Only in the older version.
    Removed,
    /// In both, with these fields different.
    Changed {
        /// The fields that differ, old → new.
        fields: Vec<FieldChange>,
    },
}

/// One change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    /// `member`, `resource` or `entry`.
    pub kind: &'static str,
    /// Its id or code.
    pub id: String,
    /// What happened to it.
    #[serde(flatten)]
    pub change: ChangeKind,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.change {
            ChangeKind::Added => write!(f, "+ {} {}", self.kind, self.id),
            ChangeKind::Removed => write!(f, "- {} {}", self.kind, self.id),
            ChangeKind::Changed { fields } => {
                write!(f, "~ {} {}", self.kind, self.id)?;
                for c in fields {
                    let show = |v: &str| {
                        if v.is_empty() {
                            "（空 empty）".to_owned()
                        } else {
                            v.to_owned()
                        }
                    };
                    write!(f, "\n    {}: {} → {}", c.field, show(&c.old), show(&c.new))?;
                }
                Ok(())
            }
        }
    }
}

/// A value prepared for comparison: a field's code list joined with its
/// labels (`1=有效；2=注销`), lists of named fields keyed by name.
fn prepare(v: &Value) -> Value {
    match v {
        Value::Object(o) => {
            let mut out = serde_json::Map::new();
            for (k, v) in o {
                if k == "labels" {
                    continue;
                }
                out.insert(k.clone(), prepare(v));
            }
            if let Some(Value::Array(codes)) = o.get("codes") {
                let labels = o.get("labels").and_then(Value::as_object);
                let text: Vec<String> = codes
                    .iter()
                    .filter_map(Value::as_str)
                    .map(
                        |c| match labels.and_then(|l| l.get(c)).and_then(Value::as_str) {
                            Some(l) => format!("{c}={l}"),
                            None => c.to_owned(),
                        },
                    )
                    .collect();
                out.insert("codes".into(), Value::String(text.join("；")));
            }
            Value::Object(out)
        }
        Value::Array(a)
            if !a.is_empty()
                && a.iter()
                    .all(|i| i.get("name").and_then(Value::as_str).is_some()) =>
        {
            Value::Object(
                a.iter()
                    .map(|i| {
                        let name = i.get("name").and_then(Value::as_str).unwrap_or("");
                        (name.to_owned(), prepare(i))
                    })
                    .collect(),
            )
        }
        other => other.clone(),
    }
}

/// A leaf value as text: strings as they are, lists joined with `；`.
fn text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|i| text(Some(i)))
            .collect::<Vec<_>>()
            .join("；"),
        Some(other) => other.to_string(),
    }
}

/// The differing leaves of `old` and `new` under `path`.
fn fields(path: &str, old: Option<&Value>, new: Option<&Value>, out: &mut Vec<FieldChange>) {
    if old == new {
        return;
    }
    match (old, new) {
        (Some(Value::Object(o)), Some(Value::Object(n))) => {
            let mut keys: Vec<&String> = o.keys().chain(n.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                fields(&p, o.get(k), n.get(k), out);
            }
        }
        _ => out.push(FieldChange {
            field: path.to_owned(),
            old: text(old),
            new: text(new),
        }),
    }
}

fn index<T: Serialize>(items: &[T], id: impl Fn(&T) -> String) -> BTreeMap<String, Value> {
    items
        .iter()
        .map(|i| {
            (
                id(i),
                prepare(&serde_json::to_value(i).unwrap_or(Value::Null)),
            )
        })
        .collect()
}

fn compare(
    kind: &'static str,
    a: &BTreeMap<String, Value>,
    b: &BTreeMap<String, Value>,
    out: &mut Vec<Change>,
) {
    for (id, old) in a {
        match b.get(id) {
            None => out.push(Change {
                kind,
                id: id.clone(),
                change: ChangeKind::Removed,
            }),
            Some(new) if new != old => {
                let mut changed = Vec::new();
                fields("", Some(old), Some(new), &mut changed);
                out.push(Change {
                    kind,
                    id: id.clone(),
                    change: ChangeKind::Changed { fields: changed },
                });
            }
            Some(_) => {}
        }
    }
    for id in b.keys().filter(|id| !a.contains_key(*id)) {
        out.push(Change {
            kind,
            id: id.clone(),
            change: ChangeKind::Added,
        });
    }
}

/// The changes from `old` to `new`: members, then resources, then entries,
/// each in id order.
pub fn diff(old: &RegistryData, new: &RegistryData) -> Vec<Change> {
    let mut out = Vec::new();
    compare(
        "member",
        &index(&old.members, |m| m.id.to_string()),
        &index(&new.members, |m| m.id.to_string()),
        &mut out,
    );
    compare(
        "resource",
        &index(&old.catalogue, |r| r.code.clone()),
        &index(&new.catalogue, |r| r.code.clone()),
        &mut out,
    );
    compare(
        "entry",
        &index(&old.list, |e| e.id.clone()),
        &index(&new.list, |e| e.id.clone()),
        &mut out,
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_added_removed_and_changed_fields() {
        let mut a = RegistryData::default();
        crate::add_toml(
            &mut a,
            "a.toml",
            r#"
[[member]]
id = "zj:11330000002482028A:data"
name = "浙江"
roles = ["consumer"]
status = "active"

[[member]]
id = "js:11320000014000118J:data"
name = "江苏"
roles = ["consumer"]
status = "active"
"#,
        )
        .unwrap();
        let mut b = a.clone();
        b.members.remove(1);
        b.members[0].status = crate::MemberStatus::Suspended;
        b.members[0].name = "浙江省".into();
        let changes: Vec<String> = diff(&a, &b).iter().map(ToString::to_string).collect();
        assert_eq!(
            changes,
            vec![
                "- member js:11320000014000118J:data",
                "~ member zj:11330000002482028A:data\n    name: 浙江 → 浙江省\n    status: active → suspended"
            ]
        );
        let back: Vec<String> = diff(&b, &a).iter().map(ToString::to_string).collect();
        assert!(back.contains(&"+ member js:11320000014000118J:data".to_owned()));
        assert!(diff(&a, &a).is_empty());
    }

    #[test]
    fn code_lists_show_their_labels_and_items_their_names() {
        let mut a = RegistryData::default();
        crate::add_toml(
            &mut a,
            "a.toml",
            r#"
[[resource]]
code = "YRD-SCJG-0001"
name = "企业登记信息"
sharing_type = "conditional"
key = [{ name = "uscc", name_zh = "代码", type = "uscc" }]
items = [{ name = "status", name_zh = "状态", type = "code", codes = ["1", "2"], labels = { "1" = "有效", "2" = "注销" } }]
"#,
        )
        .unwrap();
        let mut b = a.clone();
        b.catalogue[0].items[0].codes.push("3".into());
        b.catalogue[0].items[0]
            .labels
            .insert("3".into(), "吊销".into());
        let changes: Vec<String> = diff(&a, &b).iter().map(ToString::to_string).collect();
        assert_eq!(
            changes,
            vec![
                "~ resource YRD-SCJG-0001\n    items.status.codes: 1=有效；2=注销 → 1=有效；2=注销；3=吊销"
            ]
        );
    }
}
