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
use time::OffsetDateTime;
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
    per_region: BTreeMap<Region, RegionTrust>,
    /// How long a region's CRLs are still used past their nextUpdate.
    crl_grace: time::Duration,
}

/// One region's verifier and when its CRLs are due for an update.
#[derive(Debug)]
struct RegionTrust {
    verifier: Arc<dyn ClientCertVerifier>,
    /// The earliest nextUpdate among the region's CRLs; `None` when it has
    /// none or none names one.
    crl_due: Option<OffsetDateTime>,
}

/// Where a region's TLS CRLs stand against their nextUpdate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrlState {
    /// Before the earliest nextUpdate: the CRLs are current.
    Current,
    /// Past nextUpdate but within `tls.crl_grace_hours`: still used, with a
    /// warning.
    InGrace,
    /// Past the grace: the region's members' handshakes are refused.
    PastGrace,
}

impl CrlState {
    /// The metric's value: 0 current, 1 within the grace, 2 past it.
    pub fn gauge(self) -> i64 {
        match self {
            CrlState::Current => 0,
            CrlState::InGrace => 1,
            CrlState::PastGrace => 2,
        }
    }
}

/// One region's CRL status at a moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CrlStatus {
    /// The region.
    pub region: Region,
    /// The earliest nextUpdate of the region's CRLs.
    pub next_update: OffsetDateTime,
    /// When the grace after it ends.
    pub grace_ends: OffsetDateTime,
    /// Where `now` stands.
    pub state: CrlState,
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
        let now = UnixTime::now();
        self.per_region.get(&region).is_some_and(|t| {
            t.verifier
                .verify_client_cert(end_entity, intermediates, now)
                .is_ok()
                && self.stale_refusal(t, now).is_none()
        })
    }

    /// Every region with CRLs that name a nextUpdate, and where `now` stands
    /// against it.
    pub fn crl_status(&self, now: OffsetDateTime) -> Vec<CrlStatus> {
        self.per_region
            .iter()
            .filter_map(|(&region, t)| {
                let next_update = t.crl_due?;
                let grace_ends = next_update.saturating_add(self.crl_grace);
                let state = if now <= next_update {
                    CrlState::Current
                } else if now <= grace_ends {
                    CrlState::InGrace
                } else {
                    CrlState::PastGrace
                };
                Some(CrlStatus {
                    region,
                    next_update,
                    grace_ends,
                    state,
                })
            })
            .collect()
    }

    /// The refusal of a certificate the region's verifier accepted, when the
    /// region's CRLs are past their nextUpdate and the grace: revocation is
    /// then unknown, and the region's members are refused (fail closed).
    fn stale_refusal(&self, trust: &RegionTrust, now: UnixTime) -> Option<rustls::Error> {
        let due = trust.crl_due?;
        let at = i64::try_from(now.as_secs())
            .ok()
            .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())?;
        if at <= due.saturating_add(self.crl_grace) {
            return None;
        }
        let next_update = UnixTime::since_unix_epoch(std::time::Duration::from_secs(
            u64::try_from(due.unix_timestamp()).unwrap_or(0),
        ));
        Some(rustls::Error::InvalidCertificate(
            rustls::CertificateError::ExpiredRevocationListContext {
                time: now,
                next_update,
            },
        ))
    }
}

/// The earliest nextUpdate among `crls`; an unreadable CRL is an error.
fn earliest_next_update(
    path: &Path,
    crls: &[CertificateRevocationListDer<'_>],
) -> Result<Option<OffsetDateTime>, TlsError> {
    let mut due: Option<OffsetDateTime> = None;
    for der in crls {
        let (_, crl) = x509_parser::parse_x509_crl(der.as_ref())
            .map_err(|e| err(path, format!("not a CRL: {e}")))?;
        if let Some(next) = crl.next_update() {
            let next = next.to_datetime();
            due = Some(due.map_or(next, |d| d.min(next)));
        }
    }
    Ok(due)
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
        let mut crl_due: Option<OffsetDateTime> = None;
        for p in &trust.crls {
            let loaded = load_crls(p)?;
            if let Some(next) = earliest_next_update(p, &loaded)? {
                crl_due = Some(crl_due.map_or(next, |d| d.min(next)));
            }
            crls.extend(loaded);
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
        per_region.insert(region, RegionTrust { verifier, crl_due });
    }
    let first_ca = config
        .trust
        .values()
        .next()
        .map(|t| t.ca.clone())
        .unwrap_or_default();
    let Some(schemes_from) = per_region.values().next().map(|t| t.verifier.clone()) else {
        return Err(err(&first_ca, "no region's CA is configured under [trust]"));
    };
    let crl_grace = time::Duration::try_from(config.tls.crl_grace).unwrap_or(time::Duration::MAX);
    let federation = Arc::new(Federation {
        per_region,
        crl_grace,
    });
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
        for trust in self.federation.per_region.values() {
            match trust
                .verifier
                .verify_client_cert(end_entity, intermediates, now)
            {
                Ok(verified) => {
                    if let Some(stale) = self.federation.stale_refusal(trust, now) {
                        refusal = Some(stale);
                        continue;
                    }
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
        rustls::Error::InvalidCertificate(
            C::ExpiredRevocationList | C::ExpiredRevocationListContext { .. },
        ) => 5,
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
