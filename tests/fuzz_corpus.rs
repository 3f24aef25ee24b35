//! Replays every fuzz corpus entry (`fuzz/corpus/<target>/*`) through its target's body, so
//! stable CI covers what the fuzzers found.

use std::path::Path;

#[test]
fn every_target_has_a_corpus_and_replays_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    for (name, body) in puresasl::fuzzing::TARGETS {
        let dir = root.join(name);
        let entries: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| {
                panic!("no corpus for fuzz target {name} at {}: {e}", dir.display())
            })
            .map(|entry| entry.unwrap().path())
            .collect();
        assert!(!entries.is_empty(), "empty corpus for {name}");
        for path in entries {
            let data = std::fs::read(&path).unwrap();
            body(&data);
        }
    }
}
