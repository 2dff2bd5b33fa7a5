//! `yrdx audit …`: make a log key, export the log, verify an export or a live
//! gateway as a regulator would, and prove one leaf's inclusion.
//!
//! `verify` exits 0 when everything verifies, 1 when the log was tampered with
//! or is inconsistent with an earlier checkpoint (naming the first bad leaf
//! or range), and 2 when it could not run (usage, unreadable input) — the
//! last through `main`'s error path.

use std::collections::BTreeMap;
use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use bytes::Bytes;
use clap::Subcommand;
use thiserror::Error;
use yrdx_registry::{LogError, Store, StoreError, StoreOptions};
use yrdx_signing::{
    CheckpointError, ExportError, ExportFinding, ExportHeader, ExportOptions, ExportReport,
    ExportVerifier, Hash, HashAlg, LeafIndex, Since, TreeSize, VerifierKey, leaf_hash,
    open_checkpoint,
};

use super::client::{self, Connection};
use super::{FileError, file_error};
use crate::config::{Config, ConfigError};
use crate::log_key::{self, LogKeyError};

/// `yrdx audit` commands.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Make a checkpoint signing key for a new log: writes the private key
    /// (mode 0600, never overwriting) and the public verifier key beside it
    /// (`.pub`), and prints the public key to publish to regulators.
    Keygen {
        /// The log's origin, as `log.origin` in yrdx.toml.
        #[arg(long)]
        origin: String,
        /// Where to write the private key (`log.key` in yrdx.toml).
        #[arg(long)]
        out: PathBuf,
    },
    /// Export the log — a signed checkpoint and every leaf up to it — as a
    /// `yrdx-audit-export` file that `yrdx audit verify` checks offline.
    Export {
        /// The node configuration (for the store).
        #[arg(long, short)]
        config: PathBuf,
        /// The file to write.
        #[arg(long)]
        out: PathBuf,
        /// The first leaf to export (earlier leaves travel as the hashes of
        /// their subtrees).
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// The tree size to export up to: a size where a checkpoint was
        /// signed; the latest checkpoint's by default.
        #[arg(long)]
        to: Option<u64>,
        /// Also write the exported leaves decoded, for people: one JSON
        /// object per line, the exchange record with its `index` and its
        /// time in China Standard Time (`time_cst`). Not for verification:
        /// only the export's exact bytes are.
        #[arg(long, value_name = "FILE")]
        decoded: Option<PathBuf>,
    },
    /// Verify an export file, or a live gateway's regulator API, against the
    /// log's public key: every checkpoint signature, the tree recomputed from
    /// the leaves, consistency with an earlier checkpoint. Exit 0 verified, 1
    /// tampered or inconsistent, 2 could not verify.
    Verify {
        /// The export file (or give --url).
        #[arg(required_unless_present = "url", conflicts_with = "url")]
        file: Option<PathBuf>,
        /// A gateway's base URL, e.g. https://gateway.example:8443: read the
        /// latest checkpoint and every leaf through the regulator API.
        #[arg(long)]
        url: Option<String>,
        /// The log's verifier key (`name+keyid+base64`), or a file holding it.
        #[arg(long)]
        key: String,
        /// An earlier signed checkpoint (a file as `/v1/audit/checkpoint`
        /// serves it) the log must extend.
        #[arg(long)]
        since_checkpoint: Option<PathBuf>,
        /// A consumer's receipt (JSON with `leaf_index` and `leaf_hash`, or
        /// a whole exchange answer): that leaf must be unchanged. Repeatable.
        #[arg(long)]
        receipt: Vec<PathBuf>,
        /// With --url: the regulator's client certificate (PEM).
        #[arg(long, requires = "url")]
        client_cert: Option<PathBuf>,
        /// With --url: its private key (PEM).
        #[arg(long, requires = "url")]
        client_key: Option<PathBuf>,
        /// With --url: the CA bundle the gateway's certificate chains to.
        #[arg(long, requires = "url")]
        cacert: Option<PathBuf>,
        /// With --url: the log's tree hash, sha256 or sm3 (an export file
        /// says it itself). By default the one the served checkpoint names
        /// (`hash: sm3`), else sha256; a checkpoint naming another than
        /// the one given cannot be checked (exit 2).
        #[arg(long, requires = "url")]
        hash: Option<String>,
    },
    /// Print the inclusion proof of one leaf as JSON (the regulator API's
    /// shape), to hand to a regulator with the exchange's receipt.
    Prove {
        /// The node configuration (for the store).
        #[arg(long, short)]
        config: PathBuf,
        /// The leaf index (the receipt's `leaf_index`).
        #[arg(long)]
        index: u64,
        /// The tree size to prove it in; the latest checkpoint's by default.
        #[arg(long)]
        size: Option<u64>,
    },
    /// Check an inclusion proof offline (as `audit prove` or
    /// `/v1/audit/proof/inclusion` gives it): the checkpoint is signed by the
    /// log's key, the proof is for its tree size, and the receipt's leaf is
    /// in that tree. Exit 0 proved, 1 not proved, 2 could not check.
    CheckProof {
        /// The inclusion proof (JSON `{ "index", "size", "proof" }`).
        #[arg(long)]
        proof: PathBuf,
        /// The signed checkpoint of the proof's tree size (a file as
        /// `/v1/audit/checkpoint` serves it).
        #[arg(long)]
        checkpoint: PathBuf,
        /// The log's verifier key (`name+keyid+base64`), or a file holding it.
        #[arg(long)]
        key: String,
        /// The consumer's receipt (JSON with `leaf_index` and `leaf_hash`, or
        /// a whole exchange answer).
        #[arg(long)]
        receipt: PathBuf,
        /// The log's tree hash, sha256 or sm3; by default the one the
        /// checkpoint names (`hash: sm3`), else sha256.
        #[arg(long)]
        hash: Option<String>,
    },
}

/// Why an audit command could not run (exit code 2).
#[derive(Debug, Error)]
pub enum AuditCliError {
    /// The arguments do not make sense together.
    #[error("{0}")]
    Usage(String),
    /// A file could not be read or written.
    #[error(transparent)]
    Io(#[from] FileError),
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The log could not be read.
    #[error(transparent)]
    Log(#[from] LogError),
    /// The key could not be made.
    #[error(transparent)]
    Key(#[from] LogKeyError),
    /// The verifier key is not one.
    #[error("--key: not a verifier key (name+keyid+base64) nor a file holding one: {0}")]
    VerifierKey(String),
    /// The export is not readable as one.
    #[error("{0}")]
    Unreadable(String),
    /// The gateway could not be asked.
    #[error("{url}: {message}")]
    Remote {
        /// The URL.
        url: String,
        /// What failed.
        message: String,
    },
}

/// Runs an audit command; `Ok` carries exit code 0 or 1.
pub async fn run(command: AuditCommand) -> Result<ExitCode, AuditCliError> {
    match command {
        AuditCommand::Keygen { origin, out } => keygen(&origin, &out),
        AuditCommand::Export {
            config,
            out,
            from,
            to,
            decoded,
        } => export(&config, &out, from, to, decoded.as_deref()).await,
        AuditCommand::Verify {
            file,
            url,
            key,
            since_checkpoint,
            receipt,
            client_cert,
            client_key,
            cacert,
            hash,
        } => {
            let key = verifier_key(&key)?;
            let mut options = ExportOptions {
                trusted_leaves: receipts(&receipt)?,
                ..ExportOptions::default()
            };
            if let Some(path) = &since_checkpoint {
                let note = std::fs::read(path).map_err(file_error(path))?;
                // Refuse a bad signature here, with the file's name, rather
                // than as a tampered export.
                open_checkpoint(&note, &key).map_err(|e| {
                    AuditCliError::Unreadable(format!(
                        "{}: not a checkpoint signed by this key: {e}",
                        path.display()
                    ))
                })?;
                options.since = Some(Since {
                    checkpoint: note,
                    proof: Vec::new(),
                });
            }
            let report = match (file, url) {
                (Some(file), None) => verify_file(&file, &key, &options)?,
                (None, Some(url)) => {
                    let alg = hash.as_deref().map(hash_alg).transpose()?;
                    let tls = Tls {
                        cert: client_cert,
                        key: client_key,
                        ca: cacert,
                    };
                    verify_url(&url, &tls, alg, &key, &options).await?
                }
                _ => {
                    return Err(AuditCliError::Usage(
                        "give an export file or --url, not both".into(),
                    ));
                }
            };
            Ok(print_report(&report, &key))
        }
        AuditCommand::Prove {
            config,
            index,
            size,
        } => prove(&config, index, size).await,
        AuditCommand::CheckProof {
            proof,
            checkpoint,
            key,
            receipt,
            hash,
        } => check_proof(&proof, &checkpoint, &key, &receipt, hash.as_deref()),
    }
}

/// `yrdx audit check-proof`: everything from files, nothing from the log.
#[allow(clippy::print_stdout, reason = "the command's output")]
fn check_proof(
    proof: &Path,
    checkpoint: &Path,
    key: &str,
    receipt: &Path,
    hash: Option<&str>,
) -> Result<ExitCode, AuditCliError> {
    let alg = hash.map(hash_alg).transpose()?;
    let key = verifier_key(key)?;
    let text = std::fs::read(proof).map_err(file_error(proof))?;
    let proof_value: yrdx_signing::InclusionProof = serde_json::from_slice(&text).map_err(|e| {
        AuditCliError::Unreadable(format!("{}: not an inclusion proof: {e}", proof.display()))
    })?;
    let note = std::fs::read(checkpoint).map_err(file_error(checkpoint))?;
    let opened = open_checkpoint(&note, &key).map_err(|e| {
        AuditCliError::Unreadable(format!(
            "{}: not a checkpoint signed by this key: {e}",
            checkpoint.display()
        ))
    })?;
    let cp = opened.checkpoint();
    let alg = log_hash(cp, alg)
        .map_err(|e| AuditCliError::Unreadable(format!("{}: {e}", checkpoint.display())))?;
    if cp.size() != proof_value.size {
        return Err(AuditCliError::Usage(format!(
            "the proof is for a tree of {} leaves, the checkpoint for {}: ask for the proof at the checkpoint's size (audit prove --size {})",
            proof_value.size,
            cp.size(),
            cp.size()
        )));
    }
    let (index, leaf_hash) = receipts(std::slice::from_ref(&receipt.to_path_buf()))?
        .into_iter()
        .next()
        .ok_or_else(|| AuditCliError::Unreadable(format!("{}: no receipt", receipt.display())))?;
    if index != proof_value.index.get() {
        return Err(AuditCliError::Usage(format!(
            "the receipt is for leaf {index}, the proof for leaf {}",
            proof_value.index.get()
        )));
    }
    Ok(match proof_value.verify(alg, &leaf_hash, &cp.root()) {
        Ok(()) => {
            println!(
                "PROVED: leaf {index} (the receipt's) is in the tree of {} leaves signed in the checkpoint",
                cp.size()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("NOT PROVED: {e}");
            ExitCode::from(1)
        }
    })
}

#[allow(clippy::print_stdout, reason = "the command's output")]
fn keygen(origin: &str, out: &Path) -> Result<ExitCode, AuditCliError> {
    // The public key's file is checked first: a key pair is written whole
    // or not at all.
    let public = public_key_path(out);
    if public.exists() {
        return Err(AuditCliError::Usage(format!(
            "{} exists; remove it or choose another --out (a log key is never overwritten)",
            public.display()
        )));
    }
    let signer = log_key::generate(origin, out)?;
    let line = format!("{}\n", signer.verifier_key());
    std::fs::write(&public, &line).map_err(file_error(&public))?;
    print!("{line}");
    eprintln!(
        "私钥已写入 wrote the private key to {} (mode 0600); 公钥 the public key (the line above) to {}, to give regulators",
        out.display(),
        public.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Where `audit keygen` writes the public key: beside the private key, its
/// extension `.pub` (`log.key` → `log.pub`, `key` → `key.pub`).
pub fn public_key_path(private: &Path) -> PathBuf {
    private.with_extension("pub")
}

async fn open_store(config: &Path) -> Result<Store, AuditCliError> {
    let config = Config::load(config)?;
    Ok(Store::open(
        &config.store.url,
        &StoreOptions {
            max_connections: 2,
            acquire_timeout: config.store.acquire_timeout,
        },
    )
    .await?)
}

#[allow(clippy::print_stdout, reason = "the command's output")]
async fn export(
    config: &Path,
    out: &Path,
    from: u64,
    to: Option<u64>,
    decoded: Option<&Path>,
) -> Result<ExitCode, AuditCliError> {
    let store = open_store(config).await?;
    let file = std::fs::File::create(out).map_err(file_error(out))?;
    let mut writer = std::io::BufWriter::new(file);
    let summary = store.export(from, to, &mut writer).await;
    let decoded_written = match (&summary, decoded) {
        (Ok(s), Some(path)) => write_decoded(&store, s.start, s.end, path).await.map(Some),
        _ => Ok(None),
    };
    store.close().await;
    let summary = summary?;
    if let (Some(lines), Some(path)) = (decoded_written?, decoded) {
        println!("decoded {lines} leaves, for reading, to {}", path.display());
    }
    writer
        .into_inner()
        .map_err(|e| file_error(out)(e.into_error()))?
        .sync_all()
        .map_err(file_error(out))?;
    println!(
        "exported leaves {}..{} ({} lines) with {} earlier checkpoints to {}",
        summary.start,
        summary.end,
        summary.leaves,
        summary.checkpoints,
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Leaves `start..end` decoded to `path`, one JSON object per line: the
/// exchange record, its `index`, and its `time` in China Standard Time as
/// `time_cst`. Returns how many lines were written.
async fn write_decoded(
    store: &Store,
    start: u64,
    end: u64,
    path: &Path,
) -> Result<u64, AuditCliError> {
    use std::io::Write as _;
    let file = std::fs::File::create(path).map_err(file_error(path))?;
    let mut writer = std::io::BufWriter::new(file);
    let mut written = 0;
    let mut next = start;
    while next < end {
        let page_end = end.min(next.saturating_add(1000));
        let leaves = store.log_leaves(next, page_end).await?;
        if leaves.is_empty() {
            break;
        }
        for leaf in leaves {
            let mut record: serde_json::Value =
                serde_json::from_slice(&leaf.leaf).unwrap_or_else(|_| {
                    serde_json::Value::from(String::from_utf8_lossy(&leaf.leaf).into_owned())
                });
            if let Some(obj) = record.as_object_mut() {
                let cst = obj
                    .get("time")
                    .and_then(serde_json::Value::as_str)
                    .and_then(|t| {
                        time::OffsetDateTime::parse(
                            t,
                            &time::format_description::well_known::Rfc3339,
                        )
                        .ok()
                    })
                    .map(super::cst);
                obj.insert("index".into(), leaf.index.into());
                if let Some(cst) = cst {
                    obj.insert("time_cst".into(), cst.into());
                }
            }
            writeln!(writer, "{record}").map_err(file_error(path))?;
            written += 1;
            next = leaf.index + 1;
        }
    }
    writer
        .into_inner()
        .map_err(|e| file_error(path)(e.into_error()))?
        .sync_all()
        .map_err(file_error(path))?;
    Ok(written)
}

fn verifier_key(arg: &str) -> Result<VerifierKey, AuditCliError> {
    let path = Path::new(arg);
    let text = if path.is_file() {
        std::fs::read_to_string(path).map_err(file_error(path))?
    } else {
        arg.to_owned()
    };
    VerifierKey::parse(text.trim()).map_err(|e| AuditCliError::VerifierKey(e.to_string()))
}

/// Leaf hashes vouched for by consumers' receipts.
fn receipts(paths: &[PathBuf]) -> Result<BTreeMap<u64, Hash>, AuditCliError> {
    let mut out = BTreeMap::new();
    for path in paths {
        let text = std::fs::read(path).map_err(file_error(path))?;
        let unreadable = |what: &str| {
            AuditCliError::Unreadable(format!("{}: not a receipt: {what}", path.display()))
        };
        let v: serde_json::Value =
            serde_json::from_slice(&text).map_err(|e| unreadable(&e.to_string()))?;
        let r = v.get("receipt").unwrap_or(&v);
        let index = r
            .get("leaf_index")
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| unreadable("no leaf_index"))?;
        let hex = r
            .get("leaf_hash")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| unreadable("no leaf_hash"))?;
        out.insert(
            index,
            parse_hex_hash(hex).ok_or_else(|| unreadable("leaf_hash is not 64 hex digits"))?,
        );
    }
    Ok(out)
}

fn parse_hex_hash(hex: &str) -> Option<Hash> {
    if hex.len() != 64 {
        return None;
    }
    let mut bytes = [0u8; 32];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(Hash::from_bytes(bytes))
}

/// Whether an export error means the export does not verify (exit 1) rather
/// than that it could not be read (exit 2).
fn refuted(e: &ExportError) -> bool {
    // A log hashed otherwise than asked is not refuted: it cannot be checked.
    if let ExportError::Checkpoint {
        source: CheckpointError::UnsupportedHash { .. },
        ..
    } = e
    {
        return false;
    }
    matches!(
        e,
        ExportError::Checkpoint { .. }
            | ExportError::OriginMismatch { .. }
            | ExportError::CheckpointAfterExport { .. }
    )
}

/// The verdict when verification could not even start for a reason that is
/// itself a verdict (a checkpoint not signed by the key).
struct Refuted(String);

fn verify_file(
    path: &Path,
    key: &VerifierKey,
    options: &ExportOptions,
) -> Result<Result<ExportReport, Refuted>, AuditCliError> {
    let file = std::fs::File::open(path).map_err(file_error(path))?;
    let mut reader = std::io::BufReader::new(file);
    let mut line = Vec::new();
    let mut next = |line: &mut Vec<u8>| -> Result<bool, AuditCliError> {
        line.clear();
        // Bounded: a line longer than the format allows is refused by the
        // verifier; read at most one byte more than that.
        let limit = u64::try_from(yrdx_signing::MAX_HEADER_LINE + 2).unwrap_or(u64::MAX);
        let n = std::io::Read::take(&mut reader, limit)
            .read_until(b'\n', line)
            .map_err(file_error(path))?;
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        Ok(n > 0)
    };
    if !next(&mut line)? {
        return Err(AuditCliError::Unreadable(format!(
            "{}: the export is empty",
            path.display()
        )));
    }
    // An export that starts after the earlier checkpoint cannot show that it
    // extends it (it would need a consistency proof an export does not carry).
    if let (Some(since), Ok(header)) = (&options.since, ExportHeader::parse(&line))
        && let Ok(earlier) = open_checkpoint(&since.checkpoint, key)
        && header.start > earlier.checkpoint().size().get()
    {
        return Err(AuditCliError::Usage(format!(
            "{} starts at leaf {}, after the --since-checkpoint size {}: export from {} or earlier",
            path.display(),
            header.start,
            earlier.checkpoint().size(),
            earlier.checkpoint().size()
        )));
    }
    let mut verifier = match ExportVerifier::new(&line, key, options) {
        Ok(v) => v,
        Err(e) if refuted(&e) => return Ok(Err(Refuted(describe(&e)))),
        Err(e) => {
            return Err(AuditCliError::Unreadable(format!(
                "{}: {}",
                path.display(),
                describe(&e)
            )));
        }
    };
    while next(&mut line)? {
        verifier.push_line(&line).map_err(|e| {
            AuditCliError::Unreadable(format!("{}: {}", path.display(), describe(&e)))
        })?;
    }
    Ok(Ok(verifier.finish()))
}

/// An error and its sources on one line.
fn describe(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// The regulator's client identity for `--url`.
struct Tls {
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    ca: Option<PathBuf>,
}

/// One GET on the regulator API; a non-200 answer is an error.
async fn get(conn: &mut Connection, url: &str, path: &str) -> Result<Bytes, AuditCliError> {
    let answer = conn.get(path).await.map_err(|e| AuditCliError::Remote {
        url: url.to_owned(),
        message: e.to_string(),
    })?;
    if answer.status != 200 {
        let code = answer.problem_code().unwrap_or_default();
        return Err(AuditCliError::Remote {
            url: url.to_owned(),
            message: format!("GET {path} answered {} {code}", answer.status),
        });
    }
    Ok(answer.body)
}

/// `--hash`'s algorithm.
fn hash_alg(name: &str) -> Result<HashAlg, AuditCliError> {
    HashAlg::from_name(name)
        .ok_or_else(|| AuditCliError::Usage("--hash must be sha256 or sm3".into()))
}

/// The tree hash to check `checkpoint`'s log with: `asked` if the checkpoint
/// allows it, else the one the checkpoint names, else SHA-256.
fn log_hash(
    checkpoint: &yrdx_signing::Checkpoint,
    asked: Option<HashAlg>,
) -> Result<HashAlg, CheckpointError> {
    match asked {
        Some(alg) => checkpoint.check_hash(alg).map(|()| alg),
        None => match checkpoint.named_hash() {
            None => Ok(HashAlg::Sha256),
            Some(Ok(alg)) => Ok(alg),
            Some(Err(name)) => Err(CheckpointError::UnsupportedHash {
                log: name,
                client: "sha256 or sm3".into(),
            }),
        },
    }
}

async fn verify_url(
    url: &str,
    tls: &Tls,
    alg: Option<HashAlg>,
    key: &VerifierKey,
    options: &ExportOptions,
) -> Result<Result<ExportReport, Refuted>, AuditCliError> {
    let addr = url
        .strip_prefix("https://")
        .map(|rest| rest.trim_end_matches('/'))
        .filter(|a| !a.is_empty() && !a.contains('/'))
        .ok_or_else(|| AuditCliError::Usage("--url must look like https://HOST:PORT".into()))?;
    let (Some(cert), Some(client_key), Some(ca)) = (&tls.cert, &tls.key, &tls.ca) else {
        return Err(AuditCliError::Usage(
            "--url needs --client-cert, --client-key and --cacert: the audit API answers regulators only".into(),
        ));
    };
    let config = client::tls_config(ca, cert, client_key)
        .map_err(|e| AuditCliError::Usage(format!("client certificate: {e}")))?;
    let remote = |message: String| AuditCliError::Remote {
        url: url.to_owned(),
        message,
    };
    let mut conn = Connection::open(addr, config)
        .await
        .map_err(|e| remote(e.to_string()))?;
    let note = get(&mut conn, url, "/v1/audit/checkpoint").await?;
    let checkpoint = match open_checkpoint(&note, key) {
        Ok(c) => c,
        Err(e) => {
            return Ok(Err(Refuted(format!(
                "the served checkpoint: {}",
                describe(&e)
            ))));
        }
    };
    let alg = log_hash(checkpoint.checkpoint(), alg)
        .map_err(|e| remote(format!("the served checkpoint: {e}")))?;
    let size = checkpoint.checkpoint().size().get();
    let header = ExportHeader {
        origin: checkpoint.checkpoint().origin().to_owned(),
        alg,
        start: 0,
        prefix: Vec::new(),
        checkpoint: checkpoint.note().to_owned(),
        checkpoints: Vec::new(),
    };
    let mut verifier = match ExportVerifier::new(header.to_line().as_bytes(), key, options) {
        Ok(v) => v,
        Err(e) if refuted(&e) => return Ok(Err(Refuted(describe(&e)))),
        Err(e) => return Err(AuditCliError::Unreadable(describe(&e))),
    };
    let page = yrdx_registry::MAX_ENTRIES_PAGE;
    let mut start = 0;
    while start < size {
        let end = (start + page).min(size);
        let body = get(
            &mut conn,
            url,
            &format!("/v1/audit/entries?start={start}&end={end}"),
        )
        .await?;
        let entries: Vec<serde_json::Value> = serde_json::from_slice(&body)
            .map_err(|e| remote(format!("entries {start}..{end}: {e}")))?;
        if entries.is_empty() {
            break;
        }
        for entry in &entries {
            let line = serde_json::to_vec(entry).map_err(|e| remote(e.to_string()))?;
            verifier
                .push_line(&line)
                .map_err(|e| remote(format!("entries {start}..{end}: {}", describe(&e))))?;
        }
        start = end;
    }
    Ok(Ok(verifier.finish()))
}

#[allow(clippy::print_stdout, reason = "the command's output")]
fn print_report(result: &Result<ExportReport, Refuted>, key: &VerifierKey) -> ExitCode {
    let report = match result {
        Err(Refuted(why)) => {
            println!("NOT VERIFIED: {why}");
            return ExitCode::from(1);
        }
        Ok(r) => r,
    };
    let cp = &report.checkpoint;
    match &report.finding {
        None => {
            println!(
                "VERIFIED: log {} at size {} (root {}), signed by {}",
                cp.origin(),
                cp.size(),
                cp.root().to_base64(),
                key
            );
            println!(
                "  leaves {}..{} recomputed ({} hash), {} checkpoint(s) matched, {} receipt(s) matched",
                report.start,
                cp.size(),
                report.alg.name(),
                report.checkpoints_checked,
                report.trusted_leaves_checked
            );
            if let Some(since) = report.consistent_with_since {
                println!("  consistent with the earlier checkpoint of size {since}");
            }
            ExitCode::SUCCESS
        }
        Some(finding) => {
            println!("TAMPERED: {}", explain(finding));
            let range = finding.first_bad();
            match finding.first_bad_index() {
                Some(i) => println!("  first bad leaf: {i}"),
                None if range.is_empty() => {
                    println!("  no leaf is to blame: the log signed inconsistent checkpoints");
                }
                None => println!(
                    "  first bad leaf: between {} and {} (export checkpoints at more sizes, or pass receipts, to narrow it)",
                    range.start,
                    range.end.saturating_sub(1)
                ),
            }
            ExitCode::from(1)
        }
    }
}

fn explain(finding: &ExportFinding) -> String {
    match finding {
        ExportFinding::OutOfSequence { expected, found } => {
            format!("leaf {expected} is missing or out of order (the next line is leaf {found})")
        }
        ExportFinding::Altered { index, .. } => {
            format!("leaf {index} differs from the consumer's receipt")
        }
        ExportFinding::Extra { index } => format!("leaf {index} lies beyond the signed checkpoint"),
        ExportFinding::Truncated { entries_end, size } => format!(
            "the leaves end at {entries_end} but the checkpoint signs {size}: leaves removed at the end"
        ),
        ExportFinding::RootMismatch { size, .. } => format!(
            "the leaves do not hash to the root signed at size {size}: a leaf was altered, removed or reordered"
        ),
        ExportFinding::CheckpointsDisagree { size, .. } => {
            format!("two signed checkpoints disagree at size {size}")
        }
        ExportFinding::NotConsistentWithSince { since, size, error } => format!(
            "the checkpoint of size {size} does not extend the earlier one of size {since}: {error}"
        ),
    }
}

#[allow(clippy::print_stdout, reason = "the command's output")]
async fn prove(config: &Path, index: u64, size: Option<u64>) -> Result<ExitCode, AuditCliError> {
    let store = open_store(config).await?;
    let result = prove_from(&store, index, size).await;
    store.close().await;
    let (proof, note) = result?;
    let text = serde_json::to_string_pretty(&proof)
        .map_err(|e| AuditCliError::Unreadable(e.to_string()))?;
    println!("{text}");
    match note {
        Some(_) => eprintln!(
            "leaf {index} is in the tree of size {}, signed in the checkpoint /v1/audit/checkpoint serves (or an export carries)",
            proof.size
        ),
        None => eprintln!(
            "leaf {index} is in the tree of size {}; no checkpoint was signed at exactly that size",
            proof.size
        ),
    }
    Ok(ExitCode::SUCCESS)
}

async fn prove_from(
    store: &Store,
    index: u64,
    size: Option<u64>,
) -> Result<(yrdx_signing::InclusionProof, Option<String>), AuditCliError> {
    let info = store.log_info().await?.ok_or(LogError::NoLog)?;
    let latest = store
        .latest_checkpoint()
        .await?
        .ok_or(LogError::NoCheckpoint)?;
    let size = match size {
        Some(s) => TreeSize::new(s).map_err(LogError::from)?,
        None => latest.size,
    };
    if size > latest.size {
        return Err(AuditCliError::Usage(format!(
            "--size {size} is beyond the latest checkpoint's size {}",
            latest.size
        )));
    }
    let leaf_index = LeafIndex::new(index).map_err(LogError::from)?;
    if !size.contains(leaf_index) {
        return Err(AuditCliError::Usage(format!(
            "--index {index} is not below the tree size {size}"
        )));
    }
    let proof = store.inclusion_proof(info.alg, leaf_index, size).await?;
    // Check before handing it out: a proof the stored leaf does not pass is
    // worth nothing to a regulator and means the store was altered.
    let root = store.log_root(info.alg, size).await?;
    let leaf = store
        .log_leaves(index, index + 1)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| StoreError::Corrupt(format!("leaf {index} is missing")))?;
    proof
        .verify(info.alg, &leaf_hash(info.alg, &leaf.leaf), &root)
        .map_err(|e| {
            StoreError::Corrupt(format!(
                "stored leaf {index} does not match the tree (altered?): {e}"
            ))
        })?;
    let note = store.checkpoint_at(size).await?.map(|c| c.note);
    Ok((proof, note))
}
