//! The crate graph as drawn in docs/architecture.md ("The crate graph"), and
//! the gateway's use of the conformance crate and of its own `cli` module.
//!
//! Allowed arrows between workspace crates (normal and build dependencies):
//!
//! - gateway → registry, adapters, signing, conformance
//! - registry → signing, adapters
//! - adapters → signing
//! - conformance → signing
//!
//! A dev-dependency may follow an allowed arrow, and any crate other than
//! conformance itself may also have a dev-dependency on conformance: its test
//! vectors, development PKI and sample providers are for tests. Nothing else.
//!
//! Inside the gateway, only `yrdx demo` and `yrdx pki init`
//! (`src/cli/demo.rs`, `src/cli/pki.rs`) use `yrdx_conformance`, and nothing
//! outside `src/cli/` and `src/main.rs` uses the `cli` module.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failing test"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The allowed arrows for normal and build dependencies, short names.
const ALLOWED: &[(&str, &str)] = &[
    ("gateway", "registry"),
    ("gateway", "adapters"),
    ("gateway", "signing"),
    ("gateway", "conformance"),
    ("registry", "signing"),
    ("registry", "adapters"),
    ("adapters", "signing"),
    ("conformance", "signing"),
];

/// Gateway source files (relative to `gateway/src`) that may use the
/// conformance crate.
const MAY_USE_CONFORMANCE: &[&str] = &["cli/demo.rs", "cli/pki.rs"];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A workspace crate's short name: `yrdx-registry` → `registry`.
fn short(name: &str) -> &str {
    name.strip_prefix("yrdx-").unwrap_or(name)
}

/// Every dependency between workspace crates: (from, to, kind), kind being
/// `normal`, `build` or `dev`.
fn workspace_arrows() -> BTreeSet<(String, String, String)> {
    let out = std::process::Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(workspace_root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // With --no-deps, the packages are exactly the workspace's members.
    let packages = metadata["packages"].as_array().unwrap();
    let members: BTreeSet<&str> = packages
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(
        members.contains("yrdx-gateway") && members.contains("yrdx-conformance"),
        "not the yrdx workspace: {members:?}"
    );
    let mut arrows = BTreeSet::new();
    for package in packages {
        let from = short(package["name"].as_str().unwrap());
        for dep in package["dependencies"].as_array().unwrap() {
            let name = dep["name"].as_str().unwrap();
            if !members.contains(name) {
                continue;
            }
            let kind = dep["kind"].as_str().unwrap_or("normal");
            arrows.insert((from.to_owned(), short(name).to_owned(), kind.to_owned()));
        }
    }
    arrows
}

/// Whether an arrow of this kind is allowed.
fn allowed(from: &str, to: &str, kind: &str) -> bool {
    ALLOWED.contains(&(from, to)) || (kind == "dev" && to == "conformance" && from != to)
}

#[test]
fn workspace_crates_depend_only_along_the_drawn_arrows() {
    let arrows = workspace_arrows();
    // The drawn arrows are there: the check reads the real graph.
    assert!(
        arrows.contains(&("gateway".into(), "registry".into(), "normal".into())),
        "cargo metadata shows no gateway → registry: {arrows:?}"
    );
    let forbidden: Vec<String> = arrows
        .iter()
        .filter(|(from, to, kind)| !allowed(from, to, kind))
        .map(|(from, to, kind)| format!("{from} → {to} ({kind} dependency)"))
        .collect();
    assert!(
        forbidden.is_empty(),
        "dependencies outside the crate graph in docs/architecture.md:\n  {}",
        forbidden.join("\n  ")
    );
}

/// Every `.rs` file under `dir`, relative to `base`, with `/` separators.
fn rust_files(base: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(base, &path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path.strip_prefix(base).unwrap();
            let rel: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            out.push((rel.join("/"), std::fs::read_to_string(&path).unwrap()));
        }
    }
}

fn gateway_sources() -> Vec<(String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &src, &mut files);
    assert!(
        files.iter().any(|(f, _)| f == "lib.rs"),
        "no lib.rs under {}",
        src.display()
    );
    files
}

/// Whether `text` names the `cli` module as a path segment (`cli::…`, not
/// `audit_cli::…`).
fn names_cli_module(text: &str) -> bool {
    text.match_indices("cli::").any(|(i, _)| {
        !text[..i]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

#[test]
fn only_demo_and_pki_use_the_conformance_crate_and_only_the_cli_uses_cli() {
    let files = gateway_sources();
    let mut wrong = Vec::new();
    for (file, text) in &files {
        if text.contains("yrdx_conformance") && !MAY_USE_CONFORMANCE.contains(&file.as_str()) {
            wrong.push(format!(
                "{file} uses yrdx_conformance (only {} may)",
                MAY_USE_CONFORMANCE.join(" and ")
            ));
        }
        let in_cli = file.starts_with("cli/") || file == "main.rs";
        if !in_cli && names_cli_module(text) {
            wrong.push(format!(
                "{file} uses the cli module (the node's library must not)"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "in gateway/src:\n  {}",
        wrong.join("\n  ")
    );
}

/// The top-level modules of gateway/src each file's `crate::…` paths name,
/// comments and tests left out.
fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (file, text) in gateway_sources() {
        let module = file
            .split('/')
            .next()
            .unwrap_or_default()
            .trim_end_matches(".rs")
            .to_owned();
        if module == "lib" || module == "main" {
            continue;
        }
        let code: Vec<&str> = text
            .split("#[cfg(test)]")
            .next()
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect();
        let code = code.join("\n");
        let deps = graph.entry(module.clone()).or_default();
        for (at, _) in code.match_indices("crate::") {
            let name: String = code[at + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            if !name.is_empty() && name != module {
                deps.insert(name);
            }
        }
    }
    graph
}

/// The gateway's modules depend on one another without cycles: no module
/// reaches itself through the modules it uses.
#[test]
fn the_gateway_modules_have_no_cycles() {
    let graph = module_graph();
    assert!(
        graph.get("route").is_some_and(|d| d.contains("pipeline")),
        "the module graph was not read: {graph:?}"
    );
    let mut cycles = Vec::new();
    for start in graph.keys() {
        let mut seen = BTreeSet::new();
        let mut next: Vec<&String> = graph[start].iter().collect();
        while let Some(m) = next.pop() {
            if m == start {
                cycles.push(start.clone());
                break;
            }
            if seen.insert(m.clone())
                && let Some(deps) = graph.get(m)
            {
                next.extend(deps);
            }
        }
    }
    assert!(
        cycles.is_empty(),
        "modules on a dependency cycle: {cycles:?}\nthe graph: {graph:#?}"
    );
}
