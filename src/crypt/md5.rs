//! MD5-crypt (`$1$`, Poul-Henning Kamp's FreeBSD algorithm, as in libxcrypt's
//! `crypt-md5.c`): 1000 rounds of MD5 over the password and a salt of at most 8 characters.
//!
//! No maintained crate of the project's RustCrypto generation implements it, and it is 40
//! lines over `md-5`; the vectors in `tests/data/crypt/` come from libxcrypt, OpenSSL and
//! Python.

use md5::{Digest, Md5};
use zeroize::Zeroizing;

use super::{CryptError, encode_crypt64_groups};

/// The identifier of MD5-crypt.
pub(super) const PREFIX: &str = "$1$";

/// `crypt(password, setting)` for an MD5-crypt `setting` (`$1$salt$...`): the full hash
/// string `$1$salt$hash`.
pub(super) fn hash(password: &[u8], setting: &str) -> Result<Zeroizing<String>, CryptError> {
    let rest = setting
        .strip_prefix(PREFIX)
        .ok_or(CryptError::Malformed("MD5-crypt"))?;
    // The salt ends at the next `$` or after 8 characters, as in libxcrypt.
    let salt: &str = rest.split('$').next().unwrap_or_default();
    let salt = salt.get(..salt.len().min(8)).unwrap_or(salt);

    let mut alternate = Md5::new();
    alternate.update(password);
    alternate.update(salt);
    alternate.update(password);
    let alternate = Zeroizing::new(<[u8; 16]>::from(alternate.finalize()));

    let mut context = Md5::new();
    context.update(password);
    context.update(PREFIX);
    context.update(salt);
    for chunk in password.chunks(16) {
        context.update(alternate.get(..chunk.len()).unwrap_or_default());
    }
    let mut length = password.len();
    while length > 0 {
        if length & 1 == 1 {
            context.update([0u8]);
        } else {
            context.update(password.get(..1).unwrap_or_default());
        }
        length >>= 1;
    }
    let mut digest = Zeroizing::new(<[u8; 16]>::from(context.finalize()));

    for round in 0..1000 {
        let mut context = Md5::new();
        if round & 1 == 1 {
            context.update(password);
        } else {
            context.update(digest.as_slice());
        }
        if round % 3 != 0 {
            context.update(salt);
        }
        if round % 7 != 0 {
            context.update(password);
        }
        if round & 1 == 1 {
            context.update(digest.as_slice());
        } else {
            context.update(password);
        }
        *digest = context.finalize().into();
    }

    let d = &*digest;
    let mut out = Zeroizing::new(format!("{PREFIX}{salt}$"));
    encode_crypt64_groups(
        &[
            [d[0], d[6], d[12]],
            [d[1], d[7], d[13]],
            [d[2], d[8], d[14]],
            [d[3], d[9], d[15]],
            [d[4], d[10], d[5]],
        ],
        &mut out,
    );
    // The last byte alone: 2 characters.
    encode_crypt64_groups(&[[0, 0, d[11]]], &mut out);
    let len = out.len() - 2;
    out.truncate(len);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_hashes() {
        // Python 3.11 crypt.crypt on Debian 12 (libxcrypt).
        assert_eq!(
            hash(b"password", "$1$saltsalt$").unwrap().as_str(),
            "$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/"
        );
        // The salt stops after 8 characters.
        assert_eq!(
            hash(b"password", "$1$saltsaltXYZ$").unwrap().as_str(),
            "$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/"
        );
    }
}
