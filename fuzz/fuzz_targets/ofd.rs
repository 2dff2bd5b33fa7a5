//! OFD packages (ZIP + XML + DER) with the default limits.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "trust.rs"]
mod trust;

fuzz_target!(|data: &[u8]| {
    let _ = yrdx_signing::verify_ofd(data, trust::trust(), trust::AT);
});
