//! `GET /v1/licences?holder=…`: a holder's licences across the federation —
//! all regions up, one down, one slow; the binding of licence types to
//! service items; a revoked licence served with its status.

use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::Value;
use yrdx_conformance::client;
use yrdx_conformance::licences::{ZJ_LICENCE, ZJ_REVOKED_LICENCE};

use yrdx_conformance::demo_data::licence_path;

use super::{Fed, SH_SERVICES};

/// An Anhui enterprise holding licences in Anhui, Jiangsu and Zhejiang.
const AH_ENTERPRISE: &str = "91340100MA2NH3AL0C";
/// An enterprise whose Jiangsu licence library answers 503.
const DOWN_HOLDER: &str = "91330100MA2DN0000L";
/// An enterprise whose Zhejiang answer comes after its entry's deadline.
const SLOW_HOLDER: &str = "91320100MA1MLT7003";
/// A person with licences in Anhui, Shanghai and Jiangsu.
const PERSON: &str = "340104198805123012";
/// 政务服务办理, percent-encoded.
const PURPOSE: &str = "%E6%94%BF%E5%8A%A1%E6%9C%8D%E5%8A%A1%E5%8A%9E%E7%90%86";

fn listing(holder: &str, service_item: &str, extra: &str) -> String {
    format!(
        "/v1/licences?holder={holder}&purpose={PURPOSE}&service_item={service_item}&case_no=SH-2026-0901{extra}"
    )
}

/// Sends a listing; checks its status and code, that it left one leaf of its
/// own and one per provider call (each naming it as parent), and that no
/// leaf holds the holder's id. Returns the answer, the parent's leaf and the
/// calls' leaves.
async fn expect_listing(
    fed: &Fed,
    path: &str,
    status: u16,
    code: Option<&str>,
    holder: &str,
) -> (Value, Value, Vec<Value>) {
    let before = fed.log_size().await;
    let mut conn = client::Connection::open(&fed.addr(), fed.tls(Some(SH_SERVICES)))
        .await
        .unwrap();
    let answer = conn.send("GET", path, &[], Bytes::new()).await.unwrap();
    let v = answer.json();
    assert_eq!(
        (answer.status, v["code"].as_str()),
        (status, code),
        "{path}: {v}"
    );
    let calls = u64::try_from(v["calls"].as_array().map_or(0, Vec::len)).unwrap();
    let after = fed.log_size().await;
    assert_eq!(after, before + 1 + calls, "one leaf, and one per call");
    let mut leaves = Vec::new();
    for i in before..after {
        leaves.push(fed.leaf(i).await);
    }
    for leaf in &leaves {
        assert!(
            !leaf.to_string().contains(holder),
            "the holder is never logged: {leaf}"
        );
        assert_eq!(leaf["api"], "licences");
    }
    // The calls' leaves are written before the listing's own.
    let parent = leaves.pop().unwrap();
    assert_eq!(parent["status"], status);
    let id = parent["request_id"].as_str().unwrap().to_owned();
    for leaf in &leaves {
        assert_eq!(leaf["parent"], id.as_str(), "{leaf}");
        assert!(leaf["entry"].is_string() && leaf["provider"].is_string());
    }
    if status == 200 {
        for call in v["calls"].as_array().unwrap() {
            let index = call["leaf_index"].as_u64().unwrap();
            let leaf = &leaves[usize::try_from(index - before).unwrap()];
            assert_eq!(leaf["entry"], call["entry"]);
            assert_eq!(leaf["resource"], call["resource"]);
            assert_eq!(leaf["code"].as_str(), call["code"].as_str());
        }
    }
    (v, parent, leaves)
}

fn ids_by_region(v: &Value) -> Vec<(String, String)> {
    v["licences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["region"].as_str().unwrap().to_owned(),
                l["resource"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holders_licences_from_every_region_in_one_listing() {
    let fed = Fed::start(None).await;

    // All regions up: an Anhui enterprise's licences held in Anhui, Jiangsu
    // and Zhejiang, one listing; every enterprise type from every region
    // that provides it was asked.
    let (v, parent, leaves) = expect_listing(
        &fed,
        &listing(AH_ENTERPRISE, "SX-SH-0101", ""),
        200,
        None,
        AH_ENTERPRISE,
    )
    .await;
    assert_eq!(v["partial"], false, "{v}");
    assert_eq!(v["problems"], serde_json::json!([]));
    assert_eq!(
        leaves.len(),
        12,
        "4 + 3 + 2 + 3 regions for the four enterprise types"
    );
    assert!(leaves.iter().all(|l| l["outcome"] == "served"));
    let mut got = ids_by_region(&v);
    got.sort();
    let want: Vec<(String, String)> = [
        ("ah", "YRD-DZZZ-0101"),
        ("ah", "YRD-DZZZ-0107"),
        ("ah", "YRD-DZZZ-0107"),
        ("js", "YRD-DZZZ-0102"),
        ("zj", "YRD-DZZZ-0102"),
        ("zj", "YRD-DZZZ-0108"),
    ]
    .iter()
    .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
    .collect();
    assert_eq!(got, want, "{v}");
    assert_eq!(parent["purpose"], "政务服务办理");
    assert_eq!(parent["service_item"], "SX-SH-0101");
    // rows_per_call: Anhui holds three road-transport permits, the entry
    // lets two through, and the answer says so.
    let cut: Vec<&Value> = v["calls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["truncated"] == true)
        .collect();
    assert_eq!(cut.len(), 1, "{v}");
    assert_eq!(
        (cut[0]["region"].as_str(), cut[0]["rows"].as_u64()),
        (Some("ah"), Some(2))
    );
    assert_eq!(cut[0]["rows_held"], 3);
    // Metadata only, each with its identifier; the revoked one says so.
    for l in v["licences"].as_array().unwrap() {
        assert_eq!(l["licence_id"], l["data"]["licence_id"]);
        assert!(l.get("file").is_none() && l["data"].get("ofd").is_none());
    }
    let revoked = v["licences"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["resource"] == "YRD-DZZZ-0108")
        .unwrap();
    assert_eq!(revoked["data"]["status"], "3");
    assert_eq!(revoked["data"]["valid_to"], "2028-08-31");

    // A person's licences: the personal types the service item may fetch.
    let (v, ..) = expect_listing(&fed, &listing(PERSON, "SX-SH-0201", ""), 200, None, PERSON).await;
    let mut got: Vec<String> = ids_by_region(&v).into_iter().map(|(r, _)| r).collect();
    got.sort();
    assert_eq!(got, ["ah", "js", "sh"], "{v}");

    // A type the service item may not fetch is the list's refusal; a holder
    // id with a wrong check character never reaches the list or a provider.
    expect_listing(
        &fed,
        &listing(PERSON, "SX-SH-0101", "&types=YRD-DZZZ-0104"),
        403,
        Some("service_item_not_allowed"),
        PERSON,
    )
    .await;
    expect_listing(
        &fed,
        &listing("91340100MA2NH3AL0D", "SX-SH-0101", ""),
        400,
        Some("bad_request"),
        "91340100MA2NH3AL0",
    )
    .await;
    expect_listing(
        &fed,
        &listing(AH_ENTERPRISE, "SX-SH-0101", "&types=YRD-DZZZ-0103"),
        400,
        Some("bad_request"),
        AH_ENTERPRISE,
    )
    .await;
    expect_listing(
        &fed,
        &listing(AH_ENTERPRISE, "SX-SH-0101", "&types=YRD-NOPE-0001"),
        404,
        Some("unknown_resource"),
        AH_ENTERPRISE,
    )
    .await;
    // Named by licence-type code: only that type is asked.
    let (v, ..) = expect_listing(
        &fed,
        &listing(AH_ENTERPRISE, "SX-SH-0101", "&types=11100000000013338W009"),
        200,
        None,
        AH_ENTERPRISE,
    )
    .await;
    assert_eq!(v["calls"].as_array().unwrap().len(), 4);
    assert_eq!(v["licences"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_region_down_or_too_slow_marks_the_listing_partial() {
    let fed = Fed::start(None).await;

    // One down: Jiangsu's licence library answers 503 — reported, not missing.
    let (v, _, leaves) = expect_listing(
        &fed,
        &listing(DOWN_HOLDER, "SX-SH-0101", ""),
        200,
        None,
        DOWN_HOLDER,
    )
    .await;
    assert_eq!(v["partial"], true, "{v}");
    assert_eq!(
        v["problems"],
        serde_json::json!([{ "region": "js", "resource": "YRD-DZZZ-0102", "code": "upstream_error" }])
    );
    assert_eq!(
        ids_by_region(&v),
        [("ah".to_owned(), "YRD-DZZZ-0101".to_owned())]
    );
    let failed: Vec<&Value> = leaves
        .iter()
        .filter(|l| l["outcome"] == "refused")
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["code"], "upstream_error");

    // One slow: Zhejiang answers after the entry's 3 s deadline; the others
    // are not held back by it.
    let t = Instant::now();
    let (v, ..) = expect_listing(
        &fed,
        &listing(SLOW_HOLDER, "SX-SH-0101", ""),
        200,
        None,
        SLOW_HOLDER,
    )
    .await;
    let took = t.elapsed();
    assert!(took < Duration::from_millis(4500), "{took:?}");
    assert!(took >= Duration::from_millis(2900), "{took:?}");
    assert_eq!(v["partial"], true, "{v}");
    assert_eq!(
        v["problems"],
        serde_json::json!([{ "region": "zj", "resource": "YRD-DZZZ-0102", "code": "upstream_timeout" }])
    );
    assert_eq!(
        ids_by_region(&v),
        [("sh".to_owned(), "YRD-DZZZ-0101".to_owned())]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_licence_is_served_with_its_status_and_types_bind_to_service_items() {
    let fed = Fed::start(None).await;
    let (answer, record) = fed
        .expect_get(
            Some(SH_SERVICES),
            &licence_path(ZJ_REVOKED_LICENCE, "SH-2026-000902"),
            200,
            None,
        )
        .await;
    let v = answer.json();
    assert_eq!(
        v["verification"]["result"], "valid",
        "the seal check is unchanged"
    );
    assert_eq!(
        v["status"],
        serde_json::json!({ "code": "3", "label": "吊销", "valid": false })
    );
    assert_eq!(record["seal"]["licence_status"], "3");
    let (answer, _) = fed
        .expect_get(
            Some(SH_SERVICES),
            &licence_path(ZJ_LICENCE, "SH-2026-000903"),
            200,
            None,
        )
        .await;
    assert_eq!(answer.json()["status"]["valid"], true);

    // The business licence is bound to SX-SH-0101 and SX-SCJG-002 only.
    let other = licence_path(ZJ_LICENCE, "SH-2026-000904").replace("SX-SCJG-002", "SX-SH-0201");
    fed.expect_get(
        Some(SH_SERVICES),
        &other,
        403,
        Some("service_item_not_allowed"),
    )
    .await;
}
