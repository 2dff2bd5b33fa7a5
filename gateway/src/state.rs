//! What every exchange shares: configuration, the registry snapshot, mappings,
//! the exchange log, the store and the upstream client.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, RwLock};

use yrdx_adapters::{Mapping, Schema};
use yrdx_registry::{AuditLog, QuotaCounter, QuotaOptions, Registry, Store};
use yrdx_signing::{MemberId, TrustStore};

use crate::config::Config;
use crate::metrics::Metrics;
use crate::pipeline::meter::Meters;
use crate::pipeline::upstream::Upstream;
use crate::tls::Federation;

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
    pub seal_trust: TrustStore,
    /// Prometheus metrics.
    pub metrics: Metrics,
    /// How many nodes were live at the last heartbeat (this one included).
    live_nodes: AtomicU32,
    /// Whether the last heartbeat reached the store.
    store_reachable: AtomicBool,
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
        seal_trust: TrustStore,
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
        App {
            config,
            snapshot: RwLock::new(Arc::new(snapshot)),
            log,
            quotas,
            store,
            upstream,
            federation,
            seal_trust,
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

/// Why the mapping files cannot be used with the registry.
#[derive(Debug, thiserror::Error)]
pub enum MappingsError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file or folder.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A mapping file is invalid.
    #[error(transparent)]
    Mapping(#[from] yrdx_adapters::MappingError),
    /// A mapping names a resource that is not in the catalogue.
    #[error("{file}: resource `{resource}` is not in the catalogue")]
    UnknownResource {
        /// The mapping file.
        file: String,
        /// The resource.
        resource: String,
    },
    /// Two files map the same provider and resource.
    #[error("{file}: {provider} × {resource} is already mapped by {other}")]
    Duplicate {
        /// The second file.
        file: String,
        /// The first file.
        other: String,
        /// The provider.
        provider: String,
        /// The resource.
        resource: String,
    },
    /// A list entry has no mapping for its provider and resource.
    #[error(
        "responsibility-list entry {entry}: no mapping file for provider {provider} and resource {resource}"
    )]
    Missing {
        /// The entry.
        entry: String,
        /// The provider.
        provider: String,
        /// The resource.
        resource: String,
    },
}

/// Every loaded mapping, checked against the catalogue.
#[derive(Debug, Default)]
pub struct Mappings {
    by: HashMap<(MemberId, String), Arc<Mapping>>,
}

impl Mappings {
    /// Loads every `*.toml` under `dir` (recursively, in name order) and checks
    /// each against its resource's schema; then checks that every active list
    /// entry has its mapping.
    pub fn load(dir: &Path, registry: &Registry) -> Result<Mappings, MappingsError> {
        let mut files = Vec::new();
        collect_toml(dir, &mut files)?;
        files.sort();
        let mut by: HashMap<(MemberId, String), Arc<Mapping>> = HashMap::new();
        for path in files {
            let name = path
                .strip_prefix(dir)
                .unwrap_or(&path)
                .display()
                .to_string();
            let text = std::fs::read_to_string(&path).map_err(|source| MappingsError::Read {
                path: path.display().to_string(),
                source,
            })?;
            let mapping = Mapping::parse(&name, &text)?;
            let schema: &Schema = registry.schema(mapping.resource()).ok_or_else(|| {
                MappingsError::UnknownResource {
                    file: name.clone(),
                    resource: mapping.resource().to_owned(),
                }
            })?;
            mapping.check(schema)?;
            let key = (mapping.provider().clone(), mapping.resource().to_owned());
            if let Some(other) = by.get(&key) {
                return Err(MappingsError::Duplicate {
                    file: name,
                    other: other.file().to_owned(),
                    provider: key.0.to_string(),
                    resource: key.1,
                });
            }
            by.insert(key, Arc::new(mapping));
        }
        for entry in registry.entries() {
            // Not-shared rows are refused before any mapping is needed, and
            // licence files are fetched by the licence path, not mapped.
            let shared = registry.resource(&entry.resource).is_some_and(|r| {
                entry.sharing(r) != yrdx_registry::SharingType::NotShared && !is_licence_resource(r)
            });
            if entry.status == yrdx_registry::EntryStatus::Active
                && shared
                && !by.contains_key(&(entry.provider.clone(), entry.resource.clone()))
            {
                return Err(MappingsError::Missing {
                    entry: entry.id.clone(),
                    provider: entry.provider.to_string(),
                    resource: entry.resource.clone(),
                });
            }
        }
        Ok(Mappings { by })
    }

    /// The mapping for a provider and resource.
    pub fn get(&self, provider: &MemberId, resource: &str) -> Option<&Arc<Mapping>> {
        self.by.get(&(provider.clone(), resource.to_owned()))
    }

    /// How many mappings are loaded.
    pub fn len(&self) -> usize {
        self.by.len()
    }

    /// Whether none are loaded.
    pub fn is_empty(&self) -> bool {
        self.by.is_empty()
    }
}

/// Whether a catalogue resource holds licence files (电子证照文件): its format
/// is `OFD`. Such resources are served by `GET /v1/licences/{id}`, verified
/// rather than mapped.
pub fn is_licence_resource(resource: &yrdx_registry::Resource) -> bool {
    resource
        .format
        .as_deref()
        .is_some_and(|f| f.eq_ignore_ascii_case("ofd"))
}

fn collect_toml(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> Result<(), MappingsError> {
    let read = std::fs::read_dir(dir).map_err(|source| MappingsError::Read {
        path: dir.display().to_string(),
        source,
    })?;
    for entry in read {
        let entry = entry.map_err(|source| MappingsError::Read {
            path: dir.display().to_string(),
            source,
        })?;
        let path = entry.path();
        if path.is_dir() {
            collect_toml(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
    Ok(())
}
