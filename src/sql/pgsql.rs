//! The PostgreSQL engine (`sql_engine: pgsql`), on `tokio-postgres` driven by a
//! current-thread runtime owned by the connection (no threads, so a forking server is not
//! surprised), which bounds every connect and statement with a timeout. The `postgres` crate
//! is the same thing without the timeouts.
//!
//! Cyrus builds a libpq conninfo from the options (reference §1.7); the equivalents here:
//! `host` (a `/path` is the socket directory), `port`, `user`, `password`, `dbname`, and
//! `sql_usessl` as `sslmode=require`: with the `sql-tls` feature (native-tls, the system
//! OpenSSL), encrypted without verifying the certificate, as libpq's `require`; without the
//! feature the connect fails (the store is unavailable) instead of falling back to
//! plaintext. With no
//! `sql_hostnames`, the socket in `/var/run/postgresql` on port 5432, Debian's libpq default.
//! Unlike libpq, no `PG*` environment variables or `~/.pgpass` are read. The driver keeps its
//! own copy of `sql_passwd` (a plain `Vec`, not zeroized): a limit of the driver.
//!
//! Parameters are sent in text format with the type the server inferred (so `'%u'` compared
//! with an integer column works), except `bytea`, sent as raw bytes; values are read from
//! text-like columns (`text`, `varchar`, `char`, `name`, ...) and `bytea` as bytes, integers as
//! their decimal text.

use std::collections::HashMap;
use std::error::Error as StdError;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::BytesMut;
use tokio::runtime::Runtime;
use tokio_postgres::config::SslMode;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};
use tokio_postgres::{Client, NoTls, Statement};
use zeroize::Zeroizing;

use super::template::ParameterValue;
use super::{Connection, DbError, FirstValue, Host, SqlConfig};

/// Debian's libpq default socket directory.
const DEFAULT_SOCKET_DIR: &str = "/var/run/postgresql";
const DEFAULT_PORT: u16 = 5432;
/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 64;

pub(super) struct PgConnection {
    runtime: Runtime,
    client: Client,
    statements: HashMap<String, Statement>,
    query_timeout: Duration,
    /// Statements the server refused to prepare, when, and why (at most
    /// [`MAX_UNPREPARABLE`]): not sent again for [`UNPREPARABLE_RETRY`].
    unpreparable: HashMap<String, (std::time::Instant, String)>,
}

/// How long a statement the server refused to prepare (a `SELECT %p` naming a column the
/// table lacks: a login asks for every credential property) is refused without asking again,
/// so such a table costs each login one round trip, not a failed prepare as well.
const UNPREPARABLE_RETRY: Duration = Duration::from_secs(60);

/// How many such statements a connection remembers.
const MAX_UNPREPARABLE: usize = 64;

type BoxError = Box<dyn StdError + Sync + Send>;

/// One parameter: text format with the inferred type, raw bytes for `bytea`.
#[derive(Debug)]
struct Parameter<'a>(Option<&'a [u8]>);

impl ToSql for Parameter<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        let Some(bytes) = self.0 else {
            return Ok(IsNull::Yes);
        };
        if *ty != Type::BYTEA && (std::str::from_utf8(bytes).is_err() || bytes.contains(&0)) {
            return Err("value is not text (invalid UTF-8 or NUL) for a non-bytea column".into());
        }
        out.extend_from_slice(bytes);
        Ok(IsNull::No)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    fn encode_format(&self, ty: &Type) -> tokio_postgres::types::Format {
        if *ty == Type::BYTEA {
            tokio_postgres::types::Format::Binary
        } else {
            tokio_postgres::types::Format::Text
        }
    }

    to_sql_checked!();
}

/// The first column: bytes of text or `bytea`, integers as decimal text, NULL as `None`.
struct Column(Option<Zeroizing<Vec<u8>>>);

impl<'a> FromSql<'a> for Column {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        let bytes = if *ty == Type::BYTEA || <&str as FromSql>::accepts(ty) {
            raw.to_vec()
        } else if *ty == Type::INT2 {
            i16::from_sql(ty, raw)?.to_string().into_bytes()
        } else if *ty == Type::INT4 {
            i32::from_sql(ty, raw)?.to_string().into_bytes()
        } else if *ty == Type::INT8 {
            i64::from_sql(ty, raw)?.to_string().into_bytes()
        } else {
            return Err(format!("column type {ty} is not text, bytea or an integer").into());
        };
        Ok(Column(Some(Zeroizing::new(bytes))))
    }

    fn from_sql_null(_: &Type) -> Result<Self, BoxError> {
        Ok(Column(None))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// The error's text: a server error's own `Display` is just "db error", so its code and
/// message are taken from it.
fn describe(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        None => error.to_string(),
    }
}

/// Connects (through TLS when `use_ssl` and the `sql-tls` feature is on) and spawns the
/// connection's task on the current runtime.
async fn open(pg: &tokio_postgres::Config, use_ssl: bool) -> Result<Client, String> {
    #[cfg(feature = "sql-tls")]
    if use_ssl {
        // `sslmode=require` as libpq (and Cyrus's `requiressl=1`) means it: encrypted, the
        // certificate not verified.
        let connector = native_tls::TlsConnector::builder()
            .danger_accept_invalid_certs(true)
            .danger_accept_invalid_hostnames(true)
            .build()
            .map_err(|error| format!("TLS: {error}"))?;
        let (client, connection) = pg
            .connect(postgres_native_tls::MakeTlsConnector::new(connector))
            .await
            .map_err(|error| describe(&error))?;
        tokio::spawn(connection);
        return Ok(client);
    }
    let _ = use_ssl;
    let (client, connection) = pg.connect(NoTls).await.map_err(|error| describe(&error))?;
    tokio::spawn(connection);
    Ok(client)
}

pub(super) fn connect(
    config: &SqlConfig,
    host: Option<&Host>,
) -> Result<Box<dyn Connection>, String> {
    let mut pg = tokio_postgres::Config::new();
    match host {
        Some(host) => {
            pg.host(&host.name);
            pg.port(host.port.unwrap_or(DEFAULT_PORT));
        }
        None => {
            pg.host(DEFAULT_SOCKET_DIR);
            pg.port(DEFAULT_PORT);
        }
    }
    let user = if config.user.is_empty() {
        std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_else(|_| "postgres".to_owned())
    } else {
        config.user.clone()
    };
    pg.user(&user);
    if !config.password.is_empty() {
        pg.password(config.password.expose());
    }
    if !config.database.is_empty() {
        pg.dbname(&config.database);
    }
    pg.application_name("puresasl");
    pg.connect_timeout(config.connect_timeout);
    pg.keepalives(true);
    pg.keepalives_idle(Duration::from_secs(60));
    // The server gives up on a statement too, so a dropped client leaves nothing running.
    pg.options(format!(
        "-c statement_timeout={}",
        config.query_timeout.as_millis()
    ));
    if config.use_ssl {
        pg.ssl_mode(SslMode::Require);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(|error| format!("cannot start the I/O runtime: {error}"))?;
    // The connect timeout covers the TCP connect; this also bounds the start-up exchange.
    let bound = config.connect_timeout.saturating_mul(2);
    let client = runtime
        .block_on(async { tokio::time::timeout(bound, open(&pg, config.use_ssl)).await })
        .map_err(|_| "timed out".to_owned())??;
    Ok(Box::new(PgConnection {
        runtime,
        client,
        statements: HashMap::new(),
        unpreparable: HashMap::new(),
        query_timeout: config.query_timeout,
    }))
}

impl PgConnection {
    fn run<T>(
        &self,
        future: impl Future<Output = Result<T, tokio_postgres::Error>>,
    ) -> Result<T, DbError> {
        let bound = self.query_timeout.saturating_add(Duration::from_secs(1));
        match self
            .runtime
            .block_on(async { tokio::time::timeout(bound, future).await })
        {
            Err(_) => Err(DbError::Timeout(
                "no answer within the query timeout".to_owned(),
            )),
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(self.classify(&error)),
        }
    }

    /// A refused statement on a live connection is a query error; anything else (closed
    /// socket, server shutting down, I/O) means the connection is gone.
    fn classify(&self, error: &tokio_postgres::Error) -> DbError {
        let message = describe(error);
        // Our own parameter or column conversions failed: nothing was sent or the reply was
        // read completely, so the connection is fine.
        let conversion =
            message.starts_with("error serializing") || message.starts_with("error deserializing");
        if error.code() == Some(&SqlState::QUERY_CANCELED) && !self.client.is_closed() {
            return DbError::Timeout(message);
        }
        let connection_gone = self.client.is_closed()
            || match error.code() {
                None => !conversion,
                Some(code) => {
                    let code = code.code();
                    code.starts_with("08") || code.starts_with("57P")
                }
            };
        if connection_gone {
            DbError::Connection(message)
        } else {
            DbError::Query(message)
        }
    }

    fn statement(&mut self, sql: &str, round_trips: &AtomicU64) -> Result<Statement, DbError> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        round_trips.fetch_add(1, Ordering::Relaxed);
        let statement = self.run(self.client.prepare(sql))?;
        if self.statements.len() >= STATEMENT_CACHE {
            self.statements.clear();
        }
        self.statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }
}

fn bind(parameters: &[ParameterValue]) -> Vec<Parameter<'_>> {
    parameters
        .iter()
        .map(|value| Parameter(value.as_ref().map(|v| v.as_slice())))
        .collect()
}

/// Whether the server refused a cached statement because the table changed under it
/// ("cached plan must not change result type" after an `ALTER TABLE`).
fn stale_plan(error: &DbError) -> bool {
    matches!(error, DbError::Query(message) if message.contains("cached plan"))
}

impl Connection for PgConnection {
    fn query_first(
        &mut self,
        sql: &str,
        parameters: &[ParameterValue],
        round_trips: &AtomicU64,
    ) -> Result<FirstValue, DbError> {
        match self.query_first_once(sql, parameters, round_trips) {
            Err(error) if matches!(error, DbError::Query(_)) => {
                // Prepare afresh next time; a stale plan is retried at once.
                self.statements.remove(sql);
                if stale_plan(&error) {
                    self.query_first_once(sql, parameters, round_trips)
                } else {
                    Err(error)
                }
            }
            other => other,
        }
    }

    fn execute(
        &mut self,
        sql: &str,
        parameters: &[ParameterValue],
        round_trips: &AtomicU64,
    ) -> Result<(), DbError> {
        let statement = self.statement(sql, round_trips)?;
        let bound = bind(parameters);
        let refs: Vec<&(dyn ToSql + Sync)> =
            bound.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        round_trips.fetch_add(1, Ordering::Relaxed);
        let result = self.run(self.client.execute(&statement, &refs));
        if result.is_err() {
            self.statements.remove(sql);
        }
        result.map(|_| ())
    }

    fn batch(&mut self, sql: &str, round_trips: &AtomicU64) -> Result<(), DbError> {
        round_trips.fetch_add(1, Ordering::Relaxed);
        self.run(self.client.batch_execute(sql))
    }

    fn query_many(
        &mut self,
        queries: &[(&str, &[ParameterValue])],
        round_trips: &AtomicU64,
    ) -> Result<Vec<Result<FirstValue, DbError>>, DbError> {
        self.pipelined(queries, round_trips)
    }
}

impl PgConnection {
    /// Runs `futures` concurrently (pipelined on the one connection) under the query timeout.
    fn run_all<T, F>(&self, futures: Vec<F>) -> Result<Vec<Result<T, DbError>>, DbError>
    where
        F: Future<Output = Result<T, tokio_postgres::Error>>,
    {
        let bound = self.query_timeout.saturating_add(Duration::from_secs(1));
        let results = self
            .runtime
            .block_on(async {
                tokio::time::timeout(bound, futures_util::future::join_all(futures)).await
            })
            .map_err(|_| DbError::Timeout("no answer within the query timeout".to_owned()))?;
        let results: Vec<Result<T, DbError>> = results
            .into_iter()
            .map(|result| result.map_err(|error| self.classify(&error)))
            .collect();
        // A broken connection or a timeout fails the whole batch.
        for result in &results {
            if let Err(error @ (DbError::Connection(_) | DbError::Timeout(_))) = result {
                return Err(match error {
                    DbError::Timeout(message) => DbError::Timeout(message.clone()),
                    DbError::Connection(message) | DbError::Query(message) => {
                        DbError::Connection(message.clone())
                    }
                });
            }
        }
        Ok(results)
    }

    fn pipelined(
        &mut self,
        queries: &[(&str, &[ParameterValue])],
        round_trips: &AtomicU64,
    ) -> Result<Vec<Result<FirstValue, DbError>>, DbError> {
        // Statements refused a moment ago are not sent again.
        let mut refused: HashMap<&str, String> = HashMap::new();
        self.unpreparable
            .retain(|_, (since, _)| since.elapsed() < UNPREPARABLE_RETRY);
        for (sql, _) in queries {
            if let Some((_, message)) = self.unpreparable.get(*sql) {
                refused.insert(sql, message.clone());
            }
        }
        // Prepare the statements not yet known, all at once.
        let mut missing: Vec<&str> = queries
            .iter()
            .map(|(sql, _)| *sql)
            .filter(|sql| !self.statements.contains_key(*sql) && !refused.contains_key(sql))
            .collect();
        missing.sort_unstable();
        missing.dedup();
        if !missing.is_empty() {
            if self.statements.len() + missing.len() > STATEMENT_CACHE {
                self.statements.clear();
            }
            round_trips.fetch_add(1, Ordering::Relaxed);
            let prepared =
                self.run_all(missing.iter().map(|sql| self.client.prepare(sql)).collect())?;
            for (sql, result) in missing.iter().zip(prepared) {
                match result {
                    Ok(statement) => {
                        self.statements.insert((*sql).to_owned(), statement);
                    }
                    Err(DbError::Query(message)) => {
                        if self.unpreparable.len() < MAX_UNPREPARABLE {
                            self.unpreparable.insert(
                                (*sql).to_owned(),
                                (std::time::Instant::now(), message.clone()),
                            );
                        }
                        refused.insert(sql, message);
                    }
                    Err(DbError::Connection(message) | DbError::Timeout(message)) => {
                        refused.insert(sql, message);
                    }
                }
            }
        }
        let bound: Vec<Vec<Parameter<'_>>> = queries
            .iter()
            .map(|(_, parameters)| bind(parameters))
            .collect();
        let refs: Vec<Vec<&(dyn ToSql + Sync)>> = bound
            .iter()
            .map(|params| params.iter().map(|p| p as &(dyn ToSql + Sync)).collect())
            .collect();
        let runnable: Vec<(usize, Statement)> = queries
            .iter()
            .enumerate()
            .filter_map(|(index, (sql, _))| {
                self.statements
                    .get(*sql)
                    .map(|statement| (index, statement.clone()))
            })
            .collect();
        let results = if runnable.is_empty() {
            Vec::new()
        } else {
            round_trips.fetch_add(1, Ordering::Relaxed);
            self.run_all(
                runnable
                    .iter()
                    .map(|(index, statement)| {
                        let params: &[&(dyn ToSql + Sync)] =
                            refs.get(*index).map(Vec::as_slice).unwrap_or(&[]);
                        self.client.query(statement, params)
                    })
                    .collect(),
            )?
        };
        let mut by_index: HashMap<usize, Result<Vec<tokio_postgres::Row>, DbError>> = runnable
            .iter()
            .map(|(index, _)| *index)
            .zip(results)
            .collect();
        Ok(queries
            .iter()
            .enumerate()
            .map(|(index, (sql, _))| match by_index.remove(&index) {
                Some(Ok(rows)) => first_value(&rows),
                Some(Err(error)) => {
                    self.statements.remove(*sql);
                    Err(error)
                }
                None => Err(DbError::Query(
                    refused
                        .get(sql)
                        .cloned()
                        .unwrap_or_else(|| "not prepared".to_owned()),
                )),
            })
            .collect())
    }

    fn query_first_once(
        &mut self,
        sql: &str,
        parameters: &[ParameterValue],
        round_trips: &AtomicU64,
    ) -> Result<FirstValue, DbError> {
        let statement = self.statement(sql, round_trips)?;
        let bound = bind(parameters);
        let refs: Vec<&(dyn ToSql + Sync)> =
            bound.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        round_trips.fetch_add(1, Ordering::Relaxed);
        let rows = self.run(self.client.query(&statement, &refs))?;
        first_value(&rows)
    }
}

/// The first column of the first row.
fn first_value(rows: &[tokio_postgres::Row]) -> Result<FirstValue, DbError> {
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    if row.is_empty() {
        return Err(DbError::Query(
            "the statement returns no columns".to_owned(),
        ));
    }
    let column: Column = row
        .try_get(0)
        .map_err(|error| DbError::Query(error.to_string()))?;
    Ok(Some(column.0))
}
