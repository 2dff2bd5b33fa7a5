//! The registry model: members, the shared catalogue and the data-sharing
//! responsibility list, as documents (what is imported and stored per version)
//! and as a [`Registry`] snapshot (what the pipeline consults, checked for
//! consistency once when it is built).

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::Date;
use yrdx_adapters::{Field, ItemType, Schema};
use yrdx_signing::{MemberId, Region, Uscc};

use crate::error::{Refusal, RegistryError};

/// What a member may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Calls for data held by others.
    Consumer,
    /// Answers for data it holds.
    Provider,
    /// Reads the exchange log and fulfilment reports.
    Regulator,
    /// Runs the exchange.
    Operator,
}

/// Whether a member may take part now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberStatus {
    /// May exchange.
    Active,
    /// Known, but refused until reinstated.
    Suspended,
}

/// A federation member as imported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Member {
    /// `{region}:{uscc}[:{subsystem}]`.
    pub id: MemberId,
    /// Name in Chinese, as registered.
    pub name: String,
    /// Name in English.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_en: Option<String>,
    /// What the member may do.
    pub roles: Vec<Role>,
    /// Active or suspended.
    pub status: MemberStatus,
    /// For providers: the base URL of their platform, `https://host:port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Groups the member belongs to, e.g. `ah-market-regulation`; list entries
    /// may name a group instead of each member.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Certificate bindings: SHA-256 fingerprints (hex) of the client
    /// certificates this member may use. Empty: any certificate its region's CA
    /// issued naming it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<String>,
}

impl Member {
    /// Whether the member holds `role`.
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Whether a certificate with this SHA-256 fingerprint may act for the member.
    pub fn accepts_certificate(&self, fingerprint: &[u8; 32]) -> bool {
        self.certificates.is_empty() || {
            let hex = yrdx_signing::hex(fingerprint);
            self.certificates
                .iter()
                .any(|c| normalise_fingerprint(c) == hex)
        }
    }
}

/// A fingerprint as written (`AB:CD:…` or `abcd…`) in lower-case hex without
/// separators.
pub fn normalise_fingerprint(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_hexdigit())
        .collect::<String>()
        .to_ascii_lowercase()
}

/// How a catalogue resource may be shared (共享类型).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SharingType {
    /// 无条件共享: any listed consumer.
    Unconditional,
    /// 有条件共享: listed consumers for listed purposes (and service items, case
    /// numbers where the entry says so).
    Conditional,
    /// 不予共享: refused, citing the legal basis.
    NotShared,
}

/// How a resource is delivered (共享方式).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SharingMethod {
    /// 接口: per-request API, through the gateway.
    #[default]
    Api,
    /// 批量文件: bulk file delivery, outside the exchange API.
    Bulk,
}

/// A typed field of a resource, as the catalogue declares it (信息项).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldDoc {
    /// snake_case English name (信息项编码).
    pub name: String,
    /// Chinese name (信息项名称).
    pub name_zh: String,
    /// Type, e.g. `text(200)`, `date`, `code` — the length is in the type.
    #[serde(rename = "type")]
    pub ty: ItemType,
    /// Whether it must be present.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub required: bool,
    /// The code list, for `code` items.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub codes: Vec<String>,
    /// The authoritative source of this item (一数之源), e.g. the department
    /// whose register is the reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// A catalogue resource (信息资源) with the core metadata of the catalogue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resource {
    /// `YRD-{domain}-{nnnn}` (信息资源代码).
    pub code: String,
    /// Name in Chinese (信息资源名称).
    pub name: String,
    /// Name in English.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_en: Option<String>,
    /// Classification (信息资源分类), e.g. `基础信息/法人`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classification: Option<String>,
    /// The body responsible for the resource across the region (信息资源提供方).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Its unified social credit code (提供方代码).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_code: Option<Uscc>,
    /// Abstract (信息资源摘要).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Format (信息资源格式), e.g. `JSON`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// How it may be shared.
    pub sharing_type: SharingType,
    /// Sharing conditions (共享条件), in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sharing_conditions: Option<String>,
    /// Sharing method (共享方式).
    #[serde(default, skip_serializing_if = "is_default")]
    pub sharing_method: SharingMethod,
    /// Whether it is also open to the public (是否向社会开放).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub open_to_public: bool,
    /// Update cycle (更新周期), e.g. `实时`, `每日`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_cycle: Option<String>,
    /// Publication date (发布日期).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::dates::option"
    )]
    pub published: Option<Date>,
    /// Related resources (关联资源代码).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<String>,
    /// Service items that use it (关联事项).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_items: Vec<String>,
    /// Catalogue version of the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The key field whose area code picks the provider region when several
    /// regions provide the resource (`uscc`, `resident_id` or `area_code` typed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route_by: Option<String>,
    /// The fields a request key may carry.
    pub key: Vec<FieldDoc>,
    /// The data items of a record (信息项).
    pub items: Vec<FieldDoc>,
}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

impl Resource {
    /// The resource as the adapters see it.
    pub fn schema(&self) -> Schema {
        let field = |f: &FieldDoc| Field {
            name: f.name.clone(),
            ty: f.ty.clone(),
            required: f.required,
            codes: f.codes.clone(),
        };
        Schema {
            resource: self.code.clone(),
            key: self.key.iter().map(field).collect(),
            items: self.items.iter().map(field).collect(),
        }
    }
}

/// Whether a list entry is in force.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryStatus {
    /// Enforced.
    Active,
    /// Kept for the record, never matched.
    Withdrawn,
}

/// The quotas of a list entry, per consumer. Absent means unlimited.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quota {
    /// Sustained calls per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_second: Option<u32>,
    /// Calls allowed at once above the sustained rate (defaults to `per_second`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<u32>,
    /// Calls per calendar day (China Standard Time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_day: Option<u64>,
    /// Calls per calendar month (China Standard Time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_month: Option<u64>,
    /// Records per call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows_per_call: Option<u32>,
}

impl Quota {
    /// Whether no limit is set.
    pub fn is_unlimited(&self) -> bool {
        *self == Quota::default()
    }
}

/// One row of the data-sharing responsibility list (数据共享责任清单).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// `RL-{yyyy}-{nnnnn}` (清单编号).
    pub id: String,
    /// The catalogue resource.
    pub resource: String,
    /// The member that provides it.
    pub provider: MemberId,
    /// The provider's contact (联系人及方式).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    /// The sharing type of this row; the resource's when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sharing_type: Option<SharingType>,
    /// Sharing conditions in words (共享条件).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<String>,
    /// Legal basis (法律依据); mandatory for not-shared rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<String>,
    /// Sharing method; the resource's when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sharing_method: Option<SharingMethod>,
    /// Update cycle (更新周期).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_cycle: Option<String>,
    /// Freshness promised (数据时效), in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freshness: Option<String>,
    /// The members that may take it.
    #[serde(default)]
    pub consumers: Vec<MemberId>,
    /// Member groups that may take it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consumer_groups: Vec<String>,
    /// The purposes it may be taken for (conditional rows).
    #[serde(default)]
    pub purposes: Vec<String>,
    /// The service items it may be taken for; any when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_items: Vec<String>,
    /// Whether a request must carry a case number (办件编号).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub case_no_required: bool,
    /// The items granted; every other item is removed before the consumer sees it.
    #[serde(default)]
    pub items: Vec<String>,
    /// First day in force (China Standard Time).
    #[serde(with = "crate::dates")]
    pub valid_from: Date,
    /// Last day in force (China Standard Time).
    #[serde(with = "crate::dates")]
    pub valid_to: Date,
    /// Active or withdrawn.
    pub status: EntryStatus,
    /// Reply time limit for the provider, in milliseconds (答复时限).
    pub deadline_ms: u64,
    /// Quotas per consumer.
    #[serde(default, skip_serializing_if = "Quota::is_unlimited")]
    pub quota: Quota,
}

/// Everything one import brings: members, catalogue and list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryData {
    /// Federation members.
    #[serde(default)]
    pub members: Vec<Member>,
    /// Catalogue resources.
    #[serde(default)]
    pub catalogue: Vec<Resource>,
    /// Responsibility-list entries.
    #[serde(default)]
    pub list: Vec<Entry>,
}

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

/// What a consumer asks for, as the authorize stage sees it.
#[derive(Debug, Clone, Copy)]
pub struct Ask<'a> {
    /// The identified consumer.
    pub consumer: &'a MemberId,
    /// The catalogue resource.
    pub resource: &'a str,
    /// The declared purpose.
    pub purpose: &'a str,
    /// The service item code, if given.
    pub service_item: Option<&'a str>,
    /// The case number, if given.
    pub case_no: Option<&'a str>,
    /// An explicit provider: a member id or a region code.
    pub provider: Option<&'a str>,
    /// The request key, for routing by area code.
    pub key: &'a Map<String, Value>,
    /// Today in China Standard Time.
    pub today: Date,
}

/// What authorize grants: the entry that allows the exchange.
#[derive(Debug, Clone, Copy)]
pub struct Grant<'r> {
    /// The responsibility-list entry.
    pub entry: &'r Entry,
    /// The catalogue resource.
    pub resource: &'r Resource,
    /// The provider member.
    pub provider: &'r Member,
}

impl Entry {
    /// The row's sharing type: its own, else its resource's.
    pub fn sharing(&self, resource: &Resource) -> SharingType {
        self.sharing_type.unwrap_or(resource.sharing_type)
    }

    /// Whether `member` is listed, by id or by group.
    pub fn lists(&self, member: &Member) -> bool {
        self.consumers.contains(&member.id)
            || member
                .groups
                .iter()
                .any(|g| self.consumer_groups.contains(g))
    }
}

impl Registry {
    /// Checks the data for consistency and indexes it. Every error names the
    /// document, the row and the field.
    pub fn build(version: i64, data: RegistryData) -> Result<Registry, RegistryError> {
        let bad = |at: String, problem: String| RegistryError::Inconsistent { at, problem };
        let mut members = HashMap::new();
        for (i, m) in data.members.into_iter().enumerate() {
            let at = format!("members[{i}] {}", m.id);
            if m.has_role(Role::Provider) {
                match &m.endpoint {
                    Some(url) if url.starts_with("https://") => {}
                    Some(_) => {
                        return Err(bad(
                            format!("{at}: endpoint"),
                            "must be an https:// URL".into(),
                        ));
                    }
                    None => {
                        return Err(bad(
                            format!("{at}: endpoint"),
                            "a provider needs an endpoint".into(),
                        ));
                    }
                }
            }
            for (j, c) in m.certificates.iter().enumerate() {
                if normalise_fingerprint(c).len() != 64 {
                    return Err(bad(
                        format!("{at}: certificates[{j}]"),
                        "not a SHA-256 fingerprint (64 hex digits)".into(),
                    ));
                }
            }
            for (j, g) in m.groups.iter().enumerate() {
                check_group(g).map_err(|p| bad(format!("{at}: groups[{j}]"), p))?;
            }
            if let Some(prev) = members.insert(m.id.clone(), m) {
                return Err(bad(
                    format!("members[{i}]"),
                    format!("duplicate member {}", prev.id),
                ));
            }
        }
        let groups: HashSet<&str> = members
            .values()
            .flat_map(|m| m.groups.iter().map(String::as_str))
            .collect();
        let mut resources = HashMap::new();
        let mut schemas = HashMap::new();
        for (i, r) in data.catalogue.into_iter().enumerate() {
            let at = format!("catalogue[{i}] {}", r.code);
            check_resource_code(&r.code).map_err(|p| bad(format!("{at}: code"), p))?;
            let mut names = HashSet::new();
            for (j, item) in r.items.iter().enumerate() {
                if !names.insert(item.name.as_str()) {
                    return Err(bad(
                        format!("{at}: items[{j}]"),
                        format!("duplicate item `{}`", item.name),
                    ));
                }
                if item.ty == ItemType::Code && item.codes.is_empty() {
                    return Err(bad(
                        format!("{at}: items[{j}] {}", item.name),
                        "a code item needs its code list".into(),
                    ));
                }
            }
            if let Some(route) = &r.route_by {
                let field = r.key.iter().find(|k| &k.name == route).ok_or_else(|| {
                    bad(
                        format!("{at}: route_by"),
                        format!("`{route}` is not a key field"),
                    )
                })?;
                if !matches!(
                    field.ty,
                    ItemType::Uscc | ItemType::ResidentId | ItemType::AreaCode
                ) {
                    return Err(bad(
                        format!("{at}: route_by"),
                        "the routing key must be a uscc, resident_id or area_code".into(),
                    ));
                }
            }
            schemas.insert(r.code.clone(), r.schema());
            if let Some(prev) = resources.insert(r.code.clone(), r) {
                return Err(bad(
                    format!("catalogue[{i}]"),
                    format!("duplicate resource {}", prev.code),
                ));
            }
        }
        let mut by_resource: HashMap<String, Vec<usize>> = HashMap::new();
        let mut by_id = HashMap::new();
        for (i, e) in data.list.iter().enumerate() {
            let at = format!("list[{i}] {}", e.id);
            check_entry_id(&e.id).map_err(|p| bad(format!("{at}: id"), p))?;
            if by_id.insert(e.id.clone(), i).is_some() {
                return Err(bad(at, "duplicate entry id".into()));
            }
            let resource = resources.get(&e.resource).ok_or_else(|| {
                bad(
                    format!("{at}: resource"),
                    format!("`{}` is not in the catalogue", e.resource),
                )
            })?;
            let provider = members.get(&e.provider).ok_or_else(|| {
                bad(
                    format!("{at}: provider"),
                    format!("`{}` is not a member", e.provider),
                )
            })?;
            if !provider.has_role(Role::Provider) {
                return Err(bad(
                    format!("{at}: provider"),
                    format!("`{}` does not hold the provider role", e.provider),
                ));
            }
            for (j, c) in e.consumers.iter().enumerate() {
                if !members.contains_key(c) {
                    return Err(bad(
                        format!("{at}: consumers[{j}]"),
                        format!("`{c}` is not a member"),
                    ));
                }
            }
            for (j, g) in e.consumer_groups.iter().enumerate() {
                if !groups.contains(g.as_str()) {
                    return Err(bad(
                        format!("{at}: consumer_groups[{j}]"),
                        format!("no member is in group `{g}`"),
                    ));
                }
            }
            for (j, item) in e.items.iter().enumerate() {
                if !resource.items.iter().any(|i| &i.name == item) {
                    return Err(bad(
                        format!("{at}: items[{j}]"),
                        format!("`{item}` is not an item of {}", e.resource),
                    ));
                }
            }
            match e.sharing(resource) {
                SharingType::NotShared => {
                    if e.legal_basis.as_deref().is_none_or(|b| b.trim().is_empty()) {
                        return Err(bad(
                            format!("{at}: legal_basis"),
                            "a not-shared row must cite its legal basis".into(),
                        ));
                    }
                }
                SharingType::Conditional => {
                    if e.purposes.is_empty() {
                        return Err(bad(
                            format!("{at}: purposes"),
                            "a conditional row must list its purposes".into(),
                        ));
                    }
                    if e.items.is_empty() {
                        return Err(bad(
                            format!("{at}: items"),
                            "a shared row must grant items".into(),
                        ));
                    }
                }
                SharingType::Unconditional => {
                    if e.items.is_empty() {
                        return Err(bad(
                            format!("{at}: items"),
                            "a shared row must grant items".into(),
                        ));
                    }
                }
            }
            if e.valid_to < e.valid_from {
                return Err(bad(
                    format!("{at}: valid_to"),
                    "ends before valid_from".into(),
                ));
            }
            if e.deadline_ms == 0 || e.deadline_ms > 120_000 {
                return Err(bad(
                    format!("{at}: deadline_ms"),
                    "must be 1 to 120000".into(),
                ));
            }
            let q = &e.quota;
            if q.per_second == Some(0) || q.burst == Some(0) || q.rows_per_call == Some(0) {
                return Err(bad(
                    format!("{at}: quota"),
                    "per_second, burst and rows_per_call must be at least 1 when set".into(),
                ));
            }
            if q.burst.is_some() && q.per_second.is_none() {
                return Err(bad(
                    format!("{at}: quota.burst"),
                    "a burst needs a per_second rate".into(),
                ));
            }
            by_resource.entry(e.resource.clone()).or_default().push(i);
        }
        Ok(Registry {
            version,
            members,
            resources,
            schemas,
            entries: data.list,
            by_resource,
            by_id,
        })
    }

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

    /// Finds the entry that lets `ask.consumer` take `ask.resource` now.
    ///
    /// The checks run in this order, and the refusal names the first that
    /// leaves no entry: resource in the catalogue; provider (named, or routed by
    /// the key's area code); not-shared rows (refused citing their legal basis);
    /// consumer listed (by id or group); in force today; and for conditional rows
    /// the purpose, the service item and the case number.
    pub fn authorize(&self, ask: &Ask<'_>) -> Result<Grant<'_>, Refusal> {
        let resource = self
            .resources
            .get(ask.resource)
            .ok_or(Refusal::UnknownResource)?;
        let consumer = self.members.get(ask.consumer).ok_or(Refusal::NotInList)?;
        let mut candidates: Vec<&Entry> = self
            .by_resource
            .get(ask.resource)
            .into_iter()
            .flatten()
            .filter_map(|&i| self.entries.get(i))
            .filter(|e| e.status == EntryStatus::Active)
            .collect();
        if let Some(hint) = ask.provider {
            candidates.retain(|e| provider_matches(&e.provider, hint));
        } else if let Some(region) = routed_region(resource, ask.key)? {
            candidates.retain(|e| e.provider.region() == region);
        }
        if candidates.is_empty() {
            return Err(Refusal::NotInList);
        }
        if resource.sharing_type == SharingType::NotShared
            || candidates
                .iter()
                .all(|e| e.sharing(resource) == SharingType::NotShared)
        {
            let basis = candidates
                .iter()
                .find(|e| e.sharing(resource) == SharingType::NotShared)
                .and_then(|e| e.legal_basis.clone())
                .or_else(|| resource.sharing_conditions.clone())
                .unwrap_or_default();
            return Err(Refusal::NotShared { legal_basis: basis });
        }
        candidates.retain(|e| e.sharing(resource) != SharingType::NotShared);

        let listed: Vec<&Entry> = candidates
            .into_iter()
            .filter(|e| e.lists(consumer))
            .collect();
        if listed.is_empty() {
            return Err(Refusal::NotInList);
        }
        let in_force: Vec<&Entry> = listed
            .iter()
            .copied()
            .filter(|e| e.valid_from <= ask.today && ask.today <= e.valid_to)
            .collect();
        if in_force.is_empty() {
            let expired = listed.iter().find(|e| e.valid_to < ask.today);
            return Err(match expired {
                Some(e) => Refusal::EntryExpired {
                    entry: e.id.clone(),
                    valid_to: e.valid_to,
                },
                None => Refusal::EntryNotYetValid,
            });
        }
        let conditional = |e: &&Entry| e.sharing(resource) == SharingType::Conditional;
        let for_purpose: Vec<&Entry> = in_force
            .into_iter()
            .filter(|e| !conditional(e) || e.purposes.iter().any(|p| p == ask.purpose))
            .collect();
        if for_purpose.is_empty() {
            return Err(Refusal::PurposeNotAllowed);
        }
        let for_item: Vec<&Entry> = for_purpose
            .iter()
            .copied()
            .filter(|e| {
                !conditional(e)
                    || e.service_items.is_empty()
                    || ask
                        .service_item
                        .is_some_and(|s| e.service_items.iter().any(|x| x == s))
            })
            .collect();
        if for_item.is_empty() {
            return Err(match ask.service_item {
                None => Refusal::ServiceItemRequired,
                Some(_) => Refusal::ServiceItemNotAllowed,
            });
        }
        let with_case: Vec<&Entry> = for_item
            .iter()
            .copied()
            .filter(|e| !conditional(e) || !e.case_no_required || ask.case_no.is_some())
            .collect();
        let entry = match with_case.as_slice() {
            [] => return Err(Refusal::CaseNumberRequired),
            [one] => *one,
            _ => return Err(Refusal::AmbiguousProvider),
        };
        let provider = self
            .members
            .get(&entry.provider)
            .ok_or(Refusal::NotInList)?;
        Ok(Grant {
            entry,
            resource,
            provider,
        })
    }
}

fn provider_matches(provider: &MemberId, hint: &str) -> bool {
    match hint.parse::<Region>() {
        Ok(region) => provider.region() == region,
        Err(_) => provider.to_string() == hint,
    }
}

/// The region named by the area code inside the resource's routing key, if the
/// resource routes and the key carries it: USCC positions 3–4, resident id or
/// area code positions 1–2.
fn routed_region(resource: &Resource, key: &Map<String, Value>) -> Result<Option<Region>, Refusal> {
    let Some(field) = resource.route_by.as_ref() else {
        return Ok(None);
    };
    let Some(def) = resource.key.iter().find(|k| &k.name == field) else {
        return Ok(None);
    };
    let Some(value) = key.get(field).and_then(Value::as_str) else {
        return Ok(None);
    };
    let invalid = || Refusal::InvalidRoutingKey {
        field: field.clone(),
        expected: def.ty.to_string(),
    };
    let prefix = match def.ty {
        ItemType::Uscc => Uscc::parse(value)
            .map_err(|_| invalid())?
            .area_code()
            .get(..2)
            .map(str::to_owned),
        ItemType::ResidentId => {
            yrdx_signing::check_resident_id(value).map_err(|_| invalid())?;
            value.get(..2).map(str::to_owned)
        }
        _ => value
            .get(..2)
            .filter(|p| p.bytes().all(|b| b.is_ascii_digit()))
            .map(str::to_owned),
    }
    .ok_or_else(invalid)?;
    // A code from outside the four provinces matches no provider.
    Ok(Some(
        Region::ALL
            .into_iter()
            .find(|r| r.area_prefix() == prefix)
            .ok_or(Refusal::NotInList)?,
    ))
}

fn check_resource_code(code: &str) -> Result<(), String> {
    let mut parts = code.split('-');
    let ok = parts.next() == Some("YRD")
        && parts.next().is_some_and(|d| {
            (2..=8).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_uppercase())
        })
        && parts
            .next()
            .is_some_and(|n| n.len() == 4 && n.bytes().all(|b| b.is_ascii_digit()))
        && parts.next().is_none();
    if ok {
        Ok(())
    } else {
        Err(format!("`{code}` is not YRD-{{DOMAIN}}-{{nnnn}}"))
    }
}

fn check_entry_id(id: &str) -> Result<(), String> {
    let mut parts = id.split('-');
    let ok = parts.next() == Some("RL")
        && parts
            .next()
            .is_some_and(|y| y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()))
        && parts
            .next()
            .is_some_and(|n| n.len() == 5 && n.bytes().all(|b| b.is_ascii_digit()))
        && parts.next().is_none();
    if ok {
        Ok(())
    } else {
        Err(format!("`{id}` is not RL-{{yyyy}}-{{nnnnn}}"))
    }
}

fn check_group(g: &str) -> Result<(), String> {
    if (1..=64).contains(&g.len())
        && g.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        Ok(())
    } else {
        Err(format!(
            "group `{g}` must be 1-64 characters of a-z, 0-9 and -"
        ))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Consumer => "consumer",
            Role::Provider => "provider",
            Role::Regulator => "regulator",
            Role::Operator => "operator",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
