//! The consistency checks a registry version passes before the pipeline may
//! consult it. [`Registry::build`] runs them all, row by row, in the order
//! listed there, and reports every failure together; each is one function
//! here. A failure is a [`Fault`]: which part, which row, which field, and
//! the value, so that an import can name the spreadsheet cell it came from.

use std::collections::{HashMap, HashSet};

use yrdx_adapters::{ItemType, Schema};
use yrdx_signing::{MemberId, Uscc};

use super::{
    Entry, EntryStatus, Member, Registry, RegistryData, Resource, Role, SharingType,
    normalise_fingerprint,
};
use crate::error::RegistryError;

/// Members by id.
type Members = HashMap<MemberId, Member>;
/// Catalogue resources by code.
type Resources = HashMap<String, Resource>;

/// Which part of the registry a fault is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// `members`.
    Members,
    /// `catalogue`.
    Catalogue,
    /// `list`.
    List,
}

/// One failed check: where, which field, the value, and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    /// The part.
    pub part: Part,
    /// The row's index in its part.
    pub index: usize,
    /// The row's id or code.
    pub id: String,
    /// The field, as the TOML documents name it (`consumers[1]`, `quota.burst`).
    pub field: String,
    /// The field's value as text.
    pub value: String,
    /// What is wrong.
    pub problem: String,
}

impl Fault {
    /// The fault as an error naming the document, row and field.
    pub fn to_error(&self) -> RegistryError {
        let part = match self.part {
            Part::Members => "members",
            Part::Catalogue => "catalogue",
            Part::List => "list",
        };
        let field = if self.field.is_empty() {
            String::new()
        } else {
            format!(": {}", self.field)
        };
        RegistryError::Inconsistent {
            at: format!("{part}[{}] {}{field}", self.index, self.id),
            problem: self.problem.clone(),
        }
    }
}

/// A check's failure before it is placed: (field, value, problem).
type Bad = (String, String, String);

fn bad(field: impl Into<String>, value: impl Into<String>, problem: impl Into<String>) -> Bad {
    (field.into(), value.into(), problem.into())
}

/// Collects the faults of one part.
struct Faults<'f> {
    out: &'f mut Vec<Fault>,
    part: Part,
}

impl Faults<'_> {
    fn push(&mut self, index: usize, id: &str, result: Result<(), Bad>) {
        if let Err((field, value, problem)) = result {
            self.out.push(Fault {
                part: self.part,
                index,
                id: id.to_owned(),
                field,
                value,
                problem,
            });
        }
    }
}

impl Registry {
    /// Checks the data for consistency and indexes it. Every error names the
    /// document, the row and the field; several are reported together.
    ///
    /// Each member in turn: a provider's endpoint, its certificate
    /// fingerprints, its group names, a unique id. Then each catalogue
    /// resource: its code, its items, its routing key, a unique code. Then each
    /// list entry: its id (well-formed, unique), its resource, its provider,
    /// its consumers and consumer groups, its items, what its sharing type
    /// requires, its validity, its reply deadline, its quota, and no overlap
    /// with an earlier active entry for the same resource, provider and
    /// consumer.
    pub fn build(version: i64, data: RegistryData) -> Result<Registry, RegistryError> {
        Registry::build_checked(version, data).map_err(|faults| {
            let mut errors: Vec<RegistryError> = faults.iter().map(Fault::to_error).collect();
            match errors.len() {
                1 => errors.remove(0),
                _ => RegistryError::Many(errors),
            }
        })
    }

    /// [`Registry::build`], its failures as [`Fault`]s (never empty on error).
    pub fn build_checked(version: i64, data: RegistryData) -> Result<Registry, Vec<Fault>> {
        let mut faults = Vec::new();
        let members = index_members(data.members, &mut faults);
        let groups: HashSet<&str> = members
            .values()
            .flat_map(|m| m.groups.iter().map(String::as_str))
            .collect();
        let (resources, schemas) = index_catalogue(data.catalogue, &mut faults);
        let (by_resource, by_id) =
            index_list(&data.list, &members, &groups, &resources, &mut faults);
        if !faults.is_empty() {
            return Err(faults);
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
}

/// Checks each member and indexes them by id.
fn index_members(list: Vec<Member>, out: &mut Vec<Fault>) -> Members {
    let mut faults = Faults {
        out,
        part: Part::Members,
    };
    let mut members = HashMap::new();
    for (i, m) in list.into_iter().enumerate() {
        let id = m.id.to_string();
        faults.push(i, &id, check_endpoint(&m));
        faults.push(i, &id, check_certificates(&m));
        faults.push(i, &id, check_groups(&m));
        if members.contains_key(&m.id) {
            faults.push(
                i,
                &id,
                Err(bad("id", &id, format!("成员重复 duplicate member {id}"))),
            );
        } else {
            members.insert(m.id.clone(), m);
        }
    }
    members
}

/// A provider has an `https://` endpoint.
fn check_endpoint(m: &Member) -> Result<(), Bad> {
    if m.has_role(Role::Provider) {
        match &m.endpoint {
            Some(url) if url.starts_with("https://") => {}
            Some(url) => return Err(bad("endpoint", url, "must be an https:// URL")),
            None => return Err(bad("endpoint", "", "a provider needs an endpoint")),
        }
    }
    Ok(())
}

/// Every certificate binding is a SHA-256 fingerprint.
fn check_certificates(m: &Member) -> Result<(), Bad> {
    for (j, c) in m.certificates.iter().enumerate() {
        if normalise_fingerprint(c).len() != 64 {
            return Err(bad(
                format!("certificates[{j}]"),
                c,
                "not a SHA-256 fingerprint (64 hex digits)",
            ));
        }
    }
    Ok(())
}

/// Every group name is well-formed.
fn check_groups(m: &Member) -> Result<(), Bad> {
    for (j, g) in m.groups.iter().enumerate() {
        check_group(g).map_err(|p| bad(format!("groups[{j}]"), g, p))?;
    }
    Ok(())
}

/// Checks each catalogue resource and indexes them, and their schemas, by code.
fn index_catalogue(
    catalogue: Vec<Resource>,
    out: &mut Vec<Fault>,
) -> (Resources, HashMap<String, Schema>) {
    let mut faults = Faults {
        out,
        part: Part::Catalogue,
    };
    let mut resources = HashMap::new();
    let mut schemas = HashMap::new();
    for (i, r) in catalogue.into_iter().enumerate() {
        faults.push(
            i,
            &r.code,
            check_resource_code(&r.code).map_err(|p| bad("code", &r.code, p)),
        );
        faults.push(i, &r.code, check_resource_items(&r));
        faults.push(i, &r.code, check_route_by(&r));
        faults.push(i, &r.code, check_licence_type(&r, &resources));
        if resources.contains_key(&r.code) {
            let code = r.code.clone();
            faults.push(
                i,
                &code,
                Err(bad(
                    "code",
                    &code,
                    format!("资源重复 duplicate resource {code}"),
                )),
            );
        } else {
            schemas.insert(r.code.clone(), r.schema());
            resources.insert(r.code.clone(), r);
        }
    }
    (resources, schemas)
}

/// Item names are unique, and a code item has its code list.
fn check_resource_items(r: &Resource) -> Result<(), Bad> {
    let mut names = HashSet::new();
    for (j, item) in r.items.iter().enumerate() {
        if !names.insert(item.name.as_str()) {
            return Err(bad(
                format!("items[{j}]"),
                &item.name,
                format!("duplicate item `{}`", item.name),
            ));
        }
        if item.ty == ItemType::Code && item.codes.is_empty() {
            return Err(bad(
                format!("items[{j}].codes"),
                "",
                format!(
                    "代码型信息项需要代码值 a code item needs its code list ({})",
                    item.name
                ),
            ));
        }
    }
    Ok(())
}

/// The routing key, if any, is a key field holding an area code.
fn check_route_by(r: &Resource) -> Result<(), Bad> {
    if let Some(route) = &r.route_by {
        let field = r
            .key
            .iter()
            .find(|k| &k.name == route)
            .ok_or_else(|| bad("route_by", route, format!("`{route}` is not a key field")))?;
        if !matches!(
            field.ty,
            ItemType::Uscc | ItemType::ResidentId | ItemType::AreaCode
        ) {
            return Err(bad(
                "route_by",
                route,
                "the routing key must be a uscc, resident_id or area_code",
            ));
        }
    }
    Ok(())
}

/// A licence type's code is a credit code and three digits, and names one
/// catalogue resource only.
fn check_licence_type(r: &Resource, earlier: &Resources) -> Result<(), Bad> {
    let Some(code) = &r.licence_type else {
        return Ok(());
    };
    let wrong = || {
        bad(
            "licence_type",
            code,
            "证照类型代码应为统一社会信用代码加三位数字 a licence-type code is a credit code and three digits",
        )
    };
    let (ministry, number) = code.split_at_checked(18).ok_or_else(wrong)?;
    if Uscc::parse(ministry).is_err()
        || number.len() != 3
        || !number.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(wrong());
    }
    if let Some(other) = earlier
        .values()
        .find(|o| o.licence_type.as_deref() == Some(code))
    {
        return Err(bad(
            "licence_type",
            code,
            format!(
                "证照类型重复 licence type already catalogued as {}",
                other.code
            ),
        ));
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
    out: &mut Vec<Fault>,
) -> ListIndexes {
    let mut faults = Faults {
        out,
        part: Part::List,
    };
    let mut by_resource: HashMap<String, Vec<usize>> = HashMap::new();
    let mut by_id = HashMap::new();
    for (i, e) in list.iter().enumerate() {
        faults.push(
            i,
            &e.id,
            check_entry_id(&e.id).map_err(|p| bad("id", &e.id, p)),
        );
        if by_id.contains_key(&e.id) {
            faults.push(
                i,
                &e.id,
                Err(bad("id", &e.id, "清单编号重复 duplicate entry id")),
            );
        } else {
            by_id.insert(e.id.clone(), i);
        }
        match entry_resource(e, resources) {
            Ok(resource) => {
                faults.push(i, &e.id, check_entry_items(e, resource));
                faults.push(i, &e.id, check_sharing(e, resource));
                faults.push(i, &e.id, check_licence_binding(e, resource));
            }
            Err(b) => faults.push(i, &e.id, Err(b)),
        }
        faults.push(i, &e.id, check_provider(e, members));
        faults.push(i, &e.id, check_consumers(e, members));
        faults.push(i, &e.id, check_consumer_groups(e, groups));
        faults.push(i, &e.id, check_validity(e));
        faults.push(i, &e.id, check_case_no_pattern(e));
        faults.push(i, &e.id, check_deadline(e));
        faults.push(i, &e.id, check_quota(e));
        let earlier = by_resource
            .get(&e.resource)
            .map(Vec::as_slice)
            .unwrap_or_default();
        faults.push(i, &e.id, check_overlap(e, earlier, list));
        by_resource.entry(e.resource.clone()).or_default().push(i);
    }
    (by_resource, by_id)
}

/// A licence type is fetched in place of paper only for the service items its
/// entry names: a shared entry of a licence-type resource is conditional and
/// lists its service items (an empty list would let any service item fetch
/// it).
fn check_licence_binding(e: &Entry, resource: &Resource) -> Result<(), Bad> {
    if resource.licence_type.is_none() || e.sharing(resource) == SharingType::NotShared {
        return Ok(());
    }
    if e.sharing(resource) != SharingType::Conditional {
        return Err(bad(
            "sharing_type",
            "unconditional",
            "证照类型只能有条件共享 a licence type is shared on conditions only",
        ));
    }
    if e.service_items.is_empty() {
        return Err(bad(
            "service_items",
            "",
            "证照类型的清单须列出可用证的事项 a licence type's entry names the service items that may fetch it",
        ));
    }
    Ok(())
}

/// The entry's resource is in the catalogue.
fn entry_resource<'r>(e: &Entry, resources: &'r Resources) -> Result<&'r Resource, Bad> {
    resources.get(&e.resource).ok_or_else(|| {
        bad(
            "resource",
            &e.resource,
            "目录中没有该信息资源 not in the catalogue",
        )
    })
}

/// The provider is a member holding the provider role.
fn check_provider(e: &Entry, members: &Members) -> Result<(), Bad> {
    let id = e.provider.to_string();
    let provider = members
        .get(&e.provider)
        .ok_or_else(|| bad("provider", &id, "不是成员 not a member"))?;
    if !provider.has_role(Role::Provider) {
        return Err(bad(
            "provider",
            &id,
            "该成员不是提供方 does not hold the provider role",
        ));
    }
    Ok(())
}

/// Every listed consumer is a member.
fn check_consumers(e: &Entry, members: &Members) -> Result<(), Bad> {
    for (j, c) in e.consumers.iter().enumerate() {
        if !members.contains_key(c) {
            return Err(bad(
                format!("consumers[{j}]"),
                c.to_string(),
                "不是成员 not a member",
            ));
        }
    }
    Ok(())
}

/// Every listed consumer group has a member.
fn check_consumer_groups(e: &Entry, groups: &HashSet<&str>) -> Result<(), Bad> {
    for (j, g) in e.consumer_groups.iter().enumerate() {
        if !groups.contains(g.as_str()) {
            return Err(bad(
                format!("consumer_groups[{j}]"),
                g,
                format!("没有成员属于该分组 no member is in group `{g}`"),
            ));
        }
    }
    Ok(())
}

/// Every granted item is an item of the resource.
fn check_entry_items(e: &Entry, resource: &Resource) -> Result<(), Bad> {
    for (j, item) in e.items.iter().enumerate() {
        if !resource.items.iter().any(|i| &i.name == item) {
            return Err(bad(
                format!("items[{j}]"),
                item,
                format!(
                    "不是 {} 的信息项 `{item}` is not an item of {}",
                    e.resource, e.resource
                ),
            ));
        }
    }
    Ok(())
}

/// A not-shared row cites its legal basis; a conditional row lists its
/// purposes; a shared row grants items.
fn check_sharing(e: &Entry, resource: &Resource) -> Result<(), Bad> {
    match e.sharing(resource) {
        SharingType::NotShared => {
            if e.legal_basis.as_deref().is_none_or(|b| b.trim().is_empty()) {
                return Err(bad(
                    "legal_basis",
                    "",
                    "不予共享须注明法律依据 a not-shared row must cite its legal basis",
                ));
            }
        }
        SharingType::Conditional => {
            if e.purposes.is_empty() {
                return Err(bad(
                    "purposes",
                    "",
                    "有条件共享须列明用途 a conditional row must list its purposes",
                ));
            }
            check_grants_items(e)?;
        }
        SharingType::Unconditional => check_grants_items(e)?,
    }
    Ok(())
}

/// A shared row grants items.
fn check_grants_items(e: &Entry) -> Result<(), Bad> {
    if e.items.is_empty() {
        return Err(bad(
            "items",
            "",
            "共享的清单须列明共享数据项 a shared row must grant items",
        ));
    }
    Ok(())
}

/// A case-number pattern is one ([`super::case_no::check_pattern`]).
fn check_case_no_pattern(e: &Entry) -> Result<(), Bad> {
    match &e.case_no_pattern {
        Some(p) => super::case_no::check_pattern(p).map_err(|why| bad("case_no_pattern", p, why)),
        None => Ok(()),
    }
}

/// The entry does not end before it starts.
fn check_validity(e: &Entry) -> Result<(), Bad> {
    if e.valid_to < e.valid_from {
        return Err(bad(
            "valid_to",
            crate::dates::format(e.valid_to),
            "失效日期早于生效日期 ends before valid_from",
        ));
    }
    Ok(())
}

/// The reply deadline is 1 ms to 2 minutes.
fn check_deadline(e: &Entry) -> Result<(), Bad> {
    if e.deadline_ms == 0 || e.deadline_ms > 120_000 {
        return Err(bad(
            "deadline_ms",
            e.deadline_ms.to_string(),
            "须为 1 至 120000 must be 1 to 120000",
        ));
    }
    Ok(())
}

/// Set limits are at least 1, and a burst comes with a rate.
fn check_quota(e: &Entry) -> Result<(), Bad> {
    let q = &e.quota;
    for (field, v) in [
        ("quota.per_second", q.per_second),
        ("quota.burst", q.burst),
        ("quota.rows_per_call", q.rows_per_call),
    ] {
        if v == Some(0) {
            return Err(bad(
                field,
                "0",
                "per_second, burst and rows_per_call must be at least 1 when set",
            ));
        }
    }
    if let (Some(b), None) = (q.burst, q.per_second) {
        return Err(bad(
            "quota.burst",
            b.to_string(),
            "突发上限须配每秒限额 a burst needs a per_second rate",
        ));
    }
    Ok(())
}

/// No earlier active entry for the same resource and provider lists one of
/// this entry's consumers (or groups) over days this one also covers: the
/// two would grant the same exchange under different terms.
fn check_overlap(e: &Entry, earlier: &[usize], list: &[Entry]) -> Result<(), Bad> {
    if e.status != EntryStatus::Active {
        return Ok(());
    }
    for other in earlier.iter().filter_map(|&i| list.get(i)) {
        let shares = e.consumers.iter().any(|c| other.consumers.contains(c))
            || e.consumer_groups
                .iter()
                .any(|g| other.consumer_groups.contains(g));
        if other.status == EntryStatus::Active
            && other.provider == e.provider
            && other.id != e.id
            && shares
            && other.valid_from <= e.valid_to
            && e.valid_from <= other.valid_to
        {
            return Err(bad(
                "valid_from",
                crate::dates::format(e.valid_from),
                format!(
                    "与清单 {} 重叠（同一资源、提供方和使用方，有效期相交） overlaps entry {} (same resource, provider and consumer, overlapping validity)",
                    other.id, other.id
                ),
            ));
        }
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
