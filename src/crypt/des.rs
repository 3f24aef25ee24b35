//! Traditional DES-based crypt(3) (V7 Unix, "descrypt"): 13 characters, a 2-character salt
//! that perturbs the DES expansion, 25 encryptions of a zero block under the first 8 password
//! characters (7 bits each).
//!
//! The `des` crate cannot do this (its E-box is fixed), so the cipher is written out here from
//! FIPS 46-3, bit by bit: slow, but crypt(3) is meant to be slow and DES is only here for old
//! databases. A unit test checks the cipher against the `des` crate with the neutral salt.

use super::{CryptError, encode_crypt64_bits, from_crypt64};

/// FIPS 46-3 tables, 1-based bit numbers as printed in the standard.
const IP: [u8; 64] = [
    58, 50, 42, 34, 26, 18, 10, 2, 60, 52, 44, 36, 28, 20, 12, 4, 62, 54, 46, 38, 30, 22, 14, 6,
    64, 56, 48, 40, 32, 24, 16, 8, 57, 49, 41, 33, 25, 17, 9, 1, 59, 51, 43, 35, 27, 19, 11, 3, 61,
    53, 45, 37, 29, 21, 13, 5, 63, 55, 47, 39, 31, 23, 15, 7,
];
const FP: [u8; 64] = [
    40, 8, 48, 16, 56, 24, 64, 32, 39, 7, 47, 15, 55, 23, 63, 31, 38, 6, 46, 14, 54, 22, 62, 30,
    37, 5, 45, 13, 53, 21, 61, 29, 36, 4, 44, 12, 52, 20, 60, 28, 35, 3, 43, 11, 51, 19, 59, 27,
    34, 2, 42, 10, 50, 18, 58, 26, 33, 1, 41, 9, 49, 17, 57, 25,
];
const PC1: [u8; 56] = [
    57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18, 10, 2, 59, 51, 43, 35, 27, 19, 11, 3, 60,
    52, 44, 36, 63, 55, 47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22, 14, 6, 61, 53, 45, 37, 29,
    21, 13, 5, 28, 20, 12, 4,
];
const PC2: [u8; 48] = [
    14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10, 23, 19, 12, 4, 26, 8, 16, 7, 27, 20, 13, 2, 41, 52,
    31, 37, 47, 55, 30, 40, 51, 45, 33, 48, 44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32,
];
const SHIFTS: [usize; 16] = [1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1];
const E: [u8; 48] = [
    32, 1, 2, 3, 4, 5, 4, 5, 6, 7, 8, 9, 8, 9, 10, 11, 12, 13, 12, 13, 14, 15, 16, 17, 16, 17, 18,
    19, 20, 21, 20, 21, 22, 23, 24, 25, 24, 25, 26, 27, 28, 29, 28, 29, 30, 31, 32, 1,
];
const P: [u8; 32] = [
    16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10, 2, 8, 24, 14, 32, 27, 3, 9, 19,
    13, 30, 6, 22, 11, 4, 25,
];
const S: [[u8; 64]; 8] = [
    [
        14, 4, 13, 1, 2, 15, 11, 8, 3, 10, 6, 12, 5, 9, 0, 7, 0, 15, 7, 4, 14, 2, 13, 1, 10, 6, 12,
        11, 9, 5, 3, 8, 4, 1, 14, 8, 13, 6, 2, 11, 15, 12, 9, 7, 3, 10, 5, 0, 15, 12, 8, 2, 4, 9,
        1, 7, 5, 11, 3, 14, 10, 0, 6, 13,
    ],
    [
        15, 1, 8, 14, 6, 11, 3, 4, 9, 7, 2, 13, 12, 0, 5, 10, 3, 13, 4, 7, 15, 2, 8, 14, 12, 0, 1,
        10, 6, 9, 11, 5, 0, 14, 7, 11, 10, 4, 13, 1, 5, 8, 12, 6, 9, 3, 2, 15, 13, 8, 10, 1, 3, 15,
        4, 2, 11, 6, 7, 12, 0, 5, 14, 9,
    ],
    [
        10, 0, 9, 14, 6, 3, 15, 5, 1, 13, 12, 7, 11, 4, 2, 8, 13, 7, 0, 9, 3, 4, 6, 10, 2, 8, 5,
        14, 12, 11, 15, 1, 13, 6, 4, 9, 8, 15, 3, 0, 11, 1, 2, 12, 5, 10, 14, 7, 1, 10, 13, 0, 6,
        9, 8, 7, 4, 15, 14, 3, 11, 5, 2, 12,
    ],
    [
        7, 13, 14, 3, 0, 6, 9, 10, 1, 2, 8, 5, 11, 12, 4, 15, 13, 8, 11, 5, 6, 15, 0, 3, 4, 7, 2,
        12, 1, 10, 14, 9, 10, 6, 9, 0, 12, 11, 7, 13, 15, 1, 3, 14, 5, 2, 8, 4, 3, 15, 0, 6, 10, 1,
        13, 8, 9, 4, 5, 11, 12, 7, 2, 14,
    ],
    [
        2, 12, 4, 1, 7, 10, 11, 6, 8, 5, 3, 15, 13, 0, 14, 9, 14, 11, 2, 12, 4, 7, 13, 1, 5, 0, 15,
        10, 3, 9, 8, 6, 4, 2, 1, 11, 10, 13, 7, 8, 15, 9, 12, 5, 6, 3, 0, 14, 11, 8, 12, 7, 1, 14,
        2, 13, 6, 15, 0, 9, 10, 4, 5, 3,
    ],
    [
        12, 1, 10, 15, 9, 2, 6, 8, 0, 13, 3, 4, 14, 7, 5, 11, 10, 15, 4, 2, 7, 12, 9, 5, 6, 1, 13,
        14, 0, 11, 3, 8, 9, 14, 15, 5, 2, 8, 12, 3, 7, 0, 4, 10, 1, 13, 11, 6, 4, 3, 2, 12, 9, 5,
        15, 10, 11, 14, 1, 7, 6, 0, 8, 13,
    ],
    [
        4, 11, 2, 14, 15, 0, 8, 13, 3, 12, 9, 7, 5, 10, 6, 1, 13, 0, 11, 7, 4, 9, 1, 10, 14, 3, 5,
        12, 2, 15, 8, 6, 1, 4, 11, 13, 12, 3, 7, 14, 10, 15, 6, 8, 0, 5, 9, 2, 6, 11, 13, 8, 1, 4,
        10, 7, 9, 5, 0, 15, 14, 2, 3, 12,
    ],
    [
        13, 2, 8, 4, 6, 15, 11, 1, 10, 9, 3, 14, 5, 0, 12, 7, 1, 15, 13, 8, 10, 3, 7, 4, 12, 5, 6,
        11, 0, 14, 9, 2, 7, 11, 4, 1, 9, 12, 14, 2, 0, 6, 10, 13, 15, 3, 5, 8, 2, 1, 14, 7, 4, 10,
        8, 13, 15, 12, 9, 0, 3, 5, 6, 11,
    ],
];

/// One bit per byte, most significant bit of the DES block first, as the standard numbers them.
type Bits<const N: usize> = [u8; N];

fn permute<const N: usize, const M: usize>(input: &Bits<M>, table: &[u8; N]) -> Bits<N> {
    let mut out = [0u8; N];
    for (bit, &from) in out.iter_mut().zip(table) {
        *bit = input[usize::from(from) - 1];
    }
    out
}

/// The 16 round keys of `key` (64 bits, parity bits ignored).
fn key_schedule(key: &Bits<64>) -> zeroize::Zeroizing<[Bits<48>; 16]> {
    let mut cd: Bits<56> = permute(key, &PC1);
    let mut keys = zeroize::Zeroizing::new([[0u8; 48]; 16]);
    for (round, &shift) in keys.iter_mut().zip(&SHIFTS) {
        cd[..28].rotate_left(shift);
        cd[28..].rotate_left(shift);
        *round = permute(&cd, &PC2);
    }
    zeroize::Zeroize::zeroize(&mut cd);
    keys
}

/// DES encryption of `block` with an expansion table `e` (the standard E, or crypt(3)'s
/// salted one).
fn encrypt(block: &Bits<64>, keys: &[Bits<48>; 16], e: &[u8; 48]) -> Bits<64> {
    let ip: Bits<64> = permute(block, &IP);
    let (mut left, mut right) = ([0u8; 32], [0u8; 32]);
    left.copy_from_slice(&ip[..32]);
    right.copy_from_slice(&ip[32..]);
    for key in keys {
        let expanded: Bits<48> = permute(&right, e);
        let mut sboxed = [0u8; 32];
        for (index, ((six, sbox), four)) in expanded
            .chunks_exact(6)
            .zip(&S)
            .zip(sboxed.chunks_exact_mut(4))
            .enumerate()
        {
            let k = &key[index * 6..index * 6 + 6];
            let b: [u8; 6] = std::array::from_fn(|i| six[i] ^ k[i]);
            let row = (b[0] << 1) | b[5];
            let column = (b[1] << 3) | (b[2] << 2) | (b[3] << 1) | b[4];
            let value = sbox[usize::from(row * 16 + column)];
            for (i, bit) in four.iter_mut().enumerate() {
                *bit = (value >> (3 - i)) & 1;
            }
        }
        let f: Bits<32> = permute(&sboxed, &P);
        let next: Bits<32> = std::array::from_fn(|i| left[i] ^ f[i]);
        left = right;
        right = next;
    }
    let mut preoutput = [0u8; 64];
    preoutput[..32].copy_from_slice(&right);
    preoutput[32..].copy_from_slice(&left);
    permute(&preoutput, &FP)
}

/// `crypt(password, setting)` for a traditional DES `setting` (at least the two salt
/// characters): the 13-character result.
pub(super) fn hash(
    password: &[u8],
    setting: &[u8],
) -> Result<zeroize::Zeroizing<String>, CryptError> {
    let (Some(&s0), Some(&s1)) = (setting.first(), setting.get(1)) else {
        return Err(CryptError::Malformed("DES"));
    };
    let salt = [s0, s1].map(from_crypt64);
    let (Some(v0), Some(v1)) = (salt[0], salt[1]) else {
        return Err(CryptError::Malformed("DES"));
    };
    // Each set salt bit swaps two entries of the expansion table (V7 crypt.c).
    let mut e = E;
    for (i, value) in [v0, v1].into_iter().enumerate() {
        for j in 0..6 {
            if (value >> j) & 1 == 1 {
                e.swap(6 * i + j, 6 * i + j + 24);
            }
        }
    }
    // The first 8 characters, 7 bits each, then a zero (parity) bit.
    let mut key = zeroize::Zeroizing::new([0u8; 64]);
    for (chunk, &c) in key.chunks_exact_mut(8).zip(password.iter().take(8)) {
        for (j, bit) in chunk.iter_mut().take(7).enumerate() {
            *bit = (c >> (6 - j)) & 1;
        }
    }
    let keys = key_schedule(&key);
    let mut block = zeroize::Zeroizing::new([0u8; 64]);
    for _ in 0..25 {
        *block = encrypt(&block, &keys, &e);
    }
    let mut out = zeroize::Zeroizing::new(String::with_capacity(13));
    out.push(char::from(s0));
    out.push(char::from(s1));
    encode_crypt64_bits(block.as_slice(), &mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use des::cipher::{BlockCipherEncrypt, KeyInit};

    fn to_bits(bytes: [u8; 8]) -> Bits<64> {
        std::array::from_fn(|i| (bytes[i / 8] >> (7 - i % 8)) & 1)
    }

    fn from_bits(bits: &Bits<64>) -> [u8; 8] {
        std::array::from_fn(|i| {
            bits[i * 8..i * 8 + 8]
                .iter()
                .fold(0, |acc, b| (acc << 1) | b)
        })
    }

    #[test]
    fn the_cipher_is_des() {
        // With the neutral salt ".." the expansion is the standard one.
        for (key, plain) in [
            (
                [0x13, 0x34, 0x57, 0x79, 0x9b, 0xbc, 0xdf, 0xf1],
                [1, 35, 69, 103, 137, 171, 205, 239],
            ),
            ([0u8; 8], [0u8; 8]),
            ([0xfe; 8], [0xa5; 8]),
        ] {
            let ours = from_bits(&encrypt(&to_bits(plain), &key_schedule(&to_bits(key)), &E));
            let cipher = des::Des::new_from_slice(&key).unwrap();
            let mut block = des::cipher::Array::from(plain);
            cipher.encrypt_block(&mut block);
            assert_eq!(ours, <[u8; 8]>::from(block));
        }
    }

    #[test]
    fn known_hash() {
        // Python 3.11 crypt.crypt("password", "ab") on Debian 12 (libxcrypt).
        assert_eq!(hash(b"password", b"ab").unwrap().as_str(), "abJnggxhB/yWI");
    }
}
