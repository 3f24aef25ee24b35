//! The Berkeley DB 5.3 hash access method's on-disk format (`DB_HASH`, hash version 9), as
//! libdb writes it for Cyrus's sasldb2 files: a [`reader`] that looks keys up through the
//! file's own buckets, and a [`writer`] that lays out a whole new file libdb can open, search
//! and keep modifying.
//!
//! The format facts, with their provenance (libdb 5.3.28 source and experiments), are in the
//! project's `reference/berkeley-db-hash-format.md`; section numbers below refer to it.

pub mod reader;
pub mod writer;

pub use reader::HashDb;
pub use writer::{WriteOptions, write};

/// `DB_HASHMAGIC`, the u32 at offset 12 of the metadata page (§5).
pub(crate) const HASH_MAGIC: u32 = 0x0006_1561;
/// The btree magic, recognised only for a clearer error.
pub(crate) const BTREE_MAGIC: u32 = 0x0005_3162;
/// The queue magic, recognised only for a clearer error.
pub(crate) const QUEUE_MAGIC: u32 = 0x0004_2253;
/// The heap magic, recognised only for a clearer error.
pub(crate) const HEAP_MAGIC: u32 = 0x0007_4582;
/// `ham_func5("%$sniglet^&\0")`, stored in every meta page (§7.2).
pub(crate) const CHARKEY: u32 = 0x5e68_8dd1;

/// Generic page header length (§3).
pub(crate) const PAGE_HEADER: usize = 26;

/// Page types (§4).
pub(crate) const P_INVALID: u8 = 0;
pub(crate) const P_HASH_UNSORTED: u8 = 2;
pub(crate) const P_OVERFLOW: u8 = 7;
pub(crate) const P_HASHMETA: u8 = 8;
pub(crate) const P_HASH: u8 = 13;

/// Item types (§8.2).
pub(crate) const H_KEYDATA: u8 = 1;
pub(crate) const H_OFFPAGE: u8 = 3;

/// The byte order of a file (§2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteOrder {
    /// Little-endian: every file created on x86-64 or arm64.
    Little,
    /// Big-endian ("byte-swapped" on x86).
    Big,
}

impl ByteOrder {
    pub(crate) fn u16(self, bytes: [u8; 2]) -> u16 {
        match self {
            ByteOrder::Little => u16::from_le_bytes(bytes),
            ByteOrder::Big => u16::from_be_bytes(bytes),
        }
    }

    pub(crate) fn u32(self, bytes: [u8; 4]) -> u32 {
        match self {
            ByteOrder::Little => u32::from_le_bytes(bytes),
            ByteOrder::Big => u32::from_be_bytes(bytes),
        }
    }

    pub(crate) fn u16_bytes(self, value: u16) -> [u8; 2] {
        match self {
            ByteOrder::Little => value.to_le_bytes(),
            ByteOrder::Big => value.to_be_bytes(),
        }
    }

    pub(crate) fn u32_bytes(self, value: u32) -> [u8; 4] {
        match self {
            ByteOrder::Little => value.to_le_bytes(),
            ByteOrder::Big => value.to_be_bytes(),
        }
    }
}

/// libdb's default hash, `__ham_func5`: 32-bit FNV-1 (multiply, then xor) starting from 0
/// rather than the FNV offset basis (§7.1).
pub fn ham_func5(key: &[u8]) -> u32 {
    ham_func5_continue(0, key)
}

/// [`ham_func5`] of `prefix` followed by `rest`, given `hash = ham_func5(prefix)`: the hash
/// is a fold over the bytes, so keys sharing a prefix (`user \0 realm \0`) hash it once.
pub fn ham_func5_continue(hash: u32, rest: &[u8]) -> u32 {
    rest.iter().fold(hash, |hash, &byte| {
        hash.wrapping_mul(16_777_619) ^ u32::from(byte)
    })
}

/// `__db_log2`: the smallest `i` with `1 << i >= n` (0 for 0 and 1).
pub(crate) fn ceil_log2(n: u32) -> u32 {
    if n <= 1 {
        0
    } else {
        32 - (n - 1).leading_zeros()
    }
}

/// libdb's order of on-page keys (§8.6): bytewise over the common length, and on a tie the
/// longer key first.
pub(crate) fn onpage_key_order(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    let common = a.len().min(b.len());
    a.get(..common)
        .cmp(&b.get(..common))
        .then_with(|| b.len().cmp(&a.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ham_func5_vectors() {
        // §7.1: checked against real files.
        assert_eq!(ham_func5(b"%$sniglet^&\0"), CHARKEY);
        assert_eq!(ham_func5(b"alice\0EXAMPLE.ORG\0userPassword"), 0x61b7_0dc8);
        assert_eq!(ham_func5(b"user1\0EXAMPLE.ORG\0userPassword"), 0x9225_48c2);
        assert_eq!(ham_func5(b"u1\0example.com\0userPassword"), 0x5dd8_5c59);
        assert_eq!(ham_func5(b"%$sniglet^&"), 0x9f55_618b);
        assert_eq!(ham_func5(b"a"), 0x61);
        assert_eq!(ham_func5(b""), 0);
        let prefix = ham_func5(b"alice\0EXAMPLE.ORG\0");
        assert_eq!(ham_func5_continue(prefix, b"userPassword"), 0x61b7_0dc8);
    }

    #[test]
    fn log2_and_order() {
        assert_eq!(
            [0, 1, 2, 3, 4, 5, 8, 9].map(ceil_log2),
            [0, 0, 1, 2, 2, 3, 3, 4]
        );
        use std::cmp::Ordering::*;
        assert_eq!(onpage_key_order(b"ab", b"a"), Less);
        assert_eq!(onpage_key_order(b"a", b"ab"), Greater);
        assert_eq!(onpage_key_order(b"a", b"b"), Less);
        assert_eq!(onpage_key_order(b"ab", b"ab"), Equal);
    }
}
