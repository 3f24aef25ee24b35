//! The C ABI of puresasl: a binary drop-in for Cyrus SASL's `libsasl2.so.2`.
//!
//! This crate is the only one in the workspace with `unsafe` code; it only calls the public API
//! of the core crate. Every export runs inside a panic boundary (the `guard!` macro), reaches
//! its connection through one prelude (`conn!`), and maps core errors to Cyrus result codes
//! through one table ([`errors::code_of`]). `ffi/build.sh` links the static library into
//! `libsasl2.so.2` with every export bound to the ELF version node `SASL2`.
//!
//! The modules, by job: [`handles`] (the opaque types C holds), [`conn`] (what every
//! connection has, error detail, dispose), [`server`] and [`client`] (the exchanges),
//! [`interact`] (client credentials and prompts), [`properties`] (`sasl_setprop`,
//! `sasl_getprop`, `sasl_listmech`), [`layer`] (`sasl_encode`/`sasl_decode`), [`userdb`]
//! (`sasl_checkpass`, `sasl_setpass`, ...), `known_users` (`SASL_NOUSER` from the exchange's own
//! lookup), [`callbacks`] (the application's callbacks, converted
//! in one place), [`init`] and [`global`] (process-wide state), [`propctx`] (`prop_*`),
//! [`base64`], [`saslutil`], [`config_api`], [`plugins`], [`errors`], [`consts`], [`types`].

pub mod base64;
mod buffer;
pub mod callbacks;
pub mod client;
pub mod clientplug;
pub mod config_api;
pub mod conn;
pub mod consts;
pub mod errors;
pub mod global;
pub mod handles;
pub mod init;
pub mod interact;
mod known_users;
pub mod layer;
pub mod mechplug;
pub mod modules;
pub mod plugin_abi;
pub mod pluginfo;
pub mod plugins;
pub mod propctx;
pub mod properties;
pub mod saslutil;
pub mod server;
pub mod types;
pub mod userdb;
mod util;
pub mod utils;
