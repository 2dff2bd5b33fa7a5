//! Several nodes on one store. Each node records a heartbeat in the store's
//! `nodes` table every `node.heartbeat_interval_ms` and counts the nodes whose
//! heartbeat is within `node.live_window_ms`; the count divides per-second
//! rates between nodes ([`crate::meters`]). A heartbeat that does
//! not reach the store marks the store unreachable for `/readyz`; the next
//! one that does marks it reachable again. Nothing else is coordinated here:
//! period quotas and log indices are exact in the store, and the exchange
//! log's integrator lease is the registry's (`yrdx_registry::Integrator`).

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::watch;
use yrdx_registry::{Heartbeat, Store};

use crate::state::App;

fn millis(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The number of live nodes once `node` joins: the others with a recent
/// heartbeat, plus this one. Used before the first heartbeat, so the first
/// rate limiters are built for the right count; 1 if the store cannot tell.
pub async fn live_before_joining(store: &Store, node: &str, window: std::time::Duration) -> u32 {
    match store.nodes(millis(window), yrdx_registry::now_ms()).await {
        Ok(nodes) => {
            let others = nodes.iter().filter(|n| n.live && n.name != node).count();
            u32::try_from(others).unwrap_or(u32::MAX).saturating_add(1)
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot count live nodes; assuming this one is alone");
            1
        }
    }
}

/// Records this node's heartbeat until told to stop, then removes its row.
pub async fn heartbeat_loop(
    app: Arc<App>,
    exchange: SocketAddr,
    admin: SocketAddr,
    mut stop: watch::Receiver<bool>,
) {
    let started_ms = yrdx_registry::now_ms();
    let interval = app.config.cluster.heartbeat_interval;
    let window = app.config.cluster.live_window;
    loop {
        let integrator = app.log.is_integrator();
        app.metrics.log_integrator.set(i64::from(integrator));
        let beat = Heartbeat {
            name: app.config.node.clone(),
            exchange_addr: exchange.to_string(),
            admin_addr: admin.to_string(),
            started_ms,
            registry_version: app.registry().version(),
            integrator,
        };
        let result = tokio::time::timeout(
            window,
            app.store
                .heartbeat(&beat, millis(window), yrdx_registry::now_ms()),
        )
        .await;
        let was_reachable = app.store_reachable();
        match result {
            Ok(Ok(live)) => {
                if !was_reachable {
                    tracing::info!(live, "store reachable again");
                }
                app.heartbeat_result(Some(live));
            }
            Ok(Err(e)) => {
                if was_reachable {
                    tracing::error!(error = %e, "heartbeat failed: store unreachable");
                }
                app.heartbeat_result(None);
            }
            Err(_) => {
                if was_reachable {
                    tracing::error!(
                        timeout_ms = millis(window),
                        "heartbeat timed out: store unreachable"
                    );
                }
                app.heartbeat_result(None);
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.changed() => break,
        }
    }
    match tokio::time::timeout(window, app.store.leave(&app.config.node)).await {
        Ok(Ok(())) => tracing::info!("left the cluster"),
        Ok(Err(e)) => tracing::warn!(error = %e, "cannot remove this node's heartbeat"),
        Err(_) => tracing::warn!("removing this node's heartbeat timed out"),
    }
}
