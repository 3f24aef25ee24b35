//! Fuzz bodies for DIGEST-MD5: each side, the directive parser and the security-layer
//! decoder.

use std::sync::Arc;

use super::{PASSWORD, REALM, USER, drive_server, messages, server};
use crate::client::{ClientConfig, ClientSession, ClientStep, Credentials};
use crate::mech::SecurityLayer;
use crate::mech::digest_md5::layer::DigestLayer;
use crate::mech::digest_md5::{
    Cipher, DigestInputs, MAX_RESPONSE, Qop, parse, quote, response_value, session_key, unhex16,
    user_secret,
};
use crate::random::FixedRandom;
use crate::security::SecurityProperties;
use crate::server::ServerStep;

const MECH: &str = "DIGEST-MD5";

/// The `response`/`rspauth` value a peer knowing [`PASSWORD`] computes from a client
/// response (`client` selects which), or `None` if the response lacks a field.
fn expected_digest(response: &[u8], client: bool) -> Option<[u8; 16]> {
    let d = parse::parse(response, MAX_RESPONSE, &[]).ok()?;
    let text = |name| d.get(name).map(String::from_utf8_lossy);
    let realm = text("realm").unwrap_or_default();
    let qop = match d.get("qop") {
        None => Qop::Auth,
        Some(q) => Qop::from_name(std::str::from_utf8(q).ok()?)?,
    };
    let secret = user_secret(USER, &realm, PASSWORD.as_bytes());
    let authzid = d.get("authzid").filter(|z| !z.is_empty());
    let key = session_key(secret.expose(), d.get("nonce")?, d.get("cnonce")?, authzid);
    let inputs = DigestInputs {
        nonce: d.get("nonce")?,
        nc: d.get("nc")?,
        cnonce: d.get("cnonce")?,
        qop,
        digest_uri: d.get("digest-uri")?,
    };
    Some(response_value(&key, &inputs, client))
}

/// What the fuzz server offered in its challenge.
struct Offer {
    nonce: Vec<u8>,
    realms: Vec<Vec<u8>>,
    qops: Vec<Vec<u8>>,
    ciphers: Vec<Vec<u8>>,
}

impl Offer {
    fn from_challenge(challenge: &[u8]) -> Option<Offer> {
        let d = parse::parse(challenge, 2048, &["realm"]).ok()?;
        let list = |name| {
            d.get(name)
                .map(|v| parse::list(v).map(<[u8]>::to_vec).collect())
                .unwrap_or_default()
        };
        Some(Offer {
            nonce: d.get("nonce")?.to_vec(),
            realms: d.all("realm").map(<[u8]>::to_vec).collect(),
            qops: list("qop"),
            ciphers: list("cipher"),
        })
    }
}

/// Whether `uri` names the fuzz server: `imap/<REALM>` (its FQDN), optionally followed by
/// `/serv-name`, case-insensitively (RFC 2831 section 2.1.2).
fn names_fuzz_server(uri: &[u8]) -> bool {
    let expected = format!("imap/{REALM}");
    let uri = uri.to_ascii_lowercase();
    let Some(rest) = uri.strip_prefix(expected.as_bytes()) else {
        return false;
    };
    rest.is_empty() || rest.starts_with(b"/")
}

/// DIGEST-MD5 server: accepted only if the response answers this server's own offer (its
/// nonce, one of its realms, its service and host in `digest-uri`, an offered qop and cipher,
/// `nc` 1) and its digest is the one the right password gives for those values.
pub fn digest_md5_server(data: &[u8]) {
    let initial = data.first().is_some_and(|b| b & 1 == 1);
    let inputs = messages(data.get(1..).unwrap_or_default(), 3);
    let mut session = server(MECH);
    let (challenges, accepted) = drive_server(&mut session, MECH, initial, &inputs);
    if !accepted {
        return;
    }
    // An initial response is ignored; the first message after the challenge is the answer.
    let response = inputs
        .get(usize::from(initial))
        .copied()
        .unwrap_or_default();
    let Some(offer) = challenges.first().and_then(|c| Offer::from_challenge(c)) else {
        panic!("DIGEST-MD5 accepted without a well-formed challenge");
    };
    let Ok(d) = parse::parse(response, MAX_RESPONSE, &[]) else {
        panic!("DIGEST-MD5 accepted an unparseable response");
    };
    assert_eq!(d.get("username"), Some(USER.as_bytes()), "another user");
    assert_eq!(
        d.get("nonce"),
        Some(offer.nonce.as_slice()),
        "DIGEST-MD5 accepted a response to another nonce"
    );
    assert_eq!(
        d.get("nc"),
        Some(&b"00000001"[..]),
        "DIGEST-MD5 accepted a replay"
    );
    // The realm hashed is the one the response names (none: the empty realm); the server
    // knows the user only in its own realm, which it offered.
    let realm = d.get("realm").unwrap_or_default();
    assert!(
        offer.realms.iter().any(|r| r == realm) && realm == REALM.as_bytes(),
        "DIGEST-MD5 accepted a realm it did not offer"
    );
    let Some(uri) = d.get("digest-uri").filter(|u| names_fuzz_server(u)) else {
        panic!("DIGEST-MD5 accepted a digest-uri for another service or host");
    };
    // Tokens compare case-insensitively (Cyrus's strcasecmp too).
    let qop = d.get("qop").unwrap_or(b"auth");
    assert!(
        offer.qops.iter().any(|q| q.eq_ignore_ascii_case(qop)),
        "DIGEST-MD5 accepted a qop it did not offer"
    );
    let qop = std::str::from_utf8(qop).ok().and_then(Qop::from_name);
    let Some(qop) = qop else {
        panic!("DIGEST-MD5 accepted an unknown qop");
    };
    if qop == Qop::AuthConf {
        let cipher = d.get("cipher").unwrap_or_default();
        assert!(
            offer.ciphers.iter().any(|c| c.eq_ignore_ascii_case(cipher)),
            "DIGEST-MD5 accepted a cipher it did not offer"
        );
    }
    let (Some(cnonce), Some(offered)) = (d.get("cnonce"), d.get("response").and_then(unhex16))
    else {
        panic!("DIGEST-MD5 accepted a response without cnonce or digest");
    };
    let secret = user_secret(USER, REALM, PASSWORD.as_bytes());
    let authzid = d.get("authzid").filter(|z| !z.is_empty());
    let key = session_key(secret.expose(), &offer.nonce, cnonce, authzid);
    let inputs = DigestInputs {
        nonce: &offer.nonce,
        nc: b"00000001",
        cnonce,
        qop,
        digest_uri: uri,
    };
    assert!(
        offered == response_value(&key, &inputs, true),
        "DIGEST-MD5 accepted a wrong digest"
    );
}

/// DIGEST-MD5 client on hostile challenges: never panics, and completes only if the server's
/// `rspauth` is the one the right password gives.
pub fn digest_md5_client(data: &[u8]) {
    let props = SecurityProperties {
        max_ssf: u32::from(data.first().copied().unwrap_or(0)),
        ..SecurityProperties::default()
    };
    let config = ClientConfig::new("imap", REALM, Arc::new(Credentials::new(USER, PASSWORD)))
        .with_random(Arc::new(FixedRandom::new(3)));
    let mut session = ClientSession::new(Arc::new(config));
    session.set_security_properties(props);
    if session.start(MECH).is_err() {
        return;
    }
    let mut response = None;
    for challenge in messages(data.get(1..).unwrap_or_default(), 4) {
        match session.step(challenge) {
            Ok(ClientStep::Continue(r)) => response = Some(r),
            Ok(ClientStep::Done(_)) => {
                let rspauth = parse::parse(challenge, 2048, &[])
                    .ok()
                    .and_then(|d| d.get("rspauth").and_then(unhex16));
                let expected = response.as_deref().and_then(|r| expected_digest(r, false));
                assert!(
                    rspauth.is_some() && rspauth == expected,
                    "DIGEST-MD5 client accepted a wrong rspauth"
                );
                return;
            }
            Err(_) => {
                assert!(
                    session.step(b"").is_err(),
                    "a failed client must stay failed"
                );
                return;
            }
        }
    }
}

/// The directive parser alone: never panics, is deterministic, and what it reads survives
/// a round trip through the serializer the client and server use (`name="quoted"` joined by
/// commas).
pub fn digest_md5_parse(data: &[u8]) {
    let first = parse::parse(data, 4096, &["realm"]);
    let second = parse::parse(data, 4096, &["realm"]);
    assert_eq!(first.is_ok(), second.is_ok());
    if let Ok(d) = first {
        let mut serialized = Vec::new();
        for (name, value) in d.iter() {
            if !serialized.is_empty() {
                serialized.push(b',');
            }
            serialized.extend_from_slice(name.as_bytes());
            serialized.push(b'=');
            quote(&mut serialized, value);
        }
        let Ok(again) = parse::parse(&serialized, usize::MAX, &["realm"]) else {
            panic!("serialized directives do not parse");
        };
        assert!(
            again.iter().eq(d.iter()),
            "directives do not round-trip through the serializer"
        );
        for name in [
            "realm",
            "nonce",
            "qop",
            "username",
            "response",
            "digest-uri",
        ] {
            for value in d.all(name) {
                assert!(value.len() <= data.len(), "a value longer than its input");
            }
        }
    }
}

/// The key every layer fuzz run uses.
pub(crate) const LAYER_KEY: [u8; 16] = *b"fuzz-session-key";
/// The maxbuf of every layer fuzz run.
pub(crate) const LAYER_MAXBUF: u32 = 1024;

/// The layer selected by `selector`: auth-int or auth-conf with one of the ciphers.
pub(crate) fn layer(selector: u8, client: bool) -> DigestLayer {
    let choice = usize::from(selector) % (Cipher::ALL.len() + 1);
    let (qop, cipher) = match Cipher::ALL.get(choice) {
        Some(cipher) => (Qop::AuthConf, Some(*cipher)),
        None => (Qop::AuthInt, None),
    };
    match DigestLayer::new(&LAYER_KEY, qop, cipher, client, LAYER_MAXBUF, LAYER_MAXBUF) {
        Ok(layer) => layer,
        Err(error) => panic!("layer: {error}"),
    }
}

/// The security-layer decoder (server side) on hostile packets, fed in chunks whose sizes
/// come from the input: never panics, never yields more than it was given, and a failed
/// layer stays failed.
pub fn digest_md5_layer(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let mut receiver = layer(selector, false);
    let chunk = usize::from(selector >> 3) + 1;
    let mut produced = 0usize;
    for piece in rest.chunks(chunk) {
        match receiver.decode(piece) {
            Ok(out) => produced += out.len(),
            Err(_) => {
                assert!(
                    receiver.decode(b"").is_err(),
                    "a failed layer must stay failed"
                );
                return;
            }
        }
    }
    assert!(produced <= rest.len(), "decoded more than was received");
}

/// The strengths a client can ask for to get each layer (auth-int, then the ciphers).
const LAYER_STRENGTHS: [u32; 6] = [1, 40, 55, 56, 112, 128];

/// Both ends of a DIGEST-MD5 security layer with keys negotiated by a real exchange: the
/// first byte picks the layer; the rest is messages (`\n\n`-separated), each starting with a
/// control byte: bit 0 the direction, bit 1 tampering (the byte after it the position of the
/// flipped bit). Untampered, the receiver decodes exactly what the sender encoded; tampered,
/// the receiver refuses it and stays failed.
pub fn digest_md5_session_layer(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let strength = LAYER_STRENGTHS[usize::from(selector) % LAYER_STRENGTHS.len()];
    let mut server = server(MECH);
    server.set_security_properties(SecurityProperties {
        max_ssf: 256,
        ..SecurityProperties::default()
    });
    let config = ClientConfig::new("imap", REALM, Arc::new(Credentials::new(USER, PASSWORD)))
        .with_random(Arc::new(FixedRandom::new(3)));
    let mut client = ClientSession::new(Arc::new(config));
    client.set_security_properties(SecurityProperties {
        min_ssf: strength,
        max_ssf: strength,
        ..SecurityProperties::default()
    });
    let negotiated = (|| {
        client.start(MECH).ok()?;
        let Ok(ServerStep::Continue(challenge)) = server.start(MECH, None) else {
            return None;
        };
        let Ok(ClientStep::Continue(response)) = client.step(&challenge) else {
            return None;
        };
        let Ok(ServerStep::Done {
            additional_data, ..
        }) = server.step(&response)
        else {
            return None;
        };
        client.step(&additional_data?).ok()
    })();
    assert!(
        negotiated.is_some(),
        "DIGEST-MD5 exchange at strength {strength} failed"
    );
    assert!(
        server.ssf() == strength && client.ssf() == strength,
        "negotiated another layer than asked"
    );
    // Per receiver (server, client): in step, out of step (a tampered packet was taken as
    // incomplete: nothing may come out any more), or failed (every decode refused).
    let mut state = [Stream::InStep, Stream::InStep];
    for message in messages(rest, 16) {
        let Some((&control, payload)) = message.split_first() else {
            continue;
        };
        let to_client = control & 1 == 0;
        let tamper = control & 2 != 0;
        let encoded = if to_client {
            server.encode(payload)
        } else {
            client.encode(payload)
        };
        let sender = usize::from(!to_client);
        let Ok(mut packet) = encoded else {
            // A session whose layer failed (decoding a tampered packet) refuses to encode too.
            assert_eq!(
                state[sender],
                Stream::Failed,
                "encode of {} bytes failed",
                payload.len()
            );
            continue;
        };
        if tamper {
            let position = payload.first().map_or(0, |&b| usize::from(b));
            let at = position % packet.len();
            packet[at] ^= 1 << (position % 8);
        }
        let receiver = usize::from(to_client);
        let decoded = if to_client {
            client.decode(&packet)
        } else {
            server.decode(&packet)
        };
        state[receiver] = match (state[receiver], tamper, decoded) {
            (Stream::InStep, false, decoded) => {
                assert_eq!(
                    decoded.ok().as_deref(),
                    Some(payload),
                    "decode(encode(x)) != x"
                );
                Stream::InStep
            }
            (Stream::Failed, _, decoded) => {
                assert!(decoded.is_err(), "a failed layer must stay failed");
                Stream::Failed
            }
            (_, _, Err(_)) => Stream::Failed,
            (_, _, Ok(out)) => {
                assert!(
                    out.is_empty(),
                    "a tampered packet (or one after it) was decoded"
                );
                Stream::OutOfStep
            }
        };
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stream {
    InStep,
    OutOfStep,
    Failed,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds the seed inputs of the corpora and checks that they reach success; with
    /// `PURESASL_WRITE_CORPUS` set, writes them to `fuzz/corpus/`.
    #[test]
    fn seeds_reach_the_end() {
        // Server: the answer of our client to the fuzz server's challenge.
        let mut server = server(MECH);
        let Ok(ServerStep::Continue(challenge)) = server.start(MECH, None) else {
            panic!("challenge");
        };
        let config = ClientConfig::new("imap", REALM, Arc::new(Credentials::new(USER, PASSWORD)))
            .with_random(Arc::new(FixedRandom::new(3)));
        let mut client = ClientSession::new(Arc::new(config));
        client.start(MECH).unwrap();
        let Ok(ClientStep::Continue(response)) = client.step(&challenge) else {
            panic!("response");
        };
        let Ok(ServerStep::Done {
            additional_data, ..
        }) = server.step(&response)
        else {
            panic!("accepted");
        };
        let server_seed = [&[0u8][..], &response].concat();
        let (_, accepted) = drive_server(&mut super::server(MECH), MECH, false, &[&response]);
        assert!(accepted);
        digest_md5_server(&server_seed);

        // Client: the fuzz server's challenge, then its rspauth.
        let client_seed = [&[0u8][..], &challenge, b"\n\n", &additional_data.unwrap()].concat();
        digest_md5_client(&client_seed);

        // Layer: three packets from the matching sender, for each layer.
        let mut layer_seeds = Vec::new();
        for selector in 0..6u8 {
            let mut sender = layer(selector, true);
            let mut seed = vec![selector];
            for message in [&b"hello"[..], &[0x5a; 100], b""] {
                seed.extend(sender.encode(message).unwrap());
            }
            let mut receiver = layer(selector, false);
            assert_eq!(
                receiver.decode(&seed[1..]).unwrap().len(),
                105,
                "layer {selector}"
            );
            digest_md5_layer(&seed);
            layer_seeds.push(seed);
        }

        // Session layer: each layer, messages both ways, then a tampered one.
        let mut session_seeds = Vec::new();
        for selector in 0..6u8 {
            let seed = [
                &[selector][..],
                b"\x00hello\n\n\x01back\n\n\x00",
                &[0x5a; 100],
                b"\n\n\x03\x07tampered\n\n\x01after",
            ]
            .concat();
            digest_md5_session_layer(&seed);
            session_seeds.push(seed);
        }

        if std::env::var_os("PURESASL_WRITE_CORPUS").is_some() {
            let root = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/corpus");
            let write = |target: &str, name: &str, data: &[u8]| {
                let dir = format!("{root}/{target}");
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(format!("{dir}/{name}"), data).unwrap();
            };
            write("digest_md5_server", "accepted", &server_seed);
            write("digest_md5_client", "accepted", &client_seed);
            for (n, seed) in layer_seeds.iter().enumerate() {
                write("digest_md5_layer", &format!("layer{n}"), seed);
            }
            for (n, seed) in session_seeds.iter().enumerate() {
                write("digest_md5_session_layer", &format!("layer{n}"), seed);
            }
        }
    }
}
