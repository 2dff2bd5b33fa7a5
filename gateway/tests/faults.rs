//! Store faults under a running node: a whole demo federation on loopback, on
//! SQLite and — when `YRDX_TEST_DATABASE_URL` is set — on PostgreSQL, with
//! real write failures injected into its store (`yrdx_registry::testing::
//! Faults`). While leaves cannot be written, or checkpoints cannot advance,
//! exchanges are refused `audit_unavailable` and `/readyz` answers 503 saying
//! why; once the fault clears the node is ready again, serves with receipts,
//! and a checkpoint covers every leaf — with no restart.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a panic is a failing test"
)]

mod common;

use std::time::{Duration, Instant};

use serde_json::Value;
use yrdx_conformance::client;
use yrdx_gateway::cli::demo;
use yrdx_registry::testing::{Faults, Writer, fresh_postgres};

use common::cluster::readyz;
use common::{JS, SCJG, postgres_server, served_body, wait_for};

/// Generous bounds for a machine busy with other tests.
const WITHIN: Duration = Duration::from_secs(15);

/// Posts the market-registration check as Jiangsu: (status, answer).
async fn exchange(demo: &demo::Demo) -> (u16, Value) {
    let m = &demo.manifest;
    let f = &m.members[JS];
    let tls = client::tls_config(&m.ca_bundle, Some((f.cert.as_path(), f.key.as_path()))).unwrap();
    let answer = client::request(
        &demo.gateway.exchange_addr().to_string(),
        tls,
        "POST",
        SCJG,
        &served_body(),
    )
    .await
    .unwrap();
    (answer.status, answer.json())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_fault_makes_the_node_unready_and_refuse_then_it_records_and_checkpoints_again() {
    let mut urls = vec![None];
    if let Some(server) = postgres_server("gateway_store_fault") {
        urls.push(Some(
            fresh_postgres(&server, "gateway_fault").await.unwrap(),
        ));
    }
    for store_url in urls {
        let dir = tempfile::tempdir().unwrap();
        let demo = common::start_demo(dir.path(), store_url).await;
        let app = demo.gateway.app().clone();
        let url = app.config.store.url.clone();
        let admin = demo.gateway.admin_addr().to_string();
        let mut faults = Faults::install(&url).await.unwrap();
        let (status, answer) = exchange(&demo).await;
        assert_eq!(status, 200, "{url}: {answer}");
        assert_eq!(readyz(&admin).await.unwrap().0, 200, "{url}");

        for (writer, reason) in [
            (Writer::Leaves, "the exchange log cannot be written"),
            (Writer::TreeNodes, "checkpoints are not advancing"),
        ] {
            let at = format!("{url}, {writer:?}");
            faults.fail(writer).await.unwrap();
            // Refused, with no data: at once when leaves cannot be written,
            // within the checkpoint interval when checkpoints cannot be.
            let started = Instant::now();
            let refused = loop {
                let (status, answer) = exchange(&demo).await;
                if status != 200 {
                    break (status, answer);
                }
                assert!(started.elapsed() < WITHIN, "{at}: never refused");
                tokio::time::sleep(Duration::from_millis(50)).await;
            };
            assert_eq!(refused.0, 503, "{at}: {}", refused.1);
            assert_eq!(
                refused.1["code"], "audit_unavailable",
                "{at}: {}",
                refused.1
            );
            assert!(refused.1.get("data").is_none(), "{at}: {}", refused.1);
            let (status, body) = readyz(&admin).await.unwrap();
            assert_eq!(status, 503, "{at}: {body}");
            assert!(body.contains(reason), "{at}: {body}");
            assert!(body.contains("未就绪"), "{at}: {body}");
            assert!(body.contains("injected fault"), "{at}: {body}");

            faults.clear(writer).await.unwrap();
            wait_for(&format!("{at}: ready again"), WITHIN, async || {
                readyz(&admin).await.filter(|(status, _)| *status == 200)
            })
            .await;
            let mut last = 0;
            for _ in 0..3 {
                let (status, answer) = exchange(&demo).await;
                assert_eq!(status, 200, "{at}: {answer}");
                last = answer["receipt"]["leaf_index"].as_u64().unwrap();
            }
            let size = wait_for(
                &format!("{at}: a checkpoint covering leaf {last}"),
                WITHIN,
                async || {
                    app.store
                        .latest_checkpoint()
                        .await
                        .ok()
                        .flatten()
                        .map(|cp| cp.size.get())
                        .filter(|size| *size > last)
                },
            )
            .await;
            assert_eq!(size, app.store.log_size().await.unwrap(), "{at}");
        }
        demo.gateway.shutdown(Duration::from_secs(2)).await;
    }
}
