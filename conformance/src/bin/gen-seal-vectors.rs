//! Re-makes `conformance/vectors/seals/` from the test seal signer.
//!
//! `gen-seal-vectors [DIR]` writes the files (default: the crate's
//! `vectors/seals`); `gen-seal-vectors --check [DIR]` only compares and exits 1 if
//! anything differs. The output is deterministic: the same code makes the same bytes.

fn main() -> std::process::ExitCode {
    yrdx_conformance::seal_maker::vectors_tool(
        "gen-seal-vectors",
        "vectors/seals",
        yrdx_conformance::seal_maker::seal_vectors,
    )
}
