//! Known-answer tests: every vector of `conformance/vectors/bills/` verified at
//! the time its README names, with the exact outcome, deciding step and code;
//! then hostile and mutated input, which must be refused without a panic.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failing test"
)]

use std::path::PathBuf;

use proptest::prelude::*;
use time::OffsetDateTime;
use time::macros::datetime;
use yrdx_signing::bill::{Amount, BillKind, BillStep, BillTrust, parse_bill};
use yrdx_signing::{
    BillReport, Outcome, Region, StepStatus, TrustStore, verify_bill, verify_bill_ofd,
};

const AT: OffsetDateTime = datetime!(2026-02-01 00:00:00 UTC);

fn dir(sub: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../conformance/vectors")
        .join(sub)
}

fn bills(name: &str) -> Vec<u8> {
    std::fs::read(dir("bills").join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn trust() -> BillTrust {
    let mut t = BillTrust::new();
    for region in Region::ALL {
        let c = region.code();
        t.add_anchor(region, &bills(&format!("trust/{c}-bill-root.der")))
            .unwrap();
        t.add_crl(region, &bills(&format!("trust/{c}-bill-root.crl")))
            .unwrap();
        for leaf in ["unit", "revoked-unit", "finance", "tax"] {
            t.add_certificate(region, &bills(&format!("trust/{c}-{leaf}.der")))
                .unwrap();
        }
        t.require_crls(region);
    }
    t
}

fn seal_trust() -> TrustStore {
    let seals = |n: &str| std::fs::read(dir("seals").join(n)).unwrap();
    let mut t = TrustStore::new();
    t.add_seal_anchor(Region::Zj, &seals("trust/zj-seal-root.der"))
        .unwrap();
    t.add_intermediate(&seals("trust/zj-seal-ca.der")).unwrap();
    t.add_crl(&seals("trust/zj-seal-root.crl")).unwrap();
    t.add_crl(&seals("trust/zj-seal-ca.crl")).unwrap();
    t
}

#[track_caller]
fn expect(name: &str, outcome: Outcome, step: Option<BillStep>, code: Option<&str>) -> BillReport {
    let report = verify_bill(&bills(name), &trust(), AT);
    check(name, &report, outcome, step, code);
    report
}

#[track_caller]
fn check(
    name: &str,
    report: &BillReport,
    outcome: Outcome,
    step: Option<BillStep>,
    code: Option<&str>,
) {
    let json = serde_json::to_string_pretty(report).unwrap();
    assert_eq!(report.outcome(), outcome, "{name}: {json}");
    assert_eq!(report.failed_step(), step, "{name}: {json}");
    assert_eq!(report.reason().map(|f| f.code()), code, "{name}: {json}");
    assert_eq!(
        report.verified().is_some(),
        outcome == Outcome::Valid,
        "{name}"
    );
}

#[test]
fn fiscal_valid() {
    let r = expect("fiscal-valid.xml", Outcome::Valid, None, None);
    let v = r.verified().unwrap();
    assert_eq!(v.region(), Region::Js);
    assert_eq!(v.facts().kind, BillKind::Fiscal);
    assert_eq!(v.facts().key.to_string(), "32010125-0000000001");
    assert_eq!(v.facts().total, Amount::parse("256.8").unwrap());
    assert_eq!(v.facts().check_code.as_deref(), Some("235456"));
    assert!(!v.facts().red);
    assert!(v.issuer_signer().contains("Jiangsu Issuing Unit"));
    assert!(
        v.supervisor_signer()
            .unwrap()
            .contains("Jiangsu Finance Department")
    );
    let form = r.details().supervisor_form.unwrap();
    assert_eq!((form.hash, form.signature), ("raw", "element"));
    assert_eq!(r.details().einvoice_id_matches, Some(true));
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["result"], "valid");
    assert_eq!(json["bill"]["total"], "256.80");
    assert_eq!(json["steps"][6]["status"], "not_applicable");
    // The summary for the log leaves the payer (a person) out.
    let summary = serde_json::to_string(&r.summary()).unwrap();
    assert!(!summary.contains("张三"), "{summary}");
}

#[test]
fn fiscal_supervision_in_the_other_form_is_found() {
    let r = expect(
        "fiscal-supervision-hex-value.xml",
        Outcome::Valid,
        None,
        None,
    );
    let form = r.details().supervisor_form.unwrap();
    assert_eq!((form.hash, form.signature), ("hex", "value"));
}

#[test]
fn fiscal_red_bill_is_valid_and_red() {
    let r = expect("fiscal-red.xml", Outcome::Valid, None, None);
    let facts = r.verified().unwrap().facts();
    assert!(facts.red);
    assert_eq!(
        facts.reverses.as_ref().map(ToString::to_string).as_deref(),
        Some("32010125-0000000001")
    );
}

#[test]
fn fiscal_failures_stop_at_their_step() {
    use BillStep::*;
    let invalid = Outcome::Invalid;
    let r = expect(
        "fiscal-tampered-amount.xml",
        invalid,
        Some(IssuerSignature),
        Some("signature_invalid"),
    );
    // The supervision signature covers the unit's content too.
    assert_eq!(r.steps()[4].status, StepStatus::Failed);
    expect(
        "fiscal-tampered-supervision.xml",
        invalid,
        Some(SupervisorSignature),
        Some("signature_invalid"),
    );
    expect(
        "fiscal-wrong-key.xml",
        invalid,
        Some(IssuerSignature),
        Some("signature_invalid"),
    );
    expect(
        "fiscal-revoked-unit.xml",
        invalid,
        Some(IssuerCertificate),
        Some("certificate_revoked"),
    );
    expect(
        "fiscal-supervisor-other-region.xml",
        invalid,
        Some(SupervisorCertificate),
        Some("supervisor_region_mismatch"),
    );
    expect(
        "fiscal-area-mismatch.xml",
        invalid,
        Some(Identifiers),
        Some("identifiers_inconsistent"),
    );
    expect(
        "fiscal-doctype.xml",
        invalid,
        Some(Parse),
        Some("malformed"),
    );
    expect(
        "fiscal-gbk-declared.xml",
        invalid,
        Some(Parse),
        Some("malformed"),
    );
}

#[test]
fn fiscal_undecidable_is_indeterminate() {
    use BillStep::*;
    let r = expect(
        "fiscal-unknown-certificate.xml",
        Outcome::Indeterminate,
        Some(IssuerSignature),
        Some("certificate_not_found"),
    );
    assert_eq!(
        r.steps()[4].status,
        StepStatus::Passed,
        "the supervision still verifies"
    );
    expect(
        "fiscal-outside-federation.xml",
        Outcome::Indeterminate,
        Some(Identifiers),
        Some("region_not_in_federation"),
    );
    // With no trust at all, a good bill is indeterminate, never valid.
    let r = verify_bill(&bills("fiscal-valid.xml"), &BillTrust::new(), AT);
    assert_eq!(r.outcome(), Outcome::Indeterminate);
    // Before the bill was signed (beyond the clock skew allowed), it fails.
    let r = verify_bill(
        &bills("fiscal-valid.xml"),
        &trust(),
        datetime!(2026-01-01 00:00:00 UTC),
    );
    assert_eq!(r.failed_step(), Some(BillStep::IssuerCertificate));
    assert_eq!(r.reason().map(|f| f.code()), Some("signing_time_in_future"));
}

#[test]
fn sdfp_vectors() {
    use BillStep::*;
    let r = expect("sdfp-valid.xml", Outcome::Valid, None, None);
    let v = r.verified().unwrap();
    assert_eq!(v.region(), Region::Zj);
    assert_eq!(v.facts().kind, BillKind::Sdfp);
    assert_eq!(v.facts().total, Amount::parse("1060").unwrap());
    assert_eq!(r.steps()[4].status, StepStatus::NotApplicable);
    assert_eq!(r.details().references.len(), 5);
    expect(
        "sdfp-tampered-amount.xml",
        Outcome::Invalid,
        Some(IssuerSignature),
        Some("signature_invalid"),
    );
    expect(
        "sdfp-unsigned-data.xml",
        Outcome::Invalid,
        Some(IssuerSignature),
        Some("unsigned_content"),
    );
    expect(
        "sdfp-number-mismatch.xml",
        Outcome::Invalid,
        Some(Identifiers),
        Some("identifiers_inconsistent"),
    );
}

#[test]
fn sdfp_in_ofd() {
    let r = verify_bill_ofd(&bills("sdfp-valid.ofd"), &trust(), &seal_trust(), AT).unwrap();
    check("sdfp-valid.ofd", &r, Outcome::Valid, None, None);
    assert_eq!(
        r.details().ofd_entry.as_deref(),
        Some("Doc_0/Attachs/invoice.xml")
    );
    assert_eq!(r.details().ofd_seals.len(), 1);
    let r = verify_bill_ofd(&bills("sdfp-tampered.ofd"), &trust(), &seal_trust(), AT).unwrap();
    check(
        "sdfp-tampered.ofd",
        &r,
        Outcome::Invalid,
        Some(BillStep::IssuerSignature),
        Some("signature_invalid"),
    );
    assert_eq!(
        r.steps()[6].status,
        StepStatus::Failed,
        "the seal's reference check fails too"
    );
    // Without the seal trust the bill is verified but the seal is undecided.
    let r = verify_bill_ofd(&bills("sdfp-valid.ofd"), &trust(), &TrustStore::new(), AT).unwrap();
    assert_eq!(r.outcome(), Outcome::Indeterminate);
    assert_eq!(r.failed_step(), Some(BillStep::OfdSeal));
    // A seal vector OFD has no bill in it.
    let licence = std::fs::read(dir("seals").join("ofd-valid.ofd")).unwrap();
    let r = verify_bill_ofd(&licence, &trust(), &seal_trust(), AT).unwrap();
    assert_eq!(r.failed_step(), Some(BillStep::Parse));
}

#[test]
fn hostile_input_is_refused_cleanly() {
    let t = trust();
    let nested = format!(
        "<EInvoice>{}{}</EInvoice>",
        "<a>".repeat(200),
        "</a>".repeat(200)
    );
    let billion = "<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">]><EInvoice>&b;</EInvoice>";
    let utf16 = [0xff, 0xfe, b'<', 0, b'a', 0, b'/', 0, b'>', 0];
    let huge = vec![b'a'; yrdx_signing::bill::MAX_BILL_LEN + 1];
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("nested", nested.into_bytes()),
        ("entity expansion", billion.as_bytes().to_vec()),
        ("utf-16", utf16.to_vec()),
        ("huge", huge),
        ("empty", Vec::new()),
        ("not a bill", b"<Licence/>".to_vec()),
        ("truncated", bills("fiscal-valid.xml")[..400].to_vec()),
        (
            "external entity",
            b"<!DOCTYPE EInvoice SYSTEM \"file:///etc/passwd\"><EInvoice/>".to_vec(),
        ),
    ];
    for (label, input) in cases {
        let r = verify_bill(&input, &t, AT);
        assert_eq!(r.outcome(), Outcome::Invalid, "{label}");
        assert_eq!(r.failed_step(), Some(BillStep::Parse), "{label}");
        assert!(parse_bill(&input).is_err(), "{label}");
    }
    // A third Signature is not silently ignored.
    let valid = String::from_utf8(bills("fiscal-valid.xml")).unwrap();
    let extra = valid.replace("</EInvoiceSignature>", "<Signature/></EInvoiceSignature>");
    assert_eq!(
        verify_bill(extra.as_bytes(), &t, AT).failed_step(),
        Some(BillStep::Parse)
    );
    // A duplicated amount cannot smuggle a second value past the reader.
    let dup = valid.replace(
        "<TotalAmount>256.80</TotalAmount>",
        "<TotalAmount>256.80</TotalAmount><TotalAmount>1.00</TotalAmount>",
    );
    assert_eq!(
        verify_bill(dup.as_bytes(), &t, AT).failed_step(),
        Some(BillStep::Parse)
    );
}

fn any_mutation() -> impl Strategy<Value = (usize, u8)> {
    (0usize..8192, any::<u8>())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// No single-byte change of a valid bill verifies, and none panics.
    #[test]
    fn mutated_bills_never_verify((at, byte) in any_mutation(), which in 0usize..2) {
        let name = ["fiscal-valid.xml", "sdfp-valid.xml"][which];
        let mut bytes = bills(name);
        let at = at % bytes.len();
        prop_assume!(bytes[at] != byte);
        // Changes outside the signed content (the XML declaration, KeyInfo
        // spelling) may leave a bill valid; a changed signed byte never does.
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let signed_start = text.find("<Header>").unwrap();
        let end = text.find(["</EInvoiceData>", "</TaxSupervisionInfo>"][which]).unwrap();
        bytes[at] = byte;
        let r = verify_bill(&bytes, &trust(), AT);
        if at >= signed_start && at < end {
            prop_assert_ne!(r.outcome(), Outcome::Valid, "byte {} of {} changed to {}", at, name, byte);
        }
    }

    /// Arbitrary bytes never panic the reader.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let r = verify_bill(&bytes, &BillTrust::new(), AT);
        prop_assert_ne!(r.outcome(), Outcome::Valid);
    }
}
