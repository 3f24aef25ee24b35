//! What a mechanism sees of its session: a narrow context the session builds from its
//! configuration, defined here beside the mechanisms so that they never import the session
//! layer (`crate::server`, `crate::client`).
//!
//! The server side gets [`ServerContext`]: randomness, the log, a credential view factory,
//! the naming rules (canonicalisation, the `user@realm` split), the password check, and the
//! mechanisms' own settings (SCRAM iteration count, server secret, shared decoys, the
//! DIGEST-MD5 `digest-uri` rule). The client side gets [`ClientContext`]: credentials,
//! randomness and its SCRAM bounds.

use crate::auxprop::Auxprop;
use crate::credentials::{CredentialView, Decoys, PasswordCheck, PasswordChecker};
use crate::crypt::PasswordFormat;
use crate::error::{CredentialKind, Error};
use crate::log::{LogLevel, LogSink};
use crate::random::Random;
use crate::secret::Secret;
use crate::security::{ChannelBinding, SecurityProperties};

/// Who authenticated, and as whom they act.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The authentication identity, without realm.
    pub authcid: String,
    /// The realm the authentication identity was looked up in.
    pub realm: String,
    /// The authorization identity requested by the client, if it asked for one different
    /// from the authentication identity.
    pub authzid: Option<String>,
    /// The authentication identity as canonicalized, before the realm was split off (`user`
    /// or `user@realm`): the name Cyrus reports (`oparams.authid`).
    pub canonical: String,
}

impl Identity {
    /// The identity the session acts as: the authorization identity if one was granted,
    /// else the authentication identity.
    pub fn username(&self) -> &str {
        self.authzid.as_deref().unwrap_or(&self.authcid)
    }
}

/// Which identity a name given to a [`CanonicalizeUser`] stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    /// The authentication identity (whose credentials are checked), when the client also
    /// asked for a separate authorization identity.
    Authcid,
    /// The authorization identity the client asked to act as.
    Authzid,
    /// The authentication identity of a client that asked for no separate authorization
    /// identity: the name is both (Cyrus's `SASL_CU_AUTHID | SASL_CU_AUTHZID`).
    AuthcidAndAuthzid,
}

/// Rewrites the user names a client sends (lower-cases them, strips a domain, maps aliases)
/// before their credentials are looked up; the result is the name the session reports.
pub trait CanonicalizeUser: Send + Sync {
    /// The canonical form of `name`, or an error that fails the exchange.
    fn canonicalize(&self, name: &str, kind: NameKind) -> Result<String, Error>;
}

impl<F> CanonicalizeUser for F
where
    F: Fn(&str, NameKind) -> Result<String, Error> + Send + Sync,
{
    fn canonicalize(&self, name: &str, kind: NameKind) -> Result<String, Error> {
        self(name, kind)
    }
}

/// The server configuration as mechanisms see it (built by `ServerConfig`).
pub(crate) struct ServerSettings<'a> {
    /// The service name (`imap`).
    pub service: &'a str,
    /// The server's host name, lower-cased.
    pub fqdn: &'a str,
    /// The realm for names without `@realm` (else the host name).
    pub user_realm: Option<&'a str>,
    /// The credential store.
    pub store: &'a dyn Auxprop,
    /// Checks PLAIN and LOGIN passwords instead of the store, if set.
    pub password_checker: Option<&'a dyn PasswordChecker>,
    /// Rewrites user names, if set.
    pub canonicalize: Option<&'a dyn CanonicalizeUser>,
    /// The log sink.
    pub log: &'a dyn LogSink,
    /// The randomness source.
    pub random: &'a dyn Random,
    /// PBKDF2 iterations for SCRAM keys derived from a plaintext password.
    pub scram_iterations: u32,
    /// The secret behind SCRAM's stable fake salts.
    pub server_secret: &'a Secret,
    /// Whether DIGEST-MD5 accepts a `digest-uri` with any host.
    pub digest_uri_any_host: bool,
    /// What unknown users cost.
    pub decoys: &'a Decoys,
    /// How `userPassword` values are read.
    pub password_format: PasswordFormat,
}

impl<'a> ServerSettings<'a> {
    /// A view of the credentials of `user` in `realm`, reading `userPassword` as the
    /// configured [`PasswordFormat`] says and logging unusable values to the log sink.
    pub fn credentials<'v>(&self, user: &'v str, realm: &'v str) -> CredentialView<'v>
    where
        'a: 'v,
    {
        CredentialView::new(self.store, user, realm)
            .password_format(self.password_format)
            .log(self.log)
    }

    /// Splits a user name into user and realm as Cyrus does: `user@realm` at the first `@`;
    /// otherwise the configured user realm; otherwise the server's host name.
    pub fn split_user(&self, name: &str) -> (String, String) {
        match name.split_once('@') {
            Some((user, realm)) => (user.to_owned(), realm.to_owned()),
            None => (
                name.to_owned(),
                self.user_realm.unwrap_or(self.fqdn).to_owned(),
            ),
        }
    }

    /// `name` as the configured [`CanonicalizeUser`] makes it (unchanged without one);
    /// failures are logged.
    pub fn canonical_user(&self, name: &str, kind: NameKind) -> Result<String, Error> {
        match self.canonicalize {
            Some(canonicalize) => canonicalize.canonicalize(name, kind).inspect_err(|error| {
                self.log.log(
                    LogLevel::Fail,
                    &format!("canonicalizing user name {name:?} failed: {error}"),
                );
            }),
            None => Ok(name.to_owned()),
        }
    }

    /// Checks a plaintext password the way PLAIN and LOGIN do: through the configured
    /// [`PasswordChecker`], else against the store (plaintext, or keys derived from it).
    pub fn check_password(
        &self,
        user: &str,
        realm: &str,
        password: &[u8],
    ) -> Result<PasswordCheck, Error> {
        if let Some(checker) = self.password_checker {
            return checker.check(user, realm, password);
        }
        // An unknown user costs what a known user's check costs: with a store that keeps
        // only SCRAM keys that is a PBKDF2 derivation, with plaintext a comparison.
        self.decoys
            .check_password(&self.credentials(user, realm), password)
            .map_err(Error::Store)
    }
}

/// The client configuration as mechanisms see it (built by `ClientConfig`).
pub(crate) struct ClientSettings<'a> {
    /// The service name.
    pub service: &'a str,
    /// The server's host name.
    pub server_fqdn: &'a str,
    /// Where the credentials come from.
    pub credentials: &'a dyn CredentialSource,
    /// The randomness source.
    pub random: &'a dyn Random,
    /// The accepted SCRAM iteration counts, inclusive.
    pub scram_iteration_bounds: (u32, u32),
    /// Where SCRAM keeps the keys it derives, if anywhere.
    pub scram_key_cache: Option<&'a crate::keys::ScramKeyCache>,
}

/// What a server mechanism may use: the configuration and the per-session settings.
#[allow(
    dead_code,
    reason = "channel binding and security properties serve SCRAM and DIGEST-MD5"
)]
pub(crate) struct ServerContext<'a> {
    pub settings: ServerSettings<'a>,
    pub channel_binding: Option<&'a ChannelBinding>,
    pub properties: &'a SecurityProperties,
    pub external_ssf: u32,
    /// The identity an external layer authenticated (EXTERNAL), if the application set one.
    pub external_identity: Option<&'a str>,
    /// Whether the client could have used a `-PLUS` mechanism (for SCRAM's `y` flag).
    pub plus_offered: bool,
    pub(crate) attempted_user: Option<String>,
}

impl ServerContext<'_> {
    /// Records the user name the client claimed, for logs and `SASL_USERNAME` after failure.
    pub fn note_user(&mut self, name: &str) {
        self.attempted_user = Some(name.to_owned());
    }

    /// Logs a message.
    pub fn log(&self, level: LogLevel, message: &str) {
        self.settings.log.log(level, message);
    }

    /// The configured server secret (for stable fake salts).
    pub fn server_secret(&self) -> &[u8] {
        self.settings.server_secret.expose()
    }

    /// The credentials of `user` in `realm`.
    pub fn credentials<'v>(&'v self, user: &'v str, realm: &'v str) -> CredentialView<'v> {
        self.settings.credentials(user, realm)
    }

    /// Verifies a plaintext password; a wrong password and an unknown user give the same
    /// error, and the log says which.
    pub fn verify_password(&self, user: &str, realm: &str, password: &[u8]) -> Result<(), Error> {
        match self.settings.check_password(user, realm, password)? {
            PasswordCheck::Match => Ok(()),
            PasswordCheck::Mismatch => {
                self.log(
                    LogLevel::Fail,
                    &format!("Password verification failed for {user}@{realm}"),
                );
                Err(Error::AuthenticationFailed)
            }
            PasswordCheck::NoSuchUser => {
                self.log(LogLevel::Fail, &format!("user {user}@{realm} not found"));
                Err(Error::AuthenticationFailed)
            }
        }
    }

    /// Builds the identity of `authcid` (which may carry `@realm`) acting as `authzid`, both
    /// names canonicalized (see `ServerConfigBuilder::canonicalize_user`); the canonical
    /// authentication identity becomes the attempted user.
    pub fn identity(&mut self, authcid: &str, authzid: Option<&str>) -> Result<Identity, Error> {
        self.identity_in_realm(authcid, None, authzid)
    }

    /// As [`identity`](Self::identity), but with the realm given apart (DIGEST-MD5's
    /// `realm` directive) when `realm` is `Some`: the name is then split at `@` only if its
    /// canonical form has one.
    pub fn identity_in_realm(
        &mut self,
        authcid: &str,
        realm: Option<&str>,
        authzid: Option<&str>,
    ) -> Result<Identity, Error> {
        let authzid = authzid
            .filter(|z| !z.is_empty())
            .map(|z| self.canonicalize(z, NameKind::Authzid))
            .transpose()?;
        let kind = if authzid.is_some() {
            NameKind::Authcid
        } else {
            NameKind::AuthcidAndAuthzid
        };
        let name = self.canonicalize(authcid, kind)?;
        self.note_user(&name);
        // A canonical name with `@realm` (a CANON_USER that appends the domain) is looked up
        // in that realm, whatever realm the mechanism was given, as Cyrus splits the
        // canonical name for every credential lookup.
        let (authcid, realm) = match realm {
            Some(realm) if !name.contains('@') => (name.clone(), realm.to_owned()),
            _ => self.settings.split_user(&name),
        };
        Ok(Identity {
            authcid,
            realm,
            authzid,
            canonical: name,
        })
    }

    fn canonicalize(&self, name: &str, kind: NameKind) -> Result<String, Error> {
        self.settings.canonical_user(name, kind)
    }
}

/// Where a client's credentials come from. Implement it to prompt the user or read a
/// keyring; [`Credentials`](crate::Credentials) holds fixed ones. Returning `None` makes the exchange fail with
/// [`Error::MissingCredential`].
pub trait CredentialSource: Send + Sync {
    /// The authentication identity.
    fn authcid(&self) -> Option<String>;
    /// The password.
    fn password(&self) -> Option<Secret>;
    /// The authorization identity, if the client wants to act as someone else.
    fn authzid(&self) -> Option<String> {
        None
    }
    /// Picks a realm from those the server offered (DIGEST-MD5); default: the first offered.
    fn realm(&self, offered: &[String]) -> Option<String> {
        offered.first().cloned()
    }
    /// Whether a credential this source has no value for yet (it returned `None`) will come
    /// from asking the user: the exchange then pauses with [`Error::NeedCredentials`],
    /// listing everything the mechanism needs at that point, and carries on when the call is
    /// repeated. Default: never (a `None` is final).
    fn asks(&self, kind: CredentialKind) -> bool {
        let _ = kind;
        false
    }
}

/// The credentials a mechanism gathered in one go (see [`ClientContext::gather`]); only the
/// kinds it asked for are filled.
#[derive(Default)]
pub(crate) struct Gathered {
    pub authcid: Option<String>,
    pub password: Option<Secret>,
    pub authzid: Option<String>,
    pub realm: Option<String>,
}

impl Gathered {
    /// The authentication identity, which [`ClientContext::gather`] guarantees when asked.
    pub fn authcid(&self) -> Result<String, Error> {
        self.authcid
            .clone()
            .ok_or(Error::MissingCredential(CredentialKind::Authcid))
    }

    /// The password, which [`ClientContext::gather`] guarantees when asked.
    pub fn password(&self) -> Result<Secret, Error> {
        self.password
            .as_ref()
            .map(Secret::duplicate)
            .ok_or(Error::MissingCredential(CredentialKind::Password))
    }
}

/// What a client mechanism may use.
#[allow(
    dead_code,
    reason = "channel binding and security properties serve SCRAM and DIGEST-MD5"
)]
pub(crate) struct ClientContext<'a> {
    pub settings: ClientSettings<'a>,
    pub channel_binding: Option<&'a ChannelBinding>,
    pub properties: &'a SecurityProperties,
    /// Whether the server offered the `-PLUS` variant of the chosen mechanism (SCRAM `y`).
    pub server_offered_plus: bool,
}

#[allow(dead_code, reason = "realm and randomness serve SCRAM and DIGEST-MD5")]
impl ClientContext<'_> {
    /// The authentication identity, or a missing-credential error.
    pub fn authcid(&self) -> Result<String, Error> {
        self.settings
            .credentials
            .authcid()
            .ok_or(Error::MissingCredential(CredentialKind::Authcid))
    }

    /// The password, or a missing-credential error.
    pub fn password(&self) -> Result<Secret, Error> {
        self.settings
            .credentials
            .password()
            .ok_or(Error::MissingCredential(CredentialKind::Password))
    }

    /// The authorization identity, if any (empty counts as none).
    pub fn authzid(&self) -> Option<String> {
        self.settings
            .credentials
            .authzid()
            .filter(|z| !z.is_empty())
    }

    /// The realm to use, picked from `offered`.
    pub fn realm(&self, offered: &[String]) -> Option<String> {
        self.settings.credentials.realm(offered)
    }

    /// The randomness source.
    pub fn random(&self) -> &dyn Random {
        self.settings.random
    }

    /// Asks the credential source for every credential in `kinds` that this step needs, in
    /// that order (the realm is picked from `offered_realms`). The authentication identity
    /// and the password are required: one the source cannot give and will not ask for is
    /// [`Error::MissingCredential`]. Everything the source will ask the user for is reported
    /// together as [`Error::NeedCredentials`]; a mechanism calls this before changing its
    /// state, so that the same call can be repeated with the answers.
    pub fn gather(
        &self,
        kinds: &[CredentialKind],
        offered_realms: &[String],
    ) -> Result<Gathered, Error> {
        let source = self.settings.credentials;
        let mut gathered = Gathered::default();
        let mut ask = Vec::new();
        for &kind in kinds {
            let found = match kind {
                CredentialKind::Authcid => {
                    gathered.authcid = source.authcid();
                    gathered.authcid.is_some()
                }
                CredentialKind::Password => {
                    gathered.password = source.password();
                    gathered.password.is_some()
                }
                CredentialKind::Authzid => {
                    gathered.authzid = source.authzid().filter(|z| !z.is_empty());
                    gathered.authzid.is_some()
                }
                CredentialKind::Realm => {
                    gathered.realm = source.realm(offered_realms);
                    gathered.realm.is_some()
                }
            };
            if found {
                continue;
            }
            if source.asks(kind) {
                ask.push(kind);
            } else if matches!(kind, CredentialKind::Authcid | CredentialKind::Password) {
                return Err(Error::MissingCredential(kind));
            }
        }
        if ask.is_empty() {
            Ok(gathered)
        } else {
            Err(Error::NeedCredentials(ask))
        }
    }
}
