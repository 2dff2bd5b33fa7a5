//! Gateway integration tests: a whole demo federation (PKI, four sample
//! providers, the gateway) on loopback, real sockets and real TLS, on SQLite
//! and — when `YRDX_TEST_DATABASE_URL` is set — on PostgreSQL.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    reason = "test helpers: a panic is a failing test"
)]

mod audit;
mod common;
mod hostile;
mod listing;
mod onboarding;
mod operations;
mod retries;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use serde_json::{Value, json};
use yrdx_conformance::client::{self, Answer, ClientError};
use yrdx_gateway::cli::demo::{self, Demo, DemoOptions};
use yrdx_registry::StoredLeaf;
use yrdx_registry::testing::fresh_postgres;
use yrdx_signing::{hex, sha256};

use common::{
    CHECK, DEMO_QUOTA, JS, SCJG, body_bytes, demo_manifest, now_ms, postgres_server, refused_body,
    run_yrdx, served_body, wait_for, wait_until,
};

const ZJ: &str = "zj:11330000002482028A:data";
const AH: &str = "ah:113400000029868223:data";
const SH_SERVICES: &str = "sh:113100000024189075:yiwang";

/// One running demo federation and the folder it lives in.
struct Fed {
    demo: Demo,
    backend: &'static str,
    _dir: tempfile::TempDir,
}

impl Fed {
    async fn start(store_url: Option<String>) -> Fed {
        let dir = tempfile::tempdir().unwrap();
        let backend = if store_url.is_some() {
            "postgres"
        } else {
            "sqlite"
        };
        let demo = common::start_demo(dir.path(), store_url).await;
        Fed {
            demo,
            backend,
            _dir: dir,
        }
    }

    fn addr(&self) -> String {
        self.demo.gateway.exchange_addr().to_string()
    }

    fn tls(&self, member: Option<&str>) -> Arc<rustls::ClientConfig> {
        let m = &self.demo.manifest;
        let identity = member.map(|id| {
            let f = &m.members[id];
            (f.cert.as_path(), f.key.as_path())
        });
        client::tls_config(&m.ca_bundle, identity).unwrap()
    }

    async fn post(&self, member: Option<&str>, path: &str, body: &Value) -> Answer {
        client::request(&self.addr(), self.tls(member), "POST", path, body)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", self.backend))
    }

    async fn log_size(&self) -> u64 {
        self.demo.gateway.app().store.log_size().await.unwrap()
    }

    /// Waits (a second at most) for the log to hold more than `size`
    /// leaves, as after a refused handshake; returns its size then.
    async fn log_grown_past(&self, size: u64) -> u64 {
        wait_for(
            &format!("{}: a record past leaf {size}", self.backend),
            Duration::from_secs(1),
            async || Some(self.log_size().await).filter(|now| *now > size),
        )
        .await
    }

    /// The leaf at `index` as stored.
    async fn stored(&self, index: u64) -> StoredLeaf {
        let store = &self.demo.gateway.app().store;
        store.log_leaves(index, index + 1).await.unwrap().remove(0)
    }

    /// The exchange record at `index`.
    async fn leaf(&self, index: u64) -> Value {
        serde_json::from_slice(&self.stored(index).await.leaf).unwrap()
    }

    /// Sends a request and checks it leaves exactly one record, with the given
    /// status and code; returns the answer and the record.
    async fn expect(
        &self,
        member: Option<&str>,
        path: &str,
        body: Value,
        status: u16,
        code: Option<&str>,
    ) -> (Answer, Value) {
        self.expect_send(member, "POST", path, body_bytes(&body), status, code)
            .await
    }

    /// `expect` for Jiangsu's market-registration check.
    async fn expect_check(&self, body: Value, status: u16, code: Option<&str>) -> (Answer, Value) {
        self.expect(Some(JS), SCJG, body, status, code).await
    }

    /// `expect` for a committed vector uploaded to `POST /v1/verify`.
    async fn verify_upload(
        &self,
        member: Option<&str>,
        vector_file: &str,
        status: u16,
        code: Option<&str>,
    ) -> (Answer, Value) {
        let body = Bytes::from(vector(vector_file));
        self.expect_send(member, "POST", "/v1/verify", body, status, code)
            .await
    }

    /// `expect` for a `GET`.
    async fn expect_get(
        &self,
        member: Option<&str>,
        path: &str,
        status: u16,
        code: Option<&str>,
    ) -> (Answer, Value) {
        self.expect_send(member, "GET", path, Bytes::new(), status, code)
            .await
    }

    /// `expect` for any method and raw body.
    async fn expect_send(
        &self,
        member: Option<&str>,
        method: &str,
        path: &str,
        body: Bytes,
        status: u16,
        code: Option<&str>,
    ) -> (Answer, Value) {
        let before = self.log_size().await;
        let mut conn = client::Connection::open(&self.addr(), self.tls(member))
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", self.backend));
        let answer = conn
            .send(method, path, &[], body)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", self.backend));
        let got_code = answer.json()["code"].as_str().map(str::to_owned);
        assert_eq!(
            (answer.status, got_code.as_deref()),
            (status, code),
            "{}: {} {}",
            self.backend,
            path,
            String::from_utf8_lossy(&answer.body)
        );
        assert_eq!(
            self.log_size().await,
            before + 1,
            "{}: exactly one record",
            self.backend
        );
        let record = self.leaf(before).await;
        assert_eq!(record["status"], status, "{}", self.backend);
        assert_eq!(record["code"].as_str(), code, "{}", self.backend);
        (answer, record)
    }
}

/// A federation per backend available.
async fn federations(test: &str) -> Vec<Fed> {
    let mut out = vec![Fed::start(None).await];
    if let Some(server) = postgres_server(test) {
        let url = fresh_postgres(&server, test).await.unwrap();
        out.push(Fed::start(Some(url)).await);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_served_exchange_returns_exactly_the_granted_items_with_a_verifiable_receipt() {
    for fed in federations("served_exchange").await {
        let body = served_body();
        let (answer, record) = fed.expect_check(body.clone(), 200, None).await;
        let v = answer.json();
        assert_eq!(v["provider"], ZJ);
        let data = v["data"].as_object().unwrap();
        // RL-2026-00001 grants these seven; Zhejiang also sends legalPerson and dom.
        let granted: BTreeSet<&str> = [
            "uscc",
            "name",
            "enterprise_type",
            "registered_capital",
            "established_date",
            "status",
            "registration_authority",
        ]
        .into();
        assert_eq!(
            data.keys().map(String::as_str).collect::<BTreeSet<_>>(),
            granted,
            "{}",
            fed.backend
        );
        assert_eq!(data["name"], "杭州西溪数字科技有限公司");
        assert_eq!(data["established_date"], "2016-09-23");
        assert_eq!(data["registered_capital"], "500");

        // The receipt lets the consumer prove what it sent and received.
        let receipt = &v["receipt"];
        let salt = base64::engine::general_purpose::STANDARD
            .decode(receipt["salt"].as_str().unwrap())
            .unwrap();
        let salted = |bytes: &[u8]| hex(&sha256(&[salt.as_slice(), bytes].concat()));
        assert_eq!(
            receipt["request_digest"],
            salted(&serde_json::to_vec(&body).unwrap())
        );
        let canonical = serde_json_canonicalizer::to_vec(&v["data"]).unwrap();
        assert_eq!(receipt["response_digest"], salted(&canonical));
        // `data` arrives in that canonical form: its bytes as received hash alike.
        #[derive(serde::Deserialize)]
        struct Sent<'a> {
            #[serde(borrow)]
            data: &'a serde_json::value::RawValue,
        }
        let sent: Sent = serde_json::from_slice(&answer.body).unwrap();
        assert_eq!(sent.data.get().as_bytes(), canonical.as_slice());
        let index = receipt["leaf_index"].as_u64().unwrap();
        let stored = fed.stored(index).await;
        assert_eq!(
            hex(&stored.leaf_hash),
            receipt["leaf_hash"].as_str().unwrap()
        );
        assert_eq!(
            hex(&sha256(&[&[0u8][..], &stored.leaf].concat())),
            receipt["leaf_hash"].as_str().unwrap()
        );

        // The record names who, what, under which entry — and holds no payload.
        assert_eq!(record["outcome"], "served");
        assert_eq!(record["consumer"], JS);
        assert_eq!(record["entry"], "RL-2026-00001");
        assert_eq!(record["purpose"], CHECK);
        assert_eq!(record["items"].as_array().unwrap().len(), 7);
        let leaf_text = String::from_utf8(stored.leaf.clone()).unwrap();
        for secret in ["91330106MA27Y9KE3E", "杭州西溪", "陈晓燕"] {
            assert!(
                !leaf_text.contains(secret),
                "{}: the log holds payload {secret}",
                fed.backend
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_refusals_each_leave_one_record() {
    for fed in federations("identity_refusals").await {
        let body = served_body();
        fed.expect(None, SCJG, body.clone(), 401, Some("no_client_certificate"))
            .await;
        let (_, r) = fed
            .expect(
                Some("zj:11330000002482028A:impostor"),
                SCJG,
                body.clone(),
                403,
                Some("region_mismatch"),
            )
            .await;
        assert!(
            r.get("consumer").is_none(),
            "an impostor is not recorded as the member it claims"
        );
        let (_, r) = fed
            .expect(
                Some("ah:11340000MB2261059X:unregistered"),
                SCJG,
                body.clone(),
                403,
                Some("unknown_member"),
            )
            .await;
        assert_eq!(r["consumer"], "ah:11340000MB2261059X:unregistered");
        fed.expect(
            Some("ah:12340000MB0000111C:legacy"),
            SCJG,
            body.clone(),
            403,
            Some("member_inactive"),
        )
        .await;

        // A certificate from a CA outside the federation fails the handshake,
        // and the refusal is recorded.
        let outsider = tempfile::tempdir().unwrap();
        let layout = yrdx_conformance::pki::init(
            outsider.path(),
            &demo::pki_spec().unwrap(),
            time::OffsetDateTime::now_utc(),
        )
        .unwrap();
        let js = layout.client("js_11320000014000118J_data");
        let tls =
            client::tls_config(&fed.demo.manifest.ca_bundle, Some((&js.cert, &js.key))).unwrap();
        let before = fed.log_size().await;
        let result = client::request(&fed.addr(), tls, "POST", SCJG, &body).await;
        assert!(
            matches!(
                result,
                Err(ClientError::Handshake(_)) | Err(ClientError::Http(_))
            ),
            "{}: an untrusted certificate was served: {result:?}",
            fed.backend
        );
        let size = fed.log_grown_past(before).await;
        assert_eq!(size, before + 1, "{}", fed.backend);
        let r = fed.leaf(before).await;
        assert_eq!(
            (r["api"].as_str(), r["code"].as_str()),
            (Some("tls"), Some("certificate_untrusted"))
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_refusals_have_their_codes() {
    for fed in federations("list_refusals").await {
        fed.expect(
            Some(ZJ),
            "/v1/exchange/YRD-RSBZ-0001",
            json!({"key": {"id_number": "310115198801011236"}, "purpose": "社会保险关系转移接续", "provider": "sh"}),
            403,
            Some("not_in_responsibility_list"),
        )
        .await;
        let (_, r) = fed
            .expect_check(refused_body(), 403, Some("purpose_not_allowed"))
            .await;
        // A purpose the list does not know is the consumer's free text: only its
        // digest is kept.
        assert!(r["purpose"].as_str().unwrap().starts_with("sha256:"), "{r}");
        fed.expect(
            Some(ZJ),
            "/v1/exchange/YRD-BDC-0001",
            json!({"key": {"certificate_no": "苏(2020)南京市不动产权第0098765号"}, "purpose": "不动产抵押登记"}),
            403,
            Some("entry_expired"),
        )
        .await;
        fed.expect(
            Some(JS),
            "/v1/exchange/YRD-XXXX-9999",
            json!({"key": {"uscc": "x"}, "purpose": CHECK}),
            404,
            Some("unknown_resource"),
        )
        .await;
        fed.expect_check(
            json!({"key": {"uscc": "91330106MA27Y9KE3X"}, "purpose": CHECK}),
            400,
            Some("bad_request"),
        )
        .await;
        fed.expect_check(json!({"purpose": CHECK}), 400, Some("bad_request"))
            .await;
        // A key of the wrong type or with a field the resource does not have
        // is the request's fault, found before the list looks for a provider
        // (two regions provide this one and the request names neither).
        for key in [
            json!({"id_number": {"$ne": 1}}),
            json!({"id_number": 123}),
            json!({"id_number": null}),
            json!({"uscc": "91330106MA27Y9KE3E"}),
        ] {
            let (answer, _) = fed
                .expect(
                    Some(JS),
                    "/v1/exchange/YRD-RSBZ-0001",
                    json!({"key": key, "purpose": "社会保险关系转移接续"}),
                    400,
                    Some("bad_request"),
                )
                .await;
            let detail = answer.json()["detail"].as_str().unwrap().to_owned();
            assert!(detail.contains("id_number"), "{key}: {detail}");
        }
    }
}

/// Requests refused before any route — a head over the size limit, more
/// headers than allowed, a huge URL, malformed framing — are answered with
/// their status and recorded, with the connection's member: in problem+json
/// up to twice the limits, with the HTTP layer's bare status beyond (and for
/// malformed framing), which hyper gives no way to replace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_refused_below_the_routes_are_recorded() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    for fed in federations("below_routes").await {
        let header = |n: usize| format!("X-Big: {}\r\n", "a".repeat(n));
        let many_headers: String = (0..80).map(|i| format!("X-H{i}: v\r\n")).collect();
        let too_many_headers: String = (0..200).map(|i| format!("X-H{i}: v\r\n")).collect();
        let long_url = format!("/v1/exchange/{}", "a".repeat(100_000));
        let url_over = format!("/v1/exchange/{}", "a".repeat(20_000));
        for (request, status, code, problem_json) in [
            (
                format!(
                    "GET /v1/audit/key HTTP/1.1\r\nHost: x\r\n{}\r\n",
                    header(20_000)
                ),
                "431",
                "header_too_large",
                true,
            ),
            (
                format!("GET /v1/audit/key HTTP/1.1\r\nHost: x\r\n{many_headers}\r\n"),
                "431",
                "header_too_large",
                true,
            ),
            (
                format!("GET {url_over} HTTP/1.1\r\nHost: x\r\n\r\n"),
                "431",
                "header_too_large",
                true,
            ),
            (
                format!(
                    "GET /v1/audit/key HTTP/1.1\r\nHost: x\r\n{}\r\n",
                    header(40_000)
                ),
                "431",
                "header_too_large",
                false,
            ),
            (
                format!("GET /v1/audit/key HTTP/1.1\r\nHost: x\r\n{too_many_headers}\r\n"),
                "431",
                "header_too_large",
                false,
            ),
            (
                format!("GET {long_url} HTTP/1.1\r\nHost: x\r\n\r\n"),
                "431",
                "header_too_large",
                false,
            ),
            (
                "GET /v1/audit/key HTTP/1.1\r\nHost x\r\n\r\n".to_owned(),
                "400",
                "bad_request",
                false,
            ),
        ] {
            // The connection closes after the answer either way.
            let request = request.replacen("Host: x\r\n", "Host: x\r\nConnection: close\r\n", 1);
            let before = fed.log_size().await;
            let mut tls = (*fed.tls(Some(JS))).clone();
            tls.alpn_protocols = vec![b"http/1.1".to_vec()];
            let tcp = tokio::net::TcpStream::connect(fed.addr()).await.unwrap();
            let mut conn = tokio_rustls::TlsConnector::from(Arc::new(tls))
                .connect("127.0.0.1".try_into().unwrap(), tcp)
                .await
                .unwrap();
            conn.write_all(request.as_bytes()).await.unwrap();
            let mut answer = Vec::new();
            let _ =
                tokio::time::timeout(Duration::from_secs(5), conn.read_to_end(&mut answer)).await;
            let text = String::from_utf8_lossy(&answer).to_lowercase();
            assert!(
                text.starts_with(&format!("http/1.1 {status}")),
                "{}: {code}: {text}",
                fed.backend
            );
            assert_eq!(
                text.contains("content-type: application/problem+json")
                    && text.contains(&format!("\"code\":\"{code}\"")),
                problem_json,
                "{}: {code}: {text}",
                fed.backend
            );
            let size = fed.log_grown_past(before).await;
            assert_eq!(size, before + 1, "{}", fed.backend);
            let r = fed.leaf(before).await;
            assert_eq!(
                (
                    r["api"].as_str(),
                    r["code"].as_str(),
                    r["consumer"].as_str()
                ),
                (Some("http"), Some(code), Some(JS)),
                "{}: {r}",
                fed.backend
            );
        }
    }
}

/// A client that hangs up while its provider is slow still leaves its leaf:
/// the provider was asked on its behalf, so the log must say so, with
/// `client_closed`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_hangs_up_still_leaves_its_leaf() {
    for fed in federations("hang_up").await {
        {
            let before = fed.log_size().await;
            let mut conn = client::Connection::open(&fed.addr(), fed.tls(Some(JS)))
                .await
                .unwrap();
            // Zhejiang's provider takes 5 s for this key; the entry allows 3 s.
            let slow = json!({"key": {"uscc": "91330100MA2CC1L842"}, "purpose": CHECK});
            let sent = tokio::time::timeout(
                Duration::from_millis(300),
                conn.send("POST", SCJG, &[], body_bytes(&slow)),
            )
            .await;
            assert!(
                sent.is_err(),
                "{}: answered before the hang-up",
                fed.backend
            );
            drop(conn);
            let size = wait_for(
                &format!("{}: the hung-up request's leaf", fed.backend),
                Duration::from_secs(6),
                async || Some(fed.log_size().await).filter(|now| *now > before),
            )
            .await;
            assert_eq!(size, before + 1, "{}", fed.backend);
            let r = fed.leaf(before).await;
            assert_eq!(
                (
                    r["code"].as_str(),
                    r["outcome"].as_str(),
                    r["status"].as_u64()
                ),
                (Some("client_closed"), Some("refused"), Some(499)),
                "{}: {r}",
                fed.backend
            );
            assert_eq!(
                r["provider"], ZJ,
                "{}: the provider asked is recorded",
                fed.backend
            );
            assert_eq!(r["entry"], "RL-2026-00001", "{}", fed.backend);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_down_slow_or_answering_garbage() {
    for fed in federations("upstream_failures").await {
        fed.expect(
            Some(SH_SERVICES),
            "/v1/exchange/YRD-GJJ-0001",
            json!({"key": {"id_number": "320102198506203411"}, "purpose": "住房公积金异地贷款"}),
            502,
            Some("upstream_unavailable"),
        )
        .await;
        let started = std::time::Instant::now();
        let (_, r) = fed
            .expect_check(
                json!({"key": {"uscc": "91330100MA2CC1L842"}, "purpose": CHECK}),
                504,
                Some("upstream_timeout"),
            )
            .await;
        // The entry's deadline is 3 s; the provider would take 5 s.
        assert!(
            started.elapsed() < Duration::from_millis(4500),
            "{:?}",
            started.elapsed()
        );
        assert!(r["latency_us"].as_u64().unwrap() >= 3_000_000);
        let (answer, r) = fed
            .expect(
                Some(ZJ),
                SCJG,
                json!({"key": {"uscc": "91310104MA1FRH5K3G"}, "purpose": CHECK}),
                502,
                Some("mapping_failed"),
            )
            .await;
        let text = String::from_utf8_lossy(&answer.body);
        assert!(
            !text.contains("html") && !text.contains("Bad Gateway"),
            "native payload passed through: {text}"
        );
        assert!(answer.json().get("data").is_none());
        assert!(r.get("native_digest").is_some());
    }
}

async fn refuse_log_writes(url: &str, refuse: bool) {
    use sqlx::{Connection as _, Executor as _};
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    let sql = match (url.starts_with("sqlite:"), refuse) {
        (true, true) => {
            "CREATE TRIGGER refuse_leaves BEFORE INSERT ON log_leaves BEGIN SELECT RAISE(ABORT, 'disk quota exceeded'); END;"
        }
        (true, false) => "DROP TRIGGER refuse_leaves;",
        (false, true) => {
            "CREATE FUNCTION refuse_leaves() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'disk quota exceeded'; END $$ LANGUAGE plpgsql; \
             CREATE TRIGGER refuse_leaves BEFORE INSERT ON log_leaves FOR EACH ROW EXECUTE FUNCTION refuse_leaves();"
        }
        (false, false) => {
            "DROP TRIGGER refuse_leaves ON log_leaves; DROP FUNCTION refuse_leaves();"
        }
    };
    conn.execute(sqlx::raw_sql(sql)).await.unwrap();
    conn.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_refuses_writes_yields_audit_unavailable_and_no_data() {
    for fed in federations("audit_unavailable").await {
        let url = fed.demo.gateway.app().config.store.url.clone();
        let body = served_body();
        refuse_log_writes(&url, true).await;
        let before = fed.log_size().await;
        let answer = fed.post(Some(JS), SCJG, &body).await;
        assert_eq!(answer.status, 503, "{}", fed.backend);
        assert_eq!(answer.json()["code"], "audit_unavailable");
        let text = String::from_utf8_lossy(&answer.body);
        assert!(
            !text.contains("杭州西溪"),
            "data served without an audit record: {text}"
        );
        assert_eq!(fed.log_size().await, before);
        // Refusals are not answered unrecorded either.
        let answer = fed.post(None, SCJG, &body).await;
        assert_eq!(answer.json()["code"], "audit_unavailable");

        refuse_log_writes(&url, false).await;
        fed.expect_check(body, 200, None).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_and_request_ids() {
    let fed = Fed::start(None).await;
    let big = json!({"key": {"uscc": "91330106MA27Y9KE3E"}, "purpose": CHECK, "case_no": "x".repeat(70_000)});
    fed.expect_check(big, 413, Some("payload_too_large")).await;

    let mut conn = client::Connection::open(&fed.addr(), fed.tls(Some(JS)))
        .await
        .unwrap();
    let body = body_bytes(&served_body());
    let answer = conn
        .send(
            "POST",
            SCJG,
            &[("yrdx-request-id", "not-a-uuid")],
            body.clone(),
        )
        .await
        .unwrap();
    assert_eq!(answer.json()["code"], "bad_request");
    let id = "0190b6f2-5f3a-7c1d-8e4f-123456789abc";
    let answer = conn
        .send("POST", SCJG, &[("yrdx-request-id", id)], body)
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json()["receipt"]["request_id"], id);
    // Unknown routes and methods are problems too.
    let answer = conn.send("GET", SCJG, &[], Bytes::new()).await.unwrap();
    assert_eq!(
        (answer.status, answer.json()["code"].as_str()),
        (405, Some("method_not_allowed"))
    );
    let answer = conn
        .send("GET", "/nowhere", &[], Bytes::new())
        .await
        .unwrap();
    assert_eq!(answer.json()["code"], "not_found");

    // The admin listener answers plain HTTP on loopback.
    for (path, expect) in [("/healthz", "ok"), ("/readyz", "ready: registry version 1")] {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut tcp = tokio::net::TcpStream::connect(fed.demo.gateway.admin_addr())
            .await
            .unwrap();
        tcp.write_all(
            format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
        let mut text = String::new();
        tcp.read_to_string(&mut text).await.unwrap();
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
        assert!(text.contains(expect), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_is_served() {
    use http_body_util::{BodyExt, Full};
    let fed = Fed::start(None).await;
    let mut tls = (*fed.tls(Some(AH))).clone();
    tls.alpn_protocols = vec![b"h2".to_vec()];
    let tcp = tokio::net::TcpStream::connect(fed.addr()).await.unwrap();
    let stream = tokio_rustls::TlsConnector::from(Arc::new(tls))
        .connect(
            rustls_pki_types::ServerName::try_from("127.0.0.1").unwrap(),
            tcp,
        )
        .await
        .unwrap();
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (mut sender, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    let body =
        serde_json::to_vec(&json!({"key": {"uscc": "91310115MA1K4DT67F"}, "purpose": CHECK}))
            .unwrap();
    let req = http::Request::post(format!("https://{}{SCJG}", fed.addr()))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let resp = sender.send_request(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["data"]["name"], "上海浦江智慧物流有限公司");
}

/// A plain-HTTP GET on the admin listener: status line and body.
async fn admin_get(fed: &Fed, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(fed.demo.gateway.admin_addr())
        .await
        .unwrap();
    tcp.write_all(
        format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut text = String::new();
    tcp.read_to_string(&mut text).await.unwrap();
    text
}

/// A region's TLS CRL past its nextUpdate and the grace (24 h by default):
/// the node fails closed for that region — its members are refused at the
/// handshake (recorded as `certificate_revocation_unknown`), `/readyz` says
/// 503 naming the region, the metric says 2 — while other regions' members
/// are served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_tls_crl_fails_closed_for_its_region_and_says_so() {
    use yrdx_conformance::pki::{self, Oddities, PkiLayout};
    let dir = tempfile::tempdir().unwrap();
    let options = DemoOptions {
        dir: dir.path().to_owned(),
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        store_url: None,
        provider_port_base: None,
    };
    let first = demo::start(&options).await.unwrap();
    first.gateway.shutdown(Duration::from_secs(2)).await;
    drop(first.providers);
    // Anhui's CRL, reissued as it was 40 days ago: due 10 days ago.
    let layout = PkiLayout {
        dir: dir.path().join("pki"),
    };
    let now = time::OffsetDateTime::now_utc();
    let ah: yrdx_signing::MemberId = AH.parse().unwrap();
    let other = pki::issue_odd_client(
        &layout,
        yrdx_signing::Region::Ah,
        "ah_other",
        &Oddities::none(&ah, now),
    )
    .unwrap();
    pki::revoke(
        &layout,
        yrdx_signing::Region::Ah,
        &other.cert,
        now - time::Duration::days(40),
    )
    .unwrap();
    let fed = Fed {
        demo: demo::start(&options).await.unwrap(),
        backend: "sqlite",
        _dir: dir,
    };
    let ready = admin_get(&fed, "/readyz").await;
    assert!(ready.starts_with("HTTP/1.1 503"), "{ready}");
    assert!(ready.contains("region ah's TLS CRL"), "{ready}");
    let metrics = admin_get(&fed, "/metrics").await;
    assert!(
        metrics.contains("yrdx_tls_crl_state{region=\"ah\"} 2"),
        "{metrics}"
    );
    assert!(metrics.contains("yrdx_tls_crl_state{region=\"js\"} 0"));
    let size = fed.log_size().await;
    let refused = client::request(
        &fed.addr(),
        fed.tls(Some(AH)),
        "POST",
        SCJG,
        &json!({"key": {"uscc": "91310115MA1K4DT67F"}, "purpose": CHECK}),
    )
    .await;
    assert!(refused.is_err(), "served on a stale CRL: {refused:?}");
    fed.log_grown_past(size).await;
    let r = fed.leaf(size).await;
    assert_eq!(
        (r["api"].as_str(), r["code"].as_str()),
        (Some("tls"), Some("certificate_revocation_unknown"))
    );
    fed.expect_check(served_body(), 200, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_certificate_is_refused_after_a_restart_in_the_same_folder() {
    let dir = tempfile::tempdir().unwrap();
    let options = DemoOptions {
        dir: dir.path().to_owned(),
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        store_url: None,
        provider_port_base: None,
    };
    let first = demo::start(&options).await.unwrap();
    let cert = first.manifest.members[AH].cert.clone();
    let size = first.gateway.app().store.log_size().await.unwrap();
    first.gateway.shutdown(Duration::from_secs(2)).await;
    drop(first.providers);

    let layout = yrdx_conformance::pki::PkiLayout {
        dir: dir.path().join("pki"),
    };
    yrdx_conformance::pki::revoke(
        &layout,
        yrdx_signing::Region::Ah,
        &cert,
        time::OffsetDateTime::now_utc(),
    )
    .unwrap();
    let second = demo::start(&options).await.unwrap();
    let fed = Fed {
        demo: second,
        backend: "sqlite",
        _dir: dir,
    };
    // The log continues where it was.
    assert_eq!(fed.log_size().await, size);
    let result = client::request(
        &fed.addr(),
        fed.tls(Some(AH)),
        "POST",
        SCJG,
        &json!({"key": {"uscc": "91310115MA1K4DT67F"}, "purpose": CHECK}),
    )
    .await;
    assert!(
        result.is_err(),
        "a revoked certificate was served: {result:?}"
    );
    fed.log_grown_past(size).await;
    assert_eq!(fed.leaf(size).await["code"], "certificate_revoked");
    // Others are still served.
    fed.expect_check(served_body(), 200, None).await;
}

/// Runs `yrdx demo` as a user would (the real binary, an ephemeral port) and
/// replays every example of its manifest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_manifest_examples_behave_as_they_say() {
    let dir = tempfile::tempdir().unwrap();
    // Its log goes to a file, as under a service manager: plain text.
    let log_path = dir.path().join("stderr.log");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_yrdx"))
        .args(["demo", "--dir"])
        .arg(dir.path())
        .args(["--listen", "127.0.0.1:0"])
        .env("YRDX_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let m = demo_manifest(dir.path(), Duration::from_secs(15)).await;
    assert_eq!(
        m.as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        vec!["ca_bundle", "examples", "gateway", "members"]
    );
    let gateway = m["gateway"].as_str().unwrap();
    let addr = gateway.strip_prefix("https://").unwrap();
    assert!(!addr.ends_with(":0"), "the manifest names the port picked");
    let ca = std::path::PathBuf::from(m["ca_bundle"].as_str().unwrap());
    assert!(ca.is_absolute());
    let examples = m["examples"].as_array().unwrap();
    assert!(examples.len() >= 15);
    for ex in examples {
        let identity = ex["consumer"].as_str().map(|c| {
            let f = &m["members"][c];
            (
                std::path::PathBuf::from(f["cert"].as_str().unwrap()),
                std::path::PathBuf::from(f["key"].as_str().unwrap()),
            )
        });
        let tls = client::tls_config(
            &ca,
            identity.as_ref().map(|(c, k)| (c.as_path(), k.as_path())),
        )
        .unwrap();
        let answer = client::request(
            addr,
            tls,
            ex["method"].as_str().unwrap(),
            ex["path"].as_str().unwrap(),
            &ex["body"],
        )
        .await
        .unwrap();
        assert_eq!(
            answer.status,
            u16::try_from(ex["expect_status"].as_u64().unwrap()).unwrap(),
            "{}",
            ex["name"]
        );
        assert_eq!(answer.json()["code"], ex["expect_code"], "{}", ex["name"]);
    }
    // What a caller puts in the path reaches the operator's log only if it
    // is a catalogue code: an ID number, a forged line, escapes do not.
    let hostile = [
        "310115198801011236",
        "YRD%0A1999-01-01T00:00:00Z%20INFO%20zzforged",
        "%1B%5B31mzzred%00%E2%80%AE",
    ];
    let js = &m["members"]["js:11320000014000118J:data"];
    for resource in hostile {
        let tls = client::tls_config(
            &ca,
            Some((
                std::path::Path::new(js["cert"].as_str().unwrap()),
                std::path::Path::new(js["key"].as_str().unwrap()),
            )),
        )
        .unwrap();
        let path = format!("/v1/exchange/{resource}");
        let answer = client::request(addr, tls, "POST", &path, &served_body())
            .await
            .unwrap();
        assert_eq!(answer.json()["code"], "unknown_resource", "{resource}");
    }
    child.kill().await.unwrap();
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("exchange recorded"), "{log}");
    for leaked in ["310115198801011236", "zzforged", "zzred", "\u{202e}", "\0"] {
        assert!(!log.contains(leaked), "`{leaked}` reached the log: {log}");
    }
    assert!(!log.lines().any(|l| l.starts_with("1999-01-01")), "{log}");
    assert!(log.contains("resource=\"unknown:"), "{log}");
    assert!(log.contains("resource=\"YRD-SCJG-0001\""), "{log}");
    assert!(
        !log.contains('\x1b'),
        "no terminal colour codes in a log file: {log}"
    );
}

/// Writes the demo federation's registry with `edit` applied to the list file,
/// imports it as a new version in force now, and waits until the gateway runs
/// on it.
async fn reimport_list(fed: &Fed, edit: impl Fn(String) -> String) -> i64 {
    let app = fed.demo.gateway.app();
    let dir = fed.demo.manifest_path.parent().unwrap().join("registry");
    let list = dir.join("responsibility-list.toml");
    let text = edit(std::fs::read_to_string(&list).unwrap());
    let edited = dir.join(format!("list-{}.toml", app.registry().version() + 1));
    std::fs::write(&edited, text).unwrap();
    let files = vec![dir.join("members.toml"), dir.join("catalogue.toml"), edited];
    let now = now_ms();
    let (version, created) =
        yrdx_gateway::registry_ops::import(&app.store, &files, &app.config.adapters.dir, now, now)
            .await
            .unwrap();
    assert!(created);
    wait_until(
        &format!("{}: version {version} picked up", fed.backend),
        Duration::from_secs(5),
        async || app.registry().version() == version,
    )
    .await;
    version
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_day_quota_holds_exactly_under_concurrent_requests() {
    for fed in federations("quota_over_http").await {
        reimport_list(&fed, |t| t.replace(DEMO_QUOTA, "quota = { per_day = 30 }")).await;
        let tls = fed.tls(Some(JS));
        let mut tasks = Vec::new();
        for _ in 0..100 {
            let (addr, tls) = (fed.addr(), tls.clone());
            tasks.push(tokio::spawn(async move {
                let mut conn = client::Connection::open(&addr, tls).await.unwrap();
                let body = body_bytes(&served_body());
                conn.send("POST", SCJG, &[], body).await.unwrap()
            }));
        }
        let (mut served, mut refused) = (0, 0);
        for t in tasks {
            let a = t.await.unwrap();
            match a.status {
                200 => served += 1,
                429 => {
                    assert_eq!(a.json()["code"], "quota_exhausted");
                    refused += 1;
                }
                other => panic!(
                    "{}: {other} {}",
                    fed.backend,
                    String::from_utf8_lossy(&a.body)
                ),
            }
        }
        assert_eq!((served, refused), (30, 70), "{}", fed.backend);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_refuses_with_retry_after_and_an_unconditional_row_ignores_purpose() {
    let fed = Fed::start(None).await;
    reimport_list(&fed, |t| {
        t.replace(
            DEMO_QUOTA,
            "quota = { per_second = 1, burst = 2 }\nsharing_type = \"unconditional\"",
        )
    })
    .await;
    let mut conn = client::Connection::open(&fed.addr(), fed.tls(Some(JS)))
        .await
        .unwrap();
    // Unconditional: a purpose the list does not name is still served.
    let body = Bytes::from(
        serde_json::to_vec(&json!({"key": {"uscc": "91330106MA27Y9KE3E"}, "purpose": "任意用途"}))
            .unwrap(),
    );
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..6 {
        let a = conn.send("POST", SCJG, &[], body.clone()).await.unwrap();
        if a.status == 429 {
            retry_after = Some(a.json()["detail"].as_str().unwrap().to_owned());
        }
        statuses.push(a.status);
    }
    assert_eq!(
        &statuses[..2],
        &[200, 200],
        "the burst of two passes: {statuses:?}"
    );
    assert!(
        statuses[2..].iter().all(|s| *s == 429),
        "then the rate of 1/s refuses: {statuses:?}"
    );
    assert_eq!(retry_after.as_deref(), Some("retry after 1 s"));
    // The header says the same.
    let a = conn.send("POST", SCJG, &[], body.clone()).await.unwrap();
    assert_eq!(a.status, 429);
    // A second later the limiter holds a call again.
    wait_until(
        "the rate limiter to serve again",
        Duration::from_millis(1100),
        async || {
            conn.send("POST", SCJG, &[], body.clone())
                .await
                .unwrap()
                .status
                == 200
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn registry_reloads_under_load_lose_no_request() {
    for fed in federations("reload_under_load").await {
        reload_under_load(fed).await;
    }
}

async fn reload_under_load(fed: Fed) {
    let start_version = fed.demo.gateway.app().registry().version();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut workers = Vec::new();
    for _ in 0..4 {
        let (addr, tls, stop) = (fed.addr(), fed.tls(Some(AH)), stop.clone());
        workers.push(tokio::spawn(async move {
            let mut conn = client::Connection::open(&addr, tls).await.unwrap();
            let body = Bytes::from(
                serde_json::to_vec(
                    &json!({"key": {"uscc": "91310115MA1K4DT67F"}, "purpose": CHECK}),
                )
                .unwrap(),
            );
            let mut answered = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                answered.push(
                    conn.send("POST", SCJG, &[], body.clone())
                        .await
                        .unwrap()
                        .status,
                );
            }
            answered
        }));
    }
    for n in 0..3 {
        reimport_list(&fed, |t| {
            t.replace("0571-00000000", &format!("0571-1000000{n}"))
        })
        .await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut total = 0;
    for w in workers {
        let statuses = w.await.unwrap();
        total += statuses.len();
        assert!(
            statuses.iter().all(|s| *s == 200),
            "a request failed during a reload: {statuses:?}"
        );
    }
    assert!(total > 20, "only {total} requests ran during the reloads");
    assert_eq!(
        fed.demo.gateway.app().registry().version(),
        start_version + 3
    );
    assert_eq!(
        fed.log_size().await as usize,
        total,
        "one record per answered request"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_and_the_fulfilment_report() {
    for fed in federations("metrics_reports").await {
        fed.expect_check(served_body(), 200, None).await;
        fed.expect_check(
            json!({"key": {"uscc": "91330106MA27Y9KE3E"}, "purpose": "营销"}),
            403,
            Some("purpose_not_allowed"),
        )
        .await;

        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut tcp = tokio::net::TcpStream::connect(fed.demo.gateway.admin_addr())
            .await
            .unwrap();
        tcp.write_all(b"GET /metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut text = String::new();
        tcp.read_to_string(&mut text).await.unwrap();
        assert!(text.contains(r#"yrdx_exchanges_total{api="exchange",outcome="served",code="-",resource="YRD-SCJG-0001",consumer_region="js",provider_region="zj"} 1"#), "{text}");
        assert!(text.contains(r#"code="purpose_not_allowed""#));
        assert!(text.contains(r#"yrdx_stage_duration_seconds_bucket{stage="upstream""#));
        // Two exchanges answered one after the other: two commits of one leaf.
        assert!(text.contains("\nyrdx_log_commits_total 2\n"), "{text}");
        assert!(text.contains("\nyrdx_log_leaves_total 2\n"), "{text}");
        assert!(
            !text.contains("91330106MA27Y9KE3E") && !text.contains("request_id"),
            "unbounded labels leaked"
        );

        let month = time::OffsetDateTime::now_utc().to_offset(yrdx_registry::CST);
        let path = format!(
            "/v1/reports/fulfilment?period={:04}-{:02}",
            month.year(),
            u8::from(month.month())
        );
        let report = fed.read(&path).await.json();
        let e = report["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["entry"] == "RL-2026-00001")
            .unwrap();
        assert_eq!(e["served"].as_u64(), Some(1), "{}", fed.backend);
        // A purpose the list does not allow never reaches an entry.
        assert_eq!(
            report["refused_without_entry"]["purpose_not_allowed"].as_u64(),
            Some(1)
        );
        // The same report as CSV with English headers, and as a workbook.
        let csv = fed.read(&format!("{path}&format=csv&lang=en")).await;
        let text = String::from_utf8_lossy(&csv.body);
        assert!(
            text.starts_with("entry,resource,provider,calls")
                && text.contains("\n# refused_without_entry\ncode,count\n"),
            "{text}"
        );
        let xlsx = fed.read(&format!("{path}&format=xlsx")).await;
        assert!(xlsx.body.starts_with(b"PK"), "not a workbook");
        let a = client::request(&fed.addr(), fed.tls(Some(JS)), "GET", &path, &Value::Null)
            .await
            .unwrap();
        assert_eq!(
            (a.status, a.json()["code"].as_str()),
            (403, Some("not_a_regulator"))
        );
    }
}

/// The operator's registry commands, run as the `yrdx` binary against a demo
/// folder's configuration.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_and_report_commands() {
    let fed = Fed::start(None).await;
    fed.expect_check(served_body(), 200, None).await;
    let dir = fed.demo.manifest_path.parent().unwrap().to_owned();
    let config = dir.join("yrdx.toml");
    let yrdx = |args: &[&str]| run_yrdx(args);
    let c = config.to_str().unwrap();
    let xlsx = dir.join("export.xlsx");
    let (code, out, err) = yrdx(&[
        "registry",
        "export",
        "-c",
        c,
        "--format",
        "xlsx",
        "--out",
        xlsx.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{out}{err}");
    // The exported workbook imports back as the same registry: no new version.
    let (code, out, err) = yrdx(&["registry", "import", "-c", c, xlsx.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.starts_with("unchanged: registry version 1"), "{out}");
    // A changed list is a new version, and diff names the change.
    let list = dir.join("registry/responsibility-list.toml");
    let edited = dir.join("registry/list-edited.toml");
    std::fs::write(
        &edited,
        std::fs::read_to_string(&list)
            .unwrap()
            .replace("deadline_ms = 3000\nquota", "deadline_ms = 2500\nquota"),
    )
    .unwrap();
    let files = [
        dir.join("registry/members.toml"),
        dir.join("registry/catalogue.toml"),
        edited.clone(),
    ];
    // A dry run shows the change, old → new, and stores nothing.
    let mut args = vec!["registry", "import", "-c", c, "--dry-run"];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    let (code, out, err) = yrdx(&args);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("~ entry RL-2026-00001\n    deadline_ms: 3000 → 2500\n")
            && out.contains("nothing stored"),
        "{out}"
    );
    let (_, out, _) = yrdx(&["registry", "versions", "-c", c]);
    assert_eq!(
        out.lines().count(),
        2,
        "the dry run stored no version: {out}"
    );
    let mut args = vec!["registry", "import", "-c", c];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    let (code, out, err) = yrdx(&args);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.starts_with("imported as registry version 2"), "{out}");
    let (_, out, _) = yrdx(&["registry", "diff", "-c", c, "1", "2"]);
    assert_eq!(
        out.trim(),
        "~ entry RL-2026-00001\n    deadline_ms: 3000 → 2500"
    );
    let (_, out, _) = yrdx(&["registry", "versions", "-c", c]);
    assert!(
        out.lines().nth(2).unwrap().contains("yes"),
        "version 2 is in force: {out}"
    );
    // A bad file is refused with its place, and stores nothing.
    std::fs::write(&edited, "[[entry]]\nid = \"RL-2026-1\"\n").unwrap();
    let mut args = vec!["registry", "import", "-c", c];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    let (code, _, err) = yrdx(&args);
    assert_eq!(code, Some(2));
    assert!(err.contains("list-edited.toml"), "{err}");
    // The fulfilment report of this month counts the served exchange.
    let now = time::OffsetDateTime::now_utc().to_offset(yrdx_registry::CST);
    let period = format!("{:04}-{:02}", now.year(), u8::from(now.month()));
    let (code, out, err) = yrdx(&[
        "report",
        "fulfilment",
        "-c",
        c,
        "--period",
        &period,
        "--format",
        "csv",
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("RL-2026-00001,YRD-SCJG-0001,zj:11330000002482028A:data,1,1,")),
        "{out}"
    );
    assert!(
        out.starts_with("清单编号,信息资源代码,提供方,调用次数"),
        "{out}"
    );
    assert!(out.contains("\n# 总览\n"), "{out}");
    let (code, out, err) = yrdx(&[
        "report",
        "fulfilment",
        "-c",
        c,
        "--period",
        &period,
        "--format",
        "csv",
        "--lang",
        "en",
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.starts_with("entry,resource,provider,calls") && out.contains("\n# summary\n"),
        "{out}"
    );
    let report = dir.join("report.xlsx");
    let (code, out, err) = yrdx(&[
        "report",
        "fulfilment",
        "-c",
        c,
        "--period",
        &period,
        "--format",
        "xlsx",
        "--out",
        report.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{out}{err}");
    let bytes = std::fs::read(&report).unwrap();
    assert!(bytes.starts_with(b"PK"), "an XLSX workbook");
}

// ---- Licences and seal verification ----

use yrdx_conformance::demo_data::licence_path;
use yrdx_conformance::licences::{
    AH_LICENCE, BAD_CHECK_LICENCE, JS_LICENCE, ZJ_FOREIGN_SEAL_LICENCE, ZJ_LICENCE,
    ZJ_TAMPERED_LICENCE,
};

pub(crate) const VECTORS: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/../conformance/vectors/seals");

fn vector(name: &str) -> Vec<u8> {
    std::fs::read(std::path::Path::new(VECTORS).join(name)).unwrap()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_licence_from_another_region_is_served_with_its_report_and_recorded() {
    for fed in federations("licence_served").await {
        let path = licence_path(ZJ_LICENCE, "SH-2026-000301");
        let (answer, record) = fed.expect_get(Some(SH_SERVICES), &path, 200, None).await;
        let v = answer.json();
        assert_eq!(v["provider"], ZJ, "{}", fed.backend);
        assert_eq!(v["resource"], "YRD-DZZZ-0001");
        assert_eq!(v["licence_id"], ZJ_LICENCE);
        assert_eq!(v["issuing_region"], "zj");
        assert_eq!(v["data"]["holder_name"], "杭州西溪数字科技有限公司");
        assert_eq!(v["verification"]["result"], "valid");
        let file = base64::engine::general_purpose::STANDARD
            .decode(v["file"]["base64"].as_str().unwrap())
            .unwrap();
        assert!(file.starts_with(b"PK"));
        assert_eq!(v["file"]["sha256"], hex(&sha256(&file)));
        assert!(v["receipt"]["leaf_index"].is_u64());

        // The exchange record: the use, the entry, the seal summary — no file.
        assert_eq!(record["api"], "licence");
        assert_eq!(record["consumer"], SH_SERVICES);
        assert_eq!(record["provider"], ZJ);
        assert_eq!(record["entry"], "RL-2026-00019");
        assert_eq!(record["purpose"], "政务服务办理");
        assert_eq!(record["service_item"], "SX-SCJG-002");
        assert_eq!(record["case_no"], "SH-2026-000301");
        let seal = &record["seal"];
        assert_eq!(seal["result"], "valid", "{seal}");
        assert_eq!(seal["seal_id"], "330100000000101");
        assert_eq!(seal["trust_region"], "zj");
        assert!(
            seal["signer"]
                .as_str()
                .unwrap()
                .contains("Zhejiang Licence Signer"),
            "{seal}"
        );
        assert!(
            !record.to_string().contains("杭州西溪"),
            "no payload in the log"
        );

        // Jiangsu takes an Anhui licence; Shanghai one-stop services a Jiangsu one.
        fed.expect_get(Some(JS), &licence_path(AH_LICENCE, "JS-1"), 200, None)
            .await;
        fed.expect_get(
            Some(SH_SERVICES),
            &licence_path(JS_LICENCE, "SH-2"),
            200,
            None,
        )
        .await;

        // Records with seal summaries keep the exported log verifiable.
        let dir = fed.demo.manifest_path.parent().unwrap().to_owned();
        let export = dir.join("licences-audit.jsonl");
        common::export_log(&dir.join("yrdx.toml"), &export, &[], fed.backend).await;
        let key = dir.join("log.pub");
        let out = common::verify_log(&export, common::path(&key), &[]).await;
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {}",
            fed.backend,
            common::text(&out)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_licence_is_refused_seal_invalid_with_the_report() {
    for fed in federations("licence_seal_invalid").await {
        let path = licence_path(ZJ_TAMPERED_LICENCE, "SH-2026-000302");
        let (answer, record) = fed
            .expect_get(Some(SH_SERVICES), &path, 502, Some("seal_invalid"))
            .await;
        let v = answer.json();
        assert!(v["detail"].as_str().unwrap().contains("data_hash"), "{v}");
        let report = &v["verification"];
        assert_eq!(report["result"], "invalid");
        assert_eq!(
            report["signatures"][0]["report"]["failed_step"],
            "data_hash"
        );
        assert!(v.get("file").is_none(), "no licence file on refusal");
        assert_eq!(record["seal"]["result"], "invalid", "{}", fed.backend);
        assert_eq!(record["seal"]["failed_step"], "data_hash");
        assert_eq!(record["seal"]["code"], "reference_mismatch");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_regions_seal_is_not_trusted_by_the_issuing_regions_anchors() {
    for fed in federations("licence_wrong_region").await {
        let path = licence_path(ZJ_FOREIGN_SEAL_LICENCE, "SH-2026-000303");
        let (answer, record) = fed
            .expect_get(Some(SH_SERVICES), &path, 502, Some("seal_indeterminate"))
            .await;
        assert_eq!(answer.json()["verification"]["result"], "indeterminate");
        assert_eq!(record["seal"]["result"], "indeterminate", "{}", fed.backend);
        assert_eq!(record["seal"]["failed_step"], "signer_certificate");
        assert_eq!(record["seal"]["code"], "unknown_anchor");
        assert_eq!(record["seal"]["trust_region"], "zj");

        // The same file verifies against the whole federation's trust (js's
        // anchors included): only the issuing region's anchors count for a
        // licence.
        let ofd = {
            let pki =
                yrdx_conformance::licences::SealPki::demo(time::OffsetDateTime::now_utc()).unwrap();
            yrdx_conformance::licences::licences(&pki, yrdx_signing::Region::Zj)
                .unwrap()
                .into_iter()
                .find(|l| l.id == ZJ_FOREIGN_SEAL_LICENCE)
                .unwrap()
                .ofd
        };
        let (answer, _) = fed
            .expect_send(Some(ZJ), "POST", "/v1/verify", Bytes::from(ofd), 200, None)
            .await;
        assert_eq!(answer.json()["result"], "valid");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn licence_identifiers_and_uses_are_checked_before_the_list() {
    let fed = Fed::start(None).await;
    let (answer, record) = fed
        .expect_get(
            Some(SH_SERVICES),
            &licence_path(BAD_CHECK_LICENCE, "SH-1"),
            400,
            Some("bad_request"),
        )
        .await;
    let detail = answer.json()["detail"].as_str().unwrap().to_owned();
    assert!(detail.contains("check"), "{detail}");
    assert!(
        record["provider"].is_null(),
        "no provider for a bad identifier"
    );
    // A use without its case number.
    let no_case = format!(
        "/v1/licences/{ZJ_LICENCE}?purpose=%E6%94%BF%E5%8A%A1%E6%9C%8D%E5%8A%A1%E5%8A%9E%E7%90%86&service_item=SX-SCJG-002"
    );
    let (answer, _) = fed
        .expect_get(Some(SH_SERVICES), &no_case, 400, Some("bad_request"))
        .await;
    assert!(
        answer.json()["detail"]
            .as_str()
            .unwrap()
            .contains("case_no")
    );
    // An issuer outside the four regions (Beijing area code 11).
    let beijing =
        yrdx_signing::LicenceId::build("11100000000013338W009", "110105", "2026000001", "001")
            .unwrap();
    fed.expect_get(
        Some(SH_SERVICES),
        &licence_path(beijing.as_str(), "SH-3"),
        400,
        Some("bad_request"),
    )
    .await;
    // Zhejiang is not listed as a consumer of its own licences.
    fed.expect_get(
        Some(ZJ),
        &licence_path(ZJ_LICENCE, "ZJ-1"),
        403,
        Some("not_in_responsibility_list"),
    )
    .await;
    // A purpose the list does not allow.
    fed.expect_get(
        Some(SH_SERVICES),
        &format!("/v1/licences/{ZJ_LICENCE}?purpose=x&service_item=SX-SCJG-002&case_no=SH-4"),
        403,
        Some("purpose_not_allowed"),
    )
    .await;
    // No certificate.
    fed.expect_get(
        None,
        &licence_path(ZJ_LICENCE, "SH-5"),
        401,
        Some("no_client_certificate"),
    )
    .await;
}

/// Case numbers and service items reach the permanent log only when the list
/// vouches for them: a case number matching the granting entry's pattern and
/// a listed service item as sent; anything else as a salted digest. An
/// identity number sent as a case number is refused before the list, and a
/// service item sent for an entry that lists none is refused, not ignored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case_numbers_and_service_items_are_checked_and_kept_only_when_vouched_for() {
    let fed = Fed::start(None).await;
    let digested = |v: &Value, raw: &str| {
        let s = v.as_str().unwrap_or_default();
        assert!(s.starts_with("sha256:") && s.len() == 71, "{v}");
        assert!(!s.contains(raw), "{v}");
    };
    // The zhejiang licence entry sets `@@-####-######`.
    let (_, record) = fed
        .expect_get(
            Some(SH_SERVICES),
            &licence_path(ZJ_LICENCE, "SH-2026-000311"),
            200,
            None,
        )
        .await;
    assert_eq!(record["case_no"], "SH-2026-000311");
    assert_eq!(record["service_item"], "SX-SCJG-002");
    let (answer, record) = fed
        .expect_get(
            Some(SH_SERVICES),
            &licence_path(ZJ_LICENCE, "SH-26-11"),
            400,
            Some("case_number_invalid"),
        )
        .await;
    assert!(
        answer.json()["detail"]
            .as_str()
            .unwrap()
            .contains("@@-####-######")
    );
    digested(&record["case_no"], "SH-26-11");
    assert!(record["provider"].is_null());
    // An identity number as the case number: refused, and not in the log.
    let id_number = "310115198801011236";
    for path in [
        licence_path(ZJ_LICENCE, id_number),
        licence_path(AH_LICENCE, id_number),
    ] {
        let (_, record) = fed
            .expect_get(Some(SH_SERVICES), &path, 400, Some("case_number_invalid"))
            .await;
        assert!(!record.to_string().contains(id_number), "{record}");
    }
    let (_, record) = fed
        .expect(
            Some(SH_SERVICES),
            SCJG,
            json!({"key": {"uscc": "91340100MA2NH3AL0C"}, "purpose": "政务服务办理", "case_no": "91330106MA27Y9KE3E"}),
            400,
            Some("case_number_invalid"),
        )
        .await;
    assert!(!record.to_string().contains("91330106MA27Y9KE3E"));
    // The anhui licence entry sets no pattern: served, the case number digested.
    let (_, record) = fed
        .expect_get(
            Some(SH_SERVICES),
            &licence_path(AH_LICENCE, "free-text.1"),
            200,
            None,
        )
        .await;
    digested(&record["case_no"], "free-text.1");
    // An enterprise record's entries list no service item: one sent is refused,
    // and kept only as a digest.
    let (_, record) = fed
        .expect(
            Some(SH_SERVICES),
            SCJG,
            json!({"key": {"uscc": "91340100MA2NH3AL0C"}, "purpose": "政务服务办理", "service_item": "SX-SCJG-002", "case_no": "SH-2026-000312"}),
            403,
            Some("service_item_not_allowed"),
        )
        .await;
    digested(&record["service_item"], "SX-SCJG-002");
    digested(&record["case_no"], "SH-2026-000312");
}

fn bill_vector(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../conformance/vectors/bills")
            .join(name),
    )
    .unwrap()
}

/// Bills uploaded to `POST /v1/verify` (raw XML, or JSON `bill` with an OFD)
/// are verified against the demo's bill trust and recorded with the bill
/// summary, which leaves the payer out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_verify_endpoint_verifies_bills() {
    let fed = Fed::start(None).await;
    let send = |name: &str| Bytes::from(bill_vector(name));
    let (answer, record) = fed
        .expect_send(
            Some(SH_SERVICES),
            "POST",
            "/v1/verify",
            send("fiscal-valid.xml"),
            200,
            None,
        )
        .await;
    let v = answer.json();
    assert_eq!(
        (
            v["kind"].as_str(),
            v["result"].as_str(),
            v["report"]["kind"].as_str()
        ),
        (Some("bill"), Some("valid"), Some("fiscal")),
        "{v}"
    );
    assert_eq!(v["report"]["bill"]["key"], "32010125-0000000001");
    assert_eq!(record["seal"]["result"], "valid");
    assert_eq!(record["seal"]["key"], "32010125-0000000001");
    assert!(!record.to_string().contains("张三"), "{record}");
    let (answer, record) = fed
        .expect_send(
            Some(ZJ),
            "POST",
            "/v1/verify",
            send("fiscal-tampered-amount.xml"),
            200,
            None,
        )
        .await;
    assert_eq!(answer.json()["result"], "invalid");
    assert_eq!(record["seal"]["failed_step"], "issuer_signature");
    let (answer, _) = fed
        .expect_send(
            Some(AH),
            "POST",
            "/v1/verify",
            send("fiscal-doctype.xml"),
            200,
            None,
        )
        .await;
    assert_eq!(answer.json()["report"]["code"], "malformed");
    // The JSON form (which also takes a bill inside an OFD package).
    let body = json!({"bill": b64(&bill_vector("sdfp-valid.xml"))});
    let (answer, _) = fed.expect(Some(AH), "/v1/verify", body, 200, None).await;
    let v = answer.json();
    assert_eq!(
        (v["report"]["kind"].as_str(), v["result"].as_str()),
        (Some("sdfp"), Some("valid")),
        "{v}"
    );
    let body = json!({"bill": b64(b"<EInvoice/>"), "data": b64(b"x")});
    fed.expect(Some(AH), "/v1/verify", body, 400, Some("bad_request"))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_verify_endpoint_reports_on_uploaded_files_and_signatures() {
    for fed in federations("verify_endpoint").await {
        // JSON with a base64 OFD (the committed vector, zj's seal PKI).
        let body = json!({"ofd": b64(&vector("ofd-valid.ofd"))});
        let (answer, record) = fed.expect(Some(ZJ), "/v1/verify", body, 200, None).await;
        let v = answer.json();
        assert_eq!(
            (v["kind"].as_str(), v["result"].as_str()),
            (Some("ofd"), Some("valid"))
        );
        assert_eq!(record["api"], "verify", "{}", fed.backend);
        assert_eq!(record["seal"]["result"], "valid");
        assert!(record["provider"].is_null());
        // The raw bytes of an edited OFD: answered with an invalid report.
        let (answer, record) = fed
            .verify_upload(Some(JS), "ofd-edited-page.ofd", 200, None)
            .await;
        assert_eq!(answer.json()["result"], "invalid");
        assert_eq!(record["seal"]["failed_step"], "data_hash");
        // A signature with its data; a seal alone.
        let body = json!({"signature": b64(&vector("v4-certlist-valid.ses")), "data": b64(&vector("data.txt"))});
        let (answer, _) = fed.expect(Some(AH), "/v1/verify", body, 200, None).await;
        assert_eq!(answer.json()["kind"], "signature");
        assert_eq!(answer.json()["result"], "valid");
        let (answer, _) = fed
            .verify_upload(Some(AH), "seal-v4-valid.esl", 200, None)
            .await;
        assert_eq!(answer.json()["kind"], "seal");
        // A bare signature needs its data; a zip bomb is refused unread.
        fed.verify_upload(Some(AH), "v4-certlist-valid.ses", 400, Some("bad_request"))
            .await;
        fed.verify_upload(Some(AH), "zip-bomb.ofd", 422, Some("unreadable_document"))
            .await;
        // Members only.
        fed.expect(
            None,
            "/v1/verify",
            json!({"seal": b64(&vector("seal-v4-valid.esl"))}),
            401,
            Some("no_client_certificate"),
        )
        .await;
    }
}

/// `yrdx verify` on the committed vectors at their fixed verification time:
/// 0 valid, 1 invalid, 3 indeterminate, 2 usage or unreadable input.
#[test]
fn yrdx_verify_exit_codes_on_the_committed_vectors() {
    let v = |name: &str| format!("{VECTORS}/{name}");
    let trust = [
        "--trust".to_owned(),
        format!("zj={}", v("trust/zj-seal-root.der")),
        "--trust".to_owned(),
        v("trust/zj-seal-ca.der"),
        "--trust".to_owned(),
        format!("sh={}", v("trust/sh-seal-root.der")),
        "--crl".to_owned(),
        v("trust/zj-seal-ca.crl"),
        "--crl".to_owned(),
        v("trust/zj-seal-root.crl"),
        "--at".to_owned(),
        "2026-01-01T00:00:00Z".to_owned(),
    ];
    let run = |args: &[String]| run_yrdx(&[&["verify".to_owned()][..], args].concat());
    let with = |file: &str, extra: &[&str]| {
        let mut args = vec![v(file)];
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        args.extend(trust.iter().cloned());
        run(&args)
    };
    let data = v("data.txt");
    for (file, extra, code) in [
        ("ofd-valid.ofd", vec![], 0),
        ("ofd-two-signatures.ofd", vec![], 0),
        ("seal-v4-valid.esl", vec![], 0),
        ("v4-certlist-valid.ses", vec!["--data", data.as_str()], 0),
        ("v1-valid.ses", vec!["--data", data.as_str()], 0),
        ("ofd-edited-page.ofd", vec![], 1),
        ("ofd-replaced-seal.ofd", vec![], 1),
        ("seal-v4-maker-invalid.esl", vec![], 1),
        ("v4-signer-revoked.ses", vec!["--data", data.as_str()], 1),
        ("malformed.ses", vec!["--data", data.as_str()], 1),
        ("truncated.ses", vec![], 1),
        ("v4-untrusted-anchor.ses", vec!["--data", data.as_str()], 3),
        ("v4-certlist-valid.ses", vec![], 2),
        ("zip-bomb.ofd", vec![], 2),
        ("zip-path-traversal.ofd", vec![], 2),
        ("does-not-exist.ofd", vec![], 2),
    ] {
        let (got, out, err) = with(file, &extra);
        assert_eq!(got, Some(code), "{file} {extra:?}\n{out}\n{err}");
        if code == 2 {
            assert!(!err.is_empty(), "{file}: a reason on stderr");
        }
    }
    // The human report names the failed step; --json is for tools.
    let (_, out, _) = with("ofd-edited-page.ofd", &[]);
    assert!(
        out.contains("INVALID") && out.contains("5 data_hash"),
        "{out}"
    );
    let (code, out, _) = with(
        "v4-certlist-valid.ses",
        &["--data", &v("data-tampered.txt"), "--json"],
    );
    assert_eq!(code, Some(1));
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["kind"], "signature");
    assert_eq!(report["report"]["failed_step"], "data_hash");
    // Usage errors: no trust, a bad time.
    assert_eq!(run(&[v("ofd-valid.ofd")]).0, Some(2));
    let mut bad_time = vec![v("ofd-valid.ofd")];
    bad_time.extend(trust.iter().cloned());
    bad_time.push("--at".into());
    bad_time.push("yesterday".into());
    assert_eq!(run(&bad_time).0, Some(2));
    // A trust file that is not a certificate is named.
    let (code, _, err) = run(&[v("ofd-valid.ofd"), "--trust".into(), v("data.txt")]);
    assert_eq!(code, Some(2));
    assert!(err.contains("data.txt"), "{err}");
}
