//! The catalogue's view of a resource as the adapters see it: the key fields a
//! consumer sends and the typed items a record holds. The registry owns the
//! catalogue and hands a [`Schema`] to the adapters for each mapping.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Line, MappingError};

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
    /// A calendar month, `YYYY-MM`.
    YearMonth,
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
            ItemType::YearMonth => f.write_str("year_month"),
            ItemType::Code => f.write_str("code"),
            ItemType::Uscc => f.write_str("uscc"),
            ItemType::ResidentId => f.write_str("resident_id"),
            ItemType::AreaCode => f.write_str("area_code"),
        }
    }
}

/// The names [`ItemType`] is written as in catalogue files.
pub const ITEM_TYPE_NAMES: &str = "text, text(N), integer, decimal, boolean, date, datetime, \
     year_month, code, uscc, resident_id, area_code";

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
            "year_month" => ItemType::YearMonth,
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
    /// Checks a consumer's request key against the key fields — each field
    /// one of them, of its type (check characters included), every required
    /// one present — and gives each in its catalogue text form, as mappings
    /// build native requests from ([`crate::Mapping::native_request_for`]).
    pub fn normalise_key(
        &self,
        key: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<std::collections::BTreeMap<String, String>, crate::MapError> {
        crate::request::normalise_key(key, self)
    }

    /// The item of that name.
    pub fn item(&self, name: &str) -> Option<&Field> {
        self.items.iter().find(|i| i.name == name)
    }

    /// The key field of that name.
    pub fn key_field(&self, name: &str) -> Option<&Field> {
        self.key.iter().find(|i| i.name == name)
    }
}

// A lenient reader of catalogue files, for tools that check mappings without a
// registry (the CLI's defaults, tests, fuzzing, benches). The registry's own
// importer is the authority on what a catalogue may hold; this one reads only
// what a mapping needs and ignores every other table and field.

#[derive(Deserialize)]
struct CatalogueShape {
    #[serde(default)]
    resource: Vec<ResourceShape>,
}

#[derive(Deserialize)]
struct ResourceShape {
    code: String,
    #[serde(default)]
    key: Vec<FieldShape>,
    #[serde(default)]
    items: Vec<FieldShape>,
}

#[derive(Deserialize)]
struct FieldShape {
    name: String,
    #[serde(rename = "type")]
    ty: ItemType,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    codes: Vec<String>,
}

impl From<FieldShape> for Field {
    fn from(f: FieldShape) -> Field {
        Field {
            name: f.name,
            ty: f.ty,
            required: f.required,
            codes: f.codes,
        }
    }
}

/// The `[[resource]]` tables of a catalogue file as schemas. `file` names it in
/// errors.
pub fn schemas_from_catalogue(file: &str, text: &str) -> Result<Vec<Schema>, MappingError> {
    let shape: CatalogueShape = toml::from_str(text).map_err(|e| MappingError::Syntax {
        file: file.to_owned(),
        line: Line(
            e.span()
                .map(|s| text.get(..s.start).map_or(0, |t| t.matches('\n').count()) + 1),
        ),
        message: e.message().trim().to_owned(),
    })?;
    Ok(shape
        .resource
        .into_iter()
        .map(|r| Schema {
            resource: r.code,
            key: r.key.into_iter().map(Field::from).collect(),
            items: r.items.into_iter().map(Field::from).collect(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_types_read_and_write_the_same() {
        for name in ITEM_TYPE_NAMES.split(", ") {
            let name = name.replace("(N)", "(12)");
            assert_eq!(name.parse::<ItemType>().unwrap().to_string(), name);
        }
        assert!("text(x)".parse::<ItemType>().is_err());
        assert!("money".parse::<ItemType>().is_err());
    }

    #[test]
    fn reads_the_resources_of_a_catalogue_file() {
        let text = r#"
[[member]]
id = "ignored"

[[resource]]
code = "YRD-X-0001"
name = "ignored"
key = [{ name = "uscc", type = "uscc", required = true }]
items = [{ name = "status", type = "code", codes = ["1", "2"] }]
"#;
        let s = schemas_from_catalogue("c.toml", text).unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].item("status").unwrap().codes, ["1", "2"]);
        assert!(s[0].key_field("uscc").unwrap().required);
        let err = schemas_from_catalogue("c.toml", "[[resource]]\ncode = 1\n").unwrap_err();
        assert!(err.to_string().starts_with("c.toml:2: "), "{err}");
    }
}
