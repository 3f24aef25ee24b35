//! Strict, bounded parsers and writers for the four SCRAM messages (RFC 5802 section 7).
//!
//! Every message is checked against the RFC grammar: attributes in their fixed order, each at
//! most once, the reserved `m=` extension refused, optional extensions only after the
//! mandatory attributes and never under a name the grammar already uses, base64 canonical,
//! every length capped before anything is allocated. Nothing here slices in a way that can
//! panic.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::error::{Error, ProtocolError, check_len, malformed};
use crate::mech::MAX_FIELD;

/// The longest SCRAM message either side accepts.
pub(crate) const MAX_MESSAGE: usize = 8192;
/// The longest nonce (client part, or client and server parts together), in bytes.
pub(crate) const MAX_NONCE: usize = 512;
/// The longest client nonce a server accepts (room is left for its own part).
pub(crate) const MAX_CLIENT_NONCE: usize = 256;
/// The longest salt a client accepts, in bytes after decoding.
pub(crate) const MAX_SALT: usize = 256;
/// The longest channel-binding data, in bytes (real bindings are 12 to 64 bytes).
pub(crate) const MAX_CB_DATA: usize = 1024;
/// The longest channel-binding type name.
pub(crate) const MAX_CB_NAME: usize = 64;
/// The longest `e=` value a client reports.
const MAX_ERROR: usize = 256;
/// The largest digest of the family (SHA-512).
const MAX_DIGEST: usize = 64;

/// Attribute names the grammar uses; an extension may not reuse one (that would be a
/// duplicate or out-of-order attribute).
const RESERVED: &[u8] = b"acimnprsve";

/// The GS2 channel-binding flag (RFC 5802 section 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CbFlag<'m> {
    /// `n`: the client does not support channel binding.
    NotSupported,
    /// `y`: the client supports channel binding but thinks the server does not.
    ClientOnly,
    /// `p=<cb-name>`: the client binds to the channel with this binding type.
    Bound(&'m str),
}

/// The GS2 header that starts the client-first message.
#[derive(Debug)]
pub(crate) struct Gs2Header<'m> {
    pub flag: CbFlag<'m>,
    pub authzid: Option<String>,
    /// The header exactly as sent, with its trailing comma (it is echoed inside `c=`).
    pub raw: &'m str,
}

/// `client-first-message`.
#[derive(Debug)]
pub(crate) struct ClientFirst<'m> {
    pub gs2: Gs2Header<'m>,
    /// `client-first-message-bare`, part of the AuthMessage.
    pub bare: &'m str,
    /// The user name after saslname decoding (not yet SASLprepped).
    pub username: String,
    pub nonce: &'m str,
}

/// `server-first-message`.
#[derive(Debug)]
pub(crate) struct ServerFirst<'m> {
    pub nonce: &'m str,
    pub salt: Vec<u8>,
    pub iterations: u32,
}

/// `client-final-message`.
#[derive(Debug)]
pub(crate) struct ClientFinal<'m> {
    /// The decoded `c=`: the GS2 header followed by any channel-binding data.
    pub channel_binding: Vec<u8>,
    pub nonce: &'m str,
    /// `client-final-message-without-proof`, part of the AuthMessage.
    pub without_proof: &'m str,
    pub proof: Vec<u8>,
}

/// `server-final-message`.
#[derive(Debug)]
pub(crate) enum ServerFinal {
    /// `v=`: the server signature.
    Verifier(Vec<u8>),
    /// `e=`: the server's error.
    Error(String),
}

/// One `name=value` attribute.
struct Attribute<'m> {
    name: u8,
    value: &'m str,
}

/// Splits `text` into attributes, checking each is `ALPHA "=" value` with no NUL.
fn attributes(text: &str) -> impl Iterator<Item = Result<Attribute<'_>, Error>> {
    text.split(',').map(|field| {
        let mut bytes = field.bytes();
        let name = bytes.next().filter(u8::is_ascii_alphabetic);
        let equals = bytes.next();
        match (name, equals, field.get(2..)) {
            (Some(name), Some(b'='), Some(value)) if !value.contains('\0') => {
                Ok(Attribute { name, value })
            }
            _ => Err(malformed("SCRAM attribute is not name=value")),
        }
    })
}

/// Takes the next attribute, which must be called `name`.
fn expect<'m>(
    attrs: &mut impl Iterator<Item = Result<Attribute<'m>, Error>>,
    name: u8,
    what: &'static str,
) -> Result<&'m str, Error> {
    match attrs.next() {
        Some(Ok(attr)) if attr.name == name => Ok(attr.value),
        Some(Ok(attr)) if attr.name == b'm' => Err(mandatory_extension()),
        Some(Err(error)) => Err(error),
        _ => Err(malformed(what)),
    }
}

/// Checks that the remaining attributes are optional extensions (ignored, as RFC 5802
/// requires), not repeats of attributes the grammar already placed.
fn extensions<'m>(attrs: impl Iterator<Item = Result<Attribute<'m>, Error>>) -> Result<(), Error> {
    for attr in attrs {
        let attr = attr?;
        if attr.name == b'm' {
            return Err(mandatory_extension());
        }
        if RESERVED.contains(&attr.name) {
            return Err(malformed("duplicate or out-of-order SCRAM attribute"));
        }
    }
    Ok(())
}

fn mandatory_extension() -> Error {
    malformed("SCRAM mandatory extension (m=) not supported")
}

/// Decodes standard, padded base64 of at most `limit` decoded bytes.
pub(crate) fn base64(text: &str, limit: usize, what: &'static str) -> Result<Vec<u8>, Error> {
    if text.len() > limit.div_ceil(3).saturating_mul(4) {
        return Err(malformed(what));
    }
    STANDARD.decode(text).map_err(|_| malformed(what))
}

/// Checks a nonce: 1 to [`MAX_NONCE`] printable ASCII characters other than `,`.
pub(crate) fn check_nonce(nonce: &str) -> Result<(), Error> {
    let printable = nonce
        .bytes()
        .all(|b| (0x21..=0x7e).contains(&b) && b != b',');
    if nonce.is_empty() || nonce.len() > MAX_NONCE || !printable {
        return Err(malformed("SCRAM nonce is not printable ASCII"));
    }
    Ok(())
}

/// Checks a channel-binding type name: `1*(ALPHA / DIGIT / "." / "-")`.
pub(crate) fn check_cb_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_CB_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
}

/// Decodes a `saslname`: `=2C` is `,`, `=3D` is `=`, any other `=` is an error
/// (`invalid-username-encoding`).
pub(crate) fn decode_saslname(text: &str) -> Result<String, Error> {
    if text.is_empty() || text.len() > 3 * MAX_FIELD {
        return Err(malformed("SCRAM user name is empty or too long"));
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('=') {
        let (plain, escaped) = rest.split_at(at);
        out.push_str(plain);
        if let Some(tail) = escaped.strip_prefix("=2C") {
            out.push(',');
            rest = tail;
        } else if let Some(tail) = escaped.strip_prefix("=3D") {
            out.push('=');
            rest = tail;
        } else {
            return Err(malformed(
                "invalid saslname escape (invalid-username-encoding)",
            ));
        }
    }
    out.push_str(rest);
    if out.len() > MAX_FIELD {
        return Err(malformed("SCRAM user name too long"));
    }
    Ok(out)
}

/// Encodes a `saslname`: `,` as `=2C` and `=` as `=3D`.
pub(crate) fn encode_saslname(name: &str) -> Cow<'_, str> {
    if name.contains([',', '=']) {
        Cow::Owned(name.replace('=', "=3D").replace(',', "=2C"))
    } else {
        Cow::Borrowed(name)
    }
}

/// Parses `client-first-message`.
pub(crate) fn client_first(message: &[u8]) -> Result<ClientFirst<'_>, Error> {
    check_len(message, MAX_MESSAGE)?;
    let text = std::str::from_utf8(message)
        .map_err(|_| ProtocolError::InvalidUtf8("SCRAM client-first message"))?;
    let mut parts = text.splitn(3, ',');
    let (Some(flag), Some(authzid), Some(bare)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(malformed("SCRAM GS2 header is incomplete"));
    };
    let flag = match flag {
        "n" => CbFlag::NotSupported,
        "y" => CbFlag::ClientOnly,
        _ => match flag.strip_prefix("p=") {
            Some(name) if check_cb_name(name) => CbFlag::Bound(name),
            _ => return Err(malformed("SCRAM GS2 channel-binding flag is invalid")),
        },
    };
    let authzid = if authzid.is_empty() {
        None
    } else {
        match authzid.strip_prefix("a=") {
            Some(name) => Some(decode_saslname(name)?),
            None => return Err(malformed("SCRAM GS2 authzid is not a=saslname")),
        }
    };
    let raw = text
        .get(..flag_len(text, bare))
        .ok_or_else(|| malformed("SCRAM GS2 header"))?;

    let mut attrs = attributes(bare);
    let username = decode_saslname(expect(&mut attrs, b'n', "SCRAM client-first needs n=")?)?;
    let nonce = expect(&mut attrs, b'r', "SCRAM client-first needs r=")?;
    check_nonce(nonce)?;
    if nonce.len() > MAX_CLIENT_NONCE {
        return Err(malformed("SCRAM client nonce too long"));
    }
    extensions(attrs)?;
    Ok(ClientFirst {
        gs2: Gs2Header { flag, authzid, raw },
        bare,
        username,
        nonce,
    })
}

/// The length of the GS2 header: everything before `bare`, which is a suffix of `text`.
fn flag_len(text: &str, bare: &str) -> usize {
    text.len().saturating_sub(bare.len())
}

/// Parses `server-first-message`. An `e=` here (not in the grammar, but sent by some
/// servers) is reported as the peer's error.
pub(crate) fn server_first(message: &[u8]) -> Result<ServerFirst<'_>, Error> {
    check_len(message, MAX_MESSAGE)?;
    let text = std::str::from_utf8(message)
        .map_err(|_| ProtocolError::InvalidUtf8("SCRAM server-first message"))?;
    if let Some(error) = text.strip_prefix("e=") {
        return Err(peer_error(error));
    }
    let mut attrs = attributes(text);
    let nonce = expect(&mut attrs, b'r', "SCRAM server-first needs r=")?;
    check_nonce(nonce)?;
    let salt = base64(
        expect(&mut attrs, b's', "SCRAM server-first needs s=")?,
        MAX_SALT,
        "SCRAM salt is not base64",
    )?;
    if salt.is_empty() {
        return Err(malformed("SCRAM salt is empty"));
    }
    let iterations = iteration_count(expect(&mut attrs, b'i', "SCRAM server-first needs i=")?)?;
    extensions(attrs)?;
    Ok(ServerFirst {
        nonce,
        salt,
        iterations,
    })
}

/// Parses `i=`: a positive decimal without sign or leading zero that fits in 32 bits.
fn iteration_count(text: &str) -> Result<u32, Error> {
    let digits = !text.is_empty() && text.len() <= 10 && text.bytes().all(|b| b.is_ascii_digit());
    if !digits || text.starts_with('0') {
        return Err(malformed("SCRAM iteration count is not a positive number"));
    }
    text.parse()
        .map_err(|_| malformed("SCRAM iteration count is too large"))
}

/// Parses `client-final-message`; the proof must be `proof_len` bytes.
pub(crate) fn client_final(message: &[u8], proof_len: usize) -> Result<ClientFinal<'_>, Error> {
    check_len(message, MAX_MESSAGE)?;
    let text = std::str::from_utf8(message)
        .map_err(|_| ProtocolError::InvalidUtf8("SCRAM client-final message"))?;
    let (without_proof, proof) = text
        .rsplit_once(',')
        .ok_or_else(|| malformed("SCRAM client-final needs p="))?;
    let proof = match proof.strip_prefix("p=") {
        Some(proof) => base64(proof, MAX_DIGEST, "SCRAM proof is not base64")?,
        None => return Err(malformed("SCRAM client-final must end with p=")),
    };
    if proof.len() != proof_len {
        return Err(malformed("SCRAM proof has the wrong length"));
    }
    let mut attrs = attributes(without_proof);
    let channel_binding = base64(
        expect(&mut attrs, b'c', "SCRAM client-final needs c=")?,
        MAX_MESSAGE,
        "SCRAM channel binding is not base64",
    )?;
    let nonce = expect(&mut attrs, b'r', "SCRAM client-final needs r=")?;
    check_nonce(nonce)?;
    extensions(attrs)?;
    Ok(ClientFinal {
        channel_binding,
        nonce,
        without_proof,
        proof,
    })
}

/// Parses `server-final-message`.
pub(crate) fn server_final(message: &[u8]) -> Result<ServerFinal, Error> {
    check_len(message, MAX_MESSAGE)?;
    let text = std::str::from_utf8(message)
        .map_err(|_| ProtocolError::InvalidUtf8("SCRAM server-final message"))?;
    let mut attrs = attributes(text);
    let first = match attrs.next() {
        Some(first) => first?,
        None => return Err(malformed("SCRAM server-final is empty")),
    };
    let result = match first.name {
        b'v' => ServerFinal::Verifier(base64(
            first.value,
            MAX_DIGEST,
            "SCRAM verifier is not base64",
        )?),
        b'e' => ServerFinal::Error(bounded_error(first.value)),
        b'm' => return Err(mandatory_extension()),
        _ => return Err(malformed("SCRAM server-final needs v= or e=")),
    };
    extensions(attrs)?;
    Ok(result)
}

/// A server's `e=` value as an error, truncated and limited to printable ASCII.
pub(crate) fn peer_error(value: &str) -> Error {
    Error::PeerError(bounded_error(value.split(',').next().unwrap_or_default()))
}

fn bounded_error(value: &str) -> String {
    value
        .chars()
        .take(MAX_ERROR)
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saslnames() {
        assert_eq!(decode_saslname("a=2Cb=3Dc").ok().as_deref(), Some("a,b=c"));
        assert_eq!(encode_saslname("a,b=c"), "a=2Cb=3Dc");
        for bad in ["", "a=", "a=2", "a=2c", "a=3d", "a=41", "=="] {
            assert!(decode_saslname(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn client_first_grammar() {
        let first = client_first(b"n,,n=user,r=abc");
        assert!(first.is_ok_and(|f| f.gs2.raw == "n,," && f.bare == "n=user,r=abc"));
        let first = client_first(b"p=tls-unique,a=ad=3Dmin,n=u,r=x,q=ext");
        assert!(
            first.is_ok_and(|f| f.gs2.flag == CbFlag::Bound("tls-unique")
                && f.gs2.authzid.as_deref() == Some("ad=min")
                && f.gs2.raw == "p=tls-unique,a=ad=3Dmin,")
        );
        for bad in [
            &b""[..],
            b"n,,",
            b"n,",
            b"x,,n=u,r=a",
            b"p=,,n=u,r=a",
            b"p=a b,,n=u,r=a",
            b"n,b=x,n=u,r=a",
            b"n,,m=x,n=u,r=a",
            b"n,,r=a,n=u",
            b"n,,n=u,r=a,r=b",
            b"n,,n=u,r=a,m=x",
            b"n,,n=u,r=a,1=x",
            b"n,,n=u,r=",
            b"n,,n=u,r=a\x01",
            b"n,,n=u=,r=a",
            b"n,,n=u,r=a,",
            b"n,,n=u\0,r=a",
            b"n,,n=\xff,r=a",
        ] {
            assert!(
                client_first(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn server_first_grammar() {
        let first = server_first(b"r=ab,s=QSXCR+Q6sek8bf92,i=4096,x=y");
        assert!(first.is_ok_and(|f| f.nonce == "ab" && f.iterations == 4096));
        assert_eq!(
            server_first(b"e=other-error").err(),
            Some(Error::PeerError("other-error".into()))
        );
        for bad in [
            &b"r=ab,s=QSXCR+Q6sek8bf92"[..],
            b"r=ab,s=QSXCR+Q6sek8bf92,i=0",
            b"r=ab,s=QSXCR+Q6sek8bf92,i=04096",
            b"r=ab,s=QSXCR+Q6sek8bf92,i=-1",
            b"r=ab,s=QSXCR+Q6sek8bf92,i=4294967296",
            b"r=ab,s=QSXCR+Q6sek8bf9,i=4096",
            b"r=ab,s=,i=4096",
            b"m=x,r=ab,s=QSXCR+Q6sek8bf92,i=4096",
            b"r=ab,i=4096,s=QSXCR+Q6sek8bf92",
            b"r=ab,s=QSXCR+Q6sek8bf92,i=4096,s=QSXCR+Q6sek8bf92",
        ] {
            assert!(
                server_first(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn final_grammar() {
        let good = b"c=biws,r=abc,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=";
        assert!(
            client_final(good, 20)
                .is_ok_and(|f| f.without_proof == "c=biws,r=abc" && f.channel_binding == b"n,,")
        );
        assert!(client_final(good, 32).is_err());
        for bad in [
            &b"c=biws,r=abc"[..],
            b"r=abc,c=biws,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
            b"c=biws,r=abc,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=,x=y",
            b"c=biws,r=abc,r=abc,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
            b"c=b!ws,r=abc,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
            b"c=biws,r=abc,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts",
        ] {
            assert!(
                client_final(bad, 20).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(matches!(
            server_final(b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ="),
            Ok(ServerFinal::Verifier(v)) if v.len() == 20
        ));
        assert!(matches!(
            server_final(b"e=invalid-proof"),
            Ok(ServerFinal::Error(e)) if e == "invalid-proof"
        ));
        for bad in [
            &b""[..],
            b"x=1",
            b"v=!!",
            b"m=1",
            b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ=,v=a",
        ] {
            assert!(
                server_final(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
