//! A small HTTPS client with client certificates, for tests and tools that talk
//! to a gateway as a member would: one request per connection or many on one.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, header};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use thiserror::Error;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// A request that could not be made.
#[derive(Debug, Error)]
pub enum ClientError {
    /// A certificate or key file could not be used.
    #[error("{0}")]
    Files(String),
    /// TCP connect failed.
    #[error("connect: {0}")]
    Connect(std::io::Error),
    /// The TLS handshake failed (for example, the server refused the certificate).
    #[error("TLS handshake: {0}")]
    Handshake(std::io::Error),
    /// The HTTP exchange failed.
    #[error("HTTP: {0}")]
    Http(String),
}

/// A parsed answer.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Content type.
    pub content_type: Option<String>,
    /// Body.
    pub body: Bytes,
    /// `Retry-After`, in seconds, when given.
    pub retry_after: Option<u64>,
    /// All response headers.
    pub headers: http::HeaderMap,
}

impl Answer {
    /// The body as JSON, or `Null`.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// A TLS client configuration trusting `ca_bundle`, presenting `identity`
/// (certificate and key files) when given.
pub fn tls_config(
    ca_bundle: &Path,
    identity: Option<(&Path, &Path)>,
) -> Result<Arc<rustls::ClientConfig>, ClientError> {
    let files =
        |e: &dyn std::fmt::Display, p: &Path| ClientError::Files(format!("{}: {e}", p.display()));
    let mut roots = RootCertStore::empty();
    for ca in CertificateDer::pem_file_iter(ca_bundle).map_err(|e| files(&e, ca_bundle))? {
        roots
            .add(ca.map_err(|e| files(&e, ca_bundle))?)
            .map_err(|e| files(&e, ca_bundle))?;
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| files(&e, ca_bundle))?
    .with_root_certificates(roots);
    let mut config = match identity {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
                .map_err(|e| files(&e, cert))?
                .collect::<Result<_, _>>()
                .map_err(|e| files(&e, cert))?;
            let key = PrivateKeyDer::from_pem_file(key).map_err(|e| files(&e, key))?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(|e| files(&e, cert))?
        }
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A connection to a gateway that can carry several requests (HTTP/1.1
/// keep-alive).
#[derive(Debug)]
pub struct Connection {
    sender: http1::SendRequest<Full<Bytes>>,
    authority: String,
}

impl Connection {
    /// Connects to `addr` (`host:port`) and completes the TLS handshake.
    pub async fn open(
        addr: &str,
        config: Arc<rustls::ClientConfig>,
    ) -> Result<Connection, ClientError> {
        let tcp = TcpStream::connect(addr)
            .await
            .map_err(ClientError::Connect)?;
        let _ = tcp.set_nodelay(true);
        let host = addr.rsplit_once(':').map(|(h, _)| h).unwrap_or(addr);
        let name = ServerName::try_from(host.trim_matches(['[', ']']).to_owned())
            .map_err(|e| ClientError::Files(format!("server name {host}: {e}")))?;
        let tls = TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(ClientError::Handshake)?;
        let (sender, conn) = http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| ClientError::Http(e.to_string()))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Connection {
            sender,
            authority: addr.to_owned(),
        })
    }

    /// Sends one request and reads the whole answer.
    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<Answer, ClientError> {
        let method =
            Method::from_bytes(method.as_bytes()).map_err(|e| ClientError::Http(e.to_string()))?;
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, &self.authority)
            .header(header::CONTENT_TYPE, "application/json");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req
            .body(Full::new(body))
            .map_err(|e| ClientError::Http(e.to_string()))?;
        self.sender
            .ready()
            .await
            .map_err(|e| ClientError::Http(e.to_string()))?;
        let resp = self
            .sender
            .send_request(req)
            .await
            .map_err(|e| ClientError::Http(e.to_string()))?;
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let retry_after = resp
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        let headers = resp.headers().clone();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| ClientError::Http(e.to_string()))?
            .to_bytes();
        Ok(Answer {
            status,
            content_type,
            body,
            retry_after,
            headers,
        })
    }
}

/// One request on a fresh connection.
pub async fn request(
    addr: &str,
    config: Arc<rustls::ClientConfig>,
    method: &str,
    path: &str,
    body: &serde_json::Value,
) -> Result<Answer, ClientError> {
    let mut conn = Connection::open(addr, config).await?;
    let bytes = Bytes::from(serde_json::to_vec(body).unwrap_or_default());
    conn.send(method, path, &[], bytes).await
}
