//! The exchange pipeline, stage by stage, in the order of `docs/pipeline.md`:
//!
//! ```text
//! identify → parse → authorize → meter → map request → upstream → map response → minimise → audit
//! ```
//!
//! Every route runs through the one path of [`crate::route`]: request id,
//! span, context, identification ([`identify`]) and body there; then the
//! route's own stages — [`exchange`] for catalogue exchanges, [`licence`] and
//! [`verify`] for documents — fill in the [`Exchange`] context; the audit
//! stage ([`audit::finish`]) then records the request, served or refused, and
//! only once its leaf is durable is anything answered.

pub mod audit;
pub mod authorize;
pub mod identify;
pub mod licence;
pub mod listing;
pub mod map_request;
pub mod map_response;
pub mod meter;
pub mod minimise;
pub mod request;
pub mod request_ids;
pub mod upstream;
pub mod verify;

use std::time::Instant;

use axum::response::{IntoResponse, Response};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::context::{Exchange, Purpose, Stage};
use crate::problem::Problem;
use crate::state::{App, Snapshot};
use bytes::Bytes;
use yrdx_signing::MemberId;

/// What a served exchange returns.
#[derive(Debug)]
pub struct Served {
    /// The resource.
    pub resource: String,
    /// The minimised catalogue record as RFC 8785 canonical JSON: the exact
    /// bytes the response digest covers, sent as they are.
    pub data: Box<RawValue>,
}

/// What a served request answers, before the audit stage adds the receipt.
#[derive(Debug)]
pub enum Reply {
    /// A catalogue exchange.
    Exchange(Served),
    /// Any other API's JSON object (licences, verification reports).
    Json(serde_json::Map<String, Value>),
    /// A ready answer (regulators' reads: checkpoints, tiles, reports), which
    /// gets no receipt.
    Raw(Response),
}

impl IntoResponse for Reply {
    /// The reply as it is, without a receipt: for reads, which are not leaves.
    fn into_response(self) -> Response {
        match self {
            Reply::Exchange(served) => axum::Json(serde_json::json!({
                "data": served.data,
                "resource": served.resource,
            }))
            .into_response(),
            Reply::Json(map) => axum::Json(map).into_response(),
            Reply::Raw(response) => response,
        }
    }
}

/// What a route's stages get: the identified caller and what it sent.
#[derive(Debug)]
pub struct Call<'a> {
    /// The node.
    pub app: &'a App,
    /// The registry version and everything built from it, taken once for the
    /// whole request so a reload never changes the rules half-way through.
    pub snapshot: &'a Snapshot,
    /// The caller, identified (and a regulator, on regulators' routes).
    pub caller: &'a MemberId,
    /// The route's one path parameter (percent-decoded), or empty.
    pub path: String,
    /// The raw query string, without `?`.
    pub query: Option<String>,
    /// The body, read within the route's limit; empty when it reads none.
    pub body: Bytes,
    /// The request's headers (content negotiation: `Accept-Encoding`).
    pub headers: &'a http::HeaderMap,
}

/// Runs one exchange's stages, after identification.
pub async fn exchange(call: Call<'_>, cx: &mut Exchange) -> Result<Reply, Problem> {
    let Call {
        app,
        snapshot,
        caller: consumer,
        path: resource,
        body,
        ..
    } = call;
    let registry = &snapshot.registry;

    // parse: the body is bounded and strictly shaped before it is interpreted.
    let t = Instant::now();
    cx.request_digest = Some(cx.digest(&body));
    let request = request::parse(&body)?;
    cx.declare_use(request.service_item.as_deref(), request.case_no.as_deref());
    cx.declare_purpose(&request.purpose);
    // An unknown resource is the list's to refuse (`unknown_resource`).
    let key = registry
        .schema(&resource)
        .map(|schema| map_request::check_key(schema, &request.key))
        .transpose()?;
    cx.timed(Stage::Parse, t);

    // authorize, then meter: the list picks the entry and thereby the
    // provider; its quotas are spent before the provider is troubled.
    let grant =
        authorize_and_meter(app, snapshot, cx, consumer, &resource, &request.usage()).await?;

    // map request: a malformed key is refused here, before any provider sees it.
    let t = Instant::now();
    let mapping = snapshot
        .mappings
        .get(&grant.entry.provider, &resource)
        .ok_or(Problem::Internal)?;
    let schema = registry.schema(&resource).ok_or(Problem::Internal)?;
    cx.mapping = Some(mapping.hash().to_owned());
    let native = map_request::run(mapping, key.as_ref().ok_or(Problem::Internal)?)?;
    cx.timed(Stage::MapRequest, t);

    // upstream: the only stage that waits on another organisation, bounded by the
    // entry's reply deadline.
    let answer = upstream::run(&app.upstream, cx, &grant, &native).await?;

    // map response: native → catalogue, every item type-checked.
    let t = Instant::now();
    let mut data = map_response::run(mapping, schema, &answer)?;
    cx.timed(Stage::MapResponse, t);

    // minimise: only granted (and asked-for) items leave the gateway, written
    // once as the canonical JSON the response digest covers.
    let t = Instant::now();
    let kept = minimise::run(&mut data, grant.entry, request.items.as_deref());
    cx.items = kept.returned;
    cx.withheld = kept.withheld;
    let data = canonical_raw(&data)?;
    cx.response_digest = Some(cx.digest(data.get().as_bytes()));
    cx.timed(Stage::Minimise, t);

    // The provider the answer names is the context's (`cx.provider`).
    Ok(Reply::Exchange(Served { resource, data }))
}

/// The two stages every route that serves data runs alike: **authorize** —
/// the responsibility list picks the entry for this use and thereby the
/// provider; the entry, the provider and the purpose in the list's own words
/// (not the consumer's free text) go into the record — then **meter**: the
/// entry's quotas are spent only on calls the list allows, before the
/// provider is troubled.
pub async fn authorize_and_meter<'r>(
    app: &App,
    snapshot: &'r Snapshot,
    cx: &mut Exchange,
    consumer: &MemberId,
    resource: &str,
    usage: &authorize::Use<'_>,
) -> Result<yrdx_registry::Grant<'r>, Problem> {
    let t = Instant::now();
    let grant = authorize::run(&snapshot.registry, consumer, resource, usage, cx.received)?;
    cx.entry = Some(grant.entry.id.clone());
    cx.provider = Some(grant.entry.provider.clone());
    cx.purpose = Some(Purpose::Listed(usage.purpose.to_owned()));
    cx.vouch(grant.entry, usage.service_item, usage.case_no);
    cx.timed(Stage::Authorize, t);

    // A retry of a request that was counted is not counted again (its rate
    // still is).
    let t = Instant::now();
    meter::run(
        &snapshot.meters,
        (!cx.counted).then_some(&app.quotas),
        &app.metrics,
        &grant,
        consumer,
        cx.received,
    )
    .await?;
    cx.counted = true;
    cx.timed(Stage::Meter, t);
    Ok(grant)
}

/// RFC 8785 canonical JSON of an object: what response digests are taken over.
///
/// serde_json's compact output of a map (kept sorted by UTF-8 bytes) already
/// is canonical when every key sorts the same by UTF-16 code units — true
/// unless a key holds a character beyond the Basic Multilingual Plane — and
/// every number is an integer of at most 2⁵³ (RFC 8785 writes numbers as
/// doubles). Catalogue records are strings, integers, booleans and nulls, so
/// they take that way; anything else goes through the general canonicaliser,
/// which costs about ten times as much.
pub fn canonical_json(map: &serde_json::Map<String, Value>) -> Result<Vec<u8>, Problem> {
    let encoded = if plain_map(map) {
        serde_json::to_vec(map)
    } else {
        serde_json_canonicalizer::to_vec(map)
    };
    encoded.map_err(|_| Problem::Internal)
}

/// [`canonical_json`] held as JSON text, to be sent as it is: a served
/// record is written once, and its bytes on the wire are the bytes digested.
pub fn canonical_raw(map: &serde_json::Map<String, Value>) -> Result<Box<RawValue>, Problem> {
    let raw = if plain_map(map) {
        serde_json::value::to_raw_value(map)
    } else {
        serde_json_canonicalizer::to_string(map).and_then(RawValue::from_string)
    };
    raw.map_err(|_| Problem::Internal)
}

/// Whether serde_json's compact output of `value` is already canonical; see
/// [`canonical_json`].
fn plain(value: &Value) -> bool {
    const EXACT: u64 = 1 << 53;
    match value {
        Value::Null | Value::Bool(_) | Value::String(_) => true,
        Value::Number(n) => n
            .as_i64()
            .map(i64::unsigned_abs)
            .or_else(|| n.as_u64())
            .is_some_and(|n| n <= EXACT),
        Value::Array(items) => items.iter().all(plain),
        Value::Object(map) => plain_map(map),
    }
}

fn plain_map(map: &serde_json::Map<String, Value>) -> bool {
    map.iter()
        .all(|(k, v)| k.chars().all(|c| c <= '\u{ffff}') && plain(v))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::{Map, Value};

    use super::{canonical_json, canonical_raw};

    fn any_json() -> impl Strategy<Value = Value> {
        let key = prop_oneof![
            any::<String>(),
            "[a-z\u{e000}-\u{e002}\u{10000}-\u{10002}]{0,3}"
        ];
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<String>().prop_map(Value::String),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            (-(1i64 << 53) - 2..(1i64 << 53) + 2).prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            prop_oneof![Just(1.0), Just(1e21), Just(-0.0), Just(0.1)].prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 6, move |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::vec((key.clone(), inner), 0..5)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Whichever way it goes, the bytes are the general canonicaliser's.
        #[test]
        fn canonical_json_is_rfc_8785(
            entries in proptest::collection::vec(
                ("[a-z\u{e000}\u{10000}]{1,3}|\\PC{0,4}", any_json()), 0..6),
        ) {
            let map: Map<String, Value> = entries.into_iter().collect();
            let general = serde_json_canonicalizer::to_vec(&map).unwrap();
            let fast = canonical_json(&map).unwrap();
            prop_assert_eq!(&fast, &general);
            // What a served record sends is the same text, whichever way.
            let raw = canonical_raw(&map).unwrap();
            prop_assert_eq!(raw.get().as_bytes(), &general[..]);
        }
    }
}
