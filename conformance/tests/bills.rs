//! The test bill signer and the sample issuer against the verifier: committed
//! vectors are what the generator makes, whatever the signer makes verifies,
//! and a bill is reimbursed at most once however many callers race for it.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failing test"
)]

use std::sync::{Arc, Barrier, OnceLock};

use proptest::prelude::*;
use time::macros::date;
use yrdx_conformance::bill_issuer::{BillIssuer, CheckError, Claims, LedgerError};
use yrdx_conformance::bill_maker::{
    BILL_VERIFY_AT, BillWorld, FiscalSpec, SdfpSpec, SupervisionForm, bill_vectors, fiscal_bill,
    sdfp_bill,
};
use yrdx_signing::bill::ledger::{IssuerStatus, LedgerRequest, Refusal, Requester};
use yrdx_signing::bill::{Amount, BillTrust};
use yrdx_signing::{Outcome, Region, Uscc, verify_bill};

fn world() -> &'static BillWorld {
    static WORLD: OnceLock<BillWorld> = OnceLock::new();
    WORLD.get_or_init(|| BillWorld::new().unwrap())
}

fn trust() -> &'static BillTrust {
    static TRUST: OnceLock<BillTrust> = OnceLock::new();
    TRUST.get_or_init(|| world().trust().unwrap())
}

#[test]
fn committed_vectors_are_what_the_generator_makes() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors/bills");
    for f in bill_vectors().unwrap() {
        let committed = std::fs::read(dir.join(&f.name)).unwrap_or_default();
        assert!(
            committed == f.bytes,
            "{} differs from the generator: run `cargo run -p yrdx-conformance --bin gen-bill-vectors`",
            f.name
        );
    }
}

fn unit(first17: &str, region: Region, id: &str) -> Requester {
    let check = Uscc::check_char(first17).unwrap();
    Requester {
        unit: Uscc::parse(&format!("{first17}{check}")).unwrap(),
        region,
        request_id: id.into(),
    }
}

fn jiangsu_issuer() -> (BillIssuer, yrdx_signing::BillKey) {
    let w = world();
    let issuer = BillIssuer::new(Region::Js);
    let xml = fiscal_bill(
        &FiscalSpec::jiangsu("0000000001", "256.80"),
        &w.js.unit,
        &w.js.finance,
        SupervisionForm::RawElement,
    );
    let key = issuer.issue(xml).unwrap();
    (issuer, key)
}

#[test]
fn the_issuer_checks_by_identifiers_and_exact_amount() {
    let (issuer, key) = jiangsu_issuer();
    let claims = Claims {
        check_code: Some("235456".into()),
        issue_date: date!(2026 - 01 - 15),
        amount: Amount::parse("256.8").unwrap(),
    };
    let found = issuer.check(&key, &claims).unwrap();
    // What it answers is the signed original, which verifies.
    assert_eq!(
        verify_bill(&found.xml, trust(), BILL_VERIFY_AT).outcome(),
        Outcome::Valid
    );
    let wrong = |c: Claims| issuer.check(&key, &c).unwrap_err();
    assert_eq!(
        wrong(Claims {
            amount: Amount::parse("256.81").unwrap(),
            ..claims.clone()
        }),
        CheckError::Mismatch("amount")
    );
    assert_eq!(
        wrong(Claims {
            check_code: Some("000000".into()),
            ..claims.clone()
        }),
        CheckError::Mismatch("check code")
    );
    assert_eq!(
        wrong(Claims {
            issue_date: date!(2026 - 01 - 16),
            ..claims.clone()
        }),
        CheckError::Mismatch("issue date")
    );
    let other = yrdx_signing::BillKey::parse("32010125-0000000099").unwrap();
    assert_eq!(
        issuer.check(&other, &claims).unwrap_err(),
        CheckError::NotFound
    );
}

/// Sixteen callers from four regions race to lock one bill, each twice with
/// its own request id: exactly one unit gets it, its repeat is answered alike,
/// everyone else is refused `bill_locked`.
#[test]
fn a_bill_is_locked_exactly_once_under_concurrent_attempts() {
    let (issuer, key) = jiangsu_issuer();
    let issuer = Arc::new(issuer);
    let starts = Arc::new(Barrier::new(16));
    let heads = [
        "91310000MA1FL00",
        "91320000MA1FL00",
        "91330000MA1FL00",
        "91340000MA1FL00",
    ];
    let handles: Vec<_> = (0..16)
        .map(|i| {
            let (issuer, key, starts) = (issuer.clone(), key.clone(), starts.clone());
            let region = Region::ALL[i % 4];
            let who = unit(
                &format!("{}{:02}", heads[i % 4], i),
                region,
                &format!("req-{i}"),
            );
            std::thread::spawn(move || {
                let lock = LedgerRequest::Lock {
                    amount: Amount::parse("256.80").unwrap(),
                };
                starts.wait();
                let first = issuer.apply(&key, &who, &lock, BILL_VERIFY_AT);
                let again = issuer.apply(&key, &who, &lock, BILL_VERIFY_AT);
                (first, again)
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let winners: Vec<_> = results.iter().filter(|(first, _)| first.is_ok()).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    let (first, again) = winners[0];
    let (first, again) = (first.as_ref().unwrap(), again.as_ref().unwrap());
    assert!(!first.replay && again.replay);
    assert_eq!(first.state, again.state);
    for (first, again) in &results {
        if first.is_err() {
            assert_eq!(first, &Err(LedgerError::Refused(Refusal::Locked)));
            assert_eq!(again, &Err(LedgerError::Refused(Refusal::Locked)));
        }
    }
}

#[test]
fn red_reversed_bills_cannot_be_locked() {
    let (issuer, key) = jiangsu_issuer();
    assert!(issuer.set_status(&key, IssuerStatus::RedReversed));
    let who = unit("91310000MA1FL0000", Region::Sh, "r1");
    let lock = LedgerRequest::Lock {
        amount: Amount::parse("256.80").unwrap(),
    };
    assert_eq!(
        issuer.apply(&key, &who, &lock, BILL_VERIFY_AT),
        Err(LedgerError::Refused(Refusal::NotReimbursable(
            IssuerStatus::RedReversed
        )))
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// Whatever the bill says, what the test signer makes verifies and reads
    /// back as written.
    #[test]
    fn signed_bills_verify(number in "[0-9]{10}", cents in 1u32..10_000_000, sdfp_seq in "[0-9]{16}") {
        let w = world();
        let total = format!("{}.{:02}", cents / 100, cents % 100);
        let xml = fiscal_bill(&FiscalSpec::jiangsu(&number, &total), &w.js.unit, &w.js.finance, SupervisionForm::HexValue);
        let r = verify_bill(&xml, trust(), BILL_VERIFY_AT);
        prop_assert_eq!(r.outcome(), Outcome::Valid);
        prop_assert_eq!(r.facts().map(|f| f.total), Some(Amount::parse(&total).unwrap()));
        let n = format!("2633{sdfp_seq}");
        let xml = sdfp_bill(&SdfpSpec::zhejiang(&n), &w.zj.tax);
        let r = verify_bill(&xml, trust(), BILL_VERIFY_AT);
        prop_assert_eq!(r.outcome(), Outcome::Valid);
        prop_assert_eq!(r.key().map(ToString::to_string), Some(n));
    }
}
