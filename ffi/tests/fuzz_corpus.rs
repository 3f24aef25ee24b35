//! Replays the corpus of the `ffi_base64` fuzz target (`fuzz/corpus/ffi_base64/`) through its
//! body, so stable CI covers what the fuzzer found.

#![allow(clippy::unwrap_used, clippy::panic, reason = "test code")]

use std::path::Path;

#[test]
fn ffi_base64_corpus_replays() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/ffi_base64");
    let entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("no corpus at {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    assert!(!entries.is_empty(), "empty corpus");
    for path in entries {
        puresasl_ffi::base64::fuzz(&std::fs::read(&path).unwrap());
    }
}
