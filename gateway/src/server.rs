//! Starting and stopping a node: load everything the configuration names, bind
//! the listeners, run the accept loops, and shut down gracefully.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use thiserror::Error;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;
use yrdx_registry::{AuditLog, CheckpointOptions, LogOptions, NodeClaim, Store, StoreOptions};
use yrdx_signing::Region;

use crate::config::Config;
use crate::identity::{self, Peer};
use crate::pipeline::audit;
use crate::problem::Problem;
use crate::state::App;
use crate::tls::{self, CrlState, TlsError};
use crate::upstream::Upstream;
use crate::{admin, api};
use crate::{cluster, registry_ops};

/// Why a node could not start.
#[derive(Debug, Error)]
pub enum StartError {
    /// The store could not be opened.
    #[error("store: {0}")]
    Store(#[from] yrdx_registry::StoreError),
    /// Registry files or the stored registry are unusable.
    #[error("registry: {0}")]
    Registry(#[from] yrdx_registry::RegistryError),
    /// Registry files, the stored registry or the mappings are unusable.
    #[error(transparent)]
    Snapshot(#[from] registry_ops::SnapshotError),
    /// The exchange log could not be opened.
    #[error("exchange log: {0}")]
    Log(#[from] yrdx_registry::LogError),
    /// The log's checkpoint key is unusable.
    #[error("log.key: {0}")]
    LogKey(#[from] crate::log_key::LogKeyError),
    /// A TLS file is unusable.
    #[error("tls: {0}")]
    Tls(#[from] TlsError),
    /// A seal trust file is unusable.
    #[error("seal trust: {0}")]
    SealTrust(#[from] crate::seals::SealTrustError),
    /// The log key is named for another log.
    #[error(
        "log.key: {path} is the key of log `{key}`, but `log.origin` is `{origin}`: use that log's key, or correct `log.origin`"
    )]
    KeyName {
        /// The key file.
        path: std::path::PathBuf,
        /// The key's name.
        key: String,
        /// The configured origin.
        origin: String,
    },
    /// A listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// A running node.
#[derive(Debug)]
pub struct RunningGateway {
    exchange_addr: SocketAddr,
    admin_addr: SocketAddr,
    app: Arc<App>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    /// The node name, held on the store until shutdown.
    claim: NodeClaim,
}

impl RunningGateway {
    /// Where the exchange API listens.
    pub fn exchange_addr(&self) -> SocketAddr {
        self.exchange_addr
    }

    /// Where the admin API listens.
    pub fn admin_addr(&self) -> SocketAddr {
        self.admin_addr
    }

    /// The node's shared state.
    pub fn app(&self) -> &Arc<App> {
        &self.app
    }

    /// Stops accepting, lets in-flight exchanges finish (up to `grace`), closes
    /// the store.
    pub async fn shutdown(self, grace: Duration) {
        let _ = self.shutdown.send(true);
        for t in self.tasks {
            let _ = tokio::time::timeout(grace, t).await;
        }
        // A last checkpoint covers every leaf appended, then the lease goes.
        // Spent quota calls are written back and unspent reservations returned.
        let _ = tokio::time::timeout(grace, self.app.quotas.close()).await;
        let _ = tokio::time::timeout(grace, self.app.log.stop_integrator()).await;
        self.app.store.close().await;
        self.claim.release().await;
    }
}

/// What a node loads from its configuration's files before it touches the
/// store: every key, certificate, trust file and the registry files to seed
/// with, each checked. [`prepare`] makes it; a configuration it refuses has
/// written nothing anywhere.
pub struct Prepared {
    seal_trust: yrdx_signing::TrustStore,
    bill_trust: yrdx_signing::BillTrust,
    signer: yrdx_signing::NoteSigner,
    server_tls: Arc<rustls::ServerConfig>,
    federation: Arc<crate::tls::Federation>,
    upstream: Upstream,
    /// The registry files read and checked with the mappings, to seed an
    /// empty store.
    seed: Option<(yrdx_registry::RegistryData, String)>,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("signer", &self.signer.name())
            .field("seed", &self.seed.as_ref().map(|(_, source)| source))
            .finish_non_exhaustive()
    }
}

/// Loads and checks everything the configuration names that is not the
/// store: seal trust, the log key (its name must be `log.origin`), the TLS
/// files, the upstream client and the registry files with the mappings.
pub fn prepare(config: &Config) -> Result<Prepared, StartError> {
    let seal_trust = crate::seals::load(&config.seal_trust)?;
    let bill_trust = crate::bills::load(&config.bill_trust)?;
    let signer = crate::log_key::load(&config.log.key)?;
    check_key_name(config, &signer)?;
    let (server_tls, federation) = tls::server(config)?;
    let upstream = Upstream::new(config)?;
    let seed = if config.registry.files.is_empty() {
        None
    } else {
        Some(registry_ops::read_checked(
            &config.registry.files,
            &config.adapters.dir,
        )?)
    };
    Ok(Prepared {
        seal_trust,
        bill_trust,
        signer,
        server_tls,
        federation,
        upstream,
        seed,
    })
}

/// The log key signs checkpoints in the log's name: its name must be
/// `log.origin`, checked here so that a mismatch is found before the store
/// is written.
pub fn check_key_name(
    config: &Config,
    signer: &yrdx_signing::NoteSigner,
) -> Result<(), StartError> {
    if signer.name() == config.log.origin {
        Ok(())
    } else {
        Err(StartError::KeyName {
            path: config.log.key.clone(),
            key: signer.name().to_owned(),
            origin: config.log.origin.clone(),
        })
    }
}

/// Loads everything and starts serving. The whole configuration is checked
/// ([`prepare`]) and the listeners bound before the store is opened; the node
/// name is claimed on the store before anything is written to it.
pub async fn start(config: Config) -> Result<RunningGateway, StartError> {
    let Prepared {
        seal_trust,
        bill_trust,
        signer,
        server_tls,
        federation,
        upstream,
        seed,
    } = prepare(&config)?;

    let exchange =
        listen(config.listen.exchange, config.limits.listen_backlog).map_err(|source| {
            StartError::Bind {
                addr: config.listen.exchange,
                source,
            }
        })?;
    let admin = TcpListener::bind(config.listen.admin)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.listen.admin,
            source,
        })?;
    let exchange_addr = exchange.local_addr().map_err(|source| StartError::Bind {
        addr: config.listen.exchange,
        source,
    })?;
    let admin_addr = admin.local_addr().map_err(|source| StartError::Bind {
        addr: config.listen.admin,
        source,
    })?;

    let store = Store::open(
        &config.store.url,
        &StoreOptions {
            max_connections: config.store.max_connections,
            acquire_timeout: config.store.acquire_timeout,
        },
    )
    .await?;
    let claim = store.claim_node(&config.node).await?;
    let now_ms = yrdx_registry::now_ms();

    // Registry: the configured files seed an empty store; after that, versions
    // come from `yrdx registry import` and reach this node by reload.
    if let Some((data, source)) = seed {
        match store.registry_versions().await?.last() {
            None => {
                let (version, _) = store
                    .import_registry(&data, &source, now_ms, now_ms)
                    .await?;
                tracing::info!(version, "registry files imported into an empty store");
            }
            Some(latest) if store.registry_version(latest.version).await? == data => {
                tracing::debug!(
                    version = latest.version,
                    "registry.files hold the latest stored version"
                );
            }
            Some(latest) => {
                tracing::warn!(
                    latest = latest.version,
                    "registry.files differ from the latest stored registry version and are not imported: registry.files only seed an empty store; put them in force with `yrdx registry import`"
                );
            }
        }
    }
    let live = cluster::live_before_joining(&store, &config.node, config.cluster.live_window).await;
    let snapshot =
        registry_ops::load_snapshot(&store, &config.adapters.dir, now_ms, None, live).await?;
    tracing::info!(
        version = snapshot.registry.version(),
        mappings = snapshot.mappings.len(),
        "registry loaded"
    );

    let log = AuditLog::open(
        store.clone(),
        &config.log.origin,
        config.log.hash,
        now_ms,
        LogOptions {
            max_batch: config.log.max_batch,
            checkpoints: Some(CheckpointOptions {
                signer: Arc::new(signer),
                interval: config.log.checkpoint_interval,
            }),
            ..LogOptions::default()
        },
    )
    .await?;

    let app = Arc::new(App::new(
        config,
        snapshot,
        log,
        store,
        upstream,
        federation,
        crate::state::DocumentTrust {
            seals: seal_trust,
            bills: bill_trust,
        },
    ));
    let (shutdown, stop) = watch::channel(false);
    let tasks = vec![
        tokio::spawn(accept_loop(
            app.clone(),
            exchange,
            TlsAcceptor::from(server_tls),
            stop.clone(),
        )),
        tokio::spawn(admin_loop(app.clone(), admin, stop.clone())),
        tokio::spawn(reload_loop(app.clone(), stop.clone())),
        tokio::spawn(crl_watch_loop(app.clone(), stop.clone())),
        tokio::spawn(crate::pipeline::request_ids::purge_loop(
            app.clone(),
            stop.clone(),
        )),
        tokio::spawn(cluster::heartbeat_loop(
            app.clone(),
            exchange_addr,
            admin_addr,
            stop,
        )),
    ];
    tracing::info!(%exchange_addr, %admin_addr, node = %app.config.node, "yrdx gateway listening");
    Ok(RunningGateway {
        exchange_addr,
        admin_addr,
        app,
        shutdown,
        tasks,
        claim,
    })
}

/// Binds `addr` with room for `backlog` connections the kernel has completed
/// and the accept loop not yet taken (the kernel caps it at
/// `net.core.somaxconn`). A SYN that finds the queue full is dropped and the
/// client waits out its retransmission, a second. Address reuse is on, as
/// for any listener bound the usual way.
fn listen(addr: SocketAddr, backlog: u32) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(backlog)
}

/// The HTTP layer's own head limits, as a multiple of `limits.max_header_bytes`
/// and `limits.max_headers`: heads between the configured limits and these
/// reach [`crate::route::head_limit`], which answers them in problem+json
/// and records them; beyond these the HTTP layer refuses them itself.
const BACKSTOP: usize = 2;

fn http_builder(app: &App) -> auto::Builder<TokioExecutor> {
    let limits = &app.config.limits;
    let head_bytes = limits.max_header_bytes.saturating_mul(BACKSTOP);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(head_bytes.max(8192))
        .max_headers(limits.max_headers.saturating_mul(BACKSTOP));
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.http2_max_concurrent_streams)
        .max_header_list_size(u32::try_from(head_bytes).unwrap_or(u32::MAX))
        .keep_alive_interval(Duration::from_secs(30));
    builder
}

async fn accept_loop(
    app: Arc<App>,
    listener: TcpListener,
    acceptor: TlsAcceptor,
    mut stop: watch::Receiver<bool>,
) {
    let builder = Arc::new(http_builder(&app));
    let router = api::router(app.clone());
    let graceful = GracefulShutdown::new();
    let connections = Arc::new(Semaphore::new(app.config.limits.max_connections));
    let handshake_timeout = app.config.tls.handshake_timeout;
    loop {
        let (tcp, _remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            tracing::warn!("connection limit reached; closing a new connection");
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let app = app.clone();
        let acceptor = acceptor.clone();
        let router = router.clone();
        let builder = builder.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _permit = permit;
            let tls = match tokio::time::timeout(handshake_timeout, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    if let Some(problem) = Problem::from_handshake(&e) {
                        tracing::info!(code = problem.code(), error = %e, "TLS handshake refused");
                        audit::tls_refusal(app, problem);
                    }
                    return;
                }
                Err(_) => return,
            };
            let peer = Arc::new(identity::identify(
                &app.federation,
                tls.get_ref().1.peer_certificates(),
            ));
            let consumer = match &*peer {
                Peer::Member { id, .. } => Some(id.clone()),
                _ => None,
            };
            let service =
                router.map_request(move |mut req: http::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert::<Arc<Peer>>(peer.clone());
                    req
                });
            let conn = builder.serve_connection_with_upgrades(
                TokioIo::new(tls),
                TowerToHyperService::new(service),
            );
            // A request the HTTP layer refused itself (head too large, too
            // many headers, malformed framing) never reached a route: it is
            // recorded here.
            if let Err(e) = watcher.watch(conn.into_owned()).await
                && let Some(problem) = Problem::from_connection(e.as_ref())
            {
                tracing::info!(code = problem.code(), error = %e, "request refused by the HTTP layer");
                audit::http_refusal(app, consumer, problem);
            }
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(Duration::from_secs(10), graceful.shutdown()).await;
}

/// How often the TLS CRLs' nextUpdate is compared with the clock.
const CRL_WATCH_INTERVAL: Duration = Duration::from_secs(60);

/// Watches each region's TLS CRLs against their nextUpdate: a log line when
/// a region's CRLs fall into the grace (warning) and when the grace ends
/// (error: the region's members are refused from then on), and the
/// `yrdx_tls_crl_state` metric. The refusal itself happens in the handshake.
async fn crl_watch_loop(app: Arc<App>, mut stop: watch::Receiver<bool>) {
    let mut known: BTreeMap<Region, CrlState> = BTreeMap::new();
    loop {
        let status = app.federation.crl_status(time::OffsetDateTime::now_utc());
        app.metrics.tls_crls(&status);
        for s in &status {
            let was = known.insert(s.region, s.state).unwrap_or(CrlState::Current);
            if was == s.state {
                continue;
            }
            let grace_hours = app.config.tls.crl_grace.as_secs() / 3600;
            match s.state {
                CrlState::Current => {}
                CrlState::InGrace => tracing::warn!(
                    region = s.region.code(),
                    next_update = %s.next_update,
                    grace_ends = %s.grace_ends,
                    grace_hours,
                    "TLS CRL past its nextUpdate: still used until the grace ends; install a fresh CRL and restart"
                ),
                CrlState::PastGrace => tracing::error!(
                    region = s.region.code(),
                    next_update = %s.next_update,
                    grace_ends = %s.grace_ends,
                    grace_hours,
                    "TLS CRL past its nextUpdate and the grace: the region's members are refused at the handshake (certificate_revocation_unknown) and /readyz answers 503"
                ),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(CRL_WATCH_INTERVAL) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Polls the store for a newer registry version and puts it in force. A
/// version that does not check (say, an entry without a mapping) is refused
/// once with an error in the log; the node keeps the version it has.
async fn reload_loop(app: Arc<App>, mut stop: watch::Receiver<bool>) {
    let mut refused: Option<i64> = None;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(app.config.registry.reload_interval) => {}
            _ = stop.changed() => return,
        }
        let now_ms = yrdx_registry::now_ms();
        let current = app.snapshot();
        let Ok(Some(version)) = app.store.registry_version_at(now_ms).await else {
            continue;
        };
        if version == current.registry.version() || refused == Some(version) {
            continue;
        }
        match registry_ops::load_snapshot(
            &app.store,
            &app.config.adapters.dir,
            now_ms,
            Some(&current),
            app.live_nodes(),
        )
        .await
        {
            Ok(snapshot) => {
                tracing::info!(
                    from = current.registry.version(),
                    to = snapshot.registry.version(),
                    "registry reloaded"
                );
                app.replace(snapshot);
                refused = None;
            }
            Err(e) => {
                tracing::error!(version, error = %e, "new registry version refused; keeping the one in force");
                refused = Some(version);
            }
        }
    }
}

async fn admin_loop(app: Arc<App>, listener: TcpListener, mut stop: watch::Receiver<bool>) {
    let router = admin::router(app);
    let serve = axum::serve(listener, router).with_graceful_shutdown(async move {
        let _ = stop.changed().await;
    });
    if let Err(e) = serve.await {
        tracing::error!(error = %e, "admin listener failed");
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code: a panic is a failing test")]

    use std::time::Duration;

    use super::listen;

    /// A burst of connections larger than the usual default backlog (128)
    /// completes its handshakes while nothing accepts them: none has its SYN
    /// dropped and waits out the one-second retransmission.
    #[tokio::test]
    async fn the_listener_queues_a_burst_of_connections() {
        let listener = listen("127.0.0.1:0".parse().unwrap(), 512).unwrap();
        let addr = listener.local_addr().unwrap();
        let mut connects = tokio::task::JoinSet::new();
        for _ in 0..300 {
            connects.spawn(tokio::time::timeout(
                Duration::from_millis(500),
                tokio::net::TcpStream::connect(addr),
            ));
        }
        // The streams stay open until all are counted.
        let results = connects.join_all().await;
        let completed = results.iter().filter(|r| matches!(r, Ok(Ok(_)))).count();
        assert_eq!(completed, 300, "connections queued without being accepted");
        drop(listener);
    }
}
