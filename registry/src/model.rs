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
}

impl Member {
    /// Whether the member holds `role`.
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// How a catalogue resource may be shared (共享类型).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SharingType {
    /// 无条件共享: any listed consumer.
    Unconditional,
    /// 有条件共享: listed consumers for listed purposes.
    Conditional,
    /// 不予共享: refused, citing the legal basis.
    NotShared,
}

/// A typed field of a resource, as the catalogue file declares it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldDoc {
    /// snake_case English name.
    pub name: String,
    /// Chinese name.
    pub name_zh: String,
    /// Type, e.g. `text(200)`, `date`, `code`.
    #[serde(rename = "type")]
    pub ty: ItemType,
    /// Whether it must be present.
    #[serde(default)]
    pub required: bool,
    /// The code list, for `code` items.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub codes: Vec<String>,
}

/// A catalogue resource (信息资源) as imported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resource {
    /// `YRD-{domain}-{nnnn}`.
    pub code: String,
    /// Name in Chinese.
    pub name: String,
    /// Name in English.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_en: Option<String>,
    /// How it may be shared.
    pub sharing_type: SharingType,
    /// The key field whose area code picks the provider region when several
    /// regions provide the resource (`uscc`, `resident_id` or `area_code` typed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route_by: Option<String>,
    /// The fields a request key may carry.
    pub key: Vec<FieldDoc>,
    /// The data items of a record.
    pub items: Vec<FieldDoc>,
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

/// One row of the data-sharing responsibility list (数据共享责任清单).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// `RL-{yyyy}-{nnnnn}`.
    pub id: String,
    /// The catalogue resource.
    pub resource: String,
    /// The member that provides it.
    pub provider: MemberId,
    /// The members that may take it.
    pub consumers: Vec<MemberId>,
    /// The purposes it may be taken for.
    pub purposes: Vec<String>,
    /// The items granted; every other item is removed before the consumer sees it.
    pub items: Vec<String>,
    /// First day in force (China Standard Time).
    #[serde(with = "crate::dates")]
    pub valid_from: Date,
    /// Last day in force (China Standard Time).
    #[serde(with = "crate::dates")]
    pub valid_to: Date,
    /// Active or withdrawn.
    pub status: EntryStatus,
    /// Reply time limit for the provider, in milliseconds.
    pub deadline_ms: u64,
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

impl Registry {
    /// Checks the data for consistency and indexes it. Every error names the
    /// document, the row and the field.
    pub fn build(version: i64, data: RegistryData) -> Result<Registry, RegistryError> {
        let bad = |at: String, problem: String| RegistryError::Inconsistent { at, problem };
        let mut members = HashMap::new();
        for (i, m) in data.members.into_iter().enumerate() {
            if m.has_role(Role::Provider) {
                match &m.endpoint {
                    Some(url) if url.starts_with("https://") => {}
                    Some(_) => {
                        return Err(bad(
                            format!("members[{i}] {}: endpoint", m.id),
                            "must be an https:// URL".into(),
                        ));
                    }
                    None => {
                        return Err(bad(
                            format!("members[{i}] {}: endpoint", m.id),
                            "a provider needs an endpoint".into(),
                        ));
                    }
                }
            }
            if let Some(prev) = members.insert(m.id.clone(), m) {
                return Err(bad(
                    format!("members[{i}]"),
                    format!("duplicate member {}", prev.id),
                ));
            }
        }
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
        let mut ids = HashSet::new();
        for (i, e) in data.list.iter().enumerate() {
            let at = format!("list[{i}] {}", e.id);
            check_entry_id(&e.id).map_err(|p| bad(format!("{at}: id"), p))?;
            if !ids.insert(e.id.as_str()) {
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
            for (j, item) in e.items.iter().enumerate() {
                if !resource.items.iter().any(|i| &i.name == item) {
                    return Err(bad(
                        format!("{at}: items[{j}]"),
                        format!("`{item}` is not an item of {}", e.resource),
                    ));
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
            by_resource.entry(e.resource.clone()).or_default().push(i);
        }
        Ok(Registry {
            version,
            members,
            resources,
            schemas,
            entries: data.list,
            by_resource,
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

    /// A resource's schema for the adapters.
    pub fn schema(&self, code: &str) -> Option<&Schema> {
        self.schemas.get(code)
    }

    /// Every list entry.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Finds the entry that lets `ask.consumer` take `ask.resource` for
    /// `ask.purpose` today, choosing the provider by explicit hint or by the
    /// routing key's area code. The refusal says which check failed first, in
    /// this order: resource, provider, consumer, validity, purpose.
    pub fn authorize(&self, ask: &Ask<'_>) -> Result<Grant<'_>, Refusal> {
        let resource = self
            .resources
            .get(ask.resource)
            .ok_or(Refusal::UnknownResource)?;
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
            if candidates.is_empty() {
                return Err(Refusal::NotInList);
            }
        }
        let for_consumer: Vec<&Entry> = candidates
            .into_iter()
            .filter(|e| e.consumers.contains(ask.consumer))
            .collect();
        if for_consumer.is_empty() {
            return Err(Refusal::NotInList);
        }
        let in_force: Vec<&Entry> = for_consumer
            .iter()
            .copied()
            .filter(|e| e.valid_from <= ask.today && ask.today <= e.valid_to)
            .collect();
        if in_force.is_empty() {
            let expired = for_consumer.iter().find(|e| e.valid_to < ask.today);
            return Err(match expired {
                Some(e) => Refusal::EntryExpired {
                    entry: e.id.clone(),
                    valid_to: e.valid_to,
                },
                None => Refusal::EntryNotYetValid,
            });
        }
        let allowed: Vec<&Entry> = in_force
            .into_iter()
            .filter(|e| e.purposes.iter().any(|p| p == ask.purpose))
            .collect();
        let entry = match allowed.as_slice() {
            [] => return Err(Refusal::PurposeNotAllowed),
            [one] => *one,
            several => route(resource, ask.key, several)?,
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

/// Picks among entries of several providers by the area code inside the routing
/// key: USCC positions 3–4, resident id or area code positions 1–2.
fn route<'e>(
    resource: &Resource,
    key: &Map<String, Value>,
    entries: &[&'e Entry],
) -> Result<&'e Entry, Refusal> {
    let field = resource
        .route_by
        .as_ref()
        .ok_or(Refusal::AmbiguousProvider)?;
    let def = resource
        .key
        .iter()
        .find(|k| &k.name == field)
        .ok_or(Refusal::AmbiguousProvider)?;
    let value = key
        .get(field)
        .and_then(Value::as_str)
        .ok_or(Refusal::AmbiguousProvider)?;
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
    let region = Region::ALL
        .into_iter()
        .find(|r| r.area_prefix() == prefix)
        .ok_or(Refusal::AmbiguousProvider)?;
    let mut matching = entries.iter().filter(|e| e.provider.region() == region);
    match (matching.next(), matching.next()) {
        (Some(e), None) => Ok(e),
        (None, _) => Err(Refusal::NotInList),
        (Some(_), Some(_)) => Err(Refusal::AmbiguousProvider),
    }
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

/// Drops every item of `record` the entry does not grant. Returns the names of
/// the items kept, in catalogue order, for the exchange record.
pub fn minimise(record: &mut Map<String, Value>, entry: &Entry) -> Vec<String> {
    record.retain(|k, _| entry.items.iter().any(|i| i == k));
    let mut kept: Vec<String> = record.keys().cloned().collect();
    kept.sort();
    kept
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
