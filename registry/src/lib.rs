//! # yrdx-registry
//!
//! The system of record of yrdx: federation members, the shared catalogue, the
//! data-sharing responsibility list (数据共享责任清单), and the exchange log —
//! and the store that keeps them, on embedded SQLite or on PostgreSQL through
//! one schema.
//!
//! The pipeline never queries the store to decide an exchange: it consults a
//! [`Registry`] snapshot built from one imported version and checked for
//! consistency once. The store is written for what must be shared and durable:
//! registry versions and the exchange log — [`AuditLog`] appends leaves (group
//! commit, one leaf per exchange, durable before the answer), an
//! [`Integrator`] holding the lease builds the Merkle tree from them and signs
//! checkpoints, and [`Store`] reads back checkpoints, proofs, tiles, filtered
//! leaves and exports for regulators.
//!
//! This crate does not speak HTTP or TLS, and the log's cryptography — tree
//! hashing, proofs, checkpoint signatures, the export format — is
//! `yrdx-signing`'s, so a regulator's verifier needs nothing from here: this
//! crate decides what is stored where and when.
//!
//! ```
//! use yrdx_registry::{Registry, RegistryData};
//!
//! let mut data = RegistryData::default();
//! yrdx_registry::add_toml(&mut data, "members.toml", r#"
//!     [[member]]
//!     id = "zj:11330000002482028A:data"
//!     name = "浙江省数据共享平台"
//!     roles = ["consumer", "provider"]
//!     status = "active"
//!     endpoint = "https://zj.example:8443"
//! "#)?;
//! let registry = Registry::build(1, data)?;
//! assert_eq!(registry.members().count(), 1);
//! # Ok::<(), yrdx_registry::RegistryError>(())
//! ```
#![forbid(unsafe_code)]

mod clock;
mod dates;
mod diff;
mod error;
mod files;
mod import;
mod inspect;
mod log;
mod model;
mod nodes;
mod quota;
mod report;
mod report_tables;
mod request_ids;
mod sheets;
mod store;
pub mod testing;
mod tree;

// The public interface.
pub use clock::{CST, now, now_ms};
pub use dates::{format as format_date, parse as parse_date};
pub use diff::{Change, ChangeKind, FieldChange, diff};
pub use error::{LogError, Refusal, RegistryError, SheetError, StoreError};
pub use files::{add_file, add_toml, to_toml};
pub use import::{Import, Origin};
pub use inspect::{NodeName, StoreInfo, inspect, node_name};
pub use log::{
    Announced, AuditLog, CheckpointOptions, ExchangeRecord, Failing, LogHealth, LogOptions,
    LogStats, Outcome, Receipt, StoredLeaf,
};
pub use model::case_no;
pub use model::{
    Ask, Entry, EntryStatus, Fault, FieldDoc, Grant, Member, MemberStatus, Part, Quota, Registry,
    RegistryData, Resource, Role, SharingMethod, SharingType, normalise_fingerprint,
};
pub use nodes::{Heartbeat, NodeClaim, NodeRow};
pub use quota::{QuotaCounter, QuotaOptions, QuotaPeriod, Taken, period_keys, seconds_until_next};
pub use report::{
    ConsumerRefusals, Count, EntryReport, FulfilmentReport, Latency, LogSummary, Period, QuotaUse,
    RegionPair, ReportCodes, SizePoint, cst_time, parse_period,
};
pub use report_tables::{ReportCell, ReportLang, Table, report_csv, report_tables, report_xlsx};
pub use request_ids::{IdClaim, RequestKey};
pub use sheets::{
    CATALOGUE_SHEET, LIST_SHEET, MEMBERS_SHEET, OPEN_END, add_csv, add_xlsx, to_xlsx,
};
pub use store::{Backend, RegistryVersion, Store, StoreOptions, backend_of, redact};
pub use tree::{
    AdvisoryLease, EXPORT_CHECKPOINTS, EntryQuery, ExportSummary, INTEGRATE_CHUNK, Integration,
    Integrator, Lease, LogInfo, MAX_ENTRIES_PAGE, ProcessLease, StoredCheckpoint, lease_for,
};
