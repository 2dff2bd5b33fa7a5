//! `yrdx demo`: a whole local federation in one command. It makes the
//! development PKI, starts one sample provider per region, writes the registry,
//! mappings and a node configuration under the demo folder, and starts the
//! gateway from that configuration through the same code path as `yrdx serve`.
//! It then writes `demo.json`, a manifest that tools and tests replay.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use serde::Serialize;
use thiserror::Error;
use yrdx_conformance::demo_data::{self, Example};
use yrdx_conformance::licences::{self, SealPki, SealTrustFile};
use yrdx_conformance::pki::{self, ClientCert, PkiLayout, PkiSpec};
use yrdx_conformance::providers::{self, Fixtures, ProviderTls, RunningProvider};
use yrdx_registry::{RegistryData, Store, StoreOptions};
use yrdx_signing::{MemberId, Region};

use super::{FileError, file_error};
use crate::config::Config;
use crate::registry_ops;
use crate::server::{self, RunningGateway, StartError};

/// Why the demo could not start.
#[derive(Debug, Error)]
pub enum DemoError {
    /// A file could not be written.
    #[error(transparent)]
    Io(#[from] FileError),
    /// The PKI could not be made.
    #[error(transparent)]
    Pki(#[from] pki::PkiError),
    /// A sample provider could not start.
    #[error(transparent)]
    Provider(#[from] providers::ProviderError),
    /// The embedded demo data is inconsistent (a bug in yrdx).
    #[error("demo data: {0}")]
    Data(String),
    /// The generated configuration was refused.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The gateway did not start.
    #[error(transparent)]
    Start(#[from] StartError),
    /// The log key could not be made or read.
    #[error(transparent)]
    LogKey(#[from] crate::log_key::LogKeyError),
    /// `--store` names a database yrdx does not support.
    #[error(
        "--store {0}: not a store yrdx supports; use sqlite:PATH (SQLite) or postgres://USER@HOST:PORT/DB (PostgreSQL)"
    )]
    StoreUrl(String),
    /// The demo seal PKI or licences could not be made.
    #[error("demo seal PKI: {0}")]
    Seal(#[from] yrdx_conformance::seal_maker::MakerError),
}

/// The demo federation's regulator.
pub const DEMO_REGULATOR: &str = "sh:11310000MB1X47335F:audit";

/// The demo log's origin: its name in checkpoints and its key's name.
pub const DEMO_ORIGIN: &str = "yrdx.demo/exchange";

/// What `demo.json` holds.
#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    /// The gateway's base URL.
    pub gateway: String,
    /// The CA bundle to trust the gateway with.
    pub ca_bundle: PathBuf,
    /// Every member's certificate and key, regulator and test impostors included.
    pub members: BTreeMap<String, MemberFiles>,
    /// Examples to replay.
    pub examples: Vec<Example>,
}

/// A member's client certificate files.
#[derive(Debug, Clone, Serialize)]
pub struct MemberFiles {
    /// PEM certificate.
    pub cert: PathBuf,
    /// PEM key.
    pub key: PathBuf,
}

/// A running demo federation.
#[derive(Debug)]
pub struct Demo {
    /// The gateway.
    pub gateway: RunningGateway,
    /// The sample providers.
    pub providers: Vec<RunningProvider>,
    /// The manifest written to `demo.json`.
    pub manifest: Manifest,
    /// Where it was written.
    pub manifest_path: PathBuf,
}

fn write(path: &Path, text: &str) -> Result<(), DemoError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(file_error(parent))?;
    }
    Ok(std::fs::write(path, text).map_err(file_error(path))?)
}

/// The demo federation's members, parsed from the embedded registry.
fn demo_members() -> Result<Vec<MemberId>, DemoError> {
    let mut data = RegistryData::default();
    for (name, text) in demo_data::REGISTRY {
        yrdx_registry::add_toml(&mut data, name, text)
            .map_err(|e| DemoError::Data(e.to_string()))?;
    }
    Ok(data.members.into_iter().map(|m| m.id).collect())
}

/// The PKI the demo federation needs.
pub fn pki_spec() -> Result<PkiSpec, DemoError> {
    let parse = |s: &str| MemberId::parse(s).map_err(|e| DemoError::Data(format!("{s}: {e}")));
    let mut clients: Vec<ClientCert> = demo_members()?.iter().map(ClientCert::for_member).collect();
    for (id, issuer) in demo_data::IMPOSTORS {
        let member = parse(id)?;
        clients.push(ClientCert {
            stem: pki::stem_of(&member),
            member,
            issuer: issuer
                .parse()
                .map_err(|_| DemoError::Data(format!("{issuer}: not a region")))?,
        });
    }
    Ok(PkiSpec {
        gateway: parse(demo_data::GATEWAY_MEMBER)?,
        clients,
        providers: Region::ALL.to_vec(),
    })
}

/// How to run the demo federation.
#[derive(Clone, Debug)]
pub struct DemoOptions {
    /// Folder for PKI, registry, mappings, store and manifest.
    pub dir: PathBuf,
    /// Where the gateway listens.
    pub listen: SocketAddr,
    /// The store; the embedded SQLite file under `dir` when `None`.
    pub store_url: Option<String>,
    /// Sample providers listen on this port and the three after it (sh, js, zj,
    /// ah); on free ports when `None`.
    pub provider_port_base: Option<u16>,
}

/// Runs `yrdx demo`: starts the federation, prints what to try and serves
/// until Ctrl-C or SIGTERM.
#[allow(clippy::print_stdout, reason = "the command's output")]
pub fn run(options: &DemoOptions) -> anyhow::Result<ExitCode> {
    super::runtime()?.block_on(async {
        let running = start(options).await?;
        println!("{}", instructions(&running));
        super::wait_for_signal().await;
        running.gateway.shutdown(Duration::from_secs(5)).await;
        Ok(ExitCode::SUCCESS)
    })
}

/// Starts the demo federation.
pub async fn start(options: &DemoOptions) -> Result<Demo, DemoError> {
    // The option is checked as given, before any file is written: an error
    // about the generated yrdx.toml would blame a file the user never wrote.
    if let Some(url) = &options.store_url
        && yrdx_registry::backend_of(url).is_none()
    {
        return Err(DemoError::StoreUrl(yrdx_registry::redact(url)));
    }
    let dir = options.dir.as_path();
    std::fs::create_dir_all(dir).map_err(file_error(dir))?;
    let dir = dir.canonicalize().map_err(file_error(dir))?;
    let spec = pki_spec()?;
    let layout = pki::init(&dir.join("pki"), &spec, yrdx_registry::now())?;
    // The seal PKI is a different PKI from TLS: its own roots per region,
    // written as the trust files the node configuration names.
    let seal_pki = SealPki::demo(yrdx_registry::now())?;
    let seal_files = seal_pki.trust_files();
    for f in &seal_files {
        write(&dir.join(SEAL_DIR).join(&f.name), &f.pem)?;
    }
    // The bill PKI (test-only, docs/ebills.md): per region a root, its CRL and
    // the signing certificates bills name.
    let bill_config = bill_trust(&dir)?;

    // One sample provider per region, accepting only the gateway's
    // certificate: issued by the gateway's own region's CA (another region's
    // CA is refused in the handshake) and naming the gateway.
    let mut running = Vec::new();
    for (i, region) in (0u16..).zip(Region::ALL) {
        let paths = layout.provider(region);
        let tls = ProviderTls {
            cert: paths.cert,
            key: paths.key,
            client_ca: layout.ca(spec.gateway.region()).cert,
            allowed_client: Some(spec.gateway.clone()),
            client_cert_optional: false,
        };
        let fixtures =
            Fixtures::builtin(region)?.with_licences(&licences::licences(&seal_pki, region)?);
        let p = providers::start(
            fixtures,
            &tls,
            SocketAddr::from((
                [127, 0, 0, 1],
                options
                    .provider_port_base
                    .map_or(0, |b| b.saturating_add(i)),
            )),
        )
        .await?;
        running.push(p);
    }
    // The housing-fund platform is "down": an address nothing listens on.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(file_error(&dir))?;
        l.local_addr().map_err(file_error(&dir))?
    };

    for (name, text) in demo_data::REGISTRY {
        let mut text = (*text).to_owned();
        for (placeholder, region) in demo_data::ENDPOINTS {
            if let Some(p) = running.iter().find(|p| p.region().code() == *region) {
                text = text.replace(placeholder, &p.url());
            }
        }
        text = text.replace(demo_data::OFFLINE_ENDPOINT, &format!("https://{closed}"));
        write(&dir.join("registry").join(name), &text)?;
    }
    for (name, text) in demo_data::MAPPINGS {
        write(&dir.join("adapters").join(name), text)?;
    }
    let config_path = dir.join("yrdx.toml");
    let store = options
        .store_url
        .clone()
        .unwrap_or_else(|| "sqlite:data/yrdx.db".to_owned());
    write(
        &config_path,
        &node_config(options.listen, &store, &layout, &seal_files).replacen(
            "[upstream]\n",
            &format!("{bill_config}[upstream]\n"),
            1,
        ),
    )?;
    // The checkpoint key is made once and kept with the log it signs; the
    // public half sits beside it for regulators.
    let signer = crate::log_key::load_or_generate(DEMO_ORIGIN, &dir.join("log.key"))?;
    write(
        &dir.join("log.pub"),
        &format!("{}\n", signer.verifier_key()),
    )?;

    let config = Config::load(&config_path)?;
    // The demo rewrites its registry files on every run (the providers' ports
    // change), so it imports them as a new version itself, as an operator would
    // with `yrdx registry import`.
    {
        let store = Store::open(&config.store.url, &StoreOptions::default())
            .await
            .map_err(StartError::from)?;
        let now_ms = yrdx_registry::now_ms();
        let imported = registry_ops::import(
            &store,
            &config.registry.files,
            &config.adapters.dir,
            now_ms,
            now_ms,
        )
        .await;
        store.close().await;
        imported.map_err(StartError::from)?;
    }
    let gateway = server::start(config).await?;

    let mut members = BTreeMap::new();
    for client in &spec.clients {
        let paths = layout.client(&client.stem);
        members.insert(
            client.member.to_string(),
            MemberFiles {
                cert: paths.cert,
                key: paths.key,
            },
        );
    }
    let manifest = Manifest {
        gateway: format!("https://{}", gateway.exchange_addr()),
        ca_bundle: layout.ca_bundle(),
        members,
        examples: demo_data::examples(),
    };
    if let Some(files) = manifest.members.get(DEMO_REGULATOR) {
        write_pkcs12(files, &dir.join(REGULATOR_P12), DEMO_P12_PASSWORD)?;
    }
    let manifest_path = dir.join("demo.json");
    let json =
        serde_json::to_string_pretty(&manifest).map_err(|e| DemoError::Data(e.to_string()))?;
    write(&manifest_path, &json)?;
    Ok(Demo {
        gateway,
        providers: running,
        manifest,
        manifest_path,
    })
}

/// The regulator's certificate and key as PKCS#12, under the demo folder, for
/// a browser to import.
pub const REGULATOR_P12: &str = "regulator.p12";

/// The password of [`REGULATOR_P12`] (a demo's: the file sits beside its PEM
/// key, which has none).
pub const DEMO_P12_PASSWORD: &str = "yrdx-demo";

/// Writes a member's certificate and key as one PKCS#12 file (PBES2 with
/// AES-256, HMAC-SHA-256), what browsers and NSS import.
pub fn write_pkcs12(files: &MemberFiles, out: &Path, password: &str) -> Result<(), DemoError> {
    use rustls_pki_types::pem::PemObject as _;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let bad = |what: &Path, e: &dyn std::fmt::Display| {
        DemoError::Data(format!("{}: {e}", what.display()))
    };
    let cert = CertificateDer::from_pem_file(&files.cert).map_err(|e| bad(&files.cert, &e))?;
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| bad(&files.key, &e))?;
    let cert = p12_keystore::Certificate::from_der(&cert).map_err(|e| bad(&files.cert, &e))?;
    let key =
        p12_keystore::PrivateKey::from_der(key.secret_der()).map_err(|e| bad(&files.key, &e))?;
    let mut store = p12_keystore::KeyStore::new();
    store.add_entry(
        "yrdx regulator",
        p12_keystore::KeyStoreEntry::PrivateKeyChain(p12_keystore::PrivateKeyChain::new(
            b"yrdx-regulator".to_vec(),
            key,
            [cert],
        )),
    );
    let der = store.writer(password).write().map_err(|e| bad(out, &e))?;
    std::fs::write(out, der).map_err(file_error(out))?;
    Ok(())
}

/// The folder (under the demo folder) holding the seal trust files.
const SEAL_DIR: &str = "seal-pki";

/// Where the demo's bill PKI files go.
const BILL_DIR: &str = "bill-pki";

/// Writes the test bill PKI's files and returns the `[bill_trust.REGION]`
/// sections naming them.
fn bill_trust(dir: &Path) -> Result<String, DemoError> {
    let world = yrdx_conformance::bill_maker::BillWorld::new()?;
    let mut config = String::new();
    for r in world.regions() {
        let code = r.region.code();
        let put = |name: String, der: &[u8]| -> Result<String, DemoError> {
            let path = dir.join(BILL_DIR).join(&name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(file_error(parent))?;
            }
            std::fs::write(&path, der).map_err(file_error(&path))?;
            Ok(format!("\"{BILL_DIR}/{name}\""))
        };
        let root = put(format!("{code}-bill-root.der"), &r.root.der)?;
        let crl = put(format!("{code}-bill-root.crl"), &r.crl)?;
        let mut certs = Vec::new();
        for (leaf, signer) in [
            ("unit", &r.unit),
            ("revoked-unit", &r.revoked_unit),
            ("finance", &r.finance),
            ("tax", &r.tax),
        ] {
            certs.push(put(format!("{code}-{leaf}.der"), &signer.cert.der)?);
        }
        config.push_str(&format!(
            "[bill_trust.{code}]\nanchors = [{root}]\ncertificates = [{}]\ncrls = [{crl}]\n\n",
            certs.join(", ")
        ));
    }
    Ok(config)
}

/// The node configuration the demo runs with.
fn node_config(
    listen: SocketAddr,
    store: &str,
    layout: &PkiLayout,
    seal_files: &[SealTrustFile],
) -> String {
    let rel = |p: PathBuf| {
        p.strip_prefix(layout.dir.parent().unwrap_or(&layout.dir))
            .map(Path::to_owned)
            .unwrap_or(p)
    };
    let mut trust = String::new();
    for region in Region::ALL {
        trust.push_str(&format!(
            "[trust.{r}]\nca = \"{ca}\"\ncrls = [\"{crl}\"]\n\n",
            r = region.code(),
            ca = rel(layout.ca(region).cert).display(),
            crl = rel(layout.crl(region)).display(),
        ));
    }
    // Seal trust: per region, apart from TLS trust. CRLs are configured but
    // not required, so the demo keeps working once the test CRLs are stale.
    let mut seal_trust = String::new();
    for region in Region::ALL {
        let files: Vec<&SealTrustFile> = seal_files.iter().filter(|f| f.region == region).collect();
        if files.is_empty() {
            continue;
        }
        seal_trust.push_str(&format!("[seal_trust.{}]\n", region.code()));
        for kind in ["anchors", "intermediates", "crls"] {
            let names: Vec<String> = files
                .iter()
                .filter(|f| f.kind == kind)
                .map(|f| format!("\"{SEAL_DIR}/{}\"", f.name))
                .collect();
            if !names.is_empty() {
                seal_trust.push_str(&format!("{kind} = [{}]\n", names.join(", ")));
            }
        }
        seal_trust.push('\n');
    }
    let server = layout.gateway_server();
    let upstream = layout.gateway_upstream();
    let files: Vec<String> = demo_data::REGISTRY
        .iter()
        .map(|(n, _)| format!("\"registry/{n}\""))
        .collect();
    format!(
        r#"# yrdx node configuration written by `yrdx demo`. Every key is documented in
# docs/configuration.md.
node = "demo-1"

[listen]
exchange = "{listen}"
admin = "127.0.0.1:0"

[tls]
cert = "{server_cert}"
key = "{server_key}"

{trust}{seal_trust}[upstream]
cert = "{up_cert}"
key = "{up_key}"
ca = "{bundle}"

[store]
url = "{store}"

[log]
origin = "{origin}"
hash = "sha256"
key = "log.key"

[registry]
files = [{files}]
reload_interval_ms = 1000

[adapters]
dir = "adapters"
"#,
        server_cert = rel(server.cert).display(),
        server_key = rel(server.key).display(),
        up_cert = rel(upstream.cert).display(),
        up_key = rel(upstream.key).display(),
        bundle = rel(layout.ca_bundle()).display(),
        files = files.join(", "),
        origin = DEMO_ORIGIN,
    )
}

/// Shell-quotes for the printed curl lines.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// How to run this very `yrdx` from any folder: the running binary's own
/// path (it may not be on `PATH`), or `yrdx` if that cannot be told.
fn yrdx_command() -> String {
    std::env::current_exe()
        .ok()
        .filter(|p| p.is_absolute())
        .map_or_else(|| "yrdx".to_owned(), |p| p.display().to_string())
}

/// What to try, as curl command lines.
pub fn instructions(demo: &Demo) -> String {
    let m = &demo.manifest;
    let mut out = format!(
        "yrdx demo federation is running.\n\n  gateway   {}\n  admin     http://{}/readyz\n  manifest  {}\n\nTry these (each one is also in the manifest):\n",
        m.gateway,
        demo.gateway.admin_addr(),
        demo.manifest_path.display()
    );
    for ex in &m.examples {
        let mut cmd = format!(
            "curl -s --cacert {}",
            quote(&m.ca_bundle.display().to_string())
        );
        if let Some(files) = ex.consumer.and_then(|c| m.members.get(c)) {
            cmd.push_str(&format!(
                " --cert {} --key {}",
                quote(&files.cert.display().to_string()),
                quote(&files.key.display().to_string())
            ));
        }
        if ex.method == "GET" {
            cmd.push_str(&format!(" {}", quote(&format!("{}{}", m.gateway, ex.path))));
        } else {
            let body = serde_json::to_string(&ex.body).unwrap_or_default();
            cmd.push_str(&format!(
                " -H 'content-type: application/json' -d {} {}{}",
                quote(&body),
                m.gateway,
                ex.path
            ));
        }
        let expect = match ex.expect_code {
            None => format!("{}", ex.expect_status),
            Some(code) => format!("{} {code}", ex.expect_status),
        };
        out.push_str(&format!("\n# {} → {expect}\n{cmd}\n", ex.name));
    }
    if let Some(files) = m.members.get(DEMO_REGULATOR) {
        let dir = demo
            .manifest_path
            .parent()
            .map(Path::to_owned)
            .unwrap_or_default();
        let curl = format!(
            "curl -s --cacert {} --cert {} --key {}",
            quote(&m.ca_bundle.display().to_string()),
            quote(&files.cert.display().to_string()),
            quote(&files.key.display().to_string())
        );
        out.push_str(&format!(
            "\nThe regulator ({DEMO_REGULATOR}) reads and verifies the exchange log:\n\
             {curl} {gw}/v1/audit/checkpoint\n\
             {curl} '{gw}/v1/audit/entries?start=0&end=5'\n\
             {yrdx} audit export --config {config} --out audit.jsonl\n\
             {yrdx} audit verify audit.jsonl --key {key}\n\n\
             监管控制台 The regulators' console: {gw}/console/\n\
             浏览器导入证书 Import into the browser: {p12} (密码 password {DEMO_P12_PASSWORD}),\n\
             and trust {ca} as a certificate authority; then pin the key in {key}.\n\
             Chromium/Linux: pk12util -d sql:$HOME/.pki/nssdb -i {p12} -W {DEMO_P12_PASSWORD}\n\
             \x20         certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n yrdx-demo-ca -i {ca}\n",
            yrdx = quote(&yrdx_command()),
            gw = m.gateway,
            config = quote(&dir.join("yrdx.toml").display().to_string()),
            key = quote(&dir.join("log.pub").display().to_string()),
            p12 = quote(&dir.join(REGULATOR_P12).display().to_string()),
            ca = quote(&m.ca_bundle.display().to_string()),
        ));
    }
    out.push_str("\nPress Ctrl-C to stop.\n");
    out
}
