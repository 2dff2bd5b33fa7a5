//! The seal vectors of `conformance/vectors/seals/`: every file, made from the
//! fixed [`World`]. `README.md` in that folder says what each must yield.

use time::macros::datetime;

use super::Result;
use super::ofd::{OfdPackage, zip_entries};
use super::ses::{CertListSpec, MakerForm, SealSpec, SignSpec, Version, seal, signature, tamper};
use super::world::{Leaf, RegionPki, SIGNED_AT, STAMPED_AT, World};

/// One file of the vector folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VectorFile {
    /// Path relative to `conformance/vectors/seals/`.
    pub name: String,
    /// Contents.
    pub bytes: Vec<u8>,
}

/// The body of the `gen-*-vectors` tools: `TOOL [--check] [DIR]` writes the
/// files `make` makes under DIR (default: this crate's `default_dir`), or with
/// `--check` only compares them and fails if any differs. Exit 2 when the
/// files cannot be made or written.
pub fn vectors_tool<E: std::fmt::Display>(
    tool: &str,
    default_dir: &str,
    make: impl FnOnce() -> std::result::Result<Vec<VectorFile>, E>,
) -> std::process::ExitCode {
    use std::process::ExitCode;
    let mut check = false;
    let mut dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(default_dir);
    for arg in std::env::args().skip(1) {
        if arg == "--check" {
            check = true;
        } else {
            dir = std::path::PathBuf::from(arg);
        }
    }
    let files = match make() {
        Ok(files) => files,
        Err(e) => {
            eprintln!("{tool}: {e}");
            return ExitCode::from(2);
        }
    };
    let mut differ = 0;
    for f in &files {
        let path = dir.join(&f.name);
        if check {
            if std::fs::read(&path).ok().as_deref() != Some(f.bytes.as_slice()) {
                eprintln!("differs: {}", f.name);
                differ += 1;
            }
            continue;
        }
        let written = match path.parent() {
            Some(parent) => std::fs::create_dir_all(parent),
            None => Ok(()),
        }
        .and_then(|()| std::fs::write(&path, &f.bytes));
        if let Err(e) = written {
            eprintln!("{tool}: {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    eprintln!(
        "{} {} files in {}",
        if check { "checked" } else { "wrote" },
        files.len(),
        dir.display()
    );
    if differ == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The protected data the signature vectors sign (a licence's face data).
const DATA: &str =
    "营业执照 统一社会信用代码 91330100MA2XXXXX0X 名称 杭州示例科技有限公司 住所 浙江省杭州市\n";
/// The same data with one character changed.
const DATA_TAMPERED: &str =
    "营业执照 统一社会信用代码 91330100MA2XXXXX0X 名称 杭州示例科技有限公司 住所 浙江省宁波市\n";
const SEAL_NAME: &str = "Zhejiang Test Licence Seal";

/// Makes every vector file.
pub fn seal_vectors() -> Result<Vec<VectorFile>> {
    let w = World::new()?;
    let mut out = Vec::new();
    let mut add = |name: &str, bytes: Vec<u8>| {
        out.push(VectorFile {
            name: name.to_owned(),
            bytes,
        })
    };

    // Trust material.
    add("trust/zj-seal-root.der", w.zj.root.der.clone());
    if let Some(ca) = &w.zj.ca {
        add("trust/zj-seal-ca.der", ca.cert.der.clone());
    }
    for (i, crl) in w.zj.crls.iter().enumerate() {
        add(
            if i == 0 {
                "trust/zj-seal-root.crl"
            } else {
                "trust/zj-seal-ca.crl"
            },
            crl.clone(),
        );
    }
    add("trust/sh-seal-root.der", w.sh.root.der.clone());
    for crl in &w.sh.crls {
        add("trust/sh-seal-root.crl", crl.clone());
    }
    add("trust/tsa-root.der", w.tsa_root.der.clone());
    add("trust/tsa-root.crl", w.tsa_crl.clone());
    add("untrusted-root.der", w.rogue_root.der.clone());
    add("data.txt", DATA.as_bytes().to_vec());
    add("data-tampered.txt", DATA_TAMPERED.as_bytes().to_vec());

    let m = Maker { w: &w };
    let zj = &w.zj;
    let certs = |l: &Leaf| CertListSpec::Certificates(vec![l.cert.der.clone()]);

    // Valid signatures.
    let v1_seal = SealSpec {
        maker_form: MakerForm::V1Sequence,
        ..m.seal_spec(Version::V1, certs(&w.sm2_oid_signer))
    };
    add(
        "v1-valid.ses",
        m.sign(zj, &v1_seal, &w.sm2_oid_signer, &m.sign_spec(Version::V1))?,
    );
    let v4_certs = m.seal_spec(Version::V4, certs(&zj.signer));
    let v4_valid = m.sign(zj, &v4_certs, &zj.signer, &m.sign_spec(Version::V4))?;
    add("v4-certlist-valid.ses", v4_valid.clone());
    let digests = m.seal_spec(
        Version::V4,
        CertListSpec::Sm3Digests(vec![zj.signer.cert.der.clone()]),
    );
    add(
        "v4-digestlist-valid.ses",
        m.sign(zj, &digests, &zj.signer, &m.sign_spec(Version::V4))?,
    );
    let v5 = SealSpec {
        seal_timestamp: Some(datetime!(2025-01-01 00:00:10 UTC)),
        ..m.seal_spec(Version::V5, certs(&zj.signer))
    };
    let stamped = SignSpec {
        timestamp: Some(STAMPED_AT),
        ..m.sign_spec(Version::V4)
    };
    add(
        "v5-timestamp-valid.ses",
        m.sign(zj, &v5, &zj.signer, &stamped)?,
    );
    let sh_seal = SealSpec {
        name: "Shanghai Test Licence Seal".into(),
        es_id: "310100000000001".into(),
        ..m.seal_spec(Version::V4, certs(&w.sh.signer))
    };
    let sh_sign = SignSpec {
        data_hash: w.sh.signer.key.digest(DATA.as_bytes()).to_vec(),
        ..m.sign_spec(Version::V4)
    };
    add(
        "v4-p256-valid.ses",
        m.sign(&w.sh, &sh_seal, &w.sh.signer, &sh_sign)?,
    );
    let raw = SignSpec {
        raw_rs: true,
        ..m.sign_spec(Version::V4)
    };
    add(
        "v4-sm2-raw-rs.ses",
        m.sign(zj, &v4_certs, &zj.signer, &raw)?,
    );
    let v1_form = SealSpec {
        maker_form: MakerForm::V1Sequence,
        ..v4_certs.clone()
    };
    add(
        "v4-maker-v1-form.ses",
        m.sign(zj, &v1_form, &zj.signer, &m.sign_spec(Version::V4))?,
    );
    add(
        "v4-revoked-after-signing.ses",
        m.sign(
            zj,
            &m.seal_spec(Version::V4, certs(&w.late_revoked_signer)),
            &w.late_revoked_signer,
            &m.sign_spec(Version::V4),
        )?,
    );

    // Tolerated deviations.
    let octets = |v| SignSpec {
        octet_strings: true,
        ..m.sign_spec(v)
    };
    add(
        "v1-dev-octet-strings.ses",
        m.sign(zj, &v1_seal, &w.sm2_oid_signer, &octets(Version::V1))?,
    );
    let v1_gt_seal = SealSpec {
        v1_generalized_times: true,
        ..v1_seal.clone()
    };
    let v1_gt_sign = SignSpec {
        v1_generalized_time_info: true,
        ..m.sign_spec(Version::V1)
    };
    add(
        "v1-dev-generalized-time.ses",
        m.sign(zj, &v1_gt_seal, &w.sm2_oid_signer, &v1_gt_sign)?,
    );
    add(
        "v4-dev-octet-datahash.ses",
        m.sign(zj, &v4_certs, &zj.signer, &octets(Version::V4))?,
    );
    let crit_seal = SealSpec {
        explicit_critical_false: true,
        ..v4_certs.clone()
    };
    let crit_sign = SignSpec {
        explicit_critical_false: true,
        ..m.sign_spec(Version::V4)
    };
    add(
        "v4-dev-critical-false.ses",
        m.sign(zj, &crit_seal, &zj.signer, &crit_sign)?,
    );

    // One failure per step.
    let mut malformed = v4_valid.clone();
    // TBS_Sign.version INTEGER claims five octets: everything after it misparses.
    if let Some(len) = malformed
        .windows(3)
        .position(|win| win == [0x02, 0x01, 0x04])
        .and_then(|pos| malformed.get_mut(pos + 1))
    {
        *len = 0x05;
    }
    add("malformed.ses", malformed);
    add(
        "truncated.ses",
        v4_valid
            .get(..v4_valid.len() / 2)
            .unwrap_or_default()
            .to_vec(),
    );
    add(
        "v4-tampered-seal-info.ses",
        tamper(
            &v4_valid,
            SEAL_NAME.as_bytes(),
            b"Zhejiang Test Licence Sea1",
        )?,
    );
    add(
        "v4-signer-expired.ses",
        m.sign(
            zj,
            &m.seal_spec(Version::V4, certs(&w.expired_signer)),
            &w.expired_signer,
            &m.sign_spec(Version::V4),
        )?,
    );
    add(
        "v4-signer-revoked.ses",
        m.sign(
            zj,
            &m.seal_spec(Version::V4, certs(&w.revoked_signer)),
            &w.revoked_signer,
            &m.sign_spec(Version::V4),
        )?,
    );
    add(
        "v4-untrusted-anchor.ses",
        m.sign(
            zj,
            &m.seal_spec(Version::V4, certs(&w.rogue_signer)),
            &w.rogue_signer,
            &m.sign_spec(Version::V4),
        )?,
    );
    add(
        "v4-wrong-signer.ses",
        m.sign(zj, &v4_certs, &w.other_signer, &m.sign_spec(Version::V4))?,
    );
    let expired_seal = SealSpec {
        created: datetime!(2024-01-01 00:00:00 UTC),
        valid_start: datetime!(2024-01-01 00:00:00 UTC),
        valid_end: datetime!(2025-01-01 00:00:00 UTC),
        ..v4_certs.clone()
    };
    add(
        "v4-seal-expired.ses",
        m.sign(zj, &expired_seal, &zj.signer, &m.sign_spec(Version::V4))?,
    );
    let good_seal = seal(&v4_certs, &zj.maker.key, &zj.maker.cert.der, Some(&w.tsa))?;
    let bad_seal = tamper(
        &good_seal,
        SEAL_NAME.as_bytes(),
        b"Zhejiang Test Licence Sea1",
    )?;
    add(
        "v4-maker-signature-invalid.ses",
        signature(
            &m.sign_spec(Version::V4),
            &bad_seal,
            &zj.signer.key,
            &zj.signer.cert.der,
            None,
        )?,
    );
    let bad_stamp = SignSpec {
        timestamp_over: Some(b"not the signature value".to_vec()),
        ..stamped.clone()
    };
    add(
        "v5-bad-timestamp.ses",
        m.sign(zj, &v5, &zj.signer, &bad_stamp)?,
    );

    // Seals alone.
    add("seal-v4-valid.esl", good_seal.clone());
    add("seal-v4-maker-invalid.esl", bad_seal);

    // OFD documents.
    let sign_zj = |xml: &[u8], path: &str| -> Result<(Vec<u8>, Vec<u8>)> {
        let spec = SignSpec {
            data_hash: yrdx_signing::sm3(xml).to_vec(),
            property_info: path.to_owned(),
            ..m.sign_spec(Version::V4)
        };
        let s = seal(&v4_certs, &zj.maker.key, &zj.maker.cert.der, None)?;
        Ok((
            signature(&spec, &s, &zj.signer.key, &zj.signer.cert.der, None)?,
            s,
        ))
    };
    let sign_sh = |xml: &[u8], path: &str| -> Result<(Vec<u8>, Vec<u8>)> {
        let spec = SignSpec {
            data_hash: w.sh.signer.key.digest(xml).to_vec(),
            property_info: path.to_owned(),
            ..m.sign_spec(Version::V4)
        };
        let s = seal(&sh_seal, &w.sh.maker.key, &w.sh.maker.cert.der, None)?;
        Ok((
            signature(&spec, &s, &w.sh.signer.key, &w.sh.signer.cert.der, None)?,
            s,
        ))
    };
    let mut doc = OfdPackage::document("营业执照 杭州示例科技有限公司");
    doc.sign(0, &sign_zj)?;
    add("ofd-valid.ofd", doc.zip()?);
    let mut edited = doc.clone();
    edited.tamper_page("杭州", "宁波")?;
    add("ofd-edited-page.ofd", edited.zip()?);
    let mut replaced = doc.clone();
    let other_seal = SealSpec {
        es_id: "330100000000002".into(),
        ..v4_certs.clone()
    };
    replaced.set(
        "Doc_0/Signs/Sign_0/Seal.esl",
        seal(&other_seal, &zj.maker.key, &zj.maker.cert.der, None)?,
    );
    add("ofd-replaced-seal.ofd", replaced.zip()?);
    let mut two = doc.clone();
    two.sign(1, &sign_sh)?;
    add("ofd-two-signatures.ofd", two.zip()?);

    // Hostile packages.
    let ofd_xml = doc.get("OFD.xml").unwrap_or_default();
    add(
        "zip-path-traversal.ofd",
        zip_entries([
            ("OFD.xml", ofd_xml),
            ("Doc_0/../../evil.xml", b"<x/>".as_slice()),
        ])?,
    );
    add(
        "zip-absolute-path.ofd",
        zip_entries([
            ("OFD.xml", ofd_xml),
            ("/etc/yrdx-evil.xml", b"<x/>".as_slice()),
        ])?,
    );
    let zeros = vec![0u8; 16 * 1024 * 1024];
    add(
        "zip-bomb.ofd",
        zip_entries([
            ("OFD.xml", ofd_xml),
            ("Doc_0/Res/bomb.xml", zeros.as_slice()),
        ])?,
    );
    let names: Vec<String> = (0..1100).map(|i| format!("Doc_0/Res/r{i}.xml")).collect();
    add(
        "zip-too-many-entries.ofd",
        zip_entries(names.iter().map(|n| (n.as_str(), b"".as_slice())))?,
    );
    Ok(out)
}

/// Shared defaults for the vectors.
struct Maker<'w> {
    w: &'w World,
}

impl Maker<'_> {
    fn seal_spec(&self, version: Version, cert_list: CertListSpec) -> SealSpec {
        SealSpec {
            version,
            es_id: "330100000000001".into(),
            name: SEAL_NAME.into(),
            created: datetime!(2025-01-01 00:00:00 UTC),
            valid_start: datetime!(2025-01-01 00:00:00 UTC),
            valid_end: datetime!(2027-01-01 00:00:00 UTC),
            cert_list,
            maker_form: MakerForm::SealInfo,
            v1_generalized_times: false,
            explicit_critical_false: false,
            seal_timestamp: None,
        }
    }

    fn sign_spec(&self, version: Version) -> SignSpec {
        SignSpec::plain(
            version,
            SIGNED_AT,
            yrdx_signing::sm3(DATA.as_bytes()).to_vec(),
            "data.txt".into(),
        )
    }

    /// A seal from `region`'s maker, signed by `signer`.
    fn sign(
        &self,
        region: &RegionPki,
        seal_spec: &SealSpec,
        signer: &Leaf,
        spec: &SignSpec,
    ) -> Result<Vec<u8>> {
        let s = seal(
            seal_spec,
            &region.maker.key,
            &region.maker.cert.der,
            Some(&self.w.tsa),
        )?;
        signature(spec, &s, &signer.key, &signer.cert.der, Some(&self.w.tsa))
    }
}
