//! Errors of the registry crate.

use thiserror::Error;
use time::Date;

/// Why the authorize stage refused an exchange. Each maps to one stable problem
/// code at the gateway.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Refusal {
    /// The resource is not in the catalogue.
    #[error("resource is not in the catalogue")]
    UnknownResource,
    /// No active entry lets this consumer take this resource (from this provider).
    #[error("no responsibility-list entry lets this consumer take this resource")]
    NotInList,
    /// The resource, or this provider's row for it, is not shared.
    #[error("not shared: {legal_basis}")]
    NotShared {
        /// The legal basis the list cites.
        legal_basis: String,
    },
    /// The entries that would allow it ended.
    #[error("responsibility-list entry {entry} ended on {valid_to}")]
    EntryExpired {
        /// The entry id.
        entry: String,
        /// Its last day in force.
        valid_to: Date,
    },
    /// The entries that would allow it are not in force yet.
    #[error("responsibility-list entry is not in force yet")]
    EntryNotYetValid,
    /// Listed, but not for this purpose.
    #[error("purpose is not allowed by the responsibility list")]
    PurposeNotAllowed,
    /// The entry requires a service item code and none was given.
    #[error("the responsibility-list entry requires a service item code")]
    ServiceItemRequired,
    /// The service item is not one the entry lists.
    #[error("service item is not allowed by the responsibility list")]
    ServiceItemNotAllowed,
    /// The entry requires a case number and none was given.
    #[error("the responsibility-list entry requires a case number")]
    CaseNumberRequired,
    /// The case number does not have the shape the entry sets.
    #[error("the case number does not have the shape the responsibility list sets ({pattern})")]
    CaseNumberInvalid {
        /// The entry's pattern.
        pattern: String,
    },
    /// The key field that picks the provider is present but not valid.
    #[error("key field `{field}` is not a valid {expected}")]
    InvalidRoutingKey {
        /// The key field.
        field: String,
        /// Its type.
        expected: String,
    },
    /// Several providers could answer and the request does not say which.
    #[error("several providers hold this resource; name one or send a routing key")]
    AmbiguousProvider,
}

/// A store operation that failed.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The store URL is not one yrdx knows.
    #[error(
        "the store URL `{0}` names a database yrdx does not support: use sqlite:PATH (SQLite) or postgres://USER@HOST:PORT/DB (PostgreSQL)"
    )]
    UnsupportedUrl(String),
    /// Could not connect.
    #[error("cannot connect to the store: {0}")]
    Connect(#[source] sqlx::Error),
    /// The store could not be reached.
    #[error(
        "cannot connect to the store at {target}: {cause}; check that the database runs there and accepts this connection (`store.url`)"
    )]
    Unreachable {
        /// `HOST:PORT` or the SQLite file.
        target: String,
        /// What the driver said.
        cause: String,
    },
    /// Another process runs a node of this name on this store.
    #[error(
        "node `{node}` already runs on this store ({how}); stop that process, or give this one its own `node` name in its configuration"
    )]
    NodeTaken {
        /// The node's name.
        node: String,
        /// What holds it: the lock file or the PostgreSQL lock.
        how: String,
    },
    /// Could not bring the schema up to date.
    #[error("cannot migrate the store: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    /// A statement failed.
    #[error("store failed while {what}: {source}")]
    Query {
        /// What was being done.
        what: &'static str,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// A store task has stopped or failed a batch the caller was part of.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The stored data contradicts itself.
    #[error("store is inconsistent: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// Wraps a driver error with what was being done.
    pub fn query(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
        move |source| StoreError::Query { what, source }
    }
}

/// A spreadsheet cell or column that is wrong, or a row that fails a
/// cross-check: where, the value, and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error(
    "{file} 工作表 sheet {sheet} 第 row {row} 行 列 column {column} 值 value `{value}`: {problem}"
)]
pub struct SheetError {
    /// The file name.
    pub file: String,
    /// The sheet (a CSV file's name without extension).
    pub sheet: String,
    /// The 1-based row, as the spreadsheet numbers it.
    pub row: usize,
    /// The column's Chinese header.
    pub column: String,
    /// The cell's value as written (empty for an empty cell).
    pub value: String,
    /// What is wrong.
    pub problem: String,
}

/// Loading or checking registry data failed.
#[derive(Debug, Error)]
pub enum RegistryError {
    /// A registry file could not be read or parsed.
    #[error("{file}: {message}")]
    File {
        /// The file name.
        file: String,
        /// What was wrong, with line and column where the parser gives them.
        message: String,
    },
    /// A spreadsheet cell or column is wrong, or a row fails a cross-check.
    #[error("{0}")]
    Sheet(Box<SheetError>),
    /// Several errors, all of one import, in file and row order.
    #[error("{} 处错误 errors:\n{}", .0.len(), .0.iter().map(|e| format!("  {e}")).collect::<Vec<_>>().join("\n"))]
    Many(Vec<RegistryError>),
    /// The data is not consistent (a reference to nothing, a duplicate, …).
    #[error("{at}: {problem}")]
    Inconsistent {
        /// Where: document, row, field.
        at: String,
        /// What is wrong.
        problem: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// There is no such registry version.
    #[error("registry version {0} does not exist")]
    NoSuchVersion(i64),
    /// No registry version is in force (none imported, or none effective yet).
    #[error(
        "no registry version is in force in the store: import one with `yrdx registry import --config yrdx.toml FILE…`, or list the registry files under `registry.files` in the configuration to seed an empty store at start"
    )]
    Empty,
}

/// Appending to or reading the exchange log failed.
#[derive(Debug, Error)]
pub enum LogError {
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The log writer has stopped.
    #[error("the log writer has stopped")]
    Closed,
    /// The record could not be encoded.
    #[error("cannot encode the exchange record: {0}")]
    Encode(String),
    /// The store holds no exchange log yet.
    #[error("the store holds no exchange log yet")]
    NoLog,
    /// No checkpoint has been signed yet.
    #[error("no checkpoint has been signed yet")]
    NoCheckpoint,
    /// An export must end at a size where a checkpoint was signed.
    #[error("no checkpoint was signed at size {0}; an export ends at a checkpoint's size")]
    NotACheckpointSize(u64),
    /// A proof or root was asked for a tree larger than the integrated one.
    #[error("tree size {requested} is beyond the integrated tree ({tree} leaves)")]
    BeyondTree {
        /// The size asked for.
        requested: u64,
        /// The integrated size.
        tree: u64,
    },
    /// A tile the integrated tree does not hold whole.
    #[error("tile {path} is beyond the integrated tree ({tree} leaves)")]
    TileBeyondTree {
        /// The tile's path.
        path: String,
        /// The integrated size.
        tree: u64,
    },
    /// A range of leaves that is reversed or too long.
    #[error("leaves {start}..{end}: a range must be ordered and at most {max} long")]
    Window {
        /// First index asked for.
        start: u64,
        /// One past the last.
        end: u64,
        /// The bound.
        max: u64,
    },
    /// The checkpoint key is named for another log.
    #[error("the log key is named `{key}` but the log's origin is `{origin}`; they must match")]
    KeyName {
        /// The key's name.
        key: String,
        /// The log's origin.
        origin: String,
    },
    /// Tree arithmetic refused (an index or size out of range).
    #[error(transparent)]
    Merkle(#[from] yrdx_signing::MerkleError),
    /// A checkpoint could not be made.
    #[error(transparent)]
    Checkpoint(#[from] yrdx_signing::CheckpointError),
    /// A tile could not be made.
    #[error(transparent)]
    Tile(#[from] yrdx_signing::TileError),
    /// Writing an export failed.
    #[error("cannot write the export: {0}")]
    Write(#[from] std::io::Error),
    /// The store holds a log made with other settings.
    #[error(
        "the store's log was created with origin `{stored_origin}` and hash {stored_hash}; the configuration says `{origin}` and {hash}. The log already holds leaves, so its origin and hash are fixed: set `log.origin` and `log.hash` back to the stored ones (a log still without leaves takes the configured ones at start)"
    )]
    Mismatch {
        /// Origin in the store.
        stored_origin: String,
        /// Hash algorithm in the store.
        stored_hash: String,
        /// Origin configured.
        origin: String,
        /// Hash algorithm configured.
        hash: String,
    },
}
