//! Audit: every exchange, served or refused, becomes one leaf of the exchange
//! log, and the answer leaves only once that leaf is durable. If the leaf cannot
//! be written the consumer gets `audit_unavailable` and no data (fail closed).

use axum::Json;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use http::HeaderValue;
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use yrdx_registry::{ExchangeRecord, Outcome};
use yrdx_signing::hex;

use crate::REQUEST_ID_HEADER;
use crate::metrics::{ExchangeLabels, StoreLabels, UpstreamLabels};
use crate::pipeline::{Exchange, Reply};
use crate::problem::Problem;
use crate::state::App;

/// Builds the record of `cx` with its outcome. What only the record needs
/// (the purpose, the items returned, the native digest, …) is moved out of
/// `cx`, not copied; what the answer and the metrics still read stays.
pub fn record(
    app: &App,
    cx: &mut Exchange,
    outcome: Outcome,
    code: Option<&str>,
    status: u16,
) -> ExchangeRecord {
    // Milliseconds are precise enough for a regulator and keep leaves short.
    let t = cx.received;
    let time = t
        .replace_nanosecond(t.nanosecond() / 1_000_000 * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default();
    ExchangeRecord {
        v: 1,
        time,
        request_id: cx.request_id.clone(),
        node: app.config.node.clone(),
        api: cx.api.to_owned(),
        consumer: cx.consumer.clone(),
        provider: cx.provider.clone(),
        resource: cx.resource.clone(),
        purpose: cx.purpose.take(),
        service_item: cx.service_item.take(),
        case_no: cx.case_no.take(),
        entry: cx.entry.clone(),
        items: std::mem::take(&mut cx.items),
        request_digest: cx.request_digest.clone(),
        response_digest: cx.response_digest.clone(),
        native_digest: cx.native_digest.take(),
        mapping: cx.mapping.take(),
        outcome,
        code: code.map(str::to_owned),
        status,
        latency_us: u64::try_from(cx.started.elapsed().as_micros()).unwrap_or(u64::MAX),
        seal: cx.seal.take(),
    }
}

/// The region code at the start of a member id, for bounded metric labels.
fn region_of(member: Option<&String>) -> &'static str {
    member
        .and_then(|m| m.split(':').next())
        .and_then(|r| r.parse::<yrdx_signing::Region>().ok())
        .map(|r| r.code())
        .unwrap_or("-")
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
    for (stage, took) in &cx.stages {
        m.stage(stage, *took);
    }
    m.stage("total", cx.started.elapsed());
    if let Some(code) =
        code.filter(|c| yrdx_registry::PROVIDER_CODES.contains(c) && *c != "record_not_found")
    {
        m.upstream_errors
            .get_or_create(&UpstreamLabels {
                provider_region: region_of(cx.provider.as_ref()),
                code,
            })
            .inc();
    }
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
    salt: String,
    time: &'a str,
    withheld: &'a [String],
}

/// A served catalogue exchange's body.
#[derive(Serialize)]
struct ServedBody<'a> {
    data: &'a serde_json::value::RawValue,
    provider: &'a str,
    receipt: ConsumerReceipt<'a>,
    resource: &'a str,
}

/// Records the exchange and answers it.
pub async fn finish(app: &App, mut cx: Exchange, result: Result<Reply, Problem>) -> Response {
    let (outcome, code, status) = match &result {
        Ok(_) => (Outcome::Served, None, 200),
        Err(p) => (Outcome::Refused, Some(p.code()), p.status().as_u16()),
    };
    let entry = record(app, &mut cx, outcome, code, status);
    let span = tracing::Span::current();
    span.record("consumer", cx.consumer.as_deref().unwrap_or("-"));
    span.record("outcome", outcome.as_str());
    span.record("code", code.unwrap_or("-"));
    span.record("latency_ms", entry.latency_us / 1000);
    let time_ms = i64::try_from(cx.received.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
    let started_audit = std::time::Instant::now();
    drop(cx.announced.take());
    let appended = app.log.append(&entry, time_ms).await;
    app.metrics.stage("audit", started_audit.elapsed());
    let receipt = match appended {
        Ok(r) => {
            count(app, &cx, outcome, code);
            r
        }
        Err(e) => {
            tracing::error!(error = %e, "exchange not recorded; refusing with audit_unavailable");
            app.metrics
                .store_errors
                .get_or_create(&StoreLabels {
                    operation: "log_append",
                })
                .inc();
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
                request_digest: cx.request_digest.as_deref(),
                request_id: &cx.request_id,
                response_digest: cx.response_digest.as_deref(),
                salt: base64::engine::general_purpose::STANDARD.encode(cx.salt),
                time: &entry.time,
                withheld: &cx.withheld,
            };
            let mut resp = match reply {
                Reply::Exchange(served) => Json(ServedBody {
                    data: &served.data,
                    provider: &served.provider,
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
            };
            if let Ok(v) = HeaderValue::from_str(&cx.request_id) {
                resp.headers_mut().insert(REQUEST_ID_HEADER, v);
            }
            resp
        }
    }
}

/// Records a connection refused during the TLS handshake for a certificate
/// problem. Nobody waits for it; a failure is logged.
pub fn tls_refusal(app: std::sync::Arc<App>, code: &'static str) {
    tokio::spawn(async move {
        let mut cx = Exchange::new(uuid::Uuid::now_v7().to_string(), "tls");
        let entry = record(&app, &mut cx, Outcome::Refused, Some(code), 0);
        let time_ms = i64::try_from(cx.received.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
        match app.log.append(&entry, time_ms).await {
            Ok(_) => count(&app, &cx, Outcome::Refused, Some(code)),
            Err(e) => {
                tracing::error!(error = %e, code, "TLS refusal not recorded");
                app.metrics
                    .store_errors
                    .get_or_create(&StoreLabels {
                        operation: "log_append",
                    })
                    .inc();
            }
        }
    });
}
