//! `yrdx conformance sandbox`: a gateway for a consumer's developers to
//! practise refusals against, and a record of what their client did after
//! each one.
//!
//! The sandbox starts the demo federation (PKI, sample providers, a real
//! gateway) and puts a recording front in its way: consumers connect to the
//! front with the sandbox's member certificates; the front passes each
//! request on to the gateway as the same member, or — for the documented
//! sandbox keys — answers itself with the refusal a real node gives when its
//! store, its log or a provider fails ([`SANDBOX_KEYS`]). Every request and
//! answer is noted; [`Journal::summary`] reads the notes per consumer: who
//! came back before `Retry-After`, who retried a failure at once, who resent
//! a refusal that cannot change, and whether retries carried a new request id.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use rustls::server::WebPkiClientVerifier;
use serde::Serialize;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::REQUEST_ID_HEADER;
use crate::problem::Problem;
use crate::tls;

use super::super::demo::{self, Demo, DemoOptions};

/// `yrdx conformance sandbox` arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct SandboxArgs {
    /// Folder for the sandbox federation: PKI (the consumers' certificates),
    /// registry, store, manifest.
    #[arg(long, default_value = "yrdx-sandbox")]
    pub dir: PathBuf,
    /// Where consumers connect (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8444")]
    pub listen: SocketAddr,
}

/// The resource the sandbox keys are asked of.
pub const SANDBOX_RESOURCE: &str = "YRD-SCJG-0001";

/// Seconds the quota key asks a client to wait.
pub const QUOTA_RETRY_AFTER_S: u64 = 2;

/// The shortest pause before retrying a failure that carries no
/// `Retry-After` that the sandbox counts as a back-off.
pub const MIN_BACKOFF: Duration = Duration::from_secs(1);

/// Credit codes (valid, routed to Zhejiang, held nowhere) that make the front
/// answer with a refusal of the gateway's own: `(key, code, what it shows)`.
/// A call with the quota key after its `Retry-After` is passed on, and the
/// gateway answers `record_not_found`: the proof that the client waited.
pub const SANDBOX_KEYS: &[(&str, &str, &str)] = &[
    (
        "91330000YRDXQ0001L",
        "quota_exhausted",
        "429 with Retry-After: 2 until the client waits that long; then passed on (record_not_found)",
    ),
    (
        "91330000YRDXQ0002P",
        "store_unavailable",
        "503: the node's store did not answer; retry with back-off",
    ),
    (
        "91330000YRDXQ0003T",
        "audit_unavailable",
        "503: the exchange could not be recorded; retry with back-off",
    ),
    (
        "91330000YRDXQ0004X",
        "internal_error",
        "500: a gateway fault",
    ),
    (
        "91330000YRDXQ00051",
        "upstream_error",
        "502: the provider answered HTTP 500",
    ),
];

/// One request the front saw and how it was answered.
#[derive(Clone, Debug, Serialize)]
pub struct Note {
    /// Milliseconds since the sandbox started.
    pub at_ms: u64,
    /// The member whose certificate was presented, `-` for none.
    pub consumer: String,
    /// Method and path.
    pub request: String,
    /// What makes two requests the same: the path and the JSON body (or the
    /// raw body) as sent.
    #[serde(skip)]
    pub same_as: String,
    /// The `Yrdx-Request-Id` the client sent.
    pub request_id: Option<String>,
    /// The HTTP status answered.
    pub status: u16,
    /// The problem code, for a refusal.
    pub code: Option<String>,
    /// `Retry-After`, in seconds.
    pub retry_after_s: Option<u64>,
    /// Whether the front answered itself (a sandbox key).
    pub simulated: bool,
}

/// What a consumer did, counted.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Behaviour {
    /// Requests sent.
    pub requests: usize,
    /// Of which refused.
    pub refused: usize,
    /// Refusals by problem code.
    pub codes: BTreeMap<String, usize>,
    /// Retries (the same request again after a refusal).
    pub retries: usize,
    /// Came back before the `Retry-After` it was given.
    pub ignored_retry_after: usize,
    /// Retried a failure without `Retry-After` within [`MIN_BACKOFF`].
    pub retried_too_soon: usize,
    /// Resent a refusal that the same request cannot change (a 4xx other
    /// than 429).
    pub retried_unchangeable: usize,
    /// Retries that carried a new `Yrdx-Request-Id` (or none, so the gateway
    /// gave a new one).
    pub retries_new_request_id: usize,
    /// Retries that reused the refused request's id (the log then holds two
    /// exchanges under one id).
    pub retries_same_request_id: usize,
}

impl Behaviour {
    /// Whether nothing the client did was wrong.
    pub fn well_behaved(&self) -> bool {
        self.ignored_retry_after == 0
            && self.retried_too_soon == 0
            && self.retried_unchangeable == 0
    }
}

/// Everything the front saw.
#[derive(Debug, Default)]
pub struct Journal {
    notes: Mutex<Vec<Note>>,
}

impl Journal {
    fn add(&self, note: Note) {
        if let Ok(mut notes) = self.notes.lock() {
            notes.push(note);
        }
    }

    /// The notes so far.
    pub fn notes(&self) -> Vec<Note> {
        self.notes.lock().map(|n| n.clone()).unwrap_or_default()
    }

    /// Each consumer's behaviour.
    pub fn summary(&self) -> BTreeMap<String, Behaviour> {
        summarise(&self.notes())
    }
}

/// Reads the notes per consumer: each refusal against the next time the same
/// consumer sent the same request.
pub fn summarise(notes: &[Note]) -> BTreeMap<String, Behaviour> {
    let mut out: BTreeMap<String, Behaviour> = BTreeMap::new();
    for (i, n) in notes.iter().enumerate() {
        let b = out.entry(n.consumer.clone()).or_default();
        b.requests += 1;
        if n.status < 400 {
            continue;
        }
        b.refused += 1;
        *b.codes
            .entry(n.code.clone().unwrap_or_else(|| n.status.to_string()))
            .or_default() += 1;
        let Some(next) = notes
            .iter()
            .skip(i + 1)
            .find(|m| m.consumer == n.consumer && m.same_as == n.same_as)
        else {
            continue;
        };
        b.retries += 1;
        let waited = Duration::from_millis(next.at_ms.saturating_sub(n.at_ms));
        if n.request_id.is_some() && next.request_id == n.request_id {
            b.retries_same_request_id += 1;
        } else {
            b.retries_new_request_id += 1;
        }
        match n.retry_after_s {
            Some(s) if waited < Duration::from_secs(s) => b.ignored_retry_after += 1,
            Some(_) => {}
            None if n.status < 500 && n.status != 429 => b.retried_unchangeable += 1,
            None if waited < MIN_BACKOFF => b.retried_too_soon += 1,
            None => {}
        }
    }
    out
}

/// The summary as text, Chinese and English.
pub fn summary_text(summary: &BTreeMap<String, Behaviour>) -> String {
    let mut s = String::from("沙箱小结 Sandbox summary\n");
    if summary.is_empty() {
        s.push_str("  没有请求 no requests\n");
    }
    for (consumer, b) in summary {
        s.push_str(&format!(
            "\n{consumer}: {}\n  请求 requests {}, 拒绝 refused {} ({})\n  重试 retries {}: 新请求标识 new request id {}, 沿用 same id {}\n",
            if b.well_behaved() {
                "处理得当 well-behaved"
            } else {
                "需改进 needs work"
            },
            b.requests,
            b.refused,
            b.codes
                .iter()
                .map(|(k, v)| format!("{k} ×{v}"))
                .collect::<Vec<_>>()
                .join(", "),
            b.retries,
            b.retries_new_request_id,
            b.retries_same_request_id,
        ));
        for (n, zh, en) in [
            (
                b.ignored_retry_after,
                "未遵守 Retry-After",
                "came back before Retry-After",
            ),
            (
                b.retried_too_soon,
                "失败后立即重试（无退避）",
                "retried a failure at once (no back-off)",
            ),
            (
                b.retried_unchangeable,
                "重发不会改变结果的拒绝",
                "resent a refusal the same request cannot change",
            ),
        ] {
            if n > 0 {
                s.push_str(&format!("  ✗ {zh} {en}: {n}\n"));
            }
        }
    }
    s
}

/// A running sandbox.
#[derive(Debug)]
pub struct Sandbox {
    /// The federation behind the front.
    pub demo: Demo,
    /// What the front saw.
    pub journal: Arc<Journal>,
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
}

impl Sandbox {
    /// Where consumers connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops the front and the federation.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        self.demo.gateway.shutdown(Duration::from_secs(5)).await;
    }
}

type Forwarder = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// The front's shared state.
#[derive(Debug)]
struct Front {
    gateway: String,
    /// By certificate DER: the member and its client towards the gateway.
    members: HashMap<Vec<u8>, (String, Forwarder)>,
    anonymous: Forwarder,
    journal: Arc<Journal>,
    started: Instant,
    /// Per consumer: when the quota key may be passed on.
    quota_until: Mutex<HashMap<String, Instant>>,
    notify: Option<tokio::sync::mpsc::UnboundedSender<Note>>,
}

fn forwarder(tls: rustls::ClientConfig) -> Forwarder {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_only()
        .enable_http1()
        .wrap_connector(http);
    Client::builder(TokioExecutor::new())
        .timer(TokioTimer::new())
        .pool_timer(TokioTimer::new())
        .build(connector)
}

fn client_tls(
    roots: &rustls::RootCertStore,
    identity: Option<(&std::path::Path, &std::path::Path)>,
) -> anyhow::Result<rustls::ClientConfig> {
    let builder = rustls::ClientConfig::builder_with_provider(tls::provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots.clone());
    let mut config = match identity {
        Some((c, k)) => builder.with_client_auth_cert(tls::load_certs(c)?, tls::load_key(k)?)?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols.clear();
    Ok(config)
}

/// Starts the federation and the front on `args.listen`.
pub async fn start(
    args: &SandboxArgs,
    notify: Option<tokio::sync::mpsc::UnboundedSender<Note>>,
) -> anyhow::Result<Sandbox> {
    let demo = demo::start(&DemoOptions {
        dir: args.dir.clone(),
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        store_url: None,
        provider_port_base: None,
    })
    .await?;
    let config = &demo.gateway.app().config;
    let mut roots = rustls::RootCertStore::empty();
    for ca in tls::load_certs(&demo.manifest.ca_bundle)? {
        roots.add(ca)?;
    }
    let mut members = HashMap::new();
    for (id, files) in &demo.manifest.members {
        let Some(cert) = tls::load_certs(&files.cert)?.into_iter().next() else {
            continue;
        };
        let tls = client_tls(&roots, Some((&files.cert, &files.key)))?;
        members.insert(cert.as_ref().to_vec(), (id.clone(), forwarder(tls)));
    }
    let anonymous = forwarder(client_tls(&roots, None)?);
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), tls::provider())
        .allow_unauthenticated()
        .build()?;
    let mut server = rustls::ServerConfig::builder_with_provider(tls::provider())
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            tls::load_certs(&config.tls.cert)?,
            tls::load_key(&config.tls.key)?,
        )?;
    server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = TlsAcceptor::from(Arc::new(server));
    let listener = TcpListener::bind(args.listen).await?;
    let addr = listener.local_addr()?;
    let journal = Arc::new(Journal::default());
    let front = Arc::new(Front {
        gateway: format!("https://{}", demo.gateway.exchange_addr()),
        members,
        anonymous,
        journal: journal.clone(),
        started: Instant::now(),
        quota_until: Mutex::new(HashMap::new()),
        notify,
    });
    let (shutdown, mut stop) = watch::channel(false);
    tokio::spawn(async move {
        loop {
            let (tcp, _) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(_) => continue,
                },
                _ = stop.changed() => break,
            };
            let _ = tcp.set_nodelay(true);
            let acceptor = acceptor.clone();
            let front = front.clone();
            let mut stop_conn = stop.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let peer = tls
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|c| c.first())
                    .map(|c| c.as_ref().to_vec());
                let service = service_fn(move |req| {
                    let front = front.clone();
                    let peer = peer.clone();
                    async move { Ok::<_, Infallible>(front.handle(peer.as_deref(), req).await) }
                });
                let builder = auto::Builder::new(TokioExecutor::new());
                let conn = builder.serve_connection(TokioIo::new(tls), service);
                tokio::pin!(conn);
                tokio::select! {
                    _ = conn.as_mut() => {}
                    _ = stop_conn.changed() => {}
                }
            });
        }
    });
    Ok(Sandbox {
        demo,
        journal,
        addr,
        shutdown,
    })
}

impl Front {
    async fn handle(&self, peer: Option<&[u8]>, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let at_ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let (parts, body) = req.into_parts();
        let request_id = parts
            .headers
            .get(REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = match Limited::new(body, 16 * 1024 * 1024).collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => Bytes::new(),
        };
        let member = peer.and_then(|der| self.members.get(der));
        let consumer = match (peer, member) {
            (None, _) => "-".to_owned(),
            (Some(_), Some((id, _))) => id.clone(),
            (Some(_), None) => "unknown certificate".to_owned(),
        };
        let json: Option<Value> = serde_json::from_slice(&body).ok();
        let same_as = format!(
            "{} {} {}",
            parts.method,
            parts.uri.path(),
            json.as_ref()
                .map(Value::to_string)
                .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned())
        );
        let id_for_answer = request_id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
        let simulated = match (member, self.sandbox_key(&parts, json.as_ref())) {
            (Some(_), Some(code)) => self.simulate(code, &consumer),
            _ => None,
        };
        let (response, bytes, is_simulated) = match simulated {
            Some(problem) => {
                let (r, b) = problem_response(&problem, &id_for_answer).await;
                (r, b, true)
            }
            None => {
                let client = member.map_or(&self.anonymous, |(_, c)| c);
                let (r, b) = self.forward(client, &parts, body).await;
                (r, b, false)
            }
        };
        let code = response
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"))
            .then(|| {
                serde_json::from_slice::<Value>(&bytes)
                    .ok()
                    .and_then(|v| v.get("code").and_then(Value::as_str).map(str::to_owned))
            })
            .flatten();
        let note = Note {
            at_ms,
            consumer,
            request: format!("{} {}", parts.method, parts.uri.path()),
            same_as,
            request_id,
            status: response.status().as_u16(),
            code,
            retry_after_s: response
                .headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse().ok()),
            simulated: is_simulated,
        };
        if let Some(tx) = &self.notify {
            let _ = tx.send(note.clone());
        }
        self.journal.add(note);
        response
    }

    /// The code of the sandbox key an exchange asks for, if it does.
    fn sandbox_key(
        &self,
        parts: &http::request::Parts,
        json: Option<&Value>,
    ) -> Option<&'static str> {
        if parts.method != http::Method::POST
            || parts.uri.path() != format!("/v1/exchange/{SANDBOX_RESOURCE}")
        {
            return None;
        }
        let uscc = json?.get("key")?.get("uscc")?.as_str()?;
        SANDBOX_KEYS
            .iter()
            .find(|(k, _, _)| *k == uscc)
            .map(|(_, code, _)| *code)
    }

    /// The refusal a sandbox key gets now, or `None` to pass it on.
    fn simulate(&self, code: &str, consumer: &str) -> Option<Problem> {
        match code {
            "quota_exhausted" => {
                let now = Instant::now();
                let mut until = self.quota_until.lock().ok()?;
                match until.get(consumer).copied() {
                    Some(t) if now >= t => {
                        until.remove(consumer);
                        None
                    }
                    Some(t) => Some(Problem::QuotaExhausted {
                        retry_after_s: t.saturating_duration_since(now).as_secs().max(1),
                    }),
                    None => {
                        until.insert(
                            consumer.to_owned(),
                            now + Duration::from_secs(QUOTA_RETRY_AFTER_S),
                        );
                        Some(Problem::QuotaExhausted {
                            retry_after_s: QUOTA_RETRY_AFTER_S,
                        })
                    }
                }
            }
            "store_unavailable" => Some(Problem::StoreUnavailable),
            "audit_unavailable" => Some(Problem::AuditUnavailable),
            "internal_error" => Some(Problem::Internal),
            "upstream_error" => Some(Problem::UpstreamError { status: 500 }),
            _ => None,
        }
    }

    async fn forward(
        &self,
        client: &Forwarder,
        parts: &http::request::Parts,
        body: Bytes,
    ) -> (Response<Full<Bytes>>, Bytes) {
        let path = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        let mut builder = Request::builder()
            .method(parts.method.clone())
            .uri(format!("{}{path}", self.gateway));
        for (name, value) in &parts.headers {
            if !hop_by_hop(name) && name != header::HOST {
                builder = builder.header(name, value);
            }
        }
        let Ok(request) = builder.body(Full::new(body)) else {
            return plain(
                StatusCode::BAD_REQUEST,
                "the sandbox could not pass this request on",
            );
        };
        let answer = match client.request(request).await {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "sandbox: the gateway behind the front did not answer");
                return plain(
                    StatusCode::BAD_GATEWAY,
                    "the sandbox's gateway did not answer",
                );
            }
        };
        let (parts, body) = answer.into_parts();
        let bytes = body
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let mut response = Response::new(Full::new(bytes.clone()));
        *response.status_mut() = parts.status;
        copy_headers(&parts.headers, response.headers_mut());
        (response, bytes)
    }
}

fn hop_by_hop(name: &header::HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection" | "keep-alive" | "transfer-encoding" | "te" | "upgrade" | "content-length"
    )
}

fn copy_headers(from: &HeaderMap, to: &mut HeaderMap) {
    for (name, value) in from {
        if !hop_by_hop(name) {
            to.append(name, value.clone());
        }
    }
}

fn plain(status: StatusCode, text: &'static str) -> (Response<Full<Bytes>>, Bytes) {
    let bytes = Bytes::from_static(text.as_bytes());
    let mut r = Response::new(Full::new(bytes.clone()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    (r, bytes)
}

/// The problem exactly as the gateway writes it.
async fn problem_response(problem: &Problem, request_id: &str) -> (Response<Full<Bytes>>, Bytes) {
    let (parts, body) = problem.to_response(request_id).into_parts();
    let bytes = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    (Response::from_parts(parts, Full::new(bytes.clone())), bytes)
}

/// What the sandbox offers, to print when it starts.
pub fn instructions(sandbox: &Sandbox) -> String {
    let m = &sandbox.demo.manifest;
    let mut s = format!(
        "yrdx 沙箱 sandbox: https://{addr}\n\n\
         CA 证书 CA bundle: {ca}\n\
         各成员证书 members' certificates: {manifest} (\"members\")\n\n\
         沙箱键值 Sandbox keys — POST /v1/exchange/{SANDBOX_RESOURCE} with {{\"key\": {{\"uscc\": KEY}}, \"purpose\": \"市场主体登记核验\"}}:\n",
        addr = sandbox.addr,
        ca = m.ca_bundle.display(),
        manifest = sandbox.demo.manifest_path.display(),
    );
    for (key, code, what) in SANDBOX_KEYS {
        s.push_str(&format!("  {key}  {code}: {what}\n"));
    }
    s.push_str("\n真实拒绝 Refusals of the real gateway (member, request → answer):\n");
    for ex in &m.examples {
        let expect = match ex.expect_code {
            None => format!("{}", ex.expect_status),
            Some(code) => format!("{} {code}", ex.expect_status),
        };
        s.push_str(&format!(
            "  {}: {} {} {} → {expect}\n",
            ex.name,
            ex.consumer.unwrap_or("(no certificate)"),
            ex.method,
            ex.path,
        ));
        if !ex.body.is_null() && ex.body.get("ofd").is_none() {
            s.push_str(&format!("      {}\n", ex.body));
        }
    }
    s.push_str("\nCtrl-C 结束并打印小结 stops and prints the summary.\n");
    s
}

/// Runs `yrdx conformance sandbox` until Ctrl-C or SIGTERM, noting each
/// request as it comes, then prints the summary.
pub async fn run(args: &SandboxArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let sandbox = start(args, Some(tx)).await?;
    writeln!(out, "{}", instructions(&sandbox))?;
    out.flush()?;
    let signal = super::super::wait_for_signal();
    tokio::pin!(signal);
    loop {
        tokio::select! {
            _ = &mut signal => break,
            note = rx.recv() => match note {
                Some(n) => {
                    writeln!(
                        out,
                        "{:>8} ms  {}  {}  → {}{}{}{}",
                        n.at_ms,
                        n.consumer,
                        n.request,
                        n.status,
                        n.code.as_deref().map(|c| format!(" {c}")).unwrap_or_default(),
                        n.retry_after_s.map(|s| format!(" Retry-After {s}")).unwrap_or_default(),
                        if n.simulated { " (sandbox)" } else { "" },
                    )?;
                    out.flush()?;
                }
                None => break,
            },
        }
    }
    writeln!(out, "\n{}", summary_text(&sandbox.journal.summary()))?;
    sandbox.stop().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(at_ms: u64, same_as: &str, id: Option<&str>, status: u16, retry: Option<u64>) -> Note {
        Note {
            at_ms,
            consumer: "c".into(),
            request: "POST /x".into(),
            same_as: same_as.into(),
            request_id: id.map(str::to_owned),
            status,
            code: None,
            retry_after_s: retry,
            simulated: false,
        }
    }

    #[test]
    fn the_sandbox_keys_are_valid_credit_codes() {
        for (key, _, _) in SANDBOX_KEYS {
            assert!(yrdx_signing::Uscc::parse(key).is_ok(), "{key}");
            assert!(key.starts_with("9133"), "{key} routes to Zhejiang");
        }
    }

    #[test]
    fn behaviour_is_read_from_consecutive_requests() {
        let notes = vec![
            // Retry-After 2 ignored, then kept.
            note(0, "q", Some("a"), 429, Some(2)),
            note(500, "q", Some("a"), 429, Some(2)),
            note(3000, "q", Some("b"), 404, None),
            // A 503 retried at once, then after a pause.
            note(4000, "s", None, 503, None),
            note(4100, "s", None, 503, None),
            note(6000, "s", None, 200, None),
            // A 403 resent.
            note(7000, "p", None, 403, None),
            note(9000, "p", None, 403, None),
        ];
        let b = &summarise(&notes)["c"];
        assert_eq!(b.requests, 8);
        assert_eq!(b.ignored_retry_after, 1);
        assert_eq!(b.retried_too_soon, 1);
        assert_eq!(b.retried_unchangeable, 1, "{b:?}");
        assert_eq!(b.retries_same_request_id, 1);
        assert!(!b.well_behaved());
    }
}
