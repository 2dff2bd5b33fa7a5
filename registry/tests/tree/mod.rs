//! The exchange log's tree in the store: integration, checkpoints, proofs,
//! tiles, filtered reads, exports — and tampering with leaf rows, which the
//! offline verifier must name.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use yrdx_registry::{
    AuditLog, CheckpointOptions, EntryQuery, ExchangeRecord, Integration, Integrator, LogError,
    LogOptions, MAX_ENTRIES_PAGE, Outcome, Store, StoredCheckpoint,
};
use yrdx_signing::{
    ExportFinding, ExportOptions, Hash, HashAlg, LeafIndex, MemoryNodes, NoteSigner, Tile,
    TileKind, TreeSize, leaf_hash, open_checkpoint, parse_entry_bundle, tile_bytes, verify_export,
};

use super::{record, sql, sql_with, stores, wait_for};

/// The origin of the test log, as its checkpoints name it.
pub(crate) const ORIGIN: &str = "test/log";

fn signer() -> Arc<NoteSigner> {
    Arc::new(NoteSigner::from_seed(ORIGIN, &[42; 32]).unwrap())
}

fn size(n: u64) -> TreeSize {
    TreeSize::new(n).unwrap()
}

/// A log that appends only; the test drives the integrator itself.
async fn open_log(store: &Store) -> (AuditLog, Integrator) {
    let log = super::open_log(store).await;
    let integrator = Integrator::new(store.clone(), signer()).await.unwrap();
    (log, integrator)
}

fn signed(i: Integration) -> StoredCheckpoint {
    match i {
        Integration::Signed(cp) => cp,
        other => panic!("expected a new checkpoint, got {other:?}"),
    }
}

/// Appends `batches` (leaf counts), integrating after each, and checks every
/// property a regulator relies on against an in-memory reference tree.
async fn append_prove_verify(store: &Store, batches: &[usize], picks: &[u64]) {
    let (log, mut integrator) = open_log(store).await;
    let key = signer().verifier_key();
    let alg = HashAlg::Sha256;
    let mut reference = MemoryNodes::new(alg);
    let mut leaves: Vec<Hash> = Vec::new();
    let first = signed(integrator.integrate(1).await.unwrap());
    assert_eq!(first.size.get(), 0, "the empty log has a checkpoint");
    let mut checkpoints = vec![first];
    let mut n = 0usize;
    for (b, &count) in batches.iter().enumerate() {
        for _ in 0..count {
            let r = log.append(&record(n), 0).await.unwrap();
            assert_eq!(r.index, n as u64, "contiguous from 0");
            let h = Hash::from_bytes(r.leaf_hash);
            reference.push(h).unwrap();
            leaves.push(h);
            n += 1;
        }
        let outcome = integrator
            .integrate(10 + i64::try_from(b).unwrap())
            .await
            .unwrap();
        if count == 0 {
            assert_eq!(outcome, Integration::UpToDate(size(n as u64)));
            continue;
        }
        let cp = signed(outcome);
        assert_eq!(cp.size.get(), n as u64);
        assert_eq!(cp.root, reference.root(), "root at {n}");
        assert_eq!(store.log_root(alg, cp.size).await.unwrap(), cp.root);
        let opened = open_checkpoint(cp.note.as_bytes(), &key).unwrap();
        assert_eq!(opened.checkpoint().size(), cp.size);
        assert_eq!(opened.checkpoint().origin(), ORIGIN);
        // Every checkpoint extends every earlier one.
        for earlier in &checkpoints {
            let proof = store
                .consistency_proof(alg, earlier.size, cp.size)
                .await
                .unwrap();
            let earlier_cp = open_checkpoint(earlier.note.as_bytes(), &key).unwrap();
            opened
                .check_extends(alg, earlier_cp.checkpoint(), &proof.proof)
                .unwrap();
        }
        checkpoints.push(cp);
    }
    assert_eq!(
        store.latest_checkpoint().await.unwrap(),
        checkpoints.last().cloned()
    );
    // Inclusion proofs from the store verify, in the latest tree and in every
    // earlier one that holds the leaf.
    for &pick in picks {
        if n == 0 {
            break;
        }
        let index = pick % n as u64;
        for cp in checkpoints.iter().filter(|c| c.size.get() > index) {
            let proof = store
                .inclusion_proof(alg, LeafIndex::new(index).unwrap(), cp.size)
                .await
                .unwrap();
            proof
                .verify(alg, &leaves[usize::try_from(index).unwrap()], &cp.root)
                .unwrap();
            let expected = reference
                .inclusion_proof(LeafIndex::new(index).unwrap(), cp.size)
                .unwrap();
            assert_eq!(proof, expected);
        }
    }
    // Nothing beyond the integrated tree is served.
    let beyond = store
        .inclusion_proof(alg, LeafIndex::new(0).unwrap(), size(n as u64 + 1))
        .await;
    assert!(
        matches!(beyond, Err(LogError::BeyondTree { .. })),
        "{beyond:?}"
    );
}

fn sqlite_store() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("yrdx.db").display());
    (dir, url)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// append → prove → verify against the store, on SQLite (PostgreSQL runs
    /// the fixed sequence below; a database per case would be slow).
    #[test]
    fn append_prove_verify_against_the_store(
        batches in proptest::collection::vec(0usize..40, 1..8),
        picks in proptest::collection::vec(any::<u64>(), 1..6),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let (_dir, url) = sqlite_store();
            let store = Store::open(&url, &Default::default()).await.unwrap();
            append_prove_verify(&store, &batches, &picks).await;
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn append_prove_verify_on_every_backend() {
    for (url, store) in stores("tree_properties").await {
        eprintln!("{url}");
        append_prove_verify(
            &store,
            &[1, 0, 2, 5, 8, 64, 1, 255, 3],
            &[0, 7, 99, 1000, 77],
        )
        .await;
    }
}

/// Waits until the latest checkpoint covers `n` leaves.
async fn covered(store: &Store, n: u64) -> StoredCheckpoint {
    wait_for(
        &format!("a checkpoint covering {n} leaves"),
        || async move {
            store
                .latest_checkpoint()
                .await
                .unwrap()
                .filter(|cp| cp.size.get() >= n)
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_background_integrator_signs_promptly_and_resumes_after_a_restart() {
    for (url, store) in stores("integrator_restart").await {
        let alg = HashAlg::Sha256;
        let options = LogOptions {
            checkpoints: Some(CheckpointOptions {
                signer: signer(),
                interval: Duration::from_millis(200),
            }),
            ..LogOptions::default()
        };
        let log = AuditLog::open(store.clone(), ORIGIN, alg, 0, options.clone())
            .await
            .unwrap();
        assert_eq!(
            log.verifier_key().map(ToString::to_string),
            Some(signer().verifier_key().to_string())
        );
        let started = std::time::Instant::now();
        for i in 0..30 {
            log.append(&record(i), 0).await.unwrap();
        }
        let first = covered(&store, 30).await;
        // The bound is the interval (plus integration time on a busy machine).
        assert!(
            started.elapsed() < Duration::from_millis(1500),
            "{url}: {:?}",
            started.elapsed()
        );
        log.stop_integrator().await;
        // Leaves appended while no integrator runs, as after a crash …
        for i in 30..45 {
            log.append(&record(i), 0).await.unwrap();
        }
        assert_eq!(
            store.latest_checkpoint().await.unwrap().unwrap().size.get(),
            30
        );
        drop(log);
        // … are integrated by the next node that starts, from the stored frontier.
        let reopened = Store::open(&url, &Default::default()).await.unwrap();
        let log = AuditLog::open(reopened.clone(), ORIGIN, alg, 0, options)
            .await
            .unwrap();
        let second = covered(&reopened, 45).await;
        assert_eq!(second.size.get(), 45, "{url}");
        for i in 45..50 {
            log.append(&record(i), 0).await.unwrap();
        }
        let third = covered(&reopened, 50).await;
        let key = signer().verifier_key();
        let mut previous = open_checkpoint(first.note.as_bytes(), &key).unwrap();
        for cp in [second, third] {
            let proof = reopened
                .consistency_proof(alg, previous.checkpoint().size(), cp.size)
                .await
                .unwrap();
            let opened = open_checkpoint(cp.note.as_bytes(), &key).unwrap();
            opened
                .check_extends(alg, previous.checkpoint(), &proof.proof)
                .unwrap();
            previous = opened;
        }
        log.stop_integrator().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_integrators_never_sign_inconsistent_checkpoints() {
    for (url, store) in stores("integrator_race").await {
        let alg = HashAlg::Sha256;
        let (log, mut first) = open_log(&store).await;
        // A second process on the same database, with its own pool.
        let other = Store::open(&url, &Default::default()).await.unwrap();
        let mut second = Integrator::new(other.clone(), signer()).await.unwrap();
        first.integrate(0).await.unwrap();
        if url.starts_with("postgres") {
            // The advisory lock keeps the second out while the first holds it …
            assert_eq!(second.integrate(0).await.unwrap(), Integration::NotLeader);
            first.release().await;
            // … and lets it in once released.
            assert!(matches!(
                second.integrate(0).await.unwrap(),
                Integration::UpToDate(_)
            ));
            second.release().await;
        }
        // Without a lease between them (SQLite, or a lease lost to a network
        // partition), the compare-and-set on the tree size keeps them apart.
        let appender = {
            let log = log.clone();
            tokio::spawn(async move {
                for i in 0..300 {
                    log.append(&record(i), 0).await.unwrap();
                    if i % 7 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
            })
        };
        let run = |mut integrator: Integrator| {
            tokio::spawn(async move {
                let mut outcomes = Vec::new();
                for _ in 0..40 {
                    match integrator.integrate(0).await {
                        Ok(o) => outcomes.push(o),
                        Err(e) => panic!("integration failed: {e}"),
                    }
                    // Spaces the attempts on purpose, so that appends land
                    // between them and the two integrators race on a moving
                    // tree; nothing waits here for a condition.
                    tokio::time::sleep(Duration::from_millis(3)).await;
                }
                integrator.release().await;
                outcomes
            })
        };
        let (a, b) = (run(first), run(second));
        appender.await.unwrap();
        let (a, b) = (a.await.unwrap(), b.await.unwrap());
        eprintln!(
            "{url}: {} and {} checkpoints signed, {} races",
            a.iter()
                .filter(|o| matches!(o, Integration::Signed(_)))
                .count(),
            b.iter()
                .filter(|o| matches!(o, Integration::Signed(_)))
                .count(),
            a.iter()
                .chain(&b)
                .filter(|o| **o == Integration::Raced)
                .count()
        );
        let mut last = Integrator::new(store.clone(), signer()).await.unwrap();
        last.integrate(0).await.unwrap();
        last.release().await;
        // Every stored checkpoint extends the one before it.
        let key = signer().verifier_key();
        let sizes = store.checkpoint_sizes(0, u64::MAX >> 2).await.unwrap();
        let all = store.checkpoints_at(&sizes).await.unwrap();
        assert_eq!(all.last().unwrap().size.get(), 300, "{url}");
        for pair in all.windows(2) {
            let (earlier, later) = (&pair[0], &pair[1]);
            let proof = store
                .consistency_proof(alg, earlier.size, later.size)
                .await
                .unwrap();
            open_checkpoint(later.note.as_bytes(), &key)
                .unwrap()
                .check_extends(
                    alg,
                    open_checkpoint(earlier.note.as_bytes(), &key)
                        .unwrap()
                        .checkpoint(),
                    &proof.proof,
                )
                .unwrap_or_else(|e| panic!("{url}: {} → {}: {e}", earlier.size, later.size));
        }
    }
}

/// Appends `n` leaves, integrating after every one when `every` (a
/// checkpoint at each size), else only at the sizes in `at`.
async fn filled(store: &Store, n: usize, at: &[usize]) -> Vec<Hash> {
    let (log, mut integrator) = open_log(store).await;
    let mut hashes = Vec::new();
    integrator.integrate(0).await.unwrap();
    for i in 0..n {
        hashes.push(Hash::from_bytes(
            log.append(&record(i), 0).await.unwrap().leaf_hash,
        ));
        if at.is_empty() || at.contains(&(i + 1)) {
            signed(integrator.integrate(0).await.unwrap());
        }
    }
    integrator.release().await;
    hashes
}

async fn export(store: &Store, from: u64, to: Option<u64>) -> Vec<u8> {
    let mut out = Vec::new();
    store.export(from, to, &mut out).await.unwrap();
    out
}

async fn verdict(store: &Store, options: &ExportOptions) -> Option<ExportFinding> {
    let bytes = export(store, 0, None).await;
    verify_export(&bytes, &signer().verifier_key(), options)
        .unwrap()
        .finding
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampering_with_leaf_rows_is_named_by_the_verifier() {
    let none = ExportOptions::default();
    for (url, store) in stores("tamper_edit").await {
        filled(&store, 20, &[]).await;
        assert_eq!(verdict(&store, &none).await, None, "{url}: untouched");
        // Edit: a refusal rewritten as served, leaf hash column and all.
        let leaf = &store.log_leaves(7, 8).await.unwrap()[0];
        let edited = String::from_utf8(leaf.leaf.clone())
            .unwrap()
            .replace("\"refused\"", "\"served\"");
        sql_with(
            &url,
            "UPDATE log_leaves SET leaf = $1, leaf_hash = $2 WHERE idx = 7",
            &[
                edited.as_bytes(),
                leaf_hash(HashAlg::Sha256, edited.as_bytes()).as_bytes(),
            ],
        )
        .await;
        let finding = verdict(&store, &none).await.unwrap();
        assert!(
            matches!(finding, ExportFinding::RootMismatch { .. }),
            "{finding:?}"
        );
        assert_eq!(finding.first_bad_index(), Some(7), "{url}: {finding:?}");
        // Proofs come from the nodes, which still hold the original hashes:
        // the edited leaf no longer verifies against any checkpoint.
        let cp = store.latest_checkpoint().await.unwrap().unwrap();
        let proof = store
            .inclusion_proof(HashAlg::Sha256, LeafIndex::new(7).unwrap(), cp.size)
            .await
            .unwrap();
        assert!(
            proof
                .verify(
                    HashAlg::Sha256,
                    &leaf_hash(HashAlg::Sha256, edited.as_bytes()),
                    &cp.root
                )
                .is_err()
        );
    }
    for (url, store) in stores("tamper_delete").await {
        filled(&store, 20, &[]).await;
        sql(&url, "DELETE FROM log_leaves WHERE idx = 7").await;
        let finding = verdict(&store, &none).await.unwrap();
        assert_eq!(
            finding,
            ExportFinding::OutOfSequence {
                expected: 7,
                found: 8
            },
            "{url}"
        );
        assert_eq!(finding.first_bad_index(), Some(7));
    }
    for (url, store) in stores("tamper_reorder").await {
        filled(&store, 20, &[]).await;
        sql(
            &url,
            "UPDATE log_leaves SET idx = -1 WHERE idx = 5; \
             UPDATE log_leaves SET idx = 5 WHERE idx = 9; \
             UPDATE log_leaves SET idx = 9 WHERE idx = -1;",
        )
        .await;
        let finding = verdict(&store, &none).await.unwrap();
        assert_eq!(finding.first_bad_index(), Some(5), "{url}: {finding:?}");
    }
    for (url, store) in stores("tamper_truncate").await {
        filled(&store, 20, &[]).await;
        sql(&url, "DELETE FROM log_leaves WHERE idx >= 15").await;
        let finding = verdict(&store, &none).await.unwrap();
        assert_eq!(
            finding,
            ExportFinding::Truncated {
                entries_end: 15,
                size: 20
            },
            "{url}"
        );
    }
    // With checkpoints only every ten leaves, an edit is located between two
    // of them — and exactly once a consumer's receipt vouches for the leaf.
    for (url, store) in stores("tamper_sparse").await {
        let hashes = filled(&store, 30, &[10, 20, 30]).await;
        let leaf = &store.log_leaves(13, 14).await.unwrap()[0];
        let edited = String::from_utf8(leaf.leaf.clone())
            .unwrap()
            .replace("req-13", "req-99");
        sql_with(
            &url,
            "UPDATE log_leaves SET leaf = $1 WHERE idx = 13",
            &[edited.as_bytes()],
        )
        .await;
        let finding = verdict(&store, &none).await.unwrap();
        assert_eq!(finding.first_bad(), 10..20, "{url}: {finding:?}");
        let receipts = ExportOptions {
            trusted_leaves: BTreeMap::from([(13, hashes[13])]),
            ..ExportOptions::default()
        };
        let finding = verdict(&store, &receipts).await.unwrap();
        assert_eq!(finding.first_bad_index(), Some(13), "{url}: {finding:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_of_a_range_verify_and_must_end_at_a_checkpoint() {
    for (url, store) in stores("export_range").await {
        filled(&store, 40, &[10, 25, 40]).await;
        let key = signer().verifier_key();
        let whole = export(&store, 0, None).await;
        let report = verify_export(&whole, &key, &ExportOptions::default()).unwrap();
        assert!(report.is_valid(), "{url}: {report:?}");
        assert_eq!(report.entries, 40);
        // The empty checkpoint, 10 and 25 travel in the header.
        assert_eq!(report.checkpoints_checked, 4, "{url}");
        let middle = export(&store, 12, Some(25)).await;
        let report = verify_export(&middle, &key, &ExportOptions::default()).unwrap();
        assert!(report.is_valid(), "{url}: {report:?}");
        assert_eq!((report.start, report.entries), (12, 13));
        let mut out = Vec::new();
        let err = store.export(0, Some(24), &mut out).await.unwrap_err();
        assert!(matches!(err, LogError::NotACheckpointSize(24)), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiles_hold_the_stored_hashes_and_entries() {
    for (url, store) in stores("tiles").await {
        let hashes = filled(&store, 600, &[600]).await;
        let mut reference = MemoryNodes::new(HashAlg::Sha256);
        for h in &hashes {
            reference.push(*h).unwrap();
        }
        let tree = size(600);
        for (kind, index) in [
            (TileKind::Hashes { level: 0 }, 0),
            (TileKind::Hashes { level: 0 }, 2),
            (TileKind::Hashes { level: 1 }, 0),
        ] {
            let tile = Tile::for_size(kind, index, tree).unwrap();
            let got = store.log_tile(&tile).await.unwrap();
            assert_eq!(
                got,
                tile_bytes(&reference, &tile).unwrap(),
                "{url}: {}",
                tile.path()
            );
        }
        let bundle = Tile::for_size(TileKind::Entries, 2, tree).unwrap();
        assert_eq!(bundle.width(), 88);
        let bytes = store.log_tile(&bundle).await.unwrap();
        let entries = parse_entry_bundle(&bytes, bundle.width()).unwrap();
        assert_eq!(leaf_hash(HashAlg::Sha256, entries[0]), hashes[512]);
        // A tile the tree does not hold yet is refused.
        let beyond = Tile::entries(2, 100).unwrap();
        assert!(matches!(
            store.log_tile(&beyond).await,
            Err(LogError::TileBeyondTree { .. })
        ));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_filter_by_time_member_resource_outcome_code_and_entry() {
    for (url, store) in stores("entries_filter").await {
        let log = super::open_log(&store).await;
        let records: Vec<ExchangeRecord> = (0..12)
            .map(|i| {
                let mut r = record(i);
                r.consumer = Some(if i % 2 == 0 { "js:a" } else { "zj:b" }.into());
                r.provider = Some(if i % 3 == 0 { "sh:p" } else { "ah:p" }.into());
                r.resource = Some(if i < 6 { "YRD-A" } else { "YRD-B" }.into());
                if i % 4 == 0 {
                    r.outcome = Outcome::Served;
                    r.code = None;
                } else if i % 4 == 1 {
                    r.code = Some("quota_exhausted".into());
                }
                // An entry for some; none for the rest (refused before one
                // was found).
                r.entry = (i % 5 != 4).then(|| format!("RL-{}", i % 2));
                r
            })
            .collect();
        for (i, r) in records.iter().enumerate() {
            log.append(r, 1000 + i64::try_from(i).unwrap())
                .await
                .unwrap();
        }
        let get = |q: EntryQuery| {
            let store = store.clone();
            async move {
                store
                    .log_entries(&EntryQuery { end: 12, ..q })
                    .await
                    .unwrap()
                    .iter()
                    .map(|l| l.index)
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(get(EntryQuery::default()).await.len(), 12, "{url}");
        let q = EntryQuery {
            consumer: Some("js:a".into()),
            ..Default::default()
        };
        assert_eq!(get(q).await, vec![0, 2, 4, 6, 8, 10]);
        let q = EntryQuery {
            provider: Some("sh:p".into()),
            resource: Some("YRD-B".into()),
            ..Default::default()
        };
        assert_eq!(get(q).await, vec![6, 9]);
        let q = EntryQuery {
            outcome: Some(Outcome::Served),
            time_from_ms: Some(1001),
            time_to_ms: Some(1008),
            ..Default::default()
        };
        assert_eq!(get(q).await, vec![4]);
        let q = EntryQuery {
            code: Some("quota_exhausted".into()),
            ..Default::default()
        };
        assert_eq!(get(q).await, vec![1, 5, 9]);
        let q = EntryQuery {
            entry: Some("RL-1".into()),
            ..Default::default()
        };
        assert_eq!(get(q).await, vec![1, 3, 5, 7, 11]);
        let q = EntryQuery {
            entry: Some("RL-0".into()),
            code: Some("quota_exhausted".into()),
            ..Default::default()
        };
        assert_eq!(get(q).await, Vec::<u64>::new());
        let q = EntryQuery {
            entry: Some("RL-0".into()),
            consumer: Some("js:a".into()),
            start: 3,
            ..Default::default()
        };
        assert_eq!(get(q).await, vec![6, 8, 10]);
        let q = EntryQuery {
            start: 3,
            ..Default::default()
        };
        assert_eq!(get(q).await.first(), Some(&3));
        let too_long = store
            .log_entries(&EntryQuery {
                start: 0,
                end: MAX_ENTRIES_PAGE + 1,
                ..Default::default()
            })
            .await;
        assert!(matches!(too_long, Err(LogError::Window { .. })));
    }
}

#[tokio::test]
async fn a_key_named_for_another_log_is_refused() {
    for (_url, store) in stores("key_name").await {
        open_log(&store).await;
        let wrong = Arc::new(NoteSigner::from_seed("other/log", &[1; 32]).unwrap());
        let err = Integrator::new(store.clone(), wrong).await.unwrap_err();
        assert!(matches!(err, LogError::KeyName { .. }), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_integrator_signs_nothing_over_an_altered_or_missing_leaf() {
    for (url, store) in stores("integrator_refuses").await {
        let (log, mut integrator) = open_log(&store).await;
        for i in 0..5 {
            log.append(&record(i), 0).await.unwrap();
        }
        sql_with(
            &url,
            "UPDATE log_leaves SET leaf = $1 WHERE idx = 3",
            &[b"{}"],
        )
        .await;
        let err = integrator.integrate(0).await.unwrap_err();
        assert!(
            err.to_string()
                .contains("log leaf 3: stored leaf hash does not match"),
            "{url}: {err}"
        );
        sql(&url, "DELETE FROM log_leaves WHERE idx = 3").await;
        let err = integrator.integrate(0).await.unwrap_err();
        assert!(
            err.to_string().contains("log leaf 3 is missing"),
            "{url}: {err}"
        );
        assert_eq!(store.log_tree_size().await.unwrap().get(), 0, "{url}");
        assert_eq!(store.latest_checkpoint().await.unwrap(), None, "{url}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn integration_signs_what_was_there_when_it_began_not_what_keeps_arriving() {
    for (url, store) in stores("integrate_target").await {
        let (log, mut integrator) = open_log(&store).await;
        for i in 0..50 {
            log.append(&record(i), 0).await.unwrap();
        }
        // Appends keep arriving while the integrator works.
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writer = {
            let (log, stop) = (log.clone(), stop.clone());
            tokio::spawn(async move {
                let mut i = 50;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    log.append(&record(i), 0).await.unwrap();
                    i += 1;
                }
                i
            })
        };
        // A head start for the writer, on purpose, so that appends arrive
        // while the integrator works; what follows holds whatever the timing.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let cp = signed(integrator.integrate(1).await.unwrap());
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let appended = writer.await.unwrap();
        assert!(cp.size.get() >= 50, "{url}: covers what was there");
        let sizes = store.checkpoint_sizes(0, i64::MAX as u64).await.unwrap();
        assert_eq!(
            (sizes.len(), sizes.first().copied()),
            (1, Some(cp.size.get())),
            "{url}: one checkpoint for one call, not one per handful of new leaves ({appended} appended)"
        );
        // The next call picks up the rest.
        let next = signed(integrator.integrate(2).await.unwrap());
        assert_eq!(next.size.get(), appended as u64, "{url}");
    }
}
