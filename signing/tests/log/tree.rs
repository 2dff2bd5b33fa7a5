//! The tree's own checks: stored nodes, node ids, plans against the RFC 9162
//! definitions, the frontier, and how hashes and proofs are written.

use yrdx_signing::{
    Frontier, Hash, HashAlg, InclusionProof, LeafIndex, MAX_TREE_SIZE, MemoryNodes, MerkleError,
    NodeId, TreeSize, empty_root, inclusion_proof, leaf_hash, stored_node_count,
    stored_nodes_for_append,
};

use super::{consistency, hd, idx, mth, path, size, tree_of};

#[test]
fn empty_tree_root_is_hash_of_nothing() {
    // RFC 6962 §2.1: MTH({}) = SHA-256(). transparency-dev/merkle
    // testonly/constants.go EmptyRootHash.
    assert_eq!(
        empty_root(HashAlg::Sha256),
        hd("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    );
    assert_eq!(
        MemoryNodes::new(HashAlg::Sha256).root(),
        empty_root(HashAlg::Sha256)
    );
}

#[test]
fn storage_index_matches_append_order() {
    let mut frontier = Frontier::new(HashAlg::Sha256);
    let mut next = 0u64;
    for i in 0..300u64 {
        assert_eq!(stored_node_count(frontier.size()), next);
        for (id, _) in frontier.push_leaf(&i.to_be_bytes()).unwrap() {
            assert_eq!(id.storage_index(), next, "{id}");
            next += 1;
        }
    }
}

#[test]
fn node_ids_outside_the_largest_tree_are_refused() {
    assert!(NodeId::new(62, 0).is_ok());
    assert!(NodeId::new(62, 1).is_err());
    assert!(NodeId::new(63, 0).is_err());
    assert!(NodeId::new(0, MAX_TREE_SIZE).is_err());
    assert!(NodeId::new(1, u64::MAX).is_err());
    assert!(TreeSize::new(MAX_TREE_SIZE).is_ok());
    assert!(TreeSize::new(MAX_TREE_SIZE + 1).is_err());
    assert!(LeafIndex::new(MAX_TREE_SIZE).is_err());
}

#[test]
fn plans_match_the_rfc_definitions_for_small_trees() {
    for alg in [HashAlg::Sha256, HashAlg::Sm3] {
        let (nodes, leaves) = tree_of(alg, 40);
        for n in 1..=40usize {
            let slice = &leaves[..n];
            let root = mth(alg, slice);
            assert_eq!(nodes.root_at(size(n as u64)).unwrap(), root);
            for (m, leaf) in slice.iter().enumerate() {
                let proof = nodes
                    .inclusion_proof(idx(m as u64), size(n as u64))
                    .unwrap();
                assert_eq!(proof.proof, path(alg, m, slice), "PATH({m}, {n})");
                proof.verify(alg, leaf, &root).unwrap();
            }
            for m in 1..=n {
                let proof = nodes
                    .consistency_proof(size(m as u64), size(n as u64))
                    .unwrap();
                assert_eq!(proof.proof, consistency(alg, m, slice), "PROOF({m}, {n})");
                proof.verify(alg, &mth(alg, &leaves[..m]), &root).unwrap();
            }
        }
    }
}

#[test]
fn frontier_and_stored_nodes_agree() {
    let alg = HashAlg::Sm3;
    let (nodes, leaves) = tree_of(alg, 70);
    let mut frontier = Frontier::new(alg);
    for (i, leaf) in leaves.iter().enumerate() {
        let index = idx(i as u64);
        let from_source = stored_nodes_for_append(alg, index, *leaf, &nodes).unwrap();
        assert_eq!(frontier.push(*leaf).unwrap(), from_source);
        assert_eq!(frontier.root(), mth(alg, &leaves[..=i]));
        let reloaded = Frontier::from_source(alg, &nodes, frontier.size()).unwrap();
        assert_eq!(reloaded, frontier);
    }
}

#[test]
fn a_missing_node_is_reported() {
    let (nodes, _) = tree_of(HashAlg::Sha256, 5);
    let err = nodes.inclusion_proof(idx(0), size(6)).unwrap_err();
    assert!(matches!(
        err,
        MerkleError::SizeBeyondTree { size: 6, tree: 5 }
    ));
    let err = inclusion_proof(HashAlg::Sha256, &nodes, idx(0), size(8)).unwrap_err();
    assert!(matches!(err, MerkleError::MissingNode { .. }), "{err}");
}

#[test]
fn hash_base64_is_strict() {
    let h = leaf_hash(HashAlg::Sha256, b"");
    assert_eq!(Hash::from_base64(&h.to_base64()).unwrap(), h);
    assert!(Hash::from_base64("bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0").is_err());
    assert!(Hash::from_base64("bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB1=").is_err());
    assert!(Hash::from_base64("AAAA").is_err());
}

#[test]
fn proofs_serialise_as_the_api_shape() {
    let (nodes, _) = tree_of(HashAlg::Sha256, 3);
    let proof = nodes.inclusion_proof(idx(2), size(3)).unwrap();
    let json = serde_json::to_string(&proof).unwrap();
    assert!(
        json.starts_with(r#"{"index":2,"size":3,"proof":[""#),
        "{json}"
    );
    let back: InclusionProof = serde_json::from_str(&json).unwrap();
    assert_eq!(back, proof);
    let too_big = format!(r#"{{"index":0,"size":{},"proof":[]}}"#, MAX_TREE_SIZE + 1);
    assert!(serde_json::from_str::<InclusionProof>(&too_big).is_err());
}
