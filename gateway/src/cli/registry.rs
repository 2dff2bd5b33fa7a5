//! `yrdx registry …`: operators import, compare and export registry
//! versions. Each command reads the node's configuration for the store and the
//! mapping folder, and works on the store directly — a running node picks up a
//! new version by itself. `yrdx report …` (in `report`) shares the store
//! opening, the errors and the printing here.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use thiserror::Error;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use yrdx_registry::{Store, StoreOptions};

use super::{FileError, RegistryCommand, file_error};
use crate::config::{Config, ConfigError};
use crate::registry_ops;
use crate::server::StartError;

/// Why a registry command failed.
#[derive(Debug, Error)]
pub enum RegistryCliError {
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Loading, checking or storing failed.
    #[error(transparent)]
    Start(#[from] StartError),
    /// The store failed.
    #[error(transparent)]
    Registry(#[from] yrdx_registry::RegistryError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] yrdx_registry::StoreError),
    /// A command-line value is wrong.
    #[error("{0}")]
    Usage(String),
    /// An output file could not be written.
    #[error(transparent)]
    Write(#[from] FileError),
}

pub(super) async fn open(config: &Path) -> Result<(Config, Store), RegistryCliError> {
    let config = Config::load(config)?;
    let store = Store::open(
        &config.store.url,
        &StoreOptions {
            max_connections: 2,
            acquire_timeout: config.store.acquire_timeout,
        },
    )
    .await?;
    Ok((config, store))
}

/// Runs a `yrdx registry` command and prints what it says.
pub fn run(command: RegistryCommand) -> anyhow::Result<ExitCode> {
    let text = super::runtime()?.block_on(async {
        match command {
            RegistryCommand::Import {
                config,
                dry_run: true,
                files,
                ..
            } => dry_run(&config, &files).await,
            RegistryCommand::Import {
                config,
                effective,
                dry_run: false,
                files,
            } => import(&config, &files, effective.as_deref()).await,
            RegistryCommand::Versions { config } => versions(&config).await,
            RegistryCommand::Diff { config, from, to } => diff(&config, from, to).await,
            RegistryCommand::Export {
                config,
                version,
                format,
                out,
            } => export(&config, version, &format, &out).await,
        }
    })?;
    print(&text);
    Ok(ExitCode::SUCCESS)
}

/// `yrdx registry import`: checks the files (with the mappings) and stores them
/// as a new version in force from `effective` (RFC 3339; now when absent).
pub async fn import(
    config: &Path,
    files: &[PathBuf],
    effective: Option<&str>,
) -> Result<String, RegistryCliError> {
    let (config, store) = open(config).await?;
    let now = yrdx_registry::now_ms();
    let effective_ms = match effective {
        None => now,
        Some(t) => {
            let t = OffsetDateTime::parse(t, &Rfc3339).map_err(|_| {
                RegistryCliError::Usage(format!("--effective `{t}` is not an RFC 3339 time"))
            })?;
            yrdx_signing::time::unix_ms(t)
        }
    };
    let result = match registry_ops::read_files(files) {
        Ok(read) => {
            registry_ops::import_read(&store, &read, &config.adapters.dir, now, effective_ms)
                .await
                .map(|r| (r, read.notes))
        }
        Err(e) => Err(e.into()),
    };
    store.close().await;
    let ((version, created), notes) = result.map_err(StartError::from)?;
    let notes: String = notes.iter().map(|n| format!("注 note: {n}\n")).collect();
    Ok(notes
        + &if created {
            format!(
                "imported as registry version {version}, in force from {}; running nodes pick it up within {} ms of it taking effect",
                super::cst_ms(effective_ms),
                config.registry.reload_interval.as_millis()
            )
        } else {
            format!("unchanged: registry version {version} already holds this content")
        })
}

/// `yrdx registry import --dry-run`: checks the files as an import would and
/// shows what would change against the version in force; stores nothing.
pub async fn dry_run(config: &Path, files: &[PathBuf]) -> Result<String, RegistryCliError> {
    let (config, store) = open(config).await?;
    let result =
        registry_ops::dry_run(&store, files, &config.adapters.dir, yrdx_registry::now_ms()).await;
    store.close().await;
    let (changes, notes) = result.map_err(StartError::from)?;
    let mut out: String = notes.iter().map(|n| format!("注 note: {n}\n")).collect();
    if changes.is_empty() {
        out.push_str("无变化 unchanged: the version in force already holds this content\n");
    } else {
        out.extend(changes.iter().map(|c| format!("{c}\n")));
        out.push_str(&format!(
            "试运行 dry run: {} 处变化 changes, 未存储 nothing stored\n",
            changes.len()
        ));
    }
    Ok(out)
}

/// `yrdx registry versions`.
pub async fn versions(config: &Path) -> Result<String, RegistryCliError> {
    let (_, store) = open(config).await?;
    let versions = store.registry_versions().await;
    let in_force = store.registry_version_at(yrdx_registry::now_ms()).await;
    store.close().await;
    let (versions, in_force) = (versions?, in_force?);
    // Times as people here read them: China Standard Time, with the offset.
    let time = super::cst_ms;
    let mut out = String::from(
        "version  in force  effective (CST)            imported (CST)             source\n",
    );
    for v in versions {
        out.push_str(&format!(
            "{:>7}  {:<8}  {:<25}  {:<25}  {}\n",
            v.version,
            if Some(v.version) == in_force {
                "yes"
            } else {
                ""
            },
            time(v.effective_ms),
            time(v.created_ms),
            v.source
        ));
    }
    Ok(out)
}

/// `yrdx registry diff FROM TO`.
pub async fn diff(config: &Path, from: i64, to: i64) -> Result<String, RegistryCliError> {
    let (_, store) = open(config).await?;
    let old = store.registry_version(from).await;
    let new = store.registry_version(to).await;
    store.close().await;
    let changes = yrdx_registry::diff(&old?, &new?);
    if changes.is_empty() {
        return Ok(format!("versions {from} and {to} hold the same registry\n"));
    }
    Ok(changes.iter().map(|c| format!("{c}\n")).collect())
}

/// `yrdx registry export`: the version in force (or `version`) as TOML or XLSX.
pub async fn export(
    config: &Path,
    version: Option<i64>,
    format: &str,
    out: &Path,
) -> Result<String, RegistryCliError> {
    let (_, store) = open(config).await?;
    let data = match version {
        Some(v) => store.registry_version(v).await.map(|d| (v, d)),
        None => store.registry_at(yrdx_registry::now_ms()).await,
    };
    store.close().await;
    let (version, data) = data?;
    let bytes = match format {
        "toml" => yrdx_registry::to_toml(&data)?.into_bytes(),
        "xlsx" => yrdx_registry::to_xlsx(&data)?,
        other => {
            return Err(RegistryCliError::Usage(format!(
                "--format `{other}`: expected toml or xlsx"
            )));
        }
    };
    std::fs::write(out, bytes).map_err(file_error(out))?;
    Ok(format!(
        "registry version {version} written to {}",
        out.display()
    ))
}

/// Writes command output to standard output.
pub fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    if !text.ends_with('\n') {
        let _ = out.write_all(b"\n");
    }
}
