//! The signing crate's integration tests, one binary: each tests binary links the crate
//! once, so the suite builds and runs faster than with one binary per file.
// clippy's test allowances cover #[test] functions only, not their helpers.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    reason = "test code: a panic or a truncation is a failing test on the 64-bit targets we run"
)]

mod log;
