//! The SCRAM family (RFC 5802; SCRAM-SHA-256 in RFC 7677): SCRAM-SHA-1, -224, -256, -384
//! and -512, each also as `-PLUS` with TLS channel binding (RFC 5929 `tls-unique` and
//! `tls-server-end-point`, RFC 9266 `tls-exporter`). One implementation, parameterised by
//! [`ScramHash`].
//!
//! # The exchange (RFC 5802 section 5)
//!
//! ```text
//! C: client-first   n,,n=user,r=<client nonce>            (GS2 header + bare message)
//! S: server-first   r=<client nonce><server nonce>,s=<salt>,i=<iterations>
//! C: client-final   c=<base64(GS2 header + cb data)>,r=<nonce>,p=<ClientProof>
//! S: server-final   v=<ServerSignature>   or   e=<error>
//! ```
//!
//! The GS2 header (section 6) is `n` (client does not do channel binding), `y` (client
//! does, but believes the server does not: a server that offers `-PLUS` must then fail, as
//! a downgrade) or `p=<cb-name>` (`-PLUS` mechanisms only), followed by an optional
//! `a=<authzid>`. User names are SASLprepped (RFC 4013) and sent as `saslname` (`,` as `=2C`,
//! `=` as `=3D`); passwords are SASLprepped before PBKDF2 ([`normalize_password`]).
//!
//! # Server states ([`server`])
//!
//! `Start` → (no initial response: empty challenge) `ExpectClientFirst` →
//! `ExpectClientFinal` (server-first sent) → `Finished`, with `v=` as additional data on
//! success. A wrong proof, nonce or channel binding ends the exchange at once with the error
//! (as Cyrus does; no `e=` challenge is sent, the protocol's own failure reply carries the
//! outcome), and the session refuses every later step. An unknown user gets a salt and
//! iteration count like a known user's (see [`crate::credentials::Decoys`] and
//! [`crate::server_secret`]) and fails at the proof exactly like a wrong password.
//!
//! # Client states ([`client`])
//!
//! `Start` → `ExpectServerFirst` (client-first sent; an empty challenge re-sends it once) →
//! `ExpectServerFinal` (client-final sent) → done once `v=` checks out. The client bounds
//! the iteration count, checks the server nonce extends its own, and fails unless the server
//! signature is present and right. With a [`ScramKeyCache`] in its configuration, the keys of a
//! password, salt and count already derived are taken from it instead of running PBKDF2 again.
//!
//! [`ScramKeyCache`]: crate::keys::ScramKeyCache
//!
//! [`normalize_password`]: crate::keys::normalize_password

#![warn(clippy::indexing_slicing)]

pub(crate) mod client;
pub(crate) mod parse;
pub(crate) mod server;

use crate::keys::ScramHash;
use crate::mech::{InitialResponse, MechanismInfo};
use crate::security::SecurityFlags;

/// What every SCRAM mechanism protects against (as Cyrus declares it).
const PROVIDES: SecurityFlags = SecurityFlags::NOPLAINTEXT
    .union(SecurityFlags::NOACTIVE)
    .union(SecurityFlags::NOANONYMOUS)
    .union(SecurityFlags::MUTUAL_AUTH);

/// Length of the nonce each side contributes, in base64 characters (144 bits).
pub(crate) const NONCE_LEN: usize = 24;

macro_rules! scram_info {
    ($name:literal, $hash:expr, $plus:literal) => {
        MechanismInfo {
            name: $name,
            provides: PROVIDES,
            max_ssf: 0,
            initial_response: InitialResponse::Required,
            channel_binding: $plus,
            new_server: || Box::new(server::ScramServer::new($hash, $plus)),
            new_client: || Box::new(client::ScramClient::new($hash, $plus)),
        }
    };
}

pub(crate) const SHA512_PLUS: MechanismInfo =
    scram_info!("SCRAM-SHA-512-PLUS", ScramHash::Sha512, true);
pub(crate) const SHA512: MechanismInfo = scram_info!("SCRAM-SHA-512", ScramHash::Sha512, false);
pub(crate) const SHA384_PLUS: MechanismInfo =
    scram_info!("SCRAM-SHA-384-PLUS", ScramHash::Sha384, true);
pub(crate) const SHA384: MechanismInfo = scram_info!("SCRAM-SHA-384", ScramHash::Sha384, false);
pub(crate) const SHA256_PLUS: MechanismInfo =
    scram_info!("SCRAM-SHA-256-PLUS", ScramHash::Sha256, true);
pub(crate) const SHA256: MechanismInfo = scram_info!("SCRAM-SHA-256", ScramHash::Sha256, false);
pub(crate) const SHA224_PLUS: MechanismInfo =
    scram_info!("SCRAM-SHA-224-PLUS", ScramHash::Sha224, true);
pub(crate) const SHA224: MechanismInfo = scram_info!("SCRAM-SHA-224", ScramHash::Sha224, false);
pub(crate) const SHA1_PLUS: MechanismInfo = scram_info!("SCRAM-SHA-1-PLUS", ScramHash::Sha1, true);
pub(crate) const SHA1: MechanismInfo = scram_info!("SCRAM-SHA-1", ScramHash::Sha1, false);

/// `a XOR b` for two digests of the same length (ClientProof = ClientKey XOR ClientSignature).
pub(crate) fn xor(a: &[u8], b: &[u8]) -> Vec<u8> {
    a.iter().zip(b).map(|(x, y)| x ^ y).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_hashes() {
        for info in [SHA512, SHA384, SHA256, SHA224, SHA1] {
            assert!(ScramHash::from_mechanism_name(info.name).is_some());
            assert!(!info.channel_binding);
        }
        for info in [
            SHA512_PLUS,
            SHA384_PLUS,
            SHA256_PLUS,
            SHA224_PLUS,
            SHA1_PLUS,
        ] {
            assert!(info.name.ends_with("-PLUS") && info.channel_binding);
        }
    }
}
