//! Map request: the catalogue key becomes the provider's native request. The
//! key is checked while the request is parsed ([`check_key`]: types, check
//! characters) so a malformed key never reaches the list, the quotas or a
//! provider.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use yrdx_adapters::{Mapping, NativeRequest, Schema};

use crate::problem::{Problem, request_mapping};

/// The consumer's key checked against the resource's key fields and
/// normalised: part of parsing, so a malformed key is `bad_request` — naming
/// the key fields — before the list, the quotas or a provider see it.
pub fn check_key(
    schema: &Schema,
    key: &Map<String, Value>,
) -> Result<BTreeMap<String, String>, Problem> {
    schema.normalise_key(key).map_err(request_mapping)
}

/// Builds the native request from the checked key.
pub fn run(mapping: &Mapping, key: &BTreeMap<String, String>) -> Result<NativeRequest, Problem> {
    mapping.native_request_for(key).map_err(request_mapping)
}
