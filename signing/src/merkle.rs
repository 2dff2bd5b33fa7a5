//! RFC 9162 §2.1 Merkle trees: leaf and node hashing, roots, inclusion and
//! consistency proofs and their verification, with SHA-256 or SM3.
//!
//! The log never holds all its leaves in memory. Everything that needs more
//! than the right edge of the tree is computed from the hashes of *complete
//! subtrees* — [`NodeId`] `(level, index)` covers leaves
//! `[index·2^level, (index+1)·2^level)` — which the store persists as leaves are
//! appended:
//!
//! - [`Frontier`] is the right edge of a tree (one hash per set bit of its size).
//!   [`Frontier::push`] appends a leaf hash and returns the complete subtrees the
//!   append finished, which is exactly what the store must persist. The offline
//!   verifier uses the same type to recompute a root in one pass.
//! - [`stored_nodes_for_append`] does the same from a [`NodeSource`] instead of an
//!   in-memory frontier (in the style of Go's tlog "stored hashes").
//! - A [`ProofPlan`] names the O(log n) stored nodes a root or proof needs and
//!   folds the fetched hashes into RFC 9162 order, so an async store can fetch
//!   them in one query: [`inclusion_plan`], [`consistency_plan`], [`root_plan`].
//!   [`inclusion_proof`], [`consistency_proof`] and [`root_from`] do both steps
//!   against a synchronous [`NodeSource`] such as [`MemoryNodes`].

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::digest::{HashAlg, hex};
use crate::error::{MerkleError, ProofError};

/// Length in bytes of every hash in a log: SHA-256 and SM3 both give 32.
pub const HASH_LEN: usize = 32;

/// The largest tree a log may grow to, 2^62 leaves. Bounding sizes keeps every
/// index computation (`2n`, `(k+1)·2^l`) far from `u64` overflow.
pub const MAX_TREE_SIZE: u64 = 1 << 62;

/// The deepest level a complete subtree of a tree of at most
/// [`MAX_TREE_SIZE`] leaves can have.
pub const MAX_LEVEL: u8 = 62;

/// A 32-byte Merkle tree hash (a leaf hash, a node hash or a root).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hash([u8; HASH_LEN]);

impl Hash {
    /// Wraps 32 bytes.
    pub const fn from_bytes(bytes: [u8; HASH_LEN]) -> Self {
        Hash(bytes)
    }

    /// Copies a 32-byte slice.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, MerkleError> {
        <[u8; HASH_LEN]>::try_from(bytes)
            .map(Hash)
            .map_err(|_| MerkleError::HashLength(bytes.len()))
    }

    /// Parses standard, padded base64 (as in checkpoints and proofs).
    pub fn from_base64(text: &str) -> Result<Self, MerkleError> {
        // A 32-byte hash is 44 base64 characters; refuse anything longer before
        // decoding so a hostile proof cannot make us allocate.
        if text.len() != 44 {
            return Err(MerkleError::HashBase64);
        }
        let bytes = BASE64.decode(text).map_err(|_| MerkleError::HashBase64)?;
        Hash::from_slice(&bytes)
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8; HASH_LEN] {
        &self.0
    }

    /// Standard, padded base64.
    pub fn to_base64(&self) -> String {
        BASE64.encode(self.0)
    }

    /// Lower-case hexadecimal.
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl AsRef<[u8]> for Hash {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// Serialised as base64, the form the regulator API and checkpoints use.
impl Serialize for Hash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_base64())
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Hash::from_base64(&text).map_err(serde::de::Error::custom)
    }
}

/// The number of leaves in a tree.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(try_from = "u64", into = "u64")]
// INVARIANT: the size is at most MAX_TREE_SIZE.
pub struct TreeSize(u64);

impl TreeSize {
    /// The empty tree.
    pub const ZERO: TreeSize = TreeSize(0);

    /// Checks `size <= MAX_TREE_SIZE`.
    pub fn new(size: u64) -> Result<Self, MerkleError> {
        if size > MAX_TREE_SIZE {
            return Err(MerkleError::TreeTooLarge(size));
        }
        Ok(TreeSize(size))
    }

    /// The number of leaves.
    pub fn get(self) -> u64 {
        self.0
    }

    /// Whether `index` is a leaf of a tree of this size.
    pub fn contains(self, index: LeafIndex) -> bool {
        index.0 < self.0
    }
}

impl TryFrom<u64> for TreeSize {
    type Error = MerkleError;
    fn try_from(size: u64) -> Result<Self, Self::Error> {
        TreeSize::new(size)
    }
}

impl From<TreeSize> for u64 {
    fn from(size: TreeSize) -> u64 {
        size.0
    }
}

impl fmt::Display for TreeSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The position of a leaf in the log, from 0.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(try_from = "u64", into = "u64")]
// INVARIANT: the index is below MAX_TREE_SIZE, so `index + 1` is a TreeSize.
pub struct LeafIndex(u64);

impl LeafIndex {
    /// Checks `index < MAX_TREE_SIZE`.
    pub fn new(index: u64) -> Result<Self, MerkleError> {
        if index >= MAX_TREE_SIZE {
            return Err(MerkleError::TreeTooLarge(index));
        }
        Ok(LeafIndex(index))
    }

    /// The index.
    pub fn get(self) -> u64 {
        self.0
    }

    /// The size of the tree whose last leaf this is.
    pub fn size_after(self) -> TreeSize {
        // INVARIANT: index < MAX_TREE_SIZE, so index + 1 <= MAX_TREE_SIZE.
        TreeSize(self.0 + 1)
    }
}

impl TryFrom<u64> for LeafIndex {
    type Error = MerkleError;
    fn try_from(index: u64) -> Result<Self, Self::Error> {
        LeafIndex::new(index)
    }
}

impl From<LeafIndex> for u64 {
    fn from(index: LeafIndex) -> u64 {
        index.0
    }
}

impl fmt::Display for LeafIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A complete (perfect) subtree: the `index`-th subtree of `2^level` leaves,
/// covering leaves `[index·2^level, (index+1)·2^level)`. Level 0 nodes are leaf
/// hashes. These are the hashes a store persists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
// INVARIANT: level <= MAX_LEVEL and (index + 1)·2^level <= MAX_TREE_SIZE, so the
// subtree lies inside the largest possible tree and its bounds never overflow.
pub struct NodeId {
    level: u8,
    index: u64,
}

impl NodeId {
    /// Checks that the subtree lies inside a tree of at most [`MAX_TREE_SIZE`] leaves.
    pub fn new(level: u8, index: u64) -> Result<Self, MerkleError> {
        let fits = level <= MAX_LEVEL
            && index
                .checked_add(1)
                .and_then(|end| end.checked_mul(1u64 << level))
                .is_some_and(|end| end <= MAX_TREE_SIZE);
        if !fits {
            return Err(MerkleError::InvalidNode { level, index });
        }
        Ok(NodeId { level, index })
    }

    /// The leaf hash of `index`.
    pub fn leaf(index: LeafIndex) -> Self {
        // INVARIANT: index < MAX_TREE_SIZE.
        NodeId {
            level: 0,
            index: index.0,
        }
    }

    /// Height above the leaves (0 for a leaf hash).
    pub fn level(self) -> u8 {
        self.level
    }

    /// Position among the nodes of its level, from the left.
    pub fn index(self) -> u64 {
        self.index
    }

    /// The leaves the subtree covers, `[start, end)`.
    pub fn leaf_range(self) -> (u64, u64) {
        (self.index << self.level, (self.index + 1) << self.level)
    }

    /// The position of this node in the append-only sequence of stored hashes:
    /// appending leaf `m` stores its leaf hash and then the hashes of the
    /// subtrees it completes, bottom up, so a store may key every node by one
    /// integer and the hashes for a tree of size `n` are exactly the positions
    /// below [`stored_node_count`]`(n)`. (The same order as Go's
    /// `tlog.StoredHashIndex`.)
    pub fn storage_index(self) -> u64 {
        // The leaf that completes this subtree is its last one.
        let last = self.leaf_range().1 - 1;
        stored_node_count_raw(last) + u64::from(self.level)
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}, {})", self.level, self.index)
    }
}

/// How many complete-subtree hashes a tree of `size` leaves stores:
/// `2·size − popcount(size)`.
pub fn stored_node_count(size: TreeSize) -> u64 {
    stored_node_count_raw(size.0)
}

fn stored_node_count_raw(size: u64) -> u64 {
    2 * size - u64::from(size.count_ones())
}

/// `H(0x00 ‖ data)`, the hash of a leaf.
pub fn leaf_hash(alg: HashAlg, data: &[u8]) -> Hash {
    Hash(alg.hash_parts(&[&[0x00], data]))
}

/// `H(0x01 ‖ left ‖ right)`, the hash of an interior node.
pub fn node_hash(alg: HashAlg, left: &Hash, right: &Hash) -> Hash {
    Hash(alg.hash_parts(&[&[0x01], &left.0, &right.0]))
}

/// The root of the empty tree, `H()`.
pub fn empty_root(alg: HashAlg) -> Hash {
    Hash(alg.hash(&[]))
}

/// Supplies the stored hashes of complete subtrees.
///
/// A database implements this by looking the nodes up by `(level, index)` or by
/// [`NodeId::storage_index`]; [`MemoryNodes`] keeps them in vectors.
pub trait NodeSource {
    /// The hashes of `ids`, in the same order. An absent node is
    /// [`MerkleError::MissingNode`].
    fn read_nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, MerkleError>;
}

impl<T: NodeSource + ?Sized> NodeSource for &T {
    fn read_nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, MerkleError> {
        (**self).read_nodes(ids)
    }
}

/// Reads `ids` and checks that the source answered each of them.
fn read_exact(source: &impl NodeSource, ids: &[NodeId]) -> Result<Vec<Hash>, MerkleError> {
    let hashes = source.read_nodes(ids)?;
    if hashes.len() != ids.len() {
        return Err(MerkleError::SourceCount {
            expected: ids.len(),
            got: hashes.len(),
        });
    }
    Ok(hashes)
}

/// The stored nodes a root or a proof needs and how to combine them.
///
/// Each element of the result is the Merkle tree hash of a run of consecutive
/// complete subtrees, folded from the right: `[a, b, c]` gives
/// `H(a ‖ H(b ‖ c))`, which is how RFC 9162 hashes a subtree whose size is not a
/// power of two. Most elements are a single stored node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProofPlan {
    nodes: Vec<NodeId>,
    // The number of nodes that fold into each output element, in output order.
    runs: Vec<usize>,
}

impl ProofPlan {
    /// The stored nodes to fetch, in the order [`ProofPlan::assemble`] wants them.
    pub fn nodes(&self) -> &[NodeId] {
        &self.nodes
    }

    /// Folds the fetched hashes (one per [`ProofPlan::nodes`], same order) into
    /// the proof's hashes, in RFC 9162 order.
    pub fn assemble(&self, alg: HashAlg, hashes: &[Hash]) -> Result<Vec<Hash>, MerkleError> {
        if hashes.len() != self.nodes.len() {
            return Err(MerkleError::SourceCount {
                expected: self.nodes.len(),
                got: hashes.len(),
            });
        }
        let mut out = Vec::with_capacity(self.runs.len());
        let mut rest = hashes;
        for &run in &self.runs {
            let (these, tail) = rest.split_at_checked(run).ok_or(MerkleError::SourceCount {
                expected: self.nodes.len(),
                got: hashes.len(),
            })?;
            rest = tail;
            if let Some(hash) = fold_right(alg, these) {
                out.push(hash);
            }
        }
        Ok(out)
    }

    fn push_run(&mut self, start: u64, end: u64) {
        let before = self.nodes.len();
        decompose(start, end, &mut self.nodes);
        self.runs.push(self.nodes.len() - before);
    }
}

/// `H(a ‖ H(b ‖ … ‖ z))`; `None` for no hashes.
fn fold_right(alg: HashAlg, hashes: &[Hash]) -> Option<Hash> {
    let (last, init) = hashes.split_last()?;
    Some(
        init.iter()
            .rev()
            .fold(*last, |acc, left| node_hash(alg, left, &acc)),
    )
}

/// Appends the complete subtrees that make up the leaves `[start, end)`, left to
/// right, largest first. For the ranges RFC 9162's recursion produces (`start`
/// a multiple of the enclosing power of two), this is exactly the RFC's split,
/// so folding them from the right gives `MTH(D[start:end])`.
fn decompose(start: u64, end: u64, out: &mut Vec<NodeId>) {
    let mut at = start;
    while at < end {
        let by_len = 63 - (end - at).leading_zeros();
        let by_align = if at == 0 { 63 } else { at.trailing_zeros() };
        let level = by_len.min(by_align);
        // INVARIANT: at + 2^level <= end <= MAX_TREE_SIZE for every caller, and
        // level < 63, so the node lies inside the largest tree.
        let level_u8 = u8::try_from(level).unwrap_or(MAX_LEVEL);
        out.push(NodeId {
            level: level_u8,
            index: at >> level,
        });
        at += 1u64 << level;
    }
}

/// The largest power of two strictly below `n` (`n >= 2`).
fn split_point(n: u64) -> u64 {
    1u64 << (63 - (n - 1).leading_zeros())
}

/// The nodes whose hashes make up the root of a tree of `size` leaves: one per
/// set bit of `size`, largest first. This is also the state of a [`Frontier`].
pub fn frontier_nodes(size: TreeSize) -> Vec<NodeId> {
    let mut nodes = Vec::new();
    decompose(0, size.0, &mut nodes);
    nodes
}

/// The plan for the root of a tree of `size` leaves. For the empty tree the plan
/// is empty and [`ProofPlan::assemble`] returns no hash: use [`empty_root`].
pub fn root_plan(size: TreeSize) -> ProofPlan {
    let mut plan = ProofPlan {
        nodes: Vec::new(),
        runs: Vec::new(),
    };
    plan.push_run(0, size.0);
    plan
}

/// The plan for the inclusion proof of leaf `index` in the tree of `size`
/// leaves (RFC 9162 §2.1.3.1). It names at most 2·log₂(size) stored nodes.
pub fn inclusion_plan(index: LeafIndex, size: TreeSize) -> Result<ProofPlan, MerkleError> {
    check_index(index, size)?;
    // Walk from the root down to the leaf, noting each sibling; the RFC lists
    // them from the leaf up.
    let mut siblings = Vec::new();
    let (mut lo, mut hi) = (0u64, size.0);
    let m = index.0;
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if m < lo + k {
            siblings.push((lo + k, hi));
            hi = lo + k;
        } else {
            siblings.push((lo, lo + k));
            lo += k;
        }
    }
    let mut plan = ProofPlan {
        nodes: Vec::new(),
        runs: Vec::new(),
    };
    for &(start, end) in siblings.iter().rev() {
        plan.push_run(start, end);
    }
    Ok(plan)
}

/// The plan for the consistency proof between the trees of `from` and `to`
/// leaves (RFC 9162 §2.1.4.1). The proof is empty when `from` is 0 or equals
/// `to`.
pub fn consistency_plan(from: TreeSize, to: TreeSize) -> Result<ProofPlan, MerkleError> {
    check_order(from, to)?;
    let mut plan = ProofPlan {
        nodes: Vec::new(),
        runs: Vec::new(),
    };
    if from.0 == 0 || from == to {
        return Ok(plan);
    }
    // SUBPROOF(m, D[lo:hi], b), unrolled: each step appends one subtree hash
    // after the recursive part, so collect them top-down and emit reversed.
    let m = from.0;
    let (mut lo, mut hi) = (0u64, to.0);
    let mut whole_old_tree = true;
    let mut appended = Vec::new();
    let mut head = None;
    loop {
        if m == hi {
            if !whole_old_tree {
                head = Some((lo, hi));
            }
            break;
        }
        let k = split_point(hi - lo);
        if m <= lo + k {
            appended.push((lo + k, hi));
            hi = lo + k;
        } else {
            appended.push((lo, lo + k));
            lo += k;
            whole_old_tree = false;
        }
    }
    if let Some((start, end)) = head {
        plan.push_run(start, end);
    }
    for &(start, end) in appended.iter().rev() {
        plan.push_run(start, end);
    }
    Ok(plan)
}

/// The root of the tree of `size` leaves, from stored nodes (O(log n) reads).
pub fn root_from(
    alg: HashAlg,
    source: &impl NodeSource,
    size: TreeSize,
) -> Result<Hash, MerkleError> {
    let plan = root_plan(size);
    let hashes = read_exact(source, plan.nodes())?;
    Ok(fold_right(alg, &hashes).unwrap_or_else(|| empty_root(alg)))
}

/// An inclusion proof: the audit path of leaf `index` in the tree of `size`
/// leaves, hashes from the leaf up (RFC 9162 §2.1.3.1). Serialises as the
/// regulator API's `{ "index", "size", "proof": [base64…] }`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InclusionProof {
    /// The leaf proved.
    pub index: LeafIndex,
    /// The tree it is proved in.
    pub size: TreeSize,
    /// The audit path.
    pub proof: Vec<Hash>,
}

impl InclusionProof {
    /// Checks that `leaf_hash` is leaf `index` of the tree of `size` leaves
    /// whose root is `root`.
    pub fn verify(&self, alg: HashAlg, leaf_hash: &Hash, root: &Hash) -> Result<(), ProofError> {
        verify_inclusion(alg, self.index, self.size, leaf_hash, &self.proof, root)
    }
}

/// A consistency proof between the trees of `from` and `to` leaves (RFC 9162
/// §2.1.4.1). Serialises as the regulator API's `{ "from", "to", "proof" }`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyProof {
    /// The earlier tree size.
    pub from: TreeSize,
    /// The later tree size.
    pub to: TreeSize,
    /// The proof's hashes.
    pub proof: Vec<Hash>,
}

impl ConsistencyProof {
    /// Checks that the tree of `to` leaves with root `new_root` extends the tree
    /// of `from` leaves with root `old_root`.
    pub fn verify(&self, alg: HashAlg, old_root: &Hash, new_root: &Hash) -> Result<(), ProofError> {
        verify_consistency(alg, self.from, self.to, old_root, new_root, &self.proof)
    }
}

/// The inclusion proof of leaf `index` in the tree of `size` leaves.
pub fn inclusion_proof(
    alg: HashAlg,
    source: &impl NodeSource,
    index: LeafIndex,
    size: TreeSize,
) -> Result<InclusionProof, MerkleError> {
    let plan = inclusion_plan(index, size)?;
    let hashes = read_exact(source, plan.nodes())?;
    Ok(InclusionProof {
        index,
        size,
        proof: plan.assemble(alg, &hashes)?,
    })
}

/// The consistency proof between the trees of `from` and `to` leaves.
pub fn consistency_proof(
    alg: HashAlg,
    source: &impl NodeSource,
    from: TreeSize,
    to: TreeSize,
) -> Result<ConsistencyProof, MerkleError> {
    let plan = consistency_plan(from, to)?;
    let hashes = read_exact(source, plan.nodes())?;
    Ok(ConsistencyProof {
        from,
        to,
        proof: plan.assemble(alg, &hashes)?,
    })
}

/// Refuses a leaf index the tree of `size` leaves does not have: asked for in
/// a proof, or claimed by one.
fn check_index(index: LeafIndex, size: TreeSize) -> Result<(), ProofError> {
    if !size.contains(index) {
        return Err(ProofError::IndexOutOfRange {
            index: index.0,
            size: size.0,
        });
    }
    Ok(())
}

/// Refuses consistency from a larger tree to a smaller one: asked for in a
/// proof, or claimed by one.
fn check_order(from: TreeSize, to: TreeSize) -> Result<(), ProofError> {
    if from > to {
        return Err(ProofError::SizesOutOfOrder {
            from: from.0,
            to: to.0,
        });
    }
    Ok(())
}

/// RFC 9162 §2.1.3.2: checks that `leaf_hash` is leaf `index` of the tree of
/// `size` leaves with root `root`, given its audit path.
pub fn verify_inclusion(
    alg: HashAlg,
    index: LeafIndex,
    size: TreeSize,
    leaf_hash: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    check_index(index, size)?;
    let computed = root_from_inclusion(alg, index.0, size.0, leaf_hash, proof)?;
    if computed != *root {
        return Err(ProofError::RootMismatch {
            expected: *root,
            computed,
        });
    }
    Ok(())
}

/// The root an audit path leads to; the caller has checked `index < size`.
fn root_from_inclusion(
    alg: HashAlg,
    index: u64,
    size: u64,
    leaf_hash: &Hash,
    proof: &[Hash],
) -> Result<Hash, ProofError> {
    let (mut f_n, mut s_n) = (index, size - 1);
    let mut r = *leaf_hash;
    for p in proof {
        if s_n == 0 {
            return Err(ProofError::TooManyHashes);
        }
        if f_n & 1 == 1 || f_n == s_n {
            r = node_hash(alg, p, &r);
            if f_n & 1 == 0 {
                // A right edge: skip the levels where this node had no sibling.
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            r = node_hash(alg, &r, p);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    if s_n != 0 {
        return Err(ProofError::TooFewHashes);
    }
    Ok(r)
}

/// RFC 9162 §2.1.4.2: checks that the tree of `to` leaves with root `new_root`
/// extends the tree of `from` leaves with root `old_root`.
///
/// Equal sizes need an empty proof and equal roots. Every tree extends the
/// empty tree: from size 0 the proof must be empty and `old_root` the empty
/// tree's root. (transparency-dev/merkle refuses size 0 as meaningless; a
/// log's first checkpoint may well be empty, so this accepts it.)
pub fn verify_consistency(
    alg: HashAlg,
    from: TreeSize,
    to: TreeSize,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    check_order(from, to)?;
    if from == to || from.0 == 0 {
        if !proof.is_empty() {
            return Err(ProofError::TooManyHashes);
        }
        // Every tree extends the empty one, but only if the earlier root
        // really is the empty tree's.
        if from.0 == 0 && *old_root != empty_root(alg) {
            return Err(ProofError::OldRootMismatch {
                expected: empty_root(alg),
                computed: *old_root,
            });
        }
        if from == to && old_root != new_root {
            return Err(ProofError::RootMismatch {
                expected: *new_root,
                computed: *old_root,
            });
        }
        return Ok(());
    }
    let (first, rest) = proof.split_first().ok_or(ProofError::TooFewHashes)?;
    // When the old tree is a complete subtree, it is its own first node and the
    // proof omits it.
    let (seed, path) = if from.0.is_power_of_two() {
        (old_root, proof)
    } else {
        (first, rest)
    };
    let (mut f_n, mut s_n) = (from.0 - 1, to.0 - 1);
    while f_n & 1 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    let (mut fr, mut sr) = (*seed, *seed);
    for c in path {
        if s_n == 0 {
            return Err(ProofError::TooManyHashes);
        }
        if f_n & 1 == 1 || f_n == s_n {
            fr = node_hash(alg, c, &fr);
            sr = node_hash(alg, c, &sr);
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            sr = node_hash(alg, &sr, c);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    if s_n != 0 {
        return Err(ProofError::TooFewHashes);
    }
    if fr != *old_root {
        return Err(ProofError::OldRootMismatch {
            expected: *old_root,
            computed: fr,
        });
    }
    if sr != *new_root {
        return Err(ProofError::RootMismatch {
            expected: *new_root,
            computed: sr,
        });
    }
    Ok(())
}

/// The right edge of a tree: the hashes of [`frontier_nodes`]`(size)`, enough to
/// compute the root and to append. O(log n) memory.
///
/// The store's writer keeps one, loaded at start-up with
/// [`Frontier::from_hashes`], and persists what [`Frontier::push`] returns; the
/// offline verifier pushes an export's leaves through one to recompute the root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frontier {
    alg: HashAlg,
    size: u64,
    // INVARIANT: hashes[i] is the hash of frontier_nodes(size)[i]; there is one
    // per set bit of size, largest subtree first, and size <= MAX_TREE_SIZE.
    hashes: Vec<Hash>,
}

impl Frontier {
    /// The empty tree.
    pub fn new(alg: HashAlg) -> Self {
        Frontier {
            alg,
            size: 0,
            hashes: Vec::new(),
        }
    }

    /// Rebuilds a frontier from the stored hashes of [`frontier_nodes`]`(size)`,
    /// in that order.
    pub fn from_hashes(
        alg: HashAlg,
        size: TreeSize,
        hashes: Vec<Hash>,
    ) -> Result<Self, MerkleError> {
        let expected = usize::try_from(size.0.count_ones()).unwrap_or(usize::MAX);
        if hashes.len() != expected {
            return Err(MerkleError::FrontierLength {
                size: size.0,
                expected,
                got: hashes.len(),
            });
        }
        Ok(Frontier {
            alg,
            size: size.0,
            hashes,
        })
    }

    /// Reads the frontier of the tree of `size` leaves from stored nodes.
    pub fn from_source(
        alg: HashAlg,
        source: &impl NodeSource,
        size: TreeSize,
    ) -> Result<Self, MerkleError> {
        let hashes = read_exact(source, &frontier_nodes(size))?;
        Frontier::from_hashes(alg, size, hashes)
    }

    /// The hash algorithm.
    pub fn alg(&self) -> HashAlg {
        self.alg
    }

    /// The number of leaves so far.
    pub fn size(&self) -> TreeSize {
        TreeSize(self.size)
    }

    /// The frontier's hashes, largest subtree first (see [`frontier_nodes`]).
    pub fn hashes(&self) -> &[Hash] {
        &self.hashes
    }

    /// The root of the tree so far.
    pub fn root(&self) -> Hash {
        fold_right(self.alg, &self.hashes).unwrap_or_else(|| empty_root(self.alg))
    }

    /// Appends the leaf with hash `leaf` and returns the nodes to persist: the
    /// leaf hash itself, then every complete subtree it finishes, bottom up
    /// (ascending [`NodeId::storage_index`]).
    pub fn push(&mut self, leaf: Hash) -> Result<Vec<(NodeId, Hash)>, MerkleError> {
        let index = LeafIndex::new(self.size)?;
        let completes = self.size.trailing_ones();
        let mut stored = Vec::with_capacity(1 + usize::try_from(completes).unwrap_or(0));
        stored.push((NodeId::leaf(index), leaf));
        let mut hash = leaf;
        for level in 1..=completes {
            // INVARIANT: a set bit of the old size has its subtree on the
            // frontier, so the pop cannot fail; treat it as corruption if it does.
            let left = self.hashes.pop().ok_or(MerkleError::FrontierLength {
                size: self.size,
                expected: usize::try_from(self.size.count_ones()).unwrap_or(usize::MAX),
                got: self.hashes.len(),
            })?;
            hash = node_hash(self.alg, &left, &hash);
            let level_u8 = u8::try_from(level).unwrap_or(MAX_LEVEL);
            stored.push((
                NodeId {
                    level: level_u8,
                    index: index.0 >> level,
                },
                hash,
            ));
        }
        self.hashes.push(hash);
        self.size += 1;
        Ok(stored)
    }

    /// Hashes `data` as a leaf and appends it; see [`Frontier::push`].
    pub fn push_leaf(&mut self, data: &[u8]) -> Result<Vec<(NodeId, Hash)>, MerkleError> {
        self.push(leaf_hash(self.alg, data))
    }
}

/// The left siblings that appending leaf `index` combines with: the nodes a
/// store reads before calling [`stored_nodes_with`], bottom up.
pub fn append_reads(index: LeafIndex) -> Vec<NodeId> {
    let completes = index.0.trailing_ones();
    (0..completes)
        .map(|level| NodeId {
            level: u8::try_from(level).unwrap_or(MAX_LEVEL),
            // INVARIANT: bit `level` of index is set, so the shifted index is odd
            // and its left sibling exists.
            index: (index.0 >> level) - 1,
        })
        .collect()
}

/// The nodes to persist when leaf `index` with hash `leaf` is appended, given
/// the hashes of [`append_reads`]`(index)` in that order: the leaf hash, then
/// every complete subtree it finishes, bottom up.
pub fn stored_nodes_with(
    alg: HashAlg,
    index: LeafIndex,
    leaf: Hash,
    left_siblings: &[Hash],
) -> Result<Vec<(NodeId, Hash)>, MerkleError> {
    let reads = append_reads(index);
    if left_siblings.len() != reads.len() {
        return Err(MerkleError::SourceCount {
            expected: reads.len(),
            got: left_siblings.len(),
        });
    }
    let mut stored = Vec::with_capacity(reads.len() + 1);
    stored.push((NodeId::leaf(index), leaf));
    let mut hash = leaf;
    for (read, left) in reads.iter().zip(left_siblings) {
        hash = node_hash(alg, left, &hash);
        stored.push((
            NodeId {
                level: read.level + 1,
                index: read.index >> 1,
            },
            hash,
        ));
    }
    Ok(stored)
}

/// [`stored_nodes_with`] reading the left siblings from `source`.
pub fn stored_nodes_for_append(
    alg: HashAlg,
    index: LeafIndex,
    leaf: Hash,
    source: &impl NodeSource,
) -> Result<Vec<(NodeId, Hash)>, MerkleError> {
    let left = read_exact(source, &append_reads(index))?;
    stored_nodes_with(alg, index, leaf, &left)
}

/// Every complete-subtree hash of a tree held in memory, level by level. For
/// tests, tools and small logs; a store persists the same nodes instead.
#[derive(Clone, Debug)]
pub struct MemoryNodes {
    alg: HashAlg,
    // INVARIANT: levels[l][k] is the hash of NodeId(l, k) for every complete
    // subtree of the tree of levels[0].len() leaves.
    levels: Vec<Vec<Hash>>,
}

impl MemoryNodes {
    /// An empty tree.
    pub fn new(alg: HashAlg) -> Self {
        MemoryNodes {
            alg,
            levels: Vec::new(),
        }
    }

    /// The hash algorithm.
    pub fn alg(&self) -> HashAlg {
        self.alg
    }

    /// The number of leaves.
    pub fn size(&self) -> TreeSize {
        let leaves = self.levels.first().map_or(0, Vec::len);
        TreeSize(u64::try_from(leaves).unwrap_or(MAX_TREE_SIZE))
    }

    /// Appends a leaf hash, returning its index.
    pub fn push(&mut self, leaf: Hash) -> Result<LeafIndex, MerkleError> {
        let index = LeafIndex::new(self.size().0)?;
        let left = self.read_nodes(&append_reads(index))?;
        for (id, hash) in stored_nodes_with(self.alg, index, leaf, &left)? {
            let level = usize::from(id.level);
            while self.levels.len() <= level {
                self.levels.push(Vec::new());
            }
            if let Some(row) = self.levels.get_mut(level) {
                row.push(hash);
            }
        }
        Ok(index)
    }

    /// Hashes `data` as a leaf and appends it.
    pub fn push_leaf(&mut self, data: &[u8]) -> Result<LeafIndex, MerkleError> {
        self.push(leaf_hash(self.alg, data))
    }

    /// The root of the tree of the first `size` leaves.
    pub fn root_at(&self, size: TreeSize) -> Result<Hash, MerkleError> {
        self.check_size(size)?;
        root_from(self.alg, self, size)
    }

    /// The root of the whole tree.
    pub fn root(&self) -> Hash {
        root_from(self.alg, self, self.size()).unwrap_or_else(|_| empty_root(self.alg))
    }

    /// The inclusion proof of leaf `index` in the tree of the first `size` leaves.
    pub fn inclusion_proof(
        &self,
        index: LeafIndex,
        size: TreeSize,
    ) -> Result<InclusionProof, MerkleError> {
        self.check_size(size)?;
        inclusion_proof(self.alg, self, index, size)
    }

    /// The consistency proof between the first `from` and `to` leaves.
    pub fn consistency_proof(
        &self,
        from: TreeSize,
        to: TreeSize,
    ) -> Result<ConsistencyProof, MerkleError> {
        self.check_size(to)?;
        consistency_proof(self.alg, self, from, to)
    }

    fn check_size(&self, size: TreeSize) -> Result<(), MerkleError> {
        if size > self.size() {
            return Err(MerkleError::SizeBeyondTree {
                size: size.0,
                tree: self.size().0,
            });
        }
        Ok(())
    }
}

impl NodeSource for MemoryNodes {
    fn read_nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, MerkleError> {
        ids.iter()
            .map(|id| {
                usize::try_from(id.index)
                    .ok()
                    .and_then(|k| self.levels.get(usize::from(id.level))?.get(k))
                    .copied()
                    .ok_or(MerkleError::MissingNode {
                        level: id.level,
                        index: id.index,
                    })
            })
            .collect()
    }
}
