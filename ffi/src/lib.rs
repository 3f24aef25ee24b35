//! The C ABI of puresasl: a binary drop-in for Cyrus SASL's `libsasl2.so.2`.
//!
//! This crate is the only one in the workspace with `unsafe` code; it only calls the public API
//! of the core crate. Every export runs inside a panic boundary (the `guard!` macro), checks its
//! pointers, and maps core errors to Cyrus result codes through one table
//! ([`errors::code_of`]). `ffi/build.sh` links the static library into `libsasl2.so.2` with
//! every export bound to the ELF version node `SASL2`.

#![allow(non_camel_case_types, reason = "the C names are the ABI")]

pub mod base64;
mod buffer;
pub mod config_api;
pub mod conn;
pub mod consts;
pub mod errors;
pub mod global;
pub mod plugins;
pub mod props;
pub mod saslutil;
pub mod types;
mod util;

use std::ffi::{CString, c_char, c_int, c_uint, c_void};
use std::sync::Arc;

use puresasl::config::Config;
use puresasl::credentials::{CredentialView, PasswordPolicy};
use puresasl::{OsRandom, PasswordCheck};

use crate::conn::{conn_callbacks, conn_mut, sasl_conn_t, server_parts};
use crate::consts::*;
use crate::global::{ServerGlobal, config_search_path, global, option};
use crate::types::*;
use crate::util::{guard, nonnull, opt_string, put};

/// Initialises the server side: reads `<appname>.conf` (unless `appname` is NULL) and sets up
/// the credential store (opened lazily, on first use).
///
/// # Safety
/// `callbacks` NULL or a terminated list that stays valid; `appname` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_server_init(
    callbacks: *const sasl_callback_t,
    appname: *const c_char,
) -> c_int {
    guard!(SASL_FAIL, {
        // SAFETY: NULL or a terminated list / a NUL-terminated string, per the contract.
        let appname = unsafe { opt_string(appname) };
        let callback_list = global::CallbackList::new(callbacks);
        let callbacks = callback_list.entries();
        let mut state = global();
        if state.server.is_some() {
            return SASL_OK;
        }
        let file = match &appname {
            Some(appname) => {
                let path = config_search_path(&callbacks, state.config_path.as_deref());
                match Config::find(appname, &path) {
                    Ok(file) => file.unwrap_or_default(),
                    Err(error) => {
                        global::CallbackLog {
                            lists: vec![callback_list],
                            log_level: SASL_LOG_ERR,
                        }
                        .log_error(&error.to_string());
                        return SASL_CONFIGERR;
                    }
                }
            }
            None => Config::default(),
        };
        let store = {
            let lists: [&[global::Callback]; 1] = [&callbacks];
            let log = global::CallbackLog {
                lists: vec![callback_list],
                log_level: SASL_LOG_ERR,
            };
            global::open_store(&|name| option(&lists, Some(&file), name), &log)
        };
        let server_secret = {
            let lists: [&[global::Callback]; 1] = [&callbacks];
            let log = global::CallbackLog {
                lists: vec![callback_list],
                log_level: SASL_LOG_ERR,
            };
            global::server_secret(&|name| option(&lists, Some(&file), name), &log)
        };
        state.server = Some(Arc::new(ServerGlobal {
            appname: appname.map(|a| CString::new(a).unwrap_or_default()),
            callbacks: callback_list,
            file,
            store,
            server_secret,
            decoys: Arc::default(),
        }));
        SASL_OK
    })
}

impl global::CallbackLog {
    fn log_error(&self, message: &str) {
        use puresasl::LogSink;
        self.log(puresasl::LogLevel::Error, message);
    }
}

/// Initialises the client side (the client reads no configuration file, as in Cyrus).
///
/// # Safety
/// `callbacks` NULL or a terminated list.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_client_init(callbacks: *const sasl_callback_t) -> c_int {
    guard!(SASL_FAIL, {
        let callbacks = global::CallbackList::new(callbacks);
        let mut state = global();
        if state.client.is_none() {
            state.client = Some(Arc::new(callbacks));
        }
        SASL_OK
    })
}

/// Frees the server side's global state.
#[unsafe(no_mangle)]
pub extern "C" fn sasl_server_done() -> c_int {
    guard!(SASL_FAIL, {
        let mut state = global();
        if state.server.take().is_none() {
            return SASL_NOTINIT;
        }
        SASL_OK
    })
}

/// Frees the client side's global state.
#[unsafe(no_mangle)]
pub extern "C" fn sasl_client_done() -> c_int {
    guard!(SASL_FAIL, {
        let mut state = global();
        if state.client.take().is_none() {
            return SASL_NOTINIT;
        }
        SASL_OK
    })
}

/// Frees all global state (connections still open keep what they use).
#[unsafe(no_mangle)]
pub extern "C" fn sasl_done() {
    guard!((), {
        let mut state = global();
        state.server = None;
        state.client = None;
    })
}

/// The text of a result code; `*outlang` is set to `"en-us"`.
///
/// # Safety
/// `outlang` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_errstring(
    saslerr: c_int,
    langlist: *const c_char,
    outlang: *mut *const c_char,
) -> *const c_char {
    let _ = langlist;
    guard!(c"undefined error!".as_ptr(), {
        // SAFETY: NULL or writable.
        unsafe { put(outlang, c"en-us".as_ptr()) };
        errors::errstring(saslerr).as_ptr()
    })
}

/// The implementation and version: "Cyrus SASL" 2.1.28, as Postfix checks the major version.
///
/// # Safety
/// Each pointer NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_version_info(
    implementation: *mut *const c_char,
    version_string: *mut *const c_char,
    version_major: *mut c_int,
    version_minor: *mut c_int,
    version_step: *mut c_int,
    version_patch: *mut c_int,
) {
    guard!((), {
        // SAFETY: each pointer NULL or writable.
        unsafe {
            put(implementation, c"Cyrus SASL".as_ptr());
            put(version_string, c"2.1.28".as_ptr());
            put(version_major, SASL_VERSION_MAJOR);
            put(version_minor, SASL_VERSION_MINOR);
            put(version_step, SASL_VERSION_STEP);
            put(version_patch, 0);
        }
    })
}

/// The implementation and the version as `major<<24 | minor<<16 | step`.
///
/// # Safety
/// Each pointer NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_version(implementation: *mut *const c_char, version: *mut c_int) {
    guard!((), {
        // SAFETY: each pointer NULL or writable.
        unsafe {
            put(implementation, c"Cyrus SASL".as_ptr());
            put(
                version,
                (SASL_VERSION_MAJOR << 24) | (SASL_VERSION_MINOR << 16) | SASL_VERSION_STEP,
            );
        }
    })
}

/// Sets the plugin (0) or configuration (1) path; the string is copied.
///
/// # Safety
/// `path` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_set_path(path_type: c_int, path: *mut c_char) -> c_int {
    guard!(SASL_FAIL, {
        // SAFETY: NULL or NUL-terminated.
        let Some(path) = (unsafe { opt_string(path) }) else {
            return SASL_FAIL;
        };
        let mut state = global();
        match path_type {
            SASL_PATH_TYPE_PLUGIN => state.plugin_path = Some(path),
            SASL_PATH_TYPE_CONFIG => state.config_path = Some(path),
            _ => return SASL_FAIL,
        }
        SASL_OK
    })
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
        let needed = base64::encoded_len(inlen as usize);
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
        let input = unsafe { util::bytes(in_, inlen) }.unwrap_or_default();
        // SAFETY: out holds outmax > needed bytes.
        let output = unsafe { std::slice::from_raw_parts_mut(out.cast::<u8>(), outmax as usize) };
        base64::encode_into(input, output);
        SASL_OK
    })
}

/// Base64-decodes with Cyrus's rules (see [`base64::decode`]).
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
        let Some(input) = (unsafe { util::bytes(in_, inlen) }) else {
            return SASL_BADPARAM;
        };
        // SAFETY: out holds outmax bytes.
        let output = unsafe { std::slice::from_raw_parts_mut(out.cast::<u8>(), outmax as usize) };
        let decoded = base64::decode(input, output);
        if let Some(len) = decoded.len {
            // SAFETY: NULL or writable.
            unsafe { put(outlen, c_uint::try_from(len).unwrap_or(c_uint::MAX)) };
        }
        decoded.status
    })
}

/// Checks a plaintext password as PLAIN would (`pwcheck_method`); with `pass` NULL, checks
/// only that the user exists.
///
/// # Safety
/// `conn` live; `user` `userlen` bytes; `pass` NULL or `passlen` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_checkpass(
    conn: *mut sasl_conn_t,
    user: *const c_char,
    userlen: c_uint,
    pass: *const c_char,
    passlen: c_uint,
) -> c_int {
    guard!(SASL_FAIL, {
        // SAFETY: per the contract.
        let Some(conn) = (unsafe { conn_mut(conn) }) else {
            return SASL_BADPARAM;
        };
        let Some((_, config)) = server_parts(conn) else {
            return SASL_BADPARAM;
        };
        if pass.is_null() {
            return SASL_OK;
        }
        // SAFETY: user holds userlen bytes (or strlen when 0), pass holds passlen bytes.
        let (user, password) = unsafe {
            let user = if userlen == 0 {
                opt_string(user)
            } else {
                util::bytes(user, userlen).map(|b| String::from_utf8_lossy(b).into_owned())
            };
            (user, util::bytes(pass, passlen))
        };
        let (Some(user), Some(password)) = (user, password) else {
            return SASL_BADPARAM;
        };
        // As Cyrus: the name goes through canonicalisation (CANON_USER) first.
        let user = match conn::canonical_user(conn, user.trim()) {
            Ok(user) => user,
            Err(code) => return conn.error(code, "canon_user failed"),
        };
        let (name, realm) = config.split_user(&user);
        match config.check_password(&name, &realm, password) {
            Ok(PasswordCheck::Match) => SASL_OK,
            Ok(PasswordCheck::Mismatch) => conn.error(SASL_BADAUTH, "Password verification failed"),
            Ok(PasswordCheck::NoSuchUser) => conn.error(SASL_NOUSER, "user not found"),
            Err(error) => {
                let (code, detail) = errors::code_of(&error);
                conn.error(code, detail)
            }
        }
    })
}

/// Whether `user` exists in the credential store (`SASL_OK`, else `SASL_NOUSER`).
///
/// # Safety
/// `conn` live; strings NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_user_exists(
    conn: *mut sasl_conn_t,
    service: *const c_char,
    user_realm: *const c_char,
    user: *const c_char,
) -> c_int {
    let _ = service;
    guard!(SASL_FAIL, {
        // SAFETY: per the contract.
        let Some(conn) = (unsafe { conn_mut(conn) }) else {
            return SASL_BADPARAM;
        };
        let Some((global, config)) = server_parts(conn) else {
            return SASL_BADPARAM;
        };
        // SAFETY: NULL or NUL-terminated.
        let (user, realm_arg) = unsafe { (opt_string(user), opt_string(user_realm)) };
        let Some(user) = user else {
            return SASL_BADPARAM;
        };
        let user = match conn::canonical_user(conn, &user) {
            Ok(user) => user,
            Err(code) => return conn.error(code, "canon_user failed"),
        };
        let (name, mut realm) = config.split_user(&user);
        if let Some(r) = realm_arg.filter(|_| !user.contains('@')) {
            realm = r;
        }
        match CredentialView::new(global.store.as_ref(), &name, &realm).exists() {
            Ok(true) => SASL_OK,
            Ok(false) => conn.error(SASL_NOUSER, "user not found"),
            Err(error) => conn.error(SASL_FAIL, format!("credential store: {error}")),
        }
    })
}

/// Sets (or with `SASL_SET_DISABLE`/NULL `pass`, removes) a user's password in the store.
///
/// # Safety
/// `conn` live; `user` NUL-terminated; `pass` NULL or `passlen` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_setpass(
    conn: *mut sasl_conn_t,
    user: *const c_char,
    pass: *const c_char,
    passlen: c_uint,
    oldpass: *const c_char,
    oldpasslen: c_uint,
    flags: c_uint,
) -> c_int {
    let _ = (oldpass, oldpasslen);
    guard!(SASL_FAIL, {
        // SAFETY: per the contract.
        let Some(conn) = (unsafe { conn_mut(conn) }) else {
            return SASL_BADPARAM;
        };
        let Some((global, config)) = server_parts(conn) else {
            return SASL_BADPARAM;
        };
        // SAFETY: NUL-terminated or NULL.
        let Some(user) = (unsafe { opt_string(user) }) else {
            return conn.error(SASL_BADPARAM, "Parameter error: no user");
        };
        let disable = flags & SASL_SET_DISABLE != 0;
        // As Cyrus: a password is required unless disabling, and create-and-disable is
        // contradictory. (An empty password would otherwise be stored and then accepted.)
        if (!disable && (pass.is_null() || passlen == 0))
            || (disable && flags & SASL_SET_CREATE != 0)
        {
            return conn.error(SASL_BADPARAM, "Parameter error: no password");
        }
        let (name, realm) = config.split_user(user.trim());
        let store = global.store.as_ref();
        if disable {
            return match puresasl::credentials::delete_user(store, &name, &realm) {
                Ok(()) => SASL_OK,
                Err(error) => conn.error(SASL_FAIL, format!("could not delete user: {error}")),
            };
        }
        // SAFETY: passlen readable bytes.
        let Some(password) = (unsafe { util::bytes(pass, passlen) }) else {
            return SASL_BADPARAM;
        };
        let (conn_cbs, global_cbs) = (conn_callbacks(conn), global.callbacks.entries());
        let lists: [&[global::Callback]; 2] = [&conn_cbs, &global_cbs];
        let iterations = option(&lists, Some(&global.file), "scram_iteration_counter")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(4096);
        let policy = PasswordPolicy {
            keep_plaintext: flags & SASL_SET_NOPLAIN == 0,
            scram_iterations: iterations,
            ..PasswordPolicy::default()
        };
        if let Err(error) =
            puresasl::credentials::set_password(store, &name, &realm, password, &policy, &OsRandom)
        {
            return conn.error(SASL_FAIL, format!("could not store password: {error}"));
        }
        // The application's own user database, if it registered one, is told too.
        if let Some(cb) = global::find_callback(&lists, SASL_CB_SERVER_USERDB_SETPASS) {
            // SAFETY: SERVER_USERDB_SETPASS callbacks have the sasl_server_userdb_setpass_t
            // prototype.
            let setpass: sasl_server_userdb_setpass_t = unsafe { std::mem::transmute(cb.proc) };
            if let Some(setpass) = setpass {
                let user = CString::new(user.trim()).unwrap_or_default();
                // SAFETY: valid strings; pass holds passlen bytes; the connection is live.
                let status = unsafe {
                    setpass(
                        std::ptr::from_mut(conn),
                        cb.context,
                        user.as_ptr(),
                        pass,
                        passlen,
                        std::ptr::null_mut(),
                        flags,
                    )
                };
                if status != SASL_OK {
                    return conn.error(status, "the application's setpass callback failed");
                }
            }
        }
        SASL_OK
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

/// Accepts the application's mutex functions. The library synchronises with Rust's own
/// mutexes, so they are not needed.
#[unsafe(no_mangle)]
pub extern "C" fn sasl_set_mutex(
    alloc: Option<unsafe extern "C" fn() -> *mut c_void>,
    lock: Option<unsafe extern "C" fn(mutex: *mut c_void) -> c_int>,
    unlock: Option<unsafe extern "C" fn(mutex: *mut c_void) -> c_int>,
    free: Option<unsafe extern "C" fn(mutex: *mut c_void)>,
) {
    let _ = (alloc, lock, unlock, free);
}

/// Accepts the application's allocator. Nothing the library returns is to be freed by the
/// application, and nothing the application hands in is freed by the library, so the
/// library's own allocator is used throughout.
#[unsafe(no_mangle)]
pub extern "C" fn sasl_set_alloc(
    malloc: Option<unsafe extern "C" fn(size: usize) -> *mut c_void>,
    calloc: Option<unsafe extern "C" fn(count: usize, size: usize) -> *mut c_void>,
    realloc: Option<unsafe extern "C" fn(ptr: *mut c_void, size: usize) -> *mut c_void>,
    free: Option<unsafe extern "C" fn(ptr: *mut c_void)>,
) {
    let _ = (malloc, calloc, realloc, free);
}

/// The mechanisms the library implements, as a NULL-terminated array (static).
#[unsafe(no_mangle)]
pub extern "C" fn sasl_global_listmech() -> *mut *const c_char {
    use std::sync::OnceLock;
    struct List {
        _names: Vec<CString>,
        pointers: Vec<usize>,
    }
    static LIST: OnceLock<List> = OnceLock::new();
    guard!(std::ptr::null_mut(), {
        if global().server.is_none() && global().client.is_none() {
            return std::ptr::null_mut();
        }
        let list = LIST.get_or_init(|| {
            let names: Vec<CString> = puresasl::mech::MECHANISMS
                .iter()
                .map(|m| CString::new(m.name).unwrap_or_default())
                .collect();
            let mut ptrs: Vec<usize> = names.iter().map(|n| n.as_ptr() as usize).collect();
            ptrs.push(0);
            List {
                _names: names,
                pointers: ptrs,
            }
        });
        list.pointers.as_ptr().cast_mut().cast()
    })
}
