//! Registry operations shared by `yrdx serve`, `yrdx demo` and `yrdx registry`:
//! reading registry files, checking them with the mappings, importing them as a
//! version, and building the snapshot an exchange consults.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use yrdx_registry::{Registry, RegistryData, RegistryError, Store, StoreError};

use crate::mappings::{Mappings, MappingsError};
use crate::meters::Meters;
use crate::state::Snapshot;

/// Why registry files or a stored registry version cannot be put in force.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The store could not be read or written.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// Registry files or the stored registry are unusable.
    #[error("registry: {0}")]
    Registry(#[from] RegistryError),
    /// Mapping files are unusable.
    #[error("adapters: {0}")]
    Mappings(#[from] MappingsError),
}

/// Reads registry files (`.toml`, `.csv`, `.xlsx`) into one import; returns it
/// with the files' names for the version's source.
pub fn read_files(paths: &[PathBuf]) -> Result<(RegistryData, String), RegistryError> {
    let mut data = RegistryData::default();
    let mut names = Vec::new();
    for path in paths {
        let name = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| RegistryError::File {
            file: name.clone(),
            message: e.to_string(),
        })?;
        yrdx_registry::add_file(&mut data, &name, &bytes)?;
        names.push(
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or(name),
        );
    }
    Ok((data, names.join(", ")))
}

/// Checks `data` whole: consistency, and a checked mapping for every active
/// list entry.
pub fn check(
    version: i64,
    data: RegistryData,
    adapters: &Path,
) -> Result<(Registry, Mappings), SnapshotError> {
    let registry = Registry::build(version, data)?;
    let mappings = Mappings::load(adapters, &registry)?;
    Ok((registry, mappings))
}

/// Reads `paths` and checks them with the mappings under `adapters`, as
/// [`import`] does before it writes anything; returns what it would store.
pub fn read_checked(
    paths: &[PathBuf],
    adapters: &Path,
) -> Result<(RegistryData, String), SnapshotError> {
    let (data, source) = read_files(paths)?;
    check(0, data.clone(), adapters)?;
    Ok((data, source))
}

/// Imports `paths` as a new registry version in force from `effective_ms`,
/// after checking them with the mappings under `adapters`. Returns the version
/// and whether it is new (the same content makes none).
pub async fn import(
    store: &Store,
    paths: &[PathBuf],
    adapters: &Path,
    now_ms: i64,
    effective_ms: i64,
) -> Result<(i64, bool), SnapshotError> {
    let (data, source) = read_checked(paths, adapters)?;
    Ok(store
        .import_registry(&data, &source, now_ms, effective_ms)
        .await?)
}

/// Builds the snapshot of the registry version in force at `now_ms` for one
/// of `nodes` live nodes, keeping the rate-limiter state of `previous` where
/// an entry's share is unchanged.
pub async fn load_snapshot(
    store: &Store,
    adapters: &Path,
    now_ms: i64,
    previous: Option<&Snapshot>,
    nodes: u32,
) -> Result<Snapshot, SnapshotError> {
    let (version, data) = store.registry_at(now_ms).await?;
    let (registry, mappings) = check(version, data, adapters)?;
    let meters = Meters::build(&registry, previous.map(|p| p.meters.as_ref()), nodes);
    Ok(Snapshot {
        registry: Arc::new(registry),
        mappings: Arc::new(mappings),
        meters: Arc::new(meters),
    })
}
