//! Errors of the adapters crate: one for loading mapping files, one for mapping a
//! document. Neither ever carries a value from a native document (it may be
//! personal data): only paths, item names and what was expected.

use std::fmt;

use thiserror::Error;

/// A line of a mapping file, for messages: `file:line:` when known.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Line(pub Option<usize>);

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(n) => write!(f, ":{n}"),
            None => Ok(()),
        }
    }
}

/// A mapping file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MappingError {
    /// The file is not valid TOML of the mapping shape.
    #[error("{file}{line}: {message}")]
    Syntax {
        /// The mapping file's name.
        file: String,
        /// Where, when the parser knows.
        line: Line,
        /// The TOML parser's message.
        message: String,
    },
    /// A field of the mapping is invalid.
    #[error("{file}{line}: `{key}`: {problem}")]
    Invalid {
        /// The mapping file's name.
        file: String,
        /// The line of the key, when known.
        line: Line,
        /// The TOML key that is wrong, e.g. `items.established_date.path`.
        key: String,
        /// What is wrong with it.
        problem: String,
    },
}

/// Why a request or a response could not be mapped.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MapError {
    /// The catalogue key lacks a field the provider's request needs.
    #[error("key field `{field}` is missing")]
    MissingKey {
        /// The catalogue key field.
        field: String,
    },
    /// A key field has the wrong type or fails its check.
    #[error("key field `{field}`: expected {expected}")]
    BadKey {
        /// The catalogue key field.
        field: String,
        /// What the catalogue expects.
        expected: String,
    },
    /// The native document is not well-formed JSON or XML, or too large or deep.
    #[error("native {format} document is malformed: {reason}")]
    Malformed {
        /// `json` or `xml`.
        format: &'static str,
        /// The parser's reason, without document content.
        reason: String,
    },
    /// The native document is not in the declared text encoding.
    #[error("native document is not valid {encoding}")]
    Encoding {
        /// The declared encoding.
        encoding: &'static str,
    },
    /// The provider reported that it holds no such record.
    #[error("provider has no record for this key")]
    NotFound,
    /// The provider reported a failure in its own envelope.
    #[error("provider reported failure at `{path}`")]
    ProviderFailure {
        /// The native path of the status field that says so.
        path: String,
    },
    /// The native path the record should be at does not exist (or is null).
    #[error("record not found at native path `{path}`")]
    NoRecord {
        /// The native path.
        path: String,
    },
    /// The record path selects several values.
    #[error("native path `{path}` holds several records where one is expected")]
    SeveralRecords {
        /// The native path.
        path: String,
    },
    /// A required catalogue item is absent in the native document.
    #[error("catalogue item `{item}` is required but native path `{path}` is absent")]
    MissingItem {
        /// The catalogue item.
        item: String,
        /// The native path it is mapped from.
        path: String,
    },
    /// A native null or empty value where the mapping says that is an error.
    #[error("catalogue item `{item}`: native path `{path}` is {found}, which the mapping refuses")]
    NoValue {
        /// The catalogue item.
        item: String,
        /// The native path.
        path: String,
        /// `null` or `empty`.
        found: &'static str,
    },
    /// A path selects several values for an item that takes one.
    #[error(
        "catalogue item `{item}`: native path `{path}` selects several values where one is expected"
    )]
    Ambiguous {
        /// The catalogue item.
        item: String,
        /// The native path.
        path: String,
    },
    /// A native value does not convert to the catalogue item's type.
    #[error("catalogue item `{item}` from native path `{path}`: expected {expected}")]
    Invalid {
        /// The catalogue item.
        item: String,
        /// The native path it is mapped from.
        path: String,
        /// What the catalogue expects.
        expected: String,
    },
    /// A code not in the mapping's code table, and no fallback was declared.
    #[error("catalogue item `{item}` from native path `{path}`: code not in the code table")]
    UnknownCode {
        /// The catalogue item.
        item: String,
        /// The native path it is mapped from.
        path: String,
    },
}

impl MapError {
    /// A stable snake_case name for the kind of failure, as fixture cases
    /// write it.
    pub fn kind(&self) -> &'static str {
        match self {
            MapError::MissingKey { .. } => "missing_key",
            MapError::BadKey { .. } => "bad_key",
            MapError::Malformed { .. } => "malformed",
            MapError::Encoding { .. } => "encoding",
            MapError::NotFound => "not_found",
            MapError::ProviderFailure { .. } => "provider_failure",
            MapError::NoRecord { .. } => "no_record",
            MapError::SeveralRecords { .. } => "several_records",
            MapError::MissingItem { .. } => "missing_item",
            MapError::NoValue { .. } => "no_value",
            MapError::Ambiguous { .. } => "ambiguous",
            MapError::Invalid { .. } => "invalid",
            MapError::UnknownCode { .. } => "unknown_code",
        }
    }

    /// The catalogue item concerned, if one is.
    pub fn item(&self) -> Option<&str> {
        match self {
            MapError::MissingItem { item, .. }
            | MapError::NoValue { item, .. }
            | MapError::Ambiguous { item, .. }
            | MapError::Invalid { item, .. }
            | MapError::UnknownCode { item, .. } => Some(item),
            _ => None,
        }
    }

    /// The native path concerned, if one is.
    pub fn path(&self) -> Option<&str> {
        match self {
            MapError::ProviderFailure { path }
            | MapError::NoRecord { path }
            | MapError::SeveralRecords { path }
            | MapError::MissingItem { path, .. }
            | MapError::NoValue { path, .. }
            | MapError::Ambiguous { path, .. }
            | MapError::Invalid { path, .. }
            | MapError::UnknownCode { path, .. } => Some(path),
            _ => None,
        }
    }
}
