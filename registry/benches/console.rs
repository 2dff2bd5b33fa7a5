//! The regulators' console on a large log: the reads behind the overview of
//! a day and a filtered explorer page, on a log of 1,000,000 leaves spread
//! over that day, on SQLite and — when `YRDX_TEST_DATABASE_URL` is set —
//! PostgreSQL.
//!
//!     cargo bench -p yrdx-registry --bench console
//!
//! The log is filled through `AuditLog::append` as the gateway fills it, with
//! the demo federation's members and list entries, then integrated once. Each
//! read is timed warm (after one untimed run), best and median of five.
//! `YRDX_BENCH_LEAVES` sets another size.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stdout,
    reason = "benchmark harness"
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use yrdx_registry::testing::{fresh_postgres, postgres_url};
use yrdx_registry::{
    AuditLog, EntryQuery, ExchangeRecord, Integration, Integrator, LogOptions, Outcome, Registry,
    RegistryData, ReportCodes, Store, StoreOptions, add_toml, parse_period,
};
use yrdx_signing::{HashAlg, NoteSigner};

const ORIGIN: &str = "bench/console";
/// 2026-11-26T00:00+08:00.
const DAY: &str = "2026-11-26";
const DAY_START_MS: i64 = 1_795_622_400_000;
const DAY_MS: i64 = 86_400_000;

const CODES: ReportCodes<'static> = ReportCodes {
    record_not_found: "record_not_found",
    quota_exhausted: "quota_exhausted",
    provider_failures: &["provider_unavailable", "provider_timeout"],
    seal_failures: &["seal_invalid"],
};

/// The demo federation's registry, read from the conformance crate's files.
fn registry() -> Registry {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../conformance/demo/registry");
    let mut data = RegistryData::default();
    for file in ["members.toml", "catalogue.toml", "responsibility-list.toml"] {
        let text = std::fs::read_to_string(format!("{dir}/{file}")).unwrap();
        add_toml(&mut data, file, &text).unwrap();
    }
    Registry::build(1, data).unwrap()
}

/// Leaf `i` of `n`: one of the list's entries, one of its consumers, served
/// four times in five, refused otherwise with one of a few codes; received
/// at an even pace over the day.
fn record(registry: &Registry, i: u64, n: u64) -> (ExchangeRecord, i64) {
    let entries: Vec<_> = registry
        .entries()
        .iter()
        .filter(|e| !e.consumers.is_empty())
        .collect();
    let e = entries[usize::try_from(i % entries.len() as u64).unwrap()];
    let consumers = &e.consumers;
    let consumer =
        consumers[usize::try_from((i / 7) % consumers.len() as u64).unwrap()].to_string();
    let refused = i % 5 == 4;
    let code = [
        "purpose_not_allowed",
        "quota_exhausted",
        "record_not_found",
        "provider_timeout",
    ][usize::try_from((i / 5) % 4).unwrap()];
    let time_ms = DAY_START_MS + i64::try_from(i).unwrap() * DAY_MS / i64::try_from(n).unwrap();
    let time = yrdx_registry::cst_time(time_ms);
    let record = ExchangeRecord {
        v: 1,
        time,
        request_id: format!("0190b6f2-5f3a-7c1d-8e4f-{i:012}"),
        node: "bench-1".into(),
        api: "exchange".into(),
        consumer: Some(consumer),
        provider: Some(e.provider.to_string()),
        resource: Some(e.resource.clone()),
        purpose: Some("市场主体登记核验".into()),
        service_item: None,
        case_no: None,
        entry: Some(e.id.clone()),
        items: vec!["uscc".into(), "name".into(), "status".into()],
        request_digest: Some("a".repeat(64)),
        response_digest: (!refused).then(|| "b".repeat(64)),
        native_digest: (!refused).then(|| "c".repeat(64)),
        mapping: Some("d".repeat(64)),
        outcome: if refused {
            Outcome::Refused
        } else {
            Outcome::Served
        },
        code: refused.then(|| code.to_owned()),
        retry_of: None,
        parent: None,
        status: if refused { 403 } else { 200 },
        latency_us: 5_000 + (i % 97) * 300,
        seal: None,
    };
    (record, time_ms)
}

async fn fill(store: &Store, registry: &Arc<Registry>, n: u64) {
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
                let registry = registry.clone();
                tokio::spawn(async move {
                    let (r, time_ms) = record(&registry, i, n);
                    log.append(&r, time_ms).await.unwrap()
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        at += count;
    }
    println!("filled {n} leaves in {:?}", started.elapsed());
    let started = Instant::now();
    let signer = Arc::new(NoteSigner::from_seed(ORIGIN, &[7; 32]).unwrap());
    let mut integrator = Integrator::new(store.clone(), signer).await.unwrap();
    loop {
        match integrator.integrate(DAY_START_MS + DAY_MS).await.unwrap() {
            Integration::Signed(_) => {}
            Integration::UpToDate(size) if size.get() == n => break,
            other => panic!("{other:?}"),
        }
    }
    println!("integrated {n} leaves in {:?}", started.elapsed());
}

/// Runs `read` once untimed, then five times; prints best and median.
async fn time<T>(what: &str, mut read: impl AsyncFnMut() -> T) -> T {
    let mut out = read().await;
    let mut times: Vec<Duration> = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        out = read().await;
        times.push(started.elapsed());
    }
    times.sort();
    println!(
        "  {what}: best {:.1} ms, median {:.1} ms",
        times[0].as_secs_f64() * 1e3,
        times[2].as_secs_f64() * 1e3
    );
    out
}

async fn reads(backend: &str, store: &Store, registry: &Registry, n: u64) {
    println!("{backend}, {n} leaves over {DAY}:");
    let day = parse_period(DAY).unwrap();
    let summary = time("GET /v1/audit/summary (the day's overview)", async || {
        store.log_summary(registry, &day).await.unwrap()
    })
    .await;
    assert_eq!(summary.exchanges, n);
    let report = time("GET /v1/reports/fulfilment of the day", async || {
        store.fulfilment(registry, &day, &CODES).await.unwrap()
    })
    .await;
    assert_eq!(report.exchanges, n);
    let size = store.log_tree_size().await.unwrap().get();
    let window = EntryQuery {
        start: size - 1000,
        end: size,
        ..EntryQuery::default()
    };
    let (last, _) = record(registry, size - 1, n);
    let consumer = last.consumer.clone();
    let page = time(
        "GET /v1/audit/entries, the last 1,000 indices by consumer",
        async || {
            store
                .log_entries(&EntryQuery {
                    consumer: consumer.clone(),
                    ..window.clone()
                })
                .await
                .unwrap()
        },
    )
    .await;
    assert!(!page.is_empty());
    // A refusal under the last leaf's entry, and its code.
    let refusal = (size - 1000..size)
        .rev()
        .map(|i| record(registry, i, n).0)
        .find(|r| r.entry == last.entry && r.code.is_some())
        .unwrap();
    let page = time(
        "GET /v1/audit/entries, the last 1,000 indices by list entry and code",
        async || {
            store
                .log_entries(&EntryQuery {
                    entry: refusal.entry.clone(),
                    code: refusal.code.clone(),
                    ..window.clone()
                })
                .await
                .unwrap()
        },
    )
    .await;
    assert!(!page.is_empty());
}

fn main() {
    let n: u64 = std::env::var("YRDX_BENCH_LEAVES")
        .ok()
        .map_or(1_000_000, |v| v.parse().unwrap());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let registry = Arc::new(registry());
    rt.block_on(async {
        let options = StoreOptions {
            max_connections: 16,
            ..StoreOptions::default()
        };
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("console.db").display());
        let mut stores = vec![("sqlite", Store::open(&url, &options).await.unwrap())];
        if let Some(server) = postgres_url("bench_console") {
            let url = fresh_postgres(&server, "bench_console").await.unwrap();
            stores.push(("postgres", Store::open(&url, &options).await.unwrap()));
        }
        for (backend, store) in &stores {
            fill(store, &registry, n).await;
            reads(backend, store, &registry, n).await;
            store.close().await;
        }
    });
}
