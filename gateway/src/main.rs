//! The yrdx command.
#![forbid(unsafe_code)]
fn main() {}
