//! Minimise: the consumer receives exactly the items the entry grants — and of
//! those only the ones it asked for, if it asked. Items asked for but not
//! granted are reported in the receipt, not refused.

use yrdx_adapters::Record;
use yrdx_registry::Entry;

/// What minimisation kept and withheld.
#[derive(Debug, Default)]
pub struct Minimised {
    /// Items returned, sorted.
    pub returned: Vec<String>,
    /// Items the consumer asked for that the entry does not grant, sorted.
    pub withheld: Vec<String>,
}

/// Drops from `record` every item not granted (and not asked for, when the
/// consumer named items).
pub fn run(record: &mut Record, entry: &Entry, asked: Option<&[String]>) -> Minimised {
    record.retain(|item, _| {
        entry.items.iter().any(|g| g == item) && asked.is_none_or(|a| a.iter().any(|x| x == item))
    });
    let mut returned: Vec<String> = record.keys().cloned().collect();
    returned.sort();
    let mut withheld: Vec<String> = asked
        .unwrap_or_default()
        .iter()
        .filter(|a| !entry.items.contains(a))
        .map(|a| a.chars().take(64).collect())
        .collect();
    withheld.sort();
    withheld.dedup();
    Minimised { returned, withheld }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(items: &[&str]) -> Entry {
        let text = format!(
            r#"id = "RL-2026-00001"
resource = "YRD-SCJG-0001"
provider = "zj:11330000002482028A:data"
consumers = []
purposes = []
items = {items:?}
valid_from = 2026-01-01
valid_to = 2026-12-31
status = "active"
deadline_ms = 1000"#
        );
        toml::from_str(&text).unwrap()
    }

    #[test]
    fn only_granted_items_survive_even_if_the_provider_sends_more() {
        let mut r = json!({"name": "a", "uscc": "b", "address": "c"})
            .as_object()
            .unwrap()
            .clone();
        let m = run(&mut r, &entry(&["name", "uscc"]), None);
        assert_eq!(m.returned, vec!["name", "uscc"]);
        assert!(r.get("address").is_none());
        assert!(m.withheld.is_empty());
    }

    #[test]
    fn asking_for_more_is_reported_not_refused() {
        let mut r = json!({"name": "a", "uscc": "b", "address": "c"})
            .as_object()
            .unwrap()
            .clone();
        let asked = vec!["name".to_owned(), "address".to_owned()];
        let m = run(&mut r, &entry(&["name", "uscc"]), Some(&asked));
        assert_eq!(m.returned, vec!["name"]);
        assert_eq!(m.withheld, vec!["address"]);
    }
}
