//! Plaintext password checkers: Cyrus's `pwcheck_method`.
//!
//! PLAIN and LOGIN hand the offered password to a [`PasswordChecker`]. This module has the
//! checkers Cyrus SASL 2.1.28 offers under `pwcheck_method` (`lib/checkpw.c`), and the list
//! that tries them in order:
//!
//! | `pwcheck_method` | checker | asks |
//! |---|---|---|
//! | `auxprop` (the default) | [`AuxpropChecker`] | the credential store ([`Auxprop`]) |
//! | `saslauthd` | [`Saslauthd`] | saslauthd on its unix socket (`saslauthd_path`) |
//! | `authdaemond` | [`Authdaemond`] | Courier's authdaemond on its unix socket (`authdaemond_path`) |
//! | `alwaystrue` | [`AlwaysTrue`] | nobody: every password is right (Cyrus's test verifier) |
//! | `auxprop-hashed`, `pwcheck`, anything else | [`UnknownMethod`] | nobody: "unknown password verifier" |
//!
//! [`Chain::from_pwcheck_method`] builds the list from the option's value, as
//! `_sasl_checkpass` (`lib/server.c`) walks it: the methods are tried in order until one says
//! the password is right; otherwise the answer is the last method's. So a wrong password at
//! saslauthd followed by `auxprop` is whatever the store says, and a daemon that is down
//! (an error) just moves on to the next method. A checker of the application's own (the C
//! library's `SASL_CB_SERVER_USERDB_CHECKPASS` callback, which Cyrus asks before the list)
//! joins the chain with [`Chain::push`].
//!
//! ```
//! use std::sync::Arc;
//! use puresasl::pwcheck::{Chain, Settings};
//! use puresasl::{MemoryStore, ServerConfig};
//!
//! // pwcheck_method: saslauthd auxprop
//! let store = Arc::new(MemoryStore::new().with_password("tim", "mx.example.org", "pw"));
//! let mut settings = Settings::new(store.clone(), "smtp", None, "mx.example.org");
//! settings.saslauthd_path = Some("/var/run/saslauthd/mux".into());
//! let chain = Chain::from_pwcheck_method("saslauthd auxprop", &settings);
//! let server = ServerConfig::builder("smtp", "mx.example.org")
//!     .store(store)
//!     .password_checker(Arc::new(chain))
//!     .build()?;
//! // PLAIN and LOGIN now ask saslauthd first, then the store.
//! # let _ = server;
//! # Ok::<(), puresasl::Error>(())
//! ```
//!
//! # The daemons
//!
//! Both daemon clients speak exactly the bytes Cyrus speaks (see [`saslauthd`] and
//! [`authdaemond`] for the protocols and their sources), one request per connection, and
//! differ from Cyrus where Cyrus could hang or be fooled:
//!
//! - **Bounded time.** [`Timeouts`]: `connect` (default 5 s) and `exchange`, one deadline for
//!   writing the request and reading the whole answer (default 15 s), so a daemon that
//!   dribbles bytes cannot stretch it. Connecting to a unix socket does not wait for the
//!   daemon unless its listen backlog is full; then Linux blocks a plain `connect` until
//!   the daemon accepts (Cyrus avoids that with `O_NONBLOCK`). The core has no `unsafe`
//!   and std has no non-blocking unix connect, so the connect runs on a short-lived helper
//!   thread that the caller stops waiting for after `connect`; if the daemon accepts later,
//!   that connection is closed unused.
//! - **Bounded memory.** Replies are read into a fixed budget (saslauthd: 1023 bytes as
//!   Cyrus; authdaemond: 8191 bytes as Cyrus) and parsed as they arrive.
//! - **Temporary failures are errors, never a wrong password.** No socket, a refused
//!   connection, a timeout, a silent close or a reply that is not the protocol's are
//!   [`Error::Store`]`(`[`StoreError::Unavailable`]`)`: the C library answers
//!   `SASL_UNAVAIL`, and Postfix a temporary `454` (Cyrus gives `SASL_FAIL`, which Postfix
//!   treats the same way).
//! - **Names and passwords that the daemon would read differently are refused** before
//!   anything is sent, as [`PasswordCheck::Mismatch`]: NUL anywhere (both daemons are C
//!   programs, so `right\0junk` would be checked as `right`), and CR or LF for authdaemond
//!   (its fields are lines, so `alice\nsecret` as a user name would be checked as `alice`).
//!   Such a password cannot be anybody's right password, so this is a definite "no", not a
//!   temporary failure.
//! - **Secrets.** The request buffers holding the password are [`Secret`]s, allocated at
//!   their final size (no reallocation leaves a copy behind) and zeroized on drop; so is
//!   the buffer holding the daemon's answer (authdaemond's repeats the password,
//!   `PASSWD2=`). Neither is ever logged: error messages name the daemon, the socket and
//!   what went wrong, never a field of the request or the answer.
//!
//! # Names
//!
//! The server hands a checker a user and a realm, split the way the store is searched
//! ([`ServerConfig::split_user`](crate::ServerConfig::split_user): `user@realm`, or the
//! bare name in `user_realm`, or in the server's FQDN when there is no `user_realm`). Cyrus
//! sends the daemons the canonical name instead, which is `user@user_realm` for a bare name
//! only when `user_realm` is set. [`UserNames`] undoes the split accordingly.

pub mod authdaemond;
pub mod saslauthd;

pub use authdaemond::Authdaemond;
pub use saslauthd::Saslauthd;

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use crate::auxprop::Auxprop;
use crate::credentials::{CredentialView, Decoys, PasswordCheck};
use crate::crypt::PasswordFormat;
use crate::error::{Error, StoreError};
use crate::log::{LogLevel, LogSink};
use crate::secret::Secret;
use crate::server::PasswordChecker;

/// How long a daemon client waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// For the connection to the daemon's socket (see the [module](self) docs).
    pub connect: Duration,
    /// For the whole exchange after connecting: writing the request and reading the answer.
    pub exchange: Duration,
}

impl Timeouts {
    /// Five seconds to connect, fifteen for the exchange.
    ///
    /// Cyrus waits 30 s per read and per write, without a total; Courier's own client 10 s
    /// to connect and write and 30 s to read.
    pub const DEFAULT: Timeouts = Timeouts {
        connect: Duration::from_secs(5),
        exchange: Duration::from_secs(15),
    };
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts::DEFAULT
    }
}

/// How a checker turns the user and realm the server hands it back into the name Cyrus
/// sends a daemon (its canonical user name).
///
/// The server splits `bob` into `bob` and `user_realm`, or `bob` and its FQDN when there is
/// no `user_realm`; Cyrus sends `bob@user_realm` in the first case and plain `bob` in the
/// second. The realm that stands for "no realm" is the *implied* realm: a name in it is sent
/// bare. (So `bob@mx.example.org`, typed out in full on a server without `user_realm`, is
/// sent as `bob` where Cyrus would keep the realm; that is the one case the split loses.)
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserNames {
    implied_realm: Option<String>,
}

impl UserNames {
    /// Cyrus's names on a server with this `user_realm` (Postfix's
    /// `smtpd_sasl_local_domain`) and FQDN, the two given to
    /// [`ServerConfig::builder`](crate::ServerConfig::builder) and `sasl_server_new`.
    pub fn cyrus(user_realm: Option<&str>, server_fqdn: &str) -> Self {
        UserNames {
            implied_realm: match user_realm {
                Some(_) => None,
                None => Some(server_fqdn.to_owned()),
            },
        }
    }

    /// Every non-empty realm is part of the name: `user@realm`.
    pub fn always_qualified() -> Self {
        UserNames::default()
    }

    /// The name sent for `user` in `realm`: `user@realm`, or `user` alone when the realm is
    /// empty or the implied one.
    pub fn name(&self, user: &str, realm: &str) -> String {
        if realm.is_empty() || self.implied_realm.as_deref() == Some(realm) {
            user.to_owned()
        } else {
            format!("{user}@{realm}")
        }
    }
}

/// Several checkers tried in order, as Cyrus's `pwcheck_method: a b c`: the first
/// [`PasswordCheck::Match`] wins; otherwise the answer (result or error) is the last
/// checker's. An empty chain knows nobody ([`PasswordCheck::NoSuchUser`]).
///
/// Errors that a later checker's answer hides (a daemon that is down, say) are not lost:
/// they go to the [`LogSink`] given with [`Chain::log`], as Cyrus logs each verifier's
/// failure.
#[derive(Clone, Default)]
pub struct Chain {
    methods: Vec<Arc<dyn PasswordChecker>>,
    unknown: Vec<String>,
    log: Option<Arc<dyn LogSink>>,
    /// Whether a checker other than `auxprop` is in the chain.
    beyond_store: bool,
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chain")
            .field("methods", &self.methods.len())
            .field("unknown", &self.unknown)
            .field("log", &self.log.is_some())
            .finish()
    }
}

impl Chain {
    /// An empty chain.
    pub fn new() -> Self {
        Chain::default()
    }

    /// Sends each checker's error to `log` (at [`LogLevel::Error`]; messages name the
    /// checker and never hold the password).
    pub fn log(mut self, log: Arc<dyn LogSink>) -> Self {
        self.log = Some(log);
        self
    }

    /// The chain with `checker` appended.
    pub fn with(mut self, checker: impl PasswordChecker + 'static) -> Self {
        self.push(Arc::new(checker));
        self
    }

    /// Appends `checker` (tried after the ones already in the chain).
    pub fn push(&mut self, checker: Arc<dyn PasswordChecker>) {
        self.methods.push(checker);
        self.beyond_store = true;
    }

    /// Puts `checker` first (as Cyrus asks the application's checkpass callback before the
    /// `pwcheck_method` list).
    pub fn push_front(&mut self, checker: Arc<dyn PasswordChecker>) {
        self.methods.insert(0, checker);
        self.beyond_store = true;
    }

    /// Whether every checker in the chain is an `auxprop` entry of
    /// [`from_pwcheck_method`](Self::from_pwcheck_method) (the default method), so that "no
    /// such user" really means the store does not know the user. Any checker added with
    /// [`with`](Self::with), [`push`](Self::push) or [`push_front`](Self::push_front) counts
    /// as another; an empty chain is auxprop-only.
    pub fn is_auxprop_only(&self) -> bool {
        !self.beyond_store
    }

    /// How many checkers the chain holds.
    pub fn len(&self) -> usize {
        self.methods.len()
    }

    /// Whether the chain holds no checker.
    pub fn is_empty(&self) -> bool {
        self.methods.is_empty()
    }

    /// The chain `pwcheck_method` names (whitespace-separated, in order; Cyrus's default is
    /// `auxprop`), each made from `settings`. A name Cyrus does not know becomes an
    /// [`UnknownMethod`] in its place, as in Cyrus, and is listed by
    /// [`unknown_methods`](Self::unknown_methods) so it can be logged once.
    pub fn from_pwcheck_method(pwcheck_method: &str, settings: &Settings) -> Self {
        let mut chain = Chain::new();
        for method in pwcheck_method.split_ascii_whitespace() {
            match method {
                "auxprop" => chain.methods.push(Arc::new(
                    AuxpropChecker::new(settings.store.clone(), settings.decoys.clone())
                        .password_format(settings.password_format),
                )),
                "saslauthd" => chain.push(Arc::new(
                    Saslauthd::new(
                        settings
                            .saslauthd_path
                            .clone()
                            .unwrap_or_else(|| PathBuf::from(saslauthd::DEFAULT_PATH)),
                        &settings.service,
                    )
                    .user_names(settings.user_names.clone())
                    .timeouts(settings.timeouts),
                )),
                "authdaemond" => chain.push(Arc::new(
                    Authdaemond::new(
                        settings
                            .authdaemond_path
                            .clone()
                            .unwrap_or_else(|| PathBuf::from(authdaemond::DEFAULT_PATH)),
                        &settings.service,
                    )
                    .user_names(settings.user_names.clone())
                    .timeouts(settings.timeouts),
                )),
                "alwaystrue" => chain.push(Arc::new(AlwaysTrue)),
                other => {
                    chain.unknown.push(other.to_owned());
                    chain.push(Arc::new(UnknownMethod(other.to_owned())));
                }
            }
        }
        chain
    }

    /// The names [`from_pwcheck_method`](Self::from_pwcheck_method) did not know.
    pub fn unknown_methods(&self) -> &[String] {
        &self.unknown
    }
}

impl PasswordChecker for Chain {
    fn check(&self, user: &str, realm: &str, password: &[u8]) -> Result<PasswordCheck, Error> {
        let mut last = Ok(PasswordCheck::NoSuchUser);
        for method in &self.methods {
            last = method.check(user, realm, password);
            match &last {
                Ok(PasswordCheck::Match) => break,
                Err(error) => {
                    if let Some(log) = &self.log {
                        log.log(
                            LogLevel::Error,
                            &format!("password check for {user}@{realm} failed: {error}"),
                        );
                    }
                }
                Ok(_) => {}
            }
        }
        last
    }
}

/// What [`Chain::from_pwcheck_method`] makes its checkers from: the options Cyrus reads.
#[derive(Clone)]
pub struct Settings {
    /// The credential store, for `auxprop`.
    pub store: Arc<dyn Auxprop>,
    /// What an unknown user costs in the store (shared with the server configurations).
    pub decoys: Arc<Decoys>,
    /// How `userPassword` values are read (`password_format`).
    pub password_format: PasswordFormat,
    /// The application's service name (`smtp` under Postfix), sent to the daemons.
    pub service: String,
    /// `saslauthd_path`, or `None` for [`saslauthd::DEFAULT_PATH`].
    pub saslauthd_path: Option<PathBuf>,
    /// `authdaemond_path`, or `None` for [`authdaemond::DEFAULT_PATH`].
    pub authdaemond_path: Option<PathBuf>,
    /// How names are formed for the daemons.
    pub user_names: UserNames,
    /// How long the daemon clients wait.
    pub timeouts: Timeouts,
}

impl Settings {
    /// Settings with the default paths and timeouts, names formed as Cyrus does on a server
    /// with `user_realm` and `server_fqdn`.
    pub fn new(
        store: Arc<dyn Auxprop>,
        service: &str,
        user_realm: Option<&str>,
        server_fqdn: &str,
    ) -> Self {
        Settings {
            store,
            decoys: Arc::default(),
            password_format: PasswordFormat::Plain,
            service: service.to_owned(),
            saslauthd_path: None,
            authdaemond_path: None,
            user_names: UserNames::cyrus(user_realm, server_fqdn),
            timeouts: Timeouts::DEFAULT,
        }
    }
}

/// `pwcheck_method: auxprop`: the password checked against the credential store
/// ([`CredentialView::check_password`]), an unknown user costing what the last known user's
/// check cost (as [`ServerConfig`](crate::ServerConfig) does without a checker).
pub struct AuxpropChecker {
    store: Arc<dyn Auxprop>,
    decoys: Arc<Decoys>,
    format: PasswordFormat,
}

impl AuxpropChecker {
    /// Checks against `store`, with unknown users costing what `decoys` says (share it with
    /// the [`ServerConfig`](crate::ServerConfig)s over the same store).
    pub fn new(store: Arc<dyn Auxprop>, decoys: Arc<Decoys>) -> Self {
        AuxpropChecker {
            store,
            decoys,
            format: PasswordFormat::Plain,
        }
    }

    /// Reads `userPassword` values as `format` says (`password_format: crypt`).
    pub fn password_format(mut self, format: PasswordFormat) -> Self {
        self.format = format;
        self
    }
}

impl PasswordChecker for AuxpropChecker {
    fn check(&self, user: &str, realm: &str, password: &[u8]) -> Result<PasswordCheck, Error> {
        self.decoys
            .check_password(
                &CredentialView::new(self.store.as_ref(), user, realm).password_format(self.format),
                password,
            )
            .map_err(Error::Store)
    }
}

/// `pwcheck_method: alwaystrue`: every password of every user is right.
///
/// Cyrus's test verifier, compiled into Debian's libsasl2 (it logs "AlwaysTrue Password
/// Verifier Verified" each time). Never use it outside a test rig.
#[derive(Debug, Clone, Copy, Default)]
pub struct AlwaysTrue;

impl PasswordChecker for AlwaysTrue {
    fn check(&self, _user: &str, _realm: &str, _password: &[u8]) -> Result<PasswordCheck, Error> {
        Ok(PasswordCheck::Match)
    }
}

/// A `pwcheck_method` entry Cyrus does not know: it fails with [`Error::NoMechanism`]
/// ("unknown password verifier", `SASL_NOMECH` in the C library), and the chain moves on.
#[derive(Debug, Clone)]
pub struct UnknownMethod(pub String);

impl PasswordChecker for UnknownMethod {
    fn check(&self, _user: &str, _realm: &str, _password: &[u8]) -> Result<PasswordCheck, Error> {
        Err(Error::NoMechanism(format!(
            "unknown password verifier {}",
            self.0
        )))
    }
}

/// A temporary failure of `daemon`.
/// Where and how a daemon client talks: the socket, the service it asks for, how names
/// are formed and how long it waits. Shared by [`Saslauthd`] and [`Authdaemond`], whose
/// builders ([`daemon_builder!`]) set it.
#[derive(Debug, Clone)]
struct Daemon {
    /// The daemon's name, the prefix of every error message.
    name: &'static str,
    /// What an admin calls it ("Courier authdaemond"), in the connect error.
    title: &'static str,
    path: PathBuf,
    service: String,
    user_names: UserNames,
    timeouts: Timeouts,
}

impl Daemon {
    fn new(name: &'static str, title: &'static str, path: PathBuf, service: &str) -> Self {
        Daemon {
            name,
            title,
            path,
            service: service.to_owned(),
            user_names: UserNames::always_qualified(),
            timeouts: Timeouts::DEFAULT,
        }
    }

    /// Connects within the connect timeout; the exchange's deadline starts now.
    fn open(&self) -> Result<Exchange, Error> {
        Exchange::open(&self.path, self.timeouts).map_err(|e| {
            let path = self.path.display();
            let title = self.title;
            unavailable(
                self.name,
                format_args!("cannot connect to {title} at {path}: {e}"),
            )
        })
    }

    /// A temporary failure of the exchange with this daemon.
    fn failed(&self, what: impl std::fmt::Display) -> Error {
        unavailable(self.name, format_args!("{}: {what}", self.path.display()))
    }
}

/// The builder methods every daemon client has (on a struct with a `daemon: Daemon` field).
macro_rules! daemon_builder {
    () => {
        /// Forms names with `user_names` (usually [`UserNames::cyrus`]).
        pub fn user_names(mut self, user_names: UserNames) -> Self {
            self.daemon.user_names = user_names;
            self
        }

        /// Waits as `timeouts` says.
        pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
            self.daemon.timeouts = timeouts;
            self
        }

        /// The socket path.
        pub fn path(&self) -> &std::path::Path {
            &self.daemon.path
        }
    };
}
use daemon_builder;

fn unavailable(daemon: &str, what: impl std::fmt::Display) -> Error {
    Error::Store(StoreError::Unavailable(format!("{daemon}: {what}")))
}

/// Connects to the unix socket at `path`, giving up after `timeout` (see the module docs).
fn connect(path: &Path, timeout: Duration) -> io::Result<UnixStream> {
    let (sender, receiver) = mpsc::sync_channel(1);
    let target = path.to_owned();
    let spawned = std::thread::Builder::new()
        .name("puresasl-connect".into())
        // It only connects; a small stack keeps a thread stuck on a dead daemon cheap.
        .stack_size(64 * 1024)
        .spawn(move || {
            // The receiver may be gone (timed out); the stream then closes here.
            let _ = sender.send(UnixStream::connect(target));
        });
    if spawned.is_err() {
        // No thread to spare: connect directly (it waits only on a full backlog).
        return UnixStream::connect(path);
    }
    match receiver.recv_timeout(timeout) {
        Ok(result) => result,
        Err(mpsc::RecvTimeoutError::Timeout) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "connect timed out (listen backlog full?)",
        )),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            Err(io::Error::other("connect helper thread died"))
        }
    }
}

/// A connection with one deadline for everything that follows the connect.
struct Exchange {
    stream: UnixStream,
    deadline: Instant,
}

impl Exchange {
    fn open(path: &Path, timeouts: Timeouts) -> io::Result<Exchange> {
        let stream = connect(path, timeouts.connect)?;
        Ok(Exchange {
            stream,
            deadline: Instant::now() + timeouts.exchange,
        })
    }

    /// The time left, or a timeout error when there is none.
    fn remaining(&self) -> io::Result<Duration> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            Err(io::Error::new(io::ErrorKind::TimedOut, "timed out"))
        } else {
            Ok(left)
        }
    }

    fn write_all(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            let left = self.remaining()?;
            self.stream.set_write_timeout(Some(left))?;
            match self.stream.write(bytes) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => bytes = bytes.get(n..).unwrap_or_default(),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(timed_out(e)),
            }
        }
        Ok(())
    }

    /// One read (0 at end of stream).
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        loop {
            let left = self.remaining()?;
            self.stream.set_read_timeout(Some(left))?;
            match self.stream.read(buffer) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                other => return other.map_err(timed_out),
            }
        }
    }

    /// Fills `buffer` completely; a close before that is `UnexpectedEof`.
    fn read_exact(&mut self, mut buffer: &mut [u8]) -> io::Result<()> {
        while !buffer.is_empty() {
            match self.read(buffer)? {
                0 => return Err(io::ErrorKind::UnexpectedEof.into()),
                n => buffer = buffer.get_mut(n..).unwrap_or_default(),
            }
        }
        Ok(())
    }
}

/// A read or write timeout shows up as `WouldBlock` on Linux; say what it is.
fn timed_out(error: io::Error) -> io::Error {
    if error.kind() == io::ErrorKind::WouldBlock {
        io::Error::new(io::ErrorKind::TimedOut, "timed out")
    } else {
        error
    }
}

/// A buffer for a request holding a password: allocated once at its final size, so no
/// reallocation leaves a copy of the password in freed memory.
/// Zeroized on drop, like the [`Secret`] it becomes.
struct RequestBuffer(Zeroizing<Vec<u8>>);

impl RequestBuffer {
    fn with_capacity(capacity: usize) -> Self {
        RequestBuffer(Zeroizing::new(Vec::with_capacity(capacity)))
    }

    fn push(&mut self, bytes: &[u8]) {
        debug_assert!(self.0.len() + bytes.len() <= self.0.capacity());
        self.0.extend_from_slice(bytes);
    }

    fn into_secret(mut self) -> Secret {
        Secret::new(std::mem::take(&mut *self.0))
    }
}
