//! `yrdx conformance`: onboarding a platform without guesswork. `provider`
//! checks a live provider endpoint against the node's configuration and
//! writes a report to sign off.

pub mod provider;
pub mod report;

use std::io::Write;
use std::process::ExitCode;

use clap::Subcommand;

/// Conformance commands.
#[derive(Debug, Subcommand)]
pub enum ConformanceCommand {
    /// Check a live provider endpoint before go-live: TLS, each resource's
    /// keys, items, types, encoding, not-found and malformed-key answers,
    /// personal data in errors, and a bounded load at the entry's rate.
    /// Writes a Markdown and a JSON report. Exit status 0 only when no check
    /// failed, 1 when one did, 2 when the run could not be made.
    Provider(provider::ProviderArgs),
}

/// Runs a conformance command, progress to `out`.
pub fn run(command: ConformanceCommand, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    match command {
        ConformanceCommand::Provider(args) => {
            let (report, _, _) = super::runtime()?.block_on(provider::run(&args, out))?;
            Ok(if report.conforms {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}
