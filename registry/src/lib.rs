//! yrdx-registry (being built).
#![forbid(unsafe_code)]
