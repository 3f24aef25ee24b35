//! SCRAM stored keys (RFC 5802 section 3, stored as RFC 5803 text) and the hash functions
//! they are made with.
//!
//! These let a server verify SCRAM, PLAIN and LOGIN without keeping the plaintext password.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use digest::Digest;
use hmac::EagerHash;

use super::hmac;

use crate::secret::{Secret, digests_equal};

/// The hash functions of the SCRAM family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ScramHash {
    /// SHA-1 (RFC 5802).
    Sha1,
    /// SHA-224.
    Sha224,
    /// SHA-256 (RFC 7677).
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

/// Runs `$body` with `$d` bound to the concrete digest type of `$hash`.
macro_rules! with_digest {
    ($hash:expr, $d:ident => $body:expr) => {
        match $hash {
            ScramHash::Sha1 => {
                type $d = sha1::Sha1;
                $body
            }
            ScramHash::Sha224 => {
                type $d = sha2::Sha224;
                $body
            }
            ScramHash::Sha256 => {
                type $d = sha2::Sha256;
                $body
            }
            ScramHash::Sha384 => {
                type $d = sha2::Sha384;
                $body
            }
            ScramHash::Sha512 => {
                type $d = sha2::Sha512;
                $body
            }
        }
    };
}
#[allow(unused_imports, reason = "for the SCRAM mechanism module")]
pub(crate) use with_digest;

impl ScramHash {
    /// Every hash, strongest first.
    pub const ALL: [ScramHash; 5] = [
        ScramHash::Sha512,
        ScramHash::Sha384,
        ScramHash::Sha256,
        ScramHash::Sha224,
        ScramHash::Sha1,
    ];

    /// The SCRAM mechanism name without `-PLUS` (`SCRAM-SHA-256`), which is also the RFC 5803
    /// scheme name.
    pub fn mechanism_name(self) -> &'static str {
        match self {
            ScramHash::Sha1 => "SCRAM-SHA-1",
            ScramHash::Sha224 => "SCRAM-SHA-224",
            ScramHash::Sha256 => "SCRAM-SHA-256",
            ScramHash::Sha384 => "SCRAM-SHA-384",
            ScramHash::Sha512 => "SCRAM-SHA-512",
        }
    }

    /// The hash whose SCRAM mechanism (or RFC 5803 scheme) is called `name`, ignoring case.
    pub fn from_mechanism_name(name: &str) -> Option<ScramHash> {
        ScramHash::ALL
            .into_iter()
            .find(|hash| hash.mechanism_name().eq_ignore_ascii_case(name))
    }

    /// The output length in bytes.
    pub fn output_len(self) -> usize {
        with_digest!(self, D => <D as Digest>::output_size())
    }

    /// `H(data)`.
    pub fn hash(self, data: &[u8]) -> Vec<u8> {
        with_digest!(self, D => D::digest(data).to_vec())
    }

    /// `HMAC(key, data)`, for each of the `parts` of `data` in turn.
    pub fn hmac(self, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        with_digest!(self, D => hmac::<D>(key, parts).to_vec())
    }

    /// A SCRAM server's check of a client proof (RFC 5802 section 3): whether
    /// `H(ClientProof XOR HMAC(StoredKey, AuthMessage))` equals `StoredKey` (compared in
    /// constant time), and the `ServerSignature = HMAC(ServerKey, AuthMessage)`. The hot path
    /// of a SCRAM server, so the intermediate keys stay on the stack (and are wiped).
    pub(crate) fn verify_proof(
        self,
        stored_key: &[u8],
        server_key: &[u8],
        auth_message: &[&[u8]],
        proof: &[u8],
    ) -> (bool, Vec<u8>) {
        with_digest!(self, D => verify_proof::<D>(stored_key, server_key, auth_message, proof))
    }

    /// `Hi(password, salt, iterations)`: PBKDF2 with HMAC of this hash (RFC 5802 section 2.2).
    pub(crate) fn hi(self, password: &[u8], salt: &[u8], iterations: u32) -> Secret {
        let mut out = vec![0u8; self.output_len()];
        with_digest!(self, D => pbkdf2::pbkdf2_hmac::<D>(password, salt, iterations, &mut out));
        Secret::new(out)
    }
}

fn verify_proof<D: EagerHash>(
    stored_key: &[u8],
    server_key: &[u8],
    auth_message: &[&[u8]],
    proof: &[u8],
) -> (bool, Vec<u8>) {
    let mut client_key = hmac::<D>(stored_key, auth_message);
    let right_length = proof.len() == client_key.len();
    for (byte, proof_byte) in client_key.iter_mut().zip(proof) {
        *byte ^= proof_byte;
    }
    let candidate = <D as Digest>::digest(&client_key);
    zeroize::Zeroize::zeroize(client_key.as_mut_slice());
    let valid = digests_equal(&candidate, stored_key) && right_length;
    (valid, hmac::<D>(server_key, auth_message).to_vec())
}

/// SCRAM's `Normalize(password)` (RFC 5802 section 2.2): SASLprep (RFC 4013) as a stored
/// string. A password that is not UTF-8 or that SASLprep refuses is used as it is, as
/// Cyrus (which has no SASLprep) and most clients do, so both sides still agree.
pub fn normalize_password(password: &[u8]) -> Secret {
    match std::str::from_utf8(password).map(stringprep::saslprep) {
        Ok(Ok(std::borrow::Cow::Owned(prepared))) => Secret::from(prepared),
        _ => Secret::from(password),
    }
}

/// What a server needs to verify SCRAM for one hash without the password:
/// salt, iteration count, `StoredKey = H(ClientKey)` and `ServerKey`.
#[derive(Debug)]
pub struct StoredKeys {
    /// The hash these keys are made with.
    pub hash: ScramHash,
    /// The PBKDF2 iteration count.
    pub iterations: u32,
    /// The salt.
    pub salt: Vec<u8>,
    /// `H(HMAC(SaltedPassword, "Client Key"))`.
    pub stored_key: Secret,
    /// `HMAC(SaltedPassword, "Server Key")`.
    pub server_key: Secret,
}

/// The keys a client derives from the password (RFC 5802 section 3).
#[derive(Debug)]
pub(crate) struct ClientKeys {
    /// `HMAC(SaltedPassword, "Client Key")`.
    pub(crate) client_key: Secret,
    /// `H(ClientKey)`.
    pub(crate) stored_key: Secret,
    /// `HMAC(SaltedPassword, "Server Key")`.
    pub(crate) server_key: Secret,
}

impl ClientKeys {
    /// A second copy (for [`super::ScramKeyCache`], which keeps one and hands out others).
    pub(crate) fn duplicate(&self) -> Self {
        ClientKeys {
            client_key: self.client_key.duplicate(),
            stored_key: self.stored_key.duplicate(),
            server_key: self.server_key.duplicate(),
        }
    }

    /// Derives the keys from `password` (PBKDF2 with `iterations` rounds over `salt`).
    pub(crate) fn derive(hash: ScramHash, password: &[u8], salt: &[u8], iterations: u32) -> Self {
        let salted = hash.hi(password, salt, iterations);
        let client_key = Secret::new(hash.hmac(salted.expose(), &[b"Client Key"]));
        let stored_key = Secret::new(hash.hash(client_key.expose()));
        let server_key = Secret::new(hash.hmac(salted.expose(), &[b"Server Key"]));
        ClientKeys {
            client_key,
            stored_key,
            server_key,
        }
    }
}

/// Most iterations a stored record may ask for: bounds the CPU a corrupt or hostile store
/// entry can cost during PLAIN verification.
pub const MAX_STORED_ITERATIONS: u32 = 10_000_000;

impl StoredKeys {
    /// Derives stored keys from a password.
    pub fn derive(hash: ScramHash, password: &[u8], salt: &[u8], iterations: u32) -> Self {
        let keys = ClientKeys::derive(hash, password, salt, iterations);
        StoredKeys {
            hash,
            iterations,
            salt: salt.to_vec(),
            stored_key: keys.stored_key,
            server_key: keys.server_key,
        }
    }

    /// Whether `password` is the one these keys were derived from, after
    /// [`normalize_password`] (constant time in the comparison; the PBKDF2 cost depends only
    /// on the public iteration count).
    pub fn verify_password(&self, password: &[u8]) -> bool {
        let password = normalize_password(password);
        let candidate =
            ClientKeys::derive(self.hash, password.expose(), &self.salt, self.iterations);
        digests_equal(candidate.stored_key.expose(), self.stored_key.expose())
    }

    /// The RFC 5803 text form: `SCRAM-SHA-256$<iter>:<b64 salt>$<b64 StoredKey>:<b64 ServerKey>`.
    pub fn to_rfc5803(&self) -> String {
        format!(
            "{}${}:{}${}:{}",
            self.hash.mechanism_name(),
            self.iterations,
            STANDARD.encode(&self.salt),
            STANDARD.encode(self.stored_key.expose()),
            STANDARD.encode(self.server_key.expose()),
        )
    }

    /// Parses the RFC 5803 text form. Returns `None` for anything malformed: an unknown
    /// scheme, bad base64, keys of the wrong length, or an iteration count of zero or above
    /// [`MAX_STORED_ITERATIONS`].
    pub fn from_rfc5803(text: &[u8]) -> Option<StoredKeys> {
        let text = std::str::from_utf8(text).ok()?;
        let mut fields = text.trim().split('$');
        let scheme = fields.next()?;
        let info = fields.next()?;
        let value = fields.next()?;
        if fields.next().is_some() {
            return None;
        }
        let hash = ScramHash::from_mechanism_name(scheme)?;
        let (iterations, salt) = info.split_once(':')?;
        let iterations: u32 = iterations.parse().ok()?;
        if iterations == 0 || iterations > MAX_STORED_ITERATIONS {
            return None;
        }
        let salt = STANDARD.decode(salt).ok()?;
        let (stored_key, server_key) = value.split_once(':')?;
        let stored_key = STANDARD.decode(stored_key).ok()?;
        let server_key = STANDARD.decode(server_key).ok()?;
        if stored_key.len() != hash.output_len() || server_key.len() != hash.output_len() {
            return None;
        }
        Some(StoredKeys {
            hash,
            iterations,
            salt,
            stored_key: Secret::new(stored_key),
            server_key: Secret::new(server_key),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 5802 section 5 (SCRAM-SHA-1, user "user", password "pencil").
    const RFC5802: &str = "SCRAM-SHA-1$4096:QSXCR+Q6sek8bf92$6dlGYMOdZcOPutkcNY8U2g7vK9Y=:D+CSWLOshSulAsxiupA+qs2/fTE=";

    #[test]
    fn derive_matches_rfc5802() {
        let salt = STANDARD.decode("QSXCR+Q6sek8bf92").unwrap_or_default();
        let keys = StoredKeys::derive(ScramHash::Sha1, b"pencil", &salt, 4096);
        assert_eq!(keys.to_rfc5803(), RFC5802);
    }

    #[test]
    fn parse_round_trip_and_verify() {
        let keys = StoredKeys::from_rfc5803(RFC5802.as_bytes());
        let Some(keys) = keys else {
            panic!("RFC 5803 vector did not parse")
        };
        assert_eq!(keys.to_rfc5803(), RFC5802);
        assert!(keys.verify_password(b"pencil"));
        assert!(!keys.verify_password(b"pencil "));
    }

    #[test]
    fn passwords_are_saslprepped_or_kept() {
        let prepared = |p: &[u8]| normalize_password(p).expose().to_vec();
        // RFC 4013 section 3 examples.
        assert_eq!(prepared("I\u{00AD}X".as_bytes()), b"IX");
        assert_eq!(prepared("\u{00AA}".as_bytes()), b"a");
        assert_eq!(prepared("\u{2168}".as_bytes()), b"IX");
        assert_eq!(prepared("a\u{00A0}b".as_bytes()), b"a b");
        assert_eq!(prepared(b"pencil"), b"pencil");
        // What SASLprep refuses, or what is not UTF-8, is used as it is.
        assert_eq!(prepared(b"\x07bell"), b"\x07bell");
        assert_eq!(prepared(b"\xff\xfe"), b"\xff\xfe");
        let keys = StoredKeys::derive(ScramHash::Sha256, b"IX", b"salt", 2);
        assert!(keys.verify_password("I\u{00AD}X".as_bytes()));
    }

    #[test]
    fn malformed_records_are_rejected() {
        for bad in [
            "",
            "SCRAM-SHA-1",
            "SCRAM-SHA-1$4096:QSXCR+Q6sek8bf92$6dlGYMOdZcOPutkcNY8U2g7vK9Y=",
            "SCRAM-MD5$4096:QSXCR+Q6sek8bf92$6dlGYMOdZcOPutkcNY8U2g7vK9Y=:D+CSWLOshSulAsxiupA+qs2/fTE=",
            "SCRAM-SHA-1$0:QSXCR+Q6sek8bf92$6dlGYMOdZcOPutkcNY8U2g7vK9Y=:D+CSWLOshSulAsxiupA+qs2/fTE=",
            "SCRAM-SHA-1$99999999999:QSXCR+Q6sek8bf92$6dlGYMOdZcOPutkcNY8U2g7vK9Y=:D+CSWLOshSulAsxiupA+qs2/fTE=",
            "SCRAM-SHA-256$4096:QSXCR+Q6sek8bf92$6dlGYMOdZcOPutkcNY8U2g7vK9Y=:D+CSWLOshSulAsxiupA+qs2/fTE=",
            "SCRAM-SHA-1$4096:!!$6dlGYMOdZcOPutkcNY8U2g7vK9Y=:D+CSWLOshSulAsxiupA+qs2/fTE=",
        ] {
            assert!(StoredKeys::from_rfc5803(bad.as_bytes()).is_none(), "{bad}");
        }
    }
}
