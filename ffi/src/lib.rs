//! The C ABI of puresasl: a binary drop-in for Cyrus SASL's `libsasl2.so.2`.
//!
//! This crate is the only one in the workspace with `unsafe` code; it only calls the public API
//! of the core crate.
