//! A consumer's request id is its idempotency key for a day: a retry is
//! answered again, recorded as a retry of the first leaf and not counted
//! again against period quotas; the id with another request is refused;
//! two requests with one id at once are one answered and one refused.

use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};
use yrdx_conformance::client::{self, Answer};

use crate::common::{CHECK, DEMO_QUOTA, JS, SCJG, body_bytes, served_body};
use crate::{Fed, federations, reimport_list};

/// Sends `body` to `path` as Jiangsu with request id `id` on a connection of
/// its own.
async fn send(fed: &Fed, id: &str, path: &str, body: Bytes) -> Answer {
    let mut conn = client::Connection::open(&fed.addr(), fed.tls(Some(JS)))
        .await
        .unwrap();
    conn.send("POST", path, &[("yrdx-request-id", id)], body)
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", fed.backend))
}

/// Sends and checks the status, code and the one leaf it leaves; returns the
/// answer and the leaf with its index.
async fn expect(
    fed: &Fed,
    id: &str,
    body: &Value,
    status: u16,
    code: Option<&str>,
) -> (Answer, Value, u64) {
    let before = fed.log_size().await;
    let answer = send(fed, id, SCJG, body_bytes(body)).await;
    assert_eq!(
        (answer.status, answer.json()["code"].as_str()),
        (status, code),
        "{}: {}",
        fed.backend,
        String::from_utf8_lossy(&answer.body)
    );
    assert_eq!(
        fed.log_size().await,
        before + 1,
        "{}: one leaf",
        fed.backend
    );
    let leaf = fed.leaf(before).await;
    assert_eq!(leaf["request_id"], id, "{}", fed.backend);
    (answer, leaf, before)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_request_id_is_an_idempotency_key() {
    for fed in federations("request_ids").await {
        let backend = fed.backend;
        reimport_list(&fed, |t| t.replace(DEMO_QUOTA, "quota = { per_day = 2 }")).await;
        let body = served_body();

        // The first request with an id: served, counted, no retry_of.
        let a = "0190b6f2-5f3a-7c1d-8e4f-00000000000a";
        let (answer, leaf, first) = expect(&fed, a, &body, 200, None).await;
        assert!(leaf.get("retry_of").is_none(), "{backend}: {leaf}");
        assert!(answer.json()["receipt"].get("retry_of").is_none());
        let data = answer.json()["data"].clone();

        // Retries: served again from the provider, each its own leaf naming
        // the first, none counted against the day's quota of two.
        for _ in 0..3 {
            let (answer, leaf, index) = expect(&fed, a, &body, 200, None).await;
            assert_eq!(leaf["retry_of"], first, "{backend}: {leaf}");
            assert_eq!(leaf["outcome"], "served");
            let json = answer.json();
            assert_eq!(json["receipt"]["retry_of"], first, "{backend}");
            assert_eq!(json["receipt"]["leaf_index"], index, "{backend}");
            assert_eq!(json["data"], data, "{backend}");
        }
        // So the quota still holds a second call, and then none.
        let b = "0190b6f2-5f3a-7c1d-8e4f-00000000000b";
        expect(&fed, b, &body, 200, None).await;
        let c = "0190b6f2-5f3a-7c1d-8e4f-00000000000c";
        let (_, _, refused) = expect(&fed, c, &body, 429, Some("quota_exhausted")).await;
        // A retry of a request that was not counted is metered as any call.
        let (_, leaf, _) = expect(&fed, c, &body, 429, Some("quota_exhausted")).await;
        assert_eq!(leaf["retry_of"], refused, "{backend}");

        // The same id with another request is refused, and recorded.
        let other =
            json!({"key": {"uscc": "91330106MA27Y9KE3E"}, "purpose": CHECK, "items": ["name"]});
        let (answer, leaf, _) = expect(&fed, a, &other, 409, Some("request_id_reused")).await;
        assert!(leaf.get("retry_of").is_none(), "{backend}: {leaf}");
        assert!(
            answer.json()["message_zh"]
                .as_str()
                .unwrap()
                .contains("请求编号"),
            "{backend}"
        );
        // Another path with the same body is another request too.
        let elsewhere = send(&fed, a, "/v1/exchange/YRD-GJJ-0001", body_bytes(&body)).await;
        assert_eq!(elsewhere.json()["code"], "request_id_reused", "{backend}");
        // Another consumer's key of the same name is its own.
        let zj = client::Connection::open(&fed.addr(), fed.tls(Some(crate::ZJ)))
            .await
            .unwrap()
            .send("POST", SCJG, &[("yrdx-request-id", a)], body_bytes(&other))
            .await
            .unwrap();
        assert_ne!(zj.json()["code"], "request_id_reused", "{backend}");

        // Two at once: Zhejiang's register takes 5 s for this key (past the
        // entry's 3 s deadline), so the first holds the id while the second
        // arrives, which is refused; once the first is answered, the second
        // is a retry of it.
        reimport_list(&fed, |t| {
            t.replace(DEMO_QUOTA, "quota = { per_day = 10000 }")
        })
        .await;
        let slow = json!({"key": {"uscc": "91330100MA2CC1L842"}, "purpose": CHECK});
        let d = "0190b6f2-5f3a-7c1d-8e4f-00000000000d";
        let before = fed.log_size().await;
        let first_task = {
            let (addr, tls, body) = (fed.addr(), fed.tls(Some(JS)), body_bytes(&slow));
            tokio::spawn(async move {
                let mut conn = client::Connection::open(&addr, tls).await.unwrap();
                conn.send("POST", SCJG, &[("yrdx-request-id", d)], body)
                    .await
                    .unwrap()
            })
        };
        tokio::time::sleep(Duration::from_millis(500)).await;
        let second = send(&fed, d, SCJG, body_bytes(&slow)).await;
        assert_eq!(
            (second.status, second.json()["code"].as_str()),
            (409, Some("request_in_progress")),
            "{backend}"
        );
        let first_answer = first_task.await.unwrap();
        assert_eq!(first_answer.json()["code"], "upstream_timeout", "{backend}");
        // The refusal's leaf and the first's, in whichever order.
        assert_eq!(fed.log_size().await, before + 2, "{backend}");
        let mut slow_leaf = None;
        for i in [before, before + 1] {
            let leaf = fed.leaf(i).await;
            if leaf["code"] == "upstream_timeout" {
                slow_leaf = Some(i);
            }
        }
        let slow_leaf = slow_leaf.unwrap();
        let (_, leaf, _) = expect(&fed, d, &slow, 504, Some("upstream_timeout")).await;
        assert_eq!(leaf["retry_of"], slow_leaf, "{backend}");
    }
}
