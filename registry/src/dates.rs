//! Calendar dates in registry documents: written `2026-01-01`, read from a TOML
//! date or the same text (stored JSON).

use serde::{Deserialize, Deserializer, Serializer};
use time::Date;
use time::macros::format_description;

const FORMAT: &[time::format_description::BorrowedFormatItem<'_>] =
    format_description!("[year]-[month]-[day]");

#[derive(Deserialize)]
#[serde(untagged)]
enum Repr {
    Toml(toml::value::Datetime),
    Text(String),
}

/// Writes `YYYY-MM-DD`.
pub fn serialize<S: Serializer>(d: &Date, s: S) -> Result<S::Ok, S::Error> {
    let text = d.format(FORMAT).map_err(serde::ser::Error::custom)?;
    s.serialize_str(&text)
}

/// Reads a TOML local date or `YYYY-MM-DD` text.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
    let text = match Repr::deserialize(d)? {
        Repr::Toml(dt) => match (dt.date, dt.time, dt.offset) {
            (Some(date), None, None) => date.to_string(),
            _ => {
                return Err(serde::de::Error::custom(
                    "expected a date such as 2026-01-01, without a time",
                ));
            }
        },
        Repr::Text(s) => s,
    };
    parse(&text).map_err(serde::de::Error::custom)
}

/// Parses `YYYY-MM-DD`.
pub fn parse(text: &str) -> Result<Date, String> {
    Date::parse(text, FORMAT).map_err(|_| format!("`{text}` is not a date YYYY-MM-DD"))
}

/// Formats `YYYY-MM-DD`.
pub fn format(d: Date) -> String {
    d.format(FORMAT).unwrap_or_default()
}

/// The same for an optional date.
pub mod option {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::Date;

    /// Writes `YYYY-MM-DD` or nothing.
    pub fn serialize<S: Serializer>(d: &Option<Date>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => super::serialize(d, s),
            None => s.serialize_none(),
        }
    }

    #[derive(Deserialize)]
    struct Wrap(#[serde(with = "super")] Date);

    /// Reads a TOML date, `YYYY-MM-DD` text, or nothing.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Date>, D::Error> {
        Ok(Option::<Wrap>::deserialize(d)?.map(|w| w.0))
    }
}
