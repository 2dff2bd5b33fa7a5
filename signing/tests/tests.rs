//! The log's integration tests, gathered in one test binary with a module per
//! area, so the crate is linked once for all of them.
// clippy's test allowances cover #[test] functions only, not their helpers.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    reason = "test code: a panic or a truncation is a failing test on the 64-bit targets we run"
)]

mod log;
