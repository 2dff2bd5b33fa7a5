//! `GET /v1/reports/fulfilment?period=YYYY-MM[&format=csv|xlsx][&lang=en]` —
//! regulators only.
//! A read, like the audit API's: not a leaf, but a caller refused for who it
//! is, is recorded.

use std::sync::Arc;

use axum::Router;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::header;

use crate::context::Exchange;
use crate::pipeline::{Call, Reply};
use crate::problem::{Detail, Problem};
use crate::query;
use crate::route::{BodyLimit, Caller, Handler, Leaves, Route, handle, only};
use crate::state::App;

/// The report routes, merged into the exchange listener's router.
pub fn routes() -> Router<Arc<App>> {
    Router::new().route(Fulfilment::ROUTE.template, only(get(handle::<Fulfilment>)))
}

/// `GET /v1/reports/fulfilment`.
#[derive(Debug)]
struct Fulfilment;

impl Handler for Fulfilment {
    const ROUTE: Route = Route {
        api: "report",
        template: "/v1/reports/fulfilment",
        caller: Caller::Regulator,
        leaves: Leaves::CallerRefusals,
        body: BodyLimit::None,
        resource_in_path: false,
    };

    async fn stages(call: Call<'_>, _cx: &mut Exchange) -> Result<Reply, Problem> {
        fulfilment(call).await.map(Reply::Raw)
    }
}

async fn fulfilment(call: Call<'_>) -> Result<Response, Problem> {
    let mut query = query::parse(call.query.as_deref(), &["period", "format", "lang"])?;
    let period = query
        .required("period", &query::period_form())
        .and_then(|p| yrdx_registry::parse_period(&p).map_err(query::bad_period))?;
    let format = query.take("format");
    if !matches!(format.as_deref(), None | Some("json" | "csv" | "xlsx")) {
        return Err(Problem::BadRequest(Detail::new(
            "`format` 须为 json、csv 或 xlsx。",
            "`format` must be json, csv or xlsx",
        )));
    }
    let lang = yrdx_registry::ReportLang::parse(query.take("lang").as_deref().unwrap_or("zh"))
        .map_err(|e| Problem::BadRequest(Detail::new(format!("语言参数不正确：{e}"), e)))?;
    let registry = &call.snapshot.registry;
    let report = call
        .app
        .store
        .fulfilment(registry, &period, &Problem::report_codes())
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "fulfilment report failed");
            Problem::StoreUnavailable
        })?;
    Ok(match format.as_deref() {
        Some("csv") => (
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            yrdx_registry::report_csv(&report, lang),
        )
            .into_response(),
        Some("xlsx") => {
            let bytes = yrdx_registry::report_xlsx(&report, lang).map_err(|e| {
                tracing::error!(error = %e, "fulfilment report workbook failed");
                Problem::StoreUnavailable
            })?;
            (
                [(
                    header::CONTENT_TYPE,
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                )],
                bytes,
            )
                .into_response()
        }
        _ => axum::Json(report).into_response(),
    })
}
