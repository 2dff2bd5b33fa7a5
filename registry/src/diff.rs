//! What changed between two registry versions, item by item and field by field.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde_json::Value;

use crate::model::RegistryData;

/// How one member, resource or entry changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "change")]
pub enum ChangeKind {
    /// Only in the newer version.
    Added,
    /// Only in the older version.
    Removed,
    /// In both, with these top-level fields different.
    Changed {
        /// The fields that differ.
        fields: Vec<String>,
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
                write!(f, "~ {} {}: {}", self.kind, self.id, fields.join(", "))
            }
        }
    }
}

fn index<T: Serialize>(items: &[T], id: impl Fn(&T) -> String) -> BTreeMap<String, Value> {
    items
        .iter()
        .map(|i| (id(i), serde_json::to_value(i).unwrap_or(Value::Null)))
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
                let empty = serde_json::Map::new();
                let (o, n) = (
                    old.as_object().unwrap_or(&empty),
                    new.as_object().unwrap_or(&empty),
                );
                let mut fields: Vec<String> = o
                    .keys()
                    .chain(n.keys())
                    .filter(|k| o.get(*k) != n.get(*k))
                    .cloned()
                    .collect();
                fields.sort();
                fields.dedup();
                out.push(Change {
                    kind,
                    id: id.clone(),
                    change: ChangeKind::Changed { fields },
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
                "~ member zj:11330000002482028A:data: name, status"
            ]
        );
        let back: Vec<String> = diff(&b, &a).iter().map(ToString::to_string).collect();
        assert!(back.contains(&"+ member js:11320000014000118J:data".to_owned()));
        assert!(diff(&a, &a).is_empty());
    }
}
