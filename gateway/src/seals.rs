//! Seal verification in the gateway: the seal trust loaded from the
//! configuration (`[seal_trust.{region}]`, apart from TLS trust), and what
//! `yrdx verify` and `POST /v1/verify` share — telling an OFD file, an
//! SES_Signature and an SESeal apart by their bytes and verifying each with
//! `yrdx-signing`. The verification itself is pure; this module only reads the
//! trust files and shapes the report.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use thiserror::Error;
use time::OffsetDateTime;
use yrdx_signing::{
    CertError, OfdError, OfdLimits, OfdReport, Outcome, Region, StepStatus, Summary, TrustStore,
    VerificationReport, parse_seal, parse_signature, verify_ofd_with_limits, verify_seal,
    verify_signature,
};

use crate::config::SealTrust;

/// A seal trust file that cannot be used.
#[derive(Debug, Error)]
pub enum SealTrustError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The file holds no usable certificate or CRL.
    #[error("{key}: {path}: {problem}")]
    Content {
        /// The configuration key, e.g. `seal_trust.zj.anchors[0]`.
        key: String,
        /// The file.
        path: PathBuf,
        /// What was wrong.
        problem: String,
    },
}

/// What a trust file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrustKind {
    /// Seal anchors of a region.
    Anchor(Region),
    /// Timestamp-authority anchors of a region.
    TsaAnchor(Region),
    /// Intermediate CAs.
    Intermediate,
    /// CRLs.
    Crl,
}

/// Builds the seal trust store from the configuration: every region's anchors
/// grouped by region, with intermediates and CRLs.
pub fn load(config: &BTreeMap<Region, SealTrust>) -> Result<TrustStore, SealTrustError> {
    let mut store = TrustStore::new();
    for (region, t) in config {
        let r = region.code();
        let groups: [(&str, &[PathBuf], TrustKind); 4] = [
            ("anchors", &t.anchors, TrustKind::Anchor(*region)),
            ("intermediates", &t.intermediates, TrustKind::Intermediate),
            ("crls", &t.crls, TrustKind::Crl),
            ("tsa_anchors", &t.tsa_anchors, TrustKind::TsaAnchor(*region)),
        ];
        for (name, files, kind) in groups {
            for (i, path) in files.iter().enumerate() {
                add_file(
                    &mut store,
                    &format!("seal_trust.{r}.{name}[{i}]"),
                    path,
                    kind,
                )?;
            }
        }
        if t.require_crls {
            store.require_crls(*region);
        }
    }
    Ok(store)
}

/// Adds every certificate or CRL in one PEM or DER file; returns how many.
pub fn add_file(
    store: &mut TrustStore,
    key: &str,
    path: &Path,
    kind: TrustKind,
) -> Result<usize, SealTrustError> {
    let bytes = std::fs::read(path).map_err(|source| SealTrustError::Read {
        path: path.to_owned(),
        source,
    })?;
    let content = |problem: String| SealTrustError::Content {
        key: key.to_owned(),
        path: path.to_owned(),
        problem,
    };
    let blocks = der_blocks(&bytes).map_err(content)?;
    for (i, der) in blocks.iter().enumerate() {
        let added = match kind {
            TrustKind::Anchor(region) => store.add_seal_anchor(region, der),
            TrustKind::TsaAnchor(region) => store.add_tsa_anchor(region, der),
            TrustKind::Intermediate => store.add_intermediate(der),
            TrustKind::Crl => store.add_crl(der),
        };
        added.map_err(|e: CertError| content(format!("object {} of the file: {e}", i + 1)))?;
    }
    Ok(blocks.len())
}

/// The DER objects of a PEM file (every block), or the file itself if it is
/// not PEM.
pub fn der_blocks(bytes: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    if !bytes.windows(11).any(|w| w == b"-----BEGIN ") {
        if bytes.is_empty() {
            return Err("the file is empty".into());
        }
        return Ok(vec![bytes.to_vec()]);
    }
    let blocks = x509_parser::pem::Pem::iter_from_buffer(bytes)
        .map(|b| b.map(|b| b.contents).map_err(|e| format!("bad PEM: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    if blocks.is_empty() {
        return Err("no PEM block".into());
    }
    Ok(blocks)
}

/// Whether a certificate is self-issued (subject = issuer): how `yrdx verify`
/// tells anchors from intermediates in a `--trust` bundle.
pub fn is_self_issued(der: &[u8]) -> bool {
    x509_parser::parse_x509_certificate(der)
        .map(|(_, c)| c.subject().as_raw() == c.issuer().as_raw())
        .unwrap_or(false)
}

/// What was uploaded, told by its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A ZIP package: an OFD document.
    Ofd,
    /// A DER SES_Signature (needs the signed data).
    Signature,
    /// A DER SESeal.
    Seal,
    /// Neither: verified as a signature, which reports it malformed at step 1.
    Unrecognised,
}

impl Kind {
    /// Tells the kind from the bytes.
    pub fn detect(bytes: &[u8]) -> Kind {
        if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
            Kind::Ofd
        } else if parse_signature(bytes).is_ok() {
            Kind::Signature
        } else if parse_seal(bytes).is_ok() {
            Kind::Seal
        } else {
            Kind::Unrecognised
        }
    }

    /// `ofd`, `signature`, `seal`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Ofd => "ofd",
            Kind::Signature | Kind::Unrecognised => "signature",
            Kind::Seal => "seal",
        }
    }
}

/// Why a document could not be verified at all (as opposed to verifying as
/// invalid).
#[derive(Debug, Error)]
pub enum VerifyError {
    /// An SES_Signature without the data it signs.
    #[error(
        "the input is an SES_Signature: give the signed data too (yrdx verify --data FILE; POST /v1/verify as JSON {{\"signature\", \"data\"}})"
    )]
    NeedsData,
    /// The OFD package could not be read safely.
    #[error("OFD package: {0}")]
    Ofd(#[from] OfdError),
}

/// A verification's result.
#[derive(Debug)]
pub enum Verified {
    /// An OFD document: one report per signature.
    Ofd(OfdReport),
    /// A signature or a seal alone.
    Single(Kind, Box<VerificationReport>),
}

impl Verified {
    /// The overall result.
    pub fn outcome(&self) -> Outcome {
        match self {
            Verified::Ofd(r) => r.outcome(),
            Verified::Single(_, r) => r.outcome(),
        }
    }

    /// `ofd`, `signature` or `seal`.
    pub fn kind(&self) -> &'static str {
        match self {
            Verified::Ofd(_) => Kind::Ofd.name(),
            Verified::Single(k, _) => k.name(),
        }
    }

    /// The audit-log summaries, one per signature.
    pub fn summaries(&self) -> Vec<Summary> {
        match self {
            Verified::Ofd(r) => r.summaries(),
            Verified::Single(_, r) => vec![r.summary()],
        }
    }

    /// The JSON report: `{"kind", "result", "report"}`.
    pub fn to_json(&self) -> Value {
        let report = match self {
            Verified::Ofd(r) => serde_json::to_value(r),
            Verified::Single(_, r) => serde_json::to_value(r.as_ref()),
        }
        .unwrap_or(Value::Null);
        json!({
            "kind": self.kind(),
            "result": self.outcome().name(),
            "report": report,
        })
    }

    /// The report for people: the result, then each signature's steps.
    pub fn to_text(&self, name: &str) -> String {
        let mut out = String::new();
        match self {
            Verified::Ofd(r) => {
                let _ = writeln!(
                    out,
                    "{name}: OFD document, {} signature(s): {}",
                    r.signatures.len(),
                    r.outcome().name().to_uppercase()
                );
                for (i, s) in r.signatures.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "\nsignature {} ({}): {}",
                        i + 1,
                        s.signature_xml,
                        s.report.outcome().name()
                    );
                    for reference in &s.references {
                        if reference.status != "ok" {
                            let _ = writeln!(
                                out,
                                "  reference {}: {}",
                                reference.file_ref, reference.status
                            );
                        }
                    }
                    report_text(&mut out, &s.report);
                }
            }
            Verified::Single(kind, r) => {
                let what = match kind {
                    Kind::Seal => "electronic seal (SESeal)",
                    _ => "electronic signature (SES_Signature)",
                };
                let _ = writeln!(out, "{name}: {what}: {}", r.outcome().name().to_uppercase());
                report_text(&mut out, r);
            }
        }
        out
    }
}

fn report_text(out: &mut String, r: &VerificationReport) {
    for s in r.steps() {
        let status = match s.status {
            StepStatus::Passed => "passed",
            StepStatus::Failed => "FAILED",
            StepStatus::Indeterminate => "indeterminate",
            StepStatus::NotApplicable => "n/a",
            StepStatus::Skipped => "skipped",
        };
        let _ = write!(out, "  {} {:<19} {status}", s.step.number(), s.step.name());
        if let Some(f) = &s.finding {
            let _ = write!(out, " — {}: {f}", f.code());
        }
        out.push('\n');
    }
    let d = r.details();
    let field = |out: &mut String, label: &str, v: Option<&str>| {
        if let Some(v) = v {
            let _ = writeln!(out, "  {label:<13}{v}");
        }
    };
    field(out, "seal id", d.seal_id.as_deref());
    field(out, "seal name", d.seal_name.as_deref());
    field(out, "signer", d.signer.as_deref());
    let time = d.signing_time.map(yrdx_signing::time::display_cst);
    field(out, "signing time", time.as_deref());
    for dev in &d.deviations {
        field(out, "deviation", Some(dev.code()));
    }
    // What `--json` says as `revocation: not_checked`, said in words.
    for chain in [&d.maker_chain, &d.signer_chain].into_iter().flatten() {
        for note in &chain.revocation {
            if note.status == yrdx_signing::RevocationStatus::NotChecked {
                let text = format!(
                    "吊销未检查 not checked for {} (no CRL of its issuer was given)",
                    note.subject
                );
                field(out, "revocation", Some(&text));
            }
        }
    }
    if r.steps().iter().any(|s| {
        s.finding
            .as_ref()
            .is_some_and(|f| f.code() == "unknown_anchor")
    }) {
        field(
            out,
            "hint",
            Some(
                "提示 a certificate's issuer is neither a trusted root nor a given intermediate: if it was issued by an intermediate (issuing) CA, give that CA's certificate too (yrdx verify --trust FILE; seal_trust.REGION.intermediates)",
            ),
        );
    }
}

/// Verifies `bytes`, whatever they are, against `trust` at `at`, an OFD
/// package read within the default limits. `data` is the signed data for an
/// SES_Signature.
pub fn verify(
    bytes: &[u8],
    data: Option<&[u8]>,
    trust: &TrustStore,
    at: OffsetDateTime,
) -> Result<Verified, VerifyError> {
    verify_within(bytes, data, trust, at, &OfdLimits::default())
}

/// [`verify`], an OFD package read within `limits`.
pub fn verify_within(
    bytes: &[u8],
    data: Option<&[u8]>,
    trust: &TrustStore,
    at: OffsetDateTime,
    limits: &OfdLimits,
) -> Result<Verified, VerifyError> {
    let kind = Kind::detect(bytes);
    Ok(match (kind, data) {
        (Kind::Ofd, _) => Verified::Ofd(verify_ofd_with_limits(bytes, trust, at, limits)?),
        (Kind::Seal, None) => Verified::Single(kind, Box::new(verify_seal(bytes, trust, at))),
        (Kind::Signature, None) => return Err(VerifyError::NeedsData),
        (_, data) => Verified::Single(
            Kind::Signature,
            Box::new(verify_signature(bytes, data.unwrap_or_default(), trust, at)),
        ),
    })
}

/// The audit-log form of a verification: the summary (result, failed step,
/// code, seal id, signer, signing time) of a single signature, or for several
/// the overall result and one summary each.
pub fn audit_summary(outcome: Outcome, summaries: &[Summary]) -> Value {
    let mut values: Vec<Value> = summaries
        .iter()
        .map(|s| serde_json::to_value(s).unwrap_or(Value::Null))
        .collect();
    match values.len() {
        1 => values.pop().unwrap_or(Value::Null),
        _ => json!({"result": outcome.name(), "signatures": values}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../conformance/vectors/seals");

    fn vector(name: &str) -> Vec<u8> {
        std::fs::read(Path::new(VECTORS).join(name)).unwrap()
    }

    #[test]
    fn kinds_are_told_by_their_bytes() {
        assert_eq!(Kind::detect(&vector("ofd-valid.ofd")), Kind::Ofd);
        assert_eq!(
            Kind::detect(&vector("v4-certlist-valid.ses")),
            Kind::Signature
        );
        assert_eq!(Kind::detect(&vector("seal-v4-valid.esl")), Kind::Seal);
        assert_eq!(Kind::detect(&vector("truncated.ses")), Kind::Unrecognised);
        assert_eq!(Kind::detect(b""), Kind::Unrecognised);
    }

    #[test]
    fn trust_files_are_read_as_pem_or_der_and_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = TrustStore::new();
        let der = Path::new(VECTORS).join("trust/zj-seal-root.der");
        assert_eq!(
            add_file(&mut store, "k", &der, TrustKind::Anchor(Region::Zj)).unwrap(),
            1
        );
        let bad = dir.path().join("bad.pem");
        std::fs::write(
            &bad,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let err = add_file(&mut store, "seal_trust.zj.anchors[0]", &bad, TrustKind::Crl)
            .unwrap_err()
            .to_string();
        assert!(err.contains("seal_trust.zj.anchors[0]"), "{err}");
        assert!(err.contains("bad.pem"), "{err}");
        assert!(is_self_issued(&vector("trust/zj-seal-root.der")));
        assert!(!is_self_issued(&vector("trust/zj-seal-ca.der")));
    }
}
