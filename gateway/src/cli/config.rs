//! `yrdx config check`: everything `yrdx serve` would check before it starts,
//! and nothing started — files, keys and their permissions, certificates and
//! CRLs per region with their dates and whether revocation is checked, the
//! store (reachable, schema, registry, exchange log, node name), the
//! registry with its mappings and the listen addresses. One line per check;
//! the exit status is 1 when any check fails. The store is only read.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use time::OffsetDateTime;
use x509_parser::prelude::{FromDer as _, X509Certificate};
use x509_parser::revocation_list::CertificateRevocationList;
use yrdx_registry::{NodeName, Store, StoreOptions};

use super::cst;
use crate::config::Config;
use crate::{registry_ops, server};

/// How a check came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Fine.
    Ok,
    /// Works, but worth a look (a certificate about to expire, revocation
    /// not checked, a stale CRL within `tls.crl_grace_hours`); a CRL past
    /// its nextUpdate and the grace is an error.
    Warn,
    /// `serve` would refuse to start, or would fail soon after.
    Error,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Status::Ok => "通过 ok   ",
            Status::Warn => "警告 warn ",
            Status::Error => "错误 error",
        }
    }
}

/// One line of the report.
#[derive(Clone, Debug)]
pub struct Check {
    /// How it came out.
    pub status: Status,
    /// What was checked, e.g. `trust.js`.
    pub what: String,
    /// What was found.
    pub detail: String,
}

/// Everything checked, in order.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// The checks.
    pub checks: Vec<Check>,
}

impl Report {
    fn push(&mut self, status: Status, what: impl Into<String>, detail: impl Into<String>) {
        self.checks.push(Check {
            status,
            what: what.into(),
            detail: detail.into(),
        });
    }

    fn result<T, E: std::fmt::Display>(
        &mut self,
        what: &str,
        result: Result<T, E>,
        ok: impl FnOnce(&T) -> String,
    ) -> Option<T> {
        match result {
            Ok(v) => {
                let detail = ok(&v);
                self.push(Status::Ok, what, detail);
                Some(v)
            }
            Err(e) => {
                self.push(Status::Error, what, e.to_string());
                None
            }
        }
    }

    /// Whether any check failed.
    pub fn failed(&self) -> bool {
        self.checks.iter().any(|c| c.status == Status::Error)
    }

    /// One line per check.
    pub fn to_text(&self) -> String {
        let width = self.checks.iter().map(|c| c.what.len()).max().unwrap_or(0);
        let mut out = String::new();
        for c in &self.checks {
            out.push_str(&format!(
                "{}  {:width$}  {}\n",
                c.status.label(),
                c.what,
                c.detail
            ));
        }
        let errors = self
            .checks
            .iter()
            .filter(|c| c.status == Status::Error)
            .count();
        let warnings = self
            .checks
            .iter()
            .filter(|c| c.status == Status::Warn)
            .count();
        out.push_str(&format!(
            "{} 项检查，{errors} 项错误，{warnings} 项警告 / {} checks, {errors} errors, {warnings} warnings\n",
            self.checks.len(),
            self.checks.len()
        ));
        out
    }
}

/// Runs `yrdx config check` and prints its report; exit status 1 if any
/// check failed.
#[allow(clippy::print_stdout, reason = "the command's output")]
pub fn run(config: &Path) -> anyhow::Result<ExitCode> {
    let report = super::runtime()?.block_on(check(config));
    print!("{}", report.to_text());
    Ok(if report.failed() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// A certificate about to expire within this is worth a warning.
const EXPIRY_WARNING: Duration = Duration::from_secs(30 * 86_400);

/// Checks the configuration at `path` as `yrdx serve` would, starting
/// nothing and writing nothing.
pub async fn check(path: &Path) -> Report {
    let mut report = Report::default();
    let Some(config) = report.result("配置 configuration", Config::load(path), |c| {
        format!("{} (node {})", path.display(), c.node)
    }) else {
        return report;
    };
    let now = yrdx_registry::now();

    // Files and keys, as `serve` loads them before it opens the store.
    if let Some(signer) = report.result("log.key", crate::log_key::load(&config.log.key), |_| {
        format!("{} (owner-only)", config.log.key.display())
    }) {
        match server::check_key_name(&config, &signer) {
            Ok(()) => report.push(
                Status::Ok,
                "log.origin",
                format!("`{}`, the log key's name", config.log.origin),
            ),
            Err(e) => report.push(Status::Error, "log.origin", e.to_string()),
        }
    }
    certificate(&mut report, "tls.cert", &config.tls.cert, now);
    report.result("tls.key", crate::tls::load_key(&config.tls.key), |_| {
        config.tls.key.display().to_string()
    });
    for (region, trust) in &config.trust {
        region_trust(&mut report, region.code(), trust, config.tls.crl_grace, now);
    }
    report.result("tls", crate::tls::server(&config), |_| {
        "the exchange listener's TLS configuration builds".into()
    });
    certificate(&mut report, "upstream.cert", &config.upstream.cert, now);
    report.result("upstream", crate::upstream::Upstream::new(&config), |_| {
        "the client for providers builds".into()
    });
    report.result("seal_trust", crate::seals::load(&config.seal_trust), |_| {
        format!("{} region(s)", config.seal_trust.len())
    });
    let seeded = if config.registry.files.is_empty() {
        None
    } else {
        report.result(
            "registry.files",
            registry_ops::read_checked(&config.registry.files, &config.adapters.dir),
            |(_, source)| format!("{source}: consistent, every active entry has its mapping"),
        )
    };

    store(&mut report, &config, seeded.is_some(), now).await;

    for (key, addr) in [
        ("listen.exchange", config.listen.exchange),
        ("listen.admin", config.listen.admin),
    ] {
        match std::net::TcpListener::bind(addr) {
            Ok(_) => report.push(Status::Ok, key, format!("{addr} is free")),
            Err(e) => report.push(Status::Error, key, format!("cannot listen on {addr}: {e}")),
        }
    }
    report
}

/// The store: reachable, schema, registry in force with its mappings, the
/// exchange log's settings, the node name.
async fn store(report: &mut Report, config: &Config, seeded: bool, now: OffsetDateTime) {
    let url = &config.store.url;
    let shown = yrdx_registry::redact(url);
    let timeout = config.store.acquire_timeout;
    let Some(info) = report.result("store", yrdx_registry::inspect(url, timeout).await, |i| {
        if i.exists {
            format!(
                "{shown}: reachable, schema {} of {}",
                i.schema, i.schema_known
            )
        } else {
            format!("{shown}: does not exist yet; `yrdx serve` creates it")
        }
    }) else {
        return;
    };
    if info.schema > info.schema_known {
        report.push(
            Status::Error,
            "store schema",
            format!(
                "schema {} is newer than this yrdx knows ({}): run the newer yrdx",
                info.schema, info.schema_known
            ),
        );
        return;
    }
    // The exchange log: an origin fixed by leaves must match.
    match &info.log {
        Some((origin, hash)) if *origin != config.log.origin || hash != config.log.hash.name() => {
            if info.log_size == 0 {
                report.push(
                    Status::Warn,
                    "exchange log",
                    format!(
                        "created as `{origin}` ({hash}) and still empty: `yrdx serve` changes it to `{}` ({})",
                        config.log.origin,
                        config.log.hash.name()
                    ),
                );
            } else {
                report.push(
                    Status::Error,
                    "exchange log",
                    format!(
                        "holds {} leaves under origin `{origin}` ({hash}); the configuration says `{}` ({}): set `log.origin` and `log.hash` back to the stored ones",
                        info.log_size,
                        config.log.origin,
                        config.log.hash.name()
                    ),
                );
            }
        }
        Some((origin, hash)) => report.push(
            Status::Ok,
            "exchange log",
            format!("`{origin}` ({hash}), {} leaves", info.log_size),
        ),
        None => report.push(
            Status::Ok,
            "exchange log",
            format!(
                "not created yet; `yrdx serve` creates it as `{}` ({})",
                config.log.origin,
                config.log.hash.name()
            ),
        ),
    }
    match yrdx_registry::node_name(url, &config.node, timeout).await {
        Ok(NodeName::Free) => report.push(
            Status::Ok,
            "node",
            format!("`{}` is not running on this store", config.node),
        ),
        Ok(NodeName::Taken) => report.push(
            Status::Error,
            "node",
            format!(
                "`{}` already runs on this store: stop that process, or give this node its own `node` name",
                config.node
            ),
        ),
        Err(e) => report.push(Status::Error, "node", e.to_string()),
    }
    // The registry in force, checked with the mappings as a start would.
    if info.registry_versions == 0 {
        if seeded {
            report.push(
                Status::Ok,
                "registry",
                "the store holds none yet; `yrdx serve` imports registry.files",
            );
        } else {
            report.push(
                Status::Error,
                "registry",
                yrdx_registry::RegistryError::Empty.to_string(),
            );
        }
        return;
    }
    if info.schema < info.schema_known {
        report.push(
            Status::Ok,
            "registry",
            format!(
                "{} version(s); the schema is brought up to date at start, the registry checked then",
                info.registry_versions
            ),
        );
        return;
    }
    let options = StoreOptions {
        max_connections: 1,
        acquire_timeout: timeout,
    };
    let checked = async {
        let store = Store::open_read_only(url, &options).await?;
        let stored = store
            .registry_at(yrdx_signing::time::unix_ms(now))
            .await
            .map_err(registry_ops::SnapshotError::from);
        store.close().await;
        let (version, data) = stored?;
        let (registry, mappings) = registry_ops::check(version, data, &config.adapters.dir)?;
        Ok::<_, registry_ops::SnapshotError>((registry.version(), mappings.len()))
    };
    report.result("registry", checked.await, |(version, mappings)| {
        format!("version {version} in force, {mappings} mapping(s) checked with it")
    });
}

/// One certificate file: its first certificate's subject and dates.
fn certificate(report: &mut Report, key: &str, path: &Path, now: OffsetDateTime) {
    let certs = match crate::tls::load_certs(path) {
        Ok(c) => c,
        Err(e) => return report.push(Status::Error, key, e.to_string()),
    };
    let Some(first) = certs.first() else {
        return report.push(
            Status::Error,
            key,
            format!("{}: no certificate", path.display()),
        );
    };
    match X509Certificate::from_der(first) {
        Ok((_, cert)) => {
            let (status, dates) = validity(&cert, now);
            report.push(
                status,
                key,
                format!("{}: {}, {dates}", path.display(), cert.subject()),
            );
        }
        Err(e) => report.push(Status::Error, key, format!("{}: {e}", path.display())),
    }
}

/// A certificate's validity as text, and whether it is a problem now.
fn validity(cert: &X509Certificate<'_>, now: OffsetDateTime) -> (Status, String) {
    let from = cert.validity().not_before.to_datetime();
    let until = cert.validity().not_after.to_datetime();
    let dates = format!("valid {} to {}", cst(from), cst(until));
    if now < from {
        (Status::Error, format!("{dates}: not valid yet"))
    } else if now > until {
        (Status::Error, format!("{dates}: expired"))
    } else if until - now < EXPIRY_WARNING {
        (Status::Warn, format!("{dates}: expires within 30 days"))
    } else {
        (Status::Ok, dates)
    }
}

/// One region's client-certificate trust: its CAs with their dates, its
/// CRLs with theirs, and whether revocation is checked for its members.
fn region_trust(
    report: &mut Report,
    region: &str,
    trust: &crate::config::Trust,
    grace: std::time::Duration,
    now: OffsetDateTime,
) {
    let key = format!("trust.{region}");
    let grace = time::Duration::try_from(grace).unwrap_or(time::Duration::MAX);
    let grace_hours = grace.whole_hours();
    let cas = match crate::tls::load_certs(&trust.ca) {
        Ok(c) => c,
        Err(e) => return report.push(Status::Error, &key, e.to_string()),
    };
    let mut status = Status::Ok;
    let mut parts = Vec::new();
    for der in &cas {
        match X509Certificate::from_der(der) {
            Ok((_, cert)) => {
                let (s, dates) = validity(&cert, now);
                status = status.max(s);
                parts.push(format!("CA {} {dates}", cert.subject()));
            }
            Err(e) => {
                status = Status::Error;
                parts.push(format!("{}: {e}", trust.ca.display()));
            }
        }
    }
    if trust.crls.is_empty() {
        status = status.max(Status::Warn);
        parts.push("吊销未检查 revocation NOT checked (no `crls` for this region)".into());
    } else {
        let mut crls = Vec::new();
        for path in &trust.crls {
            let ders = match crate::tls::load_crls(path) {
                Ok(d) => d,
                Err(e) => {
                    status = Status::Error;
                    crls.push(e.to_string());
                    continue;
                }
            };
            for der in ders {
                match CertificateRevocationList::from_der(&der) {
                    Ok((_, crl)) => {
                        let next = crl.next_update().map(|t| t.to_datetime());
                        let mut text = format!(
                            "{}: issued {}",
                            path.display(),
                            cst(crl.last_update().to_datetime())
                        );
                        match next {
                            Some(next) if next.saturating_add(grace) < now => {
                                status = Status::Error;
                                text.push_str(&format!(
                                    ", next update was due {} and the grace of \
                                     {grace_hours} h (tls.crl_grace_hours) is over: \
                                     过期，该地区成员的握手被拒绝 stale, this region's \
                                     members are refused at the handshake",
                                    cst(next)
                                ));
                            }
                            Some(next) if next < now => {
                                status = status.max(Status::Warn);
                                text.push_str(&format!(
                                    ", next update was due {} (stale: still used until {}, \
                                     the end of the grace of {grace_hours} h; then this \
                                     region's members are refused)",
                                    cst(next),
                                    cst(next.saturating_add(grace))
                                ));
                            }
                            Some(next) => text.push_str(&format!(", next update {}", cst(next))),
                            None => {}
                        }
                        crls.push(text);
                    }
                    Err(e) => {
                        status = Status::Error;
                        crls.push(format!("{}: not a CRL: {e}", path.display()));
                    }
                }
            }
        }
        parts.push(format!(
            "吊销已检查 revocation checked against {}",
            crls.join("; ")
        ));
    }
    report.push(status, key, parts.join("; "));
}
