//! `yrdx-load`: drives one HTTPS endpoint with client certificates and reports
//! throughput and latency (HDR histogram), as text or JSON. See
//! `docs/performance.md` for how the project uses it.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use bytes::Bytes;
use clap::{Parser, Subcommand, ValueEnum};
use yrdx_conformance::client::tls_config;
use yrdx_conformance::load::{self, Mode, Spec};

/// Load generator for yrdx and the endpoints it is compared with.
#[derive(Debug, Parser)]
#[command(name = "yrdx-load", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ModeArg {
    Keepalive,
    H2,
    Newconn,
}

#[derive(Debug, clap::Args)]
struct Tls {
    /// CA bundle the server's certificate must chain to (PEM).
    #[arg(long)]
    cacert: PathBuf,
    /// Client certificate (PEM).
    #[arg(long)]
    cert: Option<PathBuf>,
    /// Client key (PEM).
    #[arg(long)]
    key: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Send requests and measure.
    Run {
        /// `https://host:port/path`.
        #[arg(long)]
        url: String,
        /// HTTP method.
        #[arg(long, default_value = "POST")]
        method: String,
        /// Request body (JSON text).
        #[arg(long, default_value = "")]
        body: String,
        /// Extra header, `name: value`; repeatable.
        #[arg(long = "header")]
        headers: Vec<String>,
        #[command(flatten)]
        tls: Tls,
        /// keepalive (HTTP/1.1), h2, or newconn (a TLS handshake per request).
        #[arg(long, value_enum, default_value = "keepalive")]
        mode: ModeArg,
        /// Workers: connections, or concurrent streams for h2.
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        /// Open loop at this many requests per second (latency from due time).
        #[arg(long)]
        rate: Option<f64>,
        /// Seconds to measure.
        #[arg(long, default_value_t = 10.0)]
        duration: f64,
        /// Seconds to run before measuring.
        #[arg(long, default_value_t = 2.0)]
        warmup: f64,
        /// Stop after this many measured requests.
        #[arg(long)]
        requests: Option<u64>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Open mutually authenticated connections and hold them idle (for memory
    /// per connection).
    Idle {
        /// `host:port`.
        #[arg(long)]
        addr: String,
        #[command(flatten)]
        tls: Tls,
        /// How many connections.
        #[arg(long, default_value_t = 10_000)]
        connections: usize,
        /// Seconds to hold them.
        #[arg(long, default_value_t = 20.0)]
        hold: f64,
    },
}

fn client_tls(tls: &Tls) -> Result<std::sync::Arc<rustls::ClientConfig>, String> {
    let identity = match (&tls.cert, &tls.key) {
        (Some(c), Some(k)) => Some((c.as_path(), k.as_path())),
        (None, None) => None,
        _ => return Err("--cert and --key go together".into()),
    };
    tls_config(&tls.cacert, identity).map_err(|e| e.to_string())
}

fn split_url(url: &str) -> Result<(String, String, String), String> {
    let rest = url
        .strip_prefix("https://")
        .ok_or("--url must start with https://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (
            rest.get(..i).unwrap_or_default(),
            rest.get(i..).unwrap_or("/"),
        ),
        None => (rest, "/"),
    };
    let host = authority
        .rsplit_once(':')
        .map(|(h, _)| h)
        .ok_or("--url needs host:port")?;
    Ok((
        authority.to_owned(),
        host.trim_matches(['[', ']']).to_owned(),
        path.to_owned(),
    ))
}

#[allow(clippy::print_stdout, reason = "the command's output")]
fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("yrdx-load: {e}");
            return ExitCode::from(2);
        }
    };
    let outcome: Result<String, String> = runtime.block_on(async {
        match cli.command {
            Command::Run { url, method, body, headers, tls, mode, concurrency, rate, duration, warmup, requests, json } => {
                let (addr, server_name, path) = split_url(&url)?;
                let headers = headers
                    .iter()
                    .map(|h| h.split_once(':').map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned())).ok_or(format!("--header `{h}` is not name: value")))
                    .collect::<Result<Vec<_>, _>>()?;
                let spec = Spec {
                    addr,
                    server_name,
                    method: method.parse().map_err(|_| format!("--method `{method}`"))?,
                    path,
                    body: Bytes::from(body),
                    headers,
                    tls: client_tls(&tls)?,
                    mode: match mode {
                        ModeArg::Keepalive => Mode::Keepalive,
                        ModeArg::H2 => Mode::H2,
                        ModeArg::Newconn => Mode::Newconn,
                    },
                    concurrency,
                    rate,
                    duration: Duration::from_secs_f64(duration.max(0.1)),
                    warmup: Duration::from_secs_f64(warmup.max(0.0)),
                    requests,
                };
                let report = load::run(spec).await;
                Ok(if json {
                    serde_json::to_string(&report).map_err(|e| e.to_string())?
                } else {
                    let l = &report.latency_ms;
                    format!(
                        "{} requests in {:.1} s: {:.0} req/s\nlatency ms: p50 {:.3}  p90 {:.3}  p99 {:.3}  p99.9 {:.3}  max {:.3}\nstatuses {:?}  problems {:?}  errors {:?}",
                        report.requests, report.seconds, report.throughput, l.p50, l.p90, l.p99, l.p999, l.max, report.statuses, report.problem_codes, report.errors
                    )
                })
            }
            Command::Idle { addr, tls, connections, hold } => {
                let server_name = addr.rsplit_once(':').map(|(h, _)| h.to_owned()).ok_or("--addr needs host:port")?;
                let open = load::hold_idle(&addr, &server_name, client_tls(&tls)?, connections, Duration::from_secs_f64(hold)).await;
                Ok(format!("held {open} idle connections for {hold} s"))
            }
        }
    });
    match outcome {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("yrdx-load: {e}");
            ExitCode::from(2)
        }
    }
}
