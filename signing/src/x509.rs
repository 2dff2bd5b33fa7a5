//! X.509 chain validation against per-region seal anchors, with CRLs.
//!
//! Certificates and CRLs are parsed with `x509-parser`; their signatures go through
//! [`crate::crypto`] so SM2 chains are checked the same way as ECDSA, RSA and Ed25519
//! ones. Two times are involved: the *relevant time* (when the document was signed)
//! decides certificate validity and whether a revocation counts, the *verification
//! time* decides whether a CRL is current. Nothing here reads the clock.
//!
//! The seal PKI is configured apart from the TLS trust federation: a [`TrustStore`]
//! holds only seal and timestamp anchors.

use std::collections::HashSet;
use std::sync::OnceLock;

use serde::{Serialize, Serializer};
use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer as _;
use x509_parser::revocation_list::CertificateRevocationList;

use crate::asn1::{Tlv, tag};
use crate::crypto::{self, SigAlg};
use crate::error::{Asn1Error, CertError, CryptoError};
use crate::ident::Region;

/// The longest chain followed, anchor included.
pub const MAX_CHAIN_LEN: usize = 6;

/// What a leaf certificate is used for, which decides the key usage it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CertPurpose {
    /// Signs seals or documents: keyUsage digitalSignature or nonRepudiation.
    Signing,
    /// Signs RFC 3161 tokens: extendedKeyUsage timeStamping.
    TimeStamping,
}

/// Seal and timestamp trust: anchors grouped by region, intermediates, CRLs and which
/// regions insist on a CRL for every issuer.
///
/// Built by the caller from its configuration (DER or PEM bytes); keeps only bytes
/// that parsed as certificates or CRLs.
#[derive(Clone, Debug, Default)]
pub struct TrustStore {
    seal_anchors: Vec<(Region, Vec<u8>)>,
    tsa_anchors: Vec<(Region, Vec<u8>)>,
    intermediates: Vec<Vec<u8>>,
    crls: Vec<Vec<u8>>,
    crl_required: Vec<Region>,
    /// Signatures between the store's own certificates and CRLs, checked once on
    /// first use: they do not depend on the document. Reset by every `add_*`.
    links: OnceLock<Links>,
}

/// SHA-256 pairs `(signed object, issuer certificate)` of store material whose
/// signature verified.
#[derive(Clone, Debug, Default)]
struct Links(HashSet<([u8; 32], [u8; 32])>);

impl TrustStore {
    /// An empty store: nothing is trusted.
    pub fn new() -> Self {
        TrustStore::default()
    }

    /// Trusts `der` as a seal anchor (a seal root CA) of `region`.
    pub fn add_seal_anchor(&mut self, region: Region, der: &[u8]) -> Result<(), CertError> {
        parse_cert(der, 0)?;
        self.seal_anchors.push((region, der.to_vec()));
        self.links = OnceLock::new();
        Ok(())
    }

    /// Trusts `der` as an anchor for timestamp authorities of `region`.
    pub fn add_tsa_anchor(&mut self, region: Region, der: &[u8]) -> Result<(), CertError> {
        parse_cert(der, 0)?;
        self.tsa_anchors.push((region, der.to_vec()));
        self.links = OnceLock::new();
        Ok(())
    }

    /// Makes `der` available as an intermediate CA (it is trusted only if it chains).
    pub fn add_intermediate(&mut self, der: &[u8]) -> Result<(), CertError> {
        parse_cert(der, 1)?;
        self.intermediates.push(der.to_vec());
        self.links = OnceLock::new();
        Ok(())
    }

    /// Adds a CRL. Its signature and currency are checked when it is used.
    pub fn add_crl(&mut self, der: &[u8]) -> Result<(), CertError> {
        parse_crl(der)?;
        self.crls.push(der.to_vec());
        self.links = OnceLock::new();
        Ok(())
    }

    /// Requires a usable CRL for every issuer in chains ending at `region`'s anchors;
    /// without one a chain is indeterminate.
    pub fn require_crls(&mut self, region: Region) {
        if !self.crl_required.contains(&region) {
            self.crl_required.push(region);
        }
    }

    /// Adds every certificate in a PEM bundle as a seal anchor of `region`; returns
    /// how many were added.
    pub fn add_seal_anchors_pem(&mut self, region: Region, pem: &[u8]) -> Result<usize, CertError> {
        let blocks = pem_blocks(pem)?;
        for der in &blocks {
            self.add_seal_anchor(region, der)?;
        }
        Ok(blocks.len())
    }

    /// Adds every certificate in a PEM bundle as a TSA anchor of `region`.
    pub fn add_tsa_anchors_pem(&mut self, region: Region, pem: &[u8]) -> Result<usize, CertError> {
        let blocks = pem_blocks(pem)?;
        for der in &blocks {
            self.add_tsa_anchor(region, der)?;
        }
        Ok(blocks.len())
    }

    /// Adds every certificate in a PEM bundle as an intermediate.
    pub fn add_intermediates_pem(&mut self, pem: &[u8]) -> Result<usize, CertError> {
        let blocks = pem_blocks(pem)?;
        for der in &blocks {
            self.add_intermediate(der)?;
        }
        Ok(blocks.len())
    }

    /// Adds every CRL in a PEM bundle (label `X509 CRL`).
    pub fn add_crls_pem(&mut self, pem: &[u8]) -> Result<usize, CertError> {
        let blocks = pem_blocks(pem)?;
        for der in &blocks {
            self.add_crl(der)?;
        }
        Ok(blocks.len())
    }

    /// A copy that trusts only `region`'s seal anchors (TSA anchors, intermediates
    /// and CRLs are kept): for verifying a licence against its issuing region.
    pub fn for_region(&self, region: Region) -> TrustStore {
        TrustStore {
            seal_anchors: self
                .seal_anchors
                .iter()
                .filter(|(r, _)| *r == region)
                .cloned()
                .collect(),
            ..self.clone()
        }
    }

    /// Validates `leaf` up to a seal anchor (or a TSA anchor for
    /// [`CertPurpose::TimeStamping`]), with `extra` certificates offered as
    /// intermediates next to the store's own.
    ///
    /// `relevant` is the time the certificate had to be valid and unrevoked at (the
    /// signing time); `now` is the verification time CRLs must be current at.
    pub fn validate_chain(
        &self,
        leaf: &[u8],
        extra: &[&[u8]],
        purpose: CertPurpose,
        relevant: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<ValidatedChain, CertError> {
        let anchors = match purpose {
            CertPurpose::Signing => &self.seal_anchors,
            CertPurpose::TimeStamping => &self.tsa_anchors,
        };
        let (path, region) = self.build_path(leaf, extra, anchors)?;
        let certs = path
            .iter()
            .enumerate()
            .map(|(depth, der)| parse_cert(der, depth))
            .collect::<Result<Vec<_>, _>>()?;

        for cert in &certs {
            check_validity(cert, relevant)?;
        }
        for (depth, issuer) in certs.iter().enumerate().skip(1) {
            check_ca(issuer, depth.saturating_sub(1))?;
        }
        if let Some(leaf) = certs.first() {
            check_leaf_usage(leaf, purpose)?;
        }

        let required = self.crl_required.contains(&region);
        let mut revocation = Vec::new();
        for pair in certs.windows(2) {
            if let [cert, issuer] = pair {
                let status = self.revocation(cert, issuer, relevant, now, required)?;
                revocation.push(RevocationNote {
                    subject: cert.subject().to_string(),
                    status,
                });
            }
        }

        let leaf_cert = certs.first();
        Ok(ValidatedChain {
            region,
            subjects: certs.iter().map(|c| c.subject().to_string()).collect(),
            leaf_serial: leaf_cert
                .map(|c| crate::digest::hex(c.raw_serial()))
                .unwrap_or_default(),
            revocation,
        })
    }

    /// Whether a certificate or CRL is signed by `issuer`, from the cache when
    /// both are store material. `der` and `issuer_der` are the objects as held
    /// (the cache's keys); `signed` is the signed object's DER as parsed.
    fn signed_by(
        &self,
        der: &[u8],
        signed: &[u8],
        issuer_der: &[u8],
        issuer: &X509Certificate<'_>,
    ) -> Result<(), CryptoError> {
        if self.links().0.contains(&(
            crate::digest::sha256(der),
            crate::digest::sha256(issuer_der),
        )) {
            return Ok(());
        }
        check_signed_by(signed, issuer)
    }

    /// Verifies, once, every signature between the store's own certificates and
    /// CRLs whose names link them.
    fn links(&self) -> &Links {
        self.links.get_or_init(|| {
            let issuers: Vec<&[u8]> = self
                .seal_anchors
                .iter()
                .chain(&self.tsa_anchors)
                .map(|(_, der)| der.as_slice())
                .chain(self.intermediates.iter().map(Vec::as_slice))
                .collect();
            let mut links = Links::default();
            for issuer_der in &issuers {
                let Ok(issuer) = parse_cert(issuer_der, 1) else {
                    continue;
                };
                let issuer_hash = crate::digest::sha256(issuer_der);
                for child_der in &self.intermediates {
                    if let Ok(child) = parse_cert(child_der, 0)
                        && child.issuer().as_raw() == issuer.subject().as_raw()
                        && check_signed_by(child.as_raw(), &issuer).is_ok()
                    {
                        links
                            .0
                            .insert((crate::digest::sha256(child_der), issuer_hash));
                    }
                }
                for crl_der in &self.crls {
                    if let Ok(crl) = parse_crl(crl_der)
                        && crl.issuer().as_raw() == issuer.subject().as_raw()
                        && check_signed_by(crl.as_raw(), &issuer).is_ok()
                    {
                        links
                            .0
                            .insert((crate::digest::sha256(crl_der), issuer_hash));
                    }
                }
            }
            links
        })
    }

    /// Finds issuers from the leaf up to an anchor; returns the path (leaf first,
    /// anchor last) and the anchor's region.
    fn build_path<'s>(
        &'s self,
        leaf: &'s [u8],
        extra: &[&'s [u8]],
        anchors: &'s [(Region, Vec<u8>)],
    ) -> Result<(Vec<&'s [u8]>, Region), CertError> {
        let mut path: Vec<&[u8]> = vec![leaf];
        loop {
            let Some(&current_der) = path.last() else {
                return Err(CertError::TooLong { max: 0 });
            };
            let current = parse_cert(current_der, path.len().saturating_sub(1))?;
            let issuer_name = current.issuer().as_raw();
            let mut refused: Option<CertError> = None;
            for (region, anchor_der) in anchors {
                let anchor = parse_cert(anchor_der, path.len())?;
                if anchor.subject().as_raw() != issuer_name {
                    continue;
                }
                match self.signed_by(current_der, current.as_raw(), anchor_der, &anchor) {
                    Ok(()) => {
                        path.push(anchor_der);
                        return Ok((path, *region));
                    }
                    Err(source) => refused = Some(bad_signature(&current, &anchor, source)),
                }
            }
            if path.len() >= MAX_CHAIN_LEN.saturating_sub(1) {
                return Err(refused.unwrap_or(CertError::TooLong { max: MAX_CHAIN_LEN }));
            }
            let pool = extra
                .iter()
                .copied()
                .chain(self.intermediates.iter().map(Vec::as_slice));
            let mut next = None;
            for candidate_der in pool {
                if path.contains(&candidate_der) {
                    continue;
                }
                let Ok(candidate) = parse_cert(candidate_der, path.len()) else {
                    continue;
                };
                if candidate.subject().as_raw() != issuer_name {
                    continue;
                }
                match self.signed_by(current_der, current.as_raw(), candidate_der, &candidate) {
                    Ok(()) => {
                        next = Some(candidate_der);
                        break;
                    }
                    Err(source) => refused = Some(bad_signature(&current, &candidate, source)),
                }
            }
            match next {
                Some(der) => path.push(der),
                None => {
                    return Err(refused.unwrap_or_else(|| CertError::UnknownIssuer {
                        subject: current.subject().to_string(),
                        issuer: current.issuer().to_string(),
                    }));
                }
            }
        }
    }

    /// The revocation status of `cert` from the CRLs of `issuer`.
    fn revocation(
        &self,
        cert: &X509Certificate<'_>,
        issuer: &X509Certificate<'_>,
        relevant: OffsetDateTime,
        now: OffsetDateTime,
        required: bool,
    ) -> Result<RevocationStatus, CertError> {
        let mut status = None;
        let mut problem = None;
        for der in &self.crls {
            let crl = parse_crl(der)?;
            if crl.issuer().as_raw() != cert.issuer().as_raw() {
                continue;
            }
            let issuer_name = issuer.subject().to_string();
            if let Err(source) = self.signed_by(der, crl.as_raw(), issuer.as_raw(), issuer) {
                problem = Some(CertError::CrlSignature {
                    issuer: issuer_name,
                    source,
                });
                continue;
            }
            if let Ok(Some(ku)) = issuer.key_usage()
                && !ku.value.crl_sign()
            {
                problem = Some(CertError::KeyUsage {
                    subject: issuer_name,
                    needed: "cRLSign",
                });
                continue;
            }
            let current = crl.last_update().to_datetime() <= now
                && crl
                    .next_update()
                    .is_none_or(|next| now <= next.to_datetime());
            if !current {
                problem = Some(CertError::CrlNotCurrent {
                    issuer: issuer_name,
                    at: now,
                });
                continue;
            }
            for entry in crl.iter_revoked_certificates() {
                if entry.raw_serial() != cert.raw_serial() {
                    continue;
                }
                let revoked_at = entry.revocation_date.to_datetime();
                if revoked_at <= relevant {
                    return Err(CertError::Revoked {
                        subject: cert.subject().to_string(),
                        serial: crate::digest::hex(cert.raw_serial()),
                        revoked_at,
                        at: relevant,
                    });
                }
                status = Some(RevocationStatus::RevokedAfter { at: revoked_at });
            }
            status.get_or_insert(RevocationStatus::Good);
        }
        match (status, problem) {
            (Some(status), _) => Ok(status),
            (None, Some(problem)) => Err(problem),
            (None, None) if required => Err(CertError::RevocationUnknown {
                subject: cert.subject().to_string(),
                issuer: issuer.subject().to_string(),
            }),
            (None, None) => Ok(RevocationStatus::NotChecked),
        }
    }
}

/// A chain that passed: where it ends and what revocation said.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ValidatedChain {
    /// The region whose anchor the chain ends at.
    #[serde(serialize_with = "region_code")]
    pub region: Region,
    /// Subjects from the leaf to the anchor.
    pub subjects: Vec<String>,
    /// The leaf's serial number, hex.
    pub leaf_serial: String,
    /// One note per non-anchor certificate, leaf first.
    pub revocation: Vec<RevocationNote>,
}

/// What the CRLs said about one certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RevocationNote {
    /// The certificate's subject.
    pub subject: String,
    /// Its status.
    pub status: RevocationStatus,
}

/// Revocation status of one certificate at the relevant time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum RevocationStatus {
    /// A current CRL from the issuer does not list it.
    Good,
    /// Listed, but revoked after the relevant time: it still counts as good.
    RevokedAfter {
        /// When it was revoked.
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    /// No CRL from the issuer and the trust configuration does not require one.
    NotChecked,
}

pub(crate) fn region_code<S: Serializer>(region: &Region, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(region.code())
}

pub(crate) fn parse_cert(der: &[u8], depth: usize) -> Result<X509Certificate<'_>, CertError> {
    X509Certificate::from_der(der)
        .map(|(_, cert)| cert)
        .map_err(|e| CertError::Malformed {
            depth,
            error: e.to_string(),
        })
}

fn parse_crl(der: &[u8]) -> Result<CertificateRevocationList<'_>, CertError> {
    CertificateRevocationList::from_der(der)
        .map(|(_, crl)| crl)
        .map_err(|e| CertError::MalformedCrl(e.to_string()))
}

pub(crate) fn pem_blocks(pem: &[u8]) -> Result<Vec<Vec<u8>>, CertError> {
    x509_parser::pem::Pem::iter_from_buffer(pem)
        .map(|block| {
            block.map(|b| b.contents).map_err(|e| CertError::Malformed {
                depth: 0,
                error: e.to_string(),
            })
        })
        .collect()
}

fn bad_signature(
    cert: &X509Certificate<'_>,
    issuer: &X509Certificate<'_>,
    source: CryptoError,
) -> CertError {
    CertError::BadSignature {
        subject: cert.subject().to_string(),
        issuer: issuer.subject().to_string(),
        source,
    }
}

/// The three parts of a signed X.509 object (certificate or CRL): the received
/// to-be-signed bytes, the algorithm and the signature value.
pub(crate) struct Signed<'a> {
    pub tbs: &'a [u8],
    pub alg: SigAlg,
    pub signature: &'a [u8],
}

pub(crate) fn signed_parts(raw: &[u8]) -> Result<Signed<'_>, CryptoError> {
    const P: &str = "signed X.509 object";
    let err = CryptoError::BadKeyInfo;
    let outer = Tlv::parse_whole(raw, P).map_err(err)?;
    let mut items = outer.children(P);
    let tbs = items.next("tbs", P).map_err(err)?;
    let alg = items
        .next("signatureAlgorithm", P)
        .and_then(|t| t.require_tag(tag::SEQUENCE, "AlgorithmIdentifier", P))
        .map_err(err)?;
    let signature = items
        .next("signature", P)
        .and_then(|t| t.require_tag(tag::BIT_STRING, "BIT STRING", P))
        .and_then(|t| t.bit_string_bytes(P))
        .map_err(err)?;
    let (oid, params) = algorithm_identifier(&alg).map_err(err)?;
    Ok(Signed {
        tbs: tbs.raw,
        alg: SigAlg::from_oid(&oid, params)?,
        signature,
    })
}

/// The OID and raw parameters of an AlgorithmIdentifier.
pub(crate) fn algorithm_identifier<'a>(
    alg: &Tlv<'a>,
) -> Result<(der::asn1::ObjectIdentifier, Option<&'a [u8]>), Asn1Error> {
    const P: &str = "AlgorithmIdentifier";
    let mut items = alg.children(P);
    let oid = items.next("algorithm", P)?.oid(P)?;
    let params = items.next_opt()?.map(|t| t.raw);
    Ok((oid, params))
}

/// Whether the signed object `signed` (a certificate or a CRL, as DER) is
/// signed by `issuer`'s key.
fn check_signed_by(signed: &[u8], issuer: &X509Certificate<'_>) -> Result<(), CryptoError> {
    let signed = signed_parts(signed)?;
    crypto::verify(
        signed.alg,
        issuer.public_key().raw,
        signed.tbs,
        signed.signature,
    )
    .map(|_| ())
}

fn check_validity(cert: &X509Certificate<'_>, at: OffsetDateTime) -> Result<(), CertError> {
    let validity = cert.validity();
    let not_before = validity.not_before.to_datetime();
    let not_after = validity.not_after.to_datetime();
    if at < not_before {
        return Err(CertError::NotYetValid {
            subject: cert.subject().to_string(),
            not_before,
            at,
        });
    }
    if at > not_after {
        return Err(CertError::Expired {
            subject: cert.subject().to_string(),
            not_after,
            at,
        });
    }
    Ok(())
}

/// An issuer must be a CA allowed to sign certificates, with room for the
/// `below` intermediate CAs under it.
fn check_ca(issuer: &X509Certificate<'_>, below: usize) -> Result<(), CertError> {
    let subject = || issuer.subject().to_string();
    let malformed = |e: x509_parser::error::X509Error| CertError::Malformed {
        depth: below.saturating_add(1),
        error: e.to_string(),
    };
    // A v1 root carries no extensions; it is trusted as configured.
    let v1_root = issuer.version() == x509_parser::x509::X509Version::V1
        && issuer.subject().as_raw() == issuer.issuer().as_raw();
    match issuer.basic_constraints().map_err(malformed)? {
        Some(bc) if bc.value.ca => {
            if let Some(max) = bc.value.path_len_constraint
                && usize::try_from(max).is_ok_and(|max| below > max)
            {
                return Err(CertError::PathLength {
                    subject: subject(),
                    max,
                });
            }
        }
        None if v1_root => {}
        _ => return Err(CertError::NotCa { subject: subject() }),
    }
    if let Some(ku) = issuer.key_usage().map_err(malformed)?
        && !ku.value.key_cert_sign()
    {
        return Err(CertError::KeyUsage {
            subject: subject(),
            needed: "keyCertSign",
        });
    }
    Ok(())
}

fn check_leaf_usage(leaf: &X509Certificate<'_>, purpose: CertPurpose) -> Result<(), CertError> {
    let malformed = |e: x509_parser::error::X509Error| CertError::Malformed {
        depth: 0,
        error: e.to_string(),
    };
    match purpose {
        CertPurpose::Signing => {
            if let Some(ku) = leaf.key_usage().map_err(malformed)?
                && !(ku.value.digital_signature() || ku.value.non_repudiation())
            {
                return Err(CertError::KeyUsage {
                    subject: leaf.subject().to_string(),
                    needed: "digitalSignature or nonRepudiation",
                });
            }
        }
        CertPurpose::TimeStamping => {
            let has = leaf
                .extended_key_usage()
                .map_err(malformed)?
                .is_some_and(|eku| eku.value.time_stamping);
            if !has {
                return Err(CertError::KeyUsage {
                    subject: leaf.subject().to_string(),
                    needed: "extendedKeyUsage timeStamping",
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_not_an_anchor() {
        let mut store = TrustStore::new();
        assert!(matches!(
            store.add_seal_anchor(Region::Zj, b"not a certificate"),
            Err(CertError::Malformed { depth: 0, .. })
        ));
        assert!(matches!(
            store.add_crl(b"\x30\x00"),
            Err(CertError::MalformedCrl(_))
        ));
    }

    #[test]
    fn a_store_can_be_shared_across_threads() {
        fn shared<T: Send + Sync>() {}
        shared::<TrustStore>();
    }

    #[test]
    fn pem_bundles_load() {
        let der = include_bytes!("../../conformance/vectors/seals/trust/zj-seal-root.der");
        let crl = include_bytes!("../../conformance/vectors/seals/trust/zj-seal-root.crl");
        let pem = |label: &str, der: &[u8]| {
            use base64::Engine as _;
            let body = base64::engine::general_purpose::STANDARD.encode(der);
            format!("-----BEGIN {label}-----\n{body}\n-----END {label}-----\n")
        };
        let bundle = format!("{}{}", pem("CERTIFICATE", der), pem("CERTIFICATE", der));
        let mut store = TrustStore::new();
        assert_eq!(
            store
                .add_seal_anchors_pem(Region::Zj, bundle.as_bytes())
                .unwrap(),
            2
        );
        assert_eq!(store.add_intermediates_pem(bundle.as_bytes()).unwrap(), 2);
        assert_eq!(
            store
                .add_tsa_anchors_pem(Region::Sh, bundle.as_bytes())
                .unwrap(),
            2
        );
        assert_eq!(
            store.add_crls_pem(pem("X509 CRL", crl).as_bytes()).unwrap(),
            1
        );
        assert!(store.add_crls_pem(bundle.as_bytes()).is_err());
    }

    #[test]
    fn an_empty_store_knows_no_issuer() {
        let store = TrustStore::new();
        let err = store
            .validate_chain(
                b"junk",
                &[],
                CertPurpose::Signing,
                OffsetDateTime::UNIX_EPOCH,
                OffsetDateTime::UNIX_EPOCH,
            )
            .unwrap_err();
        assert!(matches!(err, CertError::Malformed { depth: 0, .. }));
    }
}
