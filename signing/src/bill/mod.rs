//! Electronic bills (电子票据): fiscal e-bills (财政电子票据) and fully
//! digitalised e-invoices (数电发票) — their identifiers, their facts, and the
//! verification of their signatures against per-region bill trust.
//!
//! Everything the public record leaves open (exactly which bytes are signed, how
//! the supervision signature's content is built, time zones, how certificates are
//! named) is decided in this module and nowhere else; docs/ebills.md lists each
//! decision and what it rests on, so it can be changed here when real samples
//! arrive.
//!
//! - [`verify_bill`]: a bill's XML, told apart by content, checked in the steps
//!   of [`BillStep`] into a [`BillReport`] (valid / invalid / indeterminate, the
//!   same shape as seal reports).
//! - [`verify_bill_ofd`]: a bill inside an OFD file — the bill XML found in the
//!   package, verified as above, plus the package's seal signatures.
//! - [`BillKey`]: the identity every check, lock and log record uses.
//! - [`Amount`]: exact decimal amounts.
//! - [`BillTrust`]: roots, intermediates, signing certificates and CRLs per region.

mod amount;
pub mod ledger;
mod model;
mod report;
mod trust;
mod verify;
mod xml;

use thiserror::Error;
use time::OffsetDateTime;

pub use amount::Amount;
pub use model::{BillFacts, BillKey, BillKind, Party, region_of_area};
pub use report::{
    BillDetails, BillFinding, BillReport, BillStep, BillStepReport, BillSummary, SignatureDetails,
    SupervisorForm, VerifiedBill,
};
pub use trust::BillTrust;
pub use verify::{parse_bill, verify_bill};
pub use xml::MAX_BILL_LEN;

use crate::error::OfdError;
use crate::ofd::{OfdLimits, Package, verify_ofd_with_limits};
use crate::report::{Outcome, StepStatus};
use crate::x509::TrustStore;

/// Why a bill could not be read.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum BillError {
    /// Larger than [`MAX_BILL_LEN`].
    #[error("the bill is {len} bytes, more than the limit of {max}")]
    TooLarge {
        /// Its size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Not UTF-8, or declared in another encoding.
    #[error("encoding: {0}")]
    Encoding(String),
    /// Not well-formed, or refused (DOCTYPE, entities, depth).
    #[error("XML error at byte {position}: {reason}")]
    Xml {
        /// Byte offset.
        position: u64,
        /// What was wrong.
        reason: String,
    },
    /// Well-formed, but not a bill this reader knows.
    #[error("not a bill: {0}")]
    NotABill(String),
    /// A required element is missing or empty.
    #[error("`{element}` is missing or empty")]
    Missing {
        /// Its path.
        element: String,
    },
    /// An element read from the bill appears more than once.
    #[error("`{element}` appears more than once")]
    Duplicate {
        /// Its path.
        element: String,
    },
    /// The signatures are not what the kind of bill has.
    #[error("{0}")]
    Signatures(String),
    /// A bill code or number of the wrong shape.
    #[error("{0}")]
    Identifier(String),
    /// An amount that is not a plain decimal.
    #[error("amount `{0}` is not a decimal number")]
    Amount(String),
    /// A date that is not `yyyyMMdd` or `yyyy-MM-dd`.
    #[error("date `{0}` is not yyyyMMdd or yyyy-MM-dd")]
    Date(String),
    /// An OFD package holds no bill XML, or several.
    #[error("{0}")]
    Package(String),
}

/// Verifies a bill inside an OFD package: the one package entry whose root is
/// `EInvoice` is verified with [`verify_bill`] against `bills`, and the package's
/// seal signatures with the seal verifier against `seals` restricted to the
/// bill's issuing region (as licences are), reported as step 7.
///
/// `Err` means the package itself could not be read safely.
pub fn verify_bill_ofd(
    package: &[u8],
    bills: &BillTrust,
    seals: &TrustStore,
    at: OffsetDateTime,
) -> Result<BillReport, OfdError> {
    let limits = OfdLimits::default();
    let pkg = Package::read(package, &limits)?;
    // Decision: the bill XML is whichever entry is an `EInvoice` document; where
    // a 数电 OFD keeps it is not established (docs/ebills.md).
    let candidates: Vec<(&String, &Vec<u8>)> = pkg
        .files
        .iter()
        .filter(|(name, bytes)| {
            name.to_ascii_lowercase().ends_with(".xml")
                && bytes.len() <= MAX_BILL_LEN
                && xml::Node::parse(bytes).is_ok_and(|n| n.name == "EInvoice")
        })
        .collect();
    let (name, bytes) = match candidates.as_slice() {
        [one] => *one,
        other => {
            let mut r = BillReport::new();
            let names: Vec<&str> = other.iter().map(|(n, _)| n.as_str()).collect();
            r.set(
                BillStep::Parse,
                Err(BillFinding::Malformed(BillError::Package(
                    if names.is_empty() {
                        "the OFD package holds no EInvoice XML".to_owned()
                    } else {
                        format!(
                            "the OFD package holds several EInvoice XML files: {}",
                            names.join(", ")
                        )
                    },
                ))),
            );
            return Ok(r);
        }
    };
    let mut report = verify_bill(bytes, bills, at);
    report.details.ofd_entry = Some(name.clone());
    if report.steps().first().map(|s| s.status) != Some(StepStatus::Passed) {
        return Ok(report);
    }
    let seal_trust = match report.details.region {
        Some(region) => seals.for_region(region),
        None => TrustStore::new(),
    };
    let step7 = match verify_ofd_with_limits(package, &seal_trust, at, &limits) {
        Ok(ofd) => {
            report.details.ofd_seals = ofd.summaries();
            let decisive = ofd
                .signatures
                .iter()
                .find(|s| s.report.outcome() == ofd.outcome());
            match ofd.outcome() {
                Outcome::Valid => Ok(()),
                outcome => Err(BillFinding::OfdSeal {
                    code: decisive
                        .and_then(|s| s.report.reason())
                        .map_or("seal_invalid", crate::report::Finding::code),
                    reason: decisive
                        .and_then(|s| s.report.reason())
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                    indeterminate: outcome == Outcome::Indeterminate,
                }),
            }
        }
        Err(OfdError::Unsigned) => Err(BillFinding::OfdSeal {
            code: "ofd_unsigned",
            reason: "the OFD package carries no seal signature".into(),
            indeterminate: false,
        }),
        Err(e) => Err(BillFinding::OfdSeal {
            code: "ofd_malformed",
            reason: e.to_string(),
            indeterminate: false,
        }),
    };
    report.set(BillStep::OfdSeal, step7);
    if report.verified.is_some() && !report.all_passed() {
        report.verified = None;
    }
    Ok(report)
}
