//! yrdx-conformance (being built).
#![forbid(unsafe_code)]
