//! The consistency checks a registry version passes before the pipeline may
//! consult it. [`Registry::build`] runs them row by row, in the order listed
//! there, and stops at the first that fails; each is one function here.

use std::collections::{HashMap, HashSet};

use yrdx_adapters::{ItemType, Schema};
use yrdx_signing::MemberId;

use super::{
    Entry, Member, Registry, RegistryData, Resource, Role, SharingType, normalise_fingerprint,
};
use crate::error::RegistryError;

/// Members by id.
type Members = HashMap<MemberId, Member>;
/// Catalogue resources by code.
type Resources = HashMap<String, Resource>;

impl Registry {
    /// Checks the data for consistency and indexes it. Every error names the
    /// document, the row and the field.
    ///
    /// Each member in turn: a provider's endpoint, its certificate
    /// fingerprints, its group names, a unique id. Then each catalogue
    /// resource: its code, its items, its routing key, a unique code. Then each
    /// list entry: its id (well-formed, unique), its resource, its provider,
    /// its consumers and consumer groups, its items, what its sharing type
    /// requires, its validity, its reply deadline and its quota.
    pub fn build(version: i64, data: RegistryData) -> Result<Registry, RegistryError> {
        let members = index_members(data.members)?;
        let groups: HashSet<&str> = members
            .values()
            .flat_map(|m| m.groups.iter().map(String::as_str))
            .collect();
        let (resources, schemas) = index_catalogue(data.catalogue)?;
        let (by_resource, by_id) = index_list(&data.list, &members, &groups, &resources)?;
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
}

fn bad(at: String, problem: String) -> RegistryError {
    RegistryError::Inconsistent { at, problem }
}

/// Checks each member and indexes them by id.
fn index_members(list: Vec<Member>) -> Result<Members, RegistryError> {
    let mut members = HashMap::new();
    for (i, m) in list.into_iter().enumerate() {
        let at = format!("members[{i}] {}", m.id);
        check_endpoint(&at, &m)?;
        check_certificates(&at, &m)?;
        check_groups(&at, &m)?;
        if let Some(prev) = members.insert(m.id.clone(), m) {
            return Err(bad(
                format!("members[{i}]"),
                format!("duplicate member {}", prev.id),
            ));
        }
    }
    Ok(members)
}

/// A provider has an `https://` endpoint.
fn check_endpoint(at: &str, m: &Member) -> Result<(), RegistryError> {
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
    Ok(())
}

/// Every certificate binding is a SHA-256 fingerprint.
fn check_certificates(at: &str, m: &Member) -> Result<(), RegistryError> {
    for (j, c) in m.certificates.iter().enumerate() {
        if normalise_fingerprint(c).len() != 64 {
            return Err(bad(
                format!("{at}: certificates[{j}]"),
                "not a SHA-256 fingerprint (64 hex digits)".into(),
            ));
        }
    }
    Ok(())
}

/// Every group name is well-formed.
fn check_groups(at: &str, m: &Member) -> Result<(), RegistryError> {
    for (j, g) in m.groups.iter().enumerate() {
        check_group(g).map_err(|p| bad(format!("{at}: groups[{j}]"), p))?;
    }
    Ok(())
}

/// Checks each catalogue resource and indexes them, and their schemas, by code.
fn index_catalogue(
    catalogue: Vec<Resource>,
) -> Result<(Resources, HashMap<String, Schema>), RegistryError> {
    let mut resources = HashMap::new();
    let mut schemas = HashMap::new();
    for (i, r) in catalogue.into_iter().enumerate() {
        let at = format!("catalogue[{i}] {}", r.code);
        check_resource_code(&r.code).map_err(|p| bad(format!("{at}: code"), p))?;
        check_resource_items(&at, &r)?;
        check_route_by(&at, &r)?;
        schemas.insert(r.code.clone(), r.schema());
        if let Some(prev) = resources.insert(r.code.clone(), r) {
            return Err(bad(
                format!("catalogue[{i}]"),
                format!("duplicate resource {}", prev.code),
            ));
        }
    }
    Ok((resources, schemas))
}

/// Item names are unique, and a code item has its code list.
fn check_resource_items(at: &str, r: &Resource) -> Result<(), RegistryError> {
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
    Ok(())
}

/// The routing key, if any, is a key field holding an area code.
fn check_route_by(at: &str, r: &Resource) -> Result<(), RegistryError> {
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
    Ok(())
}

/// List entries by resource code, and by id, as indexes into the list.
type ListIndexes = (HashMap<String, Vec<usize>>, HashMap<String, usize>);

/// Checks each list entry against the members and the catalogue, and indexes
/// the list.
fn index_list(
    list: &[Entry],
    members: &Members,
    groups: &HashSet<&str>,
    resources: &Resources,
) -> Result<ListIndexes, RegistryError> {
    let mut by_resource: HashMap<String, Vec<usize>> = HashMap::new();
    let mut by_id = HashMap::new();
    for (i, e) in list.iter().enumerate() {
        let at = format!("list[{i}] {}", e.id);
        check_entry_id(&e.id).map_err(|p| bad(format!("{at}: id"), p))?;
        if by_id.insert(e.id.clone(), i).is_some() {
            return Err(bad(at, "duplicate entry id".into()));
        }
        let resource = entry_resource(&at, e, resources)?;
        check_provider(&at, e, members)?;
        check_consumers(&at, e, members)?;
        check_consumer_groups(&at, e, groups)?;
        check_entry_items(&at, e, resource)?;
        check_sharing(&at, e, resource)?;
        check_validity(&at, e)?;
        check_deadline(&at, e)?;
        check_quota(&at, e)?;
        by_resource.entry(e.resource.clone()).or_default().push(i);
    }
    Ok((by_resource, by_id))
}

/// The entry's resource is in the catalogue.
fn entry_resource<'r>(
    at: &str,
    e: &Entry,
    resources: &'r Resources,
) -> Result<&'r Resource, RegistryError> {
    resources.get(&e.resource).ok_or_else(|| {
        bad(
            format!("{at}: resource"),
            format!("`{}` is not in the catalogue", e.resource),
        )
    })
}

/// The provider is a member holding the provider role.
fn check_provider(at: &str, e: &Entry, members: &Members) -> Result<(), RegistryError> {
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
    Ok(())
}

/// Every listed consumer is a member.
fn check_consumers(at: &str, e: &Entry, members: &Members) -> Result<(), RegistryError> {
    for (j, c) in e.consumers.iter().enumerate() {
        if !members.contains_key(c) {
            return Err(bad(
                format!("{at}: consumers[{j}]"),
                format!("`{c}` is not a member"),
            ));
        }
    }
    Ok(())
}

/// Every listed consumer group has a member.
fn check_consumer_groups(at: &str, e: &Entry, groups: &HashSet<&str>) -> Result<(), RegistryError> {
    for (j, g) in e.consumer_groups.iter().enumerate() {
        if !groups.contains(g.as_str()) {
            return Err(bad(
                format!("{at}: consumer_groups[{j}]"),
                format!("no member is in group `{g}`"),
            ));
        }
    }
    Ok(())
}

/// Every granted item is an item of the resource.
fn check_entry_items(at: &str, e: &Entry, resource: &Resource) -> Result<(), RegistryError> {
    for (j, item) in e.items.iter().enumerate() {
        if !resource.items.iter().any(|i| &i.name == item) {
            return Err(bad(
                format!("{at}: items[{j}]"),
                format!("`{item}` is not an item of {}", e.resource),
            ));
        }
    }
    Ok(())
}

/// A not-shared row cites its legal basis; a conditional row lists its
/// purposes; a shared row grants items.
fn check_sharing(at: &str, e: &Entry, resource: &Resource) -> Result<(), RegistryError> {
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
            check_grants_items(at, e)?;
        }
        SharingType::Unconditional => check_grants_items(at, e)?,
    }
    Ok(())
}

/// A shared row grants items.
fn check_grants_items(at: &str, e: &Entry) -> Result<(), RegistryError> {
    if e.items.is_empty() {
        return Err(bad(
            format!("{at}: items"),
            "a shared row must grant items".into(),
        ));
    }
    Ok(())
}

/// The entry does not end before it starts.
fn check_validity(at: &str, e: &Entry) -> Result<(), RegistryError> {
    if e.valid_to < e.valid_from {
        return Err(bad(
            format!("{at}: valid_to"),
            "ends before valid_from".into(),
        ));
    }
    Ok(())
}

/// The reply deadline is 1 ms to 2 minutes.
fn check_deadline(at: &str, e: &Entry) -> Result<(), RegistryError> {
    if e.deadline_ms == 0 || e.deadline_ms > 120_000 {
        return Err(bad(
            format!("{at}: deadline_ms"),
            "must be 1 to 120000".into(),
        ));
    }
    Ok(())
}

/// Set limits are at least 1, and a burst comes with a rate.
fn check_quota(at: &str, e: &Entry) -> Result<(), RegistryError> {
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
    Ok(())
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
