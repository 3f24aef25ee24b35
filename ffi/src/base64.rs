//! `sasl_encode64` and `sasl_decode64`, with Cyrus's exact edge cases: the encoder always
//! NUL-terminates and reports the length even when the buffer is too small; the decoder
//! works in groups of four, returns `SASL_CONTINUE` on a trailing partial group, counts the
//! NUL in `outmax`, and rejects whitespace inside a group.

use std::ffi::{c_char, c_int, c_uint};

use crate::consts::*;
use crate::util::{bytes, guard, nonnull, put};

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// The encoded length of `len` bytes, without the NUL.
pub fn encoded_len(len: usize) -> usize {
    len.div_ceil(3) * 4
}

/// Encodes `input` into `out`, which must hold `encoded_len(input.len())` bytes plus the NUL.
pub fn encode_into(input: &[u8], out: &mut [u8]) {
    let mut written = 0;
    for chunk in input.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let sextets = [(n >> 18) & 63, (n >> 12) & 63, (n >> 6) & 63, n & 63];
        for (i, sextet) in sextets.iter().enumerate() {
            let symbol = if i <= chunk.len() {
                ALPHABET.get(*sextet as usize).copied().unwrap_or(b'=')
            } else {
                b'='
            };
            if let Some(slot) = out.get_mut(written) {
                *slot = symbol;
            }
            written += 1;
        }
    }
    if let Some(slot) = out.get_mut(written) {
        *slot = 0;
    }
}

fn value(symbol: u8) -> Option<u32> {
    match symbol {
        b'A'..=b'Z' => Some(u32::from(symbol - b'A')),
        b'a'..=b'z' => Some(u32::from(symbol - b'a') + 26),
        b'0'..=b'9' => Some(u32::from(symbol - b'0') + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// The outcome of [`decode`]: the status, and the output length if Cyrus writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decoded {
    /// The `SASL_*` status.
    pub status: c_int,
    /// The number of bytes written (not counting the NUL), when `*outlen` is to be set.
    pub len: Option<usize>,
}

/// Decodes `input` into `out` (whose length is `outmax`, NUL included) as Cyrus 2.1.28's
/// `lib/saslutil.c` does, group by group: a group with a bad symbol, or any data after `=`
/// padding, is `SASL_BADPROT`; output that would not leave room for the NUL is
/// `SASL_BUFOVER`; 1 to 3 symbols left over (a partial group, or the trailing CRLF of a
/// protocol line) are not looked at and make it `SASL_CONTINUE`, with the length of what was
/// decoded (`SASL_BADPROT` after padding). Empty input is `SASL_OK` with length 0 even with
/// `outmax` 0: Cyrus then writes its NUL one byte past the buffer, which is not done here.
pub fn decode(input: &[u8], out: &mut [u8]) -> Decoded {
    let early = |status| Decoded { status, len: None };
    if input.first() == Some(&b'\r') {
        return early(SASL_FAIL);
    }
    let outmax = out.len();
    let mut len = 0usize;
    let mut saw_equal = false;
    let mut groups = input.chunks_exact(4);
    for group in &mut groups {
        if saw_equal {
            return early(SASL_BADPROT);
        }
        let &[c0, c1, c2, c3] = group else {
            return early(SASL_BADPROT);
        };
        let (Some(a), Some(b)) = (value(c0), value(c1)) else {
            return early(SASL_BADPROT);
        };
        let (c, d) = (value(c2), value(c3));
        if (c.is_none() && c2 != b'=') || (d.is_none() && c3 != b'=') {
            return early(SASL_BADPROT);
        }
        if c2 == b'=' && c3 != b'=' {
            return early(SASL_BADPROT);
        }
        saw_equal = c2 == b'=' || c3 == b'=';
        let n = (a << 18) | (b << 12) | (c.unwrap_or(0) << 6) | d.unwrap_or(0);
        let [_, b0, b1, b2] = n.to_be_bytes();
        let count = match (c, d) {
            (None, _) => 1,
            (Some(_), None) => 2,
            (Some(_), Some(_)) => 3,
        };
        for &byte in [b0, b1, b2].iter().take(count) {
            if let Some(slot) = out.get_mut(len) {
                *slot = byte;
            }
            len += 1;
            if len >= outmax {
                return early(SASL_BUFOVER);
            }
        }
    }
    if let Some(slot) = out.get_mut(len) {
        *slot = 0;
    }
    let status = match (groups.remainder().is_empty(), saw_equal) {
        (true, _) => SASL_OK,
        (false, true) => SASL_BADPROT,
        (false, false) => SASL_CONTINUE,
    };
    Decoded {
        status,
        len: Some(len),
    }
}

/// The body of the `ffi_base64` fuzz target and of its corpus replay test: the first byte is
/// `outmax`, the rest the input to `decode`. Never panics, never writes past `outmax`, and
/// what `encode_into` writes decodes back to the same bytes.
#[doc(hidden)]
pub fn fuzz(data: &[u8]) {
    let (outmax, input) = data
        .split_first()
        .map_or((0, data), |(first, rest)| (usize::from(*first), rest));
    let mut out = vec![0xEEu8; outmax + 8];
    let (head, guard) = out.split_at_mut(outmax);
    let decoded = decode(input, head);
    assert!(guard.iter().all(|b| *b == 0xEE), "decode wrote past outmax");
    if let Some(len) = decoded.len {
        assert!(len < outmax.max(1), "length {len} with outmax {outmax}");
    }

    let mut encoded = vec![0u8; encoded_len(input.len()) + 1];
    encode_into(input, &mut encoded);
    assert_eq!(encoded.last(), Some(&0), "encode_into must NUL-terminate");
    let mut back = vec![0u8; input.len() + 1];
    let symbols = encoded.get(..encoded.len() - 1).unwrap_or_default();
    let round_trip = decode(symbols, &mut back);
    assert_eq!(round_trip.status, SASL_OK, "decoding our own encoding");
    assert_eq!(
        back.get(..input.len()),
        Some(input),
        "round trip changed the data"
    );
}

/// Base64-encodes `inlen` bytes; `*outlen` is always written, the output NUL-terminated, and
/// `outmax` must leave room for the NUL.
///
/// # Safety
/// `in_` NULL or `inlen` bytes; `out` writable for `outmax` bytes; `outlen` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_encode64(
    in_: *const c_char,
    inlen: c_uint,
    out: *mut c_char,
    outmax: c_uint,
    outlen: *mut c_uint,
) -> c_int {
    guard!(SASL_FAIL, {
        let needed = encoded_len(inlen as usize);
        // SAFETY: NULL or writable.
        unsafe { put(outlen, c_uint::try_from(needed).unwrap_or(c_uint::MAX)) };
        if in_.is_null() && inlen > 0 {
            return SASL_BADPARAM;
        }
        if needed >= outmax as usize {
            return SASL_BUFOVER;
        }
        nonnull!(out);
        // SAFETY: in_ holds inlen bytes (or NULL with 0).
        let input = unsafe { bytes(in_, inlen) }.unwrap_or_default();
        // SAFETY: out holds outmax > needed bytes.
        let output = unsafe { std::slice::from_raw_parts_mut(out.cast::<u8>(), outmax as usize) };
        encode_into(input, output);
        SASL_OK
    })
}

/// Base64-decodes with Cyrus's rules (see [`decode`]).
///
/// # Safety
/// `in_` `inlen` bytes; `out` writable for `outmax` bytes; `outlen` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_decode64(
    in_: *const c_char,
    inlen: c_uint,
    out: *mut c_char,
    outmax: c_uint,
    outlen: *mut c_uint,
) -> c_int {
    guard!(SASL_FAIL, {
        if out.is_null() {
            return SASL_FAIL;
        }
        // SAFETY: in_ holds inlen bytes (or NULL with 0).
        let Some(input) = (unsafe { bytes(in_, inlen) }) else {
            return SASL_BADPARAM;
        };
        // SAFETY: out holds outmax bytes.
        let output = unsafe { std::slice::from_raw_parts_mut(out.cast::<u8>(), outmax as usize) };
        let decoded = decode(input, output);
        if let Some(len) = decoded.len {
            // SAFETY: NULL or writable.
            unsafe { put(outlen, c_uint::try_from(len).unwrap_or(c_uint::MAX)) };
        }
        decoded.status
    })
}

/// Checks that `len` bytes (or a NUL-terminated string when `len` is 0) are valid UTF-8.
///
/// # Safety
/// `str_` NULL or readable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_utf8verify(str_: *const c_char, len: c_uint) -> c_int {
    guard!(SASL_FAIL, {
        nonnull!(str_);
        // SAFETY: len bytes, or a NUL-terminated string when len is 0.
        let bytes = unsafe {
            if len == 0 {
                std::ffi::CStr::from_ptr(str_).to_bytes()
            } else {
                std::slice::from_raw_parts(str_.cast::<u8>(), len as usize)
            }
        };
        if std::str::from_utf8(bytes).is_ok() {
            SASL_OK
        } else {
            SASL_BADPROT
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(input: &str, outmax: usize) -> (c_int, Option<usize>, Vec<u8>) {
        let mut out = vec![0xAAu8; outmax];
        let d = decode(input.as_bytes(), &mut out);
        (d.status, d.len, out)
    }

    #[test]
    fn cyrus_edge_cases() {
        assert_eq!(dec("AA==", 1).0, SASL_BUFOVER);
        let (s, l, o) = dec("AA==", 2);
        assert_eq!((s, l), (SASL_OK, Some(1)));
        assert_eq!(o, vec![0, 0]);
        assert_eq!(dec("=", 10).0, SASL_CONTINUE);
        assert_eq!(dec("=", 10).1, Some(0));
        assert_eq!(dec("AAA", 10).0, SASL_CONTINUE);
        assert_eq!(dec("AAA", 10).1, Some(0));
        assert_eq!(dec("", 10).0, SASL_OK);
        // An SMTP client's empty last line, decoded into no room at all.
        assert_eq!(dec("", 0), (SASL_OK, Some(0), Vec::new()));
        // A trailing CRLF or partial group: what came before, and SASL_CONTINUE.
        let (s, l, o) = dec("Ym9i\r\n", 10);
        assert_eq!((s, l, &o[..4]), (SASL_CONTINUE, Some(3), &b"bob\0"[..]));
        assert_eq!(dec("Ym9iYg", 10).0, SASL_CONTINUE);
        assert_eq!(dec("Ym9iYg", 10).1, Some(3));
        assert_eq!(dec("Ym8=\r\n", 10).0, SASL_BADPROT);
        assert_eq!(dec("Ym9i\r\nYm9i", 10).0, SASL_BADPROT);
        assert_eq!(dec("\rAAA", 10).0, SASL_FAIL);
        assert_eq!(dec("!!!!", 10).0, SASL_BADPROT);
        assert_eq!(dec("AA AA", 10).0, SASL_BADPROT);
        assert_eq!(dec("AA==AAAA", 10).0, SASL_BADPROT);
        let (s, l, o) = dec("AGJvYgBwdzI=", 64);
        assert_eq!((s, l), (SASL_OK, Some(8)));
        assert_eq!(&o[..9], b"\0bob\0pw2\0");
    }

    /// Random inputs and buffer sizes: no panic, nothing written past `outmax`, and every
    /// `SASL_OK` result is the strict decoding of the input.
    #[test]
    fn random_inputs_never_overrun() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let symbols = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/= \r\n!";
        for _ in 0..20_000 {
            let len = usize::try_from(next() % 24).unwrap_or(0);
            let input: Vec<u8> = (0..len)
                .map(|_| symbols[usize::try_from(next()).unwrap_or(0) % symbols.len()])
                .collect();
            let outmax = usize::try_from(next() % 20).unwrap_or(0);
            let mut out = vec![0xEEu8; outmax + 8];
            let result = decode(&input, &mut out[..outmax]);
            assert!(
                out[outmax..].iter().all(|b| *b == 0xEE),
                "overrun on {input:?}"
            );
            if let Some(n) = result.len {
                assert!(n < outmax.max(1), "length {n} with outmax {outmax}");
            }
            if result.status == SASL_OK && !input.is_empty() {
                // Re-encoding gives the input back (canonical padding aside).
                let n = result.len.unwrap_or(0);
                let mut again = vec![0u8; encoded_len(n) + 1];
                encode_into(&out[..n], &mut again);
                assert_eq!(&again[..encoded_len(n)].len(), &input.len(), "{input:?}");
            }
        }
    }

    #[test]
    fn encode_round_trip() {
        for input in [&b""[..], b"a", b"ab", b"abc", b"\0bob\0pw2"] {
            let mut out = vec![0u8; encoded_len(input.len()) + 1];
            encode_into(input, &mut out);
            let mut back = vec![0u8; input.len() + 1];
            let d = decode(&out[..out.len() - 1], &mut back);
            assert_eq!(d.status, SASL_OK);
            assert_eq!(&back[..input.len()], input);
        }
    }
}
