//! The `yrdx` command line. Arguments are parsed first, completely; only then
//! does a command build TLS configurations, pools or listeners.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

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
    },
    /// The exchange log: keys, exports, offline verification, proofs.
    Audit {
        /// What to do.
        #[command(subcommand)]
        command: crate::audit_cli::AuditCommand,
    },
    /// The development PKI.
    Pki {
        /// What to do with it.
        #[command(subcommand)]
        command: PkiCommand,
    },
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
