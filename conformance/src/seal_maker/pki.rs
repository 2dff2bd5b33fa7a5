//! Test keys, certificates and CRLs for the seal PKI. SM2 certificates cannot come
//! from rcgen, so every certificate here is assembled from DER by hand and signed
//! with `sm2` or `p256`. Keys come from seeds and both algorithms sign
//! deterministically (RFC 6979), so the same seeds make the same bytes.

use p256::ecdsa::signature::Signer as _;
use time::OffsetDateTime;

use super::der_enc::{self as d, seq};
use super::{MakerError, Result};

/// SM2-with-SM3.
pub const SM2_WITH_SM3: &str = "1.2.156.10197.1.501";
/// ECDSA with SHA-256.
pub const ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";
const SM2_CURVE: &str = "1.2.156.10197.1.301";
const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const P256_CURVE: &str = "1.2.840.10045.3.1.7";

/// The key algorithms the test PKI makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyAlg {
    /// SM2 with the default signer ID.
    Sm2,
    /// ECDSA on P-256 with SHA-256.
    P256,
}

/// How an SM2 key is written in SubjectPublicKeyInfo *(interop point)*.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpkiForm {
    /// `id-ecPublicKey` with the curve as parameter (the usual form).
    EcPublicKey,
    /// The SM2 OID itself as the algorithm.
    Sm2Oid,
}

/// A signing key for tests.
#[derive(Clone, Debug)]
pub enum TestKey {
    /// SM2.
    Sm2(sm2::dsa::SigningKey),
    /// P-256.
    P256(p256::ecdsa::SigningKey),
}

impl TestKey {
    /// The key whose secret is derived from `seed` (SM3 of it, rehashed until it is
    /// a valid scalar).
    pub fn from_seed(alg: KeyAlg, seed: &str) -> Result<TestKey> {
        let mut material = yrdx_signing::sm3(seed.as_bytes());
        for _ in 0..16 {
            let key = match alg {
                KeyAlg::Sm2 => {
                    sm2::dsa::SigningKey::from_slice(yrdx_signing::SM2_DEFAULT_SIGNER_ID, &material)
                        .ok()
                        .map(TestKey::Sm2)
                }
                KeyAlg::P256 => p256::ecdsa::SigningKey::from_slice(&material)
                    .ok()
                    .map(TestKey::P256),
            };
            if let Some(key) = key {
                return Ok(key);
            }
            material = yrdx_signing::sm3(&material);
        }
        Err(MakerError::Key)
    }

    /// The key's algorithm.
    pub fn alg(&self) -> KeyAlg {
        match self {
            TestKey::Sm2(_) => KeyAlg::Sm2,
            TestKey::P256(_) => KeyAlg::P256,
        }
    }

    /// The signature algorithm OID this key signs with.
    pub fn sig_alg(&self) -> &'static str {
        match self {
            TestKey::Sm2(_) => SM2_WITH_SM3,
            TestKey::P256(_) => ECDSA_SHA256,
        }
    }

    /// The digest OID that goes with the signature algorithm.
    pub fn digest_oid(&self) -> &'static str {
        match self {
            TestKey::Sm2(_) => "1.2.156.10197.1.401",
            TestKey::P256(_) => "2.16.840.1.101.3.4.2.1",
        }
    }

    /// The digest function that goes with the signature algorithm.
    pub fn digest(&self, data: &[u8]) -> [u8; 32] {
        match self {
            TestKey::Sm2(_) => yrdx_signing::sm3(data),
            TestKey::P256(_) => yrdx_signing::sha256(data),
        }
    }

    /// Uncompressed public point.
    pub fn public_point(&self) -> Vec<u8> {
        match self {
            TestKey::Sm2(k) => k.verifying_key().to_sec1_bytes().into_vec(),
            TestKey::P256(k) => k.verifying_key().to_sec1_bytes().into_vec(),
        }
    }

    /// DER SubjectPublicKeyInfo.
    pub fn spki(&self, form: SpkiForm) -> Result<Vec<u8>> {
        let alg = match (self, form) {
            (TestKey::Sm2(_), SpkiForm::EcPublicKey) => {
                seq(&[&d::oid(EC_PUBLIC_KEY)?, &d::oid(SM2_CURVE)?])
            }
            (TestKey::Sm2(_), SpkiForm::Sm2Oid) => seq(&[&d::oid(SM2_CURVE)?]),
            (TestKey::P256(_), _) => seq(&[&d::oid(EC_PUBLIC_KEY)?, &d::oid(P256_CURVE)?]),
        };
        Ok(seq(&[&alg, &d::bits(&self.public_point())]))
    }

    /// Raw `r‖s` signature over `msg` (SM2: with the default signer ID).
    pub fn sign_raw(&self, msg: &[u8]) -> Vec<u8> {
        match self {
            TestKey::Sm2(k) => {
                let sig: sm2::dsa::Signature = k.sign(msg);
                sig.to_bytes().to_vec()
            }
            TestKey::P256(k) => {
                let sig: p256::ecdsa::Signature = k.sign(msg);
                sig.to_bytes().to_vec()
            }
        }
    }

    /// DER `SEQUENCE { r, s }` signature over `msg`.
    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        d::ecdsa_der(&self.sign_raw(msg))
    }
}

/// keyUsage bits (first octet of the named bit list).
pub mod usage {
    /// digitalSignature.
    pub const DIGITAL_SIGNATURE: u8 = 0x80;
    /// nonRepudiation.
    pub const NON_REPUDIATION: u8 = 0x40;
    /// keyCertSign.
    pub const KEY_CERT_SIGN: u8 = 0x04;
    /// cRLSign.
    pub const CRL_SIGN: u8 = 0x02;
}

/// What to put in a certificate.
#[derive(Clone, Debug)]
pub struct CertSpec {
    /// Serial number.
    pub serial: u64,
    /// Subject DN (DER Name).
    pub subject: Vec<u8>,
    /// notBefore.
    pub not_before: OffsetDateTime,
    /// notAfter.
    pub not_after: OffsetDateTime,
    /// `Some(path_len)` for a CA.
    pub ca: Option<Option<u8>>,
    /// keyUsage bits, 0 for none.
    pub key_usage: u8,
    /// extendedKeyUsage timeStamping (critical).
    pub time_stamping: bool,
    /// How the subject's SM2 key is written.
    pub spki_form: SpkiForm,
}

/// An issued certificate with what later structures need from it.
#[derive(Clone, Debug)]
pub struct Issued {
    /// The certificate, DER.
    pub der: Vec<u8>,
    /// Its subject name, DER.
    pub subject: Vec<u8>,
    /// Its issuer name, DER.
    pub issuer: Vec<u8>,
    /// Its serial number.
    pub serial: u64,
}

/// Issues a certificate for `subject_key` signed by `issuer_key` (itself for a root).
pub fn issue(
    spec: &CertSpec,
    subject_key: &TestKey,
    issuer: &[u8],
    issuer_key: &TestKey,
) -> Result<Issued> {
    let mut exts: Vec<Vec<u8>> = Vec::new();
    let ext = |id: &str, critical: bool, value: Vec<u8>| -> Result<Vec<u8>> {
        if critical {
            Ok(seq(&[&d::oid(id)?, &d::boolean(true), &d::octets(&value)]))
        } else {
            Ok(seq(&[&d::oid(id)?, &d::octets(&value)]))
        }
    };
    match spec.ca {
        Some(path_len) => {
            let mut bc = vec![d::boolean(true)];
            if let Some(n) = path_len {
                bc.push(d::int(i64::from(n)));
            }
            let parts: Vec<&[u8]> = bc.iter().map(Vec::as_slice).collect();
            exts.push(ext("2.5.29.19", true, seq(&parts))?);
        }
        None => exts.push(ext("2.5.29.19", true, seq(&[]))?),
    }
    if spec.key_usage != 0 {
        let unused = u8::try_from(spec.key_usage.trailing_zeros()).unwrap_or(0);
        exts.push(ext(
            "2.5.29.15",
            true,
            d::tlv(0x03, &[unused, spec.key_usage]),
        )?);
    }
    if spec.time_stamping {
        exts.push(ext(
            "2.5.29.37",
            true,
            seq(&[&d::oid("1.3.6.1.5.5.7.3.8")?]),
        )?);
    }
    let ext_parts: Vec<&[u8]> = exts.iter().map(Vec::as_slice).collect();
    let tbs = seq(&[
        &d::explicit(0, &d::int(2)),
        &d::uint(&spec.serial.to_be_bytes()),
        &d::alg_id(issuer_key.sig_alg())?,
        issuer,
        &seq(&[
            &d::x509_time(spec.not_before),
            &d::x509_time(spec.not_after),
        ]),
        &spec.subject,
        &subject_key.spki(spec.spki_form)?,
        &d::explicit(3, &seq(&ext_parts)),
    ]);
    let der = seq(&[
        &tbs,
        &d::alg_id(issuer_key.sig_alg())?,
        &d::bits(&issuer_key.sign(&tbs)),
    ]);
    Ok(Issued {
        der,
        subject: spec.subject.clone(),
        issuer: issuer.to_vec(),
        serial: spec.serial,
    })
}

/// Issues a CRL from `issuer` listing `(serial, revocation date)` pairs.
pub fn crl(
    issuer: &Issued,
    issuer_key: &TestKey,
    this_update: OffsetDateTime,
    next_update: OffsetDateTime,
    revoked: &[(u64, OffsetDateTime)],
) -> Result<Vec<u8>> {
    let entries: Vec<Vec<u8>> = revoked
        .iter()
        .map(|(serial, at)| seq(&[&d::uint(&serial.to_be_bytes()), &d::x509_time(*at)]))
        .collect();
    let entry_parts: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
    let mut tbs_parts: Vec<Vec<u8>> = vec![
        d::int(1),
        d::alg_id(issuer_key.sig_alg())?,
        issuer.subject.clone(),
        d::x509_time(this_update),
        d::x509_time(next_update),
    ];
    if !entries.is_empty() {
        tbs_parts.push(seq(&entry_parts));
    }
    let parts: Vec<&[u8]> = tbs_parts.iter().map(Vec::as_slice).collect();
    let tbs = seq(&parts);
    Ok(seq(&[
        &tbs,
        &d::alg_id(issuer_key.sig_alg())?,
        &d::bits(&issuer_key.sign(&tbs)),
    ]))
}
