//! The exchange API's routes. Each handler makes the exchange context, runs its
//! pipeline inside a tracing span named after the route template (never the raw
//! URI), and hands the result to the audit stage.

use std::sync::Arc;

use axum::Extension;
use axum::Router;
use axum::body::Body;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use http::HeaderMap;
use http_body_util::{BodyExt, Limited};
use tracing::Instrument;

use crate::REQUEST_ID_HEADER;
use crate::identity::Peer;
use crate::pipeline::{self, Exchange, audit};
use crate::problem::Problem;
use crate::state::App;

/// The exchange listener's routes.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route(
            "/v1/exchange/{resource}",
            post(exchange).fallback(method_not_allowed),
        )
        .route(
            "/v1/licences/{licence_id}",
            get(licence).fallback(method_not_allowed),
        )
        .route("/v1/verify", post(verify).fallback(method_not_allowed))
        .route(
            "/v1/reports/fulfilment",
            get(crate::reports_api::fulfilment).fallback(method_not_allowed),
        )
        .merge(crate::audit_api::routes())
        .fallback(not_found)
        .with_state(app)
}

/// The request id: the caller's `Yrdx-Request-Id` if it is a UUID, else a new
/// UUID v7. A malformed caller id is itself a bad request.
pub(crate) fn request_id(headers: &HeaderMap) -> (String, Option<Problem>) {
    match headers.get(REQUEST_ID_HEADER) {
        None => (uuid::Uuid::now_v7().to_string(), None),
        Some(v) => match v.to_str().ok().and_then(|s| uuid::Uuid::parse_str(s).ok()) {
            Some(id) => (id.hyphenated().to_string(), None),
            None => (
                uuid::Uuid::now_v7().to_string(),
                Some(Problem::BadRequest("Yrdx-Request-Id is not a UUID".into())),
            ),
        },
    }
}

/// Reads the body within the size and time limits.
async fn read_body(app: &App, body: Body) -> Result<bytes::Bytes, Problem> {
    read_body_within(app, body, app.config.limits.max_body_bytes).await
}

/// Reads the body within `max` bytes and the request time limit.
async fn read_body_within(app: &App, body: Body, max: usize) -> Result<bytes::Bytes, Problem> {
    let limits = &app.config.limits;
    let collect = Limited::new(body, max).collect();
    match tokio::time::timeout(limits.request_timeout, collect).await {
        Err(_) => Err(Problem::BadRequest(
            "request body not received in time".into(),
        )),
        Ok(Err(e))
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(Problem::PayloadTooLarge)
        }
        Ok(Err(_)) => Err(Problem::BadRequest("request body could not be read".into())),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
    }
}

async fn exchange(
    State(app): State<Arc<App>>,
    Extension(peer): Extension<Arc<Peer>>,
    resource: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (id, id_problem) = request_id(&headers);
    let resource = resource.map(|Path(r)| r).unwrap_or_default();
    let span = tracing::info_span!(
        "exchange",
        route = "/v1/exchange/{resource}",
        request_id = %id,
        resource = %resource.chars().take(32).collect::<String>(),
        consumer = tracing::field::Empty,
        outcome = tracing::field::Empty,
        code = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
    );
    async move {
        let mut cx = Exchange::announced(id, "exchange", &app.log);
        let result = match id_problem {
            Some(p) => Err(p),
            None => match read_body(&app, body).await {
                Ok(bytes) => pipeline::exchange(&app, &mut cx, &peer, &resource, &bytes)
                    .await
                    .map(pipeline::Reply::from),
                Err(p) => Err(p),
            },
        };
        audit::finish(&app, cx, result).await
    }
    .instrument(span)
    .await
}

async fn licence(
    State(app): State<Arc<App>>,
    Extension(peer): Extension<Arc<Peer>>,
    licence_id: Result<Path<String>, PathRejection>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let (id, id_problem) = request_id(&headers);
    let licence_id = licence_id.map(|Path(r)| r).unwrap_or_default();
    let span = tracing::info_span!(
        "licence",
        route = "/v1/licences/{licence_id}",
        request_id = %id,
        consumer = tracing::field::Empty,
        outcome = tracing::field::Empty,
        code = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
    );
    async move {
        let mut cx = Exchange::announced(id, "licence", &app.log);
        let result = match (id_problem, query) {
            (Some(p), _) => Err(p),
            (None, Err(_)) => Err(Problem::BadRequest("the query string is not valid".into())),
            (None, Ok(Query(params))) => {
                pipeline::licence::run(&app, &mut cx, &peer, &licence_id, &params).await
            }
        };
        audit::finish(&app, cx, result).await
    }
    .instrument(span)
    .await
}

async fn verify(
    State(app): State<Arc<App>>,
    Extension(peer): Extension<Arc<Peer>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (id, id_problem) = request_id(&headers);
    let span = tracing::info_span!(
        "verify",
        route = "/v1/verify",
        request_id = %id,
        consumer = tracing::field::Empty,
        outcome = tracing::field::Empty,
        code = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
    );
    async move {
        let mut cx = Exchange::announced(id, "verify", &app.log);
        let admitted = match id_problem {
            Some(p) => Err(p),
            None => pipeline::verify::admit(&app, &mut cx, &peer),
        };
        let result = match admitted {
            Err(p) => Err(p),
            Ok(()) => {
                match read_body_within(&app, body, app.config.limits.max_verify_bytes).await {
                    Ok(bytes) => pipeline::verify::run(&app, &mut cx, &bytes),
                    Err(p) => Err(p),
                }
            }
        };
        audit::finish(&app, cx, result).await
    }
    .instrument(span)
    .await
}

async fn not_found(headers: HeaderMap) -> Response {
    Problem::NotFound.to_response(&request_id(&headers).0)
}

pub(crate) async fn method_not_allowed(headers: HeaderMap) -> Response {
    Problem::MethodNotAllowed.to_response(&request_id(&headers).0)
}
