//! Known answers from published vectors, and corrupted variants of each.
//!
//! Tree vectors: transparency-dev/merkle `testonly/constants.go` (the RFC 6962
//! reference inputs, roots and node hashes, inherited from
//! certificate-transparency) and `testdata/{inclusion,consistency}/*/happy-path.json`.
//! Note vectors: golang.org/x/mod `sumdb/note/note_test.go` and the C2SP
//! signed-note specification's example.

use yrdx_signing::{
    Checkpoint, Hash, HashAlg, LeafIndex, MemoryNodes, NoteSigner, ProofError, TreeSize,
    VerifierKey, empty_root, leaf_hash, open_checkpoint, open_note, sign_note, verify_consistency,
    verify_inclusion,
};

use super::{hd, idx, size};

const SHA: HashAlg = HashAlg::Sha256;

/// The eight RFC 6962 reference leaf inputs.
const LEAVES: [&[u8]; 8] = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
];

/// Roots of the trees of the first 1..=8 inputs.
const ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// Leaf hashes of the eight inputs (NodeHashes level 0).
const LEAF_HASHES: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
    "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
    "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
    "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
];

/// Inclusion happy paths: (leaf index, tree size, proof).
const INCLUSION: [(u64, u64, &[&str]); 5] = [
    (0, 1, &[]),
    (
        0,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        &[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        3,
        &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
    ),
    (
        1,
        5,
        &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
];

/// Consistency happy paths: (size1, size2, proof).
const CONSISTENCY: [(u64, u64, &[&str]); 5] = [
    (1, 1, &[]),
    (
        1,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        &[
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
];

fn reference_tree() -> MemoryNodes {
    let mut tree = MemoryNodes::new(SHA);
    for leaf in LEAVES {
        tree.push_leaf(leaf).unwrap();
    }
    tree
}

fn root(n: u64) -> Hash {
    if n == 0 {
        empty_root(SHA)
    } else {
        hd(ROOTS[n as usize - 1])
    }
}

fn hashes(hex: &[&str]) -> Vec<Hash> {
    hex.iter().map(|h| hd(h)).collect()
}

fn flip(hash: &Hash, bit: usize) -> Hash {
    let mut bytes = *hash.as_bytes();
    bytes[bit / 8] ^= 1 << (bit % 8);
    Hash::from_bytes(bytes)
}

#[test]
fn reference_leaf_hashes_and_roots() {
    for (leaf, expected) in LEAVES.iter().zip(LEAF_HASHES) {
        assert_eq!(leaf_hash(SHA, leaf), hd(expected));
    }
    let tree = reference_tree();
    for n in 0..=8 {
        assert_eq!(tree.root_at(size(n)).unwrap(), root(n), "size {n}");
    }
}

#[test]
fn reference_inclusion_proofs_are_generated_and_verify() {
    let tree = reference_tree();
    for (index, n, proof) in INCLUSION {
        let proof = hashes(proof);
        let generated = tree.inclusion_proof(idx(index), size(n)).unwrap();
        assert_eq!(generated.proof, proof, "({index}, {n})");
        let leaf = hd(LEAF_HASHES[index as usize]);
        verify_inclusion(SHA, idx(index), size(n), &leaf, &proof, &root(n)).unwrap();
    }
}

#[test]
fn reference_consistency_proofs_are_generated_and_verify() {
    let tree = reference_tree();
    for (m, n, proof) in CONSISTENCY {
        let proof = hashes(proof);
        let generated = tree.consistency_proof(size(m), size(n)).unwrap();
        assert_eq!(generated.proof, proof, "({m}, {n})");
        verify_consistency(SHA, size(m), size(n), &root(m), &root(n), &proof).unwrap();
    }
}

#[test]
fn corrupted_inclusion_proofs_fail() {
    for (index, n, proof) in INCLUSION {
        let proof = hashes(proof);
        let leaf = hd(LEAF_HASHES[index as usize]);
        let r = root(n);
        let check = |i: u64, s: u64, leaf: &Hash, p: &[Hash], r: &Hash| match (
            LeafIndex::new(i),
            TreeSize::new(s),
        ) {
            (Ok(i), Ok(s)) => verify_inclusion(SHA, i, s, leaf, p, r),
            _ => Err(ProofError::TooManyHashes),
        };
        let ctx = format!("({index}, {n})");
        // Flipped bit in each proof hash.
        for (k, bit) in (0..proof.len()).flat_map(|k| [(k, 0), (k, 255)]) {
            let mut bad = proof.clone();
            bad[k] = flip(&bad[k], bit);
            assert!(
                check(index, n, &leaf, &bad, &r).is_err(),
                "{ctx} bit {bit} of {k}"
            );
        }
        // Wrong index.
        for wrong in [index + 1, index ^ 2, index.wrapping_sub(1)] {
            if wrong != index {
                assert!(
                    check(wrong, n, &leaf, &proof, &r).is_err(),
                    "{ctx} index {wrong}"
                );
            }
        }
        // Wrong size. A size with the same path shape reaches the same root
        // (an audit path binds the size only through the root), so each claim
        // is checked against the root of the size claimed where the vectors
        // have it, and against the true root beyond.
        for wrong in [n * 2, n / 2, n + 1, n - 1] {
            let claimed_root = if wrong <= 8 { root(wrong) } else { r };
            if wrong != n {
                assert!(
                    check(index, wrong, &leaf, &proof, &claimed_root).is_err(),
                    "{ctx} size {wrong}"
                );
            }
        }
        // Truncated proof, extra element at either end.
        if !proof.is_empty() {
            let truncated = &proof[..proof.len() - 1];
            assert_eq!(
                check(index, n, &leaf, truncated, &r),
                Err(ProofError::TooFewHashes),
                "{ctx}"
            );
        }
        let mut trailing = proof.clone();
        trailing.push(r);
        assert!(
            check(index, n, &leaf, &trailing, &r).is_err(),
            "{ctx} trailing"
        );
        let mut preceding = proof.clone();
        preceding.insert(0, leaf);
        assert!(
            check(index, n, &leaf, &preceding, &r).is_err(),
            "{ctx} preceding"
        );
        // Wrong leaf, wrong root, empty root.
        assert!(
            check(index, n, &flip(&leaf, 3), &proof, &r).is_err(),
            "{ctx}"
        );
        assert!(
            check(index, n, &leaf, &proof, &flip(&r, 3)).is_err(),
            "{ctx}"
        );
        assert!(
            check(index, n, &leaf, &proof, &empty_root(SHA)).is_err(),
            "{ctx}"
        );
    }
}

#[test]
fn corrupted_consistency_proofs_fail() {
    for (m, n, proof) in CONSISTENCY {
        let proof = hashes(proof);
        let (r1, r2) = (root(m), root(n));
        let check = |a: u64, b: u64, r1: &Hash, r2: &Hash, p: &[Hash]| match (
            TreeSize::new(a),
            TreeSize::new(b),
        ) {
            (Ok(a), Ok(b)) => verify_consistency(SHA, a, b, r1, r2, p),
            _ => Err(ProofError::TooManyHashes),
        };
        let ctx = format!("({m}, {n})");
        for (k, bit) in (0..proof.len()).flat_map(|k| [(k, 4), (k, 200)]) {
            let mut bad = proof.clone();
            bad[k] = flip(&bad[k], bit);
            assert!(
                check(m, n, &r1, &r2, &bad).is_err(),
                "{ctx} bit {bit} of {k}"
            );
        }
        for (a, b) in [(m + 1, n), (m - 1, n), (m ^ 2, n), (m, n * 2), (m, n / 2)] {
            if (a, b) != (m, n) && !(a == 0 && proof.is_empty()) {
                assert!(
                    check(a, b, &r1, &r2, &proof).is_err(),
                    "{ctx} sizes ({a}, {b})"
                );
            }
        }
        if m != n {
            assert!(
                check(m, n, &r2, &r1, &proof).is_err(),
                "{ctx} swapped roots"
            );
            assert!(check(m, n, &r1, &r2, &[]).is_err(), "{ctx} empty proof");
            assert!(
                check(m, n, &r1, &r2, &proof[..proof.len() - 1]).is_err(),
                "{ctx}"
            );
        }
        let mut trailing = proof.clone();
        trailing.push(r1);
        assert!(check(m, n, &r1, &r2, &trailing).is_err(), "{ctx} trailing");
        let mut preceding = proof.clone();
        preceding.insert(0, r1);
        assert!(
            check(m, n, &r1, &r2, &preceding).is_err(),
            "{ctx} preceding"
        );
        assert!(
            check(m, n, &flip(&r1, 1), &r2, &proof).is_err(),
            "{ctx} wrong root1"
        );
        assert!(
            check(m, n, &r1, &flip(&r2, 1), &proof).is_err(),
            "{ctx} wrong root2"
        );
    }
}

#[test]
fn consistency_edge_cases_from_transparency_dev_additional_vectors() {
    // testdata/consistency/additional: greater first size, equal sizes with a
    // proof or differing roots all fail; equal sizes, equal roots, no proof pass.
    let e = empty_root(SHA);
    let r1 = root(1);
    assert!(verify_consistency(SHA, size(2), size(1), &r1, &r1, &[]).is_err());
    assert!(verify_consistency(SHA, size(1), size(0), &r1, &e, &[]).is_err());
    assert!(verify_consistency(SHA, size(1), size(1), &r1, &r1, &[]).is_ok());
    assert!(verify_consistency(SHA, size(1), size(1), &r1, &root(2), &[]).is_err());
    assert!(verify_consistency(SHA, size(1), size(1), &e, &e, &[e]).is_err());
    assert!(verify_consistency(SHA, size(0), size(0), &e, &e, &[e]).is_err());
    assert!(verify_consistency(SHA, size(0), size(1), &e, &r1, &[e]).is_err());
    assert!(verify_consistency(SHA, size(1), size(2), &r1, &root(2), &[]).is_err());
    // Deliberate difference: from the empty tree (with the empty root) every
    // tree is consistent, where transparency-dev calls it meaningless.
    assert!(verify_consistency(SHA, size(0), size(1), &e, &r1, &[]).is_ok());
    assert!(verify_consistency(SHA, size(0), size(1), &r1, &r1, &[]).is_err());
}

const PETER_SKEY: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";

#[test]
fn go_note_signature_known_answer() {
    let text = "If you think cryptography is the answer to your problem,\n\
                then you don't know what your problem is.\n";
    let signer = NoteSigner::parse(PETER_SKEY).unwrap();
    let signed = sign_note(text, &[&signer]).unwrap();
    assert!(signed.ends_with(
        "\n\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
    ));
    let key = VerifierKey::parse(PETER_VKEY).unwrap();
    assert_eq!(open_note(signed.as_bytes(), &[key]).unwrap().text(), text);
}

#[test]
fn c2sp_example_key_id() {
    // c2sp.org/signed-note: example.com/foo's key id is 530d903a.
    let key =
        VerifierKey::parse("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k")
            .unwrap();
    assert_eq!(key.key_id(), 0x530d903a);
    let again = VerifierKey::from_ed25519("example.com/foo", key.public_key()).unwrap();
    assert_eq!(again.key_id(), 0x530d903a);
}

#[test]
fn signed_checkpoint_of_the_reference_tree_round_trips() {
    // Deterministic: the same key and tree always give the same note, so this
    // pins the checkpoint encoding end to end.
    let signer = NoteSigner::parse(PETER_SKEY).unwrap();
    let cp = Checkpoint::new("PeterNeumann", size(8), root(8)).unwrap();
    let signed = cp.sign(&signer).unwrap();
    assert!(signed.starts_with(
        "PeterNeumann\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n\n— PeterNeumann x08g"
    ));
    let opened = open_checkpoint(signed.as_bytes(), &signer.verifier_key()).unwrap();
    assert_eq!(opened.checkpoint(), &cp);
    // Seven leaves: the checkpoint for 8 extends it.
    let earlier = Checkpoint::new("PeterNeumann", size(7), root(7)).unwrap();
    let proof = reference_tree()
        .consistency_proof(size(7), size(8))
        .unwrap()
        .proof;
    opened.check_extends(SHA, &earlier, &proof).unwrap();
}
