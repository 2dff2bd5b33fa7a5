//! Proofs come from the log (or anyone) and are checked against roots the
//! verifier holds: verification must never panic, and must only accept a proof
//! the tree really has.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yrdx_signing::{
    Hash, HashAlg, LeafIndex, MemoryNodes, TreeSize, verify_consistency, verify_inclusion,
};

fuzz_target!(|data: &[u8]| {
    let Some((head, rest)) = data.split_first_chunk::<17>() else {
        return;
    };
    let alg = if head[0] & 1 == 0 { HashAlg::Sha256 } else { HashAlg::Sm3 };
    let a = u64::from_le_bytes(head[1..9].try_into().unwrap_or_default());
    let b = u64::from_le_bytes(head[9..17].try_into().unwrap_or_default());
    let hashes: Vec<Hash> = rest
        .chunks_exact(32)
        .take(70)
        .filter_map(|c| Hash::from_slice(c).ok())
        .collect();
    let (first, proof) = match hashes.split_first() {
        Some((f, p)) => (*f, p),
        None => (Hash::from_bytes([0; 32]), &[][..]),
    };

    // Arbitrary sizes and proofs against an arbitrary root.
    if let (Ok(index), Ok(size)) = (LeafIndex::new(a >> 2), TreeSize::new(b >> 2)) {
        let _ = verify_inclusion(alg, index, size, &first, proof, &first);
    }
    if let (Ok(from), Ok(to)) = (TreeSize::new(a >> 2), TreeSize::new(b >> 2)) {
        let _ = verify_consistency(alg, from, to, &first, &first, proof);
    }

    // A small real tree: only its true proofs may verify.
    let n = (b % 64) + 1;
    let mut tree = MemoryNodes::new(alg);
    for i in 0..n {
        let _ = tree.push_leaf(&i.to_le_bytes());
    }
    let (Ok(size), Ok(index)) = (TreeSize::new(n), LeafIndex::new(a % n)) else {
        return;
    };
    let root = tree.root();
    let leaf = yrdx_signing::leaf_hash(alg, &(a % n).to_le_bytes());
    if let Ok(real) = tree.inclusion_proof(index, size) {
        let ok = verify_inclusion(alg, index, size, &leaf, proof, &root).is_ok();
        assert_eq!(ok, proof == real.proof.as_slice(), "forged inclusion proof accepted");
    }
    let from = TreeSize::new(a % (n + 1)).unwrap_or_default();
    if let (Ok(real), Ok(old_root)) = (tree.consistency_proof(from, size), tree.root_at(from)) {
        let ok = verify_consistency(alg, from, size, &old_root, &root, proof).is_ok();
        assert_eq!(ok, proof == real.proof.as_slice(), "forged consistency proof accepted");
    }
});
