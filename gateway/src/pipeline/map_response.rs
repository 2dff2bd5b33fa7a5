//! Map response: the provider's native answer becomes a catalogue record,
//! validated against the catalogue's item types. On failure nothing of the
//! native payload goes further: the problem names items and paths only.

use yrdx_adapters::{Mapping, NativeResponse, Record, Schema};

use crate::problem::{Problem, response_mapping};
use crate::upstream::Answer;

/// Maps the answer.
pub fn run(mapping: &Mapping, schema: &Schema, answer: &Answer) -> Result<Record, Problem> {
    let response = NativeResponse {
        content_type: answer.content_type.as_deref(),
        body: &answer.body,
    };
    mapping
        .catalogue_record(response, schema)
        .map_err(response_mapping)
}
