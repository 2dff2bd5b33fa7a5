//! The reimbursement states of one bill (报销锁定 lock, 报销反馈/入账 booking)
//! and the one function that moves between them, pure: whoever keeps the state
//! (the issuing region's platform, a store) applies requests with [`apply`]
//! under its own lock or transaction, so every keeper refuses and answers alike.
//!
//! ```text
//!            lock (unit A)            book (unit A)
//!   open ────────────────▶ locked ────────────────▶ booked
//!     ▲                      │
//!     └──── release (A) ─────┘
//! ```
//!
//! - Only a `normal` bill can be locked or booked; a red-reversed (冲红) or void
//!   (作废) one cannot.
//! - The amount claimed must equal the bill's total exactly.
//! - A lock held by one unit refuses every other unit and region
//!   ([`Refusal::Locked`], naming no one).
//! - The same request (same unit, same request id) repeated gets the same answer
//!   again and changes nothing ([`Applied::replay`]).
//! - Booked is final here: un-booking is an accounting correction outside this
//!   exchange.

use serde::Serialize;
use thiserror::Error;
use time::{Date, OffsetDateTime};

use super::amount::Amount;
use crate::ident::{Region, Uscc};

/// What the issuer says of the bill itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IssuerStatus {
    /// 正常.
    Normal,
    /// 冲红: a red bill reverses it.
    RedReversed,
    /// 作废.
    Void,
}

/// Who holds a bill, and under which request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Hold {
    /// The reimbursing unit (from its certificate).
    pub unit: Uscc,
    /// The unit's region.
    #[serde(serialize_with = "crate::x509::region_code")]
    pub region: Region,
    /// The request id the lock was taken with.
    pub request_id: String,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// The booking feedback (入账反馈).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Booking {
    /// 记账凭证号, the voucher number.
    pub voucher: String,
    /// 入账日期.
    pub date: Date,
    /// The amount booked.
    pub amount: Amount,
    /// The request id it was booked with.
    pub request_id: String,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// Where a bill's reimbursement stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Reimbursement {
    /// Nobody holds it.
    Open,
    /// Locked by a unit (报销锁定).
    Locked {
        /// The holder.
        hold: Hold,
    },
    /// Booked by the unit that locked it (已入账).
    Booked {
        /// The holder.
        hold: Hold,
        /// The booking.
        booking: Booking,
    },
}

impl Reimbursement {
    /// `open`, `locked` or `booked`.
    pub fn name(&self) -> &'static str {
        match self {
            Reimbursement::Open => "open",
            Reimbursement::Locked { .. } => "locked",
            Reimbursement::Booked { .. } => "booked",
        }
    }
}

/// Everything a keeper holds of one bill.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BillState {
    /// The issuer's status.
    pub status: IssuerStatus,
    /// The bill's total.
    pub total: Amount,
    /// The reimbursement.
    pub reimbursement: Reimbursement,
    /// The last release, so that a repeated release is answered alike.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_release: Option<Hold>,
}

impl BillState {
    /// A newly issued, normal, open bill.
    pub fn issued(total: Amount) -> BillState {
        BillState {
            status: IssuerStatus::Normal,
            total,
            reimbursement: Reimbursement::Open,
            last_release: None,
        }
    }
}

/// Who asks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requester {
    /// The unit, from its certificate.
    pub unit: Uscc,
    /// Its region.
    pub region: Region,
    /// The request id (`Yrdx-Request-Id`): the same id repeated is the same
    /// request.
    pub request_id: String,
}

/// A request to the ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LedgerRequest {
    /// 报销锁定, for `amount`.
    Lock {
        /// The amount to be reimbursed.
        amount: Amount,
    },
    /// 入账反馈.
    Book {
        /// 记账凭证号.
        voucher: String,
        /// 入账日期.
        date: Date,
        /// The amount booked.
        amount: Amount,
    },
    /// Gives the lock back (approval refused).
    Release,
}

/// Why a request is refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum Refusal {
    /// Another unit or region holds (or booked) the bill. Names no one.
    #[error("该票据已被锁定或入账 the bill is locked or booked by another reimbursement")]
    Locked,
    /// The bill is red-reversed or void.
    #[error("该票据已冲红或作废 the bill is {0:?} and cannot be reimbursed")]
    NotReimbursable(IssuerStatus),
    /// The amount is not the bill's.
    #[error("金额不符 the amount {claimed} is not the bill's total {total}")]
    AmountMismatch {
        /// What the request said.
        claimed: Amount,
        /// The bill's total.
        total: Amount,
    },
    /// Book or release without holding the lock.
    #[error("未锁定 the requesting unit does not hold a lock on this bill")]
    NotLocked,
    /// Release after booking.
    #[error("已入账 the bill is booked; a booking is not released here")]
    Booked,
}

impl Refusal {
    /// A stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Locked => "bill_locked",
            Refusal::NotReimbursable(_) => "bill_not_reimbursable",
            Refusal::AmountMismatch { .. } => "bill_amount_mismatch",
            Refusal::NotLocked => "bill_not_locked",
            Refusal::Booked => "bill_booked",
        }
    }
}

/// The result of an accepted request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// The state after it.
    pub state: BillState,
    /// Whether this was a repeat of a request already applied (nothing changed).
    pub replay: bool,
}

/// Applies `request` by `who` at `at` to `state`.
pub fn apply(
    state: &BillState,
    who: &Requester,
    request: &LedgerRequest,
    at: OffsetDateTime,
) -> Result<Applied, Refusal> {
    let same = |h: &Hold| h.unit == who.unit && h.region == who.region;
    let replay = |h: &Hold| same(h) && h.request_id == who.request_id;
    let unchanged = || {
        Ok(Applied {
            state: state.clone(),
            replay: true,
        })
    };
    let changed = |reimbursement: Reimbursement, last_release: Option<Hold>| {
        Ok(Applied {
            state: BillState {
                reimbursement,
                last_release,
                ..state.clone()
            },
            replay: false,
        })
    };
    let hold = || Hold {
        unit: who.unit.clone(),
        region: who.region,
        request_id: who.request_id.clone(),
        at,
    };
    match (request, &state.reimbursement) {
        // Repeats first: a request already applied is answered alike, whatever
        // happened to the bill since.
        (LedgerRequest::Lock { .. }, Reimbursement::Locked { hold: h })
        | (LedgerRequest::Lock { .. }, Reimbursement::Booked { hold: h, .. })
            if replay(h) =>
        {
            unchanged()
        }
        (
            LedgerRequest::Book { .. },
            Reimbursement::Booked {
                hold: h,
                booking: b,
            },
        ) if same(h) && b.request_id == who.request_id => unchanged(),
        (LedgerRequest::Release, Reimbursement::Open)
            if state.last_release.as_ref().is_some_and(replay) =>
        {
            unchanged()
        }

        (LedgerRequest::Lock { amount }, Reimbursement::Open) => {
            reimbursable(state)?;
            same_amount(*amount, state.total)?;
            changed(
                Reimbursement::Locked { hold: hold() },
                state.last_release.clone(),
            )
        }
        (LedgerRequest::Lock { .. }, _) => Err(Refusal::Locked),

        (
            LedgerRequest::Book {
                voucher,
                date,
                amount,
            },
            Reimbursement::Locked { hold: h },
        ) if same(h) => {
            reimbursable(state)?;
            same_amount(*amount, state.total)?;
            changed(
                Reimbursement::Booked {
                    hold: h.clone(),
                    booking: Booking {
                        voucher: voucher.clone(),
                        date: *date,
                        amount: *amount,
                        request_id: who.request_id.clone(),
                        at,
                    },
                },
                state.last_release.clone(),
            )
        }
        (LedgerRequest::Book { .. }, Reimbursement::Open) => Err(Refusal::NotLocked),
        (LedgerRequest::Book { .. }, Reimbursement::Booked { hold: h, .. }) if same(h) => {
            Err(Refusal::Booked)
        }
        (LedgerRequest::Book { .. }, _) => Err(Refusal::Locked),

        (LedgerRequest::Release, Reimbursement::Locked { hold: h }) if same(h) => {
            changed(Reimbursement::Open, Some(hold()))
        }
        (LedgerRequest::Release, Reimbursement::Booked { hold: h, .. }) if same(h) => {
            Err(Refusal::Booked)
        }
        (LedgerRequest::Release, Reimbursement::Open) => Err(Refusal::NotLocked),
        (LedgerRequest::Release, _) => Err(Refusal::Locked),
    }
}

fn reimbursable(state: &BillState) -> Result<(), Refusal> {
    match state.status {
        IssuerStatus::Normal => Ok(()),
        other => Err(Refusal::NotReimbursable(other)),
    }
}

fn same_amount(claimed: Amount, total: Amount) -> Result<(), Refusal> {
    if claimed == total {
        Ok(())
    } else {
        Err(Refusal::AmountMismatch { claimed, total })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::{date, datetime};

    const AT: OffsetDateTime = datetime!(2026-01-20 08:00:00 UTC);

    fn who(uscc: &str, region: Region, id: &str) -> Requester {
        Requester {
            unit: Uscc::parse(uscc).unwrap_or_else(|e| panic!("{e}")),
            region,
            request_id: id.into(),
        }
    }

    fn amount(s: &str) -> Amount {
        Amount::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    /// A valid USCC from its first 17 characters.
    fn uscc(first17: &str) -> String {
        let check = Uscc::check_char(first17).unwrap_or_else(|e| panic!("{e}"));
        format!("{first17}{check}")
    }

    fn shanghai(id: &str) -> Requester {
        who(&uscc("91310000MA1FL0000"), Region::Sh, id)
    }

    fn zhejiang(id: &str) -> Requester {
        who("11330000002482028A", Region::Zj, id)
    }

    fn lock() -> LedgerRequest {
        LedgerRequest::Lock {
            amount: amount("256.80"),
        }
    }

    fn book() -> LedgerRequest {
        LedgerRequest::Book {
            voucher: "记-2026-01-0042".into(),
            date: date!(2026 - 01 - 21),
            amount: amount("256.8"),
        }
    }

    #[test]
    fn lock_book_once() {
        let s0 = BillState::issued(amount("256.80"));
        let a = shanghai("r1");
        let s1 = apply(&s0, &a, &lock(), AT).map(|x| x.state);
        let Ok(s1) = s1 else { panic!("{s1:?}") };
        assert_eq!(s1.reimbursement.name(), "locked");
        // Another unit and region: refused, naming no one.
        assert_eq!(
            apply(&s1, &zhejiang("r9"), &lock(), AT),
            Err(Refusal::Locked)
        );
        assert!(!Refusal::Locked.to_string().contains("9131"));
        // The same request again: the same answer, nothing changed.
        assert_eq!(
            apply(&s1, &a, &lock(), AT),
            Ok(Applied {
                state: s1.clone(),
                replay: true
            })
        );
        // The same unit with another request id: refused like anyone else.
        assert_eq!(
            apply(&s1, &shanghai("r2"), &lock(), AT),
            Err(Refusal::Locked)
        );
        // Book: only the holder, only the bill's amount.
        assert_eq!(
            apply(&s1, &zhejiang("r3"), &book(), AT),
            Err(Refusal::Locked)
        );
        let wrong = LedgerRequest::Book {
            voucher: "v".into(),
            date: date!(2026 - 01 - 21),
            amount: amount("256.81"),
        };
        assert!(matches!(
            apply(&s1, &shanghai("r4"), &wrong, AT),
            Err(Refusal::AmountMismatch { .. })
        ));
        let s2 = apply(&s1, &shanghai("r5"), &book(), AT).map(|x| x.state);
        let Ok(s2) = s2 else { panic!("{s2:?}") };
        assert_eq!(s2.reimbursement.name(), "booked");
        assert!(apply(&s2, &shanghai("r5"), &book(), AT).is_ok_and(|x| x.replay));
        assert_eq!(
            apply(&s2, &shanghai("r6"), &book(), AT),
            Err(Refusal::Booked)
        );
        assert_eq!(
            apply(&s2, &shanghai("r7"), &LedgerRequest::Release, AT),
            Err(Refusal::Booked)
        );
        assert_eq!(
            apply(&s2, &zhejiang("r8"), &lock(), AT),
            Err(Refusal::Locked)
        );
    }

    #[test]
    fn release_reopens_for_anyone() {
        let s0 = BillState::issued(amount("256.80"));
        let s1 = apply(&s0, &shanghai("r1"), &lock(), AT).map(|x| x.state);
        let Ok(s1) = s1 else { panic!() };
        assert_eq!(
            apply(&s1, &zhejiang("r2"), &LedgerRequest::Release, AT),
            Err(Refusal::Locked)
        );
        let s2 = apply(&s1, &shanghai("r3"), &LedgerRequest::Release, AT).map(|x| x.state);
        let Ok(s2) = s2 else { panic!() };
        assert_eq!(s2.reimbursement, Reimbursement::Open);
        assert!(apply(&s2, &shanghai("r3"), &LedgerRequest::Release, AT).is_ok_and(|x| x.replay));
        assert_eq!(
            apply(&s2, &shanghai("r4"), &LedgerRequest::Release, AT),
            Err(Refusal::NotLocked)
        );
        assert!(apply(&s2, &zhejiang("r5"), &lock(), AT).is_ok_and(|x| !x.replay));
    }

    #[test]
    fn red_and_void_bills_are_not_reimbursed() {
        for status in [IssuerStatus::RedReversed, IssuerStatus::Void] {
            let s = BillState {
                status,
                ..BillState::issued(amount("256.80"))
            };
            assert_eq!(
                apply(&s, &shanghai("r1"), &lock(), AT),
                Err(Refusal::NotReimbursable(status))
            );
        }
        // Reversed while locked: it cannot be booked, but it can be released.
        let s0 = BillState::issued(amount("256.80"));
        let Ok(s1) = apply(&s0, &shanghai("r1"), &lock(), AT).map(|x| x.state) else {
            panic!()
        };
        let s1 = BillState {
            status: IssuerStatus::RedReversed,
            ..s1
        };
        assert!(matches!(
            apply(&s1, &shanghai("r2"), &book(), AT),
            Err(Refusal::NotReimbursable(_))
        ));
        assert!(apply(&s1, &shanghai("r3"), &LedgerRequest::Release, AT).is_ok());
        assert!(matches!(
            apply(
                &s0,
                &shanghai("r1"),
                &LedgerRequest::Lock {
                    amount: amount("25.68")
                },
                AT
            ),
            Err(Refusal::AmountMismatch { .. })
        ));
    }

    proptest! {
        /// Whatever sequence of requests from whichever units: at most one unit
        /// ever holds the bill at a time, a booking is only ever made by the unit
        /// holding the lock, and a booked bill stays booked by it.
        #[test]
        fn at_most_one_holder(steps in proptest::collection::vec((0usize..3, 0usize..3, 0u8..4), 0..40)) {
            let units = [shanghai("x"), zhejiang("x"), who(&uscc("12340100MB0000000"), Region::Ah, "x")];
            let mut state = BillState::issued(amount("10.00"));
            let mut booked_by: Option<Uscc> = None;
            for (i, (u, op, id)) in steps.into_iter().enumerate() {
                let Some(base) = units.get(u) else { continue };
                let r = Requester { request_id: format!("r{id}"), ..base.clone() };
                let req = match op {
                    0 => lock(),
                    1 => LedgerRequest::Book { voucher: format!("v{i}"), date: date!(2026 - 01 - 21), amount: amount("10") },
                    _ => LedgerRequest::Release,
                };
                let before = state.clone();
                if let Ok(applied) = apply(&state, &r, &req, AT) {
                    if applied.replay {
                        prop_assert_eq!(&applied.state, &before);
                    }
                    state = applied.state;
                }
                if let Some(unit) = &booked_by {
                    let Reimbursement::Booked { hold, .. } = &state.reimbursement else {
                        return Err(TestCaseError::fail("a booking was undone"));
                    };
                    prop_assert_eq!(&hold.unit, unit);
                }
                if let Reimbursement::Booked { hold, .. } = &state.reimbursement {
                    booked_by = Some(hold.unit.clone());
                }
            }
        }
    }
}
