//! The per-request context every stage fills in, and what the exchange record
//! is made of. Its fields are typed for what they hold: members as
//! [`MemberId`], salted digests as [`Digest`], the purpose as either the
//! consumer's words digested or the list's own words ([`Purpose`]).

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use time::OffsetDateTime;
use yrdx_signing::{HashAlg, MemberId, hex};

use crate::problem::Problem;

/// A salted digest, `hex(SHA-256(salt ‖ bytes))`, as the log and the receipt
/// carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest(String);

impl Digest {
    /// The lower-case hex text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The hex text, for the record.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// The purpose of a request as the record keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purpose {
    /// The consumer's own words, not (yet) matched to the list: only their
    /// salted digest, so free text a consumer typed never lands in the log.
    Declared(Digest),
    /// A purpose the responsibility list allows: the list's own words.
    Listed(String),
}

impl Purpose {
    /// The record's form: `sha256:<hex>` for a declared purpose, the listed
    /// words as they are.
    fn into_record(self) -> String {
        match self {
            Purpose::Declared(d) => format!("sha256:{}", d.0),
            Purpose::Listed(words) => words,
        }
    }
}

/// A code-like field the consumer sent — the service item, the case number —
/// as the record keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// Not (yet) vouched for by the list: only its salted digest, so whatever
    /// a consumer typed (an identity number, say) never lands in the log.
    Declared(Digest),
    /// Vouched for: a service item the granting entry lists, a case number
    /// that matched the granting entry's pattern.
    Checked(String),
}

impl Sent {
    /// The record's form: `sha256:<hex>` when declared, the value when checked.
    fn into_record(self) -> String {
        match self {
            Sent::Declared(d) => format!("sha256:{}", d.0),
            Sent::Checked(value) => value,
        }
    }
}

/// A timed stage of a request, in pipeline order. Each has its own histogram
/// (`yrdx_stage_duration_seconds{stage}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The caller's membership (and role) against the registry.
    Identify,
    /// The request body or query read and checked.
    Parse,
    /// The responsibility list's decision.
    Authorize,
    /// Rate and period quotas.
    Meter,
    /// Catalogue key → the provider's native request.
    MapRequest,
    /// The provider call.
    Upstream,
    /// Native answer → catalogue record.
    MapResponse,
    /// Cut to the granted items, serialised once.
    Minimise,
    /// Seal and signature verification.
    Verify,
    /// The leaf made durable.
    Audit,
    /// Receipt to answer.
    Total,
}

impl Stage {
    /// Every stage, in order.
    pub const ALL: [Stage; 11] = [
        Stage::Identify,
        Stage::Parse,
        Stage::Authorize,
        Stage::Meter,
        Stage::MapRequest,
        Stage::Upstream,
        Stage::MapResponse,
        Stage::Minimise,
        Stage::Verify,
        Stage::Audit,
        Stage::Total,
    ];

    /// The metric label.
    pub const fn name(self) -> &'static str {
        match self {
            Stage::Identify => "identify",
            Stage::Parse => "parse",
            Stage::Authorize => "authorize",
            Stage::Meter => "meter",
            Stage::MapRequest => "map_request",
            Stage::Upstream => "upstream",
            Stage::MapResponse => "map_response",
            Stage::Minimise => "minimise",
            Stage::Verify => "verify",
            Stage::Audit => "audit",
            Stage::Total => "total",
        }
    }

    /// The position in [`Stage::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }
}

/// Everything known about one request so far; what its exchange record is
/// made of.
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
    salt: [u8; 16],
    /// The consumer, once its region vouched for its certificate.
    pub consumer: Option<MemberId>,
    /// The catalogue resource, when it is one.
    pub resource: Option<String>,
    /// The provider chosen.
    pub provider: Option<MemberId>,
    /// The purpose.
    pub purpose: Option<Purpose>,
    /// The service item code.
    pub service_item: Option<Sent>,
    /// The case number.
    pub case_no: Option<Sent>,
    /// The list entry that allowed it.
    pub entry: Option<String>,
    /// Items returned.
    pub items: Vec<String>,
    /// Items asked for but not granted.
    pub withheld: Vec<String>,
    /// Salted digest of the request.
    pub request_digest: Option<Digest>,
    /// Salted digest of the canonical JSON of the data returned.
    pub response_digest: Option<Digest>,
    /// Salted digest of the provider's native body.
    pub native_digest: Option<Digest>,
    /// Hash of the mapping file used.
    pub mapping: Option<String>,
    /// Seal verification summary.
    pub seal: Option<serde_json::Value>,
    /// For a provider call made on behalf of another request (a licence
    /// listing's call to one region): that request's id.
    pub parent: Option<String>,
    /// Time spent per stage, for metrics.
    stages: [Option<Duration>; Stage::ALL.len()],
    /// Tells the log's writer this exchange's leaf is coming; dropped just
    /// before the append.
    pub announced: Option<yrdx_registry::Announced>,
    /// Set when the client hung up before its answer.
    pub client_gone: Option<Arc<AtomicBool>>,
    /// The caller's request id, held as an idempotency key for this request.
    pub request_key: Option<RequestKey>,
    /// Whether the request passed the period quotas (or a request with its
    /// id did before).
    pub counted: bool,
}

/// The caller's request id as an idempotency key (see
/// [`crate::pipeline::request_ids`]), held for this request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestKey {
    /// The consumer the id is the key of.
    pub consumer: String,
    /// For a retry: the index of the leaf that recorded the first request.
    pub first_leaf: Option<u64>,
    /// Whether a request with this id was counted against the period quotas
    /// already: a retry is not counted again.
    pub counted_before: bool,
}

impl Exchange {
    /// A fresh salt for an exchange's digests. Without randomness there is no
    /// exchange: a guessable salt would let the log be searched for a
    /// guessable key, so this fails closed.
    pub fn new_salt() -> Result<[u8; 16], Problem> {
        let mut salt = [0u8; 16];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut salt).map_err(
            |_| {
                tracing::error!("no randomness for an exchange's salt; refusing");
                Problem::Internal
            },
        )?;
        Ok(salt)
    }

    /// A fresh context for a request with this id, its digests salted with
    /// `salt` (from [`Exchange::new_salt`]).
    pub fn new(request_id: String, api: &'static str, salt: [u8; 16]) -> Exchange {
        Exchange {
            request_id,
            api,
            received: yrdx_registry::now(),
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
            parent: None,
            stages: [None; Stage::ALL.len()],
            announced: None,
            client_gone: None,
            request_key: None,
            counted: false,
        }
    }

    /// Whether the client hung up before its answer.
    pub fn client_left(&self) -> bool {
        self.client_gone
            .as_ref()
            .is_some_and(|g| g.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// The salt, for the receipt.
    pub fn salt(&self) -> &[u8; 16] {
        &self.salt
    }

    /// Notes that `stage` ran from `since` until now.
    pub fn timed(&mut self, stage: Stage, since: Instant) {
        if let Some(slot) = self.stages.get_mut(stage.index()) {
            *slot = Some(since.elapsed());
        }
    }

    /// The stages that ran, with their times.
    pub fn stage_times(&self) -> impl Iterator<Item = (Stage, Duration)> + '_ {
        Stage::ALL
            .iter()
            .zip(&self.stages)
            .filter_map(|(s, d)| d.map(|d| (*s, d)))
    }

    /// `hex(SHA-256(salt ‖ bytes))`.
    pub fn digest(&self, bytes: &[u8]) -> Digest {
        Digest(hex(&HashAlg::Sha256.hash_parts(&[&self.salt, bytes])))
    }

    /// The consumer's declared purpose, digested until the list allows it.
    pub fn declare_purpose(&mut self, words: &str) {
        self.purpose = Some(Purpose::Declared(self.digest(words.as_bytes())));
    }

    /// The service item and case number the consumer sent, digested until
    /// the list vouches for them ([`Exchange::vouch`]).
    pub fn declare_use(&mut self, service_item: Option<&str>, case_no: Option<&str>) {
        self.service_item = service_item.map(|s| Sent::Declared(self.digest(s.as_bytes())));
        self.case_no = case_no.map(|c| Sent::Declared(self.digest(c.as_bytes())));
    }

    /// Once `entry` granted the use: the service item (which it lists) is
    /// kept as sent, and so is the case number if the entry sets a pattern
    /// (which it matched); a case number without a pattern stays digested.
    pub fn vouch(
        &mut self,
        entry: &yrdx_registry::Entry,
        service_item: Option<&str>,
        case_no: Option<&str>,
    ) {
        if let Some(s) = service_item
            && entry.service_items.iter().any(|x| x == s)
        {
            self.service_item = Some(Sent::Checked(s.to_owned()));
        }
        if let (Some(c), Some(pattern)) = (case_no, &entry.case_no_pattern)
            && yrdx_registry::case_no::matches(pattern, c)
        {
            self.case_no = Some(Sent::Checked(c.to_owned()));
        }
    }

    /// The record's service item and case number, taken out of the context.
    pub(crate) fn take_use(&mut self) -> (Option<String>, Option<String>) {
        (
            self.service_item.take().map(Sent::into_record),
            self.case_no.take().map(Sent::into_record),
        )
    }

    /// The record's purpose, taken out of the context.
    pub(crate) fn take_purpose(&mut self) -> Option<String> {
        self.purpose.take().map(Purpose::into_record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_stage_keeps_its_own_time_in_pipeline_order() {
        let mut cx = Exchange::new("r".into(), "exchange", [0; 16]);
        let t = Instant::now();
        cx.timed(Stage::Minimise, t);
        cx.timed(Stage::Identify, t);
        cx.timed(Stage::Meter, t);
        let stages: Vec<Stage> = cx.stage_times().map(|(s, _)| s).collect();
        assert_eq!(stages, [Stage::Identify, Stage::Meter, Stage::Minimise]);
        for (i, s) in Stage::ALL.iter().enumerate() {
            assert_eq!(s.index(), i, "{}", s.name());
        }
    }

    #[test]
    fn digests_are_salted() {
        let a = Exchange::new("r".into(), "exchange", [1; 16]);
        let b = Exchange::new("r".into(), "exchange", [2; 16]);
        assert_ne!(
            a.digest(b"310115198801011236"),
            b.digest(b"310115198801011236")
        );
        assert_eq!(a.digest(b"x").as_str().len(), 64);
    }
}
