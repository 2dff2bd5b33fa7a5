//! The admin listener: plain HTTP for orchestrators, on loopback by default.
//! `/healthz` says the process runs; `/readyz` says it can serve exchanges now
//! (store reachable, log writer running), so a load balancer can drain a node
//! that cannot record — it says which node it is, how many nodes are live
//! and whether this one integrates the exchange log; `/metrics` is the
//! Prometheus text exposition.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use http::StatusCode;

use crate::state::App;

/// The admin routes.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { (StatusCode::OK, "ok\n") }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(app)
}

async fn metrics(State(app): State<Arc<App>>) -> impl axum::response::IntoResponse {
    app.metrics.log_stats(app.log.stats());
    (
        [(http::header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        app.metrics.render(),
    )
}

async fn readyz(State(app): State<Arc<App>>) -> (StatusCode, String) {
    let store = tokio::time::timeout(Duration::from_secs(2), app.store.ping()).await;
    match store {
        Ok(Ok(())) if app.log.is_running() => (
            StatusCode::OK,
            format!(
                "ready: registry version {}, node {}, live nodes {}, integrator {}\n",
                app.registry().version(),
                app.config.node,
                app.live_nodes(),
                if app.log.is_integrator() { "yes" } else { "no" },
            ),
        ),
        Ok(Ok(())) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: exchange log writer stopped\n".into(),
        ),
        Ok(Err(_)) | Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: store unreachable\n".into(),
        ),
    }
}
