//! Re-makes `conformance/vectors/bills/` from the test bill signer.
//!
//! `gen-bill-vectors [DIR]` writes the files (default: the crate's
//! `vectors/bills`); `gen-bill-vectors --check [DIR]` only compares and exits 1 if
//! anything differs. The output is deterministic: the same code makes the same bytes.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("gen-bill-vectors: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<ExitCode, Box<dyn std::error::Error>> {
    let mut check = false;
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("vectors/bills");
    for arg in std::env::args().skip(1) {
        if arg == "--check" {
            check = true;
        } else {
            dir = PathBuf::from(arg);
        }
    }
    let files = yrdx_conformance::bill_maker::bill_vectors()?;
    let mut differ = 0;
    for f in &files {
        let path = dir.join(&f.name);
        if check {
            if std::fs::read(&path).ok().as_deref() != Some(f.bytes.as_slice()) {
                eprintln!("differs: {}", f.name);
                differ += 1;
            }
        } else {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&path, &f.bytes)?;
        }
    }
    eprintln!(
        "{} {} files in {}",
        if check { "checked" } else { "wrote" },
        files.len(),
        dir.display()
    );
    Ok(if differ == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
