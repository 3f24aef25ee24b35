//! Loading Cyrus's plug-in modules (`lib*.so` in the plug-in path) at `sasl_server_init` (and
//! their client mechanisms at `sasl_client_init`), as Cyrus does: the path is the application's `SASL_CB_GETPATH`, else
//! `sasl_set_path(SASL_PATH_TYPE_PLUGIN)`, else `$SASL_PATH` when not set-uid, else
//! Debian's `/usr/lib/x86_64-linux-gnu/sasl2` (several directories separated by `:`). Each
//! `.so` file the application's `SASL_CB_VERIFYFILE` accepts is opened with `dlopen`, and its
//! `sasl_server_plug_init`, `sasl_auxprop_plug_init` and `sasl_canonuser_init` (and at
//! `sasl_client_init` its `sasl_client_plug_init`) are registered like application plug-ins, for what is not built in: a server mechanism or an auxprop
//! plug-in whose name is ours (PLAIN, SCRAM-SHA-256, sasldb, sql...) is skipped, so the
//! built-in Rust code always wins. A module whose init fails is skipped with a log line; a
//! module that added nothing is closed again.
//!
//! Cyrus's `libsasldb.so` and `libsql.so` are not opened at all: those stores are built in.
//!
//! The option `plugin_modules: no` (also `off`, `false`, `0`) turns loading off entirely for
//! sites that want only the built-in code.

use std::ffi::{CString, c_char, c_int, c_void};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::callbacks::{Callback, find_callback};
use crate::consts::*;
use crate::plugin_abi::{AuxpropInit, CanonuserInit, ClientPlugInit, ServerPlugInit};

unsafe extern "C" {
    fn dlopen(filename: *const c_char, flags: c_int) -> *mut c_void;
    fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
    fn dlclose(handle: *mut c_void) -> c_int;
    fn dlerror() -> *const c_char;
}

const RTLD_NOW: c_int = 2;

/// Whether `plugin_modules` turns loading off.
pub(crate) fn disabled(option: Option<&str>) -> bool {
    option.is_some_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "no" | "off" | "false" | "0"
        )
    })
}

/// The plug-in path for `sasl_server_init`'s callbacks.
fn search_path(callbacks: &[Callback]) -> String {
    if let Some(cb) = find_callback(&[callbacks], SASL_CB_GETPATH) {
        // SAFETY: SASL_CB_GETPATH's prototype (Cyrus's contract for callback lists).
        let getpath = unsafe {
            std::mem::transmute::<crate::types::sasl_callback_ft, crate::callbacks::sasl_getpath_t>(
                cb.proc,
            )
        };
        if let Some(getpath) = getpath {
            let mut path: *const c_char = std::ptr::null();
            // SAFETY: a writable out-pointer; the string is the application's.
            let status = unsafe { getpath(cb.context, &raw mut path) };
            if status == SASL_OK
                // SAFETY: NUL-terminated when set.
                && let Some(path) = unsafe { crate::util::opt_string(path) }
            {
                return path;
            }
        }
    }
    crate::utils::plugin_path()
}

/// Whether the application's `SASL_CB_VERIFYFILE` accepts `file` (no callback: yes).
fn verified(callbacks: &[Callback], file: &CString) -> bool {
    let Some(cb) = find_callback(&[callbacks], SASL_CB_VERIFYFILE) else {
        return true;
    };
    type Verify = Option<unsafe extern "C" fn(*mut c_void, *const c_char, c_int) -> c_int>;
    // SAFETY: SASL_CB_VERIFYFILE's prototype.
    let verify = unsafe { std::mem::transmute::<crate::types::sasl_callback_ft, Verify>(cb.proc) };
    // SAFETY: the application's callback with a NUL-terminated path; SASL_VRFY_PLUGIN is 0.
    verify.is_none_or(|verify| unsafe { verify(cb.context, file.as_ptr(), 0) } == SASL_OK)
}

/// Whether the modules are loaded for the server (until `sasl_server_done`/`sasl_done`).
static LOADED: AtomicBool = AtomicBool::new(false);
/// Whether the modules' client mechanisms are loaded (until `sasl_client_done`/`sasl_done`).
static LOADED_CLIENT: AtomicBool = AtomicBool::new(false);

/// `sasl_server_done`/`sasl_done`: every plug-in's clean-up runs and the registrations go
/// (application plug-ins too, as in Cyrus); the next `sasl_server_init` loads the modules
/// again. The modules stay mapped: a connection not yet disposed of may still point into one.
pub(crate) fn release(server_mechanisms: bool, others: bool) {
    if others {
        crate::clientplug::release_all();
        LOADED_CLIENT.store(false, Ordering::SeqCst);
    }
    if server_mechanisms {
        crate::mechplug::release_all();
        LOADED.store(false, Ordering::SeqCst);
    }
    if others {
        crate::plugins::release_all();
        LOADED.store(false, Ordering::SeqCst);
    }
}

/// `sasl_client_done`: the client mechanisms' clean-up runs and they go.
pub(crate) fn release_client() {
    crate::clientplug::release_all();
    LOADED_CLIENT.store(false, Ordering::SeqCst);
}

/// Loads the modules' client mechanisms (`sasl_client_plug_init`) at `sasl_client_init`.
pub(crate) fn load_client(callbacks: &[Callback], option: Option<&str>) {
    if disabled(option) || LOADED_CLIENT.swap(true, Ordering::SeqCst) {
        return;
    }
    for file in module_files(callbacks) {
        load_one(callbacks, &file, Side::Client);
    }
}

/// Which entry points a load registers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    /// Server mechanisms, auxprop and canon_user plug-ins (`sasl_server_init`).
    Server,
    /// Client mechanisms (`sasl_client_init`).
    Client,
}

/// The `.so` files of the plug-in path, directory by directory, sorted.
fn module_files(callbacks: &[Callback]) -> Vec<std::path::PathBuf> {
    let mut all = Vec::new();
    for dir in search_path(callbacks).split(':').filter(|d| !d.is_empty()) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut files: Vec<std::path::PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "so"))
            .collect();
        files.sort();
        all.extend(files);
    }
    all
}

/// Loads the modules of the plug-in path, once until released (see the module
/// documentation).
pub(crate) fn load(callbacks: &[Callback], option: Option<&str>) {
    if disabled(option) || LOADED.swap(true, Ordering::SeqCst) {
        return;
    }
    for file in module_files(callbacks) {
        load_one(callbacks, &file, Side::Server);
    }
}

/// Cyrus's modules for the stores built in here: not even opened (their init would open the
/// store, as Cyrus's sasldb module opens the sasldb2 file through Berkeley DB).
const BUILTIN_STORE_MODULES: [&str; 2] = ["libsasldb.so", "libsql.so"];

fn load_one(callbacks: &[Callback], file: &std::path::Path, side: Side) {
    if file
        .file_name()
        .is_some_and(|name| BUILTIN_STORE_MODULES.iter().any(|b| name == *b))
    {
        return;
    }
    let Ok(path) = CString::new(file.as_os_str().as_encoded_bytes()) else {
        return;
    };
    if !verified(callbacks, &path) {
        return;
    }
    // Cyrus's name for a module: the file name without `lib` and `.so` (`gssapiv2`).
    let plugname = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let plugname = plugname
        .strip_prefix("lib")
        .unwrap_or(&plugname)
        .trim_end_matches(".so")
        .to_owned();
    let Ok(cname) = CString::new(plugname.clone()) else {
        return;
    };
    // SAFETY: a NUL-terminated path; loading runs the module's constructors, which is what
    // loading a plug-in module means (the application asked for it by installing it).
    let handle = unsafe { dlopen(path.as_ptr(), RTLD_NOW) };
    if handle.is_null() {
        // SAFETY: dlerror's text is valid until the next dl call.
        let reason = unsafe { crate::util::opt_string(dlerror()) }.unwrap_or_default();
        crate::plugins::log_error(&format!("unable to dlopen {}: {reason}", file.display()));
        return;
    }
    let symbol = |name: &std::ffi::CStr| {
        // SAFETY: a live handle and a NUL-terminated name.
        let ptr = unsafe { dlsym(handle, name.as_ptr()) };
        (!ptr.is_null()).then_some(ptr)
    };
    let mut added = 0;
    if side == Side::Client {
        if let Some(ptr) = symbol(c"sasl_client_plug_init") {
            // SAFETY: Cyrus's modules export this name with sasl_client_plug_init_t's type.
            let init = unsafe { std::mem::transmute::<*mut c_void, ClientPlugInit>(ptr) };
            // SAFETY: as above.
            added += unsafe { crate::clientplug::add_client(cname.as_ptr(), init) }.1;
        }
    } else {
        if let Some(ptr) = symbol(c"sasl_server_plug_init") {
            // SAFETY: Cyrus's modules export this name with sasl_server_plug_init_t's type.
            let init = unsafe { std::mem::transmute::<*mut c_void, ServerPlugInit>(ptr) };
            // SAFETY: as above.
            added += unsafe { crate::mechplug::add_server(cname.as_ptr(), init) }.1;
        }
        if let Some(ptr) = symbol(c"sasl_auxprop_plug_init") {
            // SAFETY: as above, sasl_auxprop_init_t.
            let init = unsafe { std::mem::transmute::<*mut c_void, AuxpropInit>(ptr) };
            // SAFETY: as above.
            if unsafe { crate::plugins::add_auxprop(cname.as_ptr(), init, true) } == SASL_OK {
                added += 1;
            }
        }
        if let Some(ptr) = symbol(c"sasl_canonuser_init") {
            // SAFETY: as above, sasl_canonuser_init_t.
            let init = unsafe { std::mem::transmute::<*mut c_void, CanonuserInit>(ptr) };
            // SAFETY: as above.
            if unsafe { crate::plugins::add_canonuser(cname.as_ptr(), init) } == SASL_OK {
                added += 1;
            }
        }
    }
    if added == 0 {
        // Nothing registered: nothing can point into it.
        // SAFETY: the handle from dlopen above, closed once.
        unsafe { dlclose(handle) };
    }
}
