//! `yrdx conformance provider`: checks a live provider endpoint before it
//! goes live, with the node's own configuration — its registry files, mapping
//! folder, trust and upstream certificate — exactly as `yrdx serve` would call
//! it.
//!
//! Per provider of the region: the endpoint's TLS (version, the server's chain
//! against its own region's CA, a client without a certificate and one from
//! another CA refused); then per resource it provides: the fixture cases'
//! keys (and keys from `--keys`) answered and mapped, required items present,
//! types and code lists, declared against actual encoding, an unknown key
//! answered as not found the way the mapping reads it, a malformed key
//! refused without a 5xx, no personal data in error bodies, and a bounded run
//! at the entry's rate with p50/p99 against the entry's deadline.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use rustls_pki_types::ServerName;
use serde_json::{Map, Value};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use yrdx_adapters::{
    Expectation, ItemType, MapError, Mapping, NativeRequest, NativeResponse, Outcome, Record,
    Schema,
};
use yrdx_registry::{EntryStatus, Member, Registry, Role, SharingType};
use yrdx_signing::{MemberId, Region, Uscc};

use super::report::{Check, Report, Section, Verdict, progress};
use crate::config::Config;
use crate::mappings::is_licence_resource;
use crate::problem::Problem;
use crate::registry_ops;
use crate::tls;
use crate::upstream::{Answer, Upstream};

/// `yrdx conformance provider` arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct ProviderArgs {
    /// The node configuration (yrdx.toml): registry files, mapping folder,
    /// trust and the upstream certificate, as `yrdx serve` uses them.
    #[arg(long, short)]
    pub config: PathBuf,
    /// The region whose providers are checked: sh, js, zj or ah.
    #[arg(long)]
    pub region: String,
    /// Only this catalogue resource.
    #[arg(long)]
    pub resource: Option<String>,
    /// Only this provider (member id), when the region has several.
    #[arg(long)]
    pub provider: Option<String>,
    /// The provider's endpoint, instead of the member's `endpoint` in the
    /// registry (a test environment); needs a single provider.
    #[arg(long)]
    pub endpoint: Option<String>,
    /// More keys to check, one JSON object a line:
    /// `{"resource": "YRD-SCJG-0001", "key": {"uscc": "…"}}`. Each must be
    /// answered with a record.
    #[arg(long, value_name = "FILE")]
    pub keys: Option<PathBuf>,
    /// The folder holding the mappings' fixture cases
    /// (`{region}/cases/{mapping}/`), when they are not beside the mapping
    /// files in the configuration's `adapters.dir` (a node often carries the
    /// mappings alone).
    #[arg(long, value_name = "DIR")]
    pub cases: Option<PathBuf>,
    /// A client certificate the provider must refuse: one issued by another
    /// region's CA (PEM; with --foreign-key).
    #[arg(long, value_name = "FILE", requires = "foreign_key")]
    pub foreign_cert: Option<PathBuf>,
    /// The key of --foreign-cert (PEM).
    #[arg(long, value_name = "FILE", requires = "foreign_cert")]
    pub foreign_key: Option<PathBuf>,
    /// How long the load run lasts, in seconds.
    #[arg(long, default_value_t = 30.0)]
    pub load_seconds: f64,
    /// Calls in flight at most during the load run.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Calls per second in the load run; by default the entry's
    /// `quota.per_second`, else 10.
    #[arg(long)]
    pub rate: Option<u32>,
    /// Folder the report is written to, as
    /// `conformance-{region}.md` and `conformance-{region}.json`.
    #[arg(long, default_value = ".")]
    pub out: PathBuf,
}

/// The load rate when neither the entry nor `--rate` gives one.
const DEFAULT_RATE: u32 = 10;

/// How long a TLS probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs the checks, printing progress to `out`, and writes the report files.
/// Returns the report and the paths written.
pub async fn run(
    args: &ProviderArgs,
    out: &mut dyn Write,
) -> anyhow::Result<(Report, PathBuf, PathBuf)> {
    let started = Instant::now();
    let time = super::super::cst(yrdx_registry::now());
    let region: Region = args
        .region
        .parse()
        .map_err(|_| anyhow::anyhow!("--region {}: not sh, js, zj or ah", args.region))?;
    let config = Config::load(&args.config)?;
    let read = registry_ops::read_files(&config.registry.files)?;
    let (registry, mappings) = registry_ops::check(0, read.data, &config.adapters.dir)?;
    let extra_keys = match &args.keys {
        Some(file) => read_keys(file)?,
        None => Vec::new(),
    };
    let providers: Vec<&Member> = registry
        .members()
        .filter(|m| {
            m.id.region() == region
                && m.has_role(Role::Provider)
                && args
                    .provider
                    .as_deref()
                    .is_none_or(|p| m.id.to_string() == p)
        })
        .collect();
    if providers.is_empty() {
        anyhow::bail!(
            "no provider of region {} {}in the registry files {}",
            region.code(),
            args.provider
                .as_deref()
                .map(|p| format!("named {p} "))
                .unwrap_or_default(),
            config
                .registry
                .files
                .iter()
                .map(|f| f.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if args.endpoint.is_some() && providers.len() > 1 {
        anyhow::bail!(
            "--endpoint needs one provider, and region {} has {}: name one with --provider",
            region.code(),
            providers.len()
        );
    }
    let upstream = Upstream::new(&config)?;
    writeln!(
        out,
        "yrdx conformance provider: node {}, region {}, {} provider(s)",
        config.node,
        region.code(),
        providers.len()
    )?;
    let mut report = Report {
        report: "yrdx conformance provider",
        yrdx: env!("CARGO_PKG_VERSION"),
        node: config.node.clone(),
        region: region.code().to_owned(),
        time,
        seconds: 0.0,
        conforms: false,
        counts: Default::default(),
        sections: Vec::new(),
    };
    for member in providers {
        let Some(endpoint) = args.endpoint.clone().or_else(|| member.endpoint.clone()) else {
            let check = Check {
                id: "endpoint",
                zh: "服务地址",
                en: "endpoint",
                verdict: Verdict::Fail,
                evidence: "the member has no `endpoint` in the registry; give --endpoint".into(),
            };
            progress(out, &check)?;
            report.sections.push(Section {
                title_zh: "服务地址".into(),
                title_en: "Endpoint".into(),
                provider: member.id.to_string(),
                endpoint: "-".into(),
                resource: None,
                entry: None,
                mapping: None,
                mapping_hash: None,
                checks: vec![check],
            });
            continue;
        };
        writeln!(out, "\n== {} at {endpoint}", member.id)?;
        let checks = tls_checks(&config, args, member.id.region(), &endpoint, out).await?;
        report.sections.push(Section {
            title_zh: "传输层安全".into(),
            title_en: "TLS".into(),
            provider: member.id.to_string(),
            endpoint: endpoint.clone(),
            resource: None,
            entry: None,
            mapping: None,
            mapping_hash: None,
            checks,
        });
        for target in targets(&registry, &member.id, args.resource.as_deref()) {
            let Some(mapping) = mappings.get(&member.id, &target.resource) else {
                continue;
            };
            let Some(schema) = registry.schema(&target.resource) else {
                continue;
            };
            writeln!(
                out,
                "\n-- {} × {} ({}), mapping {} sha256:{}",
                member.id,
                target.resource,
                target.entry,
                mapping.file(),
                mapping.hash()
            )?;
            let run = ResourceRun {
                upstream: &upstream,
                endpoint: &endpoint,
                mapping: mapping.clone(),
                schema: Arc::new(schema.clone()),
                deadline: Duration::from_millis(target.deadline_ms),
                rate: args.rate.or(target.per_second).unwrap_or(DEFAULT_RATE),
                concurrency: args.concurrency.max(1),
                load_for: Duration::from_secs_f64(args.load_seconds.max(0.0)),
                region: member.id.region(),
            };
            let cases = args.cases.as_deref().unwrap_or(&config.adapters.dir);
            let fixture = fixture_keys(cases, mapping, schema)?;
            let from_file: Vec<Map<String, Value>> = extra_keys
                .iter()
                .filter(|(r, _)| *r == target.resource)
                .map(|(_, k)| k.clone())
                .collect();
            let checks = run.checks(&fixture, &from_file, out).await?;
            report.sections.push(Section {
                title_zh: format!("资源 {}", target.resource),
                title_en: format!("Resource {}", target.resource),
                provider: member.id.to_string(),
                endpoint: endpoint.clone(),
                resource: Some(target.resource.clone()),
                entry: Some(target.entry.clone()),
                mapping: Some(mapping.file().to_owned()),
                mapping_hash: Some(mapping.hash().to_owned()),
                checks,
            });
        }
    }
    report.seconds = started.elapsed().as_secs_f64();
    report.finish();
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let md_path = args.out.join(format!("conformance-{}.md", region.code()));
    let json_path = args.out.join(format!("conformance-{}.json", region.code()));
    std::fs::write(&md_path, report.markdown())
        .with_context(|| format!("cannot write {}", md_path.display()))?;
    std::fs::write(&json_path, serde_json::to_string_pretty(&report)?)
        .with_context(|| format!("cannot write {}", json_path.display()))?;
    writeln!(
        out,
        "\n{}: {} pass, {} warn, {} fail\n  {}\n  {}",
        if report.conforms {
            "符合 conforms"
        } else {
            "不符合 does not conform"
        },
        report.counts.pass,
        report.counts.warn,
        report.counts.fail,
        md_path.display(),
        json_path.display()
    )?;
    Ok((report, md_path, json_path))
}

/// A resource a provider serves under the list, with the strictest deadline
/// and rate of its active entries.
#[derive(Debug)]
struct Target {
    resource: String,
    entry: String,
    deadline_ms: u64,
    per_second: Option<u32>,
}

fn targets(registry: &Registry, provider: &MemberId, only: Option<&str>) -> Vec<Target> {
    let mut by: BTreeMap<String, Target> = BTreeMap::new();
    for e in registry.entries() {
        if e.provider != *provider
            || e.status != EntryStatus::Active
            || only.is_some_and(|o| o != e.resource)
        {
            continue;
        }
        let Some(resource) = registry.resource(&e.resource) else {
            continue;
        };
        if e.sharing(resource) == SharingType::NotShared || is_licence_resource(resource) {
            continue;
        }
        let t = by.entry(e.resource.clone()).or_insert_with(|| Target {
            resource: e.resource.clone(),
            entry: e.id.clone(),
            deadline_ms: e.deadline_ms,
            per_second: e.quota.per_second,
        });
        if e.deadline_ms < t.deadline_ms {
            t.deadline_ms = e.deadline_ms;
            t.entry = e.id.clone();
        }
        if let Some(r) = e.quota.per_second {
            t.per_second = Some(t.per_second.map_or(r, |t| t.min(r)));
        }
    }
    by.into_values().collect()
}

/// `--keys`: one `{"resource": …, "key": {…}}` a line; blank lines and lines
/// starting with `#` are skipped.
fn read_keys(file: &Path) -> anyhow::Result<Vec<(String, Map<String, Value>)>> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let mut keys = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = || {
            format!(
                "{}:{}: expected {{\"resource\": \"…\", \"key\": {{…}}}}",
                file.display(),
                n + 1
            )
        };
        let v: Value = serde_json::from_str(line).with_context(bad)?;
        let (Some(resource), Some(key)) = (
            v.get("resource").and_then(Value::as_str),
            v.get("key").and_then(Value::as_object),
        ) else {
            anyhow::bail!(bad());
        };
        keys.push((resource.to_owned(), key.clone()));
    }
    Ok(keys)
}

/// The keys of the mapping's fixture cases that expect a record: the key
/// fields of each expected record.
fn fixture_keys(
    dir: &Path,
    mapping: &Mapping,
    schema: &Schema,
) -> anyhow::Result<Vec<Map<String, Value>>> {
    let file = Path::new(mapping.file());
    let (Some(parent), Some(stem)) = (file.parent(), file.file_stem()) else {
        return Ok(Vec::new());
    };
    let cases = dir.join(parent).join("cases").join(stem);
    let Ok(read) = std::fs::read_dir(&cases) else {
        return Ok(Vec::new());
    };
    let mut names: Vec<PathBuf> = read
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(".expected.json"))
        })
        .collect();
    names.sort();
    let mut keys = Vec::new();
    for path in names {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let expectation =
            Expectation::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let Outcome::Record(record) = expectation.outcome else {
            continue;
        };
        let mut key = Map::new();
        for f in &schema.key {
            if let Some(v) = record.get(&f.name) {
                key.insert(f.name.clone(), v.clone());
            }
        }
        let complete = schema
            .key
            .iter()
            .filter(|f| f.required)
            .all(|f| key.contains_key(&f.name));
        if complete && !key.is_empty() && !keys.contains(&key) {
            keys.push(key);
        }
    }
    Ok(keys)
}

// ---------------------------------------------------------------- TLS

/// The endpoint's address parts.
#[derive(Debug, Clone)]
struct Endpoint {
    host: String,
    port: u16,
    authority: String,
    name: ServerName<'static>,
}

fn endpoint(url: &str) -> Result<Endpoint, String> {
    let uri: http::Uri = url
        .parse()
        .map_err(|e| format!("`{url}` is not a URL: {e}"))?;
    if uri.scheme_str() != Some("https") {
        return Err(format!("`{url}` is not an https URL"));
    }
    let host = uri
        .host()
        .ok_or_else(|| format!("`{url}` has no host"))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let name = ServerName::try_from(host.clone())
        .map_err(|e| format!("`{host}` is not a server name: {e}"))?;
    Ok(Endpoint {
        port: uri.port_u16().unwrap_or(443),
        authority: uri
            .authority()
            .map(|a| a.as_str().to_owned())
            .unwrap_or_else(|| host.clone()),
        host,
        name,
    })
}

/// What a TLS client saw.
#[derive(Debug)]
enum Probe {
    /// No TCP connection.
    Unreachable(String),
    /// The handshake (or, in TLS 1.3, the first read after it) failed.
    Refused(String),
    /// An HTTP answer came.
    Http {
        version: String,
        status: u16,
        suite: String,
    },
}

/// Connects with `config`, sends `GET /` and reads the status line.
async fn probe(ep: &Endpoint, mut config: rustls::ClientConfig) -> Probe {
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let work = async {
        let tcp = match tokio::net::TcpStream::connect((ep.host.as_str(), ep.port)).await {
            Ok(t) => t,
            Err(e) => return Probe::Unreachable(e.to_string()),
        };
        let mut stream = match connector.connect(ep.name.clone(), tcp).await {
            Ok(s) => s,
            Err(e) => return Probe::Refused(e.to_string()),
        };
        let (version, suite) = {
            let c = stream.get_ref().1;
            (
                c.protocol_version()
                    .map(|v| format!("{v:?}"))
                    .unwrap_or_default(),
                c.negotiated_cipher_suite()
                    .map(|s| format!("{:?}", s.suite()))
                    .unwrap_or_default(),
            )
        };
        let request = format!(
            "GET / HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            ep.authority
        );
        if let Err(e) = stream.write_all(request.as_bytes()).await {
            return Probe::Refused(e.to_string());
        }
        let mut head = Vec::new();
        let mut chunk = [0u8; 1024];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) => break,
                Ok(n) => {
                    head.extend_from_slice(chunk.get(..n).unwrap_or_default());
                    if head.windows(2).any(|w| w == b"\r\n") || head.len() > 8192 {
                        break;
                    }
                }
                Err(e) if head.is_empty() => return Probe::Refused(e.to_string()),
                Err(_) => break,
            }
        }
        let line = String::from_utf8_lossy(&head);
        match line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok())
        {
            Some(status) => Probe::Http {
                version,
                status,
                suite,
            },
            None => Probe::Refused("the connection closed without an HTTP answer".into()),
        }
    };
    match tokio::time::timeout(PROBE_TIMEOUT, work).await {
        Ok(p) => p,
        Err(_) => Probe::Unreachable(format!("no answer within {} s", PROBE_TIMEOUT.as_secs())),
    }
}

fn roots(path: &Path) -> Result<rustls::RootCertStore, tls::TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    for ca in tls::load_certs(path)? {
        roots.add(ca).map_err(|e| tls::TlsError {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
    }
    Ok(roots)
}

type Versions = &'static [&'static rustls::SupportedProtocolVersion];

fn client(
    versions: Versions,
    roots: rustls::RootCertStore,
    cert: Option<(&Path, &Path)>,
) -> anyhow::Result<rustls::ClientConfig> {
    let builder = rustls::ClientConfig::builder_with_provider(tls::provider())
        .with_protocol_versions(versions)?
        .with_root_certificates(roots);
    Ok(match cert {
        Some((c, k)) => builder.with_client_auth_cert(tls::load_certs(c)?, tls::load_key(k)?)?,
        None => builder.with_no_client_auth(),
    })
}

const TLS13: Versions = &[&rustls::version::TLS13];
const TLS12: Versions = &[&rustls::version::TLS12];
const ANY: Versions = &[&rustls::version::TLS13, &rustls::version::TLS12];

async fn tls_checks(
    config: &Config,
    args: &ProviderArgs,
    region: Region,
    url: &str,
    out: &mut dyn Write,
) -> anyhow::Result<Vec<Check>> {
    let mut checks = Vec::new();
    let mut push = |checks: &mut Vec<Check>, check: Check| -> std::io::Result<()> {
        progress(out, &check)?;
        checks.push(check);
        Ok(())
    };
    let ep = match endpoint(url) {
        Ok(ep) => ep,
        Err(e) => {
            push(
                &mut checks,
                Check {
                    id: "tls.endpoint",
                    zh: "服务地址",
                    en: "endpoint",
                    verdict: Verdict::Fail,
                    evidence: e,
                },
            )?;
            return Ok(checks);
        }
    };
    let gateway = Some((
        config.upstream.cert.as_path(),
        config.upstream.key.as_path(),
    ));
    let upstream_roots = roots(&config.upstream.ca)?;

    // The version, with the gateway's own certificate and trust.
    let v13 = probe(&ep, client(TLS13, upstream_roots.clone(), gateway)?).await;
    let version = match v13 {
        Probe::Http {
            version,
            status,
            suite,
        } if !matches!(status, 401 | 403) => Check {
            id: "tls.version",
            zh: "TLS 1.3 与网关证书",
            en: "TLS 1.3 with the gateway's certificate",
            verdict: Verdict::Pass,
            evidence: format!(
                "{version}, {suite}; the gateway's certificate accepted (HTTP {status} for GET /)"
            ),
        },
        Probe::Http { status, .. } => Check {
            id: "tls.version",
            zh: "TLS 1.3 与网关证书",
            en: "TLS 1.3 with the gateway's certificate",
            verdict: Verdict::Fail,
            evidence: format!(
                "TLS 1.3 works, but the gateway's certificate ({}) is refused with HTTP {status}",
                config.upstream.cert.display()
            ),
        },
        Probe::Unreachable(e) => Check {
            id: "tls.version",
            zh: "TLS 1.3 与网关证书",
            en: "TLS 1.3 with the gateway's certificate",
            verdict: Verdict::Fail,
            evidence: format!("cannot connect to {}:{}: {e}", ep.host, ep.port),
        },
        Probe::Refused(e13) => {
            match probe(&ep, client(TLS12, upstream_roots.clone(), gateway)?).await {
                Probe::Http { suite, .. } => Check {
                    id: "tls.version",
                    zh: "TLS 1.3 与网关证书",
                    en: "TLS 1.3 with the gateway's certificate",
                    verdict: Verdict::Warn,
                    evidence: format!("TLS 1.2 only ({suite}); TLS 1.3 refused: {e13}"),
                },
                other => Check {
                    id: "tls.version",
                    zh: "TLS 1.3 与网关证书",
                    en: "TLS 1.3 with the gateway's certificate",
                    verdict: Verdict::Fail,
                    evidence: format!(
                        "no TLS connection with the gateway's certificate and trust: TLS 1.3: {e13}; TLS 1.2: {}",
                        describe(&other)
                    ),
                },
            }
        }
    };
    push(&mut checks, version)?;

    // The server's chain, against its own region's CA only.
    let chain = match config.trust.get(&region) {
        None => Check {
            id: "tls.chain",
            zh: "服务端证书链（本地区 CA）",
            en: "server chain (own region's CA)",
            verdict: Verdict::Fail,
            evidence: format!("no [trust.{}] CA in the configuration", region.code()),
        },
        Some(trust) => match probe(&ep, client(ANY, roots(&trust.ca)?, gateway)?).await {
            Probe::Http { .. } => Check {
                id: "tls.chain",
                zh: "服务端证书链（本地区 CA）",
                en: "server chain (own region's CA)",
                verdict: Verdict::Pass,
                evidence: format!(
                    "valid for `{}` and issued under {}'s CA ({})",
                    ep.host,
                    region.code(),
                    trust.ca.display()
                ),
            },
            other => Check {
                id: "tls.chain",
                zh: "服务端证书链（本地区 CA）",
                en: "server chain (own region's CA)",
                verdict: Verdict::Fail,
                evidence: format!(
                    "not valid for `{}` under {}'s CA ({}): {}",
                    ep.host,
                    region.code(),
                    trust.ca.display(),
                    describe(&other)
                ),
            },
        },
    };
    push(&mut checks, chain)?;

    // Clients the provider must refuse.
    let anonymous = probe(&ep, client(ANY, upstream_roots.clone(), None)?).await;
    push(
        &mut checks,
        refused(
            "tls.no_client_cert",
            "无证书客户端被拒绝",
            "client without a certificate refused",
            &anonymous,
        ),
    )?;
    let foreign = match (&args.foreign_cert, &args.foreign_key) {
        (Some(c), Some(k)) => {
            let p = probe(&ep, client(ANY, upstream_roots, Some((c, k)))?).await;
            refused(
                "tls.foreign_client_cert",
                "他地区 CA 签发的客户端证书被拒绝",
                "client certificate of another region's CA refused",
                &p,
            )
        }
        _ => Check {
            id: "tls.foreign_client_cert",
            zh: "他地区 CA 签发的客户端证书被拒绝",
            en: "client certificate of another region's CA refused",
            verdict: Verdict::Warn,
            evidence: "not checked: give --foreign-cert and --foreign-key (a certificate issued by another region's CA)".into(),
        },
    };
    push(&mut checks, foreign)?;
    Ok(checks)
}

fn describe(p: &Probe) -> String {
    match p {
        Probe::Unreachable(e) => format!("unreachable: {e}"),
        Probe::Refused(e) => format!("refused: {e}"),
        Probe::Http {
            version, status, ..
        } => format!("{version}, HTTP {status}"),
    }
}

fn refused(id: &'static str, zh: &'static str, en: &'static str, p: &Probe) -> Check {
    let (verdict, evidence) = match p {
        Probe::Refused(e) => (Verdict::Pass, format!("refused in the handshake: {e}")),
        Probe::Http { status, .. } if matches!(status, 401 | 403) => (
            Verdict::Pass,
            format!("refused with HTTP {status} after the handshake"),
        ),
        Probe::Http { status, .. } => (
            Verdict::Fail,
            format!("accepted: the handshake completed and GET / was answered with HTTP {status}"),
        ),
        Probe::Unreachable(e) => (Verdict::Fail, format!("could not be tried: {e}")),
    };
    Check {
        id,
        zh,
        en,
        verdict,
        evidence,
    }
}

// ---------------------------------------------------------- resources

/// What one call came to, read the way the gateway reads it.
#[derive(Debug)]
enum Seen {
    /// A record.
    Record(Record, Answer),
    /// Not found: HTTP 404, or the mapping's `not_found`.
    NotFound(Answer),
    /// A 2xx the mapping cannot read.
    Unmapped(MapError, Answer),
    /// Another HTTP status.
    Status(Answer),
    /// No answer: unreachable, timeout, too large.
    Failed(Problem),
}

impl Seen {
    fn read(mapping: &Mapping, schema: &Schema, result: Result<Answer, Problem>) -> Seen {
        let answer = match result {
            Err(p) => return Seen::Failed(p),
            Ok(a) => a,
        };
        match answer.status {
            404 => Seen::NotFound(answer),
            200..=299 => {
                let response = NativeResponse {
                    content_type: answer.content_type.as_deref(),
                    body: &answer.body,
                };
                match mapping.catalogue_record(response, schema) {
                    Ok(r) => Seen::Record(r, answer),
                    Err(e) if e.kind() == "not_found" => Seen::NotFound(answer),
                    Err(e) => Seen::Unmapped(e, answer),
                }
            }
            _ => Seen::Status(answer),
        }
    }

    fn answer(&self) -> Option<&Answer> {
        match self {
            Seen::Record(_, a) | Seen::NotFound(a) | Seen::Unmapped(_, a) | Seen::Status(a) => {
                Some(a)
            }
            Seen::Failed(_) => None,
        }
    }

    /// What happened, without any value of the answer.
    fn describe(&self) -> String {
        match self {
            Seen::Record(r, a) => format!("HTTP {}, a record of {} items", a.status, r.len()),
            Seen::NotFound(a) => format!("HTTP {}, not found", a.status),
            Seen::Unmapped(e, a) => format!("HTTP {}, does not map: {} ({e})", a.status, e.kind()),
            Seen::Status(a) => format!("HTTP {}", a.status),
            Seen::Failed(p) => problem_text(p),
        }
    }
}

struct ResourceRun<'a> {
    upstream: &'a Upstream,
    endpoint: &'a str,
    mapping: Arc<Mapping>,
    schema: Arc<Schema>,
    deadline: Duration,
    rate: u32,
    concurrency: usize,
    load_for: Duration,
    region: Region,
}

impl ResourceRun<'_> {
    async fn call(&self, native: &NativeRequest) -> (Seen, Duration) {
        let t = Instant::now();
        let result = self
            .upstream
            .call(self.endpoint, native, self.deadline)
            .await;
        (Seen::read(&self.mapping, &self.schema, result), t.elapsed())
    }

    async fn checks(
        &self,
        fixture: &[Map<String, Value>],
        from_file: &[Map<String, Value>],
        out: &mut dyn Write,
    ) -> anyhow::Result<Vec<Check>> {
        let mut checks = Vec::new();
        let mut push = |checks: &mut Vec<Check>, check: Check| -> std::io::Result<()> {
            progress(out, &check)?;
            checks.push(check);
            Ok(())
        };
        let mut records: Vec<Record> = Vec::new();
        // Keys answered with a record, and those that were too slow: the
        // load run's keys.
        let mut answered: Vec<NativeRequest> = Vec::new();
        let mut slow: Vec<NativeRequest> = Vec::new();
        let mut bodies: Vec<Answer> = Vec::new();
        let mut unmapped: Vec<String> = Vec::new();

        // Keys: the fixture cases', then the file's.
        for (id, zh, en, keys, must_hold) in [
            (
                "keys.fixture",
                "夹具键值应答并映射",
                "fixture keys answered and mapped",
                fixture,
                false,
            ),
            (
                "keys.file",
                "文件键值应答并映射",
                "keys from --keys answered and mapped",
                from_file,
                true,
            ),
        ] {
            if keys.is_empty() {
                if !must_hold {
                    push(
                        &mut checks,
                        Check {
                            id,
                            zh,
                            en,
                            verdict: Verdict::Warn,
                            evidence: "the mapping has no fixture case expecting a record; give keys with --keys".into(),
                        },
                    )?;
                }
                continue;
            }
            let (mut held, mut not_held, mut failed) = (0usize, 0usize, Vec::new());
            for (n, key) in keys.iter().enumerate() {
                let native = match self.mapping.native_request(key, &self.schema) {
                    Ok(n) => n,
                    Err(e) => {
                        failed.push(format!(
                            "key {}: not a valid key: {} ({e})",
                            n + 1,
                            e.kind()
                        ));
                        continue;
                    }
                };
                let (seen, took) = self.call(&native).await;
                match &seen {
                    Seen::Record(r, _) => {
                        held += 1;
                        records.push(r.clone());
                        answered.push(native);
                    }
                    Seen::NotFound(_) => not_held += 1,
                    Seen::Unmapped(e, _) => {
                        unmapped.push(e.kind().to_owned());
                        failed.push(format!("key {}: {}", n + 1, seen.describe()));
                    }
                    Seen::Failed(Problem::UpstreamTimeout) => {
                        slow.push(native);
                        failed.push(format!(
                            "key {}: no answer within the entry's deadline of {} ms (waited {} ms)",
                            n + 1,
                            self.deadline.as_millis(),
                            took.as_millis()
                        ));
                    }
                    _ => failed.push(format!("key {}: {}", n + 1, seen.describe())),
                }
                if let Some(a) = seen.answer() {
                    bodies.push(clone_answer(a));
                }
            }
            let verdict = if !failed.is_empty() || (must_hold && not_held > 0) || held == 0 {
                Verdict::Fail
            } else if not_held > 0 {
                Verdict::Warn
            } else {
                Verdict::Pass
            };
            let mut evidence = format!(
                "{} keys: {held} answered with a record that maps, {not_held} not found{}",
                keys.len(),
                if not_held > 0 && !must_hold {
                    " (not held by this environment)"
                } else {
                    ""
                }
            );
            for f in &failed {
                evidence.push_str(&format!("; {f}"));
            }
            push(
                &mut checks,
                Check {
                    id,
                    zh,
                    en,
                    verdict,
                    evidence,
                },
            )?;
        }

        // Items: required present; types and code lists.
        push(&mut checks, self.required_items(&records, &unmapped))?;
        push(&mut checks, self.types(&records, &unmapped))?;
        push(&mut checks, encoding_check(&bodies, &self.mapping))?;

        // An unknown key and a malformed one.
        let mut error_bodies = Vec::new();
        let unknown = unknown_key(&self.schema, self.region);
        let (seen, _) = match self.mapping.native_request_for(&unknown) {
            Ok(native) => self.call(&native).await,
            Err(e) => (
                Seen::Failed(Problem::MappingFailed(crate::problem::Detail::new(
                    format!("映射无法构造请求：{e}"),
                    e.to_string(),
                ))),
                Duration::ZERO,
            ),
        };
        let check = match &seen {
            Seen::NotFound(a) => Check {
                id: "key.unknown",
                zh: "未知键值答复为查无",
                en: "unknown key answered as not found",
                verdict: Verdict::Pass,
                evidence: format!(
                    "HTTP {}, read as not found (the gateway answers record_not_found)",
                    a.status
                ),
            },
            Seen::Record(..) => Check {
                id: "key.unknown",
                zh: "未知键值答复为查无",
                en: "unknown key answered as not found",
                verdict: Verdict::Fail,
                evidence: "a record came back for a key made up to exist nowhere".into(),
            },
            Seen::Unmapped(e, a) => Check {
                id: "key.unknown",
                zh: "未知键值答复为查无",
                en: "unknown key answered as not found",
                verdict: Verdict::Fail,
                evidence: format!(
                    "HTTP {}, but the mapping reads it as {} ({e}), not as not found: the gateway would answer mapping_failed instead of record_not_found",
                    a.status,
                    e.kind()
                ),
            },
            Seen::Status(a) => Check {
                id: "key.unknown",
                zh: "未知键值答复为查无",
                en: "unknown key answered as not found",
                verdict: Verdict::Fail,
                evidence: format!(
                    "HTTP {}: the gateway would answer upstream_error instead of record_not_found (answer 404, or the envelope the mapping's `not_found` reads)",
                    a.status
                ),
            },
            Seen::Failed(p) => Check {
                id: "key.unknown",
                zh: "未知键值答复为查无",
                en: "unknown key answered as not found",
                verdict: Verdict::Fail,
                evidence: problem_text(p),
            },
        };
        push(&mut checks, check)?;
        if let Some(a) = seen.answer() {
            error_bodies.push(("unknown key", clone_answer(a)));
        }

        let malformed = malformed_key(&self.schema);
        let (seen, _) = match self.mapping.native_request_for(&malformed) {
            Ok(native) => self.call(&native).await,
            Err(e) => (
                Seen::Failed(Problem::MappingFailed(crate::problem::Detail::new(
                    format!("映射无法构造请求：{e}"),
                    e.to_string(),
                ))),
                Duration::ZERO,
            ),
        };
        let (verdict, evidence) = match &seen {
            Seen::Status(a) if a.status >= 500 => (
                Verdict::Fail,
                format!(
                    "HTTP {}: a malformed key is the caller's error (answer 400 or the not-found envelope), not a server fault",
                    a.status
                ),
            ),
            Seen::Record(..) => (
                Verdict::Fail,
                "a record came back for a malformed key".to_owned(),
            ),
            Seen::Failed(p) => (Verdict::Fail, problem_text(p)),
            other => (Verdict::Pass, format!("refused: {}", other.describe())),
        };
        push(
            &mut checks,
            Check {
                id: "key.malformed",
                zh: "畸形键值被拒绝（非 5xx）",
                en: "malformed key refused, not a 5xx",
                verdict,
                evidence,
            },
        )?;
        if let Some(a) = seen.answer() {
            error_bodies.push(("malformed key", clone_answer(a)));
        }
        for a in &bodies {
            if !(200..=299).contains(&a.status) {
                error_bodies.push(("fixture key", clone_answer(a)));
            }
        }
        push(&mut checks, personal_data_check(&error_bodies, &records))?;

        // The load run.
        let load_keys = if answered.is_empty() { slow } else { answered };
        for check in self.load(&load_keys).await {
            push(&mut checks, check)?;
        }
        Ok(checks)
    }

    fn required_items(&self, records: &[Record], unmapped: &[String]) -> Check {
        let required: Vec<&str> = self
            .schema
            .items
            .iter()
            .filter(|f| f.required)
            .map(|f| f.name.as_str())
            .collect();
        let mut missing = BTreeSet::new();
        for r in records {
            for name in &required {
                if r.get(*name).is_none_or(Value::is_null) {
                    missing.insert(*name);
                }
            }
        }
        let mapped_missing = unmapped
            .iter()
            .filter(|k| matches!(k.as_str(), "missing_item" | "no_value" | "no_record"))
            .count();
        let (verdict, evidence) = if !missing.is_empty() || mapped_missing > 0 {
            (
                Verdict::Fail,
                format!(
                    "{}{} answer(s) missing a required item (the mapping failed with missing_item / no_value / no_record)",
                    if missing.is_empty() {
                        String::new()
                    } else {
                        format!(
                            "missing from records: {}; ",
                            missing.into_iter().collect::<Vec<_>>().join(", ")
                        )
                    },
                    mapped_missing
                ),
            )
        } else if records.is_empty() {
            (
                Verdict::Warn,
                "not checked: no key was answered with a record".to_owned(),
            )
        } else {
            (
                Verdict::Pass,
                format!(
                    "{} record(s), each with {}",
                    records.len(),
                    required.join(", ")
                ),
            )
        };
        Check {
            id: "items.required",
            zh: "必填数据项齐全",
            en: "required catalogue items present",
            verdict,
            evidence,
        }
    }

    fn types(&self, records: &[Record], unmapped: &[String]) -> Check {
        let mut wrong = BTreeSet::new();
        for r in records {
            for (name, value) in r {
                let Some(field) = self.schema.item(name) else {
                    wrong.insert(format!("{name}: not an item of {}", self.schema.resource));
                    continue;
                };
                if value.is_null() {
                    continue;
                }
                let ok = match &field.ty {
                    ItemType::Integer => value.is_i64() || value.is_u64(),
                    ItemType::Boolean => value.is_boolean(),
                    ItemType::Code => value
                        .as_str()
                        .is_some_and(|c| field.codes.iter().any(|k| k == c)),
                    _ => value.is_string(),
                };
                if !ok {
                    wrong.insert(format!("{name}: not a {}", field.ty));
                }
            }
        }
        let kinds: Vec<&String> = unmapped
            .iter()
            .filter(|k| matches!(k.as_str(), "invalid" | "unknown_code" | "ambiguous"))
            .collect();
        let (verdict, evidence) = if !wrong.is_empty() || !kinds.is_empty() {
            let mut e = wrong.into_iter().collect::<Vec<_>>().join("; ");
            if !kinds.is_empty() {
                if !e.is_empty() {
                    e.push_str("; ");
                }
                e.push_str(&format!(
                    "{} answer(s) with values outside the catalogue's types or code lists ({})",
                    kinds.len(),
                    kinds
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<BTreeSet<_>>()
                        .into_iter()
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            (Verdict::Fail, e)
        } else if records.is_empty() {
            (
                Verdict::Warn,
                "not checked: no key was answered with a record".to_owned(),
            )
        } else {
            (
                Verdict::Pass,
                format!(
                    "{} record(s): every item of its catalogue type, every code in its list",
                    records.len()
                ),
            )
        };
        Check {
            id: "items.types",
            zh: "类型与代码表",
            en: "types and code lists",
            verdict,
            evidence,
        }
    }

    async fn load(&self, natives: &[NativeRequest]) -> Vec<Check> {
        let zh_errors = "负载下无错误";
        let en_errors = "no errors under load";
        let zh_latency = "负载下时延（p50/p99 对比期限）";
        let en_latency = "latency under load (p50/p99 against the deadline)";
        if natives.is_empty() {
            return vec![Check {
                id: "load",
                zh: "按条目速率负载",
                en: "load at the entry's rate",
                verdict: Verdict::Warn,
                evidence: "not run: no key was answered with a record".into(),
            }];
        }
        let rate = self.rate.max(1);
        let millis = u64::try_from(self.load_for.as_millis()).unwrap_or(u64::MAX);
        let total = u64::from(rate).saturating_mul(millis).div_ceil(1000).max(1);
        let semaphore = Arc::new(tokio::sync::Semaphore::new(self.concurrency));
        let mut interval = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate)));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut tasks = tokio::task::JoinSet::new();
        let mut skipped = 0u64;
        let started = Instant::now();
        for i in 0..total {
            interval.tick().await;
            let Ok(permit) = semaphore.clone().try_acquire_owned() else {
                skipped += 1;
                continue;
            };
            let n = usize::try_from(i).unwrap_or_default() % natives.len();
            let Some(native) = natives.get(n).cloned() else {
                continue;
            };
            let upstream = self.upstream.clone();
            let endpoint = self.endpoint.to_owned();
            let mapping = self.mapping.clone();
            let schema = self.schema.clone();
            let deadline = self.deadline;
            tasks.spawn(async move {
                let t = Instant::now();
                let result = upstream.call(&endpoint, &native, deadline).await;
                let took = t.elapsed();
                drop(permit);
                let seen = Seen::read(&mapping, &schema, result);
                let error = match seen {
                    Seen::Record(..) => None,
                    Seen::Failed(p) => Some(p.code().to_owned()),
                    other => Some(other.describe()),
                };
                (took, error)
            });
        }
        let mut latencies = Vec::new();
        let mut errors: BTreeMap<String, usize> = BTreeMap::new();
        while let Some(done) = tasks.join_next().await {
            match done {
                Ok((took, error)) => {
                    latencies.push(took);
                    if let Some(e) = error {
                        *errors.entry(e).or_default() += 1;
                    }
                }
                Err(e) => *errors.entry(format!("task failed: {e}")).or_default() += 1,
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        latencies.sort();
        let p50 = percentile(&latencies, 50);
        let p99 = percentile(&latencies, 99);
        let sent = latencies.len();
        let error_count: usize = errors.values().sum();
        let run = format!(
            "{rate}/s for {:.1} s at concurrency {}: {sent} calls",
            seconds, self.concurrency
        );
        let errors_check = Check {
            id: "load.errors",
            zh: zh_errors,
            en: en_errors,
            verdict: if error_count > 0 {
                Verdict::Fail
            } else if skipped > 0 {
                Verdict::Warn
            } else {
                Verdict::Pass
            },
            evidence: format!(
                "{run}, {error_count} errors{}{}",
                if errors.is_empty() {
                    String::new()
                } else {
                    format!(
                        " ({})",
                        errors
                            .iter()
                            .map(|(k, v)| format!("{v}× {k}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                },
                if skipped > 0 {
                    format!(
                        "; {skipped} calls not sent: all {} in flight, the rate was not kept",
                        self.concurrency
                    )
                } else {
                    String::new()
                }
            ),
        };
        let deadline_ms = self.deadline.as_millis();
        let latency_check = Check {
            id: "load.latency",
            zh: zh_latency,
            en: en_latency,
            verdict: if p99 > self.deadline {
                Verdict::Fail
            } else if p99 * 2 > self.deadline {
                Verdict::Warn
            } else {
                Verdict::Pass
            },
            evidence: format!(
                "p50 {} ms, p99 {} ms, deadline {deadline_ms} ms{}",
                p50.as_millis(),
                p99.as_millis(),
                if p99 > self.deadline {
                    ": p99 over the deadline, the gateway would answer upstream_timeout"
                } else if p99 * 2 > self.deadline {
                    ": p99 over half the deadline, no headroom"
                } else {
                    ""
                }
            ),
        };
        vec![errors_check, latency_check]
    }
}

/// A failed call as the gateway would name it.
fn problem_text(p: &Problem) -> String {
    match p {
        Problem::UpstreamUnavailable => {
            "upstream_unavailable: no connection, or the connection failed".into()
        }
        Problem::UpstreamTimeout => {
            "upstream_timeout: no answer within the entry's deadline".into()
        }
        Problem::MappingFailed(detail) => format!("mapping_failed: {}", detail.en),
        other => other.code().to_owned(),
    }
}

fn clone_answer(a: &Answer) -> Answer {
    Answer {
        status: a.status,
        content_type: a.content_type.clone(),
        body: a.body.clone(),
    }
}

/// The nearest-rank percentile of sorted durations.
fn percentile(sorted: &[Duration], p: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (sorted.len() * p).div_ceil(100).max(1);
    sorted.get(rank - 1).copied().unwrap_or_default()
}

/// Two-digit province prefixes of the regions' codes.
fn province(region: Region) -> &'static str {
    match region {
        Region::Sh => "31",
        Region::Js => "32",
        Region::Zj => "33",
        Region::Ah => "34",
    }
}

/// A key of the right form that no register holds: a credit code or identity
/// number with a correct check character, a text nobody registers.
fn unknown_key(schema: &Schema, region: Region) -> BTreeMap<String, String> {
    let p = province(region);
    schema
        .key
        .iter()
        .filter(|f| f.required)
        .map(|f| {
            let value = match f.ty {
                ItemType::Uscc => {
                    let first17 = format!("91{p}0000MA0YRDX01");
                    match Uscc::check_char(&first17) {
                        Ok(c) => format!("{first17}{c}"),
                        Err(_) => first17,
                    }
                }
                ItemType::ResidentId => {
                    let first17 = format!("{p}0000190001010999");
                    let first17 = first17.get(..17).unwrap_or(&first17).to_owned();
                    match yrdx_signing::check_resident_id(&format!("{first17}0")) {
                        Ok(()) => format!("{first17}0"),
                        Err(yrdx_signing::IdentError::ResidentIdCheck { expected }) => {
                            format!("{first17}{expected}")
                        }
                        Err(_) => first17,
                    }
                }
                ItemType::AreaCode => format!("{p}9999"),
                ItemType::Date => "1900-01-01".to_owned(),
                ItemType::Integer => "999999999".to_owned(),
                _ => "YRDX-CONFORMANCE-NO-SUCH-KEY".to_owned(),
            };
            (f.name.clone(), value)
        })
        .collect()
}

/// A key no catalogue type accepts: the gateway would never send it, but a
/// provider must still refuse it calmly.
fn malformed_key(schema: &Schema) -> BTreeMap<String, String> {
    schema
        .key
        .iter()
        .filter(|f| f.required)
        .map(|f| (f.name.clone(), "YRDX'\"<&>%;--1".to_owned()))
        .collect()
}

// ----------------------------------------------------------- encoding

/// Which encoding bytes are in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Actual {
    Ascii,
    Utf8,
    Gb18030,
    Unknown,
}

fn actual(body: &[u8]) -> Actual {
    if body.is_ascii() {
        Actual::Ascii
    } else if std::str::from_utf8(body.strip_prefix(b"\xef\xbb\xbf").unwrap_or(body)).is_ok() {
        Actual::Utf8
    } else if encoding_rs::GB18030
        .decode_without_bom_handling_and_without_replacement(body)
        .is_some()
    {
        Actual::Gb18030
    } else {
        Actual::Unknown
    }
}

/// A charset label as the family it names: `UTF-8` or `GB18030` (GBK and
/// GB2312 are read as GB18030's subsets), else the label as given.
fn family(label: &str) -> String {
    match encoding_rs::Encoding::for_label(label.trim().as_bytes()) {
        Some(e) if e == encoding_rs::UTF_8 => "UTF-8".into(),
        Some(e) if e == encoding_rs::GB18030 || e == encoding_rs::GBK => "GB18030".into(),
        Some(e) => e.name().into(),
        None => label.trim().to_owned(),
    }
}

fn charset(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches('"'))
    })
}

/// `encoding="…"` of an XML declaration at the start of the body.
fn xml_declared(body: &[u8]) -> Option<String> {
    let head = body.get(..body.len().min(200))?;
    let head = String::from_utf8_lossy(head);
    let decl = head.trim_start_matches('\u{feff}').strip_prefix("<?xml")?;
    let decl = decl.split("?>").next()?;
    let at = decl.find("encoding")?;
    let rest = decl.get(at + "encoding".len()..)?.trim_start();
    let rest = rest.strip_prefix('=')?.trim_start();
    let quote = rest.chars().next()?;
    let rest = rest.get(1..)?;
    Some(rest.split(quote).next()?.to_owned())
}

fn encoding_check(bodies: &[Answer], mapping: &Mapping) -> Check {
    let mut wrong = BTreeSet::new();
    let mut seen = BTreeSet::new();
    let mut undeclared = 0usize;
    for a in bodies {
        let header = a.content_type.as_deref().and_then(charset).map(family);
        let document = match mapping.response_format() {
            yrdx_adapters::Format::Xml => xml_declared(&a.body).map(|l| family(&l)),
            yrdx_adapters::Format::Json => None,
        };
        if let (Some(h), Some(d)) = (&header, &document)
            && h != d
        {
            wrong.insert(format!(
                "the Content-Type says {h}, the XML declaration {d}"
            ));
        }
        let declared = header.or(document);
        let got = actual(&a.body);
        let got_name = match got {
            Actual::Ascii => "ASCII",
            Actual::Utf8 => "UTF-8",
            Actual::Gb18030 => "GB18030",
            Actual::Unknown => "neither UTF-8 nor GB18030",
        };
        seen.insert(format!(
            "{} → {got_name}",
            declared.as_deref().unwrap_or("undeclared (UTF-8)")
        ));
        let expected = declared.clone().unwrap_or_else(|| "UTF-8".into());
        match got {
            Actual::Ascii => {}
            Actual::Utf8 if expected == "UTF-8" => {}
            Actual::Gb18030 if expected == "GB18030" => {}
            _ => {
                wrong.insert(format!(
                    "HTTP {} declared {} but the bytes are {got_name}",
                    a.status,
                    declared.as_deref().unwrap_or("nothing (so UTF-8)")
                ));
            }
        }
        if declared.is_none() && got != Actual::Ascii {
            undeclared += 1;
        }
    }
    let (verdict, evidence) = if !wrong.is_empty() {
        (
            Verdict::Fail,
            wrong.into_iter().collect::<Vec<_>>().join("; "),
        )
    } else if bodies.is_empty() {
        (
            Verdict::Warn,
            "not checked: no answer to look at".to_owned(),
        )
    } else if undeclared > 0 {
        (
            Verdict::Warn,
            format!(
                "{undeclared} answer(s) in UTF-8 without a charset: declare it in the Content-Type"
            ),
        )
    } else {
        (
            Verdict::Pass,
            format!(
                "{} answer(s): {}",
                bodies.len(),
                seen.into_iter().collect::<Vec<_>>().join(", ")
            ),
        )
    };
    Check {
        id: "encoding",
        zh: "声明编码与实际一致",
        en: "declared encoding is the actual one",
        verdict,
        evidence,
    }
}

// ------------------------------------------------------- personal data

/// The kinds of personal data found in `text`: resident identity numbers
/// (with a correct check character), mobile numbers, and text values of
/// records answered for other keys (named by item, never shown).
fn personal_data(text: &str, records: &[Record]) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let chars: Vec<char> = text.chars().collect();
    let digit_run = |c: &char| c.is_ascii_digit() || *c == 'X' || *c == 'x';
    let mut i = 0;
    while i < chars.len() {
        if chars.get(i).is_some_and(|c| c.is_ascii_digit()) {
            let start = i;
            while chars.get(i).is_some_and(digit_run) {
                i += 1;
            }
            let run: String = chars
                .get(start..i)
                .map(|s| s.iter().collect())
                .unwrap_or_default();
            if run.len() == 18 && yrdx_signing::check_resident_id(&run.to_ascii_uppercase()).is_ok()
            {
                found.insert("a resident identity number".to_owned());
            }
            if run.len() == 11
                && run.starts_with('1')
                && run
                    .as_bytes()
                    .get(1)
                    .is_some_and(|b| (b'3'..=b'9').contains(b))
            {
                found.insert("a mobile phone number".to_owned());
            }
        } else {
            i += 1;
        }
    }
    for r in records {
        for (name, value) in r {
            if let Some(s) = value.as_str()
                && s.chars().count() >= 2
                && !s.is_ascii()
                && text.contains(s)
            {
                found.insert(format!("the value of item `{name}` of a record"));
            }
        }
    }
    found
}

fn personal_data_check(bodies: &[(&str, Answer)], records: &[Record]) -> Check {
    let mut found = BTreeSet::new();
    for (what, a) in bodies {
        let text = match actual(&a.body) {
            Actual::Gb18030 => encoding_rs::GB18030
                .decode_without_bom_handling(&a.body)
                .0
                .into_owned(),
            _ => String::from_utf8_lossy(&a.body).into_owned(),
        };
        for kind in personal_data(&text, records) {
            found.insert(format!(
                "the answer for a {what} (HTTP {}) holds {kind}",
                a.status
            ));
        }
    }
    let (verdict, evidence) = if !found.is_empty() {
        (
            Verdict::Fail,
            found.into_iter().collect::<Vec<_>>().join("; "),
        )
    } else if bodies.is_empty() {
        (
            Verdict::Warn,
            "not checked: no error answer to look at".to_owned(),
        )
    } else {
        (
            Verdict::Pass,
            format!(
                "{} error answer(s): no identity number, mobile number or record value",
                bodies.len()
            ),
        )
    };
    Check {
        id: "errors.personal_data",
        zh: "错误答复不含个人信息",
        en: "no personal data in error answers",
        verdict,
        evidence,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_have_correct_check_characters() {
        use yrdx_adapters::Field;
        let schema = Schema {
            resource: "R".into(),
            key: vec![
                Field {
                    name: "uscc".into(),
                    ty: ItemType::Uscc,
                    required: true,
                    codes: vec![],
                },
                Field {
                    name: "id_number".into(),
                    ty: ItemType::ResidentId,
                    required: true,
                    codes: vec![],
                },
            ],
            items: vec![],
        };
        let key = unknown_key(&schema, Region::Js);
        assert!(Uscc::parse(&key["uscc"]).is_ok(), "{key:?}");
        assert!(yrdx_signing::check_resident_id(&key["id_number"]).is_ok());
        assert!(key["uscc"].starts_with("9132"));
    }

    #[test]
    fn personal_data_is_found_by_kind_not_shown() {
        let mut r = Record::new();
        r.insert("name".into(), Value::String("王建国".into()));
        let found = personal_data(
            r#"{"msg":"no 320102198506203411 for 王建国, call 13912345678"}"#,
            &[r],
        );
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(personal_data(r#"{"code":"4004","ts":20260101123456789}"#, &[]).is_empty());
    }

    #[test]
    fn encodings_are_told_apart() {
        let (gb, _, _) = encoding_rs::GB18030.encode("合肥市");
        assert_eq!(actual(&gb), Actual::Gb18030);
        assert_eq!(actual("合肥市".as_bytes()), Actual::Utf8);
        assert_eq!(actual(b"{}"), Actual::Ascii);
        assert_eq!(family("gbk"), "GB18030");
        assert_eq!(family("utf8"), "UTF-8");
        assert_eq!(charset("text/xml; charset=\"GB18030\""), Some("GB18030"));
        assert_eq!(
            xml_declared(b"<?xml version=\"1.0\" encoding='GB18030'?><a/>").as_deref(),
            Some("GB18030")
        );
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let d: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&d, 50), Duration::from_millis(50));
        assert_eq!(percentile(&d, 99), Duration::from_millis(99));
        assert_eq!(percentile(&[], 99), Duration::ZERO);
    }
}
