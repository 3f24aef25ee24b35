//! The utilities of Cyrus's `sasl/saslutil.h` that need no connection: buffer erasure, ASCII
//! lower-casing and the random-pool API (backed by the operating system's generator, so
//! seeding and churning are accepted and have nothing to add).

#![allow(non_camel_case_types, reason = "the C names are the ABI")]

use std::ffi::{c_char, c_int, c_uint};

use puresasl::{OsRandom, Random};

use crate::consts::*;
use crate::handles::sasl_conn_t;
use crate::util::{conn_or_null, guard, nonnull};

/// A random pool (opaque to C). Every byte comes from the operating system's generator, which
/// needs no seed; the struct exists so the handle is a real allocation callers can free.
pub struct sasl_rand_s {
    /// Bytes handed out, for nothing but keeping the type non-zero-sized.
    served: u64,
}

/// Cyrus's name for [`sasl_rand_s`].
pub type sasl_rand_t = sasl_rand_s;

/// Overwrites `len` bytes at `pass` with zeros, in a way the compiler cannot drop.
///
/// # Safety
/// `pass` NULL or writable for `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_erasebuffer(pass: *mut c_char, len: c_uint) {
    guard!((), {
        if pass.is_null() {
            return;
        }
        for i in 0..len as usize {
            // SAFETY: pass is writable for len bytes per the contract.
            unsafe { std::ptr::write_volatile(pass.add(i), 0) };
        }
        std::sync::atomic::compiler_fence(std::sync::atomic::Ordering::SeqCst);
    })
}

/// Lower-cases the ASCII letters of a NUL-terminated string in place; returns `val`.
///
/// # Safety
/// `val` NULL or a writable NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_strlower(val: *mut c_char) -> *mut c_char {
    guard!(val, {
        if val.is_null() {
            return val;
        }
        let mut p = val;
        // SAFETY: every byte up to and including the NUL is readable and writable.
        unsafe {
            while *p != 0 {
                *p = (*p as u8).to_ascii_lowercase() as c_char;
                p = p.add(1);
            }
        }
        val
    })
}

/// Allocates a random pool into `*rpool`.
///
/// # Safety
/// `rpool` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_randcreate(rpool: *mut *mut sasl_rand_t) -> c_int {
    guard!(SASL_FAIL, {
        nonnull!(rpool);
        // SAFETY: checked non-NULL, writable per the contract.
        unsafe { *rpool = Box::into_raw(Box::new(sasl_rand_s { served: 0 })) };
        SASL_OK
    })
}

/// Frees the pool `*rpool` (from `sasl_randcreate`) and sets `*rpool` to NULL.
///
/// # Safety
/// `rpool` NULL or pointing to NULL or to a pool from `sasl_randcreate` not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_randfree(rpool: *mut *mut sasl_rand_t) {
    guard!((), {
        if rpool.is_null() {
            return;
        }
        // SAFETY: rpool is readable and writable; *rpool NULL or from Box::into_raw.
        unsafe {
            let pool = std::ptr::replace(rpool, std::ptr::null_mut());
            if !pool.is_null() {
                drop(Box::from_raw(pool));
            }
        }
    })
}

/// Seeds the pool. The operating system's generator needs no seed, so this only checks its
/// arguments (Cyrus's own pool mixes the seed into a PRNG state).
///
/// # Safety
/// `rpool` NULL or live; `seed` NULL or `len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_randseed(rpool: *mut sasl_rand_t, seed: *const c_char, len: c_uint) {
    guard!((), {
        let _ = (rpool, seed, len);
    })
}

/// Adds entropy to the pool: as `sasl_randseed`, nothing to add to the OS generator.
///
/// # Safety
/// As `sasl_randseed`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_churn(rpool: *mut sasl_rand_t, data: *const c_char, len: c_uint) {
    guard!((), {
        let _ = (rpool, data, len);
    })
}

/// Fills `len` bytes at `buf` with random bytes from the operating system.
///
/// # Safety
/// `rpool` NULL or live; `buf` NULL or writable for `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_rand(rpool: *mut sasl_rand_t, buf: *mut c_char, len: c_uint) {
    guard!((), {
        if rpool.is_null() || buf.is_null() {
            return;
        }
        // SAFETY: buf is writable for len bytes per the contract.
        let out = unsafe { std::slice::from_raw_parts_mut(buf.cast::<u8>(), len as usize) };
        OsRandom.fill(out);
        // SAFETY: rpool is a live pool per the contract.
        let pool = unsafe { &mut *rpool };
        pool.served = pool.served.wrapping_add(u64::from(len));
    })
}

/// Writes a challenge `<random.time@fqdn>` (without `@fqdn` if `hostflag` is 0), NUL-terminated,
/// into `buf`; returns its length, or 0 if `maxlen` cannot hold the longest such string.
///
/// # Safety
/// `conn` NULL or live (needed when `hostflag` is set); `buf` writable for `maxlen` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_mkchal(
    conn: *mut sasl_conn_t,
    buf: *mut c_char,
    maxlen: c_uint,
    hostflag: c_uint,
) -> c_int {
    guard!(0, {
        if buf.is_null() {
            return 0;
        }
        // SAFETY: per the contract.
        let host = match (hostflag, unsafe { conn_or_null(conn) }) {
            (0, _) => None,
            (_, Some(conn)) => Some(conn.fqdn.to_bytes().to_vec()),
            (_, None) => return 0,
        };
        // As Cyrus: room for "<" "." ">" NUL and two 20-digit numbers, plus "@host".
        let needed = 4 + 2 * 20 + host.as_ref().map_or(0, |h| h.len() + 1);
        if (maxlen as usize) < needed {
            return 0;
        }
        let mut random = [0u8; 8];
        puresasl::Random::fill(&puresasl::OsRandom, &mut random);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut text = format!("<{}.{}", u64::from_ne_bytes(random), now).into_bytes();
        if let Some(host) = host {
            text.push(b'@');
            text.extend_from_slice(&host);
        }
        text.extend_from_slice(b">\0");
        // SAFETY: buf is writable for maxlen >= needed >= text.len() bytes.
        unsafe { std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), text.len()) };
        c_int::try_from(text.len() - 1).unwrap_or(0)
    })
}

// ---------------------------------------------------------------------------------------
// Client side
