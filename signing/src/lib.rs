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
//! - [`TrustStore`]: seal and timestamp trust anchors grouped by [`Region`], with
//!   intermediates and CRLs — the seal PKI, configured apart from TLS trust.
//! - [`verify_signature`], [`verify_seal`], [`verify_ofd`]: electronic signatures
//!   (GM/T 0031 v1, GB/T 38540 v4 and v5) over data, seals alone, and OFD licence
//!   files. Each returns a [`VerificationReport`] per signature: the seven steps of
//!   the standard in order, an [`Outcome`] that is `valid`, `invalid` (with the
//!   failed [`Step`] and a typed [`Finding`]) or `indeterminate`, the [`Details`] a
//!   regulator needs, and a [`Summary`] for the audit log. Only the verifier makes
//!   a [`VerifiedSignature`] or [`VerifiedSeal`].
//! - [`parse_signature`], [`parse_seal`]: the parsed structures, borrowing the
//!   received bytes, with the producer [`Deviation`]s that were tolerated.
//!
//! Verification needs no clock: the caller passes the verification time, and the
//! signing time comes from the signature (its RFC 3161 timestamp if present,
//! otherwise its timeInfo). Nothing here makes a seal; the test signer lives in
//! `yrdx-conformance`. `docs/signing.md` describes the checks and their order.
//!
//! ```
//! use yrdx_signing::{MemberId, Region};
//!
//! let member = MemberId::from_uri("urn:yrdx:zj:11330000002482028A:licence")?;
//! assert_eq!(member.region(), Region::Zj);
//! assert_eq!(member.to_string(), "zj:11330000002482028A:licence");
//! # Ok::<(), yrdx_signing::IdentError>(())
//! ```
//!
//! Verifying a seal signature against a region's seal anchors:
//!
//! ```
//! use time::macros::datetime;
//! use yrdx_signing::{Outcome, Region, Step, TrustStore, verify_signature};
//!
//! # let root = include_bytes!("../../conformance/vectors/seals/trust/zj-seal-root.der");
//! # let ca = include_bytes!("../../conformance/vectors/seals/trust/zj-seal-ca.der");
//! # let signature = include_bytes!("../../conformance/vectors/seals/v4-certlist-valid.ses");
//! # let data = include_bytes!("../../conformance/vectors/seals/data.txt");
//! let mut trust = TrustStore::new();
//! trust.add_seal_anchor(Region::Zj, root)?;
//! trust.add_intermediate(ca)?;
//!
//! let at = datetime!(2026-01-01 00:00:00 UTC);
//! let report = verify_signature(signature, data, &trust, at);
//! assert_eq!(report.outcome(), Outcome::Valid);
//! assert_eq!(report.verified_signature().map(|v| v.signer_region()), Some(Region::Zj));
//!
//! // The same signature over other bytes fails at step 5.
//! let report = verify_signature(signature, b"other bytes", &trust, at);
//! assert_eq!(report.outcome(), Outcome::Invalid);
//! assert_eq!(report.failed_step(), Some(Step::DataHash));
//! # Ok::<(), yrdx_signing::CertError>(())
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
