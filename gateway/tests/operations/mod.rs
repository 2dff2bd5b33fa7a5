//! Setting up and running a node: what an operator meets on day one. A
//! configuration that is refused writes nothing; a mistyped origin can be
//! corrected while the log is empty; one node name runs once per store;
//! errors say what to do next; `yrdx config check` finds each of these.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use yrdx_gateway::cli::demo::{self, Demo, DemoOptions};
use yrdx_gateway::{Config, StartError};
use yrdx_registry::testing::fresh_postgres;

use crate::common::{path, postgres_server, run_yrdx};

/// A demo federation started in `dir` (on `store`, SQLite by default).
async fn demo_in(dir: &Path, store: Option<String>) -> Demo {
    demo::start(&DemoOptions {
        dir: dir.to_owned(),
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        store_url: store,
        provider_port_base: None,
    })
    .await
    .unwrap()
}

/// `yrdx.toml` of the demo in `dir` with each `(from, to)` replaced, written
/// as `name` beside it.
fn variant(dir: &Path, name: &str, edits: &[(&str, &str)]) -> std::path::PathBuf {
    let mut text = std::fs::read_to_string(dir.join("yrdx.toml")).unwrap();
    for (from, to) in edits {
        assert!(text.contains(from), "`{from}` not in the demo's yrdx.toml");
        text = text.replace(from, to);
    }
    let file = dir.join(name);
    std::fs::write(&file, text).unwrap();
    file
}

/// `yrdx serve --config FILE`, expected to refuse to start: its exit code
/// and standard error. One that is still running after 30 s is stopped and
/// fails the test.
fn serve_refused(file: &Path) -> (Option<i32>, String) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_yrdx"))
        .args(["serve", "--config", path(file)])
        .env("YRDX_LOG", "error")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            let _ = child.wait();
            panic!(
                "`yrdx serve --config {}` started instead of refusing",
                file.display()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `yrdx config check --config FILE`: exit code and the line about `what`.
fn config_check(file: &Path, what: &str) -> (Option<i32>, String, String) {
    let (code, out, err) = run_yrdx(&["config", "check", "--config", path(file)]);
    let line = out
        .lines()
        .find(|l| l.split_whitespace().nth(2) == Some(what))
        .unwrap_or_else(|| panic!("no `{what}` line in:\n{out}\n{err}"))
        .to_owned();
    (code, line, out)
}

const ORIGIN_LINE: &str = "origin = \"yrdx.demo/exchange\"";
const STORE_LINE: &str = "url = \"sqlite:data/yrdx.db\"";

/// Trap 2: a typo in `log.origin` (the key is named for the right origin)
/// is refused before the store exists; a log created under a wrong origin
/// (with a key made for it) is corrected at the next start while it holds no
/// leaf; `config check` reports both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_configuration_writes_nothing_and_an_empty_logs_origin_can_be_corrected() {
    let dir = tempfile::tempdir().unwrap();
    let first = demo_in(dir.path(), None).await;
    first.gateway.shutdown(Duration::from_secs(2)).await;

    let fresh = dir.path().join("data/fresh.db");
    let typo = variant(
        dir.path(),
        "typo.toml",
        &[
            (ORIGIN_LINE, "origin = \"yrdx.demo/exchagne\""),
            (STORE_LINE, "url = \"sqlite:data/fresh.db\""),
        ],
    );
    let err = yrdx_gateway::start(Config::load(&typo).unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, StartError::KeyName { .. }), "{err}");
    assert!(err.to_string().contains("log.origin"), "{err}");
    assert!(!fresh.exists(), "a refused configuration created the store");
    let (code, line, _) = config_check(&typo, "log.origin");
    assert_eq!(code, Some(1), "{line}");
    assert!(line.contains("error"), "{line}");
    assert!(!fresh.exists(), "config check created the store");

    // A key made for the wrong origin: the node starts, the log is created
    // under it, nothing is appended.
    yrdx_gateway::log_key::generate("yrdx.demo/exchagne", &dir.path().join("typo.key")).unwrap();
    let typo_with_key = variant(
        dir.path(),
        "typo-key.toml",
        &[
            (ORIGIN_LINE, "origin = \"yrdx.demo/exchagne\""),
            (STORE_LINE, "url = \"sqlite:data/fresh.db\""),
            ("key = \"log.key\"", "key = \"typo.key\""),
        ],
    );
    let wrong = yrdx_gateway::start(Config::load(&typo_with_key).unwrap())
        .await
        .unwrap();
    wrong.shutdown(Duration::from_secs(2)).await;

    let corrected = variant(
        dir.path(),
        "fresh.toml",
        &[(STORE_LINE, "url = \"sqlite:data/fresh.db\"")],
    );
    let (code, line, out) = config_check(&corrected, "exchange");
    assert_eq!(code, Some(0), "{out}");
    assert!(
        line.contains("warn") && line.contains("still empty"),
        "{line}"
    );
    let node = yrdx_gateway::start(Config::load(&corrected).unwrap())
        .await
        .unwrap();
    assert_eq!(node.app().log.origin(), "yrdx.demo/exchange");
    let checkpoint = node.app().store.latest_checkpoint().await.unwrap().unwrap();
    assert!(checkpoint.note.starts_with("yrdx.demo/exchange\n"));
    node.shutdown(Duration::from_secs(2)).await;
}

/// Trap 3: while a node runs, a second process with the same configuration
/// (same store, same node name) refuses to start and says why; so does a
/// second start in the same process, on SQLite and PostgreSQL alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_process_of_the_same_node_refuses_to_start() {
    let mut stores = vec![None];
    if let Some(server) = postgres_server("second_node") {
        stores.push(Some(fresh_postgres(&server, "second_node").await.unwrap()));
    }
    for store in stores {
        let dir = tempfile::tempdir().unwrap();
        let running = demo_in(dir.path(), store.clone()).await;
        let config = dir.path().join("yrdx.toml");
        let (code, err) = serve_refused(&config);
        assert_eq!(code, Some(2), "{store:?}: {err}");
        assert!(
            err.contains("node `demo-1` already runs on this store"),
            "{store:?}: {err}"
        );
        let second = yrdx_gateway::start(Config::load(&config).unwrap())
            .await
            .unwrap_err();
        assert!(
            matches!(
                second,
                StartError::Store(yrdx_registry::StoreError::NodeTaken { .. })
            ),
            "{store:?}: {second}"
        );
        let (code, line, _) = config_check(&config, "node");
        assert_eq!(code, Some(1), "{store:?}: {line}");
        assert!(line.contains("already runs"), "{store:?}: {line}");

        // Another name on the same store is another node.
        let other = variant(
            dir.path(),
            "other.toml",
            &[("node = \"demo-1\"", "node = \"demo-2\"")],
        );
        let node2 = yrdx_gateway::start(Config::load(&other).unwrap())
            .await
            .unwrap();
        node2.shutdown(Duration::from_secs(2)).await;

        // Once the first stops, the name is free again.
        running.gateway.shutdown(Duration::from_secs(2)).await;
        let again = yrdx_gateway::start(Config::load(&config).unwrap())
            .await
            .unwrap();
        again.shutdown(Duration::from_secs(2)).await;
    }
}

/// Trap 4: a store without a registry version names both ways out; an
/// unsupported or unreachable store says which and where; `demo --store`
/// blames the option, not a generated file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_say_what_to_do_next() {
    let dir = tempfile::tempdir().unwrap();
    let first = demo_in(dir.path(), None).await;
    first.gateway.shutdown(Duration::from_secs(2)).await;
    let text = std::fs::read_to_string(dir.path().join("yrdx.toml")).unwrap();
    let files_line = text
        .lines()
        .find(|l| l.starts_with("files = "))
        .unwrap()
        .to_owned();

    let empty = variant(
        dir.path(),
        "empty.toml",
        &[
            (STORE_LINE, "url = \"sqlite:data/empty.db\""),
            (&files_line, "files = []"),
        ],
    );
    let (code, err) = serve_refused(&empty);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("yrdx registry import") && err.contains("registry.files"),
        "{err}"
    );
    let (code, line, _) = config_check(&empty, "registry");
    assert_eq!(code, Some(1), "{line}");
    assert!(
        line.contains("yrdx registry import") && line.contains("registry.files"),
        "{line}"
    );

    let unreachable = variant(
        dir.path(),
        "unreachable.toml",
        &[(STORE_LINE, "url = \"postgres://yrdx@127.0.0.1:1/yrdx\"")],
    );
    let (code, line, _) = config_check(&unreachable, "store");
    assert_eq!(code, Some(1), "{line}");
    assert!(line.contains("127.0.0.1:1"), "{line}");
    assert!(line.to_lowercase().contains("refused"), "{line}");

    let (code, _, err) = run_yrdx(&[
        "demo",
        "--dir",
        path(&dir.path().join("mysql")),
        "--store",
        "mysql://root@db/yrdx",
    ]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--store mysql://root@db/yrdx"), "{err}");
    assert!(!err.contains("yrdx.toml"), "{err}");
    assert!(!dir.path().join("mysql").exists(), "demo wrote files first");
}

/// Trap 6: the demo's regulator commands run this very binary, wherever it
/// is, rather than a `yrdx` that may not be on PATH.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_prints_commands_that_run_this_binary() {
    let dir = tempfile::tempdir().unwrap();
    let running = demo_in(dir.path(), None).await;
    let text = demo::instructions(&running);
    let exe = std::env::current_exe().unwrap();
    assert!(
        text.contains(&format!("'{}' audit export", exe.display())),
        "{text}"
    );
    assert!(!text.contains("\nyrdx audit"), "{text}");
    running.gateway.shutdown(Duration::from_secs(2)).await;
}

/// Every line of `stderr` but `yrdx:`'s final error is one JSON object with
/// a level and a time; there is at least one, and one mentions `needle`.
fn json_lines(stderr: &str, needle: &str) {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.starts_with("yrdx:")).collect();
    assert!(lines.iter().any(|l| l.contains(needle)), "{stderr}");
    for line in lines {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        assert!(
            v["level"].is_string() && v["timestamp"].is_string(),
            "{line}"
        );
    }
}

/// `log.format = "json"` for `serve`, `YRDX_LOG_FORMAT=json` for any
/// command: every log line is one JSON object.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_lines_can_be_json() {
    let dir = tempfile::tempdir().unwrap();
    let running = demo_in(dir.path(), None).await;
    let json = variant(
        dir.path(),
        "json.toml",
        &[("hash = \"sha256\"", "hash = \"sha256\"\nformat = \"json\"")],
    );
    // A second node of the same name logs its TLS trust, then refuses.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_yrdx"))
        .args(["serve", "--config", path(&json)])
        .env("YRDX_LOG", "info")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    json_lines(
        &String::from_utf8_lossy(&out.stderr),
        "client certificate trust",
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_yrdx"))
        .args([
            "config",
            "check",
            "--config",
            path(&dir.path().join("yrdx.toml")),
        ])
        .env("YRDX_LOG", "info")
        .env("YRDX_LOG_FORMAT", "json")
        .output()
        .unwrap();
    json_lines(
        &String::from_utf8_lossy(&out.stderr),
        "client certificate trust",
    );
    running.gateway.shutdown(Duration::from_secs(2)).await;
}

/// Trap 4, `yrdx verify`: a text file is unusable input (exit 2), not an
/// invalid signature; a region prefix that is no region is named; a VALID
/// result says, in the text too, when revocation was not checked; a chain
/// that misses its intermediate gets a hint.
#[test]
fn yrdx_verify_says_what_it_did_not_check_and_what_is_missing() {
    let v = |name: &str| format!("{}/{name}", crate::VECTORS);
    let root = format!("zj={}", v("trust/zj-seal-root.der"));
    let ca = v("trust/zj-seal-ca.der");
    let at = "2026-01-01T00:00:00Z";

    let dir = tempfile::tempdir().unwrap();
    let text_file = dir.path().join("notes.txt");
    std::fs::write(&text_file, "这不是印章 / not a seal\n").unwrap();
    let (code, out, err) = run_yrdx(&["verify", path(&text_file), "--trust", &root]);
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(
        err.contains("not a seal, signature or OFD document"),
        "{err}"
    );
    assert!(!out.contains("INVALID"), "{out}");

    let gd = format!("gd={ca}");
    let (code, _, err) = run_yrdx(&["verify", &v("ofd-valid.ofd"), "--trust", &gd]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("unknown region `gd`"), "{err}");

    // No --crl: valid, and the text says revocation was not checked.
    let (code, out, err) = run_yrdx(&[
        "verify",
        &v("seal-v4-valid.esl"),
        "--trust",
        &root,
        "--trust",
        &ca,
        "--at",
        at,
    ]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("VALID") && out.contains("not checked"),
        "{out}"
    );

    // Without the issuing CA: the hint names what to add.
    let (code, out, err) = run_yrdx(&[
        "verify",
        &v("seal-v4-valid.esl"),
        "--trust",
        &root,
        "--at",
        at,
    ]);
    assert_ne!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("hint") && out.contains("intermediate"),
        "{out}"
    );
}

/// Trap 5: a time given as `+08:00` is listed as given, in China Standard
/// Time with its offset, not converted to UTC.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_times_are_shown_in_china_standard_time() {
    let dir = tempfile::tempdir().unwrap();
    let running = demo_in(dir.path(), None).await;
    running.gateway.shutdown(Duration::from_secs(2)).await;
    let config = dir.path().join("yrdx.toml");
    let list = dir.path().join("registry/responsibility-list.toml");
    let edited = dir.path().join("registry/list-later.toml");
    std::fs::write(
        &edited,
        std::fs::read_to_string(&list)
            .unwrap()
            .replace("deadline_ms = 3000\nquota", "deadline_ms = 2500\nquota"),
    )
    .unwrap();
    let (code, out, err) = run_yrdx(&[
        "registry",
        "import",
        "-c",
        path(&config),
        "--effective",
        "2030-01-01T00:00:00+08:00",
        path(&dir.path().join("registry/members.toml")),
        path(&dir.path().join("registry/catalogue.toml")),
        path(&edited),
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("in force from 2030-01-01 00:00:00 +08:00"),
        "{out}"
    );
    let (_, out, _) = run_yrdx(&["registry", "versions", "-c", path(&config)]);
    let line = out.lines().nth(2).unwrap();
    assert!(line.contains("2030-01-01 00:00:00 +08:00"), "{out}");
    assert!(!out.contains('Z'), "{out}");
}

/// Every route template of the exchange and admin listeners, read from their
/// sources (axum's `{*path}` as OpenAPI's `{path}`).
fn route_templates() -> std::collections::BTreeSet<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
    let mut out = std::collections::BTreeSet::new();
    for file in ["api.rs", "audit_api.rs", "reports_api.rs", "admin.rs"] {
        let text = std::fs::read_to_string(format!("{dir}/{file}")).unwrap();
        for part in text.split('"').skip(1).step_by(2) {
            let before = text.split(&format!("\"{part}\"")).next().unwrap_or("");
            let routed = before.trim_end().ends_with("template:")
                || before.trim_end().ends_with(".route(")
                || before.trim_end().ends_with(',') && before.contains("regulator_read!");
            if part.starts_with('/') && routed {
                out.insert(part.replace("{*", "{"));
            }
        }
    }
    out.insert(yrdx_gateway::OPENAPI_PATH.to_owned());
    out
}

/// docs/openapi.json (as served at /v1/openapi.json) is an OpenAPI 3.1
/// document naming every route and every problem code, each operation with
/// its responses and its path parameters.
#[test]
fn the_openapi_document_covers_every_route_and_problem_code() {
    let doc: serde_json::Value = serde_json::from_str(yrdx_gateway::OPENAPI).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1."));
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    let paths = doc["paths"].as_object().unwrap();
    let templates = route_templates();
    assert!(templates.len() >= 14, "{templates:?}");
    for t in &templates {
        assert!(
            paths.contains_key(t),
            "route {t} is missing from docs/openapi.json"
        );
    }
    for (path, item) in paths {
        assert!(
            templates.contains(path),
            "{path} is documented but not routed"
        );
        let ops: Vec<_> = ["get", "post", "put", "delete", "patch"]
            .iter()
            .filter_map(|m| item.get(*m))
            .collect();
        assert!(!ops.is_empty(), "{path}: no operation");
        for op in ops {
            let responses = op["responses"].as_object().unwrap();
            assert!(!responses.is_empty(), "{path}: no responses");
            let declared: Vec<&str> = op["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .filter(|p| p["in"] == "path")
                        .map(|p| p["name"].as_str().unwrap())
                        .collect()
                })
                .unwrap_or_default();
            for placeholder in path.split('{').skip(1) {
                let name = placeholder.split('}').next().unwrap();
                assert!(
                    declared.contains(&name),
                    "{path}: parameter {name} not declared"
                );
            }
        }
    }
    // Every problem code of problem.rs, with its status.
    let source =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/problem.rs")).unwrap();
    let describe = source.split("fn describe(&self)").nth(1).unwrap();
    let documented = doc["components"]["schemas"]["Problem"]["properties"]["code"]["enum"]
        .as_array()
        .unwrap();
    let mut found = 0;
    for chunk in describe.split("StatusCode::").skip(1) {
        let Some(code) = chunk.split('"').nth(1) else {
            continue;
        };
        if !code.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
            continue;
        }
        found += 1;
        assert!(
            documented.iter().any(|c| c == code),
            "problem code {code} is missing from docs/openapi.json"
        );
        assert!(doc["x-problem-codes"][code]["status"].is_u64(), "{code}");
    }
    assert!(found >= 36, "{found} problem codes read from problem.rs");
    // $refs resolve.
    let text = yrdx_gateway::OPENAPI;
    for r in text.split("\"$ref\": \"#/").skip(1) {
        let pointer = format!("/{}", r.split('"').next().unwrap());
        assert!(doc.pointer(&pointer).is_some(), "unresolved $ref {pointer}");
    }
}

/// `GET /v1/openapi.json` serves docs/openapi.json to any member, with no
/// leaf written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let running = demo_in(dir.path(), None).await;
    let m = &running.manifest;
    let files = &m.members[crate::common::JS];
    let tls = yrdx_conformance::client::tls_config(
        &m.ca_bundle,
        Some((files.cert.as_path(), files.key.as_path())),
    )
    .unwrap();
    let size = running.gateway.app().store.log_size().await.unwrap();
    let addr = running.gateway.exchange_addr().to_string();
    let mut conn = yrdx_conformance::client::Connection::open(&addr, tls)
        .await
        .unwrap();
    let answer = conn
        .send("GET", "/v1/openapi.json", &[], bytes::Bytes::new())
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body.as_ref(), yrdx_gateway::OPENAPI.as_bytes());
    assert_eq!(running.gateway.app().store.log_size().await.unwrap(), size);
    running.gateway.shutdown(Duration::from_secs(2)).await;
}

/// Trap 4, `yrdx adapters`: run from any folder, the commands take the
/// catalogue and mappings from a node's configuration, or from flags, and
/// the catalogue as XLSX too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adapters_commands_work_outside_the_repository() {
    let dir = tempfile::tempdir().unwrap();
    let running = demo_in(dir.path(), None).await;
    running.gateway.shutdown(Duration::from_secs(2)).await;
    let config = dir.path().join("yrdx.toml");
    let yrdx = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_yrdx"))
            .args(args)
            .current_dir(dir.path())
            .env("YRDX_LOG", "error")
            .output()
            .unwrap();
        (
            out.status.code(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let (code, out) = yrdx(&["adapters", "check", "-c", path(&config)]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("sh"), "{out}");
    // Without any source, the repository's defaults are not there: said so.
    let (code, out) = yrdx(&["adapters", "check"]);
    assert_eq!(code, Some(2), "{out}");

    let xlsx = dir.path().join("registry.xlsx");
    let (code, out) = yrdx(&[
        "registry",
        "export",
        "-c",
        path(&config),
        "--format",
        "xlsx",
        "--out",
        path(&xlsx),
    ]);
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = yrdx(&[
        "adapters",
        "check",
        "--catalogue",
        path(&xlsx),
        "--dir",
        path(&dir.path().join("adapters")),
    ]);
    assert_eq!(code, Some(0), "{out}");
}

/// A log kept with SM3 says so in every checkpoint (`hash: sm3`): `audit
/// verify --url` takes the hash from it, and a client asked to check with
/// SHA-256 says it cannot rather than finding the log inconsistent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sm3_log_names_its_hash_in_its_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let demo = demo_in(dir.path(), None).await;
    let sm3 = variant(
        dir.path(),
        "sm3.toml",
        &[
            ("node = \"demo-1\"", "node = \"sm3-1\""),
            (STORE_LINE, "url = \"sqlite:data/sm3.db\""),
            ("hash = \"sha256\"", "hash = \"sm3\""),
        ],
    );
    let node = yrdx_gateway::start(Config::load(&sm3).unwrap())
        .await
        .unwrap();
    let addr = node.exchange_addr().to_string();
    let m = &demo.manifest;
    let tls = |member: &str| {
        let f = &m.members[member];
        yrdx_conformance::client::tls_config(
            &m.ca_bundle,
            Some((f.cert.as_path(), f.key.as_path())),
        )
        .unwrap()
    };
    let served = yrdx_conformance::client::request(
        &addr,
        tls(crate::common::JS),
        "POST",
        crate::common::SCJG,
        &crate::common::served_body(),
    )
    .await
    .unwrap();
    assert_eq!(
        served.status,
        200,
        "{}",
        String::from_utf8_lossy(&served.body)
    );
    let note = crate::common::wait_for(
        "an SM3 checkpoint covering the exchange",
        Duration::from_secs(10),
        async || {
            let mut conn =
                yrdx_conformance::client::Connection::open(&addr, tls(crate::common::REGULATOR))
                    .await
                    .unwrap();
            let note = conn
                .send("GET", "/v1/audit/checkpoint", &[], bytes::Bytes::new())
                .await
                .unwrap()
                .body;
            let text = String::from_utf8(note.to_vec()).unwrap();
            (text.lines().nth(1) != Some("0")).then_some(text)
        },
    )
    .await;
    let body: Vec<&str> = note.split("\n\n").next().unwrap().lines().collect();
    assert_eq!(body.len(), 4, "{note}");
    assert_eq!(body[3], "hash: sm3", "{note}");

    let regulator = &m.members[crate::common::REGULATOR];
    let url = format!("https://{addr}");
    let key = dir.path().join("log.pub");
    let verify = |extra: &[&str]| {
        let mut args = vec![
            "audit",
            "verify",
            "--url",
            &url,
            "--key",
            path(&key),
            "--client-cert",
            path(&regulator.cert),
            "--client-key",
            path(&regulator.key),
            "--cacert",
            path(&m.ca_bundle),
        ];
        args.extend_from_slice(extra);
        run_yrdx(&args)
    };
    let (code, out, err) = verify(&[]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("sm3"), "{out}");
    let (code, out, err) = verify(&["--hash", "sha256"]);
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(
        err.contains("tree hash is sm3") && err.contains("cannot check"),
        "{out}{err}"
    );
    assert!(!out.contains("TAMPERED"), "{out}");
    node.shutdown(Duration::from_secs(2)).await;

    // A SHA-256 log's checkpoint is the plain three lines every tlog client reads.
    let mut conn = yrdx_conformance::client::Connection::open(
        demo.manifest.gateway.trim_start_matches("https://"),
        tls(crate::common::REGULATOR),
    )
    .await
    .unwrap();
    let note = conn
        .send("GET", "/v1/audit/checkpoint", &[], bytes::Bytes::new())
        .await
        .unwrap()
        .body;
    let text = String::from_utf8(note.to_vec()).unwrap();
    assert_eq!(
        text.split("\n\n").next().unwrap().lines().count(),
        3,
        "{text}"
    );
}
