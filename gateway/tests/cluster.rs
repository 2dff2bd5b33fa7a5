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
//! server binaries); without them each says SKIPPED and why. The tests run
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

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use yrdx_conformance::client::Connection;
use yrdx_conformance::providers::RunningProvider;
use yrdx_gateway::cli::demo::{self, Demo, DemoOptions, Manifest};
use yrdx_registry::testing::{fresh_postgres, postgres_url};
use yrdx_registry::{Store, StoreOptions};
use yrdx_signing::{ExportOptions, Hash, Since, VerifierKey, open_checkpoint, verify_export};

mod common;
use common::{text, yrdx};

const JS: &str = "js:11320000014000118J:data";
const REGULATOR: &str = "sh:11310000MB1X47335F:audit";
const SCJG: &str = "/v1/exchange/YRD-SCJG-0001";
const ENTRY: &str = "RL-2026-00001";
const CHECK: &str = "市场主体登记核验";
const DEMO_QUOTA: &str =
    "quota = { per_second = 20, burst = 40, per_day = 10000, per_month = 200000 }";
/// The stated bound for another node to take the integrator role over.
const TAKEOVER_BOUND: Duration = Duration::from_secs(5);

/// One test at a time: three clusters of three nodes on two cores would
/// measure the machine, not the gateway.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn served_body() -> Value {
    json!({"key": {"uscc": "91330106MA27Y9KE3E"}, "purpose": CHECK})
}

fn refused_body() -> Value {
    json!({"key": {"uscc": "91330106MA27Y9KE3E"}, "purpose": "商业营销"})
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn now_ms() -> i64 {
    i64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap()
}

/// One `yrdx serve` child process.
struct Node {
    name: String,
    exchange: String,
    admin: String,
    config: PathBuf,
    log: PathBuf,
    child: Option<tokio::process::Child>,
}

impl Node {
    async fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_yrdx"))
            .arg("serve")
            .arg("--config")
            .arg(&self.config)
            .env("YRDX_LOG", "warn,yrdx_gateway=info,yrdx_registry=info")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    async fn kill(&mut self) {
        let mut child = self.child.take().unwrap();
        child.start_kill().unwrap();
        let status = child.wait().await.unwrap();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(9),
            "{}: killed by SIGKILL",
            self.name
        );
    }

    /// `/readyz` as (status, body); `None` if the admin port does not answer.
    async fn readyz(&self) -> Option<(u16, String)> {
        let get = async {
            let mut tcp = tokio::net::TcpStream::connect(&self.admin).await.ok()?;
            tcp.write_all(b"GET /readyz HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n")
                .await
                .ok()?;
            let mut buf = Vec::new();
            tcp.read_to_end(&mut buf).await.ok()?;
            let text = String::from_utf8_lossy(&buf).into_owned();
            let status = text.split(' ').nth(1)?.parse().ok()?;
            let body = text.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
            Some((status, body))
        };
        tokio::time::timeout(Duration::from_secs(4), get)
            .await
            .ok()
            .flatten()
    }

    async fn is_integrator(&self) -> bool {
        matches!(self.readyz().await, Some((200, body)) if body.contains("integrator yes"))
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

/// The demo federation's files and providers, with several nodes on them.
struct Cluster {
    dir: tempfile::TempDir,
    _providers: Vec<RunningProvider>,
    manifest: Manifest,
    store: Store,
    key: VerifierKey,
    nodes: Vec<Node>,
}

impl Cluster {
    /// The demo federation on `store_url`, its gateway stopped, and `n`
    /// nodes started from its configuration.
    async fn start(store_url: &str, n: usize) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let Demo {
            gateway,
            providers,
            manifest,
            ..
        } = demo::start(&DemoOptions {
            dir: dir.path().to_owned(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            store_url: Some(store_url.to_owned()),
            provider_port_base: None,
        })
        .await
        .unwrap();
        gateway.shutdown(Duration::from_secs(5)).await;
        let key = VerifierKey::parse(
            std::fs::read_to_string(dir.path().join("log.pub"))
                .unwrap()
                .trim(),
        )
        .unwrap();
        let base = std::fs::read_to_string(dir.path().join("yrdx.toml")).unwrap();
        let mut nodes = Vec::new();
        for i in 1..=n {
            let name = format!("node-{i}");
            let exchange = format!("127.0.0.1:{}", free_port());
            let admin = format!("127.0.0.1:{}", free_port());
            // Same configuration but for the node's name and addresses; a
            // short store timeout so an outage is noticed quickly.
            let text = base
                .replace("node = \"demo-1\"", &format!("node = \"{name}\""))
                .replace(
                    "exchange = \"127.0.0.1:0\"",
                    &format!("exchange = \"{exchange}\""),
                )
                .replace("admin = \"127.0.0.1:0\"", &format!("admin = \"{admin}\""))
                .replace(
                    "[store]\n",
                    "[store]\nacquire_timeout_ms = 1000\nmax_connections = 8\n",
                );
            assert!(text.contains(&exchange) && text.contains(&admin) && text.contains(&name));
            let config = dir.path().join(format!("{name}.toml"));
            std::fs::write(&config, text).unwrap();
            nodes.push(Node {
                log: dir.path().join(format!("{name}.log")),
                name,
                exchange,
                admin,
                config,
                child: None,
            });
        }
        let store = Store::open(store_url, &StoreOptions::default())
            .await
            .unwrap();
        let mut cluster = Cluster {
            dir,
            _providers: providers,
            manifest,
            store,
            key,
            nodes,
        };
        for node in &mut cluster.nodes {
            node.spawn().await;
        }
        for i in 0..n {
            cluster.wait_ready(i, Duration::from_secs(60)).await;
        }
        cluster
    }

    async fn wait_ready(&self, i: usize, within: Duration) -> Duration {
        let started = Instant::now();
        while started.elapsed() < within {
            if let Some((200, _)) = self.nodes[i].readyz().await {
                return started.elapsed();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "{} not ready within {within:?}; its log:\n{}",
            self.nodes[i].name,
            self.nodes[i].log_tail()
        );
    }

    fn tls(&self, member: &str) -> Arc<rustls::ClientConfig> {
        let f = &self.manifest.members[member];
        yrdx_conformance::client::tls_config(
            &self.manifest.ca_bundle,
            Some((f.cert.as_path(), f.key.as_path())),
        )
        .unwrap()
    }

    fn addrs(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.exchange.clone()).collect()
    }

    /// Imports the demo registry with `edit` applied to the list as a new
    /// version in force now; returns it and how long until every running
    /// node served it (its `/readyz` names it).
    async fn reimport_list(&self, edit: impl Fn(String) -> String) -> (i64, Duration) {
        let dir = self.dir.path().join("registry");
        let text = edit(std::fs::read_to_string(dir.join("responsibility-list.toml")).unwrap());
        let versions = self.store.registry_versions().await.unwrap().len();
        let edited = dir.join(format!("list-{}.toml", versions + 1));
        std::fs::write(&edited, text).unwrap();
        let files = vec![dir.join("members.toml"), dir.join("catalogue.toml"), edited];
        let now = now_ms();
        let (version, created) = yrdx_gateway::registry_ops::import(
            &self.store,
            &files,
            &self.dir.path().join("adapters"),
            now,
            now,
        )
        .await
        .unwrap();
        assert!(created);
        let imported = Instant::now();
        let want = format!("registry version {version},");
        for node in self.nodes.iter().filter(|n| n.child.is_some()) {
            loop {
                if let Some((200, body)) = node.readyz().await
                    && body.contains(&want)
                {
                    break;
                }
                assert!(
                    imported.elapsed() < Duration::from_secs(10),
                    "{}: version {version} not picked up",
                    node.name
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        (version, imported.elapsed())
    }

    /// Waits for a checkpoint covering every leaf in the store; returns it.
    async fn checkpoint_covering_everything(&self) -> (u64, String) {
        for _ in 0..200 {
            let size = self.store.log_size().await.unwrap();
            if let Some(cp) = self.store.latest_checkpoint().await.unwrap()
                && cp.size.get() == size
            {
                return (size, cp.note);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no checkpoint covers the whole log");
    }

    /// Exports the whole log with the real binary through `via`'s
    /// configuration and verifies it with `yrdx audit verify`, from
    /// `since` if given; returns the export's bytes.
    async fn export_and_verify(&self, via: usize, since: Option<&str>) -> Vec<u8> {
        let export = self.dir.path().join("audit.jsonl");
        let out = yrdx(&[
            "audit",
            "export",
            "--config",
            self.nodes[via].config.to_str().unwrap(),
            "--out",
            export.to_str().unwrap(),
        ])
        .await;
        assert!(out.status.success(), "{}", text(&out));
        let key = self.dir.path().join("log.pub");
        let mut args = vec![
            "audit".to_owned(),
            "verify".to_owned(),
            export.to_str().unwrap().to_owned(),
            "--key".to_owned(),
            key.to_str().unwrap().to_owned(),
        ];
        if let Some(note) = since {
            let path = self.dir.path().join("since.checkpoint");
            std::fs::write(&path, note).unwrap();
            args.push("--since-checkpoint".into());
            args.push(path.to_str().unwrap().to_owned());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = yrdx(&args).await;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        std::fs::read(&export).unwrap()
    }

    async fn stop(mut self) {
        for node in &mut self.nodes {
            if let Some(mut child) = node.child.take() {
                let _ = child.start_kill();
                let _ = child.wait().await;
            }
        }
        self.store.close().await;
    }
}

/// One answered request.
#[derive(Clone, Debug)]
struct Answered {
    node: usize,
    status: u16,
    code: Option<String>,
    // The receipt's leaf index and hash, when served.
    receipt: Option<(u64, String)>,
    at: Instant,
}

/// What a load saw.
#[derive(Default)]
struct Seen {
    answered: HashMap<String, Answered>,
    checkpoints: Vec<String>,
    errors: usize,
}

/// Drives exchanges from `workers` connections until `stop`, worker `w`
/// starting on node `w mod n` and moving to the next node when its
/// connection fails — a TCP load balancer's behaviour. One request in
/// `refuse_every` is refused by the list (0: none).
fn load(
    addrs: Vec<String>,
    tls: Arc<rustls::ClientConfig>,
    workers: usize,
    refuse_every: usize,
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Seen>>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let served = Bytes::from(serde_json::to_vec(&served_body()).unwrap());
    let refused = Bytes::from(serde_json::to_vec(&refused_body()).unwrap());
    (0..workers)
        .map(|w| {
            let (addrs, tls, stop, seen) = (addrs.clone(), tls.clone(), stop.clone(), seen.clone());
            let (served, refused) = (served.clone(), refused.clone());
            tokio::spawn(async move {
                let mut node = w % addrs.len();
                let mut conn: Option<Connection> = None;
                let mut i = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    let c = match conn.as_mut() {
                        Some(c) => c,
                        None => match Connection::open(&addrs[node], tls.clone()).await {
                            Ok(c) => conn.insert(c),
                            Err(_) => {
                                node = (node + 1) % addrs.len();
                                tokio::time::sleep(Duration::from_millis(20)).await;
                                continue;
                            }
                        },
                    };
                    i += 1;
                    let body = if refuse_every > 0 && (i + w).is_multiple_of(refuse_every) {
                        refused.clone()
                    } else {
                        served.clone()
                    };
                    let id = uuid::Uuid::now_v7().to_string();
                    match c
                        .send("POST", SCJG, &[("yrdx-request-id", &id)], body)
                        .await
                    {
                        Ok(answer) => {
                            let v = answer.json();
                            let receipt = (answer.status == 200).then(|| {
                                (
                                    v["receipt"]["leaf_index"].as_u64().unwrap(),
                                    v["receipt"]["leaf_hash"].as_str().unwrap().to_owned(),
                                )
                            });
                            seen.lock().unwrap().answered.insert(
                                id,
                                Answered {
                                    node,
                                    status: answer.status,
                                    code: v["code"].as_str().map(str::to_owned),
                                    receipt,
                                    at: Instant::now(),
                                },
                            );
                        }
                        Err(_) => {
                            // Not answered: no promise either way.
                            seen.lock().unwrap().errors += 1;
                            conn = None;
                            node = (node + 1) % addrs.len();
                        }
                    }
                }
            })
        })
        .collect()
}

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
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
}

/// A leaf as found in an export: index, status, node, and how many leaves
/// carry the same request id.
type Found = (u64, u64, String, usize);

/// The export's leaves by request id, and how many leaves it holds.
fn leaves_by_request(export: &[u8]) -> (HashMap<String, Found>, u64) {
    let mut out: HashMap<String, Found> = HashMap::new();
    let mut total = 0;
    for line in export
        .split(|b| *b == b'\n')
        .skip(1)
        .filter(|l| !l.is_empty())
    {
        let entry: Value = serde_json::from_slice(line).unwrap();
        let leaf = base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            entry["leaf"].as_str().unwrap(),
        )
        .unwrap();
        let record: Value = serde_json::from_slice(&leaf).unwrap();
        let slot = out
            .entry(record["request_id"].as_str().unwrap().to_owned())
            .or_insert((
                entry["index"].as_u64().unwrap(),
                record["status"].as_u64().unwrap(),
                record["node"].as_str().unwrap().to_owned(),
                0,
            ));
        slot.3 += 1;
        total += 1;
    }
    (out, total)
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

fn hex_decode(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

/// Verifies `export` with every receipt as a trusted leaf and every
/// checkpoint seen as an earlier one, from the first seen.
fn verify_with_receipts(cluster: &Cluster, seen: &Seen, export: &[u8]) {
    let trusted: BTreeMap<u64, Hash> = seen
        .answered
        .values()
        .filter_map(|a| a.receipt.as_ref())
        .map(|(i, h)| (*i, Hash::from_slice(&hex_decode(h)).unwrap()))
        .collect();
    let options = ExportOptions {
        trusted_leaves: trusted.clone(),
        checkpoints: seen
            .checkpoints
            .iter()
            .map(|c| c.clone().into_bytes())
            .collect(),
        since: seen.checkpoints.first().map(|c| Since {
            checkpoint: c.clone().into_bytes(),
            proof: Vec::new(),
        }),
    };
    let report = verify_export(export, &cluster.key, &options).unwrap();
    assert!(report.is_valid(), "{report:?}");
    assert_eq!(report.trusted_leaves_checked, trusted.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn load_over_three_nodes_keeps_quotas_exact_rates_shared_and_one_leaf_per_answer() {
    let Some(server) = postgres_url("cluster_load") else {
        return;
    };
    let _serial = SERIAL.lock().await;
    let url = fresh_postgres(&server, "cluster_load").await.unwrap();
    let cluster = Cluster::start(&url, 3).await;
    let tls = cluster.tls(JS);
    // Each node counts the others within a heartbeat or two.
    let started = Instant::now();
    for node in &cluster.nodes {
        loop {
            let (status, body) = node.readyz().await.unwrap();
            assert_eq!(status, 200);
            if body.contains("live nodes 3") {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "{}: {body}",
                node.name
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
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
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Seen::default()));
    let started = Instant::now();
    let tasks = load(
        cluster.addrs(),
        tls.clone(),
        12,
        10,
        stop.clone(),
        seen.clone(),
    );
    while seen.lock().unwrap().answered.len() < 400 {
        assert!(started.elapsed() < Duration::from_secs(30), "load too slow");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    let took = started.elapsed();
    let quota_seen = std::mem::take(&mut *seen.lock().unwrap());
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
    // Let the limiters of the new version start full, then measure.
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Seen::default()));
    let started = Instant::now();
    let tasks = load(
        cluster.addrs(),
        tls.clone(),
        12,
        0,
        stop.clone(),
        seen.clone(),
    );
    tokio::time::sleep(Duration::from_secs(4)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    let window = started.elapsed().as_secs_f64();
    let rate_seen = std::mem::take(&mut *seen.lock().unwrap());
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
    let Some(server) = postgres_url("cluster_takeover") else {
        return;
    };
    let _serial = SERIAL.lock().await;
    let url = fresh_postgres(&server, "cluster_takeover").await.unwrap();
    let mut cluster = Cluster::start(&url, 3).await;
    cluster
        .reimport_list(|t| t.replace(DEMO_QUOTA, "quota = { per_day = 1000000 }"))
        .await;
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Seen::default()));
    let mut tasks = load(
        cluster.addrs(),
        cluster.tls(JS),
        9,
        5,
        stop.clone(),
        seen.clone(),
    );
    tasks.push(watch_checkpoints(
        cluster.addrs(),
        cluster.tls(REGULATOR),
        stop.clone(),
        seen.clone(),
    ));
    let started = Instant::now();
    loop {
        {
            let s = seen.lock().unwrap();
            if s.answered.len() >= 300 && s.checkpoints.len() >= 3 {
                break;
            }
        }
        assert!(started.elapsed() < Duration::from_secs(30), "load too slow");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
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
    while killed.elapsed() < Duration::from_secs(15) && (takeover.is_none() || resumed.is_none()) {
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
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
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
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    let seen = std::mem::take(&mut *seen.lock().unwrap());
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
    if postgres_url("cluster_outage").is_none() {
        return;
    }
    let pg = match PrivatePostgres::create() {
        Ok(pg) => pg,
        Err(why) => {
            eprintln!("SKIPPED (cluster_outage): cannot run a private PostgreSQL: {why}");
            return;
        }
    };
    let _serial = SERIAL.lock().await;
    let url = fresh_postgres(&pg.url(), "cluster_outage").await.unwrap();
    let cluster = Cluster::start(&url, 3).await;
    cluster
        .reimport_list(|t| t.replace(DEMO_QUOTA, "quota = { per_day = 1000000 }"))
        .await;
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Seen::default()));
    let tasks = load(
        cluster.addrs(),
        cluster.tls(JS),
        6,
        5,
        stop.clone(),
        seen.clone(),
    );
    let started = Instant::now();
    while seen.lock().unwrap().answered.len() < 200 {
        assert!(started.elapsed() < Duration::from_secs(30), "load too slow");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The shared store goes away.
    cluster.store.close().await;
    pg.stop_immediate().unwrap();
    let down = Instant::now();
    eprintln!(
        "store stopped after {} answers",
        seen.lock().unwrap().answered.len()
    );
    for node in &cluster.nodes {
        loop {
            match node.readyz().await {
                Some((200, _)) => {}
                Some((503, body)) => {
                    assert!(body.contains("store unreachable"), "{body}");
                    break;
                }
                other => panic!("{}: /readyz {other:?}", node.name),
            }
            assert!(
                down.elapsed() < Duration::from_secs(10),
                "{} still ready",
                node.name
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
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
    let served_during = seen
        .lock()
        .unwrap()
        .answered
        .values()
        .filter(|a| a.at > down + Duration::from_millis(100) && a.status == 200)
        .count();
    assert_eq!(served_during, 0, "nothing served without the store");
    let outage_answers = seen.lock().unwrap().answered.len();

    // The store comes back; the nodes recover by themselves.
    pg.start().unwrap();
    let up = Instant::now();
    let mut recovered = Duration::ZERO;
    for i in 0..cluster.nodes.len() {
        recovered = recovered.max(cluster.wait_ready(i, Duration::from_secs(60)).await);
    }
    let recovered = up.elapsed().max(recovered);
    let before_served = seen
        .lock()
        .unwrap()
        .answered
        .values()
        .filter(|a| a.status == 200)
        .count();
    let wait = Instant::now();
    loop {
        let now_served = seen
            .lock()
            .unwrap()
            .answered
            .values()
            .filter(|a| a.status == 200 && a.at > up)
            .count();
        if now_served >= 100 {
            break;
        }
        assert!(
            wait.elapsed() < Duration::from_secs(20),
            "load did not resume after recovery ({now_served} served)"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    let seen = std::mem::take(&mut *seen.lock().unwrap());
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

/// Capacity figures for docs/operations.md (ignored: it measures, it does
/// not check). Run with
/// `cargo test -p yrdx-gateway --test cluster measure -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "a measurement, not a check"]
async fn measure_throughput_per_node_and_store_writes() {
    let Some(server) = postgres_url("cluster_measure") else {
        return;
    };
    let _serial = SERIAL.lock().await;
    let secs = 5;
    for n in [1, 3] {
        let url = fresh_postgres(&server, "cluster_measure").await.unwrap();
        let cluster = Cluster::start(&url, n).await;
        cluster
            .reimport_list(|t| t.replace(DEMO_QUOTA, "quota = { per_day = 100000000 }"))
            .await;
        for workers in [16, 64] {
            let stop = Arc::new(AtomicBool::new(false));
            let seen = Arc::new(Mutex::new(Seen::default()));
            let tasks = load(
                cluster.addrs(),
                cluster.tls(JS),
                workers,
                0,
                stop.clone(),
                seen.clone(),
            );
            tokio::time::sleep(Duration::from_secs(1)).await;
            let warm = seen.lock().unwrap().answered.len();
            let started = Instant::now();
            tokio::time::sleep(Duration::from_secs(secs)).await;
            let done = seen.lock().unwrap().answered.len();
            let took = started.elapsed().as_secs_f64();
            stop.store(true, Ordering::Relaxed);
            for t in tasks {
                t.await.unwrap();
            }
            let s = seen.lock().unwrap();
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
                    let stop = Arc::new(AtomicBool::new(false));
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
