//! PLAIN, LOGIN and CRAM-MD5: RFC vectors, every pair in memory, and every way a peer can lie.

use std::sync::Arc;

use puresasl::auxprop::property;
use puresasl::credentials::{PasswordPolicy, set_password};
use puresasl::{
    Auxprop, ClientConfig, ClientSession, ClientStep, Credentials, Error, FixedRandom, Identity,
    MemoryStore, ProtocolError, Secret, SecurityFlags, ServerConfig, ServerSession, ServerStep,
    StoreError,
};

use crate::pair::{self, PairError, Side, client_config, exchange, server_config};
use crate::vectors;

const BASIC: [&str; 3] = ["PLAIN", "LOGIN", "CRAM-MD5"];

fn tim() -> Credentials {
    Credentials::new("tim", "tanstaaftanstaaf")
}

#[test]
fn plain_rfc4616_vectors() {
    for v in vectors::load("plain/vectors.txt") {
        let (authzid, authcid, password, message) = (v.text(0), v.text(1), v.text(2), v.base64(3));
        let mut credentials = Credentials::new(authcid, password);
        if !authzid.is_empty() {
            credentials = credentials.with_authzid(authzid);
        }
        let mut client = ClientSession::new(client_config("PLAIN", credentials));
        let start = client.start("PLAIN").unwrap();
        assert_eq!(
            start.initial_response,
            Some(message.clone()),
            "vector {}",
            v.name
        );

        let store = MemoryStore::new().with_password(authcid, "example.org", password);
        let policy =
            |identity: &Identity, authzid: &str| identity.authcid == "Kurt" && authzid == "Ursel";
        let config = ServerConfig::builder("imap", "example.org")
            .store(Arc::new(store))
            .authorization(Arc::new(policy))
            .build()
            .unwrap();
        let mut server = ServerSession::new(Arc::new(config));
        match server.start("PLAIN", Some(&message)) {
            Ok(ServerStep::Done {
                identity,
                additional_data,
            }) => {
                assert_eq!(identity.authcid, authcid, "vector {}", v.name);
                assert_eq!(
                    identity.username(),
                    if authzid.is_empty() { authcid } else { authzid }
                );
                assert_eq!(additional_data, None);
            }
            other => panic!("vector {}: {other:?}", v.name),
        }
    }
}

#[test]
fn cram_md5_rfc2195_vectors_both_sides() {
    for v in vectors::load("cram_md5/vectors.txt") {
        let (user, password, host, nonce) = (v.text(0), v.text(1), v.text(2), v.text(3));
        let (challenge, response) = (v.base64(4), v.base64(5));

        let mut client =
            ClientSession::new(client_config("CRAM-MD5", Credentials::new(user, password)));
        assert_eq!(client.start("CRAM-MD5").unwrap().initial_response, None);
        assert_eq!(
            client.step(&challenge).unwrap(),
            ClientStep::Done(Some(response.clone())),
            "vector {}",
            v.name
        );

        let store = MemoryStore::new().with_password(user, host, password);
        let config = ServerConfig::builder("imap", host)
            .store(Arc::new(store))
            .random(Arc::new(FixedRandom::with_nonces([nonce])))
            .build()
            .unwrap();
        let mut server = ServerSession::new(Arc::new(config));
        assert_eq!(
            server.start("CRAM-MD5", None).unwrap(),
            ServerStep::Continue(challenge),
            "vector {}",
            v.name
        );
        assert!(
            matches!(server.step(&response), Ok(ServerStep::Done { .. })),
            "vector {}",
            v.name
        );
    }
}

#[test]
fn every_mechanism_pairs_with_itself_with_and_without_initial_response() {
    for info in puresasl::unstable::MECHANISMS {
        if info.channel_binding || ["ANONYMOUS", "EXTERNAL"].contains(&info.name) {
            // Exercised with binding data by the SCRAM tests; without a password in
            // anonymous_external.
            continue;
        }
        for initial in [true, false] {
            let run = exchange(info.name, tim(), initial);
            assert_eq!(run.mechanism, info.name);
            let identity = run
                .result
                .unwrap_or_else(|e| panic!("{} initial={initial}: {e:?}", info.name));
            assert_eq!(identity.authcid, "tim");
            assert_eq!(identity.realm, "example.org");
            assert_eq!(identity.authzid, None);
        }
    }
}

#[test]
fn login_uses_cyrus_prompts_and_accepts_an_initial_user() {
    let run = exchange("LOGIN", tim(), false);
    let server_messages: Vec<&[u8]> = run
        .transcript
        .iter()
        .filter(|(side, _)| *side == Side::Server)
        .map(|(_, m)| m.as_slice())
        .collect();
    assert_eq!(server_messages, [&b"Username:"[..], b"Password:"]);

    let mut server = ServerSession::new(server_config(&["LOGIN"]));
    assert_eq!(
        server.start("LOGIN", Some(b"tim")).unwrap(),
        ServerStep::Continue(b"Password:".to_vec())
    );
    assert!(matches!(
        server.step(b"tanstaaftanstaaf"),
        Ok(ServerStep::Done { .. })
    ));
}

#[test]
fn plain_without_initial_response_gets_an_empty_challenge() {
    let mut server = ServerSession::new(server_config(&["PLAIN"]));
    assert_eq!(
        server.start("PLAIN", None).unwrap(),
        ServerStep::Continue(Vec::new())
    );
    assert!(matches!(
        server.step(b"\0tim\0tanstaaftanstaaf"),
        Ok(ServerStep::Done { .. })
    ));
}

#[test]
fn wrong_password_fails_for_every_mechanism() {
    for name in BASIC {
        let run = exchange(name, Credentials::new("tim", "wrong"), true);
        assert_eq!(
            run.result.unwrap_err(),
            PairError::Server(Error::AuthenticationFailed),
            "{name}"
        );
    }
}

#[test]
fn unknown_user_is_indistinguishable_from_wrong_password() {
    for name in BASIC {
        let wrong = exchange(name, Credentials::new("tim", "wrong"), false);
        let unknown = exchange(name, Credentials::new("nobody", "wrong"), false);
        assert_eq!(
            wrong.result.as_ref().unwrap_err(),
            unknown.result.as_ref().unwrap_err(),
            "{name}"
        );
        let server_side = |run: &pair::Exchange| -> Vec<Vec<u8>> {
            run.transcript
                .iter()
                .filter(|(side, _)| *side == Side::Server)
                .map(|(_, m)| m.clone())
                .collect()
        };
        assert_eq!(
            server_side(&wrong).len(),
            server_side(&unknown).len(),
            "{name}"
        );
        if name != "CRAM-MD5" {
            // CRAM-MD5 challenges are fresh nonces; the others are fixed texts.
            assert_eq!(server_side(&wrong), server_side(&unknown), "{name}");
        }
    }
}

#[test]
fn user_at_realm_and_realm_rules() {
    // user@realm splits at the first '@'.
    let store = MemoryStore::new()
        .with_password("bob", "other.org", "pw")
        .with_password("carol", "mail.example.org", "pw");
    let build = |realm: Option<&str>| {
        let mut builder =
            ServerConfig::builder("smtp", "MAIL.Example.ORG").store(Arc::new(MemoryStore::new()));
        if let Some(realm) = realm {
            builder = builder.user_realm(realm);
        }
        builder.build().unwrap()
    };
    let config = build(None);
    assert_eq!(config.fqdn(), "mail.example.org");
    assert_eq!(
        config.split_user("bob@other.org@x"),
        ("bob".into(), "other.org@x".into())
    );
    assert_eq!(
        config.split_user("carol"),
        ("carol".into(), "mail.example.org".into())
    );
    let config = build(Some("example.org"));
    assert_eq!(
        config.split_user("carol"),
        ("carol".into(), "example.org".into())
    );

    let config = Arc::new(
        ServerConfig::builder("smtp", "MAIL.example.org")
            .store(Arc::new(store))
            .build()
            .unwrap(),
    );
    let mut server = ServerSession::new(config.clone());
    let Ok(ServerStep::Done { identity, .. }) = server.start("PLAIN", Some(b"\0bob@other.org\0pw"))
    else {
        panic!("user@realm login failed")
    };
    assert_eq!(
        (identity.authcid.as_str(), identity.realm.as_str()),
        ("bob", "other.org")
    );
    let mut server = ServerSession::new(config);
    assert!(matches!(
        server.start("PLAIN", Some(b"\0carol\0pw")),
        Ok(ServerStep::Done { .. })
    ));
}

#[test]
fn authzid_is_refused_unless_the_policy_allows_it() {
    let run = exchange("PLAIN", tim().with_authzid("root"), true);
    assert_eq!(
        run.result.unwrap_err(),
        PairError::Server(Error::AuthorizationFailed)
    );

    // Acting as oneself (with or without the realm) is always allowed.
    for same in ["tim", "tim@example.org"] {
        let run = exchange("PLAIN", tim().with_authzid(same), true);
        assert_eq!(run.result.unwrap().authcid, "tim", "{same}");
    }

    let store = MemoryStore::new().with_password("tim", "example.org", "tanstaaftanstaaf");
    let policy =
        |identity: &Identity, authzid: &str| identity.authcid == "tim" && authzid == "shared";
    let config = ServerConfig::builder("imap", "example.org")
        .store(Arc::new(store))
        .authorization(Arc::new(policy))
        .build()
        .unwrap();
    let mut server = ServerSession::new(Arc::new(config));
    let Ok(ServerStep::Done { identity, .. }) =
        server.start("PLAIN", Some(b"shared\0tim\0tanstaaftanstaaf"))
    else {
        panic!("policy should allow tim as shared")
    };
    assert_eq!(identity.username(), "shared");
    assert_eq!(server.attempted_user(), Some("tim"));
}

#[test]
fn malformed_and_oversized_messages_are_protocol_errors() {
    type Case<'a> = (&'a str, Option<&'a [u8]>, &'a [&'a [u8]]);
    let cases: &[Case] = &[
        ("PLAIN", Some(b"tim"), &[]),
        ("PLAIN", Some(b"\0tim\0"), &[]),
        ("PLAIN", Some(b"\0\0pw"), &[]),
        ("PLAIN", Some(b"a\0b\0c\0d"), &[]),
        ("PLAIN", Some(b"\0\xc3\x28\0pw"), &[]),
        ("PLAIN", None, &[b""]),
        ("LOGIN", None, &[b""]),
        ("LOGIN", None, &[b"t\0m"]),
        ("LOGIN", None, &[b"tim", b""]),
        ("LOGIN", Some(b"\xff"), &[]),
        ("CRAM-MD5", None, &[b"tim"]),
        ("CRAM-MD5", None, &[b"tim 1234"]),
        (
            "CRAM-MD5",
            None,
            &[b"t\0m b913a602c7eda7a495b4e6e7334d3890"],
        ),
    ];
    for (mechanism, initial, steps) in cases {
        let mut server = ServerSession::new(server_config(&[mechanism]));
        let mut result = server.start(mechanism, *initial).map(|_| ());
        for step in *steps {
            if result.is_err() {
                break;
            }
            result = server.step(step).map(|_| ());
        }
        assert!(
            matches!(result, Err(Error::Protocol(_))),
            "{mechanism} {initial:?} {steps:?}: {result:?}"
        );
    }

    let huge = vec![b'a'; puresasl::server::MAX_CLIENT_MESSAGE + 1];
    for mechanism in ["PLAIN", "LOGIN"] {
        let mut server = ServerSession::new(server_config(&[mechanism]));
        assert!(matches!(
            server.start(mechanism, Some(&huge)),
            Err(Error::Protocol(ProtocolError::TooLong { .. }))
        ));
    }
    let mut field = b"\0".to_vec();
    field.extend(vec![b'a'; 2000]);
    field.extend(b"\0pw");
    let mut server = ServerSession::new(server_config(&["PLAIN"]));
    assert!(matches!(
        server.start("PLAIN", Some(&field)),
        Err(Error::Protocol(ProtocolError::TooLong { .. }))
    ));
}

#[test]
fn cram_md5_refuses_an_initial_response() {
    let mut server = ServerSession::new(server_config(&["CRAM-MD5"]));
    assert_eq!(
        server.start("CRAM-MD5", Some(b"")),
        Err(Error::Protocol(ProtocolError::UnexpectedInitialResponse))
    );
}

#[test]
fn sessions_refuse_steps_after_done_and_stay_failed() {
    let mut server = ServerSession::new(server_config(&["PLAIN"]));
    assert!(matches!(
        server.start("PLAIN", Some(b"\0tim\0tanstaaftanstaaf")),
        Ok(ServerStep::Done { .. })
    ));
    assert!(matches!(server.step(b""), Err(Error::State(_))));
    assert!(matches!(server.step(b""), Err(Error::State(_))));

    let mut server = ServerSession::new(server_config(&["PLAIN"]));
    assert_eq!(
        server.start("PLAIN", Some(b"\0tim\0nope")),
        Err(Error::AuthenticationFailed)
    );
    assert_eq!(
        server.step(b"\0tim\0tanstaaftanstaaf"),
        Err(Error::AuthenticationFailed)
    );
    assert_eq!(
        server.start("PLAIN", Some(b"\0tim\0tanstaaftanstaaf")),
        Err(Error::AuthenticationFailed)
    );
    assert_eq!(server.identity(), None);

    let mut server = ServerSession::new(server_config(&["PLAIN"]));
    assert!(matches!(server.step(b"x"), Err(Error::State(_))));

    let mut client = ClientSession::new(client_config("CRAM-MD5", tim()));
    client.start("CRAM-MD5").unwrap();
    assert_eq!(client.step(b""), Err(Error::Protocol(ProtocolError::Empty)));
    assert_eq!(
        client.step(b"<x@y>"),
        Err(Error::Protocol(ProtocolError::Empty))
    );
}

#[test]
fn unknown_or_disabled_mechanisms_are_refused() {
    let mut server = ServerSession::new(server_config(&["PLAIN"]));
    assert_eq!(
        server.start("LOGIN", None),
        Err(Error::NoMechanism("LOGIN".into()))
    );
    let mut server = ServerSession::new(server_config(&["PLAIN"]));
    assert_eq!(
        server.start("X-NOPE", None),
        Err(Error::NoMechanism("X-NOPE".into()))
    );
    assert!(
        ServerConfig::builder("imap", "h")
            .store(Arc::new(MemoryStore::new()))
            .mechanisms(["X-NOPE"])
            .build()
            .is_err()
    );
    // Names are case-insensitive.
    let mut server = ServerSession::new(server_config(&["plain"]));
    assert!(matches!(
        server.start("Plain", Some(b"\0tim\0tanstaaftanstaaf")),
        Ok(ServerStep::Done { .. })
    ));
}

#[test]
fn security_flags_filter_the_offer_and_external_ssf_lifts_noplaintext() {
    let config = Arc::new(
        ServerConfig::builder("smtp", "h")
            .store(Arc::new(MemoryStore::new()))
            .mechanisms(["PLAIN", "LOGIN", "CRAM-MD5"])
            .flags(SecurityFlags::NOPLAINTEXT | SecurityFlags::NOANONYMOUS)
            .build()
            .unwrap(),
    );
    assert_eq!(config.mechanism_names(), ["CRAM-MD5"]);
    let mut session = ServerSession::new(config.clone());
    assert_eq!(session.mechanisms(), ["CRAM-MD5"]);
    assert_eq!(
        session.start("PLAIN", Some(b"\0a\0b")),
        Err(Error::NoMechanism("PLAIN".into()))
    );
    let mut session = ServerSession::new(config);
    session.set_external_ssf(256);
    assert_eq!(session.mechanisms(), ["PLAIN", "LOGIN", "CRAM-MD5"]);
}

#[test]
fn client_picks_the_strongest_offered_mechanism() {
    let config = Arc::new(ClientConfig::new("smtp", "h", Arc::new(tim())));
    let client = ClientSession::new(config.clone());
    assert_eq!(
        client.choose("PLAIN LOGIN CRAM-MD5").unwrap().name,
        "CRAM-MD5"
    );
    assert_eq!(client.choose("login,plain").unwrap().name, "PLAIN");
    assert_eq!(client.choose("(LOGIN)").unwrap().name, "LOGIN");
    assert!(client.choose("X-UNKNOWN GSSAPI").is_err());
    assert!(client.choose("").is_err());

    let strict = Arc::new(
        ClientConfig::new("smtp", "h", Arc::new(tim())).with_flags(SecurityFlags::NOPLAINTEXT),
    );
    let client = ClientSession::new(strict);
    assert!(client.choose("PLAIN LOGIN").is_err());
    assert_eq!(
        client.choose("PLAIN LOGIN CRAM-MD5").unwrap().name,
        "CRAM-MD5"
    );
}

struct NoPassword;
impl puresasl::CredentialSource for NoPassword {
    fn authcid(&self) -> Option<String> {
        Some("tim".into())
    }
    fn password(&self) -> Option<Secret> {
        None
    }
}

#[test]
fn missing_client_credentials_are_reported() {
    for name in BASIC {
        let config = ClientConfig::new("imap", "h", Arc::new(NoPassword))
            .with_mechanisms([name])
            .unwrap();
        let mut client = ClientSession::new(Arc::new(config));
        // Reported when the mechanism needs the password, as Cyrus's client asks: PLAIN in
        // start, CRAM-MD5 with the challenge, LOGIN with its second prompt.
        let challenges: [&[u8]; 2] = [b"<1.2@h>", b"Password:"];
        let outcome = client.start(name).and_then(|_| {
            challenges
                .iter()
                .try_for_each(|challenge| client.step(challenge).map(|_| ()))
        });
        assert_eq!(
            outcome,
            Err(Error::MissingCredential(puresasl::CredentialKind::Password)),
            "{name}"
        );
    }
}

struct BrokenStore;
impl Auxprop for BrokenStore {
    fn lookup(&self, _: &str, _: &str, _: &str) -> Result<Vec<Secret>, StoreError> {
        Err(StoreError::Unavailable("database down".into()))
    }
}

#[test]
fn a_failing_store_is_not_an_authentication_failure() {
    for name in BASIC {
        let config = ServerConfig::builder("imap", "h")
            .store(Arc::new(BrokenStore))
            .build()
            .unwrap();
        let mut server = ServerSession::new(Arc::new(config));
        let mut client = ClientSession::new(client_config(name, tim()));
        let run = pair::run(&mut server, &mut client, true);
        assert!(
            matches!(run.result, Err(PairError::Server(Error::Store(_)))),
            "{name}: {:?}",
            run.result
        );
    }
}

#[test]
fn plain_and_login_verify_against_derived_secrets_only() {
    let store = Arc::new(MemoryStore::new());
    let policy = PasswordPolicy {
        keep_plaintext: false,
        scram_iterations: 4096,
        ..PasswordPolicy::default()
    };
    set_password(
        store.as_ref(),
        "tim",
        "example.org",
        b"tanstaaftanstaaf",
        &policy,
        &FixedRandom::new(1),
    )
    .unwrap();
    assert!(
        store
            .lookup("tim", "example.org", property::USER_PASSWORD)
            .unwrap()
            .is_empty()
    );
    let config = Arc::new(
        ServerConfig::builder("imap", "mail.example.org")
            .user_realm("example.org")
            .store(store)
            .build()
            .unwrap(),
    );
    for name in ["PLAIN", "LOGIN"] {
        let mut server = ServerSession::new(config.clone());
        let mut client = ClientSession::new(client_config(name, tim()));
        assert!(
            pair::run(&mut server, &mut client, true).result.is_ok(),
            "{name}"
        );
        let mut server = ServerSession::new(config.clone());
        let mut client = ClientSession::new(client_config(name, Credentials::new("tim", "wrong")));
        assert_eq!(
            pair::run(&mut server, &mut client, true)
                .result
                .unwrap_err(),
            PairError::Server(Error::AuthenticationFailed),
            "{name}"
        );
    }
    // Known users here cost a PBKDF2 derivation (with the cheapest stored hash), so unknown
    // users are made to cost one too.
    assert_eq!(
        config.unknown_user_decoy(),
        puresasl::unstable::Decoy::Derive {
            hash: puresasl::ScramHash::Sha256,
            iterations: 4096
        }
    );
    let mut server = ServerSession::new(config.clone());
    assert_eq!(
        server.start("PLAIN", Some(b"\0nobody\0tanstaaftanstaaf")),
        Err(Error::AuthenticationFailed)
    );
    // CRAM-MD5 needs the plaintext or its own secret (Cyrus's precomputed HMAC-MD5 state),
    // which the default policy stores.
    let mut server = ServerSession::new(config.clone());
    let mut client = ClientSession::new(client_config("CRAM-MD5", tim()));
    assert!(pair::run(&mut server, &mut client, true).result.is_ok());
    let mut server = ServerSession::new(config);
    let mut client =
        ClientSession::new(client_config("CRAM-MD5", Credentials::new("tim", "wrong")));
    assert_eq!(
        pair::run(&mut server, &mut client, true)
            .result
            .unwrap_err(),
        PairError::Server(Error::AuthenticationFailed)
    );
}

#[test]
fn log_says_why_while_the_wire_says_nothing() {
    use std::sync::Mutex;
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = {
        let lines = lines.clone();
        move |_level: puresasl::LogLevel, message: &str| {
            lines.lock().unwrap().push(message.to_owned())
        }
    };
    let store = MemoryStore::new().with_password("tim", "h", "pw");
    let config = Arc::new(
        ServerConfig::builder("imap", "h")
            .store(Arc::new(store))
            .log(Arc::new(sink))
            .build()
            .unwrap(),
    );
    let _ = ServerSession::new(config.clone()).start("PLAIN", Some(b"\0tim\0bad"));
    let _ = ServerSession::new(config).start("PLAIN", Some(b"\0nobody\0bad"));
    let lines = lines.lock().unwrap();
    assert!(
        lines[0].contains("Password verification failed"),
        "{lines:?}"
    );
    assert!(lines[1].contains("not found"), "{lines:?}");
    assert!(
        lines.iter().all(|l| !l.contains("bad")),
        "a password reached the log: {lines:?}"
    );
}

#[test]
fn only_plain_is_done_after_its_initial_response() {
    for info in puresasl::unstable::MECHANISMS
        .iter()
        .filter(|m| !m.channel_binding && m.name != "EXTERNAL")
    {
        let mut client = ClientSession::new(client_config(info.name, tim()));
        let start = client.start(info.name).unwrap();
        // ANONYMOUS (and EXTERNAL, tested in anonymous_external) are one message too.
        assert_eq!(
            start.done,
            ["PLAIN", "ANONYMOUS"].contains(&info.name),
            "{}",
            info.name
        );
    }
    // A server that ignores the initial response still gets it when it asks.
    let mut client = ClientSession::new(client_config("PLAIN", tim()));
    let start = client.start("PLAIN").unwrap();
    assert!(start.done);
    assert_eq!(
        client.step(b"").unwrap(),
        ClientStep::Done(start.initial_response)
    );
}
