//! The exchange listener's routes. Each is a [`Handler`]: what the route is
//! ([`Route`]) and its own stages; everything else — request id, span,
//! context, identity, body, leaf — is the one path of [`crate::route`].

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use crate::context::Exchange;
use crate::pipeline::{self, Call, Reply};
use crate::problem::Problem;
use crate::route::{BodyLimit, Caller, Handler, Leaves, Route, handle, not_found, only};
use crate::state::App;

/// The exchange listener's routes.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route(
            ExchangeApi::ROUTE.template,
            only(post(handle::<ExchangeApi>)),
        )
        .route(LicenceApi::ROUTE.template, only(get(handle::<LicenceApi>)))
        .route(
            LicenceListApi::ROUTE.template,
            only(get(handle::<LicenceListApi>)),
        )
        .route(VerifyApi::ROUTE.template, only(post(handle::<VerifyApi>)))
        .merge(crate::reports_api::routes())
        .merge(crate::audit_api::routes())
        .route(OPENAPI_PATH, only(get(openapi)))
        .merge(crate::console::routes())
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            crate::route::head_limit,
        ))
        .with_state(app)
}

/// Where the API's OpenAPI description is served.
pub const OPENAPI_PATH: &str = "/v1/openapi.json";

/// `docs/openapi.json`: every route and problem code of this API.
pub const OPENAPI: &str = include_str!("../../docs/openapi.json");

/// `GET /v1/openapi.json`: public documentation, the same for every caller,
/// so no exchange and no leaf.
async fn openapi() -> impl axum::response::IntoResponse {
    ([(http::header::CONTENT_TYPE, "application/json")], OPENAPI)
}

/// `POST /v1/exchange/{resource}`: a catalogue exchange.
#[derive(Debug)]
struct ExchangeApi;

impl Handler for ExchangeApi {
    const ROUTE: Route = Route {
        api: "exchange",
        template: "/v1/exchange/{resource}",
        caller: Caller::Member,
        leaves: Leaves::Every,
        body: BodyLimit::Request,
        resource_in_path: true,
    };

    async fn stages(call: Call<'_>, cx: &mut Exchange) -> Result<Reply, Problem> {
        pipeline::exchange(call, cx).await
    }
}

/// `GET /v1/licences/{licence_id}`: a licence fetched from its issuing region.
#[derive(Debug)]
struct LicenceApi;

impl Handler for LicenceApi {
    const ROUTE: Route = Route {
        api: "licence",
        template: "/v1/licences/{licence_id}",
        caller: Caller::Member,
        leaves: Leaves::Every,
        body: BodyLimit::None,
        resource_in_path: false,
    };

    async fn stages(call: Call<'_>, cx: &mut Exchange) -> Result<Reply, Problem> {
        pipeline::licence::run(call, cx).await
    }
}

/// `GET /v1/licences?holder=…`: a holder's licences from every region the
/// list allows, in one listing.
#[derive(Debug)]
struct LicenceListApi;

impl Handler for LicenceListApi {
    const ROUTE: Route = Route {
        api: "licences",
        template: "/v1/licences",
        caller: Caller::Member,
        leaves: Leaves::Every,
        body: BodyLimit::None,
        resource_in_path: false,
    };

    async fn stages(call: Call<'_>, cx: &mut Exchange) -> Result<Reply, Problem> {
        pipeline::listing::run(call, cx).await
    }
}

/// `POST /v1/verify`: a document verified against the federation's seal trust.
#[derive(Debug)]
struct VerifyApi;

impl Handler for VerifyApi {
    const ROUTE: Route = Route {
        api: "verify",
        template: "/v1/verify",
        caller: Caller::Member,
        leaves: Leaves::Every,
        body: BodyLimit::Document,
        resource_in_path: false,
    };

    async fn stages(call: Call<'_>, cx: &mut Exchange) -> Result<Reply, Problem> {
        pipeline::verify::run(call, cx).await
    }
}
