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

mod asn1;
mod crypto;
mod digest;
mod error;
mod ident;
mod ofd;
mod report;
mod ses;
mod tsp;
mod verify;
mod x509;

// The public interface.
pub use crypto::{SM2_DEFAULT_SIGNER_ID, SignatureEncoding};
pub use digest::{HashAlg, hex, sha256, sm3};
pub use error::{Asn1Error, Asn1ErrorKind, CertError, CryptoError, IdentError, OfdError, TspError};
pub use ident::{
    LICENCE_ID_ROOT, LicenceId, MEMBER_URI_PREFIX, MemberId, Region, Uscc, check_resident_id,
    mod37_36_check,
};
pub use ofd::{
    OfdLimits, OfdReport, OfdSignatureReport, ReferenceCheck, verify_ofd, verify_ofd_with_limits,
};
pub use report::{
    Details, Finding, MakerSignedForm, Outcome, Step, StepReport, StepStatus, Subject, Summary,
    TimeSource, VerificationReport, VerifiedSeal, VerifiedSignature,
};
pub use ses::{
    CertDigest, CertList, Deviation, MAX_SES_LEN, Picture, Seal, SealInfo, SealVersion, Signature,
    parse_seal, parse_signature,
};
pub use tsp::TimestampInfo;
pub use verify::{verify_seal, verify_signature};
pub use x509::{
    CertPurpose, MAX_CHAIN_LEN, RevocationNote, RevocationStatus, TrustStore, ValidatedChain,
};
