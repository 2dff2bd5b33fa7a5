//! The listing path, `GET /v1/licences?holder=&types=&purpose=&service_item=&case_no=`:
//! a holder's licences (metadata only) from every region the list allows, in
//! one answer.
//!
//! ```text
//! identify → parse holder + use → authorize (each type × region) → per region, in parallel:
//!     meter → map request → upstream → map rows → minimise → rows_per_call → leaf
//! → merge, de-duplicate by licence identifier → (audit)
//! ```
//!
//! The holder's credit code or resident identity number is checked (its check
//! character) before the list or any provider sees it, and is never logged:
//! the records carry only salted digests. Each provider call is its own leaf,
//! naming the listing's request id as its `parent`; a region that fails —
//! down, too slow, a wrong answer, its quota spent — is reported in the
//! answer with its problem code, and the listing is marked partial.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::Instant;

use serde_json::{Map, Value, json};
use yrdx_adapters::{ItemType, NativeResponse, Record};
use yrdx_registry::{Grant, Resource};
use yrdx_signing::{MemberId, Region, Uscc, check_resident_id};

use crate::context::{Exchange, Purpose, Stage};
use crate::pipeline::authorize::{self, Use};
use crate::pipeline::request::{check_case_no, check_code, check_purpose};
use crate::pipeline::{Call, Reply, audit, map_request, meter, minimise, upstream};
use crate::problem::{Detail, Problem, response_mapping};
use crate::query;
use crate::state::{App, Snapshot};

/// The query's parameter names.
const PARAMS: &[&str] = &["holder", "types", "purpose", "service_item", "case_no"];

/// At most this many licence types in one listing.
const MAX_TYPES: usize = 32;

/// A listing's use: whose licences, of which types, for what.
#[derive(Debug)]
pub struct ListingUse {
    /// The holder's credit code or resident identity number, checked.
    pub holder: String,
    /// Whether `holder` is a valid credit code (an enterprise or other body).
    pub is_uscc: bool,
    /// Whether `holder` is a valid resident identity number (a person).
    pub is_resident: bool,
    /// The licence types asked for (licence-type codes or catalogue codes);
    /// every type the service item may fetch when absent.
    pub types: Option<Vec<String>>,
    /// The purpose (用证事由).
    pub purpose: String,
    /// The service item code (事项编码).
    pub service_item: String,
    /// The case number (办件编号).
    pub case_no: String,
}

/// Checks the query strictly, and the holder's check character.
pub fn parse_use(pairs: Vec<(String, String)>) -> Result<ListingUse, Problem> {
    let mut params = query::check(pairs, PARAMS)?;
    let why = Detail::new(
        "：每次用证须写明用途、事项编码和办件编号",
        ": every licence use names its purpose, service item and case number",
    );
    let holder = params.required(
        "holder",
        &Detail::new(
            "：持证主体的统一社会信用代码或居民身份证号码",
            ": the holder's unified social credit code or resident identity number",
        ),
    )?;
    let purpose = params.required("purpose", &why)?;
    let service_item = params.required("service_item", &why)?;
    let case_no = params.required("case_no", &why)?;
    check_purpose(&purpose)?;
    check_code("service_item", Some(&service_item))?;
    check_case_no(&case_no)?;
    let types = match params.take("types") {
        None => None,
        Some(list) => {
            let types: Vec<String> = list
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect();
            if types.is_empty() || types.len() > MAX_TYPES {
                return Err(Problem::BadRequest(Detail::new(
                    format!("`types` 列出 1 至 {MAX_TYPES} 个证照类型，以逗号分隔。"),
                    format!("`types` lists 1 to {MAX_TYPES} licence types, separated by commas"),
                )));
            }
            for t in &types {
                check_code("types", Some(t))?;
            }
            Some(types)
        }
    };
    // Neither form is echoed: the holder is personal data.
    let is_uscc = Uscc::parse(&holder).is_ok();
    let is_resident = check_resident_id(&holder).is_ok();
    if !is_uscc && !is_resident {
        return Err(Problem::BadRequest(Detail::new(
            "`holder` 既不是统一社会信用代码，也不是居民身份证号码（长度、字符或校验码不正确）。",
            "`holder` is neither a unified social credit code nor a resident identity number \
             (wrong length, characters or check character)",
        )));
    }
    Ok(ListingUse {
        holder,
        is_uscc,
        is_resident,
        types,
        purpose,
        service_item,
        case_no,
    })
}

/// A licence type's key field: the one holding a credit code or a resident
/// identity number.
fn holder_field(resource: &Resource) -> Option<(&str, bool)> {
    resource.key.iter().find_map(|k| match k.ty {
        ItemType::Uscc => Some((k.name.as_str(), true)),
        ItemType::ResidentId => Some((k.name.as_str(), false)),
        _ => None,
    })
}

/// The licence types to ask: those named (by licence-type or catalogue code),
/// or every licence type of the catalogue held by the holder's kind.
fn chosen_types<'r>(
    snapshot: &'r Snapshot,
    usage: &ListingUse,
) -> Result<Vec<(&'r Resource, &'r str)>, Problem> {
    let holds = |r: &'r Resource| {
        holder_field(r).filter(|(_, uscc)| {
            if *uscc {
                usage.is_uscc
            } else {
                usage.is_resident
            }
        })
    };
    let mut all: Vec<&Resource> = snapshot
        .registry
        .resources()
        .filter(|r| r.licence_type.is_some())
        .collect();
    all.sort_by(|a, b| a.code.cmp(&b.code));
    match &usage.types {
        None => Ok(all
            .into_iter()
            .filter_map(|r| holds(r).map(|(field, _)| (r, field)))
            .collect()),
        Some(named) => {
            let mut out: Vec<(&Resource, &str)> = Vec::new();
            for name in named {
                let r = all
                    .iter()
                    .copied()
                    .find(|r| r.code == *name || r.licence_type.as_deref() == Some(name))
                    .ok_or(Problem::UnknownResource)?;
                let (field, _) = holds(r).ok_or_else(|| {
                    Problem::BadRequest(Detail::new(
                        format!(
                            "证照类型 {} 不由所给类型的持证主体持有（企业为统一社会信用代码，个人为居民身份证号码）。",
                            r.code
                        ),
                        format!(
                            "licence type {} is not held by the kind of holder given \
                             (a credit code for enterprises, a resident identity number for persons)",
                            r.code
                        ),
                    ))
                })?;
                if !out.iter().any(|(o, _)| o.code == r.code) {
                    out.push((r, field));
                }
            }
            Ok(out)
        }
    }
}

/// One provider call the list allows: a licence type from one region.
struct Plan<'r> {
    resource: &'r Resource,
    field: &'r str,
    grant: Grant<'r>,
}

/// What one provider call gave.
struct Asked {
    region: Region,
    resource: String,
    entry: String,
    leaf: u64,
    result: Result<Rows, Problem>,
}

/// A region's rows for one type, minimised, and whether the entry's
/// `rows_per_call` cut them.
struct Rows {
    rows: Vec<Record>,
    held: usize,
    truncated: bool,
}

/// Runs the listing's stages, after identification.
pub async fn run(call: Call<'_>, cx: &mut Exchange) -> Result<Reply, Problem> {
    let Call {
        app,
        snapshot,
        caller: consumer,
        query,
        ..
    } = call;
    let registry = &snapshot.registry;

    // parse: the holder's check character and the use's fields, before the
    // list is consulted.
    let t = Instant::now();
    let pairs = query::decode(query.as_deref())?;
    let sent: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    cx.request_digest = Some(cx.digest(format!("?{}", sent.join("&")).as_bytes()));
    let usage = parse_use(pairs)?;
    cx.declare_use(Some(&usage.service_item), Some(&usage.case_no));
    cx.declare_purpose(&usage.purpose);
    let types = chosen_types(snapshot, &usage)?;
    cx.timed(Stage::Parse, t);

    // authorize: each type from each region, as one licence would be. A
    // region that provides no such type for this consumer is simply not
    // asked; a type named in `types` that the list refuses everywhere refuses
    // the listing with the list's own refusal.
    let t = Instant::now();
    let empty = Map::new();
    let mut plans = Vec::new();
    let mut refused: Option<Problem> = None;
    for (resource, field) in types {
        let mut allowed = false;
        let mut why: Option<Problem> = None;
        for region in Region::ALL {
            let ask = Use {
                purpose: &usage.purpose,
                service_item: Some(&usage.service_item),
                case_no: Some(&usage.case_no),
                provider: Some(region.code()),
                key: &empty,
            };
            match authorize::run(registry, consumer, &resource.code, &ask, cx.received) {
                Ok(grant) => {
                    allowed = true;
                    plans.push(Plan {
                        resource,
                        field,
                        grant,
                    });
                }
                Err(Problem::NotInResponsibilityList) => {}
                Err(p) => {
                    why.get_or_insert(p);
                }
            }
        }
        if !allowed {
            let why = why.unwrap_or(Problem::NotInResponsibilityList);
            if usage.types.is_some() {
                cx.resource = Some(resource.code.clone());
                return Err(why);
            }
            refused.get_or_insert(why);
        }
    }
    if plans.is_empty() {
        return Err(refused.unwrap_or(Problem::NotInResponsibilityList));
    }
    cx.purpose = Some(Purpose::Listed(usage.purpose.clone()));
    // The listing's own leaf keeps the service item and case number as sent
    // where an entry it was granted under vouches for them.
    for plan in &plans {
        cx.vouch(
            plan.grant.entry,
            Some(&usage.service_item),
            Some(&usage.case_no),
        );
    }
    cx.timed(Stage::Authorize, t);

    // upstream: every allowed region at once, each within its entry's
    // deadline; each call its own leaf.
    let t = Instant::now();
    let parent = Parent {
        app,
        snapshot,
        consumer,
        request_id: &cx.request_id,
        salt: *cx.salt(),
        received: cx.received,
        usage: &usage,
    };
    let asked = join_all(plans.iter().map(|p| parent.ask(p)).collect()).await;
    cx.timed(Stage::Upstream, t);

    // merge: one listing, de-duplicated by licence identifier; each failing
    // region named with its problem code.
    let t = Instant::now();
    let mut licences: BTreeMap<String, Value> = BTreeMap::new();
    let mut calls = Vec::new();
    let mut problems = Vec::new();
    let mut items = BTreeSet::new();
    for a in asked {
        let a = a?;
        let mut call = Map::new();
        call.insert("region".into(), json!(a.region.code()));
        call.insert("resource".into(), json!(a.resource));
        call.insert("entry".into(), json!(a.entry));
        call.insert("leaf_index".into(), json!(a.leaf));
        match a.result {
            Ok(rows) => {
                call.insert("outcome".into(), json!("served"));
                call.insert("rows".into(), json!(rows.rows.len()));
                if rows.truncated {
                    call.insert("truncated".into(), json!(true));
                    call.insert("rows_held".into(), json!(rows.held));
                }
                for row in rows.rows {
                    let Some(id) = row
                        .get("licence_id")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                    else {
                        continue;
                    };
                    items.extend(row.keys().cloned());
                    licences.entry(id.clone()).or_insert_with(|| {
                        json!({
                            "licence_id": id,
                            "region": a.region.code(),
                            "resource": a.resource,
                            "data": row,
                        })
                    });
                }
            }
            Err(p) => {
                call.insert("outcome".into(), json!("refused"));
                call.insert("code".into(), json!(p.code()));
                problems.push(json!({
                    "region": a.region.code(),
                    "resource": a.resource,
                    "code": p.code(),
                }));
            }
        }
        calls.push(Value::Object(call));
    }
    cx.items = items.into_iter().collect();
    let mut body = Map::new();
    body.insert("complete".into(), json!(problems.is_empty()));
    body.insert("partial".into(), json!(!problems.is_empty()));
    body.insert("problems".into(), Value::Array(problems));
    body.insert("calls".into(), Value::Array(calls));
    body.insert(
        "licences".into(),
        Value::Array(licences.into_values().collect()),
    );
    cx.response_digest = Some(cx.digest(&super::canonical_json(&body)?));
    cx.timed(Stage::Minimise, t);
    Ok(Reply::Json(body))
}

/// What every call of one listing shares.
struct Parent<'a> {
    app: &'a App,
    snapshot: &'a Snapshot,
    consumer: &'a MemberId,
    request_id: &'a str,
    salt: [u8; 16],
    received: time::OffsetDateTime,
    usage: &'a ListingUse,
}

impl Parent<'_> {
    /// One region's call for one type, recorded as its own leaf. An error is
    /// only the leaf that could not be written.
    async fn ask(&self, plan: &Plan<'_>) -> Result<Asked, Problem> {
        let mut leaf = Exchange::new(uuid::Uuid::now_v7().to_string(), "licences", self.salt);
        leaf.received = self.received;
        leaf.parent = Some(self.request_id.to_owned());
        leaf.consumer = Some(self.consumer.clone());
        leaf.provider = Some(plan.grant.entry.provider.clone());
        leaf.resource = Some(plan.resource.code.clone());
        leaf.entry = Some(plan.grant.entry.id.clone());
        leaf.purpose = Some(Purpose::Listed(self.usage.purpose.clone()));
        leaf.declare_use(Some(&self.usage.service_item), Some(&self.usage.case_no));
        leaf.vouch(
            plan.grant.entry,
            Some(&self.usage.service_item),
            Some(&self.usage.case_no),
        );
        let result = self.fetch(plan, &mut leaf).await;
        let index = audit::child_leaf(self.app, leaf, result.as_ref().err()).await?;
        Ok(Asked {
            region: plan.grant.entry.provider.region(),
            resource: plan.resource.code.clone(),
            entry: plan.grant.entry.id.clone(),
            leaf: index,
            result,
        })
    }

    /// meter → map request → upstream → rows → minimise → `rows_per_call`.
    async fn fetch(&self, plan: &Plan<'_>, leaf: &mut Exchange) -> Result<Rows, Problem> {
        let Parent { app, snapshot, .. } = self;
        meter::run(
            &snapshot.meters,
            Some(&app.quotas),
            &app.metrics,
            &plan.grant,
            self.consumer,
            self.received,
        )
        .await?;
        let code = &plan.resource.code;
        let mapping = snapshot
            .mappings
            .get(&plan.grant.entry.provider, code)
            .ok_or(Problem::Internal)?;
        let schema = snapshot.registry.schema(code).ok_or(Problem::Internal)?;
        leaf.mapping = Some(mapping.hash().to_owned());
        let mut key = BTreeMap::new();
        key.insert(plan.field.to_owned(), self.usage.holder.clone());
        let native = map_request::run(mapping, &key)?;
        let mut sent = native.path_and_query.clone().into_bytes();
        sent.extend_from_slice(&native.body);
        leaf.request_digest = Some(leaf.digest(&sent));
        let mut rows = match upstream::run(&app.upstream, leaf, &plan.grant, &native).await {
            Ok(answer) => mapping
                .catalogue_rows(
                    NativeResponse {
                        content_type: answer.content_type.as_deref(),
                        body: &answer.body,
                    },
                    schema,
                )
                .map_err(response_mapping)?,
            // A provider's 404 is "holds none of this type": no row.
            Err(Problem::RecordNotFound) => Vec::new(),
            Err(p) => return Err(p),
        };
        let held = rows.len();
        let limit = plan
            .grant
            .entry
            .quota
            .rows_per_call
            .and_then(|n| usize::try_from(n).ok());
        let truncated = limit.is_some_and(|n| held > n);
        if let Some(n) = limit {
            rows.truncate(n);
        }
        let mut returned = BTreeSet::new();
        for row in &mut rows {
            returned.extend(minimise::run(row, plan.grant.entry, None).returned);
        }
        leaf.items = returned.into_iter().collect();
        let answer: Map<String, Value> = [(
            "rows".to_owned(),
            Value::Array(rows.iter().cloned().map(Value::Object).collect()),
        )]
        .into_iter()
        .collect();
        leaf.response_digest = Some(leaf.digest(&super::canonical_json(&answer)?));
        Ok(Rows {
            rows,
            held,
            truncated,
        })
    }
}

/// Polls every future until all are done, and returns their outputs in order:
/// the calls of one listing run at once without a task each.
async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    type Slot<F> = (Pin<Box<F>>, Option<<F as Future>::Output>);
    let mut slots: Vec<Slot<F>> = futures.into_iter().map(|f| (Box::pin(f), None)).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, out) in &mut slots {
            if out.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(v) => *out = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    slots.into_iter().filter_map(|(_, out)| out).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(q: &str) -> Result<ListingUse, Problem> {
        parse_use(query::decode(Some(q)).unwrap())
    }

    #[test]
    fn the_holder_is_checked_before_anything_else() {
        let u = parse("holder=91340100MA2NH3AL0C&purpose=p&service_item=SX-1&case_no=C-1").unwrap();
        assert!(u.is_uscc && !u.is_resident);
        assert_eq!(u.types, None);
        let u = parse(
            "holder=340104198805123012&types=YRD-DZZZ-0105,11100000MB0000102K001\
             &purpose=p&service_item=SX-1&case_no=C-1",
        )
        .unwrap();
        assert!(u.is_resident && !u.is_uscc);
        assert_eq!(u.types.unwrap().len(), 2);
        for bad in [
            // wrong check characters
            "holder=91340100MA2NH3AL0D&purpose=p&service_item=s&case_no=c",
            "holder=340104198805123013&purpose=p&service_item=s&case_no=c",
            "holder=&purpose=p&service_item=s&case_no=c",
            "purpose=p&service_item=s&case_no=c",
            "holder=91340100MA2NH3AL0C&service_item=s&case_no=c",
            "holder=91340100MA2NH3AL0C&purpose=p&service_item=s&case_no=c&types=,",
            "holder=91340100MA2NH3AL0C&purpose=p&service_item=s&case_no=c&x=1",
        ] {
            match parse(bad) {
                Err(Problem::BadRequest(d)) => {
                    for text in [&d.zh, &d.en] {
                        assert!(
                            !text.contains("91340100MA2NH3AL0") && !text.contains("34010419880512"),
                            "{d:?}"
                        )
                    }
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn join_all_keeps_the_order_of_its_futures_and_runs_them_at_once() {
        let t = Instant::now();
        let out = join_all(
            [300u64, 1, 200]
                .into_iter()
                .map(|ms| async move {
                    tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
                    ms
                })
                .collect(),
        )
        .await;
        assert_eq!(out, [300, 1, 200]);
        assert!(
            t.elapsed() < std::time::Duration::from_millis(450),
            "{:?}",
            t.elapsed()
        );
    }
}
