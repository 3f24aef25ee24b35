//! The log sink: where precise reasons for failures go (never to the peer).

/// Severity, with the numeric values of Cyrus's `SASL_LOG_*` constants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(i32)]
pub enum LogLevel {
    /// An unusual error in the library or configuration (`SASL_LOG_ERR`).
    Error = 1,
    /// An authentication failure (`SASL_LOG_FAIL`).
    Fail = 2,
    /// A non-fatal warning (`SASL_LOG_WARN`).
    Warn = 3,
    /// A notable, normal event (`SASL_LOG_NOTE`).
    Note = 4,
    /// Debugging detail (`SASL_LOG_DEBUG`).
    Debug = 5,
    /// Protocol tracing (`SASL_LOG_TRACE`).
    Trace = 6,
    /// Messages that may contain passwords (`SASL_LOG_PASS`); this crate never emits them.
    Pass = 7,
}

/// Receives log messages. Messages never contain secrets.
pub trait LogSink: Send + Sync {
    /// Records `message` at `level`.
    fn log(&self, level: LogLevel, message: &str);
}

/// Discards every message. The default sink.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoLog;

impl LogSink for NoLog {
    fn log(&self, _level: LogLevel, _message: &str) {}
}

/// Writes messages at or above a level to standard error.
#[derive(Debug, Clone, Copy)]
pub struct StderrLog(pub LogLevel);

impl LogSink for StderrLog {
    fn log(&self, level: LogLevel, message: &str) {
        if level <= self.0 {
            eprintln!("puresasl[{level:?}]: {message}");
        }
    }
}

impl<F> LogSink for F
where
    F: Fn(LogLevel, &str) + Send + Sync,
{
    fn log(&self, level: LogLevel, message: &str) {
        self(level, message)
    }
}
