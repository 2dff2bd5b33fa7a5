//! # yrdx-adapters
//!
//! Each province answers in its own schema: its own field names, encodings, date
//! formats and code lists. This crate maps between a provider's native JSON or XML
//! and the shared catalogue, in both directions, from declarative mapping files
//! (one per provider × resource). It is pure: documents in, records out; it never
//! opens a socket or a file, so every mapping can be fuzzed and benchmarked alone.
//!
//! It deliberately does not decide who may see which items (that is the
//! responsibility list, in `yrdx-registry`) and does not talk to providers (that
//! is the gateway).
//!
//! The mapping language (paths with wildcards and XML namespaces, rules with
//! conditions, joins and splits, code tables with explicit fallbacks, declared
//! treatments of null, empty and absent values, units) is documented in
//! `docs/adapters.md`. It has no loops or recursion: mapping time is linear in
//! the document.
//!
//! Main types: [`Mapping`] (a loaded mapping file: [`Mapping::lint`] against a
//! [`Schema`], [`Mapping::native_request`], [`Mapping::catalogue_record`]),
//! [`Schema`] (a catalogue resource's key and typed items), [`Document`] (a
//! native JSON or XML document as one tree of [`Node`]s, numbers exact),
//! [`NativeRequest`] / [`NativeResponse`], [`Record`], and the fixture-case
//! runner [`run_case`]. The [`normalisers`] are public for tools.
//!
//! ```
//! use yrdx_adapters::{Field, ItemType, Mapping, NativeResponse, Schema};
//!
//! let schema = Schema {
//!     resource: "YRD-SCJG-0001".into(),
//!     key: vec![Field { name: "uscc".into(), ty: ItemType::Uscc, required: true, codes: vec![] }],
//!     items: vec![Field { name: "name".into(), ty: ItemType::Text { max_len: None }, required: true, codes: vec![] }],
//! };
//! let mapping = Mapping::parse("example.toml", r#"
//!     provider = "zj:11330000002482028A:data"
//!     resource = "YRD-SCJG-0001"
//!     version = "1"
//!     [request]
//!     method = "POST"
//!     path = "/openapi/enterprise"
//!     body = { format = "json", fields = { creditCode = "uscc" } }
//!     [response]
//!     format = "json"
//!     record = "result"
//!     [items]
//!     name = { path = "entName" }
//! "#)?;
//! mapping.check(&schema)?;
//! let record = mapping.catalogue_record(
//!     NativeResponse { content_type: None, body: br#"{"result":{"entName":"Example Ltd"}}"# },
//!     &schema,
//! )?;
//! assert_eq!(record["name"], "Example Ltd");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

mod area;
mod cases;
mod convert;
mod doc;
mod error;
mod json;
mod lint;
mod mapping;
mod normalise;
mod path;
mod request;
mod response;
mod schema;
mod spec;
mod xml;

// The public interface.
pub use cases::{CaseReport, Expectation, Outcome, error_kinds, run_case};
pub use doc::{Attr, Document, Element, Format, MAX_DEPTH, MAX_NODES, Node, decode_text};
pub use error::{Line, MapError, MappingError};
pub use lint::{Finding, Severity};
pub use mapping::{Mapping, NativeResponse};
pub use path::{Binding, Hit, Index, Ns, Path, Step};
pub use request::NativeRequest;
pub use response::Record;
pub use schema::{Field, ITEM_TYPE_NAMES, ItemType, Schema, schemas_from_catalogue};

/// The normalisers, for tools and tests that want one alone.
pub mod normalisers {
    pub use crate::area::{PROVINCES, YRD_PREFECTURES};
    pub use crate::normalise::{
        CST, Unit, Units, area_code, boolean, date, datetime, decimal, half_width, integer,
        resident_id, uscc, year_month,
    };
}
