//! Library set-up and tear-down: `sasl_server_init`, `sasl_client_init`, the `*_done` calls,
//! `sasl_set_path`, version information and the global mechanism list.

#![allow(non_camel_case_types, reason = "the C names are the ABI")]

use std::ffi::{CString, c_char, c_int, c_void};
use std::sync::Arc;

use puresasl::config::Config;

use crate::callbacks::{Callback, CallbackList, CallbackLog, find_callback, option};
use crate::conn::cstring;
use crate::consts::*;
use crate::global::{ServerGlobal, config_search_path, global};
use crate::types::sasl_callback_t;
use crate::util::{guard, opt_string, put};

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
        let callback_list = CallbackList::new(callbacks);
        let callbacks = callback_list.entries();
        // The global lock is not held while the application's callbacks run (GETCONFPATH,
        // GETOPT, LOG): they may call back into the library.
        let config_path = {
            let state = global();
            if state.server.is_some() {
                return SASL_OK;
            }
            state.config_path.clone()
        };
        let file = match &appname {
            Some(appname) => {
                let path = config_search_path(&callbacks, config_path.as_deref());
                match find_config(appname, &path, &callbacks) {
                    Ok(file) => file.unwrap_or_default(),
                    Err((code, message)) => {
                        if let Some(message) = message {
                            CallbackLog {
                                lists: vec![callback_list],
                                log_level: SASL_LOG_ERR,
                            }
                            .log_error(&message);
                        }
                        return code;
                    }
                }
            }
            None => Config::default(),
        };
        let lists: [&[Callback]; 1] = [&callbacks];
        let lookup = |name: &str| option(&lists, Some(&file), name);
        let log = CallbackLog {
            lists: vec![callback_list],
            log_level: lookup("log_level")
                .and_then(|v| v.trim().parse::<c_int>().ok())
                .unwrap_or(SASL_LOG_ERR),
        };
        crate::global::note_prefixed_options(&file, &log);
        // Opened at the first lookup, with the options as they are then.
        let configured = Arc::new(crate::global::ConfiguredStore::new(
            callback_list,
            file.clone(),
            log.clone(),
        ));
        let plugin_modules = lookup("plugin_modules");
        let server_secret = crate::global::server_secret(&lookup, &log);
        let mut state = global();
        if state.server.is_some() {
            // Another thread finished first; theirs stands.
            return SASL_OK;
        }
        state.server = Some(Arc::new(ServerGlobal {
            appname: appname.map(|a| CString::new(a).unwrap_or_default()),
            callbacks: callback_list,
            file,
            store: configured.clone(),
            configured,
            server_secret,
            decoys: Arc::default(),
        }));
        drop(state);
        // Cyrus's plug-in modules, for what is not built in (no lock held: their init
        // functions call back through the utilities).
        crate::modules::load(&callbacks, plugin_modules.as_deref());
        SASL_OK
    })
}

/// `sasl_verify_type_t`'s `SASL_VRFY_CONF` (the enum is declared in the header's preamble).
const SASL_VRFY_CONF: c_int = 1;

/// Finds `<appname>.conf` along the `:`-separated `search_path` as Cyrus's `load_config`
/// does: each candidate (`<dir>/<appname>.conf`, an empty entry giving `/<appname>.conf`) is
/// first offered to the application's `SASL_CB_VERIFYFILE` (`SASL_VRFY_CONF`), and one it
/// refuses is skipped; the first accepted file that opens is read, the rest of the path is not
/// looked at; a file that opens but does not parse is `SASL_CONFIGERR`. When no file is read,
/// the result is Cyrus's: `Ok(None)`, unless the last candidate was refused, in which case
/// the refusal's code fails `sasl_server_init` (so an application that refuses every
/// configuration file gets its own code back).
fn find_config(
    appname: &str,
    search_path: &str,
    callbacks: &[Callback],
) -> Result<Option<Config>, (c_int, Option<String>)> {
    let verify = find_callback(&[callbacks], SASL_CB_VERIFYFILE);
    let mut last = SASL_CONTINUE;
    for directory in search_path.split(':') {
        let candidate = format!("{directory}/{appname}.conf");
        last = match verify.and_then(|cb| cb.verifyfile().map(|proc_| (cb, proc_))) {
            Some((cb, verifyfile)) => {
                let name = cstring(&candidate);
                // SAFETY: a NUL-terminated path and the application's context; the callback
                // may call back into the library (no lock is held here).
                unsafe { verifyfile(cb.context, name.as_ptr(), SASL_VRFY_CONF) }
            }
            None => SASL_OK,
        };
        if last != SASL_OK {
            continue;
        }
        let path = std::path::Path::new(&candidate);
        if std::fs::File::open(path).is_err() {
            last = SASL_CONTINUE;
            continue;
        }
        return Config::read(path)
            .map(Some)
            .map_err(|error| (SASL_CONFIGERR, Some(error.to_string())));
    }
    match last {
        SASL_OK | SASL_CONTINUE => Ok(None),
        code => Err((code, None)),
    }
}

impl CallbackLog {
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
        let callbacks = CallbackList::new(callbacks);
        let mut state = global();
        if state.client.is_none() {
            state.client = Some(Arc::new(callbacks));
        }
        drop(state);
        // The client mechanisms of Cyrus's plug-in modules (no lock held: their init
        // functions call back through the utilities).
        let entries = callbacks.entries();
        let plugin_modules = option(&[&entries], None, "plugin_modules");
        crate::modules::load_client(&entries, plugin_modules.as_deref());
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
        drop(state);
        // Server mechanism plug-ins go with the server side, as in Cyrus.
        crate::modules::release(true, false);
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
        state.scram_keys = None;
        drop(state);
        // Client mechanism plug-ins go with the client side, as in Cyrus.
        crate::modules::release_client();
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
        state.scram_keys = None;
        drop(state);
        // Every plug-in goes, as in Cyrus.
        crate::modules::release(true, true);
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

/// Accepts the application's mutex functions. The library synchronises with Rust's own
/// mutexes; plug-ins lock through `sasl_utils_t`, which uses these (all four given).
#[unsafe(no_mangle)]
pub extern "C" fn sasl_set_mutex(
    alloc: Option<unsafe extern "C" fn() -> *mut c_void>,
    lock: Option<unsafe extern "C" fn(mutex: *mut c_void) -> c_int>,
    unlock: Option<unsafe extern "C" fn(mutex: *mut c_void) -> c_int>,
    free: Option<unsafe extern "C" fn(mutex: *mut c_void)>,
) {
    guard!((), crate::utils::set_mutex(alloc, lock, unlock, free))
}

/// Accepts the application's allocator. Nothing the library returns is to be freed by the
/// application, and nothing the application hands in is freed by the library, so the
/// library's own allocator is used for its own memory; plug-ins allocate through
/// `sasl_utils_t`, which uses these (all four given), as with Cyrus.
#[unsafe(no_mangle)]
pub extern "C" fn sasl_set_alloc(
    malloc: Option<unsafe extern "C" fn(size: usize) -> *mut c_void>,
    calloc: Option<unsafe extern "C" fn(count: usize, size: usize) -> *mut c_void>,
    realloc: Option<unsafe extern "C" fn(ptr: *mut c_void, size: usize) -> *mut c_void>,
    free: Option<unsafe extern "C" fn(ptr: *mut c_void)>,
) {
    guard!((), crate::utils::set_alloc(malloc, calloc, realloc, free))
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
            let names: Vec<CString> = puresasl::unstable::MECHANISMS
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
