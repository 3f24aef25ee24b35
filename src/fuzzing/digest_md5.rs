//! Fuzz bodies for DIGEST-MD5: each side, the directive parser and the security-layer
//! decoder.

use std::sync::Arc;

use super::{PASSWORD, REALM, USER, drive_server, messages, server};
use crate::client::{ClientConfig, ClientSession, ClientStep, Credentials};
use crate::mech::SecurityLayer;
use crate::mech::digest_md5::layer::DigestLayer;
use crate::mech::digest_md5::{
    Cipher, DigestInputs, MAX_RESPONSE, Qop, parse, response_value, session_key, unhex16,
    user_secret,
};
use crate::random::FixedRandom;
use crate::security::SecurityProperties;

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

/// DIGEST-MD5 server: accepted only if the response's digest is the one the right password
/// gives for the nonce this server sent.
pub fn digest_md5_server(data: &[u8]) {
    let initial = data.first().is_some_and(|b| b & 1 == 1);
    let inputs = messages(data.get(1..).unwrap_or_default(), 3);
    let mut session = server(MECH);
    let (challenges, accepted) = drive_server(&mut session, MECH, initial, &inputs);
    if accepted {
        // An initial response is ignored; the first message after the challenge is the answer.
        let response = inputs
            .get(usize::from(initial))
            .copied()
            .unwrap_or_default();
        let d = parse::parse(response, MAX_RESPONSE, &[]);
        let offered = d
            .as_ref()
            .ok()
            .and_then(|d| d.get("response").and_then(unhex16));
        let nonce_sent = challenges.first().and_then(|c| {
            parse::parse(c, 2048, &["realm"])
                .ok()
                .and_then(|c| c.get("nonce").map(<[u8]>::to_vec))
        });
        let nonce_used = d
            .as_ref()
            .ok()
            .and_then(|d| d.get("nonce").map(<[u8]>::to_vec));
        assert!(
            nonce_sent.is_some() && nonce_sent == nonce_used,
            "DIGEST-MD5 accepted a response to another nonce"
        );
        assert!(
            offered.is_some() && offered == expected_digest(response, true),
            "DIGEST-MD5 accepted a wrong digest"
        );
    }
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

/// The directive parser alone: never panics, and is deterministic.
pub fn digest_md5_parse(data: &[u8]) {
    let first = parse::parse(data, 4096, &["realm"]);
    let second = parse::parse(data, 4096, &["realm"]);
    assert_eq!(first.is_ok(), second.is_ok());
    if let Ok(d) = first {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::ServerStep;

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
        }
    }
}
