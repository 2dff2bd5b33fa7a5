//! SESeal and SES_Signature builders for v1 (GM/T 0031), v4 and v5 (GB/T 38540),
//! with switches for every producer deviation the verifier tolerates.

use time::OffsetDateTime;

use super::der_enc::{self as d, seq};
use super::pki::TestKey;
use super::tsa::Tsa;
use super::{MakerError, Result};

/// Which generation to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// GM/T 0031-2014.
    V1,
    /// GB/T 38540-2020.
    V4,
    /// GB/T 38540 with header.version 5 and a seal timestamp.
    V5,
}

/// What the seal maker signs *(interop point)*.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MakerForm {
    /// DER(SES_SealInfo).
    SealInfo,
    /// DER(SEQUENCE { esealInfo, cert, signatureAlgorithm }).
    V1Sequence,
}

/// certList contents.
#[derive(Clone, Debug)]
pub enum CertListSpec {
    /// certListType 1: the certificates.
    Certificates(Vec<Vec<u8>>),
    /// certListType 2: SM3 digests of the certificates.
    Sm3Digests(Vec<Vec<u8>>),
}

/// Everything a seal is made of.
#[derive(Clone, Debug)]
pub struct SealSpec {
    /// Generation.
    pub version: Version,
    /// esID.
    pub es_id: String,
    /// Seal name.
    pub name: String,
    /// createDate.
    pub created: OffsetDateTime,
    /// validStart.
    pub valid_start: OffsetDateTime,
    /// validEnd.
    pub valid_end: OffsetDateTime,
    /// Who may sign.
    pub cert_list: CertListSpec,
    /// What the maker signs.
    pub maker_form: MakerForm,
    /// Deviation: GeneralizedTime for the v1 property dates.
    pub v1_generalized_times: bool,
    /// Deviation: one ExtData with an explicit `critical FALSE`.
    pub explicit_critical_false: bool,
    /// v5: a timestamp over the maker's signature, at this time.
    pub seal_timestamp: Option<OffsetDateTime>,
}

/// A tiny PNG-like picture payload (the verifier does not render pictures).
const PICTURE: &[u8] = b"\x89PNG\r\n\x1a\n yrdx test seal picture";

/// Makes a DER SESeal signed by `maker` (certificate `maker_cert`).
pub fn seal(
    spec: &SealSpec,
    maker: &TestKey,
    maker_cert: &[u8],
    tsa: Option<&Tsa>,
) -> Result<Vec<u8>> {
    let header_version = match spec.version {
        Version::V1 => 1,
        Version::V4 => 4,
        Version::V5 => 5,
    };
    let header = seq(&[&d::ia5("ES"), &d::int(header_version), &d::ia5("YRDX-TEST")]);
    let time = |t: OffsetDateTime| match spec.version {
        Version::V1 if !spec.v1_generalized_times => d::utc_time(t),
        _ => d::gen_time(t),
    };
    let certs = |list: &[Vec<u8>]| {
        let items: Vec<Vec<u8>> = list.iter().map(|c| d::octets(c)).collect();
        let parts: Vec<&[u8]> = items.iter().map(Vec::as_slice).collect();
        seq(&parts)
    };
    let (list_type, list) = match &spec.cert_list {
        CertListSpec::Certificates(list) => (1, certs(list)),
        CertListSpec::Sm3Digests(list) => {
            let items: Vec<Vec<u8>> = list
                .iter()
                .map(|c| seq(&[&d::printable("sm3"), &d::octets(&yrdx_signing::sm3(c))]))
                .collect();
            let parts: Vec<&[u8]> = items.iter().map(Vec::as_slice).collect();
            (2, seq(&parts))
        }
    };
    let property = if spec.version == Version::V1 {
        let CertListSpec::Certificates(list) = &spec.cert_list else {
            return Err(MakerError::Spec("v1 seals list certificates"));
        };
        seq(&[
            &d::int(1),
            &d::utf8(&spec.name),
            &certs(list),
            &time(spec.created),
            &time(spec.valid_start),
            &time(spec.valid_end),
        ])
    } else {
        seq(&[
            &d::int(1),
            &d::utf8(&spec.name),
            &d::int(list_type),
            &list,
            &time(spec.created),
            &time(spec.valid_start),
            &time(spec.valid_end),
        ])
    };
    let picture = seq(&[
        &d::ia5("png"),
        &d::octets(PICTURE),
        &d::int(40),
        &d::int(40),
    ]);
    let mut info_parts = vec![header, d::ia5(&spec.es_id), property, picture];
    if spec.explicit_critical_false {
        let ext = seq(&[
            &d::oid("1.2.156.112.1")?,
            &d::boolean(false),
            &d::octets(b"yrdx"),
        ]);
        info_parts.push(seq(&[&ext]));
    }
    let parts: Vec<&[u8]> = info_parts.iter().map(Vec::as_slice).collect();
    let info = seq(&parts);

    let cert = d::octets(maker_cert);
    let alg = d::oid(maker.sig_alg())?;
    let signed = match spec.maker_form {
        MakerForm::SealInfo => info.clone(),
        MakerForm::V1Sequence => seq(&[&info, &cert, &alg]),
    };
    let signature = maker.sign(&signed);
    Ok(match spec.version {
        Version::V1 => seq(&[&info, &seq(&[&cert, &alg, &d::bits(&signature)])]),
        Version::V4 => seq(&[&info, &cert, &alg, &d::bits(&signature)]),
        Version::V5 => {
            let mut parts = vec![info, cert, alg, d::bits(&signature)];
            if let Some(at) = spec.seal_timestamp {
                let tsa = tsa.ok_or(MakerError::Spec("a v5 seal timestamp needs a TSA"))?;
                parts.push(d::explicit(0, &d::bits(&tsa.stamp(&signature, at)?)));
            }
            let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
            seq(&refs)
        }
    })
}

/// Everything a signature is made of.
#[derive(Clone, Debug)]
pub struct SignSpec {
    /// v1 or v4 shape (v5 seals go in the v4 shape).
    pub version: Version,
    /// timeInfo.
    pub time_info: OffsetDateTime,
    /// dataHash.
    pub data_hash: Vec<u8>,
    /// propertyInfo.
    pub property_info: String,
    /// Write the signature value as raw r‖s.
    pub raw_rs: bool,
    /// Deviation: OCTET STRING for dataHash (and, in v1, timeInfo).
    pub octet_strings: bool,
    /// Deviation: GeneralizedTime for v1 timeInfo.
    pub v1_generalized_time_info: bool,
    /// Deviation: TBS_Sign.extDatas with an explicit `critical FALSE` (v4).
    pub explicit_critical_false: bool,
    /// A timestamp at this time, over the signature value.
    pub timestamp: Option<OffsetDateTime>,
    /// Stamp these bytes instead of the signature value (a broken timestamp).
    pub timestamp_over: Option<Vec<u8>>,
}

impl SignSpec {
    /// A well-formed signature of `version` at `time_info` over data hashed
    /// to `data_hash`, named `property_info`: no deviation, no timestamp.
    pub fn plain(
        version: Version,
        time_info: OffsetDateTime,
        data_hash: Vec<u8>,
        property_info: String,
    ) -> SignSpec {
        SignSpec {
            version,
            time_info,
            data_hash,
            property_info,
            raw_rs: false,
            octet_strings: false,
            v1_generalized_time_info: false,
            explicit_critical_false: false,
            timestamp: None,
            timestamp_over: None,
        }
    }
}

/// Makes a DER SES_Signature over `seal` (DER SESeal) by `signer`.
pub fn signature(
    spec: &SignSpec,
    seal: &[u8],
    signer: &TestKey,
    signer_cert: &[u8],
    tsa: Option<&Tsa>,
) -> Result<Vec<u8>> {
    let hash = if spec.octet_strings {
        d::octets(&spec.data_hash)
    } else {
        d::bits(&spec.data_hash)
    };
    let sign = |tbs: &[u8]| {
        if spec.raw_rs {
            signer.sign_raw(tbs)
        } else {
            signer.sign(tbs)
        }
    };
    match spec.version {
        Version::V1 => {
            let text = d::gen_time_text(spec.time_info);
            let time_info = if spec.v1_generalized_time_info {
                d::gen_time(spec.time_info)
            } else if spec.octet_strings {
                d::octets(text.as_bytes())
            } else {
                d::bits(text.as_bytes())
            };
            let tbs = seq(&[
                &d::int(1),
                seal,
                &time_info,
                &hash,
                &d::ia5(&spec.property_info),
                &d::octets(signer_cert),
                &d::oid(signer.sig_alg())?,
            ]);
            Ok(seq(&[&tbs, &d::bits(&sign(&tbs))]))
        }
        Version::V4 | Version::V5 => {
            let mut tbs_parts = vec![
                d::int(4),
                seal.to_vec(),
                d::gen_time(spec.time_info),
                hash,
                d::ia5(&spec.property_info),
            ];
            if spec.explicit_critical_false {
                let ext = seq(&[
                    &d::oid("1.2.156.112.2")?,
                    &d::boolean(false),
                    &d::octets(b"yrdx"),
                ]);
                tbs_parts.push(d::explicit(0, &seq(&[&ext])));
            }
            let parts: Vec<&[u8]> = tbs_parts.iter().map(Vec::as_slice).collect();
            let tbs = seq(&parts);
            let value = sign(&tbs);
            let mut out = vec![
                tbs,
                d::octets(signer_cert),
                d::oid(signer.sig_alg())?,
                d::bits(&value),
            ];
            if let Some(at) = spec.timestamp {
                let tsa = tsa.ok_or(MakerError::Spec("a timestamp needs a TSA"))?;
                let stamped = spec.timestamp_over.as_deref().unwrap_or(&value);
                out.push(d::explicit(0, &d::bits(&tsa.stamp(stamped, at)?)));
            }
            let parts: Vec<&[u8]> = out.iter().map(Vec::as_slice).collect();
            Ok(seq(&parts))
        }
    }
}

/// Replaces the first occurrence of `from` by `to` (same length, so the DER stays
/// well-formed): how tampered vectors are made.
pub fn tamper(bytes: &[u8], from: &[u8], to: &[u8]) -> Result<Vec<u8>> {
    if from.len() != to.len() {
        return Err(MakerError::Spec("tampering must keep the length"));
    }
    let at = bytes
        .windows(from.len())
        .position(|w| w == from)
        .ok_or(MakerError::Spec("nothing to tamper with"))?;
    let mut out = bytes.to_vec();
    if let Some(slot) = out.get_mut(at..at.saturating_add(from.len())) {
        slot.copy_from_slice(to);
    }
    Ok(out)
}
