//! Log cryptography: leaf hashing, the nodes to store per append, inclusion and
//! consistency proofs at 10⁶ leaves, checkpoint signing and verification, and
//! offline export verification.
//!
//! `cargo bench -p yrdx-signing --bench merkle`; figures in docs/performance.md.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use yrdx_signing::{
    Checkpoint, ExportHeader, ExportOptions, Frontier, HashAlg, LeafIndex, MemoryNodes, NoteSigner,
    TreeSize, export_entry_line, leaf_hash, open_checkpoint, stored_nodes_for_append,
    verify_consistency, verify_export, verify_inclusion,
};

const MILLION: u64 = 1_000_000;

/// A leaf of the size of a typical exchange record's canonical JSON.
fn record(i: u64) -> Vec<u8> {
    format!(
        r#"{{"consumer":"zj:11330000002482028A","entry":"licence","index":{i},"outcome":"served","provider":"sh:91310000MA1FL0000X","request":"{:064x}","resource":"licence/query","time":"2026-11-26T00:00:00Z"}}"#,
        i
    )
    .into_bytes()
}

fn tree(alg: HashAlg, n: u64) -> MemoryNodes {
    let mut t = MemoryNodes::new(alg);
    for i in 0..n {
        let _ = t.push_leaf(&i.to_le_bytes());
    }
    t
}

fn bench(c: &mut Criterion) {
    let leaf = record(42);
    let mut g = c.benchmark_group("leaf_hash");
    g.throughput(Throughput::Bytes(leaf.len() as u64));
    for alg in [HashAlg::Sha256, HashAlg::Sm3] {
        g.bench_function(alg.name(), |b| b.iter(|| leaf_hash(alg, black_box(&leaf))));
    }
    g.finish();

    for alg in [HashAlg::Sha256, HashAlg::Sm3] {
        let big = tree(alg, MILLION);
        let size = big.size();
        let root = big.root();

        let mut g = c.benchmark_group(format!("append_{}", alg.name()));
        // The writer's path: a Frontier kept in memory at 10⁶ leaves.
        let frontier = Frontier::from_source(alg, &big, size).ok();
        g.bench_function("frontier_push", |b| {
            b.iter_batched_ref(
                || frontier.clone(),
                |f| f.as_mut().map(|f| f.push(leaf_hash(alg, &leaf))),
                BatchSize::SmallInput,
            )
        });
        // The stateless path: read left siblings from the node source.
        let next = LeafIndex::new(MILLION).ok();
        g.bench_function("stored_nodes_for_append", |b| {
            b.iter(|| next.map(|i| stored_nodes_for_append(alg, i, leaf_hash(alg, &leaf), &big)))
        });
        g.finish();

        let mut g = c.benchmark_group(format!("proof_1e6_{}", alg.name()));
        let mut k = 0u64;
        g.bench_function("inclusion_generate", |b| {
            b.iter(|| {
                k = (k + 7_919) % MILLION;
                LeafIndex::new(k).map(|i| big.inclusion_proof(i, size))
            })
        });
        let index = LeafIndex::new(765_432).ok();
        let proof = index.and_then(|i| big.inclusion_proof(i, size).ok());
        let leaf_h = leaf_hash(alg, &765_432u64.to_le_bytes());
        g.bench_function("inclusion_verify", |b| {
            b.iter(|| {
                proof
                    .as_ref()
                    .map(|p| verify_inclusion(alg, p.index, size, &leaf_h, &p.proof, &root))
            })
        });
        let old = TreeSize::new(654_321).ok();
        let cproof = old.and_then(|o| big.consistency_proof(o, size).ok());
        let old_root = old.and_then(|o| big.root_at(o).ok());
        g.bench_function("consistency_generate", |b| {
            b.iter(|| old.map(|o| big.consistency_proof(o, size)))
        });
        g.bench_function("consistency_verify", |b| {
            b.iter(|| {
                cproof
                    .as_ref()
                    .zip(old_root)
                    .map(|(p, r)| verify_consistency(alg, p.from, p.to, &r, &root, &p.proof))
            })
        });
        g.bench_function("root", |b| b.iter(|| big.root()));
        g.finish();
    }

    let mut g = c.benchmark_group("checkpoint");
    let signer = NoteSigner::from_seed("yrdx.example/audit", &[3; 32]).ok();
    let key = signer.as_ref().map(NoteSigner::verifier_key);
    let cp = TreeSize::new(MILLION).ok().and_then(|s| {
        Checkpoint::new("yrdx.example/audit", s, leaf_hash(HashAlg::Sha256, b"r")).ok()
    });
    let signed = cp
        .as_ref()
        .zip(signer.as_ref())
        .and_then(|(cp, s)| cp.sign(s).ok());
    g.bench_function("sign", |b| {
        b.iter(|| cp.as_ref().zip(signer.as_ref()).map(|(cp, s)| cp.sign(s)))
    });
    g.bench_function("open_verify", |b| {
        b.iter(|| {
            signed
                .as_ref()
                .zip(key.as_ref())
                .map(|(n, k)| open_checkpoint(n.as_bytes(), k))
        })
    });
    g.finish();

    // The regulator's path: verify a 100,000-leaf export from scratch.
    let n = 100_000u64;
    let mut g = c.benchmark_group("export");
    g.throughput(Throughput::Elements(n));
    g.sample_size(10);
    let export = signer.as_ref().and_then(|s| {
        let mut t = MemoryNodes::new(HashAlg::Sha256);
        let mut lines = String::new();
        for i in 0..n {
            let leaf = record(i);
            t.push_leaf(&leaf).ok()?;
            lines.push_str(&export_entry_line(LeafIndex::new(i).ok()?, &leaf));
        }
        let checkpoint = Checkpoint::new("yrdx.example/audit", t.size(), t.root())
            .ok()?
            .sign(s)
            .ok()?;
        let header = ExportHeader {
            origin: "yrdx.example/audit".to_owned(),
            alg: HashAlg::Sha256,
            start: 0,
            prefix: Vec::new(),
            checkpoint,
            checkpoints: Vec::new(),
        };
        Some([header.to_line(), lines].concat().into_bytes())
    });
    let options = ExportOptions::default();
    g.bench_function("verify_100k_leaves", |b| {
        b.iter(|| {
            export
                .as_ref()
                .zip(key.as_ref())
                .map(|(e, k)| verify_export(e, k, &options).map(|r| r.is_valid()))
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
