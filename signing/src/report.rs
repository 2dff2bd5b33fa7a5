//! Verification reports: one entry per step, an overall result that is never a bare
//! boolean, the details a regulator needs to see why, and a short summary for the
//! audit log. Only the verifier builds reports and the `Verified*` values in them.

use serde::ser::SerializeStruct as _;
use serde::{Serialize, Serializer};
use thiserror::Error;
use time::OffsetDateTime;

use crate::crypto::SignatureEncoding;
use crate::digest::HashAlg;
use crate::error::{Asn1Error, CertError, CryptoError, TspError, rfc3339};
use crate::ident::Region;
use crate::ses::{Deviation, SealVersion};
use crate::tsp::TimestampInfo;
use crate::x509::ValidatedChain;

/// The seven verification steps, in the order they are reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// 1. Parse the DER, detect the version, note deviations.
    Parse,
    /// 2. The signer's signature over the received TBS_Sign.
    SignerSignature,
    /// 3. The signer certificate's chain, usage, revocation and validity at the
    ///    signing time.
    SignerCertificate,
    /// 4. The signer is one the seal lists in certList.
    SignerBinding,
    /// 5. The protected data hashes to dataHash (for OFD: and every reference).
    DataHash,
    /// 6. The seal: maker signature, maker chain, validity period.
    Seal,
    /// 7. The RFC 3161 timestamp, when there is one.
    Timestamp,
}

impl Step {
    /// The steps in order.
    pub const ALL: [Step; 7] = [
        Step::Parse,
        Step::SignerSignature,
        Step::SignerCertificate,
        Step::SignerBinding,
        Step::DataHash,
        Step::Seal,
        Step::Timestamp,
    ];

    /// 1-based number, as in docs/signing.md.
    pub fn number(self) -> u8 {
        match self {
            Step::Parse => 1,
            Step::SignerSignature => 2,
            Step::SignerCertificate => 3,
            Step::SignerBinding => 4,
            Step::DataHash => 5,
            Step::Seal => 6,
            Step::Timestamp => 7,
        }
    }

    /// The step's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Step::Parse => "parse",
            Step::SignerSignature => "signer_signature",
            Step::SignerCertificate => "signer_certificate",
            Step::SignerBinding => "signer_binding",
            Step::DataHash => "data_hash",
            Step::Seal => "seal",
            Step::Timestamp => "timestamp",
        }
    }
}

/// How one step ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// Checked and good.
    Passed,
    /// Checked and wrong: the signature is invalid.
    Failed,
    /// Could not be decided (unknown anchor, revocation status unknown).
    Indeterminate,
    /// Does not apply (no timestamp; steps a seal-only check does not have).
    NotApplicable,
    /// Not run because parsing failed.
    Skipped,
}

/// The overall result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every applicable step passed.
    Valid,
    /// A step failed; see the failed step and reason.
    Invalid,
    /// No step failed, but one could not be decided.
    Indeterminate,
}

impl Outcome {
    /// `valid`, `invalid` or `indeterminate`.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Valid => "valid",
            Outcome::Invalid => "invalid",
            Outcome::Indeterminate => "indeterminate",
        }
    }
}

/// Why a step failed or was indeterminate.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum Finding {
    /// Step 1: the input is not a seal / signature.
    #[error("{0}")]
    Malformed(Asn1Error),
    /// Step 2: the signer's signature.
    #[error("signer signature: {0}")]
    SignerSignature(CryptoError),
    /// Steps 2/3: the signer certificate cannot be read, or its chain.
    #[error("signer certificate: {0}")]
    SignerCertificate(CertError),
    /// Step 3: the signing time is after the verification time.
    #[error("signing time {} is after the verification time {}", rfc3339(.signing_time), rfc3339(.at))]
    SigningTimeInFuture {
        /// The signing time.
        signing_time: OffsetDateTime,
        /// The verification time.
        at: OffsetDateTime,
    },
    /// Step 4: the signer certificate is not in the seal's certList.
    #[error("the signer certificate is not in the seal's certList")]
    NotInCertList,
    /// Step 4: a certDigestList uses digests this verifier does not know, and no
    /// known one matched.
    #[error("the seal's certDigestList uses unsupported digest `{alg}`")]
    UnsupportedCertDigest {
        /// The digest name as written.
        alg: String,
    },
    /// Step 5: the data does not hash to dataHash.
    #[error("{alg} of the protected data is {computed}, dataHash is {expected}")]
    DataHashMismatch {
        /// The hash used.
        alg: &'static str,
        /// dataHash, hex.
        expected: String,
        /// The hash of the data, hex.
        computed: String,
    },
    /// Step 5 (OFD): a referenced file does not match its CheckValue.
    #[error("`{file}` does not match its CheckValue")]
    ReferenceMismatch {
        /// The file, as resolved in the package.
        file: String,
    },
    /// Step 5 (OFD): a referenced file is not in the package.
    #[error("referenced file `{file}` is missing")]
    ReferenceMissing {
        /// The file as referenced.
        file: String,
    },
    /// Step 5 (OFD): a CheckValue that is not base64 of a 32-byte digest.
    #[error("CheckValue of `{file}` is not a base64 digest")]
    BadCheckValue {
        /// The file as referenced.
        file: String,
    },
    /// Step 5 (OFD): a CheckMethod other than SM3 or SHA-256.
    #[error("unsupported CheckMethod `{method}`")]
    UnsupportedCheckMethod {
        /// The method as written.
        method: String,
    },
    /// Step 5 (OFD): the signature's References are empty.
    #[error("the signature protects no file")]
    NoReferences,
    /// Step 6: the maker's signature over the seal information.
    #[error("seal maker signature: {0}")]
    MakerSignature(CryptoError),
    /// Step 6: the maker certificate or its chain.
    #[error("seal maker certificate: {0}")]
    MakerCertificate(CertError),
    /// Step 6: signing (or checking) before the seal's validStart.
    #[error("the seal is valid from {}, used at {}", rfc3339(.valid_start), rfc3339(.at))]
    SealNotYetValid {
        /// validStart.
        valid_start: OffsetDateTime,
        /// The time checked.
        at: OffsetDateTime,
    },
    /// Step 6: signing (or checking) after the seal's validEnd.
    #[error("the seal expired at {}, used at {}", rfc3339(.valid_end), rfc3339(.at))]
    SealExpired {
        /// validEnd.
        valid_end: OffsetDateTime,
        /// The time checked.
        at: OffsetDateTime,
    },
    /// Step 6 (OFD): Seal.esl is not the seal embedded in the signature.
    #[error("Seal.esl differs from the seal embedded in the signature")]
    SealFileMismatch,
    /// Step 7: the timestamp token.
    #[error("{0}")]
    Timestamp(TspError),
}

impl Finding {
    /// A stable code for tools and logs.
    pub fn code(&self) -> &'static str {
        match self {
            Finding::Malformed(_) => "malformed",
            Finding::SignerSignature(_) => "signer_signature_invalid",
            Finding::SignerCertificate(e) => cert_code(e),
            Finding::SigningTimeInFuture { .. } => "signing_time_in_future",
            Finding::NotInCertList => "signer_not_in_cert_list",
            Finding::UnsupportedCertDigest { .. } => "unsupported_cert_digest",
            Finding::DataHashMismatch { .. } => "data_hash_mismatch",
            Finding::ReferenceMismatch { .. } => "reference_mismatch",
            Finding::ReferenceMissing { .. } => "reference_missing",
            Finding::BadCheckValue { .. } => "bad_check_value",
            Finding::UnsupportedCheckMethod { .. } => "unsupported_check_method",
            Finding::NoReferences => "no_references",
            Finding::MakerSignature(_) => "maker_signature_invalid",
            Finding::MakerCertificate(e) => cert_code(e),
            Finding::SealNotYetValid { .. } => "seal_not_yet_valid",
            Finding::SealExpired { .. } => "seal_expired",
            Finding::SealFileMismatch => "seal_file_mismatch",
            Finding::Timestamp(TspError::Chain(e)) => cert_code(e),
            Finding::Timestamp(_) => "timestamp_invalid",
        }
    }

    /// Whether this finding leaves the step undecided rather than failed.
    pub fn is_indeterminate(&self) -> bool {
        match self {
            Finding::SignerCertificate(e)
            | Finding::MakerCertificate(e)
            | Finding::Timestamp(TspError::Chain(e)) => e.is_indeterminate(),
            // An algorithm this verifier does not implement says nothing about the
            // signature either way.
            Finding::SignerSignature(e) | Finding::MakerSignature(e) => matches!(
                e,
                CryptoError::UnsupportedAlgorithm(_) | CryptoError::UnsupportedKey(_)
            ),
            Finding::UnsupportedCertDigest { .. } | Finding::UnsupportedCheckMethod { .. } => true,
            _ => false,
        }
    }
}

pub(crate) fn cert_code(e: &CertError) -> &'static str {
    match e {
        CertError::Malformed { .. } | CertError::MalformedCrl(_) => "certificate_malformed",
        CertError::NotYetValid { .. } => "certificate_not_yet_valid",
        CertError::Expired { .. } => "certificate_expired",
        CertError::UnknownIssuer { .. } => "unknown_anchor",
        CertError::BadSignature { .. } => "certificate_signature_invalid",
        CertError::NotCa { .. } | CertError::PathLength { .. } => "issuer_not_a_ca",
        CertError::KeyUsage { .. } => "key_usage",
        CertError::TooLong { .. } => "chain_too_long",
        CertError::Revoked { .. } => "certificate_revoked",
        CertError::RevocationUnknown { .. }
        | CertError::CrlSignature { .. }
        | CertError::CrlNotCurrent { .. } => "revocation_unknown",
    }
}

/// One step's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepReport {
    /// Which step.
    pub step: Step,
    /// How it ended.
    pub status: StepStatus,
    /// Why it failed or was indeterminate.
    pub finding: Option<Finding>,
}

impl Serialize for StepReport {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("StepReport", 5)?;
        st.serialize_field("number", &self.step.number())?;
        st.serialize_field("step", &self.step)?;
        st.serialize_field("status", &self.status)?;
        st.serialize_field("code", &self.finding.as_ref().map(Finding::code))?;
        st.serialize_field("reason", &self.finding.as_ref().map(ToString::to_string))?;
        st.end()
    }
}

/// Where the signing time came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeSource {
    /// A verified RFC 3161 timestamp.
    Timestamp,
    /// The signer's own timeInfo (no timestamp, or the timestamp failed).
    TimeInfo,
    /// The caller's verification time (seal-only checks).
    VerificationTime,
}

/// Which bytes the seal maker's signature was found to cover *(interop point)*.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MakerSignedForm {
    /// DER(SES_SealInfo), as GB/T 38540 is implemented in the field.
    SealInfo,
    /// DER(SEQUENCE { esealInfo, cert, signatureAlgorithm }), as in GM/T 0031.
    V1Sequence,
}

/// What was seen, for the report. Fields are absent when the step that finds them
/// did not get that far.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Details {
    /// Version by shape and header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<SealVersion>,
    /// esID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seal_id: Option<String>,
    /// Seal name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seal_name: Option<String>,
    /// Seal type (1 organisation, 2 personal).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seal_type: Option<i64>,
    /// `header.vid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seal_vid: Option<String>,
    /// validStart.
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub seal_valid_start: Option<OffsetDateTime>,
    /// validEnd.
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub seal_valid_end: Option<OffsetDateTime>,
    /// createDate (the time the maker chain is checked at).
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub seal_created: Option<OffsetDateTime>,
    /// `certificates` or `digests`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_list_type: Option<&'static str>,
    /// The seal maker's certificate subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maker: Option<String>,
    /// The maker's chain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maker_chain: Option<ValidatedChain>,
    /// Which bytes the maker signature covers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maker_signed_form: Option<MakerSignedForm>,
    /// How the maker signature value was encoded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maker_signature_encoding: Option<SignatureEncoding>,
    /// The maker's signature algorithm OID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maker_algorithm: Option<String>,
    /// v5: the seal's own timestamp time (parsed, not verified).
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub seal_timestamp_time: Option<OffsetDateTime>,
    /// The signer certificate's subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
    /// The signer certificate's serial number, hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signer_serial: Option<String>,
    /// The signer's chain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signer_chain: Option<ValidatedChain>,
    /// The signer's signature algorithm OID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature_algorithm: Option<String>,
    /// How the signer's signature value was encoded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature_encoding: Option<SignatureEncoding>,
    /// The hash of the protected data.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "opt_hash_name"
    )]
    pub digest_algorithm: Option<HashAlg>,
    /// dataHash, hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_hash: Option<String>,
    /// propertyInfo.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub property_info: Option<String>,
    /// The time certificates and the seal period were checked at.
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub signing_time: Option<OffsetDateTime>,
    /// Where `signing_time` came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_time_source: Option<TimeSource>,
    /// timeInfo, the signer's claim.
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub claimed_time: Option<OffsetDateTime>,
    /// The verified timestamp.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<TimestampInfo>,
    /// Tolerated producer deviations.
    pub deviations: Vec<Deviation>,
}

/// What a signature verification established, when every step passed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VerifiedSignature {
    pub(crate) seal_id: String,
    pub(crate) seal_name: String,
    pub(crate) signer: String,
    #[serde(serialize_with = "crate::x509::region_code")]
    pub(crate) signer_region: Region,
    #[serde(serialize_with = "crate::x509::region_code")]
    pub(crate) seal_region: Region,
    #[serde(with = "time::serde::rfc3339")]
    pub(crate) signing_time: OffsetDateTime,
    pub(crate) signing_time_source: TimeSource,
    pub(crate) property_info: String,
}

impl VerifiedSignature {
    /// The seal's esID.
    pub fn seal_id(&self) -> &str {
        &self.seal_id
    }
    /// The seal's name.
    pub fn seal_name(&self) -> &str {
        &self.seal_name
    }
    /// The signer certificate's subject.
    pub fn signer(&self) -> &str {
        &self.signer
    }
    /// The region whose seal anchor the signer chains to.
    pub fn signer_region(&self) -> Region {
        self.signer_region
    }
    /// The region whose seal anchor the seal maker chains to.
    pub fn seal_region(&self) -> Region {
        self.seal_region
    }
    /// The established signing time.
    pub fn signing_time(&self) -> OffsetDateTime {
        self.signing_time
    }
    /// Where the signing time came from.
    pub fn signing_time_source(&self) -> TimeSource {
        self.signing_time_source
    }
    /// What the signature says it protects.
    pub fn property_info(&self) -> &str {
        &self.property_info
    }
}

/// What a seal-only verification established.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VerifiedSeal {
    pub(crate) seal_id: String,
    pub(crate) seal_name: String,
    pub(crate) maker: String,
    #[serde(serialize_with = "crate::x509::region_code")]
    pub(crate) region: Region,
    #[serde(with = "time::serde::rfc3339")]
    pub(crate) valid_start: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub(crate) valid_end: OffsetDateTime,
}

impl VerifiedSeal {
    /// The seal's esID.
    pub fn seal_id(&self) -> &str {
        &self.seal_id
    }
    /// The seal's name.
    pub fn seal_name(&self) -> &str {
        &self.seal_name
    }
    /// The maker certificate's subject.
    pub fn maker(&self) -> &str {
        &self.maker
    }
    /// The region whose seal anchor the maker chains to.
    pub fn region(&self) -> Region {
        self.region
    }
    /// validStart.
    pub fn valid_start(&self) -> OffsetDateTime {
        self.valid_start
    }
    /// validEnd.
    pub fn valid_end(&self) -> OffsetDateTime {
        self.valid_end
    }
}

/// What was verified: a signature over data, or a seal alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Subject {
    /// An SES_Signature with the data it protects.
    Signature,
    /// An SESeal alone (maker signature, chain, validity).
    Seal,
}

/// The report of one verification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerificationReport {
    pub(crate) subject: Subject,
    pub(crate) steps: Vec<StepReport>,
    pub(crate) details: Details,
    pub(crate) verified_signature: Option<VerifiedSignature>,
    pub(crate) verified_seal: Option<VerifiedSeal>,
}

impl VerificationReport {
    /// What was verified.
    pub fn subject(&self) -> Subject {
        self.subject
    }

    /// Every step in order, including those that did not apply.
    pub fn steps(&self) -> &[StepReport] {
        &self.steps
    }

    /// The details seen along the way.
    pub fn details(&self) -> &Details {
        &self.details
    }

    /// The step that decided the result: the first failed step, else the first
    /// indeterminate one. `None` when valid.
    pub fn decisive_step(&self) -> Option<&StepReport> {
        self.steps
            .iter()
            .find(|s| s.status == StepStatus::Failed)
            .or_else(|| {
                self.steps
                    .iter()
                    .find(|s| s.status == StepStatus::Indeterminate)
            })
    }

    /// `valid`, `invalid` or `indeterminate`. A failed step outweighs an
    /// indeterminate one wherever it comes.
    pub fn outcome(&self) -> Outcome {
        match self.decisive_step().map(|s| s.status) {
            None => Outcome::Valid,
            Some(StepStatus::Failed) => Outcome::Invalid,
            Some(_) => Outcome::Indeterminate,
        }
    }

    /// The step that failed (or could not be decided).
    pub fn failed_step(&self) -> Option<Step> {
        self.decisive_step().map(|s| s.step)
    }

    /// Why.
    pub fn reason(&self) -> Option<&Finding> {
        self.decisive_step().and_then(|s| s.finding.as_ref())
    }

    /// The verified signature, only when the outcome is valid.
    pub fn verified_signature(&self) -> Option<&VerifiedSignature> {
        self.verified_signature.as_ref()
    }

    /// The verified seal, only when a seal-only verification is valid.
    pub fn verified_seal(&self) -> Option<&VerifiedSeal> {
        self.verified_seal.as_ref()
    }

    /// The few fields the audit log records.
    ///
    /// The signer is the certificate subject for organisation seals. For personal
    /// seals (type 2) the subject names a person (often with an identity number),
    /// which the audit log must not hold, so the signer is given as
    /// `serial:<hex>` of the certificate instead.
    pub fn summary(&self) -> Summary {
        let signer = if self.details.seal_type == Some(2) {
            self.details
                .signer_serial
                .as_ref()
                .map(|s| format!("serial:{s}"))
        } else {
            self.details.signer.clone()
        };
        Summary {
            result: self.outcome(),
            failed_step: self.failed_step(),
            code: self.reason().map(Finding::code),
            seal_id: self.details.seal_id.clone(),
            signer,
            signing_time: self.details.signing_time,
        }
    }
}

impl Serialize for VerificationReport {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("VerificationReport", 7)?;
        st.serialize_field("subject", &self.subject)?;
        st.serialize_field("result", &self.outcome())?;
        st.serialize_field("failed_step", &self.failed_step())?;
        st.serialize_field("code", &self.reason().map(Finding::code))?;
        st.serialize_field("reason", &self.reason().map(ToString::to_string))?;
        st.serialize_field("steps", &self.steps)?;
        st.serialize_field("details", &self.details)?;
        st.end()
    }
}

/// The audit-log view of a report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// The overall result.
    pub result: Outcome,
    /// The deciding step, when not valid.
    pub failed_step: Option<Step>,
    /// The deciding finding's code, when not valid.
    pub code: Option<&'static str>,
    /// esID, when the seal could be read.
    pub seal_id: Option<String>,
    /// The signer's subject (organisation seals) or `serial:<hex>` (personal
    /// seals), when the certificate could be read.
    pub signer: Option<String>,
    /// The signing time used.
    #[serde(with = "time::serde::rfc3339::option")]
    pub signing_time: Option<OffsetDateTime>,
}

pub(crate) fn hash_name<S: Serializer>(alg: &HashAlg, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(alg.name())
}

fn opt_hash_name<S: Serializer>(alg: &Option<HashAlg>, s: S) -> Result<S::Ok, S::Error> {
    match alg {
        Some(a) => s.serialize_str(a.name()),
        None => s.serialize_none(),
    }
}
