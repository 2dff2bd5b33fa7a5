//! **Test-only** seal signer: makes its own seal PKI (per-region seal root CAs,
//! seal makers, signers, a timestamp authority, CRLs), v1/v4/v5 seals and
//! signatures, RFC 3161 tokens and OFD files — correct ones and deliberately broken
//! ones — so the project makes its own vectors (`conformance/vectors/seals/`).
//!
//! Its keys are derived from public seeds in this file: nothing it signs may ever be
//! trusted outside tests. It lives in the conformance crate, which the production
//! gateway's `serve` path does not call, and its seal PKI is unrelated to the TLS
//! development PKI.

mod der_enc;
mod ofd;
mod pki;
mod ses;
mod tsa;
mod vectors;
mod world;

pub use der_enc::{gen_time_text, name};
pub use ofd::{OfdPackage, SignFn, zip_entries};
pub use pki::{CertSpec, Issued, KeyAlg, SpkiForm, TestKey, crl, issue, usage};
pub use ses::{CertListSpec, MakerForm, SealSpec, SignSpec, Version, seal, signature, tamper};
pub use tsa::Tsa;
pub use vectors::{VectorFile, seal_vectors, vectors_tool};
pub use world::{
    Leaf, REVOKED_EARLY, REVOKED_LATE, RegionPki, SIGNED_AT, STAMPED_AT, VERIFY_AT, World,
};

/// Why the test signer could not make something.
#[derive(Debug, thiserror::Error)]
pub enum MakerError {
    /// A seed gave no valid key.
    #[error("no valid key from this seed")]
    Key,
    /// A value could not be DER-encoded.
    #[error("cannot encode {0}")]
    Encode(&'static str),
    /// The request does not make sense.
    #[error("{0}")]
    Spec(&'static str),
    /// The ZIP writer failed.
    #[error("zip: {0}")]
    Zip(String),
}

/// The signer's results.
pub type Result<T> = std::result::Result<T, MakerError>;
