//! The exchange log as a regulator meets it: the regulator API, the `yrdx
//! audit` commands, and a gateway killed with SIGKILL under load.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};
use yrdx_conformance::client::{self, Answer, Connection};
use yrdx_registry::testing::fresh_postgres;
use yrdx_signing::{
    ConsistencyProof, Hash, HashAlg, InclusionProof, Tile, TileKind, TileNodes, TreeSize,
    VerifierKey, leaf_hash, open_checkpoint, parse_entry_bundle, root_from,
};

use crate::common::{
    JS, REGULATOR, SCJG, body_bytes, demo_manifest, export_log, hex_decode, leaves_by_request,
    path, poll, postgres_server, refused_body, served_body, text, verify_log, verify_with_receipts,
    wait_for, wait_until, yrdx,
};

use super::{Fed, federations};

impl Fed {
    fn dir(&self) -> PathBuf {
        self.demo.manifest_path.parent().unwrap().to_owned()
    }

    pub(crate) async fn get(&self, member: Option<&str>, path: &str) -> Answer {
        let mut conn = Connection::open(&self.addr(), self.tls(member))
            .await
            .unwrap();
        conn.send("GET", path, &[], Bytes::new()).await.unwrap()
    }

    /// GETs as the regulator and expects 200.
    pub(crate) async fn read(&self, path: &str) -> Answer {
        let answer = self.get(Some(REGULATOR), path).await;
        assert_eq!(
            answer.status,
            200,
            "{}: {path}: {}",
            self.backend,
            String::from_utf8_lossy(&answer.body)
        );
        answer
    }

    /// `yrdx audit verify --url` against this gateway with `member`'s
    /// certificate, `key` and `extra` arguments.
    async fn verify_online(&self, member: &str, key: &str, extra: &[&str]) -> Output {
        let m = &self.demo.manifest;
        let f = &m.members[member];
        let mut args = vec![
            "audit",
            "verify",
            "--url",
            &m.gateway,
            "--key",
            key,
            "--client-cert",
            path(&f.cert),
            "--client-key",
            path(&f.key),
            "--cacert",
            path(&m.ca_bundle),
        ];
        args.extend_from_slice(extra);
        yrdx(&args).await
    }

    fn key(&self) -> VerifierKey {
        let text = std::fs::read_to_string(self.dir().join("log.pub")).unwrap();
        VerifierKey::parse(text.trim()).unwrap()
    }

    /// The latest checkpoint, once it covers the whole log.
    async fn checkpoint_covering_everything(&self) -> (String, TreeSize, Hash) {
        let want = self.log_size().await;
        wait_for(
            &format!("{}: a checkpoint covering {want} leaves", self.backend),
            Duration::from_millis(7500),
            async || {
                let note = self.read("/v1/audit/checkpoint").await.body;
                let opened = open_checkpoint(&note, &self.key()).unwrap();
                let cp = opened.checkpoint();
                (cp.size().get() >= want).then(|| {
                    (
                        String::from_utf8(note.to_vec()).unwrap(),
                        cp.size(),
                        cp.root(),
                    )
                })
            },
        )
        .await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_regulator_api_serves_checkpoints_proofs_and_tiles_that_verify() {
    for fed in federations("regulator_api").await {
        let alg = HashAlg::Sha256;
        let (answer, _) = fed.expect_check(served_body(), 200, None).await;
        let receipt = answer.json()["receipt"].clone();
        let (first_note, first_size, _) = fed.checkpoint_covering_everything().await;

        // Anyone but a regulator is refused, and the refusal is recorded —
        // the log's reads and the fulfilment report's alike.
        for (path, api) in [
            ("/v1/audit/checkpoint", "audit"),
            ("/v1/reports/fulfilment?period=2026-11", "report"),
        ] {
            for (member, status, code) in [
                (Some(JS), 403, "not_a_regulator"),
                (None, 401, "no_client_certificate"),
            ] {
                let before = fed.log_size().await;
                let answer = fed.get(member, path).await;
                assert_eq!(
                    (answer.status, answer.json()["code"].as_str()),
                    (status, Some(code)),
                    "{path}: {}",
                    fed.backend
                );
                let record = fed.leaf(before).await;
                assert_eq!(
                    (record["api"].as_str(), record["code"].as_str()),
                    (Some(api), Some(code)),
                    "{path}"
                );
            }
        }
        // A regulator's reads are not leaves.
        let before = fed.log_size().await;
        fed.read("/v1/reports/fulfilment?period=2026-11").await;
        fed.read("/v1/audit/key").await;
        assert_eq!(fed.log_size().await, before, "{}", fed.backend);

        // The served key is the one the operator published.
        let served_key = fed.read("/v1/audit/key").await;
        assert_eq!(
            String::from_utf8_lossy(&served_key.body).trim(),
            fed.key().to_string()
        );

        // More exchanges, then a later checkpoint that extends the first.
        fed.expect_check(refused_body(), 403, Some("purpose_not_allowed"))
            .await;
        fed.expect_check(served_body(), 200, None).await;
        let (note, size, root) = fed.checkpoint_covering_everything().await;
        let opened = open_checkpoint(note.as_bytes(), &fed.key()).unwrap();
        let proof: ConsistencyProof = serde_json::from_slice(
            &fed.read(&format!(
                "/v1/audit/proof/consistency?from={first_size}&to={size}"
            ))
            .await
            .body,
        )
        .unwrap();
        let first = open_checkpoint(first_note.as_bytes(), &fed.key()).unwrap();
        opened
            .check_extends(alg, first.checkpoint(), &proof.proof)
            .unwrap();

        // Every leaf, as served, is proved included in the checkpoint.
        let answer = fed
            .read(&format!("/v1/audit/entries?start=0&end={size}"))
            .await;
        assert_eq!(answer.content_type.as_deref(), Some("application/json"));
        let entries = answer.json();
        let entries = entries.as_array().unwrap();
        assert_eq!(entries.len() as u64, size.get(), "{}", fed.backend);
        let mut hashes = Vec::new();
        for (i, e) in entries.iter().enumerate() {
            assert_eq!(e["index"], i);
            let leaf = base64_decode(e["leaf"].as_str().unwrap());
            let hash = leaf_hash(alg, &leaf);
            let proof: InclusionProof = serde_json::from_slice(
                &fed.read(&format!("/v1/audit/proof/inclusion?index={i}&size={size}"))
                    .await
                    .body,
            )
            .unwrap();
            proof.verify(alg, &hash, &root).unwrap();
            hashes.push(hash);
        }
        // The consumer's receipt names one of them.
        let index = usize::try_from(receipt["leaf_index"].as_u64().unwrap()).unwrap();
        assert_eq!(
            hashes[index].to_hex(),
            receipt["leaf_hash"].as_str().unwrap()
        );
        // size defaults to the latest checkpoint's.
        let proof: InclusionProof =
            serde_json::from_slice(&fed.read("/v1/audit/proof/inclusion?index=0").await.body)
                .unwrap();
        assert!(proof.size >= size);

        // Filters.
        let served = fed
            .read(&format!(
                "/v1/audit/entries?start=0&end={size}&consumer={JS}&outcome=served&resource=YRD-SCJG-0001"
            ))
            .await
            .json();
        let served = served.as_array().unwrap();
        assert_eq!(served.len(), 2, "{}", fed.backend);
        for e in served {
            let record: Value =
                serde_json::from_slice(&base64_decode(e["leaf"].as_str().unwrap())).unwrap();
            assert_eq!(
                (record["consumer"].as_str(), record["outcome"].as_str()),
                (Some(JS), Some("served"))
            );
        }
        // By a refusal's code and by list entry, filtered by the store.
        let by_code = fed
            .read(&format!(
                "/v1/audit/entries?start=0&end={size}&code=purpose_not_allowed"
            ))
            .await
            .json();
        let by_code = by_code.as_array().unwrap();
        assert!(!by_code.is_empty(), "{}", fed.backend);
        let records: Vec<Value> = entries
            .iter()
            .map(|e| serde_json::from_slice(&base64_decode(e["leaf"].as_str().unwrap())).unwrap())
            .collect();
        let expected: Vec<usize> = (0..records.len())
            .filter(|i| records[*i]["code"] == "purpose_not_allowed")
            .collect();
        let got: Vec<usize> = by_code
            .iter()
            .map(|e| usize::try_from(e["index"].as_u64().unwrap()).unwrap())
            .collect();
        assert_eq!(got, expected, "{}", fed.backend);
        let entry = records
            .iter()
            .find_map(|r| r["entry"].as_str())
            .expect("a leaf under a list entry")
            .to_owned();
        let by_entry = fed
            .read(&format!(
                "/v1/audit/entries?start=0&end={size}&entry={entry}"
            ))
            .await
            .json();
        let expected: Vec<usize> = (0..records.len())
            .filter(|i| records[*i]["entry"] == entry.as_str())
            .collect();
        let got: Vec<usize> = by_entry
            .as_array()
            .unwrap()
            .iter()
            .map(|e| usize::try_from(e["index"].as_u64().unwrap()).unwrap())
            .collect();
        assert_eq!(got, expected, "{}", fed.backend);
        let none = fed
            .read(&format!(
                "/v1/audit/entries?start=0&end={size}&entry=RL-none"
            ))
            .await
            .json();
        assert_eq!(none, json!([]));
        // Without `start`, the window begins at the first leaf received at or
        // after `time_from`: none after a future time, from the first leaf
        // after a past one.
        let future = fed
            .read("/v1/audit/entries?time_from=2100-01-01T00:00:00Z")
            .await
            .json();
        assert_eq!(future, json!([]));
        let past = fed
            .read("/v1/audit/entries?time_from=2000-01-01T00:00:00Z")
            .await
            .json();
        assert_eq!(past[0]["index"], 0, "{}", fed.backend);
        let none = fed
            .read("/v1/audit/entries?time_to=2000-01-01T00:00:00Z")
            .await
            .json();
        assert_eq!(none, json!([]));

        // The tlog-tiles layout: tiles and entry bundles rebuild the root.
        let n = size.get();
        let mut tiles = TileNodes::new(alg);
        let level0 = Tile::for_size(TileKind::Hashes { level: 0 }, 0, size).unwrap();
        let bytes = fed.read(&format!("/v1/audit/{}", level0.path())).await;
        assert_eq!(
            bytes.content_type.as_deref(),
            Some("application/octet-stream")
        );
        tiles.insert(&level0, &bytes.body).unwrap();
        assert_eq!(
            root_from(alg, &tiles, size).unwrap(),
            root,
            "{}",
            fed.backend
        );
        let bundle = Tile::for_size(TileKind::Entries, 0, size).unwrap();
        let body = fed.read(&format!("/v1/audit/{}", bundle.path())).await.body;
        let leaves = parse_entry_bundle(&body, bundle.width()).unwrap();
        assert_eq!(leaves.len() as u64, n.min(256));
        // Compressed for a client that takes gzip (C2SP tlog-tiles), the same
        // bytes once inflated; as they are for one that does not.
        let mut conn = Connection::open(&fed.addr(), fed.tls(Some(REGULATOR)))
            .await
            .unwrap();
        let path = format!("/v1/audit/{}", bundle.path());
        let gz = conn
            .send(
                "GET",
                &path,
                &[("accept-encoding", "br, gzip")],
                Bytes::new(),
            )
            .await
            .unwrap();
        assert_eq!(gz.status, 200, "{}", fed.backend);
        assert_eq!(gz.headers["content-encoding"], "gzip", "{}", fed.backend);
        assert_eq!(gz.headers["vary"], "accept-encoding");
        let mut inflated = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(&gz.body[..]),
            &mut inflated,
        )
        .unwrap();
        assert_eq!(inflated, body, "{}", fed.backend);
        let plain = conn
            .send(
                "GET",
                &path,
                &[("accept-encoding", "identity")],
                Bytes::new(),
            )
            .await
            .unwrap();
        assert!(plain.headers.get("content-encoding").is_none());
        assert_eq!(plain.body, body);
        // Hash tiles are not compressed.
        let tile = conn
            .send(
                "GET",
                &format!("/v1/audit/{}", level0.path()),
                &[("accept-encoding", "gzip")],
                Bytes::new(),
            )
            .await
            .unwrap();
        assert!(tile.headers.get("content-encoding").is_none());
        for (leaf, hash) in leaves.iter().zip(&hashes) {
            assert_eq!(leaf_hash(alg, leaf), *hash);
        }

        // Bad parameters are the caller's problem, a tile not yet whole is absent.
        for (path, status, code) in [
            ("/v1/audit/proof/inclusion", 400, "bad_request"),
            ("/v1/audit/proof/inclusion?index=x", 400, "bad_request"),
            (
                "/v1/audit/proof/inclusion?index=0&sise=1",
                400,
                "bad_request",
            ),
            (
                "/v1/audit/proof/inclusion?index=5&size=5",
                400,
                "bad_request",
            ),
            (
                "/v1/audit/proof/inclusion?index=0&size=999999",
                400,
                "bad_request",
            ),
            (
                "/v1/audit/proof/consistency?from=3&to=2",
                400,
                "bad_request",
            ),
            ("/v1/audit/entries?start=5&end=4", 400, "bad_request"),
            ("/v1/audit/entries?outcome=maybe", 400, "bad_request"),
            ("/v1/audit/entries?time_from=yesterday", 400, "bad_request"),
            ("/v1/audit/tile/0/abc", 400, "bad_request"),
            ("/v1/audit/tile/0/001", 404, "not_found"),
            ("/v1/audit/tile/entries/000.p/255", 404, "not_found"),
        ] {
            let answer = fed.get(Some(REGULATOR), path).await;
            assert_eq!(
                (answer.status, answer.json()["code"].as_str()),
                (status, Some(code)),
                "{}: {path}: {}",
                fed.backend,
                String::from_utf8_lossy(&answer.body)
            );
        }
        // A range longer than a page is cut (at 1,000 and at the checkpoint's
        // size), not refused: a client pages on from where the answer ends.
        let (_, size, _) = fed.checkpoint_covering_everything().await;
        let page: Vec<Value> =
            serde_json::from_slice(&fed.read("/v1/audit/entries?start=0&end=5000").await.body)
                .unwrap();
        let indices: Vec<u64> = page.iter().map(|e| e["index"].as_u64().unwrap()).collect();
        assert_eq!(
            indices,
            (0..size.get()).collect::<Vec<_>>(),
            "{}",
            fed.backend
        );
        let answer = fed.get(Some(REGULATOR), "/v1/audit/checkpoint").await;
        assert_eq!(
            answer.content_type.as_deref(),
            Some("text/plain; charset=utf-8")
        );
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn yrdx_audit_exports_verifies_proves_and_names_tampering() {
    for fed in federations("audit_cli").await {
        let dir = fed.dir();
        let config = dir.join("yrdx.toml");
        let key = dir.join("log.pub");
        let scratch = tempfile::tempdir().unwrap();
        let export = scratch.path().join("audit.jsonl");
        let (answer, _) = fed.expect_check(served_body(), 200, None).await;
        let receipt_file = scratch.path().join("receipt.json");
        std::fs::write(&receipt_file, answer.body.as_ref()).unwrap();
        let receipt = answer.json()["receipt"].clone();
        let (early_note, _, _) = fed.checkpoint_covering_everything().await;
        let early = scratch.path().join("early.checkpoint");
        std::fs::write(&early, &early_note).unwrap();
        for _ in 0..3 {
            fed.expect_check(served_body(), 200, None).await;
        }
        let (late_note, size, root) = fed.checkpoint_covering_everything().await;

        // Export, verify with the published key, against the earlier checkpoint
        // and the consumer's receipt.
        export_log(&config, &export, &[], fed.backend).await;
        let out = verify_log(
            &export,
            path(&key),
            &[
                "--since-checkpoint",
                path(&early),
                "--receipt",
                path(&receipt_file),
            ],
        )
        .await;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.starts_with("VERIFIED"), "{stdout}");
        assert!(
            stdout.contains("consistent with the earlier checkpoint"),
            "{stdout}"
        );
        assert!(stdout.contains("1 receipt(s) matched"), "{stdout}");

        // The decoded view: each leaf's record, its index, its time in CST.
        let decoded = scratch.path().join("decoded.jsonl");
        let again = scratch.path().join("again.jsonl");
        export_log(&config, &again, &["--decoded", path(&decoded)], fed.backend).await;
        let lines: Vec<serde_json::Value> = std::fs::read_to_string(&decoded)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len() as u64, size.get(), "{}", fed.backend);
        let served = &lines[receipt["leaf_index"].as_u64().unwrap() as usize];
        assert_eq!(served["index"], receipt["leaf_index"]);
        assert_eq!(served["request_id"], receipt["request_id"]);
        assert!(
            served["time_cst"].as_str().unwrap().ends_with("+08:00"),
            "{served}"
        );

        // An export of the newest leaves only verifies on its own, but cannot
        // show that it extends a checkpoint it starts after.
        let partial = scratch.path().join("partial.jsonl");
        let from = size.to_string();
        export_log(&config, &partial, &["--from", &from], fed.backend).await;
        let out = verify_log(&partial, path(&key), &[]).await;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let out = verify_log(&partial, path(&key), &["--since-checkpoint", path(&early)]).await;
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert!(text(&out).contains("or earlier"), "{}", text(&out));

        // The same through the regulator API.
        let published = fed.key().to_string();
        let since = ["--since-checkpoint", path(&early)];
        let out = fed.verify_online(REGULATOR, &published, &since).await;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        // A consumer's certificate is not a regulator's.
        let out = fed.verify_online(JS, path(&key), &[]).await;
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert!(text(&out).contains("not_a_regulator"), "{}", text(&out));

        // A proof for the receipt's leaf verifies against the served checkpoint.
        let index = receipt["leaf_index"].as_u64().unwrap();
        let prove = async |extra: &[&str]| {
            let index = index.to_string();
            let args = [
                "audit",
                "prove",
                "--config",
                path(&config),
                "--index",
                &index,
            ];
            yrdx(&[&args[..], extra].concat()).await
        };
        let out = prove(&["--size", &size.to_string()]).await;
        assert!(out.status.success(), "{}", text(&out));
        let proof: InclusionProof = serde_json::from_slice(&out.stdout).unwrap();
        let leaf = Hash::from_slice(&hex_decode(receipt["leaf_hash"].as_str().unwrap())).unwrap();
        proof.verify(HashAlg::Sha256, &leaf, &root).unwrap();
        // The same offline, from files: proof, checkpoint, key, receipt.
        let proof_file = scratch.path().join("proof.json");
        std::fs::write(&proof_file, &out.stdout).unwrap();
        let late = scratch.path().join("late.checkpoint");
        std::fs::write(&late, &late_note).unwrap();
        let check = async |receipt: &Path| {
            yrdx(&[
                "audit",
                "check-proof",
                "--proof",
                path(&proof_file),
                "--checkpoint",
                path(&late),
                "--key",
                path(&key),
                "--receipt",
                path(receipt),
            ])
            .await
        };
        let out = check(&receipt_file).await;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        assert!(text(&out).contains("PROVED"), "{}", text(&out));
        let forged = scratch.path().join("forged-receipt.json");
        let mut other = receipt.clone();
        other["leaf_hash"] = serde_json::Value::from("00".repeat(32));
        std::fs::write(&forged, other.to_string()).unwrap();
        let out = check(&forged).await;
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(text(&out).contains("NOT PROVED"), "{}", text(&out));
        // A checkpoint of another size: cannot check, and says what to ask for.
        std::fs::copy(&early, &late).unwrap();
        let out = check(&receipt_file).await;
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert!(text(&out).contains("audit prove --size"), "{}", text(&out));

        // Wrong key: not verified. Not an export: cannot verify.
        let other = yrdx_signing::NoteSigner::from_seed("yrdx.demo/exchange", &[9; 32])
            .unwrap()
            .verifier_key()
            .to_string();
        let out = verify_log(&export, &other, &[]).await;
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        let junk = scratch.path().join("junk");
        std::fs::write(&junk, "hello\n").unwrap();
        let out = verify_log(&junk, path(&key), &[]).await;
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));

        // Tamper with the served exchange's leaf in the store: the verifier
        // says so, and with the consumer's receipt it names the leaf.
        let url = fed.demo.gateway.app().config.store.url.clone();
        let stored = fed.stored(index).await;
        let edited = String::from_utf8(stored.leaf.clone())
            .unwrap()
            .replace("\"served\"", "\"refused\"");
        {
            use sqlx::Connection as _;
            sqlx::any::install_default_drivers();
            let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
            sqlx::query("UPDATE log_leaves SET leaf = $1 WHERE idx = $2")
                .bind(edited.into_bytes())
                .bind(i64::try_from(index).unwrap())
                .execute(&mut conn)
                .await
                .unwrap();
            conn.close().await.unwrap();
        }
        export_log(&config, &export, &[], fed.backend).await;
        let out = verify_log(&export, path(&key), &[]).await;
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stdout).starts_with("TAMPERED"),
            "{}",
            text(&out)
        );
        let out = verify_log(&export, path(&key), &["--receipt", path(&receipt_file)]).await;
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(&format!("first bad leaf: {index}\n")),
            "{}",
            text(&out)
        );
        // And `prove` refuses to vouch for the altered leaf.
        let out = prove(&[]).await;
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    }
}

#[tokio::test]
async fn yrdx_audit_keygen_writes_a_private_key_once() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("log.key");
    let keygen = async || {
        let origin = "yrdx.example/exchange";
        yrdx(&["audit", "keygen", "--origin", origin, "--out", path(&key)]).await
    };
    let out = keygen().await;
    assert!(out.status.success(), "{}", text(&out));
    let public = String::from_utf8(out.stdout).unwrap();
    let verifier = VerifierKey::parse(public.trim()).unwrap();
    assert_eq!(verifier.name(), "yrdx.example/exchange");
    // The public key is written beside the private one.
    assert_eq!(
        std::fs::read_to_string(dir.path().join("log.pub")).unwrap(),
        public
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let out = keygen().await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("never overwritten"), "{}", text(&out));
}

/// What the load saw: every answer by request id.
#[derive(Default)]
struct Seen {
    // request id → (status, receipt's leaf index and hash when served)
    answered: HashMap<String, (u16, Option<(u64, String)>)>,
    checkpoints: Vec<String>,
}

/// A running `yrdx demo` child process and what its manifest says.
struct Child {
    process: tokio::process::Child,
    manifest: Value,
}

async fn start_demo(dir: &Path, store: Option<&str>) -> Child {
    let manifest_path = dir.join("demo.json");
    let _ = std::fs::remove_file(&manifest_path);
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_yrdx"));
    cmd.args(["demo", "--dir"])
        .arg(dir)
        .args(["--listen", "127.0.0.1:0"])
        .env("YRDX_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true);
    if let Some(url) = store {
        cmd.args(["--store", url]);
    }
    let process = cmd.spawn().unwrap();
    let manifest = demo_manifest(dir, Duration::from_secs(30)).await;
    Child { process, manifest }
}

impl Child {
    fn addr(&self) -> String {
        self.manifest["gateway"]
            .as_str()
            .unwrap()
            .trim_start_matches("https://")
            .to_owned()
    }

    fn tls(&self, member: &str) -> Arc<rustls::ClientConfig> {
        let m = &self.manifest;
        let f = &m["members"][member];
        client::tls_config(
            Path::new(m["ca_bundle"].as_str().unwrap()),
            Some((
                Path::new(f["cert"].as_str().unwrap()),
                Path::new(f["key"].as_str().unwrap()),
            )),
        )
        .unwrap()
    }
}

/// Drives exchanges on `workers` connections until the server goes away.
fn load(child: &Child, workers: usize, seen: Arc<Mutex<Seen>>) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    for w in 0..workers {
        let (addr, tls, seen) = (child.addr(), child.tls(JS), seen.clone());
        tasks.push(tokio::spawn(async move {
            let Ok(mut conn) = Connection::open(&addr, tls).await else {
                return;
            };
            let body = body_bytes(&served_body());
            let refused = body_bytes(&refused_body());
            for i in 0.. {
                let id = uuid::Uuid::now_v7().to_string();
                // Mostly served exchanges, some refusals: both must survive.
                let b = if (i + w) % 5 == 0 {
                    refused.clone()
                } else {
                    body.clone()
                };
                let Ok(answer) = conn
                    .send("POST", SCJG, &[("yrdx-request-id", &id)], b)
                    .await
                else {
                    return;
                };
                let v = answer.json();
                let receipt = (answer.status == 200).then(|| {
                    (
                        v["receipt"]["leaf_index"].as_u64().unwrap(),
                        v["receipt"]["leaf_hash"].as_str().unwrap().to_owned(),
                    )
                });
                seen.lock()
                    .unwrap()
                    .answered
                    .insert(id, (answer.status, receipt));
            }
        }));
    }
    // A regulator watching checkpoints while the load runs.
    let (addr, tls) = (child.addr(), child.tls(REGULATOR));
    tasks.push(tokio::spawn(async move {
        loop {
            let Ok(mut conn) = Connection::open(&addr, tls.clone()).await else {
                return;
            };
            let Ok(answer) = conn
                .send("GET", "/v1/audit/checkpoint", &[], Bytes::new())
                .await
            else {
                return;
            };
            if answer.status == 200 {
                let note = String::from_utf8(answer.body.to_vec()).unwrap();
                seen.lock().unwrap().checkpoints.push(note);
            }
            // A regulator's pace of reading, not a wait for a condition.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }));
    tasks
}

/// Kills `yrdx demo` with SIGKILL mid-stream, restarts it in the same folder,
/// and checks that every answered exchange is in the log and the log
/// verifies, consistent with the checkpoints seen before the crash.
async fn crash_and_restart(store: Option<&str>, backend: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut child = start_demo(dir.path(), store).await;
    let seen = Arc::new(Mutex::new(Seen::default()));
    let tasks = load(&child, 8, seen.clone());
    // Let the load run (ten seconds at most), then kill in the middle of it.
    poll(Duration::from_secs(10), async || {
        let s = seen.lock().unwrap();
        (s.answered.len() >= 1000 && s.checkpoints.len() >= 3).then_some(())
    })
    .await;
    child.process.start_kill().unwrap();
    let status = child.process.wait().await.unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9),
        "{backend}: killed by SIGKILL"
    );
    for t in tasks {
        t.await.unwrap();
    }
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    assert!(
        seen.answered.len() >= 50,
        "{backend}: only {} answered",
        seen.answered.len()
    );
    let served = seen.answered.values().filter(|(s, _)| *s == 200).count();
    eprintln!(
        "{backend}: {} exchanges answered before SIGKILL ({served} served), {} checkpoints seen",
        seen.answered.len(),
        seen.checkpoints.len()
    );

    // Restart in the same folder (same store): the log continues.
    let mut child = start_demo(dir.path(), store).await;
    let key = dir.path().join("log.pub");
    let verifier = VerifierKey::parse(std::fs::read_to_string(&key).unwrap().trim()).unwrap();
    let highest = seen
        .answered
        .values()
        .filter_map(|(_, r)| r.as_ref().map(|(i, _)| *i))
        .max()
        .unwrap();
    // Wait for a checkpoint past everything acknowledged, and one exchange after the restart.
    let tls = child.tls(JS);
    let after = client::request(&child.addr(), tls, "POST", SCJG, &served_body())
        .await
        .unwrap();
    assert_eq!(after.status, 200, "{backend}: served after the restart");
    let after_index = after.json()["receipt"]["leaf_index"].as_u64().unwrap();
    assert!(after_index > highest, "{backend}: indices continue");
    wait_until(
        &format!("{backend}: a checkpoint after the restart"),
        Duration::from_secs(5),
        async || {
            let mut conn = Connection::open(&child.addr(), child.tls(REGULATOR))
                .await
                .unwrap();
            let note = conn
                .send("GET", "/v1/audit/checkpoint", &[], Bytes::new())
                .await
                .unwrap();
            let cp = open_checkpoint(&note.body, &verifier).unwrap();
            cp.checkpoint().size().get() > after_index
        },
    )
    .await;

    // Export with the real binary and verify: offline, with every receipt as
    // a trusted leaf and every pre-crash checkpoint as an earlier one.
    let export = dir.path().join("audit.jsonl");
    let config = dir.path().join("yrdx.toml");
    export_log(&config, &export, &[], backend).await;
    let last_before = seen.checkpoints.last().unwrap().clone();
    let since = dir.path().join("before-crash.checkpoint");
    std::fs::write(&since, &last_before).unwrap();
    let out = verify_log(&export, path(&key), &["--since-checkpoint", path(&since)]).await;
    assert_eq!(out.status.code(), Some(0), "{backend}: {}", text(&out));

    let bytes = std::fs::read(&export).unwrap();
    let receipts = seen.answered.values().filter_map(|(_, r)| r.as_ref());
    let report = verify_with_receipts(&bytes, &verifier, receipts, &seen.checkpoints, backend);
    assert!(
        report.checkpoints_checked > seen.checkpoints.len(),
        "{backend}: {report:?}"
    );

    // Every answered exchange, served or refused, has its leaf.
    let (by_request, _) = leaves_by_request(&bytes);
    for (id, (status, receipt)) in &seen.answered {
        let (index, logged_status, _, _) = by_request
            .get(id)
            .unwrap_or_else(|| panic!("{backend}: answered exchange {id} is not in the log"));
        assert_eq!(u64::from(*status), *logged_status, "{backend}: {id}");
        if let Some((receipt_index, _)) = receipt {
            assert_eq!(receipt_index, index, "{backend}: {id}");
        }
    }
    eprintln!(
        "{backend}: all {} answered exchanges found in a verified log of {} leaves",
        seen.answered.len(),
        report.checkpoint.size()
    );
    child.process.start_kill().unwrap();
    let _ = child.process.wait().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_killed_under_load_loses_no_answered_exchange_on_sqlite() {
    crash_and_restart(None, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_killed_under_load_loses_no_answered_exchange_on_postgres() {
    let Some(server) = postgres_server("crash_postgres") else {
        return;
    };
    let url = fresh_postgres(&server, "crash").await.unwrap();
    crash_and_restart(Some(&url), "postgres").await;
}
