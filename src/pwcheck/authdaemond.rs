//! The Courier authdaemond client (`pwcheck_method: authdaemond`).
//!
//! Cyrus's side: `lib/checkpw.c:871-1077` (2.1.28, `authdaemon_build_query`,
//! `authdaemon_talk`); Courier's side: `courier-authlib/authdaemond.c` (`doauth`,
//! `printauth`) and the protocol description in `courier-authlib/README_authlib.sgml`
//! (section `authpipeproto`). One request per connection:
//!
//! ```text
//! AUTH <n>\n<service>\nlogin\n<user>\n<password>\n\n
//! ```
//!
//! `<n>` is the decimal length of `<service>\nlogin\n<user>\n<password>\n`; the final
//! blank line is Cyrus's and not counted. `<user>` is the canonical name
//! ([`UserNames`]); `<service>` is the application's service (`smtp`).
//! The daemon answers with `NAME=value` lines and a line `.` (the password is right),
//! or `FAIL` (wrong password or unknown user), or closes the connection without a word
//! (a temporary failure in one of its modules). The first `.` or `FAIL` line decides;
//! reading stops there (as Courier's own client does), without waiting for the close.
//! Anything else, a close before the answer, more than 8191 bytes without one, or the
//! deadline, is a temporary failure.
//!
//! Refused before connecting, as a mismatch: CR, LF or NUL in the service, the user or
//! the password (Courier would read them as field ends), and a body longer than 8191
//! bytes (Courier reads the body into an 8192-byte buffer; Cyrus's own limit is `<n>` of
//! at most four digits).
//!
//! The socket path is `authdaemond_path`. Cyrus's compiled-in default is `/dev/null`
//! (Debian's build, [`DEFAULT_PATH`]), so nothing works until it is set; Courier's own
//! socket is `/run/courier/authdaemon/socket` on Debian and
//! `/var/lib/courier/authdaemon/socket` on Gentoo. Cyrus's documentation calls the
//! option `authdaemon_path`, which the code never reads.

use std::path::PathBuf;

use zeroize::Zeroizing;

use super::{Daemon, RequestBuffer, Timeouts, UserNames, daemon_builder};
use crate::credentials::PasswordCheck;
use crate::error::Error;
use crate::secret::Secret;
use crate::server::PasswordChecker;

/// Cyrus's compiled-in `authdaemond_path` (Debian's build): nothing listens there.
pub const DEFAULT_PATH: &str = "/dev/null";

/// The longest request body (`<n>`) sent: Courier reads it into an 8192-byte buffer.
pub const MAX_BODY: usize = 8191;

/// The most reply bytes read while looking for the answer line (Cyrus's buffer).
pub const MAX_REPLY: usize = 8191;

/// A Courier authdaemond client: see the [module](self) docs.
#[derive(Debug, Clone)]
pub struct Authdaemond {
    daemon: Daemon,
}

impl Authdaemond {
    /// Asks the authdaemond at `path` (`authdaemond_path`) on behalf of `service`
    /// (`smtp`), every realm part of the name ([`UserNames::always_qualified`]) and the
    /// [default timeouts](Timeouts::DEFAULT).
    pub fn new(path: impl Into<PathBuf>, service: &str) -> Self {
        Authdaemond {
            daemon: Daemon::new("authdaemond", "Courier authdaemond", path.into(), service),
        }
    }

    daemon_builder!();

    /// The request for `user` in `realm` with `password`, exactly as sent; `None` when it
    /// is refused (CR, LF or NUL in a field, or a body over [`MAX_BODY`]).
    pub fn request(&self, user: &str, realm: &str, password: &[u8]) -> Option<Secret> {
        let name = self.daemon.user_names.name(user, realm);
        let fields = [
            self.daemon.service.as_bytes(),
            b"login".as_slice(),
            name.as_bytes(),
            password,
        ];
        if fields
            .iter()
            .any(|field| field.iter().any(|b| matches!(b, b'\r' | b'\n' | 0)))
        {
            return None;
        }
        let body: usize = fields.iter().map(|field| field.len() + 1).sum();
        if body > MAX_BODY {
            return None;
        }
        let header = format!("AUTH {body}\n");
        let mut request = RequestBuffer::with_capacity(header.len() + body + 1);
        request.push(header.as_bytes());
        for field in fields {
            request.push(field);
            request.push(b"\n");
        }
        request.push(b"\n");
        Some(request.into_secret())
    }

    fn ask(&self, request: &Secret) -> Result<PasswordCheck, Error> {
        let mut exchange = self.daemon.open()?;
        let fail = |what: std::io::Error| self.daemon.failed(what);
        exchange.write_all(request.expose()).map_err(fail)?;
        // The reply holds the password again (PASSWD2=): zeroized like it.
        let mut reply = Zeroizing::new(vec![0u8; MAX_REPLY]);
        let mut filled = 0;
        let mut scanned = 0;
        loop {
            let free = reply.get_mut(filled..).unwrap_or_default();
            if free.is_empty() {
                return Err(self
                    .daemon
                    .failed(format_args!("no answer in the first {MAX_REPLY} bytes")));
            }
            let n = exchange.read(free).map_err(fail)?;
            let at_end = n == 0;
            filled += n;
            let data = reply.get(..filled).unwrap_or_default();
            if let Some(verdict) = verdict(data, &mut scanned, at_end) {
                return Ok(verdict);
            }
            if at_end {
                let what = if filled == 0 {
                    "closed the connection without an answer (temporary failure)"
                } else {
                    "bad response (no \".\" or \"FAIL\" line)"
                };
                return Err(self.daemon.failed(what));
            }
        }
    }
}

/// The answer in the reply `data` read so far: scans the complete lines from `*scanned`
/// (and, `at_end`, the unterminated last one) for the first `.` (a match) or `FAIL` (a
/// mismatch). `None`: no answer yet.
pub(crate) fn verdict(data: &[u8], scanned: &mut usize, at_end: bool) -> Option<PasswordCheck> {
    while let Some(line) = next_line(data, scanned, at_end) {
        match line {
            b"." => return Some(PasswordCheck::Match),
            b"FAIL" => return Some(PasswordCheck::Mismatch),
            _ => {}
        }
    }
    None
}

/// The line of `data` starting at `*scanned`, moving `*scanned` past it; an unterminated
/// last line only when `at_end`.
fn next_line<'d>(data: &'d [u8], scanned: &mut usize, at_end: bool) -> Option<&'d [u8]> {
    let rest = data.get(*scanned..)?;
    if rest.is_empty() {
        return None;
    }
    match rest.iter().position(|&b| b == b'\n') {
        Some(end) => {
            *scanned += end + 1;
            rest.get(..end)
        }
        None if at_end => {
            *scanned = data.len();
            Some(rest)
        }
        None => None,
    }
}

impl PasswordChecker for Authdaemond {
    fn check(&self, user: &str, realm: &str, password: &[u8]) -> Result<PasswordCheck, Error> {
        match self.request(user, realm, password) {
            Some(request) => self.ask(&request),
            None => Ok(PasswordCheck::Mismatch),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_bytes_are_cyrus_bytes() {
        // The probe of the reference: user alice@example.org, password "s3cret pw".
        let client = Authdaemond::new("/nonexistent", "smtp");
        let request = client
            .request("alice", "example.org", b"s3cret pw")
            .unwrap();
        assert_eq!(
            request.expose(),
            b"AUTH 39\nsmtp\nlogin\nalice@example.org\ns3cret pw\n\n"
        );
    }

    #[test]
    fn lines_are_split_incrementally() {
        let mut scanned = 0;
        let data = b"A=1\n.\nFA";
        assert_eq!(next_line(data, &mut scanned, false), Some(&b"A=1"[..]));
        assert_eq!(next_line(data, &mut scanned, false), Some(&b"."[..]));
        assert_eq!(next_line(data, &mut scanned, false), None);
        assert_eq!(next_line(data, &mut scanned, true), Some(&b"FA"[..]));
        assert_eq!(next_line(data, &mut scanned, true), None);
    }
}
