//! Helpers shared by the gateway's test binaries and the cluster benchmark:
//! the real `yrdx` binary, the demo federation's names, waiting for a
//! condition with a deadline, the PostgreSQL prerequisite, and checking an
//! exported log against what clients were told.
#![allow(
    dead_code,
    reason = "each test binary and the benchmark use a part of these helpers"
)]

pub mod cluster;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::{Value, json};
use yrdx_registry::testing::{TEST_DATABASE_ENV, postgres_url};
use yrdx_signing::{ExportOptions, ExportReport, Hash, Since, VerifierKey, verify_export};

/// Jiangsu's data office: the demo's usual consumer.
pub const JS: &str = "js:11320000014000118J:data";
/// The Shanghai regulator, who reads the exchange log.
pub const REGULATOR: &str = "sh:11310000MB1X47335F:audit";
/// The market-registration check, provided by Zhejiang.
pub const SCJG: &str = "/v1/exchange/YRD-SCJG-0001";
/// The purpose the list allows for it.
pub const CHECK: &str = "市场主体登记核验";
/// The quota of the demo list's entry for it.
pub const DEMO_QUOTA: &str =
    "quota = { per_second = 20, burst = 40, per_day = 10000, per_month = 200000 }";

/// A market-registration check the list allows: served.
pub fn served_body() -> Value {
    json!({"key": {"uscc": "91330106MA27Y9KE3E"}, "purpose": CHECK})
}

/// The same check for a purpose the list does not allow: refused.
pub fn refused_body() -> Value {
    json!({"key": {"uscc": "91330106MA27Y9KE3E"}, "purpose": "商业营销"})
}

/// `body` as request bytes.
pub fn body_bytes(body: &Value) -> Bytes {
    Bytes::from(serde_json::to_vec(body).unwrap())
}

/// Waits (at most `within`) for a `yrdx demo` started in `dir` to write its
/// manifest, `demo.json`; returns it.
pub async fn demo_manifest(dir: &Path, within: Duration) -> Value {
    let manifest_path = dir.join("demo.json");
    wait_for("yrdx demo to write demo.json", within, async || {
        let text = std::fs::read_to_string(&manifest_path).ok()?;
        serde_json::from_str::<Value>(&text).ok()
    })
    .await
}

/// Runs the real `yrdx` binary.
pub async fn yrdx(args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_yrdx"))
        .args(args)
        .env("YRDX_LOG", "warn")
        .output()
        .await
        .unwrap()
}

/// Runs the real `yrdx` binary and waits for it, logging errors only;
/// returns its exit code, stdout and stderr.
pub fn run_yrdx(args: &[impl AsRef<std::ffi::OsStr>]) -> (Option<i32>, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_yrdx"))
        .args(args)
        .env("YRDX_LOG", "error")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Exit code and both streams of `out`, for assertion messages.
pub fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `p` as the `&str` a command line takes.
pub fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `yrdx audit export --config CONFIG --out OUT` with `extra` arguments;
/// expects success (`context` names the case in the message).
pub async fn export_log(config: &Path, out: &Path, extra: &[&str], context: &str) {
    let mut args = vec![
        "audit",
        "export",
        "--config",
        path(config),
        "--out",
        path(out),
    ];
    args.extend_from_slice(extra);
    let out = yrdx(&args).await;
    assert!(out.status.success(), "{context}: {}", text(&out));
}

/// `yrdx audit verify EXPORT --key KEY` with `extra` arguments.
pub async fn verify_log(export: &Path, key: &str, extra: &[&str]) -> Output {
    let mut args = vec!["audit", "verify", path(export), "--key", key];
    args.extend_from_slice(extra);
    yrdx(&args).await
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    yrdx_registry::now_ms()
}

/// How often a wait looks at its condition again.
const POLL: Duration = Duration::from_millis(10);

/// Asks `probe` every few milliseconds until it answers `Some`, for at most
/// `within`; `None` if it never did.
pub async fn poll<T>(within: Duration, mut probe: impl AsyncFnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(found) = probe().await {
            return Some(found);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// [`poll`], failing the test with a message naming `what` was awaited if
/// `probe` has not answered within `within`.
pub async fn wait_for<T>(what: &str, within: Duration, probe: impl AsyncFnMut() -> Option<T>) -> T {
    poll(within, probe)
        .await
        .unwrap_or_else(|| panic!("waited {within:?} for {what} in vain"))
}

/// Waits until `ready` holds, for at most `within`; fails the test with a
/// message naming `what` was awaited otherwise.
pub async fn wait_until(what: &str, within: Duration, mut ready: impl AsyncFnMut() -> bool) {
    wait_for(what, within, async || ready().await.then_some(())).await;
}

/// Whether the tests run under CI (the variable `CI` is set), where a
/// missing prerequisite fails a test instead of skipping it.
pub fn under_ci() -> bool {
    std::env::var_os("CI").is_some()
}

/// A prerequisite of `test` is missing (`why`): under CI the test fails;
/// elsewhere it says SKIPPED and why, and the caller returns.
pub fn skip(test: &str, why: &str) {
    assert!(
        !under_ci(),
        "{test}: {why}; under CI (CI is set) a missing prerequisite is a failure"
    );
    eprintln!("SKIPPED ({test}): {why}");
}

/// The PostgreSQL server for `test`'s PostgreSQL half (from
/// `YRDX_TEST_DATABASE_URL`), or `None` with a SKIPPED line. Under CI a
/// missing server fails the test.
pub fn postgres_server(test: &str) -> Option<String> {
    if std::env::var(TEST_DATABASE_ENV)
        .unwrap_or_default()
        .is_empty()
    {
        assert!(
            !under_ci(),
            "{test}: {TEST_DATABASE_ENV} is not set; under CI (CI is set) the PostgreSQL half must run"
        );
    }
    postgres_url(test)
}

/// Bytes of a hex string.
pub fn hex_decode(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

/// A leaf as found in an export: index, status, node, and how many leaves
/// carry the same request id.
pub type Found = (u64, u64, String, usize);

/// The export's leaves by request id, and how many leaves it holds.
pub fn leaves_by_request(export: &[u8]) -> (HashMap<String, Found>, u64) {
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

/// Verifies `export` with every receipt (leaf index, hex leaf hash) as a
/// trusted leaf and every checkpoint seen as an earlier one, from the first
/// seen; expects it valid with every receipt checked (`context` names the
/// case in the messages) and returns the report.
pub fn verify_with_receipts<'a>(
    export: &[u8],
    key: &VerifierKey,
    receipts: impl IntoIterator<Item = &'a (u64, String)>,
    checkpoints: &[String],
    context: &str,
) -> ExportReport {
    let trusted: BTreeMap<u64, Hash> = receipts
        .into_iter()
        .map(|(i, h)| (*i, Hash::from_slice(&hex_decode(h)).unwrap()))
        .collect();
    let options = ExportOptions {
        trusted_leaves: trusted.clone(),
        checkpoints: checkpoints.iter().map(|c| c.clone().into_bytes()).collect(),
        since: checkpoints.first().map(|c| Since {
            checkpoint: c.clone().into_bytes(),
            proof: Vec::new(),
        }),
    };
    let report = verify_export(export, key, &options).unwrap();
    assert!(report.is_valid(), "{context}: {report:?}");
    assert_eq!(report.trusted_leaves_checked, trusted.len(), "{context}");
    report
}

/// A whole demo federation in `dir` on loopback (any free port), on SQLite or
/// on the PostgreSQL database at `store_url`.
pub async fn start_demo(dir: &Path, store_url: Option<String>) -> yrdx_gateway::cli::demo::Demo {
    yrdx_gateway::cli::demo::start(&yrdx_gateway::cli::demo::DemoOptions {
        dir: dir.to_owned(),
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        store_url,
        provider_port_base: None,
    })
    .await
    .unwrap()
}
