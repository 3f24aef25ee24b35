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
