//! Integration tests, built as one binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod basic_mechanisms;
mod canonicalize;
mod digest_md5;
mod fuzz_corpus;
mod interop;
mod pair;
mod sasldb;
mod scram;
mod sql;
mod vectors;
