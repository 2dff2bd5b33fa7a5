//! The signing crate's integration tests, one binary (see STYLE.md).
// clippy's test allowances cover #[test] functions only, not their helpers.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    reason = "test code: a panic or a truncation is a failing test on the 64-bit targets we run"
)]

mod log;
