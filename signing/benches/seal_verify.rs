//! Seal verifications per second (all seven steps) next to raw signature
//! verifications on the same key, for an SM2 and an ECDSA P-256 seal.
//!
//!     cargo bench -p yrdx-signing --bench seal_verify
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "bench setup")]

#[macro_use]
#[path = "../tests/common/mod.rs"]
mod common;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sm2::dsa::signature::Verifier as _;
use time::OffsetDateTime;
use time::macros::datetime;
use x509_parser::prelude::FromDer as _;
use yrdx_signing::{Outcome, parse_signature, verify_signature};

const AT: OffsetDateTime = datetime!(2026-01-01 00:00:00 UTC);

/// The uncompressed public point of a DER certificate.
fn point(cert: &[u8]) -> Vec<u8> {
    let (_, c) = x509_parser::certificate::X509Certificate::from_der(cert).unwrap();
    c.public_key().subject_public_key.data.to_vec()
}

fn bench(c: &mut Criterion) {
    let trust = common::seal_trust();
    let data = vector!("data.txt");
    let mut g = c.benchmark_group("seal_verify");
    g.throughput(Throughput::Elements(1));

    let sm2_seal = vector!("v4-certlist-valid.ses");
    assert_eq!(
        verify_signature(sm2_seal, data, &trust, AT).outcome(),
        Outcome::Valid
    );
    g.bench_function("v4_sm2_seven_steps", |b| {
        b.iter(|| verify_signature(sm2_seal, data, &trust, AT))
    });

    // The same signer key and signature, verified alone (step 2's raw operation).
    let sig = parse_signature(sm2_seal).unwrap();
    let key = sm2::dsa::VerifyingKey::from_sec1_bytes(
        yrdx_signing::SM2_DEFAULT_SIGNER_ID,
        &point(sig.signer_cert),
    )
    .unwrap();
    let value = sm2::dsa::Signature::from_der(sig.signature).unwrap();
    key.verify(sig.tbs_raw, &value).unwrap();
    g.bench_function("sm2_raw_verify_same_key", |b| {
        b.iter(|| key.verify(sig.tbs_raw, &value))
    });

    let p256_seal = vector!("v4-p256-valid.ses");
    assert_eq!(
        verify_signature(p256_seal, data, &trust, AT).outcome(),
        Outcome::Valid
    );
    g.bench_function("v4_p256_seven_steps", |b| {
        b.iter(|| verify_signature(p256_seal, data, &trust, AT))
    });
    let psig = parse_signature(p256_seal).unwrap();
    let pkey = ring::signature::UnparsedPublicKey::new(
        &ring::signature::ECDSA_P256_SHA256_ASN1,
        point(psig.signer_cert),
    );
    pkey.verify(psig.tbs_raw, psig.signature).unwrap();
    g.bench_function("p256_raw_verify_same_key", |b| {
        b.iter(|| pkey.verify(psig.tbs_raw, psig.signature))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
