//! The load generator behind `yrdx-load`: an HTTPS client with client
//! certificates that drives one endpoint — the gateway, nginx, or a provider
//! directly — and reports throughput and latency from an HDR histogram.
//!
//! Three connection modes: HTTP/1.1 keep-alive (one connection per worker),
//! HTTP/2 (streams multiplexed over a few connections) and a new connection per
//! request (TCP and TLS handshake included in every latency). Two loop shapes:
//! closed (a fixed number of workers, each sending as soon as its previous
//! answer arrived) and open (a fixed rate, each request timed from when it was
//! *due*, so a slow server cannot hide its latency by slowing the client down —
//! no coordinated omission).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;
use http::{Method, Request, header};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls_pki_types::ServerName;
use serde::Serialize;
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tokio_rustls::TlsConnector;

/// How requests travel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// HTTP/1.1, one persistent connection per worker.
    Keepalive,
    /// HTTP/2, streams multiplexed over one connection per 64 workers.
    H2,
    /// A new TCP + TLS connection for every request.
    Newconn,
}

/// What to run.
#[derive(Clone, Debug)]
pub struct Spec {
    /// `host:port`.
    pub addr: String,
    /// The TLS server name to send.
    pub server_name: String,
    /// Request method.
    pub method: Method,
    /// Path and query.
    pub path: String,
    /// Request body.
    pub body: Bytes,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// The TLS client configuration (roots and client certificate).
    pub tls: Arc<rustls::ClientConfig>,
    /// Connection mode.
    pub mode: Mode,
    /// Workers (connections, or concurrent streams for HTTP/2).
    pub concurrency: usize,
    /// Open loop at this many requests per second; closed loop when `None`.
    pub rate: Option<f64>,
    /// How long to measure.
    pub duration: Duration,
    /// How long to run before measuring.
    pub warmup: Duration,
    /// Stop after this many measured requests, if set.
    pub requests: Option<u64>,
}

/// Latency percentiles in milliseconds.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 90th.
    pub p90: f64,
    /// 99th.
    pub p99: f64,
    /// 99.9th.
    pub p999: f64,
    /// Slowest.
    pub max: f64,
    /// Mean.
    pub mean: f64,
}

/// What a run measured.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    /// The mode.
    pub mode: Option<Mode>,
    /// Workers.
    pub concurrency: usize,
    /// Target rate, for open-loop runs.
    pub rate: Option<f64>,
    /// Measured seconds.
    pub seconds: f64,
    /// Requests answered in the measured window.
    pub requests: u64,
    /// Answered requests per second.
    pub throughput: f64,
    /// Latency of answered requests.
    pub latency_ms: Percentiles,
    /// Answers by HTTP status.
    pub statuses: BTreeMap<u16, u64>,
    /// Problem codes of non-2xx answers (`application/problem+json` `code`).
    pub problem_codes: BTreeMap<String, u64>,
    /// Requests that got no answer, by kind (connect, handshake, http).
    pub errors: BTreeMap<String, u64>,
}

#[derive(Default)]
struct Tally {
    histogram: Option<Histogram<u64>>,
    statuses: BTreeMap<u16, u64>,
    codes: BTreeMap<String, u64>,
    errors: BTreeMap<String, u64>,
    requests: u64,
}

impl Tally {
    fn new() -> Tally {
        Tally {
            // 1 µs to 60 s at 3 significant digits.
            histogram: Histogram::new_with_bounds(1, 60_000_000, 3).ok(),
            ..Tally::default()
        }
    }

    fn merge(&mut self, other: Tally) {
        if let (Some(h), Some(o)) = (self.histogram.as_mut(), other.histogram.as_ref()) {
            let _ = h.add(o);
        }
        for (k, v) in other.statuses {
            *self.statuses.entry(k).or_default() += v;
        }
        for (k, v) in other.codes {
            *self.codes.entry(k).or_default() += v;
        }
        for (k, v) in other.errors {
            *self.errors.entry(k).or_default() += v;
        }
        self.requests += other.requests;
    }
}

/// One shared HTTP/2 connection, (re)opened on demand.
type H2Slot = Mutex<Option<http2::SendRequest<Full<Bytes>>>>;

enum Conn {
    H1(http1::SendRequest<Full<Bytes>>),
    H2(http2::SendRequest<Full<Bytes>>),
}

async fn connect(spec: &Spec, h2: bool) -> Result<Conn, &'static str> {
    let tcp = TcpStream::connect(&spec.addr)
        .await
        .map_err(|_| "connect")?;
    let _ = tcp.set_nodelay(true);
    let mut tls = (*spec.tls).clone();
    tls.alpn_protocols = if h2 {
        vec![b"h2".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    let name = ServerName::try_from(spec.server_name.clone()).map_err(|_| "server name")?;
    let stream = TlsConnector::from(Arc::new(tls))
        .connect(name, tcp)
        .await
        .map_err(|_| "handshake")?;
    if h2 {
        let (sender, conn) = http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .map_err(|_| "http2 handshake")?;
        tokio::spawn(conn);
        Ok(Conn::H2(sender))
    } else {
        let (sender, conn) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|_| "http1 handshake")?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Conn::H1(sender))
    }
}

/// HTTP/1.1 wants the origin form and a `Host` header (hyper's connection-level
/// client adds neither); HTTP/2 takes scheme and authority from the URI.
fn request(spec: &Spec, h2: bool) -> Option<Request<Full<Bytes>>> {
    let mut b = Request::builder().method(spec.method.clone());
    b = if h2 {
        b.uri(format!("https://{}{}", spec.addr, spec.path))
    } else {
        b.uri(spec.path.as_str())
            .header(header::HOST, spec.addr.as_str())
    };
    b = b.header(header::CONTENT_TYPE, "application/json");
    for (k, v) in &spec.headers {
        b = b.header(k.as_str(), v.as_str());
    }
    b.body(Full::new(spec.body.clone())).ok()
}

/// Sends one request on `conn`; returns the status and problem code.
async fn send(conn: &mut Conn, spec: &Spec) -> Result<(u16, Option<String>), &'static str> {
    let req = request(spec, matches!(conn, Conn::H2(_))).ok_or("request")?;
    let resp = match conn {
        Conn::H1(s) => {
            s.ready().await.map_err(|_| "http")?;
            s.send_request(req).await.map_err(|_| "http")?
        }
        Conn::H2(s) => {
            s.ready().await.map_err(|_| "http")?;
            s.send_request(req).await.map_err(|_| "http")?
        }
    };
    let status = resp.status().as_u16();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|_| "http body")?
        .to_bytes();
    let code = (status >= 400)
        .then(|| serde_json::from_slice::<serde_json::Value>(&body).ok())
        .flatten()
        .and_then(|v| v.get("code").and_then(|c| c.as_str()).map(str::to_owned));
    Ok((status, code))
}

/// Runs the load and reports.
pub async fn run(spec: Spec) -> Report {
    let spec = Arc::new(spec);
    let start = Instant::now();
    let measure_from = start + spec.warmup;
    let end = measure_from + spec.duration;
    let budget = Arc::new(std::sync::atomic::AtomicU64::new(
        spec.requests.unwrap_or(u64::MAX),
    ));
    let h2_conns: Arc<Vec<H2Slot>> = Arc::new(
        (0..spec.concurrency.div_ceil(64).max(1))
            .map(|_| Mutex::new(None))
            .collect(),
    );

    // Open loop: a ticker hands out due times; closed loop: workers go at once.
    let (due_tx, due_rx) = async_channel();
    if let Some(rate) = spec.rate.filter(|r| *r > 0.0) {
        let period = Duration::from_secs_f64(1.0 / rate);
        let tx = due_tx.clone();
        tokio::spawn(async move {
            let mut next = start;
            while next < end {
                tokio::time::sleep_until(next.into()).await;
                if tx.send(next).await.is_err() {
                    break;
                }
                next += period;
            }
        });
    }
    drop(due_tx);

    let mut workers = Vec::new();
    for w in 0..spec.concurrency.max(1) {
        let (spec, budget, h2_conns, due_rx) = (
            spec.clone(),
            budget.clone(),
            h2_conns.clone(),
            due_rx.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut tally = Tally::new();
            let mut conn: Option<Conn> = None;
            loop {
                let due = if spec.rate.is_some() {
                    match due_rx.recv().await {
                        Some(d) => d,
                        None => break,
                    }
                } else {
                    Instant::now()
                };
                if due >= end {
                    break;
                }
                let measured = due >= measure_from;
                if measured
                    && budget
                        .fetch_update(
                            std::sync::atomic::Ordering::Relaxed,
                            std::sync::atomic::Ordering::Relaxed,
                            |b| b.checked_sub(1),
                        )
                        .is_err()
                {
                    break;
                }
                let result = match spec.mode {
                    Mode::Newconn => match connect(&spec, false).await {
                        Ok(mut c) => send(&mut c, &spec).await,
                        Err(e) => Err(e),
                    },
                    Mode::Keepalive => {
                        if conn.is_none() {
                            conn = connect(&spec, false).await.ok();
                        }
                        match conn.as_mut() {
                            None => Err("connect"),
                            Some(c) => {
                                let r = send(c, &spec).await;
                                if r.is_err() {
                                    conn = None;
                                }
                                r
                            }
                        }
                    }
                    Mode::H2 => {
                        let slot = h2_conns.get(w % h2_conns.len());
                        let sender = match slot {
                            None => None,
                            Some(slot) => {
                                let mut guard = slot.lock().await;
                                if guard.as_ref().is_none_or(|s| s.is_closed()) {
                                    *guard = match connect(&spec, true).await {
                                        Ok(Conn::H2(s)) => Some(s),
                                        _ => None,
                                    };
                                }
                                guard.clone()
                            }
                        };
                        match sender {
                            None => Err("connect"),
                            Some(s) => send(&mut Conn::H2(s), &spec).await,
                        }
                    }
                };
                if !measured {
                    continue;
                }
                match result {
                    Ok((status, code)) => {
                        let micros = u64::try_from(due.elapsed().as_micros())
                            .unwrap_or(u64::MAX)
                            .max(1);
                        if let Some(h) = tally.histogram.as_mut() {
                            let _ = h.record(micros.min(60_000_000));
                        }
                        *tally.statuses.entry(status).or_default() += 1;
                        if let Some(code) = code {
                            *tally.codes.entry(code).or_default() += 1;
                        }
                        tally.requests += 1;
                    }
                    Err(kind) => *tally.errors.entry(kind.to_owned()).or_default() += 1,
                }
            }
            tally
        }));
    }
    let mut total = Tally::new();
    for w in workers {
        if let Ok(t) = w.await {
            total.merge(t);
        }
    }
    let seconds = (Instant::now().min(end) - measure_from.min(Instant::now()))
        .as_secs_f64()
        .max(1e-9);
    let ms = |v: u64| v as f64 / 1000.0;
    let latency = total
        .histogram
        .as_ref()
        .map(|h| Percentiles {
            p50: ms(h.value_at_quantile(0.50)),
            p90: ms(h.value_at_quantile(0.90)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
            mean: h.mean() / 1000.0,
        })
        .unwrap_or_default();
    #[allow(clippy::cast_precision_loss, reason = "a rate for a report")]
    let throughput = total.requests as f64 / seconds;
    Report {
        mode: Some(spec.mode),
        concurrency: spec.concurrency,
        rate: spec.rate,
        seconds,
        requests: total.requests,
        throughput,
        latency_ms: latency,
        statuses: total.statuses,
        problem_codes: total.codes,
        errors: total.errors,
    }
}

/// Opens `n` mutually authenticated connections and holds them idle for
/// `hold`; returns how many were open. For measuring a server's memory per
/// idle connection.
pub async fn hold_idle(
    addr: &str,
    server_name: &str,
    tls: Arc<rustls::ClientConfig>,
    n: usize,
    hold: Duration,
) -> usize {
    let mut conns = Vec::with_capacity(n);
    let spec = Spec {
        addr: addr.to_owned(),
        server_name: server_name.to_owned(),
        method: Method::GET,
        path: "/".into(),
        body: Bytes::new(),
        headers: Vec::new(),
        tls,
        mode: Mode::Keepalive,
        concurrency: 1,
        rate: None,
        duration: Duration::ZERO,
        warmup: Duration::ZERO,
        requests: None,
    };
    for _ in 0..n {
        if let Ok(c) = connect(&spec, false).await {
            conns.push(c);
        }
    }
    let open = conns.len();
    tokio::time::sleep(hold).await;
    drop(conns);
    open
}

/// A tiny multi-consumer channel of due times built on a tokio mutex: the
/// ticker sends, any free worker takes the next due time.
fn async_channel() -> (DueSender, DueReceiver) {
    let (tx, rx) = tokio::sync::mpsc::channel(1 << 16);
    (DueSender(tx), DueReceiver(Arc::new(Mutex::new(rx))))
}

#[derive(Clone)]
struct DueSender(tokio::sync::mpsc::Sender<Instant>);

impl DueSender {
    async fn send(&self, t: Instant) -> Result<(), ()> {
        self.0.send(t).await.map_err(|_| ())
    }
}

#[derive(Clone)]
struct DueReceiver(Arc<Mutex<tokio::sync::mpsc::Receiver<Instant>>>);

impl DueReceiver {
    async fn recv(&self) -> Option<Instant> {
        self.0.lock().await.recv().await
    }
}
