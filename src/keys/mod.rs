//! Derivations of stored secrets: everything a store keeps in place of a password, and how
//! it is made from one.
//!
//! - `scram`: SCRAM stored keys (RFC 5802, RFC 5803 text), per hash;
//! - `digest_md5`: the DIGEST-MD5 secret `MD5(user:realm:password)` (RFC 2831);
//! - `cram_md5`: the CRAM-MD5 secret, Cyrus's precomputed HMAC-MD5 pad states;
//! - `cache`: the SCRAM client's bounded cache of derived keys ([`ScramKeyCache`]).
//!
//! Mechanisms and the credential layer call down into this module; it calls nothing above it.

mod cache;
pub(crate) mod cram_md5;
pub(crate) mod digest_md5;
mod scram;

use hmac::{EagerHash, Hmac, KeyInit, Mac};

pub use cache::ScramKeyCache;
pub use cram_md5::cram_md5_secret;
pub use digest_md5::digest_md5_ha1;
pub(crate) use scram::ClientKeys;
#[allow(unused_imports, reason = "for the SCRAM mechanism module")]
pub(crate) use scram::with_digest;
pub use scram::{MAX_STORED_ITERATIONS, ScramHash, StoredKeys, normalize_password};

/// `HMAC-D(key, parts[0] || parts[1] || ...)`: the one HMAC of the crate (SCRAM's, CRAM-MD5's
/// and the DIGEST-MD5 layers' MAC).
pub(crate) fn hmac<D: EagerHash>(key: &[u8], parts: &[&[u8]]) -> digest::Output<Hmac<D>> {
    // HMAC accepts keys of every length, so this never fails.
    let mut mac = <Hmac<D> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| <Hmac<D> as KeyInit>::new(&Default::default()));
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes()
}
