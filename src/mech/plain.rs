//! PLAIN (RFC 4616): `[authzid] NUL authcid NUL passwd` in one client message.
//!
//! Server states: `Start` → (`ExpectMessage` if no initial response) → done.
//! Client states: `Start` → `Sent` (the initial response carries everything).

use crate::error::{CredentialKind, Error, ProtocolError, check_len, malformed};
use crate::mech::context::ClientContext;
use crate::mech::context::ServerContext;
use crate::mech::single_message::{SingleMessageClient, SingleMessageServer};
use crate::mech::{InitialResponse, MAX_FIELD, MechanismInfo, ServerOutput, Success, utf8_field};
use crate::security::SecurityFlags;

pub(crate) const INFO: MechanismInfo = MechanismInfo {
    name: "PLAIN",
    provides: SecurityFlags::NOANONYMOUS.union(SecurityFlags::PASS_CREDENTIALS),
    max_ssf: 0,
    initial_response: InitialResponse::Required,
    channel_binding: false,
    new_server: || Box::new(SingleMessageServer::new(verify)),
    new_client: || Box::new(SingleMessageClient::new(compose)),
};

/// The longest message: three fields and two separators.
const MAX_MESSAGE: usize = 3 * MAX_FIELD + 2;

/// The three fields of a PLAIN message. No `PartialEq`, and `Debug` redacts the password.
pub(crate) struct PlainMessage<'m> {
    pub authzid: Option<&'m str>,
    pub authcid: &'m str,
    pub password: &'m [u8],
}

impl std::fmt::Debug for PlainMessage<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlainMessage")
            .field("authzid", &self.authzid)
            .field("authcid", &self.authcid)
            .field("password", &"[redacted]")
            .finish()
    }
}

/// Parses `[authzid] NUL authcid NUL passwd`: exactly two NULs, a non-empty authcid and
/// password, UTF-8 identities, each field at most [`MAX_FIELD`] bytes.
pub(crate) fn parse(message: &[u8]) -> Result<PlainMessage<'_>, Error> {
    check_len(message, MAX_MESSAGE)?;
    let mut fields = message.split(|&b| b == 0);
    let (Some(authzid), Some(authcid), Some(password), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err(malformed(
            "PLAIN message must have exactly two NUL separators",
        ));
    };
    if [authzid, authcid, password]
        .iter()
        .any(|f| f.len() > MAX_FIELD)
    {
        return Err(ProtocolError::TooLong { limit: MAX_FIELD }.into());
    }
    if authcid.is_empty() {
        return Err(malformed("empty authentication identity"));
    }
    if password.is_empty() {
        return Err(malformed("empty password"));
    }
    let authzid = utf8_field(authzid, "authorization identity")?;
    Ok(PlainMessage {
        authzid: (!authzid.is_empty()).then_some(authzid),
        authcid: utf8_field(authcid, "authentication identity")?,
        password,
    })
}

fn verify(ctx: &mut ServerContext<'_>, message: &[u8]) -> Result<ServerOutput, Error> {
    let message = parse(message)?;
    ctx.note_user(message.authcid);
    let identity = ctx.identity(message.authcid, message.authzid)?;
    ctx.verify_password(&identity.authcid, &identity.realm, message.password)?;
    Ok(ServerOutput::Success(Success {
        identity,
        additional_data: None,
        layer: None,
    }))
}

/// `authzid NUL authcid NUL password`.
fn compose(ctx: &mut ClientContext<'_>) -> Result<Vec<u8>, Error> {
    let gathered = ctx.gather(
        &[
            CredentialKind::Authcid,
            CredentialKind::Authzid,
            CredentialKind::Password,
        ],
        &[],
    )?;
    let (authcid, password) = (gathered.authcid()?, gathered.password()?);
    let authzid = gathered.authzid.unwrap_or_default();
    let mut message = Vec::with_capacity(authzid.len() + authcid.len() + password.len() + 2);
    message.extend_from_slice(authzid.as_bytes());
    message.push(0);
    message.extend_from_slice(authcid.as_bytes());
    message.push(0);
    message.extend_from_slice(password.expose());
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_the_rfc_forms() {
        let message = parse(b"\0tim\0tanstaaftanstaaf").unwrap();
        assert_eq!(
            (message.authzid, message.authcid, message.password),
            (None, "tim", &b"tanstaaftanstaaf"[..])
        );
        assert_eq!(
            parse(b"Ursel\0Kurt\0xipj3plmq").map(|m| m.authzid),
            Ok(Some("Ursel"))
        );
    }

    #[test]
    fn debug_redacts_the_password() {
        let printed = format!("{:?}", parse(b"Ursel\0Kurt\0xipj3plmq"));
        assert!(printed.contains("Kurt") && printed.contains("[redacted]"));
        assert!(!printed.contains("xipj3plmq"), "{printed}");
    }

    #[test]
    fn parse_rejects_bad_shapes() {
        for bad in [
            &b""[..],
            b"tim",
            b"\0tim",
            b"\0\0pw",
            b"\0tim\0",
            b"\0tim\0pw\0",
            b"a\0b\0c\0d",
            b"\0\xff\0pw",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        let long = [vec![0u8], vec![b'a'; MAX_FIELD + 1], vec![0u8, b'p']].concat();
        assert!(matches!(
            parse(&long),
            Err(Error::Protocol(ProtocolError::TooLong { .. }))
        ));
    }
}
