//! The mechanisms: one sans-I/O state machine per mechanism and side, and the table that
//! describes them.
//!
//! Each mechanism module holds both sides, cites its RFC and lists its states. Mechanisms
//! never see the session layer: the server side gets a `ServerContext` (credentials,
//! realm rules, randomness, log), the client side a `ClientContext` (credentials,
//! randomness).

pub(crate) mod anonymous;
pub(crate) mod context;
pub(crate) mod cram_md5;
pub(crate) mod digest_md5;
pub(crate) mod external;
pub(crate) mod login;
pub(crate) mod plain;
pub(crate) mod scram;
pub(crate) mod single_message;

use crate::error::Error;
use crate::mech::context::ClientContext;
use crate::mech::context::{Identity, ServerContext};
use crate::security::SecurityFlags;

/// Limit for one user name, authorization identity or password field, in bytes (Cyrus's
/// canonicalisation buffer is 1024 bytes; RFC 4616 requires at least 255).
pub(crate) const MAX_FIELD: usize = 1024;

/// Whether a mechanism's client speaks first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitialResponse {
    /// The client speaks first; without an initial response the server sends an empty
    /// challenge (PLAIN, SCRAM).
    Required,
    /// The server speaks first, but an initial response is accepted in place of the first
    /// answer (LOGIN).
    Allowed,
    /// The server speaks first; an initial response is a protocol error (CRAM-MD5).
    Forbidden,
}

/// The description of one mechanism: its name, what it protects against, and its
/// constructors.
pub struct MechanismInfo {
    /// The registered name (`SCRAM-SHA-256-PLUS`).
    pub name: &'static str,
    /// The `SASL_SEC_*` properties the mechanism provides; it is offered only when these
    /// include every flag the application requires.
    pub provides: SecurityFlags,
    /// The largest security strength factor of its security layer (0 = none).
    pub max_ssf: u32,
    /// Who speaks first.
    pub initial_response: InitialResponse,
    /// Whether this is a channel-binding (`-PLUS`) mechanism.
    pub channel_binding: bool,
    pub(crate) new_server: fn() -> Box<dyn ServerMechanism>,
    pub(crate) new_client: fn() -> Box<dyn ClientMechanism>,
}

impl std::fmt::Debug for MechanismInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MechanismInfo")
            .field("name", &self.name)
            .field("provides", &self.provides)
            .field("max_ssf", &self.max_ssf)
            .field("initial_response", &self.initial_response)
            .field("channel_binding", &self.channel_binding)
            .finish()
    }
}

impl MechanismInfo {
    /// Whether the mechanism satisfies every flag in `required`.
    pub fn satisfies(&self, required: SecurityFlags) -> bool {
        // PASS_CREDENTIALS is a capability, not a protection: Cyrus ignores it when filtering.
        let required =
            SecurityFlags::from_bits(required.bits() & !SecurityFlags::PASS_CREDENTIALS.bits());
        self.provides.contains(required)
    }
}

/// Every mechanism this crate implements, strongest first: the order a client prefers them
/// in, and the default order a server lists them in. The order is Cyrus's client preference
/// (`lib/client.c`'s `mech_compare`: `noanonymous`, then `noplaintext`, `mutual_auth`,
/// `noactive`, `nodictionary`), so EXTERNAL comes after DIGEST-MD5 and before CRAM-MD5, and
/// ANONYMOUS last.
pub static MECHANISMS: &[MechanismInfo] = &[
    scram::SHA512_PLUS,
    scram::SHA512,
    scram::SHA384_PLUS,
    scram::SHA384,
    scram::SHA256_PLUS,
    scram::SHA256,
    scram::SHA224_PLUS,
    scram::SHA224,
    scram::SHA1_PLUS,
    scram::SHA1,
    digest_md5::INFO,
    external::INFO,
    cram_md5::INFO,
    plain::INFO,
    login::INFO,
    anonymous::INFO,
];

/// The longest name in [`MECHANISMS`] (`SCRAM-SHA-512-PLUS`).
const LONGEST_NAME: usize = 18;

/// The mechanism called `name` (case-insensitive).
///
/// On the path of every `sasl_client_start` and `sasl_server_new` (each name of a
/// mechanism list is looked up), so names are compared byte for byte (the registered names
/// are upper case, as lists usually write them), and only a name in another case is
/// upper-cased (once, on the stack) rather than case-folded once per entry.
pub fn find(name: &str) -> Option<&'static MechanismInfo> {
    if let Some(info) = MECHANISMS.iter().find(|info| info.name == name) {
        return Some(info);
    }
    let mut upper = [0u8; LONGEST_NAME];
    let upper = upper.get_mut(..name.len())?;
    upper.copy_from_slice(name.as_bytes());
    upper.make_ascii_uppercase();
    MECHANISMS
        .iter()
        .find(|info| info.name.as_bytes() == &upper[..])
}

/// What a server mechanism answers.
pub(crate) enum ServerOutput {
    /// Send this challenge and wait for the client's next message.
    Challenge(Vec<u8>),
    /// The client is authenticated.
    Success(Success),
}

/// A successful server-side exchange.
pub(crate) struct Success {
    pub identity: Identity,
    /// Data to send along with the success (SCRAM's `v=`, DIGEST-MD5's `rspauth=`).
    pub additional_data: Option<Vec<u8>>,
    /// The negotiated security layer, if any.
    pub layer: Option<Box<dyn SecurityLayer>>,
}

/// The server side of a mechanism.
pub(crate) trait ServerMechanism: Send {
    /// Begins the exchange, with the client's initial response if it sent one.
    fn start(
        &mut self,
        ctx: &mut ServerContext<'_>,
        initial: Option<&[u8]>,
    ) -> Result<ServerOutput, Error>;

    /// Handles the client's next message.
    fn step(&mut self, ctx: &mut ServerContext<'_>, response: &[u8])
    -> Result<ServerOutput, Error>;
}

/// What a client mechanism answers.
pub(crate) enum ClientOutput {
    /// Send this response; the server has more to say.
    Continue(Vec<u8>),
    /// Send this response (if any); the client side is complete.
    Done {
        response: Option<Vec<u8>>,
        layer: Option<Box<dyn SecurityLayer>>,
    },
}

/// The client side of a mechanism.
pub(crate) trait ClientMechanism: Send {
    /// Begins the exchange; returns the initial response, if the mechanism has one.
    fn start(&mut self, ctx: &mut ClientContext<'_>) -> Result<Option<Vec<u8>>, Error>;

    /// Whether the initial response is the client's last message (PLAIN): once it is sent
    /// the client has nothing more to say.
    fn done_after_initial_response(&self) -> bool {
        false
    }

    /// Handles the server's next challenge.
    fn step(
        &mut self,
        ctx: &mut ClientContext<'_>,
        challenge: &[u8],
    ) -> Result<ClientOutput, Error>;
}

/// A negotiated security layer (integrity or confidentiality) that wraps application data
/// after authentication.
pub trait SecurityLayer: Send {
    /// The security strength factor (56 for DES, 128 for RC4, 1 for integrity only).
    fn ssf(&self) -> u32;
    /// The most plaintext bytes one [`encode`](SecurityLayer::encode) call may take.
    fn max_outbuf(&self) -> u32;
    /// Protects `data` for sending.
    fn encode(&mut self, data: &[u8]) -> Result<Vec<u8>, Error>;
    /// Unwraps received bytes. Input may hold partial packets, which are buffered; the
    /// result is the application data of every complete packet.
    fn decode(&mut self, data: &[u8]) -> Result<Vec<u8>, Error>;
}

/// Parses a UTF-8 text field of a peer message.
pub(crate) fn utf8_field<'m>(bytes: &'m [u8], what: &'static str) -> Result<&'m str, Error> {
    std::str::from_utf8(bytes).map_err(|_| crate::error::ProtocolError::InvalidUtf8(what).into())
}

/// Lowercase hex (CRAM-MD5's digest, DIGEST-MD5's `response` and `rspauth`).
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

/// Decodes exactly 32 hex digits (either case, nothing else: no sign, no space) into a
/// 16-byte digest.
pub(crate) fn unhex16(text: &[u8]) -> Option<[u8; 16]> {
    if text.len() != 32 || !text.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    // A table, not a branch per digit: the digits of a digest are random, and so would be the
    // branches (DIGEST-MD5 decodes two digests per exchange).
    const NIBBLES: [u8; 256] = {
        let mut table = [0u8; 256];
        let mut digit: u8 = 0;
        while digit < 10 {
            table[(b'0' + digit) as usize] = digit;
            digit += 1;
        }
        let mut letter: u8 = 0;
        while letter < 6 {
            table[(b'a' + letter) as usize] = 10 + letter;
            table[(b'A' + letter) as usize] = 10 + letter;
            letter += 1;
        }
        table
    };
    let mut out = [0u8; 16];
    for (byte, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
        if let [high, low] = pair {
            *byte = (NIBBLES[usize::from(*high)] << 4) | NIBBLES[usize::from(*low)];
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_ignores_case_and_knows_every_name() {
        for info in MECHANISMS {
            assert!(info.name.len() <= LONGEST_NAME, "{}", info.name);
            assert_eq!(info.name, info.name.to_ascii_uppercase());
            let lower = info.name.to_ascii_lowercase();
            assert_eq!(find(&lower).map(|found| found.name), Some(info.name));
            assert_eq!(find(info.name).map(|found| found.name), Some(info.name));
        }
        assert_eq!(
            find("Scram-Sha-256-Plus").map(|i| i.name),
            Some("SCRAM-SHA-256-PLUS")
        );
        for unknown in [
            "",
            "PLAI",
            "PLAINX",
            "SCRAM-SHA-512-PLUS-X",
            "GSSAPI",
            "pl\u{e4}in",
        ] {
            assert!(find(unknown).is_none(), "{unknown}");
        }
    }
}
