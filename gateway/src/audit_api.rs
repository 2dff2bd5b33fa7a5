//! The regulator API: the exchange log read back with everything needed to
//! check it without trusting the operator — the signed checkpoint and its
//! public key, leaves, inclusion and consistency proofs, and the C2SP
//! tlog-tiles layout under `/v1/audit/` so that existing transparency-log
//! clients can read it.
//!
//! Only members holding the regulator role get an answer. A refused caller is
//! recorded in the exchange log like any refused exchange (`api = "audit"`);
//! a regulator's reads are not, so that reading the log never changes it.
//! Everything served is bounded by the latest checkpoint: a regulator only
//! ever sees leaves it can verify.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use axum::Extension;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use http::{HeaderMap, HeaderValue, header};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tracing::Instrument;
use yrdx_registry::{EntryQuery, MAX_ENTRIES_PAGE, Outcome};
use yrdx_signing::{LeafIndex, Tile, TreeSize};

use crate::api::{method_not_allowed, request_id};
use crate::identity::Peer;
use crate::pipeline::{Exchange, audit};
use crate::problem::Problem;
use crate::regulator;
use crate::state::App;

/// The audit routes, merged into the exchange listener's router.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route(
            "/v1/audit/checkpoint",
            get(checkpoint).fallback(method_not_allowed),
        )
        .route("/v1/audit/key", get(key).fallback(method_not_allowed))
        .route(
            "/v1/audit/entries",
            get(entries).fallback(method_not_allowed),
        )
        .route(
            "/v1/audit/proof/inclusion",
            get(inclusion).fallback(method_not_allowed),
        )
        .route(
            "/v1/audit/proof/consistency",
            get(consistency).fallback(method_not_allowed),
        )
        .route(
            "/v1/audit/tile/{*path}",
            get(tile).fallback(method_not_allowed),
        )
}

type Params = Result<Query<Vec<(String, String)>>, QueryRejection>;

/// Runs `read` for a regulator; anyone else is refused and recorded.
async fn regulated<F, Fut>(
    app: Arc<App>,
    peer: Arc<Peer>,
    headers: &HeaderMap,
    route: &'static str,
    read: F,
) -> Response
where
    F: FnOnce(Arc<App>) -> Fut,
    Fut: Future<Output = Result<Response, Problem>>,
{
    let (id, id_problem) = request_id(headers);
    let span = tracing::info_span!(
        "audit",
        route,
        request_id = %id,
        regulator = tracing::field::Empty,
        code = tracing::field::Empty,
    );
    async move {
        let registry = app.registry();
        let caller = match id_problem {
            Some(p) => Err(p),
            None => regulator::require(&registry, &peer),
        };
        let regulator = match caller {
            Ok(r) => r,
            Err(problem) => {
                let mut cx = Exchange::new(id, "audit");
                if let Peer::Member { id: m, .. } = &*peer {
                    cx.consumer = Some(m.to_string());
                }
                return audit::finish(&app, cx, Err(problem)).await;
            }
        };
        tracing::Span::current().record("regulator", tracing::field::display(&regulator));
        // Regulators' reads are not leaves (reading must not change the log),
        // but they are in the gateway's own log.
        let mut response = match read(app).await {
            Ok(r) => {
                tracing::info!(status = r.status().as_u16(), "audit API read");
                r
            }
            Err(problem) => {
                tracing::Span::current().record("code", problem.code());
                tracing::info!(
                    status = problem.status().as_u16(),
                    "audit API request refused"
                );
                problem.to_response(&id)
            }
        };
        if let Ok(v) = HeaderValue::from_str(&id) {
            response.headers_mut().insert(crate::REQUEST_ID_HEADER, v);
        }
        response
    }
    .instrument(span)
    .await
}

/// A store failure: details in our log, `internal_error` on the wire.
fn internal(e: impl std::fmt::Display) -> Problem {
    tracing::error!(error = %e, "audit API read failed");
    Problem::Internal
}

fn bad(detail: impl Into<String>) -> Problem {
    Problem::BadRequest(detail.into())
}

/// The query parameters, each at most once and each one `allowed`.
fn params(
    query: Params,
    allowed: &[&'static str],
) -> Result<HashMap<&'static str, String>, Problem> {
    let Query(pairs) = query.map_err(|_| bad("the query string is not valid"))?;
    let mut out = HashMap::new();
    for (name, value) in pairs {
        let known = allowed
            .iter()
            .find(|a| **a == name)
            .ok_or_else(|| bad(format!("unknown query parameter `{}`", truncate(&name))))?;
        if out.insert(*known, value).is_some() {
            return Err(bad(format!("query parameter `{known}` is given twice")));
        }
    }
    Ok(out)
}

fn truncate(s: &str) -> String {
    s.chars().take(32).collect()
}

fn number(params: &HashMap<&'static str, String>, name: &str) -> Result<Option<u64>, Problem> {
    params
        .get(name)
        .map(|v| {
            // Decimal digits only: no sign, no spaces, no hex.
            if v.is_empty() || v.len() > 20 || !v.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad(format!("`{name}` must be a non-negative integer")));
            }
            v.parse()
                .map_err(|_| bad(format!("`{name}` must be a non-negative integer")))
        })
        .transpose()
}

fn time_ms(params: &HashMap<&'static str, String>, name: &str) -> Result<Option<i64>, Problem> {
    params
        .get(name)
        .map(|v| {
            let t = OffsetDateTime::parse(v, &Rfc3339).map_err(|_| {
                bad(format!(
                    "`{name}` must be an RFC 3339 time, e.g. 2026-11-26T01:00:00Z"
                ))
            })?;
            i64::try_from(t.unix_timestamp_nanos() / 1_000_000)
                .map_err(|_| bad(format!("`{name}` is out of range")))
        })
        .transpose()
}

/// The size of the tree the latest checkpoint covers.
async fn tree_size(app: &App) -> Result<TreeSize, Problem> {
    app.store.log_tree_size().await.map_err(internal)
}

fn with_type(body: impl IntoResponse, content_type: &'static str) -> Response {
    let mut r = body.into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

fn no_store(mut r: Response) -> Response {
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn json(value: &impl Serialize) -> Result<Response, Problem> {
    let bytes = serde_json::to_vec(value).map_err(internal)?;
    Ok(with_type(bytes, "application/json"))
}

/// `GET /v1/audit/checkpoint`: the latest signed checkpoint, a C2SP signed
/// note.
async fn checkpoint(
    State(app): State<Arc<App>>,
    Extension(peer): Extension<Arc<Peer>>,
    headers: HeaderMap,
) -> Response {
    regulated(
        app,
        peer,
        &headers,
        "/v1/audit/checkpoint",
        |app| async move {
            let cp = app
                .store
                .latest_checkpoint()
                .await
                .map_err(internal)?
                .ok_or_else(|| internal("no checkpoint has been signed yet"))?;
            Ok(no_store(with_type(cp.note, "text/plain; charset=utf-8")))
        },
    )
    .await
}

/// `GET /v1/audit/key`: the checkpoints' verifier key, `name+keyid+base64`.
/// Regulators should pin the key they got out of band; this is a convenience.
async fn key(
    State(app): State<Arc<App>>,
    Extension(peer): Extension<Arc<Peer>>,
    headers: HeaderMap,
) -> Response {
    regulated(app, peer, &headers, "/v1/audit/key", |app| async move {
        let key = app
            .log
            .verifier_key()
            .ok_or_else(|| internal("this node has no log key"))?;
        Ok(with_type(format!("{key}\n"), "text/plain; charset=utf-8"))
    })
    .await
}

#[derive(Serialize)]
struct EntryOut {
    index: u64,
    leaf: String,
}

/// `GET /v1/audit/entries?start=&end=&time_from=&time_to=&consumer=&provider=&resource=&outcome=`:
/// leaves in `[start, end)` passing the filters. `end` defaults to `start` +
/// 1000 and is cut at the latest checkpoint's size; a window is at most 1000
/// indices (filters narrow it, never widen it: page on `end`).
async fn entries(
    State(app): State<Arc<App>>,
    Extension(peer): Extension<Arc<Peer>>,
    headers: HeaderMap,
    query: Params,
) -> Response {
    regulated(app, peer, &headers, "/v1/audit/entries", |app| async move {
        let p = params(
            query,
            &[
                "start",
                "end",
                "time_from",
                "time_to",
                "consumer",
                "provider",
                "resource",
                "outcome",
            ],
        )?;
        let size = tree_size(&app).await?.get();
        let start = number(&p, "start")?.unwrap_or(0);
        if start > size {
            return Err(bad(format!(
                "`start` is beyond the latest checkpoint's size {size}"
            )));
        }
        let end = match number(&p, "end")? {
            Some(end) if end < start => return Err(bad("`end` is before `start`")),
            Some(end) if end - start > MAX_ENTRIES_PAGE => {
                return Err(bad(format!(
                    "at most {MAX_ENTRIES_PAGE} indices per request"
                )));
            }
            Some(end) => end,
            None => start.saturating_add(MAX_ENTRIES_PAGE),
        }
        .min(size);
        let outcome = match p.get("outcome").map(String::as_str) {
            None => None,
            Some("served") => Some(Outcome::Served),
            Some("refused") => Some(Outcome::Refused),
            Some(_) => return Err(bad("`outcome` must be served or refused")),
        };
        let query = EntryQuery {
            start,
            end,
            time_from_ms: time_ms(&p, "time_from")?,
            time_to_ms: time_ms(&p, "time_to")?,
            consumer: p.get("consumer").cloned(),
            provider: p.get("provider").cloned(),
            resource: p.get("resource").cloned(),
            outcome,
        };
        let leaves = app.store.log_entries(&query).await.map_err(internal)?;
        let out: Vec<EntryOut> = leaves
            .into_iter()
            .map(|l| EntryOut {
                index: l.index,
                leaf: BASE64.encode(&l.leaf),
            })
            .collect();
        json(&out)
    })
    .await
}

/// `GET /v1/audit/proof/inclusion?index=&size=`: `size` defaults to the
/// latest checkpoint's.
async fn inclusion(
    State(app): State<Arc<App>>,
    Extension(peer): Extension<Arc<Peer>>,
    headers: HeaderMap,
    query: Params,
) -> Response {
    regulated(
        app,
        peer,
        &headers,
        "/v1/audit/proof/inclusion",
        |app| async move {
            let p = params(query, &["index", "size"])?;
            let tree = tree_size(&app).await?;
            let index = number(&p, "index")?.ok_or_else(|| bad("`index` is required"))?;
            let size = number(&p, "size")?.unwrap_or(tree.get());
            if size > tree.get() {
                return Err(bad(format!(
                    "`size` is beyond the latest checkpoint's size {tree}"
                )));
            }
            if index >= size {
                return Err(bad("`index` must be below `size`"));
            }
            let (index, size) = (
                LeafIndex::new(index).map_err(|e| bad(e.to_string()))?,
                TreeSize::new(size).map_err(|e| bad(e.to_string()))?,
            );
            let proof = app
                .store
                .inclusion_proof(app.log.hash_alg(), index, size)
                .await
                .map_err(internal)?;
            json(&proof)
        },
    )
    .await
}

/// `GET /v1/audit/proof/consistency?from=&to=`: `to` defaults to the latest
/// checkpoint's size.
async fn consistency(
    State(app): State<Arc<App>>,
    Extension(peer): Extension<Arc<Peer>>,
    headers: HeaderMap,
    query: Params,
) -> Response {
    regulated(
        app,
        peer,
        &headers,
        "/v1/audit/proof/consistency",
        |app| async move {
            let p = params(query, &["from", "to"])?;
            let tree = tree_size(&app).await?;
            let from = number(&p, "from")?.ok_or_else(|| bad("`from` is required"))?;
            let to = number(&p, "to")?.unwrap_or(tree.get());
            if to > tree.get() {
                return Err(bad(format!(
                    "`to` is beyond the latest checkpoint's size {tree}"
                )));
            }
            if from > to {
                return Err(bad("`from` must not be after `to`"));
            }
            let (from, to) = (
                TreeSize::new(from).map_err(|e| bad(e.to_string()))?,
                TreeSize::new(to).map_err(|e| bad(e.to_string()))?,
            );
            let proof = app
                .store
                .consistency_proof(app.log.hash_alg(), from, to)
                .await
                .map_err(internal)?;
            json(&proof)
        },
    )
    .await
}

/// `GET /v1/audit/tile/{L}/{N}[.p/{W}]` and `GET /v1/audit/tile/entries/{N}[.p/{W}]`:
/// C2SP tlog-tiles. A tile the latest checkpoint does not cover whole is
/// `not_found`, as the spec wants; a full tile never changes, so it may be
/// cached for good.
async fn tile(
    State(app): State<Arc<App>>,
    Extension(peer): Extension<Arc<Peer>>,
    headers: HeaderMap,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Response {
    regulated(
        app,
        peer,
        &headers,
        "/v1/audit/tile/{*path}",
        |app| async move {
            let Path(path) = path.map_err(|_| bad("not a tile path"))?;
            let tile = Tile::parse_path(&format!("tile/{path}")).map_err(|_| {
                bad("not a tile path: tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>]")
            })?;
            if !tile.is_within(tree_size(&app).await?) {
                return Err(Problem::NotFound);
            }
            let bytes = app.store.log_tile(&tile).await.map_err(internal)?;
            let mut r = with_type(bytes, "application/octet-stream");
            let cache = if tile.is_partial() {
                "no-store"
            } else {
                "private, max-age=31536000, immutable"
            };
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
            Ok(r)
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_plain_decimals() {
        let p: HashMap<&'static str, String> = [
            ("a", "12".to_owned()),
            ("b", "-1".to_owned()),
            ("c", "0x10".to_owned()),
            ("d", " 1".to_owned()),
            ("e", "99999999999999999999".to_owned()),
        ]
        .into();
        assert_eq!(number(&p, "a").unwrap(), Some(12));
        assert_eq!(number(&p, "z").unwrap(), None);
        for bad in ["b", "c", "d", "e"] {
            assert!(number(&p, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn unknown_and_repeated_parameters_are_refused() {
        let q = |pairs: &[(&str, &str)]| -> Params {
            Ok(Query(
                pairs
                    .iter()
                    .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                    .collect(),
            ))
        };
        assert!(params(q(&[("index", "1")]), &["index"]).is_ok());
        assert!(params(q(&[("idx", "1")]), &["index"]).is_err());
        assert!(params(q(&[("index", "1"), ("index", "2")]), &["index"]).is_err());
    }
}
