//! One native text → the catalogue form of a field's type. Shared by request
//! keys, response items and the defaults and constants of mapping files, so a
//! value means the same wherever it is written.

use serde_json::Value;

use crate::normalise::{self, Units};
use crate::schema::{Field, ItemType};

/// Per-rule options of the conversion.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Options {
    /// Units of a decimal amount.
    pub units: Units,
    /// Text items: full-width forms to half-width.
    pub half_width: bool,
}

/// Converts `s` to `field`'s type, or `None` if it is not a value of that type.
pub(crate) fn text(s: &str, field: &Field, options: &Options) -> Option<Value> {
    Some(match &field.ty {
        ItemType::Text { max_len } => {
            let s = match options.half_width {
                true => normalise::half_width(s),
                false => s.trim().to_owned(),
            };
            if max_len.is_some_and(|n| s.chars().count() > n) {
                return None;
            }
            Value::String(s)
        }
        ItemType::Integer => Value::from(normalise::integer(s)?),
        ItemType::Decimal => Value::String(normalise::decimal(s, options.units)?),
        ItemType::Boolean => Value::Bool(normalise::boolean(s)?),
        ItemType::Date => Value::String(normalise::date(s)?),
        ItemType::DateTime => Value::String(normalise::datetime(s)?),
        ItemType::YearMonth => Value::String(normalise::year_month(s)?),
        ItemType::Code => {
            let s = normalise::half_width(s);
            if !field.codes.contains(&s) {
                return None;
            }
            Value::String(s)
        }
        ItemType::Uscc => Value::String(normalise::uscc(s)?),
        ItemType::ResidentId => Value::String(normalise::resident_id(s)?),
        ItemType::AreaCode => Value::String(normalise::area_code(s)?),
    })
}

/// What the catalogue expects of `field`, for messages.
pub(crate) fn expected(field: &Field, options: &Options) -> String {
    match (&field.ty, options.units.target) {
        (ItemType::Decimal, Some(unit)) => format!("decimal (an amount in {})", unit.name()),
        (ItemType::Code, _) => format!("code (one of the catalogue's {})", field.codes.len()),
        (ItemType::AreaCode, _) => "area_code (six digits of a known GB/T 2260 division)".into(),
        (ty, _) => ty.to_string(),
    }
}

/// A converted value as text (for request parameters).
pub(crate) fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
