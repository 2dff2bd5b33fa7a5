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
//! Main types: [`Mapping`] (a loaded mapping file), [`Schema`] (a catalogue
//! resource's key and typed items), [`NativeRequest`] / [`NativeResponse`],
//! [`Record`].
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

mod error;
mod mapping;
mod normalise;
mod path;
mod schema;
mod xml;

// The public interface.
pub use error::{MapError, MappingError};
pub use mapping::{Format, Mapping, NativeRequest, NativeResponse, Record};
pub use path::{Path, Segment};
pub use schema::{Field, ITEM_TYPE_NAMES, ItemType, Schema};
