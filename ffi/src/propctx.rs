//! The property-context API of Cyrus's `sasl/prop.h` (`prop_*`) and the auxprop calls
//! `saslpasswd2` uses (`sasl_auxprop_request`, `sasl_auxprop_getctx`, `sasl_auxprop_store`).

#![allow(non_camel_case_types, reason = "the C names are the ABI")]

use std::ffi::{CString, c_char, c_int, c_uint};

use puresasl::Secret;

use crate::consts::*;
use crate::handles::{Entry, PropValue, propctx, sasl_conn_t};
use crate::server::{ServerParts, server_parts};
use crate::types::propval;
use crate::util::{conn, conn_or_null, guard, nonnull, opt_string};

impl propctx {
    pub(crate) fn request(&mut self, name: &str) {
        // The name is kept as given: `*name` (an authentication-id property) and `name` (an
        // authorization-id one) are different properties, as in Cyrus.
        if !self
            .entries
            .iter()
            .any(|e| e.name.to_bytes() == name.as_bytes())
            && let Ok(name) = CString::new(name)
        {
            self.entries.push(Entry {
                name,
                values: Vec::new(),
            });
            self.stale = true;
        }
    }

    pub(crate) fn rebuild_view(&mut self) -> *const propval {
        if !self.stale && !self.view.is_empty() {
            return self.view.as_ptr();
        }
        self.stale = false;
        self.value_ptrs = self
            .entries
            .iter()
            .map(|e| {
                let mut ptrs: Vec<*const c_char> = e.values.iter().map(|v| v.as_ptr()).collect();
                ptrs.push(std::ptr::null());
                ptrs
            })
            .collect();
        self.view = self
            .entries
            .iter()
            .zip(self.value_ptrs.iter_mut())
            .map(|(e, ptrs)| propval {
                name: e.name.as_ptr(),
                values: if e.values.is_empty() {
                    std::ptr::null_mut()
                } else {
                    ptrs.as_mut_ptr()
                },
                nvalues: c_uint::try_from(e.values.len()).unwrap_or(0),
                valsize: c_uint::try_from(
                    e.values.iter().map(|v| v.as_bytes().len()).sum::<usize>(),
                )
                .unwrap_or(0),
            })
            .collect();
        self.view.push(propval {
            name: std::ptr::null(),
            values: std::ptr::null_mut(),
            nvalues: 0,
            valsize: 0,
        });
        self.view.as_ptr()
    }
}

/// Reads a NULL-terminated array of C strings.
///
/// # Safety
/// `names` NULL or a NULL-terminated array of NUL-terminated strings.
unsafe fn string_list(names: *mut *const c_char) -> Vec<String> {
    let mut out = Vec::new();
    if names.is_null() {
        return out;
    }
    for i in 0..4096 {
        // SAFETY: within the NULL-terminated array.
        let ptr = unsafe { *names.add(i) };
        if ptr.is_null() {
            break;
        }
        // SAFETY: NUL-terminated.
        if let Some(name) = unsafe { opt_string(ptr) } {
            out.push(name);
        }
    }
    out
}

/// Creates a property context (`estimate` is a size hint, ignored).
#[unsafe(no_mangle)]
pub extern "C" fn prop_new(estimate: c_uint) -> *mut propctx {
    let _ = estimate;
    guard!(std::ptr::null_mut(), Box::into_raw(Box::default()))
}

/// Frees a property context; `*ctx` becomes NULL.
///
/// # Safety
/// `ctx` NULL or pointing at NULL or a context from `prop_new`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn prop_dispose(ctx: *mut *mut propctx) {
    guard!((), {
        if ctx.is_null() {
            return;
        }
        // SAFETY: readable and writable per the contract.
        let p = unsafe { std::ptr::replace(ctx, std::ptr::null_mut()) };
        if !p.is_null() {
            // SAFETY: from Box::into_raw in prop_new, freed once.
            drop(unsafe { Box::from_raw(p) });
        }
    })
}

/// Requests the properties named in the NULL-terminated `names`.
///
/// # Safety
/// `ctx` from `prop_new` (or a connection's); `names` as `string_list`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn prop_request(ctx: *mut propctx, names: *mut *const c_char) -> c_int {
    guard!(SASL_FAIL, {
        nonnull!(ctx);
        // SAFETY: per the contract.
        let (ctx, names) = unsafe { (&mut *ctx, string_list(names)) };
        for name in names {
            ctx.request(&name);
        }
        SASL_OK
    })
}

/// The values of every requested property, ending with an entry whose name is NULL; valid
/// until the next call on the context.
///
/// # Safety
/// `ctx` from `prop_new` or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn prop_get(ctx: *mut propctx) -> *const propval {
    guard!(std::ptr::null(), {
        if ctx.is_null() {
            return std::ptr::null();
        }
        // SAFETY: a live context per the contract.
        unsafe { &mut *ctx }.rebuild_view()
    })
}

/// Fills `vals` (with room for the names' count) with the named properties; returns how many
/// were found.
///
/// # Safety
/// `ctx` live; `names` NULL-terminated; `vals` writable for as many entries as names.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn prop_getnames(
    ctx: *mut propctx,
    names: *mut *const c_char,
    vals: *mut propval,
) -> c_int {
    guard!(SASL_FAIL, {
        nonnull!(ctx, names, vals);
        // SAFETY: per the contract.
        let (ctx, wanted) = unsafe { (&mut *ctx, string_list(names)) };
        let view = ctx.rebuild_view();
        let mut found = 0;
        for (i, name) in wanted.iter().enumerate() {
            let index = ctx
                .entries
                .iter()
                .position(|e| e.name.to_bytes() == name.as_bytes());
            let value = match index {
                Some(index) => {
                    found += 1;
                    // SAFETY: index < entries.len(), within the view array.
                    unsafe { *view.add(index) }
                }
                None => propval {
                    name: std::ptr::null(),
                    values: std::ptr::null_mut(),
                    nvalues: 0,
                    valsize: 0,
                },
            };
            // SAFETY: vals has room for every name per the contract.
            unsafe { *vals.add(i) = value };
        }
        found
    })
}

/// Adds a value to a requested property (`SASL_BADPARAM` for a name not requested; with
/// `value` NULL, nothing); `vallen` <= 0 means `strlen(value)`, as in Cyrus. `name` NULL
/// appends to the last property.
///
/// # Safety
/// `ctx` live; strings NUL-terminated (or `vallen` bytes).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn prop_set(
    ctx: *mut propctx,
    name: *const c_char,
    value: *const c_char,
    vallen: c_int,
) -> c_int {
    guard!(SASL_FAIL, {
        nonnull!(ctx);
        // SAFETY: per the contract.
        let ctx = unsafe { &mut *ctx };
        // SAFETY: NUL-terminated or NULL.
        let name = unsafe { opt_string(name) };
        let index = match name {
            // As Cyrus: only a requested property can be set.
            Some(name) => ctx
                .entries
                .iter()
                .position(|e| e.name.to_bytes() == name.as_bytes()),
            None => ctx.entries.len().checked_sub(1),
        };
        let Some(entry) = index.and_then(|i| ctx.entries.get_mut(i)) else {
            return SASL_BADPARAM;
        };
        if value.is_null() {
            return SASL_OK;
        }
        let given: &[u8] = match u32::try_from(vallen) {
            // SAFETY: vallen readable bytes per the contract.
            Ok(len) if len > 0 => unsafe { crate::util::bytes(value, len) }.unwrap_or_default(),
            // SAFETY: NUL-terminated when vallen <= 0.
            _ => unsafe { std::ffi::CStr::from_ptr(value) }.to_bytes(),
        };
        // All `vallen` bytes, NULs included (binary values: see PropValue), copied once.
        entry.values.push(PropValue::new(given));
        ctx.stale = true;
        SASL_OK
    })
}

/// Clears the values (and with `requests` non-zero, the requests too).
///
/// # Safety
/// `ctx` live or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn prop_clear(ctx: *mut propctx, requests: c_int) {
    guard!((), {
        if ctx.is_null() {
            return;
        }
        // SAFETY: a live context.
        let ctx = unsafe { &mut *ctx };
        if requests != 0 {
            ctx.entries.clear();
        } else {
            for entry in &mut ctx.entries {
                entry.erase_values();
            }
        }
        ctx.stale = true;
    })
}

/// Copies `src_ctx` (requests and values) into a new context stored in `*dst_ctx`.
///
/// # Safety
/// `src_ctx` live; `dst_ctx` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn prop_dup(src_ctx: *mut propctx, dst_ctx: *mut *mut propctx) -> c_int {
    guard!(SASL_FAIL, {
        nonnull!(src_ctx, dst_ctx);
        // SAFETY: a live context per the contract.
        let src = unsafe { &*src_ctx };
        let copy = Box::new(propctx {
            entries: src.entries.clone(),
            ..propctx::default()
        });
        // SAFETY: checked non-NULL, writable per the contract.
        unsafe { *dst_ctx = Box::into_raw(copy) };
        SASL_OK
    })
}

/// Erases the values of the property `name` (overwriting them with zeros); the request stays.
///
/// # Safety
/// `ctx` live or NULL; `name` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn prop_erase(ctx: *mut propctx, name: *const c_char) {
    guard!((), {
        if ctx.is_null() {
            return;
        }
        // SAFETY: a live context and a NUL-terminated name, per the contract.
        let (ctx, name) = unsafe { (&mut *ctx, opt_string(name)) };
        let Some(name) = name else {
            return;
        };
        if let Some(entry) = ctx
            .entries
            .iter_mut()
            .find(|e| e.name.to_bytes() == name.as_bytes())
        {
            entry.erase_values();
            ctx.stale = true;
        }
    })
}

/// Adds each string of the NULL-terminated `values` to the property `name` (NULL: the last
/// property set), as repeated `prop_set` calls.
///
/// # Safety
/// `ctx` live; `name` NULL or NUL-terminated; `values` NULL or a NULL-terminated array of
/// NUL-terminated strings.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn prop_setvals(
    ctx: *mut propctx,
    name: *const c_char,
    values: *mut *const c_char,
) -> c_int {
    guard!(SASL_FAIL, {
        nonnull!(ctx);
        if values.is_null() {
            return SASL_OK;
        }
        let mut name = name;
        for i in 0.. {
            // SAFETY: within the NULL-terminated array per the contract.
            let value = unsafe { *values.add(i) };
            if value.is_null() {
                break;
            }
            // SAFETY: ctx live, name and value NUL-terminated, per the contract.
            let result = unsafe { prop_set(ctx, name, value, -1) };
            if result != SASL_OK {
                return result;
            }
            name = std::ptr::null();
        }
        SASL_OK
    })
}

/// Writes the requested property names, separated by `sep` (`seplen` < 0: `strlen(sep)`),
/// NUL-terminated, into `outbuf`; if `outmax` cannot hold them, returns how many more bytes
/// are needed (as Cyrus does).
///
/// # Safety
/// `ctx` live; `sep` NULL or `seplen` bytes (NUL-terminated if `seplen` < 0); `outbuf`
/// writable for `outmax` bytes; `outlen` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn prop_format(
    ctx: *mut propctx,
    sep: *const c_char,
    seplen: c_int,
    outbuf: *mut c_char,
    outmax: c_uint,
    outlen: *mut c_uint,
) -> c_int {
    guard!(SASL_FAIL, {
        nonnull!(ctx, outbuf);
        let separator = match u32::try_from(seplen) {
            // SAFETY: sep holds seplen bytes (or is NULL) per the contract.
            Ok(len) => unsafe { crate::util::bytes(sep, len) }
                .unwrap_or_default()
                .to_vec(),
            // SAFETY: NUL-terminated when seplen < 0.
            Err(_) => unsafe { opt_string(sep) }.unwrap_or_default().into_bytes(),
        };
        // SAFETY: a live context per the contract.
        let ctx = unsafe { &*ctx };
        let text = ctx
            .entries
            .iter()
            .map(|e| e.name.to_bytes())
            .collect::<Vec<_>>()
            .join(separator.as_slice());
        if text.len() >= outmax as usize {
            // As Cyrus: the number of bytes missing (a positive "code").
            return c_int::try_from(text.len() + 1 - outmax as usize).unwrap_or(c_int::MAX);
        }
        // SAFETY: outbuf holds outmax > text.len() bytes per the contract.
        unsafe {
            std::ptr::copy_nonoverlapping(text.as_ptr(), outbuf.cast::<u8>(), text.len());
            *outbuf.add(text.len()) = 0;
            crate::util::put(outlen, c_uint::try_from(text.len()).unwrap_or(c_uint::MAX));
        }
        SASL_OK
    })
}

/// Requests auxiliary properties for the connection's next lookup.
///
/// # Safety
/// `conn` live; `propnames` NULL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_auxprop_request(
    conn: *mut sasl_conn_t,
    propnames: *mut *const c_char,
) -> c_int {
    guard!(SASL_FAIL, {
        let conn = conn!(conn);
        // SAFETY: NULL-terminated array.
        let names = unsafe { string_list(propnames) };
        for name in names {
            conn.propctx.request(&name);
        }
        SASL_OK
    })
}

/// The connection's property context.
///
/// # Safety
/// `conn` live or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_auxprop_getctx(conn: *mut sasl_conn_t) -> *mut propctx {
    guard!(std::ptr::null_mut(), {
        // SAFETY: per the contract.
        match unsafe { conn_or_null(conn) } {
            Some(conn) => std::ptr::from_mut(conn.propctx.as_mut()),
            None => std::ptr::null_mut(),
        }
    })
}

/// Stores the properties of `ctx` for `user` in the writable credential store, in one update
/// (names starting with `*`, such as `SASL_AUX_ALL`, are skipped, as Cyrus's sasldb plug-in
/// skips them). `ctx` NULL asks whether a writable store exists, and needs no connection (as
/// in Cyrus, whose mechanisms ask with NULL everywhere): `SASL_OK` once the server side is
/// initialised (the built-in store is writable), else `SASL_FAIL`.
///
/// # Safety
/// `conn` live, or NULL with a NULL `ctx`; `ctx` NULL or live; `user` NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_auxprop_store(
    conn: *mut sasl_conn_t,
    ctx: *mut propctx,
    user: *const c_char,
) -> c_int {
    guard!(SASL_FAIL, {
        if ctx.is_null() && conn.is_null() {
            return if crate::global::global().server.is_some() {
                SASL_OK
            } else {
                SASL_FAIL
            };
        }
        // Auxprop plug-ins that can store take it first (see plugins::store_through_plugins).
        // SAFETY: the export's contract; no reference to the connection is held across it.
        if let Some(code) = unsafe { crate::plugins::store_through_plugins(conn, ctx, user) } {
            return code;
        }
        let conn = conn!(conn);
        let Some(ServerParts { global, config, .. }) = server_parts(conn) else {
            return SASL_BADPARAM;
        };
        if ctx.is_null() {
            return SASL_OK;
        }
        // SAFETY: NUL-terminated or NULL.
        let Some(user) = (unsafe { opt_string(user) }) else {
            return SASL_BADPARAM;
        };
        let (name, realm) = config.split_user(&user);
        // SAFETY: a live context.
        let ctx = unsafe { &*ctx };
        let changes: Vec<(String, Vec<Secret>)> = ctx
            .entries
            .iter()
            .filter(|entry| !entry.name.to_bytes().starts_with(b"*"))
            .map(|entry| {
                // As Cyrus's stores keep them: each value up to its first NUL.
                let values = entry
                    .values
                    .iter()
                    .map(|v| Secret::new(v.c_str_bytes().to_vec()))
                    .collect();
                (entry.name.to_string_lossy().into_owned(), values)
            })
            .collect();
        if let Err(error) = global.store.store_many(&name, &realm, &changes) {
            return conn.error(SASL_FAIL, format!("could not store properties: {error}"));
        }
        SASL_OK
    })
}
