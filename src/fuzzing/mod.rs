//! Fuzz target bodies, shared by the cargo-fuzz binaries in `fuzz/` and by the corpus replay
//! test (`tests/fuzz_corpus.rs`), so stable CI runs every corpus entry.
//!
//! Every target asserts the same two things: no panic, and no acceptance of a wrong proof.
//! Not part of the stable API.

#![allow(
    clippy::panic,
    reason = "fuzz bodies report a broken invariant by panicking"
)]

mod basic;
mod digest_md5;
mod parsers;
mod sasldb;
pub mod scram;

use std::sync::Arc;

use crate::auxprop::MemoryStore;
use crate::random::FixedRandom;
use crate::server::{ServerConfig, ServerSession, ServerStep};

/// A fuzz target: its name (the `fuzz/fuzz_targets/<name>.rs` binary and the
/// `fuzz/corpus/<name>/` folder) and its body.
pub type Target = (&'static str, fn(&[u8]));

/// Every fuzz target.
pub const TARGETS: &[Target] = &[
    ("plain_server", basic::plain_server),
    ("plain_parse", basic::plain_parse),
    ("login_server", basic::login_server),
    ("cram_md5_server", basic::cram_md5_server),
    ("cram_md5_client", basic::cram_md5_client),
    ("basic_clients", basic::basic_clients),
    ("single_message_servers", basic::single_message_servers),
    ("digest_md5_server", digest_md5::digest_md5_server),
    ("digest_md5_client", digest_md5::digest_md5_client),
    ("digest_md5_parse", digest_md5::digest_md5_parse),
    ("digest_md5_layer", digest_md5::digest_md5_layer),
    (
        "digest_md5_session_layer",
        digest_md5::digest_md5_session_layer,
    ),
    ("sasldb_reader", sasldb::reader),
    ("scram_server", scram::scram_server),
    ("scram_client", scram::scram_client),
    ("scram_parse", scram::scram_parse),
    ("config_parse", parsers::config_parse),
    ("sasldb_writer", parsers::sasldb_writer),
    ("stored_secrets", parsers::stored_secrets),
    ("sql_template", parsers::sql_template),
    ("authdaemond_reply", parsers::authdaemond_reply),
];

/// Runs the target called `name` on `data`; unknown names panic (a wiring bug).
pub fn run(name: &str, data: &[u8]) {
    match TARGETS.iter().find(|(target, _)| *target == name) {
        Some((_, body)) => body(data),
        None => panic!("no fuzz target named {name}"),
    }
}

/// The user every fuzz server knows.
pub const USER: &str = "user";
/// That user's password.
pub const PASSWORD: &str = "pencil";
/// The realm of every fuzz server.
pub const REALM: &str = "example.org";

/// The SCRAM iteration count of the fuzz servers: low, so a target runs thousands of
/// exchanges per second (the count changes the cost, not the logic under test).
pub const SCRAM_ITERATIONS: u32 = 2;

/// A server on a store holding [`USER`] with [`PASSWORD`], with fixed randomness.
pub fn server(mechanism: &str) -> ServerSession {
    let store = MemoryStore::new().with_password(USER, REALM, PASSWORD);
    let config = ServerConfig::builder("imap", REALM)
        .store(Arc::new(store))
        .scram_iterations(SCRAM_ITERATIONS)
        .mechanisms([mechanism])
        .random(Arc::new(FixedRandom::new(7)))
        .build();
    match config {
        Ok(config) => ServerSession::new(Arc::new(config)),
        Err(error) => panic!("fuzz server config: {error}"),
    }
}

/// Splits fuzz input into peer messages at `\n\n` boundaries (a simple, mutation-friendly
/// framing); at most `limit` messages.
pub fn messages(data: &[u8], limit: usize) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while out.len() < limit {
        match rest.windows(2).position(|w| w == b"\n\n") {
            Some(at) => {
                out.push(&rest[..at]);
                rest = &rest[at + 2..];
            }
            None => {
                out.push(rest);
                break;
            }
        }
    }
    out
}

/// Drives `session` through `messages` (the first as initial response when `initial`);
/// returns the server's challenges and whether it accepted. Stops at the first error.
pub fn drive_server(
    session: &mut ServerSession,
    mechanism: &str,
    initial: bool,
    messages: &[&[u8]],
) -> (Vec<Vec<u8>>, bool) {
    let mut challenges = Vec::new();
    let mut inputs = messages.iter();
    let first = if initial {
        inputs.next().copied()
    } else {
        None
    };
    let mut reply = session.start(mechanism, first);
    loop {
        match reply {
            Ok(ServerStep::Continue(challenge)) => {
                challenges.push(challenge);
                match inputs.next() {
                    Some(input) => reply = session.step(input),
                    None => return (challenges, false),
                }
            }
            Ok(ServerStep::Done { identity, .. }) => {
                assert!(
                    session.step(b"").is_err(),
                    "a finished session must refuse steps"
                );
                assert_eq!(identity.authcid, USER, "accepted an unknown user");
                return (challenges, true);
            }
            Err(_) => {
                assert!(
                    session.step(b"x").is_err(),
                    "a failed session must stay failed"
                );
                return (challenges, false);
            }
        }
    }
}
