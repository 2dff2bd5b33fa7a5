//! The mapping files a node loads: one per provider and resource, each checked
//! against its resource's catalogue schema, and every active list entry's
//! mapping present.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use yrdx_adapters::{Mapping, Schema};
use yrdx_registry::Registry;
use yrdx_signing::MemberId;

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
    /// By provider, then resource: looked up without building a key.
    by: HashMap<MemberId, HashMap<String, Arc<Mapping>>>,
    len: usize,
}

impl Mappings {
    /// Loads every `*.toml` under `dir` (recursively, in name order) and checks
    /// each against its resource's schema; then checks that every active list
    /// entry has its mapping.
    pub fn load(dir: &Path, registry: &Registry) -> Result<Mappings, MappingsError> {
        let mut files = Vec::new();
        collect_toml(dir, &mut files)?;
        files.sort();
        let mut by: HashMap<MemberId, HashMap<String, Arc<Mapping>>> = HashMap::new();
        let mut len = 0;
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
            let of_provider = by.entry(mapping.provider().clone()).or_default();
            if let Some(other) = of_provider.get(mapping.resource()) {
                return Err(MappingsError::Duplicate {
                    file: name,
                    other: other.file().to_owned(),
                    provider: mapping.provider().to_string(),
                    resource: mapping.resource().to_owned(),
                });
            }
            of_provider.insert(mapping.resource().to_owned(), Arc::new(mapping));
            len += 1;
        }
        for entry in registry.entries() {
            // Not-shared rows are refused before any mapping is needed, and
            // licence files are fetched by the licence path, not mapped.
            let shared = registry.resource(&entry.resource).is_some_and(|r| {
                entry.sharing(r) != yrdx_registry::SharingType::NotShared && !is_licence_resource(r)
            });
            if entry.status == yrdx_registry::EntryStatus::Active
                && shared
                && !by
                    .get(&entry.provider)
                    .is_some_and(|m| m.contains_key(&entry.resource))
            {
                return Err(MappingsError::Missing {
                    entry: entry.id.clone(),
                    provider: entry.provider.to_string(),
                    resource: entry.resource.clone(),
                });
            }
        }
        Ok(Mappings { by, len })
    }

    /// The mapping for a provider and resource.
    pub fn get(&self, provider: &MemberId, resource: &str) -> Option<&Arc<Mapping>> {
        self.by.get(provider)?.get(resource)
    }

    /// How many mappings are loaded.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether none are loaded.
    pub fn is_empty(&self) -> bool {
        self.len == 0
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
