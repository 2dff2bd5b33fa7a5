//! # yrdx-signing
//!
//! The pure verification and hashing core of yrdx, the Yangtze River Delta data
//! exchange gateway. Everything here takes bytes, a time and trust anchors as
//! arguments and returns values: it never opens a socket or a file and never reads
//! the clock, so each function can be fuzzed and benchmarked alone and a regulator's
//! offline verifier needs nothing else.
//!
//! It deliberately does not decide policy (which region may see what), keep state
//! (where leaves are stored) or speak HTTP: those belong to `yrdx-registry` and
//! `yrdx-gateway`.
//!
//! Main types:
//! - [`Region`], [`Uscc`], [`MemberId`], [`LicenceId`]: identifiers parsed once into
//!   types that carry their check characters' guarantee.
//! - [`HashAlg`]: SHA-256 or SM3, selectable per log and per document.
//!
//! ```
//! use yrdx_signing::{MemberId, Region};
//!
//! let member = MemberId::from_uri("urn:yrdx:zj:11330000002482028A:licence")?;
//! assert_eq!(member.region(), Region::Zj);
//! assert_eq!(member.to_string(), "zj:11330000002482028A:licence");
//! # Ok::<(), yrdx_signing::IdentError>(())
//! ```
#![forbid(unsafe_code)]

mod digest;
mod error;
mod ident;

// The public interface.
pub use digest::{HashAlg, hex, sha256, sm3};
pub use error::IdentError;
pub use ident::{
    LICENCE_ID_ROOT, LicenceId, MEMBER_URI_PREFIX, MemberId, Region, Uscc, check_resident_id,
    mod37_36_check,
};
