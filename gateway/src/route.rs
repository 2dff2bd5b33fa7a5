//! The one path every request of the exchange listener takes, whatever its
//! route: request id → span → context → identity → body (within the route's
//! limit) → the route's own stages → the leaf → the answer.
//!
//! A route states only what is its own: a [`Route`] (its API name, template,
//! who may call it, which of its requests become leaves, how large a body it
//! takes) and its stages ([`Handler::stages`]). Everything else happens here,
//! once, in the same order for every route:
//!
//! - the request id is the caller's `Yrdx-Request-Id` if it is a UUID, else a
//!   new UUID v7 (a malformed one is itself a `bad_request`, recorded);
//! - the request runs in one tracing span `request` carrying the API, the
//!   route template (never the raw URI), the request id, consumer, outcome,
//!   problem code and latency;
//! - the caller is identified against the registry snapshot the whole request
//!   uses (`identify`, or `not_a_regulator` on the regulator's routes) before
//!   anything it sent is read;
//! - on a route whose every request is a leaf, a request id the caller sent
//!   is its idempotency key ([`request_ids`]), claimed once the body is read
//!   and before the route's stages run;
//! - an exchange's leaf is written by [`audit::finish`] before anything is
//!   answered. Regulators' reads are not leaves (reading the log must not
//!   change it), but every caller they refuse for who it is, is.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use axum::Extension;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue};
use http_body_util::{BodyExt, Limited};
use tracing::Instrument;

use crate::REQUEST_ID_HEADER;
use crate::context::{Exchange, Stage};
use crate::identity::Peer;
use crate::pipeline::{Call, Reply, audit, identify, request_ids};
use crate::problem::{Detail, Problem};
use crate::regulator;
use crate::state::App;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// Any registered, active member.
    Member,
    /// Members holding the regulator role.
    Regulator,
}

/// Which of a route's requests become leaves of the exchange log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leaves {
    /// Every request, served or refused.
    Every,
    /// Only the callers refused for who they are; the route's reads are not
    /// leaves.
    CallerRefusals,
}

/// How large a body a route reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyLimit {
    /// No body is read.
    None,
    /// `limits.max_body_bytes`.
    Request,
    /// `limits.max_verify_bytes`: uploaded documents.
    Document,
}

/// What a route is, apart from its stages.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    /// The API's name in the record: `exchange`, `licence`, `verify`,
    /// `audit`, `report`.
    pub api: &'static str,
    /// The route template, as routed and as logged.
    pub template: &'static str,
    /// Who may call it.
    pub caller: Caller,
    /// Which requests become leaves.
    pub leaves: Leaves,
    /// The body it reads.
    pub body: BodyLimit,
    /// Whether the path parameter names a catalogue resource, recorded from
    /// the start (even when the caller is then refused).
    pub resource_in_path: bool,
}

/// A route of the exchange listener.
pub trait Handler: Send + Sync + 'static {
    /// What the route is.
    const ROUTE: Route;

    /// The route's own stages, after identification.
    fn stages(
        call: Call<'_>,
        cx: &mut Exchange,
    ) -> impl Future<Output = Result<Reply, Problem>> + Send;
}

/// The request id: the caller's `Yrdx-Request-Id` if it is a UUID, else a new
/// UUID v7. A malformed caller id is itself a bad request.
pub fn request_id(headers: &HeaderMap) -> (String, Option<Problem>) {
    match headers.get(REQUEST_ID_HEADER) {
        None => (uuid::Uuid::now_v7().to_string(), None),
        Some(v) => match v.to_str().ok().and_then(|s| uuid::Uuid::parse_str(s).ok()) {
            Some(id) => (id.hyphenated().to_string(), None),
            None => (
                uuid::Uuid::now_v7().to_string(),
                Some(Problem::BadRequest(Detail::new(
                    "请求头 Yrdx-Request-Id 不是 UUID。",
                    "Yrdx-Request-Id is not a UUID",
                ))),
            ),
        },
    }
}

/// Reads the body within `max` bytes and the request time limit.
async fn read_body(app: &App, body: Body, max: usize) -> Result<Bytes, Problem> {
    let collect = Limited::new(body, max).collect();
    match tokio::time::timeout(app.config.limits.request_timeout, collect).await {
        Err(_) => Err(Problem::BadRequest(Detail::new(
            "未在时限内收到请求体。",
            "request body not received in time",
        ))),
        Ok(Err(e))
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(Problem::PayloadTooLarge)
        }
        Ok(Err(_)) => Err(Problem::BadRequest(Detail::new(
            "无法读取请求体。",
            "request body could not be read",
        ))),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
    }
}

/// The request head as counted against `limits.max_header_bytes`: the
/// request line and every header line, as an HTTP/1.1 client sends them
/// (an HTTP/2 head is counted the same way).
fn head_size<B>(request: &http::Request<B>) -> usize {
    let uri = request.uri();
    let target = uri.authority().map_or(0, |a| a.as_str().len())
        + uri.path_and_query().map_or(0, |pq| pq.as_str().len());
    // "METHOD target HTTP/1.1\r\n", then "name: value\r\n" per header.
    let line = request.method().as_str().len() + target + 11;
    request.headers().iter().fold(line, |n, (name, value)| {
        n + name.as_str().len() + value.len() + 4
    })
}

/// The head limits, checked on every request before it is routed: a head
/// over `limits.max_header_bytes` or with more than `limits.max_headers`
/// headers is answered `431 header_too_large` in problem+json, and recorded
/// (`api = "http"`, with the connection's member) before it is answered, like
/// any refusal. The HTTP layer's own limits are set at twice these
/// ([`crate::server`]) as a backstop; a head over those is refused by the
/// HTTP layer itself with the bare status (see `docs/api.md`).
pub async fn head_limit(
    State(app): State<Arc<App>>,
    request: http::Request<Body>,
    next: axum::middleware::Next,
) -> Response {
    let limits = &app.config.limits;
    if request.headers().len() <= limits.max_headers
        && head_size(&request) <= limits.max_header_bytes
    {
        return next.run(request).await;
    }
    let (id, _) = request_id(request.headers());
    let mut cx = match Exchange::new_salt() {
        Ok(salt) => Exchange::new(id, "http", salt),
        Err(p) => return p.to_response(&id),
    };
    if let Some(peer) = request.extensions().get::<Arc<Peer>>()
        && let Peer::Member { id, .. } = &**peer
    {
        cx.consumer = Some(id.clone());
    }
    drop(request);
    tracing::info!(
        code = Problem::HeadTooLarge.code(),
        "request refused: head over the limits"
    );
    audit::finish(&app, cx, Err(Problem::HeadTooLarge)).await
}

/// A route's method, any other refused as `method_not_allowed`.
pub fn only(method: MethodRouter<Arc<App>>) -> MethodRouter<Arc<App>> {
    method.fallback(method_not_allowed)
}

/// No such route: `not_found`, not recorded (no API was called).
pub async fn not_found(headers: HeaderMap) -> Response {
    Problem::NotFound.to_response(&request_id(&headers).0)
}

/// A route called with a method it does not take: not recorded either.
pub async fn method_not_allowed(headers: HeaderMap) -> Response {
    Problem::MethodNotAllowed.to_response(&request_id(&headers).0)
}

/// The axum handler of every route: the one path.
pub async fn handle<H: Handler>(
    State(app): State<Arc<App>>,
    Extension(peer): Extension<Arc<Peer>>,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
    request: http::Request<Body>,
) -> Response {
    let route = H::ROUTE;
    let (parts, body) = request.into_parts();
    let (id, id_problem) = request_id(&parts.headers);
    let id_sent = id_problem.is_none() && parts.headers.contains_key(REQUEST_ID_HEADER);
    // The route's one path parameter, whatever its name; none is "".
    let path = path.map(|Path(p)| p).unwrap_or_default();
    let span = tracing::info_span!(
        "request",
        api = route.api,
        route = route.template,
        request_id = %id,
        resource = tracing::field::Empty,
        consumer = tracing::field::Empty,
        outcome = tracing::field::Empty,
        code = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
    );
    // The request runs as its own task: a client that hangs up, or resets its
    // HTTP/2 stream, drops this future but not the task, so a request that
    // was begun is carried through and its leaf written whatever the client
    // does — with `client_closed` if it left before its answer.
    let gone = Hangup::default();
    let request = Request {
        id,
        id_problem,
        id_sent,
        path,
        query: parts.uri.query().map(str::to_owned),
        headers: parts.headers,
        body,
        client_gone: gone.flag.clone(),
    };
    let task = tokio::spawn(serve::<H>(app, peer, request).instrument(span));
    let response = match task.await {
        Ok(response) => response,
        Err(e) => {
            tracing::error!(error = %e, "a request's task failed");
            Problem::Internal.to_response(&uuid::Uuid::now_v7().to_string())
        }
    };
    gone.answered();
    response
}

/// Marks the client gone when the handler's future is dropped before the
/// answer was handed back: the connection closed under it.
#[derive(Debug, Default)]
struct Hangup {
    flag: Arc<AtomicBool>,
    answered: bool,
}

impl Hangup {
    fn answered(mut self) {
        self.answered = true;
    }
}

impl Drop for Hangup {
    fn drop(&mut self) {
        if !self.answered {
            self.flag.store(true, Ordering::Relaxed);
        }
    }
}

/// What a request brought, for its task.
#[derive(Debug)]
struct Request {
    id: String,
    id_problem: Option<Problem>,
    /// Whether the caller sent the id (a key), rather than the gateway made it.
    id_sent: bool,
    path: String,
    query: Option<String>,
    headers: HeaderMap,
    body: Body,
    client_gone: Arc<AtomicBool>,
}

/// The one path, from the context to the answer.
async fn serve<H: Handler>(app: Arc<App>, peer: Arc<Peer>, request: Request) -> Response {
    let route = H::ROUTE;
    let Request {
        id,
        id_problem,
        id_sent,
        path,
        query,
        headers,
        body,
        client_gone,
    } = request;
    let mut cx = match Exchange::new_salt() {
        Ok(salt) => Exchange::new(id, route.api, salt),
        Err(p) => return p.to_response(&id),
    };
    cx.client_gone = Some(client_gone);
    if route.leaves == Leaves::Every {
        cx.announced = Some(app.log.announce());
    }
    let snapshot = app.snapshot();
    if route.resource_in_path {
        // Only the catalogue's own codes reach the operator's log: anything
        // else a caller put in the path (an ID number, a forged line) is
        // `unknown` with a salted digest.
        let span = tracing::Span::current();
        if snapshot.registry.resource(&path).is_some() {
            span.record("resource", path.as_str());
            cx.resource = Some(path.clone());
        } else {
            let digest = cx.digest(path.as_bytes());
            let short = digest.as_str().get(..12).unwrap_or_default();
            span.record("resource", format!("unknown:{short}"));
        }
    }

    // identify: first, because nothing else may be looked at for an
    // unknown caller. A member its own region vouches for is recorded
    // even when unregistered or suspended; an impostor's claim is not.
    let t = Instant::now();
    if let Peer::Member { id, .. } = &*peer {
        cx.consumer = Some(id.clone());
    }
    let caller = match id_problem {
        Some(p) => Err(p),
        None => match route.caller {
            Caller::Member => identify::run(&snapshot.registry, &peer),
            Caller::Regulator => regulator::require(&snapshot.registry, &peer),
        },
    };
    cx.timed(Stage::Identify, t);
    let caller = match caller {
        Ok(caller) => caller,
        Err(problem) => return audit::finish(&app, cx, Err(problem)).await,
    };

    let body = match route.body {
        BodyLimit::None => Ok(Bytes::new()),
        BodyLimit::Request => read_body(&app, body, app.config.limits.max_body_bytes).await,
        BodyLimit::Document => read_body(&app, body, app.config.limits.max_verify_bytes).await,
    };
    let body = match body {
        Ok(body) if id_sent && route.leaves == Leaves::Every => {
            request_ids::claim(&app, &mut cx, caller, &path, query.as_deref(), &body)
                .await
                .map(|()| body)
        }
        other => other,
    };
    let result = match body {
        Err(p) => Err(p),
        Ok(body) => {
            let call = Call {
                app: &app,
                snapshot: &snapshot,
                caller,
                path,
                query,
                body,
                headers: &headers,
            };
            H::stages(call, &mut cx).await
        }
    };
    match route.leaves {
        Leaves::Every => audit::finish(&app, cx, result).await,
        Leaves::CallerRefusals => answer_read(&cx, result),
    }
}

/// A regulator's read: answered without a leaf (reading the log must not
/// change it), but in the gateway's own log.
fn answer_read(cx: &Exchange, result: Result<Reply, Problem>) -> Response {
    let span = tracing::Span::current();
    match &cx.consumer {
        Some(m) => span.record("consumer", tracing::field::display(m)),
        None => span.record("consumer", "-"),
    };
    let mut response = match result {
        Ok(reply) => {
            span.record("outcome", "served");
            let r = reply.into_response();
            tracing::info!(status = r.status().as_u16(), "regulator read answered");
            r
        }
        Err(problem) => {
            span.record("outcome", "refused");
            span.record("code", problem.code());
            tracing::info!(status = problem.status().as_u16(), "regulator read refused");
            problem.to_response(&cx.request_id)
        }
    };
    if let Ok(v) = HeaderValue::from_str(&cx.request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
    response
}
