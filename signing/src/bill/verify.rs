//! The verification of a bill, step by step. Every step that can run does run;
//! only a parse failure skips the rest.
//!
//! The decisions the public record leaves open are all here, each marked
//! *decision*, so they can be changed in one place when real samples arrive
//! (docs/ebills.md lists them).

use base64::Engine as _;
use time::{Duration, OffsetDateTime, PrimitiveDateTime, UtcOffset};

use super::BillError;
use super::model::{BillFacts, BillKey, fiscal_facts, sdfp_facts};
use super::report::{
    BillFinding, BillReport, BillStep, SignatureDetails, SupervisorForm, VerifiedBill,
};
use super::trust::{BillTrust, Found};
use super::xml::Node;
use crate::crypto::{self, SigAlg};
use crate::digest::HashAlg;
use crate::ident::Region;
use crate::report::StepStatus;
use crate::x509::{CertPurpose, parse_cert};

/// How far a signature time may lie after the verification time.
const FUTURE_SKEW: Duration = Duration::minutes(5);

/// Verifies a bill's XML (a fiscal e-bill or a 数电发票, told apart by content)
/// against `trust` at verification time `at`. Never fails: what cannot be read is
/// reported as invalid at step 1.
pub fn verify_bill(bytes: &[u8], trust: &BillTrust, at: OffsetDateTime) -> BillReport {
    let mut r = BillReport::new();
    let root = match Node::parse(bytes) {
        Ok(root) => root,
        Err(e) => {
            r.set(BillStep::Parse, Err(BillFinding::Malformed(e)));
            return r;
        }
    };
    let (facts, signatures) = match read(&root) {
        Ok(p) => p,
        Err(e) => {
            r.set(BillStep::Parse, Err(BillFinding::Malformed(e)));
            return r;
        }
    };
    r.set(BillStep::Parse, Ok(()));
    r.set_status(BillStep::OfdSeal, StepStatus::NotApplicable);
    r.kind = Some(facts.kind);
    match &signatures {
        Signatures::Fiscal { unit, supervisor } => {
            verify_fiscal(&mut r, bytes, &root, &facts, unit, supervisor, trust, at);
        }
        Signatures::Sdfp(sig) => verify_sdfp(&mut r, bytes, &root, &facts, sig, trust, at),
    }
    r.facts = Some(facts);
    if r.all_passed()
        && let (Some(facts), Some(region), Some(issuer)) = (
            r.facts.clone(),
            r.details.region,
            r.details.issuer.signer.clone(),
        )
    {
        r.verified = Some(VerifiedBill {
            facts,
            region,
            issuer_signer: issuer,
            supervisor_signer: r.details.supervisor.as_ref().and_then(|s| s.signer.clone()),
        });
    }
    r
}

/// Reads a bill's facts without verifying anything (for tools and tests: a
/// caller that acts on a bill must use [`verify_bill`]).
pub fn parse_bill(bytes: &[u8]) -> Result<BillFacts, BillError> {
    let root = Node::parse(bytes)?;
    read(&root).map(|(facts, _)| facts)
}

/// One `Signature` (fiscal) or `TaxBureauSignature` (数电) as written.
#[derive(Debug)]
struct SigParts<'a> {
    node: &'a Node,
    algorithm: String,
    format: Option<String>,
    time: String,
    value: String,
    issuer: Option<String>,
    serial: Option<String>,
}

enum Signatures<'a> {
    Fiscal {
        unit: SigParts<'a>,
        supervisor: SigParts<'a>,
    },
    Sdfp(SigParts<'a>),
}

/// Tells the kind apart and reads the facts and the signatures.
fn read(root: &Node) -> Result<(BillFacts, Signatures<'_>), BillError> {
    if root.name != "EInvoice" {
        return Err(BillError::NotABill(format!(
            "the root element is `{}`, not `EInvoice`",
            root.name.chars().take(40).collect::<String>()
        )));
    }
    if let Some(list) = root.child("EInvoiceSignature")? {
        let sigs: Vec<&Node> = list
            .children
            .iter()
            .filter(|c| c.name == "Signature")
            .collect();
        let [unit, supervisor] = sigs.as_slice() else {
            return Err(BillError::Signatures(format!(
                "EInvoiceSignature holds {} Signature elements; a fiscal e-bill has two \
                 (开票单位 issuing unit, then 财政监制 supervision)",
                sigs.len()
            )));
        };
        let facts = fiscal_facts(root)?;
        Ok((
            facts,
            Signatures::Fiscal {
                unit: sig_parts(unit)?,
                supervisor: sig_parts(supervisor)?,
            },
        ))
    } else if let Some(sig) = root.child("TaxBureauSignature")? {
        let facts = sdfp_facts(root)?;
        Ok((facts, Signatures::Sdfp(sig_parts(sig)?)))
    } else {
        Err(BillError::NotABill(
            "an EInvoice with neither EInvoiceSignature (财政电子票据) nor \
             TaxBureauSignature (数电发票)"
                .into(),
        ))
    }
}

/// The parts of a signature element. The fiscal spec puts algorithm and format
/// in `SignedInfo`; the 数电 samples put them directly in the signature element:
/// both places are read.
fn sig_parts(node: &Node) -> Result<SigParts<'_>, BillError> {
    let info = node.child("SignedInfo")?;
    let field = |name: &str| -> Result<Option<String>, BillError> {
        let direct = node.opt_text(name)?;
        let inside = match info {
            Some(i) => i.opt_text(name)?,
            None => None,
        };
        Ok(direct.or(inside).map(str::to_owned))
    };
    let need = |name: &str| -> Result<String, BillError> {
        field(name)?.ok_or_else(|| BillError::Missing {
            element: format!("{}/{}", node.name, name),
        })
    };
    // The spec's table prints `Signaturevalue`; the 数电 samples `SignatureValue`.
    let value = match field("SignatureValue")? {
        Some(v) => v,
        None => need("Signaturevalue")?,
    };
    let key = node.child("KeyInfo")?;
    let key_field = |name: &str| -> Result<Option<String>, BillError> {
        Ok(match key {
            Some(k) => k.opt_text(name)?.map(str::to_owned),
            None => None,
        })
    };
    Ok(SigParts {
        node,
        algorithm: need("SignatureAlgorithm")?,
        format: field("SignatureFormat")?,
        time: need("SignatureTime")?,
        value,
        issuer: key_field("X509IssuerName")?,
        serial: key_field("SerialNumber")?,
    })
}

#[allow(clippy::too_many_arguments)]
fn verify_fiscal(
    r: &mut BillReport,
    bytes: &[u8],
    root: &Node,
    facts: &BillFacts,
    unit: &SigParts<'_>,
    supervisor: &SigParts<'_>,
    trust: &BillTrust,
    at: OffsetDateTime,
) {
    // 2. Identifiers.
    let region = identifiers_fiscal(r, root, facts);

    // The unit's signed content: the received bytes from `<Header` to the end of
    // `</EInvoiceData>` (decision: no canonicalisation, nothing re-serialised).
    let content = match (root.child("Header"), root.child("EInvoiceData")) {
        (Ok(Some(h)), Ok(Some(d))) if h.span.end <= d.span.start => {
            bytes.get(h.span.start..d.span.end)
        }
        _ => None,
    };
    let Some(content) = content else {
        r.set(
            BillStep::IssuerSignature,
            Err(BillFinding::UnsignedContent {
                element: "EInvoice/Header, EInvoiceData (in this order)",
            }),
        );
        r.set_status(BillStep::IssuerCertificate, StepStatus::Skipped);
        r.set_status(BillStep::SupervisorSignature, StepStatus::Skipped);
        r.set_status(BillStep::SupervisorCertificate, StepStatus::Skipped);
        return;
    };

    // 3–4. The issuing unit's signature and certificate.
    let mut details = SignatureDetails::default();
    let issuer_found = check_signature(unit, Scope::of(region), trust, &mut details, |key, sig| {
        crypto::verify(SigAlg::Sm2Sm3, key, content, sig)
    });
    details.signed_len = Some(content.len());
    let (step3, step4) = split(issuer_found, unit, &mut details, at, None);
    r.set(BillStep::IssuerSignature, step3);
    r.set(BillStep::IssuerCertificate, step4);
    r.details.issuer = details;

    // 5–6. The supervision signature over H(unit content) ‖ unit signature, in
    // whichever of the candidate forms it verifies (decision: see forms()).
    let unit_element = bytes.get(unit.node.span.clone()).unwrap_or_default();
    let digest = HashAlg::Sm3.hash(content);
    let mut sdetails = SignatureDetails::default();
    let mut form = None;
    let found = check_signature(supervisor, Scope::Any, trust, &mut sdetails, |key, sig| {
        let mut last = Err(crate::error::CryptoError::Mismatch);
        for (f, message) in forms(&digest, unit_element, unit.value.trim().as_bytes()) {
            last = crypto::verify(SigAlg::Sm2Sm3, key, &message, sig);
            if last.is_ok() {
                form = Some(f);
                break;
            }
        }
        last
    });
    let (step5, step6) = split(found, supervisor, &mut sdetails, at, region);
    r.set(BillStep::SupervisorSignature, step5);
    r.set(BillStep::SupervisorCertificate, step6);
    r.details.supervisor = Some(sdetails);
    r.details.supervisor_form = form;
}

/// The candidate supervision contents, most likely first (decision: SM3 of the
/// unit content — raw, hex or base64 — followed by the unit `<Signature>` element
/// as received or by its base64 value).
fn forms(digest: &[u8], element: &[u8], value: &[u8]) -> Vec<(SupervisorForm, Vec<u8>)> {
    let hex = crate::digest::hex(digest);
    let encodings: [(&'static str, Vec<u8>); 4] = [
        ("raw", digest.to_vec()),
        ("hex", hex.clone().into_bytes()),
        ("hex_upper", hex.to_ascii_uppercase().into_bytes()),
        (
            "base64",
            base64::engine::general_purpose::STANDARD
                .encode(digest)
                .into_bytes(),
        ),
    ];
    let mut out = Vec::new();
    for (sig_name, sig_bytes) in [("element", element), ("value", value)] {
        for (hash_name, hash_bytes) in &encodings {
            let mut m = hash_bytes.clone();
            m.extend_from_slice(sig_bytes);
            out.push((
                SupervisorForm {
                    hash: hash_name,
                    signature: sig_name,
                },
                m,
            ));
        }
    }
    out
}

fn identifiers_fiscal(r: &mut BillReport, root: &Node, facts: &BillFacts) -> Option<Region> {
    let key = &facts.key;
    let area = facts.supervisor_area.clone().unwrap_or_default();
    if let BillKey::Fiscal { code, number } = key {
        let id = root
            .child("Header")
            .ok()
            .flatten()
            .and_then(|h| h.child("EInvoiceID").ok().flatten())
            .map(|n| n.text.clone());
        let expected: String = format!("{code}-{number}").chars().rev().collect();
        r.details.einvoice_id_matches = id.map(|id| id == expected);
    }
    let result = if area.len() != 6 || !area.bytes().all(|b| b.is_ascii_digit()) {
        Err(BillFinding::Inconsistent(format!(
            "SupervisorAreaCode `{}` is not a 6-digit area code",
            area.chars().take(20).collect::<String>()
        )))
    } else if area.get(..2) != Some(key.area_code()) {
        Err(BillFinding::Inconsistent(format!(
            "SupervisorAreaCode {area} and bill code area {} disagree",
            key.area_code()
        )))
    } else {
        match key.region() {
            Some(region) => {
                r.details.region = Some(region);
                Ok(())
            }
            None => Err(BillFinding::OutsideFederation {
                area: key.area_code().to_owned(),
            }),
        }
    };
    r.set(BillStep::Identifiers, result);
    r.details.region
}

fn verify_sdfp(
    r: &mut BillReport,
    bytes: &[u8],
    root: &Node,
    facts: &BillFacts,
    sig: &SigParts<'_>,
    trust: &BillTrust,
    at: OffsetDateTime,
) {
    r.set_status(BillStep::SupervisorSignature, StepStatus::NotApplicable);
    r.set_status(BillStep::SupervisorCertificate, StepStatus::NotApplicable);

    // 2. Identifiers: EIid is InvoiceNumber; EInvoiceTag's area is the number's.
    let header = root.child("Header").ok().flatten();
    let eiid = header
        .and_then(|h| h.child("EIid").ok().flatten())
        .map(|n| n.text.as_str());
    let tag = header
        .and_then(|h| h.child("EInvoiceTag").ok().flatten())
        .map(|n| n.text.as_str());
    let number = facts.key.to_string();
    let tag_area = tag
        .and_then(|t| t.strip_prefix("SWEI"))
        .filter(|rest| rest.len() == 4 && rest.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|rest| rest.get(..2));
    let step2 = if eiid != Some(number.as_str()) {
        Err(BillFinding::Inconsistent(format!(
            "Header/EIid `{}` is not TaxSupervisionInfo/InvoiceNumber {number}",
            eiid.unwrap_or_default()
                .chars()
                .take(24)
                .collect::<String>()
        )))
    } else if let Some(area) = tag_area
        && area != facts.key.area_code()
    {
        Err(BillFinding::Inconsistent(format!(
            "EInvoiceTag area {area} and invoice number area {} disagree",
            facts.key.area_code()
        )))
    } else {
        match facts.key.region() {
            Some(region) => {
                r.details.region = Some(region);
                Ok(())
            }
            None => Err(BillFinding::OutsideFederation {
                area: facts.key.area_code().to_owned(),
            }),
        }
    };
    r.set(BillStep::Identifiers, step2);

    // The signed content: the referenced nodes' received bytes, concatenated in
    // the order `Reference/@URI` lists them (decision), paths matched without
    // regard to case (the samples write `/Einvoice/...`).
    let uri = sig
        .node
        .child("Reference")
        .ok()
        .flatten()
        .or_else(|| {
            sig.node
                .child("SignedInfo")
                .ok()
                .flatten()
                .and_then(|i| i.child("Reference").ok().flatten())
        })
        .and_then(|n| n.attr("URI").map(str::to_owned).or(Some(n.text.clone())))
        .unwrap_or_default();
    let mut content = Vec::new();
    let mut covered: Vec<&Node> = Vec::new();
    let mut problem = None;
    for path in uri.split('|').map(str::trim).filter(|p| !p.is_empty()) {
        r.details.references.push(path.to_owned());
        match resolve(root, path) {
            Some(node) => {
                content.extend_from_slice(bytes.get(node.span.clone()).unwrap_or_default());
                covered.push(node);
            }
            None => {
                problem.get_or_insert(BillFinding::ReferenceUnresolved {
                    path: path.chars().take(120).collect(),
                });
            }
        }
    }
    // Every element the facts are read from must be signed.
    for element in ["Header", "EInvoiceData", "TaxSupervisionInfo"] {
        let inside = root.child(element).ok().flatten().is_some_and(|n| {
            covered
                .iter()
                .any(|c| c.span.start <= n.span.start && n.span.end <= c.span.end)
        });
        if !inside {
            problem.get_or_insert(BillFinding::UnsignedContent { element });
        }
    }
    let mut details = SignatureDetails {
        signed_len: Some(content.len()),
        ..SignatureDetails::default()
    };
    if let Some(p) = problem {
        r.set(BillStep::IssuerSignature, Err(p));
        r.details.issuer = details;
        return;
    }
    let found = check_signature(
        sig,
        Scope::of(r.details.region),
        trust,
        &mut details,
        |key, value| crypto::verify(SigAlg::Sm2Sm3, key, &content, value),
    );
    let (step3, step4) = split(found, sig, &mut details, at, None);
    r.set(BillStep::IssuerSignature, step3);
    r.set(BillStep::IssuerCertificate, step4);
    r.details.issuer = details;
}

/// Resolves `/EInvoice/Child/...` from the root, names compared without case.
fn resolve<'a>(root: &'a Node, path: &str) -> Option<&'a Node> {
    let mut parts = path.split('/').filter(|p| !p.is_empty());
    let first = parts.next()?;
    if !first.eq_ignore_ascii_case(&root.name) {
        return None;
    }
    let mut node = root;
    for part in parts {
        let mut matches = node
            .children
            .iter()
            .filter(|c| c.name.eq_ignore_ascii_case(part));
        let next = matches.next()?;
        if matches.next().is_some() {
            return None;
        }
        node = next;
    }
    Some(node)
}

/// What a signature check found: the certificate (if any) and the signature
/// step's result.
struct Checked<'t> {
    found: Option<Found<'t>>,
    signature: Result<(), BillFinding>,
}

/// Where a signature's certificate is looked for.
#[derive(Clone, Copy, Debug)]
enum Scope {
    /// In the bill's issuing region.
    Region(Region),
    /// In every region (the supervision certificate, whose region is then checked).
    Any,
    /// Nowhere: the bill names no federation region.
    Nowhere,
}

impl Scope {
    fn of(region: Option<Region>) -> Scope {
        region.map_or(Scope::Nowhere, Scope::Region)
    }
}

/// Step 3/5: algorithm, format, certificate lookup, value decoding, `verify`.
fn check_signature<'t>(
    sig: &SigParts<'_>,
    scope: Scope,
    trust: &'t BillTrust,
    details: &mut SignatureDetails,
    verify: impl FnOnce(
        &[u8],
        &[u8],
    ) -> Result<crate::crypto::SignatureEncoding, crate::error::CryptoError>,
) -> Checked<'t> {
    details.algorithm = Some(sig.algorithm.clone());
    details.time_text = Some(sig.time.clone());
    details.key_issuer.clone_from(&sig.issuer);
    details.key_serial.clone_from(&sig.serial);
    let fail = |f| Checked {
        found: None,
        signature: Err(f),
    };
    if !sm2_with_sm3(&sig.algorithm) {
        return fail(BillFinding::UnsupportedAlgorithm {
            alg: sig.algorithm.chars().take(60).collect(),
        });
    }
    if let Some(format) = &sig.format
        && !format.eq_ignore_ascii_case("DETACH")
    {
        return fail(BillFinding::UnsupportedFormat {
            format: format.chars().take(40).collect(),
        });
    }
    let (issuer, serial) = (
        sig.issuer.clone().unwrap_or_default(),
        sig.serial.clone().unwrap_or_default(),
    );
    let found = match scope {
        Scope::Region(region) => trust.find(Some(region), &issuer, &serial),
        Scope::Any => trust.find(None, &issuer, &serial),
        Scope::Nowhere => None,
    };
    let found = match found {
        Some(f) => f,
        None => {
            return fail(BillFinding::CertificateNotFound {
                issuer: issuer.chars().take(200).collect(),
                serial: serial.chars().take(80).collect(),
            });
        }
    };
    details.certificate_region = Some(found.region);
    let cert = match parse_cert(found.der, 0) {
        Ok(c) => c,
        Err(e) => {
            return Checked {
                found: None,
                signature: Err(BillFinding::Certificate(e)),
            };
        }
    };
    details.signer = Some(cert.subject().to_string());
    let value = match decode_value(&sig.value) {
        Ok(v) => v,
        Err(f) => {
            return Checked {
                found: Some(found),
                signature: Err(f),
            };
        }
    };
    let signature = verify(cert.public_key().raw, &value)
        .map(|encoding| details.encoding = Some(encoding))
        .map_err(BillFinding::Signature);
    Checked {
        found: Some(found),
        signature,
    }
}

/// Turns a signature check into the signature step and the certificate step.
fn split(
    checked: Checked<'_>,
    sig: &SigParts<'_>,
    details: &mut SignatureDetails,
    at: OffsetDateTime,
    expected_region: Option<Region>,
) -> (Result<(), BillFinding>, Result<(), BillFinding>) {
    let Some(found) = checked.found else {
        // No certificate: the certificate step has the same reason.
        let cert_step = checked.signature.clone();
        return (checked.signature, cert_step);
    };
    let time = match parse_time(&sig.time, sig_offset(sig)) {
        Some(t) => t,
        None => {
            return (
                checked.signature,
                Err(BillFinding::SignatureTime(
                    sig.time.chars().take(40).collect(),
                )),
            );
        }
    };
    details.time = Some(time);
    let cert_step = if time > at.saturating_add(FUTURE_SKEW) {
        Err(BillFinding::SigningTimeInFuture {
            signing_time: time,
            at,
        })
    } else {
        match found
            .store
            .validate_chain(found.der, &[], CertPurpose::Signing, time, at)
        {
            Ok(chain) => {
                details.chain = Some(chain);
                match expected_region {
                    Some(expected) if expected != found.region => {
                        Err(BillFinding::SupervisorRegion {
                            expected,
                            found: found.region,
                        })
                    }
                    _ => Ok(()),
                }
            }
            Err(e) => Err(BillFinding::Certificate(e)),
        }
    };
    (checked.signature, cert_step)
}

/// SM2 with SM3 under the names producers write (decision: the fiscal record
/// says only "String"; issuing code writes `SM2`).
fn sm2_with_sm3(alg: &str) -> bool {
    let a = alg.trim().to_ascii_lowercase().replace(['-', '_', ' '], "");
    matches!(
        a.as_str(),
        "sm2" | "sm3withsm2" | "sm2withsm3" | "sm2sm3" | "1.2.156.10197.1.501"
    )
}

/// Base64 with whitespace removed, cut at the first `&` (a 数电 reader does
/// this: a timestamp may follow). A CMS SignedData container is recognised and
/// refused as unsupported rather than misread.
fn decode_value(text: &str) -> Result<Vec<u8>, BillFinding> {
    let head = text.split('&').next().unwrap_or_default();
    let compact: String = head.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|_| BillFinding::SignatureValue)?;
    if is_cms(&bytes) {
        return Err(BillFinding::SignatureContainer);
    }
    Ok(bytes)
}

/// A DER ContentInfo of type signedData (PKCS#7 or GM/T 0010).
fn is_cms(bytes: &[u8]) -> bool {
    const PKCS7_SIGNED: &[u8] = &[
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02,
    ];
    const GM_SIGNED: &[u8] = &[
        0x06, 0x0a, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x06, 0x01, 0x04, 0x02, 0x02,
    ];
    bytes.first() == Some(&0x30)
        && bytes.len() > 80
        && [PKCS7_SIGNED, GM_SIGNED].iter().any(|oid| {
            bytes
                .get(..24)
                .is_some_and(|head| head.windows(oid.len()).any(|w| w == *oid))
        })
}

/// The offset a signature time without one is read in (decision): the fiscal
/// spec's type is `UTCDateTime`, so UTC; 数电 times are Beijing time.
fn sig_offset(sig: &SigParts<'_>) -> UtcOffset {
    if sig.node.name == "TaxBureauSignature" {
        UtcOffset::from_hms(8, 0, 0).unwrap_or(UtcOffset::UTC)
    } else {
        UtcOffset::UTC
    }
}

/// Reads RFC 3339, or 14 digits with any of `-`, `:`, ` `, `T` between them
/// (`yyyyMMddHHmmss`, `yyyyMMddHH:mm:ss`, `yyyy-MM-dd HH:mm:ss`) in `offset`.
pub(crate) fn parse_time(text: &str, offset: UtcOffset) -> Option<OffsetDateTime> {
    let t = text.trim();
    if let Ok(time) = OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339) {
        return Some(time);
    }
    if t.len() > 25 || !t.chars().all(|c| c.is_ascii_digit() || "-: T".contains(c)) {
        return None;
    }
    let digits: String = t.chars().filter(char::is_ascii_digit).collect();
    if digits.len() != 14 {
        return None;
    }
    let n = |range: std::ops::Range<usize>| -> Option<u16> { digits.get(range)?.parse().ok() };
    let date = time::Date::from_calendar_date(
        i32::from(n(0..4)?),
        time::Month::try_from(u8::try_from(n(4..6)?).ok()?).ok()?,
        u8::try_from(n(6..8)?).ok()?,
    )
    .ok()?;
    let clock = time::Time::from_hms(
        u8::try_from(n(8..10)?).ok()?,
        u8::try_from(n(10..12)?).ok()?,
        u8::try_from(n(12..14)?).ok()?,
    )
    .ok()?;
    Some(PrimitiveDateTime::new(date, clock).assume_offset(offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        let utc = UtcOffset::UTC;
        let expect = time::macros::datetime!(2026-01-15 10:20:30 UTC);
        for text in [
            "20260115102030",
            "2026011510:20:30",
            "2026-01-15 10:20:30",
            "2026-01-15T10:20:30Z",
        ] {
            assert_eq!(parse_time(text, utc), Some(expect), "{text}");
        }
        let bj = UtcOffset::from_hms(8, 0, 0).unwrap_or(utc);
        assert_eq!(parse_time("2026-01-15 18:20:30", bj), Some(expect));
        for bad in [
            "2026011510203",
            "2026-13-15 10:20:30",
            "x",
            "",
            "20260115102060",
        ] {
            assert_eq!(parse_time(bad, utc), None, "{bad}");
        }
    }

    #[test]
    fn algorithm_names() {
        for a in ["SM2", "sm3withsm2", "SM2-SM3", "1.2.156.10197.1.501"] {
            assert!(sm2_with_sm3(a), "{a}");
        }
        for a in ["RSA", "SHA256withRSA", ""] {
            assert!(!sm2_with_sm3(a), "{a}");
        }
    }

    #[test]
    fn values() {
        assert_eq!(decode_value("AQID"), Ok(vec![1, 2, 3]));
        assert_eq!(decode_value(" AQ\nID &ts=1"), Ok(vec![1, 2, 3]));
        assert_eq!(decode_value("***"), Err(BillFinding::SignatureValue));
        let mut cms = vec![0x30, 0x82, 0x01, 0x00];
        cms.extend_from_slice(&[
            0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02,
        ]);
        cms.resize(120, 0);
        let text = base64::engine::general_purpose::STANDARD.encode(&cms);
        assert_eq!(decode_value(&text), Err(BillFinding::SignatureContainer));
    }

    #[test]
    fn supervision_forms_are_distinct() {
        let f = forms(&[0xab; 32], b"<Signature/>", b"AQID");
        assert_eq!(f.len(), 8);
        let mut bodies: Vec<&Vec<u8>> = f.iter().map(|(_, m)| m).collect();
        bodies.sort();
        bodies.dedup();
        assert_eq!(bodies.len(), 8);
    }
}
