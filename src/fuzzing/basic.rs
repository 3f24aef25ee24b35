//! Fuzz bodies for PLAIN, LOGIN and CRAM-MD5.

use std::sync::Arc;

use super::{PASSWORD, drive_server, messages, server};
use crate::client::{ClientConfig, ClientSession, Credentials};
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

/// The PLAIN message parser alone.
pub fn plain_parse(data: &[u8]) {
    if let Ok(message) = plain::parse(data) {
        assert!(!message.authcid.is_empty() && !message.password.is_empty());
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

/// CRAM-MD5 client on hostile challenges: never panics.
pub fn cram_md5_client(data: &[u8]) {
    client_on("CRAM-MD5", data);
}

/// PLAIN and LOGIN clients on hostile challenges: never panic.
pub fn basic_clients(data: &[u8]) {
    client_on("PLAIN", data);
    client_on("LOGIN", data);
}

fn client_on(mechanism: &str, data: &[u8]) {
    let config = ClientConfig::new(
        "imap",
        super::REALM,
        Arc::new(Credentials::new(super::USER, PASSWORD)),
    )
    .with_random(Arc::new(FixedRandom::new(3)));
    let mut session = ClientSession::new(Arc::new(config));
    if session.start(mechanism).is_err() {
        return;
    }
    for challenge in messages(data, 4) {
        if session.step(challenge).is_err() {
            assert!(
                session.step(b"").is_err(),
                "a failed client must stay failed"
            );
            return;
        }
    }
}

/// ANONYMOUS and EXTERNAL servers (the external identity is [`USER`](super::USER)): never
/// panic; ANONYMOUS only ever yields `anonymous`; EXTERNAL only ever the external identity
/// acting as itself (the default policy refuses any other authorization identity); a
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
                    assert!(
                        identity.authzid.is_none() || identity.username() == super::USER,
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
