//! `yrdx adapters`: lint the province mapping files against the catalogue,
//! run their fixture cases, map one native document by hand. The catalogue
//! and the mapping folder come from `--catalogue` (TOML, CSV or XLSX) and
//! `--dir`, else from a node's configuration (`--config`: its
//! `registry.files` and `adapters.dir`); with neither, from the repository's
//! root: the demo catalogue and `adapters/provinces`.
//!
//! Everything here writes to the writer it is given, so tests read the output.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Subcommand;
use yrdx_adapters::{
    Expectation, Mapping, NativeResponse, Schema, Severity, run_case, schemas_from_catalogue,
};

const DEFAULT_CATALOGUE: &str = "conformance/demo/registry/catalogue.toml";
const DEFAULT_DIR: &str = "adapters/provinces";

/// Adapters commands.
#[derive(Debug, Subcommand)]
pub enum AdaptersCommand {
    /// Lint every mapping file against the catalogue (unknown items and key
    /// fields, type mismatches, unreachable rules and paths, codes outside the
    /// catalogue's lists, required items not mapped) and print each file's
    /// content hash, the lineage recorded with every exchange it maps.
    Check {
        /// Where the catalogue and the mappings are.
        #[command(flatten)]
        sources: Sources,
    },
    /// Run every fixture case (`{region}/cases/{mapping}/{case}.native.*`
    /// against `{case}.expected.json`) and show a diff for each failure.
    Test {
        /// Where the catalogue and the mappings are.
        #[command(flatten)]
        sources: Sources,
        /// Only the mappings whose file name contains this text.
        #[arg(long)]
        only: Option<String>,
    },
    /// Map one native document and print the catalogue record.
    Map {
        /// The provider: its member id, or its region code when that region
        /// has one mapping for the resource.
        #[arg(long)]
        provider: String,
        /// The catalogue resource, e.g. YRD-SCJG-0001.
        #[arg(long)]
        resource: String,
        /// The Content-Type the document came with (its charset decides the
        /// decoding when the mapping does not).
        #[arg(long)]
        content_type: Option<String>,
        /// Where the catalogue and the mappings are.
        #[command(flatten)]
        sources: Sources,
        /// The native document.
        file: PathBuf,
    },
}

/// Where an adapters command finds the catalogue and the mapping files.
#[derive(Debug, clap::Args)]
pub struct Sources {
    /// Catalogue file(s) whose resources the mappings are for (TOML, CSV or
    /// XLSX, as `yrdx registry import` reads them).
    #[arg(long = "catalogue", value_name = "FILE")]
    pub catalogue: Vec<PathBuf>,
    /// Folder searched recursively for `*.toml` mapping files.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// A node configuration (yrdx.toml): the catalogue from its
    /// `registry.files`, the mappings from its `adapters.dir`, unless
    /// --catalogue or --dir say otherwise.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
}

/// Runs an adapters command, writing its report to `out`.
pub fn run(command: AdaptersCommand, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    match command {
        AdaptersCommand::Check { sources } => {
            let (catalogue, dir) = sources.resolve()?;
            check(&catalogue, &dir, out)
        }
        AdaptersCommand::Test { sources, only } => {
            let (catalogue, dir) = sources.resolve()?;
            test(&catalogue, &dir, only.as_deref(), out)
        }
        AdaptersCommand::Map {
            provider,
            resource,
            content_type,
            sources,
            file,
        } => {
            let (catalogue, dir) = sources.resolve()?;
            map(
                &catalogue,
                &dir,
                &provider,
                &resource,
                content_type.as_deref(),
                &file,
                out,
            )
        }
    }
}

impl Sources {
    /// The catalogue files and the mapping folder: the flags, else the node
    /// configuration's `registry.files` and `adapters.dir`, else the
    /// repository's demo catalogue and `adapters/provinces`.
    fn resolve(self) -> anyhow::Result<(Vec<PathBuf>, PathBuf)> {
        let Sources {
            catalogue,
            dir,
            config,
        } = self;
        let config = config.as_deref().map(crate::Config::load).transpose()?;
        let catalogue = match (catalogue.is_empty(), &config) {
            (false, _) => catalogue,
            (true, Some(c)) if !c.registry.files.is_empty() => c.registry.files.clone(),
            (true, Some(c)) => anyhow::bail!(
                "{}: `registry.files` is empty, so it names no catalogue: give --catalogue FILE",
                c.source.display()
            ),
            (true, None) => vec![PathBuf::from(DEFAULT_CATALOGUE)],
        };
        let dir = match (dir, &config) {
            (Some(d), _) => d,
            (None, Some(c)) => c.adapters.dir.clone(),
            (None, None) => PathBuf::from(DEFAULT_DIR),
        };
        Ok((catalogue, dir))
    }
}

/// The resources of the catalogue files: TOML is read for its
/// `[[resource]]` tables; CSV and XLSX (the Chinese headers departments
/// publish) are read as `yrdx registry import` reads them.
fn load_schemas(files: &[PathBuf]) -> anyhow::Result<BTreeMap<String, Schema>> {
    let mut schemas = BTreeMap::new();
    for file in files {
        let name = file.display().to_string();
        let bytes = std::fs::read(file).with_context(|| format!("cannot read {name}"))?;
        let toml_file = file
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("toml"));
        let text = if toml_file {
            String::from_utf8(bytes).with_context(|| format!("{name}: not UTF-8 text"))?
        } else {
            let mut data = yrdx_registry::RegistryData::default();
            yrdx_registry::add_file(&mut data, &name, &bytes)?;
            data.members.clear();
            data.list.clear();
            yrdx_registry::to_toml(&data)?
        };
        for s in schemas_from_catalogue(&name, &text)? {
            schemas.insert(s.resource.clone(), s);
        }
    }
    Ok(schemas)
}

/// One mapping file as found: its path for messages, its path relative to the
/// folder, its text.
struct Found {
    shown: String,
    relative: PathBuf,
    text: String,
}

fn find_mappings(dir: &Path) -> anyhow::Result<Vec<Found>> {
    let mut files = Vec::new();
    collect(dir, &mut files).with_context(|| format!("cannot read {}", dir.display()))?;
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            Ok(Found {
                shown: path.display().to_string(),
                relative: path.strip_prefix(dir).unwrap_or(&path).to_owned(),
                text,
            })
        })
        .collect()
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            // Fixture cases are data, not mappings.
            if path.file_name().is_some_and(|n| n == "cases") {
                continue;
            }
            collect(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
    Ok(())
}

fn check(catalogue: &[PathBuf], dir: &Path, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let schemas = load_schemas(catalogue)?;
    let mut errors = 0usize;
    let mut warnings = 0usize;
    let mut seen: BTreeMap<(String, String), String> = BTreeMap::new();
    let found = find_mappings(dir)?;
    for f in &found {
        let mapping = match Mapping::parse(&f.shown, &f.text) {
            Ok(m) => m,
            Err(e) => {
                errors += 1;
                writeln!(out, "{}", with_severity(&e.to_string(), &f.shown, "error"))?;
                continue;
            }
        };
        writeln!(
            out,
            "{}  {} × {}  v{}  sha256:{}",
            f.shown,
            mapping.provider(),
            mapping.resource(),
            mapping.version(),
            mapping.hash()
        )?;
        let key = (
            mapping.provider().to_string(),
            mapping.resource().to_owned(),
        );
        if let Some(other) = seen.insert(key, f.shown.clone()) {
            errors += 1;
            writeln!(
                out,
                "{}: error: {} × {} is already mapped by {other}",
                f.shown,
                mapping.provider(),
                mapping.resource()
            )?;
        }
        let Some(schema) = schemas.get(mapping.resource()) else {
            errors += 1;
            writeln!(
                out,
                "{}: error: `resource`: `{}` is not in the catalogue",
                f.shown,
                mapping.resource()
            )?;
            continue;
        };
        for finding in mapping.lint(schema) {
            match finding.severity {
                Severity::Error => errors += 1,
                Severity::Warning => warnings += 1,
            }
            writeln!(
                out,
                "{}{}: {}: `{}`: {}",
                f.shown, finding.line, finding.severity, finding.key, finding.problem
            )?;
        }
    }
    writeln!(
        out,
        "{} mapping files, {errors} errors, {warnings} warnings",
        found.len()
    )?;
    Ok(exit(errors == 0))
}

/// `file:line: message` → `file:line: error: message`.
fn with_severity(message: &str, file: &str, severity: &str) -> String {
    let Some(rest) = message.strip_prefix(file) else {
        return format!("{file}: {severity}: {message}");
    };
    match rest.split_once(": ") {
        Some((line, text)) => format!("{file}{line}: {severity}: {text}"),
        None => format!("{file}: {severity}: {rest}"),
    }
}

fn exit(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn test(
    catalogue: &[PathBuf],
    dir: &Path,
    only: Option<&str>,
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    let schemas = load_schemas(catalogue)?;
    let (mut passed, mut failed) = (0usize, 0usize);
    for f in find_mappings(dir)? {
        let label = f.relative.with_extension("").display().to_string();
        if only.is_some_and(|o| !label.contains(o)) {
            continue;
        }
        let mapping = match Mapping::parse(&f.shown, &f.text) {
            Ok(m) => m,
            Err(e) => {
                failed += 1;
                writeln!(out, "FAIL {label}: {e}")?;
                continue;
            }
        };
        let Some(schema) = schemas.get(mapping.resource()) else {
            failed += 1;
            writeln!(
                out,
                "FAIL {label}: `{}` is not in the catalogue",
                mapping.resource()
            )?;
            continue;
        };
        let cases_dir = match (f.relative.parent(), f.relative.file_stem()) {
            (Some(region), Some(stem)) => dir.join(region).join("cases").join(stem),
            _ => continue,
        };
        let cases = find_cases(&cases_dir)?;
        if cases.is_empty() {
            writeln!(out, "---- {label}: no fixture cases")?;
        }
        for (case, native, expected) in cases {
            let result = (|| -> anyhow::Result<yrdx_adapters::CaseReport> {
                let expected =
                    expected.ok_or_else(|| anyhow::anyhow!("{case}.expected.json is missing"))?;
                let text = std::fs::read_to_string(&expected)
                    .with_context(|| format!("cannot read {}", expected.display()))?;
                let expectation = Expectation::parse(&text)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", expected.display()))?;
                let bytes = std::fs::read(&native)
                    .with_context(|| format!("cannot read {}", native.display()))?;
                Ok(run_case(&mapping, schema, &bytes, &expectation))
            })();
            match result {
                Ok(report) if report.passed => {
                    passed += 1;
                    writeln!(out, "ok   {label} {case}")?;
                }
                Ok(report) => {
                    failed += 1;
                    writeln!(out, "FAIL {label} {case}  (- expected, + got)")?;
                    for line in report.diff.lines() {
                        writeln!(out, "     {line}")?;
                    }
                }
                Err(e) => {
                    failed += 1;
                    writeln!(out, "FAIL {label} {case}: {e:#}")?;
                }
            }
        }
    }
    writeln!(
        out,
        "{} cases: {passed} passed, {failed} failed",
        passed + failed
    )?;
    Ok(exit(failed == 0 && passed > 0))
}

/// `(case name, native file, expected file if there is one)`, sorted.
fn find_cases(dir: &Path) -> anyhow::Result<Vec<(String, PathBuf, Option<PathBuf>)>> {
    let Ok(read) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for entry in read {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some((case, ext)) = name.split_once(".native.") else {
            continue;
        };
        if ext != "json" && ext != "xml" {
            continue;
        }
        let expected = dir.join(format!("{case}.expected.json"));
        let expected = expected.exists().then_some(expected);
        out.push((case.to_owned(), path, expected));
    }
    out.sort();
    Ok(out)
}

fn map(
    catalogue: &[PathBuf],
    dir: &Path,
    provider: &str,
    resource: &str,
    content_type: Option<&str>,
    file: &Path,
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    let schemas = load_schemas(catalogue)?;
    let schema = schemas
        .get(resource)
        .ok_or_else(|| anyhow::anyhow!("`{resource}` is not in the catalogue"))?;
    let mut candidates = Vec::new();
    for f in find_mappings(dir)? {
        let m = Mapping::parse(&f.shown, &f.text)?;
        let provider_matches = match provider.parse::<yrdx_signing::Region>() {
            Ok(region) => m.provider().region() == region,
            Err(_) => m.provider().to_string() == provider,
        };
        if m.resource() == resource && provider_matches {
            candidates.push(m);
        }
    }
    let mapping = match candidates.as_slice() {
        [one] => one,
        [] => anyhow::bail!(
            "no mapping under {} for {provider} × {resource}",
            dir.display()
        ),
        several => anyhow::bail!(
            "{provider} has {} mappings for {resource}: name the provider by member id",
            several.len()
        ),
    };
    mapping.check(schema)?;
    let body = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let record = mapping.catalogue_record(
        NativeResponse {
            content_type,
            body: &body,
        },
        schema,
    );
    match record {
        Ok(record) => {
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&serde_json::Value::Object(record))?
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            writeln!(
                out,
                "mapping_failed ({}): {e}\n  mapping {} sha256:{}",
                e.kind(),
                mapping.file(),
                mapping.hash()
            )?;
            Ok(ExitCode::FAILURE)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    fn run_to_string(command: AdaptersCommand) -> (ExitCode, String) {
        let mut out = Vec::new();
        let code = run(command, &mut out).unwrap();
        (code, String::from_utf8(out).unwrap())
    }

    #[test]
    fn check_passes_on_the_shipped_mappings_and_prints_hashes() {
        let (code, out) = run_to_string(AdaptersCommand::Check {
            sources: Sources {
                catalogue: vec![repo().join(DEFAULT_CATALOGUE)],
                dir: Some(repo().join(DEFAULT_DIR)),
                config: None,
            },
        });
        assert_eq!(code, ExitCode::SUCCESS, "{out}");
        assert!(out.contains("sha256:"), "{out}");
        assert!(out.contains(" 0 errors"), "{out}");
    }

    #[test]
    fn check_reports_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let text = std::fs::read_to_string(repo().join(DEFAULT_DIR).join("js/housing-fund.toml"))
            .unwrap()
            .replace("\"销户\" = \"3\"", "\"销户\" = \"7\"")
            .replace("name = { path = \"xm\" }", "nmae = { path = \"xm\" }");
        std::fs::write(dir.path().join("bad.toml"), &text).unwrap();
        std::fs::write(dir.path().join("broken.toml"), "provider = \n").unwrap();
        let (code, out) = run_to_string(AdaptersCommand::Check {
            sources: Sources {
                catalogue: vec![repo().join(DEFAULT_CATALOGUE)],
                dir: Some(dir.path().to_owned()),
                config: None,
            },
        });
        assert_eq!(code, ExitCode::FAILURE);
        let bad = dir.path().join("bad.toml").display().to_string();
        let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
        assert!(
            out.contains(&format!(
                "{bad}:{}: error: `items.nmae`: `nmae` is not an item",
                line_of("nmae")
            )),
            "{out}"
        );
        assert!(
            out.contains(&format!(
                "{bad}:{}: error: `items.account_status.codes`: `7` is not in the catalogue's code list",
                line_of("销户")
            )),
            "{out}"
        );
        assert!(
            out.contains("error: `items`: required item `name` is not mapped"),
            "{out}"
        );
        let broken = dir.path().join("broken.toml").display().to_string();
        assert!(out.contains(&format!("{broken}:1: error: ")), "{out}");
        assert!(out.contains("2 mapping files, 4 errors"), "{out}");
    }

    #[test]
    fn test_runs_every_case_and_shows_a_diff_on_failure() {
        let (code, out) = run_to_string(AdaptersCommand::Test {
            sources: Sources {
                catalogue: vec![repo().join(DEFAULT_CATALOGUE)],
                dir: Some(repo().join(DEFAULT_DIR)),
                config: None,
            },
            only: None,
        });
        assert_eq!(code, ExitCode::SUCCESS, "{out}");
        assert!(out.contains(" 0 failed"), "{out}");

        // A copy of one mapping whose expected record is wrong.
        let dir = tempfile::tempdir().unwrap();
        let src = repo().join(DEFAULT_DIR).join("js");
        std::fs::create_dir_all(dir.path().join("js/cases/housing-fund")).unwrap();
        std::fs::copy(
            src.join("housing-fund.toml"),
            dir.path().join("js/housing-fund.toml"),
        )
        .unwrap();
        let cases = src.join("cases/housing-fund");
        std::fs::copy(
            cases.join("ordinary.native.json"),
            dir.path()
                .join("js/cases/housing-fund/ordinary.native.json"),
        )
        .unwrap();
        let expected = std::fs::read_to_string(cases.join("ordinary.expected.json"))
            .unwrap()
            .replace("\"2400.00\"", "\"2400\"");
        std::fs::write(
            dir.path()
                .join("js/cases/housing-fund/ordinary.expected.json"),
            expected,
        )
        .unwrap();
        let (code, out) = run_to_string(AdaptersCommand::Test {
            sources: Sources {
                catalogue: vec![repo().join(DEFAULT_CATALOGUE)],
                dir: Some(dir.path().to_owned()),
                config: None,
            },
            only: None,
        });
        assert_eq!(code, ExitCode::FAILURE);
        assert!(out.contains("FAIL js/housing-fund ordinary"), "{out}");
        assert!(out.contains("- monthly_deposit: \"2400\""), "{out}");
        assert!(out.contains("+ monthly_deposit: \"2400.00\""), "{out}");
        assert!(out.contains("1 cases: 0 passed, 1 failed"), "{out}");
    }

    /// `yrdx adapters map` on one of the shipped native documents.
    fn map_shipped(provider: &str, resource: &str, native: &str) -> (ExitCode, String) {
        run_to_string(AdaptersCommand::Map {
            provider: provider.into(),
            resource: resource.into(),
            content_type: None,
            sources: Sources {
                catalogue: vec![repo().join(DEFAULT_CATALOGUE)],
                dir: Some(repo().join(DEFAULT_DIR)),
                config: None,
            },
            file: repo().join(DEFAULT_DIR).join(native),
        })
    }

    #[test]
    fn map_prints_the_record_of_one_document() {
        let (code, out) = map_shipped(
            "ah",
            "YRD-GA-0001",
            "ah/cases/household/ordinary.native.xml",
        );
        assert_eq!(code, ExitCode::SUCCESS, "{out}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["household_address"], "合肥市蜀山区长江西路888号3栋502室");
        // Jiangsu has two providers of different resources; the region is
        // enough when it has one mapping for the resource.
        let (code, out) = map_shipped(
            "js:123200004660012346:gjj",
            "YRD-GJJ-0001",
            "js/cases/housing-fund/unknown-status-no-fallback.native.json",
        );
        assert_eq!(code, ExitCode::FAILURE);
        assert!(out.starts_with("mapping_failed (unknown_code)"), "{out}");
    }
}
