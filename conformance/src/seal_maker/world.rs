//! The fixed test world the vectors are made in: who exists, with which keys and
//! certificates, and when things happen.
//!
//! - Zhejiang (`zj`): SM2. Seal root CA → seal issuing CA → seal maker and signers.
//!   CRLs from both CAs; the trust configuration requires them.
//! - Shanghai (`sh`): ECDSA P-256. Seal root CA → seal maker and signer. A CRL
//!   exists but is not required.
//! - A timestamp authority (SM2) under its own root, trusted as a `zj` TSA anchor.
//! - An untrusted SM2 root with a signer of its own.

use time::OffsetDateTime;
use time::macros::datetime;

use super::Result;
use super::der_enc::name;
use super::pki::{CertSpec, Issued, KeyAlg, SpkiForm, TestKey, crl, issue, usage};
use super::tsa::Tsa;

/// The time every vector is verified at.
pub const VERIFY_AT: OffsetDateTime = datetime!(2026-01-01 00:00:00 UTC);
/// The signers' timeInfo.
pub const SIGNED_AT: OffsetDateTime = datetime!(2025-06-01 08:00:00 UTC);
/// The TSA's time for timestamped vectors.
pub const STAMPED_AT: OffsetDateTime = datetime!(2025-06-01 08:00:05 UTC);

const CA_FROM: OffsetDateTime = datetime!(2024-01-01 00:00:00 UTC);
const CA_TO: OffsetDateTime = datetime!(2044-01-01 00:00:00 UTC);
const LEAF_FROM: OffsetDateTime = datetime!(2024-01-01 00:00:00 UTC);
const LEAF_TO: OffsetDateTime = datetime!(2028-01-01 00:00:00 UTC);
const CRL_THIS: OffsetDateTime = datetime!(2025-09-01 00:00:00 UTC);
const CRL_NEXT: OffsetDateTime = datetime!(2027-01-01 00:00:00 UTC);
/// Revocation date of the signer revoked before signing.
pub const REVOKED_EARLY: OffsetDateTime = datetime!(2025-03-01 00:00:00 UTC);
/// Revocation date of the signer revoked after signing.
pub const REVOKED_LATE: OffsetDateTime = datetime!(2025-08-01 00:00:00 UTC);

/// A leaf certificate with its key.
#[derive(Clone, Debug)]
pub struct Leaf {
    /// The key.
    pub key: TestKey,
    /// The certificate.
    pub cert: Issued,
}

/// One region's seal PKI.
#[derive(Clone, Debug)]
pub struct RegionPki {
    /// Root key.
    pub root_key: TestKey,
    /// Root certificate (the seal anchor).
    pub root: Issued,
    /// Issuing CA below the root, if the region has one.
    pub ca: Option<Leaf>,
    /// The seal maker.
    pub maker: Leaf,
    /// The usual signer.
    pub signer: Leaf,
    /// CRLs of the region's CAs.
    pub crls: Vec<Vec<u8>>,
}

impl RegionPki {
    /// The key and certificate that issue leaves.
    fn issuer(&self) -> (&TestKey, &Issued) {
        match &self.ca {
            Some(ca) => (&ca.key, &ca.cert),
            None => (&self.root_key, &self.root),
        }
    }

    /// Issues a signer certificate under this region.
    pub fn leaf(
        &self,
        cn: &str,
        serial: u64,
        from: OffsetDateTime,
        to: OffsetDateTime,
        form: SpkiForm,
    ) -> Result<Leaf> {
        let key = TestKey::from_seed(self.root_key.alg(), &format!("yrdx-test-seal-key:{cn}"))?;
        let (issuer_key, issuer) = self.issuer();
        let spec = CertSpec {
            serial,
            subject: name("CN", "yrdx test seal PKI", cn)?,
            not_before: from,
            not_after: to,
            ca: None,
            key_usage: usage::DIGITAL_SIGNATURE | usage::NON_REPUDIATION,
            time_stamping: false,
            spki_form: form,
        };
        Ok(Leaf {
            cert: issue(&spec, &key, &issuer.subject, issuer_key)?,
            key,
        })
    }

    /// A region's seal PKI: a root (with an issuing CA below it when `with_ca`),
    /// a seal maker and a licence signer, keys seeded from `region`.
    pub fn build(region: &str, alg: KeyAlg, with_ca: bool) -> Result<RegionPki> {
        let root_key = TestKey::from_seed(alg, &format!("yrdx-test-seal-key:{region}-root"))?;
        let root_name = name(
            "CN",
            "yrdx test seal PKI",
            &format!("{region} Seal Root CA"),
        )?;
        let root = issue(
            &ca_spec(1, root_name.clone(), None),
            &root_key,
            &root_name,
            &root_key,
        )?;
        let ca = if with_ca {
            let key = TestKey::from_seed(alg, &format!("yrdx-test-seal-key:{region}-ca"))?;
            let cert = issue(
                &ca_spec(
                    2,
                    name(
                        "CN",
                        "yrdx test seal PKI",
                        &format!("{region} Seal Issuing CA"),
                    )?,
                    Some(0),
                ),
                &key,
                &root.subject,
                &root_key,
            )?;
            Some(Leaf { key, cert })
        } else {
            None
        };
        let mut pki = RegionPki {
            maker: Leaf {
                key: root_key.clone(),
                cert: root.clone(),
            },
            signer: Leaf {
                key: root_key.clone(),
                cert: root.clone(),
            },
            root_key,
            root,
            ca,
            crls: Vec::new(),
        };
        pki.maker = pki.leaf(
            &format!("{region} Seal Maker"),
            0x100,
            LEAF_FROM,
            LEAF_TO,
            SpkiForm::EcPublicKey,
        )?;
        pki.signer = pki.leaf(
            &format!("{region} Licence Signer"),
            0x1001,
            LEAF_FROM,
            LEAF_TO,
            SpkiForm::EcPublicKey,
        )?;
        Ok(pki)
    }
}

/// Everyone in the test world.
#[derive(Clone, Debug)]
pub struct World {
    /// Zhejiang, SM2, with an issuing CA; CRLs required.
    pub zj: RegionPki,
    /// Shanghai, P-256.
    pub sh: RegionPki,
    /// A zj signer not listed in the seals' certList.
    pub other_signer: Leaf,
    /// A zj signer whose certificate expired before the signing time.
    pub expired_signer: Leaf,
    /// A zj signer revoked before the signing time.
    pub revoked_signer: Leaf,
    /// A zj signer revoked after the signing time.
    pub late_revoked_signer: Leaf,
    /// A zj signer whose SM2 key is written with the SM2 OID as algorithm.
    pub sm2_oid_signer: Leaf,
    /// A signer under an untrusted root.
    pub rogue_signer: Leaf,
    /// The untrusted root.
    pub rogue_root: Issued,
    /// The timestamp authority.
    pub tsa: Tsa,
    /// Its root.
    pub tsa_root: Issued,
    /// The TSA root's CRL.
    pub tsa_crl: Vec<u8>,
}

impl World {
    /// Builds the world; the same every time.
    pub fn new() -> Result<World> {
        let mut zj = RegionPki::build("Zhejiang", KeyAlg::Sm2, true)?;
        let mut sh = RegionPki::build("Shanghai", KeyAlg::P256, false)?;
        let other_signer = zj.leaf(
            "Zhejiang Other Signer",
            0x1002,
            LEAF_FROM,
            LEAF_TO,
            SpkiForm::EcPublicKey,
        )?;
        let expired_signer = zj.leaf(
            "Zhejiang Expired Signer",
            0x1003,
            datetime!(2023-01-01 00:00:00 UTC),
            datetime!(2024-12-31 23:59:59 UTC),
            SpkiForm::EcPublicKey,
        )?;
        let revoked_signer = zj.leaf(
            "Zhejiang Revoked Signer",
            0x1004,
            LEAF_FROM,
            LEAF_TO,
            SpkiForm::EcPublicKey,
        )?;
        let late_revoked_signer = zj.leaf(
            "Zhejiang Late Revoked Signer",
            0x1005,
            LEAF_FROM,
            LEAF_TO,
            SpkiForm::EcPublicKey,
        )?;
        let sm2_oid_signer = zj.leaf(
            "Zhejiang SM2-OID Signer",
            0x1006,
            LEAF_FROM,
            LEAF_TO,
            SpkiForm::Sm2Oid,
        )?;

        // CRLs: the issuing CA revokes two signers; the roots revoke nothing.
        let zj_ca = zj.ca.clone();
        if let Some(ca) = &zj_ca {
            zj.crls
                .push(crl(&zj.root, &zj.root_key, CRL_THIS, CRL_NEXT, &[])?);
            zj.crls.push(crl(
                &ca.cert,
                &ca.key,
                CRL_THIS,
                CRL_NEXT,
                &[(0x1004, REVOKED_EARLY), (0x1005, REVOKED_LATE)],
            )?);
        }
        sh.crls
            .push(crl(&sh.root, &sh.root_key, CRL_THIS, CRL_NEXT, &[])?);

        let rogue = RegionPki::build("Untrusted", KeyAlg::Sm2, false)?;
        let rogue_signer = rogue.leaf(
            "Untrusted Signer",
            0x2001,
            LEAF_FROM,
            LEAF_TO,
            SpkiForm::EcPublicKey,
        )?;

        let tsa_root_key = TestKey::from_seed(KeyAlg::Sm2, "yrdx-test-seal-key:tsa-root")?;
        let tsa_root_name = name("CN", "yrdx test TSA", "Test TSA Root")?;
        let tsa_root = issue(
            &ca_spec(1, tsa_root_name.clone(), Some(0)),
            &tsa_root_key,
            &tsa_root_name,
            &tsa_root_key,
        )?;
        let tsa_key = TestKey::from_seed(KeyAlg::Sm2, "yrdx-test-seal-key:tsa")?;
        let tsa_cert = issue(
            &CertSpec {
                serial: 0x30,
                subject: name("CN", "yrdx test TSA", "Test Timestamp Authority")?,
                not_before: LEAF_FROM,
                not_after: LEAF_TO,
                ca: None,
                key_usage: usage::DIGITAL_SIGNATURE | usage::NON_REPUDIATION,
                time_stamping: true,
                spki_form: SpkiForm::EcPublicKey,
            },
            &tsa_key,
            &tsa_root_name,
            &tsa_root_key,
        )?;
        let tsa_crl = crl(&tsa_root, &tsa_root_key, CRL_THIS, CRL_NEXT, &[])?;
        Ok(World {
            zj,
            sh,
            other_signer,
            expired_signer,
            revoked_signer,
            late_revoked_signer,
            sm2_oid_signer,
            rogue_signer,
            rogue_root: rogue.root,
            tsa: Tsa {
                key: tsa_key,
                cert: tsa_cert,
            },
            tsa_root,
            tsa_crl,
        })
    }
}

/// The spec of a CA certificate: the CA validity, certificate and CRL signing,
/// `path_len` CAs allowed below it (`None`: no limit).
fn ca_spec(serial: u64, subject: Vec<u8>, path_len: Option<u8>) -> CertSpec {
    CertSpec {
        serial,
        subject,
        not_before: CA_FROM,
        not_after: CA_TO,
        ca: Some(path_len),
        key_usage: usage::KEY_CERT_SIGN | usage::CRL_SIGN,
        time_stamping: false,
        spki_form: SpkiForm::EcPublicKey,
    }
}
