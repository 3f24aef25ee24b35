//! The SCRAM server (RFC 5802 sections 5 to 7).
//!
//! States: `Start` → `ExpectClientFirst` (only when the client sent no initial response) →
//! `ExpectClientFinal` → done.
//!
//! Keys come from the store as RFC 5803 stored keys for this hash; failing that they are
//! derived from the plaintext `userPassword` with a salt derived from the server secret and
//! the user name (so it is stable) and the configured iteration count. An unknown user gets
//! fake keys made the same way from the server secret, runs the same steps and fails at the
//! proof, exactly like a wrong password.
//!
//! A failed client-final ends the exchange at once with the error (as Cyrus does: SMTP then
//! answers 535), rather than sending `e=` as a further challenge: SASL profiles carry the
//! outcome themselves, and an extra round trip would only make clients abort instead of
//! seeing an authentication failure.
//!
//! Timing: an unknown user costs what the server's known users cost (see
//! [`crate::credentials::Decoys`]): with stored keys (what
//! [`crate::credentials::set_password`] writes by default) a few HMACs and the stored
//! iteration count; with only plaintext passwords a PBKDF2 derivation at client-first and the
//! configured count. What still tells users apart: a store mixing users with keys and users
//! with only plaintext, or keys of several iteration counts, gives an unknown user the cost and
//! count of the last known user seen, so users unlike that one stand out.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::NONCE_LEN;
use super::parse::{self, CbFlag};
use crate::credentials::Decoy;
use crate::error::{Error, ProtocolError, malformed};
use crate::keys::{ScramHash, StoredKeys, normalize_password};
use crate::log::LogLevel;
use crate::mech::context::{Identity, ServerContext};
use crate::mech::{MAX_FIELD, ServerMechanism, ServerOutput, Success};
use crate::secret::Secret;

/// Length of salts the server derives (the same as [`crate::credentials::set_password`]'s
/// random salts, so stored and derived salts look alike).
const DERIVED_SALT_LEN: usize = 16;

/// The salt for `user` in `realm` when the store holds no SCRAM keys for `hash`:
/// `HMAC-SHA-256(server secret, mechanism NUL user NUL realm)`, truncated. Stable per user,
/// unpredictable without the secret, and the same whether or not the user exists.
pub(crate) fn derived_salt(secret: &[u8], hash: ScramHash, user: &str, realm: &str) -> Vec<u8> {
    let mut salt = ScramHash::Sha256.hmac(
        secret,
        &[
            b"puresasl SCRAM salt\0",
            hash.mechanism_name().as_bytes(),
            b"\0",
            user.as_bytes(),
            b"\0",
            realm.as_bytes(),
        ],
    );
    salt.truncate(DERIVED_SALT_LEN);
    salt
}

/// Keys for a user who does not exist: random-looking, stable, and never matching a proof
/// (the exchange also carries `known = false`, so a collision could not succeed either).
fn fake_keys(
    secret: &[u8],
    hash: ScramHash,
    user: &str,
    realm: &str,
    iterations: u32,
) -> StoredKeys {
    let key = |label: &[u8]| {
        Secret::new(hash.hmac(
            secret,
            &[
                label,
                hash.mechanism_name().as_bytes(),
                b"\0",
                user.as_bytes(),
                b"\0",
                realm.as_bytes(),
            ],
        ))
    };
    StoredKeys {
        hash,
        iterations,
        salt: derived_salt(secret, hash, user, realm),
        stored_key: key(b"puresasl SCRAM fake StoredKey\0"),
        server_key: key(b"puresasl SCRAM fake ServerKey\0"),
    }
}

/// The state kept between server-first and client-final.
struct Exchange {
    gs2_header: String,
    cb_data: Vec<u8>,
    client_first_bare: String,
    server_first: String,
    nonce: String,
    keys: StoredKeys,
    known: bool,
    identity: Identity,
}

enum State {
    Start,
    ExpectClientFirst,
    ExpectClientFinal(Box<Exchange>),
    Finished,
}

/// The server side of one SCRAM mechanism.
pub(crate) struct ScramServer {
    hash: ScramHash,
    plus: bool,
    state: State,
}

impl ScramServer {
    pub(crate) fn new(hash: ScramHash, plus: bool) -> Self {
        ScramServer {
            hash,
            plus,
            state: State::Start,
        }
    }

    fn mechanism(&self) -> String {
        let base = self.hash.mechanism_name();
        if self.plus {
            format!("{base}-PLUS")
        } else {
            base.to_owned()
        }
    }

    /// Handles client-first: checks the GS2 header, looks the user up, sends server-first.
    fn client_first(
        &mut self,
        ctx: &mut ServerContext<'_>,
        message: &[u8],
    ) -> Result<ServerOutput, Error> {
        let first = parse::client_first(message)?;
        let cb_data = self.check_gs2_flag(ctx, first.gs2.flag)?;

        let username = match stringprep::saslprep(&first.username) {
            Ok(name) if !name.is_empty() && name.len() <= MAX_FIELD => name.into_owned(),
            _ => {
                return Err(malformed(
                    "SCRAM user name fails SASLprep (invalid-username-encoding)",
                ));
            }
        };
        ctx.note_user(&username);
        let identity = ctx.identity(&username, first.gs2.authzid.as_deref())?;

        let secret = ctx.server_secret();
        let iterations = ctx.settings.scram_iterations;
        let credentials = ctx.credentials(&identity.authcid, &identity.realm);
        let decoys = ctx.settings.decoys;
        let (keys, known) = match credentials.scram_keys(self.hash)? {
            // Known users teach nothing here: the decoys describe what a password check
            // (PLAIN, LOGIN) of a typical user costs, which this mechanism's hash need not be;
            // SCRAM only reads them, for its unknown users' work and iteration count.
            Some(keys) => (keys, true),
            None => match credentials.password()? {
                Some(password) => {
                    let salt = derived_salt(secret, self.hash, &identity.authcid, &identity.realm);
                    let password = normalize_password(password.expose());
                    let keys = StoredKeys::derive(self.hash, password.expose(), &salt, iterations);
                    (keys, true)
                }
                None => {
                    // The same work and the same iteration count as the users this server
                    // knows: a PBKDF2 derivation where they have only a plaintext password,
                    // their stored count where they have keys.
                    let format = ctx.settings.password_format;
                    let iterations = match decoys.current(ctx.settings.store, format) {
                        Decoy::Compare => {
                            let salt = derived_salt(secret, self.hash, "", "");
                            let _ = StoredKeys::derive(self.hash, b"", &salt, iterations);
                            iterations
                        }
                        Decoy::Derive { iterations, .. } => iterations,
                        // Users with only a hash are unknown to SCRAM: this same path.
                        Decoy::Crypt(_) => iterations,
                    };
                    let keys = fake_keys(
                        secret,
                        self.hash,
                        &identity.authcid,
                        &identity.realm,
                        iterations,
                    );
                    (keys, false)
                }
            },
        };

        let nonce = format!("{}{}", first.nonce, ctx.settings.random.nonce(NONCE_LEN));
        parse::check_nonce(&nonce)
            .map_err(|_| Error::Config("the randomness source made an invalid nonce".into()))?;
        let server_first = format!(
            "r={nonce},s={},i={}",
            STANDARD.encode(&keys.salt),
            keys.iterations
        );
        self.state = State::ExpectClientFinal(Box::new(Exchange {
            gs2_header: first.gs2.raw.to_owned(),
            cb_data,
            client_first_bare: first.bare.to_owned(),
            server_first: server_first.clone(),
            nonce,
            keys,
            known,
            identity,
        }));
        Ok(ServerOutput::Challenge(server_first.into_bytes()))
    }

    /// Applies RFC 5802 section 6 to the GS2 flag; returns the channel-binding data that
    /// `c=` must carry after the header.
    fn check_gs2_flag(&self, ctx: &ServerContext<'_>, flag: CbFlag<'_>) -> Result<Vec<u8>, Error> {
        match (self.plus, flag) {
            (true, CbFlag::Bound(name)) => match ctx.channel_binding {
                Some(binding) if binding.kind.name() == name => Ok(binding.data.clone()),
                _ => {
                    ctx.log(
                        LogLevel::Fail,
                        &format!(
                            "{}: unsupported channel binding type {name}",
                            self.mechanism()
                        ),
                    );
                    Err(Error::ChannelBinding("unsupported-channel-binding-type"))
                }
            },
            (true, _) => Err(Error::ChannelBinding(
                "a -PLUS mechanism requires the p= channel-binding flag",
            )),
            (false, CbFlag::Bound(_)) => Err(Error::ChannelBinding(
                "channel binding requested with a mechanism without -PLUS",
            )),
            (false, CbFlag::ClientOnly) if ctx.plus_offered => {
                ctx.log(
                    LogLevel::Fail,
                    &format!(
                        "{}: client thinks the server does not support channel binding (downgrade attack?)",
                        self.mechanism()
                    ),
                );
                Err(Error::ChannelBinding("server-does-support-channel-binding"))
            }
            (false, _) => Ok(Vec::new()),
        }
    }

    /// Handles client-final: checks nonce, channel binding and proof.
    fn client_final(
        &mut self,
        ctx: &mut ServerContext<'_>,
        exchange: Exchange,
        message: &[u8],
    ) -> Result<ServerOutput, Error> {
        let hash = self.hash;
        let last = parse::client_final(message, hash.output_len())?;
        let user = || format!("{}@{}", exchange.identity.authcid, exchange.identity.realm);

        if last.nonce != exchange.nonce {
            ctx.log(
                LogLevel::Fail,
                &format!("{}: nonce mismatch for {}", self.mechanism(), user()),
            );
            return Err(malformed("SCRAM nonce mismatch"));
        }
        // `c=` must be the GS2 header followed by the binding data (both public to the peer).
        let binding = last
            .channel_binding
            .strip_prefix(exchange.gs2_header.as_bytes());
        if binding != Some(exchange.cb_data.as_slice()) {
            ctx.log(
                LogLevel::Fail,
                &format!(
                    "{}: channel binding mismatch for {}",
                    self.mechanism(),
                    user()
                ),
            );
            return Err(Error::ChannelBinding("channel-bindings-dont-match"));
        }

        let auth_message = [
            exchange.client_first_bare.as_bytes(),
            b",",
            exchange.server_first.as_bytes(),
            b",",
            last.without_proof.as_bytes(),
        ];
        let keys = &exchange.keys;
        let (proof_ok, server_signature) = hash.verify_proof(
            keys.stored_key.expose(),
            keys.server_key.expose(),
            &auth_message,
            &last.proof,
        );

        if proof_ok && exchange.known {
            self.state = State::Finished;
            let mut verifier = b"v=".to_vec();
            verifier.extend_from_slice(STANDARD.encode(server_signature).as_bytes());
            return Ok(ServerOutput::Success(Success {
                identity: exchange.identity,
                additional_data: Some(verifier),
                layer: None,
            }));
        }
        let reason = if exchange.known {
            "invalid proof (wrong password)"
        } else {
            "user not found"
        };
        ctx.log(
            LogLevel::Fail,
            &format!("{}: {reason} for {}", self.mechanism(), user()),
        );
        Err(Error::AuthenticationFailed)
    }
}

impl ServerMechanism for ScramServer {
    fn start(
        &mut self,
        ctx: &mut ServerContext<'_>,
        initial: Option<&[u8]>,
    ) -> Result<ServerOutput, Error> {
        if !matches!(self.state, State::Start) {
            return Err(ProtocolError::UnexpectedMessage.into());
        }
        self.state = State::Finished;
        match initial {
            Some(message) => self.client_first(ctx, message),
            None => {
                self.state = State::ExpectClientFirst;
                Ok(ServerOutput::Challenge(Vec::new()))
            }
        }
    }

    fn step(
        &mut self,
        ctx: &mut ServerContext<'_>,
        response: &[u8],
    ) -> Result<ServerOutput, Error> {
        match std::mem::replace(&mut self.state, State::Finished) {
            State::ExpectClientFirst => self.client_first(ctx, response),
            State::ExpectClientFinal(exchange) => self.client_final(ctx, *exchange, response),
            State::Start | State::Finished => Err(ProtocolError::UnexpectedMessage.into()),
        }
    }
}
