//! The SQL credential store: Cyrus's `sql` auxprop plugin (`auxprop_plugin: sql`), for
//! PostgreSQL, MySQL/MariaDB and SQLite.
//!
//! The options and their meanings are Cyrus 2.1.28's (`plugins/sql.c`; the facts are in
//! `reference/sql-crypt-authdaemond.md` §1): `sql_engine`, `sql_hostnames`, `sql_user`,
//! `sql_passwd`, `sql_database`, `sql_select` (old name `sql_statement`), `sql_insert`,
//! `sql_update`, `sql_usessl`. A lookup runs `sql_select` with `%p` set to the property and
//! takes the first column of the first row, so a database holding `userPassword` (plaintext)
//! or the derived secrets (`cmusaslsecretCRAM-MD5`, `cmusaslsecretDIGEST-MD5`,
//! `authPassword`, `cmusaslsecretSCRAM-SHA-256`) serves every mechanism, as sasldb2 does.
//!
//! Where this store differs from Cyrus, deliberately:
//!
//! - **Bound parameters, never substitution** ([`template`]): Cyrus's sqlite3 escaping lets
//!   `' UNION SELECT char(112,119) --` log in (§1.4) and its `%v` was unescaped before
//!   CVE-2022-24407 (§1.9). Here user names, realms and values are always parameters, in every
//!   engine; a user name containing NUL or longer than [`MAX_NAME_LEN`] has no values.
//! - **SQL NULL is no value** (Cyrus: `""` with pgsql, the text `NULL` with sqlite3, §1.5).
//! - **Connections are kept** across lookups and sessions (Cyrus connects for every lookup,
//!   four times per PLAIN login, §1.6) and reopened when broken; connects and queries are
//!   bounded by timeouts (Cyrus has none); a host that failed is skipped for
//!   [`SqlConfig::dead_host_retry`] while another host works (Cyrus retries every dead host on
//!   every lookup, §1.7). A connection inherited across `fork()` is abandoned, not shared.
//! - **A database that cannot be reached is [`StoreError::Unavailable`]** (the C layer's
//!   `SASL_FAIL`, as Cyrus's connect failure), never "no such user". A statement the server
//!   refuses (a missing column, a syntax error) counts as "no value" for that property, as in
//!   Cyrus (so `SELECT %p FROM users` works for a table without a `cmusaslsecretCRAM-MD5`
//!   column), and is logged at [`LogLevel::Error`] (each distinct message once; again at
//!   [`LogLevel::Debug`]).
//! - **Store** follows Cyrus (§1.8): only when both `sql_insert` and `sql_update` are set;
//!   `sql_select` with `%p` = `*` decides between UPDATE (a row) and INSERT (none), in one
//!   transaction; deleting stores SQL NULL (Cyrus: the text `NULL`); unlike Cyrus's sqlite3
//!   engine, INSERT does happen.
//! - `%u` and `%r` are the user and realm the caller passes to [`Auxprop::lookup`]: the
//!   session layer has already split `user@realm` at the first `@` as Cyrus does (§1.3).
//!
//! Options are read verbatim: a `sasl_` prefix means nothing to libsasl2 (§2), so
//! `sasl_sql_select` is not `sql_select`. Each engine needs its cargo feature (`pgsql`,
//! `mysql`, `sqlite`); without it, [`SqlStore::new`] refuses the engine.
//!
//! Round trips: a lookup is one statement on a kept connection ([`SqlStore::round_trips`]
//! counts statements sent, [`SqlStore::connects`] counts connections opened); the first use of
//! a statement text on a connection costs one more to prepare it (PostgreSQL, MySQL). A login
//! asks for all its properties at once ([`Auxprop::lookup_many`]): one statement per distinct
//! statement (a template without `%p` gives one for all), pipelined into one round trip on
//! PostgreSQL, for a known and an unknown user alike.

pub mod template;

#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "pgsql")]
mod pgsql;
#[cfg(feature = "sqlite")]
mod sqlite;

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use crate::auxprop::Auxprop;
use crate::error::{Error, StoreError};
use crate::log::{LogLevel, LogSink, NoLog};
use crate::secret::Secret;

use template::{Bindings, ParameterValue};
pub use template::{Dialect, Template, TemplateError};

/// The longest user name or realm looked up, in bytes; longer names have no values.
pub const MAX_NAME_LEN: usize = 1024;

/// The longest value returned, in bytes (Cyrus cuts at 8190).
pub const MAX_VALUE_LEN: usize = 65536;

/// `sql_engine`: which database server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Engine {
    /// PostgreSQL (`pgsql`); feature `pgsql`.
    Pgsql,
    /// MySQL or MariaDB (`mysql`, Cyrus's default); feature `mysql`.
    Mysql,
    /// SQLite 3 (`sqlite3`, or `sqlite`); feature `sqlite`.
    Sqlite,
}

impl Engine {
    /// The SQL dialect templates are parsed in.
    pub fn dialect(self) -> Dialect {
        match self {
            Engine::Pgsql => Dialect::Postgres,
            Engine::Mysql => Dialect::Mysql,
            Engine::Sqlite => Dialect::Sqlite,
        }
    }

    /// Cyrus's name for the engine.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Pgsql => "pgsql",
            Engine::Mysql => "mysql",
            Engine::Sqlite => "sqlite3",
        }
    }

    /// Whether this build has the engine's driver.
    pub fn is_compiled_in(self) -> bool {
        match self {
            Engine::Pgsql => cfg!(feature = "pgsql"),
            Engine::Mysql => cfg!(feature = "mysql"),
            Engine::Sqlite => cfg!(feature = "sqlite"),
        }
    }
}

impl FromStr for Engine {
    type Err = Error;

    /// Cyrus's names, case-insensitive: `pgsql`, `mysql`, `sqlite3` and `sqlite` (which Cyrus
    /// maps to SQLite 2; Debian builds no SQLite 2, so it means SQLite 3 here).
    fn from_str(name: &str) -> Result<Self, Error> {
        match name.to_ascii_lowercase().as_str() {
            "pgsql" => Ok(Engine::Pgsql),
            "mysql" => Ok(Engine::Mysql),
            "sqlite3" | "sqlite" => Ok(Engine::Sqlite),
            _ => Err(Error::Config(format!("SQL engine '{name}' not supported"))),
        }
    }
}

/// One entry of `sql_hostnames`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Host {
    /// A host name or address; for PostgreSQL a path starting with `/` is the directory of
    /// the server's unix socket, for MySQL the socket file itself.
    pub name: String,
    /// The port, if given (`host:port`).
    pub port: Option<u16>,
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            Some(port) => write!(f, "{}:{port}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// The configuration of an [`SqlStore`]. Make one with [`SqlConfig::new`] or
/// [`SqlConfig::from_options`], then adjust the fields.
#[non_exhaustive]
pub struct SqlConfig {
    /// `sql_engine`.
    pub engine: Engine,
    /// `sql_hostnames`, tried in order; empty means the driver's default (PostgreSQL: the
    /// socket in `/var/run/postgresql`, port 5432; MySQL: `/run/mysqld/mysqld.sock`). Unused
    /// by SQLite.
    pub hostnames: Vec<Host>,
    /// `sql_user`; empty means `$USER` for PostgreSQL. Unused by SQLite.
    pub user: String,
    /// `sql_passwd`. Unused by SQLite.
    pub password: Secret,
    /// `sql_database`: the database name, or the file path for SQLite.
    pub database: String,
    /// `sql_select` (or `sql_statement`).
    pub select: String,
    /// `sql_insert`; stores need both this and [`update`](Self::update).
    pub insert: Option<String>,
    /// `sql_update`.
    pub update: Option<String>,
    /// `sql_usessl`: require TLS to the server (PostgreSQL `sslmode=require`, MySQL
    /// `CLIENT_SSL`: encrypted, the certificate not verified, as Cyrus). Needs the `sql-tls`
    /// feature; without it a store with this set cannot connect (reported as unavailable)
    /// rather than fall back to plaintext.
    pub use_ssl: bool,
    /// The bound on opening a connection, per host (`sql_connect_timeout`, seconds; not a
    /// Cyrus option). Default 5 s.
    pub connect_timeout: Duration,
    /// The bound on one statement (`sql_query_timeout`, seconds; not a Cyrus option).
    /// Default 10 s.
    pub query_timeout: Duration,
    /// How long a host that failed is skipped while another host answers. Default 30 s.
    pub dead_host_retry: Duration,
}

impl fmt::Debug for SqlConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlConfig")
            .field("engine", &self.engine)
            .field("hostnames", &self.hostnames)
            .field("user", &self.user)
            .field("password", &self.password)
            .field("database", &self.database)
            .field("select", &self.select)
            .field("insert", &self.insert)
            .field("update", &self.update)
            .field("use_ssl", &self.use_ssl)
            .field("connect_timeout", &self.connect_timeout)
            .field("query_timeout", &self.query_timeout)
            .field("dead_host_retry", &self.dead_host_retry)
            .finish()
    }
}

impl SqlConfig {
    /// A configuration for `engine` on `database` (a file path for SQLite) with the lookup
    /// template `select`, and the defaults for everything else.
    pub fn new(engine: Engine, database: &str, select: &str) -> Self {
        SqlConfig {
            engine,
            hostnames: Vec::new(),
            user: String::new(),
            password: Secret::default(),
            database: database.to_owned(),
            select: select.to_owned(),
            insert: None,
            update: None,
            use_ssl: false,
            connect_timeout: Duration::from_secs(5),
            query_timeout: Duration::from_secs(10),
            dead_host_retry: Duration::from_secs(30),
        }
    }

    /// Reads Cyrus's `sql_*` options through `option` (the `<app>.conf` file and the
    /// application's GETOPT callback). `Ok(None)` when neither `sql_select` nor
    /// `sql_statement` is set: the plugin is then not active, as in Cyrus. An unknown
    /// `sql_engine` is an error (Cyrus: `SQL engine '%s' not supported`); the default engine
    /// is `mysql`, as in Cyrus.
    pub fn from_options(option: &dyn Fn(&str) -> Option<String>) -> Result<Option<Self>, Error> {
        let non_empty = |name: &str| option(name).filter(|v| !v.trim().is_empty());
        let Some(select) = non_empty("sql_select").or_else(|| non_empty("sql_statement")) else {
            return Ok(None);
        };
        let engine = match non_empty("sql_engine") {
            Some(name) => name.trim().parse()?,
            None => Engine::Mysql,
        };
        let mut config = SqlConfig::new(
            engine,
            option("sql_database").unwrap_or_default().trim(),
            &select,
        );
        config.hostnames = parse_hostnames(&option("sql_hostnames").unwrap_or_default())?;
        config.user = option("sql_user").unwrap_or_default();
        config.password = option("sql_passwd").map(Secret::from).unwrap_or_default();
        config.insert = non_empty("sql_insert");
        config.update = non_empty("sql_update");
        config.use_ssl = option("sql_usessl").is_some_and(|v| is_true(&v));
        for (name, field) in [
            ("sql_connect_timeout", &mut config.connect_timeout),
            ("sql_query_timeout", &mut config.query_timeout),
        ] {
            if let Some(value) = non_empty(name) {
                let seconds: u64 = value
                    .trim()
                    .parse()
                    .map_err(|_| Error::Config(format!("{name}: not a number of seconds")))?;
                *field = Duration::from_secs(seconds.max(1));
            }
        }
        Ok(Some(config))
    }
}

/// Cyrus's truth test for `sql_usessl` (sql.c:828-837): the first character is `1`, `y` or
/// `t`, or the value starts with `on`.
fn is_true(value: &str) -> bool {
    let value = value.trim_start().to_ascii_lowercase();
    matches!(value.chars().next(), Some('1' | 'y' | 't')) || value.starts_with("on")
}

/// Parses `sql_hostnames`: entries separated by commas, blanks around them ignored, each
/// `host[:port]` split at the first `:` (so no IPv6 literals, as in Cyrus). Unlike Cyrus, an
/// entry may start with `/` (a socket) and a trailing comma is harmless.
pub fn parse_hostnames(text: &str) -> Result<Vec<Host>, Error> {
    text.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            if entry.starts_with('/') {
                return Ok(Host {
                    name: entry.to_owned(),
                    port: None,
                });
            }
            match entry.split_once(':') {
                Some((name, port)) => {
                    let port = port.trim().parse().map_err(|_| {
                        Error::Config(format!("sql_hostnames: bad port in '{entry}'"))
                    })?;
                    Ok(Host {
                        name: name.trim().to_owned(),
                        port: Some(port),
                    })
                }
                None => Ok(Host {
                    name: entry.to_owned(),
                    port: None,
                }),
            }
        })
        .collect()
}

/// What went wrong with one statement.
#[derive(Debug)]
#[cfg_attr(
    not(any(feature = "pgsql", feature = "mysql", feature = "sqlite")),
    expect(dead_code, reason = "only the engines make these")
)]
pub(crate) enum DbError {
    /// The server refused the statement; the connection is fine.
    Query(String),
    /// The connection is broken; it must be dropped (and the work may be retried on a new
    /// one).
    Connection(String),
    /// The statement took too long (client-side bound, or the server's
    /// `statement_timeout`): the connection is dropped and the store is unavailable for this
    /// call, without a retry that would double the wait.
    Timeout(String),
}

/// The first column of the first row: `None` for no row, `Some(None)` for SQL NULL.
pub(crate) type FirstValue = Option<Option<Zeroizing<Vec<u8>>>>;

/// What an engine's connection can do. Every method is one round trip to the server (two
/// when a statement text is new to the connection and must be prepared first; the
/// implementation adds those to `round_trips`).
pub(crate) trait Connection: Send {
    /// Runs a query and returns the first column of its first row.
    fn query_first(
        &mut self,
        sql: &str,
        parameters: &[ParameterValue],
        round_trips: &AtomicU64,
    ) -> Result<FirstValue, DbError>;

    /// Runs a statement that returns no rows.
    fn execute(
        &mut self,
        sql: &str,
        parameters: &[ParameterValue],
        round_trips: &AtomicU64,
    ) -> Result<(), DbError>;

    /// Runs a statement without parameters (`BEGIN`, `COMMIT`, `ROLLBACK`).
    fn batch(&mut self, sql: &str, round_trips: &AtomicU64) -> Result<(), DbError>;

    /// Runs several queries, one result each (a refused statement is that query's
    /// [`DbError::Query`]); a broken connection or a timeout fails them all. The default runs
    /// them one after another; PostgreSQL pipelines them in one round trip.
    fn query_many(
        &mut self,
        queries: &[(&str, &[ParameterValue])],
        round_trips: &AtomicU64,
    ) -> Result<Vec<Result<FirstValue, DbError>>, DbError> {
        queries
            .iter()
            .map(
                |(sql, parameters)| match self.query_first(sql, parameters, round_trips) {
                    Err(error @ (DbError::Connection(_) | DbError::Timeout(_))) => Err(error),
                    other => Ok(other),
                },
            )
            .collect()
    }
}

/// Opens a connection to `host` (`None`: the engine's default, or SQLite's file).
fn open(config: &SqlConfig, host: Option<&Host>) -> Result<Box<dyn Connection>, String> {
    let _ = host;
    match config.engine {
        #[cfg(feature = "pgsql")]
        Engine::Pgsql => pgsql::connect(config, host),
        #[cfg(feature = "mysql")]
        Engine::Mysql => mysql::connect(config, host),
        #[cfg(feature = "sqlite")]
        Engine::Sqlite => sqlite::connect(config),
        #[allow(
            unreachable_patterns,
            reason = "reachable when an engine is compiled out"
        )]
        engine => Err(format!("sql engine {} is not compiled in", engine.name())),
    }
}

struct Kept {
    connection: Box<dyn Connection>,
    pid: u32,
    host: String,
}

#[derive(Default)]
struct Pool {
    kept: Option<Kept>,
    /// Hosts (by index in the list) that failed, and when.
    dead: HashMap<usize, Instant>,
}

/// Cyrus's `sql` auxprop plugin as an [`Auxprop`] store. See the [module docs](self).
///
/// One connection is kept per store and shared by every lookup behind a lock; lookups from
/// several threads take turns.
pub struct SqlStore {
    config: SqlConfig,
    select: Template,
    insert: Option<Template>,
    update: Option<Template>,
    pool: Mutex<Pool>,
    round_trips: AtomicU64,
    connects: AtomicU64,
    log: Arc<dyn LogSink>,
    /// The refusal messages already logged at error level (at most
    /// [`MAX_REMEMBERED_REFUSALS`]).
    refusals: Mutex<std::collections::HashSet<String>>,
}

/// How many distinct refusal messages a store remembers having logged.
const MAX_REMEMBERED_REFUSALS: usize = 64;

impl fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlStore")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

enum Outcome<T> {
    Done(T),
    Refused(String),
}

impl SqlStore {
    /// A store for `config`. Nothing is opened until the first lookup. Errors: the engine is
    /// not compiled in, or a template does not parse.
    pub fn new(config: SqlConfig) -> Result<Self, Error> {
        if !config.engine.is_compiled_in() {
            return Err(Error::Config(format!(
                "sql engine {} is not compiled in (cargo feature {})",
                config.engine.name(),
                match config.engine {
                    Engine::Pgsql => "pgsql",
                    Engine::Mysql => "mysql",
                    Engine::Sqlite => "sqlite",
                }
            )));
        }
        let dialect = config.engine.dialect();
        let parse = |name: &str, text: &str| {
            Template::parse(text, dialect)
                .map_err(|error| Error::Config(format!("{name}: {error}")))
        };
        let select = parse("sql_select", &config.select)?;
        let insert = config
            .insert
            .as_deref()
            .map(|t| parse("sql_insert", t))
            .transpose()?;
        let update = config
            .update
            .as_deref()
            .map(|t| parse("sql_update", t))
            .transpose()?;
        Ok(SqlStore {
            config,
            select,
            insert,
            update,
            pool: Mutex::new(Pool::default()),
            round_trips: AtomicU64::new(0),
            connects: AtomicU64::new(0),
            log: Arc::new(NoLog),
            refusals: Mutex::default(),
        })
    }

    /// Builds a store from Cyrus-style options ([`SqlConfig::from_options`]); `Ok(None)` when
    /// `sql_select` is not set.
    pub fn from_options(option: &dyn Fn(&str) -> Option<String>) -> Result<Option<Self>, Error> {
        SqlConfig::from_options(option)?
            .map(SqlStore::new)
            .transpose()
    }

    /// Sends the store's messages (connect failures, refused statements) to `log`. Messages
    /// name hosts and statements, never values or passwords.
    pub fn with_log(mut self, log: Arc<dyn LogSink>) -> Self {
        self.log = log;
        self
    }

    /// The configuration.
    pub fn config(&self) -> &SqlConfig {
        &self.config
    }

    /// Statements sent to the server so far (each one a round trip), prepares included.
    pub fn round_trips(&self) -> u64 {
        self.round_trips.load(Ordering::Relaxed)
    }

    /// Connections opened so far.
    pub fn connects(&self) -> u64 {
        self.connects.load(Ordering::Relaxed)
    }

    /// Drops the kept connection (the next lookup opens a new one).
    pub fn disconnect(&self) {
        let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
        pool.kept = None;
    }

    /// Opens a connection, walking the host list: hosts that failed within
    /// `dead_host_retry` are skipped unless every host has failed.
    fn connect(&self, pool: &mut Pool) -> Result<Kept, StoreError> {
        if self.config.engine == Engine::Sqlite || self.config.hostnames.is_empty() {
            let name = if self.config.engine == Engine::Sqlite {
                self.config.database.clone()
            } else {
                "default host".to_owned()
            };
            return match open(&self.config, None) {
                Ok(connection) => {
                    self.connects.fetch_add(1, Ordering::Relaxed);
                    Ok(Kept {
                        connection,
                        pid: std::process::id(),
                        host: name,
                    })
                }
                Err(error) => {
                    self.log.log(
                        LogLevel::Error,
                        &format!("sql plugin could not connect to {name}: {error}"),
                    );
                    Err(StoreError::Unavailable(format!(
                        "sql: cannot connect to {name}: {error}"
                    )))
                }
            };
        }
        let now = Instant::now();
        let hosts = &self.config.hostnames;
        let alive: Vec<usize> = (0..hosts.len())
            .filter(|index| {
                pool.dead
                    .get(index)
                    .is_none_or(|since| now.duration_since(*since) >= self.config.dead_host_retry)
            })
            .collect();
        let order = if alive.is_empty() {
            (0..hosts.len()).collect()
        } else {
            alive
        };
        for index in order {
            let Some(host) = hosts.get(index) else {
                continue;
            };
            match open(&self.config, Some(host)) {
                Ok(connection) => {
                    pool.dead.remove(&index);
                    self.connects.fetch_add(1, Ordering::Relaxed);
                    return Ok(Kept {
                        connection,
                        pid: std::process::id(),
                        host: host.to_string(),
                    });
                }
                Err(error) => {
                    pool.dead.insert(index, Instant::now());
                    self.log.log(
                        LogLevel::Error,
                        &format!("sql plugin could not connect to host {host}: {error}"),
                    );
                }
            }
        }
        self.log
            .log(LogLevel::Error, "sql plugin couldn't connect to any host");
        Err(StoreError::Unavailable(
            "sql: couldn't connect to any host".to_owned(),
        ))
    }

    /// Runs `work` on the kept connection, opening one if needed. A kept connection that turns
    /// out broken is replaced and `work` retried once on the new one.
    fn with_connection<T>(
        &self,
        mut work: impl FnMut(&mut dyn Connection, &AtomicU64) -> Result<T, DbError>,
    ) -> Result<Outcome<T>, StoreError> {
        let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(kept) = pool.kept.take() {
            if kept.pid == std::process::id() {
                pool.kept = Some(kept);
            } else {
                // Inherited across fork(): the socket is shared with the parent. Closing it
                // properly would send a goodbye on the parent's connection, so leak it.
                std::mem::forget(kept);
            }
        }
        let mut retried = false;
        loop {
            let fresh = pool.kept.is_none();
            let mut kept = match pool.kept.take() {
                Some(kept) => kept,
                None => self.connect(&mut pool)?,
            };
            match work(kept.connection.as_mut(), &self.round_trips) {
                Ok(value) => {
                    pool.kept = Some(kept);
                    return Ok(Outcome::Done(value));
                }
                Err(DbError::Query(message)) => {
                    pool.kept = Some(kept);
                    return Ok(Outcome::Refused(message));
                }
                Err(DbError::Timeout(message)) => {
                    self.log.log(
                        LogLevel::Warn,
                        &format!("sql: statement on {} timed out: {message}", kept.host),
                    );
                    return Err(StoreError::Unavailable(format!("sql: {message}")));
                }
                Err(DbError::Connection(message)) => {
                    self.log.log(
                        LogLevel::Warn,
                        &format!("sql: connection to {} failed: {message}", kept.host),
                    );
                    drop(kept);
                    if fresh || retried {
                        return Err(StoreError::Unavailable(format!("sql: {message}")));
                    }
                    retried = true;
                }
            }
        }
    }

    /// Logs a statement the server refused: at [`LogLevel::Error`] the first time a message is
    /// seen, at [`LogLevel::Debug`] after that. A login asks for every credential property,
    /// so with `SELECT %p FROM users ...` on a table lacking a column, each login has that
    /// column refused; the administrator needs to read it once, not once per login.
    fn refused(&self, template: &str, message: &str) {
        let first = {
            let mut seen = self.refusals.lock().unwrap_or_else(|p| p.into_inner());
            if seen.contains(message) {
                false
            } else {
                if seen.len() < MAX_REMEMBERED_REFUSALS {
                    seen.insert(message.to_owned());
                }
                true
            }
        };
        let level = if first {
            LogLevel::Error
        } else {
            LogLevel::Debug
        };
        self.log.log(
            level,
            &format!("sql plugin: statement from {template} failed: {message}"),
        );
    }
}

/// Whether `name` may be looked up: no NUL (no engine can bind it as text), not oversized.
fn acceptable_name(name: &str) -> bool {
    name.len() <= MAX_NAME_LEN && !name.contains('\0')
}

impl Auxprop for SqlStore {
    /// Runs `sql_select` with `%p` = `property`; the first column of the first row is the
    /// value, a NULL or no row is no value. A statement the server refuses is no value
    /// (logged); a server that cannot be reached is [`StoreError::Unavailable`].
    fn lookup(&self, user: &str, realm: &str, property: &str) -> Result<Vec<Secret>, StoreError> {
        if !acceptable_name(user) || !acceptable_name(realm) || !acceptable_name(property) {
            return Ok(Vec::new());
        }
        let Some(statement) = self.select.statement(property) else {
            self.log.log(
                LogLevel::Debug,
                "sql plugin: property name cannot stand in sql_select's SQL text",
            );
            return Ok(Vec::new());
        };
        let parameters = statement.values(&Bindings {
            user,
            realm,
            property,
            value: Some(b""),
        });
        let outcome = self.with_connection(|connection, round_trips| {
            connection.query_first(&statement.text, &parameters, round_trips)
        })?;
        match outcome {
            Outcome::Done(Some(Some(value))) => {
                let mut value = value;
                value.truncate(MAX_VALUE_LEN);
                Ok(vec![Secret::new(std::mem::take(&mut *value))])
            }
            Outcome::Done(_) => Ok(Vec::new()),
            Outcome::Refused(message) => {
                self.refused("sql_select", &message);
                Ok(Vec::new())
            }
        }
    }

    /// The values of several properties of one user in one go: each property's statement is
    /// sent once, and a statement identical to an earlier one (same text, same parameters: a
    /// template without `%p`, such as `SELECT password FROM mailbox WHERE local_part='%u'`) is
    /// not sent again but shares its answer. On PostgreSQL the statements are pipelined, so a
    /// login's properties cost one round trip; the other engines run them one after another
    /// on the kept connection.
    fn lookup_many(
        &self,
        user: &str,
        realm: &str,
        properties: &[&str],
    ) -> Result<Vec<Vec<Secret>>, StoreError> {
        let names_ok = acceptable_name(user) && acceptable_name(realm);
        // For each property: its statement and parameters, or None (no values).
        let prepared: Vec<Option<(String, Vec<ParameterValue>)>> = properties
            .iter()
            .map(|property| {
                if !names_ok || !acceptable_name(property) {
                    return None;
                }
                let statement = self.select.statement(property)?;
                let values = statement.values(&Bindings {
                    user,
                    realm,
                    property,
                    value: Some(b""),
                });
                Some((statement.text, values))
            })
            .collect();
        // The distinct statements, and for each property the index of its statement.
        let mut distinct: Vec<&(String, Vec<ParameterValue>)> = Vec::new();
        let slots: Vec<Option<usize>> = prepared
            .iter()
            .map(|query| {
                let query = query.as_ref()?;
                Some(match distinct.iter().position(|seen| *seen == query) {
                    Some(index) => index,
                    None => {
                        distinct.push(query);
                        distinct.len() - 1
                    }
                })
            })
            .collect();
        let queries: Vec<(&str, &[ParameterValue])> = distinct
            .iter()
            .map(|(text, values)| (text.as_str(), values.as_slice()))
            .collect();
        let answers: Vec<Result<FirstValue, DbError>> = if queries.is_empty() {
            Vec::new()
        } else {
            match self.with_connection(|connection, round_trips| {
                connection.query_many(&queries, round_trips)
            })? {
                Outcome::Done(answers) => answers,
                // query_many reports refusals per query.
                Outcome::Refused(message) => {
                    self.refused("sql_select", &message);
                    Vec::new()
                }
            }
        };
        for answer in &answers {
            if let Err(DbError::Query(message)) = answer {
                self.refused("sql_select", message);
            }
        }
        Ok(slots
            .iter()
            .map(|slot| match slot.and_then(|index| answers.get(index)) {
                Some(Ok(Some(Some(value)))) => {
                    let bytes = value.as_slice();
                    vec![Secret::from(bytes.get(..MAX_VALUE_LEN).unwrap_or(bytes))]
                }
                _ => Vec::new(),
            })
            .collect())
    }

    /// Cyrus's store (§1.8): both `sql_insert` and `sql_update` must be set (else
    /// [`StoreError::ReadOnly`]); in one transaction, `sql_select` with `%p` = `*` finds
    /// whether the user has a row, then `sql_update` or `sql_insert` runs with `%v` = the
    /// first of `values` (none: SQL NULL).
    fn store(
        &self,
        user: &str,
        realm: &str,
        property: &str,
        values: &[Secret],
    ) -> Result<(), StoreError> {
        let (Some(insert), Some(update)) = (&self.insert, &self.update) else {
            return Err(StoreError::ReadOnly);
        };
        if !acceptable_name(user) || !acceptable_name(realm) {
            return Err(StoreError::Io("sql: unacceptable user name".to_owned()));
        }
        let value = values.first().map(Secret::expose);
        let bad_property = || StoreError::Io("sql: property name cannot be stored".to_owned());
        let probe = self.select.statement("*").ok_or_else(bad_property)?;
        let probe_values = probe.values(&Bindings {
            user,
            realm,
            property: "*",
            value: Some(b""),
        });
        let update = update.statement(property).ok_or_else(bad_property)?;
        let insert = insert.statement(property).ok_or_else(bad_property)?;
        let bindings = Bindings {
            user,
            realm,
            property,
            value,
        };
        let update_values = update.values(&bindings);
        let insert_values = insert.values(&bindings);
        let (begin, commit) = match self.config.engine {
            Engine::Mysql => ("START TRANSACTION", "COMMIT"),
            Engine::Pgsql | Engine::Sqlite => ("BEGIN", "COMMIT"),
        };
        let outcome = self.with_connection(|connection, round_trips| {
            connection.batch(begin, round_trips)?;
            let result = (|| {
                let exists = connection
                    .query_first(&probe.text, &probe_values, round_trips)?
                    .is_some();
                if exists {
                    connection.execute(&update.text, &update_values, round_trips)
                } else {
                    connection.execute(&insert.text, &insert_values, round_trips)
                }
            })();
            match result {
                Ok(()) => connection.batch(commit, round_trips),
                Err(error) => {
                    // The error is what matters; a failed rollback adds nothing.
                    let _ = connection.batch("ROLLBACK", round_trips);
                    Err(error)
                }
            }
        })?;
        match outcome {
            Outcome::Done(()) => Ok(()),
            Outcome::Refused(message) => {
                // A server message may quote the value (a password): omit it, as Cyrus does.
                let message = match value.map(String::from_utf8_lossy) {
                    Some(text) if !text.is_empty() => message.replace(&*text, "<omitted>"),
                    _ => message,
                };
                self.refused("sql_insert/sql_update", &message);
                Err(StoreError::Io(format!("sql: {message}")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        }
    }

    #[test]
    fn options_as_cyrus_reads_them() {
        let lookup = options(&[
            ("sql_engine", "PgSQL"),
            (
                "sql_hostnames",
                " db1.example:5433, /run/postgresql ,10.0.0.2,",
            ),
            ("sql_user", "postfix"),
            ("sql_passwd", "pw"),
            ("sql_database", "mail"),
            (
                "sql_statement",
                "SELECT password FROM mailbox WHERE local_part='%u'",
            ),
            ("sql_usessl", "youbet"),
        ]);
        let config = SqlConfig::from_options(&lookup).unwrap().unwrap();
        assert_eq!(config.engine, Engine::Pgsql);
        assert_eq!(
            config.hostnames,
            vec![
                Host {
                    name: "db1.example".into(),
                    port: Some(5433)
                },
                Host {
                    name: "/run/postgresql".into(),
                    port: None
                },
                Host {
                    name: "10.0.0.2".into(),
                    port: None
                },
            ]
        );
        assert_eq!(config.user, "postfix");
        assert!(config.password.matches(b"pw"));
        assert_eq!(config.database, "mail");
        assert!(config.select.starts_with("SELECT password"));
        assert!(config.use_ssl);
        assert!(config.insert.is_none());
        assert!(!format!("{config:?}").contains("\"pw\""));
    }

    #[test]
    fn inactive_without_select_and_prefix_means_nothing() {
        let lookup = options(&[("sasl_sql_select", "SELECT 1"), ("sql_engine", "pgsql")]);
        assert!(SqlConfig::from_options(&lookup).unwrap().is_none());
        let lookup = options(&[("sql_select", "SELECT pw FROM t WHERE u='%u'")]);
        let config = SqlConfig::from_options(&lookup).unwrap().unwrap();
        assert_eq!(config.engine, Engine::Mysql, "Cyrus's default engine");
        let lookup = options(&[("sql_select", "SELECT 1"), ("sql_engine", "oracle")]);
        assert!(SqlConfig::from_options(&lookup).is_err());
    }

    #[test]
    fn usessl_truth_as_cyrus() {
        for yes in ["1", "yes", "true", "on", "youbet", "On", "t"] {
            assert!(is_true(yes), "{yes}");
        }
        for no in ["0", "no", "false", "off", "", "enable"] {
            assert!(!is_true(no), "{no}");
        }
    }

    #[test]
    fn bad_port_is_a_config_error() {
        assert!(parse_hostnames("db:notaport").is_err());
        assert!(parse_hostnames("").unwrap().is_empty());
    }

    #[test]
    fn bad_template_is_refused_at_construction() {
        let mut config = SqlConfig::new(Engine::Sqlite, "/nonexistent", "SELECT '%u");
        config.select = "SELECT pw FROM t WHERE u = '%u".into();
        if Engine::Sqlite.is_compiled_in() {
            assert!(SqlStore::new(config).is_err());
        }
    }
}
