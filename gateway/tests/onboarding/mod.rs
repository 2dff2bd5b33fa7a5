//! Onboarding: `yrdx conformance provider` against the demo's sample
//! providers (each conforms) and against broken providers started here, each
//! failing with its own finding; `yrdx conformance sandbox` with a careful
//! and a careless scripted client.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use yrdx_conformance::pki::{self, Oddities, PkiLayout};
use yrdx_conformance::providers::{self, Fixtures, ProviderTls, RunningProvider};
use yrdx_gateway::cli::conformance::provider::{self, ProviderArgs};
use yrdx_gateway::cli::conformance::report::{Report, Verdict};
use yrdx_signing::{MemberId, Region};

/// The demo's gateway member, whose upstream certificate providers accept.
const GATEWAY: &str = "sh:12310000MB0L396206:gateway";
/// Jiangsu's data platform, the provider the broken copies stand in for.
const JS_DATA: &str = "js:11320000014000118J:data";

/// The demo's sample provider of each region.
const SAMPLE_PROVIDERS: &[(&str, &str)] = &[
    ("sh", "sh:12310000MB0L396206:data"),
    ("js", JS_DATA),
    ("zj", "zj:11330000002482028A:data"),
    ("ah", "ah:113400000029868223:data"),
];

fn args(dir: &Path, region: &str, provider: &str) -> ProviderArgs {
    ProviderArgs {
        config: dir.join("yrdx.toml"),
        region: region.into(),
        resource: None,
        provider: Some(provider.into()),
        endpoint: None,
        keys: None,
        // The demo copies the mappings but not their fixture cases.
        cases: Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../adapters/provinces")),
        foreign_cert: None,
        foreign_key: None,
        load_seconds: 1.0,
        concurrency: 4,
        rate: None,
        out: dir.join("reports"),
    }
}

/// A certificate naming the gateway, issued by Jiangsu's CA: what a provider
/// must refuse (the gateway's own is Shanghai's).
fn foreign_cert(layout: &PkiLayout) -> (PathBuf, PathBuf) {
    let gateway = MemberId::parse(GATEWAY).unwrap();
    let paths = pki::issue_odd_client(
        layout,
        Region::Js,
        "foreign-gateway",
        &Oddities::none(&gateway, yrdx_registry::now()),
    )
    .unwrap();
    (paths.cert, paths.key)
}

async fn run(args: &ProviderArgs) -> (Report, String) {
    let mut out = Vec::new();
    let (report, md, json) = provider::run(args, &mut out).await.unwrap();
    let out = String::from_utf8(out).unwrap();
    // Both files are written and say the same.
    let md = std::fs::read_to_string(md).unwrap();
    assert!(
        md.contains("# 接入一致性检查报告 Provider conformance report"),
        "{md}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    assert_eq!(json["conforms"], report.conforms);
    assert_eq!(json["region"], report.region);
    (report, out)
}

/// The verdict of check `id` in the report's resource (or TLS) sections.
fn verdict(report: &Report, id: &str) -> Vec<(Verdict, String)> {
    report
        .sections
        .iter()
        .flat_map(|s| &s.checks)
        .filter(|c| c.id == id)
        .map(|c| (c.verdict, c.evidence.clone()))
        .collect()
}

fn failed(report: &Report) -> Vec<String> {
    report
        .sections
        .iter()
        .flat_map(|s| &s.checks)
        .filter(|c| c.verdict == Verdict::Fail)
        .map(|c| format!("{}: {}", c.id, c.evidence))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runner_passes_every_sample_provider_of_the_demo() {
    let dir = tempfile::tempdir().unwrap();
    let _demo = crate::common::start_demo(dir.path(), None).await;
    let layout = PkiLayout {
        dir: dir.path().join("pki"),
    };
    let (cert, key) = foreign_cert(&layout);
    for (region, member) in SAMPLE_PROVIDERS {
        let mut a = args(dir.path(), region, member);
        a.foreign_cert = Some(cert.clone());
        a.foreign_key = Some(key.clone());
        let (report, out) = run(&a).await;
        assert!(report.conforms, "{region}: {:#?}\n{out}", failed(&report));
        // TLS and at least one resource, each check run.
        assert!(report.sections.len() >= 2, "{out}");
        for id in [
            "tls.version",
            "tls.chain",
            "tls.no_client_cert",
            "tls.foreign_client_cert",
            "keys.fixture",
            "items.required",
            "items.types",
            "encoding",
            "key.unknown",
            "key.malformed",
            "errors.personal_data",
            "load.errors",
            "load.latency",
        ] {
            let v = verdict(&report, id);
            assert!(!v.is_empty(), "{region}: no {id}\n{out}");
            if id.starts_with("tls.") || id == "key.unknown" || id == "load.errors" {
                assert!(
                    v.iter().all(|(v, _)| *v == Verdict::Pass),
                    "{region}: {id}: {v:?}"
                );
            }
        }
        let section = report
            .sections
            .iter()
            .find(|s| s.resource.is_some())
            .unwrap();
        assert_eq!(section.mapping_hash.as_ref().unwrap().len(), 64);
        assert!(out.contains("符合 conforms"), "{out}");
    }
}

/// Starts a copy of Jiangsu's sample provider with `fixtures` and its TLS
/// changed by `tls`.
async fn broken(
    layout: &PkiLayout,
    fixtures: &str,
    tls: impl FnOnce(&mut ProviderTls),
) -> RunningProvider {
    let paths = layout.provider(Region::Js);
    let mut t = ProviderTls {
        cert: paths.cert,
        key: paths.key,
        client_ca: layout.ca(Region::Sh).cert,
        allowed_client: Some(MemberId::parse(GATEWAY).unwrap()),
        client_cert_optional: false,
    };
    tls(&mut t);
    providers::start(
        Fixtures::parse("broken js", fixtures).unwrap(),
        &t,
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .unwrap()
}

const JS_FIXTURES: &str = include_str!("../../../conformance/fixtures/js.toml");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runner_fails_broken_providers_with_the_right_finding() {
    let dir = tempfile::tempdir().unwrap();
    let _demo = crate::common::start_demo(dir.path(), None).await;
    let layout = PkiLayout {
        dir: dir.path().join("pki"),
    };
    let check = async |p: &RunningProvider, edit: &dyn Fn(&mut ProviderArgs)| {
        let mut a = args(dir.path(), "js", JS_DATA);
        a.resource = Some("YRD-SCJG-0001".into());
        a.endpoint = Some(p.url());
        edit(&mut a);
        run(&a).await
    };
    let fails = |report: &Report, id: &str, needle: &str| {
        let v = verdict(report, id);
        assert!(
            v.iter()
                .any(|(v, e)| *v == Verdict::Fail && e.contains(needle)),
            "{id} should fail with `{needle}`: {v:?}\nall failures: {:#?}",
            failed(report)
        );
        assert!(!report.conforms);
    };

    // Its server certificate is Shanghai's CA's, not Jiangsu's.
    let p = broken(&layout, JS_FIXTURES, |t| {
        let sh = layout.provider(Region::Sh);
        t.cert = sh.cert;
        t.key = sh.key;
    })
    .await;
    let (report, _) = check(&p, &|_| {}).await;
    fails(&report, "tls.chain", "under js's CA");
    assert_eq!(verdict(&report, "tls.version")[0].0, Verdict::Pass);

    // It does not require a client certificate (and serves anyone).
    let p = broken(&layout, JS_FIXTURES, |t| {
        t.client_cert_optional = true;
        t.allowed_client = None;
    })
    .await;
    let (report, _) = check(&p, &|_| {}).await;
    fails(&report, "tls.no_client_cert", "accepted");

    // It trusts every region's CA and any member: a Jiangsu-issued
    // certificate naming the gateway gets in.
    let p = broken(&layout, JS_FIXTURES, |t| {
        t.client_ca = layout.ca_bundle();
    })
    .await;
    let (cert, key) = foreign_cert(&layout);
    let (report, _) = check(&p, &|a| {
        a.foreign_cert = Some(cert.clone());
        a.foreign_key = Some(key.clone());
    })
    .await;
    fails(&report, "tls.foreign_client_cert", "accepted");

    // It sends GB18030 bytes under a header saying UTF-8.
    let gb = JS_FIXTURES.replace(
        "content_type = \"application/json;charset=UTF-8\"",
        "content_type = \"application/json;charset=UTF-8\"\nencoding = \"GB18030\"",
    );
    let p = broken(&layout, &gb, |_| {}).await;
    let (report, _) = check(&p, &|_| {}).await;
    fails(
        &report,
        "encoding",
        "declared UTF-8 but the bytes are GB18030",
    );
    fails(&report, "keys.fixture", "encoding");

    // A required item (the enterprise's name) is missing from its answers.
    let no_name = JS_FIXTURES
        .replace("\"qymc\":\"南京紫金山智能科技有限公司\",", "")
        .replace("\"qymc\":\"南京鼓楼老字号餐饮管理有限公司\",", "");
    let p = broken(&layout, &no_name, |_| {}).await;
    let (report, _) = check(&p, &|_| {}).await;
    fails(&report, "items.required", "missing_item");

    // An unknown key is a 500.
    let five_hundred = JS_FIXTURES.replace(
        "not_found = '{\"code\":\"4004\"",
        "not_found_status = 500\nnot_found = '{\"code\":\"4004\"",
    );
    let p = broken(&layout, &five_hundred, |_| {}).await;
    let (report, _) = check(&p, &|_| {}).await;
    fails(&report, "key.unknown", "HTTP 500");

    // Too slow for the deadline: every answer takes 400 ms, the entry
    // allows 200 ms.
    let slow = JS_FIXTURES.replace(
        "[[route.record]]\nkey = ",
        "[[route.record]]\ndelay_ms = 400\nkey = ",
    );
    assert_ne!(slow, JS_FIXTURES);
    let list = dir.path().join("registry/responsibility-list.toml");
    let text = std::fs::read_to_string(&list).unwrap();
    std::fs::write(
        &list,
        text.replace("deadline_ms = 3000", "deadline_ms = 200"),
    )
    .unwrap();
    let p = broken(&layout, &slow, |_| {}).await;
    let (report, _) = check(&p, &|_| {}).await;
    fails(&report, "load.latency", "over the deadline");
    fails(&report, "keys.fixture", "deadline of 200 ms");
}

// ------------------------------------------------------------- sandbox

use serde_json::json;
use yrdx_conformance::client::{self, Answer, Connection};
use yrdx_gateway::cli::conformance::sandbox::{self, SANDBOX_KEYS, SandboxArgs, summary_text};

const AH_DATA: &str = "ah:113400000029868223:data";
const CHECK: &str = "市场主体登记核验";

fn sandbox_key(code: &str) -> &'static str {
    SANDBOX_KEYS.iter().find(|(_, c, _)| *c == code).unwrap().0
}

/// What both scripted clients ask: a quota refusal, a store failure, a
/// purpose the list does not allow, and a served record.
fn script() -> Vec<serde_json::Value> {
    vec![
        json!({"key": {"uscc": sandbox_key("quota_exhausted")}, "purpose": CHECK}),
        json!({"key": {"uscc": sandbox_key("store_unavailable")}, "purpose": CHECK}),
        json!({"key": {"uscc": "91330106MA27Y9KE3E"}, "purpose": "商业营销"}),
        json!({"key": {"uscc": "91330106MA27Y9KE3E"}, "purpose": CHECK}),
    ]
}

async fn send(conn: &mut Connection, body: &serde_json::Value, id: &str) -> Answer {
    conn.send(
        "POST",
        "/v1/exchange/YRD-SCJG-0001",
        &[("yrdx-request-id", id)],
        bytes::Bytes::from(serde_json::to_vec(body).unwrap()),
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_tells_a_careful_client_from_a_careless_one() {
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox::start(
        &SandboxArgs {
            dir: dir.path().to_owned(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        },
        None,
    )
    .await
    .unwrap();
    let m = &sb.demo.manifest;
    let addr = sb.addr().to_string();
    let tls = |member: &str| {
        let f = &m.members[member];
        client::tls_config(&m.ca_bundle, Some((&f.cert, &f.key))).unwrap()
    };

    // Careful: waits Retry-After, backs off a failure, never resends a 4xx,
    // a new request id each time.
    let mut conn = Connection::open(&addr, tls(JS_DATA)).await.unwrap();
    let mut statuses = Vec::new();
    for body in script() {
        let a = send(&mut conn, &body, &uuid::Uuid::now_v7().to_string()).await;
        statuses.push(a.status);
        let wait = match a.status {
            429 => Some(Duration::from_secs(a.retry_after.unwrap()) + Duration::from_millis(200)),
            500..=599 => Some(Duration::from_millis(1200)),
            _ => None,
        };
        if let Some(wait) = wait {
            tokio::time::sleep(wait).await;
            let again = send(&mut conn, &body, &uuid::Uuid::now_v7().to_string()).await;
            statuses.push(again.status);
        }
    }
    // Refused 429, then (having waited) passed on: not found; 503 twice;
    // 403; served.
    assert_eq!(statuses, [429, 404, 503, 503, 403, 200]);

    // Careless: resends every refusal at once, twice, with the same id.
    let mut conn = Connection::open(&addr, tls(AH_DATA)).await.unwrap();
    for body in script() {
        let id = uuid::Uuid::now_v7().to_string();
        let mut a = send(&mut conn, &body, &id).await;
        for _ in 0..2 {
            if a.status < 400 {
                break;
            }
            a = send(&mut conn, &body, &id).await;
        }
    }

    let summary = sb.journal.summary();
    let careful = &summary[JS_DATA];
    assert!(careful.well_behaved(), "{careful:?}");
    assert_eq!(careful.requests, 6);
    assert_eq!(careful.retries, 2);
    assert_eq!(careful.retries_new_request_id, 2);
    assert_eq!(careful.codes["quota_exhausted"], 1);
    assert_eq!(careful.codes["store_unavailable"], 2);
    assert_eq!(careful.codes["purpose_not_allowed"], 1);
    assert_eq!(careful.codes["record_not_found"], 1);

    let careless = &summary[AH_DATA];
    assert!(!careless.well_behaved(), "{careless:?}");
    assert_eq!(careless.ignored_retry_after, 2, "{careless:?}");
    assert_eq!(careless.retried_too_soon, 2, "{careless:?}");
    assert_eq!(careless.retried_unchangeable, 2, "{careless:?}");
    assert_eq!(careless.retries_same_request_id, 6, "{careless:?}");

    let text = summary_text(&summary);
    assert!(
        text.contains(&format!("{JS_DATA}: 处理得当 well-behaved")),
        "{text}"
    );
    assert!(
        text.contains(&format!("{AH_DATA}: 需改进 needs work")),
        "{text}"
    );
    assert!(text.contains("came back before Retry-After: 2"), "{text}");
    assert!(
        text.contains("retried a failure at once (no back-off): 2"),
        "{text}"
    );
    assert!(
        text.contains("resent a refusal the same request cannot change: 2"),
        "{text}"
    );
    sb.stop().await;
}
