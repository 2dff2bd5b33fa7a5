//! The regulators' console: a page served at `/console/` on the exchange
//! listener, to regulators only, over the same mutual TLS (the browser
//! presents the regulator's certificate). Its HTML, CSS and JavaScript are
//! built into the binary; nothing is fetched from another host. The page reads
//! the regulator API and checks what it shows itself — checkpoint signatures
//! against the key the regulator pinned, inclusion and consistency proofs —
//! in the browser (`gateway/console/app.js`, `docs/console.md`).
//!
//! Every console request takes the one path of [`crate::route`]: a caller
//! refused for who it is is recorded (`api = "console"`) like the audit API's,
//! and a browser gets the refusal as a page in Chinese and English rather than
//! problem+json. Every page answer carries a strict Content-Security-Policy
//! (scripts only from the console itself, no inline script),
//! `X-Frame-Options: DENY`, and no cookie is ever set.
//!
//! Two reads of the regulator API serve the console's views:
//! `GET /v1/audit/summary?period=` (the period's counts, grouped by the store)
//! and `GET /v1/audit/members` (member names from the registry in force).

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderValue, Request, header};
use http_body_util::BodyExt;
use serde::Serialize;

use crate::context::Exchange;
use crate::pipeline::{Call, Reply};
use crate::problem::Problem;
use crate::query;
use crate::route::{BodyLimit, Caller, Handler, Leaves, Route, handle, only};
use crate::state::App;

/// The console's files, built into the binary: path under `/console/`,
/// content type, bytes.
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "",
        "text/html; charset=utf-8",
        include_str!("../console/index.html"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../console/app.js"),
    ),
    (
        "proofs.js",
        "text/javascript; charset=utf-8",
        include_str!("../console/proofs.js"),
    ),
    (
        "sm3.js",
        "text/javascript; charset=utf-8",
        include_str!("../console/sm3.js"),
    ),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../console/app.css"),
    ),
];

/// The console's Content-Security-Policy: everything from the console's own
/// origin, no inline script, no framing, no form posts.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The console's routes, merged into the exchange listener's router.
pub fn routes() -> Router<Arc<App>> {
    let pages = Router::new()
        .route(Index::ROUTE.template, only(get(handle::<Index>)))
        .route(Asset::ROUTE.template, only(get(handle::<Asset>)))
        .layer(axum::middleware::from_fn(for_browsers));
    Router::new()
        .route(Summary::ROUTE.template, only(get(handle::<Summary>)))
        .route(Members::ROUTE.template, only(get(handle::<Members>)))
        .merge(pages)
}

/// A regulator's request of the console at `template`.
const fn page(template: &'static str) -> Route {
    Route {
        api: "console",
        template,
        caller: Caller::Regulator,
        leaves: Leaves::CallerRefusals,
        body: BodyLimit::None,
        resource_in_path: false,
    }
}

/// A regulator's read of the log for the console at `template`.
const fn read(template: &'static str) -> Route {
    Route {
        api: "audit",
        ..page(template)
    }
}

/// `GET /console/`: the page.
#[derive(Debug)]
struct Index;

impl Handler for Index {
    const ROUTE: Route = page("/console/");

    async fn stages(call: Call<'_>, _cx: &mut Exchange) -> Result<Reply, Problem> {
        query::parse(call.query.as_deref(), &[])?;
        asset("").map(Reply::Raw)
    }
}

/// `GET /console/{file}`: its script and style sheet.
#[derive(Debug)]
struct Asset;

impl Handler for Asset {
    const ROUTE: Route = page("/console/{*file}");

    async fn stages(call: Call<'_>, _cx: &mut Exchange) -> Result<Reply, Problem> {
        query::parse(call.query.as_deref(), &[])?;
        asset(&call.path).map(Reply::Raw)
    }
}

/// One of the built-in files, or `not_found`.
fn asset(path: &str) -> Result<Response, Problem> {
    let (_, content_type, text) = ASSETS
        .iter()
        .find(|(name, _, _)| *name == path)
        .ok_or(Problem::NotFound)?;
    Ok(([(header::CONTENT_TYPE, *content_type)], *text).into_response())
}

/// The console's headers on every answer of its pages, and a refusal as a
/// page for a browser (one that accepts `text/html`): the refusal was
/// recorded on the one path already; only its form changes here.
async fn for_browsers(request: Request<Body>, next: axum::middleware::Next) -> Response {
    let wants_html = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    let response = next.run(request).await;
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    let mut response = if wants_html && is_problem {
        refusal_page(response).await
    } else {
        response
    };
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.remove(header::SET_COOKIE);
    response
}

/// A problem+json answer as an HTML page in Chinese and English, with the
/// same status and request id.
async fn refusal_page(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let bytes = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let problem: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let field = |name: &str| escape(problem.get(name).and_then(|v| v.as_str()).unwrap_or("-"));
    let html = format!(
        "<!doctype html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <title>无权访问 · Access refused</title></head><body>\
         <h1>无权访问监管控制台</h1><p id=\"message-zh\">{zh}</p>\
         <p>监管控制台仅向持有监管角色证书的成员开放。请在浏览器中导入监管机构的证书后重试。</p>\
         <h1 lang=\"en\">Access to the regulators' console refused</h1>\
         <p lang=\"en\" id=\"message-en\">{en}</p>\
         <p lang=\"en\">The console is open to members holding the regulator role only. \
         Import the regulator's certificate into the browser and try again.</p>\
         <p>代码 Code: <code id=\"code\">{code}</code> · 请求编号 Request id: \
         <code>{id}</code></p></body></html>\n",
        zh = field("message_zh"),
        en = field("message_en"),
        code = field("code"),
        id = field("request_id"),
    );
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(html))
}

/// Text made safe to place in HTML.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `GET /v1/audit/summary?period=YYYY-MM|YYYY-MM-DD`: the period's exchanges
/// by outcome, region pair, resource, problem code and consumer, the list
/// entries never used, and the log's size hour by hour, from the hourly
/// counts the store keeps.
#[derive(Debug)]
struct Summary;

impl Handler for Summary {
    const ROUTE: Route = read("/v1/audit/summary");

    async fn stages(call: Call<'_>, _cx: &mut Exchange) -> Result<Reply, Problem> {
        let mut query = query::parse(call.query.as_deref(), &["period"])?;
        let period = query
            .required("period", &query::period_form())
            .and_then(|p| yrdx_registry::parse_period(&p).map_err(query::bad_period))?;
        let registry = &call.snapshot.registry;
        let summary = call
            .app
            .store
            .log_summary(registry, &period)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "log summary failed");
                Problem::StoreUnavailable
            })?;
        Ok(Reply::Raw(axum::Json(summary).into_response()))
    }
}

/// One member as the console names it.
#[derive(Serialize)]
struct MemberName<'a> {
    id: String,
    name: &'a str,
    name_en: Option<&'a str>,
}

/// `GET /v1/audit/members`: every member's id and names in the registry in
/// force, so the console can name the ids the log holds.
#[derive(Debug)]
struct Members;

impl Handler for Members {
    const ROUTE: Route = read("/v1/audit/members");

    async fn stages(call: Call<'_>, _cx: &mut Exchange) -> Result<Reply, Problem> {
        query::parse(call.query.as_deref(), &[])?;
        let members: Vec<MemberName<'_>> = call
            .snapshot
            .registry
            .members()
            .map(|m| MemberName {
                id: m.id.to_string(),
                name: &m.name,
                name_en: m.name_en.as_deref(),
            })
            .collect();
        Ok(Reply::Raw(axum::Json(members).into_response()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_is_served_and_nothing_else() {
        for (name, _, _) in ASSETS {
            assert!(asset(name).is_ok(), "{name}");
        }
        for name in ["../Cargo.toml", "index.html", "app.js/", "x"] {
            assert!(matches!(asset(name), Err(Problem::NotFound)), "{name}");
        }
    }

    #[test]
    fn refusal_text_is_escaped() {
        assert_eq!(
            escape("<script>\"a\"&'b'</script>"),
            "&lt;script&gt;&quot;a&quot;&amp;&#39;b&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn no_asset_has_inline_script_or_an_external_host() {
        for (name, _, text) in ASSETS {
            assert!(
                !text.contains("http://") && !text.contains("https://"),
                "{name}"
            );
        }
        let (_, _, html) = ASSETS[0];
        assert!(!html.contains("<script>"), "inline script");
        assert!(!html.contains(" style="), "inline style");
        for handler in ["onclick", "onload", "onerror", "onsubmit", "onchange"] {
            assert!(!html.contains(handler), "inline handler {handler}");
        }
    }
}
