//! Sample provider servers: real HTTPS servers with mutual TLS, one per region,
//! answering from fixture files in that region's own native API and schema —
//! Jiangsu's pinyin-initial JSON, Zhejiang's camelCase JSON over POST, Anhui's
//! GB18030 XML, Shanghai's nested JSON by path.
//!
//! A fixture file lists routes; each route says how the region's API carries the
//! lookup key (query parameter, JSON pointer, XML element, or the rest of the
//! path) and holds the native bodies per key, exactly as sent on the wire. A
//! record may be delayed or carry another content type, so that the awkward
//! cases (a slow register, an HTML error page) are data, not code.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rustls::RootCertStore;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;
use thiserror::Error;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use yrdx_signing::{MemberId, Region};

/// Why a provider could not start.
#[derive(Debug, Error)]
pub enum ProviderError {
    /// The fixture file is not valid.
    #[error("fixture file for {region}: {message}")]
    Fixtures {
        /// The region (or file) concerned.
        region: String,
        /// What is wrong.
        message: String,
    },
    /// A TLS file could not be read or used.
    #[error("{path}: {message}")]
    Tls {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileShape {
    region: Region,
    route: Vec<RouteShape>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteShape {
    name: String,
    method: String,
    path: String,
    key: KeySource,
    content_type: String,
    encoding: Option<String>,
    not_found: String,
    /// The HTTP status of the not-found answer; 200 by default (the
    /// envelope says it).
    not_found_status: Option<u16>,
    #[serde(default)]
    record: Vec<Record>,
}

/// Where a region's API carries the lookup key.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, untagged)]
enum KeySource {
    Query { query: String },
    Json { json: String },
    Xml { xml: String },
    PathRest { path_rest: bool },
}

/// One native answer.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    key: String,
    body: String,
    delay_ms: Option<u64>,
    content_type: Option<String>,
    status: Option<u16>,
}

#[derive(Clone, Debug)]
struct Route {
    name: String,
    method: Method,
    path: String,
    key: KeySource,
    content_type: String,
    encoding: &'static encoding_rs::Encoding,
    not_found: String,
    not_found_status: StatusCode,
    records: Vec<Record>,
}

/// A region's fixture routes.
#[derive(Clone, Debug)]
pub struct Fixtures {
    region: Region,
    routes: Vec<Route>,
}

impl Fixtures {
    /// Parses a fixture file.
    pub fn parse(name: &str, text: &str) -> Result<Fixtures, ProviderError> {
        let err = |message: String| ProviderError::Fixtures {
            region: name.to_owned(),
            message,
        };
        let shape: FileShape = toml::from_str(text).map_err(|e| err(e.to_string()))?;
        let mut routes = Vec::new();
        for r in shape.route {
            let method = Method::from_bytes(r.method.as_bytes())
                .map_err(|_| err(format!("route {}: bad method", r.name)))?;
            if let KeySource::PathRest { path_rest: false } = r.key {
                return Err(err(format!(
                    "route {}: `path_rest` can only be true",
                    r.name
                )));
            }
            let encoding = match &r.encoding {
                None => encoding_rs::UTF_8,
                Some(l) => encoding_rs::Encoding::for_label(l.as_bytes())
                    .ok_or_else(|| err(format!("route {}: unknown encoding {l}", r.name)))?,
            };
            let not_found_status = match r.not_found_status {
                None => StatusCode::OK,
                Some(s) => StatusCode::from_u16(s)
                    .map_err(|_| err(format!("route {}: bad not_found_status {s}", r.name)))?,
            };
            routes.push(Route {
                name: r.name,
                method,
                path: r.path,
                key: r.key,
                content_type: r.content_type,
                encoding,
                not_found: r.not_found,
                not_found_status,
                records: r.record,
            });
        }
        Ok(Fixtures {
            region: shape.region,
            routes,
        })
    }

    /// The fixtures shipped with yrdx for `region`.
    pub fn builtin(region: Region) -> Result<Fixtures, ProviderError> {
        let text = match region {
            Region::Sh => include_str!("../fixtures/sh.toml"),
            Region::Js => include_str!("../fixtures/js.toml"),
            Region::Zj => include_str!("../fixtures/zj.toml"),
            Region::Ah => include_str!("../fixtures/ah.toml"),
        };
        Fixtures::parse(&format!("fixtures/{}.toml", region.code()), text)
    }

    /// Adds the licence API every sample provider offers: `GET
    /// /licences/{licence_id}` answering `{"metadata": {..}, "ofd": "<base64>"}`
    /// (JSON, UTF-8), or HTTP 404 for an identifier it does not hold.
    pub fn with_licences(mut self, licences: &[crate::licences::Licence]) -> Fixtures {
        self.routes.push(Route {
            name: "licence".into(),
            method: Method::GET,
            path: "/licences/".into(),
            key: KeySource::PathRest { path_rest: true },
            content_type: "application/json; charset=utf-8".into(),
            encoding: encoding_rs::UTF_8,
            not_found: r#"{"error":"no such licence"}"#.into(),
            not_found_status: StatusCode::NOT_FOUND,
            records: licences
                .iter()
                .map(|l| Record {
                    key: l.id.to_owned(),
                    body: l.native_body(),
                    delay_ms: None,
                    content_type: None,
                    status: None,
                })
                .collect(),
        });
        self
    }

    /// The region these fixtures answer for.
    pub fn region(&self) -> Region {
        self.region
    }

    /// The routes, as `(method, path, name)`, for documentation and tests.
    pub fn routes(&self) -> impl Iterator<Item = (&Method, &str, &str)> {
        self.routes
            .iter()
            .map(|r| (&r.method, r.path.as_str(), r.name.as_str()))
    }
}

/// TLS settings of a sample provider.
#[derive(Clone, Debug)]
pub struct ProviderTls {
    /// Server certificate (PEM).
    pub cert: PathBuf,
    /// Server key (PEM).
    pub key: PathBuf,
    /// CA bundle client certificates must chain to (PEM).
    pub client_ca: PathBuf,
    /// When set, only a client certificate naming this member is served.
    pub allowed_client: Option<MemberId>,
    /// Whether a client without a certificate completes the handshake (a
    /// misconfigured provider, for the conformance runner's tests); a
    /// certificate, when sent, must still chain to `client_ca`.
    pub client_cert_optional: bool,
}

/// A running sample provider.
#[derive(Debug)]
pub struct RunningProvider {
    addr: SocketAddr,
    region: Region,
    requests: Arc<AtomicU64>,
    shutdown: watch::Sender<bool>,
}

impl RunningProvider {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// The region it answers for.
    pub fn region(&self) -> Region {
        self.region
    }

    /// How many HTTP requests it has answered.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Stops accepting and closes connections.
    pub fn stop(&self) {
        let _ = self.shutdown.send(true);
    }
}

impl Drop for RunningProvider {
    fn drop(&mut self) {
        self.stop();
    }
}

fn tls_err(path: &std::path::Path, message: impl std::fmt::Display) -> ProviderError {
    ProviderError::Tls {
        path: path.to_owned(),
        message: message.to_string(),
    }
}

fn server_config(tls: &ProviderTls) -> Result<rustls::ServerConfig, ProviderError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&tls.cert)
        .map_err(|e| tls_err(&tls.cert, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| tls_err(&tls.cert, e))?;
    let key = PrivateKeyDer::from_pem_file(&tls.key).map_err(|e| tls_err(&tls.key, e))?;
    let mut roots = RootCertStore::empty();
    for ca in
        CertificateDer::pem_file_iter(&tls.client_ca).map_err(|e| tls_err(&tls.client_ca, e))?
    {
        roots
            .add(ca.map_err(|e| tls_err(&tls.client_ca, e))?)
            .map_err(|e| tls_err(&tls.client_ca, e))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut verifier =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
    if tls.client_cert_optional {
        verifier = verifier.allow_unauthenticated();
    }
    let verifier = verifier.build().map_err(|e| tls_err(&tls.client_ca, e))?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_err(&tls.cert, e))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .map_err(|e| tls_err(&tls.cert, e))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// Starts a sample provider on `listen` (port 0 picks a free one).
pub async fn start(
    fixtures: Fixtures,
    tls: &ProviderTls,
    listen: SocketAddr,
) -> Result<RunningProvider, ProviderError> {
    let acceptor = TlsAcceptor::from(Arc::new(server_config(tls)?));
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|source| ProviderError::Bind {
            addr: listen,
            source,
        })?;
    let addr = listener
        .local_addr()
        .map_err(|source| ProviderError::Bind {
            addr: listen,
            source,
        })?;
    let (shutdown, mut stop) = watch::channel(false);
    let requests = Arc::new(AtomicU64::new(0));
    let state = Arc::new(fixtures.clone());
    let allowed = tls.allowed_client.clone();
    let counter = requests.clone();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(_) => continue,
                },
                _ = stop.changed() => break,
            };
            // Without it a new connection's last handshake flight waits for
            // the client's delayed ACK (about 40 ms).
            let _ = tcp.set_nodelay(true);
            let acceptor = acceptor.clone();
            let state = state.clone();
            let allowed = allowed.clone();
            let counter = counter.clone();
            let mut stop_conn = stop.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let client_ok = match &allowed {
                    None => true,
                    Some(member) => tls
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|c| c.first())
                        .is_some_and(|c| names_member(c, member)),
                };
                let service = service_fn(move |req| {
                    let state = state.clone();
                    let counter = counter.clone();
                    async move {
                        counter.fetch_add(1, Ordering::Relaxed);
                        Ok::<_, Infallible>(answer(&state, req, client_ok).await)
                    }
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
    Ok(RunningProvider {
        addr,
        region: fixtures.region,
        requests,
        shutdown,
    })
}

fn names_member(cert: &CertificateDer<'_>, member: &MemberId) -> bool {
    let Ok((_, parsed)) = x509_parser::parse_x509_certificate(cert.as_ref()) else {
        return false;
    };
    let Ok(Some(san)) = parsed.subject_alternative_name() else {
        return false;
    };
    let uri = member.to_uri();
    san.value
        .general_names
        .iter()
        .any(|n| matches!(n, x509_parser::extensions::GeneralName::URI(u) if *u == uri))
}

async fn answer(
    fixtures: &Fixtures,
    req: Request<Incoming>,
    client_ok: bool,
) -> Response<Full<Bytes>> {
    if !client_ok {
        return plain(
            StatusCode::FORBIDDEN,
            "client certificate is not the exchange gateway's",
        );
    }
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or_default().to_owned();
    let charset_gb = req
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.to_ascii_lowercase().contains("gb18030") || ct.to_ascii_lowercase().contains("gbk")
        });
    let Some(route) = fixtures.routes.iter().find(|r| {
        r.method == method
            && match r.key {
                KeySource::PathRest { .. } => path.starts_with(&r.path),
                _ => path == r.path,
            }
    }) else {
        return plain(StatusCode::NOT_FOUND, "no such API");
    };
    let body = match Limited::new(req.into_body(), 64 * 1024).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return plain(StatusCode::PAYLOAD_TOO_LARGE, "request too large"),
    };
    let body_text = if charset_gb {
        encoding_rs::GB18030
            .decode_without_bom_handling(&body)
            .0
            .into_owned()
    } else {
        String::from_utf8_lossy(&body).into_owned()
    };
    let key = match &route.key {
        KeySource::Query { query: name } => query.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            (k == name).then(|| {
                percent_encoding::percent_decode_str(v)
                    .decode_utf8_lossy()
                    .into_owned()
            })
        }),
        KeySource::Json { json } => serde_json::from_str::<serde_json::Value>(&body_text)
            .ok()
            .and_then(|v| v.pointer(json).and_then(|k| k.as_str()).map(str::to_owned)),
        KeySource::Xml { xml } => element_text(&body_text, xml),
        KeySource::PathRest { .. } => path.strip_prefix(&route.path).map(|rest| {
            percent_encoding::percent_decode_str(rest)
                .decode_utf8_lossy()
                .into_owned()
        }),
    };
    let Some(key) = key.filter(|k| !k.is_empty()) else {
        return plain(StatusCode::BAD_REQUEST, "lookup key missing");
    };
    let (status, content_type, text) = match route.records.iter().find(|r| r.key == key) {
        Some(record) => {
            if let Some(ms) = record.delay_ms {
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            (
                record
                    .status
                    .and_then(|s| StatusCode::from_u16(s).ok())
                    .unwrap_or(StatusCode::OK),
                record
                    .content_type
                    .clone()
                    .unwrap_or_else(|| route.content_type.clone()),
                record.body.clone(),
            )
        }
        None => (
            route.not_found_status,
            route.content_type.clone(),
            route.not_found.clone(),
        ),
    };
    let (bytes, _, _) = route.encoding.encode(&text);
    let mut resp = Response::new(Full::new(Bytes::from(bytes.into_owned())));
    *resp.status_mut() = status;
    if let Ok(v) = http::HeaderValue::from_str(&content_type) {
        resp.headers_mut().insert(http::header::CONTENT_TYPE, v);
    }
    resp
}

/// The text of the first element named `name` (any namespace prefix).
fn element_text(doc: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = doc.find(&open)? + open.len();
    let end = doc.get(start..)?.find("</")? + start;
    doc.get(start..end).map(|s| s.trim().to_owned())
}

fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *resp.status_mut() = status;
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_fixture_file_parses() {
        for region in Region::ALL {
            let f = Fixtures::builtin(region).unwrap();
            assert_eq!(f.region(), region);
            assert!(f.routes().count() >= 2, "{region}");
        }
    }

    #[test]
    fn element_text_finds_the_key() {
        assert_eq!(
            element_text(
                "<Request><Q><TYSHXYDM> 91 </TYSHXYDM></Q></Request>",
                "TYSHXYDM"
            )
            .as_deref(),
            Some("91")
        );
        assert_eq!(element_text("<Request/>", "TYSHXYDM"), None);
    }
}
