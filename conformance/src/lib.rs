//! # yrdx-conformance
//!
//! Test vectors, development PKI and test tooling for yrdx. Nothing here is part of
//! the production gateway's serving path.
//!
//! - [`seal_maker`]: the **test-only** seal signer that makes the seal PKI, seals,
//!   signatures, timestamps and OFD files of `vectors/seals/` (re-made by the
//!   `gen-seal-vectors` binary).
#![forbid(unsafe_code)]

pub mod seal_maker;
