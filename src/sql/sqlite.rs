//! The SQLite engine (`sql_engine: sqlite3`), on `rusqlite`.
//!
//! Feature `sqlite` compiles SQLite in (rusqlite's `bundled`): rusqlite 0.43 needs SQLite
//! 3.45.3 or newer and Debian 12 ships 3.40.1, so linking the system `libsqlite3` (as Debian's
//! own `libsql.so.2` does) is not possible without pinning an older rusqlite. Building needs
//! only a C compiler.
//!
//! `sql_database` is the file. Unlike Cyrus's `sqlite3_open`, a missing file is not created:
//! the store is unavailable until it exists (an empty new database would turn every login
//! into "no such user"). The file is opened read-write, or read-only when that is all the
//! process may do. The connection is kept, and reopened when the file at the path is replaced
//! (a new inode, as an atomic rename by an admin script makes) or disappears. Lock waits are
//! bounded by the query timeout (`busy_timeout`).
//!
//! A statement SQLite cannot prepare (a `SELECT %p` naming a column the table lacks: a login
//! asks for every credential property) is remembered on the connection for
//! [`UNPREPARABLE_RETRY`] and refused again without parsing it, so a table with only a
//! `userPassword` column costs each login one real statement; a column added meanwhile is
//! seen within that time.
//!
//! Names are bound as text, values as text when they are UTF-8 and as blobs otherwise; a text
//! or blob column gives its bytes, a number its decimal text. Cyrus's sqlite3 engine escapes
//! `'` as `\'`, which SQLite does not honour (reference §1.4); nothing here is escaped, since
//! nothing is substituted.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{ErrorCode, OpenFlags};
use zeroize::Zeroizing;

use super::template::ParameterValue;
use super::{Connection, DbError, FirstValue, SqlConfig};

pub(super) struct SqliteConnection {
    connection: rusqlite::Connection,
    path: PathBuf,
    identity: (u64, u64),
    /// Statements that failed to prepare, when, and why (at most [`MAX_UNPREPARABLE`]).
    unpreparable: HashMap<String, (Instant, String)>,
}

/// How long a statement that could not be prepared is refused without trying again.
pub(super) const UNPREPARABLE_RETRY: Duration = Duration::from_secs(60);

/// How many such statements a connection remembers.
const MAX_UNPREPARABLE: usize = 64;

fn identity(path: &std::path::Path) -> Result<(u64, u64), String> {
    let metadata =
        std::fs::metadata(path).map_err(|error| format!("{}: {error}", path.display()))?;
    Ok((metadata.dev(), metadata.ino()))
}

pub(super) fn connect(config: &SqlConfig) -> Result<Box<dyn Connection>, String> {
    if config.database.is_empty() {
        return Err("sql_database (the SQLite file) is not set".to_owned());
    }
    let path = PathBuf::from(&config.database);
    let identity = identity(&path)?;
    let base = OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection =
        rusqlite::Connection::open_with_flags(&path, base | OpenFlags::SQLITE_OPEN_READ_WRITE)
            .or_else(|_| {
                rusqlite::Connection::open_with_flags(
                    &path,
                    base | OpenFlags::SQLITE_OPEN_READ_ONLY,
                )
            })
            .map_err(|error| format!("{}: {error}", path.display()))?;
    connection
        .busy_timeout(config.query_timeout)
        .map_err(|error| error.to_string())?;
    Ok(Box::new(SqliteConnection {
        connection,
        path,
        identity,
        unpreparable: HashMap::new(),
    }))
}

/// Errors about the file (it cannot be opened, read, locked) make the store unavailable;
/// errors about the statement (no such column, syntax) are query errors.
fn classify(error: rusqlite::Error) -> DbError {
    let message = error.to_string();
    match error.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => DbError::Timeout(message),
        Some(
            ErrorCode::CannotOpen
            | ErrorCode::NotADatabase
            | ErrorCode::DatabaseCorrupt
            | ErrorCode::SystemIoFailure
            | ErrorCode::PermissionDenied
            | ErrorCode::OutOfMemory
            | ErrorCode::ReadOnly,
        ) => DbError::Connection(message),
        _ => DbError::Query(message),
    }
}

struct Parameter<'a>(Option<&'a [u8]>);

impl rusqlite::ToSql for Parameter<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self.0 {
            None => ValueRef::Null,
            Some(bytes) if std::str::from_utf8(bytes).is_ok() => ValueRef::Text(bytes),
            Some(bytes) => ValueRef::Blob(bytes),
        }))
    }
}

fn bind(parameters: &[ParameterValue]) -> Vec<Parameter<'_>> {
    parameters
        .iter()
        .map(|value| Parameter(value.as_ref().map(|v| v.as_slice())))
        .collect()
}

impl SqliteConnection {
    /// Refuses to go on with a file that was replaced or removed.
    fn check_file(&self) -> Result<(), DbError> {
        match identity(&self.path) {
            Ok(identity) if identity == self.identity => Ok(()),
            Ok(_) => Err(DbError::Connection(format!(
                "{} was replaced",
                self.path.display()
            ))),
            Err(error) => Err(DbError::Connection(error)),
        }
    }
}

impl SqliteConnection {
    /// Runs a query on a file already checked.
    fn query_checked(
        &mut self,
        sql: &str,
        parameters: &[ParameterValue],
        round_trips: &AtomicU64,
    ) -> Result<FirstValue, DbError> {
        if let Some((since, message)) = self.unpreparable.get(sql) {
            if since.elapsed() < UNPREPARABLE_RETRY {
                return Err(DbError::Query(message.clone()));
            }
            self.unpreparable.remove(sql);
        }
        round_trips.fetch_add(1, Ordering::Relaxed);
        let mut statement = match self.connection.prepare_cached(sql) {
            Ok(statement) => statement,
            Err(error) => {
                let error = classify(error);
                if let DbError::Query(message) = &error
                    && self.unpreparable.len() < MAX_UNPREPARABLE
                {
                    self.unpreparable
                        .insert(sql.to_owned(), (Instant::now(), message.clone()));
                }
                return Err(error);
            }
        };
        let bound = bind(parameters);
        let mut rows = statement
            .query(rusqlite::params_from_iter(bound.iter()))
            .map_err(classify)?;
        let Some(row) = rows.next().map_err(classify)? else {
            return Ok(None);
        };
        let value = match row.get_ref(0).map_err(classify)? {
            ValueRef::Null => None,
            ValueRef::Text(bytes) | ValueRef::Blob(bytes) => Some(bytes.to_vec()),
            ValueRef::Integer(number) => Some(number.to_string().into_bytes()),
            ValueRef::Real(number) => Some(number.to_string().into_bytes()),
        };
        Ok(Some(value.map(Zeroizing::new)))
    }
}

impl Connection for SqliteConnection {
    fn query_first(
        &mut self,
        sql: &str,
        parameters: &[ParameterValue],
        round_trips: &AtomicU64,
    ) -> Result<FirstValue, DbError> {
        self.check_file()?;
        self.query_checked(sql, parameters, round_trips)
    }

    /// One check of the file for all the queries.
    fn query_many(
        &mut self,
        queries: &[(&str, &[ParameterValue])],
        round_trips: &AtomicU64,
    ) -> Result<Vec<Result<FirstValue, DbError>>, DbError> {
        self.check_file()?;
        queries
            .iter()
            .map(
                |(sql, parameters)| match self.query_checked(sql, parameters, round_trips) {
                    Err(error @ (DbError::Connection(_) | DbError::Timeout(_))) => Err(error),
                    other => Ok(other),
                },
            )
            .collect()
    }

    fn execute(
        &mut self,
        sql: &str,
        parameters: &[ParameterValue],
        round_trips: &AtomicU64,
    ) -> Result<(), DbError> {
        self.check_file()?;
        round_trips.fetch_add(1, Ordering::Relaxed);
        let mut statement = self.connection.prepare_cached(sql).map_err(classify)?;
        let bound = bind(parameters);
        statement
            .execute(rusqlite::params_from_iter(bound.iter()))
            .map_err(classify)?;
        Ok(())
    }

    fn batch(&mut self, sql: &str, round_trips: &AtomicU64) -> Result<(), DbError> {
        self.check_file()?;
        round_trips.fetch_add(1, Ordering::Relaxed);
        self.connection.execute_batch(sql).map_err(classify)
    }
}
