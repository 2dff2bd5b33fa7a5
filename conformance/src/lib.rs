//! # yrdx-conformance
//!
//! Everything yrdx needs to be exercised without a real federation: the
//! development PKI ([`pki`]), sample provider servers that answer in each
//! region's own native schema over mutually authenticated HTTPS
//! ([`providers`]), the demo federation's registry data and fixtures
//! ([`demo_data`]), a small mTLS client ([`client`]), the load generator behind
//! `yrdx-load` ([`load`]), and the **test-only** seal
//! signer ([`seal_maker`]) that makes the seal PKI, seals, signatures,
//! timestamps and OFD files of `vectors/seals/` (re-made by the
//! `gen-seal-vectors` binary), the **test-only** bill signer
//! ([`bill_maker`]: a bill PKI per region, signed fiscal e-bills and 数电发票,
//! `vectors/bills/`, re-made by `gen-bill-vectors`) and a sample bill issuing
//! platform ([`bill_issuer`]: checks, and lock / book / release applied one at a
//! time).
//!
//! None of it is on the production path: `yrdx serve` never calls into this
//! crate; `yrdx demo` and `yrdx pki init` use it to stand up a local federation.
#![forbid(unsafe_code)]

pub mod bill_issuer;
pub mod bill_maker;
pub mod client;
pub mod demo_data;
pub mod licences;
pub mod load;
pub mod pki;
pub mod providers;
pub mod seal_maker;
