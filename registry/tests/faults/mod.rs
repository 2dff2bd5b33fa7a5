//! Store faults injected on every writer — leaf appends, the integrator's
//! tree nodes and checkpoints, quota counts and reservations, heartbeats —
//! as real write failures in the database ([`Faults`]): while a writer fails
//! the log records and checkpoints or refuses, and once the fault clears
//! every writer works again with no restart.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use yrdx_registry::testing::{Faults, Writer};
use yrdx_registry::{
    AuditLog, CheckpointOptions, Heartbeat, LogOptions, Quota, QuotaCounter, QuotaOptions, Store,
    Taken,
};
use yrdx_signing::{HashAlg, NoteSigner};

use super::{record, stores, wait_for};

const ORIGIN: &str = "test/faults";

/// The checkpoint interval of the test log: a leaf waits at most about this
/// long for a checkpoint while the integrator is healthy.
const INTERVAL: Duration = Duration::from_millis(300);

/// How long the test allows for recovery after a fault clears: a few
/// intervals, with room for a machine busy with other tests.
const RECOVERY: Duration = Duration::from_secs(10);

const ENTRY: &str = "RL-2026-00001";

fn quota() -> Quota {
    Quota {
        per_day: Some(1_000_000),
        ..Default::default()
    }
}

fn beat() -> Heartbeat {
    Heartbeat {
        name: "node-a".into(),
        exchange_addr: "127.0.0.1:8443".into(),
        admin_addr: "127.0.0.1:9443".into(),
        started_ms: 1,
        registry_version: 1,
        integrator: true,
    }
}

/// One call for a consumer not seen before, so that no reservation covers it
/// and it is decided in a store transaction.
async fn take_new(counter: &QuotaCounter, round: &str) -> Result<Taken, String> {
    counter
        .take(
            ENTRY,
            &format!("consumer-{round}"),
            &quota(),
            yrdx_registry::now(),
        )
        .await
        .map_err(|e| e.to_string())
}

/// Waits until the latest checkpoint covers every leaf appended; returns how
/// long that took.
async fn checkpoint_covers_the_log(store: &Store, url: &str) -> Duration {
    let started = Instant::now();
    let size = store.log_size().await.unwrap();
    wait_for(
        &format!("{url}: a checkpoint covering {size} leaves"),
        || async {
            store
                .latest_checkpoint()
                .await
                .ok()
                .flatten()
                .filter(|cp| cp.size.get() >= size)
        },
    )
    .await;
    started.elapsed()
}

/// Asserts `error` is the injected fault itself, not a writer left broken by
/// an earlier one (`attempted to call begin_with at non-zero transaction
/// depth`, a closed writer…).
fn is_the_fault(error: &str, what: &str) {
    assert!(
        error.contains("injected fault"),
        "{what} failed, but not with the injected fault: {error}"
    );
}

/// Everything logged in this test binary from the first call on, at `warn`
/// and above: the writers' tasks log on the runtime's threads, so the
/// subscriber is the process's.
fn operator_log() -> &'static Mutex<Vec<u8>> {
    static LOG: OnceLock<&'static Mutex<Vec<u8>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let log: &'static Mutex<Vec<u8>> = Box::leak(Box::default());
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::WARN)
            .with_ansi(false)
            .with_writer(move || Capture(log))
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
        log
    })
}

struct Capture(&'static Mutex<Vec<u8>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_writer_recovers_from_a_failed_write_and_the_log_records_and_checkpoints_again() {
    let log_text = operator_log();
    for (url, store) in stores("faults_every_writer").await {
        let mut faults = Faults::install(&url).await.unwrap();
        let signer = Arc::new(NoteSigner::from_seed(ORIGIN, &[7; 32]).unwrap());
        let log = AuditLog::open(
            store.clone(),
            ORIGIN,
            HashAlg::Sha256,
            yrdx_registry::now_ms(),
            LogOptions {
                checkpoints: Some(CheckpointOptions {
                    signer,
                    interval: INTERVAL,
                }),
                ..LogOptions::default()
            },
        )
        .await
        .unwrap();
        let counter = QuotaCounter::start(
            store.clone(),
            QuotaOptions {
                flush_interval: Duration::from_millis(100),
                ..QuotaOptions::new("node-a")
            },
        );
        let mut appended = 0;
        for writer in Writer::ALL {
            let at = format!("{url}, {writer:?}");
            // Calls granted from a reservation, so that the write-back runs
            // (and fails) during the fault.
            take_new(&counter, &format!("{writer:?}-before"))
                .await
                .unwrap();
            for _ in 0..3 {
                counter
                    .take(
                        ENTRY,
                        &format!("consumer-{writer:?}-before"),
                        &quota(),
                        yrdx_registry::now(),
                    )
                    .await
                    .unwrap();
            }
            faults.fail(writer).await.unwrap();
            match writer {
                Writer::Leaves => {
                    let e = log.append(&record(appended), 0).await.unwrap_err();
                    is_the_fault(&e.to_string(), "an append");
                    let health = log.check().await;
                    assert!(!health.can_record(), "{at}: {health:?}");
                    is_the_fault(&health.append_failing.unwrap().error, "the probe");
                }
                Writer::TreeNodes | Writer::Checkpoints => {
                    // The leaf is durable; its checkpoint cannot be written.
                    log.append(&record(appended), 0).await.unwrap();
                    appended += 1;
                    let failing = wait_for(&format!("{at}: integration failing"), || async {
                        log.health().integrate_failing
                    })
                    .await;
                    is_the_fault(&failing.error, "an integration");
                    // Within the checkpoint interval the node refuses to
                    // append what no checkpoint would cover.
                    let started = Instant::now();
                    let refused = loop {
                        match log.append(&record(appended), 0).await {
                            Ok(_) => appended += 1,
                            Err(e) => break e.to_string(),
                        }
                        assert!(started.elapsed() < RECOVERY, "{at}: appends never refused");
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    };
                    assert!(
                        refused.contains("checkpoints have not advanced"),
                        "{at}: {refused}"
                    );
                    is_the_fault(&refused, "an append while checkpoints stall");
                    assert!(!log.check().await.can_record(), "{at}");
                }
                Writer::QuotaCounts | Writer::QuotaLeases => {
                    let e = take_new(&counter, &format!("{writer:?}-during"))
                        .await
                        .unwrap_err();
                    is_the_fault(&e, "a quota batch");
                    // A call decided alone takes no reservation.
                    let alone = store
                        .take_quota(ENTRY, "consumer-alone", &quota(), yrdx_registry::now())
                        .await;
                    if writer == Writer::QuotaCounts {
                        is_the_fault(&alone.unwrap_err().to_string(), "a quota decided alone");
                    }
                    // Write-backs fail meanwhile.
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
                Writer::Heartbeats => {
                    let e = store
                        .heartbeat(&beat(), 3_000, yrdx_registry::now_ms())
                        .await
                        .unwrap_err();
                    is_the_fault(&e.to_string(), "a heartbeat");
                }
            }
            faults.clear(writer).await.unwrap();

            // Every writer works again, with no restart.
            let health = wait_for(&format!("{at}: the log can record again"), || async {
                let health = log.check().await;
                health.can_record().then_some(health)
            })
            .await;
            assert!(health.last_write_ms.is_some(), "{at}: {health:?}");
            for _ in 0..3 {
                log.append(&record(appended), 0)
                    .await
                    .unwrap_or_else(|e| panic!("{at}: append after the fault: {e}"));
                appended += 1;
            }
            let took = checkpoint_covers_the_log(&store, &at).await;
            assert!(took < RECOVERY, "{at}: checkpoint after {took:?}");
            assert!(
                matches!(
                    take_new(&counter, &format!("{writer:?}-after")).await,
                    Ok(Taken::Granted { .. })
                ),
                "{at}: a quota batch after the fault"
            );
            store
                .take_quota(ENTRY, "consumer-alone", &quota(), yrdx_registry::now())
                .await
                .unwrap_or_else(|e| panic!("{at}: a quota decided alone after the fault: {e}"));
            store
                .heartbeat(&beat(), 3_000, yrdx_registry::now_ms())
                .await
                .unwrap_or_else(|e| panic!("{at}: a heartbeat after the fault: {e}"));
        }
        assert_eq!(store.log_size().await.unwrap(), appended as u64, "{url}");
        // The calls granted from reservations reached the store once the
        // write-backs worked again: with every reservation returned, the
        // stored counts are the calls made, no more, no fewer.
        counter.close().await;
        let (day, _) = yrdx_registry::period_keys(yrdx_registry::now());
        let usage: std::collections::HashMap<String, u64> = store
            .quota_usage(ENTRY, &day)
            .await
            .unwrap()
            .into_iter()
            .collect();
        for writer in Writer::ALL {
            let at = format!("{url}, {writer:?}");
            assert_eq!(
                usage.get(&format!("consumer-{writer:?}-before")),
                Some(&4),
                "{at}"
            );
            assert_eq!(
                usage.get(&format!("consumer-{writer:?}-after")),
                Some(&1),
                "{at}"
            );
            assert_eq!(
                usage
                    .get(&format!("consumer-{writer:?}-during"))
                    .copied()
                    .unwrap_or(0),
                0,
                "{at}"
            );
        }
        log.stop_integrator().await;
    }
    let logged = String::from_utf8_lossy(&log_text.lock().unwrap()).into_owned();
    assert!(logged.contains("injected fault"), "{logged}");
    assert!(!logged.contains("non-zero transaction depth"), "{logged}");
}
