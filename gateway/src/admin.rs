//! The admin listener: plain HTTP for orchestrators, on loopback by default.
//! `/healthz` says the process runs; `/readyz` says it can serve exchanges now
//! — the store answers, a leaf can be made durable now (a write succeeded
//! within the last second, or a probe write does) and, where this node signs
//! checkpoints, its integrations succeed — so a load balancer can drain a
//! node that cannot record, and sends it traffic again once it can. It says
//! which node it is, how many nodes are live, whether this one integrates the
//! exchange log and how many leaves wait for a checkpoint; when not ready,
//! why (Chinese and English). A region whose client-certificate CRLs are
//! past their nextUpdate and `tls.crl_grace_hours` makes the node not ready
//! (its members are refused at the handshake); within the grace `/readyz`
//! stays 200 with a warning line. `/metrics` is the Prometheus text exposition.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use http::StatusCode;

use crate::state::App;
use crate::tls::CrlState;

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
    app.metrics
        .tls_crls(&app.federation.crl_status(time::OffsetDateTime::now_utc()));
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
    let crls = app.federation.crl_status(time::OffsetDateTime::now_utc());
    let grace_hours = app.config.tls.crl_grace.as_secs() / 3600;
    if let Some(past) = crls.iter().find(|c| c.state == CrlState::PastGrace) {
        return unready(format!(
            "未就绪：地区 {r} 的 TLS 吊销列表应于 {due} 更新，宽限期（{grace_hours} 小时）已于 {ends} 结束；\
             该地区成员的握手被拒绝，请安装新的吊销列表并重启\n\
             not ready: region {r}'s TLS CRL was due for update at {due}; the grace of \
             {grace_hours} h ended at {ends}, so its members' handshakes are refused \
             (install a fresh CRL and restart)\n",
            r = past.region.code(),
            due = rfc3339(past.next_update),
            ends = rfc3339(past.grace_ends),
        ));
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
    let mut stale = String::new();
    for c in crls.iter().filter(|c| c.state == CrlState::InGrace) {
        stale.push_str(&format!(
            "warning: region {r}'s TLS CRL was due for update at {due}; still used until {ends}\n",
            r = c.region.code(),
            due = rfc3339(c.next_update),
            ends = rfc3339(c.grace_ends),
        ));
    }
    let lag = health
        .checkpoint_lag
        .map_or_else(|| "unknown".to_owned(), |n| n.to_string());
    (
        StatusCode::OK,
        format!(
            "ready: registry version {}, node {}, live nodes {}, integrator {}, \
             leaves awaiting a checkpoint {lag}\n{stale}",
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

/// A moment as RFC 3339, UTC.
fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}
