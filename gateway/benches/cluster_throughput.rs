//! Throughput of a cluster of `yrdx serve` nodes on one PostgreSQL database
//! (one node and three, 16 and 64 keep-alive clients), and of the store's
//! period-quota upserts alone: the capacity figures of the operations guide.
//! It measures, it does not check; it prints one `MEASURE` line a figure.
//!
//! Run it, with a PostgreSQL server it may create scratch databases on:
//!
//!     YRDX_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
//!       cargo bench -p yrdx-gateway --bench cluster_throughput
//!
//! `cargo bench` builds the `yrdx` binary it starts with the bench profile
//! (optimised). Without `YRDX_TEST_DATABASE_URL` it says so and exits 2.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss,
    clippy::print_stderr,
    reason = "a measurement: a panic ends it"
)]

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use yrdx_registry::testing::{TEST_DATABASE_ENV, fresh_postgres};

#[path = "../tests/common/mod.rs"]
mod common;
use common::cluster::{Cluster, Load};
use common::{DEMO_QUOTA, JS};

fn main() -> ExitCode {
    let server = std::env::var(TEST_DATABASE_ENV).unwrap_or_default();
    if server.is_empty() {
        eprintln!(
            "cluster_throughput: {TEST_DATABASE_ENV} must name a PostgreSQL server, e.g. postgres://postgres@127.0.0.1:5432/test"
        );
        return ExitCode::from(2);
    }
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap()
        .block_on(measure(&server));
    ExitCode::SUCCESS
}

async fn measure(server: &str) {
    let secs = 5;
    for n in [1, 3] {
        let url = fresh_postgres(server, "cluster_measure").await.unwrap();
        let cluster = Cluster::start(&url, n).await;
        cluster
            .reimport_list(|t| t.replace(DEMO_QUOTA, "quota = { per_day = 100000000 }"))
            .await;
        for workers in [16, 64] {
            let load = Load::start(&cluster, JS, workers, 0);
            // A second's warm-up, then a fixed window: time passing is what is measured.
            tokio::time::sleep(Duration::from_secs(1)).await;
            let warm = load.answered();
            let started = Instant::now();
            tokio::time::sleep(Duration::from_secs(secs)).await;
            let done = load.answered();
            let took = started.elapsed().as_secs_f64();
            let s = load.finish().await;
            let served = s.answered.values().filter(|a| a.status == 200).count();
            eprintln!(
                "MEASURE {n} node(s), {workers} keep-alive clients: {:.0} exchanges/s ({served} of {} served, {} errors)",
                (done - warm) as f64 / took,
                s.answered.len(),
                s.errors
            );
        }
        if n == 1 {
            // The store alone: period-quota upserts, one hot row and spread rows.
            let quota = yrdx_registry::Quota {
                per_day: Some(u64::MAX / 2),
                per_month: Some(u64::MAX / 2),
                ..Default::default()
            };
            for (label, spread) in [("one hot row", false), ("1,000 rows", true)] {
                for callers in [16usize, 64] {
                    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
                    let count = Arc::new(std::sync::atomic::AtomicU64::new(0));
                    let mut tasks = Vec::new();
                    for c in 0..callers {
                        let (store, stop, count, quota) =
                            (cluster.store.clone(), stop.clone(), count.clone(), quota);
                        tasks.push(tokio::spawn(async move {
                            let mut i = 0usize;
                            while !stop.load(Ordering::Relaxed) {
                                let consumer = if spread {
                                    format!("c{}", (c * 7919 + i) % 1000)
                                } else {
                                    "c".to_owned()
                                };
                                store
                                    .take_quota(
                                        "RL-MEASURE",
                                        &consumer,
                                        &quota,
                                        time::OffsetDateTime::now_utc(),
                                    )
                                    .await
                                    .unwrap();
                                count.fetch_add(1, Ordering::Relaxed);
                                i += 1;
                            }
                        }));
                    }
                    let started = Instant::now();
                    tokio::time::sleep(Duration::from_secs(3)).await;
                    stop.store(true, Ordering::Relaxed);
                    let took = started.elapsed().as_secs_f64();
                    for t in tasks {
                        t.await.unwrap();
                    }
                    eprintln!(
                        "MEASURE quota upserts (day + month, one transaction), {label}, {callers} callers: {:.0}/s",
                        count.load(Ordering::Relaxed) as f64 / took
                    );
                }
            }
        }
        cluster.stop().await;
    }
}
