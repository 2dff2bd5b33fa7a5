//! What a bill says: its key, its issuing region and the facts a check compares,
//! read from the XML tree. Every field read here lies inside the content the
//! issuer signed (the verifier checks that), so nothing unsigned reaches a caller.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use time::{Date, Month};

use super::BillError;
use super::amount::Amount;
use super::xml::Node;
use crate::ident::Region;

/// The two kinds of bill.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BillKind {
    /// 财政电子票据, a fiscal e-bill (Ministry of Finance).
    Fiscal,
    /// 数电发票, a fully digitalised e-invoice (State Taxation Administration).
    Sdfp,
}

impl BillKind {
    /// `fiscal` or `sdfp`.
    pub fn name(self) -> &'static str {
        match self {
            BillKind::Fiscal => "fiscal",
            BillKind::Sdfp => "sdfp",
        }
    }
}

/// A bill's identity, the key every check, lock and log record uses.
///
/// Written as text, a fiscal e-bill is `CODE-NUMBER` (8 and 10 digits:
/// `32010125-0000000001`) and a 数电发票 its 20-digit number; the two shapes
/// cannot be confused.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BillKey {
    /// 票据代码 (8 digits) and 票据号码 (10 digits).
    Fiscal {
        /// 票据代码.
        code: String,
        /// 票据号码.
        number: String,
    },
    /// 发票号码 (20 digits).
    Sdfp {
        /// 发票号码.
        number: String,
    },
}

fn digits(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit())
}

impl BillKey {
    /// A fiscal e-bill key; the code must be 8 digits, the number 10.
    pub fn fiscal(code: &str, number: &str) -> Result<BillKey, BillError> {
        if !digits(code, 8) {
            return Err(BillError::Identifier(format!(
                "票据代码 bill code `{}` is not 8 digits",
                clip(code)
            )));
        }
        if !digits(number, 10) {
            return Err(BillError::Identifier(format!(
                "票据号码 bill number `{}` is not 10 digits",
                clip(number)
            )));
        }
        Ok(BillKey::Fiscal {
            code: code.to_owned(),
            number: number.to_owned(),
        })
    }

    /// A 数电发票 key; the number must be 20 digits.
    pub fn sdfp(number: &str) -> Result<BillKey, BillError> {
        if !digits(number, 20) {
            return Err(BillError::Identifier(format!(
                "发票号码 invoice number `{}` is not 20 digits",
                clip(number)
            )));
        }
        Ok(BillKey::Sdfp {
            number: number.to_owned(),
        })
    }

    /// Parses the text form (`CODE-NUMBER` or 20 digits).
    pub fn parse(s: &str) -> Result<BillKey, BillError> {
        match s.split_once('-') {
            Some((code, number)) => BillKey::fiscal(code, number),
            None if s.len() == 20 => BillKey::sdfp(s),
            None => Err(BillError::Identifier(format!(
                "`{}` is neither CODE-NUMBER (8-10 digits) nor a 20-digit invoice number",
                clip(s)
            ))),
        }
    }

    /// Which kind of bill this key names.
    pub fn kind(&self) -> BillKind {
        match self {
            BillKey::Fiscal { .. } => BillKind::Fiscal,
            BillKey::Sdfp { .. } => BillKind::Sdfp,
        }
    }

    /// The two-digit area code the identifier carries: a fiscal code's first two
    /// digits (the supervising finance authority's division), a 数电 number's
    /// third and fourth (the province).
    pub fn area_code(&self) -> &str {
        match self {
            BillKey::Fiscal { code, .. } => code.get(..2).unwrap_or_default(),
            BillKey::Sdfp { number } => number.get(2..4).unwrap_or_default(),
        }
    }

    /// The federation region that issued the bill, if the area is one of the four.
    pub fn region(&self) -> Option<Region> {
        region_of_area(self.area_code())
    }
}

impl fmt::Display for BillKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BillKey::Fiscal { code, number } => write!(f, "{code}-{number}"),
            BillKey::Sdfp { number } => f.write_str(number),
        }
    }
}

impl FromStr for BillKey {
    type Err = BillError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BillKey::parse(s)
    }
}

impl Serialize for BillKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The region whose GB/T 2260 codes start with `area` (two digits).
pub fn region_of_area(area: &str) -> Option<Region> {
    Region::ALL.into_iter().find(|r| r.area_prefix() == area)
}

fn clip(s: &str) -> String {
    s.chars().take(32).collect()
}

/// A party named on a bill.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Party {
    /// Its code as written (a USCC for units; for a person an identity number,
    /// which is why `Bill::summary` leaves payers out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Its name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// The facts of a bill that checks compare and records show.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BillFacts {
    /// Which kind.
    pub kind: BillKind,
    /// Its key.
    pub key: BillKey,
    /// Its title (票据名称), fiscal bills only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// 校验码 (RandomNumber), fiscal bills only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check_code: Option<String>,
    /// 开票日期.
    #[serde(serialize_with = "date_text")]
    pub issue_date: Date,
    /// The total: TotalAmount (fiscal) or 价税合计 TotalTax-includedAmount (数电).
    pub total: Amount,
    /// The issuer: 开票单位 (fiscal) or the seller (数电).
    pub issuer: Party,
    /// The payer (交款人) or buyer.
    pub payer: Party,
    /// Fiscal: SupervisorAreaCode (6 digits); 数电: the TaxBureauCode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supervisor_area: Option<String>,
    /// A red (reversing) bill: the bill it reverses, when the bill says so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reverses: Option<BillKey>,
    /// Whether this is a red (reversing) bill: a 数电 bill marked not blue, or a
    /// bill naming the bill it reverses, or a negative total.
    pub red: bool,
}

fn date_text<S: serde::Serializer>(d: &Date, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&format_args!(
        "{:04}-{:02}-{:02}",
        d.year(),
        u8::from(d.month()),
        d.day()
    ))
}

/// Parses `yyyyMMdd` or `yyyy-MM-dd` (optionally followed by a time).
pub(crate) fn parse_date(text: &str) -> Result<Date, BillError> {
    let t = text.trim();
    let bad = || BillError::Date(clip(t));
    let (y, m, d) = if t.get(4..5) == Some("-") {
        (t.get(..4), t.get(5..7), t.get(8..10))
    } else {
        (t.get(..4), t.get(4..6), t.get(6..8))
    };
    let num = |s: Option<&str>| -> Result<u16, BillError> {
        let s = s.ok_or_else(bad)?;
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        s.parse().map_err(|_| bad())
    };
    let year = i32::from(num(y)?);
    let month = Month::try_from(u8::try_from(num(m)?).map_err(|_| bad())?).map_err(|_| bad())?;
    let day = u8::try_from(num(d)?).map_err(|_| bad())?;
    Date::from_calendar_date(year, month, day).map_err(|_| bad())
}

/// Reads a fiscal e-bill's facts from its `EInvoiceData/Main` (and Header).
pub(crate) fn fiscal_facts(root: &Node) -> Result<BillFacts, BillError> {
    let data = root.need("EInvoiceData")?;
    let main = data.need("Main")?;
    let key = BillKey::fiscal(
        main.text_of("EInvoiceCode")?,
        main.text_of("EInvoiceNumber")?,
    )?;
    let area = main.text_of("SupervisorAreaCode")?;
    let issuer = party(main.child("InvoicingParty")?, "InvoicingParty");
    let payer = party(main.child("PayerParty")?, "PayerParty");
    // Red-reversal bills name the reversed bill in extension fields; where they
    // sit varies by bill type, so they are looked for anywhere in the data.
    let related = |name: &str| {
        data.descendants(name)
            .first()
            .map(|n| n.text.clone())
            .filter(|t| !t.is_empty())
    };
    let reverses = match (
        related("RelatedInvoiceCode"),
        related("RelatedInvoiceNumber"),
    ) {
        (Some(code), Some(number)) => Some(BillKey::fiscal(&code, &number)?),
        _ => None,
    };
    let total = Amount::parse(main.text_of("TotalAmount")?)?;
    Ok(BillFacts {
        kind: BillKind::Fiscal,
        title: main.opt_text("EInvoiceName")?.map(str::to_owned),
        check_code: Some(main.text_of("RandomNumber")?.to_owned()),
        issue_date: parse_date(main.text_of("IssueDate")?)?,
        red: reverses.is_some() || total.is_negative(),
        total,
        issuer,
        payer,
        supervisor_area: Some(area.to_owned()),
        reverses,
        key,
    })
}

/// Reads a 数电发票's facts.
pub(crate) fn sdfp_facts(root: &Node) -> Result<BillFacts, BillError> {
    let header = root.need("Header")?;
    let data = root.need("EInvoiceData")?;
    let supervision = root.need("TaxSupervisionInfo")?;
    let key = BillKey::sdfp(supervision.text_of("InvoiceNumber")?)?;
    let basic = data.need("BasicInformation")?;
    let total = Amount::parse(basic.text_of("TotalTax-includedAmount")?)?;
    let blue = header
        .child("InherentLabel")?
        .and_then(|l| l.child("InIssuType").ok().flatten())
        .and_then(|t| t.child("LabelCode").ok().flatten())
        .map(|c| c.text.as_str());
    let seller = data.need("SellerInformation")?;
    let buyer = data.child("BuyerInformation")?;
    Ok(BillFacts {
        kind: BillKind::Sdfp,
        title: None,
        check_code: None,
        issue_date: parse_date(supervision.text_of("IssueTime")?)?,
        red: blue == Some("N") || total.is_negative(),
        total,
        issuer: Party {
            code: seller.opt_text("SellerIdNum")?.map(str::to_owned),
            name: seller.opt_text("SellerName")?.map(str::to_owned),
        },
        payer: Party {
            code: buyer
                .map(|b| b.opt_text("BuyerIdNum"))
                .transpose()?
                .flatten()
                .map(str::to_owned),
            name: buyer
                .map(|b| b.opt_text("BuyerName"))
                .transpose()?
                .flatten()
                .map(str::to_owned),
        },
        supervisor_area: supervision.opt_text("TaxBureauCode")?.map(str::to_owned),
        reverses: None,
        key,
    })
}

fn party(node: Option<&Node>, prefix: &str) -> Party {
    let text = |suffix: &str| {
        node.and_then(|n| n.child(&format!("{prefix}{suffix}")).ok().flatten())
            .map(|c| c.text.clone())
            .filter(|t| !t.is_empty())
    };
    Party {
        code: text("Code"),
        name: text("Name"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keys() {
        let k = BillKey::parse("32010125-0000000001").ok();
        assert_eq!(k.as_ref().map(BillKey::region), Some(Some(Region::Js)));
        assert_eq!(
            k.map(|k| k.to_string()).as_deref(),
            Some("32010125-0000000001")
        );
        let s = BillKey::parse("25332000000000000001").ok();
        assert_eq!(s.as_ref().map(BillKey::kind), Some(BillKind::Sdfp));
        assert_eq!(s.and_then(|k| k.region()), Some(Region::Zj));
        for bad in [
            "",
            "3201012-0000000001",
            "32010125-000000001",
            "3201012a-0000000001",
            "2533200000000000000",
            "2533200000000000000x",
            "32010125-0000000001-1",
        ] {
            assert!(BillKey::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            BillKey::parse("44060119-0010535766")
                .ok()
                .and_then(|k| k.region()),
            None
        );
    }

    #[test]
    fn dates() {
        assert_eq!(
            parse_date("20260115").ok(),
            Date::from_calendar_date(2026, Month::January, 15).ok()
        );
        assert_eq!(
            parse_date("2026-01-15 10:00:00").ok(),
            Date::from_calendar_date(2026, Month::January, 15).ok()
        );
        for bad in [
            "2026011",
            "20261315",
            "2026-02-30",
            "abcdefgh",
            "",
            "+0260115",
        ] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn key_text_round_trips(code in "[0-9]{8}", number in "[0-9]{10}", sdfp in "[0-9]{20}") {
            let f = BillKey::fiscal(&code, &number);
            prop_assert!(f.is_ok());
            if let Ok(f) = f {
                prop_assert_eq!(BillKey::parse(&f.to_string()).ok(), Some(f));
            }
            let s = BillKey::sdfp(&sdfp);
            prop_assert!(s.is_ok());
            if let Ok(s) = s {
                prop_assert_eq!(BillKey::parse(&s.to_string()).ok(), Some(s));
            }
        }

        #[test]
        fn key_parse_never_panics(s in "\\PC{0,30}") {
            let _ = BillKey::parse(&s).map(|k| k.region());
        }
    }
}
