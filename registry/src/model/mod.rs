//! The registry model: members, the shared catalogue and the data-sharing
//! responsibility list, as documents (what is imported and stored per version)
//! and as a [`Registry`] snapshot (what the pipeline consults, checked for
//! consistency once when it is built).
//!
//! - `documents`: the data types as imported;
//! - `checks`: the consistency checks [`Registry::build`] runs;
//! - `decision`: the authorisation decision, [`Registry::authorize`];
//! - `case_no`: case-number patterns, and the numbers no case number may be.

use std::collections::HashMap;

use yrdx_adapters::Schema;
use yrdx_signing::MemberId;

pub mod case_no;
mod checks;
mod decision;
mod documents;

pub use checks::{Fault, Part};
pub use decision::{Ask, Grant};
pub use documents::{
    Entry, EntryStatus, FieldDoc, Member, MemberStatus, Quota, RegistryData, Resource, Role,
    SharingMethod, SharingType, normalise_fingerprint,
};

/// A checked, indexed registry version: what the pipeline consults.
#[derive(Debug)]
pub struct Registry {
    version: i64,
    members: HashMap<MemberId, Member>,
    resources: HashMap<String, Resource>,
    schemas: HashMap<String, Schema>,
    entries: Vec<Entry>,
    by_resource: HashMap<String, Vec<usize>>,
    by_id: HashMap<String, usize>,
}

impl Registry {
    /// The registry version this snapshot was built from.
    pub fn version(&self) -> i64 {
        self.version
    }

    /// A member by id.
    pub fn member(&self, id: &MemberId) -> Option<&Member> {
        self.members.get(id)
    }

    /// Every member.
    pub fn members(&self) -> impl Iterator<Item = &Member> {
        self.members.values()
    }

    /// A catalogue resource by code.
    pub fn resource(&self, code: &str) -> Option<&Resource> {
        self.resources.get(code)
    }

    /// Every catalogue resource.
    pub fn resources(&self) -> impl Iterator<Item = &Resource> {
        self.resources.values()
    }

    /// A resource's schema for the adapters.
    pub fn schema(&self, code: &str) -> Option<&Schema> {
        self.schemas.get(code)
    }

    /// Every list entry.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// A list entry by id.
    pub fn entry(&self, id: &str) -> Option<&Entry> {
        self.by_id.get(id).and_then(|&i| self.entries.get(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, Value, json};

    use crate::error::Refusal;

    const MEMBERS: &str = r#"
[[member]]
id = "zj:11330000002482028A:data"
name = "浙江"
roles = ["consumer", "provider"]
status = "active"
endpoint = "https://zj.example"

[[member]]
id = "js:11320000014000118J:data"
name = "江苏"
roles = ["consumer", "provider"]
status = "active"
endpoint = "https://js.example"

[[member]]
id = "ah:113400000029868223:data"
name = "安徽"
roles = ["consumer"]
status = "active"
groups = ["ah-market-regulation"]

[[resource]]
code = "YRD-SCJG-0001"
name = "企业登记信息"
sharing_type = "conditional"
route_by = "uscc"
key = [{ name = "uscc", name_zh = "代码", type = "uscc", required = true }]
items = [{ name = "name", name_zh = "名称", type = "text" }, { name = "uscc", name_zh = "代码", type = "uscc" }]

[[resource]]
code = "YRD-GA-0009"
name = "涉密户籍信息"
sharing_type = "not_shared"
key = [{ name = "id", name_zh = "号", type = "text" }]
items = [{ name = "x", name_zh = "x", type = "text" }]
"#;

    fn registry(entries: &str) -> Registry {
        let mut data = RegistryData::default();
        crate::add_toml(&mut data, "test.toml", &format!("{MEMBERS}\n{entries}")).unwrap();
        Registry::build(1, data).unwrap()
    }

    fn entry(id: &str, provider: &str, extra: &str) -> String {
        format!(
            r#"
[[entry]]
id = "{id}"
resource = "YRD-SCJG-0001"
provider = "{provider}"
consumers = ["js:11320000014000118J:data"]
purposes = ["核验"]
items = ["name"]
valid_from = 2026-01-01
valid_to = 2026-12-31
status = "active"
deadline_ms = 1000
{extra}
"#
        )
    }

    fn ask<'a>(consumer: &'a MemberId, key: &'a Map<String, Value>, purpose: &'a str) -> Ask<'a> {
        Ask {
            consumer,
            resource: "YRD-SCJG-0001",
            purpose,
            service_item: None,
            case_no: None,
            provider: None,
            key,
            today: time::macros::date!(2026 - 06 - 01),
        }
    }

    fn js() -> MemberId {
        MemberId::parse("js:11320000014000118J:data").unwrap()
    }

    fn key(uscc: &str) -> Map<String, Value> {
        json!({ "uscc": uscc }).as_object().unwrap().clone()
    }

    #[test]
    fn conditional_rows_check_purpose_service_item_and_case_number() {
        let r = registry(&entry(
            "RL-2026-00001",
            "zj:11330000002482028A:data",
            "service_items = [\"SX-001\"]\ncase_no_required = true",
        ));
        let (c, k) = (js(), key("91330106MA27Y9KE3E"));
        assert_eq!(
            r.authorize(&ask(&c, &k, "营销")).unwrap_err(),
            Refusal::PurposeNotAllowed
        );
        assert_eq!(
            r.authorize(&ask(&c, &k, "核验")).unwrap_err(),
            Refusal::ServiceItemRequired
        );
        let mut a = ask(&c, &k, "核验");
        a.service_item = Some("SX-999");
        assert_eq!(r.authorize(&a).unwrap_err(), Refusal::ServiceItemNotAllowed);
        a.service_item = Some("SX-001");
        assert_eq!(r.authorize(&a).unwrap_err(), Refusal::CaseNumberRequired);
        a.case_no = Some("2026-1");
        assert_eq!(r.authorize(&a).unwrap().entry.id, "RL-2026-00001");
    }

    /// A service item sent for a row that lists none is refused, not
    /// ignored; a row's case-number pattern is checked.
    #[test]
    fn service_items_and_case_numbers_are_checked_against_the_row() {
        let r = registry(&entry(
            "RL-2026-00001",
            "zj:11330000002482028A:data",
            "sharing_type = \"unconditional\"",
        ));
        let (c, k) = (js(), key("91330106MA27Y9KE3E"));
        let mut a = ask(&c, &k, "核验");
        assert!(r.authorize(&a).is_ok());
        a.service_item = Some("SX-001");
        assert_eq!(r.authorize(&a).unwrap_err(), Refusal::ServiceItemNotAllowed);

        let r = registry(&entry(
            "RL-2026-00001",
            "zj:11330000002482028A:data",
            "service_items = [\"SX-001\"]\ncase_no_pattern = \"@@-####-*\"",
        ));
        let mut a = ask(&c, &k, "核验");
        a.service_item = Some("SX-001");
        assert!(r.authorize(&a).is_ok(), "no case number: none required");
        a.case_no = Some("SH-2026-1");
        assert!(r.authorize(&a).is_ok());
        a.case_no = Some("2026-1");
        assert_eq!(
            r.authorize(&a).unwrap_err(),
            Refusal::CaseNumberInvalid {
                pattern: "@@-####-*".into()
            }
        );
    }

    #[test]
    fn a_bad_case_number_pattern_is_refused_at_import() {
        let mut data = RegistryData::default();
        let text = format!(
            "{MEMBERS}\n{}",
            entry(
                "RL-2026-00001",
                "zj:11330000002482028A:data",
                "case_no_pattern = \"SH ####\""
            )
        );
        crate::add_toml(&mut data, "t.toml", &text).unwrap();
        let err = Registry::build(1, data).unwrap_err().to_string();
        assert!(err.contains("case_no_pattern"), "{err}");
    }

    #[test]
    fn unconditional_rows_need_only_a_listed_consumer() {
        let r = registry(&entry(
            "RL-2026-00001",
            "zj:11330000002482028A:data",
            "sharing_type = \"unconditional\"",
        ));
        let (c, k) = (js(), key("91330106MA27Y9KE3E"));
        assert!(r.authorize(&ask(&c, &k, "anything")).is_ok());
        let zj = MemberId::parse("zj:11330000002482028A:data").unwrap();
        assert_eq!(
            r.authorize(&ask(&zj, &k, "anything")).unwrap_err(),
            Refusal::NotInList
        );
    }

    #[test]
    fn not_shared_rows_are_refused_citing_their_legal_basis() {
        let r = registry(&entry(
            "RL-2026-00001",
            "zj:11330000002482028A:data",
            "sharing_type = \"not_shared\"\nlegal_basis = \"《中华人民共和国保守国家秘密法》\"",
        ));
        let (c, k) = (js(), key("91330106MA27Y9KE3E"));
        assert_eq!(
            r.authorize(&ask(&c, &k, "核验")).unwrap_err(),
            Refusal::NotShared {
                legal_basis: "《中华人民共和国保守国家秘密法》".into()
            }
        );
    }

    #[test]
    fn a_not_shared_row_without_legal_basis_is_refused_at_import() {
        let mut data = RegistryData::default();
        let text = format!(
            "{MEMBERS}\n{}",
            entry(
                "RL-2026-00001",
                "zj:11330000002482028A:data",
                "sharing_type = \"not_shared\""
            )
        );
        crate::add_toml(&mut data, "t.toml", &text).unwrap();
        let err = Registry::build(1, data).unwrap_err().to_string();
        assert!(err.contains("legal_basis"), "{err}");
    }

    #[test]
    fn groups_list_their_members() {
        let r = registry(&entry(
            "RL-2026-00001",
            "zj:11330000002482028A:data",
            "consumer_groups = [\"ah-market-regulation\"]",
        ));
        let ah = MemberId::parse("ah:113400000029868223:data").unwrap();
        assert!(
            r.authorize(&ask(&ah, &key("91330106MA27Y9KE3E"), "核验"))
                .is_ok()
        );
    }

    #[test]
    fn routing_by_credit_code_picks_the_region_and_expiry_is_named() {
        let two = format!(
            "{}{}",
            entry("RL-2026-00001", "zj:11330000002482028A:data", ""),
            entry("RL-2026-00002", "js:11320000014000118J:data", "")
                .replace("2026-12-31", "2026-03-31")
        );
        let r = registry(&two);
        let c = js();
        assert_eq!(
            r.authorize(&ask(&c, &key("91330106MA27Y9KE3E"), "核验"))
                .unwrap()
                .entry
                .id,
            "RL-2026-00001"
        );
        let k = key("91320100MA1MXX4B2Y");
        assert!(matches!(
            r.authorize(&ask(&c, &k, "核验")),
            Err(Refusal::EntryExpired { .. })
        ));
        let k = key("91320100MA1MXX4B2X");
        assert!(matches!(
            r.authorize(&ask(&c, &k, "核验")),
            Err(Refusal::InvalidRoutingKey { .. })
        ));
    }

    #[test]
    fn certificate_bindings() {
        let mut m = registry("").member(&js()).unwrap().clone();
        let fp = [7u8; 32];
        assert!(
            m.accepts_certificate(&fp),
            "no binding: any certificate of the region"
        );
        m.certificates = vec![yrdx_signing::hex(&fp).to_uppercase()];
        assert!(m.accepts_certificate(&fp));
        assert!(!m.accepts_certificate(&[8u8; 32]));
    }
}
