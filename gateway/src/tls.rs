//! TLS: the exchange listener's server configuration with the trust federation
//! (one CA set and CRLs per region), and the client configuration the gateway
//! presents to providers. Everything uses rustls with the ring provider.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
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
/// chain to any region, is revoked where its region checks revocation, or may
/// not sign (its key usage lacks digitalSignature), fails the handshake.
///
/// Each region is checked exactly as configured: a region with `crls` checks
/// its members' certificates against them (a certificate of that region's CA
/// whose revocation status no CRL gives is refused); a region without checks
/// no revocation. One region's CRLs never affect another region's members.
pub fn server(config: &Config) -> Result<(Arc<rustls::ServerConfig>, Arc<Federation>), TlsError> {
    let provider = provider();
    let mut per_region = BTreeMap::new();
    let mut hints = Vec::new();
    for (&region, trust) in &config.trust {
        let mut roots = RootCertStore::empty();
        for ca in load_certs(&trust.ca)? {
            roots.add(ca).map_err(|e| err(&trust.ca, e))?;
        }
        hints.extend(roots.subjects());
        let mut crls = Vec::new();
        for p in &trust.crls {
            crls.extend(load_crls(p)?);
        }
        tracing::info!(
            region = region.code(),
            revocation = if crls.is_empty() {
                "not checked"
            } else {
                "checked"
            },
            crls = crls.len(),
            "client certificate trust"
        );
        let mut builder =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
        if !crls.is_empty() {
            // The member's own certificate is checked against its CA's CRL;
            // an intermediate CA needs no CRL of its own.
            builder = builder.with_crls(crls).only_check_end_entity_revocation();
        }
        let verifier = builder.build().map_err(|e| err(&trust.ca, e))?;
        per_region.insert(region, verifier);
    }
    let first_ca = config
        .trust
        .values()
        .next()
        .map(|t| t.ca.clone())
        .unwrap_or_default();
    let Some(schemes_from) = per_region.values().next().cloned() else {
        return Err(err(&first_ca, "no region's CA is configured under [trust]"));
    };
    let federation = Arc::new(Federation { per_region });
    let verifier = Arc::new(AnyRegion {
        federation: federation.clone(),
        hints,
        schemes_from,
    });
    let certs = load_certs(&config.tls.cert)?;
    let key = load_key(&config.tls.key)?;
    let mut server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| err(&config.tls.cert, e))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .map_err(|e| err(&config.tls.cert, e))?;
    server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok((Arc::new(server), federation))
}

/// The handshake's client verifier: a certificate is accepted when some
/// region's verifier accepts it, with that region's own revocation rule, and
/// its key may sign. Which region must vouch for which member is decided after
/// the handshake ([`Federation::vouches`]).
#[derive(Debug)]
struct AnyRegion {
    federation: Arc<Federation>,
    hints: Vec<rustls::DistinguishedName>,
    /// Signature checks of the handshake itself are the same for every region.
    schemes_from: Arc<dyn ClientCertVerifier>,
}

impl ClientCertVerifier for AnyRegion {
    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[rustls::DistinguishedName] {
        &self.hints
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let mut refusal: Option<rustls::Error> = None;
        for verifier in self.federation.per_region.values() {
            match verifier.verify_client_cert(end_entity, intermediates, now) {
                Ok(verified) => {
                    may_sign(end_entity)?;
                    return Ok(verified);
                }
                Err(e) => {
                    if refusal.as_ref().is_none_or(|r| weight(&e) > weight(r)) {
                        refusal = Some(e);
                    }
                }
            }
        }
        Err(refusal.unwrap_or(rustls::Error::InvalidCertificate(
            rustls::CertificateError::UnknownIssuer,
        )))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.schemes_from.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.schemes_from.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.schemes_from.supported_verify_schemes()
    }
}

/// Which of several regions' refusals says most about a certificate: the one
/// from the region that knows it (revoked, expired, not signing) rather than
/// "unknown issuer" from every other region.
fn weight(e: &rustls::Error) -> u8 {
    use rustls::CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(C::UnknownIssuer) => 0,
        rustls::Error::InvalidCertificate(C::BadSignature) => 1,
        rustls::Error::InvalidCertificate(C::Revoked) => 4,
        rustls::Error::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => 3,
        _ => 2,
    }
}

/// A member's certificate must be one whose key may sign: a key usage
/// extension, where there is one, must allow digitalSignature (a certificate
/// for signing certificates or CRLs only is not a client's).
fn may_sign(end_entity: &CertificateDer<'_>) -> Result<(), rustls::Error> {
    let refused = || {
        rustls::Error::InvalidCertificate(rustls::CertificateError::Other(rustls::OtherError(
            Arc::new(KeyUsageError),
        )))
    };
    let (_, cert) =
        x509_parser::parse_x509_certificate(end_entity.as_ref()).map_err(|_| refused())?;
    match cert.key_usage() {
        Ok(None) => Ok(()),
        Ok(Some(ku)) if ku.value.digital_signature() => Ok(()),
        _ => Err(refused()),
    }
}

/// Why a certificate whose key may not sign is refused.
#[derive(Debug, Error)]
#[error("the certificate's key usage does not allow digitalSignature")]
struct KeyUsageError;

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
