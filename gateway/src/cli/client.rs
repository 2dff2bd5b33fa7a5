//! The product's own HTTPS client, for commands that read a gateway as a
//! federation member: `yrdx audit verify --url` reads the regulator API with
//! the regulator's client certificate. GET only, on one HTTP/1.1 connection,
//! each answer read whole. rustls with ring, as the rest of the gateway.
//!
//! Error messages name the cause; the caller puts the gateway's URL in front.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, header};
use http_body_util::{BodyExt as _, Empty};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use thiserror::Error;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// Why a request could not be made.
#[derive(Debug, Error)]
pub enum ClientError {
    /// A certificate, key or CA file could not be used (the message names it).
    #[error("{0}")]
    Files(String),
    /// The address has no usable host name for TLS.
    #[error("server name {host}: {reason}")]
    ServerName {
        /// The host part of the address.
        host: String,
        /// Why it is not a server name.
        reason: String,
    },
    /// The TCP connection could not be made.
    #[error("connect: {0}")]
    Connect(#[source] std::io::Error),
    /// The TLS handshake failed (for example, the gateway refused the
    /// certificate, or its own does not chain to the CA bundle).
    #[error("TLS handshake: {0}")]
    Handshake(#[source] std::io::Error),
    /// The HTTP exchange failed.
    #[error("HTTP: {0}")]
    Http(String),
}

/// A gateway's answer: its status and whole body.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The body.
    pub body: Bytes,
}

impl Answer {
    /// The `code` of a problem-details body, if the body is one.
    pub fn problem_code(&self) -> Option<String> {
        let v: serde_json::Value = serde_json::from_slice(&self.body).ok()?;
        v.get("code")?.as_str().map(str::to_owned)
    }
}

/// A TLS client configuration that trusts the CA certificates in `ca_bundle`
/// and presents the certificate chain in `cert` with the private key in `key`
/// (all PEM).
pub fn tls_config(
    ca_bundle: &Path,
    cert: &Path,
    key: &Path,
) -> Result<Arc<ClientConfig>, ClientError> {
    fn unusable(path: &Path, e: impl std::fmt::Display) -> ClientError {
        ClientError::Files(format!("{}: {e}", path.display()))
    }
    let mut roots = RootCertStore::empty();
    let cas = CertificateDer::pem_file_iter(ca_bundle).map_err(|e| unusable(ca_bundle, e))?;
    for ca in cas {
        let ca = ca.map_err(|e| unusable(ca_bundle, e))?;
        roots.add(ca).map_err(|e| unusable(ca_bundle, e))?;
    }
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|e| unusable(cert, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| unusable(cert, e))?;
    let private_key = PrivateKeyDer::from_pem_file(key).map_err(|e| unusable(key, e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| unusable(ca_bundle, e))?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, private_key)
        .map_err(|e| unusable(cert, e))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// One HTTP/1.1 connection to a gateway, carrying requests one after another.
#[derive(Debug)]
pub struct Connection {
    sender: http1::SendRequest<Empty<Bytes>>,
    /// `host:port`, sent as the Host header.
    authority: String,
}

impl Connection {
    /// Connects to `addr` (`host:port`, the host also the name the gateway's
    /// certificate must carry) and completes the TLS handshake.
    pub async fn open(addr: &str, config: Arc<ClientConfig>) -> Result<Connection, ClientError> {
        let tcp = TcpStream::connect(addr)
            .await
            .map_err(ClientError::Connect)?;
        let _ = tcp.set_nodelay(true);
        let host = addr.rsplit_once(':').map_or(addr, |(host, _)| host);
        let name = ServerName::try_from(host.trim_matches(['[', ']']).to_owned()).map_err(|e| {
            ClientError::ServerName {
                host: host.to_owned(),
                reason: e.to_string(),
            }
        })?;
        let tls = TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(ClientError::Handshake)?;
        let (sender, driver) = http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| ClientError::Http(e.to_string()))?;
        // The connection's I/O runs beside the requests; it ends when the
        // sender is dropped or the gateway closes.
        tokio::spawn(async move {
            let _ = driver.await;
        });
        Ok(Connection {
            sender,
            authority: addr.to_owned(),
        })
    }

    /// GETs `path` (with its query) and reads the whole answer.
    pub async fn get(&mut self, path: &str) -> Result<Answer, ClientError> {
        let http = |e: &dyn std::fmt::Display| ClientError::Http(e.to_string());
        let request = Request::builder()
            .method(Method::GET)
            .uri(path)
            .header(header::HOST, &self.authority)
            .body(Empty::new())
            .map_err(|e| http(&e))?;
        self.sender.ready().await.map_err(|e| http(&e))?;
        let response = self
            .sender
            .send_request(request)
            .await
            .map_err(|e| http(&e))?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| http(&e))?
            .to_bytes();
        Ok(Answer { status, body })
    }
}
