//! The exchange log: encoding one record as its leaf, and in the store:
//! durable appends per second with group commit at 1, 16 and 256 concurrent
//! writers, and an inclusion proof read from the store of a 10⁶-leaf log, on
//! SQLite and — when
//! `YRDX_TEST_DATABASE_URL` is set — PostgreSQL.
//!
//!     YRDX_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
//!       cargo bench -p yrdx-registry --bench log
//!
//! Appends run as the gateway runs them: each caller waits until its own leaf
//! is committed (SQLite WAL with `synchronous=FULL`, PostgreSQL's default
//! `synchronous_commit=on`), with the background integrator signing
//! checkpoints at the default interval meanwhile.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    reason = "benchmark harness"
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use yrdx_registry::testing::{fresh_postgres, postgres_url};
use yrdx_registry::{
    AuditLog, CheckpointOptions, ExchangeRecord, Integration, Integrator, LogOptions, Outcome,
    Store, StoreOptions,
};
use yrdx_signing::{HashAlg, LeafIndex, NoteSigner};

const ORIGIN: &str = "bench/log";

fn record(i: u64) -> ExchangeRecord {
    ExchangeRecord {
        v: 1,
        time: "2026-11-26T01:00:00.000Z".into(),
        request_id: format!("0190b6f2-5f3a-7c1d-8e4f-{i:012}"),
        node: "bench-1".into(),
        api: "exchange".into(),
        consumer: Some("js:11320000014000118J:data".into()),
        provider: Some("zj:11330000002482028A:data".into()),
        resource: Some("YRD-SCJG-0001".into()),
        purpose: Some("市场主体登记核验".into()),
        service_item: None,
        case_no: None,
        entry: Some("RL-2026-00001".into()),
        items: vec!["uscc".into(), "name".into(), "status".into()],
        request_digest: Some("a".repeat(64)),
        response_digest: Some("b".repeat(64)),
        native_digest: Some("c".repeat(64)),
        mapping: Some("d".repeat(64)),
        outcome: Outcome::Served,
        parent: None,
        code: None,
        status: 200,
        latency_us: 12_345,
        retry_of: None,
        seal: None,
    }
}

fn signer() -> Arc<NoteSigner> {
    Arc::new(NoteSigner::from_seed(ORIGIN, &[7; 32]).unwrap())
}

/// The runtime the benchmarks run on: two worker threads.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A fresh store per backend available.
async fn stores(label: &str) -> Vec<(&'static str, Store, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("bench.db").display());
    let options = StoreOptions {
        max_connections: 16,
        ..StoreOptions::default()
    };
    let mut out = vec![(
        "sqlite",
        Store::open(&url, &options).await.unwrap(),
        Some(dir),
    )];
    if let Some(server) = postgres_url(label) {
        let url = fresh_postgres(&server, label).await.unwrap();
        out.push(("postgres", Store::open(&url, &options).await.unwrap(), None));
    }
    out
}

async fn open(store: &Store, max_batch: usize) -> AuditLog {
    AuditLog::open(
        store.clone(),
        ORIGIN,
        HashAlg::Sha256,
        0,
        LogOptions {
            max_batch,
            queue: 1 << 16,
            checkpoints: Some(CheckpointOptions {
                signer: signer(),
                interval: Duration::from_secs(1),
            }),
        },
    )
    .await
    .unwrap()
}

/// `writers` tasks, each appending `each` records one after another.
async fn append_burst(log: &AuditLog, writers: u64, each: u64) -> Duration {
    let start = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let log = log.clone();
            tokio::spawn(async move {
                for i in 0..each {
                    log.append(&record(w * 1_000_000 + i), 0).await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    start.elapsed()
}

fn appends(c: &mut Criterion) {
    let rt = runtime();
    let stores = rt.block_on(stores("bench_appends"));
    let mut group = c.benchmark_group("durable appends");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.warm_up_time(Duration::from_secs(2));
    for (backend, store, _dir) in &stores {
        let log = rt.block_on(open(store, 256));
        for writers in [1u64, 16, 256] {
            // Enough appends per sample that a batch forms at every level.
            let each = match writers {
                1 => 32,
                16 => 16,
                _ => 4,
            };
            group.throughput(Throughput::Elements(writers * each));
            group.bench_with_input(
                BenchmarkId::new(*backend, format!("{writers} writers")),
                &writers,
                |b, &writers| {
                    b.iter_custom(|iters| {
                        rt.block_on(async {
                            let mut total = Duration::ZERO;
                            for _ in 0..iters {
                                total += append_burst(&log, writers, each).await;
                            }
                            total
                        })
                    });
                },
            );
        }
        rt.block_on(log.stop_integrator());
    }
    group.finish();
    close(&rt, &stores);
}

/// Closes the stores inside the runtime: dropped outside it, the SQLite
/// writing connection could not return to its pool.
fn close(
    rt: &tokio::runtime::Runtime,
    stores: &[(&'static str, Store, Option<tempfile::TempDir>)],
) {
    for (_, store, _) in stores {
        rt.block_on(store.close());
    }
}

/// Fills a log to `n` leaves with large group commits, then integrates.
async fn fill(store: &Store, n: u64) {
    let log = AuditLog::open(
        store.clone(),
        ORIGIN,
        HashAlg::Sha256,
        0,
        LogOptions {
            max_batch: 4096,
            queue: 1 << 16,
            checkpoints: None,
        },
    )
    .await
    .unwrap();
    let started = Instant::now();
    let wave = 8192;
    let mut at = store.log_size().await.unwrap();
    while at < n {
        let count = wave.min(n - at);
        let tasks: Vec<_> = (at..at + count)
            .map(|i| {
                let log = log.clone();
                tokio::spawn(async move { log.append(&record(i), 0).await.unwrap() })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        at += count;
    }
    println!("filled {n} leaves in {:?}", started.elapsed());
    let started = Instant::now();
    let mut integrator = Integrator::new(store.clone(), signer()).await.unwrap();
    match integrator.integrate(0).await.unwrap() {
        Integration::Signed(cp) => assert_eq!(cp.size.get(), n),
        other => panic!("{other:?}"),
    }
    println!("integrated {n} leaves in {:?}", started.elapsed());
}

fn proofs(c: &mut Criterion) {
    const N: u64 = 1_000_000;
    let rt = runtime();
    let stores = rt.block_on(stores("bench_proofs"));
    let mut group = c.benchmark_group("inclusion proof from the store at 10^6 leaves");
    group.sample_size(50);
    for (backend, store, _dir) in &stores {
        rt.block_on(fill(store, N));
        let size = rt.block_on(store.log_tree_size()).unwrap();
        let mut pick = 0x9e37_79b9_7f4a_7c15u64;
        group.bench_function(*backend, |b| {
            b.iter(|| {
                // A different leaf each time, so no cache favours one path.
                pick = pick.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                let index = LeafIndex::new(pick % N).unwrap();
                rt.block_on(store.inclusion_proof(HashAlg::Sha256, index, size))
                    .unwrap()
            });
        });
    }
    group.finish();
    close(&rt, &stores);
}

/// A served exchange's record as its canonical leaf, and the same record
/// through the general RFC 8785 canonicaliser (what `to_leaf` used to do).
fn leaves(c: &mut Criterion) {
    let rec = record(42);
    let mut group = c.benchmark_group("leaf encoding");
    group.bench_function("to_leaf", |b| b.iter(|| rec.to_leaf().unwrap()));
    group.bench_function("general canonicaliser", |b| {
        b.iter(|| serde_json_canonicalizer::to_vec(&rec).unwrap())
    });
    group.finish();
}

criterion_group!(benches, leaves, appends, proofs);
criterion_main!(benches);
