//! The `yrdx` command.
#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser as _;
use time::OffsetDateTime;
use yrdx_gateway::Config;
use yrdx_gateway::cli::{
    Cli, Command, PkiCommand, RegistryCommand, ReportCommand, demo, registry as registry_cli,
};

/// mimalloc's per-thread free lists, instead of glibc's arenas: a gateway
/// allocates and frees many small buffers per exchange on every worker thread.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    match run(cli) {
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

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("YRDX_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("warn,yrdx_gateway=info,yrdx_registry=info")
    });
    // Colour only for a person at a terminal: a log file or journal gets plain
    // text, not escape sequences around every field.
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

#[allow(clippy::print_stdout, reason = "the command's output")]
fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve { config } => {
            let config = Config::load(&config)?;
            runtime()?.block_on(async {
                let gateway = yrdx_gateway::start(config).await?;
                wait_for_signal().await;
                tracing::info!("shutting down");
                gateway.shutdown(Duration::from_secs(10)).await;
                Ok(ExitCode::SUCCESS)
            })
        }
        Command::Demo {
            dir,
            listen,
            store,
            provider_port_base,
        } => runtime()?.block_on(async {
            let running = demo::start(&demo::DemoOptions {
                dir,
                listen,
                store_url: store,
                provider_port_base,
            })
            .await?;
            println!("{}", demo::instructions(&running));
            wait_for_signal().await;
            running.gateway.shutdown(Duration::from_secs(5)).await;
            Ok(ExitCode::SUCCESS)
        }),
        Command::Registry { command } => {
            let text = runtime()?.block_on(async {
                match command {
                    RegistryCommand::Import {
                        config,
                        effective,
                        files,
                    } => registry_cli::import(&config, &files, effective.as_deref()).await,
                    RegistryCommand::Versions { config } => registry_cli::versions(&config).await,
                    RegistryCommand::Diff { config, from, to } => {
                        registry_cli::diff(&config, from, to).await
                    }
                    RegistryCommand::Export {
                        config,
                        version,
                        format,
                        out,
                    } => registry_cli::export(&config, version, &format, &out).await,
                }
            })?;
            registry_cli::print(&text);
            Ok(ExitCode::SUCCESS)
        }
        Command::Report {
            command:
                ReportCommand::Fulfilment {
                    config,
                    period,
                    format,
                },
        } => {
            let text = runtime()?.block_on(registry_cli::fulfilment(&config, &period, &format))?;
            registry_cli::print(&text);
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit { command } => {
            Ok(runtime()?.block_on(yrdx_gateway::cli::audit::run(command))?)
        }
        Command::Adapters { command } => {
            yrdx_gateway::cli::adapters::run(command, &mut std::io::stdout().lock())
        }
        Command::Verify(args) => {
            yrdx_gateway::cli::verify::run(&args, &mut std::io::stdout().lock())
        }
        Command::Pki {
            command: PkiCommand::Init { dir },
        } => {
            let spec = demo::pki_spec()?;
            let layout = yrdx_conformance::pki::init(&dir, &spec, OffsetDateTime::now_utc())?;
            println!(
                "development PKI in {}\n  CA bundle: {}",
                layout.dir.display(),
                layout.ca_bundle().display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

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
