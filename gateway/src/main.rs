//! The `yrdx` command: parses the arguments, starts logging, runs the command
//! (`yrdx_gateway::cli`) and turns an error into exit status 2.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser as _;
use yrdx_gateway::cli::{self, Cli};
use yrdx_gateway::config::LogFormat;

/// mimalloc's per-thread free lists, instead of glibc's arenas: a gateway
/// allocates and frees many small buffers per exchange on every worker thread.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(log_format(&cli));
    match cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("yrdx: {}", describe(&e));
            ExitCode::from(2)
        }
    }
}

/// The error and its causes, leaving out a cause whose text the message
/// before it already contains (typed errors here include their source).
fn describe(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !out.contains(&text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
    }
    out
}

/// How log lines are written: `YRDX_LOG_FORMAT` (`text` or `json`) for any
/// command; otherwise `log.format` of the configuration `serve` runs with.
fn log_format(cli: &Cli) -> LogFormat {
    if let Some(format) = std::env::var("YRDX_LOG_FORMAT")
        .ok()
        .and_then(|v| LogFormat::from_name(v.trim()))
    {
        return format;
    }
    match &cli.command {
        // A configuration that does not load is reported by the command.
        cli::Command::Serve { config } => yrdx_gateway::Config::load(config)
            .map(|c| c.log.format)
            .unwrap_or_default(),
        _ => LogFormat::Text,
    }
}

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("YRDX_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("warn,yrdx_gateway=info,yrdx_registry=info")
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        // One JSON object per line (time in UTC, level, target, fields), for
        // log collectors.
        LogFormat::Json => builder.json().with_current_span(false).init(),
        // Colour only for a person at a terminal: a log file or journal gets
        // plain text, not escape sequences around every field.
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
    }
}
