//! The stack's floor, for benchmarks only: the gateway's own exchange-listener
//! TLS and its own client towards providers, with nothing between them. Each
//! request is handed to the provider as it came (method, path, body) and the
//! provider's answer handed back — what nginx does in `bench/compare.sh`, built
//! from the same parts yrdx is (tokio, hyper, rustls), so that the gap between
//! yrdx and nginx can be split into what the stack costs and what the pipeline
//! costs. It identifies nobody, checks no list, logs nothing: never a gateway.
//!
//! ```text
//! cargo run --release -p yrdx-gateway --example passthrough -- \
//!     yrdx.toml 127.0.0.1:18447 https://127.0.0.1:19602
//! ```
//!
//! The configuration is a node's (`yrdx.toml`): its `[tls]`, `[trust]` and
//! `[upstream]` sections are used, nothing else.
#![forbid(unsafe_code)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use yrdx_adapters::NativeRequest;
use yrdx_gateway::Config;
use yrdx_gateway::upstream::Upstream;

/// The same allocator as `yrdx`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [config, listen, provider] = args.as_slice() else {
        bail!("usage: passthrough CONFIG LISTEN-ADDR PROVIDER-URL");
    };
    let config = Config::load(&PathBuf::from(config))?;
    let listen: SocketAddr = listen
        .parse()
        .with_context(|| format!("{listen} is not an address"))?;
    let provider: Arc<str> = provider.trim_end_matches('/').into();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(serve(config, listen, provider))
}

async fn serve(config: Config, listen: SocketAddr, provider: Arc<str>) -> anyhow::Result<()> {
    let (tls, _federation) = yrdx_gateway::tls::server(&config)?;
    let acceptor = TlsAcceptor::from(tls);
    let upstream = Arc::new(Upstream::new(&config)?);
    let deadline = Duration::from_secs(30);
    let max_body = config.limits.max_body_bytes;
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new());
    let builder = Arc::new(builder);
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    loop {
        let tcp = match listener.accept().await {
            Ok((tcp, _)) => tcp,
            Err(e) => {
                // Out of file descriptors, say: say so, and do not spin.
                eprintln!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let (acceptor, builder) = (acceptor.clone(), builder.clone());
        let (upstream, provider) = (upstream.clone(), provider.clone());
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let service = service_fn(move |req: Request<Incoming>| {
                let (upstream, provider) = (upstream.clone(), provider.clone());
                async move {
                    Ok::<_, Infallible>(
                        forward(&upstream, &provider, req, max_body, deadline).await,
                    )
                }
            });
            let _ = builder.serve_connection(TokioIo::new(tls), service).await;
        });
    }
}

/// Hands `req` to the provider and its answer back; a failure is a bare 502.
async fn forward(
    upstream: &Upstream,
    provider: &str,
    req: Request<Incoming>,
    max_body: usize,
    deadline: Duration,
) -> Response<Full<Bytes>> {
    let method = match *req.method() {
        Method::GET => "GET",
        Method::POST => "POST",
        _ => return bare(StatusCode::METHOD_NOT_ALLOWED),
    };
    let path_and_query = req
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let Ok(body) = Limited::new(req.into_body(), max_body).collect().await else {
        return bare(StatusCode::BAD_REQUEST);
    };
    let native = NativeRequest {
        method,
        path_and_query,
        headers: Vec::new(),
        content_type,
        body: body.to_bytes().to_vec(),
    };
    match upstream.call(provider, &native, deadline).await {
        Ok(answer) => {
            let mut response = Response::new(Full::new(answer.body));
            *response.status_mut() =
                StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_GATEWAY);
            if let Some(ct) = answer
                .content_type
                .and_then(|ct| header::HeaderValue::from_str(&ct).ok())
            {
                response.headers_mut().insert(header::CONTENT_TYPE, ct);
            }
            response
        }
        Err(_) => bare(StatusCode::BAD_GATEWAY),
    }
}

fn bare(status: StatusCode) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = status;
    response
}
