//! What every exchange shares: configuration, the registry snapshot, mappings,
//! the exchange log, the store and the upstream client.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, RwLock};

use yrdx_registry::{AuditLog, QuotaCounter, QuotaOptions, Registry, Store};
use yrdx_signing::TrustStore;

use crate::config::Config;
use crate::mappings::Mappings;
use crate::meters::Meters;
use crate::metrics::Metrics;
use crate::tls::Federation;
use crate::upstream::Upstream;
use crate::verifier::Verifier;

/// One registry version with everything built from it: what an exchange
/// consults, taken once per exchange so that a reload never changes the rules
/// half-way through.
#[derive(Debug)]
pub struct Snapshot {
    /// The registry version in force.
    pub registry: Arc<Registry>,
    /// Mapping files by provider and resource, checked against that registry.
    pub mappings: Arc<Mappings>,
    /// Rate limiters of its entries.
    pub meters: Arc<Meters>,
}

/// Shared state of a running gateway.
#[derive(Debug)]
pub struct App {
    /// The node's configuration.
    pub config: Config,
    snapshot: RwLock<Arc<Snapshot>>,
    /// The exchange log.
    pub log: AuditLog,
    /// The store.
    pub store: Store,
    /// Counts calls against period quotas, in batches.
    pub quotas: QuotaCounter,
    /// The client towards providers.
    pub upstream: Upstream,
    /// The trust federation.
    pub federation: Arc<Federation>,
    /// Seal trust: every region's seal anchors, intermediates and CRLs.
    pub seal_trust: Arc<TrustStore>,
    /// Bill trust: every region's bill roots, signing certificates and CRLs.
    pub bill_trust: Arc<yrdx_signing::BillTrust>,
    /// The bounded pool documents are verified on.
    pub verifier: Verifier,
    /// Prometheus metrics.
    pub metrics: Metrics,
    /// How many nodes were live at the last heartbeat (this one included).
    live_nodes: AtomicU32,
    /// Whether the last heartbeat reached the store.
    store_reachable: AtomicBool,
}

/// The document trust a node verifies with: seals and bills.
#[derive(Debug)]
pub struct DocumentTrust {
    /// Seal trust.
    pub seals: TrustStore,
    /// Bill trust.
    pub bills: yrdx_signing::BillTrust,
}

impl App {
    /// Assembles the state.
    pub fn new(
        config: Config,
        snapshot: Snapshot,
        log: AuditLog,
        store: Store,
        upstream: Upstream,
        federation: Arc<Federation>,
        trust: DocumentTrust,
    ) -> App {
        let metrics = Metrics::default();
        metrics.registry_version.set(snapshot.registry.version());
        let quotas = QuotaCounter::start(
            store.clone(),
            QuotaOptions {
                min_reservation: config.quota.min_reservation,
                max_reservation: config.quota.max_reservation,
                ..QuotaOptions::new(&config.node)
            },
        );
        let verifier = Verifier::new(&config.verify);
        App {
            config,
            snapshot: RwLock::new(Arc::new(snapshot)),
            log,
            quotas,
            store,
            upstream,
            federation,
            verifier,
            seal_trust: Arc::new(trust.seals),
            bill_trust: Arc::new(trust.bills),
            metrics,
            live_nodes: AtomicU32::new(1),
            store_reachable: AtomicBool::new(true),
        }
    }

    /// How many nodes were live at the last heartbeat, this one included.
    pub fn live_nodes(&self) -> u32 {
        self.live_nodes.load(Ordering::Relaxed).max(1)
    }

    /// Whether the last heartbeat reached the store.
    pub fn store_reachable(&self) -> bool {
        self.store_reachable.load(Ordering::Relaxed)
    }

    /// Records the outcome of a heartbeat: the live count when the store
    /// answered, `None` when it did not. A changed count rescales the
    /// per-second rates at once.
    pub fn heartbeat_result(&self, live: Option<u32>) {
        self.store_reachable
            .store(live.is_some(), Ordering::Relaxed);
        if let Some(live) = live {
            let live = live.max(1);
            self.live_nodes.store(live, Ordering::Relaxed);
            self.quotas.set_live_nodes(live);
            self.metrics.live_nodes.set(i64::from(live));
            self.rescale(live);
        }
    }

    /// Rebuilds the rate limiters for `nodes` live nodes if the snapshot in
    /// force was built for another count. Exchanges already running keep
    /// theirs; an entry whose share is unchanged keeps its limiter state.
    fn rescale(&self, nodes: u32) {
        let current = self.snapshot();
        if current.meters.nodes() == nodes {
            return;
        }
        tracing::info!(
            from = current.meters.nodes(),
            to = nodes,
            "live node count changed; rescaling per-second rates"
        );
        let meters = Meters::build(&current.registry, Some(&current.meters), nodes);
        let new = Arc::new(Snapshot {
            registry: current.registry.clone(),
            mappings: current.mappings.clone(),
            meters: Arc::new(meters),
        });
        match self.snapshot.write() {
            // Only if no reload replaced it meanwhile; a reload builds with
            // the live count itself, and the next heartbeat checks again.
            Ok(mut s) if Arc::ptr_eq(&s, &current) => *s = new,
            Err(poisoned) => {
                let mut s = poisoned.into_inner();
                if Arc::ptr_eq(&s, &current) {
                    *s = new;
                }
            }
            Ok(_) => {}
        }
    }

    /// The snapshot in force now.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        match self.snapshot.read() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Puts a new snapshot in force; exchanges already running keep theirs.
    pub fn replace(&self, snapshot: Snapshot) {
        self.metrics
            .registry_version
            .set(snapshot.registry.version());
        let new = Arc::new(snapshot);
        match self.snapshot.write() {
            Ok(mut s) => *s = new,
            Err(poisoned) => *poisoned.into_inner() = new,
        }
    }

    /// The registry version in force now.
    pub fn registry(&self) -> Arc<Registry> {
        self.snapshot().registry.clone()
    }

    /// The mappings in force now.
    pub fn mappings(&self) -> Arc<Mappings> {
        self.snapshot().mappings.clone()
    }
}
