//! `GET /v1/reports/fulfilment?period=YYYY-MM[&format=csv]` — regulators only.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, header};
use serde::Deserialize;

use crate::identity::Peer;
use crate::problem::Problem;
use crate::regulator;
use crate::state::App;

/// Query of the fulfilment report.
#[derive(Debug, Deserialize)]
pub struct ReportQuery {
    period: Option<String>,
    format: Option<String>,
}

/// The handler.
pub async fn fulfilment(
    State(app): State<Arc<App>>,
    Extension(peer): Extension<Arc<Peer>>,
    headers: HeaderMap,
    query: Result<Query<ReportQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let request_id = crate::api::request_id(&headers).0;
    match run(&app, &peer, query.ok().map(|Query(q)| q)).await {
        Ok(resp) => resp,
        Err(p) => p.to_response(&request_id),
    }
}

async fn run(app: &App, peer: &Peer, query: Option<ReportQuery>) -> Result<Response, Problem> {
    let registry = app.registry();
    regulator::require(&registry, peer)?;
    let query = query.ok_or_else(|| {
        Problem::BadRequest("query must be period=YYYY-MM or YYYY-MM-DD, format=json|csv".into())
    })?;
    let period = query
        .period
        .as_deref()
        .ok_or_else(|| Problem::BadRequest("`period` is required".into()))
        .and_then(|p| yrdx_registry::parse_period(p).map_err(Problem::BadRequest))?;
    let report = app
        .store
        .fulfilment(&registry, &period)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "fulfilment report failed");
            Problem::StoreUnavailable
        })?;
    Ok(match query.format.as_deref() {
        None | Some("json") => axum::Json(report).into_response(),
        Some("csv") => (
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            yrdx_registry::report_csv(&report),
        )
            .into_response(),
        Some(_) => return Err(Problem::BadRequest("`format` must be json or csv".into())),
    })
}
