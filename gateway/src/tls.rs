//! TLS: the exchange listener's server configuration with the trust federation
//! (one CA set and CRLs per region), and the client configuration the gateway
//! presents to providers. Everything uses rustls with the ring provider.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::ClientCertVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer, UnixTime};
use thiserror::Error;
use yrdx_signing::Region;

use crate::config::Config;

/// A TLS file that cannot be used.
#[derive(Debug, Error)]
#[error("{path}: {message}")]
pub struct TlsError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong with it.
    pub message: String,
}

fn err(path: &Path, message: impl std::fmt::Display) -> TlsError {
    TlsError {
        path: path.to_owned(),
        message: message.to_string(),
    }
}

/// The crypto provider for everything: ring.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Certificates from a PEM file; at least one.
pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .map_err(|e| err(path, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| err(path, e))?;
    if certs.is_empty() {
        return Err(err(path, "no PEM certificate in the file"));
    }
    Ok(certs)
}

/// A private key from a PEM file.
pub fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path)
        .map_err(|e| err(path, format!("no usable PEM private key: {e}")))
}

/// CRLs from a PEM file, or one DER CRL.
pub fn load_crls(path: &Path) -> Result<Vec<CertificateRevocationListDer<'static>>, TlsError> {
    let bytes = std::fs::read(path).map_err(|e| err(path, e))?;
    if bytes.starts_with(b"-----") {
        CertificateRevocationListDer::pem_slice_iter(&bytes)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| err(path, e))
    } else {
        Ok(vec![CertificateRevocationListDer::from(bytes)])
    }
}

/// The trust federation: which CAs vouch for which region's members.
#[derive(Debug)]
pub struct Federation {
    per_region: BTreeMap<Region, Arc<dyn ClientCertVerifier>>,
}

impl Federation {
    /// Whether the certificate chains to `region`'s CAs (and is not revoked
    /// there). The handshake already proved it chains to *some* region; this is
    /// how "a region's CA may only vouch for that region's members" is enforced.
    pub fn vouches(
        &self,
        region: Region,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
    ) -> bool {
        self.per_region.get(&region).is_some_and(|v| {
            v.verify_client_cert(end_entity, intermediates, UnixTime::now())
                .is_ok()
        })
    }
}

/// Builds the exchange listener's TLS configuration and the federation.
///
/// A TLS client without a certificate completes the handshake, so that it gets
/// an HTTP `no_client_certificate` problem it can read instead of a bare alert;
/// no API serves anything without one. A client with a certificate that does not
/// chain to any region, or is revoked, fails the handshake.
pub fn server(config: &Config) -> Result<(Arc<rustls::ServerConfig>, Arc<Federation>), TlsError> {
    let provider = provider();
    let mut all_roots = RootCertStore::empty();
    let mut all_crls = Vec::new();
    let mut per_region = BTreeMap::new();
    for (&region, trust) in &config.trust {
        let mut roots = RootCertStore::empty();
        for ca in load_certs(&trust.ca)? {
            roots.add(ca.clone()).map_err(|e| err(&trust.ca, e))?;
            all_roots.add(ca).map_err(|e| err(&trust.ca, e))?;
        }
        let mut crls = Vec::new();
        for p in &trust.crls {
            crls.extend(load_crls(p)?);
        }
        all_crls.extend(crls.iter().cloned());
        let verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .with_crls(crls)
                .build()
                .map_err(|e| err(&trust.ca, e))?;
        per_region.insert(region, verifier);
    }
    let first_ca = config
        .trust
        .values()
        .next()
        .map(|t| t.ca.clone())
        .unwrap_or_default();
    let verifier =
        WebPkiClientVerifier::builder_with_provider(Arc::new(all_roots), provider.clone())
            .with_crls(all_crls)
            .allow_unauthenticated()
            .build()
            .map_err(|e| err(&first_ca, e))?;
    let certs = load_certs(&config.tls.cert)?;
    let key = load_key(&config.tls.key)?;
    let mut server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| err(&config.tls.cert, e))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .map_err(|e| err(&config.tls.cert, e))?;
    server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok((Arc::new(server), Arc::new(Federation { per_region })))
}

/// The client configuration towards providers: their server certificates must
/// chain to `upstream.ca`; the gateway presents `upstream.cert`.
pub fn upstream(config: &Config) -> Result<rustls::ClientConfig, TlsError> {
    let u = &config.upstream;
    let mut roots = RootCertStore::empty();
    for ca in load_certs(&u.ca)? {
        roots.add(ca).map_err(|e| err(&u.ca, e))?;
    }
    let certs = load_certs(&u.cert)?;
    let key = load_key(&u.key)?;
    let mut client = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| err(&u.cert, e))?
        .with_root_certificates(roots)
        .with_client_auth_cert(certs, key)
        .map_err(|e| err(&u.cert, e))?;
    // ALPN is set by the HTTPS connector from the protocols it enables.
    client.alpn_protocols.clear();
    Ok(client)
}
