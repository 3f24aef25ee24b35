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
        let password = if disable {
            None
        } else {
            // SAFETY: passlen readable bytes.
            match unsafe { bytes(pass, passlen) } {
                Some(password) => Some(password),
                None => return SASL_BADPARAM,
            }
        };
        // As Cyrus: SASL_SET_CURMECH_ONLY needs a mechanism on the connection.
        let current_mech = crate::properties::mech_name_of(conn);
        if flags & SASL_SET_CURMECH_ONLY != 0 && current_mech.is_none() {
            return conn.error(SASL_BADPARAM, "No current SASL mechanism available");
        }
        // From here on the application may be called (GETOPT, SETPASS), and may call back into
        // the library on this connection: it is reached again through `conn!` each time.
        let (conn_cbs, global_cbs) = (conn_callbacks(conn), global.callbacks.entries());
        let lists: [&[Callback]; 2] = [&conn_cbs, &global_cbs];
        let user_c = CString::new(user.trim()).unwrap_or_default();
        // Each step is tried in Cyrus's order whatever the others did; the result is the last
        // failure's code (SASL_CONSTRAINT_VIOLAT only when nothing else failed, and forgiven
        // when some step succeeded), as Cyrus's sasl_setpass combines them.
        let mut outcome = SetpassOutcome::default();
        let log_level = option(&lists, Some(&global.file), "log_level")
            .and_then(|v| v.trim().parse::<c_int>().ok())
            .unwrap_or(SASL_LOG_ERR);
        let log = |level: c_int, message: String| {
            crate::callbacks::CallbackLog {
                lists: vec![conn_cbs_list(conn_ptr), global.callbacks],
                log_level,
            }
            .log_text(level, &message);
        };
        // 1. The stores: ours, then the auxprop plug-ins that can store. Cyrus skips its
        // auxprop stores under SASL_SET_NOPLAIN (without DISABLE); our built-in stores still
        // get the derived secrets then, without the plaintext.
        let written = write_builtin_store(&lists, &global, &config, user.trim(), password, flags);
        match &written {
            Some(Ok(())) => outcome.record(SASL_OK),
            Some(Err(message)) => {
                log(
                    SASL_LOG_ERR,
                    format!("setpass failed for {}: {message}", user.trim()),
                );
                outcome.record(SASL_FAIL);
            }
            None => {}
        }
        if disable || flags & SASL_SET_NOPLAIN == 0 {
            // SAFETY: a live server connection, not borrowed; `pass` holds `passlen` bytes.
            match unsafe {
                store_password_through_plugins(conn_ptr, &user_c, pass, passlen, disable)
            } {
                Some(code) => {
                    if code != SASL_OK {
                        log(
                            SASL_LOG_ERR,
                            format!(
                                "setpass failed for {}: {}",
                                user.trim(),
                                crate::plugins::errtext(code)
                            ),
                        );
                    }
                    outcome.record(code);
                }
                None if written.is_none() => {
                    // Only plug-ins are named and none can store: Cyrus counts them as a
                    // store that succeeded; ours gives the same code but says what happened.
                    log(
                        SASL_LOG_ERR,
                        format!(
                            "sasl_setpass: no auxprop plug-in named by auxprop_plugin can store; \
                             the password of {} was not stored",
                            user.trim()
                        ),
                    );
                    outcome.record(SASL_OK);
                }
                None => {}
            }
        }
        // 2. The application's own user database, if it registered one.
        if let Some(cb) = find_callback(&lists, SASL_CB_SERVER_USERDB_SETPASS)
            && let Some(setpass) = cb.setpass()
        {
            let (pass, passlen) = if disable {
                (std::ptr::null(), 0)
            } else {
                (pass, passlen)
            };
            // SAFETY: valid strings; pass holds passlen bytes; conn_ptr is the live connection.
            let status = unsafe {
                setpass(
                    conn_ptr,
                    cb.context,
                    user_c.as_ptr(),
                    pass,
                    passlen,
                    crate::plugins::conn_propctx(conn_ptr),
                    flags,
                )
            };
            if status != SASL_OK {
                log(
                    SASL_LOG_ERR,
                    format!(
                        "setpass callback failed for {}: {}",
                        user.trim(),
                        crate::plugins::errtext(status)
                    ),
                );
            }
            outcome.record(status);
        }
        // 3. The plug-in mechanisms set their own secrets (OTP, SRP...), DISABLE included.
        let (pass, passlen) = if disable {
            (std::ptr::null(), 0)
        } else {
            (pass, passlen)
        };
        // SAFETY: as above; `oldpass` NULL or `oldpasslen` bytes per the contract.
        for code in unsafe {
            crate::mechplug::setpass(
                conn_ptr,
                &user_c,
                pass,
                passlen,
                oldpass,
                oldpasslen,
                flags,
                current_mech.as_deref(),
            )
        } {
            outcome.record(code);
        }
        if outcome.tried == 0 {
            log(
                SASL_LOG_WARN,
                format!(
                    "secret not changed for {}: no writable auxprop plugin or setpass callback found",
                    user.trim()
                ),
            );
        }
        match outcome.result() {
            SASL_OK => SASL_OK,
            code => conn!(conn_ptr).error(code, format!("setpass failed for {}", user.trim())),
        }
    })
}

/// How the steps of `sasl_setpass` went, combined as Cyrus combines them.
#[derive(Default)]
struct SetpassOutcome {
    result: c_int,
    tried: usize,
    failed: usize,
}

impl SetpassOutcome {
    /// One step's code (`SASL_NOCHANGE` counts as success, as Cyrus's mechanisms loop has it).
    fn record(&mut self, code: c_int) {
        self.tried += 1;
        match code {
            SASL_OK | SASL_NOCHANGE => {}
            SASL_CONSTRAINT_VIOLAT => {
                self.failed += 1;
                if self.result == SASL_OK {
                    self.result = code;
                }
            }
            _ => {
                self.failed += 1;
                self.result = code;
            }
        }
    }

    fn result(&self) -> c_int {
        if self.result == SASL_CONSTRAINT_VIOLAT && self.failed < self.tried {
            SASL_OK
        } else {
            self.result
        }
    }
}

/// The connection's own callback list (for logging with no reference held).
fn conn_cbs_list(conn_ptr: *mut sasl_conn_t) -> crate::callbacks::CallbackList {
    // SAFETY: a live connection (the export's contract); the reference ends here.
    unsafe { conn_ptr.as_ref() }
        .map_or(crate::callbacks::CallbackList::new(std::ptr::null()), |c| {
            c.callbacks
        })
}

/// Writes the user to the built-in store: `None` when `auxprop_plugin` names registered
/// plug-ins only (they take it); else whether it worked (the error's text when not). With
/// `sql` first in `auxprop_plugin`, only what Cyrus's sql plugin is given; else the password
/// (unless `SASL_SET_NOPLAIN`) and every secret derived from it, or, with `SASL_SET_DISABLE`,
/// the user deleted.
fn write_builtin_store(
    lists: &[&[Callback]; 2],
    global: &crate::global::ServerGlobal,
    config: &puresasl::ServerConfig,
    user: &str,
    password: Option<&[u8]>,
    flags: c_uint,
) -> Option<Result<(), String>> {
    if only_plugin_stores(lists, &global.file) {
        return None;
    }
    let (name, realm) = config.split_user(user);
    let store = global.store.as_ref();
    let iterations = option(lists, Some(&global.file), "scram_iteration_counter")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(4096);
    let keep_plaintext = flags & SASL_SET_NOPLAIN == 0;
    let written = if writes_to_sql(lists, &global.file) {
        // The administrator's table: what Cyrus's sql plugin is given, nothing more.
        let generate = option(lists, Some(&global.file), "scram_secret_generate")
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
    Some(written.map_err(|error| error.to_string()))
}

/// Whether `auxprop_plugin` names registered auxprop plug-ins only (no built-in store).
fn only_plugin_stores(lists: &[&[Callback]], file: &puresasl::config::Config) -> bool {
    option(lists, Some(file), "auxprop_plugin").is_some_and(|plugins| {
        let mut names = plugins.split_ascii_whitespace().peekable();
        names.peek().is_some() && names.all(crate::plugins::has_auxprop)
    })
}

/// Hands `userPassword` to the auxprop plug-ins that can store, as Cyrus's `sasl_setpass`
/// does through `sasl_auxprop_store`; when `disable`, `userPassword` and `*` (every property)
/// with no value, which tells stores to delete the user. `None` when no plug-in can store,
/// else the stores' code.
///
/// # Safety
/// `conn_ptr` a live server connection, not borrowed; `pass` holds `passlen` bytes.
unsafe fn store_password_through_plugins(
    conn_ptr: *mut sasl_conn_t,
    user: &CStr,
    pass: *const c_char,
    passlen: c_uint,
    disable: bool,
) -> Option<c_int> {
    use crate::propctx::{prop_dispose, prop_new, prop_request, prop_set};
    // SAFETY: NULL asks only whether a plug-in can store.
    unsafe {
        crate::plugins::store_through_plugins(conn_ptr, std::ptr::null_mut(), user.as_ptr())
    }?;
    let password = c"userPassword";
    // SAFETY: a fresh context, disposed below (its values zeroed); NUL-terminated names;
    // `pass` holds `passlen` bytes; the plug-ins get the caller's live connection.
    unsafe {
        let mut ctx = prop_new(0);
        let mut names = [password.as_ptr(), c"*".as_ptr(), std::ptr::null()];
        if !disable {
            names[1] = std::ptr::null();
        }
        prop_request(ctx, names.as_mut_ptr());
        if !disable {
            prop_set(
                ctx,
                password.as_ptr(),
                pass,
                c_int::try_from(passlen).unwrap_or(c_int::MAX),
            );
        }
        let code = crate::plugins::store_through_plugins(conn_ptr, ctx, user.as_ptr());
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
