//! Scale-out: several `yrdx serve` processes on one PostgreSQL database, with
//! real mTLS clients spreading load over them. Each test builds the demo
//! federation (PKI, sample providers in this process, registry, mappings,
//! log key) on a fresh database, stops the demo's own gateway and starts three
//! nodes from copies of its configuration that differ only in node name and
//! listen addresses.
//!
//! - load over three nodes: period quotas exact, per-second rates shared
//!   within the stated tolerance, registry versions reach every node, one leaf
//!   per answered request, and the export verifies;
//! - the integrating node killed with SIGKILL under load: another takes over
//!   within the bound, every answered request's leaf is there, and the log is
//!   consistent with a checkpoint taken before the kill;
//! - the store stopped under load (a private PostgreSQL cluster of the test's
//!   own, never the shared server): `/readyz` false, `audit_unavailable`,
//!   recovery by itself, nothing acknowledged lost.
//!
//! They need `YRDX_TEST_DATABASE_URL` (and the outage test the PostgreSQL
//! server binaries); without them each says SKIPPED and why, or fails when
//! `CI` is set (a missing prerequisite is a failure there). The tests run
//! one at a time (a lock), so timings are not distorted by each other.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss,
    clippy::print_stderr,
    reason = "test helpers: a panic is a failing test"
)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use yrdx_conformance::client::Connection;
use yrdx_registry::testing::fresh_postgres;
use yrdx_registry::{Store, StoreOptions};
use yrdx_signing::open_checkpoint;

mod common;
use common::cluster::{Cluster, Load, Seen, free_port};
use common::{
    DEMO_QUOTA, JS, REGULATOR, SCJG, leaves_by_request, now_ms, poll, postgres_server, served_body,
    skip, wait_until,
};

const ENTRY: &str = "RL-2026-00001";
/// The stated bound for another node to take the integrator role over.
const TAKEOVER_BOUND: Duration = Duration::from_secs(5);

/// One test at a time: three clusters of three nodes on two cores would
/// measure the machine, not the gateway.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A regulator reading the latest checkpoint from whichever node answers.
fn watch_checkpoints(
    addrs: Vec<String>,
    tls: Arc<rustls::ClientConfig>,
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Seen>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut node = 0;
        while !stop.load(Ordering::Relaxed) {
            if let Ok(mut conn) = Connection::open(&addrs[node], tls.clone()).await
                && let Ok(answer) = conn
                    .send("GET", "/v1/audit/checkpoint", &[], Bytes::new())
                    .await
                && answer.status == 200
            {
                let note = String::from_utf8(answer.body.to_vec()).unwrap();
                let mut s = seen.lock().unwrap();
                if s.checkpoints.last() != Some(&note) {
                    s.checkpoints.push(note);
                }
            }
            node = (node + 1) % addrs.len();
            // A regulator's pace of reading, not a wait for a condition.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
}

/// Every answered request that the gateway acknowledged (anything but
/// `audit_unavailable`) has its leaf, at its receipt's index, with its
/// status, written by the node that answered.
fn check_every_answer_logged(seen: &Seen, export: &[u8], cluster: &Cluster) -> usize {
    let (by_request, _) = leaves_by_request(export);
    let mut checked = 0;
    for (id, a) in &seen.answered {
        if a.code.as_deref() == Some("audit_unavailable") {
            continue;
        }
        let (index, status, node, count) = by_request
            .get(id)
            .unwrap_or_else(|| panic!("answered exchange {id} ({a:?}) is not in the log"));
        assert_eq!(*count, 1, "{id}: one leaf");
        assert_eq!(u64::from(a.status), *status, "{id}");
        assert_eq!(node, &cluster.nodes[a.node].name, "{id}");
        if let Some((receipt_index, _)) = &a.receipt {
            assert_eq!(receipt_index, index, "{id}");
        }
        checked += 1;
    }
    checked
}

/// Verifies `export` with every receipt as a trusted leaf and every
/// checkpoint seen as an earlier one, from the first seen.
fn verify_with_receipts(cluster: &Cluster, seen: &Seen, export: &[u8]) {
    let receipts = seen.answered.values().filter_map(|a| a.receipt.as_ref());
    common::verify_with_receipts(export, &cluster.key, receipts, &seen.checkpoints, "cluster");
}

/// Three nodes on a fresh database of the shared PostgreSQL server, started
/// once the tests before have finished (the guard holds the others back);
/// `None` when the PostgreSQL server is not configured.
async fn three_nodes(test: &str) -> Option<(tokio::sync::MutexGuard<'static, ()>, Cluster)> {
    let server = postgres_server(test)?;
    let serial = SERIAL.lock().await;
    let url = fresh_postgres(&server, test).await.unwrap();
    Some((serial, Cluster::start(&url, 3).await))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn load_over_three_nodes_keeps_quotas_exact_rates_shared_and_one_leaf_per_answer() {
    let Some((_serial, cluster)) = three_nodes("cluster_load").await else {
        return;
    };
    // Each node counts the others within a heartbeat or two.
    let started = Instant::now();
    for node in &cluster.nodes {
        let mut body = String::new();
        let counted = poll(
            Duration::from_secs(5).saturating_sub(started.elapsed()),
            async || {
                let (status, answer) = node.readyz().await.unwrap();
                assert_eq!(status, 200);
                body = answer;
                body.contains("live nodes 3").then_some(())
            },
        )
        .await;
        assert!(
            counted.is_some(),
            "{}: waited for live nodes 3: {body}",
            node.name
        );
    }
    let integrators = cluster
        .store
        .nodes(3000, now_ms())
        .await
        .unwrap()
        .iter()
        .filter(|n| n.live && n.integrator)
        .count();
    assert_eq!(integrators, 1, "exactly one node integrates");

    // Period quota: 120 a day over three nodes under concurrent load is 120.
    let (_, propagation) = cluster
        .reimport_list(|t| t.replace(DEMO_QUOTA, "quota = { per_day = 120 }"))
        .await;
    eprintln!("registry version reached all 3 nodes in {propagation:?}");
    let started = Instant::now();
    let load = Load::start(&cluster, JS, 12, 10);
    load.wait_answered(400, Duration::from_secs(30)).await;
    let quota_seen = load.finish().await;
    let took = started.elapsed();
    let count = |status: u16, code: Option<&str>| {
        quota_seen
            .answered
            .values()
            .filter(|a| a.status == status && a.code.as_deref() == code)
            .count()
    };
    let served = count(200, None);
    let exhausted = count(429, Some("quota_exhausted"));
    let purpose = quota_seen
        .answered
        .values()
        .filter(|a| a.code.as_deref() == Some("purpose_not_allowed"))
        .count();
    assert_eq!(quota_seen.errors, 0, "no transport errors");
    assert_eq!(
        served + exhausted + purpose,
        quota_seen.answered.len(),
        "only served, quota_exhausted and purpose_not_allowed"
    );
    assert_eq!(served, 120, "the day quota is exact across nodes");
    let per_node: Vec<usize> = (0..3)
        .map(|i| {
            quota_seen
                .answered
                .values()
                .filter(|a| a.node == i && a.status == 200)
                .count()
        })
        .collect();
    assert!(
        per_node.iter().all(|n| *n > 0),
        "served by every node: {per_node:?}"
    );
    let (day, _) = yrdx_registry::period_keys(time::OffsetDateTime::now_utc());
    assert_eq!(
        cluster.store.quota_usage(ENTRY, &day).await.unwrap(),
        vec![(JS.to_owned(), 120)],
        "the stored count"
    );
    eprintln!(
        "quota: {} answered in {took:?} over 3 nodes ({:.0}/s), served {served} {per_node:?}, {exhausted} quota_exhausted",
        quota_seen.answered.len(),
        quota_seen.answered.len() as f64 / took.as_secs_f64()
    );

    // Per-second rate: 30/s with a burst of 30, shared by three nodes
    // (10/s and 10 each). Over T seconds the cluster admits at most
    // 30·T + 30 (+ n − 1 per second from rounding up, 0 here).
    let (_, propagation2) = cluster
        .reimport_list(|t| t.replace(DEMO_QUOTA, "quota = { per_second = 30, burst = 30 }"))
        .await;
    eprintln!("registry version reached all 3 nodes in {propagation2:?}");
    // Let the limiters of the new version start full, then measure: the
    // thing measured is what the rate admits while time passes, so this
    // wait is a fixed window, not a condition.
    let started = Instant::now();
    let load = Load::start(&cluster, JS, 12, 0);
    tokio::time::sleep(Duration::from_secs(4)).await;
    let rate_seen = load.finish().await;
    let window = started.elapsed().as_secs_f64();
    let served = rate_seen
        .answered
        .values()
        .filter(|a| a.status == 200)
        .count() as f64;
    let limited = rate_seen
        .answered
        .values()
        .filter(|a| a.code.as_deref() == Some("quota_exhausted"))
        .count();
    let bound = 30.0 * window + 30.0;
    eprintln!(
        "rate: {served} served and {limited} limited in {window:.2} s = {:.1}/s served for a listed 30/s (bound {bound:.0}, {:.0} answered/s)",
        served / window,
        rate_seen.answered.len() as f64 / window
    );
    assert!(limited > 0, "the load exceeds the rate");
    assert!(served <= bound, "{served} served > {bound:.0}");
    assert!(
        served >= 0.8 * 30.0 * window,
        "{served} served: the nodes' shares add up to less than the listed rate"
    );

    // Every answer has exactly one leaf, and the log verifies.
    let (size, _) = cluster.checkpoint_covering_everything().await;
    let export = cluster.export_and_verify(1, None).await;
    let (by_request, total) = leaves_by_request(&export);
    assert_eq!(total, size);
    let mut all = quota_seen;
    all.answered.extend(rate_seen.answered);
    let checked = check_every_answer_logged(&all, &export, &cluster);
    assert_eq!(checked, all.answered.len());
    assert_eq!(
        by_request.len(),
        all.answered.len(),
        "no leaf without an answer"
    );
    assert_eq!(total as usize, all.answered.len(), "one leaf per answer");
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_integrator_killed_under_load_is_replaced_and_no_answered_leaf_is_lost() {
    let Some((_serial, mut cluster)) = three_nodes("cluster_takeover").await else {
        return;
    };
    cluster
        .reimport_list(|t| t.replace(DEMO_QUOTA, "quota = { per_day = 1000000 }"))
        .await;
    let mut load = Load::start(&cluster, JS, 9, 5);
    load.tasks.push(watch_checkpoints(
        cluster.addrs(),
        cluster.tls(REGULATOR),
        load.stop.clone(),
        load.seen.clone(),
    ));
    wait_until(
        "300 answers and 3 checkpoints (load too slow)",
        Duration::from_secs(30),
        async || {
            let s = load.seen.lock().unwrap();
            s.answered.len() >= 300 && s.checkpoints.len() >= 3
        },
    )
    .await;
    let mut leaders = Vec::new();
    for (i, node) in cluster.nodes.iter().enumerate() {
        if node.is_integrator().await {
            leaders.push(i);
        }
    }
    assert_eq!(leaders.len(), 1, "exactly one integrator: {leaders:?}");
    let leader = leaders[0];
    // A checkpoint taken before the kill, as a regulator would hold it.
    let before = cluster.store.latest_checkpoint().await.unwrap().unwrap();
    cluster.nodes[leader].kill().await;
    let killed = Instant::now();
    let size_at_kill = cluster.store.log_size().await.unwrap();
    eprintln!(
        "killed {} (integrator) at log size {size_at_kill}, checkpoint {}",
        cluster.nodes[leader].name,
        before.size.get()
    );

    // Another node takes over and checkpoints resume past the kill.
    let mut takeover = None;
    let mut resumed = None;
    poll(Duration::from_secs(15), async || {
        if takeover.is_none() {
            for (i, node) in cluster.nodes.iter().enumerate() {
                if i != leader && node.is_integrator().await {
                    takeover = Some((i, killed.elapsed()));
                }
            }
        }
        if resumed.is_none()
            && let Some(cp) = cluster.store.latest_checkpoint().await.unwrap()
            && cp.size.get() > size_at_kill
        {
            resumed = Some(killed.elapsed());
        }
        (takeover.is_some() && resumed.is_some()).then_some(())
    })
    .await;
    let (new_leader, takeover) = takeover.expect("no node took the integrator role over");
    let resumed = resumed.expect("checkpoints did not resume");
    eprintln!(
        "{} took over in {takeover:?}; first checkpoint past the kill after {resumed:?}",
        cluster.nodes[new_leader].name
    );
    assert!(
        resumed <= TAKEOVER_BOUND,
        "{resumed:?} > {TAKEOVER_BOUND:?}"
    );
    assert!(
        takeover <= TAKEOVER_BOUND,
        "{takeover:?} > {TAKEOVER_BOUND:?}"
    );

    // More load on the survivors, then stop and check everything.
    let more = load.answered() + 100;
    load.wait_answered(more, Duration::from_secs(10)).await;
    let seen = load.finish().await;
    let after_kill = seen.answered.values().filter(|a| a.at > killed).count();
    assert!(after_kill > 0, "answers after the kill");
    cluster.checkpoint_covering_everything().await;
    let survivor = (leader + 1) % 3;
    let export = cluster
        .export_and_verify(survivor, Some(&before.note))
        .await;
    let checked = check_every_answer_logged(&seen, &export, &cluster);
    verify_with_receipts(&cluster, &seen, &export);
    // Checkpoints seen by the regulator before and after the kill are of one log.
    let key = &cluster.key;
    let sizes: Vec<u64> = seen
        .checkpoints
        .iter()
        .map(|c| {
            open_checkpoint(c.as_bytes(), key)
                .unwrap()
                .checkpoint()
                .size()
                .get()
        })
        .collect();
    assert!(sizes.windows(2).all(|w| w[0] <= w[1]), "{sizes:?}");
    eprintln!(
        "takeover: {checked} answered exchanges ({after_kill} after the kill, {} transport errors) all in a log verified from checkpoint {} with {} regulator checkpoints",
        seen.errors,
        before.size.get(),
        seen.checkpoints.len()
    );
    cluster.stop().await;
}

/// A PostgreSQL cluster of the test's own, on a free port in a temporary
/// folder, so that stopping it harms nobody.
struct PrivatePostgres {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    // When the test runs as root: PostgreSQL refuses to, so it runs as this user.
    run_as: Option<String>,
}

impl PrivatePostgres {
    /// Finds the server binaries: `YRDX_PG_BIN`, then `initdb` on `PATH`,
    /// then the Debian layout under `/usr/lib/postgresql/<version>/bin`.
    fn find_bin() -> Result<PathBuf, String> {
        if let Ok(dir) = std::env::var("YRDX_PG_BIN") {
            return Ok(PathBuf::from(dir));
        }
        let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
        if let Ok(path) = std::env::var("PATH") {
            for dir in std::env::split_paths(&path) {
                if has_tools(&dir) {
                    // Resolve a symlinked initdb to the folder holding postgres.
                    let real = std::fs::canonicalize(dir.join("initdb")).unwrap_or_default();
                    if let Some(parent) = real.parent()
                        && has_tools(parent)
                        && parent.join("postgres").is_file()
                    {
                        return Ok(parent.to_owned());
                    }
                    return Ok(dir);
                }
            }
        }
        let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .map(|d| d.flatten().map(|e| e.path().join("bin")).collect())
            .unwrap_or_default();
        found.retain(|d| has_tools(d));
        found.sort();
        found
            .pop()
            .ok_or_else(|| "no initdb and pg_ctl found (set YRDX_PG_BIN)".to_owned())
    }

    fn command(&self, tool: &str) -> std::process::Command {
        let exe = self.bin.join(tool);
        match &self.run_as {
            None => std::process::Command::new(exe),
            Some(user) => {
                let mut c = std::process::Command::new("runuser");
                c.args(["-u", user, "--"]).arg(exe);
                c
            }
        }
    }

    fn run(&self, tool: &str, args: &[&str]) -> Result<(), String> {
        let out = self
            .command(tool)
            .args(args)
            .output()
            .map_err(|e| format!("{tool}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{tool} {args:?}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// initdb and start, or why not.
    fn create() -> Result<PrivatePostgres, String> {
        let bin = Self::find_bin()?;
        let uid = std::process::Command::new("id")
            .arg("-u")
            .output()
            .map_err(|e| format!("id -u: {e}"))?;
        let run_as = if String::from_utf8_lossy(&uid.stdout).trim() == "0" {
            let user = std::env::var("YRDX_PG_USER").unwrap_or_else(|_| "postgres".into());
            let exists = std::process::Command::new("id")
                .arg(&user)
                .output()
                .is_ok_and(|o| o.status.success());
            if !exists {
                return Err(format!(
                    "running as root and there is no user `{user}` to run PostgreSQL as (set YRDX_PG_USER)"
                ));
            }
            Some(user)
        } else {
            None
        };
        // Under the system temporary folder so that the PostgreSQL user can
        // reach it when the test runs as root; initdb creates it.
        let data =
            std::env::temp_dir().join(format!("yrdx-pg-{}-{}", std::process::id(), now_ms()));
        let pg = PrivatePostgres {
            bin,
            data,
            port: free_port(),
            run_as,
        };
        let data = pg.data.to_str().unwrap().to_owned();
        pg.run(
            "initdb",
            &["-D", &data, "-U", "postgres", "-A", "trust", "--no-sync"],
        )?;
        pg.start()?;
        Ok(pg)
    }

    fn start(&self) -> Result<(), String> {
        let data = self.data.to_str().unwrap();
        // fsync off: the test kills the server process, never the machine,
        // so committed data survives in the page cache either way.
        let options = format!(
            "-c listen_addresses=127.0.0.1 -c port={} -c unix_socket_directories={data} -c fsync=off",
            self.port
        );
        let log = self.data.join("server.log");
        self.run(
            "pg_ctl",
            &[
                "-D",
                data,
                "-o",
                &options,
                "-l",
                log.to_str().unwrap(),
                "-w",
                "start",
            ],
        )
    }

    /// Stops the server as a crash would (no shutdown checkpoint).
    fn stop_immediate(&self) -> Result<(), String> {
        self.run(
            "pg_ctl",
            &[
                "-D",
                self.data.to_str().unwrap(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
        )
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = self.stop_immediate();
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_store_outage_makes_nodes_unready_and_refuse_then_they_recover_losing_nothing() {
    // The shared server is only a precondition; this test never touches it.
    if postgres_server("cluster_outage").is_none() {
        return;
    }
    let pg = match PrivatePostgres::create() {
        Ok(pg) => pg,
        Err(why) => {
            skip(
                "cluster_outage",
                &format!("cannot run a private PostgreSQL: {why}"),
            );
            return;
        }
    };
    let _serial = SERIAL.lock().await;
    let url = fresh_postgres(&pg.url(), "cluster_outage").await.unwrap();
    let cluster = Cluster::start(&url, 3).await;
    cluster
        .reimport_list(|t| t.replace(DEMO_QUOTA, "quota = { per_day = 1000000 }"))
        .await;
    let load = Load::start(&cluster, JS, 6, 5);
    load.wait_answered(200, Duration::from_secs(30)).await;
    // The shared store goes away.
    cluster.store.close().await;
    pg.stop_immediate().unwrap();
    let down = Instant::now();
    eprintln!("store stopped after {} answers", load.answered());
    for node in &cluster.nodes {
        wait_until(
            &format!("{} to say not ready", node.name),
            Duration::from_secs(10).saturating_sub(down.elapsed()),
            async || match node.readyz().await {
                Some((200, _)) => false,
                Some((503, body)) => {
                    assert!(body.contains("store unreachable"), "{body}");
                    true
                }
                other => panic!("{}: /readyz {other:?}", node.name),
            },
        )
        .await;
    }
    let unready = down.elapsed();
    // Requests sent to each node now fail closed.
    let body = Bytes::from(serde_json::to_vec(&served_body()).unwrap());
    for node in &cluster.nodes {
        let mut conn = Connection::open(&node.exchange, cluster.tls(JS))
            .await
            .unwrap();
        let answer = conn.send("POST", SCJG, &[], body.clone()).await.unwrap();
        assert_eq!(answer.status, 503, "{}", node.name);
        assert_eq!(answer.json()["code"], "audit_unavailable", "{}", node.name);
    }
    let served_during = load
        .seen
        .lock()
        .unwrap()
        .answered
        .values()
        .filter(|a| a.at > down + Duration::from_millis(100) && a.status == 200)
        .count();
    assert_eq!(served_during, 0, "nothing served without the store");
    let outage_answers = load.answered();

    // The store comes back; the nodes recover by themselves.
    pg.start().unwrap();
    let up = Instant::now();
    let mut recovered = Duration::ZERO;
    for i in 0..cluster.nodes.len() {
        recovered = recovered.max(cluster.wait_ready(i, Duration::from_secs(60)).await);
    }
    let recovered = up.elapsed().max(recovered);
    let before_served = load
        .seen
        .lock()
        .unwrap()
        .answered
        .values()
        .filter(|a| a.status == 200)
        .count();
    let mut now_served = 0;
    let resumed = poll(Duration::from_secs(20), async || {
        now_served = load
            .seen
            .lock()
            .unwrap()
            .answered
            .values()
            .filter(|a| a.status == 200 && a.at > up)
            .count();
        (now_served >= 100).then_some(())
    })
    .await;
    assert!(
        resumed.is_some(),
        "load did not resume after recovery ({now_served} served)"
    );
    let seen = load.finish().await;
    let refused_closed = seen
        .answered
        .values()
        .filter(|a| a.code.as_deref() == Some("audit_unavailable"))
        .count();
    eprintln!(
        "outage: all nodes unready {unready:?} after the stop; {refused_closed} audit_unavailable; ready again {recovered:?} after the restart; {before_served} served before, {} answers in all ({outage_answers} by the end of the outage)",
        seen.answered.len()
    );

    let reopened = Store::open(&url, &StoreOptions::default()).await.unwrap();
    let cluster = Cluster {
        store: reopened,
        ..cluster
    };
    cluster.checkpoint_covering_everything().await;
    let export = cluster.export_and_verify(0, None).await;
    let checked = check_every_answer_logged(&seen, &export, &cluster);
    verify_with_receipts(&cluster, &seen, &export);
    eprintln!("outage: {checked} acknowledged answers all in the verified log");
    cluster.stop().await;
    drop(pg);
}
