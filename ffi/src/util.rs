//! The few helpers every export goes through: the panic boundary and pointer checks.

use std::ffi::{CStr, c_char};

/// Runs `$body` inside a panic boundary; a panic returns `$fail` instead of unwinding into C.
macro_rules! guard {
    ($fail:expr, $body:expr) => {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| $body)) {
            Ok(result) => result,
            Err(_) => $fail,
        }
    };
}
pub(crate) use guard;

/// Returns `SASL_BADPARAM` from the enclosing function if the pointer is NULL.
macro_rules! nonnull {
    ($($ptr:expr),+) => {
        $(if $ptr.is_null() {
            return crate::consts::SASL_BADPARAM;
        })+
    };
}
pub(crate) use nonnull;

/// The prelude of every export that takes a connection: the connection behind `$ptr`, else
/// `return $fail` (`SASL_BADPARAM` when not given) for NULL.
///
/// The reference lives only until the export next calls into the application: a callback may
/// call back into the library on the same connection (`sasl_getprop`, `sasl_seterror`), which
/// makes a reference of its own. Exports that run callbacks take what they need, let the
/// reference go, call, and reach the connection again with `conn!` afterwards.
macro_rules! conn {
    ($ptr:expr) => {
        conn!($ptr, crate::consts::SASL_BADPARAM)
    };
    ($ptr:expr, ()) => {{
        let ptr: *mut crate::handles::sasl_conn_t = $ptr;
        // SAFETY: as below.
        match unsafe { ptr.as_mut() } {
            Some(conn) => conn,
            None => return,
        }
    }};
    ($ptr:expr, $fail:expr) => {{
        let ptr: *mut crate::handles::sasl_conn_t = $ptr;
        // SAFETY: every export's contract: NULL or a live connection from sasl_*_new, used by
        // one thread at a time, not yet disposed.
        match unsafe { ptr.as_mut() } {
            Some(conn) => conn,
            None => return $fail,
        }
    }};
}
pub(crate) use conn;

/// The connection behind `ptr`, for the exports where NULL is not an error.
///
/// # Safety
/// `ptr` is NULL or a live connection used by one thread at a time; the reference is not
/// used across a call into the application (see [`conn!`]).
pub(crate) unsafe fn conn_or_null<'a>(
    ptr: *mut crate::handles::sasl_conn_t,
) -> Option<&'a mut crate::handles::sasl_conn_t> {
    // SAFETY: the caller's contract.
    unsafe { ptr.as_mut() }
}

/// Reads an optional C string (NULL gives `None`; invalid UTF-8 is replaced).
///
/// # Safety
/// `ptr` is NULL or a NUL-terminated string valid for the call.
pub unsafe fn opt_string(ptr: *const c_char) -> Option<String> {
    if ptr.is_null() {
        return None;
    }
    // SAFETY: non-NULL and NUL-terminated per the caller's contract.
    Some(
        unsafe { CStr::from_ptr(ptr) }
            .to_string_lossy()
            .into_owned(),
    )
}

/// Reads `len` bytes at `ptr` (NULL with length 0 gives an empty slice; NULL otherwise `None`).
///
/// # Safety
/// `ptr` is NULL or valid for `len` bytes for the lifetime `'a`.
pub unsafe fn bytes<'a>(ptr: *const c_char, len: u32) -> Option<&'a [u8]> {
    if ptr.is_null() {
        return if len == 0 { Some(&[]) } else { None };
    }
    // SAFETY: the caller guarantees `len` readable bytes.
    Some(unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len as usize) })
}

/// Writes `value` through `ptr` if it is not NULL.
///
/// # Safety
/// `ptr` is NULL or valid for writes.
pub unsafe fn put<T>(ptr: *mut T, value: T) {
    if !ptr.is_null() {
        // SAFETY: non-NULL and writable per the caller's contract.
        unsafe { ptr.write(value) };
    }
}
