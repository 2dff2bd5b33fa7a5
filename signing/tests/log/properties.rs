//! Properties of the log cryptography over random trees, for both hashes.

use proptest::prelude::*;
use yrdx_signing::{
    Checkpoint, Frontier, Hash, HashAlg, LeafIndex, TileNodes, frontier_nodes, inclusion_plan,
    root_from, stored_node_count, tile_bytes, tiles_for_nodes, verify_consistency,
    verify_inclusion,
};

use super::{consistency, mth, path, size, tree_of};

fn alg() -> impl Strategy<Value = HashAlg> {
    prop_oneof![Just(HashAlg::Sha256), Just(HashAlg::Sm3)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn append_prove_verify(alg in alg(), n in 1u64..3000, pick in any::<u64>()) {
        let (tree, leaves) = tree_of(alg, n);
        let index = pick % n;
        let proof = tree.inclusion_proof(LeafIndex::new(index).unwrap(), size(n)).unwrap();
        proof.verify(alg, &leaves[index as usize], &tree.root()).unwrap();
        // And in every earlier tree that contains the leaf.
        let m = index + 1 + pick % (n - index);
        let earlier = tree.inclusion_proof(LeafIndex::new(index).unwrap(), size(m)).unwrap();
        earlier
            .verify(alg, &leaves[index as usize], &tree.root_at(size(m)).unwrap())
            .unwrap();
    }

    #[test]
    fn consistency_between_random_sizes(alg in alg(), n in 1u64..3000, pick in any::<u64>()) {
        let (tree, _) = tree_of(alg, n);
        let m = pick % (n + 1);
        let proof = tree.consistency_proof(size(m), size(n)).unwrap();
        let (old, new) = (tree.root_at(size(m)).unwrap(), tree.root());
        proof.verify(alg, &old, &new).unwrap();
        if m > 0 && m < n {
            prop_assert!(proof.verify(alg, &new, &old).is_err());
        }
    }

    #[test]
    fn node_source_proofs_equal_the_rfc_definitions(
        alg in alg(),
        n in 1usize..300,
        pick in any::<usize>(),
    ) {
        let (tree, leaves) = tree_of(alg, n as u64);
        let m = pick % n;
        let got = tree.inclusion_proof(LeafIndex::new(m as u64).unwrap(), size(n as u64));
        prop_assert_eq!(got.unwrap().proof, path(alg, m, &leaves));
        let k = pick % (n + 1);
        let got = tree.consistency_proof(size(k as u64), size(n as u64)).unwrap();
        prop_assert_eq!(got.proof, consistency(alg, k, &leaves));
        prop_assert_eq!(tree.root(), mth(alg, &leaves));
    }

    #[test]
    fn frontier_root_equals_the_naive_root(alg in alg(), n in 0usize..1500) {
        let (tree, leaves) = tree_of(alg, n as u64);
        let mut frontier = Frontier::new(alg);
        let mut stored = 0u64;
        for leaf in &leaves {
            stored += frontier.push(*leaf).unwrap().len() as u64;
        }
        prop_assert_eq!(frontier.root(), mth(alg, &leaves));
        prop_assert_eq!(stored, stored_node_count(size(n as u64)));
        let reloaded = Frontier::from_source(alg, &tree, size(n as u64)).unwrap();
        prop_assert_eq!(reloaded.root(), frontier.root());
        prop_assert_eq!(reloaded.hashes().len(), frontier_nodes(size(n as u64)).len());
    }

    #[test]
    fn a_flipped_bit_anywhere_breaks_a_proof(
        alg in alg(),
        n in 2u64..500,
        pick in any::<u64>(),
        bit in 0usize..256,
    ) {
        let (tree, leaves) = tree_of(alg, n);
        let index = pick % n;
        let proof = tree.inclusion_proof(LeafIndex::new(index).unwrap(), size(n)).unwrap();
        let k = (pick >> 32) as usize % proof.proof.len();
        let mut bad = proof.proof.clone();
        let mut bytes = *bad[k].as_bytes();
        bytes[bit / 8] ^= 1 << (bit % 8);
        bad[k] = Hash::from_bytes(bytes);
        let index = LeafIndex::new(index).unwrap();
        let leaf = leaves[index.get() as usize];
        prop_assert!(verify_inclusion(alg, index, size(n), &leaf, &bad, &tree.root()).is_err());

        let m = 1 + pick % (n - 1);
        let cproof = tree.consistency_proof(size(m), size(n)).unwrap().proof;
        let k = (pick >> 40) as usize % cproof.len();
        let mut bad = cproof.clone();
        let mut bytes = *bad[k].as_bytes();
        bytes[bit / 8] ^= 1 << (bit % 8);
        bad[k] = Hash::from_bytes(bytes);
        let old = tree.root_at(size(m)).unwrap();
        prop_assert!(verify_consistency(alg, size(m), size(n), &old, &tree.root(), &bad).is_err());
    }

    #[test]
    fn tiles_answer_like_the_store(n in 1u64..5000, pick in any::<u64>()) {
        let alg = HashAlg::Sha256;
        let (tree, _) = tree_of(alg, n);
        let s = size(n);
        let index = LeafIndex::new(pick % n).unwrap();
        let plan = inclusion_plan(index, s).unwrap();
        let mut wanted = plan.nodes().to_vec();
        wanted.extend(frontier_nodes(s));
        let mut client = TileNodes::new(alg);
        for tile in tiles_for_nodes(&wanted, s).unwrap() {
            prop_assert!(tile.is_within(s));
            client.insert(&tile, &tile_bytes(&tree, &tile).unwrap()).unwrap();
        }
        prop_assert_eq!(root_from(alg, &client, s).unwrap(), tree.root());
        let from_tiles = yrdx_signing::inclusion_proof(alg, &client, index, s).unwrap();
        prop_assert_eq!(from_tiles, tree.inclusion_proof(index, s).unwrap());
    }

    #[test]
    fn checkpoint_text_round_trips(
        origin in "[a-z0-9./\u{4e00}-\u{4e10}-]{1,40}",
        n in 0u64..=(1 << 62),
        root in any::<[u8; 32]>(),
        ext in proptest::collection::vec("[ -~]{1,20}", 0..3),
    ) {
        let cp = Checkpoint::new(&origin, size(n), Hash::from_bytes(root))
            .unwrap()
            .with_extensions(ext)
            .unwrap();
        prop_assert_eq!(Checkpoint::from_text(&cp.to_text()).unwrap(), cp);
    }
}
