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

/// Registry files read as one import: the data, the files' names for the
/// version's source, and the notes of what was skipped (instruction sheets).
#[derive(Debug)]
pub struct Read {
    /// The registry the files hold.
    pub data: RegistryData,
    /// The files' names.
    pub source: String,
    /// What was skipped, and why.
    pub notes: Vec<String>,
}

/// Reads registry files (`.toml`, `.csv`, `.xlsx`) into one import and runs
/// the cross-checks: every error of every file together, each naming the
/// file, sheet, row and column it is about.
pub fn read_files(paths: &[PathBuf]) -> Result<Read, RegistryError> {
    let mut import = yrdx_registry::Import::default();
    let mut names = Vec::new();
    for path in paths {
        let name = path.display().to_string();
        match std::fs::read(path) {
            Ok(bytes) => import.add_file(&name, &bytes),
            Err(e) => {
                return Err(RegistryError::File {
                    file: name,
                    message: e.to_string(),
                });
            }
        }
        names.push(
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or(name),
        );
    }
    let mut errors = import.errors();
    match errors.len() {
        0 => {}
        1 => return Err(errors.remove(0)),
        _ => return Err(RegistryError::Many(errors)),
    }
    Ok(Read {
        notes: import.notes().to_vec(),
        data: import.into_data(),
        source: names.join(", "),
    })
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
    let read = read_files(paths)?;
    check(0, read.data.clone(), adapters)?;
    Ok((read.data, read.source))
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
    import_read(store, &read_files(paths)?, adapters, now_ms, effective_ms).await
}

/// [`import`] of files already read.
pub async fn import_read(
    store: &Store,
    read: &Read,
    adapters: &Path,
    now_ms: i64,
    effective_ms: i64,
) -> Result<(i64, bool), SnapshotError> {
    check(0, read.data.clone(), adapters)?;
    Ok(store
        .import_registry(&read.data, &read.source, now_ms, effective_ms)
        .await?)
}

/// What importing `paths` would change against the version in force at
/// `now_ms` (everything, when none is), after the same checks as
/// [`import`]; stores nothing. Returns the changes and the notes.
pub async fn dry_run(
    store: &Store,
    paths: &[PathBuf],
    adapters: &Path,
    now_ms: i64,
) -> Result<(Vec<yrdx_registry::Change>, Vec<String>), SnapshotError> {
    let read = read_files(paths)?;
    check(0, read.data.clone(), adapters)?;
    let current = match store.registry_at(now_ms).await {
        Ok((_, data)) => data,
        Err(RegistryError::Empty) => RegistryData::default(),
        Err(e) => return Err(e.into()),
    };
    Ok((yrdx_registry::diff(&current, &read.data), read.notes))
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
