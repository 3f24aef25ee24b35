//! The application's callbacks: the one place where a `sasl_callback_t` entry is found, its
//! procedure converted to the prototype its id declares, and adapted into the core's traits
//! (log sink, option lookup, canonicalisation, authorization, password check).
//!
//! A callback may call back into the library on its own connection (`sasl_getprop`,
//! `sasl_seterror`, `sasl_errdetail`): nothing here holds a reference to the connection or a
//! lock while calling one.

#![allow(non_camel_case_types, reason = "the C names are the ABI")]

use std::ffi::{CStr, CString, c_char, c_int, c_uint, c_ulong, c_void};
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};

use puresasl::server::PasswordChecker;
use puresasl::{
    AuthorizationPolicy, CanonicalizeUser, Error, Identity, LogLevel, LogSink, NameKind,
    PasswordCheck, Secret, StoreError,
};

use crate::conn::cstring;
use crate::consts::*;
use crate::handles::sasl_conn_t;
use crate::types::{sasl_callback_ft, sasl_callback_t, sasl_secret_t};
use puresasl::config::Config;

unsafe extern "C" {
    fn syslog(priority: c_int, format: *const c_char, ...);
}

/// A copy of one `sasl_callback_t` entry.
#[derive(Debug, Clone, Copy)]
pub struct Callback {
    /// The `SASL_CB_*` id.
    pub id: c_ulong,
    /// The procedure.
    pub proc: sasl_callback_ft,
    /// Its context.
    pub context: *mut c_void,
}

// SAFETY: the callbacks and their contexts belong to the application, which by registering
// them promises they may be called from any thread that calls into the library.

unsafe impl Send for Callback {}
// SAFETY: as above; the library never dereferences the context itself.

unsafe impl Sync for Callback {}

/// Copies a `SASL_CB_LIST_END`-terminated callback list (NULL gives an empty list).
///
/// # Safety
/// `list` is NULL or points to a terminated array of `sasl_callback_t`.
pub unsafe fn copy_callbacks(list: *const sasl_callback_t) -> Vec<Callback> {
    let mut out = Vec::new();
    if list.is_null() {
        return out;
    }
    let mut entry = list;
    loop {
        // SAFETY: the caller guarantees the array is terminated, so each entry up to the
        // terminator is readable.
        let cb = unsafe { &*entry };
        if cb.id == SASL_CB_LIST_END {
            break;
        }
        out.push(Callback {
            id: cb.id,
            proc: cb.proc,
            context: cb.context,
        });
        // SAFETY: not past the terminator, so the next entry is inside the array.
        entry = unsafe { entry.add(1) };
        if out.len() > 4096 {
            break;
        }
    }
    out
}

/// A callback list the application owns, kept by pointer as Cyrus does: applications (Postfix's
/// SMTP client among them) fill in the contexts after `sasl_client_new` returns, so the entries
/// are read at each use, never copied ahead of time.
#[derive(Debug, Clone, Copy, Default)]
pub struct CallbackList(usize);

impl CallbackList {
    /// Keeps `list` (NULL or a terminated array the application keeps alive while it is used).
    pub fn new(list: *const sasl_callback_t) -> Self {
        CallbackList(list as usize)
    }

    /// The list as the application gave it (for plug-in parameters).
    pub fn as_ptr(self) -> *const sasl_callback_t {
        self.0 as *const sasl_callback_t
    }

    /// The current entries.
    pub fn entries(self) -> Vec<Callback> {
        // SAFETY: the application promised, when handing the list to sasl_*_init/new, that it
        // stays valid and terminated for as long as the library may use it (Cyrus's contract).
        unsafe { copy_callbacks(self.0 as *const sasl_callback_t) }
    }
}

/// Typed views of a callback's procedure: the one place where the generic
/// `sasl_callback_ft` becomes the prototype its id declares. Each returns `None` when the
/// entry has another id or a NULL procedure.
macro_rules! typed_procedures {
    ($($(#[$doc:meta])* $name:ident: $prototype:ty = $($id:ident)|+;)*) => {
        impl Callback {
            $(
                $(#[$doc])*
                pub(crate) fn $name(&self) -> $prototype {
                    if !matches!(self.id, $($id)|+) {
                        return None;
                    }
                    // SAFETY: the application registered this procedure under an id whose
                    // prototype is this one (Cyrus's contract for callback lists); both types
                    // are nullable function pointers of the same size.
                    unsafe { std::mem::transmute::<sasl_callback_ft, $prototype>(self.proc) }
                }
            )*
        }
    };
}

typed_procedures! {
    /// `SASL_CB_GETOPT`.
    getopt: sasl_getopt_t = SASL_CB_GETOPT;
    /// `SASL_CB_LOG`.
    log: sasl_log_t = SASL_CB_LOG;
    /// `SASL_CB_GETCONFPATH`.
    getconfpath: sasl_getconfpath_t = SASL_CB_GETCONFPATH;
    /// `SASL_CB_USER`, `SASL_CB_AUTHNAME`, `SASL_CB_LANGUAGE`, `SASL_CB_CNONCE`.
    getsimple: sasl_getsimple_t = SASL_CB_USER | SASL_CB_AUTHNAME | SASL_CB_LANGUAGE | SASL_CB_CNONCE;
    /// `SASL_CB_PASS`.
    getsecret: sasl_getsecret_t = SASL_CB_PASS;
    /// `SASL_CB_GETREALM`.
    getrealm: sasl_getrealm_t = SASL_CB_GETREALM;
    /// `SASL_CB_PROXY_POLICY`.
    authorize: sasl_authorize_t = SASL_CB_PROXY_POLICY;
    /// `SASL_CB_SERVER_USERDB_CHECKPASS`.
    checkpass: sasl_server_userdb_checkpass_t = SASL_CB_SERVER_USERDB_CHECKPASS;
    /// `SASL_CB_SERVER_USERDB_SETPASS`.
    setpass: sasl_server_userdb_setpass_t = SASL_CB_SERVER_USERDB_SETPASS;
    /// `SASL_CB_CANON_USER`.
    canon_user: sasl_canon_user_t = SASL_CB_CANON_USER;
    /// `SASL_CB_VERIFYFILE`.
    verifyfile: sasl_verifyfile_t = SASL_CB_VERIFYFILE;
}

/// Finds the callback `id` in `lists`, first list first.
pub fn find_callback(lists: &[&[Callback]], id: c_ulong) -> Option<Callback> {
    lists
        .iter()
        .flat_map(|list| list.iter())
        .find(|cb| cb.id == id && cb.proc.is_some())
        .copied()
}

/// Looks up a library option: the application's GETOPT callbacks (connection first), then
/// the configuration file.
pub fn option(callbacks: &[&[Callback]], file: Option<&Config>, name: &str) -> Option<String> {
    if let Some(cb) = find_callback(callbacks, SASL_CB_GETOPT) {
        // On the stack: a dozen options are read per sasl_server_new.
        let mut stack = [0u8; 64];
        let owned;
        let key: &CStr = match stack.get_mut(..name.len()) {
            Some(room) if name.len() < 64 => {
                room.copy_from_slice(name.as_bytes());
                CStr::from_bytes_with_nul(stack.get(..=name.len())?).ok()?
            }
            _ => {
                owned = CString::new(name).ok()?;
                &owned
            }
        };
        let mut result: *const c_char = std::ptr::null();
        let mut len: c_uint = 0;
        let getopt = cb.getopt();
        if let Some(getopt) = getopt {
            // SAFETY: the arguments are valid for the call; the result is the application's.
            let status = unsafe {
                getopt(
                    cb.context,
                    std::ptr::null(),
                    key.as_ptr(),
                    &mut result,
                    &mut len,
                )
            };
            if status == SASL_OK && !result.is_null() {
                // SAFETY: the callback returned a NUL-terminated string it owns.
                let value = unsafe { CStr::from_ptr(result) };
                return Some(value.to_string_lossy().into_owned());
            }
        }
    }
    file.and_then(|f| f.get(name)).map(str::to_owned)
}

/// The `SASL_CB_LOG` adapter (connection callbacks first), falling back to syslog filtered by
/// `log_level`.
#[derive(Clone)]
pub struct CallbackLog {
    /// The callback lists to search.
    pub lists: Vec<CallbackList>,
    /// `log_level` for the syslog fallback.
    pub log_level: c_int,
}

impl LogSink for CallbackLog {
    fn log(&self, level: LogLevel, message: &str) {
        let owned: Vec<Vec<Callback>> = self.lists.iter().map(|l| l.entries()).collect();
        let lists: Vec<&[Callback]> = owned.iter().map(Vec::as_slice).collect();
        let text = CString::new(message.replace('\0', " ")).unwrap_or_default();
        let level = level as c_int;
        if let Some(cb) = find_callback(&lists, SASL_CB_LOG) {
            let log = cb.log();
            if let Some(log) = log {
                // SAFETY: valid NUL-terminated message; the context is the application's.
                unsafe { log(cb.context, level, text.as_ptr()) };
            }
        } else if level <= self.log_level {
            const LOG_AUTH: c_int = 4 << 3;
            let priority = match level {
                1 => 3,     // LOG_ERR
                2 | 3 => 4, // LOG_WARNING
                4 => 5,     // LOG_NOTICE
                _ => 7,     // LOG_DEBUG
            };
            // SAFETY: the format is a constant "%s" and the argument a valid C string.
            unsafe { syslog(LOG_AUTH | priority, c"%s".as_ptr(), text.as_ptr()) };
        }
    }
}

/// The application's `SASL_CB_SERVER_USERDB_CHECKPASS` callback as a password checker (Cyrus
/// asks it before the `pwcheck_method` list).
pub struct CheckpassCallback {
    /// The callback.
    pub callback: Callback,
    /// The connection the check is for (passed to the callback).
    pub conn: usize,
}

impl PasswordChecker for CheckpassCallback {
    fn check(&self, user: &str, realm: &str, password: &[u8]) -> Result<PasswordCheck, Error> {
        checkpass_callback(self.callback, self.conn, user, realm, password)
    }
}

pub(crate) fn checkpass_callback(
    cb: Callback,
    conn: usize,
    user: &str,
    realm: &str,
    password: &[u8],
) -> Result<PasswordCheck, Error> {
    let name = CString::new(format!("{user}@{realm}")).map_err(|_| Error::AuthenticationFailed)?;
    let mut pass = password.to_vec();
    pass.push(0);
    let pass = Secret::new(pass);
    let check = cb.checkpass();
    let Some(check) = check else {
        return Ok(PasswordCheck::NoSuchUser);
    };
    let len = c_uint::try_from(password.len()).map_err(|_| Error::AuthenticationFailed)?;
    // SAFETY: valid strings; conn is the connection making the call (or NULL).
    let status = unsafe {
        check(
            conn as *mut crate::handles::sasl_conn_t,
            cb.context,
            name.as_ptr(),
            pass.expose().as_ptr().cast(),
            len,
            std::ptr::null_mut(),
        )
    };
    match status {
        SASL_OK => Ok(PasswordCheck::Match),
        SASL_NOUSER => Ok(PasswordCheck::NoSuchUser),
        SASL_FAIL | SASL_UNAVAIL | SASL_TRYAGAIN => Err(Error::Store(StoreError::Unavailable(
            "checkpass callback failed".into(),
        ))),
        _ => Ok(PasswordCheck::Mismatch),
    }
}

/// `SASL_CB_GETOPT`: looks up option `option` of `plugin_name` (NULL for the library).
pub type sasl_getopt_t = Option<
    unsafe extern "C" fn(
        context: *mut c_void,
        plugin_name: *const c_char,
        option: *const c_char,
        result: *mut *const c_char,
        len: *mut c_uint,
    ) -> c_int,
>;

/// `SASL_CB_LOG`: logs `message` at `level`.
pub type sasl_log_t = Option<
    unsafe extern "C" fn(context: *mut c_void, level: c_int, message: *const c_char) -> c_int,
>;

/// `SASL_CB_GETPATH`: the plugin path.
pub type sasl_getpath_t =
    Option<unsafe extern "C" fn(context: *mut c_void, path: *mut *const c_char) -> c_int>;

/// `SASL_CB_GETCONFPATH`: the configuration path (the string is the application's).
pub type sasl_getconfpath_t =
    Option<unsafe extern "C" fn(context: *mut c_void, path: *mut *mut c_char) -> c_int>;

/// `SASL_CB_VERIFYFILE` (`type` is a `sasl_verify_type_t`).
pub type sasl_verifyfile_t =
    Option<unsafe extern "C" fn(context: *mut c_void, file: *const c_char, kind: c_int) -> c_int>;

/// `SASL_CB_USER`, `SASL_CB_AUTHNAME`, `SASL_CB_LANGUAGE`, `SASL_CB_CNONCE`.
pub type sasl_getsimple_t = Option<
    unsafe extern "C" fn(
        context: *mut c_void,
        id: c_int,
        result: *mut *const c_char,
        len: *mut c_uint,
    ) -> c_int,
>;

/// `SASL_CB_PASS`: the password (the secret is the application's; never freed here).
pub type sasl_getsecret_t = Option<
    unsafe extern "C" fn(
        conn: *mut crate::handles::sasl_conn_t,
        context: *mut c_void,
        id: c_int,
        psecret: *mut *mut sasl_secret_t,
    ) -> c_int,
>;

/// `SASL_CB_ECHOPROMPT`, `SASL_CB_NOECHOPROMPT`.
pub type sasl_chalprompt_t = Option<
    unsafe extern "C" fn(
        context: *mut c_void,
        id: c_int,
        challenge: *const c_char,
        prompt: *const c_char,
        defresult: *const c_char,
        result: *mut *const c_char,
        len: *mut c_uint,
    ) -> c_int,
>;

/// `SASL_CB_GETREALM`: picks one of `availrealms` (NULL-terminated).
pub type sasl_getrealm_t = Option<
    unsafe extern "C" fn(
        context: *mut c_void,
        id: c_int,
        availrealms: *mut *const c_char,
        result: *mut *const c_char,
    ) -> c_int,
>;

/// `SASL_CB_PROXY_POLICY`: may `auth_identity` act as `requested_user`?
pub type sasl_authorize_t = Option<
    unsafe extern "C" fn(
        conn: *mut crate::handles::sasl_conn_t,
        context: *mut c_void,
        requested_user: *const c_char,
        rlen: c_uint,
        auth_identity: *const c_char,
        alen: c_uint,
        def_realm: *const c_char,
        urlen: c_uint,
        propctx: *mut crate::handles::propctx,
    ) -> c_int,
>;

/// `SASL_CB_SERVER_USERDB_CHECKPASS`: the application checks a plaintext password.
pub type sasl_server_userdb_checkpass_t = Option<
    unsafe extern "C" fn(
        conn: *mut crate::handles::sasl_conn_t,
        context: *mut c_void,
        user: *const c_char,
        pass: *const c_char,
        passlen: c_uint,
        propctx: *mut crate::handles::propctx,
    ) -> c_int,
>;

/// `SASL_CB_SERVER_USERDB_SETPASS`: the application stores a password.
pub type sasl_server_userdb_setpass_t = Option<
    unsafe extern "C" fn(
        conn: *mut crate::handles::sasl_conn_t,
        context: *mut c_void,
        user: *const c_char,
        pass: *const c_char,
        passlen: c_uint,
        propctx: *mut crate::handles::propctx,
        flags: c_uint,
    ) -> c_int,
>;

/// `SASL_CB_CANON_USER`: the application canonicalises a user name.
pub type sasl_canon_user_t = Option<
    unsafe extern "C" fn(
        conn: *mut crate::handles::sasl_conn_t,
        context: *mut c_void,
        input: *const c_char,
        inlen: c_uint,
        flags: c_uint,
        user_realm: *const c_char,
        out: *mut c_char,
        out_max: c_uint,
        out_len: *mut c_uint,
    ) -> c_int,
>;

/// The `SASL_CB_PROXY_POLICY` adapter, asked after every successful exchange as Cyrus asks it;
/// without the callback a user may act only as themselves (Cyrus's default policy).
pub(crate) struct ProxyPolicy {
    pub(crate) callback: Option<Callback>,
    pub(crate) conn: usize,
    pub(crate) user_realm: Option<String>,
    /// The callback's result code when it refused (`SASL_OK` otherwise): the exchange fails
    /// with it, as in Cyrus.
    pub(crate) status: Arc<AtomicI32>,
}

impl ProxyPolicy {
    /// Calls the application's policy with the names as Cyrus passes them (`oparams.user`,
    /// `oparams.authid`: the canonical names, the user realm appended to one without a realm);
    /// without a callback, Cyrus's default policy.
    fn ask(&self, requested: &str, identity: &Identity) -> bool {
        // SAFETY: the connection runs this exchange and no reference to it is held (the
        // session left it while it runs).
        let filled = unsafe {
            crate::mechplug::fill_requested_properties(
                self.conn as *mut sasl_conn_t,
                &identity.canonical,
                identity.authzid.as_deref().unwrap_or(&identity.canonical),
            )
        };
        if filled.is_err() {
            // A store that fails is a temporary failure, never a refusal.
            self.status.store(SASL_FAIL, Ordering::Relaxed);
            return false;
        }
        let authid = crate::server::cyrus_authid(identity, self.user_realm.as_deref());
        let Some(cb) = self.callback else {
            return requested == authid;
        };
        let Some(policy) = cb.authorize() else {
            return requested == authid;
        };
        let requested = cstring(requested);
        let auth = cstring(&authid);
        let realm = self.user_realm.as_deref().map(cstring);
        let realm_ptr = realm.as_ref().map_or(std::ptr::null(), |r| r.as_ptr());
        let len = |s: &CString| c_uint::try_from(s.as_bytes().len()).unwrap_or(0);
        // SAFETY: valid strings with their lengths; the connection is the caller's own.
        let status = unsafe {
            policy(
                self.conn as *mut sasl_conn_t,
                cb.context,
                requested.as_ptr(),
                len(&requested),
                auth.as_ptr(),
                len(&auth),
                realm_ptr,
                realm.as_ref().map_or(0, len),
                // The connection's property context, as Cyrus passes it: slapd reads the
                // DNs its canon_user callback stored there.
                crate::plugins::conn_propctx(self.conn as *mut sasl_conn_t),
            )
        };
        if status != SASL_OK {
            self.status.store(status, Ordering::Relaxed);
        }
        status == SASL_OK
    }
}

impl AuthorizationPolicy for ProxyPolicy {
    fn authorize(&self, identity: &Identity, authzid: &str) -> bool {
        let requested = match &self.user_realm {
            Some(realm) if !authzid.contains('@') => format!("{authzid}@{realm}"),
            _ => authzid.to_owned(),
        };
        self.ask(&requested, identity)
    }

    fn authorize_self(&self, identity: &Identity) -> bool {
        let own = crate::server::cyrus_authid(identity, self.user_realm.as_deref());
        self.ask(&own, identity)
    }
}

/// The `SASL_CB_CANON_USER` adapter: the application's callback rewrites each name.
pub(crate) struct CanonUser {
    pub(crate) callback: Callback,
    pub(crate) conn: usize,
    pub(crate) user_realm: Option<String>,
    pub(crate) status: Arc<AtomicI32>,
}

/// Cyrus's `CANON_BUF_SIZE`: the room the callback gets for its output.
pub(crate) const CANON_BUF_SIZE: c_uint = 1024;

impl CanonicalizeUser for CanonUser {
    fn canonicalize(&self, name: &str, kind: NameKind) -> Result<String, Error> {
        let failed = |code: c_int| {
            self.status.store(code, Ordering::Relaxed);
            Err(Error::AuthenticationFailed)
        };
        let canon = self.callback.canon_user();
        let Some(canon) = canon else {
            return Ok(name.to_owned());
        };
        let flags = match kind {
            NameKind::Authcid => SASL_CU_AUTHID,
            NameKind::Authzid => SASL_CU_AUTHZID,
            NameKind::AuthcidAndAuthzid => SASL_CU_AUTHID | SASL_CU_AUTHZID,
        };
        let input = cstring(name);
        let Ok(inlen) = c_uint::try_from(input.as_bytes().len()) else {
            return failed(SASL_BADPARAM);
        };
        let realm = self.user_realm.as_deref().map(cstring);
        let realm_ptr = realm.as_ref().map_or(std::ptr::null(), |r| r.as_ptr());
        // One spare byte, so a callback that NUL-terminates a full buffer stays inside it.
        let mut out = vec![0u8; CANON_BUF_SIZE as usize + 1];
        let mut out_len: c_uint = 0;
        // SAFETY: a NUL-terminated input of inlen bytes, a realm string or NULL, and an
        // output buffer of more than out_max bytes; the connection is the caller's own.
        let status = unsafe {
            canon(
                self.conn as *mut sasl_conn_t,
                self.callback.context,
                input.as_ptr(),
                inlen,
                flags,
                realm_ptr,
                out.as_mut_ptr().cast::<c_char>(),
                CANON_BUF_SIZE,
                &raw mut out_len,
            )
        };
        if status != SASL_OK {
            return failed(status);
        }
        let Some(output) = (out_len <= CANON_BUF_SIZE)
            .then(|| out.get(..out_len as usize))
            .flatten()
        else {
            return failed(SASL_BUFOVER);
        };
        match std::str::from_utf8(output) {
            Ok(text) => Ok(text.to_owned()),
            Err(_) => failed(SASL_BADPROT),
        }
    }
}

impl CallbackLog {
    pub(crate) fn log_text(&self, level: c_int, message: &str) {
        use puresasl::LogSink;
        let level = match level {
            1 => puresasl::LogLevel::Error,
            2 => puresasl::LogLevel::Fail,
            3 => puresasl::LogLevel::Warn,
            4 => puresasl::LogLevel::Note,
            5 => puresasl::LogLevel::Debug,
            6 => puresasl::LogLevel::Trace,
            _ => puresasl::LogLevel::Pass,
        };
        self.log(level, message);
    }
}
