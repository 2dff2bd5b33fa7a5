//! yrdx-adapters (being built).
#![forbid(unsafe_code)]
