//! ANONYMOUS (RFC 4505): one client message, optional trace information, no credentials.
//!
//! Server states: `Start` → (`ExpectTrace` if no initial response) → done. The trace is
//! logged (at most 255 characters, as Cyrus's `plugins/anonymous.c` logs it) and has no
//! other meaning: the identity is always `anonymous`, canonicalized as any other name.
//! Client states: `Start` → `Sent`; the trace is the authentication identity of the
//! credential source when it has one (Cyrus's C client sends `SASL_CB_AUTHNAME`'s value
//! this way), else empty.
//!
//! The mechanism provides only `noplaintext`: `noanonymous` (Postfix's default) removes it.

use crate::error::Error;
use crate::log::LogLevel;
use crate::mech::context::{ClientContext, ServerContext};
use crate::mech::single_message::{SingleMessageClient, SingleMessageServer};
use crate::mech::{InitialResponse, MechanismInfo, ServerOutput, Success};
use crate::security::SecurityFlags;

pub(crate) const INFO: MechanismInfo = MechanismInfo {
    name: "ANONYMOUS",
    provides: SecurityFlags::NOPLAINTEXT,
    max_ssf: 0,
    initial_response: InitialResponse::Required,
    channel_binding: false,
    new_server: || Box::new(SingleMessageServer::new(accept)),
    new_client: || Box::new(SingleMessageClient::new(compose)),
};

/// The identity every anonymous client gets.
pub const ANONYMOUS_USER: &str = "anonymous";

/// RFC 4505's limit on the trace (`1*255TCHAR`); longer traces are accepted, as Cyrus
/// accepts them, and cut here for the log.
const TRACE_CHARS: usize = 255;

/// The trace as it goes to the log: at most [`TRACE_CHARS`] characters, invalid UTF-8 replaced
/// and control characters escaped, so a peer cannot forge log lines.
pub(crate) fn printable_trace(trace: &[u8]) -> String {
    String::from_utf8_lossy(trace)
        .chars()
        .take(TRACE_CHARS)
        .flat_map(char::escape_default)
        .collect()
}

fn accept(ctx: &mut ServerContext<'_>, trace: &[u8]) -> Result<ServerOutput, Error> {
    ctx.log(
        LogLevel::Note,
        &format!("ANONYMOUS login: \"{}\"", printable_trace(trace)),
    );
    let identity = ctx.identity(ANONYMOUS_USER, None)?;
    Ok(ServerOutput::Success(Success {
        identity,
        additional_data: None,
        layer: None,
    }))
}

/// The trace: the authentication name, or nothing.
fn compose(ctx: &mut ClientContext<'_>) -> Result<Vec<u8>, Error> {
    Ok(ctx
        .settings
        .credentials
        .authcid()
        .unwrap_or_default()
        .into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trace_is_cut_and_escaped_for_the_log() {
        assert_eq!(printable_trace(b"sirhc"), "sirhc");
        assert_eq!(
            printable_trace(b"a\nforged: line\"\x01"),
            "a\\nforged: line\\\"\\u{1}"
        );
        assert_eq!(printable_trace(&[b'x'; 300]).len(), TRACE_CHARS);
        assert_eq!(printable_trace(b"\xff"), "\\u{fffd}");
    }
}
