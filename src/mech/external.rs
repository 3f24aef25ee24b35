//! EXTERNAL (RFC 4422 appendix A): the client was authenticated outside SASL (a TLS client
//! certificate, a UNIX socket's peer credentials) and sends only the authorization identity
//! it wants, or an empty message to act as itself.
//!
//! Server states: `Start` → (`ExpectMessage` if no initial response) → done. The
//! authentication identity is the one the application set on the session
//! (`ServerSession::set_external_identity`, Cyrus's `SASL_AUTH_EXTERNAL`); without one the
//! mechanism is not offered. As in Cyrus's `lib/external.c`, an external identity named
//! `anonymous` is refused when `noanonymous` is required, and a requested authorization
//! identity goes through the authorization policy like any other.
//! Client states: `Start` → `Sent`; the message is the credential source's authorization
//! identity, or empty.

use crate::error::{Error, ProtocolError, check_len};
use crate::log::LogLevel;
use crate::mech::context::{ClientContext, ServerContext};
use crate::mech::single_message::{SingleMessageClient, SingleMessageServer};
use crate::mech::{InitialResponse, MechanismInfo, ServerOutput, Success, utf8_field};
use crate::security::SecurityFlags;

pub(crate) const INFO: MechanismInfo = MechanismInfo {
    name: "EXTERNAL",
    provides: SecurityFlags::NOPLAINTEXT
        .union(SecurityFlags::NOANONYMOUS)
        .union(SecurityFlags::NODICTIONARY),
    max_ssf: 0,
    initial_response: InitialResponse::Required,
    channel_binding: false,
    new_server: || {
        Box::new(SingleMessageServer::checking_first(accept, |ctx| {
            external_identity(ctx).map(drop)
        }))
    },
    new_client: || Box::new(SingleMessageClient::new(compose)),
};

/// The longest authorization identity accepted (Cyrus's limit).
const MAX_MESSAGE: usize = 16384;

fn accept(ctx: &mut ServerContext<'_>, message: &[u8]) -> Result<ServerOutput, Error> {
    check_len(message, MAX_MESSAGE)?;
    let external = external_identity(ctx)?;
    let authzid = utf8_field(message, "authorization identity")?;
    if authzid.contains('\0') {
        return Err(ProtocolError::Malformed("NUL in authorization identity").into());
    }
    let identity = ctx.identity(&external, Some(authzid))?;
    Ok(ServerOutput::Success(Success {
        identity,
        additional_data: None,
        layer: None,
    }))
}
/// The external identity, refused if it is `anonymous` and `noanonymous` is required.
fn external_identity(ctx: &ServerContext<'_>) -> Result<String, Error> {
    let Some(external) = ctx.external_identity else {
        return Err(Error::NoMechanism(INFO.name.to_owned()));
    };
    if ctx.properties.flags.contains(SecurityFlags::NOANONYMOUS)
        && external == crate::mech::anonymous::ANONYMOUS_USER
    {
        ctx.log(LogLevel::Fail, "anonymous login not allowed");
        return Err(Error::AuthorizationFailed);
    }
    Ok(external.to_owned())
}

/// The authorization identity, or nothing (act as the external identity).
fn compose(ctx: &mut ClientContext<'_>) -> Result<Vec<u8>, Error> {
    Ok(ctx.authzid().unwrap_or_default().into_bytes())
}
