//! The tamper-evident log's cryptography: known answers pinned to published
//! vectors, corrupted variants, and properties.

mod known_answers;
mod properties;
mod tree;

use yrdx_signing::{
    Hash, HashAlg, LeafIndex, MemoryNodes, TreeSize, empty_root, leaf_hash, node_hash,
};

/// Decodes hex test data.
pub fn hd(s: &str) -> Hash {
    let bytes: Vec<u8> = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect();
    Hash::from_slice(&bytes).unwrap()
}

/// A tree size that the test knows is in range.
pub fn size(n: u64) -> TreeSize {
    TreeSize::new(n).unwrap()
}

/// A leaf index that the test knows is in range.
pub fn idx(n: u64) -> LeafIndex {
    LeafIndex::new(n).unwrap()
}

/// A tree of `n` leaves, leaf `i` holding the bytes of `i`, and its leaf hashes.
pub fn tree_of(alg: HashAlg, n: u64) -> (MemoryNodes, Vec<Hash>) {
    let mut tree = MemoryNodes::new(alg);
    let mut leaves = Vec::new();
    for i in 0..n {
        let h = leaf_hash(alg, &i.to_le_bytes());
        tree.push(h).unwrap();
        leaves.push(h);
    }
    (tree, leaves)
}

/// The largest power of two below `n`.
fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// MTH(D[n]) straight from the RFC 9162 §2.1.1 definition.
pub fn mth(alg: HashAlg, leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(alg),
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(alg, &mth(alg, &leaves[..k]), &mth(alg, &leaves[k..]))
        }
    }
}

/// PATH(m, D[n]) straight from RFC 9162 §2.1.3.1.
pub fn path(alg: HashAlg, m: usize, leaves: &[Hash]) -> Vec<Hash> {
    let n = leaves.len();
    if n <= 1 {
        return Vec::new();
    }
    let k = split(n);
    let (mut p, sibling) = if m < k {
        (path(alg, m, &leaves[..k]), mth(alg, &leaves[k..]))
    } else {
        (path(alg, m - k, &leaves[k..]), mth(alg, &leaves[..k]))
    };
    p.push(sibling);
    p
}

/// PROOF(m, D[n]) straight from RFC 9162 §2.1.4.1.
pub fn consistency(alg: HashAlg, m: usize, leaves: &[Hash]) -> Vec<Hash> {
    fn sub(alg: HashAlg, m: usize, leaves: &[Hash], b: bool) -> Vec<Hash> {
        let n = leaves.len();
        if m == n {
            return if b {
                Vec::new()
            } else {
                vec![mth(alg, leaves)]
            };
        }
        let k = split(n);
        let (mut p, other) = if m <= k {
            (sub(alg, m, &leaves[..k], b), mth(alg, &leaves[k..]))
        } else {
            (sub(alg, m - k, &leaves[k..], false), mth(alg, &leaves[..k]))
        };
        p.push(other);
        p
    }
    if m == 0 {
        return Vec::new();
    }
    sub(alg, m, leaves, true)
}
