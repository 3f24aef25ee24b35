//! DIGEST-MD5 (RFC 2831), with the `auth-int` and `auth-conf` security layers.
//!
//! RFC 6331 moved DIGEST-MD5 to Historic: realms and character sets interoperate badly, the
//! stored secret `MD5(user:realm:password)` is password-equivalent, there is no channel
//! binding, and the confidentiality ciphers (DES, RC4) are weak. It is here because deployed
//! mail servers still list it (`mech_list: cram-md5 digest-md5 plain login`); prefer SCRAM,
//! and TLS over its security layers.
//!
//! # Exchange (RFC 2831 section 2.1)
//!
//! 1. The server sends a challenge (section 2.1.1): `realm` (the configured user realm, else
//!    the host name), a fresh `nonce` from the configured randomness, the `qop` values and
//!    `cipher`s the security properties allow, `maxbuf`, `charset=utf-8` and
//!    `algorithm=md5-sess`.
//! 2. The client answers (section 2.1.2) with `username`, `realm`, `nonce`, `cnonce`,
//!    `nc=00000001`, `digest-uri` (`service/host`), the chosen `qop` and `cipher`, its
//!    `maxbuf`, an optional `authzid`, and `response`, the digest over all of them and
//!    `H(A1)` (section 2.1.2.1).
//! 3. The server checks it and sends `rspauth` (section 2.1.3) with its success, which the
//!    client verifies in constant time: the server proves it knows the secret too.
//!
//! After that, `auth-int` and `auth-conf` wrap application data (sections 2.3 and 2.4, see
//! the `layer` module): `len(4) || msg || HMAC-MD5(Ki, seq || msg)[0..10] || 0x0001 || seq`,
//! with `msg`, padding and MAC encrypted under `auth-conf`.
//!
//! Server states: `Start` → `ExpectResponse { offer }` → `Finished`.
//! Client states: `Start` → `ExpectChallenge` → `ExpectRspauth { expected, layer }` →
//! `Finished`.
//!
//! # What the server enforces
//!
//! - Each nonce serves one response: the offer is consumed by the step that checks it, and
//!   `nc` must be `00000001` (no fast reauth), so a replayed response fails.
//! - `digest-uri` must be `<service>/<fqdn>[/serv-name]` for this server (case-insensitive);
//!   `ServerConfigBuilder::digest_uri_any_host` relaxes the host part for servers known by
//!   several names.
//! - The chosen `qop` and `cipher` must be among those offered; `maxbuf` within 16..=16777215.
//! - The secret comes from the plaintext `userPassword`, else the stored
//!   `cmusaslsecretDIGEST-MD5` (HA1) when the client hashed the same user and realm names. An
//!   unknown user costs the same hashing against a secret derived from the server secret and
//!   fails with the same [`AuthenticationFailed`](crate::Error::AuthenticationFailed); the log
//!   says which it was.
//! - Names and passwords are hashed in ISO-8859-1 when every character fits (section
//!   2.1.2.1, as Cyrus does), else in UTF-8; without `charset=utf-8` the client's names are
//!   read as ISO-8859-1.
//! - Messages are bounded (challenge 2048 bytes, response 4096) and parsed strictly (see the
//!   `parse` module).
//!
//! # Quality of protection
//!
//! As Cyrus: with `musthave = min_ssf - external_ssf` and `limit = max_ssf - external_ssf`,
//! the server offers `auth` if `musthave` is 0, `auth-int` if `limit >= 1` and `musthave <=
//! 1`, and every cipher whose strength lies in `[musthave, limit]`; the client takes the
//! strongest such cipher, else integrity, else none. Strengths: rc4-40 40, rc4-56 56, des 55,
//! 3des 112, rc4 128, integrity 1. A `max_buf_size` under 16 allows no layer.
//!
//! The server speaks first. Cyrus's client sends an initial response when it re-authenticates
//! to a server it saw before (fast reauth, `nc` > 1); this server does not support reauth and
//! ignores such an initial response, answering with a fresh challenge as Cyrus does when its
//! reauth cache misses.

pub(crate) mod client;
pub(crate) mod layer;
pub(crate) mod parse;
pub(crate) mod server;

pub(crate) use crate::keys::digest_md5::{latin1_or_utf8, user_secret};

use md5::{Digest as _, Md5};

use crate::mech::{InitialResponse, MechanismInfo};
pub(crate) use crate::mech::{hex, unhex16};
use crate::secret::Secret;
use crate::security::SecurityFlags;

pub(crate) use layer::Cipher;

pub(crate) const INFO: MechanismInfo = MechanismInfo {
    name: "DIGEST-MD5",
    provides: SecurityFlags::NOPLAINTEXT
        .union(SecurityFlags::NOANONYMOUS)
        .union(SecurityFlags::MUTUAL_AUTH),
    max_ssf: 128,
    initial_response: InitialResponse::Allowed,
    channel_binding: false,
    new_server: || Box::new(server::DigestMd5Server::default()),
    new_client: || Box::new(client::DigestMd5Client::default()),
};

/// RFC 2831 section 2.1.1: a challenge is at most 2048 bytes.
pub(crate) const MAX_CHALLENGE: usize = 2048;
/// RFC 2831 section 2.1.2: a response is at most 4096 bytes.
pub(crate) const MAX_RESPONSE: usize = 4096;
/// The `maxbuf` a peer assumes when the directive is absent.
pub(crate) const DEFAULT_MAXBUF: u32 = 65536;
/// The smallest `maxbuf` RFC 2831 allows.
pub(crate) const MIN_MAXBUF: u32 = 16;
/// The largest `maxbuf` RFC 2831 allows (and Cyrus's `MAX_SASL_BUFSIZE`).
pub(crate) const MAX_MAXBUF: u32 = 0x00FF_FFFF;
/// Nonce length in characters of the base64 alphabet (180 bits).
pub(crate) const NONCE_LEN: usize = 30;
/// The only `nc` value accepted for an initial authentication.
pub(crate) const FIRST_NC: &str = "00000001";

/// Quality of protection (RFC 2831 section 2.1.1, `qop-options`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Qop {
    /// Authentication only.
    Auth,
    /// Authentication with integrity protection.
    AuthInt,
    /// Authentication with integrity and confidentiality protection.
    AuthConf,
}

impl Qop {
    /// The wire name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Qop::Auth => "auth",
            Qop::AuthInt => "auth-int",
            Qop::AuthConf => "auth-conf",
        }
    }

    /// Parses a wire name (case-insensitive, as Cyrus compares them).
    pub(crate) fn from_name(name: &str) -> Option<Qop> {
        [Qop::Auth, Qop::AuthInt, Qop::AuthConf]
            .into_iter()
            .find(|qop| qop.name().eq_ignore_ascii_case(name))
    }
}

/// What the security properties allow, as Cyrus computes it: `musthave` and `limit` are the
/// least and greatest strength wanted from the layer once `external_ssf` is accounted for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SsfRange {
    pub musthave: u32,
    pub limit: u32,
}

impl SsfRange {
    pub(crate) fn new(props: &crate::security::SecurityProperties, external_ssf: u32) -> Self {
        let musthave = props.min_ssf.saturating_sub(external_ssf);
        // Without room for one packet a layer is useless, whatever max_ssf says.
        let limit = if props.max_buf_size < MIN_MAXBUF {
            0
        } else {
            props.max_ssf.saturating_sub(external_ssf)
        };
        SsfRange { musthave, limit }
    }

    pub(crate) fn allows_auth(self) -> bool {
        self.musthave == 0
    }

    pub(crate) fn allows_integrity(self) -> bool {
        self.limit >= 1 && self.musthave <= 1
    }

    pub(crate) fn allows_cipher(self, cipher: Cipher) -> bool {
        self.limit > 1 && self.musthave <= cipher.ssf() && cipher.ssf() <= self.limit
    }
}

/// Decodes ISO-8859-1 bytes (the charset when `charset=utf-8` is absent).
pub(crate) fn from_latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// `H(A1)` for `algorithm=md5-sess`: `H(secret:nonce:cnonce[:authzid])` (section 2.1.2.1).
/// It keys the response and, through Kic/Kis/Kcc/Kcs, the security layers.
pub(crate) fn session_key(
    secret: &[u8],
    nonce: &[u8],
    cnonce: &[u8],
    authzid: Option<&[u8]>,
) -> Secret {
    let mut md5 = Md5::new();
    md5.update(secret);
    md5.update(b":");
    md5.update(nonce);
    md5.update(b":");
    md5.update(cnonce);
    if let Some(authzid) = authzid {
        md5.update(b":");
        md5.update(authzid);
    }
    Secret::new(md5.finalize().to_vec())
}

/// The inputs of `response-value` besides `H(A1)`.
pub(crate) struct DigestInputs<'a> {
    pub nonce: &'a [u8],
    pub nc: &'a [u8],
    pub cnonce: &'a [u8],
    pub qop: Qop,
    pub digest_uri: &'a [u8],
}

/// `response-value` (section 2.1.2.1) when `client` is set, else `rspauth` (section 2.1.3):
/// `HEX(KD(HEX(H(A1)), nonce:nc:cnonce:qop:HEX(H(A2))))`, as 16 raw bytes.
pub(crate) fn response_value(
    session_key: &Secret,
    inputs: &DigestInputs<'_>,
    client: bool,
) -> [u8; 16] {
    let mut a2 = Md5::new();
    if client {
        a2.update(b"AUTHENTICATE");
    }
    a2.update(b":");
    a2.update(inputs.digest_uri);
    if inputs.qop != Qop::Auth {
        a2.update(b":00000000000000000000000000000000");
    }
    let ha2 = hex(&a2.finalize());
    let ha1 = Secret::from(hex(session_key.expose()));
    let mut kd = Md5::new();
    kd.update(ha1.expose());
    kd.update(b":");
    kd.update(inputs.nonce);
    kd.update(b":");
    kd.update(inputs.nc);
    kd.update(b":");
    kd.update(inputs.cnonce);
    kd.update(b":");
    kd.update(inputs.qop.name());
    kd.update(b":");
    kd.update(ha2);
    kd.finalize().into()
}

/// Quotes a directive value (`"` and `\` escaped).
pub(crate) fn quote(out: &mut Vec<u8>, value: &[u8]) {
    out.push(b'"');
    for &byte in value {
        if byte == b'"' || byte == b'\\' {
            out.push(b'\\');
        }
        out.push(byte);
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc2831_imap_response_and_rspauth() {
        let secret = user_secret("chris", "elwood.innosoft.com", b"secret");
        let key = session_key(secret.expose(), b"OA6MG9tEQGm2hh", b"OA6MHXh6VqTrRk", None);
        let inputs = DigestInputs {
            nonce: b"OA6MG9tEQGm2hh",
            nc: b"00000001",
            cnonce: b"OA6MHXh6VqTrRk",
            qop: Qop::Auth,
            digest_uri: b"imap/elwood.innosoft.com",
        };
        assert_eq!(
            hex(&response_value(&key, &inputs, true)),
            "d388dad90d4bbd760a152321f2143af7"
        );
        assert_eq!(
            hex(&response_value(&key, &inputs, false)),
            "ea40f60335c427b5527b84dbabcdfffd"
        );
    }

    #[test]
    fn latin1_conversion() {
        assert_eq!(from_latin1(b"m\xfcller"), "m\u{fc}ller");
    }

    #[test]
    fn hex_round_trip() {
        let digest = [0xabu8; 16];
        assert_eq!(unhex16(hex(&digest).as_bytes()), Some(digest));
        assert_eq!(unhex16(b"ABABABABABABABABABABABABABABABAB"), Some(digest));
        assert_eq!(unhex16(b"abab"), None);
        assert_eq!(unhex16(b"zbababababababababababababababab"), None);
    }
}
