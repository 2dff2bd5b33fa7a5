//! Re-makes `conformance/vectors/bills/` from the test bill signer.
//!
//! `gen-bill-vectors [DIR]` writes the files (default: the crate's
//! `vectors/bills`); `gen-bill-vectors --check [DIR]` only compares and exits 1 if
//! anything differs. The output is deterministic: the same code makes the same bytes.

fn main() -> std::process::ExitCode {
    yrdx_conformance::seal_maker::vectors_tool(
        "gen-bill-vectors",
        "vectors/bills",
        yrdx_conformance::bill_maker::bill_vectors,
    )
}
