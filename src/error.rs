//! The error type of every fallible operation in the crate.
//!
//! Errors on the wire are coarse (a wrong password and an unknown user are the same
//! [`Error::AuthenticationFailed`]); the precise reason goes to the [`LogSink`](crate::LogSink).
//! No error ever carries secret bytes.

use thiserror::Error;

/// Everything that can go wrong in a SASL exchange or a credential operation.
///
/// A session that returned an error is poisoned: every later call returns the same error
/// (except [`Error::NeedCredentials`], which pauses a client exchange).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Error {
    /// The mechanism is unknown, not enabled, or refused by the security flags.
    #[error("no mechanism available: {0}")]
    NoMechanism(String),
    /// The peer could not be authenticated: wrong password, wrong proof or unknown user.
    ///
    /// Deliberately one variant for all of these, so the peer cannot tell them apart.
    #[error("authentication failure")]
    AuthenticationFailed,
    /// The authentication succeeded, but the authenticated identity may not act as the
    /// requested authorization identity.
    #[error("authorization failure")]
    AuthorizationFailed,
    /// The peer broke the mechanism's protocol.
    #[error("bad protocol: {0}")]
    Protocol(#[from] ProtocolError),
    /// The server could not prove that it knows the client's credentials (client side).
    #[error("server failed mutual authentication")]
    ServerAuthenticationFailed,
    /// The peer reported an error of its own (for example SCRAM's `e=` attribute).
    #[error("peer reported an error: {0}")]
    PeerError(String),
    /// The channel binding data did not match, or a downgrade was detected.
    #[error("channel binding failure: {0}")]
    ChannelBinding(&'static str),
    /// The credential store failed (not: the user does not exist).
    #[error("credential store failure: {0}")]
    Store(#[from] StoreError),
    /// The client needs a credential that its [`CredentialSource`](crate::CredentialSource)
    /// did not supply.
    #[error("missing credential: {0}")]
    MissingCredential(CredentialKind),
    /// The client exchange is paused, not failed: its
    /// [`CredentialSource`](crate::CredentialSource) will ask the user for these (see
    /// [`CredentialSource::asks`](crate::CredentialSource::asks)). Repeat the call that
    /// returned this (`start`, or `step`, whose challenge is kept) once the source can answer.
    #[error("credentials to ask the user for: {0:?}")]
    NeedCredentials(Vec<CredentialKind>),
    /// The negotiated security layer rejected a packet (bad MAC, replay, bad padding).
    #[error("integrity check failed")]
    Integrity,
    /// The security properties asked for cannot be met by this mechanism or peer.
    #[error("mechanism too weak for the requested security properties")]
    TooWeak,
    /// The configuration is invalid.
    #[error("configuration error: {0}")]
    Config(String),
    /// The call is not valid in the session's current state (for example a step after the
    /// exchange finished).
    #[error("invalid session state: {0}")]
    State(&'static str),
}

/// The ways a peer message can be malformed.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProtocolError {
    /// The message is longer than the mechanism allows.
    #[error("message too long (limit {limit} bytes)")]
    TooLong {
        /// The limit in bytes.
        limit: usize,
    },
    /// The message does not have the mechanism's syntax.
    #[error("malformed message: {0}")]
    Malformed(&'static str),
    /// A text field is not valid UTF-8.
    #[error("invalid UTF-8 in {0}")]
    InvalidUtf8(&'static str),
    /// The client sent an initial response to a mechanism in which the server speaks first.
    #[error("remote sent first but mechanism does not allow it")]
    UnexpectedInitialResponse,
    /// The peer sent a message where none was expected.
    #[error("unexpected message")]
    UnexpectedMessage,
    /// The peer sent an empty message where data was required.
    #[error("empty message")]
    Empty,
}

/// Which credential a client was missing.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum CredentialKind {
    /// The authentication identity (user name).
    #[error("authentication identity")]
    Authcid,
    /// The password.
    #[error("password")]
    Password,
    /// The authorization identity.
    #[error("authorization identity")]
    Authzid,
    /// The realm.
    #[error("realm")]
    Realm,
}

/// A failure of a credential store.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StoreError {
    /// The store cannot be written.
    #[error("store is read-only")]
    ReadOnly,
    /// The store could not be read or written (I/O error, permission problem).
    #[error("{0}")]
    Io(String),
    /// The store's data is corrupt or in an unsupported format.
    #[error("corrupt store: {0}")]
    Corrupt(String),
    /// The store is temporarily unavailable (a remote server did not answer).
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

impl From<std::io::Error> for StoreError {
    fn from(error: std::io::Error) -> Self {
        StoreError::Io(error.to_string())
    }
}

/// Shorthand for a malformed-message error.
pub(crate) fn malformed(what: &'static str) -> Error {
    Error::Protocol(ProtocolError::Malformed(what))
}

/// Rejects `message` if it is longer than `limit`.
pub(crate) fn check_len(message: &[u8], limit: usize) -> Result<(), Error> {
    if message.len() > limit {
        return Err(ProtocolError::TooLong { limit }.into());
    }
    Ok(())
}
