#![no_main]
//! The C entry points driven as an application would (see `fuzz/api/body.rs`).

use puresasl_ffi as _; // links the exported C symbols the body declares

#[path = "../api/body.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));
