//! The saslauthd client (`pwcheck_method: saslauthd`).
//!
//! Cyrus's side: `lib/checkpw.c:646-869` (2.1.28, `saslauthd_verify_password`); the
//! daemon's side: `saslauthd/ipc_unix.c`. One request per connection: four counted
//! strings, each a 16-bit big-endian length and the bytes (no NUL), in one write:
//!
//! ```text
//! <len><authid> <len><password> <len><service> <len><realm>
//! ```
//!
//! The canonical name ([`UserNames`]) is split at its **last** `@`:
//! the left part is the authid, the right part the realm; a name without `@` goes with
//! an empty realm. The request is at most 8192 bytes. The reply is a 16-bit big-endian
//! count (at least 2) and that many bytes, `OK` or `NO <reason>`; only the first 1023
//! bytes are read, as Cyrus does.
//!
//! `OK...` is a match and `NO...` a mismatch (saslauthd does not tell an unknown user
//! apart). A reply that is neither, a count below 2, a close or the deadline is a
//! temporary failure (Cyrus takes any reply not starting with `OK` as a wrong password;
//! saslauthd itself never sends one).
//!
//! Refused before connecting, as a mismatch: NUL in any field (saslauthd handles them
//! as C strings) and a request over 8192 bytes.

use std::path::PathBuf;

use zeroize::Zeroizing;

use super::{Daemon, RequestBuffer, Timeouts, UserNames, daemon_builder};
use crate::credentials::PasswordCheck;
use crate::error::Error;
use crate::secret::Secret;
use crate::server::PasswordChecker;

/// Cyrus's default `saslauthd_path` on Debian.
pub const DEFAULT_PATH: &str = "/var/run/saslauthd/mux";

/// The longest request Cyrus sends (its query buffer).
pub const MAX_REQUEST: usize = 8192;

/// How much of the reply is read (Cyrus's 1024-byte buffer with its NUL).
pub const MAX_REPLY: usize = 1023;

/// A saslauthd client: see the [module](self) docs.
#[derive(Debug, Clone)]
pub struct Saslauthd {
    daemon: Daemon,
}

impl Saslauthd {
    /// Asks the saslauthd at `path` (`saslauthd_path`, the full socket path including
    /// `/mux`) on behalf of `service` (`smtp`), every realm part of the name
    /// ([`UserNames::always_qualified`]) and the [default timeouts](Timeouts::DEFAULT).
    pub fn new(path: impl Into<PathBuf>, service: &str) -> Self {
        Saslauthd {
            daemon: Daemon::new("saslauthd", "saslauthd", path.into(), service),
        }
    }

    daemon_builder!();

    /// The request for `user` in `realm` with `password`, exactly as sent; `None` when it
    /// is refused (NUL in a field, or too long).
    pub fn request(&self, user: &str, realm: &str, password: &[u8]) -> Option<Secret> {
        let name = self.daemon.user_names.name(user, realm);
        let (authid, realm) = name.rsplit_once('@').unwrap_or((name.as_str(), ""));
        let fields = [
            authid.as_bytes(),
            password,
            self.daemon.service.as_bytes(),
            realm.as_bytes(),
        ];
        if fields.iter().any(|field| field.contains(&0)) {
            return None;
        }
        let total: usize = fields.iter().map(|field| 2 + field.len()).sum();
        if total > MAX_REQUEST {
            return None;
        }
        let mut request = RequestBuffer::with_capacity(total);
        for field in fields {
            let len = u16::try_from(field.len()).ok()?;
            request.push(&len.to_be_bytes());
            request.push(field);
        }
        Some(request.into_secret())
    }

    fn ask(&self, request: &Secret) -> Result<PasswordCheck, Error> {
        let fail = |what: std::io::Error| self.daemon.failed(what);
        let mut exchange = self.daemon.open()?;
        exchange.write_all(request.expose()).map_err(fail)?;
        let mut count = [0u8; 2];
        exchange.read_exact(&mut count).map_err(fail)?;
        let count = usize::from(u16::from_be_bytes(count));
        if count < 2 {
            return Err(self
                .daemon
                .failed(format_args!("bad response (count {count})")));
        }
        let mut reply = Zeroizing::new(vec![0; count.min(MAX_REPLY)]);
        exchange.read_exact(&mut reply).map_err(fail)?;
        match reply.get(..2) {
            Some(b"OK") => Ok(PasswordCheck::Match),
            Some(b"NO") => Ok(PasswordCheck::Mismatch),
            _ => Err(self.daemon.failed("bad response (neither OK nor NO)")),
        }
    }
}

impl PasswordChecker for Saslauthd {
    fn check(&self, user: &str, realm: &str, password: &[u8]) -> Result<PasswordCheck, Error> {
        match self.request(user, realm, password) {
            Some(request) => self.ask(&request),
            None => Ok(PasswordCheck::Mismatch),
        }
    }
}
