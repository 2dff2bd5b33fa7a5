//! `yrdx conformance`: onboarding a platform without guesswork. `provider`
//! checks a live provider endpoint against the node's configuration and
//! writes a report to sign off; `sandbox` is a gateway for consumers to
//! practise refusals against.

pub mod provider;
pub mod report;
pub mod sandbox;

use std::io::Write;
use std::process::ExitCode;

use clap::Subcommand;

/// Conformance commands.
#[derive(Debug, Subcommand)]
#[allow(
    clippy::large_enum_variant,
    reason = "parsed once per process; boxing would only obscure clap's derive"
)]
pub enum ConformanceCommand {
    /// Check a live provider endpoint before go-live: TLS, each resource's
    /// keys, items, types, encoding, not-found and malformed-key answers,
    /// personal data in errors, and a bounded load at the entry's rate.
    /// Writes a Markdown and a JSON report. Exit status 0 only when no check
    /// failed, 1 when one did, 2 when the run could not be made.
    Provider(provider::ProviderArgs),
    /// A gateway for a consumer's client to practise against: the demo
    /// federation behind a recording front, documented keys that trigger
    /// each refusal, and on Ctrl-C a summary of what the client did after
    /// each refusal (came back before Retry-After, retried at once, resent
    /// a refusal that cannot change, new or same request id).
    Sandbox(sandbox::SandboxArgs),
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
        ConformanceCommand::Sandbox(args) => {
            super::runtime()?.block_on(sandbox::run(&args, out))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory as _, Parser as _};

    use super::super::{Cli, Command};
    use super::*;

    #[test]
    fn the_commands_parse() {
        Cli::command().debug_assert();
        let cli = Cli::try_parse_from([
            "yrdx",
            "conformance",
            "provider",
            "-c",
            "yrdx.toml",
            "--region",
            "js",
            "--load-seconds",
            "2",
            "--foreign-cert",
            "f.pem",
            "--foreign-key",
            "f.key",
        ])
        .unwrap();
        let Command::Conformance {
            command: ConformanceCommand::Provider(args),
        } = cli.command
        else {
            panic!("not the provider command");
        };
        assert_eq!(args.region, "js");
        assert!((args.load_seconds - 2.0).abs() < f64::EPSILON);
        assert_eq!(args.concurrency, 4);
        // A foreign certificate needs its key.
        assert!(
            Cli::try_parse_from([
                "yrdx",
                "conformance",
                "provider",
                "-c",
                "y.toml",
                "--region",
                "js",
                "--foreign-cert",
                "f.pem",
            ])
            .is_err()
        );
        assert!(
            Cli::try_parse_from(["yrdx", "conformance", "sandbox", "--listen", "127.0.0.1:0"])
                .is_ok()
        );
    }
}
