//! The utility table plug-ins get (`sasl_utils_t`): the process-wide one (`sasl_global_utils`,
//! set when the library is loaded) and one per connection (its `conn` is the connection, its
//! `getopt` and `getcallback` see the connection's callbacks first). Every entry is real:
//! allocation (the C allocator), mutexes, MD5 and HMAC-MD5 over Cyrus's context layouts,
//! random bytes from the OS, `checkpass`, base64, properties, callbacks, `log` (formatted by
//! the C shim `ffi/c/utils.c`, which also holds the data object), `seterror` and `prop_*`.
//!
//! A plug-in may call any of these from inside a call the library made into it, so none of
//! them expects the library to hold a reference to the connection at that moment.

use std::ffi::{CStr, CString, c_char, c_int, c_uchar, c_uint, c_ulong, c_void};
use std::sync::{Condvar, Mutex, OnceLock};

use crate::callbacks::{Callback, CallbackList, CallbackLog, find_callback};
use crate::consts::*;
use crate::global::global;
use crate::handles::{Side, sasl_conn_t};
use crate::plugin_abi::{HMAC_MD5_CTX, HMAC_MD5_STATE, MD5_CTX, SASL_UTILS_VERSION, sasl_utils_t};
use crate::saslutil::sasl_rand_t;
use crate::types::sasl_callback_ft;
use crate::util::guard;

#[allow(
    improper_ctypes,
    reason = "the connection is an opaque handle, only passed through"
)]
unsafe extern "C" {
    fn malloc(size: usize) -> *mut c_void;
    fn calloc(count: usize, size: usize) -> *mut c_void;
    fn realloc(ptr: *mut c_void, size: usize) -> *mut c_void;
    fn free(ptr: *mut c_void);
    fn puresasl_set_global_utils(utils: *const c_void);
    fn puresasl_utils_log(conn: *mut sasl_conn_t, level: c_int, fmt: *const c_char, ...);
    fn sasl_seterror(conn: *mut sasl_conn_t, flags: c_uint, fmt: *const c_char, ...);
}

/// The plug-in state of a connection: its utility table (made on first use) and a plug-in
/// mechanism's exchange; freed with the connection, the exchange first (its `mech_dispose`
/// gets the table).
#[derive(Default)]
pub struct ConnUtils {
    server_mech: Option<Box<crate::mechplug::ServerMechSession>>,
    client_mech: Option<Box<crate::clientplug::ClientMechSession>>,
    /// What plug-ins' `mech_avail` kept or refused for this connection.
    pub(crate) avail_contexts: Vec<crate::mechplug::AvailContext>,
    table: Option<Box<OwnedUtils>>,
}

impl Drop for ConnUtils {
    fn drop(&mut self) {
        // The exchanges leave first (their mech_dispose may call back into the library on
        // this connection, which then sees no plug-in exchange), while the table they were
        // given still exists.
        drop(self.server_mech.take());
        drop(self.client_mech.take());
        // Then the contexts mech_avail made that no exchange took (mech_dispose each).
        drop(std::mem::take(&mut self.avail_contexts));
    }
}

impl ConnUtils {
    pub(crate) fn take_server_mech(&mut self) -> Option<Box<crate::mechplug::ServerMechSession>> {
        self.server_mech.take()
    }

    pub(crate) fn put_server_mech(&mut self, session: Box<crate::mechplug::ServerMechSession>) {
        self.server_mech = Some(session);
    }

    pub(crate) fn server_mech(&self) -> Option<&crate::mechplug::ServerMechSession> {
        self.server_mech.as_deref()
    }

    pub(crate) fn server_mech_mut(&mut self) -> Option<&mut crate::mechplug::ServerMechSession> {
        self.server_mech.as_deref_mut()
    }

    pub(crate) fn take_client_mech(&mut self) -> Option<Box<crate::clientplug::ClientMechSession>> {
        self.client_mech.take()
    }

    pub(crate) fn put_client_mech(&mut self, session: Box<crate::clientplug::ClientMechSession>) {
        self.client_mech = Some(session);
    }

    pub(crate) fn client_mech(&self) -> Option<&crate::clientplug::ClientMechSession> {
        self.client_mech.as_deref()
    }

    /// Whether a plug-in mechanism runs (or ran) the connection's exchange.
    pub(crate) fn has_plugin_session(&self) -> bool {
        self.server_mech.is_some() || self.client_mech.is_some()
    }
}

/// A utility table and the random pool it points to.
pub(crate) struct OwnedUtils {
    pub(crate) utils: sasl_utils_t,
}

impl Drop for OwnedUtils {
    fn drop(&mut self) {
        // SAFETY: the pool came from sasl_randcreate and is freed once, here.
        unsafe { crate::saslutil::sasl_randfree(&raw mut self.utils.rpool) };
    }
}

/// A fresh table for `conn` (NULL: the global one).
fn new_utils(conn: *mut sasl_conn_t) -> sasl_utils_t {
    let mut rpool: *mut sasl_rand_t = std::ptr::null_mut();
    // SAFETY: a writable out-pointer.
    unsafe { crate::saslutil::sasl_randcreate(&raw mut rpool) };
    sasl_utils_t {
        version: SASL_UTILS_VERSION,
        conn,
        rpool,
        getopt_context: conn.cast(),
        getopt: Some(utils_getopt),
        malloc: Some(utils_malloc),
        calloc: Some(utils_calloc),
        realloc: Some(utils_realloc),
        free: Some(utils_free),
        mutex_alloc: Some(utils_mutex_alloc),
        mutex_lock: Some(utils_mutex_lock),
        mutex_unlock: Some(utils_mutex_unlock),
        mutex_free: Some(utils_mutex_free),
        MD5Init: Some(md5_init),
        MD5Update: Some(md5_update),
        MD5Final: Some(md5_final),
        hmac_md5: Some(hmac_md5),
        hmac_md5_init: Some(hmac_md5_init),
        hmac_md5_final: Some(hmac_md5_final),
        hmac_md5_precalc: Some(hmac_md5_precalc),
        hmac_md5_import: Some(hmac_md5_import),
        mkchal: Some(crate::saslutil::sasl_mkchal),
        utf8verify: Some(crate::base64::sasl_utf8verify),
        rand: Some(crate::saslutil::sasl_rand),
        churn: Some(crate::saslutil::sasl_churn),
        checkpass: Some(crate::userdb::sasl_checkpass),
        decode64: Some(crate::base64::sasl_decode64),
        encode64: Some(crate::base64::sasl_encode64),
        erasebuffer: Some(crate::saslutil::sasl_erasebuffer),
        getprop: Some(crate::properties::sasl_getprop),
        setprop: Some(crate::properties::sasl_setprop),
        getcallback: Some(utils_getcallback),
        log: Some(puresasl_utils_log),
        seterror: Some(sasl_seterror),
        spare_fptr: None,
        prop_new: Some(crate::propctx::prop_new),
        prop_dup: Some(crate::propctx::prop_dup),
        prop_request: Some(crate::propctx::prop_request),
        prop_get: Some(crate::propctx::prop_get),
        prop_getnames: Some(crate::propctx::prop_getnames),
        prop_clear: Some(crate::propctx::prop_clear),
        prop_dispose: Some(crate::propctx::prop_dispose),
        prop_format: Some(crate::propctx::prop_format),
        prop_set: Some(crate::propctx::prop_set),
        prop_setvals: Some(crate::propctx::prop_setvals),
        prop_erase: Some(crate::propctx::prop_erase),
        auxprop_store: Some(crate::propctx::sasl_auxprop_store),
        spare_fptr1: None,
        spare_fptr2: None,
    }
}

/// The process-wide table (never freed: `sasl_global_utils` points at it).
pub fn global_utils() -> *const sasl_utils_t {
    struct Leaked(*const sasl_utils_t);
    // SAFETY: the table is immutable after creation; its pointers are to functions and a
    // random pool any thread may use.
    unsafe impl Send for Leaked {}
    // SAFETY: as above.
    unsafe impl Sync for Leaked {}
    static GLOBAL: OnceLock<Leaked> = OnceLock::new();
    GLOBAL
        .get_or_init(|| Leaked(Box::into_raw(Box::new(new_utils(std::ptr::null_mut())))))
        .0
}

/// Points `sasl_global_utils` at the global table; run by the C shim's load-time constructor.
#[unsafe(no_mangle)]
pub extern "C" fn puresasl_init_global_utils() {
    guard!((), {
        // SAFETY: a table that lives for the process.
        unsafe { puresasl_set_global_utils(global_utils().cast()) };
    })
}

/// The table of connection `conn_ptr` (made on first use; stable until `sasl_dispose`).
///
/// # Safety
/// `conn_ptr` is a live connection not borrowed elsewhere for the duration of the call.
pub(crate) unsafe fn conn_utils(conn_ptr: *mut sasl_conn_t) -> *const sasl_utils_t {
    // SAFETY: the caller's contract.
    let Some(conn) = (unsafe { conn_ptr.as_mut() }) else {
        return global_utils();
    };
    let owned = conn.utils.table.get_or_insert_with(|| {
        Box::new(OwnedUtils {
            utils: new_utils(conn_ptr),
        })
    });
    &raw const owned.utils
}

/// The callback lists of `conn` (NULL: the global ones), connection first.
///
/// # Safety
/// `conn` NULL or live and not borrowed mutably elsewhere during the call.
pub(crate) unsafe fn callback_lists(conn: *mut sasl_conn_t) -> Vec<CallbackList> {
    // SAFETY: the caller's contract; the reference ends in this function.
    match unsafe { conn.as_ref() } {
        Some(conn) => match &conn.side {
            Side::Server(side) => vec![conn.callbacks, side.global.callbacks],
            Side::Client(side) => vec![conn.callbacks, *side.global],
        },
        None => {
            let state = global();
            let mut lists = Vec::new();
            if let Some(server) = &state.server {
                lists.push(server.callbacks);
            }
            if let Some(client) = &state.client {
                lists.push(**client);
            }
            lists
        }
    }
}

// ---- getopt and getcallback ----

/// `utils->getopt`: the application's GETOPT (connection first, the plug-in's name passed
/// on), then the configuration file. `context` is the connection (NULL: global).
unsafe extern "C" fn utils_getopt(
    context: *mut c_void,
    plugin_name: *const c_char,
    option: *const c_char,
    result: *mut *const c_char,
    len: *mut c_uint,
) -> c_int {
    guard!(SASL_FAIL, {
        if option.is_null() || result.is_null() {
            return SASL_BADPARAM;
        }
        // Not found leaves NULL and 0, as Cyrus's: plug-ins test the value, not the code.
        // SAFETY: writable out-pointers per the contract.
        unsafe {
            *result = std::ptr::null();
            crate::util::put(len, 0);
        }
        // SAFETY: the context is the connection this table was made for (or NULL).
        let lists = unsafe { callback_lists(context.cast()) };
        let owned: Vec<Vec<Callback>> = lists.iter().map(|l| l.entries()).collect();
        let lists: Vec<&[Callback]> = owned.iter().map(Vec::as_slice).collect();
        if let Some(cb) = find_callback(&lists, SASL_CB_GETOPT)
            && let Some(getopt) = cb.getopt()
        {
            let mut value: *const c_char = std::ptr::null();
            let mut value_len: c_uint = 0;
            // SAFETY: valid arguments; the result is the application's.
            let status =
                unsafe { getopt(cb.context, plugin_name, option, &mut value, &mut value_len) };
            if status == SASL_OK && !value.is_null() {
                // SAFETY: writable out-pointers per the contract.
                unsafe {
                    *result = value;
                    crate::util::put(len, value_len);
                }
                return SASL_OK;
            }
        }
        // SAFETY: NUL-terminated option; the value is interned for the process.
        let value = unsafe { crate::config_api::sasl_config_getstring(option, std::ptr::null()) };
        if value.is_null() {
            return SASL_FAIL;
        }
        // SAFETY: as above; the value is NUL-terminated.
        unsafe {
            *result = value;
            let length = CStr::from_ptr(value).to_bytes().len();
            crate::util::put(len, c_uint::try_from(length).unwrap_or(c_uint::MAX));
        }
        SASL_OK
    })
}

/// `utils->getcallback`: the library's own GETOPT always (it asks the application's), else
/// the connection's then the global callback `callbackid` (`SASL_INTERACT` when it is listed
/// with a NULL procedure), else the library's default for LOG, GETPATH, GETCONFPATH and
/// VERIFYFILE; otherwise `SASL_FAIL`.
unsafe extern "C" fn utils_getcallback(
    conn: *mut sasl_conn_t,
    callbackid: c_ulong,
    pproc: *mut sasl_callback_ft,
    pcontext: *mut *mut c_void,
) -> c_int {
    guard!(SASL_FAIL, {
        if pproc.is_null() || pcontext.is_null() {
            return SASL_BADPARAM;
        }
        let answer = |proc: sasl_callback_ft, context: *mut c_void| {
            // SAFETY: writable out-pointers per the contract.
            unsafe {
                *pproc = proc;
                *pcontext = context;
            }
        };
        answer(None, std::ptr::null_mut());
        if callbackid == SASL_CB_LIST_END {
            return SASL_FAIL;
        }
        if callbackid == SASL_CB_GETOPT {
            // SAFETY: both are C function pointers of the same size; callers cast back to
            // sasl_getopt_t, the prototype of SASL_CB_GETOPT.
            let proc = unsafe {
                std::mem::transmute::<crate::callbacks::sasl_getopt_t, sasl_callback_ft>(Some(
                    utils_getopt,
                ))
            };
            answer(proc, conn.cast());
            return SASL_OK;
        }
        // SAFETY: a live connection or NULL (the utils' contract).
        let lists = unsafe { callback_lists(conn) };
        for list in lists {
            if let Some(cb) = list.entries().into_iter().find(|cb| cb.id == callbackid) {
                answer(cb.proc, cb.context);
                return if cb.proc.is_some() {
                    SASL_OK
                } else {
                    SASL_INTERACT
                };
            }
        }
        // SAFETY: (each transmute) a C function pointer of the prototype the id declares,
        // stored as the generic procedure type, as in a callback list.
        let default: sasl_callback_ft = unsafe {
            match callbackid {
                SASL_CB_LOG => {
                    std::mem::transmute::<crate::callbacks::sasl_log_t, sasl_callback_ft>(Some(
                        default_log,
                    ))
                }
                SASL_CB_GETPATH => std::mem::transmute::<
                    crate::callbacks::sasl_getpath_t,
                    sasl_callback_ft,
                >(Some(default_getpath)),
                SASL_CB_VERIFYFILE => std::mem::transmute::<
                    Option<unsafe extern "C" fn(*mut c_void, *const c_char, c_int) -> c_int>,
                    sasl_callback_ft,
                >(Some(default_verifyfile)),
                _ => None,
            }
        };
        if default.is_none() {
            return SASL_FAIL;
        }
        answer(default, conn.cast());
        SASL_OK
    })
}

/// The default LOG callback: the connection's logging (syslog at `log_level`).
unsafe extern "C" fn default_log(
    context: *mut c_void,
    level: c_int,
    message: *const c_char,
) -> c_int {
    guard!(SASL_FAIL, {
        // SAFETY: NUL-terminated or NULL.
        let text = unsafe { crate::util::opt_string(message) }.unwrap_or_default();
        syslog_text(level, &text);
        let _ = context;
        SASL_OK
    })
}

fn syslog_text(level: c_int, text: &str) {
    // No LOG callback anywhere: the fallback of CallbackLog (syslog, errors only).
    CallbackLog {
        lists: Vec::new(),
        log_level: SASL_LOG_ERR,
    }
    .log_text(level, text);
}

/// The plug-in path: `sasl_set_path(SASL_PATH_TYPE_PLUGIN)`, else `$SASL_PATH` when not
/// set-uid, else Debian's `/usr/lib/x86_64-linux-gnu/sasl2`.
pub fn plugin_path() -> String {
    if let Some(path) = global().plugin_path.clone() {
        return path;
    }
    if crate::global::not_setuid()
        && let Ok(path) = std::env::var("SASL_PATH")
    {
        return path;
    }
    "/usr/lib/x86_64-linux-gnu/sasl2".to_owned()
}

/// The default GETPATH callback (the string is interned for the process).
unsafe extern "C" fn default_getpath(context: *mut c_void, path: *mut *const c_char) -> c_int {
    guard!(SASL_FAIL, {
        let _ = context;
        if path.is_null() {
            return SASL_BADPARAM;
        }
        let interned = intern(&plugin_path());
        // SAFETY: writable per the contract.
        unsafe { *path = interned };
        SASL_OK
    })
}

/// The default VERIFYFILE callback: every file is fine.
unsafe extern "C" fn default_verifyfile(
    context: *mut c_void,
    file: *const c_char,
    kind: c_int,
) -> c_int {
    let _ = (context, file, kind);
    SASL_OK
}

/// A C string that lives for the process; the same text gives the same pointer (so the set
/// is bounded by the distinct texts, here a handful of paths).
fn intern(text: &str) -> *const c_char {
    static TEXTS: OnceLock<Mutex<Vec<CString>>> = OnceLock::new();
    let mut texts = TEXTS
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(kept) = texts.iter().find(|t| t.to_bytes() == text.as_bytes()) {
        return kept.as_ptr();
    }
    let kept = CString::new(text.replace('\0', "")).unwrap_or_default();
    let ptr = kept.as_ptr();
    texts.push(kept);
    ptr
}

/// `utils->log`'s text (formatted by the C shim): to the LOG callback of the connection,
/// else the global one, else syslog.
///
/// # Safety
/// `conn` NULL or live; `message` NUL-terminated or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn puresasl_utils_log_text(
    conn: *mut sasl_conn_t,
    level: c_int,
    message: *const c_char,
) {
    guard!((), {
        // SAFETY: per the contract.
        let text = unsafe { crate::util::opt_string(message) }.unwrap_or_default();
        // SAFETY: per the contract.
        let lists = unsafe { callback_lists(conn) };
        CallbackLog {
            lists,
            log_level: SASL_LOG_ERR,
        }
        .log_text(level, &text);
    })
}

// ---- the application's allocator and mutexes (sasl_set_alloc, sasl_set_mutex) ----

type MallocFn = unsafe extern "C" fn(usize) -> *mut c_void;
type CallocFn = unsafe extern "C" fn(usize, usize) -> *mut c_void;
type ReallocFn = unsafe extern "C" fn(*mut c_void, usize) -> *mut c_void;
type FreeFn = unsafe extern "C" fn(*mut c_void);
type MutexAllocFn = unsafe extern "C" fn() -> *mut c_void;
type MutexLockFn = unsafe extern "C" fn(*mut c_void) -> c_int;
type MutexFreeFn = unsafe extern "C" fn(*mut c_void);

#[derive(Clone, Copy)]
struct Allocator {
    malloc: MallocFn,
    calloc: CallocFn,
    realloc: ReallocFn,
    free: FreeFn,
}

#[derive(Clone, Copy)]
struct Mutexes {
    alloc: MutexAllocFn,
    lock: MutexLockFn,
    unlock: MutexLockFn,
    free: MutexFreeFn,
}

fn allocator() -> &'static Mutex<Option<Allocator>> {
    static ALLOCATOR: OnceLock<Mutex<Option<Allocator>>> = OnceLock::new();
    ALLOCATOR.get_or_init(Mutex::default)
}

fn mutexes() -> &'static Mutex<Option<Mutexes>> {
    static MUTEXES: OnceLock<Mutex<Option<Mutexes>>> = OnceLock::new();
    MUTEXES.get_or_init(Mutex::default)
}

fn current_allocator() -> Option<Allocator> {
    *allocator().lock().unwrap_or_else(|p| p.into_inner())
}

fn current_mutexes() -> Option<Mutexes> {
    *mutexes().lock().unwrap_or_else(|p| p.into_inner())
}

/// `sasl_set_alloc`: plug-ins allocate through the application's functions from now on, as
/// with Cyrus (all four must be given; otherwise the C allocator stays).
pub(crate) fn set_alloc(
    malloc: Option<MallocFn>,
    calloc: Option<CallocFn>,
    realloc: Option<ReallocFn>,
    free: Option<FreeFn>,
) {
    let chosen = match (malloc, calloc, realloc, free) {
        (Some(malloc), Some(calloc), Some(realloc), Some(free)) => Some(Allocator {
            malloc,
            calloc,
            realloc,
            free,
        }),
        _ => None,
    };
    *allocator().lock().unwrap_or_else(|p| p.into_inner()) = chosen;
}

/// `sasl_set_mutex`: plug-ins lock with the application's functions from now on (all four
/// must be given; otherwise the library's own mutexes stay).
pub(crate) fn set_mutex(
    alloc: Option<MutexAllocFn>,
    lock: Option<MutexLockFn>,
    unlock: Option<MutexLockFn>,
    free: Option<MutexFreeFn>,
) {
    let chosen = match (alloc, lock, unlock, free) {
        (Some(alloc), Some(lock), Some(unlock), Some(free)) => Some(Mutexes {
            alloc,
            lock,
            unlock,
            free,
        }),
        _ => None,
    };
    *mutexes().lock().unwrap_or_else(|p| p.into_inner()) = chosen;
}

unsafe extern "C" fn utils_malloc(size: usize) -> *mut c_void {
    // SAFETY: the application's allocator or the C one, with the plug-in's arguments.
    unsafe { current_allocator().map_or(malloc as MallocFn, |a| a.malloc)(size) }
}

unsafe extern "C" fn utils_calloc(count: usize, size: usize) -> *mut c_void {
    // SAFETY: as above.
    unsafe { current_allocator().map_or(calloc as CallocFn, |a| a.calloc)(count, size) }
}

unsafe extern "C" fn utils_realloc(ptr: *mut c_void, size: usize) -> *mut c_void {
    // SAFETY: as above.
    unsafe { current_allocator().map_or(realloc as ReallocFn, |a| a.realloc)(ptr, size) }
}

unsafe extern "C" fn utils_free(ptr: *mut c_void) {
    // SAFETY: as above.
    unsafe { current_allocator().map_or(free as FreeFn, |a| a.free)(ptr) }
}

unsafe extern "C" fn utils_mutex_alloc() -> *mut c_void {
    match current_mutexes() {
        // SAFETY: the application's function.
        Some(m) => unsafe { (m.alloc)() },
        None => mutex_alloc(),
    }
}

unsafe extern "C" fn utils_mutex_lock(mutex: *mut c_void) -> c_int {
    match current_mutexes() {
        // SAFETY: the application's function with the plug-in's mutex.
        Some(m) => unsafe { (m.lock)(mutex) },
        // SAFETY: as above, ours.
        None => unsafe { mutex_lock(mutex) },
    }
}

unsafe extern "C" fn utils_mutex_unlock(mutex: *mut c_void) -> c_int {
    match current_mutexes() {
        // SAFETY: as above.
        Some(m) => unsafe { (m.unlock)(mutex) },
        // SAFETY: as above.
        None => unsafe { mutex_unlock(mutex) },
    }
}

unsafe extern "C" fn utils_mutex_free(mutex: *mut c_void) {
    match current_mutexes() {
        // SAFETY: as above.
        Some(m) => unsafe { (m.free)(mutex) },
        // SAFETY: as above.
        None => unsafe { mutex_free(mutex) },
    }
}

// ---- mutexes ----

/// A mutex C can lock and unlock by pointer, from any thread.
struct RawLock {
    locked: Mutex<bool>,
    released: Condvar,
}

extern "C" fn mutex_alloc() -> *mut c_void {
    guard!(std::ptr::null_mut(), {
        Box::into_raw(Box::new(RawLock {
            locked: Mutex::new(false),
            released: Condvar::new(),
        }))
        .cast()
    })
}

unsafe extern "C" fn mutex_lock(mutex: *mut c_void) -> c_int {
    guard!(SASL_FAIL, {
        // SAFETY: NULL or a lock from mutex_alloc, not yet freed.
        let Some(lock) = (unsafe { mutex.cast::<RawLock>().as_ref() }) else {
            return SASL_BADPARAM;
        };
        let mut locked = lock.locked.lock().unwrap_or_else(|p| p.into_inner());
        while *locked {
            locked = lock
                .released
                .wait(locked)
                .unwrap_or_else(|p| p.into_inner());
        }
        *locked = true;
        SASL_OK
    })
}

unsafe extern "C" fn mutex_unlock(mutex: *mut c_void) -> c_int {
    guard!(SASL_FAIL, {
        // SAFETY: as mutex_lock.
        let Some(lock) = (unsafe { mutex.cast::<RawLock>().as_ref() }) else {
            return SASL_BADPARAM;
        };
        *lock.locked.lock().unwrap_or_else(|p| p.into_inner()) = false;
        lock.released.notify_one();
        SASL_OK
    })
}

unsafe extern "C" fn mutex_free(mutex: *mut c_void) {
    guard!((), {
        if !mutex.is_null() {
            // SAFETY: a lock from mutex_alloc, freed once.
            drop(unsafe { Box::from_raw(mutex.cast::<RawLock>()) });
        }
    })
}

// ---- MD5 and HMAC-MD5 ----

/// # Safety
/// `ptr` NULL or `len` readable bytes.
unsafe fn input<'a>(ptr: *const c_uchar, len: usize) -> &'a [u8] {
    if ptr.is_null() || len == 0 {
        return &[];
    }
    // SAFETY: the caller's contract.
    unsafe { std::slice::from_raw_parts(ptr, len) }
}

/// # Safety
/// `out` NULL or writable for 16 bytes.
unsafe fn output(out: *mut c_uchar, digest: [u8; 16]) {
    if !out.is_null() {
        // SAFETY: the caller's contract.
        unsafe { std::ptr::copy_nonoverlapping(digest.as_ptr(), out, 16) };
    }
}

unsafe extern "C" fn md5_init(ctx: *mut MD5_CTX) {
    guard!((), {
        // SAFETY: NULL or a writable context (the plug-in's).
        if let Some(ctx) = unsafe { ctx.as_mut() } {
            *ctx = MD5_CTX::new();
        }
    })
}

unsafe extern "C" fn md5_update(ctx: *mut MD5_CTX, text: *const c_uchar, len: c_uint) {
    guard!((), {
        // SAFETY: NULL or an initialised context; `len` readable bytes.
        if let Some(ctx) = unsafe { ctx.as_mut() } {
            // SAFETY: `len` readable bytes at `text` (the plug-in's contract).
            ctx.update(unsafe { input(text, len as usize) });
        }
    })
}

unsafe extern "C" fn md5_final(digest: *mut c_uchar, ctx: *mut MD5_CTX) {
    guard!((), {
        // SAFETY: NULL or an initialised context; 16 writable bytes.
        if let Some(ctx) = unsafe { ctx.as_mut() } {
            // SAFETY: 16 writable bytes at `digest`.
            unsafe { output(digest, ctx.finish()) };
        }
    })
}

fn length(len: c_int) -> usize {
    usize::try_from(len).unwrap_or(0)
}

unsafe extern "C" fn hmac_md5(
    text: *const c_uchar,
    text_len: c_int,
    key: *const c_uchar,
    key_len: c_int,
    digest: *mut c_uchar,
) {
    guard!((), {
        // SAFETY: readable inputs of the given lengths; 16 writable bytes.
        unsafe {
            let mut ctx = HMAC_MD5_CTX::new(input(key, length(key_len)));
            ctx.ictx.update(input(text, length(text_len)));
            output(digest, ctx.finish());
        }
    })
}

unsafe extern "C" fn hmac_md5_init(hmac: *mut HMAC_MD5_CTX, key: *const c_uchar, key_len: c_int) {
    guard!((), {
        // SAFETY: NULL or a writable context; a readable key.
        if let Some(hmac) = unsafe { hmac.as_mut() } {
            // SAFETY: `key_len` readable bytes at `key`.
            *hmac = HMAC_MD5_CTX::new(unsafe { input(key, length(key_len)) });
        }
    })
}

unsafe extern "C" fn hmac_md5_final(digest: *mut c_uchar, hmac: *mut HMAC_MD5_CTX) {
    guard!((), {
        // SAFETY: NULL or an initialised context; 16 writable bytes.
        if let Some(hmac) = unsafe { hmac.as_mut() } {
            // SAFETY: 16 writable bytes at `digest`.
            unsafe { output(digest, hmac.finish()) };
        }
    })
}

unsafe extern "C" fn hmac_md5_precalc(
    state: *mut HMAC_MD5_STATE,
    key: *const c_uchar,
    key_len: c_int,
) {
    guard!((), {
        // SAFETY: NULL or writable; a readable key.
        if let Some(state) = unsafe { state.as_mut() } {
            // SAFETY: `key_len` readable bytes at `key`.
            *state = HMAC_MD5_STATE::new(unsafe { input(key, length(key_len)) });
        }
    })
}

unsafe extern "C" fn hmac_md5_import(hmac: *mut HMAC_MD5_CTX, state: *mut HMAC_MD5_STATE) {
    guard!((), {
        // SAFETY: NULL or a writable context and a readable state.
        if let (Some(hmac), Some(state)) = unsafe { (hmac.as_mut(), state.as_ref()) } {
            *hmac = state.import();
        }
    })
}
