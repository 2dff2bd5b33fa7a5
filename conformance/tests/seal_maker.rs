//! The test seal signer against the verifier: committed vectors are what the
//! generator makes, whatever the signer makes verifies, and broken bytes never do.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failing test"
)]

use std::sync::OnceLock;

use proptest::prelude::*;
use time::Duration;
use yrdx_conformance::seal_maker::{
    CertListSpec, MakerForm, SIGNED_AT, SealSpec, SignSpec, VERIFY_AT, Version, World, seal,
    seal_vectors, signature,
};
use yrdx_signing::{Outcome, Region, TrustStore, verify_signature};

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| World::new().unwrap())
}

fn trust() -> TrustStore {
    let w = world();
    let mut t = TrustStore::new();
    t.add_seal_anchor(Region::Zj, &w.zj.root.der).unwrap();
    t.add_intermediate(&w.zj.ca.as_ref().unwrap().cert.der)
        .unwrap();
    for crl in &w.zj.crls {
        t.add_crl(crl).unwrap();
    }
    t.require_crls(Region::Zj);
    t.add_seal_anchor(Region::Sh, &w.sh.root.der).unwrap();
    t
}

#[test]
fn committed_vectors_are_what_the_generator_makes() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors/seals");
    for f in seal_vectors().unwrap() {
        let committed = std::fs::read(dir.join(&f.name)).unwrap_or_default();
        assert!(
            committed == f.bytes,
            "{} differs from the generator: run `cargo run -p yrdx-conformance --bin gen-seal-vectors`",
            f.name
        );
    }
}

#[test]
fn the_world_is_deterministic() {
    let again = World::new().unwrap();
    assert_eq!(again.zj.signer.cert.der, world().zj.signer.cert.der);
    assert_eq!(again.sh.maker.cert.der, world().sh.maker.cert.der);
}

fn seal_spec(version: Version, digests: bool, v1_form: bool) -> SealSpec {
    let w = world();
    let cert = w.zj.signer.cert.der.clone();
    SealSpec {
        version,
        es_id: "330100000000009".into(),
        name: "Round Trip Seal".into(),
        created: time::macros::datetime!(2025-01-01 00:00:00 UTC),
        valid_start: time::macros::datetime!(2025-01-01 00:00:00 UTC),
        valid_end: time::macros::datetime!(2027-01-01 00:00:00 UTC),
        cert_list: if digests && version != Version::V1 {
            CertListSpec::Sm3Digests(vec![cert])
        } else {
            CertListSpec::Certificates(vec![cert])
        },
        maker_form: if v1_form {
            MakerForm::V1Sequence
        } else {
            MakerForm::SealInfo
        },
        v1_generalized_times: false,
        explicit_critical_false: false,
        seal_timestamp: None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// signer → parse → verify: whatever the signer makes within the seal's life
    /// verifies, in every version and encoding.
    #[test]
    fn signed_then_verified(
        data in proptest::collection::vec(any::<u8>(), 0..512),
        v1 in any::<bool>(),
        digests in any::<bool>(),
        v1_form in any::<bool>(),
        raw_rs in any::<bool>(),
        octets in any::<bool>(),
        minutes in 0i64..(60 * 24 * 150),
    ) {
        let w = world();
        let version = if v1 { Version::V1 } else { Version::V4 };
        let s = seal(&seal_spec(version, digests, v1_form), &w.zj.maker.key, &w.zj.maker.cert.der, None).unwrap();
        let spec = SignSpec {
            version,
            time_info: SIGNED_AT - Duration::minutes(minutes),
            data_hash: yrdx_signing::sm3(&data).to_vec(),
            property_info: "round-trip".into(),
            raw_rs,
            octet_strings: octets,
            v1_generalized_time_info: false,
            explicit_critical_false: false,
            timestamp: None,
            timestamp_over: None,
        };
        let sig = signature(&spec, &s, &w.zj.signer.key, &w.zj.signer.cert.der, None).unwrap();
        let report = verify_signature(&sig, &data, &trust(), VERIFY_AT);
        prop_assert_eq!(report.outcome(), Outcome::Valid, "{}", serde_json::to_string(&report).unwrap());
        prop_assert_eq!(report.details().deviations.is_empty(), !octets);
    }

    /// Any single changed byte of a valid signature is refused, and never panics.
    #[test]
    fn a_changed_byte_is_never_valid(index in any::<prop::sample::Index>(), xor in 1u8..=255) {
        let mut sig = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors/seals/v4-certlist-valid.ses"),
        ).unwrap();
        let data = b"any data";
        let original = verify_signature(&sig, data, &trust(), VERIFY_AT);
        prop_assert_eq!(original.failed_step(), Some(yrdx_signing::Step::DataHash));
        let i = index.index(sig.len());
        sig[i] ^= xor;
        let good_data = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors/seals/data.txt"),
        ).unwrap();
        let report = verify_signature(&sig, &good_data, &trust(), VERIFY_AT);
        prop_assert_ne!(report.outcome(), Outcome::Valid, "byte {} ^ {:#x}", i, xor);
    }

    /// Arbitrary bytes are refused without panicking.
    #[test]
    fn arbitrary_bytes_are_refused(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let report = verify_signature(&bytes, b"", &trust(), VERIFY_AT);
        prop_assert_eq!(report.outcome(), Outcome::Invalid);
        let _ = yrdx_signing::verify_ofd(&bytes, &trust(), VERIFY_AT);
    }
}

/// Bytes all over a valid v4 signature (every ninth: the whole file takes a minute
/// on two cores), flipped in their lowest bit, are refused: no byte of an
/// SES_Signature is outside what steps 1–6 check.
#[test]
fn flipped_bytes_are_refused() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors/seals");
    let sig = std::fs::read(dir.join("v4-certlist-valid.ses")).unwrap();
    let data = std::fs::read(dir.join("data.txt")).unwrap();
    let trust = trust();
    assert_eq!(
        verify_signature(&sig, &data, &trust, VERIFY_AT).outcome(),
        Outcome::Valid
    );
    for i in (0..sig.len()).step_by(9) {
        let mut broken = sig.clone();
        broken[i] ^= 0x01;
        let report = verify_signature(&broken, &data, &trust, VERIFY_AT);
        assert_ne!(
            report.outcome(),
            Outcome::Valid,
            "byte {i} flipped is still valid"
        );
    }
}
