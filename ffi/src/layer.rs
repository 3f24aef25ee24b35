//! The security layer calls: `sasl_encode`, `sasl_encodev`, `sasl_decode`.

#![allow(non_camel_case_types, reason = "the C names are the ABI")]

use std::ffi::{c_char, c_int, c_uint, c_void};

use crate::consts::*;
use crate::handles::{Outcome, Side, sasl_conn_t};
use crate::util::{bytes, conn, guard, nonnull};

/// Which way [`apply_layer`] goes.
#[derive(Clone, Copy)]
pub(crate) enum Direction {
    Encode,
    Decode,
}

/// The common part of `sasl_encode` and `sasl_decode`: applies the negotiated security layer
/// (a copy at SSF 0) of an authenticated connection and publishes the result, NUL-terminated,
/// in the connection's buffer for that direction (valid until the next call).
///
/// # Safety
/// `output` and `outputlen` are non-NULL and writable.
pub(crate) unsafe fn apply_layer(
    conn: &mut sasl_conn_t,
    data: &[u8],
    direction: Direction,
    output: *mut *const c_char,
    outputlen: *mut c_uint,
) -> c_int {
    // Only an authenticated connection has a security layer (or none) to apply. A client that
    // sent its last message may not have been told it is done, so any started client session
    // qualifies; its layer exists once negotiated.
    // A plug-in mechanism's layer (see mechplug).
    let plugged = crate::mechplug::layer(conn, data, matches!(direction, Direction::Encode));
    let result = match (&mut conn.side, direction) {
        _ if plugged.is_some() => match plugged {
            Some(Ok(bytes)) => Some(Ok(bytes)),
            Some(Err(code)) => return conn.error(code, "the plug-in's security layer failed"),
            None => None,
        },
        (Side::Server(side), _) if !matches!(side.outcome, Outcome::Done) => None,
        (Side::Server(side), Direction::Encode) => side.session.as_mut().map(|s| s.encode(data)),
        (Side::Server(side), Direction::Decode) => side.session.as_mut().map(|s| s.decode(data)),
        (Side::Client(side), Direction::Encode) => side.session.as_mut().map(|s| s.encode(data)),
        (Side::Client(side), Direction::Decode) => side.session.as_mut().map(|s| s.decode(data)),
    };
    match result {
        None => conn.error(SASL_NOTDONE, "no authenticated session"),
        Some(Err(error)) => conn.fail(&error),
        Some(Ok(bytes)) => {
            let buffer = match direction {
                Direction::Encode => &mut conn.encoded,
                Direction::Decode => &mut conn.decoded,
            };
            let len = c_uint::try_from(bytes.len()).unwrap_or(c_uint::MAX);
            let ptr = buffer.publish(&bytes);
            // SAFETY: the caller checked both pointers non-NULL and writable.
            unsafe {
                *output = ptr;
                *outputlen = len;
            }
            SASL_OK
        }
    }
}

/// What `sasl_encode` and `sasl_encodev` share once they have the bytes: Cyrus's checks
/// (empty input, an application without security layers), then the layer.
///
/// # Safety
/// `output` and `outputlen` are non-NULL and writable.
pub(crate) unsafe fn encode_checked(
    conn: &mut sasl_conn_t,
    data: &[u8],
    output: *mut *const c_char,
    outputlen: *mut c_uint,
) -> c_int {
    if data.is_empty() {
        return conn.error(SASL_BADPARAM, "Parameter error: empty input");
    }
    if conn.props.maxbufsize == 0 {
        return conn.error(
            SASL_TOOWEAK,
            "called sasl_encode with application that does not support security layers",
        );
    }
    // SAFETY: the caller's contract.
    unsafe { apply_layer(conn, data, Direction::Encode, output, outputlen) }
}

/// Protects outgoing data with the negotiated security layer (a copy at SSF 0).
///
/// # Safety
/// `conn` live; `input` holds `inputlen` bytes; out-pointers writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_encode(
    conn: *mut sasl_conn_t,
    input: *const c_char,
    inputlen: c_uint,
    output: *mut *const c_char,
    outputlen: *mut c_uint,
) -> c_int {
    guard!(SASL_FAIL, {
        let conn = conn!(conn);
        nonnull!(output, outputlen);
        // SAFETY: input holds inputlen bytes or is NULL.
        let Some(data) = (unsafe { bytes(input, inputlen) }) else {
            return conn.error(SASL_BADPARAM, "Parameter error: input is NULL");
        };
        // SAFETY: output and outputlen checked non-NULL, writable per the contract.
        unsafe { encode_checked(conn, data, output, outputlen) }
    })
}

/// Unwraps incoming data with the negotiated security layer (a copy at SSF 0).
///
/// # Safety
/// As `sasl_encode`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_decode(
    conn: *mut sasl_conn_t,
    input: *const c_char,
    inputlen: c_uint,
    output: *mut *const c_char,
    outputlen: *mut c_uint,
) -> c_int {
    guard!(SASL_FAIL, {
        let conn = conn!(conn);
        nonnull!(output, outputlen);
        // SAFETY: input holds inputlen bytes or is NULL.
        let Some(data) = (unsafe { bytes(input, inputlen) }) else {
            return conn.error(SASL_BADPARAM, "Parameter error: input is NULL");
        };
        // SAFETY: output and outputlen checked non-NULL, writable per the contract.
        unsafe { apply_layer(conn, data, Direction::Decode, output, outputlen) }
    })
}

/// A C `struct iovec` (from the OS headers): `iov_len` bytes at `iov_base`.
#[repr(C)]
pub struct iovec {
    /// The bytes.
    pub iov_base: *mut c_void,
    /// Their number.
    pub iov_len: usize,
}

/// `sasl_encode` over the concatenation of `numiov` buffers (Cyrus's scatter form).
///
/// # Safety
/// `conn` live; `invec` `numiov` iovecs, each `iov_len` readable bytes; out-pointers writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_encodev(
    conn: *mut sasl_conn_t,
    invec: *const iovec,
    numiov: c_uint,
    output: *mut *const c_char,
    outputlen: *mut c_uint,
) -> c_int {
    guard!(SASL_FAIL, {
        let conn = conn!(conn);
        nonnull!(output, outputlen);
        if invec.is_null() {
            return conn.error(SASL_BADPARAM, "Parameter error: invec is NULL");
        }
        // SAFETY: invec holds numiov iovecs per the contract.
        let vectors = unsafe { std::slice::from_raw_parts(invec, numiov as usize) };
        let mut data = Vec::new();
        for vector in vectors {
            if vector.iov_len == 0 {
                continue;
            }
            if vector.iov_base.is_null() {
                return conn.error(SASL_BADPARAM, "Parameter error: iov_base is NULL");
            }
            // SAFETY: iov_base holds iov_len readable bytes per the contract.
            data.extend_from_slice(unsafe {
                std::slice::from_raw_parts(vector.iov_base.cast::<u8>(), vector.iov_len)
            });
        }
        // SAFETY: output and outputlen checked non-NULL, writable per the contract.
        unsafe { encode_checked(conn, &data, output, outputlen) }
    })
}
