//! Process-wide state: what `sasl_server_init`/`sasl_client_init` set up, the paths of
//! `sasl_set_path`, the configuration file, the credential store, and the callback lists.

use std::ffi::{CStr, CString, c_char, c_int, c_uint, c_ulong, c_void};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use puresasl::server::PasswordChecker;
use puresasl::{Auxprop, Error, LogLevel, LogSink, MemoryStore, PasswordCheck, Secret, StoreError};

use crate::consts::*;
use crate::types::*;
use puresasl::config::{Config, DEFAULT_SEARCH_PATH};
use puresasl::sasldb::SasldbStore;

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

    /// The current entries.
    pub fn entries(self) -> Vec<Callback> {
        // SAFETY: the application promised, when handing the list to sasl_*_init/new, that it
        // stays valid and terminated for as long as the library may use it (Cyrus's contract).
        unsafe { copy_callbacks(self.0 as *const sasl_callback_t) }
    }
}

/// Finds the callback `id` in `lists`, first list first.
pub fn find_callback(lists: &[&[Callback]], id: c_ulong) -> Option<Callback> {
    lists
        .iter()
        .flat_map(|list| list.iter())
        .find(|cb| cb.id == id && cb.proc.is_some())
        .copied()
}

/// What `sasl_server_init` established.
pub struct ServerGlobal {
    /// The application name (the config file is `<appname>.conf`).
    pub appname: Option<CString>,
    /// The global callbacks.
    pub callbacks: CallbackList,
    /// The configuration file's options.
    pub file: Config,
    /// The credential store (opened lazily by the store itself).
    pub store: Arc<dyn Auxprop>,
    /// The secret SCRAM derives fake and plaintext users' salts from (stable across
    /// processes: see [`server_secret`]).
    pub server_secret: Secret,
    /// What an unknown user costs, shared by every connection.
    pub decoys: Arc<puresasl::credentials::Decoys>,
}

/// The whole library state.
#[derive(Default)]
pub struct Global {
    /// Set by `sasl_server_init`.
    pub server: Option<Arc<ServerGlobal>>,
    /// Set by `sasl_client_init`: the global client callbacks.
    pub client: Option<Arc<CallbackList>>,
    /// `sasl_set_path(SASL_PATH_TYPE_CONFIG)`.
    pub config_path: Option<String>,
    /// `sasl_set_path(SASL_PATH_TYPE_PLUGIN)` (kept for `SASL_CB_GETPATH` users; there are no
    /// plugins to load).
    pub plugin_path: Option<String>,
}

/// The global state, locked.
pub fn global() -> MutexGuard<'static, Global> {
    static GLOBAL: OnceLock<Mutex<Global>> = OnceLock::new();
    GLOBAL
        .get_or_init(|| Mutex::new(Global::default()))
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Looks up a library option: the application's GETOPT callbacks (connection first), then
/// the configuration file.
pub fn option(callbacks: &[&[Callback]], file: Option<&Config>, name: &str) -> Option<String> {
    if let Some(cb) = find_callback(callbacks, SASL_CB_GETOPT) {
        let key = CString::new(name).ok()?;
        let mut result: *const c_char = std::ptr::null();
        let mut len: c_uint = 0;
        // SAFETY: GETOPT callbacks have the sasl_getopt_t prototype; the id says so.
        let getopt: sasl_getopt_t = unsafe { std::mem::transmute(cb.proc) };
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

/// The configuration search path: GETCONFPATH, else `sasl_set_path`, else `$SASL_CONF_PATH`
/// (only when not set-uid), else Debian's default.
pub fn config_search_path(callbacks: &[Callback], set_path: Option<&str>) -> String {
    if let Some(cb) = find_callback(&[callbacks], SASL_CB_GETCONFPATH) {
        // SAFETY: GETCONFPATH callbacks have the sasl_getconfpath_t prototype.
        let getconfpath: sasl_getconfpath_t = unsafe { std::mem::transmute(cb.proc) };
        if let Some(getconfpath) = getconfpath {
            let mut path: *mut c_char = std::ptr::null_mut();
            // SAFETY: valid out-pointer; the returned string is the application's (never freed).
            let status = unsafe { getconfpath(cb.context, &mut path) };
            if status == SASL_OK && !path.is_null() {
                // SAFETY: a NUL-terminated string owned by the application.
                return unsafe { CStr::from_ptr(path) }
                    .to_string_lossy()
                    .into_owned();
            }
        }
    }
    if let Some(path) = set_path {
        return path.to_owned();
    }
    if not_setuid()
        && let Ok(path) = std::env::var("SASL_CONF_PATH")
    {
        return path;
    }
    DEFAULT_SEARCH_PATH.to_owned()
}

unsafe extern "C" {
    fn getuid() -> u32;
    fn geteuid() -> u32;
    fn getgid() -> u32;
    fn getegid() -> u32;
    fn syslog(priority: c_int, format: *const c_char, ...);
}

fn not_setuid() -> bool {
    // SAFETY: these libc calls take no arguments and cannot fail.
    unsafe { getuid() == geteuid() && getgid() == getegid() }
}

/// Opens the credential store named by `auxprop_plugin` (sasldb, the default, is the only
/// one): the sasldb2 file at `sasldb_path`. The file is opened on first use, not here, so a
/// server that chroots after initialising reads it inside the chroot, as Cyrus does.
pub fn open_store(lookup: &dyn Fn(&str) -> Option<String>, log: &CallbackLog) -> Arc<dyn Auxprop> {
    if let Some(plugins) = lookup("auxprop_plugin") {
        for plugin in plugins.split_ascii_whitespace() {
            if !plugin.eq_ignore_ascii_case("sasldb") {
                log.log(
                    LogLevel::Error,
                    &format!("could not find auxprop plugin, was searching for '{plugin}'"),
                );
            }
        }
        if !plugins
            .split_ascii_whitespace()
            .any(|p| p.eq_ignore_ascii_case("sasldb"))
        {
            return Arc::new(MemoryStore::new());
        }
    }
    let path = lookup("sasldb_path").unwrap_or_else(|| "/etc/sasldb2".to_owned());
    Arc::new(SasldbStore::new(path))
}

/// The server secret (see `puresasl::server_secret`): the option `server_secret` (text, the
/// same on every server sharing a credential database), else the file named by
/// `server_secret_file`, else the file beside the sasldb2 store, created on first use. When
/// none can be read or made, a secret for this process only, and an error in the log: unknown
/// users' SCRAM salts then change with each process.
pub fn server_secret(lookup: &dyn Fn(&str) -> Option<String>, log: &CallbackLog) -> Secret {
    use puresasl::server_secret::{from_text, load_or_create, path_beside};
    if let Some(text) = lookup("server_secret") {
        match from_text(text.as_bytes()) {
            Ok(secret) => return secret,
            Err(error) => log.log(LogLevel::Error, &format!("server_secret: {error}")),
        }
    }
    let sasldb = uses_sasldb(lookup)
        .then(|| lookup("sasldb_path").unwrap_or_else(|| "/etc/sasldb2".to_owned()));
    let file = lookup("server_secret_file")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            sasldb
                .as_ref()
                .map(|p| path_beside(std::path::Path::new(p)))
        });
    if let Some(path) = file {
        let like = sasldb.as_ref().map(std::path::Path::new);
        match load_or_create(&path, like, &puresasl::OsRandom) {
            Ok(secret) => return secret,
            Err(error) => log.log(
                LogLevel::Error,
                &format!(
                    "cannot read or create the server secret {}: {error}; unknown users' \
                     SCRAM salts will change with each process",
                    path.display()
                ),
            ),
        }
    }
    let mut secret = vec![0u8; 32];
    puresasl::Random::fill(&puresasl::OsRandom, &mut secret);
    Secret::new(secret)
}

/// Whether `auxprop_plugin` names the sasldb2 store (it does when unset).
fn uses_sasldb(lookup: &dyn Fn(&str) -> Option<String>) -> bool {
    lookup("auxprop_plugin").is_none_or(|plugins| {
        plugins
            .split_ascii_whitespace()
            .any(|p| p.eq_ignore_ascii_case("sasldb"))
    })
}

/// The `SASL_CB_LOG` adapter (connection callbacks first), falling back to syslog filtered by
/// `log_level`.
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
            // SAFETY: LOG callbacks have the sasl_log_t prototype.
            let log: sasl_log_t = unsafe { std::mem::transmute(cb.proc) };
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

fn checkpass_callback(
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
    // SAFETY: SERVER_USERDB_CHECKPASS callbacks have this prototype.
    let check: sasl_server_userdb_checkpass_t = unsafe { std::mem::transmute(cb.proc) };
    let Some(check) = check else {
        return Ok(PasswordCheck::NoSuchUser);
    };
    let len = c_uint::try_from(password.len()).map_err(|_| Error::AuthenticationFailed)?;
    // SAFETY: valid strings; conn is the connection making the call (or NULL).
    let status = unsafe {
        check(
            conn as *mut crate::conn::sasl_conn_t,
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
