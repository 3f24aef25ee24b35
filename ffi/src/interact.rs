//! The client's credentials: from callbacks, else from `SASL_INTERACT` prompts the
//! application answers.

#![allow(non_camel_case_types, reason = "the C names are the ABI")]

use std::ffi::{CStr, c_char, c_int, c_uint};

use crate::callbacks::*;
use crate::consts::*;
use crate::handles::*;
use crate::types::*;
use crate::util::{bytes, opt_string};

pub(crate) enum Gathered<T> {
    Value(T),
    Prompt,
    Error(c_int),
}

/// Gets a simple client value (USER, AUTHNAME): a filled prompt, else the callback, else a
/// prompt.
///
/// # Safety
/// `conn_ptr` is the connection; `answers` are the application's filled prompts.
pub(crate) unsafe fn simple_value(
    lists: &[&[Callback]],
    answers: &[(u64, zeroize::Zeroizing<Vec<u8>>)],
    id: std::ffi::c_ulong,
) -> Gathered<String> {
    if let Some((_, value)) = answers.iter().find(|(i, _)| *i == id) {
        return Gathered::Value(String::from_utf8_lossy(value).into_owned());
    }
    let Some(cb) = find_callback(lists, id) else {
        return Gathered::Prompt;
    };
    let getsimple = cb.getsimple();
    let Some(getsimple) = getsimple else {
        return Gathered::Prompt;
    };
    let mut result: *const c_char = std::ptr::null();
    let mut len: c_uint = 0;
    let id_int = c_int::try_from(id).unwrap_or(0);
    // SAFETY: valid out-pointers; the result belongs to the application.
    let status = unsafe { getsimple(cb.context, id_int, &mut result, &mut len) };
    if status != SASL_OK {
        return Gathered::Error(status);
    }
    if result.is_null() {
        return Gathered::Value(String::new());
    }
    // Some applications leave len at 0 and rely on the NUL.
    let value = if len > 0 {
        // SAFETY: the callback promises len bytes.
        unsafe { bytes(result, len) }.map(|b| String::from_utf8_lossy(b).into_owned())
    } else {
        // SAFETY: NUL-terminated.
        unsafe { opt_string(result) }
    };
    Gathered::Value(value.unwrap_or_default())
}

/// Gets the password: a filled prompt, else the PASS callback, else a prompt.
///
/// # Safety
/// `conn_ptr` is the live connection passed to the callback.
pub(crate) unsafe fn password_value(
    conn_ptr: *mut sasl_conn_t,
    lists: &[&[Callback]],
    answers: &[(u64, zeroize::Zeroizing<Vec<u8>>)],
) -> Gathered<puresasl::Secret> {
    if let Some((_, value)) = answers.iter().find(|(i, _)| *i == SASL_CB_PASS) {
        return Gathered::Value(puresasl::Secret::from(value.as_slice()));
    }
    let Some(cb) = find_callback(lists, SASL_CB_PASS) else {
        return Gathered::Prompt;
    };
    let getsecret = cb.getsecret();
    let Some(getsecret) = getsecret else {
        return Gathered::Prompt;
    };
    let mut secret: *mut sasl_secret_t = std::ptr::null_mut();
    // SAFETY: valid out-pointer; the secret stays the application's (never freed here).
    let status = unsafe {
        getsecret(
            conn_ptr,
            cb.context,
            c_int::try_from(SASL_CB_PASS).unwrap_or(0),
            &mut secret,
        )
    };
    if status != SASL_OK {
        return Gathered::Error(status);
    }
    if secret.is_null() {
        return Gathered::Error(SASL_BADPARAM);
    }
    // SAFETY: a sasl_secret_t followed by `len` bytes of data, per the callback contract.
    let value = unsafe {
        let len = usize::try_from((*secret).len).unwrap_or(0).min(1 << 16);
        std::slice::from_raw_parts(std::ptr::addr_of!((*secret).data).cast::<u8>(), len).to_vec()
    };
    Gathered::Value(puresasl::Secret::new(value))
}

/// Reads the answers the application filled into the prompts of the last `SASL_INTERACT`.
///
/// # Safety
/// `prompt_need` NULL or readable; the prompts are this connection's.
pub(crate) unsafe fn prompt_answers(
    side: &ClientSide,
    prompt_need: *mut *mut sasl_interact_t,
) -> Vec<(u64, zeroize::Zeroizing<Vec<u8>>)> {
    let mut answers = Vec::new();
    if prompt_need.is_null() {
        return answers;
    }
    // SAFETY: readable per the contract.
    let given = unsafe { *prompt_need };
    if given.is_null() || given.cast_const() != side.prompts.as_ptr() {
        return answers;
    }
    for prompt in &side.prompts {
        if prompt.id == SASL_CB_LIST_END {
            break;
        }
        // SAFETY: the application stored `len` readable bytes at `result` (or NULL).
        if let Some(value) = unsafe { bytes(prompt.result.cast(), prompt.len) } {
            let value = if prompt.len == 0 && !prompt.result.is_null() {
                // SAFETY: with len 0, a non-NULL result is a NUL-terminated string.
                unsafe { CStr::from_ptr(prompt.result.cast()) }
                    .to_bytes()
                    .to_vec()
            } else {
                value.to_vec()
            };
            answers.push((prompt.id, value.into()));
        }
    }
    answers
}
