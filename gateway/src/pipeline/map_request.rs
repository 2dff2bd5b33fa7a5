//! Map request: the catalogue key becomes the provider's native request. The
//! key is checked here (types, check characters) so a malformed key never
//! reaches a provider.

use serde_json::{Map, Value};
use yrdx_adapters::{Mapping, NativeRequest, Schema};

use crate::problem::{Problem, request_mapping};

/// Builds the native request.
pub fn run(
    mapping: &Mapping,
    schema: &Schema,
    key: &Map<String, Value>,
) -> Result<NativeRequest, Problem> {
    mapping.native_request(key, schema).map_err(request_mapping)
}
