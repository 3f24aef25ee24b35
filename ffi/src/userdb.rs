//! The user database calls: `sasl_checkpass`, `sasl_user_exists`, `sasl_setpass` and
//! `sasl_checkapop`.

#![allow(non_camel_case_types, reason = "the C names are the ABI")]

use std::ffi::{CStr, CString, c_char, c_int, c_uint};

use puresasl::OsRandom;
use puresasl::PasswordCheck;
use puresasl::credentials::{CredentialView, PasswordPolicy};

use crate::callbacks::{Callback, find_callback, option};
use crate::conn::conn_callbacks;
use crate::consts::*;
use crate::errors::code_of;
use crate::handles::sasl_conn_t;
use crate::server::{ServerParts, canonical_user, server_parts};
use crate::util::{bytes, conn, conn_or_null, guard, opt_string};

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
        let conn_ptr = conn;
        let Some(parts) = server_parts(conn!(conn)) else {
            return SASL_BADPARAM;
        };
        let config = &parts.config;
        if pass.is_null() {
            return SASL_OK;
        }
        // SAFETY: user holds userlen bytes (or strlen when 0), pass holds passlen bytes.
        let (user, password) = unsafe {
            let user = if userlen == 0 {
                opt_string(user)
            } else {
                bytes(user, userlen).map(|b| String::from_utf8_lossy(b).into_owned())
            };
            (user, bytes(pass, passlen))
        };
        let (Some(user), Some(password)) = (user, password) else {
            return SASL_BADPARAM;
        };
        // As Cyrus: the name goes through canonicalisation (CANON_USER) first. The
        // application's callbacks run with no reference to the connection held.
        let user = match canonical_user(&parts, user.trim()) {
            Ok(user) => user,
            Err(code) => return conn!(conn_ptr).error(code, "canon_user failed"),
        };
        let (name, realm) = config.split_user(&user);
        let checked = config.check_password(&name, &realm, password);
        let conn = conn!(conn_ptr);
        match checked {
            Ok(PasswordCheck::Match) => SASL_OK,
            Ok(PasswordCheck::Mismatch) => conn.error(SASL_BADAUTH, "Password verification failed"),
            Ok(PasswordCheck::NoSuchUser) => conn.error(SASL_NOUSER, "user not found"),
            Err(error) => {
                let (code, detail) = code_of(&error);
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
        let conn_ptr = conn;
        let Some(parts) = server_parts(conn!(conn)) else {
            return SASL_BADPARAM;
        };
        // SAFETY: NULL or NUL-terminated.
        let (user, realm_arg) = unsafe { (opt_string(user), opt_string(user_realm)) };
        let Some(user) = user else {
            return SASL_BADPARAM;
        };
        let user = match canonical_user(&parts, &user) {
            Ok(user) => user,
            Err(code) => return conn!(conn_ptr).error(code, "canon_user failed"),
        };
        let (name, mut realm) = parts.config.split_user(&user);
        if let Some(r) = realm_arg.filter(|_| !user.contains('@')) {
            realm = r;
        }
        // The store may ask GETOPT for its options: the connection is reached after it.
        let exists = CredentialView::new(parts.global.store.as_ref(), &name, &realm).exists();
        let conn = conn!(conn_ptr);
        match exists {
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
    guard!(SASL_FAIL, {
        let conn_ptr = conn;
        let conn = conn!(conn);
        let Some(ServerParts { global, config, .. }) = server_parts(conn) else {
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
        let password = if disable {
            None
        } else {
            // SAFETY: passlen readable bytes.
            match unsafe { bytes(pass, passlen) } {
                Some(password) => Some(password),
                None => return SASL_BADPARAM,
            }
        };
        // From here on the application may be called (GETOPT, SETPASS), and may call back into
        // the library on this connection: it is reached again through `conn!` each time.
        let (conn_cbs, global_cbs) = (conn_callbacks(conn), global.callbacks.entries());
        let lists: [&[Callback]; 2] = [&conn_cbs, &global_cbs];
        let iterations = option(&lists, Some(&global.file), "scram_iteration_counter")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(4096);
        let keep_plaintext = flags & SASL_SET_NOPLAIN == 0;
        let user_c = CString::new(user.trim()).unwrap_or_default();
        let written = if only_plugin_stores(&lists, &global.file) {
            // `auxprop_plugin` names registered auxprop plug-ins only: they take it below.
            // When none of them can store, Cyrus's sasl_setpass still succeeds, storing
            // nothing; so does ours (the same code for the same program), but it says so.
            // SAFETY: a live server connection, not borrowed; NULL only asks.
            let can_store = unsafe {
                crate::plugins::store_through_plugins(
                    conn_ptr,
                    std::ptr::null_mut(),
                    user_c.as_ptr(),
                )
            };
            if can_store.is_none() {
                crate::plugins::log_error(&format!(
                    "sasl_setpass: no auxprop plug-in named by auxprop_plugin can store; \
                     the password of {} was not stored",
                    user.trim()
                ));
            }
            Ok(())
        } else if writes_to_sql(&lists, &global.file) {
            // The administrator's table: what Cyrus's sql plugin is given, nothing more.
            let generate = option(&lists, Some(&global.file), "scram_secret_generate")
                .is_some_and(|v| puresasl::config::is_true(&v));
            puresasl::credentials::set_password_as_cyrus(
                store,
                &name,
                &realm,
                password,
                keep_plaintext,
                generate.then_some(iterations),
                &OsRandom,
            )
        } else {
            match password {
                None => puresasl::credentials::delete_user(store, &name, &realm),
                Some(password) => {
                    let policy = PasswordPolicy {
                        keep_plaintext,
                        scram_iterations: iterations,
                        ..PasswordPolicy::default()
                    };
                    puresasl::credentials::set_password(
                        store, &name, &realm, password, &policy, &OsRandom,
                    )
                }
            }
        };
        if let Err(error) = written {
            let what = if disable {
                "delete user"
            } else {
                "store password"
            };
            return conn!(conn_ptr).error(SASL_FAIL, format!("could not {what}: {error}"));
        }
        // Auxprop plug-ins that can store get `userPassword`, as Cyrus's sasl_setpass hands
        // it to sasl_auxprop_store (no value when disabling).
        // SAFETY: a live server connection, not borrowed; `pass` holds `passlen` bytes.
        let code =
            unsafe { store_password_through_plugins(conn_ptr, &user_c, pass, passlen, disable) };
        if code != SASL_OK {
            return conn!(conn_ptr).error(code, "an auxprop plug-in could not store the password");
        }
        if disable {
            return SASL_OK;
        }
        // The application's own user database, if it registered one, is told too.
        if let Some(cb) = find_callback(&lists, SASL_CB_SERVER_USERDB_SETPASS) {
            let setpass = cb.setpass();
            if let Some(setpass) = setpass {
                // SAFETY: valid strings; pass holds passlen bytes; conn_ptr is the live connection.
                let status = unsafe {
                    setpass(
                        conn_ptr,
                        cb.context,
                        user_c.as_ptr(),
                        pass,
                        passlen,
                        std::ptr::null_mut(),
                        flags,
                    )
                };
                if status != SASL_OK {
                    return conn!(conn_ptr)
                        .error(status, "the application's setpass callback failed");
                }
            }
        }
        // Then the plug-in mechanisms set their own secrets (OTP, SRP...).
        // SAFETY: as above; `oldpass` NULL or `oldpasslen` bytes per the contract.
        let code = unsafe {
            crate::mechplug::setpass(conn_ptr, &user_c, pass, passlen, oldpass, oldpasslen, flags)
        };
        if code != SASL_OK {
            return conn!(conn_ptr).error(code, "a plug-in mechanism could not set its secret");
        }
        SASL_OK
    })
}

/// Whether `auxprop_plugin` names registered auxprop plug-ins only (no built-in store).
fn only_plugin_stores(lists: &[&[Callback]], file: &puresasl::config::Config) -> bool {
    option(lists, Some(file), "auxprop_plugin").is_some_and(|plugins| {
        let mut names = plugins.split_ascii_whitespace().peekable();
        names.peek().is_some() && names.all(crate::plugins::has_auxprop)
    })
}

/// Hands `userPassword` (no value when `disable`) to the auxprop plug-ins that can store, as
/// Cyrus's `sasl_setpass` does through `sasl_auxprop_store`: `SASL_OK` when there are none.
///
/// # Safety
/// `conn_ptr` a live server connection, not borrowed; `pass` holds `passlen` bytes.
unsafe fn store_password_through_plugins(
    conn_ptr: *mut sasl_conn_t,
    user: &CStr,
    pass: *const c_char,
    passlen: c_uint,
    disable: bool,
) -> c_int {
    use crate::propctx::{prop_dispose, prop_new, prop_request, prop_set};
    // SAFETY: NULL asks only whether a plug-in can store.
    if unsafe {
        crate::plugins::store_through_plugins(conn_ptr, std::ptr::null_mut(), user.as_ptr())
    }
    .is_none()
    {
        return SASL_OK;
    }
    let name = c"userPassword";
    // SAFETY: a fresh context, disposed below; NUL-terminated names; `pass` holds `passlen`
    // bytes; the plug-ins get the caller's live connection.
    unsafe {
        let mut ctx = prop_new(0);
        let mut names = [name.as_ptr(), std::ptr::null()];
        prop_request(ctx, names.as_mut_ptr());
        if !disable {
            prop_set(
                ctx,
                name.as_ptr(),
                pass,
                c_int::try_from(passlen).unwrap_or(c_int::MAX),
            );
        }
        let code =
            crate::plugins::store_through_plugins(conn_ptr, ctx, user.as_ptr()).unwrap_or(SASL_OK);
        prop_dispose(&raw mut ctx);
        code
    }
}

/// Whether writes go to the SQL store: the first `auxprop_plugin` is `sql` (or, as the guides
/// write it, `pgsql`, `mysql`, `sqlite3`), as the first store named receives every write.
fn writes_to_sql(lists: &[&[Callback]], file: &puresasl::config::Config) -> bool {
    option(lists, Some(file), "auxprop_plugin").is_some_and(|plugins| {
        plugins
            .split_ascii_whitespace()
            .next()
            .is_some_and(|first| {
                ["sql", "pgsql", "mysql", "sqlite3", "sqlite"]
                    .iter()
                    .any(|name| first.eq_ignore_ascii_case(name))
            })
    })
}

/// APOP (RFC 1939) is not supported: returns `SASL_NOMECH` with that as the error detail, as
/// a Cyrus built without APOP does.
///
/// # Safety
/// `conn` NULL or live; the other pointers are not dereferenced.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_checkapop(
    conn: *mut sasl_conn_t,
    challenge: *const c_char,
    challen: c_uint,
    response: *const c_char,
    resplen: c_uint,
) -> c_int {
    guard!(SASL_FAIL, {
        let _ = (challenge, challen, response, resplen);
        // SAFETY: per the contract.
        match unsafe { conn_or_null(conn) } {
            Some(conn) => conn.error(SASL_NOMECH, "APOP is not supported"),
            None => SASL_NOMECH,
        }
    })
}
