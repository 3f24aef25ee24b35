//! The SCRAM client (RFC 5802 sections 5 to 7).
//!
//! States: `Start` → `ExpectServerFirst` (client-first sent) → `ExpectServerFinal`
//! (client-final sent) → `Finished` once the server signature checks out.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::parse::{self, ServerFinal};
use super::{NONCE_LEN, xor};
use crate::error::{CredentialKind, Error, ProtocolError, malformed};
use crate::keys::{ClientKeys, ScramHash, normalize_password};
use crate::mech::context::ClientContext;
use crate::mech::{ClientMechanism, ClientOutput};
use crate::secret::{Secret, digests_equal};

/// What the client remembers after sending client-first.
struct FirstSent {
    gs2_header: String,
    cb_data: Vec<u8>,
    bare: String,
    nonce: String,
    password: Secret,
    /// Whether client-first was already re-sent after an empty challenge.
    resent: bool,
}

enum State {
    Start,
    ExpectServerFirst(Box<FirstSent>),
    ExpectServerFinal { server_signature: Secret },
    Finished,
}

/// The client side of one SCRAM mechanism.
pub(crate) struct ScramClient {
    hash: ScramHash,
    plus: bool,
    state: State,
}

impl ScramClient {
    pub(crate) fn new(hash: ScramHash, plus: bool) -> Self {
        ScramClient {
            hash,
            plus,
            state: State::Start,
        }
    }

    /// Handles server-first: checks nonce and iteration count, derives the keys (or takes
    /// them from the configuration's key cache), answers with client-final.
    fn server_first(
        &mut self,
        ctx: &ClientContext<'_>,
        sent: FirstSent,
        message: &[u8],
    ) -> Result<ClientOutput, Error> {
        let first = parse::server_first(message)?;
        match first.nonce.strip_prefix(sent.nonce.as_str()) {
            Some(server_part) if !server_part.is_empty() => {}
            _ => {
                return Err(malformed(
                    "SCRAM server nonce does not extend the client nonce",
                ));
            }
        }
        let (min, max) = ctx.settings.scram_iteration_bounds;
        if first.iterations < min || first.iterations > max {
            return Err(malformed(
                "SCRAM iteration count outside the configured bounds",
            ));
        }

        let hash = self.hash;
        let password = sent.password.expose();
        let keys = match ctx.settings.scram_key_cache {
            Some(cache) => cache.client_keys(hash, password, &first.salt, first.iterations),
            None => ClientKeys::derive(hash, password, &first.salt, first.iterations),
        };
        let mut binding = sent.gs2_header.into_bytes();
        binding.extend_from_slice(&sent.cb_data);
        let without_proof = format!("c={},r={}", STANDARD.encode(&binding), first.nonce);
        let auth_message = [
            sent.bare.as_bytes(),
            b",",
            message,
            b",",
            without_proof.as_bytes(),
        ];
        let client_signature = Secret::new(hash.hmac(keys.stored_key.expose(), &auth_message));
        let proof = xor(keys.client_key.expose(), client_signature.expose());
        let server_signature = Secret::new(hash.hmac(keys.server_key.expose(), &auth_message));
        self.state = State::ExpectServerFinal { server_signature };
        Ok(ClientOutput::Continue(
            format!("{without_proof},p={}", STANDARD.encode(proof)).into_bytes(),
        ))
    }
}

impl ClientMechanism for ScramClient {
    fn start(&mut self, ctx: &mut ClientContext<'_>) -> Result<Option<Vec<u8>>, Error> {
        if !matches!(self.state, State::Start) {
            return Err(Error::State("SCRAM client started twice"));
        }
        let gathered = ctx.gather(
            &[
                CredentialKind::Authcid,
                CredentialKind::Authzid,
                CredentialKind::Password,
            ],
            &[],
        )?;
        let authcid = gathered.authcid()?;
        let username = match stringprep::saslprep(&authcid) {
            Ok(name) if !name.is_empty() => name.into_owned(),
            _ => {
                return Err(Error::Config(
                    "the user name is not valid under SASLprep (RFC 4013)".into(),
                ));
            }
        };
        let password = normalize_password(gathered.password()?.expose());

        let (flag, cb_data) = match (self.plus, ctx.channel_binding) {
            (true, Some(binding)) => {
                if !parse::check_cb_name(binding.kind.name())
                    || binding.data.len() > parse::MAX_CB_DATA
                {
                    return Err(Error::ChannelBinding(
                        "invalid channel binding type or data",
                    ));
                }
                (format!("p={}", binding.kind), binding.data.clone())
            }
            (true, None) => return Err(Error::ChannelBinding("no channel binding data")),
            // We could bind but the server did not offer -PLUS: say so, so a server that
            // does support it detects the downgrade.
            (false, Some(_)) if !ctx.server_offered_plus => ("y".to_owned(), Vec::new()),
            (false, _) => ("n".to_owned(), Vec::new()),
        };
        let authzid = gathered
            .authzid
            .map(|z| format!("a={}", parse::encode_saslname(&z)))
            .unwrap_or_default();
        let nonce = ctx.random().nonce(NONCE_LEN);
        parse::check_nonce(&nonce)
            .map_err(|_| Error::Config("the randomness source made an invalid nonce".into()))?;

        let gs2_header = format!("{flag},{authzid},");
        let bare = format!("n={},r={nonce}", parse::encode_saslname(&username));
        let message = format!("{gs2_header}{bare}").into_bytes();
        self.state = State::ExpectServerFirst(Box::new(FirstSent {
            gs2_header,
            cb_data,
            bare,
            nonce,
            password,
            resent: false,
        }));
        Ok(Some(message))
    }

    fn step(
        &mut self,
        ctx: &mut ClientContext<'_>,
        challenge: &[u8],
    ) -> Result<ClientOutput, Error> {
        match std::mem::replace(&mut self.state, State::Finished) {
            State::ExpectServerFirst(mut sent) if challenge.is_empty() && !sent.resent => {
                // The protocol could not carry the initial response: send it now.
                sent.resent = true;
                let message = format!("{}{}", sent.gs2_header, sent.bare).into_bytes();
                self.state = State::ExpectServerFirst(sent);
                Ok(ClientOutput::Continue(message))
            }
            State::ExpectServerFirst(sent) => self.server_first(ctx, *sent, challenge),
            State::ExpectServerFinal { .. } if challenge.is_empty() => {
                Err(Error::ServerAuthenticationFailed)
            }
            State::ExpectServerFinal { server_signature } => {
                match parse::server_final(challenge)? {
                    ServerFinal::Error(error) => Err(Error::PeerError(error)),
                    ServerFinal::Verifier(signature) => {
                        if digests_equal(&signature, server_signature.expose()) {
                            Ok(ClientOutput::Done {
                                response: None,
                                layer: None,
                            })
                        } else {
                            Err(Error::ServerAuthenticationFailed)
                        }
                    }
                }
            }
            State::Start | State::Finished => Err(ProtocolError::UnexpectedMessage.into()),
        }
    }
}
