//! `yrdx.toml`: one file per node. Parsed first and checked whole (every key
//! known, every file present, every value in range) before anything is built
//! from it; an error names the key and what was expected. Relative paths are
//! relative to the file's own folder. `docs/configuration.md` lists every key.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use thiserror::Error;
use yrdx_signing::{HashAlg, Region};

/// A configuration that cannot be used.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Not TOML of the expected shape (unknown key, wrong type…).
    #[error("{path}: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's message with line, column and key.
        message: String,
    },
    /// A value is out of range or refers to something missing.
    #[error("{path}: `{key}`: {problem}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The key, e.g. `tls.cert` or `trust.gd`.
        key: String,
        /// What was expected.
        problem: String,
    },
}

/// A node's configuration, checked.
#[derive(Clone, Debug)]
pub struct Config {
    /// The file it came from.
    pub source: PathBuf,
    /// The node's name in exchange records and in the store's node table.
    pub node: String,
    /// How this node takes part in a cluster of nodes on one store.
    pub cluster: ClusterConfig,
    /// Listen addresses.
    pub listen: Listen,
    /// The exchange listener's certificate.
    pub tls: Tls,
    /// Client-certificate trust: CA bundle and CRLs per region.
    pub trust: BTreeMap<Region, Trust>,
    /// Seal trust: the electronic-seal PKI per region, apart from TLS trust.
    pub seal_trust: BTreeMap<Region, SealTrust>,
    /// Bill trust: the electronic-bill PKI per issuing region (docs/ebills.md).
    pub bill_trust: BTreeMap<Region, BillTrustFiles>,
    /// Calls to providers.
    pub upstream: Upstream,
    /// The store.
    pub store: StoreConfig,
    /// The exchange log.
    pub log: LogConfig,
    /// Registry files imported at start.
    pub registry: RegistryConfig,
    /// Mapping files.
    pub adapters: AdaptersConfig,
    /// Request and connection limits.
    pub limits: Limits,
    /// How the node reserves period-quota calls.
    pub quota: QuotaConfig,
    /// `[verify]`: document verification's share of the node.
    pub verify: VerifyConfig,
}

/// How the node reserves period-quota calls from the store's counters: a
/// reservation is sized to last about a second at the pace the node spends
/// it, within these bounds. A node that crashes may cost a consumer up to
/// its reservation (counted as spent once it lapses), never a call too many.
#[derive(Clone, Copy, Debug)]
pub struct QuotaConfig {
    /// Fewest calls a reservation is sized for.
    pub min_reservation: u64,
    /// Most calls a reservation holds; 0 decides every call in the store.
    pub max_reservation: u64,
}

/// Listen addresses.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Listen {
    /// The mutually authenticated exchange API.
    pub exchange: SocketAddr,
    /// The plain-HTTP admin API (`/healthz`, `/readyz`); keep it on loopback.
    #[serde(default = "default_admin")]
    pub admin: SocketAddr,
}

/// The exchange listener's certificate.
#[derive(Clone, Debug)]
pub struct Tls {
    /// Certificate chain (PEM).
    pub cert: PathBuf,
    /// Private key (PEM).
    pub key: PathBuf,
    /// How long a TLS handshake may take.
    pub handshake_timeout: Duration,
    /// How long a region's client-certificate CRLs are still used past their
    /// nextUpdate; after it the region's members are refused.
    pub crl_grace: Duration,
}

/// One region's trust.
#[derive(Clone, Debug)]
pub struct Trust {
    /// The region's CA certificates (PEM).
    pub ca: PathBuf,
    /// The region's CRLs (PEM or DER).
    pub crls: Vec<PathBuf>,
}

/// One region's seal trust: the anchors its seals and licence signers chain
/// to. Loaded into a [`yrdx_signing::TrustStore`] at start
/// ([`crate::seals::load`]).
#[derive(Clone, Debug)]
pub struct SealTrust {
    /// Seal root CA certificates (PEM or DER), trusted for this region only.
    pub anchors: Vec<PathBuf>,
    /// Issuing CA certificates (PEM or DER), trusted only if they chain.
    pub intermediates: Vec<PathBuf>,
    /// CRLs (PEM or DER).
    pub crls: Vec<PathBuf>,
    /// Timestamp-authority anchors (PEM or DER) for this region.
    pub tsa_anchors: Vec<PathBuf>,
    /// Without a usable CRL for every issuer, a chain is indeterminate.
    pub require_crls: bool,
}

/// One region's bill trust: the roots bill certificates chain to, and the
/// signing certificates bills name by issuer and serial (bills do not carry
/// them). Loaded into a [`yrdx_signing::BillTrust`] at start
/// ([`crate::bills::load`]).
#[derive(Clone, Debug)]
pub struct BillTrustFiles {
    /// Root CA certificates of the region's bill certificates (PEM or DER).
    pub anchors: Vec<PathBuf>,
    /// Issuing CA certificates (PEM or DER), trusted only if they chain.
    pub intermediates: Vec<PathBuf>,
    /// The signing certificates: issuing units', finance departments',
    /// tax bureaus' (PEM or DER).
    pub certificates: Vec<PathBuf>,
    /// CRLs (PEM or DER).
    pub crls: Vec<PathBuf>,
    /// Without a usable CRL for every issuer, a chain is indeterminate.
    pub require_crls: bool,
}

/// Calls to providers.
#[derive(Clone, Debug)]
pub struct Upstream {
    /// The gateway's client certificate (PEM).
    pub cert: PathBuf,
    /// Its key (PEM).
    pub key: PathBuf,
    /// CAs that providers' server certificates chain to (PEM).
    pub ca: PathBuf,
    /// TCP and TLS connect timeout.
    pub connect_timeout: Duration,
    /// Largest provider response accepted.
    pub max_response_bytes: usize,
    /// How long an idle pooled connection is kept.
    pub pool_idle_timeout: Duration,
    /// Idle pooled connections kept per provider.
    pub pool_max_idle_per_host: usize,
    /// Offer HTTP/2 to providers (one multiplexed connection each) as well
    /// as HTTP/1.1 (a pooled connection per call in flight).
    pub http2: bool,
}

/// Liveness between the nodes that share a store.
#[derive(Clone, Debug)]
pub struct ClusterConfig {
    /// How often the node records its heartbeat in the store.
    pub heartbeat_interval: Duration,
    /// A node whose last heartbeat is older than this counts as gone.
    pub live_window: Duration,
}

/// The store.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// `sqlite:PATH` or `postgres://…`; a relative SQLite path is resolved
    /// against the configuration file's folder.
    pub url: String,
    /// Pool size.
    pub max_connections: u32,
    /// How long to wait for a connection.
    pub acquire_timeout: Duration,
}

/// The exchange log.
#[derive(Clone, Debug)]
pub struct LogConfig {
    /// The log's origin line, its name in checkpoints.
    pub origin: String,
    /// Hash algorithm, fixed when the log is created.
    pub hash: HashAlg,
    /// Most leaves the log writer takes at once (committed up to 64 per transaction).
    pub max_batch: usize,
    /// The file holding the checkpoint signing key (`PRIVATE+KEY+…`).
    pub key: PathBuf,
    /// The longest a durable leaf waits for a signed checkpoint covering it.
    pub checkpoint_interval: Duration,
    /// How the process writes its own log lines (not the exchange log).
    pub format: LogFormat,
}

/// How the process writes its log lines to standard error.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

impl LogFormat {
    /// `text` or `json`.
    pub fn from_name(name: &str) -> Option<LogFormat> {
        match name {
            "text" => Some(LogFormat::Text),
            "json" => Some(LogFormat::Json),
            _ => None,
        }
    }
}

/// Registry files and reloading.
#[derive(Clone, Debug)]
pub struct RegistryConfig {
    /// Files (TOML, CSV, XLSX) that seed an empty store.
    pub files: Vec<PathBuf>,
    /// How often the node looks for a newer registry version.
    pub reload_interval: Duration,
}

/// Mapping files.
#[derive(Clone, Debug)]
pub struct AdaptersConfig {
    /// Folder searched recursively for `*.toml` mapping files.
    pub dir: PathBuf,
}

/// Document verification: it runs on its own worker threads, at most
/// `workers` at once with `queue` more waiting, at most `per_member` of one
/// member's at a time; anything more is answered `verifier_busy`.
#[derive(Clone, Debug)]
pub struct VerifyConfig {
    /// Verifications at once.
    pub workers: usize,
    /// Verifications waiting for a worker.
    pub queue: usize,
    /// One member's verifications, running and waiting.
    pub per_member: usize,
    /// Inflated size of all of an OFD package's files together.
    pub max_inflated_bytes: u64,
    /// Inflated size of one file of an OFD package.
    pub max_entry_bytes: u64,
}

/// Request and connection limits.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Largest document uploaded to `POST /v1/verify`.
    pub max_verify_bytes: usize,
    /// Largest request head (HTTP/1.1 buffer, HTTP/2 header list).
    pub max_header_bytes: usize,
    /// Most request headers (HTTP/1.1).
    pub max_headers: usize,
    /// Time allowed to send the request head.
    pub header_read_timeout: Duration,
    /// Time allowed for a whole exchange, provider included.
    pub request_timeout: Duration,
    /// Most concurrent client connections.
    pub max_connections: usize,
    /// Connections the kernel queues for the exchange listener to accept.
    pub listen_backlog: u32,
    /// Most concurrent HTTP/2 streams per connection.
    pub http2_max_concurrent_streams: u32,
}

fn default_admin() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9443))
}

// The file's shape as serde reads it; durations are milliseconds there.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Shape {
    #[serde(default)]
    node: Option<NodeShape>,
    listen: Listen,
    tls: TlsShape,
    trust: BTreeMap<String, TrustShape>,
    #[serde(default)]
    seal_trust: BTreeMap<String, SealTrustShape>,
    #[serde(default)]
    bill_trust: BTreeMap<String, BillTrustShape>,
    upstream: UpstreamShape,
    store: StoreShape,
    log: LogShape,
    #[serde(default)]
    registry: RegistryShape,
    adapters: AdaptersShape,
    #[serde(default)]
    limits: LimitsShape,
    #[serde(default)]
    quota: QuotaShape,
    #[serde(default)]
    verify: VerifyShape,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct VerifyShape {
    workers: usize,
    queue: usize,
    per_member: usize,
    max_inflated_bytes: u64,
    max_entry_bytes: u64,
}

impl Default for VerifyShape {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        VerifyShape {
            // Half the cores at most: exchanges keep the rest.
            workers: (cores / 2).max(1),
            queue: 8,
            per_member: 2,
            // A licence file is a few MB inflated; 32 MiB leaves room for
            // scanned attachments and stops a zip bomb long before memory.
            max_inflated_bytes: 32 * 1024 * 1024,
            max_entry_bytes: 16 * 1024 * 1024,
        }
    }
}

impl VerifyShape {
    /// `[verify]`.
    fn check(self, c: &Checker<'_>) -> Result<VerifyConfig, ConfigError> {
        let max_inflated_bytes = c.range(
            "verify.max_inflated_bytes",
            self.max_inflated_bytes,
            64 * 1024,
            1024 * 1024 * 1024,
        )?;
        Ok(VerifyConfig {
            workers: c.range("verify.workers", self.workers, 1, 256)?,
            queue: c.range("verify.queue", self.queue, 0, 10_000)?,
            per_member: c.range("verify.per_member", self.per_member, 1, 10_000)?,
            max_inflated_bytes,
            max_entry_bytes: c.range(
                "verify.max_entry_bytes",
                self.max_entry_bytes,
                64 * 1024,
                max_inflated_bytes,
            )?,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct QuotaShape {
    min_reservation: u64,
    max_reservation: u64,
}

impl Default for QuotaShape {
    fn default() -> Self {
        // The counter's own defaults; the node's name plays no part in them.
        let d = yrdx_registry::QuotaOptions::new("");
        QuotaShape {
            min_reservation: d.min_reservation,
            max_reservation: d.max_reservation,
        }
    }
}

/// `node = "gw-1"`, or a `[node]` table.
#[derive(Deserialize)]
#[serde(untagged)]
enum NodeShape {
    Name(String),
    Table(NodeTable),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NodeTable {
    #[serde(default)]
    name: Option<String>,
    #[serde(default = "ms_1s")]
    heartbeat_interval_ms: u64,
    #[serde(default = "ms_3s")]
    live_window_ms: u64,
}

/// The machine's host name cut to a valid node name, or `yrdx`.
fn default_node_name() -> String {
    // `HOSTNAME` where the shell or the container runtime exports it, else
    // the kernel's name for the machine.
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.trim().is_empty())
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .unwrap_or_default();
    let host = host.trim();
    let name: String = host
        .chars()
        .take_while(|c| *c != '.')
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(64)
        .collect();
    if name.is_empty() { "yrdx".into() } else { name }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsShape {
    cert: PathBuf,
    key: PathBuf,
    #[serde(default = "ms_10s")]
    handshake_timeout_ms: u64,
    #[serde(default = "hours_24")]
    crl_grace_hours: u64,
}

fn hours_24() -> u64 {
    24
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TrustShape {
    ca: PathBuf,
    #[serde(default)]
    crls: Vec<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BillTrustShape {
    anchors: Vec<PathBuf>,
    #[serde(default)]
    intermediates: Vec<PathBuf>,
    #[serde(default)]
    certificates: Vec<PathBuf>,
    #[serde(default)]
    crls: Vec<PathBuf>,
    #[serde(default)]
    require_crls: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SealTrustShape {
    anchors: Vec<PathBuf>,
    #[serde(default)]
    intermediates: Vec<PathBuf>,
    #[serde(default)]
    crls: Vec<PathBuf>,
    #[serde(default)]
    tsa_anchors: Vec<PathBuf>,
    #[serde(default)]
    require_crls: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpstreamShape {
    cert: PathBuf,
    key: PathBuf,
    ca: PathBuf,
    #[serde(default = "ms_3s")]
    connect_timeout_ms: u64,
    #[serde(default = "default_max_response")]
    max_response_bytes: usize,
    #[serde(default = "ms_90s")]
    pool_idle_timeout_ms: u64,
    #[serde(default = "default_pool_idle")]
    pool_max_idle_per_host: usize,
    #[serde(default)]
    http2: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StoreShape {
    url: String,
    #[serde(default = "default_pool")]
    max_connections: u32,
    #[serde(default = "ms_3s")]
    acquire_timeout_ms: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LogShape {
    origin: String,
    #[serde(default = "default_hash")]
    hash: String,
    #[serde(default = "default_batch")]
    max_batch: usize,
    key: PathBuf,
    #[serde(default = "ms_1s")]
    checkpoint_interval_ms: u64,
    #[serde(default = "default_log_format")]
    format: String,
}

fn default_log_format() -> String {
    "text".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistryShape {
    #[serde(default)]
    files: Vec<PathBuf>,
    #[serde(default = "ms_2s")]
    reload_interval_ms: u64,
}

impl Default for RegistryShape {
    fn default() -> Self {
        RegistryShape {
            files: Vec::new(),
            reload_interval_ms: ms_2s(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdaptersShape {
    dir: PathBuf,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct LimitsShape {
    max_body_bytes: usize,
    max_verify_bytes: usize,
    max_header_bytes: usize,
    max_headers: usize,
    header_read_timeout_ms: u64,
    request_timeout_ms: u64,
    max_connections: usize,
    listen_backlog: u32,
    http2_max_concurrent_streams: u32,
}

impl Default for LimitsShape {
    fn default() -> Self {
        LimitsShape {
            max_body_bytes: 64 * 1024,
            max_verify_bytes: 8 * 1024 * 1024,
            max_header_bytes: 16 * 1024,
            max_headers: 64,
            header_read_timeout_ms: 10_000,
            request_timeout_ms: 30_000,
            max_connections: 10_000,
            listen_backlog: 1024,
            http2_max_concurrent_streams: 128,
        }
    }
}

fn ms_2s() -> u64 {
    2_000
}
fn ms_1s() -> u64 {
    1_000
}
fn ms_3s() -> u64 {
    3_000
}
fn ms_10s() -> u64 {
    10_000
}
fn ms_90s() -> u64 {
    90_000
}
fn default_max_response() -> usize {
    4 * 1024 * 1024
}
fn default_pool_idle() -> usize {
    512
}
fn default_pool() -> u32 {
    16
}
fn default_hash() -> String {
    "sha256".into()
}
fn default_batch() -> usize {
    256
}

impl Config {
    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Config::parse(path, &text)
    }

    /// Checks configuration text as if read from `path`: each section in
    /// turn, in the order of the file's documentation, so the first problem
    /// found is the one reported.
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let shape: Shape = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        let base = path.parent().map(Path::to_owned).unwrap_or_default();
        let c = Checker { path, base: &base };
        let (node, cluster) = node(&c, shape.node)?;
        Ok(Config {
            source: path.to_owned(),
            node,
            cluster,
            listen: shape.listen,
            tls: shape.tls.check(&c)?,
            trust: trust(&c, shape.trust)?,
            seal_trust: seal_trust(&c, shape.seal_trust)?,
            bill_trust: bill_trust(&c, shape.bill_trust)?,
            upstream: shape.upstream.check(&c)?,
            store: shape.store.check(&c)?,
            log: shape.log.check(&c)?,
            registry: shape.registry.check(&c)?,
            adapters: shape.adapters.check(&c)?,
            limits: shape.limits.check(&c)?,
            quota: shape.quota.check(&c)?,
            verify: shape.verify.check(&c)?,
        })
    }
}

// One function per section of the file: each takes the section as read and
// returns it checked, with paths resolved and durations made `Duration`s.

/// `node`: the node's name (a string, `[node] name`, or the host's name) and
/// its heartbeat settings.
fn node(c: &Checker<'_>, shape: Option<NodeShape>) -> Result<(String, ClusterConfig), ConfigError> {
    let (node, node_key, table) = match shape {
        None => (None, "node", None),
        Some(NodeShape::Name(name)) => (Some(name), "node", None),
        Some(NodeShape::Table(t)) => (t.name.clone(), "node.name", Some(t)),
    };
    let node = node.unwrap_or_else(default_node_name);
    if node.is_empty()
        || node.len() > 64
        || !node
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
    {
        return Err(c.invalid(node_key, "1-64 characters of A-Z, a-z, 0-9, '-', '_', '.'"));
    }
    let (beat, window) = table.as_ref().map_or((ms_1s(), ms_3s()), |t| {
        (t.heartbeat_interval_ms, t.live_window_ms)
    });
    let cluster = ClusterConfig {
        heartbeat_interval: c.millis("node.heartbeat_interval_ms", beat, 100, 60_000)?,
        live_window: c.millis("node.live_window_ms", window, 300, 600_000)?,
    };
    if cluster.live_window < cluster.heartbeat_interval * 2 {
        return Err(c.invalid(
            "node.live_window_ms",
            "at least twice node.heartbeat_interval_ms, so one late heartbeat does not count a node gone",
        ));
    }
    Ok((node, cluster))
}

impl TlsShape {
    /// `[tls]`.
    fn check(self, c: &Checker<'_>) -> Result<Tls, ConfigError> {
        Ok(Tls {
            cert: c.file("tls.cert", &self.cert)?,
            key: c.file("tls.key", &self.key)?,
            handshake_timeout: c.millis(
                "tls.handshake_timeout_ms",
                self.handshake_timeout_ms,
                100,
                120_000,
            )?,
            crl_grace: {
                if self.crl_grace_hours > 720 {
                    return Err(c.invalid("tls.crl_grace_hours", "0 to 720 hours (30 days)"));
                }
                Duration::from_secs(self.crl_grace_hours * 3600)
            },
        })
    }
}

/// `[trust.REGION]`: at least one.
fn trust(
    c: &Checker<'_>,
    shape: BTreeMap<String, TrustShape>,
) -> Result<BTreeMap<Region, Trust>, ConfigError> {
    if shape.is_empty() {
        return Err(c.invalid(
            "trust",
            "at least one region's CA, e.g. [trust.sh] ca = \"…\"",
        ));
    }
    let mut trust = BTreeMap::new();
    for (name, t) in shape {
        let region: Region = name
            .parse()
            .map_err(|_| c.invalid(&format!("trust.{name}"), "a region: sh, js, zj or ah"))?;
        let crls = t
            .crls
            .iter()
            .enumerate()
            .map(|(i, p)| c.file(&format!("trust.{name}.crls[{i}]"), p))
            .collect::<Result<_, _>>()?;
        trust.insert(
            region,
            Trust {
                ca: c.file(&format!("trust.{name}.ca"), &t.ca)?,
                crls,
            },
        );
    }
    Ok(trust)
}

/// `[seal_trust.REGION]`: none or more.
fn seal_trust(
    c: &Checker<'_>,
    shape: BTreeMap<String, SealTrustShape>,
) -> Result<BTreeMap<Region, SealTrust>, ConfigError> {
    let mut seal_trust = BTreeMap::new();
    for (name, t) in shape {
        let region: Region = name
            .parse()
            .map_err(|_| c.invalid(&format!("seal_trust.{name}"), "a region: sh, js, zj or ah"))?;
        if t.anchors.is_empty() {
            return Err(c.invalid(
                &format!("seal_trust.{name}.anchors"),
                "at least one seal anchor file",
            ));
        }
        let files = |key: &str, list: &[PathBuf]| -> Result<Vec<PathBuf>, ConfigError> {
            list.iter()
                .enumerate()
                .map(|(i, p)| c.file(&format!("seal_trust.{name}.{key}[{i}]"), p))
                .collect()
        };
        seal_trust.insert(
            region,
            SealTrust {
                anchors: files("anchors", &t.anchors)?,
                intermediates: files("intermediates", &t.intermediates)?,
                crls: files("crls", &t.crls)?,
                tsa_anchors: files("tsa_anchors", &t.tsa_anchors)?,
                require_crls: t.require_crls,
            },
        );
    }
    Ok(seal_trust)
}

/// `[bill_trust.REGION]`: none or more.
fn bill_trust(
    c: &Checker<'_>,
    shape: BTreeMap<String, BillTrustShape>,
) -> Result<BTreeMap<Region, BillTrustFiles>, ConfigError> {
    let mut out = BTreeMap::new();
    for (name, t) in shape {
        let region: Region = name
            .parse()
            .map_err(|_| c.invalid(&format!("bill_trust.{name}"), "a region: sh, js, zj or ah"))?;
        if t.anchors.is_empty() {
            return Err(c.invalid(
                &format!("bill_trust.{name}.anchors"),
                "at least one bill root certificate file",
            ));
        }
        let files = |key: &str, list: &[PathBuf]| -> Result<Vec<PathBuf>, ConfigError> {
            list.iter()
                .enumerate()
                .map(|(i, p)| c.file(&format!("bill_trust.{name}.{key}[{i}]"), p))
                .collect()
        };
        out.insert(
            region,
            BillTrustFiles {
                anchors: files("anchors", &t.anchors)?,
                intermediates: files("intermediates", &t.intermediates)?,
                certificates: files("certificates", &t.certificates)?,
                crls: files("crls", &t.crls)?,
                require_crls: t.require_crls,
            },
        );
    }
    Ok(out)
}

impl UpstreamShape {
    /// `[upstream]`.
    fn check(self, c: &Checker<'_>) -> Result<Upstream, ConfigError> {
        let u = self;
        Ok(Upstream {
            cert: c.file("upstream.cert", &u.cert)?,
            key: c.file("upstream.key", &u.key)?,
            ca: c.file("upstream.ca", &u.ca)?,
            connect_timeout: c.millis(
                "upstream.connect_timeout_ms",
                u.connect_timeout_ms,
                10,
                60_000,
            )?,
            max_response_bytes: c.range(
                "upstream.max_response_bytes",
                u.max_response_bytes,
                1024,
                64 * 1024 * 1024,
            )?,
            pool_idle_timeout: c.millis(
                "upstream.pool_idle_timeout_ms",
                u.pool_idle_timeout_ms,
                0,
                3_600_000,
            )?,
            pool_max_idle_per_host: c.range(
                "upstream.pool_max_idle_per_host",
                u.pool_max_idle_per_host,
                0,
                4096,
            )?,
            http2: u.http2,
        })
    }
}

impl StoreShape {
    /// `[store]`: a relative SQLite path is resolved against the file's folder.
    fn check(self, c: &Checker<'_>) -> Result<StoreConfig, ConfigError> {
        let url = match yrdx_registry::backend_of(&self.url) {
            Some(yrdx_registry::Backend::Sqlite) => {
                let rest = self
                    .url
                    .trim_start_matches("sqlite:")
                    .trim_start_matches("//");
                let (file, query) = match rest.split_once('?') {
                    Some((f, q)) => (f, Some(q)),
                    None => (rest, None),
                };
                if file.is_empty() || file == ":memory:" {
                    return Err(c.invalid(
                        "store.url",
                        "a SQLite file path: the log must survive a restart",
                    ));
                }
                let abs = c.base.join(file);
                match query {
                    Some(q) => format!("sqlite:{}?{q}", abs.display()),
                    None => format!("sqlite:{}", abs.display()),
                }
            }
            Some(yrdx_registry::Backend::Postgres) => self.url.clone(),
            None => {
                return Err(c.invalid("store.url", "sqlite:PATH or postgres://USER@HOST:PORT/DB"));
            }
        };
        Ok(StoreConfig {
            url,
            max_connections: c.range("store.max_connections", self.max_connections, 1, 1000)?,
            acquire_timeout: c.millis(
                "store.acquire_timeout_ms",
                self.acquire_timeout_ms,
                10,
                120_000,
            )?,
        })
    }
}

impl LogShape {
    /// `[log]`.
    fn check(self, c: &Checker<'_>) -> Result<LogConfig, ConfigError> {
        if self.origin.is_empty()
            || self.origin.contains(char::is_whitespace)
            || self.origin.len() > 128
        {
            return Err(c.invalid(
                "log.origin",
                "a non-empty name without spaces, e.g. yrdx.example.gov.cn/exchange",
            ));
        }
        Ok(LogConfig {
            hash: HashAlg::from_name(&self.hash)
                .ok_or_else(|| c.invalid("log.hash", "sha256 or sm3"))?,
            origin: self.origin,
            max_batch: c.range("log.max_batch", self.max_batch, 1, 4096)?,
            key: c.file("log.key", &self.key)?,
            checkpoint_interval: c.millis(
                "log.checkpoint_interval_ms",
                self.checkpoint_interval_ms,
                100,
                60_000,
            )?,
            format: LogFormat::from_name(&self.format)
                .ok_or_else(|| c.invalid("log.format", "text or json"))?,
        })
    }
}

impl RegistryShape {
    /// `[registry]`.
    fn check(self, c: &Checker<'_>) -> Result<RegistryConfig, ConfigError> {
        Ok(RegistryConfig {
            files: self
                .files
                .iter()
                .enumerate()
                .map(|(i, p)| c.file(&format!("registry.files[{i}]"), p))
                .collect::<Result<_, _>>()?,
            reload_interval: c.millis(
                "registry.reload_interval_ms",
                self.reload_interval_ms,
                100,
                3_600_000,
            )?,
        })
    }
}

impl AdaptersShape {
    /// `[adapters]`: the folder must exist.
    fn check(self, c: &Checker<'_>) -> Result<AdaptersConfig, ConfigError> {
        let adapters_dir = c.base.join(&self.dir);
        if !adapters_dir.is_dir() {
            return Err(c.invalid(
                "adapters.dir",
                &format!("a folder; {} is not one", adapters_dir.display()),
            ));
        }
        Ok(AdaptersConfig { dir: adapters_dir })
    }
}

impl LimitsShape {
    /// `[limits]`.
    fn check(self, c: &Checker<'_>) -> Result<Limits, ConfigError> {
        let l = self;
        Ok(Limits {
            max_body_bytes: c.range(
                "limits.max_body_bytes",
                l.max_body_bytes,
                256,
                16 * 1024 * 1024,
            )?,
            max_verify_bytes: c.range(
                "limits.max_verify_bytes",
                l.max_verify_bytes,
                1024,
                256 * 1024 * 1024,
            )?,
            max_header_bytes: c.range(
                "limits.max_header_bytes",
                l.max_header_bytes,
                8192,
                1024 * 1024,
            )?,
            max_headers: c.range("limits.max_headers", l.max_headers, 8, 1024)?,
            header_read_timeout: c.millis(
                "limits.header_read_timeout_ms",
                l.header_read_timeout_ms,
                100,
                300_000,
            )?,
            request_timeout: c.millis(
                "limits.request_timeout_ms",
                l.request_timeout_ms,
                100,
                600_000,
            )?,
            max_connections: c.range("limits.max_connections", l.max_connections, 1, 1_000_000)?,
            listen_backlog: c.range("limits.listen_backlog", l.listen_backlog, 16, 65_535)?,
            http2_max_concurrent_streams: c.range(
                "limits.http2_max_concurrent_streams",
                l.http2_max_concurrent_streams,
                1,
                10_000,
            )?,
        })
    }
}

impl QuotaShape {
    /// `[quota]`: `min_reservation` no more than `max_reservation`.
    fn check(self, c: &Checker<'_>) -> Result<QuotaConfig, ConfigError> {
        Ok(QuotaConfig {
            max_reservation: c.range(
                "quota.max_reservation",
                self.max_reservation,
                0,
                1_000_000,
            )?,
            min_reservation: c.range(
                "quota.min_reservation",
                self.min_reservation,
                0,
                self.max_reservation,
            )?,
        })
    }
}

struct Checker<'a> {
    path: &'a Path,
    base: &'a Path,
}

impl Checker<'_> {
    fn invalid(&self, key: &str, problem: &str) -> ConfigError {
        ConfigError::Invalid {
            path: self.path.to_owned(),
            key: key.to_owned(),
            problem: problem.to_owned(),
        }
    }

    fn file(&self, key: &str, p: &Path) -> Result<PathBuf, ConfigError> {
        let abs = self.base.join(p);
        if abs.is_file() {
            Ok(abs)
        } else {
            Err(self.invalid(
                key,
                &format!("a readable file; {} does not exist", abs.display()),
            ))
        }
    }

    fn millis(&self, key: &str, v: u64, min: u64, max: u64) -> Result<Duration, ConfigError> {
        self.range(key, v, min, max).map(Duration::from_millis)
    }

    fn range<T: PartialOrd + std::fmt::Display + Copy>(
        &self,
        key: &str,
        v: T,
        min: T,
        max: T,
    ) -> Result<T, ConfigError> {
        if v < min || v > max {
            Err(self.invalid(key, &format!("between {min} and {max}, got {v}")))
        } else {
            Ok(v)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        for f in [
            "cert.pem",
            "key.pem",
            "ca.pem",
            "crl.pem",
            "up.pem",
            "up.key",
            "members.toml",
            "log.key",
        ] {
            std::fs::write(dir.path().join(f), "x").unwrap();
        }
        std::fs::create_dir(dir.path().join("adapters")).unwrap();
        let text = r#"
node = "gw-1"
[listen]
exchange = "127.0.0.1:8443"
[tls]
cert = "cert.pem"
key = "key.pem"
[trust.sh]
ca = "ca.pem"
crls = ["crl.pem"]
[upstream]
cert = "up.pem"
key = "up.key"
ca = "ca.pem"
[store]
url = "sqlite:data/yrdx.db"
[log]
origin = "yrdx.test/log"
key = "log.key"
[registry]
files = ["members.toml"]
[adapters]
dir = "adapters"
"#
        .to_owned();
        (dir, text)
    }

    #[test]
    fn a_minimal_file_loads_with_defaults_and_resolved_paths() {
        let (dir, text) = setup();
        let c = Config::parse(&dir.path().join("yrdx.toml"), &text).unwrap();
        assert_eq!(c.listen.admin, "127.0.0.1:9443".parse().unwrap());
        assert_eq!(c.limits.max_body_bytes, 65536);
        assert_eq!(c.limits.listen_backlog, 1024);
        assert_eq!(c.tls.crl_grace, Duration::from_secs(24 * 3600));
        assert_eq!(c.tls.cert, dir.path().join("cert.pem"));
        assert_eq!(
            c.store.url,
            format!("sqlite:{}", dir.path().join("data/yrdx.db").display())
        );
        assert_eq!(c.log.hash, HashAlg::Sha256);
        assert_eq!(c.log.key, dir.path().join("log.key"));
        assert_eq!(c.log.checkpoint_interval, Duration::from_secs(1));
        assert_eq!(
            (c.quota.min_reservation, c.quota.max_reservation),
            (256, 65_536)
        );
        let strict = format!("{text}\n[quota]\nmax_reservation = 256\n");
        let c = Config::parse(&dir.path().join("yrdx.toml"), &strict).unwrap();
        assert_eq!(
            (c.quota.min_reservation, c.quota.max_reservation),
            (256, 256)
        );
    }

    #[test]
    fn the_node_name_is_a_string_a_table_or_the_host_name() {
        let (dir, text) = setup();
        let p = dir.path().join("yrdx.toml");
        let c = Config::parse(&p, &text).unwrap();
        assert_eq!(c.node, "gw-1");
        assert_eq!(c.cluster.heartbeat_interval, Duration::from_secs(1));
        assert_eq!(c.cluster.live_window, Duration::from_secs(3));
        let table = format!(
            "{}[node]\nname = \"gw-2\"\nheartbeat_interval_ms = 500\nlive_window_ms = 2000\n",
            text.replace("node = \"gw-1\"\n", "")
        );
        let c = Config::parse(&p, &table).unwrap();
        assert_eq!(c.node, "gw-2");
        assert_eq!(c.cluster.heartbeat_interval, Duration::from_millis(500));
        assert_eq!(c.cluster.live_window, Duration::from_secs(2));
        let c = Config::parse(&p, &text.replace("node = \"gw-1\"\n", "")).unwrap();
        assert!(!c.node.is_empty() && !c.node.contains('.'), "{}", c.node);
        let short = format!(
            "{}[node]\nheartbeat_interval_ms = 2000\n",
            text.replace("node = \"gw-1\"\n", "")
        );
        let e = Config::parse(&p, &short).unwrap_err().to_string();
        assert!(e.contains("node.live_window_ms"), "{e}");
    }

    #[test]
    fn errors_name_the_key_and_what_was_expected() {
        let (dir, text) = setup();
        let p = dir.path().join("yrdx.toml");
        let cases = [
            (text.replace("[trust.sh]", "[trust.gd]"), "trust.gd"),
            (
                text.replace("cert = \"cert.pem\"", "cert = \"missing.pem\""),
                "tls.cert",
            ),
            (
                text.replace("sqlite:data/yrdx.db", "mysql://x"),
                "store.url",
            ),
            (
                text.replace("origin = \"yrdx.test/log\"", "origin = \"has space\""),
                "log.origin",
            ),
            (
                format!("{text}\n[limits]\nmax_body_bytes = 1\n"),
                "limits.max_body_bytes",
            ),
            (
                format!("{text}\n[limits]\nlisten_backlog = 8\n"),
                "limits.listen_backlog",
            ),
            (
                text.replace(
                    "key = \"key.pem\"",
                    "key = \"key.pem\"\ncrl_grace_hours = 721",
                ),
                "tls.crl_grace_hours",
            ),
            (
                text.replace(
                    "origin = \"yrdx.test/log\"",
                    "origin = \"yrdx.test/log\"\nhash = \"md5\"",
                ),
                "log.hash",
            ),
            (
                text.replace("key = \"log.key\"", "key = \"missing.key\""),
                "log.key",
            ),
            (
                text.replace(
                    "key = \"log.key\"",
                    "key = \"log.key\"\ncheckpoint_interval_ms = 120000",
                ),
                "log.checkpoint_interval_ms",
            ),
            (
                format!("{text}\n[seal_trust.gd]\nanchors = [\"ca.pem\"]\n"),
                "seal_trust.gd",
            ),
            (
                format!("{text}\n[seal_trust.zj]\nanchors = [\"ca.pem\", \"nope.pem\"]\n"),
                "seal_trust.zj.anchors[1]",
            ),
            (
                format!("{text}\n[seal_trust.zj]\nanchors = []\n"),
                "seal_trust.zj.anchors",
            ),
            (
                format!("{text}\n[quota]\nmin_reservation = 1000\nmax_reservation = 500\n"),
                "quota.min_reservation",
            ),
        ];
        for (bad, key) in cases {
            match Config::parse(&p, &bad) {
                Err(ConfigError::Invalid { key: k, .. }) => assert_eq!(k, key),
                Err(ConfigError::Syntax { message, .. }) => assert!(
                    message.contains(key.split('.').next_back().unwrap()),
                    "{message}"
                ),
                other => panic!("{key}: {other:?}"),
            }
        }
        let unknown = text.replace("[tls]", "[tls]\ncertificate = \"x\"");
        match Config::parse(&p, &unknown) {
            Err(ConfigError::Syntax { message, .. }) => {
                assert!(message.contains("certificate"), "{message}")
            }
            other => panic!("{other:?}"),
        }
    }
}
