//! Registry integration tests, on SQLite and (when `YRDX_TEST_DATABASE_URL` is
//! set) on PostgreSQL.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    clippy::type_complexity,
    reason = "test code: a panic is a failing test, and fixtures are small"
)]
use std::collections::HashSet;
use std::time::Duration;

use sqlx::{Connection as _, Executor as _, Row as _};

mod corpus;
mod faults;
mod tree;

use yrdx_registry::testing::{fresh_postgres, postgres_url};
use yrdx_registry::{
    AuditLog, ExchangeRecord, LogError, LogOptions, LogStats, Outcome, RegistryData, Store,
    StoreOptions,
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

/// Polls `check` every few milliseconds until it gives `Some`, and fails the
/// test, naming `what` it waited for, if it has not after a generous deadline.
async fn wait_for<T, F>(what: &str, mut check: impl FnMut() -> F) -> T
where
    F: Future<Output = Option<T>>,
{
    const DEADLINE: Duration = Duration::from_secs(30);
    let start = std::time::Instant::now();
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "waited {DEADLINE:?} for {what} in vain"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Runs `statements` (one or several, `;`-separated) on a connection of its
/// own to the store at `url`: the store changed from outside the crate.
async fn sql(url: &str, statements: &str) {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    conn.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(statements.to_owned())))
        .await
        .unwrap();
    conn.close().await.unwrap();
}

/// Runs one `statement` with `binds` (byte strings) as `$1`, `$2`… on a
/// connection of its own to the store at `url`.
async fn sql_with(url: &str, statement: &str, binds: &[&[u8]]) {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    let mut query = sqlx::query(sqlx::AssertSqlSafe(statement.to_owned()));
    for bind in binds {
        query = query.bind(bind.to_vec());
    }
    query.execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();
}

/// The test log on `store`: SHA-256, default options.
async fn open_log(store: &Store) -> AuditLog {
    AuditLog::open(
        store.clone(),
        tree::ORIGIN,
        HashAlg::Sha256,
        0,
        LogOptions::default(),
    )
    .await
    .unwrap()
}

/// What a log's writer has committed: `commits` transactions, `leaves` leaves.
fn committed(commits: u64, leaves: u64) -> LogStats {
    LogStats { commits, leaves }
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
        parent: None,
        code: Some("not_in_responsibility_list".into()),
        status: 403,
        latency_us: 10,
        retry_of: None,
        seal: None,
    }
}

fn any_record() -> impl proptest::strategy::Strategy<Value = ExchangeRecord> {
    use proptest::prelude::*;
    // Every text field, any Unicode (control characters, quotes, backslashes,
    // astral planes) or absent; every number over its whole range.
    let text = || any::<String>();
    let opt = || proptest::option::of(any::<String>());
    (
        (
            text(),
            text(),
            text(),
            text(),
            any::<u32>(),
            any::<u16>(),
            any::<u64>(),
        ),
        (opt(), opt(), opt(), opt(), opt(), opt()),
        (opt(), opt(), opt(), opt(), opt(), opt()),
        (
            proptest::collection::vec(text(), 0..4),
            any::<bool>(),
            any::<Option<u64>>(),
        ),
    )
        .prop_map(|(a, b, c, d)| ExchangeRecord {
            time: a.0,
            request_id: a.1,
            node: a.2,
            api: a.3,
            v: a.4,
            status: a.5,
            latency_us: a.6,
            consumer: b.0,
            provider: b.1,
            resource: b.2,
            purpose: b.3,
            service_item: b.4,
            case_no: b.5,
            entry: c.0,
            request_digest: c.1,
            response_digest: c.2,
            native_digest: c.3,
            mapping: c.4,
            code: c.5,
            items: d.0,
            outcome: if d.1 {
                Outcome::Served
            } else {
                Outcome::Refused
            },
            retry_of: d.2,
            parent: None,
            seal: None,
        })
}

proptest::proptest! {
    /// A leaf is RFC 8785 canonical JSON whichever way it is written: byte for
    /// byte what the general canonicaliser makes of the same record.
    #[test]
    fn leaves_are_the_canonical_json_of_their_record(rec in any_record()) {
        let canonical = serde_json_canonicalizer::to_vec(&rec).unwrap();
        proptest::prop_assert_eq!(rec.to_leaf().unwrap(), canonical);
        let sealed = ExchangeRecord {
            seal: Some(serde_json::json!({"signer": rec.node, "ok": true, "alg": ["sm2", 1]})),
            ..rec
        };
        let canonical = serde_json_canonicalizer::to_vec(&sealed).unwrap();
        proptest::prop_assert_eq!(sealed.to_leaf().unwrap(), canonical);
    }
}

#[test]
fn a_leaf_is_exactly_its_sorted_compact_json() {
    let mut rec = record(7);
    rec.items = vec!["企业名称".into(), "tab\there".into()];
    rec.purpose = Some("a \"quoted\"\u{1}\n".into());
    assert_eq!(
        String::from_utf8(rec.to_leaf().unwrap()).unwrap(),
        concat!(
            r#"{"api":"exchange","code":"not_in_responsibility_list","#,
            r#""consumer":"js:11320000014000118J:data","items":["企业名称","tab\there"],"#,
            r#""latency_us":10,"node":"test","outcome":"refused","#,
            r#""purpose":"a \"quoted\"\u0001\n","request_id":"req-7","#,
            r#""resource":"YRD-SCJG-0001","status":403,"#,
            r#""time":"2026-11-26T01:00:00.000Z","v":1}"#
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_get_contiguous_indices_and_durable_leaves() {
    for (url, store) in stores("concurrent_appends").await {
        let log = open_log(&store).await;
        let mut tasks = Vec::new();
        for i in 0..200 {
            let log = log.clone();
            tasks.push(tokio::spawn(async move {
                (i, log.append(&record(i), 0).await.unwrap())
            }));
        }
        let mut seen = HashSet::new();
        let mut receipts = Vec::new();
        for t in tasks {
            let (i, receipt) = t.await.unwrap();
            assert!(
                seen.insert(receipt.index),
                "{url}: index {} twice",
                receipt.index
            );
            receipts.push((i, receipt));
        }
        assert_eq!(seen, (0..200).collect::<HashSet<u64>>(), "{url}");
        assert_eq!(store.log_size().await.unwrap(), 200, "{url}");
        let leaves = store.log_leaves(0, 200).await.unwrap();
        assert_eq!(leaves.len(), 200);
        // Each receipt names the leaf of its own record.
        for (i, receipt) in &receipts {
            let leaf = &leaves[receipt.index as usize];
            assert_eq!(leaf.index, receipt.index, "{url}");
            assert_eq!(
                leaf.leaf_hash,
                receipt.leaf_hash.to_vec(),
                "{url}: record {i}"
            );
            let text = String::from_utf8(leaf.leaf.clone()).unwrap();
            assert!(
                text.contains(&format!("\"request_id\":\"req-{i}\"")),
                "{url}: leaf {} holds {text}, not record {i}",
                receipt.index
            );
        }
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

/// Appends that arrive a scheduler turn apart share one commit: the writer
/// gathers while each turn brings another leaf, and a lone append is not held
/// back waiting for company.
#[tokio::test]
async fn appends_a_turn_apart_share_one_commit() {
    for (url, store) in stores("gathered_commit").await {
        let log = open_log(&store).await;
        log.append(&record(100), 0).await.unwrap();
        assert_eq!(log.stats(), committed(1, 1), "{url}");
        let mut tasks = Vec::new();
        for i in 0..8 {
            let log = log.clone();
            tasks.push(tokio::spawn(async move {
                // Task i reaches its append i turns after the first.
                for _ in 0..i {
                    tokio::task::yield_now().await;
                }
                log.append(&record(i), 0).await.unwrap()
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(log.stats(), committed(2, 9), "{url}");
        assert_eq!(store.log_size().await.unwrap(), 9, "{url}");
    }
}

/// A leaf announced before it comes (its exchange still at the provider, say)
/// shares the commit of a leaf appended earlier, even when it arrives after
/// the writer's idle scheduler turns; unannounced, the earlier leaf would have
/// committed alone by then.
#[tokio::test]
async fn a_commit_waits_for_an_announced_leaf() {
    for (url, store) in stores("announced_commit").await {
        // The wait lasts as long as the previous commit took (1 ms before the
        // first, hence a fresh log each try); a test thread preempted for
        // longer misses it, so up to three tries.
        let shared = committed(1, 2);
        let mut stats = Vec::new();
        for _ in 0..3 {
            let log = open_log(&store).await;
            let before = store.log_size().await.unwrap();
            let coming = log.announce();
            let first = tokio::spawn({
                let log = log.clone();
                async move { log.append(&record(0), 0).await }
            });
            // Well past the writer's idle turns: it holds the first leaf.
            for _ in 0..20 {
                tokio::task::yield_now().await;
            }
            drop(coming);
            log.append(&record(1), 0).await.unwrap();
            first.await.unwrap().unwrap();
            assert_eq!(store.log_size().await.unwrap(), before + 2, "{url}");
            stats.push(log.stats());
            if stats.last() == Some(&shared) {
                break;
            }
        }
        assert_eq!(stats.last(), Some(&shared), "{url}: {stats:?}");
    }
}

/// An announced exchange that never appends (its task gone, or stuck) holds
/// the others' commits up no longer than the writer's wait.
#[tokio::test]
async fn an_announced_leaf_that_never_comes_does_not_hold_up_commits() {
    for (url, store) in stores("announced_never").await {
        let log = open_log(&store).await;
        let _never = log.announce();
        let appended =
            tokio::time::timeout(Duration::from_secs(5), log.append(&record(0), 0)).await;
        assert!(matches!(appended, Ok(Ok(_))), "{url}: {appended:?}");
        assert_eq!(log.stats(), committed(1, 1), "{url}");
    }
}

/// An append that fails part-way through its transaction leaves nothing
/// behind: the indices it reserved are returned, and the next append succeeds
/// on a clean connection.
#[tokio::test]
async fn a_failed_append_leaves_no_reservation_and_the_next_one_succeeds() {
    for (url, store) in stores("failed_append").await {
        let log = open_log(&store).await;
        assert_eq!(log.append(&record(0), 0).await.unwrap().index, 0, "{url}");
        assert_eq!(log.append(&record(1), 0).await.unwrap().index, 1, "{url}");
        // Wind the size back behind the stored leaves, so the next insert
        // collides with leaf 1 after its reservation succeeded.
        sql(&url, "UPDATE log_meta SET size = 1 WHERE id = 1").await;
        let err = log.append(&record(2), 0).await.unwrap_err();
        assert!(
            err.to_string().contains("appending log leaves"),
            "{url}: {err}"
        );
        assert_eq!(
            store.log_size().await.unwrap(),
            1,
            "{url}: reservation kept"
        );
        sql(&url, "UPDATE log_meta SET size = 2 WHERE id = 1").await;
        assert_eq!(log.append(&record(3), 0).await.unwrap().index, 2, "{url}");
        let leaves = store.log_leaves(0, 3).await.unwrap();
        assert_eq!(leaves.len(), 3, "{url}");
        assert!(
            String::from_utf8_lossy(&leaves[2].leaf).contains("\"req-3\""),
            "{url}"
        );
    }
}

/// A leaf stored by another process between two of this writer's commits
/// takes the next index; the writer's next leaf follows it rather than
/// colliding with it or leaving a gap. On SQLite the other process inserts
/// only the leaf — the schema counts it into the size.
#[tokio::test]
async fn a_leaf_another_process_appended_is_followed_not_overwritten() {
    for (url, store) in stores("other_appender").await {
        let log = open_log(&store).await;
        assert_eq!(log.append(&record(0), 0).await.unwrap().index, 0, "{url}");
        assert_eq!(log.append(&record(1), 0).await.unwrap().index, 1, "{url}");
        sql_with(
            &url,
            "INSERT INTO log_leaves (idx, leaf_hash, leaf, time_ms, request_id, outcome) \
             VALUES (2, $1, $2, 0, 'elsewhere', 'served')",
            &[&[0u8; 32], b"{}"],
        )
        .await;
        if url.starts_with("postgres") {
            sql(&url, "UPDATE log_meta SET size = size + 1 WHERE id = 1").await;
        }
        assert_eq!(store.log_size().await.unwrap(), 3, "{url}");
        assert_eq!(log.append(&record(3), 0).await.unwrap().index, 3, "{url}");
        assert_eq!(store.log_size().await.unwrap(), 4, "{url}");
        let leaves = store.log_leaves(0, 4).await.unwrap();
        let indices: Vec<u64> = leaves.iter().map(|l| l.index).collect();
        assert_eq!(indices, [0, 1, 2, 3], "{url}");
        assert!(
            String::from_utf8_lossy(&leaves[3].leaf).contains("\"req-3\""),
            "{url}"
        );
    }
}

#[tokio::test]
async fn a_log_made_with_other_settings_is_refused() {
    for (url, store) in stores("log_settings").await {
        let log = open_log(&store).await;
        log.append(&record(0), 0).await.unwrap();
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
        assert!(err.to_string().contains("set `log.origin`"), "{url}: {err}");
    }
}

/// An origin mistyped at the first start is not kept for good: while the log
/// holds no leaf, it takes the configured origin and hash, and the checkpoint
/// of the empty tree signed under the old origin goes with them.
#[tokio::test]
async fn an_empty_log_takes_a_corrected_origin() {
    for (url, store) in stores("log_origin_change").await {
        let options = |origin: &str| LogOptions {
            checkpoints: Some(yrdx_registry::CheckpointOptions {
                signer: std::sync::Arc::new(
                    yrdx_signing::NoteSigner::from_seed(origin, &[7; 32]).unwrap(),
                ),
                interval: Duration::from_secs(60),
            }),
            ..LogOptions::default()
        };
        let typo = AuditLog::open(
            store.clone(),
            "tets/log",
            HashAlg::Sha256,
            0,
            options("tets/log"),
        )
        .await
        .unwrap();
        typo.stop_integrator().await;
        drop(typo);
        let old = store.latest_checkpoint().await.unwrap().unwrap();
        assert!(old.note.starts_with("tets/log\n"), "{url}: {}", old.note);

        let log = AuditLog::open(
            store.clone(),
            "test/log",
            HashAlg::Sm3,
            0,
            options("test/log"),
        )
        .await
        .unwrap();
        assert_eq!(log.origin(), "test/log", "{url}");
        let new = store.latest_checkpoint().await.unwrap().unwrap();
        assert!(new.note.starts_with("test/log\n"), "{url}: {}", new.note);
        log.append(&record(0), 0).await.unwrap();
        log.stop_integrator().await;
        drop(log);

        // With a leaf stored, the origin is fixed.
        let err = AuditLog::open(
            store.clone(),
            "tets/log",
            HashAlg::Sm3,
            0,
            options("tets/log"),
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
                .import_registry(&data, "members.toml", 1, 1)
                .await
                .unwrap(),
            (1, true),
            "{url}"
        );
        assert_eq!(
            store
                .import_registry(&data, "members.toml", 2, 2)
                .await
                .unwrap(),
            (1, false),
            "{url}"
        );
        data.members[0].name = "浙江省".into();
        assert_eq!(
            store
                .import_registry(&data, "members.toml", 3, 3)
                .await
                .unwrap(),
            (2, true),
            "{url}"
        );
        let (version, back) = store.registry_at(i64::MAX).await.unwrap();
        assert_eq!(version, 2);
        assert_eq!(back, data);
    }
}

fn demo_registry() -> RegistryData {
    let mut data = RegistryData::default();
    for (name, text) in [
        (
            "members.toml",
            include_str!("../../conformance/demo/registry/members.toml"),
        ),
        (
            "catalogue.toml",
            include_str!("../../conformance/demo/registry/catalogue.toml"),
        ),
        (
            "responsibility-list.toml",
            include_str!("../../conformance/demo/registry/responsibility-list.toml"),
        ),
    ] {
        yrdx_registry::add_toml(&mut data, name, text).unwrap();
    }
    data
}

#[tokio::test]
async fn versions_take_effect_at_their_time() {
    for (url, store) in stores("effective_versions").await {
        let mut data = demo_registry();
        store
            .import_registry(&data, "v1", 1_000, 1_000)
            .await
            .unwrap();
        data.members[0].name = "renamed".into();
        // Imported now, in force only from t = 5000.
        assert_eq!(
            store
                .import_registry(&data, "v2", 2_000, 5_000)
                .await
                .unwrap(),
            (2, true),
            "{url}"
        );
        assert_eq!(store.registry_version_at(4_999).await.unwrap(), Some(1));
        assert_eq!(store.registry_version_at(5_000).await.unwrap(), Some(2));
        assert_eq!(store.registry_version_at(999).await.unwrap(), None);
        let versions = store.registry_versions().await.unwrap();
        assert_eq!(
            versions
                .iter()
                .map(|v| (v.version, v.effective_ms))
                .collect::<Vec<_>>(),
            vec![(1, 1_000), (2, 5_000)]
        );
        assert!(matches!(
            store.registry_version(9).await,
            Err(yrdx_registry::RegistryError::NoSuchVersion(9))
        ));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn period_quotas_are_exact_under_concurrent_calls() {
    for (url, store) in stores("quota_exact").await {
        let quota = yrdx_registry::Quota {
            per_day: Some(50),
            per_month: Some(70),
            ..Default::default()
        };
        let now = time::macros::datetime!(2026-11-26 03:00 UTC);
        let mut tasks = Vec::new();
        for i in 0..200 {
            let store = store.clone();
            // Two consumers share nothing: each has its own 50 a day.
            let consumer = if i % 4 == 0 {
                "zj:11330000002482028A:data"
            } else {
                "js:11320000014000118J:data"
            };
            tasks.push(tokio::spawn(async move {
                (
                    consumer,
                    store
                        .take_quota("RL-2026-00001", consumer, &quota, now)
                        .await
                        .unwrap(),
                )
            }));
        }
        let mut granted = std::collections::HashMap::new();
        for t in tasks {
            let (consumer, taken) = t.await.unwrap();
            match taken {
                yrdx_registry::Taken::Granted { .. } => *granted.entry(consumer).or_insert(0) += 1,
                yrdx_registry::Taken::Exhausted {
                    period,
                    retry_after_s,
                } => {
                    assert_eq!(period, yrdx_registry::QuotaPeriod::Day);
                    // 03:00 UTC is 11:00 in Shanghai: 13 hours to midnight.
                    assert_eq!(retry_after_s, 13 * 3600);
                }
            }
        }
        assert_eq!(
            granted.get("js:11320000014000118J:data"),
            Some(&50),
            "{url}"
        );
        assert_eq!(
            granted.get("zj:11330000002482028A:data"),
            Some(&50),
            "{url}"
        );
        let usage = store
            .quota_usage("RL-2026-00001", "d:2026-11-26")
            .await
            .unwrap();
        assert_eq!(
            usage,
            vec![
                ("js:11320000014000118J:data".into(), 50),
                ("zj:11330000002482028A:data".into(), 50)
            ]
        );
        // The next day, the month's 70 still bound: 20 more for js.
        let tomorrow = now + time::Duration::days(1);
        let mut more = 0;
        for _ in 0..30 {
            if matches!(
                store
                    .take_quota(
                        "RL-2026-00001",
                        "js:11320000014000118J:data",
                        &quota,
                        tomorrow
                    )
                    .await
                    .unwrap(),
                yrdx_registry::Taken::Granted { .. }
            ) {
                more += 1;
            }
        }
        assert_eq!(more, 20, "{url}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn batched_quota_counts_are_exact_and_refusals_count_nowhere() {
    for (url, store) in stores("quota_batched").await {
        // Small batches, so that 200 calls make many of them.
        let counter = yrdx_registry::QuotaCounter::start(
            store.clone(),
            yrdx_registry::QuotaOptions {
                max_batch: 16,
                queue: 64,
                ..yrdx_registry::QuotaOptions::new("node-a")
            },
        );
        let quota = yrdx_registry::Quota {
            per_day: Some(50),
            per_month: Some(70),
            ..Default::default()
        };
        let js = "js:11320000014000118J:data";
        let zj = "zj:11330000002482028A:data";
        let now = time::macros::datetime!(2026-11-26 03:00 UTC);
        let mut tasks = Vec::new();
        for i in 0..200 {
            let counter = counter.clone();
            let consumer = if i % 4 == 0 { zj } else { js };
            tasks.push(tokio::spawn(async move {
                let taken = counter
                    .take("RL-2026-00001", consumer, &quota, now)
                    .await
                    .unwrap();
                (
                    consumer,
                    matches!(taken, yrdx_registry::Taken::Granted { .. }),
                )
            }));
        }
        let mut granted = std::collections::HashMap::new();
        for t in tasks {
            let (consumer, ok) = t.await.unwrap();
            *granted.entry(consumer).or_insert(0) += usize::from(ok);
        }
        assert_eq!(granted.get(js), Some(&50), "{url}");
        assert_eq!(granted.get(zj), Some(&50), "{url}");
        // Tomorrow the month (70) binds after 20 calls. The refused calls took
        // the day's count before the month refused them; it must be given back.
        let tomorrow = now + time::Duration::days(1);
        let mut tasks = Vec::new();
        for _ in 0..30 {
            let counter = counter.clone();
            tasks.push(tokio::spawn(async move {
                counter
                    .take("RL-2026-00001", js, &quota, tomorrow)
                    .await
                    .unwrap()
            }));
        }
        let mut more = 0;
        for t in tasks {
            match t.await.unwrap() {
                yrdx_registry::Taken::Granted { .. } => more += 1,
                yrdx_registry::Taken::Exhausted { period, .. } => {
                    assert_eq!(period, yrdx_registry::QuotaPeriod::Month, "{url}");
                }
            }
        }
        assert_eq!(more, 20, "{url}");
        // Until the node writes back, the store counts its unspent
        // reservations as used; closing returns them.
        counter.close().await;
        let day = store
            .quota_usage("RL-2026-00001", "d:2026-11-27")
            .await
            .unwrap();
        assert_eq!(day, vec![(js.into(), 20)], "{url}");
        let month = store
            .quota_usage("RL-2026-00001", "m:2026-11")
            .await
            .unwrap();
        assert_eq!(month, vec![(js.into(), 70), (zj.into(), 50)], "{url}");
    }
}

/// A node's first reservation on a counter is the smallest; one it spent in
/// a few milliseconds is replaced by one sized for a write-back interval at
/// that pace, so a busy node is not back at the store every few calls.
#[tokio::test]
async fn reservations_grow_with_the_pace_they_are_spent_at() {
    for (url, store) in stores("quota_paced").await {
        let counter = yrdx_registry::QuotaCounter::start(
            store.clone(),
            yrdx_registry::QuotaOptions {
                min_reservation: 16,
                max_reservation: 10_000,
                ..yrdx_registry::QuotaOptions::new("node-a")
            },
        );
        let quota = yrdx_registry::Quota {
            per_day: Some(1_000_000),
            ..Default::default()
        };
        let now = time::OffsetDateTime::now_utc();
        let take = || counter.take("RL-2026-00001", "js:11320000014000118J:data", &quota, now);
        let day = yrdx_registry::period_keys(now).0;
        // The first call is counted in the store, which reserves 16 more.
        // The pace is measured from that reservation to the next, within
        // `started`..the last call.
        let started = std::time::Instant::now();
        take().await.unwrap();
        let usage = store.quota_usage("RL-2026-00001", &day).await.unwrap();
        assert_eq!(usage[0].1, 1 + 16, "{url}: {usage:?}");
        for _ in 0..17 {
            take().await.unwrap();
        }
        // 16 calls spent in less than `elapsed`: the next block holds at least
        // what that pace spends in a second (the write-back interval).
        let elapsed = started.elapsed();
        let usage = store.quota_usage("RL-2026-00001", &day).await.unwrap();
        let reserved = usage[0].1 - 18;
        let paced = (16_000_000 / elapsed.as_micros().max(1)).min(10_000);
        assert!(
            reserved > 16 && u128::from(reserved) >= paced,
            "{url}: {reserved} reserved after 16 calls in {elapsed:?}"
        );
        counter.close().await;
        let usage = store.quota_usage("RL-2026-00001", &day).await.unwrap();
        assert_eq!(usage[0].1, 18, "{url}: the unspent block came back");
    }
}

/// A counter for node `node` with reservations that lapse after `ttl_ms`.
fn counter(store: &Store, node: &str, ttl_ms: u64) -> yrdx_registry::QuotaCounter {
    yrdx_registry::QuotaCounter::start(
        store.clone(),
        yrdx_registry::QuotaOptions {
            lease_ttl: std::time::Duration::from_millis(ttl_ms),
            ..yrdx_registry::QuotaOptions::new(node)
        },
    )
}

/// Takes `n` calls from `counter`, 20 at a time; how many were granted, and
/// how many of those from a reservation (no stored count in the answer).
async fn take_many(
    counter: &yrdx_registry::QuotaCounter,
    quota: yrdx_registry::Quota,
    n: usize,
) -> (usize, usize) {
    let now = time::OffsetDateTime::now_utc();
    let (mut granted, mut reserved) = (0, 0);
    for wave in (0..n).collect::<Vec<_>>().chunks(20) {
        let mut tasks = Vec::new();
        for _ in wave {
            let counter = counter.clone();
            tasks.push(tokio::spawn(async move {
                counter
                    .take("RL-2026-00001", "js:11320000014000118J:data", &quota, now)
                    .await
                    .unwrap()
            }));
        }
        for t in tasks {
            if let yrdx_registry::Taken::Granted { day, .. } = t.await.unwrap() {
                granted += 1;
                reserved += usize::from(day.is_none());
            }
        }
    }
    (granted, reserved)
}

fn today() -> String {
    yrdx_registry::period_keys(time::OffsetDateTime::now_utc()).0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_reserving_blocks_never_pass_the_limit_together() {
    for (url, store) in stores("quota_two_nodes").await {
        let quota = yrdx_registry::Quota {
            per_day: Some(1000),
            ..Default::default()
        };
        let (a, b) = (
            counter(&store, "node-a", 10_000),
            counter(&store, "node-b", 10_000),
        );
        a.set_live_nodes(2);
        b.set_live_nodes(2);
        let (ga, gb) = tokio::join!(take_many(&a, quota, 1500), take_many(&b, quota, 1500));
        assert_eq!(
            ga.0 + gb.0,
            1000,
            "{url}: exactly the limit over both nodes"
        );
        assert!(
            ga.1 + gb.1 > 500,
            "{url}: most calls came from reservations, not the store: {ga:?} {gb:?}"
        );
        // Both spent everything they reserved: the store says 1000 before and
        // after they write back.
        let usage = store.quota_usage("RL-2026-00001", &today()).await.unwrap();
        assert_eq!(
            usage,
            vec![("js:11320000014000118J:data".into(), 1000)],
            "{url}"
        );
        a.close().await;
        b.close().await;
        let usage = store.quota_usage("RL-2026-00001", &today()).await.unwrap();
        assert_eq!(
            usage,
            vec![("js:11320000014000118J:data".into(), 1000)],
            "{url}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_closed_node_returns_its_reservation_and_a_crashed_ones_lapses_as_spent() {
    for (url, store) in stores("quota_lapse").await {
        let quota = yrdx_registry::Quota {
            per_day: Some(100),
            ..Default::default()
        };
        // Closed: 10 calls made, the rest of its block given back.
        let a = counter(&store, "node-a", 300);
        assert_eq!(take_many(&a, quota, 10).await.0, 10, "{url}");
        let usage = store.quota_usage("RL-2026-00001", &today()).await.unwrap();
        assert!(usage[0].1 > 10, "{url}: a block is reserved: {usage:?}");
        a.close().await;
        let usage = store.quota_usage("RL-2026-00001", &today()).await.unwrap();
        assert_eq!(usage[0].1, 10, "{url}: what was not spent came back");

        // Crashed: its runtime is gone, no write-back, no return. Its block
        // binds the other node until it lapses, then counts as spent.
        let crashed_url = url.clone();
        let reserved = std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().unwrap();
            let (c, reserved) = rt.block_on(async {
                let store = Store::open(&crashed_url, &StoreOptions::default())
                    .await
                    .unwrap();
                let c = counter(&store, "node-c", 300);
                assert_eq!(take_many(&c, quota, 10).await.0, 10);
                let reserved = store.quota_usage("RL-2026-00001", &today()).await.unwrap()[0].1;
                (c, reserved)
            });
            // The counter outlives its runtime: dropped while the runtime
            // still ran, its task would see every handle gone and might give
            // the reservation back before the runtime stopped, as a closing
            // node does.
            drop(rt);
            drop(c);
            reserved
        })
        .join()
        .unwrap();
        let held_by_c = reserved - 20;
        assert!(held_by_c > 0, "{url}: the crashed node held a block");
        let b = counter(&store, "node-b", 300);
        let (granted, _) = take_many(&b, quota, 200).await;
        assert_eq!(
            granted as u64,
            100 - 20 - held_by_c,
            "{url}: the other node grants what nobody holds"
        );
        // Its block lapses once older than the lease time; b's next
        // transaction then counts it spent and deletes it. Nothing is
        // granted meanwhile.
        let raw = sqlx::AnyPool::connect(&url).await.unwrap();
        wait_for("the crashed node's reservation to lapse", || async {
            assert_eq!(
                take_many(&b, quota, 1).await.0,
                0,
                "{url}: the crashed node's block binds until it lapses"
            );
            let left: i64 = sqlx::query("SELECT COUNT(*) FROM quota_leases WHERE node = 'node-c'")
                .fetch_one(&raw)
                .await
                .unwrap()
                .get(0);
            (left == 0).then_some(())
        })
        .await;
        raw.close().await;
        assert_eq!(
            take_many(&b, quota, 50).await.0,
            0,
            "{url}: the lapsed block counted spent, never granted"
        );
        b.close().await;
        let usage = store.quota_usage("RL-2026-00001", &today()).await.unwrap();
        assert_eq!(usage[0].1, 100, "{url}");
    }
}

#[tokio::test]
async fn the_registry_round_trips_through_the_store_and_a_spreadsheet() {
    for (url, store) in stores("xlsx_round_trip").await {
        let data = demo_registry();
        let (v1, _) = store.import_registry(&data, "toml", 1, 1).await.unwrap();
        let stored = store.registry_version(v1).await.unwrap();
        let xlsx = yrdx_registry::to_xlsx(&stored).unwrap();
        let mut back = RegistryData::default();
        yrdx_registry::add_xlsx(&mut back, "export.xlsx", &xlsx).unwrap();
        assert_eq!(back, data, "{url}");
        // Importing the spreadsheet makes no new version: same content.
        assert_eq!(
            store
                .import_registry(&back, "export.xlsx", 2, 1)
                .await
                .unwrap(),
            (v1, false)
        );
        // And TOML export reads back the same too.
        let toml = yrdx_registry::to_toml(&stored).unwrap();
        let mut again = RegistryData::default();
        yrdx_registry::add_toml(&mut again, "export.toml", &toml).unwrap();
        assert_eq!(again, data);
    }
}

#[test]
fn a_malformed_spreadsheet_names_file_sheet_row_and_column() {
    let mut data = demo_registry();
    data.list.truncate(2);
    let mut book = rust_xlsxwriter::Workbook::new();
    let ws = book.add_worksheet();
    ws.set_name("责任清单").unwrap();
    let headers = [
        "清单编号",
        "信息资源代码",
        "提供方",
        "用途",
        "共享数据项",
        "使用方",
        "答复时限（毫秒）",
        "生效日期",
        "失效日期",
        "状态",
    ];
    for (c, h) in headers.iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    let good = [
        "RL-2026-00001",
        "YRD-SCJG-0001",
        "zj:11330000002482028A:data",
        "核验",
        "name",
        "js:11320000014000118J:data",
        "3000",
        "2026-01-01",
        "2026-12-31",
        "有效",
    ];
    for (c, v) in good.iter().enumerate() {
        ws.write_string(1, c as u16, *v).unwrap();
    }
    let mut bad = good;
    bad[0] = "RL-2026-00002";
    bad[6] = "三秒";
    for (c, v) in bad.iter().enumerate() {
        ws.write_string(2, c as u16, *v).unwrap();
    }
    let bytes = book.save_to_buffer().unwrap();
    let mut out = RegistryData::default();
    match yrdx_registry::add_xlsx(&mut out, "江苏责任清单.xlsx", &bytes) {
        Err(yrdx_registry::RegistryError::Sheet(e)) => {
            let yrdx_registry::SheetError {
                file,
                sheet,
                row,
                column,
                value,
                problem,
            } = *e;
            assert_eq!(
                (
                    file.as_str(),
                    sheet.as_str(),
                    row,
                    column.as_str(),
                    value.as_str()
                ),
                (
                    "江苏责任清单.xlsx",
                    "责任清单",
                    3,
                    "答复时限（毫秒）",
                    "三秒"
                )
            );
            assert!(problem.contains("whole number"), "{problem}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        yrdx_registry::add_xlsx(&mut out, "x.xlsx", b"not a zip"),
        Err(yrdx_registry::RegistryError::File { .. })
    ));
}

#[tokio::test]
async fn fulfilment_figures_match_a_hand_computed_fixture() {
    for (url, store) in stores("fulfilment").await {
        let data = demo_registry();
        let registry = yrdx_registry::Registry::build(1, data).unwrap();
        let log = open_log(&store).await;
        let js = "js:11320000014000118J:data";
        let ah = "ah:113400000029868223:data";
        let zj = "zj:11330000002482028A:data";
        // (time, consumer, entry, code, latency ms)
        let rows: &[(&str, Option<&str>, Option<&str>, Option<&str>, u64)] = &[
            // Outside the period (December, China Standard Time), logged first.
            (
                "2026-11-30T16:00:00Z",
                Some(js),
                Some("RL-2026-00001"),
                None,
                100,
            ),
            (
                "2026-11-02T01:00:00Z",
                Some(js),
                Some("RL-2026-00001"),
                None,
                100,
            ),
            (
                "2026-11-02T02:00:00Z",
                Some(js),
                Some("RL-2026-00001"),
                None,
                300,
            ),
            (
                "2026-11-02T03:00:00Z",
                Some(js),
                Some("RL-2026-00001"),
                None,
                3500,
            ),
            (
                "2026-11-02T04:00:00Z",
                Some(js),
                Some("RL-2026-00001"),
                Some("quota_exhausted"),
                1,
            ),
            (
                "2026-11-03T01:00:00Z",
                Some(ah),
                Some("RL-2026-00001"),
                Some("upstream_timeout"),
                3000,
            ),
            (
                "2026-11-03T02:00:00Z",
                Some(ah),
                Some("RL-2026-00001"),
                Some("record_not_found"),
                20,
            ),
            // Served by the provider, but its licence's seal failed: the
            // provider's failure.
            (
                "2026-11-06T01:00:00Z",
                Some(ah),
                Some("RL-2026-00001"),
                Some("seal_invalid"),
                50,
            ),
            (
                "2026-11-04T01:00:00Z",
                Some(zj),
                None,
                Some("not_in_responsibility_list"),
                1,
            ),
            (
                "2026-11-04T02:00:00Z",
                Some(zj),
                None,
                Some("not_in_responsibility_list"),
                1,
            ),
            (
                "2026-11-05T01:00:00Z",
                None,
                None,
                Some("no_client_certificate"),
                1,
            ),
            // Outside the period (October, China Standard Time).
            (
                "2026-10-31T15:59:59Z",
                Some(js),
                Some("RL-2026-00001"),
                None,
                100,
            ),
        ];
        for (i, (t, consumer, entry, code, ms)) in rows.iter().enumerate() {
            let mut r = record(i);
            r.time = (*t).into();
            r.consumer = consumer.map(str::to_owned);
            r.entry = entry.map(str::to_owned);
            r.outcome = if code.is_none() {
                Outcome::Served
            } else {
                Outcome::Refused
            };
            r.code = code.map(str::to_owned);
            r.latency_us = ms * 1000;
            let ts = time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                .unwrap();
            log.append(
                &r,
                i64::try_from(ts.unix_timestamp_nanos() / 1_000_000).unwrap(),
            )
            .await
            .unwrap();
        }
        let report = store
            .fulfilment(
                &registry,
                &yrdx_registry::parse_period("2026-11").unwrap(),
                &REPORT_CODES,
            )
            .await
            .unwrap();
        assert_eq!(
            (report.exchanges, report.served, report.refused),
            (10, 3, 7),
            "{url}"
        );
        let a = report
            .entries
            .iter()
            .find(|e| e.entry == "RL-2026-00001")
            .unwrap();
        assert_eq!(
            (a.calls, a.served, a.reached_provider, a.over_deadline),
            (7, 3, 6, 1)
        );
        assert_eq!(a.refused.get("quota_exhausted"), Some(&1));
        assert_eq!(a.provider_success_rate, Some(4.0 / 6.0));
        let l = a.latency_ms.clone().unwrap();
        assert_eq!((l.p50, l.p95, l.p99), (300.0, 3500.0, 3500.0));
        assert_eq!(
            (
                a.quota.counted_calls,
                a.quota.max_calls_in_a_day,
                a.quota.refused
            ),
            (6, 3, 1)
        );
        assert_eq!(report.entries.len(), 1, "only entries with calls get a row");
        assert!(report.never_used.contains(&"RL-2026-00002".to_owned()));
        assert!(!report.never_used.contains(&"RL-2026-00001".to_owned()));
        assert_eq!(
            report
                .refused_without_entry
                .get("not_in_responsibility_list"),
            Some(&2)
        );
        assert_eq!(
            report.refused_without_entry.get("no_client_certificate"),
            Some(&1)
        );
        let most: Vec<(&str, u64)> = report
            .consumers_refused_most
            .iter()
            .map(|c| (c.consumer.as_str(), c.refused))
            .collect();
        assert_eq!(most, vec![(ah, 3), (zj, 2), (js, 1)]);
        assert_eq!(
            (report.period_start.as_str(), report.period_end.as_str()),
            ("2026-11-01T00:00:00+08:00", "2026-12-01T00:00:00+08:00")
        );
        let csv = yrdx_registry::report_csv(&report, yrdx_registry::ReportLang::En);
        assert!(csv.lines().nth(1).unwrap().starts_with("RL-2026-00001,YRD-SCJG-0001,zj:11330000002482028A:data,7,3,4,6,0.6667,300,3500,3500,3000,1"), "{csv}");
        report_tables_hold_the_json_figures(&report);
        // A period the log has no leaf of: an empty report, not an error.
        let empty = store
            .fulfilment(
                &registry,
                &yrdx_registry::parse_period("2026-09").unwrap(),
                &REPORT_CODES,
            )
            .await
            .unwrap();
        assert_eq!((empty.exchanges, empty.entries.len()), (0, 0), "{url}");
        let december = store
            .fulfilment(
                &registry,
                &yrdx_registry::parse_period("2026-12").unwrap(),
                &REPORT_CODES,
            )
            .await
            .unwrap();
        assert_eq!((december.exchanges, december.served), (1, 1), "{url}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn registry_imports_wait_for_concurrent_log_writes() {
    for (url, store) in stores("import_under_load").await {
        let log = open_log(&store).await;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut writers = Vec::new();
        for w in 0..8 {
            let (log, stop) = (log.clone(), stop.clone());
            writers.push(tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    log.append(&record(w * 10_000 + n), 0).await.unwrap();
                    n += 1;
                }
                n
            }));
        }
        let mut data = demo_registry();
        for i in 0..5 {
            data.members[0].name = format!("name {i}");
            store
                .import_registry(&data, "t", i, i)
                .await
                .unwrap_or_else(|e| panic!("{url}: import {i}: {e}"));
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for w in writers {
            assert!(w.await.unwrap() > 0);
        }
    }
}

/// The sample workbook shipped with the demo holds the demo registry as
/// departments would publish it (Chinese sheet names and headers). Set
/// `YRDX_WRITE_SAMPLES=1` to rewrite it after changing the TOML files.
#[test]
fn the_sample_spreadsheet_matches_the_toml_registry() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../conformance/demo/registry/demo-registry.xlsx");
    let data = demo_registry();
    if std::env::var_os("YRDX_WRITE_SAMPLES").is_some() {
        std::fs::write(&path, yrdx_registry::to_xlsx(&data).unwrap()).unwrap();
    }
    let mut back = RegistryData::default();
    yrdx_registry::add_xlsx(
        &mut back,
        "demo-registry.xlsx",
        &std::fs::read(&path).unwrap(),
    )
    .unwrap();
    assert_eq!(
        back, data,
        "demo-registry.xlsx is stale: rerun with YRDX_WRITE_SAMPLES=1"
    );
}

/// The WAL header's checkpoint sequence number, which SQLite bumps each time
/// the write-ahead log starts over from its beginning.
fn wal_restarts(db: &std::path::Path) -> u32 {
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    let header = std::fs::read(wal).unwrap_or_default();
    header
        .get(12..16)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        .unwrap_or(0)
}

/// Under appends that never pause, SQLite's write-ahead log still starts over
/// every few checkpoints instead of growing for as long as the load lasts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqlite_wal_starts_over_under_sustained_appends() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("yrdx.db");
    let store = Store::open(
        &format!("sqlite:{}", db.display()),
        &StoreOptions::default(),
    )
    .await
    .unwrap();
    let log = open_log(&store).await;
    log.append(&record(0), 0).await.unwrap();
    let before = wal_restarts(&db);
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(2500);
    let mut writers = Vec::new();
    for w in 0..16 {
        let log = log.clone();
        writers.push(tokio::spawn(async move {
            let mut n = 0;
            while std::time::Instant::now() < deadline {
                log.append(&record(w * 100_000 + n), 0).await.unwrap();
                n += 1;
            }
            n
        }));
    }
    let mut appended = 0;
    for w in writers {
        appended += w.await.unwrap();
    }
    let after = wal_restarts(&db);
    assert!(
        after >= before + 2,
        "the WAL started over {} times in 2.5 s of {appended} appends",
        after.wrapping_sub(before)
    );
    store.close().await;
}

/// The gateway's codes, as a report weighs them.
const REPORT_CODES: yrdx_registry::ReportCodes<'static> = yrdx_registry::ReportCodes {
    record_not_found: "record_not_found",
    quota_exhausted: "quota_exhausted",
    provider_failures: &[
        "upstream_unavailable",
        "upstream_timeout",
        "upstream_error",
        "mapping_failed",
    ],
    seal_failures: &["seal_invalid", "seal_indeterminate"],
};

/// Every figure of the JSON report is in its CSV (sections) and its XLSX
/// (sheets), in both languages: the totals, each entry's figures, the
/// refusals without an entry, the unused entries, the most-refused consumers.
fn report_tables_hold_the_json_figures(report: &yrdx_registry::FulfilmentReport) {
    use calamine::Reader as _;
    use serde_json::Value;
    let json = serde_json::to_value(report).unwrap();
    for lang in [yrdx_registry::ReportLang::Zh, yrdx_registry::ReportLang::En] {
        // Each table as (name, rows of text), read back from CSV and XLSX.
        let mut from_csv: Vec<(String, Vec<Vec<String>>)> = Vec::new();
        let csv = yrdx_registry::report_csv(report, lang);
        let tables = yrdx_registry::report_tables(report, lang);
        let mut sections = csv.split("\n# ");
        let entries_name = tables[1].name.to_owned();
        for (i, section) in sections.by_ref().enumerate() {
            let (name, body) = if i == 0 {
                (entries_name.clone(), section)
            } else {
                let (n, b) = section.split_once('\n').unwrap();
                (n.to_owned(), b)
            };
            let mut r = csv::ReaderBuilder::new()
                .has_headers(true)
                .from_reader(body.as_bytes());
            let rows = r
                .records()
                .map(|x| x.unwrap().iter().map(str::to_owned).collect())
                .collect();
            from_csv.push((name, rows));
        }
        let bytes = yrdx_registry::report_xlsx(report, lang).unwrap();
        let mut book: calamine::Xlsx<_> =
            calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
        let mut from_xlsx = Vec::new();
        for name in book.sheet_names() {
            let range = book.worksheet_range(&name).unwrap();
            let rows: Vec<Vec<String>> = range
                .rows()
                .skip(1)
                .map(|r| r.iter().map(|c| c.to_string()).collect())
                .collect();
            from_xlsx.push((name, rows));
        }
        for (source, tables) in [("csv", &from_csv), ("xlsx", &from_xlsx)] {
            let table = |name: &str| -> &Vec<Vec<String>> {
                let zh_en = tables.iter().find(|(n, _)| n == name).map(|(_, r)| r);
                zh_en.unwrap_or_else(|| panic!("{source}: no table {name}"))
            };
            let names: Vec<&str> = yrdx_registry::report_tables(report, lang)
                .iter()
                .map(|t| t.name)
                .collect();
            let summary = table(names[0]);
            let figure = |row: usize| summary[row][1].parse::<u64>().unwrap();
            assert_eq!(summary[0][1], json["period"], "{source}");
            assert_eq!(summary[1][1], json["period_start"], "{source}");
            assert_eq!(summary[2][1], json["period_end"], "{source}");
            assert!(summary[1][1].ends_with("+08:00"), "China Standard Time");
            for (row, key) in [(4, "exchanges"), (5, "served"), (6, "refused")] {
                assert_eq!(Some(figure(row)), json[key].as_u64(), "{source} {key}");
            }
            let entries = table(names[1]);
            assert_eq!(entries.len(), json["entries"].as_array().unwrap().len());
            for (row, e) in entries.iter().zip(json["entries"].as_array().unwrap()) {
                assert_eq!(row[0], e["entry"], "{source}");
                for (col, key) in [(3, "calls"), (4, "served"), (6, "reached_provider")] {
                    assert_eq!(
                        row[col].parse::<u64>().ok(),
                        e[key].as_u64(),
                        "{source} {key}"
                    );
                }
                let rate: f64 = row[7].parse().unwrap();
                assert!((rate - e["provider_success_rate"].as_f64().unwrap()).abs() < 1e-4);
                let p50: f64 = row[8].parse().unwrap();
                assert_eq!(Some(p50), e["latency_ms"]["p50"].as_f64(), "{source}");
                let refused: u64 = e["refused"]
                    .as_object()
                    .unwrap()
                    .values()
                    .map(|v| v.as_u64().unwrap())
                    .sum();
                assert_eq!(row[5].parse::<u64>().unwrap(), refused, "{source}");
                for (code, n) in e["refused"].as_object().unwrap() {
                    assert!(
                        row[18].contains(&format!("{code}={n}")),
                        "{source}: {row:?}"
                    );
                }
            }
            let without: Vec<(String, u64)> = table(names[2])
                .iter()
                .map(|r| (r[0].clone(), r[1].parse().unwrap()))
                .collect();
            let expected: Vec<(String, u64)> = json["refused_without_entry"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(c, n)| (c.clone(), n.as_u64().unwrap()))
                .collect();
            assert_eq!(without, expected, "{source}");
            let unused: Vec<Value> = table(names[3])
                .iter()
                .map(|r| Value::from(r[0].clone()))
                .collect();
            assert_eq!(Value::from(unused), json["never_used"], "{source}");
            let consumers = table(names[4]);
            let expected = json["consumers_refused_most"].as_array().unwrap();
            assert_eq!(consumers.len(), expected.len(), "{source}");
            for (row, c) in consumers.iter().zip(expected) {
                assert_eq!(row[0], c["consumer"], "{source}");
                assert_eq!(
                    row[1].parse::<u64>().ok(),
                    c["refused"].as_u64(),
                    "{source}"
                );
            }
        }
    }
}

/// An unreachable PostgreSQL is reported with its host, port and the cause,
/// not as "pool timed out"; an unsupported scheme says which ones are.
#[tokio::test]
async fn an_unreachable_or_unsupported_store_says_where_and_why() {
    let options = StoreOptions {
        acquire_timeout: Duration::from_millis(500),
        ..StoreOptions::default()
    };
    // Nothing listens on port 1.
    let err = Store::open("postgres://postgres:secret@127.0.0.1:1/test", &options)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("127.0.0.1:1"), "{err}");
    assert!(!err.contains("pool timed out"), "{err}");
    assert!(err.to_lowercase().contains("refused"), "{err}");
    assert!(!err.contains("secret"), "{err}");
    let err = Store::open("mysql://root@db/yrdx", &options)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("sqlite:PATH") && err.contains("postgres://"),
        "{err}"
    );
}

/// Inspecting a store writes nothing: a SQLite file that does not exist is
/// reported and not created; an existing one tells its schema, registry and
/// log.
#[tokio::test]
async fn inspecting_a_store_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("absent.db");
    let url = format!("sqlite:{}", file.display());
    let info = yrdx_registry::inspect(&url, Duration::from_secs(2))
        .await
        .unwrap();
    assert!(!info.exists);
    assert!(!file.exists(), "inspect created the database");
    for (url, store) in stores("inspect").await {
        let log = open_log(&store).await;
        log.append(&record(0), 0).await.unwrap();
        let info = yrdx_registry::inspect(&url, Duration::from_secs(2))
            .await
            .unwrap();
        assert!(info.exists, "{url}");
        assert_eq!(info.schema, info.schema_known, "{url}");
        assert_eq!(info.registry_versions, 0, "{url}");
        assert_eq!(
            info.log,
            Some((tree::ORIGIN.to_owned(), "sha256".to_owned())),
            "{url}"
        );
        assert_eq!(info.log_size, 1, "{url}");
        let claim = store.claim_node("gw-1").await.unwrap();
        assert_eq!(
            yrdx_registry::node_name(&url, "gw-1", Duration::from_secs(2))
                .await
                .unwrap(),
            yrdx_registry::NodeName::Taken,
            "{url}"
        );
        claim.release().await;
        assert_eq!(
            yrdx_registry::node_name(&url, "gw-1", Duration::from_secs(2))
                .await
                .unwrap(),
            yrdx_registry::NodeName::Free,
            "{url}"
        );
    }
}
