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

use std::sync::Arc;

use axum::Router;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use http::{HeaderValue, header};
use serde::Serialize;
use yrdx_registry::{EntryQuery, MAX_ENTRIES_PAGE, Outcome};
use yrdx_signing::{LeafIndex, Tile, TileKind, TreeSize};

use crate::context::Exchange;
use crate::pipeline::{Call, Reply};
use crate::problem::{Detail, Problem};
use crate::query;
use crate::route::{BodyLimit, Caller, Handler, Leaves, Route, handle, only};
use crate::state::App;

/// The audit routes, merged into the exchange listener's router.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route(Checkpoint::ROUTE.template, only(get(handle::<Checkpoint>)))
        .route(Key::ROUTE.template, only(get(handle::<Key>)))
        .route(Entries::ROUTE.template, only(get(handle::<Entries>)))
        .route(Inclusion::ROUTE.template, only(get(handle::<Inclusion>)))
        .route(
            Consistency::ROUTE.template,
            only(get(handle::<Consistency>)),
        )
        .route(TileRead::ROUTE.template, only(get(handle::<TileRead>)))
}

/// A regulator's read of the log at `template`.
const fn read(template: &'static str) -> Route {
    Route {
        api: "audit",
        template,
        caller: Caller::Regulator,
        leaves: Leaves::CallerRefusals,
        body: BodyLimit::None,
        resource_in_path: false,
    }
}

/// Declares a regulator's read: its route template and the function that
/// answers it from the node and the call.
macro_rules! regulator_read {
    ($(#[$doc:meta])* $name:ident, $template:literal, $read:ident) => {
        $(#[$doc])*
        #[derive(Debug)]
        struct $name;

        impl Handler for $name {
            const ROUTE: Route = read($template);

            async fn stages(call: Call<'_>, _cx: &mut Exchange) -> Result<Reply, Problem> {
                $read(call).await.map(Reply::Raw)
            }
        }
    };
}

regulator_read!(
    /// `GET /v1/audit/checkpoint`.
    Checkpoint, "/v1/audit/checkpoint", checkpoint
);
regulator_read!(
    /// `GET /v1/audit/key`.
    Key, "/v1/audit/key", key
);
regulator_read!(
    /// `GET /v1/audit/entries`.
    Entries, "/v1/audit/entries", entries
);
regulator_read!(
    /// `GET /v1/audit/proof/inclusion`.
    Inclusion, "/v1/audit/proof/inclusion", inclusion
);
regulator_read!(
    /// `GET /v1/audit/proof/consistency`.
    Consistency, "/v1/audit/proof/consistency", consistency
);
regulator_read!(
    /// `GET /v1/audit/tile/…`.
    TileRead, "/v1/audit/tile/{*path}", tile
);

/// A store failure: details in our log, `internal_error` on the wire.
fn internal(e: impl std::fmt::Display) -> Problem {
    tracing::error!(error = %e, "audit API read failed");
    Problem::Internal
}

fn bad(zh: impl Into<String>, en: impl Into<String>) -> Problem {
    Problem::BadRequest(Detail::new(zh, en))
}

/// The size of the tree the latest checkpoint covers.
async fn tree_size(app: &App) -> Result<TreeSize, Problem> {
    app.store.log_tree_size().await.map_err(internal)
}

/// A tree size a caller named (`name`), at most the latest checkpoint's
/// `tree`, which it defaults to.
fn within(tree: TreeSize, name: &str, size: Option<u64>) -> Result<u64, Problem> {
    match size {
        None => Ok(tree.get()),
        Some(size) if size > tree.get() => Err(bad(
            format!("`{name}` 超出最新检查点的树大小 {tree}。"),
            format!("`{name}` is beyond the latest checkpoint's size {tree}"),
        )),
        Some(size) => Ok(size),
    }
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
/// note, with the log's hash in `Yrdx-Log-Hash`.
async fn checkpoint(call: Call<'_>) -> Result<Response, Problem> {
    query::parse(call.query.as_deref(), &[])?;
    let cp = call
        .app
        .store
        .latest_checkpoint()
        .await
        .map_err(internal)?
        .ok_or_else(|| internal("no checkpoint has been signed yet"))?;
    let mut response = no_store(with_type(cp.note, "text/plain; charset=utf-8"));
    response.headers_mut().insert(
        LOG_HASH,
        HeaderValue::from_static(call.app.log.hash_alg().name()),
    );
    Ok(response)
}

/// The header naming the log's tree hash (`sha256` or `sm3`, `log.hash`) on
/// the checkpoint: the checkpoint itself does not say, and a verifier in a
/// browser needs to know which hash its proofs use.
const LOG_HASH: &str = "yrdx-log-hash";

/// `GET /v1/audit/key`: the checkpoints' verifier key, `name+keyid+base64`.
/// Regulators should pin the key they got out of band; this is a convenience.
async fn key(call: Call<'_>) -> Result<Response, Problem> {
    query::parse(call.query.as_deref(), &[])?;
    let key = call
        .app
        .log
        .verifier_key()
        .ok_or_else(|| internal("this node has no log key"))?;
    Ok(with_type(format!("{key}\n"), "text/plain; charset=utf-8"))
}

#[derive(Serialize)]
struct EntryOut {
    index: u64,
    leaf: String,
}

/// `GET /v1/audit/entries?start=&end=&time_from=&time_to=&consumer=&provider=&resource=&outcome=&code=&entry=`:
/// leaves in `[start, end)` passing the filters, filtered by the store.
/// `end` defaults to, and is cut at, `start` + 1000 and the latest
/// checkpoint's size (filters narrow the window, never widen it: page on
/// `end`). Without `start`, the window begins at the first leaf received at or
/// after `time_from` (found through the log's time index), or at 0. The window
/// read is in the `Yrdx-Window` header, `start-end`.
async fn entries(call: Call<'_>) -> Result<Response, Problem> {
    let app = call.app;
    let mut p = query::parse(
        call.query.as_deref(),
        &[
            "start",
            "end",
            "time_from",
            "time_to",
            "consumer",
            "provider",
            "resource",
            "outcome",
            "code",
            "entry",
        ],
    )?;
    let size = tree_size(app).await?.get();
    let time_from_ms = p.time_ms("time_from")?;
    let start = match (p.number("start")?, time_from_ms) {
        (Some(start), _) => start,
        (None, Some(from)) => app
            .store
            .log_first_index_at(from)
            .await
            .map_err(internal)?
            .unwrap_or(size)
            .min(size),
        (None, None) => 0,
    };
    if start > size {
        return Err(bad(
            format!("`start` 超出最新检查点的树大小 {size}。"),
            format!("`start` is beyond the latest checkpoint's size {size}"),
        ));
    }
    // A window is cut at MAX_ENTRIES_PAGE indices and at the checkpoint's
    // size; a client pages on by asking again from the last index it got + 1
    // (or from `end`, with filters).
    let end = match p.number("end")? {
        Some(end) if end < start => {
            return Err(bad("`end` 早于 `start`。", "`end` is before `start`"));
        }
        Some(end) => end,
        None => u64::MAX,
    }
    .min(start.saturating_add(MAX_ENTRIES_PAGE))
    .min(size);
    let outcome = match p.get("outcome") {
        None => None,
        Some("served") => Some(Outcome::Served),
        Some("refused") => Some(Outcome::Refused),
        Some(_) => {
            return Err(bad(
                "`outcome` 须为 served 或 refused。",
                "`outcome` must be served or refused",
            ));
        }
    };
    let query = EntryQuery {
        start,
        end,
        time_from_ms,
        time_to_ms: p.time_ms("time_to")?,
        consumer: p.take("consumer"),
        provider: p.take("provider"),
        resource: p.take("resource"),
        outcome,
        code: p.take("code"),
        entry: p.take("entry"),
    };
    let leaves = app.store.log_entries(&query).await.map_err(internal)?;
    let out: Vec<EntryOut> = leaves
        .into_iter()
        .map(|l| EntryOut {
            index: l.index,
            leaf: BASE64.encode(&l.leaf),
        })
        .collect();
    let mut response = json(&out)?;
    let window = HeaderValue::try_from(format!("{start}-{end}")).map_err(internal)?;
    response.headers_mut().insert(WINDOW, window);
    Ok(response)
}

/// The header naming the window of indices an entries page read.
const WINDOW: &str = "yrdx-window";

/// `GET /v1/audit/proof/inclusion?index=&size=`: `size` defaults to the
/// latest checkpoint's.
async fn inclusion(call: Call<'_>) -> Result<Response, Problem> {
    let app = call.app;
    let p = query::parse(call.query.as_deref(), &["index", "size"])?;
    let tree = tree_size(app).await?;
    let index = p
        .number("index")?
        .ok_or_else(|| bad("缺少必填参数 `index`。", "`index` is required"))?;
    let size = within(tree, "size", p.number("size")?)?;
    if index >= size {
        return Err(bad(
            "`index` 须小于 `size`。",
            "`index` must be below `size`",
        ));
    }
    let (index, size) = (
        LeafIndex::new(index).map_err(|e| bad(format!("`index` 超出范围：{e}"), e.to_string()))?,
        TreeSize::new(size).map_err(|e| bad(format!("`size` 超出范围：{e}"), e.to_string()))?,
    );
    let proof = app
        .store
        .inclusion_proof(app.log.hash_alg(), index, size)
        .await
        .map_err(internal)?;
    json(&proof)
}

/// `GET /v1/audit/proof/consistency?from=&to=`: `to` defaults to the latest
/// checkpoint's size.
async fn consistency(call: Call<'_>) -> Result<Response, Problem> {
    let app = call.app;
    let p = query::parse(call.query.as_deref(), &["from", "to"])?;
    let tree = tree_size(app).await?;
    let from = p
        .number("from")?
        .ok_or_else(|| bad("缺少必填参数 `from`。", "`from` is required"))?;
    let to = within(tree, "to", p.number("to")?)?;
    if from > to {
        return Err(bad(
            "`from` 不得大于 `to`。",
            "`from` must not be after `to`",
        ));
    }
    let (from, to) = (
        TreeSize::new(from).map_err(|e| bad(format!("`from` 超出范围：{e}"), e.to_string()))?,
        TreeSize::new(to).map_err(|e| bad(format!("`to` 超出范围：{e}"), e.to_string()))?,
    );
    let proof = app
        .store
        .consistency_proof(app.log.hash_alg(), from, to)
        .await
        .map_err(internal)?;
    json(&proof)
}

/// Whether the request's `Accept-Encoding` takes gzip: `gzip` (or `x-gzip`)
/// with a quality above zero, or else `*` with one.
fn accepts_gzip(headers: &http::HeaderMap) -> bool {
    let codings: Vec<(String, bool)> = headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default().to_ascii_lowercase();
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .is_some_and(|q| q.parse::<f32>().is_ok_and(|q| q <= 0.0))
            });
            (name, !refused)
        })
        .collect();
    let find = |names: &[&str]| {
        codings
            .iter()
            .find(|(name, _)| names.contains(&name.as_str()))
            .map(|(_, ok)| *ok)
    };
    find(&["gzip", "x-gzip"])
        .or_else(|| find(&["*"]))
        .unwrap_or(false)
}

/// `bytes` gzip-compressed.
fn gzip_bytes(bytes: &[u8]) -> Result<Vec<u8>, Problem> {
    use std::io::Write as _;
    let mut gz = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 2),
        flate2::Compression::default(),
    );
    gz.write_all(bytes).map_err(internal)?;
    gz.finish().map_err(internal)
}

/// `GET /v1/audit/tile/{L}/{N}[.p/{W}]` and `GET /v1/audit/tile/entries/{N}[.p/{W}]`:
/// C2SP tlog-tiles. A tile the latest checkpoint does not cover whole is
/// `not_found`, as the spec wants; a full tile never changes, so it may be
/// cached for good.
async fn tile(call: Call<'_>) -> Result<Response, Problem> {
    let app = call.app;
    query::parse(call.query.as_deref(), &[])?;
    let tile = Tile::parse_path(&format!("tile/{}", call.path)).map_err(|_| {
        bad(
            "不是瓦片路径：应为 tile/<L>/<N>[.p/<W>] 或 tile/entries/<N>[.p/<W>]。",
            "not a tile path: tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>]",
        )
    })?;
    if !tile.is_within(tree_size(app).await?) {
        return Err(Problem::NotFound);
    }
    let bytes = app.store.log_tile(&tile).await.map_err(internal)?;
    // Entry bundles are compressed for clients that take gzip, as C2SP
    // tlog-tiles asks; hash tiles (random bytes) are not worth it.
    let gzip = tile.kind() == TileKind::Entries && accepts_gzip(call.headers);
    let bytes = if gzip { gzip_bytes(&bytes)? } else { bytes };
    let mut r = with_type(bytes, "application/octet-stream");
    if tile.kind() == TileKind::Entries {
        r.headers_mut()
            .insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    if gzip {
        r.headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    let cache = if tile.is_partial() {
        "no-store"
    } else {
        "private, max-age=31536000, immutable"
    };
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::accepts_gzip;

    #[test]
    fn accept_encoding_is_read_as_rfc_9110_says() {
        let takes = |v: &str| {
            let mut h = http::HeaderMap::new();
            h.insert(http::header::ACCEPT_ENCODING, v.parse().unwrap());
            accepts_gzip(&h)
        };
        for yes in [
            "gzip",
            "GZIP",
            "br, gzip;q=0.5",
            "x-gzip",
            "*",
            "deflate, *;q=0.1",
        ] {
            assert!(takes(yes), "{yes}");
        }
        for no in [
            "identity",
            "br",
            "gzip;q=0",
            "gzip; q=0.0",
            "gzipx",
            "",
            "gzip;q=0, *",
        ] {
            assert!(!takes(no), "{no}");
        }
        assert!(!accepts_gzip(&http::HeaderMap::new()));
    }
}
