//! Prometheus metrics, served as text on the admin listener's `/metrics`.
//! Every label set is bounded: resources only when they are in the catalogue,
//! problem codes from the fixed list, regions from the four — never request
//! ids, keys or free text.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::context::Stage;

/// Labels of an exchange outcome.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ExchangeLabels {
    /// `exchange`, `tls`, …
    pub api: &'static str,
    /// `served` or `refused`.
    pub outcome: &'static str,
    /// Problem code, or `-`.
    pub code: &'static str,
    /// Catalogue resource, or `-`.
    pub resource: String,
    /// Consumer's region, or `-`.
    pub consumer_region: &'static str,
    /// Provider's region, or `-`.
    pub provider_region: &'static str,
}

/// Labels of a pipeline stage timing.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StageLabels {
    /// The stage.
    pub stage: &'static str,
}

/// Labels of a quota refusal.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EntryLabels {
    /// The list entry.
    pub entry: String,
}

/// Labels of an upstream error.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UpstreamLabels {
    /// The provider's region.
    pub provider_region: &'static str,
    /// The problem code.
    pub code: &'static str,
}

/// Labels of a store error.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StoreLabels {
    /// What failed: `log_append`, `quota`.
    pub operation: &'static str,
}

/// Labels of a per-region figure.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RegionLabels {
    /// The region's code.
    pub region: &'static str,
}

/// The gateway's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Exchanges by outcome.
    pub exchanges: Family<ExchangeLabels, Counter>,
    /// Time per pipeline stage; one handle per [`Stage`], made once.
    stages: [Histogram; Stage::ALL.len()],
    /// Quota refusals per entry.
    pub quota_refusals: Family<EntryLabels, Counter>,
    /// Upstream errors per provider region and code.
    pub upstream_errors: Family<UpstreamLabels, Counter>,
    /// Store errors.
    pub store_errors: Family<StoreLabels, Counter>,
    /// The registry version in force.
    pub registry_version: Gauge,
    /// Live nodes on this node's store, this one included.
    pub live_nodes: Gauge,
    /// 1 while this node integrates the exchange log and signs checkpoints.
    pub log_integrator: Gauge,
    /// Per region with TLS CRLs: 0 current, 1 past nextUpdate within the
    /// grace, 2 past the grace (members refused); by [`Metrics::tls_crls`].
    tls_crl_state: Family<RegionLabels, Gauge>,
    /// Per region with TLS CRLs: their earliest nextUpdate, Unix seconds.
    tls_crl_next_update: Family<RegionLabels, Gauge>,
    /// Exchange log commits; brought up to date by [`Metrics::log_stats`].
    log_commits: Counter,
    /// Leaves those commits made durable.
    log_leaves: Counter,
}

fn latency_histogram() -> Histogram {
    // 0.25 ms to about 8 s.
    Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("yrdx");
        let exchanges = Family::<ExchangeLabels, Counter>::default();
        registry.register(
            "exchanges",
            "Exchanges answered (or refused at TLS), by outcome",
            exchanges.clone(),
        );
        let stages = Family::<StageLabels, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        registry.register(
            "stage_duration_seconds",
            "Time spent in each pipeline stage",
            stages.clone(),
        );
        // Each stage's histogram made once, so a request's timings are
        // observed without a look-up per stage.
        let stages = Stage::ALL.map(|stage| {
            stages
                .get_or_create(&StageLabels {
                    stage: stage.name(),
                })
                .clone()
        });
        let quota_refusals = Family::<EntryLabels, Counter>::default();
        registry.register(
            "quota_refusals",
            "Calls refused for a rate or period quota, by list entry",
            quota_refusals.clone(),
        );
        let upstream_errors = Family::<UpstreamLabels, Counter>::default();
        registry.register(
            "upstream_errors",
            "Provider calls that failed, by provider region and problem code",
            upstream_errors.clone(),
        );
        let store_errors = Family::<StoreLabels, Counter>::default();
        registry.register(
            "store_errors",
            "Store operations that failed",
            store_errors.clone(),
        );
        let registry_version = Gauge::default();
        registry.register(
            "registry_version",
            "The registry version in force",
            registry_version.clone(),
        );
        let live_nodes = Gauge::default();
        registry.register(
            "live_nodes",
            "Gateway nodes with a recent heartbeat in this node's store, this one included",
            live_nodes.clone(),
        );
        let log_integrator = Gauge::default();
        registry.register(
            "log_integrator",
            "1 while this node integrates the exchange log and signs checkpoints",
            log_integrator.clone(),
        );
        let tls_crl_state = Family::<RegionLabels, Gauge>::default();
        registry.register(
            "tls_crl_state",
            "Client-certificate CRLs per region: 0 current, 1 past nextUpdate within tls.crl_grace_hours, 2 past the grace (the region's members are refused)",
            tls_crl_state.clone(),
        );
        let tls_crl_next_update = Family::<RegionLabels, Gauge>::default();
        registry.register(
            "tls_crl_next_update_seconds",
            "The earliest nextUpdate of a region's client-certificate CRLs, Unix time",
            tls_crl_next_update.clone(),
        );
        let log_commits = Counter::default();
        registry.register(
            "log_commits",
            "Exchange log transactions committed by this node; leaves per commit is the group-commit size",
            log_commits.clone(),
        );
        let log_leaves = Counter::default();
        registry.register(
            "log_leaves",
            "Exchange log leaves made durable by this node",
            log_leaves.clone(),
        );
        Metrics {
            registry,
            exchanges,
            stages,
            quota_refusals,
            upstream_errors,
            store_errors,
            registry_version,
            live_nodes,
            log_integrator,
            tls_crl_state,
            tls_crl_next_update,
            log_commits,
            log_leaves,
        }
    }
}

impl Metrics {
    /// Records a stage's time.
    pub fn stage(&self, stage: Stage, took: Duration) {
        if let Some(h) = self.stages.get(stage.index()) {
            h.observe(took.as_secs_f64());
        }
    }

    /// Sets the TLS CRL figures from the federation's status.
    pub fn tls_crls(&self, status: &[crate::tls::CrlStatus]) {
        for s in status {
            let labels = RegionLabels {
                region: s.region.code(),
            };
            self.tls_crl_state
                .get_or_create(&labels)
                .set(s.state.gauge());
            self.tls_crl_next_update
                .get_or_create(&labels)
                .set(s.next_update.unix_timestamp());
        }
    }

    /// Brings the log's counters up to `stats` (the writer keeps its own).
    pub fn log_stats(&self, stats: yrdx_registry::LogStats) {
        self.log_commits
            .inc_by(stats.commits.saturating_sub(self.log_commits.get()));
        self.log_leaves
            .inc_by(stats.leaves.saturating_sub(self.log_leaves.get()));
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// The content type of [`Metrics::render`].
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;
