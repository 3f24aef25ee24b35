//! Integration tests, built as one binary.

mod fuzz_corpus;
mod scram;
mod scram_interop;
