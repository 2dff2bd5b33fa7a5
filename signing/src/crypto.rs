//! Signature verification for every algorithm seals, certificates, CRLs and timestamp
//! tokens use: SM2-with-SM3 through RustCrypto `sm2`, everything else through `ring`.
//!
//! Keys arrive as a DER SubjectPublicKeyInfo; both SM2 key forms seen in the field are
//! accepted (`id-ecPublicKey` with the SM2 curve as parameter, or the SM2 OID as the
//! algorithm). SM2 and ECDSA signature values may be DER `SEQUENCE { r, s }` or raw
//! `r‖s`; which one was seen is returned so reports can show it.

use der::asn1::ObjectIdentifier as Oid;
use ring::signature as rs;
use serde::Serialize;
use sm2::dsa::signature::Verifier as _;

use crate::asn1::{Tlv, tag};
use crate::digest::HashAlg;
use crate::error::CryptoError;

/// Object identifiers used across the crate.
pub(crate) mod oid {
    use der::asn1::ObjectIdentifier as Oid;

    pub const SM3: Oid = Oid::new_unwrap("1.2.156.10197.1.401");
    pub const SM2_CURVE: Oid = Oid::new_unwrap("1.2.156.10197.1.301");
    pub const SM2_SIGN: Oid = Oid::new_unwrap("1.2.156.10197.1.301.1");
    pub const SM2_WITH_SM3: Oid = Oid::new_unwrap("1.2.156.10197.1.501");
    pub const SHA256: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.1");
    pub const SHA384: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.2");
    pub const SHA512: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.3");
    pub const EC_PUBLIC_KEY: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
    pub const P256: Oid = Oid::new_unwrap("1.2.840.10045.3.1.7");
    pub const P384: Oid = Oid::new_unwrap("1.3.132.0.34");
    pub const ECDSA_SHA256: Oid = Oid::new_unwrap("1.2.840.10045.4.3.2");
    pub const ECDSA_SHA384: Oid = Oid::new_unwrap("1.2.840.10045.4.3.3");
    pub const RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");
    pub const RSA_PSS: Oid = Oid::new_unwrap("1.2.840.113549.1.1.10");
    pub const RSA_SHA256: Oid = Oid::new_unwrap("1.2.840.113549.1.1.11");
    pub const RSA_SHA384: Oid = Oid::new_unwrap("1.2.840.113549.1.1.12");
    pub const RSA_SHA512: Oid = Oid::new_unwrap("1.2.840.113549.1.1.13");
    pub const ED25519: Oid = Oid::new_unwrap("1.3.101.112");
}

/// The signer ID SM2 signatures are made with unless agreed otherwise (GM/T 0009).
pub const SM2_DEFAULT_SIGNER_ID: &str = "1234567812345678";

/// How a signature value was encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureEncoding {
    /// DER `SEQUENCE { r INTEGER, s INTEGER }` (ECDSA, SM2).
    Der,
    /// Raw fixed-width `r‖s` (64 bytes for SM2 and P-256) — a producer deviation.
    RawRs,
    /// The algorithm has a single encoding (RSA, Ed25519).
    Native,
}

/// A signature algorithm this crate verifies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SigAlg {
    Sm2Sm3,
    Ecdsa(HashName),
    RsaPkcs1(HashName),
    RsaPss(HashName),
    Ed25519,
}

/// The hash inside a signature algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HashName {
    Sha256,
    Sha384,
    Sha512,
}

impl SigAlg {
    /// Name for reports.
    pub fn name(self) -> &'static str {
        match self {
            SigAlg::Sm2Sm3 => "sm2-with-sm3",
            SigAlg::Ecdsa(HashName::Sha256) => "ecdsa-with-sha256",
            SigAlg::Ecdsa(HashName::Sha384) => "ecdsa-with-sha384",
            SigAlg::Ecdsa(HashName::Sha512) => "ecdsa-with-sha512",
            SigAlg::RsaPkcs1(HashName::Sha256) => "sha256-with-rsa",
            SigAlg::RsaPkcs1(HashName::Sha384) => "sha384-with-rsa",
            SigAlg::RsaPkcs1(HashName::Sha512) => "sha512-with-rsa",
            SigAlg::RsaPss(_) => "rsassa-pss",
            SigAlg::Ed25519 => "ed25519",
        }
    }

    /// The hash a seal's dataHash uses with this algorithm: SM3 with SM2, SHA-256
    /// otherwise (the only other family seals are made with is ECDSA-with-SHA256).
    pub fn document_hash(self) -> HashAlg {
        match self {
            SigAlg::Sm2Sm3 => HashAlg::Sm3,
            _ => HashAlg::Sha256,
        }
    }

    /// The algorithm named by an AlgorithmIdentifier's OID (and, for RSA-PSS, its
    /// parameters' DER contents).
    pub fn from_oid(alg: &Oid, params: Option<&[u8]>) -> Result<SigAlg, CryptoError> {
        let found = match *alg {
            oid::SM2_WITH_SM3 => SigAlg::Sm2Sm3,
            oid::ECDSA_SHA256 => SigAlg::Ecdsa(HashName::Sha256),
            oid::ECDSA_SHA384 => SigAlg::Ecdsa(HashName::Sha384),
            oid::RSA_SHA256 => SigAlg::RsaPkcs1(HashName::Sha256),
            oid::RSA_SHA384 => SigAlg::RsaPkcs1(HashName::Sha384),
            oid::RSA_SHA512 => SigAlg::RsaPkcs1(HashName::Sha512),
            oid::ED25519 => SigAlg::Ed25519,
            oid::RSA_PSS => {
                SigAlg::RsaPss(pss_hash(params).ok_or(CryptoError::UnsupportedAlgorithm(*alg))?)
            }
            _ => return Err(CryptoError::UnsupportedAlgorithm(*alg)),
        };
        Ok(found)
    }
}

/// The hash of RSASSA-PSS-params, when it is one ring verifies (MGF1 with the same
/// hash and a salt as long as the hash are what ring assumes).
fn pss_hash(params: Option<&[u8]>) -> Option<HashName> {
    let params = Tlv::parse_whole(params?, "RSASSA-PSS-params").ok()?;
    let mut items = params.children("RSASSA-PSS-params");
    let hash = items.next_if(tag::CONTEXT_0).ok()??;
    let alg = Tlv::parse_whole(hash.value, "hashAlgorithm").ok()?;
    let alg_oid = alg
        .children("hashAlgorithm")
        .next_opt()
        .ok()??
        .oid("hashAlgorithm")
        .ok()?;
    match alg_oid {
        oid::SHA256 => Some(HashName::Sha256),
        oid::SHA384 => Some(HashName::Sha384),
        oid::SHA512 => Some(HashName::Sha512),
        _ => None,
    }
}

/// A public key as the verifier needs it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum PublicKey<'a> {
    Sm2(&'a [u8]),
    P256(&'a [u8]),
    P384(&'a [u8]),
    Rsa(&'a [u8]),
    Ed25519(&'a [u8]),
}

impl PublicKey<'_> {
    fn kind(self) -> &'static str {
        match self {
            PublicKey::Sm2(_) => "SM2",
            PublicKey::P256(_) => "P-256",
            PublicKey::P384(_) => "P-384",
            PublicKey::Rsa(_) => "RSA",
            PublicKey::Ed25519(_) => "Ed25519",
        }
    }
}

/// Reads a DER SubjectPublicKeyInfo.
pub(crate) fn public_key(spki: &[u8]) -> Result<PublicKey<'_>, CryptoError> {
    const P: &str = "SubjectPublicKeyInfo";
    let outer = Tlv::parse_whole(spki, P)
        .and_then(|t| t.require_tag(tag::SEQUENCE, "SEQUENCE", P))
        .map_err(CryptoError::BadKeyInfo)?;
    let mut items = outer.children(P);
    let alg = items
        .next("algorithm", P)
        .and_then(|t| t.require_tag(tag::SEQUENCE, "AlgorithmIdentifier", P))
        .map_err(CryptoError::BadKeyInfo)?;
    let key = items
        .next("subjectPublicKey", P)
        .and_then(|t| t.require_tag(tag::BIT_STRING, "BIT STRING", P))
        .and_then(|t| t.bit_string_bytes(P))
        .map_err(CryptoError::BadKeyInfo)?;
    let mut alg_items = alg.children(P);
    let alg_oid = alg_items
        .next("algorithm", P)
        .and_then(|t| t.oid(P))
        .map_err(CryptoError::BadKeyInfo)?;
    let param = alg_items.next_opt().map_err(CryptoError::BadKeyInfo)?;
    let param_oid = param
        .filter(|p| p.tag == tag::OID)
        .and_then(|p| p.oid(P).ok());
    match (alg_oid, param_oid) {
        (oid::EC_PUBLIC_KEY, Some(oid::SM2_CURVE)) | (oid::SM2_CURVE, _) => Ok(PublicKey::Sm2(key)),
        (oid::EC_PUBLIC_KEY, Some(oid::P256)) => Ok(PublicKey::P256(key)),
        (oid::EC_PUBLIC_KEY, Some(oid::P384)) => Ok(PublicKey::P384(key)),
        (oid::RSA, _) | (oid::RSA_PSS, _) => Ok(PublicKey::Rsa(key)),
        (oid::ED25519, _) => Ok(PublicKey::Ed25519(key)),
        (_, Some(curve)) if alg_oid == oid::EC_PUBLIC_KEY => {
            Err(CryptoError::UnsupportedKey(curve))
        }
        (algorithm, _) => Err(CryptoError::UnsupportedKey(algorithm)),
    }
}

/// Verifies `signature` over `message` with the key in `spki`.
pub(crate) fn verify(
    alg: SigAlg,
    spki: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<SignatureEncoding, CryptoError> {
    let key = public_key(spki)?;
    let mismatch = || CryptoError::KeyMismatch {
        algorithm: alg.name(),
        key: key.kind(),
    };
    match (alg, key) {
        (SigAlg::Sm2Sm3, PublicKey::Sm2(point)) => verify_sm2(point, message, signature),
        (SigAlg::Ecdsa(hash), PublicKey::P256(point)) => {
            // ring has fixed-width (raw r‖s) variants only for the curve's own hash.
            let (der_alg, fixed): (
                &dyn rs::VerificationAlgorithm,
                Option<&dyn rs::VerificationAlgorithm>,
            ) = match hash {
                HashName::Sha256 => (
                    &rs::ECDSA_P256_SHA256_ASN1,
                    Some(&rs::ECDSA_P256_SHA256_FIXED),
                ),
                HashName::Sha384 => (&rs::ECDSA_P256_SHA384_ASN1, None),
                HashName::Sha512 => return Err(mismatch()),
            };
            verify_ecdsa(der_alg, fixed, 64, point, message, signature)
        }
        (SigAlg::Ecdsa(hash), PublicKey::P384(point)) => {
            let (der_alg, fixed): (
                &dyn rs::VerificationAlgorithm,
                Option<&dyn rs::VerificationAlgorithm>,
            ) = match hash {
                HashName::Sha256 => (&rs::ECDSA_P384_SHA256_ASN1, None),
                HashName::Sha384 => (
                    &rs::ECDSA_P384_SHA384_ASN1,
                    Some(&rs::ECDSA_P384_SHA384_FIXED),
                ),
                HashName::Sha512 => return Err(mismatch()),
            };
            verify_ecdsa(der_alg, fixed, 96, point, message, signature)
        }
        (SigAlg::RsaPkcs1(hash), PublicKey::Rsa(key)) => {
            let alg: &dyn rs::VerificationAlgorithm = match hash {
                HashName::Sha256 => &rs::RSA_PKCS1_2048_8192_SHA256,
                HashName::Sha384 => &rs::RSA_PKCS1_2048_8192_SHA384,
                HashName::Sha512 => &rs::RSA_PKCS1_2048_8192_SHA512,
            };
            ring_verify(alg, key, message, signature)
        }
        (SigAlg::RsaPss(hash), PublicKey::Rsa(key)) => {
            let alg: &dyn rs::VerificationAlgorithm = match hash {
                HashName::Sha256 => &rs::RSA_PSS_2048_8192_SHA256,
                HashName::Sha384 => &rs::RSA_PSS_2048_8192_SHA384,
                HashName::Sha512 => &rs::RSA_PSS_2048_8192_SHA512,
            };
            ring_verify(alg, key, message, signature)
        }
        (SigAlg::Ed25519, PublicKey::Ed25519(key)) => {
            ring_verify(&rs::ED25519, key, message, signature)
        }
        _ => Err(mismatch()),
    }
}

fn ring_verify(
    alg: &'static dyn rs::VerificationAlgorithm,
    key: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<SignatureEncoding, CryptoError> {
    rs::UnparsedPublicKey::new(alg, key)
        .verify(message, signature)
        .map(|()| SignatureEncoding::Native)
        .map_err(|_| CryptoError::Mismatch)
}

fn verify_ecdsa(
    der_alg: &'static dyn rs::VerificationAlgorithm,
    fixed_alg: Option<&'static dyn rs::VerificationAlgorithm>,
    fixed_len: usize,
    point: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<SignatureEncoding, CryptoError> {
    let check = |alg: Option<&'static dyn rs::VerificationAlgorithm>| {
        alg.is_some_and(|alg| {
            rs::UnparsedPublicKey::new(alg, point)
                .verify(message, signature)
                .is_ok()
        })
    };
    match classify(signature, fixed_len)? {
        SignatureEncoding::RawRs if check(fixed_alg) => Ok(SignatureEncoding::RawRs),
        SignatureEncoding::RawRs => Err(CryptoError::Mismatch),
        _ if check(Some(der_alg)) => Ok(SignatureEncoding::Der),
        // A raw value that happened to look like DER.
        _ if signature.len() == fixed_len && check(fixed_alg) => Ok(SignatureEncoding::RawRs),
        _ => Err(CryptoError::Mismatch),
    }
}

/// DER if it parses as one SEQUENCE filling the value, raw r‖s if it has exactly the
/// fixed width; anything else is refused. (A raw value starting with 0x30 whose
/// length octet happens to fit is read as DER first; it then fails to verify, so
/// the fixed form is tried too.)
fn classify(signature: &[u8], fixed_len: usize) -> Result<SignatureEncoding, CryptoError> {
    let is_der = Tlv::parse_whole(signature, "signature").is_ok_and(|t| {
        t.tag == tag::SEQUENCE && t.count_children("signature").is_ok_and(|n| n == 2)
    });
    if is_der {
        Ok(SignatureEncoding::Der)
    } else if signature.len() == fixed_len {
        Ok(SignatureEncoding::RawRs)
    } else {
        Err(CryptoError::BadSignatureEncoding {
            len: signature.len(),
        })
    }
}

fn verify_sm2(
    point: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<SignatureEncoding, CryptoError> {
    let key = sm2::dsa::VerifyingKey::from_sec1_bytes(SM2_DEFAULT_SIGNER_ID, point)
        .map_err(|_| CryptoError::BadPublicKey)?;
    let check = |sig: &sm2::dsa::Signature| key.verify(message, sig).is_ok();
    match classify(signature, 64)? {
        SignatureEncoding::RawRs => {
            let sig = sm2::dsa::Signature::from_slice(signature)
                .map_err(|_| CryptoError::BadSignatureEncoding { len: 64 })?;
            if check(&sig) {
                Ok(SignatureEncoding::RawRs)
            } else {
                Err(CryptoError::Mismatch)
            }
        }
        _ => {
            let sig = sm2::dsa::Signature::from_der(signature).map_err(|_| {
                CryptoError::BadSignatureEncoding {
                    len: signature.len(),
                }
            })?;
            if check(&sig) {
                return Ok(SignatureEncoding::Der);
            }
            // A raw value that happened to look like DER.
            if signature.len() == 64
                && sm2::dsa::Signature::from_slice(signature).is_ok_and(|raw| check(&raw))
            {
                return Ok(SignatureEncoding::RawRs);
            }
            Err(CryptoError::Mismatch)
        }
    }
}

/// The hash named by a digest AlgorithmIdentifier OID, when it is one seals use.
pub(crate) fn hash_from_oid(alg: &Oid) -> Option<HashAlg> {
    match *alg {
        oid::SM3 => Some(HashAlg::Sm3),
        oid::SHA256 => Some(HashAlg::Sha256),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_algorithm_is_named() {
        let md5rsa = Oid::new_unwrap("1.2.840.113549.1.1.4");
        assert_eq!(
            SigAlg::from_oid(&md5rsa, None),
            Err(CryptoError::UnsupportedAlgorithm(md5rsa))
        );
    }

    #[test]
    fn signature_encodings_are_classified() {
        assert_eq!(classify(&[0u8; 64], 64), Ok(SignatureEncoding::RawRs));
        let der = [0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01];
        assert_eq!(classify(&der, 64), Ok(SignatureEncoding::Der));
        assert_eq!(
            classify(&[0u8; 10], 64),
            Err(CryptoError::BadSignatureEncoding { len: 10 })
        );
    }

    #[test]
    fn garbage_key_info_is_an_error() {
        assert!(matches!(
            public_key(b"\x30\x00"),
            Err(CryptoError::BadKeyInfo(_))
        ));
    }
}
