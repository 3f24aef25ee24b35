//! Fuzz bodies for PLAIN, LOGIN and CRAM-MD5.

use std::sync::Arc;

use hmac::{Hmac, KeyInit, Mac};
use md5::Md5;

use super::{PASSWORD, USER, drive_server, messages, server};
use crate::client::{ClientConfig, ClientSession, ClientStep, Credentials};
use crate::mech::{cram_md5, plain};
use crate::random::FixedRandom;

/// PLAIN server: accepted only if some message holds the right password.
pub fn plain_server(data: &[u8]) {
    let initial = data.first().is_some_and(|b| b & 1 == 1);
    let inputs = messages(data.get(1..).unwrap_or_default(), 3);
    let (_, accepted) = drive_server(&mut server("PLAIN"), "PLAIN", initial, &inputs);
    if accepted {
        let message = inputs.iter().find_map(|m| plain::parse(m).ok());
        assert!(
            message.is_some_and(|m| m.password == PASSWORD.as_bytes()),
            "PLAIN accepted a wrong password"
        );
    }
}

/// The PLAIN message parser alone: what it accepts is exactly its three fields joined by
/// NULs (so serializing the parts gives back the input).
pub fn plain_parse(data: &[u8]) {
    if let Ok(message) = plain::parse(data) {
        assert!(!message.authcid.is_empty() && !message.password.is_empty());
        let again = [
            message.authzid.unwrap_or_default().as_bytes(),
            b"\0",
            message.authcid.as_bytes(),
            b"\0",
            message.password,
        ]
        .concat();
        assert_eq!(again, data, "PLAIN fields do not round-trip");
    }
}

/// LOGIN server: accepted only if the password message is the right password.
pub fn login_server(data: &[u8]) {
    let initial = data.first().is_some_and(|b| b & 1 == 1);
    let inputs = messages(data.get(1..).unwrap_or_default(), 4);
    let (_, accepted) = drive_server(&mut server("LOGIN"), "LOGIN", initial, &inputs);
    if accepted {
        assert!(
            inputs.get(1).is_some_and(|pw| *pw == PASSWORD.as_bytes()),
            "LOGIN accepted a wrong password"
        );
    }
}

/// CRAM-MD5 server: accepted only if the digest is HMAC-MD5 of the right password over the
/// challenge actually sent.
pub fn cram_md5_server(data: &[u8]) {
    let initial = data.first().is_some_and(|b| b & 1 == 1);
    let inputs = messages(data.get(1..).unwrap_or_default(), 3);
    let mut session = server("CRAM-MD5");
    let (challenges, accepted) = drive_server(&mut session, "CRAM-MD5", initial, &inputs);
    if accepted {
        let challenge = challenges.first().cloned().unwrap_or_default();
        let expected = cram_md5::digest(PASSWORD.as_bytes(), &challenge);
        let offered = inputs.iter().find_map(|m| cram_md5::parse_response(m).ok());
        assert!(
            offered.is_some_and(|(_, digest)| digest == expected),
            "CRAM-MD5 accepted a wrong digest"
        );
    }
}

/// CRAM-MD5 client on hostile challenges: never panics, and answers each challenge with
/// exactly `user hex(HMAC-MD5(password, challenge))`, computed here independently.
pub fn cram_md5_client(data: &[u8]) {
    client_on("CRAM-MD5", data, |challenge, round| {
        (round == 0).then(|| {
            let mut mac = <Hmac<Md5> as KeyInit>::new_from_slice(PASSWORD.as_bytes())
                .unwrap_or_else(|_| panic!("HMAC takes any key"));
            mac.update(challenge);
            let hex: String = mac
                .finalize()
                .into_bytes()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            format!("{USER} {hex}").into_bytes()
        })
    });
}

/// PLAIN and LOGIN clients on hostile challenges: never panic, and send exactly the
/// credentials (PLAIN: `\0user\0password`, whatever the challenge; LOGIN: the user name,
/// then the password).
pub fn basic_clients(data: &[u8]) {
    let plain = [b"\0", USER.as_bytes(), b"\0", PASSWORD.as_bytes()].concat();
    client_on("PLAIN", data, |_, _| Some(plain.clone()));
    client_on("LOGIN", data, |_, round| match round {
        0 => Some(USER.as_bytes().to_vec()),
        1 => Some(PASSWORD.as_bytes().to_vec()),
        _ => None,
    });
}

/// Runs `mechanism`'s client over the challenges in `data`; every response it sends must be
/// `expected(challenge, round)` (`None`: the client must not answer that round).
fn client_on(mechanism: &str, data: &[u8], expected: impl Fn(&[u8], usize) -> Option<Vec<u8>>) {
    let config = ClientConfig::new(
        "imap",
        super::REALM,
        Arc::new(Credentials::new(USER, PASSWORD)),
    )
    .with_random(Arc::new(FixedRandom::new(3)));
    let mut session = ClientSession::new(Arc::new(config));
    let Ok(start) = session.start(mechanism) else {
        panic!("{mechanism} client failed to start");
    };
    if let Some(initial) = start.initial_response {
        assert_eq!(
            Some(initial),
            expected(b"", 0),
            "{mechanism} client sent a wrong initial response"
        );
    }
    for (round, challenge) in messages(data, 4).into_iter().enumerate() {
        match session.step(challenge) {
            Ok(ClientStep::Continue(response) | ClientStep::Done(Some(response))) => {
                assert_eq!(
                    Some(response),
                    expected(challenge, round),
                    "{mechanism} client sent a wrong response"
                );
            }
            Ok(ClientStep::Done(None)) => {}
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

/// ANONYMOUS and EXTERNAL servers (the external identity is [`USER`](super::USER)): never
/// panic; ANONYMOUS only ever yields `anonymous`; EXTERNAL only ever the external identity
/// acting as itself, perhaps named with its realm (the default policy refuses any other
/// authorization identity); a
/// finished or failed session refuses further steps.
pub fn single_message_servers(data: &[u8]) {
    use crate::server::ServerStep;
    let initial = data.first().is_some_and(|b| b & 1 == 1);
    let inputs = messages(data.get(1..).unwrap_or_default(), 3);
    for mechanism in ["ANONYMOUS", "EXTERNAL"] {
        let mut session = server(mechanism);
        session.set_external_identity(Some(super::USER.to_owned()));
        let mut next = inputs.iter().copied();
        let first = if initial { next.next() } else { None };
        let mut reply = session.start(mechanism, first);
        loop {
            match reply {
                Ok(ServerStep::Continue(_)) => match next.next() {
                    Some(message) => reply = session.step(message),
                    None => break,
                },
                Ok(ServerStep::Done { identity, .. }) => {
                    let expected = if mechanism == "ANONYMOUS" {
                        crate::mech::anonymous::ANONYMOUS_USER
                    } else {
                        super::USER
                    };
                    assert_eq!(
                        identity.authcid, expected,
                        "{mechanism} authenticated someone else"
                    );
                    // The same principal may be named with its realm (`user@<realm>`).
                    let same_principal = |authzid: &str| {
                        let (user, realm) = session.config().split_user(authzid);
                        user == identity.authcid && realm == identity.realm
                    };
                    assert!(
                        identity.authzid.as_deref().is_none_or(same_principal),
                        "{mechanism} granted another identity"
                    );
                    assert!(
                        session.step(b"").is_err(),
                        "a finished session must refuse steps"
                    );
                    break;
                }
                Err(_) => {
                    assert!(
                        session.step(b"x").is_err(),
                        "a failed session must stay failed"
                    );
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::ServerStep;

    /// The CRAM-MD5 server seed is a right answer, so the fuzzer starts on the accepting
    /// path and its oracle runs; with `PURESASL_WRITE_CORPUS` set, writes it to
    /// `fuzz/corpus/cram_md5_server/`.
    #[test]
    fn cram_md5_seed_is_accepted() {
        let Ok(ServerStep::Continue(challenge)) = server("CRAM-MD5").start("CRAM-MD5", None) else {
            panic!("challenge");
        };
        let mut mac = <Hmac<Md5> as KeyInit>::new_from_slice(PASSWORD.as_bytes()).unwrap();
        mac.update(&challenge);
        let hex: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let seed = [&[0u8][..], format!("{USER} {hex}").as_bytes()].concat();
        let inputs = messages(&seed[1..], 3);
        let (_, accepted) = drive_server(&mut server("CRAM-MD5"), "CRAM-MD5", false, &inputs);
        assert!(accepted, "the seed must be accepted");
        cram_md5_server(&seed);
        if std::env::var_os("PURESASL_WRITE_CORPUS").is_some() {
            let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/corpus/cram_md5_server");
            std::fs::write(format!("{dir}/accepted"), &seed).unwrap();
        }
    }
}
