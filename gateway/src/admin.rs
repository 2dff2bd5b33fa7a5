//! The admin listener: plain HTTP for orchestrators, on loopback by default.
//! `/healthz` says the process runs; `/readyz` says it can serve exchanges now
//! — the store answers, a leaf can be made durable now (a write succeeded
//! within the last second, or a probe write does) and, where this node signs
//! checkpoints, its integrations succeed — so a load balancer can drain a
//! node that cannot record, and sends it traffic again once it can. It says
//! which node it is, how many nodes are live, whether this one integrates the
//! exchange log and how many leaves wait for a checkpoint; when not ready,
//! why (Chinese and English). `/metrics` is the Prometheus text exposition.

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

/// How long `/readyz` waits for the store, for each of its checks.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

async fn readyz(State(app): State<Arc<App>>) -> (StatusCode, String) {
    let unready = |why: String| (StatusCode::SERVICE_UNAVAILABLE, why);
    if !app.log.is_running() {
        return unready(
            "未就绪：交换日志写入任务已停止\nnot ready: exchange log writer stopped\n".into(),
        );
    }
    match tokio::time::timeout(READY_TIMEOUT, app.store.ping()).await {
        Ok(Ok(())) => {}
        Ok(Err(_)) | Err(_) => {
            return unready("未就绪：存储不可达\nnot ready: store unreachable\n".into());
        }
    }
    let Ok(health) = tokio::time::timeout(READY_TIMEOUT, app.log.check()).await else {
        return unready(format!(
            "未就绪：交换日志在 {s} 秒内未能写入\n\
             not ready: the exchange log could not be written within {s} s\n",
            s = READY_TIMEOUT.as_secs()
        ));
    };
    if let Some(failing) = &health.append_failing {
        let s = seconds_since(failing.since_ms);
        return unready(format!(
            "未就绪：交换日志已 {s} 秒无法写入：{e}\n\
             not ready: the exchange log cannot be written (for {s} s): {e}\n",
            e = failing.error
        ));
    }
    if let Some(failing) = &health.integrate_failing {
        let s = seconds_since(failing.since_ms);
        return unready(format!(
            "未就绪：检查点已 {s} 秒未推进：{e}\n\
             not ready: checkpoints are not advancing (for {s} s): {e}\n",
            e = failing.error
        ));
    }
    let lag = health
        .checkpoint_lag
        .map_or_else(|| "unknown".to_owned(), |n| n.to_string());
    (
        StatusCode::OK,
        format!(
            "ready: registry version {}, node {}, live nodes {}, integrator {}, \
             leaves awaiting a checkpoint {lag}\n",
            app.registry().version(),
            app.config.node,
            app.live_nodes(),
            if app.log.is_integrator() { "yes" } else { "no" },
        ),
    )
}

/// Seconds, to a tenth, from `since_ms` until now.
fn seconds_since(since_ms: i64) -> String {
    let ms = yrdx_registry::now_ms().saturating_sub(since_ms).max(0);
    format!("{}.{}", ms / 1000, ms % 1000 / 100)
}
