//! What the ffi test binaries share: where things are, and linking `libsasl2.so.2` from the
//! static library cargo built for the test run.

#![allow(dead_code, reason = "each test binary uses its own subset")]

use std::path::PathBuf;
use std::process::{Command, Output};

/// `ffi/`.
pub fn ffi_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The directory cargo put this profile's artifacts in (`target/debug`).
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

/// A process's status and output, for assertion messages.
pub fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The static library cargo built for this test run: the newest `libpuresasl_ffi*.a` in the
/// profile directory or its `deps/` (cargo does not copy it up when building tests).
pub fn static_library() -> PathBuf {
    let dir = profile_dir();
    let mut candidates: Vec<PathBuf> = vec![dir.join("libpuresasl_ffi.a")];
    if let Ok(entries) = std::fs::read_dir(dir.join("deps")) {
        candidates.extend(entries.flatten().map(|e| e.path()).filter(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            name.starts_with("libpuresasl_ffi-") && name.ends_with(".a")
        }));
    }
    candidates
        .into_iter()
        .filter_map(|p| Some((std::fs::metadata(&p).ok()?.modified().ok()?, p)))
        .max()
        .map(|(_, p)| p)
        .expect("cargo did not build libpuresasl_ffi.a")
}

/// Links `libsasl2.so.2` into `target/<profile>/ffi-tests/<subdir>/` and returns that folder.
/// Not the profile directory itself: cargo puts that on every test's `LD_LIBRARY_PATH`, where
/// our library would replace Cyrus's under other tests' Cyrus peers.
pub fn link_library(subdir: &str) -> PathBuf {
    let dir = profile_dir().join("ffi-tests").join(subdir);
    std::fs::create_dir_all(&dir).unwrap();
    let out = Command::new(ffi_dir().join("build.sh"))
        .arg("--link-only")
        .arg(static_library())
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "link failed: {}", text(&out));
    dir
}
