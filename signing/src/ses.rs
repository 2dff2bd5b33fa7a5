//! Parsing of electronic seals (SESeal) and electronic signatures (SES_Signature):
//! GM/T 0031-2014 ("v1"), GB/T 38540-2020 ("v4") and the later revision whose SESeal
//! carries a timestamp as a fifth element ("v5").
//!
//! The version is detected by shape first (v1 structures have two elements where v4
//! has four or five), then checked against `header.version`. Every structure keeps
//! the bytes it was received as, since signatures cover those bytes. Deviations that
//! real producers are known to write are accepted and listed in
//! [`Deviation`]s; anything else that does not fit the ASN.1 is an [`Asn1Error`] with
//! its path and byte offset. Parsing only borrows the input; the only allocations
//! are small vectors bounded by the input length.

use der::asn1::ObjectIdentifier as Oid;
use serde::Serialize;
use time::OffsetDateTime;

use crate::asn1::{Children, Tlv, tag};
use crate::error::{Asn1Error, Asn1ErrorKind};

/// The largest seal or signature accepted, in bytes. Real ones are tens of
/// kilobytes (mostly the picture); this keeps hostile input cheap to refuse.
pub const MAX_SES_LEN: usize = 16 * 1024 * 1024;

/// Which generation of the seal standards a structure follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SealVersion {
    /// GM/T 0031-2014.
    V1,
    /// GB/T 38540-2020.
    V4,
    /// GB/T 38540 with `header.version` 5 and an optional timestamp in SESeal.
    V5,
}

impl SealVersion {
    /// `v1`, `v4` or `v5`.
    pub fn name(self) -> &'static str {
        match self {
            SealVersion::V1 => "v1",
            SealVersion::V4 => "v4",
            SealVersion::V5 => "v5",
        }
    }
}

/// A producer deviation from the standard that is tolerated, and reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Deviation {
    /// An OCTET STRING where the standard says BIT STRING.
    OctetStringForBitString {
        /// The field, e.g. `TBS_Sign.dataHash`.
        field: &'static str,
    },
    /// A GeneralizedTime in a v1 structure, where GM/T 0031 says UTCTime (or, for
    /// timeInfo, a BIT STRING holding the time).
    GeneralizedTimeInV1 {
        /// The field.
        field: &'static str,
    },
    /// An ExtData with `critical` encoded explicitly as FALSE (DER omits defaults).
    ExplicitCriticalFalse {
        /// The ExtensionDatas the entry is in.
        field: &'static str,
        /// 0-based index of the entry.
        index: usize,
    },
}

impl Deviation {
    /// A stable short code for the deviation.
    pub fn code(&self) -> &'static str {
        match self {
            Deviation::OctetStringForBitString { .. } => "octet_string_for_bit_string",
            Deviation::GeneralizedTimeInV1 { .. } => "generalized_time_in_v1",
            Deviation::ExplicitCriticalFalse { .. } => "explicit_critical_false",
        }
    }
}

/// A parsed electronic seal (SESeal), borrowing the input.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Seal<'a> {
    /// Version by shape and header.
    pub version: SealVersion,
    /// The whole SESeal as received.
    pub raw: &'a [u8],
    /// The seal information the maker signed.
    pub info: SealInfo<'a>,
    /// The seal maker's certificate (DER).
    pub maker_cert: &'a [u8],
    /// The maker's signature algorithm.
    pub maker_alg: Oid,
    /// The maker's signature value.
    pub maker_signature: &'a [u8],
    /// v5: the seal's own timestamp token (DER CMS), if any.
    pub timestamp: Option<&'a [u8]>,
    /// Deviations seen in the seal.
    pub deviations: Vec<Deviation>,
    /// The received TLVs of the maker certificate and algorithm, for the v1-style
    /// signed form SEQUENCE { info, cert, alg }.
    pub(crate) maker_cert_tlv: &'a [u8],
    pub(crate) maker_alg_tlv: &'a [u8],
}

/// SES_SealInfo: header, identifier, properties, picture.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SealInfo<'a> {
    /// SES_SealInfo as received: what the maker signed.
    pub raw: &'a [u8],
    /// `header.version`.
    pub header_version: i64,
    /// `header.vid`, the producer's identifier.
    pub vid: &'a str,
    /// `esID`, the seal's identifier.
    pub es_id: &'a str,
    /// `property.type`: 1 organisation seal, 2 personal seal (others are seen).
    pub seal_type: i64,
    /// `property.name`, the seal's name.
    pub name: &'a str,
    /// `property.certList`: who may sign with this seal.
    pub cert_list: CertList<'a>,
    /// `property.createDate`.
    pub created: OffsetDateTime,
    /// `property.validStart`.
    pub valid_start: OffsetDateTime,
    /// `property.validEnd`.
    pub valid_end: OffsetDateTime,
    /// The seal's picture.
    pub picture: Picture<'a>,
    /// Number of ExtData entries.
    pub ext_count: usize,
}

/// `certList`: the certificates allowed to sign with the seal, or their digests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CertList<'a> {
    /// certListType 1 (and v1): DER certificates.
    Certificates(Vec<&'a [u8]>),
    /// certListType 2: digests of the certificates.
    Digests(Vec<CertDigest<'a>>),
}

/// One entry of a certDigestList.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CertDigest<'a> {
    /// The digest algorithm's name as written (`sm3`, `SM3`, `sha256`…).
    pub alg: &'a str,
    /// The digest of the DER certificate.
    pub value: &'a [u8],
}

/// SES_ESPictrueInfo (the standard's spelling).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Picture<'a> {
    /// Image type, e.g. `png`, `ofd`, `gif`.
    pub kind: &'a str,
    /// The image bytes.
    pub data: &'a [u8],
    /// Display width in millimetres.
    pub width: i64,
    /// Display height in millimetres.
    pub height: i64,
}

/// A parsed electronic signature (SES_Signature), borrowing the input.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Signature<'a> {
    /// v1 for the GM/T 0031 shape; v4 or v5 (from the embedded seal) otherwise.
    pub version: SealVersion,
    /// The whole SES_Signature as received.
    pub raw: &'a [u8],
    /// TBS_Sign as received: what the signer signed.
    pub tbs_raw: &'a [u8],
    /// `TBS_Sign.version`.
    pub tbs_version: i64,
    /// The embedded seal.
    pub seal: Seal<'a>,
    /// `timeInfo`: the signer's claimed signing time.
    pub time_info: OffsetDateTime,
    /// `dataHash`: the hash of the protected data.
    pub data_hash: &'a [u8],
    /// `propertyInfo`: what is protected (an OFD path, a file name…).
    pub property_info: &'a str,
    /// The signer's certificate (DER).
    pub signer_cert: &'a [u8],
    /// The signer's signature algorithm.
    pub signature_alg: Oid,
    /// The signature value over `tbs_raw`.
    pub signature: &'a [u8],
    /// The RFC 3161 timestamp token over the signature value (DER CMS), if any.
    pub timestamp: Option<&'a [u8]>,
    /// Deviations seen in the signature and its seal.
    pub deviations: Vec<Deviation>,
}

/// Parses a DER SESeal.
pub fn parse_seal(input: &[u8]) -> Result<Seal<'_>, Asn1Error> {
    check_len(input)?;
    let outer =
        Tlv::parse_whole(input, "SESeal")?.require_tag(tag::SEQUENCE, "SEQUENCE", "SESeal")?;
    seal(outer, &mut Vec::new())
}

/// Parses a DER SES_Signature.
pub fn parse_signature(input: &[u8]) -> Result<Signature<'_>, Asn1Error> {
    const P: &str = "SES_Signature";
    check_len(input)?;
    let outer = Tlv::parse_whole(input, P)?.require_tag(tag::SEQUENCE, "SEQUENCE", P)?;
    let elements = outer.count_children(P)?;
    let mut items = outer.children(P);
    let mut dev = Vec::new();
    let sig = match elements {
        2 => {
            // GM/T 0031: SEQUENCE { toSign, signature }
            let tbs = items.next("toSign", P)?;
            let t = tbs_v1(tbs, &mut dev)?;
            let signature = bits(
                items.next("signature", P)?,
                "SES_Signature.signature",
                &mut dev,
            )?;
            Signature {
                version: SealVersion::V1,
                raw: input,
                tbs_raw: tbs.raw,
                tbs_version: t.version,
                seal: t.seal,
                time_info: t.time_info,
                data_hash: t.data_hash,
                property_info: t.property_info,
                signer_cert: t.cert,
                signature_alg: t.alg,
                signature,
                timestamp: None,
                deviations: dev,
            }
        }
        4 | 5 => {
            // GB/T 38540: SEQUENCE { toSign, cert, signatureAlgID, signature, timeStamp [0] OPTIONAL }
            let tbs = items.next("toSign", P)?;
            let t = tbs_v4(tbs, &mut dev)?;
            let cert = items.next("cert", P)?.octets("SES_Signature.cert")?;
            let alg = items
                .next("signatureAlgID", P)?
                .oid("SES_Signature.signatureAlgID")?;
            let signature = bits(
                items.next("signature", P)?,
                "SES_Signature.signature",
                &mut dev,
            )?;
            let timestamp = match items.next_opt()? {
                Some(ts) => Some(explicit_bits(ts, "SES_Signature.timeStamp", &mut dev)?),
                None => None,
            };
            items.finish(P)?;
            Signature {
                version: t.seal.version,
                raw: input,
                tbs_raw: tbs.raw,
                tbs_version: t.version,
                seal: t.seal,
                time_info: t.time_info,
                data_hash: t.data_hash,
                property_info: t.property_info,
                signer_cert: cert,
                signature_alg: alg,
                signature,
                timestamp,
                deviations: dev,
            }
        }
        n => {
            return Err(Asn1Error::new(
                P,
                outer.offset,
                Asn1ErrorKind::UnknownShape { elements: n },
            ));
        }
    };
    Ok(sig)
}

fn check_len(input: &[u8]) -> Result<(), Asn1Error> {
    if input.len() > MAX_SES_LEN {
        return Err(Asn1Error::new(
            "input",
            0,
            Asn1ErrorKind::InputTooLarge {
                len: input.len(),
                max: MAX_SES_LEN,
            },
        ));
    }
    Ok(())
}

/// TBS_Sign's fields, either generation.
struct Tbs<'a> {
    version: i64,
    seal: Seal<'a>,
    time_info: OffsetDateTime,
    data_hash: &'a [u8],
    property_info: &'a str,
    cert: &'a [u8],
    alg: Oid,
}

fn tbs_v1<'a>(tbs: Tlv<'a>, dev: &mut Vec<Deviation>) -> Result<Tbs<'a>, Asn1Error> {
    const P: &str = "TBS_Sign";
    let tbs = tbs.require_tag(tag::SEQUENCE, "SEQUENCE", P)?;
    let mut items = tbs.children(P);
    let version = items.next("version", P)?.small_int("TBS_Sign.version")?;
    let seal_tlv =
        items
            .next("eseal", P)?
            .require_tag(tag::SEQUENCE, "SEQUENCE", "TBS_Sign.eseal")?;
    let seal = seal(seal_tlv, dev)?;
    if seal.version != SealVersion::V1 {
        return Err(Asn1Error::new(
            "TBS_Sign.eseal",
            seal_tlv.offset,
            Asn1ErrorKind::VersionMismatch {
                shape: "v1",
                header: seal.info.header_version,
            },
        ));
    }
    let time_info = v1_time_info(items.next("timeInfo", P)?, dev)?;
    let data_hash = bits(items.next("dataHash", P)?, "TBS_Sign.dataHash", dev)?;
    let property_info = items
        .next("propertyInfo", P)?
        .text("IA5String", "TBS_Sign.propertyInfo")?;
    let cert = items.next("cert", P)?.octets("TBS_Sign.cert")?;
    let alg = items
        .next("signatureAlgorithm", P)?
        .oid("TBS_Sign.signatureAlgorithm")?;
    items.finish(P)?;
    Ok(Tbs {
        version,
        seal,
        time_info,
        data_hash,
        property_info,
        cert,
        alg,
    })
}

/// What the v4 TBS_Sign has; cert and algorithm live in SES_Signature.
struct TbsV4<'a> {
    version: i64,
    seal: Seal<'a>,
    time_info: OffsetDateTime,
    data_hash: &'a [u8],
    property_info: &'a str,
}

fn tbs_v4<'a>(tbs: Tlv<'a>, dev: &mut Vec<Deviation>) -> Result<TbsV4<'a>, Asn1Error> {
    const P: &str = "TBS_Sign";
    let tbs = tbs.require_tag(tag::SEQUENCE, "SEQUENCE", P)?;
    let mut items = tbs.children(P);
    let version_tlv = items.next("version", P)?;
    let version = version_tlv.small_int("TBS_Sign.version")?;
    if !(4..=5).contains(&version) {
        return Err(Asn1Error::new(
            "TBS_Sign.version",
            version_tlv.offset,
            Asn1ErrorKind::VersionMismatch {
                shape: "v4",
                header: version,
            },
        ));
    }
    let seal_tlv =
        items
            .next("eseal", P)?
            .require_tag(tag::SEQUENCE, "SEQUENCE", "TBS_Sign.eseal")?;
    let seal = seal(seal_tlv, dev)?;
    if seal.version == SealVersion::V1 {
        return Err(Asn1Error::new(
            "TBS_Sign.eseal",
            seal_tlv.offset,
            Asn1ErrorKind::VersionMismatch {
                shape: "v4",
                header: seal.info.header_version,
            },
        ));
    }
    let time_tlv = items.next("timeInfo", P)?;
    let time_info = time_tlv
        .require_tag(
            tag::GENERALIZED_TIME,
            "GeneralizedTime",
            "TBS_Sign.timeInfo",
        )?
        .time("TBS_Sign.timeInfo")?;
    let data_hash = bits(items.next("dataHash", P)?, "TBS_Sign.dataHash", dev)?;
    let property_info = items
        .next("propertyInfo", P)?
        .text("IA5String", "TBS_Sign.propertyInfo")?;
    if let Some(ext) = items.next_if(tag::CONTEXT_0)? {
        let inner = Tlv::parse_first(ext.value, ext.value_offset(), "TBS_Sign.extDatas")?.0;
        ext_datas(inner, "TBS_Sign.extDatas", dev)?;
    }
    items.finish(P)?;
    Ok(TbsV4 {
        version,
        seal,
        time_info,
        data_hash,
        property_info,
    })
}

/// SESeal of either generation; the caller's `dev` collects deviations.
fn seal<'a>(outer: Tlv<'a>, dev: &mut Vec<Deviation>) -> Result<Seal<'a>, Asn1Error> {
    const P: &str = "SESeal";
    let elements = outer.count_children(P)?;
    let mut items = outer.children(P);
    let mut local = Vec::new();
    let info_tlv =
        items
            .next("esealInfo", P)?
            .require_tag(tag::SEQUENCE, "SEQUENCE", "SES_SealInfo")?;
    let shape = match elements {
        2 => SealVersion::V1,
        4 => SealVersion::V4,
        5 => SealVersion::V5,
        n => {
            return Err(Asn1Error::new(
                P,
                outer.offset,
                Asn1ErrorKind::UnknownShape { elements: n },
            ));
        }
    };
    let info = seal_info(info_tlv, shape, &mut local)?;
    let version = match (shape, info.header_version) {
        (SealVersion::V1, v) if v < 4 => SealVersion::V1,
        (SealVersion::V4, 4) => SealVersion::V4,
        // A v5 seal need not carry its optional timestamp.
        (SealVersion::V4 | SealVersion::V5, 5) => SealVersion::V5,
        (shape, header) => {
            return Err(Asn1Error::new(
                "SES_Header.version",
                info_tlv.offset,
                Asn1ErrorKind::VersionMismatch {
                    shape: shape.name(),
                    header,
                },
            ));
        }
    };
    let (maker_cert_tlv, maker_alg_tlv, signature_tlv, sig_path, mut rest) = if shape
        == SealVersion::V1
    {
        // SES_SignInfo ::= SEQUENCE { cert, signatureAlgorithm, signData }
        let sign_info =
            items
                .next("signInfo", P)?
                .require_tag(tag::SEQUENCE, "SEQUENCE", "SES_SignInfo")?;
        items.finish(P)?;
        let mut si = sign_info.children("SES_SignInfo");
        let cert = si.next("cert", "SES_SignInfo")?;
        let alg = si.next("signatureAlgorithm", "SES_SignInfo")?;
        let sig = si.next("signData", "SES_SignInfo")?;
        (cert, alg, sig, "SES_SignInfo.signData", si)
    } else {
        let cert = items.next("cert", P)?;
        let alg = items.next("signAlgID", P)?;
        let sig = items.next("signedValue", P)?;
        (cert, alg, sig, "SESeal.signedValue", items)
    };
    let maker_cert = maker_cert_tlv.octets("SESeal.cert")?;
    let maker_alg = maker_alg_tlv.oid("SESeal.signAlgID")?;
    let maker_signature = bits(signature_tlv, sig_path, &mut local)?;
    let timestamp = match rest.next_opt()? {
        Some(ts) => Some(seal_timestamp(ts, &mut local)?),
        None => None,
    };
    rest.finish(P)?;
    dev.extend_from_slice(&local);
    Ok(Seal {
        version,
        raw: outer.raw,
        info,
        maker_cert,
        maker_alg,
        maker_signature,
        timestamp,
        deviations: local,
        maker_cert_tlv: maker_cert_tlv.raw,
        maker_alg_tlv: maker_alg_tlv.raw,
    })
}

/// The v5 seal timestamp: `[0] EXPLICIT BIT STRING` as in SES_Signature, or the
/// BIT STRING untagged.
fn seal_timestamp<'a>(ts: Tlv<'a>, dev: &mut Vec<Deviation>) -> Result<&'a [u8], Asn1Error> {
    if ts.tag == tag::CONTEXT_0 {
        explicit_bits(ts, "SESeal.timeStamp", dev)
    } else {
        bits(ts, "SESeal.timeStamp", dev)
    }
}

fn seal_info<'a>(
    info: Tlv<'a>,
    shape: SealVersion,
    dev: &mut Vec<Deviation>,
) -> Result<SealInfo<'a>, Asn1Error> {
    const P: &str = "SES_SealInfo";
    let mut items = info.children(P);
    let header = items
        .next("header", P)?
        .require_tag(tag::SEQUENCE, "SEQUENCE", "SES_Header")?;
    let mut h = header.children("SES_Header");
    let id_tlv = h.next("id", "SES_Header")?;
    if id_tlv.text("IA5String", "SES_Header.id")? != "ES" {
        return Err(Asn1Error::new(
            "SES_Header.id",
            id_tlv.offset,
            Asn1ErrorKind::NotEs,
        ));
    }
    let header_version = h
        .next("version", "SES_Header")?
        .small_int("SES_Header.version")?;
    let vid = h
        .next("vid", "SES_Header")?
        .text("IA5String", "SES_Header.vid")?;
    h.finish("SES_Header")?;
    let es_id = items
        .next("esID", P)?
        .text("IA5String", "SES_SealInfo.esID")?;
    let property =
        items
            .next("property", P)?
            .require_tag(tag::SEQUENCE, "SEQUENCE", "SES_ESPropertyInfo")?;
    let prop = property_info(property, shape, dev)?;
    let picture = picture(items.next("picture", P)?)?;
    let ext_count = match items.next_opt()? {
        Some(ext) => ext_datas(ext, "SES_SealInfo.extDatas", dev)?,
        None => 0,
    };
    items.finish(P)?;
    Ok(SealInfo {
        raw: info.raw,
        header_version,
        vid,
        es_id,
        seal_type: prop.seal_type,
        name: prop.name,
        cert_list: prop.cert_list,
        created: prop.created,
        valid_start: prop.valid_start,
        valid_end: prop.valid_end,
        picture,
        ext_count,
    })
}

struct Property<'a> {
    seal_type: i64,
    name: &'a str,
    cert_list: CertList<'a>,
    created: OffsetDateTime,
    valid_start: OffsetDateTime,
    valid_end: OffsetDateTime,
}

fn property_info<'a>(
    prop: Tlv<'a>,
    shape: SealVersion,
    dev: &mut Vec<Deviation>,
) -> Result<Property<'a>, Asn1Error> {
    const P: &str = "SES_ESPropertyInfo";
    let mut items = prop.children(P);
    let seal_type = items
        .next("type", P)?
        .small_int("SES_ESPropertyInfo.type")?;
    let name = items
        .next("name", P)?
        .text("UTF8String", "SES_ESPropertyInfo.name")?;
    let cert_list = if shape == SealVersion::V1 {
        let list = items.next("certList", P)?;
        CertList::Certificates(octet_strings(list, "SES_ESPropertyInfo.certList")?)
    } else {
        let list_type_tlv = items.next("certListType", P)?;
        let list_type = list_type_tlv.small_int("SES_ESPropertyInfo.certListType")?;
        let list = items.next("certList", P)?;
        match list_type {
            1 => CertList::Certificates(octet_strings(list, "SES_ESPropertyInfo.certList")?),
            2 => CertList::Digests(cert_digests(list)?),
            other => {
                return Err(Asn1Error::new(
                    "SES_ESPropertyInfo.certListType",
                    list_type_tlv.offset,
                    Asn1ErrorKind::BadValue(other),
                ));
            }
        }
    };
    let created = property_time(&mut items, "SES_ESPropertyInfo.createDate", shape, dev)?;
    let valid_start = property_time(&mut items, "SES_ESPropertyInfo.validStart", shape, dev)?;
    let valid_end = property_time(&mut items, "SES_ESPropertyInfo.validEnd", shape, dev)?;
    items.finish(P)?;
    Ok(Property {
        seal_type,
        name,
        cert_list,
        created,
        valid_start,
        valid_end,
    })
}

/// v1 dates are UTCTime (GeneralizedTime tolerated and reported); v4 dates are
/// GeneralizedTime.
fn property_time(
    items: &mut Children<'_>,
    field: &'static str,
    shape: SealVersion,
    dev: &mut Vec<Deviation>,
) -> Result<OffsetDateTime, Asn1Error> {
    let t = items.next(field, "SES_ESPropertyInfo")?;
    match (shape, t.tag) {
        (SealVersion::V1, tag::UTC_TIME)
        | (SealVersion::V4 | SealVersion::V5, tag::GENERALIZED_TIME) => {}
        (SealVersion::V1, tag::GENERALIZED_TIME) => {
            dev.push(Deviation::GeneralizedTimeInV1 { field })
        }
        (SealVersion::V1, _) => return Err(t.unexpected("UTCTime", field)),
        _ => return Err(t.unexpected("GeneralizedTime", field)),
    }
    t.time(field)
}

fn octet_strings<'a>(list: Tlv<'a>, path: &'static str) -> Result<Vec<&'a [u8]>, Asn1Error> {
    let list = list.require_tag(tag::SEQUENCE, "SEQUENCE OF OCTET STRING", path)?;
    let mut out = Vec::new();
    let mut items = list.children(path);
    while let Some(item) = items.next_opt()? {
        out.push(item.octets(path)?);
    }
    Ok(out)
}

fn cert_digests(list: Tlv<'_>) -> Result<Vec<CertDigest<'_>>, Asn1Error> {
    const P: &str = "SES_ESPropertyInfo.certDigestList";
    let list = list.require_tag(tag::SEQUENCE, "SEQUENCE OF CertDigestObj", P)?;
    let mut out = Vec::new();
    let mut items = list.children(P);
    while let Some(item) = items.next_opt()? {
        let item = item.require_tag(tag::SEQUENCE, "SEQUENCE", P)?;
        let mut fields = item.children(P);
        let alg = fields.next("type", P)?.text("PrintableString", P)?;
        let value = fields.next("value", P)?.octets(P)?;
        fields.finish(P)?;
        out.push(CertDigest { alg, value });
    }
    Ok(out)
}

fn picture(pic: Tlv<'_>) -> Result<Picture<'_>, Asn1Error> {
    const P: &str = "SES_ESPictrueInfo";
    let pic = pic.require_tag(tag::SEQUENCE, "SEQUENCE", P)?;
    let mut items = pic.children(P);
    let kind = items
        .next("type", P)?
        .text("IA5String", "SES_ESPictrueInfo.type")?;
    let data = items.next("data", P)?.octets("SES_ESPictrueInfo.data")?;
    let width = items
        .next("width", P)?
        .small_int("SES_ESPictrueInfo.width")?;
    let height = items
        .next("height", P)?
        .small_int("SES_ESPictrueInfo.height")?;
    items.finish(P)?;
    Ok(Picture {
        kind,
        data,
        width,
        height,
    })
}

/// ExtensionDatas ::= SEQUENCE OF ExtData; returns the number of entries.
fn ext_datas(
    list: Tlv<'_>,
    path: &'static str,
    dev: &mut Vec<Deviation>,
) -> Result<usize, Asn1Error> {
    let list = list.require_tag(tag::SEQUENCE, "SEQUENCE OF ExtData", path)?;
    let mut items = list.children(path);
    let mut index = 0usize;
    while let Some(ext) = items.next_opt()? {
        let ext = ext.require_tag(tag::SEQUENCE, "ExtData", path)?;
        let mut fields = ext.children(path);
        let id = fields.next("extnID", path)?.oid(path)?;
        if let Some(critical) = fields.next_if(tag::BOOLEAN)? {
            match critical.value {
                [0x00] => dev.push(Deviation::ExplicitCriticalFalse { field: path, index }),
                // No extension is understood here, so a critical one cannot be honoured.
                [_] => {
                    return Err(Asn1Error::new(
                        path,
                        critical.offset,
                        Asn1ErrorKind::UnknownCriticalExtension(id),
                    ));
                }
                _ => {
                    return Err(Asn1Error::new(
                        path,
                        critical.offset,
                        Asn1ErrorKind::BadValue(0),
                    ));
                }
            }
        }
        fields
            .next("extnValue", path)?
            .require_tag(tag::OCTET_STRING, "OCTET STRING", path)?;
        fields.finish(path)?;
        index = index.saturating_add(1);
    }
    Ok(index)
}

/// A BIT STRING's bytes; an OCTET STRING in its place is a tolerated deviation.
fn bits<'a>(
    t: Tlv<'a>,
    field: &'static str,
    dev: &mut Vec<Deviation>,
) -> Result<&'a [u8], Asn1Error> {
    match t.tag {
        tag::BIT_STRING => t.bit_string_bytes(field),
        tag::OCTET_STRING => {
            dev.push(Deviation::OctetStringForBitString { field });
            Ok(t.value)
        }
        _ => Err(t.unexpected("BIT STRING", field)),
    }
}

/// `[0] EXPLICIT BIT STRING`.
fn explicit_bits<'a>(
    t: Tlv<'a>,
    field: &'static str,
    dev: &mut Vec<Deviation>,
) -> Result<&'a [u8], Asn1Error> {
    let t = t.require_tag(tag::CONTEXT_0, "[0] EXPLICIT BIT STRING", field)?;
    let inner = Tlv::parse_first(t.value, t.value_offset(), field)?;
    if !inner.1.is_empty() {
        return Err(Asn1Error::new(
            field,
            inner.0.offset,
            Asn1ErrorKind::TrailingData {
                count: inner.1.len(),
            },
        ));
    }
    bits(inner.0, field, dev)
}

/// GM/T 0031 timeInfo: a BIT STRING holding the time as text. An OCTET STRING or a
/// GeneralizedTime in its place are tolerated deviations.
fn v1_time_info(t: Tlv<'_>, dev: &mut Vec<Deviation>) -> Result<OffsetDateTime, Asn1Error> {
    const F: &str = "TBS_Sign.timeInfo";
    if t.tag == tag::GENERALIZED_TIME {
        dev.push(Deviation::GeneralizedTimeInV1 { field: F });
        return t.time(F);
    }
    let text = bits(t, F, dev)?;
    let parsed = match text.len() {
        13 => crate::asn1::parse_utc_time(text),
        _ => crate::asn1::parse_generalized_time(text),
    };
    parsed.ok_or(Asn1Error::new(F, t.value_offset(), Asn1ErrorKind::BadTime))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_junk_are_errors_not_panics() {
        assert!(parse_signature(b"").is_err());
        assert!(parse_seal(b"\x30\x00").is_err());
        assert_eq!(
            parse_signature(b"\x30\x03\x02\x01\x01").unwrap_err().kind,
            Asn1ErrorKind::UnknownShape { elements: 1 }
        );
    }

    #[test]
    fn oversized_input_is_refused_before_parsing() {
        let big = vec![0u8; MAX_SES_LEN + 1];
        assert!(matches!(
            parse_seal(&big).unwrap_err().kind,
            Asn1ErrorKind::InputTooLarge { .. }
        ));
    }

    proptest::proptest! {
        /// Arbitrary bytes, and arbitrary bytes inside a plausible outer SEQUENCE,
        /// never panic either parser.
        #[test]
        fn parsers_never_panic(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
            let _ = parse_seal(&body);
            let _ = parse_signature(&body);
            let mut wrapped = vec![0x30, 0x82];
            wrapped.extend_from_slice(&u16::try_from(body.len()).unwrap().to_be_bytes());
            wrapped.extend_from_slice(&body);
            let _ = parse_seal(&wrapped);
            let _ = parse_signature(&wrapped);
        }
    }

    #[test]
    fn octet_string_for_bit_string_is_reported() {
        let mut dev = Vec::new();
        let t = Tlv::parse_whole(&[0x04, 0x02, 0xab, 0xcd], "t").unwrap();
        assert_eq!(bits(t, "f", &mut dev).unwrap(), &[0xab, 0xcd]);
        assert_eq!(dev, vec![Deviation::OctetStringForBitString { field: "f" }]);
    }
}
