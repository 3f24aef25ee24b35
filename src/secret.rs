//! Secrets: passwords and derived keys that zeroize on drop, never print, and compare only in
//! constant time.

use std::fmt;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Secret bytes (a password, a stored key, an HA1): zeroized on drop, printed as
/// `[redacted]`, and deliberately without `PartialEq`.
#[derive(Default, Zeroize, ZeroizeOnDrop)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Wraps `bytes`, taking ownership so no copy is left behind.
    pub fn new(bytes: Vec<u8>) -> Self {
        Secret(bytes)
    }

    /// The secret bytes. Handle with care: do not log, do not compare with `==`.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// A second, independent copy (zeroized on its own drop). `Secret` is deliberately not
    /// `Clone`, so every copy of a secret is spelled out where it is made.
    pub fn duplicate(&self) -> Secret {
        Secret(self.0.clone())
    }

    /// The length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Compares two secrets of any length in constant time (relative to their contents) by
    /// comparing their SHA-256 digests.
    pub fn matches(&self, other: &[u8]) -> bool {
        let ours: [u8; 32] = Sha256::digest(&self.0).into();
        let theirs: [u8; 32] = Sha256::digest(other).into();
        digests_equal(&ours, &theirs)
    }
}

impl From<&str> for Secret {
    fn from(text: &str) -> Self {
        Secret(text.as_bytes().to_vec())
    }
}

impl From<&[u8]> for Secret {
    fn from(bytes: &[u8]) -> Self {
        Secret(bytes.to_vec())
    }
}

impl From<String> for Secret {
    fn from(text: String) -> Self {
        Secret(text.into_bytes())
    }
}

impl From<Vec<u8>> for Secret {
    fn from(bytes: Vec<u8>) -> Self {
        Secret(bytes)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// The one way to compare secret digests: constant time over the contents.
///
/// Digests of different lengths are never equal; the lengths themselves are public (they are
/// the output sizes of hash functions).
pub fn digests_equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let secret = Secret::from("hunter2");
        assert_eq!(format!("{secret:?}"), "[redacted]");
    }

    #[test]
    fn matches_compares_contents() {
        let secret = Secret::from("pencil");
        assert!(secret.matches(b"pencil"));
        assert!(!secret.matches(b"pencil2"));
        assert!(!secret.matches(b""));
    }

    #[test]
    fn digests_of_different_length_differ() {
        assert!(!digests_equal(b"ab", b"abc"));
        assert!(digests_equal(b"abc", b"abc"));
        assert!(!digests_equal(b"abd", b"abc"));
    }
}
