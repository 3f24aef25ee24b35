//! Fuzz bodies for SCRAM: the server never accepts a proof other than the right one for the
//! transcript, the client never accepts a server signature other than the right one, and
//! neither panics.
//!
//! Input: the first byte picks the mechanism (`(byte & 0x7f) % 10`, in [`MECHANISMS`] order) and, in
//! bit 7, whether the server gets the first message as an initial response; the rest is
//! peer messages separated by `\n\n`.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::{PASSWORD, USER, drive_server, messages, server};
use crate::client::{ClientConfig, ClientSession, ClientStep, Credentials};
use crate::keys::{ClientKeys, ScramHash};
use crate::mech::scram::parse;
use crate::random::FixedRandom;
use crate::security::ChannelBinding;

/// The SCRAM mechanisms, in the order the first input byte selects them.
pub const MECHANISMS: [&str; 10] = [
    "SCRAM-SHA-1",
    "SCRAM-SHA-1-PLUS",
    "SCRAM-SHA-224",
    "SCRAM-SHA-224-PLUS",
    "SCRAM-SHA-256",
    "SCRAM-SHA-256-PLUS",
    "SCRAM-SHA-384",
    "SCRAM-SHA-384-PLUS",
    "SCRAM-SHA-512",
    "SCRAM-SHA-512-PLUS",
];

/// The client nonce of the fuzzed client.
pub const CLIENT_NONCE: &str = "fuzzclientnoncefuzzclient";

/// The channel binding both fuzzed sides use for `-PLUS`.
pub fn binding() -> ChannelBinding {
    ChannelBinding {
        kind: "tls-exporter".into(),
        data: b"fuzz channel binding data".to_vec(),
        required: false,
    }
}

fn pick(data: &[u8]) -> (&'static str, ScramHash, bool) {
    let byte = data.first().copied().unwrap_or(0);
    let name = MECHANISMS
        .get(usize::from((byte & 0x7f) % 10))
        .copied()
        .unwrap_or("SCRAM-SHA-256");
    let base = name.trim_end_matches("-PLUS");
    let hash = ScramHash::from_mechanism_name(base).unwrap_or(ScramHash::Sha256);
    (name, hash, byte & 0x80 != 0)
}

/// `ClientProof` and `ServerSignature` for a transcript, computed independently of the
/// state machines.
fn expected(
    hash: ScramHash,
    client_first_bare: &str,
    server_first: &[u8],
    without_proof: &str,
) -> Option<(Vec<u8>, Vec<u8>)> {
    let first = parse::server_first(server_first).ok()?;
    let keys = ClientKeys::derive(hash, PASSWORD.as_bytes(), &first.salt, first.iterations);
    let auth_message = [
        client_first_bare.as_bytes(),
        b",",
        server_first,
        b",",
        without_proof.as_bytes(),
    ];
    let signature = hash.hmac(keys.stored_key.expose(), &auth_message);
    let proof = crate::mech::scram::xor(keys.client_key.expose(), &signature);
    Some((proof, hash.hmac(keys.server_key.expose(), &auth_message)))
}

/// SCRAM server: accepts only the right proof for the transcript it took part in.
pub fn scram_server(data: &[u8]) {
    let (mechanism, hash, initial) = pick(data);
    let inputs = messages(data.get(1..).unwrap_or_default(), 4);
    let mut session = server(mechanism);
    if mechanism.ends_with("-PLUS") {
        session.set_channel_binding(Some(binding()));
    }
    let (challenges, accepted) = drive_server(&mut session, mechanism, initial, &inputs);
    if !accepted {
        return;
    }
    // The messages the server acted on: client-first, then client-final.
    // Without an initial response the first challenge is the empty one.
    let client_first = inputs.first().copied().unwrap_or_default();
    let client_final = inputs.get(1).copied().unwrap_or_default();
    let server_first = challenges
        .get(usize::from(!initial))
        .cloned()
        .unwrap_or_default();
    let first = parse::client_first(client_first);
    let last = parse::client_final(client_final, hash.output_len());
    let sent = parse::server_first(&server_first);
    let (Ok(first), Ok(last), Ok(sent)) = (first, last, sent) else {
        panic!("SCRAM server accepted unparseable messages");
    };
    // The nonce: the client's, extended by the server, echoed unchanged.
    assert!(
        sent.nonce.len() > first.nonce.len() && sent.nonce.starts_with(first.nonce),
        "SCRAM server nonce does not extend the client's"
    );
    assert_eq!(
        last.nonce, sent.nonce,
        "SCRAM server accepted another nonce"
    );
    // Channel binding: the GS2 header as sent, and the channel's data exactly when bound.
    let mut binding_data = first.gs2.raw.as_bytes().to_vec();
    match first.gs2.flag {
        parse::CbFlag::Bound(kind) => {
            assert!(
                mechanism.ends_with("-PLUS") && kind == binding().kind.name(),
                "SCRAM server accepted a binding it does not have"
            );
            binding_data.extend_from_slice(&binding().data);
        }
        parse::CbFlag::NotSupported | parse::CbFlag::ClientOnly => assert!(
            !mechanism.ends_with("-PLUS"),
            "SCRAM-PLUS accepted a client that did not bind"
        ),
    }
    assert_eq!(
        last.channel_binding, binding_data,
        "SCRAM server accepted wrong channel-binding data"
    );
    let right = expected(hash, first.bare, &server_first, last.without_proof);
    assert!(
        right.is_some_and(|(proof, _)| proof == last.proof),
        "SCRAM server accepted a wrong proof"
    );
}

/// SCRAM client on hostile server messages: completes only with the right server
/// signature.
pub fn scram_client(data: &[u8]) {
    let (mechanism, hash, _) = pick(data);
    let config = ClientConfig::new(
        "imap",
        super::REALM,
        Arc::new(Credentials::new(USER, PASSWORD)),
    )
    .with_random(Arc::new(FixedRandom::with_nonces([CLIENT_NONCE])))
    // Counts above the bound are refused before any derivation; below it every exchange
    // derives twice (the client, then the oracle), so a low bound keeps the target at
    // thousands of executions per second, as the servers' 2 iterations do.
    .with_scram_iterations(1, 64);
    let mut session = ClientSession::new(Arc::new(config));
    if mechanism.ends_with("-PLUS") {
        session.set_channel_binding(Some(binding()));
    }
    let Ok(start) = session.start(mechanism) else {
        panic!("SCRAM client failed to start")
    };
    let client_first = String::from_utf8(start.initial_response.unwrap_or_default());
    let bare = client_first
        .as_deref()
        .ok()
        .and_then(|m| m.split_once(",n=").map(|(_, rest)| format!("n={rest}")))
        .unwrap_or_default();
    let mut server_first = None;
    let mut client_final = None;
    for challenge in messages(data.get(1..).unwrap_or_default(), 4) {
        match session.step(challenge) {
            Ok(ClientStep::Continue(response)) => {
                // An empty challenge only makes the client re-send client-first.
                if !challenge.is_empty() {
                    server_first = Some(challenge.to_vec());
                    client_final = Some(response);
                }
            }
            Ok(ClientStep::Done(_)) => {
                let (Some(server_first), Some(client_final)) = (&server_first, &client_final)
                else {
                    panic!("SCRAM client finished without an exchange");
                };
                let without_proof = std::str::from_utf8(client_final)
                    .ok()
                    .and_then(|m| m.rsplit_once(",p="))
                    .map(|(head, _)| head)
                    .unwrap_or_default();
                let right = expected(hash, &bare, server_first, without_proof);
                let offered = std::str::from_utf8(challenge)
                    .ok()
                    .and_then(|m| m.split(',').next())
                    .and_then(|v| v.strip_prefix("v="))
                    .and_then(|v| STANDARD.decode(v).ok());
                assert!(
                    right.is_some_and(|(_, signature)| Some(signature) == offered),
                    "SCRAM client accepted a wrong server signature"
                );
                assert!(
                    session.step(b"").is_err(),
                    "a finished client must refuse steps"
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

/// The SCRAM message parsers alone.
pub fn scram_parse(data: &[u8]) {
    let _ = parse::client_first(data);
    let _ = parse::server_first(data);
    let _ = parse::server_final(data);
    for len in [20, 28, 32, 48, 64] {
        if let Ok(last) = parse::client_final(data, len) {
            assert_eq!(last.proof.len(), len);
        }
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(name) = parse::decode_saslname(text)
    {
        assert_eq!(
            parse::decode_saslname(&parse::encode_saslname(&name)).ok(),
            Some(name)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::ServerStep;

    /// One accepted exchange per SCRAM mechanism (with and without an initial response), so
    /// the fuzzer starts on the accepting path and the oracles run; with
    /// `PURESASL_WRITE_CORPUS` set, writes them to `fuzz/corpus/scram_server/`.
    #[test]
    fn scram_seeds_are_accepted() {
        for (index, mechanism) in MECHANISMS.iter().enumerate() {
            let config = ClientConfig::new(
                "imap",
                super::super::REALM,
                Arc::new(Credentials::new(USER, PASSWORD)),
            )
            .with_random(Arc::new(FixedRandom::with_nonces([CLIENT_NONCE])))
            .with_scram_iterations(1, 4096);
            let mut client = ClientSession::new(Arc::new(config));
            let mut server = server(mechanism);
            if mechanism.ends_with("-PLUS") {
                client.set_channel_binding(Some(binding()));
                server.set_channel_binding(Some(binding()));
            }
            let client_first = client.start(mechanism).unwrap().initial_response.unwrap();
            let Ok(ServerStep::Continue(server_first)) =
                server.start(mechanism, Some(&client_first))
            else {
                panic!("{mechanism}: server-first");
            };
            let Ok(ClientStep::Continue(client_final)) = client.step(&server_first) else {
                panic!("{mechanism}: client-final");
            };
            let selector = u8::try_from(index).unwrap() | 0x80;
            let seed = [&[selector][..], &client_first, b"\n\n", &client_final].concat();
            let inputs = messages(&seed[1..], 4);
            let mut fresh = super::server(mechanism);
            if mechanism.ends_with("-PLUS") {
                fresh.set_channel_binding(Some(binding()));
            }
            let (_, accepted) = drive_server(&mut fresh, mechanism, true, &inputs);
            assert!(accepted, "{mechanism}: the seed must be accepted");
            scram_server(&seed);
            if std::env::var_os("PURESASL_WRITE_CORPUS").is_some() {
                let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/corpus/scram_server");
                let name = format!("accepted-{}", mechanism.to_ascii_lowercase());
                std::fs::write(format!("{dir}/{name}"), &seed).unwrap();
            }
        }
    }
}
