//! Bill verification reports: the same shape as seal reports (`result`,
//! `failed_step`, `code`, `reason`, `steps`, `details`), with the steps of a bill.

use serde::ser::SerializeStruct as _;
use serde::{Serialize, Serializer};
use thiserror::Error;
use time::OffsetDateTime;

use super::BillError;
use super::model::{BillFacts, BillKey, BillKind};
use crate::crypto::SignatureEncoding;
use crate::error::{CertError, CryptoError, rfc3339};
use crate::ident::Region;
use crate::report::{Outcome, StepStatus, cert_code};
use crate::x509::ValidatedChain;

/// The steps of a bill's verification, in the order they are reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BillStep {
    /// 1. Read the XML within bounds; find the kind, the fields and the signatures.
    Parse,
    /// 2. The identifiers agree with each other and name a federation region.
    Identifiers,
    /// 3. The issuer's signature (开票单位 for fiscal bills, the tax bureau for
    ///    数电发票) over the received signed content.
    IssuerSignature,
    /// 4. The issuer's certificate: chain to the issuing region's bill roots at the
    ///    signature time, usage, revocation.
    IssuerCertificate,
    /// 5. Fiscal bills: the finance department's supervision signature (监制).
    SupervisorSignature,
    /// 6. Fiscal bills: the supervision certificate's chain, and its region agrees
    ///    with the bill's.
    SupervisorCertificate,
    /// 7. A bill in an OFD file: the package's seal signatures.
    OfdSeal,
}

impl BillStep {
    /// The steps in order.
    pub const ALL: [BillStep; 7] = [
        BillStep::Parse,
        BillStep::Identifiers,
        BillStep::IssuerSignature,
        BillStep::IssuerCertificate,
        BillStep::SupervisorSignature,
        BillStep::SupervisorCertificate,
        BillStep::OfdSeal,
    ];

    /// 1-based number.
    pub fn number(self) -> u8 {
        match self {
            BillStep::Parse => 1,
            BillStep::Identifiers => 2,
            BillStep::IssuerSignature => 3,
            BillStep::IssuerCertificate => 4,
            BillStep::SupervisorSignature => 5,
            BillStep::SupervisorCertificate => 6,
            BillStep::OfdSeal => 7,
        }
    }

    /// The step's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            BillStep::Parse => "parse",
            BillStep::Identifiers => "identifiers",
            BillStep::IssuerSignature => "issuer_signature",
            BillStep::IssuerCertificate => "issuer_certificate",
            BillStep::SupervisorSignature => "supervisor_signature",
            BillStep::SupervisorCertificate => "supervisor_certificate",
            BillStep::OfdSeal => "ofd_seal",
        }
    }
}

/// Why a bill step failed or was indeterminate.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum BillFinding {
    /// Step 1: not a bill this verifier reads.
    #[error("{0}")]
    Malformed(BillError),
    /// Step 2: two identifiers of the bill disagree.
    #[error("{0}")]
    Inconsistent(String),
    /// Step 2: the bill's area is not one of the federation's regions.
    #[error("area code `{area}` is not a region of the federation")]
    OutsideFederation {
        /// The two-digit area.
        area: String,
    },
    /// Step 3: a field the bill is read from lies outside the signed content.
    #[error("`{element}` is not covered by the signature's references")]
    UnsignedContent {
        /// The element.
        element: &'static str,
    },
    /// Step 3: a signature reference names no element of the bill.
    #[error("signature reference `{path}` names no element")]
    ReferenceUnresolved {
        /// The path as written.
        path: String,
    },
    /// Steps 3/5: the signature value is not base64.
    #[error("the signature value is not base64")]
    SignatureValue,
    /// Steps 3/5: an algorithm this verifier does not implement.
    #[error("unsupported signature algorithm `{alg}`")]
    UnsupportedAlgorithm {
        /// As written.
        alg: String,
    },
    /// Steps 3/5: a SignatureFormat other than DETACH.
    #[error("unsupported signature format `{format}`")]
    UnsupportedFormat {
        /// As written.
        format: String,
    },
    /// Steps 3/5: the value is a CMS/PKCS#7 container, which this verifier does
    /// not open (see docs/ebills.md).
    #[error("the signature value is a CMS SignedData container, which is not supported")]
    SignatureContainer,
    /// Steps 3–6: KeyInfo names a certificate the bill trust does not hold.
    #[error("no configured bill certificate has issuer `{issuer}` and serial `{serial}`")]
    CertificateNotFound {
        /// X509IssuerName as written.
        issuer: String,
        /// SerialNumber as written.
        serial: String,
    },
    /// Steps 3/5: the signature does not verify over the signed content.
    #[error("signature: {0}")]
    Signature(CryptoError),
    /// Steps 4/6: the certificate or its chain.
    #[error("certificate: {0}")]
    Certificate(CertError),
    /// Steps 4/6: SignatureTime cannot be read.
    #[error("signature time `{0}` is not a time this verifier reads")]
    SignatureTime(String),
    /// Steps 4/6: the signature time is after the verification time.
    #[error("signature time {} is after the verification time {}", rfc3339(.signing_time), rfc3339(.at))]
    SigningTimeInFuture {
        /// The signature time.
        signing_time: OffsetDateTime,
        /// The verification time.
        at: OffsetDateTime,
    },
    /// Step 6: the supervision certificate belongs to another region than the bill.
    #[error("the supervision certificate is {found}'s, the bill is {expected}'s")]
    SupervisorRegion {
        /// The bill's region.
        expected: Region,
        /// The certificate's region.
        found: Region,
    },
    /// Step 7: the OFD seal signatures.
    #[error("OFD seal: {reason}")]
    OfdSeal {
        /// The seal report's code.
        code: &'static str,
        /// Its reason.
        reason: String,
        /// Whether the seal result was indeterminate rather than invalid.
        indeterminate: bool,
    },
}

impl BillFinding {
    /// A stable code for tools and logs.
    pub fn code(&self) -> &'static str {
        match self {
            BillFinding::Malformed(_) => "malformed",
            BillFinding::Inconsistent(_) => "identifiers_inconsistent",
            BillFinding::OutsideFederation { .. } => "region_not_in_federation",
            BillFinding::UnsignedContent { .. } => "unsigned_content",
            BillFinding::ReferenceUnresolved { .. } => "reference_unresolved",
            BillFinding::SignatureValue => "signature_value_malformed",
            BillFinding::UnsupportedAlgorithm { .. } => "unsupported_algorithm",
            BillFinding::UnsupportedFormat { .. } => "unsupported_signature_format",
            BillFinding::SignatureContainer => "unsupported_signature_container",
            BillFinding::CertificateNotFound { .. } => "certificate_not_found",
            BillFinding::Signature(CryptoError::UnsupportedAlgorithm(_))
            | BillFinding::Signature(CryptoError::UnsupportedKey(_)) => "unsupported_algorithm",
            BillFinding::Signature(_) => "signature_invalid",
            BillFinding::Certificate(e) => cert_code(e),
            BillFinding::SignatureTime(_) => "signature_time_malformed",
            BillFinding::SigningTimeInFuture { .. } => "signing_time_in_future",
            BillFinding::SupervisorRegion { .. } => "supervisor_region_mismatch",
            BillFinding::OfdSeal { code, .. } => code,
        }
    }

    /// Whether this finding leaves its step undecided rather than failed.
    pub fn is_indeterminate(&self) -> bool {
        match self {
            BillFinding::OutsideFederation { .. }
            | BillFinding::UnsupportedAlgorithm { .. }
            | BillFinding::UnsupportedFormat { .. }
            | BillFinding::SignatureContainer
            | BillFinding::CertificateNotFound { .. } => true,
            BillFinding::Signature(e) => matches!(
                e,
                CryptoError::UnsupportedAlgorithm(_) | CryptoError::UnsupportedKey(_)
            ),
            BillFinding::Certificate(e) => e.is_indeterminate(),
            BillFinding::OfdSeal { indeterminate, .. } => *indeterminate,
            _ => false,
        }
    }
}

/// One step's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BillStepReport {
    /// Which step.
    pub step: BillStep,
    /// How it ended.
    pub status: StepStatus,
    /// Why it failed or was indeterminate.
    pub finding: Option<BillFinding>,
}

impl Serialize for BillStepReport {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("BillStepReport", 5)?;
        st.serialize_field("number", &self.step.number())?;
        st.serialize_field("step", &self.step)?;
        st.serialize_field("status", &self.status)?;
        st.serialize_field("code", &self.finding.as_ref().map(BillFinding::code))?;
        st.serialize_field("reason", &self.finding.as_ref().map(ToString::to_string))?;
        st.end()
    }
}

/// Which bytes the supervision signature was found to cover *(interop point:
/// the public record does not settle it; see docs/ebills.md)*.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct SupervisorForm {
    /// How SM3(unit signed content) is written: `raw`, `hex`, `hex_upper`, `base64`.
    pub hash: &'static str,
    /// What of the unit signature follows: `element` (the whole `<Signature>`
    /// element as received) or `value` (its base64 value text).
    pub signature: &'static str,
}

/// What one signature's check saw.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SignatureDetails {
    /// SignatureAlgorithm as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<String>,
    /// SignatureTime as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_text: Option<String>,
    /// The signature time as read.
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub time: Option<OffsetDateTime>,
    /// KeyInfo X509IssuerName.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_issuer: Option<String>,
    /// KeyInfo SerialNumber.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_serial: Option<String>,
    /// The certificate's subject, when found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
    /// The region whose bill trust holds the certificate.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_region")]
    pub certificate_region: Option<Region>,
    /// How the signature value was encoded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding: Option<SignatureEncoding>,
    /// Bytes of signed content.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed_len: Option<usize>,
    /// The chain, when it validated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chain: Option<ValidatedChain>,
}

fn opt_region<S: Serializer>(r: &Option<Region>, s: S) -> Result<S::Ok, S::Error> {
    match r {
        Some(r) => s.serialize_str(r.code()),
        None => s.serialize_none(),
    }
}

/// What was seen, for the report.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BillDetails {
    /// The issuing region from the identifiers.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_region")]
    pub region: Option<Region>,
    /// Fiscal bills: whether Header/EInvoiceID is the reversed `code-number`
    /// (reported, not judged: the rule comes from issuing code, not the spec).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub einvoice_id_matches: Option<bool>,
    /// The issuer's signature (开票单位 / tax bureau).
    pub issuer: SignatureDetails,
    /// Fiscal bills: the supervision signature (监制).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supervisor: Option<SignatureDetails>,
    /// Fiscal bills: which bytes the supervision signature covered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supervisor_form: Option<SupervisorForm>,
    /// 数电: the paths the signature references, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
    /// A bill in an OFD file: the package entry it was read from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ofd_entry: Option<String>,
    /// A bill in an OFD file: the seal signatures' summaries.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ofd_seals: Vec<crate::report::Summary>,
}

/// A bill whose every applicable step passed; only the verifier makes one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VerifiedBill {
    pub(crate) facts: BillFacts,
    #[serde(serialize_with = "crate::x509::region_code")]
    pub(crate) region: Region,
    pub(crate) issuer_signer: String,
    pub(crate) supervisor_signer: Option<String>,
}

impl VerifiedBill {
    /// The bill's facts, all from signed content.
    pub fn facts(&self) -> &BillFacts {
        &self.facts
    }
    /// The issuing region.
    pub fn region(&self) -> Region {
        self.region
    }
    /// The issuer certificate's subject.
    pub fn issuer_signer(&self) -> &str {
        &self.issuer_signer
    }
    /// The supervision certificate's subject (fiscal bills).
    pub fn supervisor_signer(&self) -> Option<&str> {
        self.supervisor_signer.as_deref()
    }
}

/// The report of one bill's verification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BillReport {
    pub(crate) kind: Option<BillKind>,
    pub(crate) facts: Option<BillFacts>,
    pub(crate) steps: Vec<BillStepReport>,
    pub(crate) details: BillDetails,
    pub(crate) verified: Option<VerifiedBill>,
}

impl BillReport {
    pub(crate) fn new() -> Self {
        BillReport {
            kind: None,
            facts: None,
            steps: BillStep::ALL
                .iter()
                .map(|&step| BillStepReport {
                    step,
                    status: StepStatus::Skipped,
                    finding: None,
                })
                .collect(),
            details: BillDetails::default(),
            verified: None,
        }
    }

    pub(crate) fn set(&mut self, step: BillStep, result: Result<(), BillFinding>) {
        if let Some(s) = self.steps.iter_mut().find(|s| s.step == step) {
            match result {
                Ok(()) => {
                    s.status = StepStatus::Passed;
                    s.finding = None;
                }
                Err(f) => {
                    s.status = if f.is_indeterminate() {
                        StepStatus::Indeterminate
                    } else {
                        StepStatus::Failed
                    };
                    s.finding = Some(f);
                }
            }
        }
    }

    pub(crate) fn set_status(&mut self, step: BillStep, status: StepStatus) {
        if let Some(s) = self.steps.iter_mut().find(|s| s.step == step) {
            s.status = status;
        }
    }

    pub(crate) fn all_passed(&self) -> bool {
        self.steps
            .iter()
            .all(|s| matches!(s.status, StepStatus::Passed | StepStatus::NotApplicable))
    }

    /// The kind, once parsed.
    pub fn kind(&self) -> Option<BillKind> {
        self.kind
    }

    /// The key, once parsed.
    pub fn key(&self) -> Option<&BillKey> {
        self.facts.as_ref().map(|f| &f.key)
    }

    /// The facts read, once parsed (verified only if [`Self::verified`] is some).
    pub fn facts(&self) -> Option<&BillFacts> {
        self.facts.as_ref()
    }

    /// Every step in order.
    pub fn steps(&self) -> &[BillStepReport] {
        &self.steps
    }

    /// The details seen.
    pub fn details(&self) -> &BillDetails {
        &self.details
    }

    /// The first failed step, else the first indeterminate one; `None` when valid.
    pub fn decisive_step(&self) -> Option<&BillStepReport> {
        self.steps
            .iter()
            .find(|s| s.status == StepStatus::Failed)
            .or_else(|| {
                self.steps
                    .iter()
                    .find(|s| s.status == StepStatus::Indeterminate)
            })
    }

    /// valid, invalid or indeterminate.
    pub fn outcome(&self) -> Outcome {
        match self.decisive_step().map(|s| s.status) {
            Some(StepStatus::Failed) => Outcome::Invalid,
            Some(_) => Outcome::Indeterminate,
            None => Outcome::Valid,
        }
    }

    /// The deciding step, when not valid.
    pub fn failed_step(&self) -> Option<BillStep> {
        self.decisive_step().map(|s| s.step)
    }

    /// The deciding finding, when not valid.
    pub fn reason(&self) -> Option<&BillFinding> {
        self.decisive_step().and_then(|s| s.finding.as_ref())
    }

    /// The verified bill, only when valid.
    pub fn verified(&self) -> Option<&VerifiedBill> {
        self.verified.as_ref()
    }

    /// The audit-log view: no payer (a person's name or identity number must not
    /// reach the log).
    pub fn summary(&self) -> BillSummary {
        BillSummary {
            result: self.outcome(),
            failed_step: self.failed_step(),
            code: self.reason().map(BillFinding::code),
            kind: self.kind,
            key: self.key().map(ToString::to_string),
            region: self.details.region.map(|r| r.code()),
            issuer_signer: self.details.issuer.signer.clone(),
            supervisor_signer: self
                .details
                .supervisor
                .as_ref()
                .and_then(|s| s.signer.clone()),
        }
    }
}

impl Serialize for BillReport {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("BillReport", 9)?;
        st.serialize_field("subject", "bill")?;
        st.serialize_field("kind", &self.kind)?;
        st.serialize_field("result", &self.outcome())?;
        st.serialize_field("failed_step", &self.failed_step())?;
        st.serialize_field("code", &self.reason().map(BillFinding::code))?;
        st.serialize_field("reason", &self.reason().map(ToString::to_string))?;
        st.serialize_field("bill", &self.facts)?;
        st.serialize_field("steps", &self.steps)?;
        st.serialize_field("details", &self.details)?;
        st.end()
    }
}

/// The audit-log record of a bill's verification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BillSummary {
    /// The overall result.
    pub result: Outcome,
    /// The deciding step, when not valid.
    pub failed_step: Option<BillStep>,
    /// The deciding finding's code, when not valid.
    pub code: Option<&'static str>,
    /// The kind, once parsed.
    pub kind: Option<BillKind>,
    /// The key, once parsed.
    pub key: Option<String>,
    /// The issuing region.
    pub region: Option<&'static str>,
    /// The issuer certificate's subject.
    pub issuer_signer: Option<String>,
    /// The supervision certificate's subject.
    pub supervisor_signer: Option<String>,
}
