//! # puresasl
//!
//! A pure-Rust, sans-I/O implementation of SASL (RFC 4422): server and client state machines
//! for PLAIN, LOGIN, CRAM-MD5, DIGEST-MD5 (with its security layers) and the SCRAM family
//! (with channel binding), verified in constant time, with credentials looked up by property name through the
//! [`Auxprop`] trait, the way Cyrus SASL's auxprop plugins work.
//!
//! The crate never touches a socket: the application moves the bytes. A server is a
//! long-lived [`ServerConfig`] from which a [`ServerSession`] is made per connection; a
//! client is a [`ClientConfig`] and a [`ClientSession`]. Both are driven by `start` and
//! `step`; see [`server`] and [`client`] for the loop. (The one exception is opt-in: the
//! password checkers of [`pwcheck`], Cyrus's `pwcheck_method`, ask saslauthd or Courier's
//! authdaemond on their local unix sockets when a server is configured to use them.)
//!
//! ```
//! use std::sync::Arc;
//! use puresasl::*;
//!
//! let store = MemoryStore::new().with_password("tim", "example.org", "tanstaaftanstaaf");
//! let server = Arc::new(
//!     ServerConfig::builder("imap", "mail.example.org")
//!         .user_realm("example.org")
//!         .store(Arc::new(store))
//!         .build()?,
//! );
//! let client = Arc::new(ClientConfig::new(
//!     "imap",
//!     "mail.example.org",
//!     Arc::new(Credentials::new("tim", "tanstaaftanstaaf")),
//! ));
//!
//! let mut server_session = ServerSession::new(server);
//! let mut client_session = ClientSession::new(client);
//! let offered = server_session.mechanisms().join(" ");
//! let start = client_session.start(&offered)?;
//! let mut reply = server_session.start(start.mechanism, start.initial_response.as_deref())?;
//! let identity = loop {
//!     match reply {
//!         ServerStep::Continue(challenge) => {
//!             let response = match client_session.step(&challenge)? {
//!                 ClientStep::Continue(r) => r,
//!                 ClientStep::Done(r) => r.unwrap_or_default(),
//!             };
//!             reply = server_session.step(&response)?;
//!         }
//!         ServerStep::Done { identity, .. } => break identity,
//!     }
//! };
//! assert_eq!(identity.authcid, "tim");
//! # Ok::<(), puresasl::Error>(())
//! ```

#![forbid(unsafe_code)]

pub mod auxprop;
pub mod client;
pub mod config;
pub mod credentials;
pub mod crypt;
pub mod error;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod keys;
pub mod log;
mod mech;
pub mod pwcheck;
pub mod random;
pub mod sasldb;
pub mod secret;
pub mod security;
pub mod server;
pub mod server_secret;
mod session;
pub mod sql;

pub use auxprop::{Auxprop, MemoryStore};
pub use client::{
    ClientConfig, ClientSession, ClientStart, ClientStep, CredentialSource, Credentials,
};
pub use credentials::{PasswordCheck, PasswordPolicy};
pub use crypt::PasswordFormat;
pub use error::{CredentialKind, Error, ProtocolError, StoreError};
pub use keys::{ScramHash, ScramKeyCache, StoredKeys};
pub use log::{LogLevel, LogSink};
pub use random::{FixedRandom, OsRandom, Random};
pub use secret::Secret;
pub use security::{ChannelBinding, ChannelBindingKind, SecurityFlags, SecurityProperties};
pub use server::{
    AuthorizationPolicy, CanonicalizeUser, Identity, NameKind, ServerConfig, ServerSession,
    ServerStep,
};
pub use sql::{SqlConfig, SqlStore};

/// The names of every mechanism this crate implements, in the server's default preference
/// order (strongest first, each `-PLUS` variant before its base mechanism).
pub fn mechanism_names() -> &'static [&'static str] {
    static NAMES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| mech::MECHANISMS.iter().map(|info| info.name).collect())
}

/// Internals that the C library (`ffi/`), the fuzz targets, the tests and the benchmarks
/// reach into: the mechanism table, the Berkeley DB hash reader and writer, the unknown-user
/// decoy machinery. **No stability promise**: anything here may change or vanish in any
/// release.
#[doc(hidden)]
pub mod unstable {
    pub use crate::credentials::{Decoy, Decoys};
    pub use crate::mech::{InitialResponse, MECHANISMS, MechanismInfo, SecurityLayer, find};

    /// The Berkeley DB hash file reader and writer behind the sasldb2 store.
    pub mod bdb_hash {
        pub use crate::sasldb::bdb_hash::{ByteOrder, HashDb, WriteOptions, write};
    }
}

/// The README's Rust examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
