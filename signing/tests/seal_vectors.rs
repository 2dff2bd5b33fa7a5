//! Known-answer tests: every vector of `conformance/vectors/seals/` verified at the
//! fixed time its README names, with the exact outcome, deciding step and code.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failing test"
)]

#[macro_use]
mod common;

use time::OffsetDateTime;
use time::macros::datetime;
use yrdx_signing::{
    Asn1ErrorKind, Deviation, MakerSignedForm, OfdError, Outcome, Region, RevocationStatus,
    SealVersion, SignatureEncoding, Step, StepStatus, TimeSource, TrustStore, VerificationReport,
    parse_signature, verify_ofd, verify_seal, verify_signature,
};

const AT: OffsetDateTime = datetime!(2026-01-01 00:00:00 UTC);

const DATA: &[u8] = vector!("data.txt");

/// The seal trust with the timestamp authority's anchor and CRL.
fn trust() -> TrustStore {
    let mut t = common::seal_trust();
    t.add_tsa_anchor(Region::Zj, vector!("trust/tsa-root.der"))
        .unwrap();
    t.add_crl(vector!("trust/tsa-root.crl")).unwrap();
    t
}

#[track_caller]
fn assert_report(
    report: &VerificationReport,
    outcome: Outcome,
    step: Option<Step>,
    code: Option<&str>,
) {
    let json = serde_json::to_string_pretty(report).unwrap();
    assert_eq!(report.outcome(), outcome, "{json}");
    assert_eq!(report.failed_step(), step, "{json}");
    assert_eq!(report.reason().map(|f| f.code()), code, "{json}");
    assert_eq!(
        report.verified_signature().is_some() || report.verified_seal().is_some(),
        outcome == Outcome::Valid
    );
}

#[track_caller]
fn valid(sig: &[u8]) -> VerificationReport {
    let report = verify_signature(sig, DATA, &trust(), AT);
    assert_report(&report, Outcome::Valid, None, None);
    report
}

/// Verifies vector `sig` over DATA with the vectors' trust at AT and checks
/// that it is invalid at `step` with `code`.
#[track_caller]
fn invalid(sig: &[u8], step: Step, code: &str) -> VerificationReport {
    let report = verify_signature(sig, DATA, &trust(), AT);
    assert_report(&report, Outcome::Invalid, Some(step), Some(code));
    report
}

/// Verifies vector `sig` over DATA with the vectors' trust at AT and checks
/// that it is indeterminate at `step` with `code`.
#[track_caller]
fn indeterminate(sig: &[u8], step: Step, code: &str) -> VerificationReport {
    let report = verify_signature(sig, DATA, &trust(), AT);
    assert_report(&report, Outcome::Indeterminate, Some(step), Some(code));
    report
}

#[track_caller]
fn step_status(report: &VerificationReport, step: Step) -> StepStatus {
    report
        .steps()
        .iter()
        .find(|s| s.step == step)
        .unwrap()
        .status
}

#[test]
fn v1_valid() {
    let r = valid(vector!("v1-valid.ses"));
    let d = r.details();
    assert_eq!(d.version, Some(SealVersion::V1));
    assert_eq!(d.maker_signed_form, Some(MakerSignedForm::V1Sequence));
    assert_eq!(d.signature_encoding, Some(SignatureEncoding::Der));
    assert!(d.deviations.is_empty());
    assert_eq!(d.signing_time_source, Some(TimeSource::TimeInfo));
    assert_eq!(d.signing_time, Some(datetime!(2025-06-01 08:00:00 UTC)));
    // The signer's SM2 key is written with the SM2 OID as algorithm.
    assert!(d.signer.as_deref().unwrap().contains("SM2-OID"));
    let v = r.verified_signature().unwrap();
    assert_eq!(v.signer_region(), Region::Zj);
    assert_eq!(v.seal_id(), "330100000000001");
}

#[test]
fn v4_certificate_list_valid() {
    let r = valid(vector!("v4-certlist-valid.ses"));
    let d = r.details();
    assert_eq!(d.version, Some(SealVersion::V4));
    assert_eq!(d.cert_list_type, Some("certificates"));
    assert_eq!(d.maker_signed_form, Some(MakerSignedForm::SealInfo));
    assert_eq!(step_status(&r, Step::Timestamp), StepStatus::NotApplicable);
    let chain = d.signer_chain.as_ref().unwrap();
    assert_eq!(chain.subjects.len(), 3, "leaf, issuing CA, root");
    assert!(
        chain
            .revocation
            .iter()
            .all(|n| n.status == RevocationStatus::Good)
    );
    let summary = serde_json::to_value(r.summary()).unwrap();
    assert_eq!(summary["result"], "valid");
    assert_eq!(summary["seal_id"], "330100000000001");
    assert_eq!(summary["signing_time"], "2025-06-01T08:00:00Z");
}

#[test]
fn v4_digest_list_valid() {
    let r = valid(vector!("v4-digestlist-valid.ses"));
    assert_eq!(r.details().cert_list_type, Some("digests"));
}

#[test]
fn v5_with_timestamp_valid() {
    let r = valid(vector!("v5-timestamp-valid.ses"));
    let d = r.details();
    assert_eq!(d.version, Some(SealVersion::V5));
    assert_eq!(d.signing_time_source, Some(TimeSource::Timestamp));
    assert_eq!(d.signing_time, Some(datetime!(2025-06-01 08:00:05 UTC)));
    assert_eq!(
        d.seal_timestamp_time,
        Some(datetime!(2025-01-01 00:00:10 UTC))
    );
    assert_eq!(step_status(&r, Step::Timestamp), StepStatus::Passed);
    assert_eq!(
        r.verified_signature().unwrap().signing_time_source(),
        TimeSource::Timestamp
    );
}

#[test]
fn p256_seal_valid() {
    let r = valid(vector!("v4-p256-valid.ses"));
    assert_eq!(r.verified_signature().unwrap().signer_region(), Region::Sh);
    assert_eq!(
        r.details().digest_algorithm.map(|h| h.name()),
        Some("sha256")
    );
    // Shanghai does not require CRLs, and its CRL lists nothing.
    assert!(
        r.details()
            .signer_chain
            .as_ref()
            .unwrap()
            .revocation
            .iter()
            .all(|n| n.status == RevocationStatus::Good)
    );
}

#[test]
fn sm2_raw_r_s_valid_and_reported() {
    let r = valid(vector!("v4-sm2-raw-rs.ses"));
    assert_eq!(
        r.details().signature_encoding,
        Some(SignatureEncoding::RawRs)
    );
}

#[test]
fn maker_v1_form_in_v4_valid_and_reported() {
    let r = valid(vector!("v4-maker-v1-form.ses"));
    assert_eq!(
        r.details().maker_signed_form,
        Some(MakerSignedForm::V1Sequence)
    );
}

#[test]
fn revoked_after_signing_is_still_valid() {
    let r = valid(vector!("v4-revoked-after-signing.ses"));
    let leaf = r
        .details()
        .signer_chain
        .as_ref()
        .unwrap()
        .revocation
        .first()
        .unwrap()
        .status;
    assert_eq!(
        leaf,
        RevocationStatus::RevokedAfter {
            at: datetime!(2025-08-01 00:00:00 UTC)
        }
    );
}

#[test]
fn deviations_are_tolerated_and_reported() {
    let r = valid(vector!("v1-dev-octet-strings.ses"));
    assert_eq!(
        r.details().deviations,
        vec![
            Deviation::OctetStringForBitString {
                field: "TBS_Sign.timeInfo"
            },
            Deviation::OctetStringForBitString {
                field: "TBS_Sign.dataHash"
            },
        ]
    );
    let r = valid(vector!("v1-dev-generalized-time.ses"));
    let d = &r.details().deviations;
    assert!(d.contains(&Deviation::GeneralizedTimeInV1 {
        field: "SES_ESPropertyInfo.validEnd"
    }));
    assert!(d.contains(&Deviation::GeneralizedTimeInV1 {
        field: "TBS_Sign.timeInfo"
    }));
    let r = valid(vector!("v4-dev-octet-datahash.ses"));
    assert_eq!(
        r.details().deviations,
        vec![Deviation::OctetStringForBitString {
            field: "TBS_Sign.dataHash"
        }]
    );
    let r = valid(vector!("v4-dev-critical-false.ses"));
    assert_eq!(
        r.details().deviations,
        vec![
            Deviation::ExplicitCriticalFalse {
                field: "SES_SealInfo.extDatas",
                index: 0
            },
            Deviation::ExplicitCriticalFalse {
                field: "TBS_Sign.extDatas",
                index: 0
            },
        ]
    );
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(
        json["details"]["deviations"][0]["kind"],
        "explicit_critical_false"
    );
}

#[test]
fn malformed_der_fails_parse() {
    let r = invalid(vector!("malformed.ses"), Step::Parse, "malformed");
    assert!(
        r.steps()
            .iter()
            .skip(1)
            .all(|s| s.status == StepStatus::Skipped)
    );
}

#[test]
fn truncated_input_fails_parse_as_truncated() {
    invalid(vector!("truncated.ses"), Step::Parse, "malformed");
    assert_eq!(
        parse_signature(vector!("truncated.ses")).unwrap_err().kind,
        Asn1ErrorKind::Truncated
    );
}

#[test]
fn tampered_seal_info_fails_signer_signature() {
    let r = invalid(
        vector!("v4-tampered-seal-info.ses"),
        Step::SignerSignature,
        "signer_signature_invalid",
    );
    // The maker's signature is broken too; the report shows it.
    assert_eq!(step_status(&r, Step::Seal), StepStatus::Failed);
}

#[test]
fn signer_outside_validity_fails_signer_certificate() {
    invalid(
        vector!("v4-signer-expired.ses"),
        Step::SignerCertificate,
        "certificate_expired",
    );
}

#[test]
fn revoked_before_signing_fails_signer_certificate() {
    invalid(
        vector!("v4-signer-revoked.ses"),
        Step::SignerCertificate,
        "certificate_revoked",
    );
}

#[test]
fn untrusted_anchor_is_indeterminate() {
    indeterminate(
        vector!("v4-untrusted-anchor.ses"),
        Step::SignerCertificate,
        "unknown_anchor",
    );
    // Trusting the rogue root moves the chain on: it now fails only on revocation.
    let mut t = trust();
    t.add_seal_anchor(Region::Zj, vector!("untrusted-root.der"))
        .unwrap();
    let r = verify_signature(vector!("v4-untrusted-anchor.ses"), DATA, &t, AT);
    // The rogue root has no CRL and zj requires one.
    assert_report(
        &r,
        Outcome::Indeterminate,
        Some(Step::SignerCertificate),
        Some("revocation_unknown"),
    );
}

#[test]
fn missing_required_crl_is_indeterminate() {
    let mut t = TrustStore::new();
    t.add_seal_anchor(Region::Zj, vector!("trust/zj-seal-root.der"))
        .unwrap();
    t.add_intermediate(vector!("trust/zj-seal-ca.der")).unwrap();
    t.require_crls(Region::Zj);
    let r = verify_signature(vector!("v4-certlist-valid.ses"), DATA, &t, AT);
    assert_report(
        &r,
        Outcome::Indeterminate,
        Some(Step::SignerCertificate),
        Some("revocation_unknown"),
    );
    // Without the requirement the same chain passes, revocation not checked.
    let mut t = TrustStore::new();
    t.add_seal_anchor(Region::Zj, vector!("trust/zj-seal-root.der"))
        .unwrap();
    t.add_intermediate(vector!("trust/zj-seal-ca.der")).unwrap();
    let r = verify_signature(vector!("v4-certlist-valid.ses"), DATA, &t, AT);
    assert_report(&r, Outcome::Valid, None, None);
    assert!(
        r.details()
            .signer_chain
            .as_ref()
            .unwrap()
            .revocation
            .iter()
            .all(|n| n.status == RevocationStatus::NotChecked)
    );
}

#[test]
fn stale_crl_is_indeterminate() {
    // Past the CRLs' nextUpdate (2027-01-01) revocation is unknown.
    let r = verify_signature(
        vector!("v4-certlist-valid.ses"),
        DATA,
        &trust(),
        datetime!(2027-06-01 00:00:00 UTC),
    );
    assert_report(
        &r,
        Outcome::Indeterminate,
        Some(Step::SignerCertificate),
        Some("revocation_unknown"),
    );
}

#[test]
fn wrong_signer_fails_binding() {
    invalid(
        vector!("v4-wrong-signer.ses"),
        Step::SignerBinding,
        "signer_not_in_cert_list",
    );
}

#[test]
fn tampered_data_fails_data_hash() {
    let r = verify_signature(
        vector!("v4-certlist-valid.ses"),
        vector!("data-tampered.txt"),
        &trust(),
        AT,
    );
    assert_report(
        &r,
        Outcome::Invalid,
        Some(Step::DataHash),
        Some("data_hash_mismatch"),
    );
}

#[test]
fn seal_expired_at_signing_time_fails_seal() {
    invalid(vector!("v4-seal-expired.ses"), Step::Seal, "seal_expired");
}

#[test]
fn invalid_maker_signature_fails_seal() {
    let r = invalid(
        vector!("v4-maker-signature-invalid.ses"),
        Step::Seal,
        "maker_signature_invalid",
    );
    assert_eq!(step_status(&r, Step::SignerSignature), StepStatus::Passed);
}

#[test]
fn bad_timestamp_fails_timestamp() {
    let r = invalid(
        vector!("v5-bad-timestamp.ses"),
        Step::Timestamp,
        "timestamp_invalid",
    );
    // The signing time falls back to the signer's claim.
    assert_eq!(r.details().signing_time_source, Some(TimeSource::TimeInfo));
}

#[test]
fn timestamp_from_an_untrusted_tsa_is_indeterminate() {
    let mut t = TrustStore::new();
    t.add_seal_anchor(Region::Zj, vector!("trust/zj-seal-root.der"))
        .unwrap();
    t.add_intermediate(vector!("trust/zj-seal-ca.der")).unwrap();
    t.add_crl(vector!("trust/zj-seal-root.crl")).unwrap();
    t.add_crl(vector!("trust/zj-seal-ca.crl")).unwrap();
    let r = verify_signature(vector!("v5-timestamp-valid.ses"), DATA, &t, AT);
    assert_report(
        &r,
        Outcome::Indeterminate,
        Some(Step::Timestamp),
        Some("unknown_anchor"),
    );
}

#[test]
fn seal_alone() {
    let r = verify_seal(vector!("seal-v4-valid.esl"), &trust(), AT);
    assert_report(&r, Outcome::Valid, None, None);
    let seal = r.verified_seal().unwrap();
    assert_eq!(seal.region(), Region::Zj);
    assert_eq!(seal.seal_name(), "Zhejiang Test Licence Seal");
    assert_eq!(
        step_status(&r, Step::SignerSignature),
        StepStatus::NotApplicable
    );
    let r = verify_seal(vector!("seal-v4-maker-invalid.esl"), &trust(), AT);
    assert_report(
        &r,
        Outcome::Invalid,
        Some(Step::Seal),
        Some("maker_signature_invalid"),
    );
    // Checked after validEnd, the good seal has expired.
    let r = verify_seal(
        vector!("seal-v4-valid.esl"),
        &trust(),
        datetime!(2027-02-01 00:00:00 UTC),
    );
    assert_eq!(r.failed_step(), Some(Step::Seal));
}

#[test]
fn ofd_valid() {
    let report = verify_ofd(vector!("ofd-valid.ofd"), &trust(), AT).unwrap();
    assert_eq!(report.outcome(), Outcome::Valid);
    let [sig] = report.signatures.as_slice() else {
        panic!("one signature")
    };
    assert_eq!(sig.signature_xml, "Doc_0/Signs/Sign_0/Signature.xml");
    assert!(sig.property_info_matches);
    assert_eq!(sig.references.len(), 3);
    assert!(sig.references.iter().all(|r| r.status == "ok"));
    assert_eq!(
        sig.seal_file.as_deref(),
        Some("Doc_0/Signs/Sign_0/Seal.esl")
    );
    assert_report(&sig.report, Outcome::Valid, None, None);
}

#[test]
fn ofd_edited_page_fails_data_hash() {
    let report = verify_ofd(vector!("ofd-edited-page.ofd"), &trust(), AT).unwrap();
    assert_eq!(report.outcome(), Outcome::Invalid);
    let sig = report.signatures.first().unwrap();
    assert_report(
        &sig.report,
        Outcome::Invalid,
        Some(Step::DataHash),
        Some("reference_mismatch"),
    );
    assert_eq!(
        sig.references
            .iter()
            .filter(|r| r.status == "mismatch")
            .count(),
        1
    );
}

#[test]
fn ofd_replaced_seal_file_fails_seal() {
    let report = verify_ofd(vector!("ofd-replaced-seal.ofd"), &trust(), AT).unwrap();
    let sig = report.signatures.first().unwrap();
    assert_report(
        &sig.report,
        Outcome::Invalid,
        Some(Step::Seal),
        Some("seal_file_mismatch"),
    );
}

#[test]
fn ofd_two_signatures_one_report_each() {
    let report = verify_ofd(vector!("ofd-two-signatures.ofd"), &trust(), AT).unwrap();
    assert_eq!(report.outcome(), Outcome::Valid);
    assert_eq!(report.signatures.len(), 2);
    let regions: Vec<Region> = report
        .signatures
        .iter()
        .map(|s| s.report.verified_signature().unwrap().signer_region())
        .collect();
    assert_eq!(regions, vec![Region::Zj, Region::Sh]);
    assert_eq!(report.summaries().len(), 2);
    // Trusting Zhejiang's anchors only, the Shanghai signature has no anchor.
    let zj_only = verify_ofd(
        vector!("ofd-two-signatures.ofd"),
        &trust().for_region(Region::Zj),
        AT,
    )
    .unwrap();
    assert_eq!(zj_only.outcome(), Outcome::Indeterminate);
    assert_report(
        &zj_only.signatures[1].report,
        Outcome::Indeterminate,
        Some(Step::SignerCertificate),
        Some("unknown_anchor"),
    );
}

#[test]
fn hostile_zips_are_refused() {
    let t = trust();
    assert!(matches!(
        verify_ofd(vector!("zip-path-traversal.ofd"), &t, AT),
        Err(OfdError::UnsafePath { .. })
    ));
    assert!(matches!(
        verify_ofd(vector!("zip-absolute-path.ofd"), &t, AT),
        Err(OfdError::UnsafePath { .. })
    ));
    assert!(matches!(
        verify_ofd(vector!("zip-bomb.ofd"), &t, AT),
        Err(OfdError::CompressionRatio { .. })
    ));
    assert!(matches!(
        verify_ofd(vector!("zip-too-many-entries.ofd"), &t, AT),
        Err(OfdError::TooManyEntries {
            count: 1100,
            max: 1024
        })
    ));
}

#[test]
fn report_json_names_every_step() {
    let r = verify_signature(vector!("v4-wrong-signer.ses"), DATA, &trust(), AT);
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["result"], "invalid");
    assert_eq!(json["failed_step"], "signer_binding");
    let steps = json["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 7);
    assert_eq!(steps[3]["status"], "failed");
    assert_eq!(steps[3]["number"], 4);
    assert_eq!(steps[1]["status"], "passed");
}

#[test]
fn a_crl_with_a_broken_signature_is_not_used() {
    let mut crl = vector!("trust/zj-seal-ca.crl").to_vec();
    let last = crl.len() - 1;
    crl[last] ^= 0x01;
    let mut t = TrustStore::new();
    t.add_seal_anchor(Region::Zj, vector!("trust/zj-seal-root.der"))
        .unwrap();
    t.add_intermediate(vector!("trust/zj-seal-ca.der")).unwrap();
    t.add_crl(vector!("trust/zj-seal-root.crl")).unwrap();
    t.add_crl(&crl).unwrap();
    t.require_crls(Region::Zj);
    // Twice: the second run goes through the store's cache of verified links.
    for _ in 0..2 {
        let r = verify_signature(vector!("v4-signer-revoked.ses"), DATA, &t, AT);
        assert_report(
            &r,
            Outcome::Indeterminate,
            Some(Step::SignerCertificate),
            Some("revocation_unknown"),
        );
        assert!(
            r.reason().unwrap().to_string().contains("does not verify"),
            "{:?}",
            r.reason()
        );
    }
    // Adding the good CRL afterwards resets the cache and revocation is known again.
    t.add_crl(vector!("trust/zj-seal-ca.crl")).unwrap();
    let r = verify_signature(vector!("v4-signer-revoked.ses"), DATA, &t, AT);
    assert_report(
        &r,
        Outcome::Invalid,
        Some(Step::SignerCertificate),
        Some("certificate_revoked"),
    );
}
