//! # yrdx-gateway
//!
//! The yrdx gateway: a mutually authenticated TLS listener in front of the
//! Yangtze River Delta data exchange. It admits only federation members, runs
//! every request through the exchange pipeline — identify, authorize against the
//! data-sharing responsibility list, map the request to the provider's native
//! API, call the provider over mutual TLS within the list's deadline, map the
//! answer to the shared catalogue, minimise it to the granted items — and
//! records every exchange, served or refused, in the exchange log before
//! answering. It also holds the `yrdx` command line.
//!
//! This crate is the only one that does I/O on the network and wires the others
//! together: verification and hashing live in `yrdx-signing`, mapping in
//! `yrdx-adapters`, the registry and store in `yrdx-registry`.
//!
//! Main entry points: [`Config::load`] then [`server::start`], which returns a
//! [`server::RunningGateway`].
#![forbid(unsafe_code)]

mod admin;
mod api;
mod audit_api;
pub mod bills;
pub mod cli;
pub mod cluster;
pub mod config;
mod console;
pub mod context;
pub mod identity;
pub mod log_key;
pub mod mappings;
pub mod meters;
pub mod metrics;
pub mod pipeline;
pub mod problem;
mod query;
pub mod registry_ops;
pub mod regulator;
mod reports_api;
mod route;
pub mod seals;
pub mod server;
pub mod state;
pub mod tls;
pub mod upstream;
pub mod verifier;

// The public interface.
pub use api::{OPENAPI, OPENAPI_PATH};
pub use config::{Config, ConfigError};
pub use problem::Problem;
pub use server::{RunningGateway, StartError, start};

/// The header carrying the request id, both ways.
pub const REQUEST_ID_HEADER: &str = "yrdx-request-id";
