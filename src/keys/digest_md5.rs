//! The DIGEST-MD5 secret `H(username:realm:password)` (RFC 2831 section 2.1.2.1), what
//! `cmusaslsecretDIGEST-MD5` stores.

use std::borrow::Cow;

use md5::{Digest, Md5};

use crate::secret::Secret;

/// The bytes hashed for a name or password: ISO-8859-1 when every character fits (RFC 2831
/// section 2.1.2.1 for `charset=utf-8`, and what Cyrus does), else the UTF-8 bytes.
pub(crate) fn latin1_or_utf8(text: &str) -> Cow<'_, [u8]> {
    if text.is_ascii() {
        return Cow::Borrowed(text.as_bytes());
    }
    match text
        .chars()
        .map(|c| u8::try_from(u32::from(c)).ok())
        .collect::<Option<Vec<u8>>>()
    {
        Some(latin1) => Cow::Owned(latin1),
        None => Cow::Borrowed(text.as_bytes()),
    }
}

/// `H(username:realm:password)`, the per-realm secret (what `cmusaslsecretDIGEST-MD5` stores),
/// with the ISO-8859-1 conversion applied to each part where possible.
pub(crate) fn user_secret(user: &str, realm: &str, password: &[u8]) -> Secret {
    // As `latin1_or_utf8`, but never leaving a partial copy of the password unzeroized.
    let password: Secret = match std::str::from_utf8(password) {
        Ok(text) if !text.is_ascii() && text.chars().all(|c| u32::from(c) <= 0xff) => {
            let mut latin1 = Vec::with_capacity(text.len());
            latin1.extend(text.chars().filter_map(|c| u8::try_from(u32::from(c)).ok()));
            Secret::new(latin1)
        }
        _ => Secret::from(password),
    };
    let mut md5 = Md5::new();
    md5.update(latin1_or_utf8(user));
    md5.update(b":");
    md5.update(latin1_or_utf8(realm));
    md5.update(b":");
    md5.update(password.expose());
    Secret::new(md5.finalize().to_vec())
}

/// `MD5(user:realm:password)`, the DIGEST-MD5 secret (RFC 2831 section 2.1.2.1), each part
/// converted to ISO-8859-1 where every character fits, as the RFC and Cyrus do.
pub fn digest_md5_ha1(user: &str, realm: &str, password: &[u8]) -> [u8; 16] {
    let secret = user_secret(user, realm, password);
    let mut out = [0u8; 16];
    out.copy_from_slice(secret.expose());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_hashed_in_latin1_where_it_fits() {
        let md5 = |bytes: &[u8]| Md5::digest(bytes).to_vec();
        let secret = |pw: &str| user_secret("u", "r", pw.as_bytes()).expose().to_vec();
        assert_eq!(secret("p\u{e4}ss"), md5(b"u:r:p\xe4ss"));
        assert_eq!(secret("p\u{20ac}"), md5("u:r:p\u{20ac}".as_bytes()));
        assert_eq!(secret("plain"), md5(b"u:r:plain"));
        let raw = user_secret("u", "r", b"\xff\xfe");
        assert_eq!(raw.expose(), md5(b"u:r:\xff\xfe"));
    }

    #[test]
    fn latin1_conversion() {
        assert_eq!(latin1_or_utf8("abc").as_ref(), b"abc");
        assert_eq!(latin1_or_utf8("m\u{fc}ller").as_ref(), b"m\xfcller");
        assert_eq!(latin1_or_utf8("\u{20ac}").as_ref(), "\u{20ac}".as_bytes());
    }

    #[test]
    fn ha1_matches_rfc2831() {
        // H(A1) input of RFC 2831 section 4: MD5("chris:elwood.innosoft.com:secret").
        let ha1 = digest_md5_ha1("chris", "elwood.innosoft.com", b"secret");
        let hex: String = ha1.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "eb5a750053e4d2c34aa84bbc9b0b6ee7");
    }
}
