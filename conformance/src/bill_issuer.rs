//! A **sample** issuing platform for one region's bills: it keeps the bills it
//! issued (the signed XML, as issued), their status (normal, red-reversed,
//! void) and their reimbursement state, answers checks (查验) by the bill's
//! identifiers, and applies lock / book / release with
//! [`yrdx_signing::bill::ledger::apply`] under one lock per platform — so
//! requests forwarded to it from any number of gateway nodes are applied one at
//! a time and a bill is reimbursed at most once.
//!
//! It stands in for the provincial platform / national public service
//! platform, whose wire interface for these functions is not public (see
//! docs/ebills.md); tests and the demo use it in-process.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use time::{Date, OffsetDateTime};
use yrdx_signing::Region;
use yrdx_signing::bill::ledger::{
    Applied, BillState, IssuerStatus, LedgerRequest, Refusal, Requester, apply,
};
use yrdx_signing::bill::{Amount, BillFacts, BillKey, parse_bill};

/// What a checker claims about a bill (the 查验 inputs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claims {
    /// 校验码: fiscal e-bills only.
    pub check_code: Option<String>,
    /// 开票日期.
    pub issue_date: Date,
    /// The total.
    pub amount: Amount,
}

/// Why a check is answered negatively.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    /// No such bill here.
    #[error("查无此票 no such bill")]
    NotFound,
    /// A claim does not match; names which (not the bill's value).
    #[error("查验不符 the {0} does not match the bill")]
    Mismatch(&'static str),
}

/// Why a ledger request is not applied.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    /// No such bill here.
    #[error("查无此票 no such bill")]
    NotFound,
    /// The ledger refused it.
    #[error("{0}")]
    Refused(#[from] Refusal),
}

/// One bill as the platform keeps it.
#[derive(Clone, Debug)]
pub struct Issued {
    /// The signed XML as issued.
    pub xml: Vec<u8>,
    /// Its facts.
    pub facts: BillFacts,
    /// Status and reimbursement.
    pub state: BillState,
}

/// A sample issuing platform.
#[derive(Debug)]
pub struct BillIssuer {
    region: Region,
    bills: Mutex<BTreeMap<BillKey, Issued>>,
}

impl BillIssuer {
    /// An empty platform of `region`.
    pub fn new(region: Region) -> BillIssuer {
        BillIssuer {
            region,
            bills: Mutex::new(BTreeMap::new()),
        }
    }

    /// The platform's region.
    pub fn region(&self) -> Region {
        self.region
    }

    fn bills(&self) -> std::sync::MutexGuard<'_, BTreeMap<BillKey, Issued>> {
        self.bills.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records a signed bill as issued here (its facts read from it).
    pub fn issue(&self, xml: Vec<u8>) -> Result<BillKey, yrdx_signing::bill::BillError> {
        let facts = parse_bill(&xml)?;
        let key = facts.key.clone();
        let state = BillState::issued(facts.total);
        self.bills()
            .insert(key.clone(), Issued { xml, facts, state });
        Ok(key)
    }

    /// Sets a bill's status (a red bill issued against it, or voided).
    pub fn set_status(&self, key: &BillKey, status: IssuerStatus) -> bool {
        match self.bills().get_mut(key) {
            Some(b) => {
                b.state.status = status;
                true
            }
            None => false,
        }
    }

    /// 查验: the bill with `key`, if the claims match it.
    pub fn check(&self, key: &BillKey, claims: &Claims) -> Result<Issued, CheckError> {
        let bills = self.bills();
        let bill = bills.get(key).ok_or(CheckError::NotFound)?;
        if claims.check_code.is_some() && claims.check_code != bill.facts.check_code {
            return Err(CheckError::Mismatch("check code"));
        }
        if claims.issue_date != bill.facts.issue_date {
            return Err(CheckError::Mismatch("issue date"));
        }
        if claims.amount != bill.facts.total {
            return Err(CheckError::Mismatch("amount"));
        }
        Ok(bill.clone())
    }

    /// The bill with `key`, unchecked (for tests).
    pub fn get(&self, key: &BillKey) -> Option<Issued> {
        self.bills().get(key).cloned()
    }

    /// Applies a lock, book or release, one at a time.
    pub fn apply(
        &self,
        key: &BillKey,
        who: &Requester,
        request: &LedgerRequest,
        at: OffsetDateTime,
    ) -> Result<Applied, LedgerError> {
        let mut bills = self.bills();
        let bill = bills.get_mut(key).ok_or(LedgerError::NotFound)?;
        let applied = apply(&bill.state, who, request, at)?;
        bill.state = applied.state.clone();
        Ok(applied)
    }
}
