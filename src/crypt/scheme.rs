//! Dovecot's `{SCHEME}` password prefixes, so a database shared with Dovecot needs no change
//! (Dovecot's `docs/core/config/auth/schemes.md`).
//!
//! | scheme | value |
//! |---|---|
//! | `CRYPT` | any crypt(3) hash [`verify`](super::verify) knows |
//! | `SHA512-CRYPT`, `SHA256-CRYPT`, `BLF-CRYPT`, `MD5-CRYPT` (`MD5`), `DES-CRYPT` | that crypt(3) family only |
//! | `ARGON2I`, `ARGON2ID` (`ARGON2`: either) | an Argon2 PHC string |
//! | `PLAIN`, `CLEARTEXT`, `CLEAR` | the password itself |
//! | `SHA` (`SHA1`), `SHA256`, `SHA512`, `PLAIN-MD5`, `LDAP-MD5` | the digest of the password |
//! | `SSHA`, `SSHA256`, `SSHA512`, `SMD5` | `digest(password + salt) + salt` |
//! | `PBKDF2` | `$1$salt$rounds$hex`, PBKDF2-HMAC-SHA1 |
//! | `SCRAM-SHA-1`, `SCRAM-SHA-256` | `iterations,salt,StoredKey,ServerKey` (base 64) |
//!
//! Names are case-insensitive; a `.b64`, `.base64` or `.hex` suffix names the encoding of the
//! value. Without one, digests are base-64 (`PLAIN-MD5`: hex), and, as in Dovecot, a value
//! exactly twice the digest length in hex digits is read as hex.
//!
//! Not verified here, and so reported as unknown: `CRAM-MD5`/`HMAC-MD5`, `DIGEST-MD5` (it
//! needs the user and realm), `PLAIN-MD4`, `PLAIN-TRUNC`, `OTP`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use digest::Digest;
use zeroize::Zeroizing;

use super::{CryptError, Family};
use crate::keys::{ScramHash, StoredKeys};
use crate::secret::{Secret, digests_equal};

/// Splits `{SCHEME}value` into the scheme name and the value; `None` if `stored` does not
/// start with a plausible scheme name (letters, digits, `-`, `.`, at most 32 of them).
pub(super) fn split(stored: &str) -> Option<(&str, &str)> {
    let (name, value) = stored.strip_prefix('{')?.split_once('}')?;
    let plausible = !name.is_empty()
        && name.len() <= 32
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.' || c == b'_');
    plausible.then_some((name, value))
}

/// How a value is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Raw,
    Base64,
    Hex,
}

/// The scheme's base name (upper case) and the encoding its suffix names, if any.
fn parse_name(name: &str) -> (String, Option<Encoding>) {
    let upper = name.to_ascii_uppercase();
    for (suffix, encoding) in [
        (".B64", Encoding::Base64),
        (".BASE64", Encoding::Base64),
        (".HEX", Encoding::Hex),
    ] {
        if let Some(base) = upper.strip_suffix(suffix) {
            return (base.to_owned(), Some(encoding));
        }
    }
    (upper, None)
}

fn decode(value: &str, encoding: Encoding) -> Option<Zeroizing<Vec<u8>>> {
    match encoding {
        Encoding::Raw => Some(Zeroizing::new(value.as_bytes().to_vec())),
        Encoding::Base64 => STANDARD.decode(value.trim()).ok().map(Zeroizing::new),
        Encoding::Hex => decode_hex(value.trim()).map(Zeroizing::new),
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.as_bytes()
        .chunks_exact(2)
        .map(|pair| {
            let pair = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(pair, 16).ok()
        })
        .collect()
}

/// The plaintext of a `{PLAIN}`/`{CLEARTEXT}`/`{CLEAR}` value; `None` for every other scheme.
pub(super) fn plaintext(name: &str, value: &str) -> Option<Secret> {
    let (base, encoding) = parse_name(name);
    if !matches!(base.as_str(), "PLAIN" | "CLEARTEXT" | "CLEAR") {
        return None;
    }
    let decoded = decode(value, encoding.unwrap_or(Encoding::Raw))?;
    Some(Secret::from(decoded.as_slice()))
}

/// The crypt(3) family a named crypt scheme requires, or `None` for `CRYPT` (any).
fn crypt_family(base: &str) -> Option<Option<(Family, &'static str)>> {
    Some(match base {
        "CRYPT" => None,
        "SHA512-CRYPT" => Some((Family::Sha512, "SHA512-CRYPT")),
        "SHA256-CRYPT" => Some((Family::Sha256, "SHA256-CRYPT")),
        "BLF-CRYPT" => Some((Family::Bcrypt, "BLF-CRYPT")),
        "MD5-CRYPT" | "MD5" => Some((Family::Md5, "MD5-CRYPT")),
        "DES-CRYPT" => Some((Family::Des, "DES-CRYPT")),
        "ARGON2I" | "ARGON2ID" | "ARGON2" => Some((Family::Argon2, "ARGON2")),
        _ => return None,
    })
}

/// Whether `name` is a crypt(3) or Argon2 scheme (its value is a hash [`Family`] knows).
pub(super) fn is_crypt(name: &str) -> bool {
    crypt_family(&parse_name(name).0).is_some()
}

/// A dummy value of scheme `name` that costs what checking `value` costs, for the iterated
/// schemes (`PBKDF2`, `SCRAM-*`); `None` for the others.
pub(super) fn decoy(name: &str, value: &str) -> Option<String> {
    let (base, _) = parse_name(name);
    let scram = |hash: ScramHash| {
        let iterations: u32 = value.split(',').next()?.parse().ok()?;
        let zero = STANDARD.encode(vec![0u8; hash.output_len()]);
        Some(format!("{{{base}}}{iterations},ZGVjb3lzYWx0,{zero},{zero}"))
    };
    match base.as_str() {
        "PBKDF2" => {
            let rounds: u32 = value.split('$').nth(3)?.parse().ok()?;
            Some(format!(
                "{{PBKDF2}}$1$decoysaltdecoysa${rounds}${}",
                "0".repeat(40)
            ))
        }
        "SCRAM-SHA-1" => scram(ScramHash::Sha1),
        "SCRAM-SHA-256" => scram(ScramHash::Sha256),
        _ => None,
    }
}

/// Verifies `offered` against the value of scheme `name`.
pub(super) fn verify(name: &str, value: &str, offered: &[u8]) -> Result<bool, CryptError> {
    let (base, encoding) = parse_name(name);
    if let Some(required) = crypt_family(&base) {
        if let Some((family, scheme)) = required {
            let actual = Family::of(value)?;
            let argon2_variant_ok = match base.as_str() {
                "ARGON2I" => value.starts_with("$argon2i$"),
                "ARGON2ID" => value.starts_with("$argon2id$"),
                _ => true,
            };
            if actual != family || !argon2_variant_ok {
                return Err(CryptError::SchemeMismatch(scheme));
            }
        }
        return super::verify_crypt(value, offered);
    }
    if let Some(stored) = plaintext(name, value) {
        return Ok(stored.matches(offered));
    }
    match base.as_str() {
        "PBKDF2" => return verify_pbkdf2(value, offered),
        "SCRAM-SHA-1" => return verify_scram(ScramHash::Sha1, value, offered),
        "SCRAM-SHA-256" => return verify_scram(ScramHash::Sha256, value, offered),
        _ => {}
    }
    let digest = match base.as_str() {
        "SHA" | "SHA1" => Hashed::unsalted::<sha1::Sha1>(),
        "SSHA" => Hashed::salted::<sha1::Sha1>(),
        "SHA256" => Hashed::unsalted::<sha2::Sha256>(),
        "SSHA256" => Hashed::salted::<sha2::Sha256>(),
        "SHA512" => Hashed::unsalted::<sha2::Sha512>(),
        "SSHA512" => Hashed::salted::<sha2::Sha512>(),
        "LDAP-MD5" => Hashed::unsalted::<md5::Md5>(),
        "SMD5" => Hashed::salted::<md5::Md5>(),
        "PLAIN-MD5" => Hashed {
            default_encoding: Encoding::Hex,
            ..Hashed::unsalted::<md5::Md5>()
        },
        _ => return Err(CryptError::UnknownScheme(base)),
    };
    digest.verify(value, encoding, offered)
}

/// Dovecot's `PBKDF2`: `$1$<salt>$<rounds>$<hex of PBKDF2-HMAC-SHA1, 20 bytes>`, the salt used
/// as its text.
fn verify_pbkdf2(value: &str, offered: &[u8]) -> Result<bool, CryptError> {
    const MALFORMED: CryptError = CryptError::Malformed("PBKDF2");
    let mut fields = value.split('$');
    let (Some(""), Some("1"), Some(salt), Some(rounds), Some(key), None) = (
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
    ) else {
        return Err(MALFORMED);
    };
    let rounds: u32 = rounds.parse().map_err(|_| MALFORMED)?;
    let expected = decode_hex(key).filter(|k| k.len() == 20).ok_or(MALFORMED)?;
    if rounds == 0 {
        return Err(MALFORMED);
    }
    let mut derived = Zeroizing::new([0u8; 20]);
    pbkdf2::pbkdf2_hmac::<sha1::Sha1>(offered, salt.as_bytes(), rounds, derived.as_mut_slice());
    Ok(digests_equal(derived.as_slice(), &expected))
}

/// Dovecot's `SCRAM-SHA-1`/`SCRAM-SHA-256`: `<iterations>,<salt>,<StoredKey>,<ServerKey>`,
/// base 64; the password is checked by deriving the StoredKey, as for our own SCRAM keys.
fn verify_scram(hash: ScramHash, value: &str, offered: &[u8]) -> Result<bool, CryptError> {
    const MALFORMED: CryptError = CryptError::Malformed("SCRAM");
    let fields: Vec<&str> = value.split(',').collect();
    let [iterations, salt, stored_key, server_key] = fields[..] else {
        return Err(MALFORMED);
    };
    let iterations: u32 = iterations.parse().map_err(|_| MALFORMED)?;
    let decode = |field: &str| STANDARD.decode(field).map_err(|_| MALFORMED);
    let keys = StoredKeys {
        hash,
        iterations,
        salt: decode(salt)?,
        stored_key: Secret::new(decode(stored_key)?),
        server_key: Secret::new(decode(server_key)?),
    };
    if iterations == 0 || keys.salt.is_empty() || keys.stored_key.len() != hash.output_len() {
        return Err(MALFORMED);
    }
    Ok(keys.verify_password(offered))
}

/// A `digest(password [+ salt])` scheme.
struct Hashed {
    hash: fn(&[u8], &[u8]) -> Zeroizing<Vec<u8>>,
    length: usize,
    salted: bool,
    default_encoding: Encoding,
}

impl Hashed {
    fn unsalted<D: Digest>() -> Hashed {
        Hashed {
            hash: hash::<D>,
            length: <D as Digest>::output_size(),
            salted: false,
            default_encoding: Encoding::Base64,
        }
    }

    fn salted<D: Digest>() -> Hashed {
        Hashed {
            salted: true,
            ..Hashed::unsalted::<D>()
        }
    }

    fn verify(
        &self,
        value: &str,
        encoding: Option<Encoding>,
        offered: &[u8],
    ) -> Result<bool, CryptError> {
        let looks_hex = !self.salted
            && value.len() == 2 * self.length
            && value.bytes().all(|c| c.is_ascii_hexdigit());
        let encoding = match encoding {
            Some(encoding) => encoding,
            None if looks_hex => Encoding::Hex,
            None => self.default_encoding,
        };
        let decoded = decode(value, encoding).ok_or(CryptError::Malformed("encoded digest"))?;
        let (expected, salt) = if self.salted {
            if decoded.len() <= self.length {
                return Err(CryptError::Malformed("salted digest"));
            }
            decoded.split_at(self.length)
        } else {
            if decoded.len() != self.length {
                return Err(CryptError::Malformed("digest"));
            }
            (decoded.as_slice(), &[][..])
        };
        Ok(digests_equal(&(self.hash)(offered, salt), expected))
    }
}

fn hash<D: Digest>(password: &[u8], salt: &[u8]) -> Zeroizing<Vec<u8>> {
    let mut hasher = D::new();
    hasher.update(password);
    hasher.update(salt);
    Zeroizing::new(hasher.finalize().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_and_parse() {
        assert_eq!(split("{SHA512-CRYPT}$6$x"), Some(("SHA512-CRYPT", "$6$x")));
        assert_eq!(split("{}x"), None);
        assert_eq!(split("{a b}x"), None);
        assert_eq!(split("$6$x"), None);
        assert_eq!(
            parse_name("ssha256.hex"),
            ("SSHA256".into(), Some(Encoding::Hex))
        );
        assert_eq!(
            parse_name("PLAIN.b64"),
            ("PLAIN".into(), Some(Encoding::Base64))
        );
    }

    #[test]
    fn digests() {
        // `doveadm pw -s SHA -p password` and friends (well-known digests of "password").
        let cases = [
            ("{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", true),
            ("{SHA1.HEX}5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8", true),
            ("{SHA}5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8", true),
            ("{PLAIN-MD5}5f4dcc3b5aa765d61d8327deb882cf99", true),
            ("{LDAP-MD5}X03MO1qnZdYdgyfeuILPmQ==", true),
            ("{SHA256}XohImNooBHFR0OVvjcYpJ3NgPQ1qq73WKhHvch0VQtg=", true),
            ("{PLAIN}password", true),
            ("{CLEARTEXT}password", true),
            ("{PLAIN.B64}cGFzc3dvcmQ=", true),
            ("{PLAIN}passwore", false),
            ("{SHA}X6ph5Mm5Pz8GgiULbPgzG37mj9g=", false),
        ];
        for (stored, expected) in cases {
            assert_eq!(
                super::super::verify(stored.as_bytes(), b"password"),
                Ok(expected),
                "{stored}"
            );
        }
    }

    #[test]
    fn salted_digests() {
        use sha1::Sha1;
        let salt = b"salt1234";
        let mut value = hash::<Sha1>(b"password", salt).to_vec();
        value.extend_from_slice(salt);
        let stored = format!("{{SSHA}}{}", STANDARD.encode(&value));
        assert_eq!(
            super::super::verify(stored.as_bytes(), b"password"),
            Ok(true)
        );
        assert_eq!(
            super::super::verify(stored.as_bytes(), b"passwore"),
            Ok(false)
        );
        // No salt: damaged.
        let stored = format!("{{SSHA}}{}", STANDARD.encode(&value[..20]));
        assert_eq!(
            super::super::verify(stored.as_bytes(), b"password"),
            Err(CryptError::Malformed("salted digest"))
        );
    }

    #[test]
    fn unknown_and_mismatched_schemes() {
        assert_eq!(
            super::super::verify(b"{CRAM-MD5}0123", b"pw"),
            Err(CryptError::UnknownScheme("CRAM-MD5".into()))
        );
        assert_eq!(
            super::super::verify(
                b"{SHA512-CRYPT}$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/",
                b"password"
            ),
            Err(CryptError::SchemeMismatch("SHA512-CRYPT"))
        );
        assert_eq!(
            super::super::verify(
                b"{MD5-CRYPT}$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/",
                b"password"
            ),
            Ok(true)
        );
        assert_eq!(
            super::super::verify(b"{CRYPT}abJnggxhB/yWI", b"password"),
            Ok(true)
        );
    }

    #[test]
    fn only_plain_schemes_are_plaintext() {
        assert!(plaintext("PLAIN", "pw").is_some_and(|s| s.matches(b"pw")));
        assert!(plaintext("cleartext.hex", "7077").is_some_and(|s| s.matches(b"pw")));
        assert!(plaintext("SHA", "W6ph5Mm5Pz8GgiULbPgzG37mj9g=").is_none());
        assert!(plaintext("CRYPT", "abJnggxhB/yWI").is_none());
    }
}
