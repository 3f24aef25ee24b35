//! The server side: a long-lived [`ServerConfig`] and one [`ServerSession`] per connection.
//!
//! # Driving a session
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use puresasl::{MemoryStore, ServerConfig, ServerSession, ServerStep};
//!
//! let store = MemoryStore::new().with_password("tim", "example.org", "tanstaaftanstaaf");
//! let config = Arc::new(
//!     ServerConfig::builder("smtp", "mail.example.org")
//!         .user_realm("example.org")
//!         .store(Arc::new(store))
//!         .build()?,
//! );
//! let mut session = ServerSession::new(config);
//! // The client sent `AUTH PLAIN <initial response>`:
//! match session.start("PLAIN", Some(b"\0tim\0tanstaaftanstaaf"))? {
//!     ServerStep::Done { identity, .. } => assert_eq!(identity.authcid, "tim"),
//!     ServerStep::Continue(_challenge) => unreachable!("PLAIN finishes in one step"),
//! }
//! # Ok::<(), puresasl::Error>(())
//! ```
//!
//! Each [`ServerStep::Continue`] carries a challenge to send; feed the client's answer to
//! [`ServerSession::step`]. Any error ends the session: later calls return the same error.

use crate::session::Layer;
use std::fmt;
use std::sync::Arc;

use crate::auxprop::{Auxprop, MemoryStore};
pub use crate::credentials::PasswordChecker;
use crate::credentials::{CredentialView, Decoy, Decoys, PasswordCheck};
use crate::crypt::PasswordFormat;
use crate::error::{Error, ProtocolError};
use crate::log::{LogLevel, LogSink, NoLog};
pub use crate::mech::context::{CanonicalizeUser, Identity, NameKind};
use crate::mech::context::{ServerContext, ServerSettings};
use crate::mech::{self, InitialResponse, MechanismInfo, ServerMechanism, ServerOutput};
use crate::random::{OsRandom, Random};
use crate::secret::Secret;
use crate::security::{ChannelBinding, SecurityFlags, SecurityProperties};

/// Upper bound on any single client message, whatever the mechanism (mechanisms set
/// tighter limits of their own).
pub const MAX_CLIENT_MESSAGE: usize = 64 * 1024;

/// Decides whether an authenticated user may act as another (the authzid).
pub trait AuthorizationPolicy: Send + Sync {
    /// Whether `identity.authcid`@`identity.realm` may act as `authzid`.
    fn authorize(&self, identity: &Identity, authzid: &str) -> bool;

    /// Whether the authenticated user may log in as themselves: asked after every other
    /// successful exchange (no authorization identity, or the user's own), as Cyrus asks its
    /// `SASL_CB_PROXY_POLICY` callback, which applications use to record who logged in.
    /// Default: yes.
    fn authorize_self(&self, identity: &Identity) -> bool {
        let _ = identity;
        true
    }
}

/// The default policy: a user may act only as themselves.
#[derive(Debug, Default, Clone, Copy)]
pub struct SameUserOnly;

impl AuthorizationPolicy for SameUserOnly {
    fn authorize(&self, _identity: &Identity, _authzid: &str) -> bool {
        false
    }
}

impl<F> AuthorizationPolicy for F
where
    F: Fn(&Identity, &str) -> bool + Send + Sync,
{
    fn authorize(&self, identity: &Identity, authzid: &str) -> bool {
        self(identity, authzid)
    }
}

/// Long-lived server configuration, shared by every session (put it in an `Arc`).
pub struct ServerConfig {
    service: String,
    fqdn: String,
    user_realm: Option<String>,
    store: Arc<dyn Auxprop>,
    password_checker: Option<Arc<dyn PasswordChecker>>,
    mechanisms: Vec<&'static MechanismInfo>,
    flags: SecurityFlags,
    authorization: Arc<dyn AuthorizationPolicy>,
    canonicalize: Option<Arc<dyn CanonicalizeUser>>,
    log: Arc<dyn LogSink>,
    random: Arc<dyn Random>,
    scram_iterations: u32,
    server_secret: Secret,
    digest_uri_any_host: bool,
    decoys: Arc<Decoys>,
    password_format: PasswordFormat,
}

impl fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerConfig")
            .field("service", &self.service)
            .field("fqdn", &self.fqdn)
            .field("user_realm", &self.user_realm)
            .field("mechanisms", &self.mechanism_names())
            .field("flags", &self.flags)
            .field("scram_iterations", &self.scram_iterations)
            .finish_non_exhaustive()
    }
}

impl ServerConfig {
    /// Starts a configuration for `service` (`smtp`, `imap`) on the host `fqdn`.
    pub fn builder(service: &str, fqdn: &str) -> ServerConfigBuilder {
        ServerConfigBuilder {
            service: service.to_owned(),
            fqdn: fqdn.to_ascii_lowercase(),
            user_realm: None,
            store: None,
            password_checker: None,
            mechanisms: None,
            flags: SecurityFlags::NONE,
            authorization: None,
            canonicalize: None,
            log: None,
            random: None,
            scram_iterations: 4096,
            server_secret: None,
            digest_uri_any_host: false,
            decoys: None,
            password_format: PasswordFormat::Plain,
        }
    }

    /// The service name.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// The server's host name, lower-cased.
    pub fn fqdn(&self) -> &str {
        &self.fqdn
    }

    /// The configured user realm.
    pub fn user_realm(&self) -> Option<&str> {
        self.user_realm.as_deref()
    }

    /// The credential store.
    pub fn store(&self) -> &dyn Auxprop {
        self.store.as_ref()
    }

    /// The log sink.
    pub fn log(&self) -> &dyn LogSink {
        self.log.as_ref()
    }

    /// The randomness source.
    pub fn random(&self) -> &dyn Random {
        self.random.as_ref()
    }

    /// The security flags every offered mechanism must satisfy.
    pub fn flags(&self) -> SecurityFlags {
        self.flags
    }

    /// The PBKDF2 iteration count for SCRAM keys derived from plaintext passwords.
    pub fn scram_iterations(&self) -> u32 {
        self.scram_iterations
    }

    /// Whether DIGEST-MD5 accepts a `digest-uri` naming any host (the service must match).
    pub fn digest_uri_any_host(&self) -> bool {
        self.digest_uri_any_host
    }

    /// How `userPassword` values are read (`password_format`).
    pub fn password_format(&self) -> PasswordFormat {
        self.password_format
    }

    /// A view of the credentials of `user` in `realm`, reading `userPassword` as the
    /// configured [`PasswordFormat`] says and logging unusable values to the log sink.
    pub fn credentials<'v>(&'v self, user: &'v str, realm: &'v str) -> CredentialView<'v> {
        self.settings().credentials(user, realm)
    }

    /// What mechanisms see of this configuration.
    pub(crate) fn settings(&self) -> ServerSettings<'_> {
        ServerSettings {
            service: &self.service,
            fqdn: &self.fqdn,
            user_realm: self.user_realm.as_deref(),
            store: self.store.as_ref(),
            password_checker: self.password_checker.as_deref(),
            canonicalize: self.canonicalize.as_deref(),
            log: self.log.as_ref(),
            random: self.random.as_ref(),
            scram_iterations: self.scram_iterations,
            server_secret: &self.server_secret,
            digest_uri_any_host: self.digest_uri_any_host,
            decoys: &self.decoys,
            password_format: self.password_format,
        }
    }

    /// The enabled mechanisms that satisfy the configured flags, in configured order,
    /// without the `-PLUS` variants (see [`ServerSession::mechanisms`]).
    pub fn mechanism_names(&self) -> Vec<&'static str> {
        self.mechanisms
            .iter()
            .filter(|info| !info.channel_binding && info.satisfies(self.flags))
            .map(|info| info.name)
            .collect()
    }

    /// Splits a user name into user and realm as Cyrus does: `user@realm` at the first `@`;
    /// otherwise the configured user realm; otherwise the server's host name.
    pub fn split_user(&self, name: &str) -> (String, String) {
        self.settings().split_user(name)
    }

    /// `name` as the configured [`CanonicalizeUser`] makes it (unchanged without one), as
    /// every mechanism applies it before looking credentials up; failures are logged.
    pub fn canonical_user(&self, name: &str, kind: NameKind) -> Result<String, Error> {
        self.settings().canonical_user(name, kind)
    }

    /// Checks a plaintext password the way PLAIN and LOGIN do: through the configured
    /// [`PasswordChecker`], else against the store (plaintext, or keys derived from it).
    pub fn check_password(
        &self,
        user: &str,
        realm: &str,
        password: &[u8],
    ) -> Result<PasswordCheck, Error> {
        self.settings().check_password(user, realm, password)
    }

    /// What an unknown user's password check currently costs (see
    /// [`credentials::Decoy`](crate::credentials::Decoy)).
    pub fn unknown_user_decoy(&self) -> Decoy {
        self.decoys.current(self.store(), self.password_format)
    }

    /// What unknown users cost, shared by every configuration built on the same
    /// [`Decoys`].
    pub fn decoys(&self) -> &Decoys {
        &self.decoys
    }
}

/// Builds a [`ServerConfig`].
pub struct ServerConfigBuilder {
    service: String,
    fqdn: String,
    user_realm: Option<String>,
    store: Option<Arc<dyn Auxprop>>,
    password_checker: Option<Arc<dyn PasswordChecker>>,
    mechanisms: Option<Vec<String>>,
    flags: SecurityFlags,
    authorization: Option<Arc<dyn AuthorizationPolicy>>,
    canonicalize: Option<Arc<dyn CanonicalizeUser>>,
    log: Option<Arc<dyn LogSink>>,
    random: Option<Arc<dyn Random>>,
    scram_iterations: u32,
    server_secret: Option<Secret>,
    digest_uri_any_host: bool,
    decoys: Option<Arc<Decoys>>,
    password_format: PasswordFormat,
}

impl ServerConfigBuilder {
    /// The realm for user names without `@realm` (default: the host name).
    pub fn user_realm(mut self, realm: &str) -> Self {
        self.user_realm = Some(realm.to_owned());
        self
    }

    /// The credential store (default: an empty [`MemoryStore`]).
    pub fn store(mut self, store: Arc<dyn Auxprop>) -> Self {
        self.store = Some(store);
        self
    }

    /// Checks PLAIN and LOGIN passwords with `checker` instead of the store.
    pub fn password_checker(mut self, checker: Arc<dyn PasswordChecker>) -> Self {
        self.password_checker = Some(checker);
        self
    }

    /// The enabled mechanisms, in the order they are offered (case-insensitive; default:
    /// all, strongest first). A `-PLUS` name also enables its base mechanism's binding.
    pub fn mechanisms<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.mechanisms = Some(names.into_iter().map(|n| n.as_ref().to_owned()).collect());
        self
    }

    /// The security flags every offered mechanism must satisfy (`noplaintext`, ...).
    pub fn flags(mut self, flags: SecurityFlags) -> Self {
        self.flags = flags;
        self
    }

    /// Who may act as whom (default: [`SameUserOnly`]).
    pub fn authorization(mut self, policy: Arc<dyn AuthorizationPolicy>) -> Self {
        self.authorization = Some(policy);
        self
    }

    /// Rewrites every user name a client sends before it is looked up or reported (default:
    /// names are used as sent). It sees the name as sent, `@realm` included, before the
    /// realm is split off.
    pub fn canonicalize_user(mut self, canonicalize: Arc<dyn CanonicalizeUser>) -> Self {
        self.canonicalize = Some(canonicalize);
        self
    }

    /// Where log messages go (default: [`NoLog`]).
    pub fn log(mut self, sink: Arc<dyn LogSink>) -> Self {
        self.log = Some(sink);
        self
    }

    /// The randomness source (default: [`OsRandom`]).
    pub fn random(mut self, random: Arc<dyn Random>) -> Self {
        self.random = Some(random);
        self
    }

    /// The PBKDF2 iteration count for SCRAM keys derived from a plaintext password (default
    /// 4096, Cyrus's `scram_iteration_counter`).
    pub fn scram_iterations(mut self, iterations: u32) -> Self {
        self.scram_iterations = iterations;
        self
    }

    /// The secret from which SCRAM derives stable fake salts for unknown users (default: 32
    /// bytes from the randomness source, so stable for the life of the configuration).
    pub fn server_secret(mut self, secret: Secret) -> Self {
        self.server_secret = Some(secret);
        self
    }

    /// Lets DIGEST-MD5 accept a `digest-uri` with any host name, for servers known by several
    /// names (default: the host must be this server's `fqdn`).
    pub fn digest_uri_any_host(mut self, any: bool) -> Self {
        self.digest_uri_any_host = any;
        self
    }

    /// Shares what unknown users cost with other configurations over the same store (the C
    /// library builds a configuration per connection; the cost must outlive each).
    pub fn decoys(mut self, decoys: Arc<Decoys>) -> Self {
        self.decoys = Some(decoys);
        self
    }

    /// How `userPassword` values are read (default [`PasswordFormat::Plain`]; Cyrus's
    /// `password_format`). With [`PasswordFormat::Crypt`] they are crypt(3) hashes or Dovecot
    /// `{SCHEME}` values: PLAIN and LOGIN verify against them, and CRAM-MD5, DIGEST-MD5 and
    /// SCRAM treat a user with only a hash as unknown.
    pub fn password_format(mut self, format: PasswordFormat) -> Self {
        self.password_format = format;
        self
    }

    /// Checks the settings and builds the configuration.
    pub fn build(self) -> Result<ServerConfig, Error> {
        let mechanisms = match &self.mechanisms {
            None => mech::MECHANISMS.iter().collect(),
            Some(names) => resolve_mechanisms(names)?,
        };
        if self.scram_iterations == 0 {
            return Err(Error::Config("scram_iterations must be at least 1".into()));
        }
        // A server without a store checks every password against nothing: almost certainly
        // a forgotten `.store(..)`. Only a password checker (saslauthd, ...) makes it whole.
        let store = match (self.store, &self.password_checker) {
            (Some(store), _) => store,
            (None, Some(_)) => Arc::new(MemoryStore::new()) as Arc<dyn Auxprop>,
            (None, None) => {
                return Err(Error::Config(
                    "no credential store: call ServerConfigBuilder::store (or password_checker)"
                        .into(),
                ));
            }
        };
        let random = self.random.unwrap_or_else(|| Arc::new(OsRandom));
        let server_secret = self.server_secret.unwrap_or_else(|| {
            let mut bytes = vec![0u8; 32];
            random.fill(&mut bytes);
            Secret::new(bytes)
        });
        Ok(ServerConfig {
            service: self.service,
            fqdn: self.fqdn,
            user_realm: self.user_realm,
            store,
            password_checker: self.password_checker,
            mechanisms,
            flags: self.flags,
            authorization: self.authorization.unwrap_or_else(|| Arc::new(SameUserOnly)),
            canonicalize: self.canonicalize,
            log: self.log.unwrap_or_else(|| Arc::new(NoLog)),
            random,
            scram_iterations: self.scram_iterations,
            server_secret,
            digest_uri_any_host: self.digest_uri_any_host,
            decoys: self.decoys.unwrap_or_default(),
            password_format: self.password_format,
        })
    }
}

/// Looks up mechanism names; a `-PLUS` name brings its base mechanism and the reverse.
fn resolve_mechanisms(names: &[String]) -> Result<Vec<&'static MechanismInfo>, Error> {
    let mut resolved: Vec<&'static MechanismInfo> = Vec::new();
    for name in names {
        let info =
            mech::find(name).ok_or_else(|| Error::Config(format!("unknown mechanism {name:?}")))?;
        let plus = format!("{}-PLUS", info.name);
        let base = info.name.strip_suffix("-PLUS");
        let related = [Some(info), mech::find(&plus), base.and_then(mech::find)];
        for info in related.into_iter().flatten() {
            if !resolved.iter().any(|known| std::ptr::eq(*known, info)) {
                resolved.push(info);
            }
        }
    }
    Ok(resolved)
}

/// What [`ServerSession::start`] and [`ServerSession::step`] return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerStep {
    /// Send this challenge (possibly empty) and pass the client's answer to
    /// [`ServerSession::step`].
    Continue(Vec<u8>),
    /// The client is authenticated.
    Done {
        /// Data to send with the success indication (or, if the protocol cannot carry it,
        /// as a last challenge whose empty answer the application then accepts).
        additional_data: Option<Vec<u8>>,
        /// The authenticated identity.
        identity: Identity,
    },
}

type State = crate::session::State<Box<dyn ServerMechanism>>;

/// One server-side authentication exchange.
pub struct ServerSession {
    config: Arc<ServerConfig>,
    channel_binding: Option<ChannelBinding>,
    properties: SecurityProperties,
    external_ssf: u32,
    external_identity: Option<String>,
    state: State,
    identity: Option<Identity>,
    attempted_user: Option<String>,
    layer: Layer,
}

impl fmt::Debug for ServerSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerSession")
            .field("mechanism", &self.mechanism())
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

impl ServerSession {
    /// A new session on `config`.
    pub fn new(config: Arc<ServerConfig>) -> Self {
        ServerSession {
            config,
            channel_binding: None,
            properties: SecurityProperties::default(),
            external_ssf: 0,
            external_identity: None,
            state: State::Idle,
            identity: None,
            attempted_user: None,
            layer: Layer::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Arc<ServerConfig> {
        &self.config
    }

    /// Sets the TLS channel binding; the `-PLUS` mechanisms are offered only with one.
    pub fn set_channel_binding(&mut self, binding: Option<ChannelBinding>) {
        self.channel_binding = binding;
    }

    /// Sets the application's security requirements (the configured flags are added).
    pub fn set_security_properties(&mut self, properties: SecurityProperties) {
        self.properties = properties;
    }

    /// The application's security requirements.
    pub fn security_properties(&self) -> &SecurityProperties {
        &self.properties
    }

    /// Sets the strength of an external security layer (TLS); with more than 1, plaintext
    /// mechanisms are allowed despite `noplaintext`, as in Cyrus.
    pub fn set_external_ssf(&mut self, ssf: u32) {
        self.external_ssf = ssf;
    }

    /// Sets the identity an external layer authenticated (a TLS client certificate's subject,
    /// a UNIX socket's peer); EXTERNAL is offered only with one (Cyrus's `SASL_AUTH_EXTERNAL`).
    pub fn set_external_identity(&mut self, identity: Option<String>) {
        self.external_identity = identity;
    }

    fn required_flags(&self) -> SecurityFlags {
        let mut flags = self.config.flags | self.properties.flags;
        if self.external_ssf > 1 {
            flags = SecurityFlags::from_bits(flags.bits() & !SecurityFlags::NOPLAINTEXT.bits());
        }
        flags
    }

    fn offers(&self, info: &MechanismInfo) -> bool {
        info.satisfies(self.required_flags())
            && match &self.channel_binding {
                Some(binding) => info.channel_binding || !binding.required,
                None => !info.channel_binding,
            }
            && info.max_ssf.saturating_add(self.external_ssf) >= self.properties.min_ssf
            && (info.name != mech::external::INFO.name || self.external_identity.is_some())
    }

    /// The mechanisms this session offers, in configured order.
    pub fn mechanisms(&self) -> Vec<&'static str> {
        self.config
            .mechanisms
            .iter()
            .filter(|info| self.offers(info))
            .map(|info| info.name)
            .collect()
    }

    /// Starts `mechanism` with the client's initial response, if any. `None` (no initial
    /// response) and `Some(b"")` (an empty one) are different things.
    pub fn start(&mut self, mechanism: &str, initial: Option<&[u8]>) -> Result<ServerStep, Error> {
        match &self.state {
            State::Idle => {}
            State::Failed(error) => return Err(error.clone()),
            State::Running(..) | State::Done(_) => {
                return Err(Error::State("start called twice"));
            }
        }
        let result = self.start_inner(mechanism, initial);
        self.settle(result)
    }

    fn start_inner(
        &mut self,
        name: &str,
        initial: Option<&[u8]>,
    ) -> Result<
        (
            &'static MechanismInfo,
            Box<dyn ServerMechanism>,
            ServerOutput,
        ),
        Error,
    > {
        let info = self
            .config
            .mechanisms
            .iter()
            .copied()
            .find(|info| info.name.eq_ignore_ascii_case(name) && self.offers(info))
            .ok_or_else(|| Error::NoMechanism(name.to_owned()))?;
        if let Some(initial) = initial {
            crate::error::check_len(initial, MAX_CLIENT_MESSAGE)?;
            if info.initial_response == InitialResponse::Forbidden {
                return Err(ProtocolError::UnexpectedInitialResponse.into());
            }
        }
        let mut mechanism = (info.new_server)();
        let mut ctx = self.context(info);
        let output = mechanism.start(&mut ctx, initial);
        self.attempted_user = ctx.attempted_user.take().or(self.attempted_user.take());
        Ok((info, mechanism, output?))
    }

    /// Handles the client's answer to the last challenge.
    pub fn step(&mut self, response: &[u8]) -> Result<ServerStep, Error> {
        let (info, mut mechanism) = match std::mem::replace(&mut self.state, State::Idle) {
            State::Running(info, mechanism) => (info, mechanism),
            State::Failed(error) => {
                self.state = State::Failed(error.clone());
                return Err(error);
            }
            State::Idle => return self.fail(Error::State("step before start")),
            State::Done(_) => return self.fail(Error::State("step after the exchange finished")),
        };
        let result = crate::error::check_len(response, MAX_CLIENT_MESSAGE).and_then(|()| {
            let mut ctx = self.context(info);
            let output = mechanism.step(&mut ctx, response);
            if let Some(user) = ctx.attempted_user.take() {
                self.attempted_user = Some(user);
            }
            output
        });
        self.settle(result.map(|output| (info, mechanism, output)))
    }

    fn context(&self, _info: &MechanismInfo) -> ServerContext<'_> {
        ServerContext {
            settings: self.config.settings(),
            channel_binding: self.channel_binding.as_ref(),
            properties: &self.properties,
            external_ssf: self.external_ssf,
            external_identity: self.external_identity.as_deref(),
            plus_offered: self.channel_binding.is_some()
                && self
                    .config
                    .mechanisms
                    .iter()
                    .any(|info| info.channel_binding && self.offers(info)),
            attempted_user: None,
        }
    }

    fn settle(
        &mut self,
        result: Result<
            (
                &'static MechanismInfo,
                Box<dyn ServerMechanism>,
                ServerOutput,
            ),
            Error,
        >,
    ) -> Result<ServerStep, Error> {
        match result {
            Err(error) => self.fail(error),
            Ok((info, mechanism, ServerOutput::Challenge(challenge))) => {
                self.state = State::Running(info, mechanism);
                Ok(ServerStep::Continue(challenge))
            }
            Ok((info, _, ServerOutput::Success(success))) => {
                let identity = success.identity;
                let requested = identity.authzid.as_ref().filter(|authzid| {
                    let (user, realm) = self.config.split_user(authzid);
                    user != identity.authcid || realm != identity.realm
                });
                if requested.is_none() && !self.config.authorization.authorize_self(&identity) {
                    self.config.log().log(
                        LogLevel::Fail,
                        &format!(
                            "{}@{} may not log in: refused by the authorization policy",
                            identity.authcid, identity.realm
                        ),
                    );
                    return self.fail(Error::AuthorizationFailed);
                }
                if let Some(authzid) = requested
                    && !self.config.authorization.authorize(&identity, authzid)
                {
                    self.config.log().log(
                        LogLevel::Fail,
                        &format!(
                            "{}@{} may not act as {authzid}: requested identity not authenticated identity",
                            identity.authcid, identity.realm
                        ),
                    );
                    self.attempted_user = Some(authzid.clone());
                    return self.fail(Error::AuthorizationFailed);
                }
                self.state = State::Done(info);
                self.layer.set(success.layer);
                self.identity = Some(identity.clone());
                Ok(ServerStep::Done {
                    additional_data: success.additional_data,
                    identity,
                })
            }
        }
    }

    fn fail<T>(&mut self, error: Error) -> Result<T, Error> {
        self.state.fail(error)
    }

    /// The mechanism in use, once started.
    pub fn mechanism(&self) -> Option<&'static str> {
        self.state.mechanism()
    }

    /// The authenticated identity, once the exchange succeeded.
    pub fn identity(&self) -> Option<&Identity> {
        self.identity.as_ref()
    }

    /// The user name the client claimed (as canonicalized, once it was), even if
    /// authentication failed (for logs).
    pub fn attempted_user(&self) -> Option<&str> {
        match &self.identity {
            Some(identity) => Some(&identity.authcid),
            None => self.attempted_user.as_deref(),
        }
    }

    /// The security strength factor of the negotiated layer (0 if none).
    pub fn ssf(&self) -> u32 {
        self.layer.ssf()
    }

    /// The most plaintext bytes one [`encode`](Self::encode) call may take.
    pub fn max_outbuf(&self) -> u32 {
        self.layer.max_outbuf(self.properties.max_buf_size)
    }

    /// Protects outgoing application data with the negotiated layer (a copy if none).
    pub fn encode(&mut self, data: &[u8]) -> Result<Vec<u8>, Error> {
        self.layer.encode(data)
    }

    /// Unwraps incoming application data with the negotiated layer (a copy if none).
    pub fn decode(&mut self, data: &[u8]) -> Result<Vec<u8>, Error> {
        self.layer.decode(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> ServerSession {
        let config = ServerConfig::builder("imap", "mail.example.org")
            .store(Arc::new(MemoryStore::new()))
            .random(Arc::new(crate::random::FixedRandom::new(1)))
            .build();
        ServerSession::new(Arc::new(config.unwrap()))
    }

    #[test]
    fn a_forgotten_store_is_an_error() {
        let built = ServerConfig::builder("imap", "mail.example.org").build();
        assert!(matches!(built, Err(Error::Config(_))));
        let with_checker = ServerConfig::builder("imap", "mail.example.org")
            .password_checker(Arc::new(crate::pwcheck::AlwaysTrue))
            .build();
        assert!(with_checker.is_ok());
    }

    #[test]
    fn huge_external_ssf_does_not_overflow() {
        // SASL_SSF_EXTERNAL is whatever the application sets; any value must work.
        let mut session = session();
        session.set_external_ssf(u32::MAX);
        session.set_security_properties(SecurityProperties {
            min_ssf: u32::MAX,
            ..SecurityProperties::default()
        });
        assert!(session.mechanisms().contains(&"SCRAM-SHA-256"));
        assert!(session.mechanisms().contains(&"DIGEST-MD5"));
    }
}
