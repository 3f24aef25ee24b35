//! Integration tests, built as one binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod basic_mechanisms;
mod fuzz_corpus;
mod interop;
mod pair;
mod sasldb;
mod vectors;
