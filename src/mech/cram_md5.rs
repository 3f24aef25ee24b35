//! CRAM-MD5 (RFC 2195): the server sends a unique msg-id challenge, the client answers
//! `user SP hex(HMAC-MD5(password, challenge))`.
//!
//! Server states: `Start` → `ExpectResponse { challenge }` → done.
//! Client states: `Start` → done after answering the one challenge.

use md5::Md5;

use crate::error::{CredentialKind, Error, ProtocolError, check_len, malformed};
use crate::keys::cram_md5::digest_from_secret;
use crate::log::LogLevel;
use crate::mech::context::ClientContext;
use crate::mech::context::ServerContext;
use crate::mech::{
    ClientMechanism, ClientOutput, InitialResponse, MAX_FIELD, MechanismInfo, ServerMechanism,
    ServerOutput, Success, hex, unhex16, utf8_field,
};
use crate::secret::digests_equal;
use crate::security::SecurityFlags;

pub(crate) const INFO: MechanismInfo = MechanismInfo {
    name: "CRAM-MD5",
    provides: SecurityFlags::NOPLAINTEXT.union(SecurityFlags::NOANONYMOUS),
    max_ssf: 0,
    initial_response: InitialResponse::Forbidden,
    channel_binding: false,
    new_server: || Box::new(CramMd5Server::default()),
    new_client: || Box::new(CramMd5Client),
};

/// Length of the digest in hex.
const DIGEST_HEX: usize = 32;
/// The longest response: a user name, a space and the digest.
const MAX_RESPONSE: usize = MAX_FIELD + 1 + DIGEST_HEX;
/// The longest challenge a client accepts.
const MAX_CHALLENGE: usize = 2048;

/// `HMAC-MD5(key, challenge)`.
pub(crate) fn digest(key: &[u8], challenge: &[u8]) -> [u8; 16] {
    crate::keys::hmac::<Md5>(key, &[challenge]).into()
}

/// Splits `user SP digest` at the last space (user names may contain spaces).
pub(crate) fn parse_response(response: &[u8]) -> Result<(&str, [u8; 16]), Error> {
    check_len(response, MAX_RESPONSE)?;
    let space = response
        .iter()
        .rposition(|&b| b == b' ')
        .ok_or_else(|| malformed("CRAM-MD5 response has no space"))?;
    let (user, digest) = (&response[..space], &response[space + 1..]);
    if user.is_empty() {
        return Err(malformed("empty user name"));
    }
    if user.contains(&0) {
        return Err(malformed("NUL in user name"));
    }
    let digest =
        unhex16(digest).ok_or_else(|| malformed("CRAM-MD5 digest is not 32 hex digits"))?;
    Ok((utf8_field(user, "user name")?, digest))
}

#[derive(Default)]
enum ServerState {
    #[default]
    Start,
    ExpectResponse {
        challenge: Vec<u8>,
    },
    Finished,
}

#[derive(Default)]
pub(crate) struct CramMd5Server {
    state: ServerState,
}

impl ServerMechanism for CramMd5Server {
    fn start(
        &mut self,
        ctx: &mut ServerContext<'_>,
        initial: Option<&[u8]>,
    ) -> Result<ServerOutput, Error> {
        if initial.is_some() || !matches!(self.state, ServerState::Start) {
            return Err(ProtocolError::UnexpectedInitialResponse.into());
        }
        // A msg-id: unique per exchange (RFC 2195), from the injected randomness.
        let nonce = ctx.settings.random.nonce(24);
        let challenge = format!("<{nonce}@{}>", ctx.settings.fqdn).into_bytes();
        self.state = ServerState::ExpectResponse {
            challenge: challenge.clone(),
        };
        Ok(ServerOutput::Challenge(challenge))
    }

    fn step(
        &mut self,
        ctx: &mut ServerContext<'_>,
        response: &[u8],
    ) -> Result<ServerOutput, Error> {
        let ServerState::ExpectResponse { challenge } =
            std::mem::replace(&mut self.state, ServerState::Finished)
        else {
            return Err(ProtocolError::UnexpectedMessage.into());
        };
        let (name, offered) = parse_response(response)?;
        ctx.note_user(name);
        let identity = ctx.identity(name, None)?;
        let credentials = ctx.credentials(&identity.authcid, &identity.realm);
        // The plaintext password if stored (Cyrus prefers it too), else the precomputed
        // HMAC-MD5 pad states. An unknown user (or one without a usable secret) costs the
        // same HMAC.
        let (known, expected) = match credentials.password()? {
            Some(password) => (true, digest(password.expose(), &challenge)),
            None => match credentials
                .cram_md5_secret()?
                .and_then(|secret| digest_from_secret(secret.expose(), &challenge))
            {
                Some(expected) => (true, expected),
                None => (false, digest(ctx.server_secret(), &challenge)),
            },
        };
        if known && digests_equal(&expected, &offered) {
            return Ok(ServerOutput::Success(Success {
                identity,
                additional_data: None,
                layer: None,
            }));
        }
        let reason = if known {
            "incorrect digest response"
        } else {
            "no CRAM-MD5 secret for user"
        };
        ctx.log(
            LogLevel::Fail,
            &format!("{reason}: {}@{}", identity.authcid, identity.realm),
        );
        Err(Error::AuthenticationFailed)
    }
}

pub(crate) struct CramMd5Client;

impl ClientMechanism for CramMd5Client {
    /// The server speaks first; the credentials are asked for with its challenge.
    fn start(&mut self, _ctx: &mut ClientContext<'_>) -> Result<Option<Vec<u8>>, Error> {
        Ok(None)
    }

    fn step(
        &mut self,
        ctx: &mut ClientContext<'_>,
        challenge: &[u8],
    ) -> Result<ClientOutput, Error> {
        check_len(challenge, MAX_CHALLENGE)?;
        if challenge.is_empty() {
            return Err(ProtocolError::Empty.into());
        }
        let gathered = ctx.gather(&[CredentialKind::Authcid, CredentialKind::Password], &[])?;
        let (authcid, password) = (gathered.authcid()?, gathered.password()?);
        let response = format!("{authcid} {}", hex(&digest(password.expose(), challenge)));
        Ok(ClientOutput::Done {
            response: Some(response.into_bytes()),
            layer: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc2195_digest() {
        let d = digest(
            b"tanstaaftanstaaf",
            b"<1896.697170952@postoffice.reston.mci.net>",
        );
        assert_eq!(hex(&d), "b913a602c7eda7a495b4e6e7334d3890");
    }

    #[test]
    fn response_parsing() {
        let (user, d) =
            parse_response(b"tim b913a602c7eda7a495b4e6e7334d3890").unwrap_or(("", [0; 16]));
        assert_eq!(user, "tim");
        assert_eq!(hex(&d), "b913a602c7eda7a495b4e6e7334d3890");
        let (user, _) =
            parse_response(b"a b B913A602C7EDA7A495B4E6E7334D3890").unwrap_or(("", [0; 16]));
        assert_eq!(user, "a b");
        for bad in [
            &b""[..],
            b"tim",
            b" b913a602c7eda7a495b4e6e7334d3890",
            b"tim b913a602c7eda7a495b4e6e7334d389",
            b"tim b913a602c7eda7a495b4e6e7334d389g",
            b"tim b913a602c7eda7a495b4e6e7334d38900",
            b"t\0m b913a602c7eda7a495b4e6e7334d3890",
            // 32 characters, but `+9` is not two hex digits.
            b"tim +913a602c7eda7a495b4e6e7334d3890",
        ] {
            assert!(parse_response(bad).is_err(), "{bad:?}");
        }
    }
}
