//! Case numbers come from consumers and patterns from departments' lists:
//! checking a pattern, matching any case number against any pattern, and
//! telling identity numbers apart must take any text without panicking, and
//! a pattern that checks must match itself when it has no placeholders.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yrdx_registry::case_no::{check_pattern, is_identity_number, matches};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let text: &str = &text;
    let (pattern, case_no) = text.split_once('\n').unwrap_or((text, text));
    let checked = check_pattern(pattern).is_ok();
    let _ = matches(pattern, case_no);
    let _ = is_identity_number(case_no);
    if checked && !pattern.contains(['#', '@', '*']) {
        assert!(matches(pattern, pattern), "a literal pattern matches itself");
    }
});
