//! The `yrdx` command line. Arguments are parsed first, completely; only then
//! does a command build TLS configurations, pools or listeners.
//!
//! Each command lives in its own module here; the node's library (server,
//! pipeline, APIs, state, configuration) does not depend on this one.

pub mod adapters;
pub mod audit;
mod client;
pub mod config;
pub mod conformance;
pub mod demo;
pub mod pki;
pub mod registry;
pub mod report;
pub mod serve;
pub mod verify;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use thiserror::Error;

/// yrdx — the Yangtze River Delta data exchange gateway.
#[derive(Debug, Parser)]
#[command(name = "yrdx", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one gateway node from its configuration file.
    Serve {
        /// The node configuration (yrdx.toml).
        #[arg(long, short)]
        config: PathBuf,
    },
    /// The node configuration: check it as `serve` would, starting nothing.
    Config {
        /// What to do.
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Start a whole local federation: PKI, four sample providers, the gateway.
    Demo {
        /// Folder for the PKI, registry, store and manifest.
        #[arg(long, default_value = "yrdx-demo")]
        dir: PathBuf,
        /// Where the gateway listens (port 0 picks a free port).
        #[arg(long, default_value = "127.0.0.1:8443")]
        listen: SocketAddr,
        /// The store URL; the embedded SQLite file under --dir by default.
        #[arg(long)]
        store: Option<String>,
        /// Sample providers listen on this port and the next three (sh, js,
        /// zj, ah); free ports by default.
        #[arg(long)]
        provider_port_base: Option<u16>,
    },
    /// The exchange log: keys, exports, offline verification, proofs.
    Audit {
        /// What to do.
        #[command(subcommand)]
        command: audit::AuditCommand,
    },
    /// Registry versions: import, list, compare, export.
    Registry {
        /// What to do.
        #[command(subcommand)]
        command: RegistryCommand,
    },
    /// Reports computed from the exchange records.
    Report {
        /// Which report.
        #[command(subcommand)]
        command: ReportCommand,
    },
    /// Province mapping files: lint, fixture cases, map one document.
    Adapters {
        /// What to do with them.
        #[command(subcommand)]
        command: adapters::AdaptersCommand,
    },
    /// Onboarding: check a provider endpoint, or practise against a sandbox.
    Conformance {
        /// What to do.
        #[command(subcommand)]
        command: conformance::ConformanceCommand,
    },
    /// Verify an electronic seal, an electronic signature or a sealed OFD
    /// licence file offline. Exit status: 0 valid, 1 invalid, 3
    /// indeterminate, 2 usage error or unreadable input.
    Verify(VerifyArgs),
    /// The development PKI.
    Pki {
        /// What to do with it.
        #[command(subcommand)]
        command: PkiCommand,
    },
}

/// Configuration commands.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Everything `yrdx serve` checks before it starts (files, keys and their
    /// permissions, certificates and CRLs per region, the store, the
    /// registry with its mappings, the listen addresses), one line per
    /// check, nothing started or written. Exit status 1 if any check fails.
    Check {
        /// The node configuration (yrdx.toml).
        #[arg(long, short)]
        config: PathBuf,
    },
}

/// `yrdx verify` arguments.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The file: an OFD document, a DER SES_Signature (with --data) or a DER
    /// SESeal; told apart by content.
    pub file: PathBuf,
    /// The data an SES_Signature signs.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Seal trust, `[REGION=]FILE` (PEM or DER), repeatable. Self-issued
    /// certificates become anchors of REGION (of every region without a
    /// prefix), the others intermediates.
    #[arg(long, required = true, value_name = "[REGION=]FILE")]
    pub trust: Vec<String>,
    /// CRL files (PEM or DER), repeatable.
    #[arg(long)]
    pub crl: Vec<PathBuf>,
    /// Verification time (RFC 3339); now by default.
    #[arg(long)]
    pub at: Option<String>,
    /// Print the JSON report instead of the human-readable one.
    #[arg(long)]
    pub json: bool,
}

/// PKI commands.
#[derive(Debug, Subcommand)]
pub enum PkiCommand {
    /// Make (or complete) a development PKI for the demo federation's members:
    /// a root CA per region, gateway, member, regulator and provider certificates.
    Init {
        /// The folder to write it to.
        #[arg(long)]
        dir: PathBuf,
    },
}

/// Registry commands. Each reads the node configuration for the store and the
/// mapping folder.
#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Check registry files (TOML, CSV, XLSX with Chinese headers) against each
    /// other and the mappings, and store them as a new version. The files make
    /// up the whole registry: members, catalogue and list.
    Import {
        /// The node configuration (yrdx.toml).
        #[arg(long, short)]
        config: PathBuf,
        /// When the version takes effect (RFC 3339); now if absent.
        #[arg(long)]
        effective: Option<String>,
        /// Check the files and show what would change, storing nothing.
        #[arg(long)]
        dry_run: bool,
        /// The registry files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// List the stored versions and which is in force.
    Versions {
        /// The node configuration (yrdx.toml).
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Show what changed between two versions.
    Diff {
        /// The node configuration (yrdx.toml).
        #[arg(long, short)]
        config: PathBuf,
        /// The older version.
        from: i64,
        /// The newer version.
        to: i64,
    },
    /// Write a version (the one in force by default) as TOML or XLSX.
    Export {
        /// The node configuration (yrdx.toml).
        #[arg(long, short)]
        config: PathBuf,
        /// The version; the one in force if absent.
        #[arg(long)]
        version: Option<i64>,
        /// `toml` or `xlsx`.
        #[arg(long, default_value = "toml")]
        format: String,
        /// The file to write.
        #[arg(long)]
        out: PathBuf,
    },
}

/// Report commands.
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// How each responsibility-list entry was honoured over a month or a day.
    Fulfilment {
        /// The node configuration (yrdx.toml).
        #[arg(long, short)]
        config: PathBuf,
        /// `YYYY-MM` or `YYYY-MM-DD`, China Standard Time.
        #[arg(long)]
        period: String,
        /// `json`, `csv` or `xlsx` (written to --out).
        #[arg(long, default_value = "json")]
        format: String,
        /// Headers in `zh` (Chinese) or `en` (English), for csv and xlsx.
        #[arg(long, default_value = "zh")]
        lang: String,
        /// The file an xlsx report is written to.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Runs a parsed command. `Ok` carries the exit status the command chose (0,
/// or a verdict such as 1 for "not verified"); an error means it could not
/// run, which `main` reports as exit status 2.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve { config } => serve::run(&config),
        Command::Config {
            command: ConfigCommand::Check { config },
        } => config::run(&config),
        Command::Demo {
            dir,
            listen,
            store,
            provider_port_base,
        } => demo::run(&demo::DemoOptions {
            dir,
            listen,
            store_url: store,
            provider_port_base,
        }),
        Command::Registry { command } => registry::run(command),
        Command::Report { command } => report::run(command),
        Command::Audit { command } => Ok(runtime()?.block_on(audit::run(command))?),
        Command::Adapters { command } => adapters::run(command, &mut std::io::stdout().lock()),
        Command::Conformance { command } => {
            conformance::run(command, &mut std::io::stdout().lock())
        }
        Command::Verify(args) => verify::run(&args, &mut std::io::stdout().lock()),
        Command::Pki { command } => pki::run(command),
    }
}

pub use yrdx_signing::time::{display_cst as cst, display_cst_ms as cst_ms};

/// A file a command could not read or write.
#[derive(Debug, Error)]
#[error("{path}: {source}")]
pub struct FileError {
    /// The file.
    pub path: PathBuf,
    /// The OS error.
    #[source]
    pub source: std::io::Error,
}

/// For `map_err`: the OS error as a [`FileError`] naming `path`.
fn file_error(path: &Path) -> impl FnOnce(std::io::Error) -> FileError + '_ {
    move |source| FileError {
        path: path.to_owned(),
        source,
    }
}

/// The multi-threaded runtime a command's async work runs on.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Waits for Ctrl-C, or SIGTERM on Unix.
async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
