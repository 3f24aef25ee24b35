//! The client side: a [`ClientConfig`] with credentials and one [`ClientSession`] per
//! connection.
//!
//! # Driving a session
//!
//! ```
//! use std::sync::Arc;
//! use puresasl::{ClientConfig, ClientSession, Credentials};
//!
//! let config = Arc::new(ClientConfig::new(
//!     "smtp",
//!     "mail.example.org",
//!     Arc::new(Credentials::new("tim", "tanstaaftanstaaf")),
//! ));
//! let mut session = ClientSession::new(config);
//! // The server offered `AUTH PLAIN LOGIN`:
//! let start = session.start("PLAIN LOGIN")?;
//! assert_eq!(start.mechanism, "PLAIN");
//! assert_eq!(start.initial_response.as_deref(), Some(&b"\0tim\0tanstaaftanstaaf"[..]));
//! # Ok::<(), puresasl::Error>(())
//! ```
//!
//! Send the initial response (or, if the protocol cannot carry one, send it as the answer to
//! the server's first, empty, challenge); pass every further challenge to
//! [`ClientSession::step`].

pub use crate::mech::context::CredentialSource;
use crate::mech::context::{ClientContext, ClientSettings};
use crate::session::Layer;
use std::fmt;
use std::sync::Arc;

use crate::error::Error;
use crate::keys::ScramKeyCache;
use crate::log::{LogSink, NoLog};
use crate::mech::{self, ClientMechanism, ClientOutput, MechanismInfo};
use crate::random::{OsRandom, Random};
use crate::secret::Secret;
use crate::security::{ChannelBinding, SecurityFlags, SecurityProperties};

/// Upper bound on any single server message.
pub const MAX_SERVER_MESSAGE: usize = 64 * 1024;

/// Fixed client credentials.
pub struct Credentials {
    authcid: String,
    password: Secret,
    authzid: Option<String>,
    realm: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("authcid", &self.authcid)
            .field("password", &self.password)
            .field("authzid", &self.authzid)
            .field("realm", &self.realm)
            .finish()
    }
}

impl Credentials {
    /// `authcid` with `password`.
    pub fn new(authcid: &str, password: &str) -> Self {
        Credentials {
            authcid: authcid.to_owned(),
            password: Secret::from(password),
            authzid: None,
            realm: None,
        }
    }

    /// Also asks to act as `authzid`.
    pub fn with_authzid(mut self, authzid: &str) -> Self {
        self.authzid = Some(authzid.to_owned());
        self
    }

    /// Uses `realm` instead of the server's first offer (DIGEST-MD5).
    pub fn with_realm(mut self, realm: &str) -> Self {
        self.realm = Some(realm.to_owned());
        self
    }
}

impl CredentialSource for Credentials {
    fn authcid(&self) -> Option<String> {
        Some(self.authcid.clone())
    }
    fn password(&self) -> Option<Secret> {
        Some(self.password.duplicate())
    }
    fn authzid(&self) -> Option<String> {
        self.authzid.clone()
    }
    fn realm(&self, offered: &[String]) -> Option<String> {
        self.realm.clone().or_else(|| offered.first().cloned())
    }
}

/// Client configuration, shared by sessions.
pub struct ClientConfig {
    service: String,
    server_fqdn: String,
    credentials: Arc<dyn CredentialSource>,
    flags: SecurityFlags,
    mechanisms: Option<Vec<&'static MechanismInfo>>,
    random: Arc<dyn Random>,
    log: Arc<dyn LogSink>,
    scram_min_iterations: u32,
    scram_max_iterations: u32,
    scram_key_cache: Option<Arc<ScramKeyCache>>,
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("service", &self.service)
            .field("server_fqdn", &self.server_fqdn)
            .field("flags", &self.flags)
            .finish_non_exhaustive()
    }
}

impl ClientConfig {
    /// A client of `service` on `server_fqdn` authenticating with `credentials`; all
    /// mechanisms allowed, OS randomness, SCRAM iteration counts from 4096 to 10,000,000.
    pub fn new(service: &str, server_fqdn: &str, credentials: Arc<dyn CredentialSource>) -> Self {
        ClientConfig {
            service: service.to_owned(),
            server_fqdn: server_fqdn.to_owned(),
            credentials,
            flags: SecurityFlags::NONE,
            mechanisms: None,
            random: Arc::new(OsRandom),
            log: Arc::new(NoLog),
            scram_min_iterations: 4096,
            scram_max_iterations: 10_000_000,
            scram_key_cache: None,
        }
    }

    /// Requires these security flags of the chosen mechanism.
    pub fn with_flags(mut self, flags: SecurityFlags) -> Self {
        self.flags = flags;
        self
    }

    /// Allows only these mechanisms (the preference order stays strongest first).
    pub fn with_mechanisms<I, S>(mut self, names: I) -> Result<Self, Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let names = names.into_iter();
        let mut allowed = Vec::with_capacity(names.size_hint().0);
        for name in names {
            let name = name.as_ref();
            allowed.push(
                mech::find(name)
                    .ok_or_else(|| Error::Config(format!("unknown mechanism {name:?}")))?,
            );
        }
        self.mechanisms = Some(allowed);
        Ok(self)
    }

    /// Uses `random` for nonces.
    pub fn with_random(mut self, random: Arc<dyn Random>) -> Self {
        self.random = random;
        self
    }

    /// Sends log messages to `sink`.
    pub fn with_log(mut self, sink: Arc<dyn LogSink>) -> Self {
        self.log = sink;
        self
    }

    /// Bounds the SCRAM iteration count a server may ask for (a hostile server could
    /// otherwise make the client spin).
    pub fn with_scram_iterations(mut self, min: u32, max: u32) -> Self {
        self.scram_min_iterations = min;
        self.scram_max_iterations = max;
        self
    }

    /// Keeps the keys SCRAM derives from the password in `cache` (shared with other
    /// configurations if wished), so a later login with the same password, salt and iteration
    /// count skips the PBKDF2 derivation, as RFC 5802 allows. None by default: every login
    /// derives. See [`ScramKeyCache`] for what it keeps.
    pub fn with_scram_key_cache(mut self, cache: Arc<ScramKeyCache>) -> Self {
        self.scram_key_cache = Some(cache);
        self
    }

    /// The service name.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// The server's host name.
    pub fn server_fqdn(&self) -> &str {
        &self.server_fqdn
    }

    /// The accepted SCRAM iteration counts, inclusive.
    pub fn scram_iteration_bounds(&self) -> (u32, u32) {
        (self.scram_min_iterations, self.scram_max_iterations)
    }

    fn allows(&self, info: &MechanismInfo) -> bool {
        self.mechanisms
            .as_ref()
            .is_none_or(|allowed| allowed.iter().any(|a| std::ptr::eq(*a, info)))
    }
}

/// What [`ClientSession::start`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientStart {
    /// The chosen mechanism.
    pub mechanism: &'static str,
    /// The initial response, if the mechanism has one.
    pub initial_response: Option<Vec<u8>>,
    /// Whether the initial response is the client's last message (PLAIN): the client is done
    /// once it is sent. (A server that ignores it and sends an empty challenge instead still
    /// gets it from [`ClientSession::step`].)
    pub done: bool,
}

/// What [`ClientSession::step`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientStep {
    /// Send this response; the server has more to say.
    Continue(Vec<u8>),
    /// Send this response if there is one (an empty answer otherwise, if the server is
    /// waiting for one); the client is satisfied and the server should now report success.
    Done(Option<Vec<u8>>),
}

type State = crate::session::State<Box<dyn ClientMechanism>>;

/// Where a running exchange paused with [`Error::NeedCredentials`].
enum Paused {
    /// In [`ClientSession::start`].
    Start,
    /// In [`ClientSession::step`], on this challenge.
    Step(Vec<u8>),
}

/// One client-side authentication exchange.
pub struct ClientSession {
    config: Arc<ClientConfig>,
    channel_binding: Option<ChannelBinding>,
    properties: SecurityProperties,
    external_identity: Option<String>,
    state: State,
    server_offered_plus: bool,
    layer: Layer,
    paused: Option<Paused>,
}

impl fmt::Debug for ClientSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientSession")
            .field("mechanism", &self.mechanism())
            .finish_non_exhaustive()
    }
}

impl ClientSession {
    /// A new session on `config`.
    pub fn new(config: Arc<ClientConfig>) -> Self {
        ClientSession {
            config,
            channel_binding: None,
            properties: SecurityProperties::default(),
            external_identity: None,
            state: State::Idle,
            server_offered_plus: false,
            layer: Layer::default(),
            paused: None,
        }
    }

    /// Sets the TLS channel binding, enabling the `-PLUS` mechanisms.
    pub fn set_channel_binding(&mut self, binding: Option<ChannelBinding>) {
        self.channel_binding = binding;
    }

    /// Sets the security requirements (the configured flags are added).
    pub fn set_security_properties(&mut self, properties: SecurityProperties) {
        self.properties = properties;
    }

    /// Sets the identity an external layer authenticated this client as (a TLS client
    /// certificate); EXTERNAL is chosen only with one (Cyrus's `SASL_AUTH_EXTERNAL`).
    pub fn set_external_identity(&mut self, identity: Option<String>) {
        self.external_identity = identity;
    }

    /// The mechanism this client would pick from the server's list: the strongest one it
    /// allows that the server offers and that meets the flags. Names in `server_list` are
    /// separated by anything but letters, digits, `-` and `_`, and compare case-insensitively.
    pub fn choose(&self, server_list: &str) -> Result<&'static MechanismInfo, Error> {
        let offered: Vec<&str> = server_list
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .filter(|name| !name.is_empty())
            .collect();
        let required = self.config.flags | self.properties.flags;
        mech::MECHANISMS
            .iter()
            .find(|info| {
                offered
                    .iter()
                    .any(|name| name.eq_ignore_ascii_case(info.name))
                    && self.config.allows(info)
                    && info.satisfies(required)
                    && match &self.channel_binding {
                        Some(binding) => info.channel_binding || !binding.required,
                        None => !info.channel_binding,
                    }
                    && info.max_ssf >= self.properties.min_ssf
                    && (info.name != mech::external::INFO.name || self.external_identity.is_some())
            })
            .ok_or_else(|| Error::NoMechanism(server_list.to_owned()))
    }

    /// Picks a mechanism from the server's list (see [`choose`](Self::choose)) and starts it.
    ///
    /// If the mechanism needs credentials its source will ask the user for, this returns
    /// [`Error::NeedCredentials`] and the session stays on the chosen mechanism: call `start`
    /// again (the list is then not looked at) once the source has the answers.
    pub fn start(&mut self, server_list: &str) -> Result<ClientStart, Error> {
        match &self.state {
            State::Idle => {}
            State::Running(..) if matches!(self.paused, Some(Paused::Start)) => {
                return self.resume_start();
            }
            State::Failed(error) => return Err(error.clone()),
            State::Running(..) | State::Done(_) => return Err(Error::State("start called twice")),
        }
        let result = self
            .choose(server_list)
            .map_err(|e| (None, e))
            .and_then(|info| {
                let plus = format!("{}-PLUS", info.name);
                self.server_offered_plus = server_list
                    .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                    .any(|name| name.eq_ignore_ascii_case(&plus));
                let mut mechanism = (info.new_client)();
                match mechanism.start(&mut self.context()) {
                    Ok(initial) => Ok((info, mechanism, initial)),
                    Err(error) => Err((Some((info, mechanism)), error)),
                }
            });
        match result {
            Ok((info, mechanism, initial_response)) => {
                let done = initial_response.is_some() && mechanism.done_after_initial_response();
                self.state = State::Running(info, mechanism);
                Ok(ClientStart {
                    mechanism: info.name,
                    initial_response,
                    done,
                })
            }
            Err((Some((info, mechanism)), error @ Error::NeedCredentials(_))) => {
                self.state = State::Running(info, mechanism);
                self.paused = Some(Paused::Start);
                Err(error)
            }
            Err((_, error)) => self.fail(error),
        }
    }

    /// Repeats the mechanism's start after [`Error::NeedCredentials`].
    fn resume_start(&mut self) -> Result<ClientStart, Error> {
        let State::Running(info, mut mechanism) = std::mem::replace(&mut self.state, State::Idle)
        else {
            return self.fail(Error::State("no paused start"));
        };
        self.paused = None;
        match mechanism.start(&mut self.context()) {
            Ok(initial_response) => {
                let done = initial_response.is_some() && mechanism.done_after_initial_response();
                self.state = State::Running(info, mechanism);
                Ok(ClientStart {
                    mechanism: info.name,
                    initial_response,
                    done,
                })
            }
            Err(error @ Error::NeedCredentials(_)) => {
                self.state = State::Running(info, mechanism);
                self.paused = Some(Paused::Start);
                Err(error)
            }
            Err(error) => self.fail(error),
        }
    }

    /// Handles the server's next challenge (or its additional data with success).
    ///
    /// After [`Error::NeedCredentials`], call it again once the source has the answers: the
    /// challenge that paused the exchange is used again, whatever `challenge` is now (C
    /// applications pass it again, or nothing).
    ///
    /// After `start` paused, `step` carries the start on (as Cyrus's `sasl_client_step` does,
    /// which isync calls instead of `sasl_client_start`): the response is the initial one.
    pub fn step(&mut self, challenge: &[u8]) -> Result<ClientStep, Error> {
        if matches!(self.paused, Some(Paused::Start)) {
            let start = self.resume_start()?;
            let response = start.initial_response.unwrap_or_default();
            return Ok(if start.done {
                ClientStep::Done(Some(response))
            } else {
                ClientStep::Continue(response)
            });
        }
        let kept = match self.paused.take() {
            Some(Paused::Step(kept)) => Some(kept),
            _ => None,
        };
        let challenge = kept.as_deref().unwrap_or(challenge);
        let (info, mut mechanism) = match std::mem::replace(&mut self.state, State::Idle) {
            State::Running(info, mechanism) => (info, mechanism),
            State::Failed(error) => {
                self.state = State::Failed(error.clone());
                return Err(error);
            }
            State::Idle => return self.fail(Error::State("step before start")),
            State::Done(_) => return self.fail(Error::State("step after the exchange finished")),
        };
        let output = crate::error::check_len(challenge, MAX_SERVER_MESSAGE)
            .and_then(|()| mechanism.step(&mut self.context(), challenge));
        match output {
            Ok(ClientOutput::Continue(response)) => {
                self.state = State::Running(info, mechanism);
                Ok(ClientStep::Continue(response))
            }
            Ok(ClientOutput::Done { response, layer }) => {
                self.state = State::Done(info);
                self.layer.set(layer);
                Ok(ClientStep::Done(response))
            }
            Err(error @ Error::NeedCredentials(_)) => {
                self.state = State::Running(info, mechanism);
                self.paused = Some(Paused::Step(challenge.to_vec()));
                Err(error)
            }
            Err(error) => self.fail(error),
        }
    }

    fn context(&self) -> ClientContext<'_> {
        ClientContext {
            settings: ClientSettings {
                service: &self.config.service,
                server_fqdn: &self.config.server_fqdn,
                credentials: self.config.credentials.as_ref(),
                random: self.config.random.as_ref(),
                scram_iteration_bounds: self.config.scram_iteration_bounds(),
                scram_key_cache: self.config.scram_key_cache.as_deref(),
            },
            channel_binding: self.channel_binding.as_ref(),
            properties: &self.properties,
            server_offered_plus: self.server_offered_plus,
        }
    }

    fn fail<T>(&mut self, error: Error) -> Result<T, Error> {
        self.state.fail(error)
    }

    /// The chosen mechanism, once started.
    pub fn mechanism(&self) -> Option<&'static str> {
        self.state.mechanism()
    }

    /// Whether the client side of the exchange is complete.
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done(_))
    }

    /// The security strength factor of the negotiated layer (0 if none).
    pub fn ssf(&self) -> u32 {
        self.layer.ssf()
    }

    /// The most plaintext bytes one security-layer packet carries (Cyrus's `SASL_MAXOUTBUF`);
    /// [`encode`](Self::encode) splits longer data into several packets.
    pub fn max_outbuf(&self) -> u32 {
        self.layer.max_outbuf(self.properties.max_buf_size)
    }

    /// Protects outgoing application data with the negotiated layer (a copy if none), in as
    /// many packets as its length needs.
    pub fn encode(&mut self, data: &[u8]) -> Result<Vec<u8>, Error> {
        self.layer.encode(data)
    }

    /// Unwraps incoming application data with the negotiated layer (a copy if none). The
    /// input may end inside a packet (the rest is awaited) or hold several packets.
    pub fn decode(&mut self, data: &[u8]) -> Result<Vec<u8>, Error> {
        self.layer.decode(data)
    }
}
