//! The exchange pipeline, stage by stage, in the order of `docs/pipeline.md`:
//!
//! ```text
//! identify → parse → authorize → map request → upstream → map response → minimise → (audit)
//! ```
//!
//! [`exchange`] runs the stages on one [`Exchange`] context that each stage
//! fills in; the audit stage ([`audit::finish`]) then records the exchange —
//! served or refused — and only once its leaf is durable is anything answered.

pub mod audit;
pub mod authorize;
pub mod identify;
pub mod licence;
pub mod map_request;
pub mod map_response;
pub mod meter;
pub mod minimise;
pub mod request;
pub mod upstream;
pub mod verify;

use std::time::{Duration, Instant};

use serde_json::Value;
use serde_json::value::RawValue;
use time::OffsetDateTime;
use yrdx_signing::{HashAlg, hex};

use crate::identity::Peer;
use crate::problem::Problem;
use crate::state::App;

/// Everything known about one exchange so far; what the audit record is made of.
#[derive(Debug)]
pub struct Exchange {
    /// The request id.
    pub request_id: String,
    /// Which API.
    pub api: &'static str,
    /// When the request arrived.
    pub received: OffsetDateTime,
    /// For latency.
    pub started: Instant,
    /// A random salt for this exchange's digests, handed to the consumer in the
    /// receipt only: without it the digests in the log reveal nothing, even of a
    /// guessable key such as an identity number.
    pub salt: [u8; 16],
    /// The identified consumer.
    pub consumer: Option<String>,
    /// The catalogue resource, when it is one.
    pub resource: Option<String>,
    /// The provider chosen.
    pub provider: Option<String>,
    /// The purpose (verbatim once allowed, else its digest).
    pub purpose: Option<String>,
    /// The service item code.
    pub service_item: Option<String>,
    /// The case number.
    pub case_no: Option<String>,
    /// The list entry that allowed it.
    pub entry: Option<String>,
    /// Items returned.
    pub items: Vec<String>,
    /// Items asked for but not granted.
    pub withheld: Vec<String>,
    /// Salted digest of the request body.
    pub request_digest: Option<String>,
    /// Salted digest of the canonical JSON of the data returned.
    pub response_digest: Option<String>,
    /// Salted digest of the provider's native body.
    pub native_digest: Option<String>,
    /// Hash of the mapping file used.
    pub mapping: Option<String>,
    /// Seal verification summary.
    pub seal: Option<Value>,
    /// Time spent per stage, for metrics.
    pub stages: Vec<(&'static str, Duration)>,
    /// Tells the log's writer this exchange's leaf is coming; dropped just
    /// before the append.
    pub announced: Option<yrdx_registry::Announced>,
}

impl Exchange {
    /// A fresh context for a request with this id.
    pub fn new(request_id: String, api: &'static str) -> Exchange {
        let mut salt = [0u8; 16];
        // SystemRandom only fails if the OS has no randomness, in which case
        // a zero salt still yields correct (if guessable) digests.
        let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut salt);
        Exchange {
            request_id,
            api,
            received: OffsetDateTime::now_utc(),
            started: Instant::now(),
            salt,
            consumer: None,
            resource: None,
            provider: None,
            purpose: None,
            service_item: None,
            case_no: None,
            entry: None,
            items: Vec::new(),
            withheld: Vec::new(),
            request_digest: None,
            response_digest: None,
            native_digest: None,
            mapping: None,
            seal: None,
            stages: Vec::new(),
            announced: None,
        }
    }

    /// A fresh context for a request that will end in [`audit::finish`]: the
    /// log's writer is told its leaf is coming (see
    /// [`yrdx_registry::AuditLog::announce`]).
    pub fn announced(
        request_id: String,
        api: &'static str,
        log: &yrdx_registry::AuditLog,
    ) -> Exchange {
        Exchange {
            announced: Some(log.announce()),
            ..Exchange::new(request_id, api)
        }
    }

    /// Notes that `stage` ran from `since` until now.
    pub fn timed(&mut self, stage: &'static str, since: Instant) {
        self.stages.push((stage, since.elapsed()));
    }

    /// `hex(SHA-256(salt ‖ bytes))`.
    pub fn digest(&self, bytes: &[u8]) -> String {
        hex(&HashAlg::Sha256.hash_parts(&[&self.salt, bytes]))
    }
}

/// What a served exchange returns.
#[derive(Debug)]
pub struct Served {
    /// The resource.
    pub resource: String,
    /// The provider member id.
    pub provider: String,
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
}

impl From<Served> for Reply {
    fn from(s: Served) -> Reply {
        Reply::Exchange(s)
    }
}

/// Runs one exchange: `POST /v1/exchange/{resource}`.
pub async fn exchange(
    app: &App,
    cx: &mut Exchange,
    peer: &Peer,
    resource: &str,
    body: &[u8],
) -> Result<Served, Problem> {
    // One snapshot for the whole exchange, so a reload never changes the rules
    // half-way through.
    let snapshot = app.snapshot();
    let registry = &snapshot.registry;
    if registry.resource(resource).is_some() {
        cx.resource = Some(resource.to_owned());
    }

    // identify: the certificate's member must be registered and active. First,
    // because nothing else may be looked at for an unknown caller. A member its
    // own region vouches for is recorded even when unregistered or suspended; an
    // impostor's claim is not.
    let t = Instant::now();
    if let Peer::Member { id, .. } = peer {
        cx.consumer = Some(id.to_string());
    }
    let consumer = identify::run(registry, peer)?;

    // parse: the body is bounded and strictly shaped before it is interpreted.
    cx.request_digest = Some(cx.digest(body));
    let request = request::parse(body)?;
    cx.service_item = request.service_item.clone();
    cx.case_no = request.case_no.clone();
    cx.purpose = Some(format!("sha256:{}", cx.digest(request.purpose.as_bytes())));

    // authorize: the responsibility list picks the entry and thereby the provider.
    let grant = authorize::run(registry, &consumer, resource, &request, cx.received)?;
    cx.entry = Some(grant.entry.id.clone());
    cx.provider = Some(grant.entry.provider.to_string());
    // Listed purposes are the list's own words, not the consumer's free text.
    cx.purpose = Some(request.purpose.clone());
    cx.timed("authorize", t);

    // meter: quotas are spent only on calls the list allows, before the provider
    // is troubled.
    let t = Instant::now();
    meter::run(app, &snapshot.meters, &grant, &consumer, cx.received).await?;
    cx.timed("meter", t);

    let mapping = snapshot
        .mappings
        .get(&grant.entry.provider, resource)
        .ok_or(Problem::Internal)?;
    let schema = registry.schema(resource).ok_or(Problem::Internal)?;
    cx.mapping = Some(mapping.hash().to_owned());

    // map request: a malformed key is refused here, before any provider sees it.
    let native = map_request::run(mapping, schema, &request.key)?;

    // upstream: the only stage that waits on another organisation, bounded by the
    // entry's reply deadline.
    let answer = upstream::run(app, cx, &grant, &native).await?;

    // map response: native → catalogue, every item type-checked.
    let t = Instant::now();
    let mut data = map_response::run(mapping, schema, &answer)?;

    // minimise: only granted (and asked-for) items leave the gateway.
    let kept = minimise::run(&mut data, grant.entry, request.items.as_deref());
    cx.items = kept.returned;
    cx.withheld = kept.withheld;
    let data = canonical_raw(&data)?;
    cx.response_digest = Some(cx.digest(data.get().as_bytes()));
    cx.timed("map_response", t);

    Ok(Served {
        resource: resource.to_owned(),
        provider: grant.entry.provider.to_string(),
        data,
    })
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
