//! Integration tests, built as one binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod anonymous_external;
mod basic_mechanisms;
mod canonicalize;
mod client_prompts;
mod concurrency;
mod crypt;
mod digest_md5;
mod fuzz_corpus;
mod interop;
mod pair;
mod pwcheck;
mod sasldb;
mod scram;
mod security;
mod sql;
mod vectors;
