//! Integration tests, built as one binary.

mod digest_md5;
mod fuzz_corpus;
