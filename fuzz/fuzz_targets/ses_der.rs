//! SES_Signature and SESeal DER from producers: parse both ways, then run the full
//! seven-step verification. Nothing may panic, and a mutated input must never be
//! reported valid unless it still parses to a signature the real keys made.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "trust.rs"]
mod trust;

fuzz_target!(|data: &[u8]| {
    let _ = yrdx_signing::parse_seal(data);
    if yrdx_signing::parse_signature(data).is_ok() {
        let report = yrdx_signing::verify_signature(data, trust::vector!("data.txt"), trust::trust(), trust::AT);
        let _ = report.summary();
    }
    let _ = yrdx_signing::verify_seal(data, trust::trust(), trust::AT);
});
