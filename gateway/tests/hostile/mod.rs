//! The hostile suite: hostile documents, malformed HTTP/1.1 and HTTP/2, slow
//! clients and hang-ups mid-upstream against a running demo federation. Each
//! case asserts its answer; each test ends by checking that the exported log
//! verifies and holds a leaf for every request that was answered or refused
//! (by its request id).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use yrdx_conformance::client;
use yrdx_conformance::demo_data::licence_path;
use yrdx_conformance::licences::{BILLION_LAUGHS, ZJ_HOSTILE_LICENCE};
use yrdx_conformance::seal_maker::zip_entries;

use super::SH_SERVICES;
use super::common::{self, CHECK, JS, SCJG, body_bytes, wait_for};
use super::{Fed, ZJ, b64, federations, vector};

/// A fresh request id, sent as `Yrdx-Request-Id` so that the leaf can be
/// found whatever the answer.
fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Sends one request with its own request id; checks the answer's status and
/// code and that exactly one leaf, under that id, was written.
async fn expect_id(
    fed: &Fed,
    member: Option<&str>,
    method: &str,
    path: &str,
    body: Bytes,
    status: u16,
    code: Option<&str>,
) -> (String, client::Answer, Value) {
    let id = new_id();
    let before = fed.log_size().await;
    let mut conn = client::Connection::open(&fed.addr(), fed.tls(member))
        .await
        .unwrap();
    let started = Instant::now();
    let answer = conn
        .send(method, path, &[("yrdx-request-id", id.as_str())], body)
        .await
        .unwrap();
    let got = answer.json()["code"].as_str().map(str::to_owned);
    assert_eq!(
        (answer.status, got.as_deref()),
        (status, code),
        "{}: {path}: {}",
        fed.backend,
        String::from_utf8_lossy(&answer.body)
    );
    // Refused promptly, not after unpacking something huge.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{}: {path}: took {:?}",
        fed.backend,
        started.elapsed()
    );
    assert_eq!(
        fed.log_size().await,
        before + 1,
        "{}: one leaf",
        fed.backend
    );
    let record = fed.leaf(before).await;
    assert_eq!(record["request_id"], id.as_str(), "{}", fed.backend);
    (id, answer, record)
}

/// Waits for a checkpoint over every leaf, exports the log, verifies the
/// export with `yrdx audit verify`, and checks that every request in `ids`
/// is one of its leaves.
async fn log_holds(fed: &Fed, ids: &[String]) {
    let store = &fed.demo.gateway.app().store;
    let size = fed.log_size().await;
    wait_for(
        &format!("{}: a checkpoint over {size} leaves", fed.backend),
        Duration::from_secs(10),
        async || {
            store
                .latest_checkpoint()
                .await
                .ok()
                .flatten()
                .filter(|c| c.size.get() >= size)
        },
    )
    .await;
    let dir = fed.demo.manifest_path.parent().unwrap().to_owned();
    let export = dir.join(format!("hostile-{}.jsonl", new_id()));
    common::export_log(&dir.join("yrdx.toml"), &export, &[], fed.backend).await;
    let out = common::verify_log(&export, common::path(&dir.join("log.pub")), &[]).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}: {}",
        fed.backend,
        common::text(&out)
    );
    let text = std::fs::read_to_string(&export).unwrap();
    let logged: BTreeSet<String> = text
        .lines()
        .skip(1)
        .map(|line| {
            let line: Value = serde_json::from_str(line).unwrap();
            let leaf = base64::engine::general_purpose::STANDARD
                .decode(line["leaf"].as_str().unwrap())
                .unwrap();
            let leaf: Value = serde_json::from_slice(&leaf).unwrap();
            leaf["request_id"].as_str().unwrap().to_owned()
        })
        .collect();
    for id in ids {
        assert!(
            logged.contains(id),
            "{}: request {id} is not in the log",
            fed.backend
        );
    }
}

/// A DER SEQUENCE nested `depth` times.
fn nested_der(depth: usize) -> Vec<u8> {
    let mut der = Vec::new();
    for _ in 0..depth {
        let len = der.len();
        let mut outer = vec![0x30];
        if len < 0x80 {
            outer.push(u8::try_from(len).unwrap());
        } else {
            let bytes = u32::try_from(len).unwrap().to_be_bytes();
            outer.push(0x84);
            outer.extend_from_slice(&bytes);
        }
        outer.extend_from_slice(&der);
        der = outer;
    }
    der
}

/// Hostile documents sent to `POST /v1/verify`, raw and in JSON: each is
/// refused (or reported on) promptly with its own answer, and recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_documents_are_refused_promptly_and_recorded() {
    for fed in federations("hostile_documents").await {
        let mut ids = Vec::new();
        let laughs = zip_entries([("OFD.xml", BILLION_LAUGHS.as_bytes())]).unwrap();
        // A DER header that claims 2 GiB, then a few bytes.
        let mut huge = vec![0x30, 0x84, 0x7f, 0xff, 0xff, 0xff];
        huge.extend_from_slice(&[0u8; 64]);
        let unreadable = Some("unreadable_document");
        let data = b64(&vector("data.txt"));
        let json = |v: Value| body_bytes(&v).to_vec();
        // Each hostile document, raw or in JSON: a package is refused unread
        // (422); DER that cannot be parsed is reported invalid at the parse
        // step (200, the report saying why).
        let cases: Vec<(&str, Vec<u8>, u16, Option<&str>)> = vec![
            ("zip bomb", vector("zip-bomb.ofd"), 422, unreadable),
            (
                "traversal name",
                vector("zip-path-traversal.ofd"),
                422,
                unreadable,
            ),
            (
                "absolute name",
                vector("zip-absolute-path.ofd"),
                422,
                unreadable,
            ),
            (
                "1,100 entries",
                vector("zip-too-many-entries.ofd"),
                422,
                unreadable,
            ),
            ("billion laughs", laughs, 422, unreadable),
            (
                "half a ZIP",
                vector("ofd-valid.ofd")[..600].to_vec(),
                422,
                unreadable,
            ),
            ("not a document", b"%PDF-1.7 not an OFD".to_vec(), 200, None),
            ("a DER claiming 2 GiB", huge.clone(), 200, None),
            ("DER nested 20,000 deep", nested_der(20_000), 200, None),
            (
                "truncated seal",
                vector("seal-v4-valid.esl")[..200].to_vec(),
                200,
                None,
            ),
            (
                "truncated signature with its data",
                json(json!({"signature": b64(&vector("truncated.ses")), "data": data})),
                200,
                None,
            ),
            (
                "a seal claiming 2 GiB",
                json(json!({"seal": b64(&huge)})),
                200,
                None,
            ),
            (
                "a bomb in base64",
                json(json!({"ofd": b64(&vector("zip-bomb.ofd"))})),
                422,
                unreadable,
            ),
        ];
        for (what, body, status, code) in cases {
            let (id, answer, record) = expect_id(
                &fed,
                Some(ZJ),
                "POST",
                "/v1/verify",
                Bytes::from(body),
                status,
                code,
            )
            .await;
            assert_eq!(record["api"], "verify", "{}: {what}", fed.backend);
            let v = answer.json();
            if status == 200 {
                assert_eq!(
                    (v["result"].as_str(), v["report"]["failed_step"].as_str()),
                    (Some("invalid"), Some("parse")),
                    "{}: {what}: {v}",
                    fed.backend
                );
                assert_eq!(
                    record["seal"]["result"], "invalid",
                    "{}: {what}",
                    fed.backend
                );
            } else {
                assert!(v["detail"].is_string(), "{}: {what}: {v}", fed.backend);
            }
            ids.push(id);
        }
        // The licence path: Zhejiang's provider serves a hostile package (a
        // traversal name, billion laughs) as a licence file; it is refused
        // unread as an invalid licence, and recorded with its seal summary.
        let (id, answer, record) = expect_id(
            &fed,
            Some(SH_SERVICES),
            "GET",
            &licence_path(ZJ_HOSTILE_LICENCE, "SH-2026-000401"),
            Bytes::new(),
            502,
            Some("seal_invalid"),
        )
        .await;
        assert!(answer.json().get("file").is_none(), "{}", fed.backend);
        assert_eq!(record["seal"]["code"], "ofd_unreadable", "{}", fed.backend);
        assert_eq!(record["provider"], ZJ, "{}", fed.backend);
        ids.push(id);
        // The node still verifies a real document afterwards.
        let (id, answer, _) = expect_id(
            &fed,
            Some(ZJ),
            "POST",
            "/v1/verify",
            Bytes::from(vector("ofd-valid.ofd")),
            200,
            None,
        )
        .await;
        assert_eq!(answer.json()["result"], "valid");
        ids.push(id);
        log_holds(&fed, &ids).await;
    }
}

/// An HTTP/2 connection over TLS to the federation as `member`.
async fn h2_sender(
    fed: &Fed,
    member: &str,
) -> hyper::client::conn::http2::SendRequest<Full<Bytes>> {
    let mut tls = (*fed.tls(Some(member))).clone();
    tls.alpn_protocols = vec![b"h2".to_vec()];
    let tcp = tokio::net::TcpStream::connect(fed.addr()).await.unwrap();
    let stream = tokio_rustls::TlsConnector::from(Arc::new(tls))
        .connect("127.0.0.1".try_into().unwrap(), tcp)
        .await
        .unwrap();
    let (sender, conn) =
        hyper::client::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new())
            .max_send_buf_size(1 << 20)
            .handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    sender
}

/// An HTTP/2 request for Jiangsu's market-registration check.
fn h2_check(
    fed: &Fed,
    id: &str,
    key: &str,
    extra: Option<(&str, String)>,
) -> http::Request<Full<Bytes>> {
    let body = json!({"key": {"uscc": key}, "purpose": CHECK});
    let mut req = http::Request::post(format!("https://{}{SCJG}", fed.addr()))
        .header("content-type", "application/json")
        .header("yrdx-request-id", id);
    if let Some((name, value)) = extra {
        req = req.header(name, value);
    }
    req.body(Full::new(body_bytes(&body))).unwrap()
}

/// Malformed and oversized HTTP/2: a head over the limit is answered in
/// problem+json and recorded; a head over the HTTP layer's own limit is
/// refused by it (431, no body); a protocol error that closes the connection
/// is recorded; a stream the client resets while its provider is slow still
/// leaves its leaf (`client_closed`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_reset_http2_is_answered_and_recorded() {
    for fed in federations("hostile_http2").await {
        let mut ids = Vec::new();
        let mut sender = h2_sender(&fed, JS).await;

        // Over `limits.max_header_bytes` (16 KiB): problem+json, recorded.
        let id = new_id();
        let before = fed.log_size().await;
        let resp = sender
            .send_request(h2_check(
                &fed,
                &id,
                "91310115MA1K4DT67F",
                Some(("x-big", "a".repeat(20_000))),
            ))
            .await
            .unwrap();
        assert_eq!(resp.status(), 431, "{}", fed.backend);
        assert_eq!(
            resp.headers()["content-type"],
            "application/problem+json",
            "{}",
            fed.backend
        );
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["code"], "header_too_large");
        assert_eq!(v["request_id"], id.as_str());
        assert_eq!(fed.log_size().await, before + 1);
        let r = fed.leaf(before).await;
        assert_eq!(
            (
                r["api"].as_str(),
                r["code"].as_str(),
                r["consumer"].as_str()
            ),
            (Some("http"), Some("header_too_large"), Some(JS)),
            "{}",
            fed.backend
        );
        ids.push(id);

        // Over twice the limit: h2 itself answers 431 without a body and
        // resets the stream; the connection keeps serving.
        // (A client that keeps to the limit the server advertises does not
        // send it at all.)
        if let Ok(resp) = sender
            .send_request(h2_check(
                &fed,
                &new_id(),
                "91310115MA1K4DT67F",
                Some(("x-big", "a".repeat(40_000))),
            ))
            .await
        {
            assert_eq!(resp.status(), 431, "{}", fed.backend);
        }
        let id = new_id();
        let resp = sender
            .send_request(h2_check(&fed, &id, "91310115MA1K4DT67F", None))
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{}", fed.backend);
        ids.push(id);

        // A stream reset while Zhejiang's provider is slow (5 s): the leaf
        // is written anyway, `client_closed`, with the provider asked.
        let id = new_id();
        let before = fed.log_size().await;
        let pending = sender.send_request(h2_check(&fed, &id, "91330100MA2CC1L842", None));
        let cut = tokio::time::timeout(Duration::from_millis(300), pending).await;
        assert!(cut.is_err(), "{}: answered before the reset", fed.backend);
        let size = wait_for(
            &format!("{}: the reset stream's leaf", fed.backend),
            Duration::from_secs(6),
            async || Some(fed.log_size().await).filter(|now| *now > before),
        )
        .await;
        assert_eq!(size, before + 1, "{}", fed.backend);
        let r = fed.leaf(before).await;
        assert_eq!(
            (
                r["code"].as_str(),
                r["request_id"].as_str(),
                r["provider"].as_str()
            ),
            (Some("client_closed"), Some(id.as_str()), Some(ZJ)),
            "{}: {r}",
            fed.backend
        );
        ids.push(id);

        // A connection-level protocol error: a SETTINGS frame whose length
        // is not a multiple of 6. The gateway closes the connection (GOAWAY
        // FRAME_SIZE_ERROR) and records the refusal.
        let before = fed.log_size().await;
        let mut tls = (*fed.tls(Some(JS))).clone();
        tls.alpn_protocols = vec![b"h2".to_vec()];
        let tcp = tokio::net::TcpStream::connect(fed.addr()).await.unwrap();
        let mut conn = tokio_rustls::TlsConnector::from(Arc::new(tls))
            .connect("127.0.0.1".try_into().unwrap(), tcp)
            .await
            .unwrap();
        let mut bytes = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
        bytes.extend_from_slice(&[0, 0, 5, 0x4, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5]);
        conn.write_all(&bytes).await.unwrap();
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), conn.read_to_end(&mut answer)).await;
        // The server's frames: its SETTINGS, then a GOAWAY (type 7).
        assert!(
            frames(&answer).contains(&7),
            "{}: no GOAWAY in {:?}",
            fed.backend,
            frames(&answer)
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
            (Some("http"), Some("bad_request"), Some(JS)),
            "{}: {r}",
            fed.backend
        );
        log_holds(&fed, &ids).await;
    }
}

/// The types of the HTTP/2 frames in `bytes`.
fn frames(mut bytes: &[u8]) -> Vec<u8> {
    let mut types = Vec::new();
    while bytes.len() >= 9 {
        let len = usize::from(bytes[0]) << 16 | usize::from(bytes[1]) << 8 | usize::from(bytes[2]);
        types.push(bytes[3]);
        bytes = bytes.get(9 + len..).unwrap_or_default();
    }
    types
}

/// Slow clients against a node with short limits: a head trickled in is cut
/// off at `limits.header_read_timeout_ms` and costs nobody else anything; a
/// body that never arrives is refused at `limits.request_timeout_ms`
/// (`bad_request`, recorded); many slow heads at once do not stop a prompt
/// client from being served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off_and_others_served() {
    let fed = Fed::start(None).await;
    // The same node again, with half-second limits.
    let Fed {
        demo,
        backend,
        _dir,
    } = fed;
    let dir = demo.manifest_path.parent().unwrap().to_owned();
    let mut config = yrdx_gateway::Config::load(&dir.join("yrdx.toml")).unwrap();
    config.limits.header_read_timeout = Duration::from_millis(500);
    config.limits.request_timeout = Duration::from_millis(1000);
    demo.gateway.shutdown(Duration::from_secs(2)).await;
    let gateway = yrdx_gateway::server::start(config).await.unwrap();
    let fed = Fed {
        demo: yrdx_gateway::cli::demo::Demo { gateway, ..demo },
        backend,
        _dir,
    };
    let mut ids = Vec::new();
    let open = async || {
        let mut tls = (*fed.tls(Some(JS))).clone();
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let tcp = tokio::net::TcpStream::connect(fed.addr()).await.unwrap();
        tokio_rustls::TlsConnector::from(Arc::new(tls))
            .connect("127.0.0.1".try_into().unwrap(), tcp)
            .await
            .unwrap()
    };

    // Many slow heads at once, a byte every 200 ms…
    let mut slow = Vec::new();
    for _ in 0..16 {
        let mut conn = open().await;
        slow.push(tokio::spawn(async move {
            let started = Instant::now();
            conn.write_all(format!("POST {SCJG} HTTP/1.1\r\nHost: x\r\n").as_bytes())
                .await
                .unwrap();
            for b in b"X-Slow: aaaaaaaaaaaaaaaaaaaa" {
                if conn.write_all(&[*b]).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            let mut rest = Vec::new();
            let _ = tokio::time::timeout(Duration::from_secs(3), conn.read_to_end(&mut rest)).await;
            started.elapsed()
        }));
    }
    // …and a prompt client is served meanwhile.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let (id, _, _) = expect_id(
        &fed,
        Some(JS),
        "POST",
        SCJG,
        body_bytes(&common::served_body()),
        200,
        None,
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    ids.push(id);
    for s in slow {
        let took = s.await.unwrap();
        // Cut off at the header timeout, well before the trickle would end.
        assert!(
            took < Duration::from_millis(2500),
            "slow head kept for {took:?}"
        );
    }

    // A body that never arrives: refused at the request timeout, recorded.
    let id = new_id();
    let before = fed.log_size().await;
    let mut conn = open().await;
    conn.write_all(
        format!(
            "POST {SCJG} HTTP/1.1\r\nHost: x\r\nYrdx-Request-Id: {id}\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{{\"key\":"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), conn.read(&mut answer))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&answer[..n]).to_lowercase();
    assert!(text.starts_with("http/1.1 400"), "{text}");
    assert!(text.contains("not received in time"), "{text}");
    let r = fed.leaf(before).await;
    assert_eq!(
        (r["code"].as_str(), r["request_id"].as_str()),
        (Some("bad_request"), Some(id.as_str()))
    );
    ids.push(id);
    log_holds(&fed, &ids).await;
}
