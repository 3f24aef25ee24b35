//! The MySQL and MariaDB engine (`sql_engine: mysql`), on the synchronous `mysql` crate
//! (pure-Rust protocol, `minimal-rust` features: no C zlib; TLS through native-tls with the
//! `sql-tls` feature).
//!
//! Cyrus calls `mysql_real_connect(host, user, password, db, port, NULL, CLIENT_SSL?)`
//! (reference §1.7), where a missing host or `localhost` means the unix socket. The same here:
//! no `sql_hostnames`, or `localhost`, is the socket `/run/mysqld/mysqld.sock` (Debian's
//! default); an entry starting with `/` is a socket path; anything else is TCP (port 3306
//! unless given). Connects, reads and writes are bounded by the configured timeouts.
//! `sql_usessl` (Cyrus: `CLIENT_SSL`) needs the `sql-tls` feature: encrypted, the certificate
//! not verified; without the feature the connect fails (the store is unavailable) instead of
//! falling back to plaintext.
//!
//! Statements are prepared (the driver caches them per connection), so values are bound, and
//! `NO_BACKSLASH_ESCAPES` or a multibyte client character set, which defeat Cyrus's
//! `mysql_escape_string` (§1.4), change nothing. The driver's copies of bound values (`%v` in
//! a store) and of `sql_passwd` are plain `Vec`s, not zeroized: a limit of the driver.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};

use mysql::prelude::Queryable;
use mysql::{Conn, OptsBuilder, Params, Row, Value};
use zeroize::Zeroizing;

use super::template::ParameterValue;
use super::{Connection, DbError, FirstValue, Host, SqlConfig};

const DEFAULT_SOCKET: &str = "/run/mysqld/mysqld.sock";
const DEFAULT_PORT: u16 = 3306;
/// Statements the driver keeps prepared per connection.
const STATEMENT_CACHE: usize = 64;

pub(super) struct MysqlConnection {
    connection: Conn,
    /// Statement texts the driver has prepared on this connection (for counting round trips).
    prepared: HashSet<String>,
}

pub(super) fn connect(
    config: &SqlConfig,
    host: Option<&Host>,
) -> Result<Box<dyn Connection>, String> {
    #[cfg(not(feature = "sql-tls"))]
    if config.use_ssl {
        return Err("sql_usessl is set but this build has no TLS (feature sql-tls)".to_owned());
    }
    let mut options = OptsBuilder::new()
        .prefer_socket(false)
        .tcp_connect_timeout(Some(config.connect_timeout))
        .read_timeout(Some(config.query_timeout))
        .write_timeout(Some(config.query_timeout))
        .stmt_cache_size(STATEMENT_CACHE);
    options = match host {
        None => options.socket(Some(DEFAULT_SOCKET)),
        Some(host) if host.name == "localhost" && host.port.is_none() => {
            options.socket(Some(DEFAULT_SOCKET))
        }
        Some(host) if host.name.starts_with('/') => options.socket(Some(host.name.as_str())),
        Some(host) => options
            .ip_or_hostname(Some(host.name.as_str()))
            .tcp_port(host.port.unwrap_or(DEFAULT_PORT)),
    };
    #[cfg(feature = "sql-tls")]
    if config.use_ssl {
        // As Cyrus's CLIENT_SSL: encrypted, the certificate not verified.
        options = options.ssl_opts(
            mysql::SslOpts::default()
                .with_danger_accept_invalid_certs(true)
                .with_danger_skip_domain_validation(true),
        );
    }
    if !config.user.is_empty() {
        options = options.user(Some(config.user.as_str()));
    }
    if !config.password.is_empty() {
        let password = String::from_utf8(config.password.expose().to_vec())
            .map_err(|_| "sql_passwd is not UTF-8".to_owned())?;
        options = options.pass(Some(password));
    }
    if !config.database.is_empty() {
        options = options.db_name(Some(config.database.as_str()));
    }
    let connection = Conn::new(options).map_err(|error| error.to_string())?;
    Ok(Box::new(MysqlConnection {
        connection,
        prepared: HashSet::new(),
    }))
}

/// A server error on a live connection is a query error, except the ones that say the
/// connection or the server is going away; driver and I/O errors mean the connection is gone.
fn classify(error: mysql::Error) -> DbError {
    let message = error.to_string();
    match &error {
        mysql::Error::MySqlError(server) => match server.code {
            // ER_SERVER_SHUTDOWN, ER_CON_COUNT_ERROR, ER_CONNECTION_KILLED,
            // ER_CLIENT_INTERACTION_TIMEOUT
            1053 | 1040 | 1927 | 4031 => DbError::Connection(message),
            // ER_QUERY_INTERRUPTED, ER_STATEMENT_TIMEOUT (max_statement_time)
            1317 | 1969 => DbError::Timeout(message),
            _ => DbError::Query(message),
        },
        mysql::Error::FromValueError(_) | mysql::Error::FromRowError(_) => DbError::Query(message),
        mysql::Error::IoError(io)
            if matches!(
                io.kind(),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
            ) =>
        {
            DbError::Timeout(message)
        }
        _ => DbError::Connection(message),
    }
}

fn bind(parameters: &[ParameterValue]) -> Params {
    if parameters.is_empty() {
        return Params::Empty;
    }
    Params::Positional(
        parameters
            .iter()
            .map(|value| match value {
                Some(bytes) => Value::Bytes(bytes.to_vec()),
                None => Value::NULL,
            })
            .collect(),
    )
}

impl MysqlConnection {
    fn statement(
        &mut self,
        sql: &str,
        round_trips: &AtomicU64,
    ) -> Result<mysql::Statement, DbError> {
        if !self.prepared.contains(sql) {
            round_trips.fetch_add(1, Ordering::Relaxed);
            if self.prepared.len() >= STATEMENT_CACHE {
                // The driver evicts too; forget ours so the count stays an upper bound.
                self.prepared.clear();
            }
            self.prepared.insert(sql.to_owned());
        }
        self.connection.prep(sql).map_err(classify)
    }
}

impl Connection for MysqlConnection {
    fn query_first(
        &mut self,
        sql: &str,
        parameters: &[ParameterValue],
        round_trips: &AtomicU64,
    ) -> Result<FirstValue, DbError> {
        let statement = self.statement(sql, round_trips)?;
        round_trips.fetch_add(1, Ordering::Relaxed);
        let result = self
            .connection
            .exec_first::<Row, _, _>(&statement, bind(parameters));
        let Some(mut row) = result.map_err(classify)? else {
            return Ok(None);
        };
        let value = match row.take_opt::<Value, _>(0) {
            None => {
                return Err(DbError::Query(
                    "the statement returns no columns".to_owned(),
                ));
            }
            Some(Err(error)) => return Err(DbError::Query(error.to_string())),
            Some(Ok(value)) => value,
        };
        let bytes = match value {
            Value::NULL => None,
            Value::Bytes(bytes) => Some(bytes),
            Value::Int(number) => Some(number.to_string().into_bytes()),
            Value::UInt(number) => Some(number.to_string().into_bytes()),
            other => Some(other.as_sql(true).into_bytes()),
        };
        Ok(Some(bytes.map(Zeroizing::new)))
    }

    fn execute(
        &mut self,
        sql: &str,
        parameters: &[ParameterValue],
        round_trips: &AtomicU64,
    ) -> Result<(), DbError> {
        let statement = self.statement(sql, round_trips)?;
        round_trips.fetch_add(1, Ordering::Relaxed);
        self.connection
            .exec_drop(&statement, bind(parameters))
            .map_err(classify)
    }

    fn batch(&mut self, sql: &str, round_trips: &AtomicU64) -> Result<(), DbError> {
        round_trips.fetch_add(1, Ordering::Relaxed);
        self.connection.query_drop(sql).map_err(classify)
    }
}
