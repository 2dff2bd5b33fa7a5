//! The shipped province mappings against the demo catalogue: every mapping
//! checks clean, every fixture case passes, and the request direction round
//! trips for any valid key.
// clippy's test allowances cover #[test] functions only, not their helpers.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a panic is a failing test"
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use serde_json::{Map, Value};
use yrdx_adapters::{
    Expectation, ItemType, Mapping, Schema, Severity, run_case, schemas_from_catalogue,
};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_owned()
}

fn schemas() -> BTreeMap<String, Schema> {
    let file = root().join("../conformance/demo/registry/catalogue.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    schemas_from_catalogue("catalogue.toml", &text)
        .unwrap()
        .into_iter()
        .map(|s| (s.resource.clone(), s))
        .collect()
}

/// Every shipped mapping: `(region/name.toml, mapping)`.
fn mappings() -> Vec<(String, Mapping)> {
    let dir = root().join("provinces");
    let mut out = Vec::new();
    let mut regions: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    regions.sort();
    for region in regions {
        let mut files: Vec<_> = std::fs::read_dir(&region)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        files.sort();
        for f in files {
            let name = f.strip_prefix(&dir).unwrap().display().to_string();
            let text = std::fs::read_to_string(&f).unwrap();
            let m = Mapping::parse(&name, &text).unwrap_or_else(|e| panic!("{e}"));
            out.push((name, m));
        }
    }
    out
}

#[test]
fn every_shipped_mapping_checks_clean_against_the_demo_catalogue() {
    let schemas = schemas();
    let mappings = mappings();
    assert!(mappings.len() >= 9);
    for (name, m) in &mappings {
        let schema = schemas
            .get(m.resource())
            .unwrap_or_else(|| panic!("{name}: {} not in the catalogue", m.resource()));
        let errors: Vec<_> = m
            .lint(schema)
            .into_iter()
            .filter(|f| f.severity == Severity::Error)
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:?}");
    }
}

/// `(mapping file, case name, native path, expected path)` for every case.
fn cases() -> Vec<(String, String, PathBuf, PathBuf)> {
    let dir = root().join("provinces");
    let mut out = Vec::new();
    for (name, _) in mappings() {
        let (region, file) = name.split_once('/').unwrap();
        let stem = file.strip_suffix(".toml").unwrap();
        let cases = dir.join(region).join("cases").join(stem);
        let Ok(read) = std::fs::read_dir(&cases) else {
            continue;
        };
        let mut natives: Vec<PathBuf> = read
            .map(|e| e.unwrap().path())
            .filter(|p| {
                let n = p.file_name().unwrap().to_string_lossy();
                n.ends_with(".native.json") || n.ends_with(".native.xml")
            })
            .collect();
        natives.sort();
        for native in natives {
            let n = native.file_name().unwrap().to_string_lossy().into_owned();
            let case = n.split(".native.").next().unwrap().to_owned();
            let expected = cases.join(format!("{case}.expected.json"));
            assert!(expected.exists(), "{name}: {case} has no expected file");
            out.push((name.clone(), case, native, expected));
        }
    }
    out
}

#[test]
fn every_fixture_case_passes() {
    let schemas = schemas();
    let mappings: BTreeMap<String, Mapping> = mappings().into_iter().collect();
    let mut failures = Vec::new();
    let cases = cases();
    for (name, case, native, expected) in &cases {
        let m = &mappings[name];
        let exp = Expectation::parse(&std::fs::read_to_string(expected).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", expected.display()));
        let bytes = std::fs::read(native).unwrap();
        let report = run_case(m, &schemas[m.resource()], &bytes, &exp);
        if !report.passed {
            failures.push(format!("{name} {case}:\n{}", report.diff));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_mapping_has_fixture_cases() {
    let cases = cases();
    for (name, _) in mappings() {
        let n = cases.iter().filter(|(m, ..)| *m == name).count();
        assert!(n >= 3, "{name} has {n} fixture cases, fewer than 3");
    }
}

// ---------------------------------------------------------------------------
// The request direction round trips: key → native request → key.

const USCC_ALPHABET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

fn uscc() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["91", "92", "11", "12", "52"]),
        prop::sample::select(vec!["310115", "320106", "330106", "340104"]),
        prop::collection::vec(prop::sample::select(USCC_ALPHABET.to_vec()), 9),
    )
        .prop_map(|(kind, area, rest)| {
            let first17 = format!("{kind}{area}{}", String::from_utf8(rest).unwrap());
            let check = yrdx_signing::Uscc::check_char(&first17).unwrap();
            format!("{first17}{check}")
        })
}

fn resident_id() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["310115", "320102", "330106", "340104"]),
        1950u32..2010,
        1u32..13,
        1u32..29,
        0u32..1000,
    )
        .prop_map(|(area, y, m, d, seq)| {
            let first17 = format!("{area}{y}{m:02}{d:02}{seq:03}");
            let check = match yrdx_signing::check_resident_id(&format!("{first17}0")) {
                Ok(()) => '0',
                Err(yrdx_signing::IdentError::ResidentIdCheck { expected }) => expected,
                Err(e) => panic!("{e}"),
            };
            format!("{first17}{check}")
        })
}

/// Free text as certificate numbers are written: Chinese, brackets, and the
/// characters URLs and XML treat specially.
fn text(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec![
            "苏",
            "皖",
            "(",
            ")",
            "（",
            "）",
            "2021",
            "合肥市",
            "不动产权",
            "第",
            "号",
            "0012345",
            "&",
            "<",
            ">",
            "\"",
            "'",
            "/",
            "?",
            "#",
            "%",
            "+",
            " ",
            "=",
            "𠮷",
            "a",
            "Z",
        ]),
        1..8,
    )
    .prop_map(move |parts| {
        let s: String = parts.concat();
        let s: String = s.chars().take(max).collect();
        s.trim().to_owned()
    })
    .prop_filter("non-empty", |s| !s.is_empty())
}

fn key_strategy(schema: &Schema) -> BoxedStrategy<Map<String, Value>> {
    let mut fields: Vec<BoxedStrategy<(String, String)>> = Vec::new();
    for f in &schema.key {
        let name = f.name.clone();
        let s = match &f.ty {
            ItemType::Uscc => uscc().boxed(),
            ItemType::ResidentId => resident_id().boxed(),
            ItemType::Text { max_len } => text(max_len.unwrap_or(64)).boxed(),
            other => panic!("no generator for key type {other}"),
        };
        fields.push(s.prop_map(move |v| (name.clone(), v)).boxed());
    }
    fields
        .prop_map(|pairs| {
            pairs
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect()
        })
        .boxed()
}

#[test]
fn the_request_direction_round_trips_for_every_shipped_mapping() {
    let schemas = schemas();
    for (name, m) in mappings() {
        let schema = schemas[m.resource()].clone();
        let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
            cases: 64,
            ..ProptestConfig::default()
        });
        runner
            .run(&key_strategy(&schema), |key| {
                let request = m.native_request(&key, &schema).unwrap();
                let back = m.key_from_request(&request).unwrap();
                prop_assert_eq!(&back, &key, "{}", name);
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}
