//! Member ids, USCCs and licence identifiers come from certificates and URLs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = yrdx_signing::MemberId::from_uri(s);
        let _ = yrdx_signing::LicenceId::parse(s);
        let _ = yrdx_signing::check_resident_id(s);
    }
});
