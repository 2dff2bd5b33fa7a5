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
//! - [`Frontier`], [`NodeSource`], [`ProofPlan`], [`InclusionProof`],
//!   [`ConsistencyProof`]: the audit log's RFC 9162 Merkle tree.
//! - [`NoteSigner`], [`VerifierKey`], [`Checkpoint`], [`open_checkpoint`]: C2SP
//!   signed notes and tlog checkpoints.
//! - [`Tile`], [`TileNodes`]: the C2SP tlog-tiles layout.
//! - [`verify_export`]: the regulator's offline verifier and the export format.
//! - [`TrustStore`]: seal and timestamp trust anchors grouped by [`Region`], with
//!   intermediates and CRLs — the seal PKI, configured apart from TLS trust.
//! - [`verify_signature`], [`verify_seal`], [`verify_ofd`]: electronic signatures
//!   (GM/T 0031 v1, GB/T 38540 v4 and v5) over data, seals alone, and OFD licence
//!   files. Each returns a [`VerificationReport`] per signature: the seven steps of
//!   the standard in order, an [`Outcome`] that is `valid`, `invalid` (with the
//!   failed [`Step`] and a typed [`Finding`]) or `indeterminate`, the [`Details`] a
//!   regulator needs, and a [`Summary`] for the audit log. Only the verifier makes
//!   a [`VerifiedSignature`] or [`VerifiedSeal`].
//! - [`bill`]: electronic bills — fiscal e-bills (财政电子票据) and 数电发票 —
//!   their [`BillKey`], and [`verify_bill`] / [`verify_bill_ofd`] against a
//!   per-region [`BillTrust`] into a [`BillReport`] of the same shape as seal
//!   reports.
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
//! ## The log cryptography
//!
//! The exchange log is an RFC 9162 Merkle tree (leaf `H(0x00‖leaf)`, node
//! `H(0x01‖l‖r)`, SHA-256 or SM3) whose heads are C2SP checkpoints signed with
//! Ed25519. This crate computes; the store persists. When a leaf is appended,
//! [`Frontier::push`] (or [`stored_nodes_for_append`] against stored nodes)
//! returns the hashes of the complete subtrees that leaf finished; the store
//! keeps them keyed by [`NodeId`] (or by [`NodeId::storage_index`], an
//! append-only sequence). Roots and proofs then need only O(log n) of those
//! hashes: [`inclusion_plan`] / [`consistency_plan`] / [`root_plan`] name them,
//! the store fetches them in one query, and [`ProofPlan::assemble`] folds them
//! into RFC 9162 order. The same stored nodes serve the tlog-tiles layout
//! ([`tile_bytes`]). A regulator verifies proofs with [`verify_inclusion`] and
//! [`verify_consistency`], checkpoints with [`open_checkpoint`], and a whole
//! export, naming the first leaf that disagrees, with [`verify_export`].
//!
//! ```
//! use yrdx_signing::{
//!     Checkpoint, Frontier, HashAlg, LeafIndex, MemoryNodes, NoteSigner, NodeSource,
//!     inclusion_plan, leaf_hash, open_checkpoint, verify_inclusion,
//! };
//!
//! // The writer: append leaves, persist what each append returns.
//! let alg = HashAlg::Sha256;
//! let mut frontier = Frontier::new(alg);
//! let mut store = MemoryNodes::new(alg); // stands in for the database
//! for record in [&b"{\"exchange\":1}"[..], b"{\"exchange\":2}", b"{\"exchange\":3}"] {
//!     let _to_persist = frontier.push(leaf_hash(alg, record))?;
//!     store.push_leaf(record)?;
//! }
//! // Sign a checkpoint (the key comes from the caller's configuration).
//! let signer = NoteSigner::from_seed("yrdx.example/audit", &[7; 32])?;
//! let checkpoint = Checkpoint::new("yrdx.example/audit", frontier.size(), frontier.root())?;
//! let signed = checkpoint.sign(&signer)?;
//!
//! // A proof: plan, fetch the named nodes, assemble.
//! let index = LeafIndex::new(1)?;
//! let plan = inclusion_plan(index, frontier.size())?;
//! let proof = plan.assemble(alg, &store.read_nodes(plan.nodes())?)?;
//!
//! // The regulator: check the checkpoint with the public key, then the proof.
//! let opened = open_checkpoint(signed.as_bytes(), &signer.verifier_key())?;
//! let cp = opened.checkpoint();
//! verify_inclusion(alg, index, cp.size(), &leaf_hash(alg, b"{\"exchange\":2}"), &proof, &cp.root())?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
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
pub mod bill;
mod checkpoint;
mod crypto;
mod digest;
mod error;
mod export;
mod ident;
mod merkle;
mod note;
mod ofd;
mod report;
mod ses;
mod tiles;
pub mod time;
mod tsp;
mod verify;
mod x509;

// The public interface.
pub use bill::{BillKey, BillReport, BillTrust, verify_bill, verify_bill_ofd};
pub use checkpoint::{
    Checkpoint, HASH_LINE_PREFIX, VerifiedCheckpoint, check_consistent, open_checkpoint,
};
pub use crypto::{SM2_DEFAULT_SIGNER_ID, SignatureEncoding};
pub use digest::{HashAlg, hex, sha256, sm3};
pub use error::{Asn1Error, Asn1ErrorKind, CertError, CryptoError, IdentError, OfdError, TspError};
pub use error::{CheckpointError, ExportError, MerkleError, NoteError, ProofError, TileError};
pub use export::{
    CheckpointRole, EXPORT_FORMAT, EXPORT_VERSION, ExportFinding, ExportHeader, ExportOptions,
    ExportReport, ExportVerifier, MAX_ENTRY_LINE, MAX_EXPORT_CHECKPOINTS, MAX_HEADER_LINE, Since,
    export_entry_line, verify_export,
};
pub use ident::{
    LICENCE_ID_ROOT, LicenceId, MEMBER_URI_PREFIX, MemberId, Region, Uscc, check_resident_id,
    mod37_36_check,
};
pub use merkle::{
    ConsistencyProof, Frontier, HASH_LEN, Hash, InclusionProof, LeafIndex, MAX_LEVEL,
    MAX_TREE_SIZE, MemoryNodes, NodeId, NodeSource, ProofPlan, TreeSize, append_reads,
    consistency_plan, consistency_proof, empty_root, frontier_nodes, inclusion_plan,
    inclusion_proof, leaf_hash, node_hash, root_from, root_plan, stored_node_count,
    stored_nodes_for_append, stored_nodes_with, verify_consistency, verify_inclusion,
};
pub use note::{
    ALG_ED25519, MAX_NOTE_LEN, MAX_SIGNATURES, Note, NoteSignature, NoteSigner, VerifiedNote,
    VerifierKey, ed25519_key_id, is_valid_key_name, open_note, sign_note,
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
pub use tiles::{
    MAX_ENTRY_LEN, MAX_TILE_LEVEL, TILE_HEIGHT, TILE_WIDTH, Tile, TileKind, TileNodes,
    encode_entry_bundle, parse_entry_bundle, tile_bytes, tiles_for_nodes,
};
pub use tsp::TimestampInfo;
pub use verify::{verify_seal, verify_signature};
pub use x509::{
    CertPurpose, MAX_CHAIN_LEN, RevocationNote, RevocationStatus, TrustStore, ValidatedChain,
};
