//! Records per second for every shipped mapping, on its `ordinary` fixture
//! case, next to a floor: serde_json parsing the same JSON document into a
//! `Value` and writing it out again; for XML, decoding the same bytes and
//! reading every quick-xml event without building anything.
//!
//! `cargo bench -p yrdx-adapters --bench mapping`; figures in
//! docs/performance.md.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "bench setup: a panic is a broken bench"
)]

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use yrdx_adapters::{
    Expectation, Format, Mapping, NativeResponse, decode_text, schemas_from_catalogue,
};

struct Subject {
    label: String,
    mapping: Mapping,
    schema: yrdx_adapters::Schema,
    native: Vec<u8>,
    content_type: Option<String>,
}

fn subjects() -> Vec<Subject> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let catalogue =
        std::fs::read_to_string(root.join("../conformance/demo/registry/catalogue.toml")).unwrap();
    let schemas = schemas_from_catalogue("catalogue.toml", &catalogue).unwrap();
    let provinces = root.join("provinces");
    let mut files: Vec<PathBuf> = Vec::new();
    for region in std::fs::read_dir(&provinces).unwrap() {
        let region = region.unwrap().path();
        if region.is_dir() {
            for f in std::fs::read_dir(&region).unwrap() {
                let f = f.unwrap().path();
                if f.extension().is_some_and(|e| e == "toml") {
                    files.push(f);
                }
            }
        }
    }
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let mapping = Mapping::parse(&f.display().to_string(), &text).unwrap();
        let schema = schemas
            .iter()
            .find(|s| s.resource == mapping.resource())
            .unwrap()
            .clone();
        let stem = f.file_stem().unwrap().to_string_lossy().into_owned();
        let region = f
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let cases = f.parent().unwrap().join("cases").join(&stem);
        let ext = match mapping.response_format() {
            Format::Json => "json",
            Format::Xml => "xml",
        };
        // The case named `ordinary`, or the first whose expectation is a record.
        let mut names: Vec<String> = std::fs::read_dir(&cases)
            .unwrap()
            .filter_map(|e| {
                let n = e.unwrap().file_name().to_string_lossy().into_owned();
                n.strip_suffix(".expected.json").map(str::to_owned)
            })
            .collect();
        names.sort_by_key(|n| (n != "ordinary", n.clone()));
        let (native, content_type) = names
            .iter()
            .find_map(|n| {
                let exp = Expectation::parse(
                    &std::fs::read_to_string(cases.join(format!("{n}.expected.json"))).unwrap(),
                )
                .unwrap();
                matches!(exp.outcome, yrdx_adapters::Outcome::Record(_)).then(|| {
                    (
                        std::fs::read(cases.join(format!("{n}.native.{ext}"))).unwrap(),
                        exp.content_type,
                    )
                })
            })
            .expect("a case with a record");
        out.push(Subject {
            label: format!("{region}/{stem}"),
            mapping,
            schema,
            native,
            content_type,
        });
    }
    out
}

fn floor(subject: &Subject) -> usize {
    match subject.mapping.response_format() {
        Format::Json => {
            let v: serde_json::Value = serde_json::from_slice(&subject.native).unwrap();
            serde_json::to_vec(&v).unwrap().len()
        }
        Format::Xml => {
            let text = decode_text(
                &subject.native,
                subject.content_type.as_deref(),
                Format::Xml,
                None,
            )
            .unwrap();
            let mut reader = quick_xml::Reader::from_str(&text);
            let mut events = 0usize;
            loop {
                match reader.read_event().unwrap() {
                    quick_xml::events::Event::Eof => break events,
                    _ => events += 1,
                }
            }
        }
    }
}

fn bench(c: &mut Criterion) {
    for subject in subjects() {
        let mut group = c.benchmark_group(&subject.label);
        group.throughput(Throughput::Elements(1));
        group.bench_function("map", |b| {
            b.iter(|| {
                let record = subject
                    .mapping
                    .catalogue_record(
                        NativeResponse {
                            content_type: subject.content_type.as_deref(),
                            body: black_box(&subject.native),
                        },
                        &subject.schema,
                    )
                    .unwrap();
                black_box(record)
            })
        });
        group.bench_function("floor", |b| {
            b.iter(|| black_box(floor(black_box(&subject))))
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    targets = bench
}
criterion_main!(benches);
