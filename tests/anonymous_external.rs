//! ANONYMOUS (RFC 4505) and EXTERNAL (RFC 4422 appendix A): the RFC examples, both sides in
//! memory, the security flags that filter them, and the ways a peer or an application can get
//! them wrong.

use std::sync::{Arc, Mutex};

use puresasl::{
    ClientConfig, ClientSession, Credentials, Error, FixedRandom, Identity, LogLevel, MemoryStore,
    ProtocolError, SecurityFlags, SecurityProperties, ServerConfig, ServerSession, ServerStep,
};

use crate::pair;

fn new_server(mechanisms: &[&str], policy: bool) -> (ServerSession, Arc<Mutex<Vec<String>>>) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let sink = log.clone();
    let mut builder = ServerConfig::builder("imap", "mail.example.org")
        .store(Arc::new(MemoryStore::new()))
        .mechanisms(mechanisms)
        .random(Arc::new(FixedRandom::new(3)))
        .log(Arc::new(move |level: LogLevel, message: &str| {
            sink.lock().unwrap().push(format!("{level:?} {message}"));
        }));
    if policy {
        let policy = |identity: &Identity, authzid: &str| {
            identity.authcid == "cert-holder" && authzid == "fred"
        };
        builder = builder.authorization(Arc::new(policy));
    }
    (ServerSession::new(Arc::new(builder.build().unwrap())), log)
}

fn done(step: Result<ServerStep, Error>) -> Identity {
    match step {
        Ok(ServerStep::Done {
            identity,
            additional_data: None,
        }) => identity,
        other => panic!("{other:?}"),
    }
}

#[test]
fn anonymous_rfc4505_example() {
    // RFC 4505 section 4: the server sends an empty challenge, the client answers
    // "c2lyaGM=" ("sirhc"), and the trace is logged.
    let (mut server, log) = new_server(&["ANONYMOUS"], false);
    assert_eq!(
        server.start("ANONYMOUS", None),
        Ok(ServerStep::Continue(Vec::new()))
    );
    let identity = done(server.step(b"sirhc"));
    assert_eq!(identity.username(), "anonymous");
    assert_eq!(identity.realm, "mail.example.org");
    assert!(
        log.lock()
            .unwrap()
            .contains(&"Note ANONYMOUS login: \"sirhc\"".to_owned()),
        "{log:?}"
    );
}

#[test]
fn anonymous_pair_with_and_without_a_trace() {
    for (trace_text, trace) in [("sirhc@example.org", &b"sirhc@example.org"[..]), ("", b"")] {
        for initial in [true, false] {
            let (mut server, _) = new_server(&["ANONYMOUS"], false);
            let credentials = Credentials::new(trace_text, "");
            let config = ClientConfig::new("imap", "mail.example.org", Arc::new(credentials))
                .with_random(Arc::new(FixedRandom::new(5)));
            let mut client = ClientSession::new(Arc::new(config));
            let exchange = pair::run(&mut server, &mut client, initial);
            assert_eq!(exchange.mechanism, "ANONYMOUS");
            assert!(exchange.transcript.iter().any(|(_, m)| m == trace));
            assert_eq!(exchange.result.unwrap().username(), "anonymous");
        }
    }
}

#[test]
fn anonymous_is_filtered_by_noanonymous_and_refuses_a_second_message() {
    let (mut server, _) = new_server(&["ANONYMOUS", "PLAIN"], false);
    assert!(server.mechanisms().contains(&"ANONYMOUS"));
    server.set_security_properties(SecurityProperties {
        flags: SecurityFlags::NOANONYMOUS,
        ..SecurityProperties::default()
    });
    assert_eq!(server.mechanisms(), ["PLAIN"]);
    assert!(matches!(
        server.start("ANONYMOUS", Some(b"")),
        Err(Error::NoMechanism(_))
    ));
    // Default preference: a client with a password picks PLAIN over ANONYMOUS.
    let client = ClientSession::new(Arc::new(ClientConfig::new(
        "imap",
        "mail.example.org",
        Arc::new(Credentials::new("tim", "pw")),
    )));
    assert_eq!(client.choose("ANONYMOUS PLAIN").unwrap().name, "PLAIN");
    assert_eq!(client.choose("ANONYMOUS").unwrap().name, "ANONYMOUS");

    let (mut server, _) = new_server(&["ANONYMOUS"], false);
    done(server.start("ANONYMOUS", Some(b"trace")));
    assert!(server.step(b"more").is_err());
}

#[test]
fn external_rfc4422_examples() {
    // RFC 4422 appendix A.3: an empty message authorizes as the external identity; "ZnJlZA=="
    // ("fred") asks to act as fred, which the policy decides.
    let (mut server, _) = new_server(&["EXTERNAL"], true);
    assert!(server.mechanisms().is_empty(), "no external identity yet");
    server.set_external_identity(Some("cert-holder".into()));
    assert_eq!(server.mechanisms(), ["EXTERNAL"]);
    assert_eq!(
        server.start("EXTERNAL", None),
        Ok(ServerStep::Continue(Vec::new()))
    );
    let identity = done(server.step(b""));
    assert_eq!(
        (identity.authcid.as_str(), identity.authzid),
        ("cert-holder", None)
    );

    let (mut server, _) = new_server(&["EXTERNAL"], true);
    server.set_external_identity(Some("cert-holder".into()));
    let identity = done(server.start("EXTERNAL", Some(b"fred")));
    assert_eq!(identity.username(), "fred");
    assert_eq!(identity.authcid, "cert-holder");
}

#[test]
fn external_pair_and_client_selection() {
    for (credentials, authzid) in [
        (Credentials::new("", ""), None),
        (Credentials::new("", "").with_authzid("fred"), Some("fred")),
    ] {
        let (mut server, _) = new_server(&["EXTERNAL", "PLAIN"], true);
        server.set_external_identity(Some("cert-holder".into()));
        let config = ClientConfig::new("imap", "mail.example.org", Arc::new(credentials));
        let mut client = ClientSession::new(Arc::new(config));
        // Without its own external identity the client does not choose EXTERNAL.
        assert!(matches!(
            client.choose("EXTERNAL"),
            Err(Error::NoMechanism(_))
        ));
        client.set_external_identity(Some("cert-holder".into()));
        let exchange = pair::run(&mut server, &mut client, true);
        assert_eq!(exchange.mechanism, "EXTERNAL");
        let identity = exchange.result.unwrap();
        assert_eq!(identity.authzid.as_deref(), authzid);
    }
}

#[test]
fn external_refusals() {
    // Without an external identity the mechanism cannot start.
    let (mut server, _) = new_server(&["EXTERNAL"], true);
    assert!(matches!(
        server.start("EXTERNAL", Some(b"")),
        Err(Error::NoMechanism(_))
    ));
    // The policy refuses another authorization identity.
    let (mut server, _) = new_server(&["EXTERNAL"], true);
    server.set_external_identity(Some("cert-holder".into()));
    assert_eq!(
        server.start("EXTERNAL", Some(b"root")),
        Err(Error::AuthorizationFailed)
    );
    // An external identity "anonymous" is refused under noanonymous, as Cyrus refuses it.
    let (mut server, _) = new_server(&["EXTERNAL"], true);
    server.set_external_identity(Some("anonymous".into()));
    server.set_security_properties(SecurityProperties {
        flags: SecurityFlags::NOANONYMOUS,
        ..SecurityProperties::default()
    });
    assert_eq!(
        server.start("EXTERNAL", Some(b"")),
        Err(Error::AuthorizationFailed)
    );
    // Malformed and oversized authorization identities.
    for bad in [&b"\xff"[..], b"fr\0ed", &[b'a'; 16385]] {
        let (mut server, _) = new_server(&["EXTERNAL"], true);
        server.set_external_identity(Some("cert-holder".into()));
        assert!(
            matches!(server.start("EXTERNAL", Some(bad)), Err(Error::Protocol(_))),
            "{:?}",
            &bad[..bad.len().min(8)]
        );
    }
    // Nothing after the one message.
    let (mut server, _) = new_server(&["EXTERNAL"], true);
    server.set_external_identity(Some("cert-holder".into()));
    done(server.start("EXTERNAL", Some(b"")));
    assert!(matches!(
        server.step(b""),
        Err(Error::State(_) | Error::Protocol(ProtocolError::UnexpectedMessage))
    ));
}

#[test]
fn the_policy_is_asked_after_every_successful_exchange() {
    // authorize_self sees logins without a separate authorization identity, and can refuse.
    struct Recorder(Mutex<Vec<String>>, bool);
    impl puresasl::server::AuthorizationPolicy for Recorder {
        fn authorize(&self, _identity: &Identity, _authzid: &str) -> bool {
            false
        }
        fn authorize_self(&self, identity: &Identity) -> bool {
            self.0.lock().unwrap().push(identity.authcid.clone());
            self.1
        }
    }
    for allow in [true, false] {
        let policy = Arc::new(Recorder(Mutex::new(Vec::new()), allow));
        let config = ServerConfig::builder("imap", "mail.example.org")
            .store(Arc::new(MemoryStore::new()))
            .authorization(policy.clone())
            .build()
            .unwrap();
        let mut server = ServerSession::new(Arc::new(config));
        let result = server.start("ANONYMOUS", Some(b""));
        assert_eq!(result.is_ok(), allow);
        assert_eq!(*policy.0.lock().unwrap(), ["anonymous"]);
    }
}
