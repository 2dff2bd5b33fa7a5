//! Signed notes and checkpoints arrive from logs, witnesses and export files.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yrdx_signing::{Checkpoint, Note, Tile, VerifierKey, open_checkpoint};

// The Go sumdb/note test key: real signatures are unlikely, but parsing up to
// the signature check is exercised.
const KEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";

fuzz_target!(|data: &[u8]| {
    if let Ok(note) = Note::parse(data) {
        let _ = Checkpoint::from_text(note.text());
    }
    if let Ok(key) = VerifierKey::parse(KEY) {
        let _ = open_checkpoint(data, &key);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = VerifierKey::parse(text);
        let _ = yrdx_signing::NoteSigner::parse(text);
        if let Ok(cp) = Checkpoint::from_text(text) {
            assert_eq!(Checkpoint::from_text(&cp.to_text()).ok(), Some(cp));
        }
        if let Ok(tile) = Tile::parse_path(text) {
            assert_eq!(tile.path(), text);
        }
    }
});
