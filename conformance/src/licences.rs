//! The demo federation's electronic licences (电子证照) and the seal PKI that
//! seals them — **test data only**, made with the test seal signer
//! ([`crate::seal_maker`]), whose keys come from public seeds.
//!
//! Each region has its own seal PKI, separate from the TLS development PKI:
//! Zhejiang and Shanghai are the vector world's (`vectors/seals/`), so the
//! committed vectors verify against the demo's seal trust too; Jiangsu and Anhui
//! get their own SM2 roots. Every sample provider serves its region's licences
//! as sealed OFD files with their metadata, and Zhejiang also serves the
//! deliberately broken ones the demo shows: a page edited after sealing and a
//! licence sealed by another region's PKI.

use base64::Engine as _;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;
use yrdx_signing::Region;

use crate::seal_maker::{
    CertListSpec, KeyAlg, MakerError, MakerForm, OfdPackage, RegionPki, SealSpec, SignSpec,
    Version, World, crl, seal, signature,
};
use crate::seal_maker::{REVOKED_EARLY, REVOKED_LATE};

/// The licence type of every demo licence: the business licence (营业执照)
/// defined by the State Administration for Market Regulation.
pub const LICENCE_TYPE: &str = "11100000000013338W009";

/// A Zhejiang business licence with a valid seal.
pub const ZJ_LICENCE: &str =
    "1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052201.002.0";
/// A Zhejiang licence whose page was edited after it was sealed.
pub const ZJ_TAMPERED_LICENCE: &str =
    "1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052202.002.K";
/// A licence naming a Zhejiang issuer but sealed with Jiangsu's seal PKI.
pub const ZJ_FOREIGN_SEAL_LICENCE: &str =
    "1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052203.002.4";
/// A Zhejiang business licence its issuer has revoked (吊销): sealed validly,
/// served with its status.
pub const ZJ_REVOKED_LICENCE: &str =
    "1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052204.002.P";
/// A well-formed Zhejiang identifier the provider does not hold.
pub const ZJ_MISSING_LICENCE: &str =
    "1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052299.002.B";
/// A well-formed Zhejiang identifier whose file, as the provider serves it,
/// is a hostile package: an entry named `../../evil.xml` beside an `OFD.xml`
/// whose entities would expand a billion times.
pub const ZJ_HOSTILE_LICENCE: &str =
    "1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052206.002.U";
/// [`ZJ_LICENCE`] with a wrong check character.
pub const BAD_CHECK_LICENCE: &str =
    "1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052201.002.1";
/// A Shanghai business licence.
pub const SH_LICENCE: &str =
    "1.2.156.3005.2.11100000000013338W009.11310115MB00000019.2026030101.001.T";
/// A Jiangsu business licence.
pub const JS_LICENCE: &str =
    "1.2.156.3005.2.11100000000013338W009.11320102MB0000002M.2026030201.001.2";
/// An Anhui business licence.
pub const AH_LICENCE: &str =
    "1.2.156.3005.2.11100000000013338W009.11340104MB0000003X.2026030301.001.6";

/// When the demo licences were sealed (their timeInfo).
pub const SEALED_AT: OffsetDateTime = datetime!(2026-03-01 02:00:00 UTC);

/// The demo federation's seal PKI, one per region.
#[derive(Clone, Debug)]
pub struct SealPki {
    regions: Vec<(Region, RegionPki)>,
}

/// One file of a region's seal trust, as PEM text.
#[derive(Clone, Debug)]
pub struct SealTrustFile {
    /// The region.
    pub region: Region,
    /// What it is: `anchors`, `intermediates` or `crls`.
    pub kind: &'static str,
    /// A file name, e.g. `zj-anchors.pem`.
    pub name: String,
    /// The PEM text.
    pub pem: String,
}

impl SealPki {
    /// The demo seal PKI: the same keys and certificates every time, with CRLs
    /// current at `now` (issued a day before, next update in 30 days), so that
    /// a running demo never verifies against stale revocation lists. Zhejiang's
    /// issuing CA revokes what it revokes in the vector world.
    pub fn demo(now: OffsetDateTime) -> Result<SealPki, MakerError> {
        let world = World::new()?;
        let mut regions = vec![
            (Region::Sh, world.sh),
            (Region::Js, RegionPki::build("Jiangsu", KeyAlg::Sm2, false)?),
            (Region::Zj, world.zj),
            (Region::Ah, RegionPki::build("Anhui", KeyAlg::Sm2, true)?),
        ];
        let this = now.saturating_sub(time::Duration::days(1));
        let next = now.saturating_add(time::Duration::days(30));
        for (region, pki) in &mut regions {
            let mut crls = vec![crl(&pki.root, &pki.root_key, this, next, &[])?];
            if let Some(ca) = &pki.ca {
                let revoked: &[(u64, OffsetDateTime)] = if *region == Region::Zj {
                    &[(0x1004, REVOKED_EARLY), (0x1005, REVOKED_LATE)]
                } else {
                    &[]
                };
                crls.push(crl(&ca.cert, &ca.key, this, next, revoked)?);
            }
            pki.crls = crls;
        }
        Ok(SealPki { regions })
    }

    /// One region's seal PKI.
    pub fn region(&self, region: Region) -> Option<&RegionPki> {
        self.regions
            .iter()
            .find(|(r, _)| *r == region)
            .map(|(_, p)| p)
    }

    /// The trust files a verifier configures: per region its root (anchor), its
    /// issuing CA when it has one (intermediate) and its CRLs.
    pub fn trust_files(&self) -> Vec<SealTrustFile> {
        let mut out = Vec::new();
        for (region, pki) in &self.regions {
            let code = region.code();
            out.push(SealTrustFile {
                region: *region,
                kind: "anchors",
                name: format!("{code}-anchors.pem"),
                pem: pem("CERTIFICATE", &pki.root.der),
            });
            if let Some(ca) = &pki.ca {
                out.push(SealTrustFile {
                    region: *region,
                    kind: "intermediates",
                    name: format!("{code}-intermediates.pem"),
                    pem: pem("CERTIFICATE", &ca.cert.der),
                });
            }
            if !pki.crls.is_empty() {
                out.push(SealTrustFile {
                    region: *region,
                    kind: "crls",
                    name: format!("{code}-crls.pem"),
                    pem: pki.crls.iter().map(|c| pem("X509 CRL", c)).collect(),
                });
            }
        }
        out
    }
}

/// PEM text of one DER object.
pub fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    let mut rest = b64.as_str();
    while !rest.is_empty() {
        let (line, tail) = rest.split_at(rest.len().min(64));
        out.push_str(line);
        out.push('\n');
        rest = tail;
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// One licence a sample provider serves.
#[derive(Clone, Debug)]
pub struct Licence {
    /// Its identifier.
    pub id: &'static str,
    /// Its metadata, as the provider sends it.
    pub metadata: Value,
    /// The sealed OFD file.
    pub ofd: Vec<u8>,
}

impl Licence {
    /// The provider's native answer: `{"metadata": {..}, "ofd": "<base64>"}`.
    pub fn native_body(&self) -> String {
        json!({
            "metadata": self.metadata,
            "ofd": base64::engine::general_purpose::STANDARD.encode(&self.ofd),
        })
        .to_string()
    }
}

/// What one demo licence says.
struct Face {
    id: &'static str,
    holder: &'static str,
    holder_code: &'static str,
    issuer_name: &'static str,
    area_code: &'static str,
    issue_date: &'static str,
    established: &'static str,
    /// The issuer's status code: 1 有效, 2 注销, 3 吊销, 4 过期.
    status: &'static str,
}

/// The licences `region`'s sample provider serves.
pub fn licences(pki: &SealPki, region: Region) -> Result<Vec<Licence>, MakerError> {
    let own = pki
        .region(region)
        .ok_or(MakerError::Spec("no seal PKI for the region"))?;
    let face = |f: &Face| {
        format!(
            "营业执照 统一社会信用代码 {} 名称 {} 登记机关 {} 发照日期 {}",
            f.holder_code, f.holder, f.issuer_name, f.issue_date
        )
    };
    let mut out = Vec::new();
    let mut add = |f: Face, ofd: Vec<u8>| out.push(licence(&f, ofd));
    match region {
        Region::Zj => {
            let valid = Face {
                id: ZJ_LICENCE,
                holder: "杭州西溪数字科技有限公司",
                holder_code: "91330106MA27Y9KE3E",
                issuer_name: "杭州市西湖区市场监督管理局",
                area_code: "330106",
                issue_date: "2025-05-22",
                established: "2016-09-23",
                status: "1",
            };
            let ofd = sealed(own, "330100000000101", &face(&valid))?.zip()?;
            add(valid, ofd);

            let revoked = Face {
                id: ZJ_REVOKED_LICENCE,
                holder: "杭州西溪示例餐饮管理有限公司",
                holder_code: "91330100MA2CC1L842",
                issuer_name: "杭州市西湖区市场监督管理局",
                area_code: "330106",
                issue_date: "2025-05-22",
                established: "2018-03-03",
                status: "3",
            };
            let ofd = sealed(own, "330100000000101", &face(&revoked))?.zip()?;
            add(revoked, ofd);

            let tampered = Face {
                id: ZJ_TAMPERED_LICENCE,
                holder: "杭州示例贸易有限公司",
                holder_code: "91330106MA2CC1L84Q",
                issuer_name: "杭州市西湖区市场监督管理局",
                area_code: "330106",
                issue_date: "2025-05-22",
                established: "2019-04-01",
                status: "1",
            };
            let mut doc = sealed(own, "330100000000101", &face(&tampered))?;
            doc.tamper_page("示例贸易", "示范实业")?;
            add(tampered, doc.zip()?);

            let foreign = Face {
                id: ZJ_FOREIGN_SEAL_LICENCE,
                holder: "杭州钱塘示例制造有限公司",
                holder_code: "91330114MA2H3K9Q0A",
                issuer_name: "杭州市西湖区市场监督管理局",
                area_code: "330106",
                issue_date: "2025-05-22",
                established: "2020-08-08",
                status: "1",
            };
            let js = pki
                .region(Region::Js)
                .ok_or(MakerError::Spec("no seal PKI for js"))?;
            let ofd = sealed(js, "320100000000101", &face(&foreign))?.zip()?;
            add(foreign, ofd);

            let hostile = Face {
                id: ZJ_HOSTILE_LICENCE,
                holder: "杭州示例恶意文件有限公司",
                holder_code: "91330106MA2CC1L84Q",
                issuer_name: "杭州市西湖区市场监督管理局",
                area_code: "330106",
                issue_date: "2025-05-22",
                established: "2021-01-01",
                status: "1",
            };
            let ofd = crate::seal_maker::zip_entries([
                ("OFD.xml", BILLION_LAUGHS.as_bytes()),
                ("Doc_0/../../evil.xml", b"<x/>".as_slice()),
            ])?;
            add(hostile, ofd);
        }
        Region::Sh => {
            let f = Face {
                id: SH_LICENCE,
                holder: "上海浦江示例信息技术有限公司",
                holder_code: "91310115MA1K4DT67F",
                issuer_name: "上海市浦东新区市场监督管理局",
                area_code: "310115",
                issue_date: "2026-03-01",
                established: "2018-05-20",
                status: "1",
            };
            let ofd = sealed(own, "310100000000101", &face(&f))?.zip()?;
            add(f, ofd);
        }
        Region::Js => {
            let f = Face {
                id: JS_LICENCE,
                holder: "南京玄武示例软件有限公司",
                holder_code: "91320100MA1MXX4B2Y",
                issuer_name: "南京市玄武区市场监督管理局",
                area_code: "320102",
                issue_date: "2026-03-02",
                established: "2017-11-11",
                status: "1",
            };
            let ofd = sealed(own, "320100000000102", &face(&f))?.zip()?;
            add(f, ofd);
        }
        Region::Ah => {
            let f = Face {
                id: AH_LICENCE,
                holder: "合肥庐阳示例电子有限公司",
                holder_code: "91340100MA2NH3AL0C",
                issuer_name: "合肥市庐阳区市场监督管理局",
                area_code: "340104",
                issue_date: "2026-03-03",
                established: "2019-01-15",
                status: "1",
            };
            let ofd = sealed(own, "340100000000101", &face(&f))?.zip()?;
            add(f, ofd);
        }
    }
    Ok(out)
}

/// An `OFD.xml` whose entities would expand to a billion `lol`s.
pub const BILLION_LAUGHS: &str = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016" Version="1.0" DocType="OFD"><ofd:DocBody><ofd:DocInfo><ofd:DocID>&lol9;</ofd:DocID></ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot><ofd:Signatures>Doc_0/Signatures.xml</ofd:Signatures></ofd:DocBody></ofd:OFD>"#;

fn licence(f: &Face, ofd: Vec<u8>) -> Licence {
    // The issuer code is the identifier's issuer part.
    let issuer_code = f.id.split('.').nth(7).unwrap_or_default();
    Licence {
        id: f.id,
        metadata: json!({
            "licence_id": f.id,
            "licence_type_code": LICENCE_TYPE,
            "licence_type_name": "营业执照",
            "licence_name": "营业执照",
            "licence_number": f.holder_code,
            "holder_name": f.holder,
            "holder_code": f.holder_code,
            "holder_code_type": "uscc",
            "issuer_name": f.issuer_name,
            "issuer_code": issuer_code,
            "area_code": f.area_code,
            "issue_date": f.issue_date,
            "valid_from": f.established,
            "valid_to": null,
            "status": f.status,
        }),
        ofd,
    }
}

/// A one-page OFD with `text` on its face, sealed by `pki`'s signer with a v4
/// seal made by `pki`'s maker.
fn sealed(pki: &RegionPki, es_id: &str, text: &str) -> Result<OfdPackage, MakerError> {
    let seal_spec = SealSpec {
        version: Version::V4,
        es_id: es_id.to_owned(),
        name: "营业执照专用章（测试）".to_owned(),
        created: datetime!(2025-01-01 00:00:00 UTC),
        valid_start: datetime!(2025-01-01 00:00:00 UTC),
        valid_end: datetime!(2030-12-31 00:00:00 UTC),
        cert_list: CertListSpec::Certificates(vec![pki.signer.cert.der.clone()]),
        maker_form: MakerForm::SealInfo,
        v1_generalized_times: false,
        explicit_critical_false: false,
        seal_timestamp: None,
    };
    let sign = |xml: &[u8], path: &str| -> Result<(Vec<u8>, Vec<u8>), MakerError> {
        let spec = SignSpec::plain(
            Version::V4,
            SEALED_AT,
            pki.signer.key.digest(xml).to_vec(),
            path.to_owned(),
        );
        let s = seal(&seal_spec, &pki.maker.key, &pki.maker.cert.der, None)?;
        Ok((
            signature(&spec, &s, &pki.signer.key, &pki.signer.cert.der, None)?,
            s,
        ))
    };
    let mut doc = OfdPackage::document(text);
    doc.sign(0, &sign)?;
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use yrdx_signing::{LicenceId, Outcome, TrustStore, verify_ofd};

    fn trust(pki: &SealPki) -> TrustStore {
        let mut t = TrustStore::new();
        for f in pki.trust_files() {
            match f.kind {
                "anchors" => t.add_seal_anchors_pem(f.region, f.pem.as_bytes()).unwrap(),
                "intermediates" => t.add_intermediates_pem(f.pem.as_bytes()).unwrap(),
                _ => t.add_crls_pem(f.pem.as_bytes()).unwrap(),
            };
        }
        t
    }

    #[test]
    fn the_identifiers_parse_and_name_their_region() {
        for (id, region) in [
            (ZJ_LICENCE, Region::Zj),
            (ZJ_TAMPERED_LICENCE, Region::Zj),
            (ZJ_FOREIGN_SEAL_LICENCE, Region::Zj),
            (ZJ_MISSING_LICENCE, Region::Zj),
            (ZJ_HOSTILE_LICENCE, Region::Zj),
            (ZJ_REVOKED_LICENCE, Region::Zj),
            (SH_LICENCE, Region::Sh),
            (JS_LICENCE, Region::Js),
            (AH_LICENCE, Region::Ah),
        ] {
            let parsed = LicenceId::parse(id).unwrap();
            assert_eq!(parsed.issuing_region(), Some(region), "{id}");
            assert_eq!(parsed.type_code(), LICENCE_TYPE);
        }
        assert!(LicenceId::parse(BAD_CHECK_LICENCE).is_err());
    }

    #[test]
    fn licences_verify_against_their_own_region_only() {
        let at = datetime!(2026-06-01 00:00:00 UTC);
        let pki = SealPki::demo(at).unwrap();
        let mut all = trust(&pki);
        for region in Region::ALL {
            all.require_crls(region);
        }
        for region in Region::ALL {
            for l in licences(&pki, region).unwrap() {
                let id = LicenceId::parse(l.id).unwrap();
                let issuing = id.issuing_region().unwrap();
                let checked = verify_ofd(&l.ofd, &all.for_region(issuing), at);
                if l.id == ZJ_HOSTILE_LICENCE {
                    assert!(checked.is_err(), "a hostile package is not read");
                    continue;
                }
                let report = checked.unwrap();
                let expected = match l.id {
                    ZJ_TAMPERED_LICENCE => Outcome::Invalid,
                    ZJ_FOREIGN_SEAL_LICENCE => Outcome::Indeterminate,
                    _ => Outcome::Valid,
                };
                assert_eq!(report.outcome(), expected, "{}", l.id);
                let body: Value = serde_json::from_str(&l.native_body()).unwrap();
                assert_eq!(body["metadata"]["licence_id"], l.id);
            }
        }
    }
}
