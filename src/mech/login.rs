//! LOGIN (draft-murchison-sasl-login-00): the server prompts `Username:` then `Password:`.
//!
//! Server states: `Start` → `ExpectUser` → `ExpectPassword` → done. An initial response is
//! taken as the user name (SMTP's `AUTH LOGIN dXNlcg==`).
//! Client states: `Start` → `SentUser` → done; the prompts' text is ignored, as the draft
//! requires.

use crate::error::{CredentialKind, Error, ProtocolError, check_len, malformed};
use crate::mech::context::ClientContext;
use crate::mech::context::ServerContext;
use crate::mech::{
    ClientMechanism, ClientOutput, InitialResponse, MAX_FIELD, MechanismInfo, ServerMechanism,
    ServerOutput, Success, utf8_field,
};
use crate::security::SecurityFlags;

pub(crate) const INFO: MechanismInfo = MechanismInfo {
    name: "LOGIN",
    provides: SecurityFlags::NOANONYMOUS.union(SecurityFlags::PASS_CREDENTIALS),
    max_ssf: 0,
    initial_response: InitialResponse::Allowed,
    channel_binding: false,
    new_server: || Box::new(LoginServer::default()),
    new_client: || Box::new(LoginClient::default()),
};

/// Cyrus's prompts.
pub(crate) const USERNAME_PROMPT: &[u8] = b"Username:";
pub(crate) const PASSWORD_PROMPT: &[u8] = b"Password:";

#[derive(Default)]
enum ServerState {
    #[default]
    Start,
    ExpectUser,
    ExpectPassword {
        user: String,
    },
    Finished,
}

#[derive(Default)]
pub(crate) struct LoginServer {
    state: ServerState,
}

fn parse_user(message: &[u8]) -> Result<String, Error> {
    check_len(message, MAX_FIELD)?;
    if message.is_empty() {
        return Err(malformed("empty user name"));
    }
    if message.contains(&0) {
        return Err(malformed("NUL in user name"));
    }
    Ok(utf8_field(message, "user name")?.to_owned())
}

impl ServerMechanism for LoginServer {
    fn start(
        &mut self,
        ctx: &mut ServerContext<'_>,
        initial: Option<&[u8]>,
    ) -> Result<ServerOutput, Error> {
        if !matches!(self.state, ServerState::Start) {
            return Err(ProtocolError::UnexpectedMessage.into());
        }
        match initial {
            None => {
                self.state = ServerState::ExpectUser;
                Ok(ServerOutput::Challenge(USERNAME_PROMPT.to_vec()))
            }
            Some(user) => {
                self.state = ServerState::ExpectUser;
                self.step(ctx, user)
            }
        }
    }

    fn step(
        &mut self,
        ctx: &mut ServerContext<'_>,
        response: &[u8],
    ) -> Result<ServerOutput, Error> {
        match std::mem::replace(&mut self.state, ServerState::Finished) {
            ServerState::ExpectUser => {
                let user = parse_user(response)?;
                ctx.note_user(&user);
                self.state = ServerState::ExpectPassword { user };
                Ok(ServerOutput::Challenge(PASSWORD_PROMPT.to_vec()))
            }
            ServerState::ExpectPassword { user } => {
                check_len(response, MAX_FIELD)?;
                if response.is_empty() {
                    return Err(malformed("empty password"));
                }
                let identity = ctx.identity(&user, None)?;
                ctx.verify_password(&identity.authcid, &identity.realm, response)?;
                Ok(ServerOutput::Success(Success {
                    identity,
                    additional_data: None,
                    layer: None,
                }))
            }
            ServerState::Start | ServerState::Finished => {
                Err(ProtocolError::UnexpectedMessage.into())
            }
        }
    }
}

#[derive(Default)]
enum ClientState {
    #[default]
    Start,
    SentUser,
    Finished,
}

#[derive(Default)]
pub(crate) struct LoginClient {
    state: ClientState,
}

impl ClientMechanism for LoginClient {
    /// LOGIN sends nothing first; each credential is asked for when its prompt comes (as
    /// Cyrus does), so the state changes only once it is at hand.
    fn start(&mut self, _ctx: &mut ClientContext<'_>) -> Result<Option<Vec<u8>>, Error> {
        Ok(None)
    }

    fn step(&mut self, ctx: &mut ClientContext<'_>, _prompt: &[u8]) -> Result<ClientOutput, Error> {
        match self.state {
            ClientState::Start => {
                let authcid = ctx.gather(&[CredentialKind::Authcid], &[])?.authcid()?;
                self.state = ClientState::SentUser;
                Ok(ClientOutput::Continue(authcid.into_bytes()))
            }
            ClientState::SentUser => {
                let password = ctx.gather(&[CredentialKind::Password], &[])?.password()?;
                self.state = ClientState::Finished;
                Ok(ClientOutput::Done {
                    response: Some(password.expose().to_vec()),
                    layer: None,
                })
            }
            ClientState::Finished => Err(ProtocolError::UnexpectedMessage.into()),
        }
    }
}
