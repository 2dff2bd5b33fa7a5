//! The catalogue's view of a resource as the adapters see it: the key fields a
//! consumer sends and the typed items a record holds. The registry owns the
//! catalogue and hands a [`Schema`] to the adapters for each mapping.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The type of a catalogue data item or key field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ItemType {
    /// Free text, optionally with a maximum length in characters.
    Text {
        /// Maximum length in characters.
        max_len: Option<usize>,
    },
    /// A whole number.
    Integer,
    /// A decimal amount, carried as a string so that no float rounding happens.
    Decimal,
    /// True or false.
    Boolean,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// A moment, RFC 3339 in China Standard Time (`+08:00`).
    DateTime,
    /// A value from the catalogue's code list for this item.
    Code,
    /// A unified social credit code (GB 32100), check character verified.
    Uscc,
    /// A resident identity number (GB 11643), check character verified.
    ResidentId,
    /// A GB/T 2260 administrative area code, six digits.
    AreaCode,
}

impl fmt::Display for ItemType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ItemType::Text { max_len: Some(n) } => write!(f, "text({n})"),
            ItemType::Text { max_len: None } => f.write_str("text"),
            ItemType::Integer => f.write_str("integer"),
            ItemType::Decimal => f.write_str("decimal"),
            ItemType::Boolean => f.write_str("boolean"),
            ItemType::Date => f.write_str("date"),
            ItemType::DateTime => f.write_str("datetime"),
            ItemType::Code => f.write_str("code"),
            ItemType::Uscc => f.write_str("uscc"),
            ItemType::ResidentId => f.write_str("resident_id"),
            ItemType::AreaCode => f.write_str("area_code"),
        }
    }
}

/// The names [`ItemType`] is written as in catalogue files.
pub const ITEM_TYPE_NAMES: &str =
    "text, text(N), integer, decimal, boolean, date, datetime, code, uscc, resident_id, area_code";

impl FromStr for ItemType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "text" => ItemType::Text { max_len: None },
            "integer" => ItemType::Integer,
            "decimal" => ItemType::Decimal,
            "boolean" => ItemType::Boolean,
            "date" => ItemType::Date,
            "datetime" => ItemType::DateTime,
            "code" => ItemType::Code,
            "uscc" => ItemType::Uscc,
            "resident_id" => ItemType::ResidentId,
            "area_code" => ItemType::AreaCode,
            other => {
                let n = other
                    .strip_prefix("text(")
                    .and_then(|r| r.strip_suffix(')'))
                    .and_then(|n| n.parse::<usize>().ok())
                    .ok_or_else(|| {
                        format!("unknown item type `{other}`, expected one of {ITEM_TYPE_NAMES}")
                    })?;
                ItemType::Text { max_len: Some(n) }
            }
        })
    }
}

impl Serialize for ItemType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ItemType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One typed field: a data item of a record, or a field of a request key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// The snake_case English name, without the resource prefix.
    pub name: String,
    /// Its type.
    pub ty: ItemType,
    /// Whether a record must carry it (items) or a request must send it (keys).
    pub required: bool,
    /// For [`ItemType::Code`]: the catalogue's code list.
    pub codes: Vec<String>,
}

/// What a catalogue resource looks like to a mapping: its key and its items.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Schema {
    /// The resource code, e.g. `YRD-SCJG-0001`.
    pub resource: String,
    /// The fields a consumer's request key may carry.
    pub key: Vec<Field>,
    /// The data items of a record.
    pub items: Vec<Field>,
}

impl Schema {
    /// The item of that name.
    pub fn item(&self, name: &str) -> Option<&Field> {
        self.items.iter().find(|i| i.name == name)
    }

    /// The key field of that name.
    pub fn key_field(&self, name: &str) -> Option<&Field> {
        self.key.iter().find(|i| i.name == name)
    }
}
