//! CRAM-MD5 (RFC 2195): the server sends a unique msg-id challenge, the client answers
//! `user SP hex(HMAC-MD5(password, challenge))`.
//!
//! Server states: `Start` → `ExpectResponse { challenge }` → done.
//! Client states: `Start` → done after answering the one challenge.

use md5::Md5;

use crate::client::ClientContext;
use crate::error::{Error, ProtocolError, check_len, malformed};
use crate::log::LogLevel;
use crate::mech::{
    ClientMechanism, ClientOutput, InitialResponse, MAX_FIELD, MechanismInfo, ServerMechanism,
    ServerOutput, Success, hex, unhex16, utf8_field,
};
use crate::secret::digests_equal;
use crate::security::SecurityFlags;
use crate::server::ServerContext;

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

/// MD5's initial chaining values (RFC 1321 section 3.3).
const MD5_INIT: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];

/// The MD5 state after compressing one 64-byte block: the HMAC key padded with `pad`.
fn pad_state(key: &[u8], pad: u8) -> [u32; 4] {
    let hashed: zeroize::Zeroizing<[u8; 16]>;
    let key = if key.len() > 64 {
        hashed = zeroize::Zeroizing::new(<Md5 as md5::Digest>::digest(key).into());
        &hashed[..]
    } else {
        key
    };
    let mut block = zeroize::Zeroizing::new([pad; 64]);
    for (byte, k) in block.iter_mut().zip(key) {
        *byte ^= k;
    }
    let mut state = MD5_INIT;
    md5::block_api::compress(&mut state, &[*block]);
    state
}

/// Cyrus's precomputed CRAM-MD5 secret (`cmusaslsecretCRAM-MD5`, `HMAC_MD5_STATE` as
/// `_sasl_hmac_md5_precalc` lays it out in lib/md5.c): the MD5 chaining values after the
/// inner pad block, then after the outer pad block, each word big-endian (`htonl`), 32 bytes.
/// It lets the server compute HMAC-MD5 without the password.
pub(crate) fn precalc(key: &[u8]) -> [u8; 32] {
    let mut secret = [0u8; 32];
    let words = pad_state(key, 0x36).into_iter().chain(pad_state(key, 0x5c));
    for (chunk, word) in secret.chunks_exact_mut(4).zip(words) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    secret
}

/// Finishes an MD5 whose first 64-byte block is already in `state`, over `data`.
fn md5_after_block(mut state: [u32; 4], data: &[u8]) -> [u8; 16] {
    let bits = (64 + data.len() as u64).wrapping_mul(8);
    // Room for the padding up front: a reallocation would free a copy unzeroized.
    let mut message = zeroize::Zeroizing::new(Vec::with_capacity(data.len() + 72));
    message.extend_from_slice(data);
    message.push(0x80);
    while message.len() % 64 != 56 {
        message.push(0);
    }
    message.extend_from_slice(&bits.to_le_bytes());
    let blocks: zeroize::Zeroizing<Vec<[u8; 64]>> = zeroize::Zeroizing::new(
        message
            .chunks_exact(64)
            .filter_map(|block| block.try_into().ok())
            .collect(),
    );
    md5::block_api::compress(&mut state, &blocks);
    let mut out = [0u8; 16];
    for (chunk, word) in out.chunks_exact_mut(4).zip(state) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    out
}

/// `HMAC-MD5(key, challenge)` from the [`precalc`] secret of `key`; `None` unless the secret
/// is 32 bytes.
pub(crate) fn digest_from_secret(secret: &[u8], challenge: &[u8]) -> Option<[u8; 16]> {
    // The pad states are password-equivalent: wipe this copy too.
    let words: zeroize::Zeroizing<Vec<u32>> = zeroize::Zeroizing::new(
        secret
            .chunks_exact(4)
            .filter_map(|chunk| chunk.try_into().ok().map(u32::from_be_bytes))
            .collect(),
    );
    let (Ok(inner), Ok(outer), 32) = (
        <[u32; 4]>::try_from(words.get(..4).unwrap_or_default()),
        <[u32; 4]>::try_from(words.get(4..).unwrap_or_default()),
        secret.len(),
    ) else {
        return None;
    };
    let inner_digest = md5_after_block(inner, challenge);
    Some(md5_after_block(outer, &inner_digest))
}

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
        let nonce = ctx.config.random().nonce(24);
        let challenge = format!("<{nonce}@{}>", ctx.config.fqdn()).into_bytes();
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
    fn start(&mut self, ctx: &mut ClientContext<'_>) -> Result<Option<Vec<u8>>, Error> {
        ctx.authcid()?;
        ctx.password()?;
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
        let authcid = ctx.authcid()?;
        let password = ctx.password()?;
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
    fn precalculated_secret_gives_the_same_hmac() {
        // RFC 2195's example, then keys around the 64-byte block and longer ones.
        let challenge = b"<1896.697170952@postoffice.reston.mci.net>";
        for key in [
            b"tanstaaftanstaaf".to_vec(),
            Vec::new(),
            vec![b'k'; 63],
            vec![b'k'; 64],
            vec![b'k'; 65],
            vec![7; 300],
        ] {
            let secret = precalc(&key);
            for message in [&challenge[..], b"", &[b'x'; 55], &[b'x'; 56], &[b'x'; 200]] {
                assert_eq!(
                    digest_from_secret(&secret, message),
                    Some(digest(&key, message))
                );
            }
        }
        assert_eq!(digest_from_secret(&[0; 31], challenge), None);
        assert_eq!(digest_from_secret(&[0; 33], challenge), None);
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
