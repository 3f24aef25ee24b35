//! Integration tests, built as one binary.

mod digest_md5;
mod digest_md5_interop;
mod fuzz_corpus;
