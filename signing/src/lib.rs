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
