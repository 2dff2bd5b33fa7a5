//! Registry spreadsheets come from departments: the XLSX and CSV readers must
//! take any bytes without panicking, and report what they cannot read as
//! errors naming the file. Whatever they read then goes through the
//! cross-checks, which must not panic either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yrdx_registry::{Import, RegistryData, RegistryError};

fuzz_target!(|data: &[u8]| {
    for file in ["fuzz.xlsx", "fuzz.csv"] {
        let mut import = Import::default();
        import.add_file(file, data);
        for e in import.errors() {
            let text = e.to_string();
            match e {
                RegistryError::File { .. } | RegistryError::Sheet(_) => {
                    assert!(text.contains(file), "{text}")
                }
                _ => {}
            }
        }
        let mut plain = RegistryData::default();
        let _ = yrdx_registry::add_file(&mut plain, file, data);
    }
});
