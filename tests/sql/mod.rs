//! The SQL credential store against real servers: PostgreSQL 15 and MariaDB started by the
//! harness, and SQLite files. Each engine runs one scenario, in order: lookups of several
//! properties, NULL as no value, logins with PLAIN, CRAM-MD5 and SCRAM from the database,
//! hostile user names (with a canary table that must survive), store through
//! `sql_insert`/`sql_update`, a stalling first host skipped, and the database going away
//! (unavailable, bounded) and coming back (the next lookup succeeds).
//!
//! Missing servers skip the test with a note (and fail it under CI); `.ci/apt-packages` lists
//! them.

pub mod harness;

use std::sync::Arc;
use std::time::{Duration, Instant};

use puresasl::auxprop::property;
use puresasl::sql::{Engine, Host, SqlConfig, SqlStore};
use puresasl::{
    Auxprop, ClientConfig, ClientSession, Credentials, FixedRandom, MemoryStore, ScramHash, Secret,
    ServerConfig, ServerSession, StoreError, StoredKeys,
};

use crate::pair::run;
use harness::{DB_NAME, DB_PASSWORD, DB_USER, Mariadb, Postgres, SilentHost};

const REALM: &str = "example.org";

/// The Cyrus documentation's template: `%p` names the column.
const SELECT_COLUMN: &str = "SELECT %p FROM users WHERE username = '%u' and realm = '%r'";
/// One row per property: `%p` is a quoted value, hence bound.
const SELECT_ROW: &str =
    "SELECT value FROM props WHERE username = '%u' AND realm = '%r' AND name = '%p';";
const INSERT: &str = "INSERT INTO users (username, realm, %p) VALUES ('%u', '%r', '%v')";
const UPDATE: &str = "UPDATE users SET %p = '%v' WHERE username = '%u' AND realm = '%r'";
const CANARY: &str = "SELECT count(*) FROM canary WHERE x = 42 AND '%u' <> ''";
const COUNT_USER: &str =
    "SELECT count(*) FROM users WHERE username = '%u' AND realm = '%r' AND '%p' <> ''";

/// A name containing a quote and a backslash, stored and looked up literally.
const OBRIEN: &str = r"o'bri\en";

fn long_name() -> String {
    format!("{}'--", "x".repeat(300))
}

/// User names that must find nothing and break nothing.
fn hostile_names() -> Vec<String> {
    vec![
        "' UNION SELECT char(112,119) --".into(),
        "' UNION SELECT 'pw' --".into(),
        "' OR '1'='1".into(),
        "alice' --".into(),
        "alice'; DROP TABLE canary; --".into(),
        r"\'; DROP TABLE canary; --".into(),
        r"alice\".into(),
        "alice%".into(),
        "%u%%".into(),
        "_lice".into(),
        "\" OR \"\"=\"".into(),
        "alice\0".into(),
        "alice'/*".into(),
        "x".repeat(300),
        format!("{}' OR '1'='1", "y".repeat(400)),
        "a".repeat(5000),
    ]
}

/// An SQL string literal for the admin's setup scripts.
fn lit(text: &str, engine: Engine) -> String {
    let mut escaped = text.replace('\'', "''");
    if engine == Engine::Mysql {
        escaped = escaped.replace('\\', "\\\\");
    }
    format!("'{escaped}'")
}

fn scram_record() -> String {
    StoredKeys::derive(ScramHash::Sha256, b"dave-pw", b"salt-of-dave", 4096).to_rfc5803()
}

/// The tables and rows every engine starts with.
fn setup_sql(engine: Engine) -> String {
    let l = |text: &str| lit(text, engine);
    let users = [
        (
            "alice",
            Some("alice-pw".to_owned()),
            Some("SCRAM-SHA-256$1:AA==$AA==:AA==".to_owned()),
        ),
        ("carol", None, None),
        ("dave", None, Some(scram_record())),
        (OBRIEN, Some("literal-pw".to_owned()), None),
        (&long_name(), Some("long-pw".to_owned()), None),
    ]
    .map(|(name, password, auth)| {
        let value = |v: Option<String>| v.map(|v| l(&v)).unwrap_or_else(|| "NULL".into());
        format!(
            "INSERT INTO users (username, realm, userPassword, authPassword) VALUES ({}, {}, {}, {});",
            l(name),
            l(REALM),
            value(password),
            value(auth)
        )
    })
    .join("\n");
    format!(
        "CREATE TABLE users (username VARCHAR(400) NOT NULL, realm VARCHAR(100) NOT NULL, \
           userPassword VARCHAR(200), authPassword VARCHAR(400), PRIMARY KEY (username, realm));
         CREATE TABLE props (username VARCHAR(400) NOT NULL, realm VARCHAR(100) NOT NULL, \
           name VARCHAR(100) NOT NULL, value VARCHAR(400));
         CREATE TABLE canary (x INT);
         INSERT INTO canary VALUES (42);
         {users}
         INSERT INTO props VALUES ('alice', {realm}, 'userPassword', 'alice-pw');
         INSERT INTO props VALUES ('alice', {realm}, 'cmusaslsecretPLAIN', NULL);
         INSERT INTO props VALUES ({obrien}, {realm}, 'userPassword', 'literal-pw');",
        realm = l(REALM),
        obrien = l(OBRIEN),
    )
}

fn values(store: &SqlStore, user: &str, property: &str) -> Vec<Vec<u8>> {
    store
        .lookup(user, REALM, property)
        .unwrap_or_else(|error| panic!("lookup {user:?} {property}: {error}"))
        .iter()
        .map(|secret| secret.expose().to_vec())
        .collect()
}

fn one(store: &SqlStore, user: &str, property: &str) -> Option<Vec<u8>> {
    let found = values(store, user, property);
    assert!(found.len() <= 1, "{user} {property}: {found:?}");
    found.into_iter().next()
}

fn login(store: Arc<SqlStore>, mechanism: &str, user: &str, password: &str) -> bool {
    let server = Arc::new(
        ServerConfig::builder("smtp", "mx.example.org")
            .user_realm(REALM)
            .store(store)
            .mechanisms([mechanism])
            .random(Arc::new(FixedRandom::new(3)))
            .build()
            .unwrap(),
    );
    let client = Arc::new(
        ClientConfig::new(
            "smtp",
            "mx.example.org",
            Arc::new(Credentials::new(user, password)),
        )
        .with_mechanisms([mechanism])
        .unwrap()
        .with_random(Arc::new(FixedRandom::new(4))),
    );
    let mut server = ServerSession::new(server);
    let mut client = ClientSession::new(client);
    run(&mut server, &mut client, true).result.is_ok()
}

/// What the scenario needs from an engine's server.
trait Backend {
    fn engine(&self) -> Engine;
    /// A configuration reaching the server (or file) with `select`.
    fn config(&self, select: &str) -> SqlConfig;
    /// Runs setup SQL as the administrator.
    fn admin(&self, sql: &str);
    /// Makes the database unreachable.
    fn stop(&mut self);
    /// Makes it reachable again.
    fn resume(&mut self);
}

fn quick(mut config: SqlConfig) -> SqlConfig {
    config.connect_timeout = Duration::from_secs(1);
    config.query_timeout = Duration::from_secs(2);
    config
}

fn scenario(backend: &mut dyn Backend) {
    let engine = backend.engine();
    backend.admin(&setup_sql(engine));

    // Lookups of several properties, through Cyrus's column template.
    let store = Arc::new(SqlStore::new(backend.config(SELECT_COLUMN)).unwrap());
    assert_eq!(
        one(&store, "alice", property::USER_PASSWORD).as_deref(),
        Some(&b"alice-pw"[..])
    );
    assert_eq!(
        one(&store, "alice", property::AUTH_PASSWORD).as_deref(),
        Some(&b"SCRAM-SHA-256$1:AA==$AA==:AA=="[..])
    );
    assert_eq!(
        one(&store, "dave", property::AUTH_PASSWORD),
        Some(scram_record().into_bytes())
    );
    // No such column: the server refuses the statement, which is no value (as in Cyrus).
    assert_eq!(one(&store, "alice", property::CRAM_MD5_SECRET), None);
    // SQL NULL is no value, not "" or "NULL".
    assert_eq!(one(&store, "carol", property::USER_PASSWORD), None);
    assert_eq!(one(&store, "nobody", property::USER_PASSWORD), None);
    assert_eq!(one(&store, "alice", "nonexistent-column"), None);
    // Names stored with quotes and backslashes are found literally.
    assert_eq!(
        one(&store, OBRIEN, property::USER_PASSWORD).as_deref(),
        Some(&b"literal-pw"[..])
    );
    assert_eq!(
        one(&store, &long_name(), property::USER_PASSWORD).as_deref(),
        Some(&b"long-pw"[..])
    );
    assert_eq!(store.connects(), 1, "one connection for all lookups");

    // Round trips: a statement already prepared costs one.
    let before = store.round_trips();
    one(&store, "alice", property::USER_PASSWORD);
    assert_eq!(store.round_trips() - before, 1, "round trips per lookup");
    let before = store.round_trips();
    one(&store, "bob", property::USER_PASSWORD);
    assert_eq!(
        store.round_trips() - before,
        1,
        "another user, same statement"
    );

    // Several properties in one go: pipelined on PostgreSQL (one round trip), one after
    // another elsewhere; a missing column and an unusable name are no value.
    let many = store
        .lookup_many(
            "alice",
            REALM,
            &[
                property::USER_PASSWORD,
                property::CRAM_MD5_SECRET,
                "bad name",
                property::AUTH_PASSWORD,
            ],
        )
        .unwrap();
    let firsts: Vec<Option<&[u8]>> = many
        .iter()
        .map(|values| values.first().map(|v| v.expose()))
        .collect();
    assert_eq!(
        firsts,
        vec![
            Some(&b"alice-pw"[..]),
            None,
            None,
            Some(&b"SCRAM-SHA-256$1:AA==$AA==:AA=="[..])
        ]
    );
    let properties = [property::USER_PASSWORD, property::AUTH_PASSWORD];
    store.lookup_many("dave", REALM, &properties).unwrap();
    let before = store.round_trips();
    let many = store.lookup_many("dave", REALM, &properties).unwrap();
    assert!(many[0].is_empty());
    assert_eq!(many[1][0].expose(), scram_record().as_bytes());
    let expected = if engine == Engine::Pgsql { 1 } else { 2 };
    assert_eq!(
        store.round_trips() - before,
        expected,
        "round trips for two properties"
    );

    // Logins from the database: plaintext for PLAIN and CRAM-MD5, stored keys for SCRAM.
    assert!(login(store.clone(), "PLAIN", "alice", "alice-pw"));
    assert!(!login(store.clone(), "PLAIN", "alice", "wrong"));
    assert!(!login(store.clone(), "PLAIN", "carol", ""));
    assert!(!login(store.clone(), "PLAIN", "carol", "NULL"));
    assert!(login(store.clone(), "CRAM-MD5", "alice", "alice-pw"));
    assert!(login(store.clone(), "SCRAM-SHA-256", "dave", "dave-pw"));
    assert!(!login(store.clone(), "SCRAM-SHA-256", "dave", "alice-pw"));
    assert!(login(store.clone(), "PLAIN", "dave", "dave-pw"));

    // Statements per login: a known user, a wrong password and an unknown user cost the same;
    // with a template without `%p` (Postfix's `SELECT password FROM mailbox ...`) that is one
    // statement, whatever the mechanism asks for.
    for (select, per_login) in [
        (
            "SELECT userPassword FROM users WHERE username = '%u' AND realm = '%r'",
            Some(1),
        ),
        // One statement per property; on PostgreSQL one pipelined round trip, the columns
        // the table lacks not asked again.
        (SELECT_COLUMN, (engine == Engine::Pgsql).then_some(1)),
    ] {
        let counted = Arc::new(SqlStore::new(backend.config(select)).unwrap());
        let server = Arc::new(
            ServerConfig::builder("smtp", "mx.example.org")
                .user_realm(REALM)
                .store(counted.clone())
                .mechanisms(["PLAIN", "CRAM-MD5"])
                .build()
                .unwrap(),
        );
        // Statements are prepared on their first use.
        assert!(login_with(&server, "PLAIN", "alice", "alice-pw"));
        let mut seen = Vec::new();
        for (mechanism, user, password, ok) in [
            ("PLAIN", "alice", "alice-pw", true),
            ("PLAIN", "alice", "wrong", false),
            ("PLAIN", "nobody", "alice-pw", false),
            ("CRAM-MD5", "alice", "alice-pw", true),
            ("CRAM-MD5", "nobody", "alice-pw", false),
        ] {
            let before = counted.round_trips();
            assert_eq!(login_with(&server, mechanism, user, password), ok);
            seen.push(counted.round_trips() - before);
        }
        assert!(seen.windows(2).all(|w| w[0] == w[1]), "{select}: {seen:?}");
        if let Some(expected) = per_login {
            assert_eq!(seen[0], expected, "{select}: {seen:?}");
        }
    }

    // One row per property, `%p` bound.
    let rows = Arc::new(SqlStore::new(backend.config(SELECT_ROW)).unwrap());
    assert_eq!(
        one(&rows, "alice", property::USER_PASSWORD).as_deref(),
        Some(&b"alice-pw"[..])
    );
    assert_eq!(one(&rows, "alice", "cmusaslsecretPLAIN"), None, "NULL");
    assert_eq!(
        one(&rows, "alice", "x' OR '1'='1"),
        None,
        "hostile property"
    );
    assert_eq!(
        one(&rows, OBRIEN, property::USER_PASSWORD).as_deref(),
        Some(&b"literal-pw"[..])
    );

    // Hostile names: nothing found, nothing broken.
    let canary = SqlStore::new(backend.config(CANARY)).unwrap();
    for name in hostile_names() {
        for store in [&store, &rows] {
            assert_eq!(
                values(store, &name, property::USER_PASSWORD),
                Vec::<Vec<u8>>::new(),
                "{name:?}"
            );
            for password in ["pw", "alice-pw", "", "NULL"] {
                assert!(!login(store.clone(), "PLAIN", &name, password), "{name:?}");
            }
        }
        assert_eq!(
            values(&rows, "alice", &name),
            Vec::<Vec<u8>>::new(),
            "as property {name:?}"
        );
        assert_eq!(
            one(&canary, "check", "p").as_deref(),
            Some(&b"1"[..]),
            "canary after {name:?}"
        );
    }
    assert_eq!(
        one(&store, "alice", property::USER_PASSWORD).as_deref(),
        Some(&b"alice-pw"[..]),
        "users intact"
    );

    // Store: INSERT for a new user, UPDATE for an existing one, `%v` bound.
    let mut config = backend.config(SELECT_COLUMN);
    config.insert = Some(INSERT.into());
    config.update = Some(UPDATE.into());
    let writable = SqlStore::new(config).unwrap();
    let count = SqlStore::new(backend.config(COUNT_USER)).unwrap();
    assert_eq!(
        store.store("bob", REALM, property::USER_PASSWORD, &["x".into()]),
        Err(StoreError::ReadOnly),
        "without sql_insert/sql_update"
    );
    writable
        .store("bob", REALM, property::USER_PASSWORD, &["bob-pw".into()])
        .unwrap();
    assert_eq!(
        one(&writable, "bob", property::USER_PASSWORD).as_deref(),
        Some(&b"bob-pw"[..])
    );
    let hostile_value = "'); DROP TABLE canary; -- \\' \"";
    writable
        .store(
            "bob",
            REALM,
            property::USER_PASSWORD,
            &[hostile_value.into()],
        )
        .unwrap();
    assert_eq!(
        one(&writable, "bob", property::USER_PASSWORD).as_deref(),
        Some(hostile_value.as_bytes())
    );
    assert_eq!(
        one(&count, "bob", "p").as_deref(),
        Some(&b"1"[..]),
        "updated, not inserted"
    );
    writable
        .store(
            "bob",
            REALM,
            property::AUTH_PASSWORD,
            &[scram_record().as_str().into()],
        )
        .unwrap();
    writable
        .store("bob", REALM, property::USER_PASSWORD, &[])
        .unwrap();
    assert_eq!(
        one(&writable, "bob", property::USER_PASSWORD),
        None,
        "deleted: NULL"
    );
    assert_eq!(
        one(&writable, "bob", property::AUTH_PASSWORD),
        Some(scram_record().into_bytes())
    );
    let hostile_user = "eve'); DROP TABLE canary; --";
    writable
        .store(
            hostile_user,
            REALM,
            property::USER_PASSWORD,
            &["eve-pw".into()],
        )
        .unwrap();
    assert_eq!(
        one(&writable, hostile_user, property::USER_PASSWORD).as_deref(),
        Some(&b"eve-pw"[..])
    );
    assert_eq!(
        one(&canary, "check", "p").as_deref(),
        Some(&b"1"[..]),
        "canary after store"
    );

    // The database goes away: unavailable, quickly; back: the next lookup succeeds.
    backend.stop();
    let started = Instant::now();
    let result = store.lookup("alice", REALM, property::USER_PASSWORD);
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "database down: {result:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(8), "bounded");
    let result = store.lookup("alice", REALM, property::USER_PASSWORD);
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "still down"
    );
    backend.resume();
    assert_eq!(
        one(&store, "alice", property::USER_PASSWORD).as_deref(),
        Some(&b"alice-pw"[..]),
        "after the restart"
    );
}

/// A stalling first host is skipped, and remembered: the next connection goes straight to the
/// live host.
fn dead_first_host(mut config: SqlConfig, live: Host) {
    let silent = SilentHost::new();
    config.hostnames = vec![
        Host {
            name: "127.0.0.1".into(),
            port: Some(silent.port),
        },
        live,
    ];
    let store = SqlStore::new(config).unwrap();
    let started = Instant::now();
    assert_eq!(
        one(&store, "alice", property::USER_PASSWORD).as_deref(),
        Some(&b"alice-pw"[..])
    );
    let first = started.elapsed();
    assert!(first < Duration::from_secs(8), "bounded: {first:?}");
    store.disconnect();
    let started = Instant::now();
    assert_eq!(
        one(&store, "alice", property::USER_PASSWORD).as_deref(),
        Some(&b"alice-pw"[..])
    );
    let second = started.elapsed();
    assert!(
        second < Duration::from_millis(900),
        "dead host skipped: {second:?} (first took {first:?})"
    );
    assert_eq!(store.connects(), 2);
}

/// A statement slower than the query timeout: unavailable within the bound, and the next
/// lookup works.
fn slow_statement(backend: &dyn Backend, slow_select: &str) {
    let store = SqlStore::new(backend.config(slow_select)).unwrap();
    let started = Instant::now();
    let result = store.lookup("alice", REALM, property::USER_PASSWORD);
    let took = started.elapsed();
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "{result:?}"
    );
    assert!(
        took < Duration::from_secs(4),
        "bounded by the query timeout: {took:?}"
    );
    let store = SqlStore::new(backend.config(SELECT_COLUMN)).unwrap();
    assert_eq!(
        one(&store, "alice", property::USER_PASSWORD).as_deref(),
        Some(&b"alice-pw"[..])
    );
}

struct Pg(Postgres);

impl Backend for Pg {
    fn engine(&self) -> Engine {
        Engine::Pgsql
    }

    fn config(&self, select: &str) -> SqlConfig {
        let mut config = quick(SqlConfig::new(Engine::Pgsql, DB_NAME, select));
        config.hostnames = vec![Host {
            name: "127.0.0.1".into(),
            port: Some(self.0.port),
        }];
        config.user = DB_USER.into();
        config.password = DB_PASSWORD.into();
        config
    }

    fn admin(&self, sql: &str) {
        self.0.psql(&format!("SET ROLE {DB_USER};\n{sql}"));
    }

    fn stop(&mut self) {
        self.0.stop();
    }

    fn resume(&mut self) {
        self.0.resume();
    }
}

#[test]
fn pgsql() {
    let Some(server) = Postgres::start() else {
        return;
    };
    let mut backend = Pg(server);
    scenario(&mut backend);
    dead_first_host(
        backend.config(SELECT_COLUMN),
        Host {
            name: "127.0.0.1".into(),
            port: Some(backend.0.port),
        },
    );
    slow_statement(
        &backend,
        "SELECT userPassword FROM users, pg_sleep(5) WHERE username = '%u'",
    );
    // sql_usessl: TLS when asked (sslmode=require), plaintext otherwise.
    if backend.0.tls {
        let tls = "SELECT CASE WHEN ssl THEN 'tls' ELSE 'plain' END FROM pg_stat_ssl \
                   WHERE pid = pg_backend_pid() AND '%u' <> ''";
        let mut config = backend.config(tls);
        config.use_ssl = true;
        let store = SqlStore::new(config).unwrap();
        assert_eq!(one(&store, "alice", "p").as_deref(), Some(&b"tls"[..]));
        let store = SqlStore::new(backend.config(tls)).unwrap();
        assert_eq!(one(&store, "alice", "p").as_deref(), Some(&b"plain"[..]));
    }
    // A table changed under a prepared statement: prepared again, not "no such user".
    let store = SqlStore::new(backend.config(SELECT_COLUMN)).unwrap();
    assert!(one(&store, "alice", property::USER_PASSWORD).is_some());
    backend.admin("ALTER TABLE users ALTER COLUMN userPassword TYPE VARCHAR(300)");
    assert_eq!(
        one(&store, "alice", property::USER_PASSWORD).as_deref(),
        Some(&b"alice-pw"[..]),
        "after ALTER TABLE"
    );
    // A server error quoting the stored value (a password) does not carry it on.
    let logged = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let sink = logged.clone();
    let mut config = backend.config(SELECT_COLUMN);
    config.update = Some("UPDATE canary SET x = '%v' WHERE '%u' <> '' AND '%p' <> ''".into());
    config.insert = Some(INSERT.into());
    let store = SqlStore::new(config).unwrap().with_log(Arc::new(
        move |_level: puresasl::LogLevel, message: &str| {
            sink.lock().unwrap().push(message.to_owned());
        },
    ));
    let error = store
        .store("alice", REALM, "p", &["not-a-number-secret".into()])
        .unwrap_err();
    assert!(matches!(error, StoreError::Io(_)), "{error:?}");
    assert!(
        !error.to_string().contains("not-a-number-secret"),
        "{error}"
    );
    let logged = logged.lock().unwrap();
    assert!(logged.iter().any(|m| m.contains("<omitted>")), "{logged:?}");
    assert!(!logged.iter().any(|m| m.contains("not-a-number-secret")));
    drop(logged);
    // The unix socket directory as a host, and the log shows the kept connection.
    let mut config = backend.config(SELECT_COLUMN);
    config.hostnames = vec![Host {
        name: backend.0.socket_dir().display().to_string(),
        port: Some(backend.0.port),
    }];
    let store = SqlStore::new(config).unwrap();
    assert_eq!(
        one(&store, "alice", property::USER_PASSWORD).as_deref(),
        Some(&b"alice-pw"[..])
    );
    assert!(
        backend
            .0
            .log()
            .contains("SELECT userPassword FROM users WHERE username = $1")
    );
}

struct Maria(Mariadb);

impl Backend for Maria {
    fn engine(&self) -> Engine {
        Engine::Mysql
    }

    fn config(&self, select: &str) -> SqlConfig {
        let mut config = quick(SqlConfig::new(Engine::Mysql, DB_NAME, select));
        config.hostnames = vec![Host {
            name: "127.0.0.1".into(),
            port: Some(self.0.port),
        }];
        config.user = DB_USER.into();
        config.password = DB_PASSWORD.into();
        config
    }

    fn admin(&self, sql: &str) {
        self.0.sql(&format!("USE {DB_NAME};\n{sql}"));
    }

    fn stop(&mut self) {
        self.0.stop();
    }

    fn resume(&mut self) {
        self.0.resume();
    }
}

#[test]
fn mysql() {
    let Some(server) = Mariadb::start() else {
        return;
    };
    let mut backend = Maria(server);
    scenario(&mut backend);
    // Bound parameters do not care how the server treats backslashes (Cyrus's
    // mysql_escape_string does).
    backend.admin("SET GLOBAL sql_mode = CONCAT(@@sql_mode, ',NO_BACKSLASH_ESCAPES')");
    let store = SqlStore::new(backend.config(SELECT_COLUMN)).unwrap();
    for name in hostile_names() {
        assert_eq!(
            values(&store, &name, property::USER_PASSWORD),
            Vec::<Vec<u8>>::new()
        );
    }
    assert_eq!(
        one(&store, OBRIEN, property::USER_PASSWORD).as_deref(),
        Some(&b"literal-pw"[..])
    );
    dead_first_host(
        backend.config(SELECT_COLUMN),
        Host {
            name: "127.0.0.1".into(),
            port: Some(backend.0.port),
        },
    );
    slow_statement(
        &backend,
        "SELECT IF(SLEEP(5) = 0, userPassword, NULL) FROM users WHERE username = '%u'",
    );
    // sql_usessl: TLS when asked (CLIENT_SSL), plaintext otherwise.
    if backend.0.tls {
        let tls = "SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS \
                   WHERE VARIABLE_NAME = 'Ssl_version' AND '%u' <> ''";
        let mut config = backend.config(tls);
        config.use_ssl = true;
        let store = SqlStore::new(config).unwrap();
        let version = one(&store, "alice", "p").unwrap_or_default();
        assert!(
            version.starts_with(b"TLS"),
            "{:?}",
            String::from_utf8_lossy(&version)
        );
        let store = SqlStore::new(backend.config(tls)).unwrap();
        assert_eq!(one(&store, "alice", "p").as_deref(), Some(&b""[..]));
    }
    // The unix socket as a host.
    let mut config = backend.config(SELECT_COLUMN);
    config.hostnames = vec![Host {
        name: backend.0.socket().display().to_string(),
        port: None,
    }];
    let store = SqlStore::new(config).unwrap();
    assert_eq!(
        one(&store, "alice", property::USER_PASSWORD).as_deref(),
        Some(&b"alice-pw"[..])
    );
    assert!(
        backend
            .0
            .log()
            .contains("SELECT userPassword FROM users WHERE username = ?")
    );
}

struct Lite {
    path: std::path::PathBuf,
    away: std::path::PathBuf,
}

impl Backend for Lite {
    fn engine(&self) -> Engine {
        Engine::Sqlite
    }

    fn config(&self, select: &str) -> SqlConfig {
        quick(SqlConfig::new(
            Engine::Sqlite,
            &self.path.display().to_string(),
            select,
        ))
    }

    fn admin(&self, sql: &str) {
        let connection = rusqlite::Connection::open(&self.path).unwrap();
        connection.execute_batch(sql).unwrap();
    }

    fn stop(&mut self) {
        std::fs::rename(&self.path, &self.away).unwrap();
    }

    fn resume(&mut self) {
        std::fs::rename(&self.away, &self.path).unwrap();
    }
}

#[test]
fn sqlite() {
    let dir = crate::interop::scratch("sqlite-store");
    let mut backend = Lite {
        path: dir.join("users.db"),
        away: dir.join("moved-away.db"),
    };
    // A missing file is unavailable, not an empty database.
    let store = SqlStore::new(backend.config(SELECT_COLUMN)).unwrap();
    assert!(matches!(
        store.lookup("alice", REALM, property::USER_PASSWORD),
        Err(StoreError::Unavailable(_))
    ));
    assert!(!backend.path.exists(), "not created");
    scenario(&mut backend);
    // The file replaced by a new one (an admin's atomic rename) is reopened.
    let store = SqlStore::new(backend.config(SELECT_COLUMN)).unwrap();
    assert_eq!(
        one(&store, "alice", property::USER_PASSWORD).as_deref(),
        Some(&b"alice-pw"[..])
    );
    let replacement = Lite {
        path: dir.join("new.db"),
        away: dir.join("unused.db"),
    };
    replacement.admin(&setup_sql(Engine::Sqlite));
    replacement.admin("UPDATE users SET userPassword = 'new-pw' WHERE username = 'alice'");
    std::fs::rename(&replacement.path, &backend.path).unwrap();
    assert_eq!(
        one(&store, "alice", property::USER_PASSWORD).as_deref(),
        Some(&b"new-pw"[..])
    );
    assert_eq!(store.connects(), 2);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Counts the calls a store receives.
struct Counting<S> {
    inner: S,
    lookups: std::sync::atomic::AtomicUsize,
    batches: std::sync::atomic::AtomicUsize,
}

impl<S: Auxprop> Counting<S> {
    fn new(inner: S) -> Self {
        Counting {
            inner,
            lookups: 0.into(),
            batches: 0.into(),
        }
    }

    /// (single lookups, batched lookups) so far, and resets both.
    fn take(&self) -> (usize, usize) {
        use std::sync::atomic::Ordering::Relaxed;
        (self.lookups.swap(0, Relaxed), self.batches.swap(0, Relaxed))
    }
}

impl<S: Auxprop> Auxprop for Counting<S> {
    fn lookup(&self, user: &str, realm: &str, property: &str) -> Result<Vec<Secret>, StoreError> {
        self.lookups
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.lookup(user, realm, property)
    }

    fn lookup_many(
        &self,
        user: &str,
        realm: &str,
        properties: &[&str],
    ) -> Result<Vec<Vec<Secret>>, StoreError> {
        self.batches
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.lookup_many(user, realm, properties)
    }

    fn entries(&self) -> Result<Vec<puresasl::auxprop::Entry>, StoreError> {
        self.inner.entries()
    }
}

/// Logs in `user` with `password` through `mechanism` against `server`.
fn login_with(server: &Arc<ServerConfig>, mechanism: &str, user: &str, password: &str) -> bool {
    let client = Arc::new(
        ClientConfig::new(
            "smtp",
            "mx.example.org",
            Arc::new(Credentials::new(user, password)),
        )
        .with_mechanisms([mechanism])
        .unwrap()
        .with_random(Arc::new(FixedRandom::new(4)))
        .with_scram_iterations(64, 4096),
    );
    let mut server = ServerSession::new(server.clone());
    let mut client = ClientSession::new(client);
    run(&mut server, &mut client, true).result.is_ok()
}

const MECHANISMS: [&str; 6] = [
    "PLAIN",
    "LOGIN",
    "CRAM-MD5",
    "DIGEST-MD5",
    "SCRAM-SHA-1",
    "SCRAM-SHA-256",
];

/// Every login, whatever the mechanism, asks the store once: a known user with the right
/// password, the wrong one, and an unknown user alike (issue 11: an unknown user used to cost
/// about twelve lookups, a known one one).
#[test]
fn one_store_call_per_login_known_or_not() {
    let memory = MemoryStore::new();
    let policy = puresasl::PasswordPolicy {
        scram_iterations: 64,
        ..Default::default()
    };
    // alice: plaintext and every derived secret (saslpasswd2); bob: derived secrets only.
    for (user, plaintext) in [("alice", true), ("bob", false)] {
        let policy = puresasl::PasswordPolicy {
            keep_plaintext: plaintext,
            ..policy.clone()
        };
        puresasl::credentials::set_password(
            &memory,
            user,
            REALM,
            b"secret-pw",
            &policy,
            &FixedRandom::new(1),
        )
        .unwrap();
    }
    let store = Arc::new(Counting::new(memory));
    let server = Arc::new(
        ServerConfig::builder("smtp", "mx.example.org")
            .user_realm(REALM)
            .store(store.clone())
            .mechanisms(MECHANISMS)
            .random(Arc::new(FixedRandom::new(3)))
            .scram_iterations(64)
            .build()
            .unwrap(),
    );
    // The first check of a process may probe the store for what an unknown user should cost.
    assert!(login_with(&server, "PLAIN", "alice", "secret-pw"));
    store.take();
    for mechanism in MECHANISMS {
        for (user, password, ok) in [
            ("alice", "secret-pw", true),
            ("bob", "secret-pw", true),
            ("alice", "wrong-pw", false),
            ("nobody", "secret-pw", false),
        ] {
            assert_eq!(
                login_with(&server, mechanism, user, password),
                ok,
                "{mechanism} {user} {password}"
            );
            assert_eq!(
                store.take(),
                (0, 1),
                "{mechanism} {user} {password}: (lookups, batches)"
            );
        }
    }
}

/// Runs `puresasl passwd --config CONF ARGS` with `password` on standard input.
fn puresasl_passwd(conf: &std::path::Path, args: &[&str], password: &str) -> std::process::Output {
    use std::io::Write as _;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_puresasl"))
        .arg("passwd")
        .arg("--config")
        .arg(conf)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(password.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// `puresasl passwd` writes to the SQL store named by its configuration file, through
/// `sql_insert`/`sql_update` with bound values, and only the columns Cyrus's saslpasswd2
/// writes: `userPassword`, and `authPassword` with `scram_secret_generate`.
#[test]
fn puresasl_passwd_writes_to_sql() {
    let dir = crate::interop::scratch("passwd-sql");
    let db = dir.join("users.db");
    let admin = rusqlite::Connection::open(&db).unwrap();
    admin
        .execute_batch(
            "CREATE TABLE users (username text NOT NULL, realm text NOT NULL, \
             userPassword text, authPassword text, PRIMARY KEY (username, realm)); \
             CREATE TABLE canary (x integer); INSERT INTO canary VALUES (42);",
        )
        .unwrap();
    let column = |column: &str, user: &str| -> Option<String> {
        admin
            .query_row(
                &format!("SELECT {column} FROM users WHERE username = ?1 AND realm = ?2"),
                [user, REALM],
                |row| row.get(0),
            )
            .unwrap()
    };
    let conf = dir.join("saslpasswd.conf");
    let write_conf = |extra: &str| {
        std::fs::write(
            &conf,
            format!(
                "auxprop_plugin: sqlite3\nsql_database: {}\nsql_select: {SELECT_COLUMN}\n\
                 sql_insert: {INSERT}\nsql_update: {UPDATE}\n{extra}",
                db.display()
            ),
        )
        .unwrap();
    };
    write_conf("");
    let hostile = r#"pw'); DROP TABLE canary; -- \"#;
    for (args, password) in [
        (&["-p", "-c", "-u", REALM, OBRIEN][..], hostile),
        (&["-p", "-u", REALM, OBRIEN][..], "changed"),
    ] {
        let out = puresasl_passwd(&conf, args, password);
        assert!(out.status.success(), "{args:?}: {out:?}");
        assert_eq!(column("userPassword", OBRIEN).as_deref(), Some(password));
        assert_eq!(column("authPassword", OBRIEN), None);
    }
    let count: i64 = admin
        .query_row("SELECT count(*) FROM users", [], |row| row.get(0))
        .unwrap();
    assert_eq!(count, 1, "one row, updated in place");

    // scram_secret_generate: SCRAM-SHA-1 keys in authPassword, as Cyrus's saslpasswd2.
    write_conf("scram_secret_generate: yes\nscram_iteration_counter: 4096\n");
    let out = puresasl_passwd(&conf, &["-p", "-u", REALM, OBRIEN], "scram pw");
    assert!(out.status.success(), "{out:?}");
    let keys = column("authPassword", OBRIEN).unwrap();
    assert!(keys.starts_with("SCRAM-SHA-1$4096:"), "{keys}");
    let store = Arc::new(
        SqlStore::new(quick(SqlConfig::new(
            Engine::Sqlite,
            db.to_str().unwrap(),
            SELECT_COLUMN,
        )))
        .unwrap(),
    );
    assert!(login(store.clone(), "PLAIN", OBRIEN, "scram pw"));
    assert!(login(store.clone(), "SCRAM-SHA-1", OBRIEN, "scram pw"));

    // -n: no plaintext at rest (userPassword NULL); -d: nothing left.
    let out = puresasl_passwd(&conf, &["-p", "-n", "-u", REALM, OBRIEN], "keys only");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(column("userPassword", OBRIEN), None);
    assert!(login(store.clone(), "SCRAM-SHA-1", OBRIEN, "keys only"));
    let out = puresasl_passwd(&conf, &["-d", "-u", REALM, OBRIEN], "");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(column("userPassword", OBRIEN), None);
    assert_eq!(column("authPassword", OBRIEN), None);
    assert!(!login(store, "PLAIN", OBRIEN, "keys only"));

    let canary: i64 = admin
        .query_row("SELECT x FROM canary", [], |row| row.get(0))
        .unwrap();
    assert_eq!(canary, 42);

    // A configuration that cannot write (no sql_update) says so.
    std::fs::write(
        &conf,
        format!(
            "auxprop_plugin: sql\nsql_engine: sqlite3\nsql_database: {}\nsql_select: {SELECT_COLUMN}\n",
            db.display()
        ),
    )
    .unwrap();
    let out = puresasl_passwd(&conf, &["-p", "-u", REALM, "x"], "pw");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("sql_insert and sql_update"));
    let _ = std::fs::remove_dir_all(&dir);
}
