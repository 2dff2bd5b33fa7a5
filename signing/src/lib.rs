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
#![forbid(unsafe_code)]

mod checkpoint;
mod digest;
mod error;
mod export;
mod ident;
mod merkle;
mod note;
mod tiles;

// The public interface.
pub use checkpoint::{Checkpoint, VerifiedCheckpoint, check_consistent, open_checkpoint};
pub use digest::{HashAlg, hex, sha256, sm3};
pub use error::IdentError;
pub use error::{CheckpointError, ExportError, MerkleError, NoteError, ProofError, TileError};
pub use export::{
    CheckpointRole, EXPORT_FORMAT, EXPORT_VERSION, ExportHeader, ExportOptions, ExportReport,
    ExportVerifier, Finding, MAX_ENTRY_LINE, MAX_EXPORT_CHECKPOINTS, MAX_HEADER_LINE, Since,
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
pub use tiles::{
    MAX_ENTRY_LEN, MAX_TILE_LEVEL, TILE_HEIGHT, TILE_WIDTH, Tile, TileKind, TileNodes,
    encode_entry_bundle, parse_entry_bundle, tile_bytes, tiles_for_nodes,
};
