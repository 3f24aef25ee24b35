//! Replays the corpora of the C-side fuzz targets (`fuzz/corpus/ffi_base64/` and
//! `fuzz/corpus/ffi_api/`) through their bodies, so stable CI covers what the fuzzers found.

#![allow(clippy::unwrap_used, clippy::panic, reason = "test code")]

use std::path::{Path, PathBuf};

use puresasl_ffi as _; // the exported C symbols `api` declares

#[path = "../../fuzz/api/body.rs"]
mod api;

fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("no corpus at {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    assert!(!entries.is_empty(), "empty corpus for {target}");
    entries
}

#[test]
fn ffi_base64_corpus_replays() {
    for path in corpus("ffi_base64") {
        puresasl_ffi::base64::fuzz(&std::fs::read(&path).unwrap());
    }
}

#[test]
fn ffi_api_corpus_replays() {
    for path in corpus("ffi_api") {
        api::run(&std::fs::read(&path).unwrap());
    }
    api::remove_sasldb();
}
