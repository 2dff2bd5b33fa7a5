//! # yrdx-conformance
//!
//! Everything yrdx needs to be exercised without a real federation: the
//! development PKI ([`pki`]), sample provider servers that answer in each
//! region's own native schema over mutually authenticated HTTPS
//! ([`providers`]), and the demo federation's registry data and fixtures
//! ([`demo_data`]).
//!
//! None of it is on the production path: `yrdx serve` never reaches this crate
//! except to read nothing; `yrdx demo` and `yrdx pki init` use it to stand up a
//! local federation.
#![forbid(unsafe_code)]

pub mod client;
pub mod demo_data;
pub mod pki;
pub mod providers;
