//! Export files come from the log operator, whom the verifier does not trust.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use yrdx_signing::{
    Checkpoint, ExportHeader, ExportOptions, HashAlg, LeafIndex, MemoryNodes, NoteSigner,
    TreeSize, VerifierKey, export_entry_line, parse_entry_bundle, verify_export,
};

const ORIGIN: &str = "fuzz.example/log";

/// A valid export of four leaves, so mutations start from something that
/// passes the signature check and reaches the leaf lines.
fn seed_export() -> &'static (Vec<u8>, VerifierKey) {
    static SEED: OnceLock<(Vec<u8>, VerifierKey)> = OnceLock::new();
    SEED.get_or_init(|| {
        let signer = NoteSigner::from_seed(ORIGIN, &[1; 32]).ok();
        let mut tree = MemoryNodes::new(HashAlg::Sha256);
        let mut lines = String::new();
        for i in 0..4u64 {
            let leaf = [b'a' + i as u8];
            let _ = tree.push_leaf(&leaf);
            if let Ok(index) = LeafIndex::new(i) {
                lines.push_str(&export_entry_line(index, &leaf));
            }
        }
        let signed = signer.as_ref().and_then(|s| {
            Checkpoint::new(ORIGIN, TreeSize::new(4).ok()?, tree.root())
                .ok()?
                .sign(s)
                .ok()
        });
        let header = ExportHeader {
            origin: ORIGIN.to_owned(),
            alg: HashAlg::Sha256,
            start: 0,
            prefix: Vec::new(),
            checkpoint: signed.unwrap_or_default(),
            checkpoints: Vec::new(),
        };
        let mut bytes = header.to_line().into_bytes();
        bytes.extend_from_slice(lines.as_bytes());
        let key = signer
            .map(|s| s.verifier_key())
            .or_else(|| VerifierKey::parse("a+00000000+AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").ok());
        (bytes, key.expect("seed key"))
    })
}

fuzz_target!(|data: &[u8]| {
    let (seed, key) = seed_export();
    let options = ExportOptions::default();
    let _ = verify_export(data, key, &options);
    // Splice the input into the valid export: replace its tail from a
    // data-chosen offset, which reaches the leaf-line logic.
    if let Some((&cut, rest)) = data.split_first() {
        let at = seed.len() * usize::from(cut) / 256;
        let mut spliced = seed.get(..at).unwrap_or_default().to_vec();
        spliced.extend_from_slice(rest);
        let _ = verify_export(&spliced, key, &options);
    }
    let _ = parse_entry_bundle(data, 3);
});
