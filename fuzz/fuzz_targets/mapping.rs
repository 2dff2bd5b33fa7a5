//! Provider answers are untrusted bytes: every shipped mapping must read any
//! of them, as JSON or XML in any declared encoding, without panicking, and
//! anything it returns must be a record (a listing's: rows) of catalogue
//! items.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use yrdx_adapters::{Document, Format, Mapping, Schema, schemas_from_catalogue};

struct Shipped {
    mappings: Vec<(Mapping, Schema)>,
}

/// Every mapping under adapters/provinces with its demo-catalogue schema,
/// read once when the fuzzer starts.
fn shipped() -> &'static Shipped {
    static SHIPPED: OnceLock<Shipped> = OnceLock::new();
    SHIPPED.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let catalogue =
            std::fs::read_to_string(root.join("conformance/demo/registry/catalogue.toml"))
                .expect("demo catalogue");
        let schemas = schemas_from_catalogue("catalogue.toml", &catalogue).expect("catalogue");
        let mut mappings = Vec::new();
        let provinces = root.join("adapters/provinces");
        for region in std::fs::read_dir(&provinces).expect("provinces") {
            let region = region.expect("entry").path();
            if !region.is_dir() {
                continue;
            }
            for file in std::fs::read_dir(&region).expect("region") {
                let file = file.expect("entry").path();
                if file.extension().is_none_or(|e| e != "toml") {
                    continue;
                }
                let text = std::fs::read_to_string(&file).expect("mapping");
                let m = Mapping::parse(&file.display().to_string(), &text).expect("parses");
                let schema = schemas
                    .iter()
                    .find(|s| s.resource == m.resource())
                    .expect("resource in the catalogue")
                    .clone();
                mappings.push((m, schema));
            }
        }
        assert!(mappings.len() >= 16, "mappings not found");
        Shipped { mappings }
    })
}

fn run(doc: &Document, format: Format) {
    for (m, schema) in &shipped().mappings {
        if m.response_format() != format {
            continue;
        }
        let records = if m.is_listing() {
            m.rows_from(doc, schema).unwrap_or_default()
        } else {
            m.record_from(doc, schema).into_iter().collect()
        };
        for record in &records {
            for item in record.keys() {
                assert!(schema.item(item).is_some(), "{item} is not a catalogue item");
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    for content_type in [None, Some("application/json; charset=GB18030")] {
        if let Ok(doc) = Document::parse(Format::Json, data, content_type, None) {
            run(&doc, Format::Json);
        }
    }
    // XML takes its encoding from its declaration.
    if let Ok(doc) = Document::parse(Format::Xml, data, None, None) {
        run(&doc, Format::Xml);
    }
});
