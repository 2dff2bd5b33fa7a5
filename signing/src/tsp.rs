//! RFC 3161 timestamp tokens: a CMS SignedData whose content is a TSTInfo.
//!
//! Verified here: the TSTInfo's messageImprint is the hash (SM3 or SHA-256) of the
//! stamped bytes; the signed attributes carry the content type and the hash of the
//! TSTInfo; the TSA's signature over the signed attributes; the TSA certificate's
//! chain to a TSA anchor at the stamped time, with the timeStamping usage.
//! Not verified: the ESS signing-certificate attribute (the TSA certificate is
//! matched by issuer and serial number instead), accuracy, nonce and policy.

use der::asn1::ObjectIdentifier as Oid;
use serde::Serialize;
use time::OffsetDateTime;

use crate::asn1::{Tlv, tag};
use crate::crypto::{self, HashName, SigAlg, hash_from_oid, oid};
use crate::digest::HashAlg;
use crate::error::{Asn1Error, Asn1ErrorKind, CryptoError, TspError};
use crate::x509::{CertPurpose, TrustStore, ValidatedChain, algorithm_identifier, parse_cert};

const SIGNED_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.2");
const TST_INFO: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.1.4");
const ATTR_CONTENT_TYPE: Oid = Oid::new_unwrap("1.2.840.113549.1.9.3");
const ATTR_MESSAGE_DIGEST: Oid = Oid::new_unwrap("1.2.840.113549.1.9.4");

/// A verified timestamp.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TimestampInfo {
    /// The TSA's time (TSTInfo.genTime).
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    /// The hash of the messageImprint.
    #[serde(serialize_with = "crate::report::hash_name")]
    pub imprint_hash: HashAlg,
    /// The TSA certificate's subject.
    pub tsa: String,
    /// The TSA certificate chain.
    pub chain: ValidatedChain,
}

/// The parts of a token that verification needs.
struct Token<'a> {
    tst_info: &'a [u8],
    digest_alg: Oid,
    signed_attrs: &'a [u8],
    sig_alg: Oid,
    sig_params: Option<&'a [u8]>,
    signature: &'a [u8],
    certificates: Vec<&'a [u8]>,
    sid_issuer: Option<&'a [u8]>,
    sid_serial: Option<&'a [u8]>,
}

/// Verifies `token` as a timestamp over `stamped` (for seals: the signature value).
pub(crate) fn verify_token(
    token: &[u8],
    stamped: &[u8],
    trust: &TrustStore,
    now: OffsetDateTime,
) -> Result<TimestampInfo, TspError> {
    let t = parse_token(token).map_err(TspError::Malformed)?;
    let (imprint_oid, imprint, gen_time) =
        parse_tst_info(t.tst_info).map_err(TspError::Malformed)?;
    let imprint_hash =
        hash_from_oid(&imprint_oid).ok_or(TspError::UnsupportedDigest(imprint_oid))?;
    if imprint_hash.hash(stamped).as_slice() != imprint {
        return Err(TspError::ImprintMismatch);
    }

    // Signed attributes: content type and the digest of the TSTInfo.
    let digest = hash_from_oid(&t.digest_alg).ok_or(TspError::UnsupportedDigest(t.digest_alg))?;
    let (content_type, message_digest) =
        signed_attributes(t.signed_attrs).map_err(TspError::Malformed)?;
    if content_type.ok_or(TspError::MissingAttribute("contentType"))? != TST_INFO {
        return Err(TspError::MissingAttribute("contentType"));
    }
    let message_digest = message_digest.ok_or(TspError::MissingAttribute("messageDigest"))?;
    if digest.hash(t.tst_info).as_slice() != message_digest {
        return Err(TspError::MessageDigestMismatch);
    }

    // The TSA certificate: by issuer and serial number, else the only one there.
    let tsa_cert = t
        .certificates
        .iter()
        .copied()
        .find(|der| {
            parse_cert(der, 0).is_ok_and(|c| {
                Some(c.issuer().as_raw()) == t.sid_issuer && Some(c.raw_serial()) == t.sid_serial
            })
        })
        .or(match t.certificates.as_slice() {
            [only] => Some(*only),
            _ => None,
        })
        .ok_or(TspError::NoSignerCertificate)?;
    let cert = parse_cert(tsa_cert, 0).map_err(TspError::Chain)?;

    // SignedAttributes are signed as a SET OF, not with their [0] IMPLICIT tag.
    let mut signed = t.signed_attrs.to_vec();
    if let Some(first) = signed.first_mut() {
        *first = tag::SET;
    }
    let alg = signer_alg(&t.sig_alg, t.sig_params, digest).map_err(TspError::Signature)?;
    crypto::verify(alg, cert.public_key().raw, &signed, t.signature)
        .map_err(TspError::Signature)?;

    let others: Vec<&[u8]> = t
        .certificates
        .iter()
        .copied()
        .filter(|c| *c != tsa_cert)
        .collect();
    let chain = trust
        .validate_chain(tsa_cert, &others, CertPurpose::TimeStamping, gen_time, now)
        .map_err(TspError::Chain)?;
    Ok(TimestampInfo {
        time: gen_time,
        imprint_hash,
        tsa: cert.subject().to_string(),
        chain,
    })
}

/// The genTime of a token, without verifying it (for reports on seals whose
/// timestamp is only parsed).
pub(crate) fn token_time(token: &[u8]) -> Result<OffsetDateTime, Asn1Error> {
    let t = parse_token(token)?;
    parse_tst_info(t.tst_info).map(|(_, _, time)| time)
}

/// CMS SignerInfo.signatureAlgorithm is sometimes the signature algorithm and
/// sometimes only the key algorithm, with the hash from digestAlgorithm.
fn signer_alg(
    sig_alg: &Oid,
    params: Option<&[u8]>,
    digest: HashAlg,
) -> Result<SigAlg, CryptoError> {
    match (*sig_alg, digest) {
        (oid::SM2_CURVE | oid::SM2_SIGN, HashAlg::Sm3) => Ok(SigAlg::Sm2Sm3),
        (oid::EC_PUBLIC_KEY, HashAlg::Sha256) => Ok(SigAlg::Ecdsa(HashName::Sha256)),
        (oid::RSA, HashAlg::Sha256) => Ok(SigAlg::RsaPkcs1(HashName::Sha256)),
        _ => SigAlg::from_oid(sig_alg, params),
    }
}

fn parse_token(token: &[u8]) -> Result<Token<'_>, Asn1Error> {
    const P: &str = "TimeStampToken";
    let ci = Tlv::parse_whole(token, P)?.require_tag(tag::SEQUENCE, "ContentInfo", P)?;
    let mut ci_items = ci.children(P);
    let content_type = ci_items.next("contentType", P)?.oid(P)?;
    if content_type != SIGNED_DATA {
        return Err(Asn1Error::new(
            P,
            ci.offset,
            Asn1ErrorKind::UnexpectedOid(content_type),
        ));
    }
    let explicit = ci_items
        .next("content", P)?
        .require_tag(tag::CONTEXT_0, "[0] EXPLICIT", P)?;
    let sd = Tlv::parse_first(explicit.value, explicit.value_offset(), "SignedData")?
        .0
        .require_tag(tag::SEQUENCE, "SignedData", "SignedData")?;

    const S: &str = "SignedData";
    let mut items = sd.children(S);
    items.next("version", S)?.small_int(S)?;
    items
        .next("digestAlgorithms", S)?
        .require_tag(tag::SET, "SET", S)?;
    let encap = items
        .next("encapContentInfo", S)?
        .require_tag(tag::SEQUENCE, "SEQUENCE", S)?;
    let mut encap_items = encap.children(S);
    let e_type = encap_items.next("eContentType", S)?.oid(S)?;
    if e_type != TST_INFO {
        return Err(Asn1Error::new(
            S,
            encap.offset,
            Asn1ErrorKind::UnexpectedOid(e_type),
        ));
    }
    let e_explicit =
        encap_items
            .next("eContent", S)?
            .require_tag(tag::CONTEXT_0, "[0] EXPLICIT", S)?;
    let tst_info = Tlv::parse_first(e_explicit.value, e_explicit.value_offset(), S)?
        .0
        .octets(S)?;

    let mut certificates = Vec::new();
    if let Some(certs) = items.next_if(tag::CONTEXT_0)? {
        let mut c = certs.children("SignedData.certificates");
        while let Some(cert) = c.next_opt()? {
            if cert.tag == tag::SEQUENCE {
                certificates.push(cert.raw);
            }
        }
    }
    let _crls = items.next_if(tag::CONTEXT_1)?;
    let signer_infos = items
        .next("signerInfos", S)?
        .require_tag(tag::SET, "SET", S)?;
    let si = signer_infos
        .children("SignerInfo")
        .next("SignerInfo", "SignerInfo")?
        .require_tag(tag::SEQUENCE, "SignerInfo", "SignerInfo")?;

    const I: &str = "SignerInfo";
    let mut si_items = si.children(I);
    si_items.next("version", I)?.small_int(I)?;
    let sid = si_items.next("sid", I)?;
    let (sid_issuer, sid_serial) = if sid.tag == tag::SEQUENCE {
        let mut s = sid.children(I);
        let issuer = s.next("issuer", I)?.raw;
        let serial = s
            .next("serialNumber", I)?
            .require_tag(tag::INTEGER, "INTEGER", I)?
            .value;
        (Some(issuer), Some(serial))
    } else {
        (None, None)
    };
    let digest_alg_tlv =
        si_items
            .next("digestAlgorithm", I)?
            .require_tag(tag::SEQUENCE, "SEQUENCE", I)?;
    let (digest_alg, _) = algorithm_identifier(&digest_alg_tlv)?;
    let signed_attrs = si_items
        .next_if(tag::CONTEXT_0)?
        .ok_or(Asn1Error::new(
            I,
            si.offset,
            Asn1ErrorKind::MissingElement("signedAttrs"),
        ))?
        .raw;
    let sig_alg_tlv =
        si_items
            .next("signatureAlgorithm", I)?
            .require_tag(tag::SEQUENCE, "SEQUENCE", I)?;
    let (sig_alg, sig_params) = algorithm_identifier(&sig_alg_tlv)?;
    let signature = si_items.next("signature", I)?.octets(I)?;
    Ok(Token {
        tst_info,
        digest_alg,
        signed_attrs,
        sig_alg,
        sig_params: sig_params.filter(|p| *p != [0x05, 0x00]),
        signature,
        certificates,
        sid_issuer,
        sid_serial,
    })
}

/// TSTInfo: the imprint's algorithm and value, and genTime.
fn parse_tst_info(tst: &[u8]) -> Result<(Oid, &[u8], OffsetDateTime), Asn1Error> {
    const P: &str = "TSTInfo";
    let info = Tlv::parse_whole(tst, P)?.require_tag(tag::SEQUENCE, "SEQUENCE", P)?;
    let mut items = info.children(P);
    items.next("version", P)?.small_int(P)?;
    items.next("policy", P)?.oid(P)?;
    let imprint = items
        .next("messageImprint", P)?
        .require_tag(tag::SEQUENCE, "SEQUENCE", P)?;
    let mut mi = imprint.children("TSTInfo.messageImprint");
    let alg = mi
        .next("hashAlgorithm", P)?
        .require_tag(tag::SEQUENCE, "SEQUENCE", P)?;
    let (alg_oid, _) = algorithm_identifier(&alg)?;
    let value = mi.next("hashedMessage", P)?.octets(P)?;
    items
        .next("serialNumber", P)?
        .require_tag(tag::INTEGER, "INTEGER", P)?;
    let gen_time = items
        .next("genTime", P)?
        .require_tag(tag::GENERALIZED_TIME, "GeneralizedTime", "TSTInfo.genTime")?
        .time("TSTInfo.genTime")?;
    Ok((alg_oid, value, gen_time))
}

/// The contentType and messageDigest attribute values.
fn signed_attributes(attrs: &[u8]) -> Result<(Option<Oid>, Option<&[u8]>), Asn1Error> {
    const P: &str = "SignerInfo.signedAttrs";
    let attrs = Tlv::parse_whole(attrs, P)?;
    let mut items = attrs.children(P);
    let mut content_type = None;
    let mut digest = None;
    while let Some(attr) = items.next_opt()? {
        let mut a = attr.require_tag(tag::SEQUENCE, "Attribute", P)?.children(P);
        let id = a.next("attrType", P)?.oid(P)?;
        let values = a.next("attrValues", P)?.require_tag(tag::SET, "SET", P)?;
        let first = values.children(P).next("value", P)?;
        match id {
            ATTR_CONTENT_TYPE => content_type = Some(first.oid(P)?),
            ATTR_MESSAGE_DIGEST => {
                digest = Some(first.octets(P)?);
            }
            _ => {}
        }
    }
    Ok((content_type, digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junk_is_malformed() {
        let trust = TrustStore::new();
        let err = verify_token(b"\x30\x00", b"x", &trust, OffsetDateTime::UNIX_EPOCH).unwrap_err();
        assert!(matches!(err, TspError::Malformed(_)));
    }
}
