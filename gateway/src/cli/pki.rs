//! `yrdx pki init`: the demo federation's development PKI, made (or
//! completed) in a folder.

use std::path::Path;
use std::process::ExitCode;

use super::{PkiCommand, demo};

/// Runs a `yrdx pki` command.
pub fn run(command: PkiCommand) -> anyhow::Result<ExitCode> {
    match command {
        PkiCommand::Init { dir } => init(&dir),
    }
}

#[allow(clippy::print_stdout, reason = "the command's output")]
fn init(dir: &Path) -> anyhow::Result<ExitCode> {
    let spec = demo::pki_spec()?;
    let layout = yrdx_conformance::pki::init(dir, &spec, yrdx_registry::now())?;
    println!(
        "development PKI in {}\n  CA bundle: {}",
        layout.dir.display(),
        layout.ca_bundle().display()
    );
    Ok(ExitCode::SUCCESS)
}
