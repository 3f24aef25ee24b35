//! Process-wide state: what `sasl_server_init`/`sasl_client_init` set up, the paths of
//! `sasl_set_path`, the configuration file, the credential store, and the callback lists.

use std::ffi::{CStr, CString, c_char, c_uint};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use puresasl::{Auxprop, LogLevel, LogSink, MemoryStore, ScramKeyCache, Secret, StoreError};

use crate::callbacks::{Callback, CallbackList, CallbackLog, find_callback};
use crate::consts::*;
use puresasl::config::{Config, DEFAULT_SEARCH_PATH};
use puresasl::sasldb::SasldbStore;
use puresasl::sql::SqlStore;

/// What `sasl_server_init` established.
pub struct ServerGlobal {
    /// The application name (the config file is `<appname>.conf`).
    pub appname: Option<CString>,
    /// The global callbacks.
    pub callbacks: CallbackList,
    /// The configuration file's options.
    pub file: Config,
    /// The credential store: [`configured`](Self::configured), as the global callbacks and
    /// the configuration file name it at each lookup.
    pub store: Arc<dyn Auxprop>,
    /// The store behind [`store`](Self::store), whose opened stores connections share.
    pub configured: Arc<ConfiguredStore>,
    /// The secret SCRAM derives fake and plaintext users' salts from (stable across
    /// processes: see [`server_secret`]).
    pub server_secret: Secret,
    /// What an unknown user costs, shared by every connection.
    pub decoys: Arc<puresasl::credentials::Decoys>,
}

impl ServerGlobal {
    /// The credential store of a connection: as [`store`](Self::store), but with the
    /// connection's GETOPT callback asked first.
    pub fn connection_store(&self, callbacks: CallbackList) -> Arc<dyn Auxprop> {
        Arc::new(self.configured.with_callbacks(callbacks))
    }
}

/// The credential store that the options name when a lookup happens, not when the library
/// was initialised: `auxprop_plugin`, `sasldb_path`, the `sql_*` options (see
/// [`open_store`]) are read through GETOPT (the connection's, then the global one) and the
/// configuration file at each lookup, as Cyrus reads them, since servers answer GETOPT from
/// configuration they parse after `sasl_server_init`. The stores opened are kept and shared
/// (by every connection) for as long as the options they were opened with stay the same.
pub struct ConfiguredStore {
    lists: Vec<CallbackList>,
    /// Shared with every connection's view (not copied per connection).
    file: Arc<Config>,
    log: CallbackLog,
    opened: Arc<Mutex<Option<Arc<Opened>>>>,
}

/// A store opened by [`ConfiguredStore`], with every option (and its value) read to open it.
struct Opened {
    /// Each option once, in the order first read; the name NUL-terminated for GETOPT.
    options: Vec<(CString, Option<String>)>,
    store: Arc<dyn Auxprop>,
}

impl ConfiguredStore {
    /// The store the global `callbacks` and `file` name; `log` reports what opening it says.
    pub fn new(callbacks: CallbackList, file: Config, log: CallbackLog) -> Self {
        ConfiguredStore {
            lists: vec![callbacks],
            file: Arc::new(file),
            log,
            opened: Arc::default(),
        }
    }

    /// The same store with a connection's `callbacks` asked first (sharing what is opened).
    pub fn with_callbacks(&self, callbacks: CallbackList) -> Self {
        let mut lists = vec![callbacks];
        lists.extend(self.lists.iter().copied());
        let mut log = self.log.clone();
        log.lists.clone_from(&lists);
        ConfiguredStore {
            lists,
            file: self.file.clone(),
            log,
            opened: self.opened.clone(),
        }
    }

    fn option(&self, name: &str) -> Option<String> {
        let entries: Vec<Vec<Callback>> = self.lists.iter().map(|l| l.entries()).collect();
        let lists: Vec<&[Callback]> = entries.iter().map(Vec::as_slice).collect();
        crate::callbacks::option(&lists, Some(self.file.as_ref()), name)
    }

    fn kept(&self) -> Option<Arc<Opened>> {
        self.opened
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Whether every option `kept` was opened with still has the value it had: the same
    /// answers as [`option`](Self::option) gives, compared where the application (or the
    /// file) keeps them, so the check on every lookup allocates nothing but the copies of the
    /// callback lists.
    fn unchanged(&self, kept: &Opened) -> bool {
        let entries: Vec<Vec<Callback>> = self.lists.iter().map(|l| l.entries()).collect();
        let lists: Vec<&[Callback]> = entries.iter().map(Vec::as_slice).collect();
        let getopt = find_callback(&lists, SASL_CB_GETOPT);
        kept.options.iter().all(|(name, value)| {
            let expected = value.as_deref();
            if let Some(cb) = getopt
                && let Some(getopt) = cb.getopt()
            {
                let mut result: *const c_char = std::ptr::null();
                let mut len: c_uint = 0;
                // SAFETY: the arguments are valid for the call (as in callbacks::option); the
                // result is the application's, read before anything else runs.
                let status = unsafe {
                    getopt(
                        cb.context,
                        std::ptr::null(),
                        name.as_ptr(),
                        &mut result,
                        &mut len,
                    )
                };
                if status == SASL_OK && !result.is_null() {
                    // SAFETY: the callback returned a NUL-terminated string it owns.
                    let answer = unsafe { CStr::from_ptr(result) }.to_string_lossy();
                    return expected == Some(&*answer);
                }
            }
            let file = name.to_str().ok().and_then(|name| self.file.get(name));
            expected == file
        })
    }

    /// The store the options name now (GETOPT runs; no lock is held while it does).
    pub fn current(&self) -> Arc<dyn Auxprop> {
        if let Some(kept) = self.kept()
            && self.unchanged(&kept)
        {
            return kept.store.clone();
        }
        let read = Mutex::new(Vec::<(CString, Option<String>)>::new());
        let recording = |name: &str| {
            let value = self.option(name);
            let mut read = read.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Ok(key) = CString::new(name)
                && !read.iter().any(|(seen, _)| *seen == key)
            {
                read.push((key, value.clone()));
            }
            value
        };
        let store = open_store(&recording, &self.log);
        let options = read
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *self
            .opened
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(Arc::new(Opened {
            options,
            store: store.clone(),
        }));
        store
    }

    /// The store opened last, without asking the application (for code that must not call
    /// it); the current one if none was opened yet.
    pub fn opened(&self) -> Arc<dyn Auxprop> {
        match self.kept() {
            Some(kept) => kept.store.clone(),
            None => self.current(),
        }
    }
}

impl Auxprop for ConfiguredStore {
    fn lookup(&self, user: &str, realm: &str, property: &str) -> Result<Vec<Secret>, StoreError> {
        self.current().lookup(user, realm, property)
    }

    /// The store's own batch (one SQL round trip per login, one sasldb2 read).
    fn lookup_many(
        &self,
        user: &str,
        realm: &str,
        properties: &[&str],
    ) -> Result<Vec<Vec<Secret>>, StoreError> {
        self.current().lookup_many(user, realm, properties)
    }

    fn store(
        &self,
        user: &str,
        realm: &str,
        property: &str,
        values: &[Secret],
    ) -> Result<(), StoreError> {
        self.current().store(user, realm, property, values)
    }

    fn store_many(
        &self,
        user: &str,
        realm: &str,
        changes: &[(String, Vec<Secret>)],
    ) -> Result<(), StoreError> {
        self.current().store_many(user, realm, changes)
    }

    fn entries(&self) -> Result<Vec<puresasl::auxprop::Entry>, StoreError> {
        self.current().entries()
    }
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
    /// The keys SCRAM clients derived from their passwords (see [`client_scram_keys`]):
    /// made at the first client exchange after `sasl_client_init`, dropped (and wiped) by
    /// `sasl_client_done` and `sasl_done`.
    pub scram_keys: Option<Arc<ScramKeyCache>>,
}

/// The cache of SCRAM client keys every client connection shares, as RFC 5802 allows: a
/// program that logs in again with the same password to a server sending the same salt and
/// iteration count (every login, with a given account) derives the keys once. Bounded
/// ([`ScramKeyCache::DEFAULT_CAPACITY`] entries), found only with the password, and wiped
/// by `sasl_client_done` and `sasl_done`. `None` before `sasl_client_init`.
pub fn client_scram_keys() -> Option<Arc<ScramKeyCache>> {
    let mut state = global();
    state.client.as_ref()?;
    Some(
        state
            .scram_keys
            .get_or_insert_with(|| Arc::new(ScramKeyCache::new()))
            .clone(),
    )
}

/// The global state, locked.
pub fn global() -> MutexGuard<'static, Global> {
    static GLOBAL: OnceLock<Mutex<Global>> = OnceLock::new();
    GLOBAL
        .get_or_init(|| Mutex::new(Global::default()))
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The configuration search path: GETCONFPATH, else `sasl_set_path`, else `$SASL_CONF_PATH`
/// (only when not set-uid), else Debian's default.
pub fn config_search_path(callbacks: &[Callback], set_path: Option<&str>) -> String {
    if let Some(cb) = find_callback(&[callbacks], SASL_CB_GETCONFPATH) {
        let getconfpath = cb.getconfpath();
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
}

pub(crate) fn not_setuid() -> bool {
    // SAFETY: these libc calls take no arguments and cannot fail.
    unsafe { getuid() == geteuid() && getgid() == getegid() }
}

/// Opens the credential stores named by `auxprop_plugin` (space-separated, asked in order;
/// unset means `sasldb`, or `sasldb sql` when `sql_select` is set and `pwcheck_method` is
/// `auxprop`, see `implicit_sql`): `sasldb`, the sasldb2 file at `sasldb_path`, opened on first use
/// rather than here, so a server that chroots after initialising reads it inside the chroot, as
/// Cyrus does; `sql`, the SQL store on `sql_engine`, and as the guides write it `pgsql`,
/// `mysql` or `sqlite3` (meaning `sql` with that engine; logged). The database is reached on
/// first use, not here. A plugin that cannot be set up is logged and left out.
pub fn open_store(lookup: &dyn Fn(&str) -> Option<String>, log: &CallbackLog) -> Arc<dyn Auxprop> {
    let implicit = lookup("auxprop_plugin").is_none() && implicit_sql(lookup);
    let plugins = match lookup("auxprop_plugin") {
        Some(plugins) => plugins,
        None if implicit => {
            log.log(
                LogLevel::Note,
                "auxprop_plugin is not set but sql_select is: asking sasldb, then sql, as Cyrus \
                 does with its sql plugin installed",
            );
            "sasldb sql".to_owned()
        }
        None => "sasldb".to_owned(),
    };
    let mut stores: Vec<Arc<dyn Auxprop>> = Vec::new();
    for plugin in plugins.split_ascii_whitespace() {
        let plugin = plugin.to_ascii_lowercase();
        match plugin.as_str() {
            "sasldb" => {
                let path = lookup("sasldb_path").unwrap_or_else(|| "/etc/sasldb2".to_owned());
                let sasldb: Arc<dyn Auxprop> = Arc::new(SasldbStore::new(path));
                // Not asked for by name next to sql: a sasldb2 this process cannot read
                // (Debian's /etc/sasldb2 is root:sasl 0660) must not turn the database's
                // "no such user" into a temporary failure.
                stores.push(if implicit {
                    Arc::new(Unreadable(sasldb))
                } else {
                    sasldb
                });
            }
            "sql" | "pgsql" | "mysql" | "sqlite3" | "sqlite" => {
                let engine = (plugin != "sql").then(|| {
                    let engine = if plugin == "sqlite" { "sqlite3" } else { plugin.as_str() };
                    log.log(
                        LogLevel::Note,
                        &format!("auxprop_plugin: {plugin} means the sql plugin with sql_engine: {engine}"),
                    );
                    engine.to_owned()
                });
                let options = |name: &str| match (name, &engine) {
                    ("sql_engine", Some(engine)) => Some(engine.clone()),
                    _ => lookup(name),
                };
                match SqlStore::from_options(&options) {
                    Ok(Some(store)) => stores.push(Arc::new(store.with_log(Arc::new(log.clone())))),
                    Ok(None) => log.log(
                        LogLevel::Error,
                        "sql auxprop plugin: no sql_select (or sql_statement) is set",
                    ),
                    Err(error) => log.log(LogLevel::Error, &format!("sql auxprop plugin: {error}")),
                }
            }
            // A registered auxprop plug-in (see plugins::connection_store).
            other if crate::plugins::has_auxprop(other) => {}
            other => log.log(
                LogLevel::Error,
                &format!("could not find auxprop plugin, was searching for '{other}'"),
            ),
        }
    }
    match stores.len() {
        0 => Arc::new(MemoryStore::new()),
        1 => stores.swap_remove(0),
        _ => Arc::new(StoreList(stores)),
    }
}

/// Whether an unset `auxprop_plugin` should also mean the `sql` store: `sql_select` (or its old
/// name `sql_statement`) is set and passwords are checked by `auxprop` (`pwcheck_method`, whose
/// default it is). Cyrus with no `auxprop_plugin` asks every installed auxprop plugin
/// (`lib/auxprop.c:927-937`), so with `libsasl2-modules-sql` installed such a file reaches the
/// database: the Gentoo guide's "variant 2" smtpd.conf relies on it, its `sasl_auxprop_plugin`
/// being ignored (reference `sql-crypt-authdaemond.md` §2). Without `sql_select` the sql store
/// could not be set up anyway (Cyrus's plugin fails); with another `pwcheck_method` (variant
/// 1's `authdaemond` with `sql_select: dummy`) passwords never come from the store.
fn implicit_sql(lookup: &dyn Fn(&str) -> Option<String>) -> bool {
    let select = lookup("sql_select").or_else(|| lookup("sql_statement"));
    let pwcheck = lookup("pwcheck_method").unwrap_or_else(|| "auxprop".to_owned());
    select.is_some_and(|s| !s.trim().is_empty())
        && pwcheck
            .split_ascii_whitespace()
            .any(|m| m.eq_ignore_ascii_case("auxprop"))
}

/// A store whose lookup errors count as "no value" (the implicit sasldb of [`implicit_sql`]).
struct Unreadable(Arc<dyn Auxprop>);

impl Auxprop for Unreadable {
    fn lookup(&self, user: &str, realm: &str, property: &str) -> Result<Vec<Secret>, StoreError> {
        Ok(self.0.lookup(user, realm, property).unwrap_or_default())
    }

    fn lookup_many(
        &self,
        user: &str,
        realm: &str,
        properties: &[&str],
    ) -> Result<Vec<Vec<Secret>>, StoreError> {
        Ok(self
            .0
            .lookup_many(user, realm, properties)
            .unwrap_or_else(|_| properties.iter().map(|_| Vec::new()).collect()))
    }

    fn store(
        &self,
        user: &str,
        realm: &str,
        property: &str,
        values: &[Secret],
    ) -> Result<(), StoreError> {
        self.0.store(user, realm, property, values)
    }

    fn store_many(
        &self,
        user: &str,
        realm: &str,
        changes: &[(String, Vec<Secret>)],
    ) -> Result<(), StoreError> {
        self.0.store_many(user, realm, changes)
    }
}

/// Several `auxprop_plugin`s: each property comes from the first store that has a value for
/// it, as Cyrus fills a property from the first plugin that knows it; a store that fails is
/// skipped unless none answers. Writes go to the first store.
struct StoreList(Vec<Arc<dyn Auxprop>>);

impl Auxprop for StoreList {
    fn lookup(&self, user: &str, realm: &str, property: &str) -> Result<Vec<Secret>, StoreError> {
        let mut failure = None;
        for store in &self.0 {
            match store.lookup(user, realm, property) {
                Ok(values) if !values.is_empty() => return Ok(values),
                Ok(_) => {}
                Err(error) => failure = Some(error),
            }
        }
        failure.map_or(Ok(Vec::new()), Err)
    }

    /// One batch per store, each asked only for the properties still without a value.
    fn lookup_many(
        &self,
        user: &str,
        realm: &str,
        properties: &[&str],
    ) -> Result<Vec<Vec<Secret>>, StoreError> {
        let mut found: Vec<Vec<Secret>> = properties.iter().map(|_| Vec::new()).collect();
        let mut failure = None;
        for store in &self.0 {
            match puresasl::auxprop::fill_missing(
                store.as_ref(),
                user,
                realm,
                properties,
                &mut found,
            ) {
                Ok(false) => break,
                Ok(true) => {}
                Err(error) => failure = Some(error),
            }
        }
        match failure {
            Some(error) if found.iter().all(Vec::is_empty) => Err(error),
            _ => Ok(found),
        }
    }

    fn store(
        &self,
        user: &str,
        realm: &str,
        property: &str,
        values: &[Secret],
    ) -> Result<(), StoreError> {
        match self.0.first() {
            Some(store) => store.store(user, realm, property, values),
            None => Err(StoreError::ReadOnly),
        }
    }

    fn store_many(
        &self,
        user: &str,
        realm: &str,
        changes: &[(String, Vec<Secret>)],
    ) -> Result<(), StoreError> {
        match self.0.first() {
            Some(store) => store.store_many(user, realm, changes),
            None => Err(StoreError::ReadOnly),
        }
    }
}

/// Logs, at `log_level` 5 or more, the options of the configuration file that start with
/// `sasl_`: libsasl2 ignores them (the prefix belongs in Postfix's main.cf, not in
/// smtpd.conf), so their defaults apply, as with Cyrus; an administrator should know.
pub fn note_prefixed_options(file: &Config, log: &CallbackLog) {
    for (key, _) in file.options() {
        if let Some(meant) = key.strip_prefix("sasl_") {
            log.log(
                LogLevel::Debug,
                &format!(
                    "option {key} is ignored, as Cyrus SASL ignores it: the sasl_ prefix belongs \
                     in Postfix's main.cf; write {meant} in this file"
                ),
            );
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn options(pairs: &[(&str, String)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        move |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    fn password(store: &Arc<dyn Auxprop>, user: &str) -> Option<Vec<u8>> {
        store
            .lookup(user, "", "userPassword")
            .unwrap()
            .first()
            .map(|s| s.expose().to_vec())
    }

    /// An unset `auxprop_plugin` with `sql_select` set asks sasldb, then sql, as Cyrus with
    /// its sql plugin installed (the Postfix "variant 2" smtpd.conf); not with another
    /// `pwcheck_method`, not without `sql_select`, and never over an explicit plugin list.
    #[test]
    fn unset_auxprop_plugin_with_sql_select_means_sasldb_then_sql() {
        let dir =
            std::env::temp_dir().join(format!("puresasl-ffi-implicit-sql-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // An empty file is an empty SQLite database; the queries need no table.
        std::fs::write(dir.join("db"), b"").unwrap();
        let base = [
            ("sql_engine", "sqlite3".to_owned()),
            ("sql_database", dir.join("db").display().to_string()),
            (
                "sasldb_path",
                dir.join("missing-sasldb2").display().to_string(),
            ),
            (
                "sql_select",
                "SELECT 'from sql' WHERE '%u' = 'alice'".to_owned(),
            ),
        ];
        let log = CallbackLog {
            lists: Vec::new(),
            log_level: 0,
        };
        let open = |extra: &[(&str, &str)], drop_select: bool| {
            // The first of a name wins: `extra` overrides `base`.
            let mut pairs: Vec<(&str, String)> =
                extra.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
            pairs.extend(base.iter().cloned());
            if drop_select {
                pairs.retain(|(k, _)| *k != "sql_select");
            }
            open_store(&options(&pairs), &log)
        };
        let store = open(&[], false);
        assert_eq!(password(&store, "alice").as_deref(), Some(&b"from sql"[..]));
        assert_eq!(password(&store, "bob"), None);
        // A sasldb2 that cannot be read (here a directory) is no error for an unknown user.
        let store = open(&[("sasldb_path", dir.to_str().unwrap())], false);
        assert_eq!(password(&store, "bob"), None);
        assert_eq!(password(&store, "alice").as_deref(), Some(&b"from sql"[..]));
        let store = open(&[("pwcheck_method", "auxprop")], false);
        assert_eq!(password(&store, "alice").as_deref(), Some(&b"from sql"[..]));
        // The old option name counts too.
        let store = open(
            &[("sql_statement", "SELECT 'old' WHERE '%u' = 'alice'")],
            true,
        );
        assert_eq!(password(&store, "alice").as_deref(), Some(&b"old"[..]));
        // Variant 1: authdaemond checks passwords; `sql_select: dummy` opens nothing.
        let store = open(&[("pwcheck_method", "authdaemond")], false);
        assert_eq!(password(&store, "alice"), None);
        // An explicit list is obeyed as written.
        let store = open(&[("auxprop_plugin", "sasldb")], false);
        assert_eq!(password(&store, "alice"), None);
        let store = open(&[("auxprop_plugin", "sql")], false);
        assert_eq!(password(&store, "alice").as_deref(), Some(&b"from sql"[..]));
        // No sql_select: sasldb alone.
        let store = open(&[], true);
        assert_eq!(password(&store, "alice"), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
