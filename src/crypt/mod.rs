//! Hashed `userPassword` values: crypt(3) hashes and Dovecot `{SCHEME}` values, verified for
//! PLAIN and LOGIN (and `sasl_checkpass`).
//!
//! Which interpretation applies is the [`PasswordFormat`], Cyrus's `password_format` option
//! (from Gentoo's crypt patch, never upstream): with [`PasswordFormat::Plain`] a
//! `userPassword` value is the password itself, with [`PasswordFormat::Crypt`] it is a hash
//! that [`verify`] checks an offered password against. It is a property of how values are
//! read, so it applies to every store (memory, sasldb2, SQL).
//!
//! [`verify`] understands:
//!
//! | stored value | algorithm | implementation |
//! |---|---|---|
//! | `$y$...` | yescrypt (Debian's default) | `yescrypt` crate |
//! | `$6$...`, `$5$...` (with `rounds=`) | SHA-crypt | `sha-crypt` crate |
//! | `$2b$`, `$2y$`, `$2a$` | bcrypt (72-byte limit, as libxcrypt) | `bcrypt` crate |
//! | `$1$...` | MD5-crypt | here, over `md-5` |
//! | 13 characters | traditional DES crypt | here |
//! | `$argon2id$`, `$argon2i$`, `$argon2d$` | Argon2 PHC strings (not crypt(3)) | `argon2` crate |
//! | `{SCHEME}...` | Dovecot schemes, see [`scheme`] | |
//!
//! Every check recomputes the hash with the *whole stored value* as the setting and compares
//! the whole result in constant time, as crypt(3) callers should (Gentoo's patch cut the salt
//! out itself and so failed for everything but DES and `$1$`). Anything else is an error,
//! never a plaintext comparison: under Cyrus without the patch a stored hash *is* the
//! password, and that is the flaw this module exists to avoid.
//!
//! Crypt hashes are useless to CRAM-MD5, DIGEST-MD5 and SCRAM (they need the plaintext or
//! their own secret); [`plaintext`] hands out only `{PLAIN}` values, so for those mechanisms a
//! user with only a hash has no usable secret, exactly like an unknown user.

mod des;
mod md5;
pub mod scheme;

use std::fmt;
use std::str::FromStr;

use password_hash_verifier::PasswordVerifier as _;

use crate::secret::{Secret, digests_equal};

/// The `PasswordVerifier` trait, the same for the `sha-crypt`, `yescrypt` and `argon2` crates
/// (they share `password-hash` 0.6).
mod password_hash_verifier {
    pub use sha_crypt::password_hash::PasswordVerifier;
}

/// How `userPassword` values are interpreted (Cyrus's `password_format` option).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PasswordFormat {
    /// The value is the password itself (Cyrus's default, and the only choice upstream).
    #[default]
    Plain,
    /// The value is a crypt(3) hash or a Dovecot `{SCHEME}` value, checked by [`verify`].
    /// Only PLAIN and LOGIN can use such values.
    Crypt,
}

impl FromStr for PasswordFormat {
    type Err = CryptError;

    /// Parses the `password_format` option: `crypt` (and Gentoo's `crypt_trad`, for which
    /// verifying with the whole stored hash gives the same answers on DES hashes) or
    /// `plain`/`cleartext`, case-insensitive. Unlike the Gentoo patch, which read any other
    /// value as cleartext, an unknown value is an error: a typo must not turn hashes into
    /// passwords.
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.trim().to_ascii_lowercase().as_str() {
            "crypt" | "crypt_trad" => Ok(PasswordFormat::Crypt),
            "plain" | "plaintext" | "cleartext" => Ok(PasswordFormat::Plain),
            _ => Err(CryptError::UnknownFormat(value.to_owned())),
        }
    }
}

impl fmt::Display for PasswordFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PasswordFormat::Plain => "plain",
            PasswordFormat::Crypt => "crypt",
        })
    }
}

/// Why a stored value could not be used to verify a password. Carries no secret: at most a
/// scheme name or a `$id$`, and only when it looks like one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CryptError {
    /// The stored value is empty (an SQL `NULL` read as `""`, for instance); it matches
    /// nothing, not even an empty password.
    #[error("the stored password hash is empty")]
    Empty,
    /// The stored value is in a format this library does not verify (`$7$` scrypt, `$gy$`,
    /// `$2x$`, bigcrypt, a locked `!`/`*` entry, or no hash at all).
    #[error("unsupported password hash format: {0}")]
    Unsupported(String),
    /// The stored value has a known prefix but is damaged: truncated, bad characters, bad
    /// parameters.
    #[error("malformed {0} password hash")]
    Malformed(&'static str),
    /// A Dovecot `{SCHEME}` prefix this library does not know or cannot verify with a
    /// plaintext password.
    #[error("unknown password scheme {0}")]
    UnknownScheme(String),
    /// A Dovecot crypt scheme whose value is another algorithm's hash (`{SHA512-CRYPT}$1$...`).
    #[error("the {{{0}}} value is not a {0} hash")]
    SchemeMismatch(&'static str),
    /// An unknown `password_format` option value.
    #[error("unknown password_format {0:?} (expected crypt or plain)")]
    UnknownFormat(String),
}

/// Checks `offered` against the hashed `stored` value in constant time: `Ok(true)` if it is
/// the password, `Ok(false)` if not, an error if `stored` cannot be used (then the password
/// must count as wrong; log the error).
///
/// An offered password containing a NUL byte never matches: crypt(3) sees C strings, so such
/// a password would be cut short there.
pub fn verify(stored: &[u8], offered: &[u8]) -> Result<bool, CryptError> {
    let stored = std::str::from_utf8(stored).map_err(|_| CryptError::Malformed("non-UTF-8"))?;
    if stored.is_empty() {
        return Err(CryptError::Empty);
    }
    let matches = match scheme::split(stored) {
        Some((name, value)) => scheme::verify(name, value, offered)?,
        None => verify_crypt(stored, offered)?,
    };
    Ok(matches && !offered.contains(&0))
}

/// The plaintext in a stored value, if it holds one: a Dovecot `{PLAIN}` or `{CLEARTEXT}`
/// value (decoded if it has an encoding suffix). `None` for hashes, which are no password.
pub fn plaintext(stored: &[u8]) -> Option<Secret> {
    let (name, value) = scheme::split(std::str::from_utf8(stored).ok()?)?;
    scheme::plaintext(name, value)
}

/// The cost of verifying against one stored hash, without the hash: the algorithm and its
/// parameters with a fixed salt and a dummy result. Running it costs what a real check of
/// that hash costs, so an unknown user can be made as slow as a known one (see
/// [`Decoy`](crate::credentials::Decoy)).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CryptDecoy {
    setting: [u8; DECOY_MAX],
    len: u8,
}

/// The longest decoy hash kept (an Argon2 PHC string with large parameters fits).
const DECOY_MAX: usize = 160;

impl CryptDecoy {
    /// The decoy of a stored value, if it is a hash [`verify`] knows with a deliberate cost
    /// (crypt(3) hashes, Argon2, Dovecot `PBKDF2` and `SCRAM-*`); for `{PLAIN}` values and
    /// plain digests a comparison is the right decoy, and this returns `None`.
    pub fn of(stored: &[u8]) -> Option<CryptDecoy> {
        let stored = std::str::from_utf8(stored).ok()?;
        let value = match scheme::split(stored) {
            Some((name, value)) if scheme::is_crypt(name) => value,
            Some((name, value)) => return CryptDecoy::from_value(&scheme::decoy(name, value)?),
            None => stored,
        };
        let family = Family::of(value).ok()?;
        // The parameters: everything before the salt.
        let parameters = match family {
            Family::Des => "",
            Family::Bcrypt => value.get(..7)?,
            _ => {
                let mut fields = value.rsplitn(3, '$');
                let (_hash, _salt, head) = (fields.next()?, fields.next()?, fields.next()?);
                value.get(..=head.len())?
            }
        };
        // A fixed salt and an all-zero hash of the family's lengths (`.` and `A` are zero in
        // the crypt and PHC base-64 alphabets).
        let (salt, zero, hash_len) = match family {
            Family::Des => ("..", '.', 11),
            Family::Md5 => ("decoysal$", '.', 22),
            Family::Sha256 => ("decoysaltdecoysa$", '.', 43),
            Family::Sha512 => ("decoysaltdecoysa$", '.', 86),
            Family::Bcrypt => ("......................", '.', 31),
            Family::Yescrypt => ("......................$", '.', 43),
            Family::Argon2 => ("AAAAAAAAAAAAAAAAAAAAAA$", 'A', 43),
        };
        let dummy: String = parameters
            .chars()
            .chain(salt.chars())
            .chain(std::iter::repeat_n(zero, hash_len))
            .collect();
        CryptDecoy::from_value(&dummy)
    }

    fn from_value(dummy: &str) -> Option<CryptDecoy> {
        let mut setting = [0u8; DECOY_MAX];
        setting
            .get_mut(..dummy.len())?
            .copy_from_slice(dummy.as_bytes());
        Some(CryptDecoy {
            setting,
            len: u8::try_from(dummy.len()).ok()?,
        })
    }

    /// The dummy hash.
    fn hash(&self) -> &[u8] {
        self.setting
            .get(..usize::from(self.len))
            .unwrap_or_default()
    }

    /// Verifies `offered` against the dummy hash and ignores the answer.
    pub fn run(&self, offered: &[u8]) {
        let _ = verify(self.hash(), offered);
    }
}

impl fmt::Debug for CryptDecoy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Parameters and a dummy salt only: nothing secret.
        f.debug_tuple("CryptDecoy")
            .field(&String::from_utf8_lossy(self.hash()))
            .finish()
    }
}

/// The crypt(3) families, by their prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    Yescrypt,
    Sha512,
    Sha256,
    Bcrypt,
    Md5,
    Des,
    Argon2,
}

impl Family {
    /// The family of a stored hash, or why it has none.
    pub(crate) fn of(stored: &str) -> Result<Family, CryptError> {
        const SHA_PREFIXES: [(&str, Family); 2] =
            [("$6$", Family::Sha512), ("$5$", Family::Sha256)];
        for (prefix, family) in SHA_PREFIXES {
            if stored.starts_with(prefix) {
                return Ok(family);
            }
        }
        if stored.starts_with("$y$") {
            return Ok(Family::Yescrypt);
        }
        if ["$2b$", "$2y$", "$2a$"]
            .iter()
            .any(|p| stored.starts_with(p))
        {
            return Ok(Family::Bcrypt);
        }
        if stored.starts_with(md5::PREFIX) {
            return Ok(Family::Md5);
        }
        if ["$argon2id$", "$argon2i$", "$argon2d$"]
            .iter()
            .any(|p| stored.starts_with(p))
        {
            return Ok(Family::Argon2);
        }
        if stored.len() == 13 && stored.bytes().all(|c| from_crypt64(c).is_some()) {
            return Ok(Family::Des);
        }
        Err(CryptError::Unsupported(describe(stored)))
    }
}

/// A loggable name for an unsupported value: its `$id$` if it has a plausible one.
fn describe(stored: &str) -> String {
    if let Some(rest) = stored.strip_prefix('$')
        && let Some((id, _)) = rest.split_once('$')
        && !id.is_empty()
        && id.len() <= 8
        && id.bytes().all(|c| c.is_ascii_alphanumeric())
    {
        return format!("${id}$");
    }
    match stored.as_bytes().first() {
        Some(b'_') => "`_` (BSDi extended DES)".into(),
        Some(b'!' | b'*') => "locked or disabled entry".into(),
        _ => "not a crypt(3) hash".into(),
    }
}

/// crypt(3) with the whole stored hash as the setting, compared in constant time.
fn verify_crypt(stored: &str, offered: &[u8]) -> Result<bool, CryptError> {
    match Family::of(stored)? {
        Family::Md5 => Ok(digests_equal(
            md5::hash(offered, stored)?.as_bytes(),
            stored.as_bytes(),
        )),
        Family::Des => Ok(digests_equal(
            des::hash(offered, stored.as_bytes())?.as_bytes(),
            stored.as_bytes(),
        )),
        Family::Bcrypt => {
            bcrypt::verify(offered, stored).map_err(|_| CryptError::Malformed("bcrypt"))
        }
        Family::Sha256 => verify_sha_crypt(stored, offered, 43),
        Family::Sha512 => verify_sha_crypt(stored, offered, 86),
        Family::Yescrypt => {
            // The crate computes as many bytes as the stored hash has, so a truncated hash
            // would verify (with fewer bits); libxcrypt's are always 32 bytes.
            if hash_field(stored).len() != 43 {
                return Err(CryptError::Malformed("yescrypt"));
            }
            if yescrypt_memory(stored).is_none_or(|bytes| bytes > MAX_MEMORY) {
                return Err(CryptError::Malformed("yescrypt (parameters)"));
            }
            password_hash_result(
                yescrypt::Yescrypt::default().verify_password(offered, stored),
                "yescrypt",
            )
        }
        Family::Argon2 => {
            // Argon2's output length is a parameter (the field's length); below 16 bytes it
            // is a damaged value, not a choice anyone makes (Dovecot and PHP write 32).
            if hash_field(stored).len() < 22 {
                return Err(CryptError::Malformed("Argon2"));
            }
            if argon2_memory(stored).is_none_or(|bytes| bytes > MAX_MEMORY) {
                return Err(CryptError::Malformed("Argon2 (parameters)"));
            }
            let hash =
                argon2::PasswordHash::new(stored).map_err(|_| CryptError::Malformed("Argon2"))?;
            password_hash_result(
                argon2::Argon2::default().verify_password(offered, &hash),
                "Argon2",
            )
        }
    }
}

/// SHA-crypt, after checking the hash part has its full length (the crate would compare a
/// truncated hash as a mismatch; it is damage, and worth a log line).
fn verify_sha_crypt(stored: &str, offered: &[u8], hash_len: usize) -> Result<bool, CryptError> {
    if hash_field(stored).len() != hash_len {
        return Err(CryptError::Malformed("SHA-crypt"));
    }
    password_hash_result(
        sha_crypt::ShaCrypt::default().verify_password(offered, stored),
        "SHA-crypt",
    )
}

/// The most memory a stored hash may make us allocate: 1 GiB, what libxcrypt's strongest
/// yescrypt setting (`mkpasswd -m yescrypt -R 11`, `$y$jFT$`) takes. A damaged or hostile
/// parameter field could otherwise ask for terabytes, and a failed allocation aborts the
/// process (in the C library, the application's).
const MAX_MEMORY: u64 = 1 << 30;

/// The memory yescrypt's `$y$<flags><N><r>...` parameters take: `128 * N * r` bytes.
fn yescrypt_memory(stored: &str) -> Option<u64> {
    let parameters = stored.strip_prefix("$y$")?.as_bytes();
    let n_log2 = u32::from(from_crypt64(*parameters.get(1)?)?) + 1;
    let r = u64::from(from_crypt64(*parameters.get(2)?)?) + 1;
    128u64
        .checked_mul(1u64.checked_shl(n_log2)?)?
        .checked_mul(r)
}

/// The memory Argon2's `m=<KiB>` parameter takes.
fn argon2_memory(stored: &str) -> Option<u64> {
    let parameters = stored.split('$').find(|field| field.starts_with("m="))?;
    let kib = parameters.split(',').next()?.strip_prefix("m=")?;
    kib.parse::<u64>().ok()?.checked_mul(1024)
}

/// The last `$`-separated field: the hash.
fn hash_field(stored: &str) -> &str {
    stored.rsplit('$').next().unwrap_or_default()
}

fn password_hash_result(
    result: Result<(), sha_crypt::password_hash::Error>,
    family: &'static str,
) -> Result<bool, CryptError> {
    match result {
        Ok(()) => Ok(true),
        Err(sha_crypt::password_hash::Error::PasswordInvalid) => Ok(false),
        Err(_) => Err(CryptError::Malformed(family)),
    }
}

/// crypt(3)'s base-64 alphabet.
const CRYPT64: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The value of a crypt(3) base-64 character.
fn from_crypt64(c: u8) -> Option<u8> {
    CRYPT64
        .iter()
        .position(|&x| x == c)
        .and_then(|i| u8::try_from(i).ok())
}

fn crypt64(value: u32) -> char {
    char::from(CRYPT64.get((value & 63) as usize).copied().unwrap_or(b'.'))
}

/// Appends each 3-byte group as 4 characters, least significant 6 bits first (MD5-crypt's
/// order).
fn encode_crypt64_groups(groups: &[[u8; 3]], out: &mut String) {
    for [a, b, c] in groups {
        let mut value = (u32::from(*a) << 16) | (u32::from(*b) << 8) | u32::from(*c);
        for _ in 0..4 {
            out.push(crypt64(value));
            value >>= 6;
        }
    }
}

/// Appends `bits` (one bit per byte, most significant first), zero-padded to a multiple of 6,
/// as characters of 6 bits each, most significant first (DES crypt's order).
fn encode_crypt64_bits(bits: &[u8], out: &mut String) {
    for six in bits.chunks(6) {
        let mut value = 0u32;
        for i in 0..6 {
            value = (value << 1) | u32::from(six.get(i).copied().unwrap_or(0));
        }
        out.push(crypt64(value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse() {
        assert_eq!("crypt".parse(), Ok(PasswordFormat::Crypt));
        assert_eq!("crypt_trad".parse(), Ok(PasswordFormat::Crypt));
        assert_eq!("Plain".parse(), Ok(PasswordFormat::Plain));
        assert!("md5".parse::<PasswordFormat>().is_err());
        assert_eq!(PasswordFormat::default(), PasswordFormat::Plain);
    }

    /// Hashes of "password" from libxcrypt's `mkpasswd` and `htpasswd`.
    const SAMPLES: [&str; 10] = [
        "$y$j9T$odSBxd3fdQ04KYOeXG.Bu1$NjYh4.xc8XaN57MRdJ7esdpvnhVd.AmVNayyjVE76g4",
        "$y$j75$z/O3kTf8RjKswcbMD9vhQ.$y.rfwUSRKHgqo4EGDc./oQse9kU0VQe0EpwAyrzCSL4",
        "$6$v7yBl6BmwPt/J3Mu$Wi9fmfZrn9lde5UaUb6VG2kEMCwqzEdg30Qss7QFZDuF9IxMj7X5HRRDNI29Usaz/YklpiTUnpVF8pvgB7iBh1",
        "$6$rounds=1000$.9ycLbyeXK89jbee$vyIOcvtzq3V2eUNtv8qz4zrrHytFaorJHLgiIF0qQTjshp9VT/xMijOzGFsAu/CqRIzKmcj0n8Y0Pui0JkAYL.",
        "$5$rounds=1000$ZaoZf27H5eMEWgBc$/OWyvJzOx5G8uUWrtI53HNyfbQds1KyRyah7sAYUI/C",
        "$2y$04$0sRVloPFpF8d0/YplfLwseURrQAzzV/H9gCFOYwzN1iLSrDUb8xOK",
        "$2b$05$U6iJ.BGs.kzLFLnN9bW8UueJeoFtoJBgJjUKKbKuLNJ695pYdh2xy",
        "$2a$05$h.W5H/XN5PBHeb3yetSjCeNETLuqp5pAveL9/Ab8murzTK0Vpo3K2",
        "$1$HIeNTM0P$rc8JVQW8HDi4ZxcGNGxDl1",
        "AHc4HAY7x0iu.",
    ];

    #[test]
    fn decoys_do_the_full_work_of_their_hash() {
        for stored in SAMPLES {
            assert_eq!(verify(stored.as_bytes(), b"password"), Ok(true), "{stored}");
            let decoy = CryptDecoy::of(stored.as_bytes()).unwrap();
            // A mismatch, not an early error: the whole algorithm ran.
            assert_eq!(verify(decoy.hash(), b"password"), Ok(false), "{decoy:?}");
            assert_eq!(
                Family::of(stored),
                Family::of(std::str::from_utf8(decoy.hash()).unwrap())
            );
            // Same parameters: everything before the salt.
            let keep = match Family::of(stored).unwrap() {
                Family::Des => 0,
                Family::Bcrypt => 7,
                _ => {
                    stored.len()
                        - stored
                            .rsplitn(3, '$')
                            .take(2)
                            .map(|f| f.len() + 1)
                            .sum::<usize>()
                        + 1
                }
            };
            assert!(
                decoy.hash().starts_with(&stored.as_bytes()[..keep]),
                "{decoy:?}"
            );
            let prefixed = format!("{{CRYPT}}{stored}");
            assert_eq!(CryptDecoy::of(prefixed.as_bytes()), Some(decoy));
        }
        assert_eq!(CryptDecoy::of(b"{PLAIN}password"), None);
        assert_eq!(CryptDecoy::of(b"password"), None);
    }

    #[test]
    fn memory_hungry_parameters_are_refused_before_allocating() {
        let salt_and_hash = "odSBxd3fdQ04KYOeXG.Bu1$NjYh4.xc8XaN57MRdJ7esdpvnhVd.AmVNayyjVE76g4";
        assert_eq!(yescrypt_memory("$y$j9T$"), Some(16 << 20));
        assert_eq!(yescrypt_memory("$y$jFT$"), Some(1 << 30));
        for parameters in ["jHT", "jzT", "j9", ""] {
            let stored = format!("$y${parameters}${salt_and_hash}");
            assert_eq!(
                verify(stored.as_bytes(), b"password"),
                Err(CryptError::Malformed("yescrypt (parameters)")),
                "{stored}"
            );
        }
        let argon2 = "$argon2id$v=19$m=4294967295,t=3,p=1$ZFY31D25iVJa3Bjixm/1vw$av1Xjz8vVkp1AqVY7uHFem0KWdbaJntomZzwXRMCMzI";
        assert_eq!(
            verify(argon2.as_bytes(), b"password"),
            Err(CryptError::Malformed("Argon2 (parameters)"))
        );
        assert_eq!(
            argon2_memory("$argon2id$v=19$m=65536,t=3,p=1$x$y"),
            Some(64 << 20)
        );
    }

    #[test]
    fn unsupported_values_are_described_without_their_contents() {
        for (stored, described) in [
            ("$7$CU..../....abc$xyz", "$7$"),
            ("$gy$j9T$abc$def", "$gy$"),
            (
                "$2x$05$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyzABCDE",
                "$2x$",
            ),
            ("_J9..CCCCXBrJUJV154M", "`_` (BSDi extended DES)"),
            ("!$6$abc$def", "locked or disabled entry"),
            ("hunter2", "not a crypt(3) hash"),
        ] {
            assert_eq!(
                verify(stored.as_bytes(), b"pw"),
                Err(CryptError::Unsupported(described.into())),
                "{stored}"
            );
        }
        assert_eq!(verify(b"", b""), Err(CryptError::Empty));
    }
}
