//! A cluster of `yrdx serve` child processes on one store, built from the
//! demo federation, and a load of real mTLS clients spread over them: used by
//! `tests/cluster.rs` and by the `cluster_throughput` benchmark.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use yrdx_conformance::client::Connection;
use yrdx_conformance::providers::RunningProvider;
use yrdx_gateway::cli::demo::{Demo, Manifest};
use yrdx_registry::{Store, StoreOptions};
use yrdx_signing::VerifierKey;

use super::{
    SCJG, export_log, now_ms, path, poll, refused_body, served_body, text, verify_log, wait_for,
    wait_until,
};

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `/readyz` of the admin port at `admin` as (status, body); `None` if it
/// does not answer within 4 s.
pub async fn readyz(admin: &str) -> Option<(u16, String)> {
    let get = async {
        let mut tcp = tokio::net::TcpStream::connect(admin).await.ok()?;
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

/// One `yrdx serve` child process.
pub struct Node {
    pub name: String,
    pub exchange: String,
    pub admin: String,
    pub config: PathBuf,
    pub log: PathBuf,
    pub child: Option<tokio::process::Child>,
}

impl Node {
    pub async fn spawn(&mut self) {
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

    pub async fn kill(&mut self) {
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
    pub async fn readyz(&self) -> Option<(u16, String)> {
        readyz(&self.admin).await
    }

    pub async fn is_integrator(&self) -> bool {
        matches!(self.readyz().await, Some((200, body)) if body.contains("integrator yes"))
    }

    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

/// The demo federation's files and providers, with several nodes on them.
pub struct Cluster {
    pub dir: tempfile::TempDir,
    pub providers: Vec<RunningProvider>,
    pub manifest: Manifest,
    pub store: Store,
    pub key: VerifierKey,
    pub nodes: Vec<Node>,
}

impl Cluster {
    /// The demo federation on `store_url`, its gateway stopped, and `n`
    /// nodes started from its configuration.
    pub async fn start(store_url: &str, n: usize) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let Demo {
            gateway,
            providers,
            manifest,
            ..
        } = super::start_demo(dir.path(), Some(store_url.to_owned())).await;
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
            providers,
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

    /// Waits until node `i`'s `/readyz` says ready; returns how long that took.
    pub async fn wait_ready(&self, i: usize, within: Duration) -> Duration {
        let started = Instant::now();
        let ready = poll(within, async || {
            matches!(self.nodes[i].readyz().await, Some((200, _))).then_some(())
        })
        .await;
        if ready.is_some() {
            return started.elapsed();
        }
        panic!(
            "{} not ready within {within:?}; its log:\n{}",
            self.nodes[i].name,
            self.nodes[i].log_tail()
        );
    }

    pub fn tls(&self, member: &str) -> Arc<rustls::ClientConfig> {
        let f = &self.manifest.members[member];
        yrdx_conformance::client::tls_config(
            &self.manifest.ca_bundle,
            Some((f.cert.as_path(), f.key.as_path())),
        )
        .unwrap()
    }

    pub fn addrs(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.exchange.clone()).collect()
    }

    /// Imports the demo registry with `edit` applied to the list as a new
    /// version in force now; returns it and how long until every running
    /// node served it (its `/readyz` names it).
    pub async fn reimport_list(&self, edit: impl Fn(String) -> String) -> (i64, Duration) {
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
            wait_until(
                &format!("{}: version {version} picked up", node.name),
                Duration::from_secs(10).saturating_sub(imported.elapsed()),
                async || matches!(node.readyz().await, Some((200, body)) if body.contains(&want)),
            )
            .await;
        }
        (version, imported.elapsed())
    }

    /// Waits for a checkpoint covering every leaf in the store; returns it.
    pub async fn checkpoint_covering_everything(&self) -> (u64, String) {
        wait_for(
            "a checkpoint covering the whole log",
            Duration::from_secs(10),
            async || {
                let size = self.store.log_size().await.unwrap();
                let cp = self.store.latest_checkpoint().await.unwrap()?;
                (cp.size.get() == size).then_some((size, cp.note))
            },
        )
        .await
    }

    /// Exports the whole log with the real binary through `via`'s
    /// configuration and verifies it with `yrdx audit verify`, from
    /// `since` if given; returns the export's bytes.
    pub async fn export_and_verify(&self, via: usize, since: Option<&str>) -> Vec<u8> {
        let export = self.dir.path().join("audit.jsonl");
        let node = &self.nodes[via];
        export_log(&node.config, &export, &[], &node.name).await;
        let key = self.dir.path().join("log.pub");
        let since_file = self.dir.path().join("since.checkpoint");
        let mut extra = Vec::new();
        if let Some(note) = since {
            std::fs::write(&since_file, note).unwrap();
            extra.extend(["--since-checkpoint", path(&since_file)]);
        }
        let out = verify_log(&export, path(&key), &extra).await;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        std::fs::read(&export).unwrap()
    }

    pub async fn stop(mut self) {
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
pub struct Answered {
    pub node: usize,
    pub status: u16,
    pub code: Option<String>,
    // The receipt's leaf index and hash, when served.
    pub receipt: Option<(u64, String)>,
    pub at: Instant,
}

/// What a load saw.
#[derive(Default)]
pub struct Seen {
    pub answered: HashMap<String, Answered>,
    pub checkpoints: Vec<String>,
    pub errors: usize,
}

/// Drives exchanges from `workers` connections until `stop`, worker `w`
/// starting on node `w mod n` and moving to the next node when its
/// connection fails — a TCP load balancer's behaviour. One request in
/// `refuse_every` is refused by the list (0: none).
pub fn load(
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
                                // A load balancer's back-off before the next node.
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

/// A [`load`] running on a cluster, and what it saw so far.
pub struct Load {
    /// Set to end the load.
    pub stop: Arc<AtomicBool>,
    /// What the clients saw.
    pub seen: Arc<Mutex<Seen>>,
    /// The clients (and any watcher added).
    pub tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    /// Starts `workers` clients of `member` on `cluster`'s nodes; one request
    /// in `refuse_every` is refused by the list (0: none).
    pub fn start(cluster: &Cluster, member: &str, workers: usize, refuse_every: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Seen::default()));
        let tasks = load(
            cluster.addrs(),
            cluster.tls(member),
            workers,
            refuse_every,
            stop.clone(),
            seen.clone(),
        );
        Load { stop, seen, tasks }
    }

    /// How many requests were answered so far.
    pub fn answered(&self) -> usize {
        self.seen.lock().unwrap().answered.len()
    }

    /// Waits until at least `n` requests were answered, for at most `within`.
    pub async fn wait_answered(&self, n: usize, within: Duration) {
        wait_until(
            &format!("{n} answered requests (load too slow)"),
            within,
            async || self.answered() >= n,
        )
        .await;
    }

    /// Stops the clients, waits for them, and returns what they saw.
    pub async fn finish(self) -> Seen {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.tasks {
            t.await.unwrap();
        }
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}
