//! The CRAM-MD5 secret (`cmusaslsecretCRAM-MD5`): Cyrus's precomputed HMAC-MD5 pad states,
//! and HMAC-MD5 computed from them without the password.

use md5::Md5;

/// MD5's initial chaining values (RFC 1321 section 3.3).
const MD5_INIT: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];

/// The MD5 state after compressing one 64-byte block: the HMAC key padded with `pad`.
fn pad_state(key: &[u8], pad: u8) -> [u32; 4] {
    let hashed: zeroize::Zeroizing<[u8; 16]>;
    let key = if key.len() > 64 {
        hashed = zeroize::Zeroizing::new(<Md5 as md5::Digest>::digest(key).into());
        &hashed[..]
    } else {
        key
    };
    let mut block = zeroize::Zeroizing::new([pad; 64]);
    for (byte, k) in block.iter_mut().zip(key) {
        *byte ^= k;
    }
    let mut state = MD5_INIT;
    md5::block_api::compress(&mut state, &[*block]);
    state
}

/// Cyrus's precomputed CRAM-MD5 secret (`cmusaslsecretCRAM-MD5`, `HMAC_MD5_STATE` as
/// `_sasl_hmac_md5_precalc` lays it out in lib/md5.c): the MD5 chaining values after the
/// inner pad block, then after the outer pad block, each word big-endian (`htonl`), 32 bytes.
/// It lets the server compute HMAC-MD5 without the password.
pub fn cram_md5_secret(key: &[u8]) -> [u8; 32] {
    let mut secret = [0u8; 32];
    let words = pad_state(key, 0x36).into_iter().chain(pad_state(key, 0x5c));
    for (chunk, word) in secret.chunks_exact_mut(4).zip(words) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    secret
}

/// Finishes an MD5 whose first 64-byte block is already in `state`, over `data`.
fn md5_after_block(mut state: [u32; 4], data: &[u8]) -> [u8; 16] {
    let bits = (64 + data.len() as u64).wrapping_mul(8);
    // Room for the padding up front: a reallocation would free a copy unzeroized.
    let mut message = zeroize::Zeroizing::new(Vec::with_capacity(data.len() + 72));
    message.extend_from_slice(data);
    message.push(0x80);
    while message.len() % 64 != 56 {
        message.push(0);
    }
    message.extend_from_slice(&bits.to_le_bytes());
    let blocks: zeroize::Zeroizing<Vec<[u8; 64]>> = zeroize::Zeroizing::new(
        message
            .chunks_exact(64)
            .filter_map(|block| block.try_into().ok())
            .collect(),
    );
    md5::block_api::compress(&mut state, &blocks);
    let mut out = [0u8; 16];
    for (chunk, word) in out.chunks_exact_mut(4).zip(state) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    out
}

/// `HMAC-MD5(key, challenge)` from the [`cram_md5_secret`] of `key`; `None` unless the secret
/// is 32 bytes.
pub(crate) fn digest_from_secret(secret: &[u8], challenge: &[u8]) -> Option<[u8; 16]> {
    // The pad states are password-equivalent: wipe this copy too.
    let words: zeroize::Zeroizing<Vec<u32>> = zeroize::Zeroizing::new(
        secret
            .chunks_exact(4)
            .filter_map(|chunk| chunk.try_into().ok().map(u32::from_be_bytes))
            .collect(),
    );
    let (Ok(inner), Ok(outer), 32) = (
        <[u32; 4]>::try_from(words.get(..4).unwrap_or_default()),
        <[u32; 4]>::try_from(words.get(4..).unwrap_or_default()),
        secret.len(),
    ) else {
        return None;
    };
    let inner_digest = md5_after_block(inner, challenge);
    Some(md5_after_block(outer, &inner_digest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::hmac;

    #[test]
    fn precalculated_secret_gives_the_same_hmac() {
        // RFC 2195's example, then keys around the 64-byte block and longer ones.
        let challenge = b"<1896.697170952@postoffice.reston.mci.net>";
        for key in [
            b"tanstaaftanstaaf".to_vec(),
            Vec::new(),
            vec![b'k'; 63],
            vec![b'k'; 64],
            vec![b'k'; 65],
            vec![7; 300],
        ] {
            let secret = cram_md5_secret(&key);
            for message in [&challenge[..], b"", &[b'x'; 55], &[b'x'; 56], &[b'x'; 200]] {
                assert_eq!(
                    digest_from_secret(&secret, message),
                    Some(<[u8; 16]>::from(hmac::<Md5>(&key, &[message])))
                );
            }
        }
        assert_eq!(digest_from_secret(&[0; 31], challenge), None);
        assert_eq!(digest_from_secret(&[0; 33], challenge), None);
    }
}
