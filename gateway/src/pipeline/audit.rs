//! Audit: every exchange, served or refused, becomes one leaf of the exchange
//! log, and the answer leaves only once that leaf is durable. If the leaf cannot
//! be written the consumer gets `audit_unavailable` and no data (fail closed).

use axum::Json;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use http::HeaderValue;
use serde::Serialize;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use yrdx_registry::{ExchangeRecord, Outcome};
use yrdx_signing::{MemberId, hex};

use crate::REQUEST_ID_HEADER;
use crate::context::{Exchange, Stage};
use crate::metrics::{ExchangeLabels, StoreLabels, UpstreamLabels};
use crate::pipeline::{Reply, request_ids};
use crate::problem::Problem;
use crate::state::App;

/// A leaf's time: RFC 3339 in UTC with exactly three fractional digits.
const LEAF_TIME: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// Builds the record of `cx` with its outcome, and the leaf's time in Unix
/// milliseconds. What only the record needs (the purpose, the items returned,
/// the native digest, …) is moved out of `cx`, not copied; what the answer and
/// the metrics still read stays.
///
/// A time that cannot be written is not written as something else: without
/// it there is no leaf, and the request fails closed (`internal_error`).
pub fn record(
    node: &str,
    cx: &mut Exchange,
    outcome: Outcome,
    code: Option<&str>,
    status: u16,
) -> Result<(ExchangeRecord, i64), Problem> {
    // Milliseconds are precise enough for a regulator and keep leaves short:
    // always three digits, so every leaf's time has the same shape.
    let t = cx.received;
    let time = t.to_offset(time::UtcOffset::UTC).format(LEAF_TIME).ok();
    let time_ms = Some(yrdx_signing::time::unix_ms(t)).filter(|ms| *ms > 0);
    let (Some(time), Some(time_ms)) = (time, time_ms) else {
        tracing::error!(received = %t, "the exchange's time cannot be recorded; refusing");
        return Err(Problem::Internal);
    };
    let (service_item, case_no) = cx.take_use();
    let record = ExchangeRecord {
        v: 1,
        time,
        request_id: cx.request_id.clone(),
        node: node.to_owned(),
        api: cx.api.to_owned(),
        consumer: cx.consumer.as_ref().map(MemberId::to_string),
        provider: cx.provider.as_ref().map(MemberId::to_string),
        resource: cx.resource.clone(),
        purpose: cx.take_purpose(),
        service_item,
        case_no,
        entry: cx.entry.clone(),
        items: std::mem::take(&mut cx.items),
        request_digest: cx.request_digest.as_ref().map(|d| d.as_str().to_owned()),
        response_digest: cx.response_digest.as_ref().map(|d| d.as_str().to_owned()),
        retry_of: cx.request_key.as_ref().and_then(|k| k.first_leaf),
        native_digest: cx.native_digest.take().map(|d| d.into_string()),
        mapping: cx.mapping.take(),
        outcome,
        parent: cx.parent.take(),
        code: code.map(str::to_owned),
        status,
        latency_us: u64::try_from(cx.started.elapsed().as_micros()).unwrap_or(u64::MAX),
        seal: cx.seal.take(),
    };
    Ok((record, time_ms))
}

/// The region code of a member, for bounded metric labels.
fn region_of(member: Option<&MemberId>) -> &'static str {
    member.map_or("-", |m| m.region().code())
}

/// Counts the exchange in the metrics.
fn count(app: &App, cx: &Exchange, outcome: Outcome, code: Option<&'static str>) {
    let m = &app.metrics;
    m.exchanges
        .get_or_create(&ExchangeLabels {
            api: cx.api,
            outcome: outcome.as_str(),
            code: code.unwrap_or("-"),
            resource: cx.resource.clone().unwrap_or_else(|| "-".into()),
            consumer_region: region_of(cx.consumer.as_ref()),
            provider_region: region_of(cx.provider.as_ref()),
        })
        .inc();
    for (stage, took) in cx.stage_times() {
        m.stage(stage, took);
    }
    m.stage(Stage::Total, cx.started.elapsed());
    if let Some(code) = code.filter(|c| Problem::is_provider_failure(c)) {
        m.upstream_errors
            .get_or_create(&UpstreamLabels {
                provider_region: region_of(cx.provider.as_ref()),
                code,
            })
            .inc();
    }
}

/// A log append that failed, in the metrics.
fn append_failed(app: &App) {
    app.metrics
        .store_errors
        .get_or_create(&StoreLabels {
            operation: "log_append",
        })
        .inc();
}

/// What the consumer is handed to prove its exchange was logged. Serialised
/// straight from the context (fields in name order, as the JSON always was).
#[derive(Serialize)]
struct ConsumerReceipt<'a> {
    entry: Option<&'a str>,
    leaf_hash: String,
    leaf_index: u64,
    log: &'a str,
    request_digest: Option<&'a str>,
    request_id: &'a str,
    response_digest: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_of: Option<u64>,
    salt: String,
    time: &'a str,
    withheld: &'a [String],
}

/// A served catalogue exchange's body.
#[derive(Serialize)]
struct ServedBody<'a> {
    data: &'a serde_json::value::RawValue,
    provider: Option<&'a MemberId>,
    receipt: ConsumerReceipt<'a>,
    resource: &'a str,
}

/// Records the exchange and answers it.
pub async fn finish(app: &App, mut cx: Exchange, result: Result<Reply, Problem>) -> Response {
    // A client that left before its answer gets none: the leaf says so, with
    // whatever the stages did (the provider asked, its answer's digest…).
    let result = if cx.client_left() {
        Err(Problem::ClientClosed)
    } else {
        result
    };
    let (outcome, code, status) = match &result {
        Ok(_) => (Outcome::Served, None, 200),
        Err(p) => (Outcome::Refused, Some(p.code()), p.status().as_u16()),
    };
    let span = tracing::Span::current();
    match &cx.consumer {
        Some(m) => span.record("consumer", tracing::field::display(m)),
        None => span.record("consumer", "-"),
    };
    let (entry, time_ms) = match record(&app.config.node, &mut cx, outcome, code, status) {
        Ok(r) => r,
        Err(p) => {
            drop(cx.announced.take());
            request_ids::answered(app, &cx, None).await;
            span.record("outcome", Outcome::Refused.as_str());
            span.record("code", p.code());
            return p.to_response(&cx.request_id);
        }
    };
    span.record("outcome", outcome.as_str());
    span.record("code", code.unwrap_or("-"));
    span.record("latency_ms", entry.latency_us / 1000);
    let started_audit = std::time::Instant::now();
    drop(cx.announced.take());
    let appended = app.log.append(&entry, time_ms).await;
    cx.timed(Stage::Audit, started_audit);
    request_ids::answered(app, &cx, appended.as_ref().ok().map(|r| r.index)).await;
    let receipt = match appended {
        Ok(r) => {
            count(app, &cx, outcome, code);
            r
        }
        Err(e) => {
            tracing::error!(error = %e, "exchange not recorded; refusing with audit_unavailable");
            span.record("outcome", Outcome::Refused.as_str());
            span.record("code", Problem::AuditUnavailable.code());
            append_failed(app);
            count(
                app,
                &cx,
                Outcome::Refused,
                Some(Problem::AuditUnavailable.code()),
            );
            return Problem::AuditUnavailable.to_response(&cx.request_id);
        }
    };
    tracing::info!(leaf = receipt.index, "exchange recorded");
    match result {
        Err(problem) => problem.to_response(&cx.request_id),
        Ok(reply) => {
            let receipt = ConsumerReceipt {
                entry: cx.entry.as_deref(),
                leaf_hash: hex(&receipt.leaf_hash),
                leaf_index: receipt.index,
                log: app.log.origin(),
                request_digest: cx.request_digest.as_ref().map(|d| d.as_str()),
                request_id: &cx.request_id,
                response_digest: cx.response_digest.as_ref().map(|d| d.as_str()),
                retry_of: entry.retry_of,
                salt: base64::engine::general_purpose::STANDARD.encode(cx.salt()),
                time: &entry.time,
                withheld: &cx.withheld,
            };
            let mut resp = match reply {
                Reply::Exchange(served) => Json(ServedBody {
                    data: &served.data,
                    provider: cx.provider.as_ref(),
                    receipt,
                    resource: &served.resource,
                })
                .into_response(),
                Reply::Json(mut map) => {
                    match serde_json::to_value(&receipt) {
                        Ok(receipt) => map.insert("receipt".into(), receipt),
                        Err(_) => return Problem::Internal.to_response(&cx.request_id),
                    };
                    Json(map).into_response()
                }
                Reply::Raw(resp) => resp,
            };
            if let Ok(v) = HeaderValue::from_str(&cx.request_id) {
                resp.headers_mut().insert(REQUEST_ID_HEADER, v);
            }
            resp
        }
    }
}

/// Records one provider call made on behalf of another request (its
/// `parent`) as a leaf of its own, served or refused with `problem`, and
/// returns the leaf's index once it is durable. The parent answers only after
/// every such leaf is.
pub async fn child_leaf(
    app: &App,
    mut cx: Exchange,
    problem: Option<&Problem>,
) -> Result<u64, Problem> {
    let (outcome, code, status) = match problem {
        None => (Outcome::Served, None, 200),
        Some(p) => (Outcome::Refused, Some(p.code()), p.status().as_u16()),
    };
    let (entry, time_ms) = record(&app.config.node, &mut cx, outcome, code, status)?;
    match app.log.append(&entry, time_ms).await {
        Ok(receipt) => {
            count(app, &cx, outcome, code);
            Ok(receipt.index)
        }
        Err(e) => {
            tracing::error!(error = %e, "a provider call not recorded; refusing with audit_unavailable");
            append_failed(app);
            Err(Problem::AuditUnavailable)
        }
    }
}

/// Records a connection refused during the TLS handshake for a certificate
/// problem. Nobody waits for it; a failure is logged.
pub fn tls_refusal(app: std::sync::Arc<App>, problem: Problem) {
    below_http(app, "tls", None, problem, 0);
}

/// Records a request the HTTP layer refused before any route saw it — a
/// request head too large, too many headers, malformed framing — for the
/// connection's `consumer` where its certificate named one. The HTTP layer
/// answered it itself (with the bare status the protocol allows).
pub fn http_refusal(app: std::sync::Arc<App>, consumer: Option<MemberId>, problem: Problem) {
    let status = problem.status().as_u16();
    below_http(app, "http", consumer, problem, status);
}

/// A refusal below the routes, recorded in the background.
fn below_http(
    app: std::sync::Arc<App>,
    api: &'static str,
    consumer: Option<MemberId>,
    problem: Problem,
    status: u16,
) {
    tokio::spawn(async move {
        let code = problem.code();
        let salt = match Exchange::new_salt() {
            Ok(salt) => salt,
            Err(_) => return,
        };
        let mut cx = Exchange::new(uuid::Uuid::now_v7().to_string(), api, salt);
        cx.consumer = consumer;
        let Ok((entry, time_ms)) = record(
            &app.config.node,
            &mut cx,
            Outcome::Refused,
            Some(code),
            status,
        ) else {
            return;
        };
        match app.log.append(&entry, time_ms).await {
            Ok(_) => count(&app, &cx, Outcome::Refused, Some(code)),
            Err(e) => {
                tracing::error!(error = %e, code, api, "refusal not recorded");
                append_failed(app.as_ref());
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use time::OffsetDateTime;

    use super::*;

    fn context(received: OffsetDateTime) -> Exchange {
        let mut cx = Exchange::new("r".into(), "exchange", [7; 16]);
        cx.received = received;
        cx
    }

    /// A leaf's time is never written as zero or left out: without a time
    /// there is no leaf, and the request is refused.
    #[test]
    fn a_time_that_cannot_be_recorded_fails_closed() {
        for t in [
            OffsetDateTime::UNIX_EPOCH,
            OffsetDateTime::UNIX_EPOCH - time::Duration::days(1),
        ] {
            let got = record("n", &mut context(t), Outcome::Served, None, 200);
            assert!(matches!(got, Err(Problem::Internal)), "{t}: {got:?}");
        }
        let t = OffsetDateTime::UNIX_EPOCH + time::Duration::milliseconds(1_764_547_200_120);
        let (leaf, ms) = record("n", &mut context(t), Outcome::Served, None, 200).unwrap();
        assert_eq!(ms, 1_764_547_200_120);
        assert_eq!(leaf.time, "2025-12-01T00:00:00.120Z");
    }

    /// Whole seconds and whole tenths keep their three digits; the time is
    /// written in UTC whatever offset it was taken in.
    #[test]
    fn a_leaf_time_always_has_three_fractional_digits() {
        for (ms, want) in [
            (1_764_547_200_000_i64, "2025-12-01T00:00:00.000Z"),
            (1_764_547_200_700, "2025-12-01T00:00:00.700Z"),
            (1_764_547_200_007, "2025-12-01T00:00:00.007Z"),
        ] {
            let t = OffsetDateTime::UNIX_EPOCH + time::Duration::milliseconds(ms);
            let t = t.to_offset(time::macros::offset!(+8)) + time::Duration::nanoseconds(999_999);
            let (leaf, got_ms) = record("n", &mut context(t), Outcome::Served, None, 200).unwrap();
            assert_eq!((leaf.time.as_str(), got_ms), (want, ms));
        }
    }

    /// The record's purpose is the list's words once allowed, else only the
    /// salted digest of what the consumer declared.
    #[test]
    fn a_declared_purpose_is_recorded_as_its_digest() {
        let now = OffsetDateTime::now_utc();
        let mut cx = context(now);
        cx.declare_purpose("营销");
        let (leaf, _) = record("n", &mut cx, Outcome::Refused, Some("x"), 403).unwrap();
        let purpose = leaf.purpose.unwrap();
        assert!(
            purpose.starts_with("sha256:") && !purpose.contains("营销"),
            "{purpose}"
        );
        assert_eq!(purpose.len(), "sha256:".len() + 64);
        let mut cx = context(now);
        cx.purpose = Some(crate::context::Purpose::Listed("企业登记信息核验".into()));
        let (leaf, _) = record("n", &mut cx, Outcome::Served, None, 200).unwrap();
        assert_eq!(leaf.purpose.as_deref(), Some("企业登记信息核验"));
    }
}
