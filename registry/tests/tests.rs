//! Registry integration tests, on SQLite and (when `YRDX_TEST_DATABASE_URL` is
//! set) on PostgreSQL.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failing test"
)]
use std::collections::HashSet;

mod tree;

use yrdx_registry::testing::{fresh_postgres, postgres_url};
use yrdx_registry::{
    AuditLog, ExchangeRecord, LogError, LogOptions, Outcome, RegistryData, Store, StoreOptions,
};
use yrdx_signing::HashAlg;

/// One store per backend available: SQLite always, PostgreSQL when configured.
async fn stores(test: &str) -> Vec<(String, Store)> {
    let dir = tempfile::tempdir().unwrap().keep();
    let sqlite = format!("sqlite:{}", dir.join("yrdx.db").display());
    let mut out = vec![(
        sqlite.clone(),
        Store::open(&sqlite, &StoreOptions::default())
            .await
            .unwrap(),
    )];
    if let Some(server) = postgres_url(test) {
        let url = fresh_postgres(&server, test).await.unwrap();
        out.push((
            url.clone(),
            Store::open(&url, &StoreOptions::default()).await.unwrap(),
        ));
    }
    out
}

fn record(i: usize) -> ExchangeRecord {
    ExchangeRecord {
        v: 1,
        time: "2026-11-26T01:00:00.000Z".into(),
        request_id: format!("req-{i}"),
        node: "test".into(),
        api: "exchange".into(),
        consumer: Some("js:11320000014000118J:data".into()),
        provider: None,
        resource: Some("YRD-SCJG-0001".into()),
        purpose: None,
        service_item: None,
        case_no: None,
        entry: None,
        items: vec![],
        request_digest: None,
        response_digest: None,
        native_digest: None,
        mapping: None,
        outcome: Outcome::Refused,
        code: Some("not_in_responsibility_list".into()),
        status: 403,
        latency_us: 10,
        seal: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_get_contiguous_indices_and_durable_leaves() {
    for (url, store) in stores("concurrent_appends").await {
        let log = AuditLog::open(
            store.clone(),
            "test/log",
            HashAlg::Sha256,
            0,
            LogOptions::default(),
        )
        .await
        .unwrap();
        let mut tasks = Vec::new();
        for i in 0..200 {
            let log = log.clone();
            tasks.push(tokio::spawn(async move {
                log.append(&record(i), 0).await.unwrap()
            }));
        }
        let mut seen = HashSet::new();
        for t in tasks {
            let receipt = t.await.unwrap();
            assert!(
                seen.insert(receipt.index),
                "{url}: index {} twice",
                receipt.index
            );
        }
        assert_eq!(seen, (0..200).collect::<HashSet<u64>>(), "{url}");
        assert_eq!(store.log_size().await.unwrap(), 200, "{url}");
        let leaves = store.log_leaves(0, 200).await.unwrap();
        assert_eq!(leaves.len(), 200);
        for leaf in &leaves {
            let expected = HashAlg::Sha256.hash_parts(&[&[0], &leaf.leaf]);
            assert_eq!(
                leaf.leaf_hash,
                expected.to_vec(),
                "{url}: leaf {}",
                leaf.index
            );
        }
        // The leaf is canonical JSON with sorted keys and no payload.
        let text = String::from_utf8(leaves[0].leaf.clone()).unwrap();
        assert!(
            text.starts_with("{\"api\":\"exchange\",\"code\":"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn a_log_made_with_other_settings_is_refused() {
    for (url, store) in stores("log_settings").await {
        AuditLog::open(
            store.clone(),
            "test/log",
            HashAlg::Sha256,
            0,
            LogOptions::default(),
        )
        .await
        .unwrap();
        let err = AuditLog::open(
            store.clone(),
            "test/log",
            HashAlg::Sm3,
            0,
            LogOptions::default(),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, LogError::Mismatch { .. }), "{url}: {err}");
    }
}

#[tokio::test]
async fn importing_the_same_content_twice_makes_one_version() {
    for (url, store) in stores("import_versions").await {
        let mut data = RegistryData::default();
        yrdx_registry::add_toml(
            &mut data,
            "members.toml",
            r#"
            [[member]]
            id = "zj:11330000002482028A:data"
            name = "浙江"
            roles = ["consumer"]
            status = "active"
            "#,
        )
        .unwrap();
        assert_eq!(
            store
                .import_registry(&data, "members.toml", 1)
                .await
                .unwrap(),
            (1, true),
            "{url}"
        );
        assert_eq!(
            store
                .import_registry(&data, "members.toml", 2)
                .await
                .unwrap(),
            (1, false),
            "{url}"
        );
        data.members[0].name = "浙江省".into();
        assert_eq!(
            store
                .import_registry(&data, "members.toml", 3)
                .await
                .unwrap(),
            (2, true),
            "{url}"
        );
        let (version, back) = store.latest_registry().await.unwrap();
        assert_eq!(version, 2);
        assert_eq!(back, data);
    }
}
