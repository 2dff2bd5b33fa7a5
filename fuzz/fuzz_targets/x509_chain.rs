//! Certificates and CRLs as chain input: the first byte picks whether the rest is a
//! leaf to validate or a CRL added to the trust store before validating a known
//! leaf.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yrdx_signing::CertPurpose;

#[path = "trust.rs"]
mod trust;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let at = trust::AT;
    match mode % 3 {
        0 => {
            let _ = trust::trust().validate_chain(rest, &[], CertPurpose::Signing, at, at);
        }
        1 => {
            let mut t = trust::trust().clone();
            if t.add_crl(rest).is_ok() {
                let _ = t.validate_chain(trust::vector!("trust/zj-seal-ca.der"), &[], CertPurpose::Signing, at, at);
            }
        }
        _ => {
            let leaf = trust::vector!("trust/zj-seal-ca.der");
            let _ = trust::trust().validate_chain(leaf, &[rest], CertPurpose::TimeStamping, at, at);
        }
    }
});
