//! The seven verification steps of docs/signing.md, in order, each into the report.
//!
//! Every step that can run does run, so a report shows everything that is wrong, not
//! only the first thing; the overall result is decided from the steps afterwards
//! (see [`VerificationReport::outcome`]). Step 7's timestamp is checked first
//! internally because its time is the signing time steps 3 and 6 use, but it is
//! reported in its place.

use std::borrow::Cow;

use time::{Duration, OffsetDateTime};

use crate::crypto::{self, SigAlg};
use crate::digest::HashAlg;
use crate::report::{
    Details, Finding, MakerSignedForm, Step, StepReport, StepStatus, Subject, TimeSource,
    VerificationReport, VerifiedSeal, VerifiedSignature,
};
use crate::ses::{CertList, Seal, SealVersion, parse_seal, parse_signature};
use crate::tsp;
use crate::x509::{CertPurpose, TrustStore, ValidatedChain, parse_cert};

/// How far a signing time may lie after the verification time (clock skew between
/// the signer and the verifier).
const FUTURE_SKEW: Duration = Duration::minutes(5);

/// Verifies a DER SES_Signature over `data`, the bytes it protects, against the
/// seal trust in `trust`, at verification time `at`.
///
/// Never fails: a signature that cannot even be parsed is reported as invalid at
/// step 1.
pub fn verify_signature(
    signature: &[u8],
    data: &[u8],
    trust: &TrustStore,
    at: OffsetDateTime,
) -> VerificationReport {
    verify_signature_with(signature, data, trust, at, &Extra::default())
}

/// Verifies a DER SESeal alone: step 1 (parse) and step 6 (maker signature, maker
/// chain at the seal's createDate, validity period containing `at`). The other
/// steps are reported as not applicable.
pub fn verify_seal(seal: &[u8], trust: &TrustStore, at: OffsetDateTime) -> VerificationReport {
    let mut r = Builder::new(Subject::Seal);
    let parsed = match parse_seal(seal) {
        Ok(s) => s,
        Err(e) => {
            r.set(Step::Parse, Err(Finding::Malformed(e)));
            return r.finish();
        }
    };
    r.set(Step::Parse, Ok(()));
    r.seal_details(&parsed);
    r.details.deviations.clone_from(&parsed.deviations);
    r.details.signing_time = Some(at);
    r.details.signing_time_source = Some(TimeSource::VerificationTime);
    let seal_result = check_seal(&parsed, at, trust, at, &mut r.details);
    let passed = seal_result.is_ok();
    r.set(Step::Seal, seal_result);
    for step in [
        Step::SignerSignature,
        Step::SignerCertificate,
        Step::SignerBinding,
        Step::DataHash,
        Step::Timestamp,
    ] {
        r.set_status(step, StepStatus::NotApplicable);
    }
    if passed && let Some(chain) = &r.details.maker_chain {
        r.verified_seal = Some(VerifiedSeal {
            seal_id: parsed.info.es_id.to_owned(),
            seal_name: parsed.info.name.to_owned(),
            maker: chain.subjects.first().cloned().unwrap_or_default(),
            region: chain.region,
            valid_start: parsed.info.valid_start,
            valid_end: parsed.info.valid_end,
        });
    }
    r.finish()
}

/// Results of checks made outside the signature (by the OFD reader) that belong to
/// step 5 (referenced files) or step 6 (Seal.esl).
#[derive(Clone, Debug, Default)]
pub(crate) struct Extra {
    pub data: Option<Finding>,
    pub seal_file: Option<Finding>,
}

pub(crate) fn verify_signature_with(
    signature: &[u8],
    data: &[u8],
    trust: &TrustStore,
    at: OffsetDateTime,
    extra: &Extra,
) -> VerificationReport {
    let mut r = Builder::new(Subject::Signature);

    // 1. Parse; detect the version; note deviations.
    let sig = match parse_signature(signature) {
        Ok(s) => s,
        Err(e) => {
            r.set(Step::Parse, Err(Finding::Malformed(e)));
            return r.finish();
        }
    };
    r.set(Step::Parse, Ok(()));
    r.seal_details(&sig.seal);
    r.details.version = Some(sig.version);
    r.details.deviations.clone_from(&sig.deviations);
    r.details.property_info = Some(sig.property_info.to_owned());
    r.details.claimed_time = Some(sig.time_info);
    r.details.data_hash = Some(crate::digest::hex(sig.data_hash));
    r.details.signature_algorithm = Some(sig.signature_alg.to_string());

    // 2. The signer's signature over the received TBS_Sign.
    let alg = SigAlg::from_oid(&sig.signature_alg, None);
    let signer = parse_cert(sig.signer_cert, 0);
    if let Ok(cert) = &signer {
        r.details.signer = Some(cert.subject().to_string());
        r.details.signer_serial = Some(crate::digest::hex(cert.raw_serial()));
    }
    let step2 = match (&alg, &signer) {
        (Err(e), _) => Err(Finding::SignerSignature(e.clone())),
        (_, Err(e)) => Err(Finding::SignerCertificate(e.clone())),
        (Ok(alg), Ok(cert)) => {
            crypto::verify(*alg, cert.public_key().raw, sig.tbs_raw, sig.signature)
                .map(|encoding| r.details.signature_encoding = Some(encoding))
                .map_err(Finding::SignerSignature)
        }
    };
    r.set(Step::SignerSignature, step2);

    // The signing time: a verified timestamp's, else the signer's claim.
    let timestamp = sig
        .timestamp
        .map(|token| tsp::verify_token(token, sig.signature, trust, at));
    let (signing_time, source) = match &timestamp {
        Some(Ok(info)) => (info.time, TimeSource::Timestamp),
        _ => (sig.time_info, TimeSource::TimeInfo),
    };
    r.details.signing_time = Some(signing_time);
    r.details.signing_time_source = Some(source);

    // 3. The signer certificate at the signing time.
    let step3 = if signing_time > at.saturating_add(FUTURE_SKEW) {
        Err(Finding::SigningTimeInFuture { signing_time, at })
    } else {
        trust
            .validate_chain(sig.signer_cert, &[], CertPurpose::Signing, signing_time, at)
            .map(|chain| r.details.signer_chain = Some(chain))
            .map_err(Finding::SignerCertificate)
    };
    r.set(Step::SignerCertificate, step3);

    // 4. The signer is one the seal lists.
    r.set(
        Step::SignerBinding,
        check_binding(&sig.seal.info.cert_list, sig.signer_cert),
    );

    // 5. The protected data.
    let hash = alg.as_ref().map_or(HashAlg::Sm3, |a| a.document_hash());
    r.details.digest_algorithm = Some(hash);
    let computed = hash.hash(data);
    let step5 = if computed.as_slice() != sig.data_hash {
        Err(Finding::DataHashMismatch {
            alg: hash.name(),
            expected: crate::digest::hex(sig.data_hash),
            computed: crate::digest::hex(&computed),
        })
    } else {
        extra.data.clone().map_or(Ok(()), Err)
    };
    r.set(Step::DataHash, step5);

    // 6. The seal.
    let step6 = check_seal(&sig.seal, signing_time, trust, at, &mut r.details)
        .and_then(|()| extra.seal_file.clone().map_or(Ok(()), Err));
    r.set(Step::Seal, step6);

    // 7. The timestamp, if there is one.
    match timestamp {
        None => r.set_status(Step::Timestamp, StepStatus::NotApplicable),
        Some(Ok(info)) => {
            r.details.timestamp = Some(info);
            r.set(Step::Timestamp, Ok(()));
        }
        Some(Err(e)) => r.set(Step::Timestamp, Err(Finding::Timestamp(e))),
    }

    if r.all_passed()
        && let (Some(signer), Some(seal)) = (&r.details.signer_chain, &r.details.maker_chain)
    {
        r.verified_signature = Some(VerifiedSignature {
            seal_id: sig.seal.info.es_id.to_owned(),
            seal_name: sig.seal.info.name.to_owned(),
            signer: signer.subjects.first().cloned().unwrap_or_default(),
            signer_region: signer.region,
            seal_region: seal.region,
            signing_time,
            signing_time_source: source,
            property_info: sig.property_info.to_owned(),
        });
    }
    r.finish()
}

/// Step 4: the signer certificate is in certList, or its digest is.
fn check_binding(list: &CertList<'_>, signer: &[u8]) -> Result<(), Finding> {
    match list {
        CertList::Certificates(certs) => {
            if certs.contains(&signer) {
                Ok(())
            } else {
                Err(Finding::NotInCertList)
            }
        }
        CertList::Digests(digests) => {
            let mut unknown = None;
            for d in digests {
                match digest_by_name(d.alg) {
                    Some(alg) if alg.hash(signer).as_slice() == d.value => return Ok(()),
                    Some(_) => {}
                    None => unknown = Some(d.alg),
                }
            }
            Err(unknown.map_or(Finding::NotInCertList, |alg| {
                Finding::UnsupportedCertDigest {
                    alg: alg.to_owned(),
                }
            }))
        }
    }
}

/// Digest names seen in certDigestList entries: the algorithm's name or its OID.
fn digest_by_name(name: &str) -> Option<HashAlg> {
    match name.trim().to_ascii_lowercase().as_str() {
        "sm3" | "1.2.156.10197.1.401" => Some(HashAlg::Sm3),
        "sha256" | "sha-256" | "2.16.840.1.101.3.4.2.1" => Some(HashAlg::Sha256),
        _ => None,
    }
}

/// Step 6: the maker's signature (trying both signed forms), the maker's chain at
/// createDate, and the validity period containing `time`.
fn check_seal(
    seal: &Seal<'_>,
    time: OffsetDateTime,
    trust: &TrustStore,
    at: OffsetDateTime,
    details: &mut Details,
) -> Result<(), Finding> {
    let alg = SigAlg::from_oid(&seal.maker_alg, None).map_err(Finding::MakerSignature)?;
    let maker = parse_cert(seal.maker_cert, 0).map_err(Finding::MakerCertificate)?;
    details.maker = Some(maker.subject().to_string());

    // Interop point: GB/T 38540 producers sign DER(SES_SealInfo); GM/T 0031 signs
    // SEQUENCE { info, cert, alg }. Try the version's usual form first.
    let v1_form = || {
        Cow::Owned(der_sequence(&[
            seal.info.raw,
            seal.maker_cert_tlv,
            seal.maker_alg_tlv,
        ]))
    };
    let forms: [(MakerSignedForm, Cow<'_, [u8]>); 2] = if seal.version == SealVersion::V1 {
        [
            (MakerSignedForm::V1Sequence, v1_form()),
            (MakerSignedForm::SealInfo, Cow::Borrowed(seal.info.raw)),
        ]
    } else {
        [
            (MakerSignedForm::SealInfo, Cow::Borrowed(seal.info.raw)),
            (MakerSignedForm::V1Sequence, v1_form()),
        ]
    };
    let mut last = None;
    for (form, message) in &forms {
        match crypto::verify(alg, maker.public_key().raw, message, seal.maker_signature) {
            Ok(encoding) => {
                details.maker_signed_form = Some(*form);
                details.maker_signature_encoding = Some(encoding);
                last = None;
                break;
            }
            Err(e) => last = Some(e),
        }
    }
    if let Some(e) = last {
        return Err(Finding::MakerSignature(e));
    }

    let chain: ValidatedChain = trust
        .validate_chain(
            seal.maker_cert,
            &[],
            CertPurpose::Signing,
            seal.info.created,
            at,
        )
        .map_err(Finding::MakerCertificate)?;
    details.maker_chain = Some(chain);

    if time < seal.info.valid_start {
        return Err(Finding::SealNotYetValid {
            valid_start: seal.info.valid_start,
            at: time,
        });
    }
    if time > seal.info.valid_end {
        return Err(Finding::SealExpired {
            valid_end: seal.info.valid_end,
            at: time,
        });
    }
    Ok(())
}

/// DER SEQUENCE around already-encoded elements.
pub(crate) fn der_sequence(parts: &[&[u8]]) -> Vec<u8> {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let mut out = Vec::with_capacity(len.saturating_add(6));
    out.push(crate::asn1::tag::SEQUENCE);
    push_length(&mut out, len);
    for p in parts {
        out.extend_from_slice(p);
    }
    out
}

fn push_length(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.extend(u8::try_from(len));
        return;
    }
    let bytes = len.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count();
    let significant = bytes.get(skip..).unwrap_or_default();
    out.extend(u8::try_from(significant.len()).map(|n| 0x80 | n));
    out.extend_from_slice(significant);
}

/// Collects step results into a report.
struct Builder {
    subject: Subject,
    steps: Vec<StepReport>,
    details: Details,
    verified_signature: Option<VerifiedSignature>,
    verified_seal: Option<VerifiedSeal>,
}

impl Builder {
    fn new(subject: Subject) -> Self {
        Builder {
            subject,
            steps: Step::ALL
                .iter()
                .map(|&step| StepReport {
                    step,
                    status: StepStatus::Skipped,
                    finding: None,
                })
                .collect(),
            details: Details::default(),
            verified_signature: None,
            verified_seal: None,
        }
    }

    fn set(&mut self, step: Step, result: Result<(), Finding>) {
        if let Some(s) = self.steps.iter_mut().find(|s| s.step == step) {
            match result {
                Ok(()) => s.status = StepStatus::Passed,
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

    fn set_status(&mut self, step: Step, status: StepStatus) {
        if let Some(s) = self.steps.iter_mut().find(|s| s.step == step) {
            s.status = status;
        }
    }

    fn all_passed(&self) -> bool {
        self.steps
            .iter()
            .all(|s| matches!(s.status, StepStatus::Passed | StepStatus::NotApplicable))
    }

    fn seal_details(&mut self, seal: &Seal<'_>) {
        let d = &mut self.details;
        d.version = Some(seal.version);
        d.seal_id = Some(seal.info.es_id.to_owned());
        d.seal_name = Some(seal.info.name.to_owned());
        d.seal_type = Some(seal.info.seal_type);
        d.seal_vid = Some(seal.info.vid.to_owned());
        d.seal_created = Some(seal.info.created);
        d.seal_valid_start = Some(seal.info.valid_start);
        d.seal_valid_end = Some(seal.info.valid_end);
        d.maker_algorithm = Some(seal.maker_alg.to_string());
        d.cert_list_type = Some(match seal.info.cert_list {
            CertList::Certificates(_) => "certificates",
            CertList::Digests(_) => "digests",
        });
        d.seal_timestamp_time = seal.timestamp.and_then(|t| tsp::token_time(t).ok());
    }

    fn finish(self) -> VerificationReport {
        VerificationReport {
            subject: self.subject,
            steps: self.steps,
            details: self.details,
            verified_signature: self.verified_signature,
            verified_seal: self.verified_seal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::CertError;
    use crate::report::Outcome;

    #[test]
    fn garbage_is_invalid_at_parse_and_the_rest_is_skipped() {
        let report = verify_signature(b"junk", b"", &TrustStore::new(), OffsetDateTime::UNIX_EPOCH);
        assert_eq!(report.outcome(), Outcome::Invalid);
        assert_eq!(report.failed_step(), Some(Step::Parse));
        assert!(
            report
                .steps()
                .iter()
                .skip(1)
                .all(|s| s.status == StepStatus::Skipped)
        );
        assert!(report.verified_signature().is_none());
    }

    #[test]
    fn der_sequence_lengths() {
        assert_eq!(der_sequence(&[&[1, 2]]), vec![0x30, 2, 1, 2]);
        let long = vec![0u8; 300];
        let out = der_sequence(&[&long]);
        assert_eq!(out.get(..4), Some(&[0x30, 0x82, 0x01, 0x2c][..]));
    }

    #[test]
    fn digest_names() {
        assert_eq!(digest_by_name("SM3"), Some(HashAlg::Sm3));
        assert_eq!(digest_by_name("sha256"), Some(HashAlg::Sha256));
        assert_eq!(digest_by_name("md5"), None);
        let cert = b"cert";
        let list = CertList::Digests(vec![crate::ses::CertDigest {
            alg: "md5",
            value: b"x",
        }]);
        assert_eq!(
            check_binding(&list, cert),
            Err(Finding::UnsupportedCertDigest { alg: "md5".into() })
        );
    }

    #[test]
    fn unknown_anchor_is_indeterminate() {
        let f = Finding::SignerCertificate(CertError::UnknownIssuer {
            subject: "a".into(),
            issuer: "b".into(),
        });
        assert!(f.is_indeterminate());
    }

    #[test]
    fn unsupported_algorithms_are_indeterminate() {
        let sm3_with_rsa = der::asn1::ObjectIdentifier::new_unwrap("1.2.156.10197.1.504");
        let f = Finding::SignerSignature(crate::error::CryptoError::UnsupportedAlgorithm(
            sm3_with_rsa,
        ));
        assert!(f.is_indeterminate());
        assert!(!Finding::SignerSignature(crate::error::CryptoError::Mismatch).is_indeterminate());
    }

    #[test]
    fn personal_seals_are_summarised_without_the_subject() {
        let mut r = Builder::new(Subject::Signature);
        r.details.signer = Some("CN=Test Person, SERIALNUMBER=ID-0000".into());
        r.details.signer_serial = Some("1001".into());
        r.details.seal_type = Some(2);
        let summary = r.finish().summary();
        assert_eq!(summary.signer.as_deref(), Some("serial:1001"));
    }
}
