//! SCRAM (RFC 5802, RFC 7677): RFC transcripts replayed byte for byte on both sides, stored
//! key vectors, every hash and channel binding client against server in memory, and each
//! way a peer can lie.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::Arc;

use puresasl::auxprop::property;
use puresasl::credentials::set_password;
use puresasl::*;

pub(crate) const REALM: &str = "example.org";

fn data(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/scram")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn binding(kind: &str, data: &[u8]) -> ChannelBinding {
    ChannelBinding {
        kind: kind.into(),
        data: data.to_vec(),
        required: false,
    }
}

/// The error for a message that breaks the SCRAM grammar or its rules.
fn malformed(reason: &'static str) -> Error {
    Error::Protocol(ProtocolError::Malformed(reason))
}

/// A server on `store` with `random` and the default settings.
pub(crate) fn server_on(store: MemoryStore, random: Arc<dyn Random>) -> ServerSession {
    server_with(store, random, 4096)
}

pub(crate) fn server_with(
    store: MemoryStore,
    random: Arc<dyn Random>,
    iterations: u32,
) -> ServerSession {
    let config = ServerConfig::builder("imap", "mail.example.org")
        .user_realm(REALM)
        .store(Arc::new(store))
        .random(random)
        .scram_iterations(iterations)
        .server_secret(Secret::from("a fixed server secret for tests"))
        .build()
        .unwrap();
    ServerSession::new(Arc::new(config))
}

pub(crate) fn client_on(credentials: Credentials, random: Arc<dyn Random>) -> ClientSession {
    let config =
        ClientConfig::new("imap", "mail.example.org", Arc::new(credentials)).with_random(random);
    ClientSession::new(Arc::new(config))
}

/// Which side failed an exchange, and how.
#[derive(Debug, PartialEq)]
pub(crate) enum Failure {
    Client(Error),
    Server(Error),
}

/// Runs a whole exchange; the server's list is `offered` (or what it really offers).
/// Returns the identity once both sides are satisfied.
pub(crate) fn exchange(
    client: &mut ClientSession,
    server: &mut ServerSession,
    offered: Option<&str>,
) -> Result<(&'static str, Identity), Failure> {
    let offered = offered.map_or_else(|| server.mechanisms().join(" "), str::to_owned);
    let start = client.start(&offered).map_err(Failure::Client)?;
    let mut reply = server
        .start(start.mechanism, start.initial_response.as_deref())
        .map_err(Failure::Server)?;
    loop {
        match reply {
            ServerStep::Continue(challenge) => {
                let response = match client.step(&challenge).map_err(Failure::Client)? {
                    ClientStep::Continue(response) => response,
                    ClientStep::Done(response) => response.unwrap_or_default(),
                };
                reply = server.step(&response).map_err(Failure::Server)?;
            }
            ServerStep::Done {
                additional_data,
                identity,
            } => {
                if !client.is_done() {
                    let data = additional_data.unwrap_or_default();
                    match client.step(&data).map_err(Failure::Client)? {
                        ClientStep::Done(None) => {}
                        other => panic!("client wants to go on after success: {other:?}"),
                    }
                }
                assert!(client.is_done());
                return Ok((start.mechanism, identity));
            }
        }
    }
}

/// A parsed transcript file.
struct Transcript {
    mechanism: String,
    user: String,
    password: String,
    client_nonce: String,
    server_nonce: String,
    client_cb: Option<ChannelBinding>,
    server_cb: Option<ChannelBinding>,
    stored: String,
    messages: Vec<(bool, String)>,
}

fn transcript(name: &str) -> Transcript {
    let text = data(name);
    let mut t = Transcript {
        mechanism: String::new(),
        user: String::new(),
        password: String::new(),
        client_nonce: String::new(),
        server_nonce: String::new(),
        client_cb: None,
        server_cb: None,
        stored: String::new(),
        messages: Vec::new(),
    };
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (key, value) = line.split_once(' ').unwrap();
        let cb = || {
            let (kind, data) = value.split_once(' ').unwrap();
            Some(binding(kind, data.as_bytes()))
        };
        match key {
            "mechanism" => t.mechanism = value.into(),
            "user" => t.user = value.into(),
            "password" => t.password = value.into(),
            "client-nonce" => t.client_nonce = value.into(),
            "server-nonce" => t.server_nonce = value.into(),
            "client-cb" => t.client_cb = cb(),
            "server-cb" => t.server_cb = cb(),
            "stored" => t.stored = value.into(),
            "C" => t.messages.push((true, value.into())),
            "S" => t.messages.push((false, value.into())),
            other => panic!("{name}: unknown key {other}"),
        }
    }
    assert_eq!(t.messages.len(), 4, "{name}");
    t
}

const TRANSCRIPTS: &[&str] = &[
    "rfc5802-sha1.txt",
    "rfc7677-sha256.txt",
    "scramp-sha1-y.txt",
    "scramp-sha256-plus.txt",
];

fn msg(t: &Transcript, i: usize) -> &[u8] {
    t.messages[i].1.as_bytes()
}

#[test]
fn transcripts_replay_byte_for_byte_client_side() {
    for name in TRANSCRIPTS {
        let t = transcript(name);
        let mut client = client_on(
            Credentials::new(&t.user, &t.password),
            Arc::new(FixedRandom::with_nonces([t.client_nonce.as_str()])),
        );
        client.set_channel_binding(t.client_cb.clone());
        let start = client.start(&t.mechanism).unwrap();
        assert_eq!(start.mechanism, t.mechanism, "{name}");
        assert_eq!(
            start.initial_response.as_deref(),
            Some(msg(&t, 0)),
            "{name}"
        );
        assert_eq!(
            client.step(msg(&t, 1)).unwrap(),
            ClientStep::Continue(msg(&t, 2).to_vec()),
            "{name}"
        );
        assert_eq!(
            client.step(msg(&t, 3)).unwrap(),
            ClientStep::Done(None),
            "{name}"
        );
        assert!(client.is_done());
    }
}

fn stored_store(t: &Transcript) -> MemoryStore {
    let store = MemoryStore::new();
    let base = t.mechanism.trim_end_matches("-PLUS");
    store.set(
        &t.user,
        REALM,
        &property::mechanism_secret(base),
        vec![Secret::from(t.stored.as_str())],
    );
    store
}

#[test]
fn transcripts_replay_byte_for_byte_server_side() {
    for name in TRANSCRIPTS {
        let t = transcript(name);
        let mut server = server_on(
            stored_store(&t),
            Arc::new(FixedRandom::with_nonces([t.server_nonce.as_str()])),
        );
        server.set_channel_binding(t.server_cb.clone());
        assert_eq!(
            server.start(&t.mechanism, Some(msg(&t, 0))).unwrap(),
            ServerStep::Continue(msg(&t, 1).to_vec()),
            "{name}"
        );
        match server.step(msg(&t, 2)).unwrap() {
            ServerStep::Done {
                additional_data,
                identity,
            } => {
                assert_eq!(additional_data.as_deref(), Some(msg(&t, 3)), "{name}");
                assert_eq!(identity.authcid, "user");
                assert_eq!(identity.realm, REALM);
            }
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn rfc5803_stored_key_vectors() {
    let text = data("rfc5803-stored-keys.txt");
    let mut count = 0;
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let mut fields = line.rsplitn(3, ' ');
        let (record, salt, password) = (
            fields.next().unwrap(),
            fields.next().unwrap(),
            fields.next().unwrap(),
        );
        let keys = StoredKeys::from_rfc5803(record.as_bytes())
            .unwrap_or_else(|| panic!("does not parse: {line}"));
        assert_eq!(keys.to_rfc5803(), record, "round trip");
        use base64::Engine as _;
        let salt = base64::engine::general_purpose::STANDARD
            .decode(salt)
            .unwrap();
        let derived = StoredKeys::derive(keys.hash, password.as_bytes(), &salt, keys.iterations);
        assert_eq!(derived.to_rfc5803(), record, "derivation of {line}");
        assert!(keys.verify_password(password.as_bytes()), "{line}");
        assert!(!keys.verify_password(b"wrong"), "{line}");
        count += 1;
    }
    assert!(count >= 10);
}

const HASHES: [&str; 5] = [
    "SCRAM-SHA-1",
    "SCRAM-SHA-224",
    "SCRAM-SHA-256",
    "SCRAM-SHA-384",
    "SCRAM-SHA-512",
];

fn store_for(user: &str, password: &str, policy: &PasswordPolicy) -> MemoryStore {
    let store = MemoryStore::new();
    set_password(
        &store,
        user,
        REALM,
        password.as_bytes(),
        policy,
        &FixedRandom::new(5),
    )
    .unwrap();
    store
}

#[test]
fn every_hash_and_binding_in_memory() {
    let keys_only = PasswordPolicy {
        keep_plaintext: false,
        digest_md5: false,
        ..PasswordPolicy::default()
    };
    let stores = [
        ("stored keys", store_for("alice", "wonder land", &keys_only)),
        (
            "plaintext",
            MemoryStore::new().with_password("alice", REALM, "wonder land"),
        ),
    ];
    let bindings = [
        None,
        Some(binding("tls-unique", b"\x01\x02finished-message")),
        Some(binding("tls-server-end-point", &[7u8; 32])),
        Some(binding("tls-exporter", &[9u8; 32])),
    ];
    for (what, store) in &stores {
        for hash in HASHES {
            for cb in &bindings {
                let mut server = server_on(store_copy(store), Arc::new(OsRandom));
                server.set_channel_binding(cb.clone());
                let mut client =
                    client_on(Credentials::new("alice", "wonder land"), Arc::new(OsRandom));
                client.set_channel_binding(cb.clone());
                let wanted = match cb {
                    Some(_) => format!("{hash}-PLUS"),
                    None => hash.to_owned(),
                };
                let offered = server
                    .mechanisms()
                    .into_iter()
                    .filter(|m| *m == wanted || *m == hash)
                    .collect::<Vec<_>>()
                    .join(" ");
                let (mechanism, identity) = exchange(&mut client, &mut server, Some(&offered))
                    .unwrap_or_else(|e| panic!("{what} {wanted}: {e:?}"));
                assert_eq!(mechanism, wanted);
                assert_eq!(identity.authcid, "alice");
            }
        }
    }
}

#[test]
fn strongest_scram_is_chosen_and_plus_when_bound() {
    let store = MemoryStore::new().with_password("bob", REALM, "pw");
    let mut server = server_on(store, Arc::new(OsRandom));
    let list = server.mechanisms();
    assert_eq!(list.first(), Some(&"SCRAM-SHA-512"));
    assert!(!list.iter().any(|m| m.ends_with("-PLUS")));
    let position = |name: &str| list.iter().position(|m| *m == name).unwrap();
    assert!(position("SCRAM-SHA-1") < position("CRAM-MD5"));
    server.set_channel_binding(Some(binding("tls-exporter", &[1; 32])));
    assert_eq!(server.mechanisms().first(), Some(&"SCRAM-SHA-512-PLUS"));
    let mut client = client_on(Credentials::new("bob", "pw"), Arc::new(OsRandom));
    client.set_channel_binding(Some(binding("tls-exporter", &[1; 32])));
    let (mechanism, _) = exchange(&mut client, &mut server, None).unwrap();
    assert_eq!(mechanism, "SCRAM-SHA-512-PLUS");
}

fn plain_server(user: &str, password: &str) -> ServerSession {
    server_on(
        MemoryStore::new().with_password(user, REALM, password),
        Arc::new(OsRandom),
    )
}

#[test]
fn wrong_password_fails_at_the_proof() {
    let mut server = plain_server("carol", "right");
    let mut client = client_on(Credentials::new("carol", "wrong"), Arc::new(OsRandom));
    let start = client.start("SCRAM-SHA-256").unwrap();
    let ServerStep::Continue(first) = server
        .start(start.mechanism, start.initial_response.as_deref())
        .unwrap()
    else {
        panic!()
    };
    let ClientStep::Continue(last) = client.step(&first).unwrap() else {
        panic!()
    };
    // Like Cyrus: the exchange ends at once with an authentication failure (no `e=` round).
    assert_eq!(server.step(&last), Err(Error::AuthenticationFailed));
    assert_eq!(
        server.step(b""),
        Err(Error::AuthenticationFailed),
        "poisoned"
    );
    assert_eq!(server.identity(), None);
    assert_eq!(server.attempted_user(), Some("carol"));
    // Servers that do send `e=` get it reported to the client application.
    assert_eq!(
        client.step(b"e=invalid-proof"),
        Err(Error::PeerError("invalid-proof".into()))
    );
}

/// Runs client-first and returns the server-first it got (salt and iteration count).
fn server_first_for(server: &mut ServerSession, user: &str, mechanism: &str) -> String {
    let first = format!("n,,n={user},r=clientnonceclientnonce");
    match server.start(mechanism, Some(first.as_bytes())).unwrap() {
        ServerStep::Continue(s) => String::from_utf8(s).unwrap(),
        other => panic!("{other:?}"),
    }
}

fn salt_and_iterations(server_first: &str) -> String {
    server_first.split_once(",s=").unwrap().1.to_owned()
}

#[test]
fn unknown_user_looks_like_wrong_password() {
    let keys_only = PasswordPolicy {
        keep_plaintext: false,
        digest_md5: false,
        ..PasswordPolicy::default()
    };
    let make = || {
        let store = store_for("dave", "secret", &keys_only);
        store.set(
            "erin",
            REALM,
            property::USER_PASSWORD,
            vec![Secret::from("secret")],
        );
        server_on(store, Arc::new(OsRandom))
    };
    for mechanism in HASHES {
        // The same salt and iteration count for an unknown user on every attempt.
        let a = salt_and_iterations(&server_first_for(&mut make(), "nobody", mechanism));
        let b = salt_and_iterations(&server_first_for(&mut make(), "nobody", mechanism));
        assert_eq!(a, b);
        let other = salt_and_iterations(&server_first_for(&mut make(), "nobody2", mechanism));
        assert_ne!(a, other, "salts differ per user");
        // Same shape as a real user's (stored keys or plaintext).
        for known in ["dave", "erin"] {
            let real = salt_and_iterations(&server_first_for(&mut make(), known, mechanism));
            let (salt, iterations) = real.split_once(",i=").unwrap();
            let (fake_salt, fake_iterations) = a.split_once(",i=").unwrap();
            assert_eq!(salt.len(), fake_salt.len());
            assert_eq!(iterations, fake_iterations);
        }
        // The plaintext user's derived salt is stable too.
        assert_eq!(
            server_first_for(&mut make(), "erin", mechanism)
                .split_once(",s=")
                .unwrap()
                .1,
            server_first_for(&mut make(), "erin", mechanism)
                .split_once(",s=")
                .unwrap()
                .1,
        );
    }

    // The whole exchange: the same wire bytes in kind and the same error.
    for user in ["nobody", "dave", "erin"] {
        let mut server = make();
        let mut client = client_on(
            Credentials::new(user, "not the password"),
            Arc::new(OsRandom),
        );
        let result = exchange(&mut client, &mut server, Some("SCRAM-SHA-256"));
        assert_eq!(
            result.unwrap_err(),
            Failure::Server(Error::AuthenticationFailed),
            "{user}"
        );
        assert_eq!(server.step(b""), Err(Error::AuthenticationFailed));
    }
}

#[test]
fn client_rejects_wrong_nonce_prefix_and_iteration_bounds() {
    let cases: &[(&str, Error)] = &[
        (
            "r=someoneelsesnonce123,s=QSXCR+Q6sek8bf92,i=4096",
            malformed("SCRAM server nonce does not extend the client nonce"),
        ),
        (
            "r=fyko+d2lbbFgONRv9qkxdawL,s=QSXCR+Q6sek8bf92,i=4096",
            malformed("SCRAM server nonce does not extend the client nonce"),
        ),
        (
            "r=fyko+d2lbbFgONRv9qkxdawLabc,s=QSXCR+Q6sek8bf92,i=4095",
            malformed("SCRAM iteration count outside the configured bounds"),
        ),
        (
            "r=fyko+d2lbbFgONRv9qkxdawLabc,s=QSXCR+Q6sek8bf92,i=10000001",
            malformed("SCRAM iteration count outside the configured bounds"),
        ),
        (
            "m=ext,r=fyko+d2lbbFgONRv9qkxdawLabc,s=QSXCR+Q6sek8bf92,i=4096",
            malformed("SCRAM mandatory extension (m=) not supported"),
        ),
        ("e=unknown-user", Error::PeerError("unknown-user".into())),
    ];
    for (server_first, expected) in cases {
        let mut client = client_on(
            Credentials::new("user", "pencil"),
            Arc::new(FixedRandom::with_nonces(["fyko+d2lbbFgONRv9qkxdawL"])),
        );
        client.start("SCRAM-SHA-1").unwrap();
        assert_eq!(
            client.step(server_first.as_bytes()).as_ref(),
            Err(expected),
            "{server_first}"
        );
        assert!(client.step(b"").is_err(), "poisoned");
    }
    // A configured bound is honoured both ways.
    let config = ClientConfig::new("imap", "h", Arc::new(Credentials::new("user", "pencil")))
        .with_random(Arc::new(FixedRandom::with_nonces([
            "fyko+d2lbbFgONRv9qkxdawL",
        ])))
        .with_scram_iterations(1, 4096);
    let mut client = ClientSession::new(Arc::new(config));
    client.start("SCRAM-SHA-1").unwrap();
    assert!(matches!(
        client.step(b"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096"),
        Ok(ClientStep::Continue(_))
    ));
    // A server iteration count below the client's floor fails the exchange.
    let mut server = server_with(
        MemoryStore::new().with_password("user", REALM, "pencil"),
        Arc::new(OsRandom),
        1000,
    );
    let mut client = client_on(Credentials::new("user", "pencil"), Arc::new(OsRandom));
    assert!(matches!(
        exchange(&mut client, &mut server, Some("SCRAM-SHA-256")),
        Err(Failure::Client(Error::Protocol(_)))
    ));
}

#[test]
fn client_requires_a_correct_server_signature() {
    let t = transcript("rfc5802-sha1.txt");
    for (server_final, expected) in [
        (
            "v=rmF9pqV8S7suAoZWja4dJRkFsKA=",
            Error::ServerAuthenticationFailed,
        ),
        (
            "v=AAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            Error::ServerAuthenticationFailed,
        ),
        ("", Error::ServerAuthenticationFailed),
        ("e=invalid-proof", Error::PeerError("invalid-proof".into())),
        (
            "e=other-error,x=ext",
            Error::PeerError("other-error".into()),
        ),
    ] {
        let mut client = client_on(
            Credentials::new("user", "pencil"),
            Arc::new(FixedRandom::with_nonces([t.client_nonce.as_str()])),
        );
        client.start("SCRAM-SHA-1").unwrap();
        client.step(msg(&t, 1)).unwrap();
        assert_eq!(
            client.step(server_final.as_bytes()),
            Err(expected),
            "{server_final}"
        );
        assert!(!client.is_done());
    }
}

/// A server that has sent the RFC 5802 server-first, ready for client-final.
fn rfc_server(t: &Transcript, cb: Option<ChannelBinding>) -> ServerSession {
    let mut server = server_on(
        stored_store(t),
        Arc::new(FixedRandom::with_nonces([t.server_nonce.as_str()])),
    );
    server.set_channel_binding(cb);
    server.start(&t.mechanism, Some(msg(t, 0))).unwrap();
    server
}

#[test]
fn server_rejects_tampered_client_final() {
    let t = transcript("rfc5802-sha1.txt");
    let good = t.messages[2].1.clone();
    let nonce = "fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j";
    let cases = [
        // Wrong proof (one bit).
        (
            good.replace("p=v0X8", "p=v0X9"),
            Error::AuthenticationFailed,
        ),
        // Wrong nonce.
        (
            good.replace(nonce, "fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7k"),
            malformed("SCRAM nonce mismatch"),
        ),
        // The c= does not echo the GS2 header.
        (
            good.replace("c=biws", "c=eSws"),
            Error::ChannelBinding("channel-bindings-dont-match"),
        ),
    ];
    for (message, error) in cases {
        let mut server = rfc_server(&t, None);
        assert_eq!(
            server.step(message.as_bytes()),
            Err(error.clone()),
            "{message}"
        );
        assert_eq!(server.step(b""), Err(error), "poisoned");
    }
    for message in [
        good.replace(",p=", ",m=x,p="),
        good.replace(",p=", ",r=x,p="),
        format!("{good},x=y"),
        good.replace(
            "p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
            "p=v0X8v3Bz2T0CJGbJQyF0X+HI4T",
        ),
        good.replace(
            "p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
            "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
        ),
        String::new(),
        "x".repeat(9000),
    ] {
        let mut server = rfc_server(&t, None);
        assert!(
            matches!(server.step(message.as_bytes()), Err(Error::Protocol(_))),
            "{message}"
        );
    }
    // Every truncation of the right answer fails, and none is accepted.
    for cut in 0..good.len() {
        let mut server = rfc_server(&t, None);
        let prefix = good.get(..cut).unwrap();
        let accepted = matches!(server.step(prefix.as_bytes()), Ok(ServerStep::Done { .. }));
        assert!(!accepted, "accepted truncated {prefix}");
    }
}

#[test]
fn server_rejects_malformed_client_first() {
    let store = MemoryStore::new().with_password("user", REALM, "pencil");
    let cases: &[&[u8]] = &[
        b"",
        b"n,,n=us=3er,r=abc",
        b"n,,n=us=2cer,r=abc",
        b"n,,n=user=,r=abc",
        b"n,,m=foo,n=user,r=abc",
        b"n,,n=user,r=abc,m=foo",
        b"n,,r=abc,n=user",
        b"n,,n=user,n=user,r=abc",
        b"n,,n=user,r=a,bc",
        b"n,,n=user",
        b"n,",
        b"q,,n=user,r=abc",
        b"n,x=y,n=user,r=abc",
        b"p=tls-unique,,n=user,r=abc",
        b"n,,n=\x07bell,r=abc",
    ];
    for first in cases {
        let mut server = server_on(store_copy(&store), Arc::new(OsRandom));
        assert!(
            server.start("SCRAM-SHA-256", Some(first)).is_err(),
            "{}",
            String::from_utf8_lossy(first)
        );
    }
    // The longest client nonce still leaves room for the server's part; one more is refused.
    for (len, ok) in [(256, true), (257, false)] {
        let mut server = server_on(store_copy(&store), Arc::new(OsRandom));
        let first = format!("n,,n=user,r={}", "a".repeat(len));
        assert_eq!(
            server
                .start("SCRAM-SHA-256", Some(first.as_bytes()))
                .is_ok(),
            ok
        );
    }
    let mut server = server_on(store_copy(&store), Arc::new(OsRandom));
    let huge = format!("n,,n=user,r={}", "a".repeat(9000));
    assert_eq!(
        server.start("SCRAM-SHA-256", Some(huge.as_bytes())),
        Err(Error::Protocol(ProtocolError::TooLong { limit: 8192 }))
    );
}

fn store_copy(store: &MemoryStore) -> MemoryStore {
    let copy = MemoryStore::new();
    for entry in store.entries().unwrap() {
        let values = store
            .lookup(&entry.user, &entry.realm, &entry.property)
            .unwrap();
        copy.set(&entry.user, &entry.realm, &entry.property, values);
    }
    copy
}

#[test]
fn channel_binding_mismatch_and_downgrade() {
    let store = MemoryStore::new().with_password("user", REALM, "pencil");
    let run = |client_cb: Option<ChannelBinding>,
               server_cb: Option<ChannelBinding>,
               offered: Option<&str>| {
        let mut server = server_on(store_copy(&store), Arc::new(OsRandom));
        server.set_channel_binding(server_cb);
        let mut client = client_on(Credentials::new("user", "pencil"), Arc::new(OsRandom));
        client.set_channel_binding(client_cb);
        let result = exchange(&mut client, &mut server, offered);
        (result.map(|(m, _)| m), server)
    };
    // Different binding data of the same type (a man in the middle terminating TLS).
    let (result, mut server) = run(
        Some(binding("tls-exporter", b"client view")),
        Some(binding("tls-exporter", b"server view")),
        None,
    );
    assert_eq!(
        result,
        Err(Failure::Server(Error::ChannelBinding(
            "channel-bindings-dont-match"
        )))
    );
    assert_eq!(
        server.step(b""),
        Err(Error::ChannelBinding("channel-bindings-dont-match"))
    );
    // A binding type the server does not have.
    let (result, _) = run(
        Some(binding("tls-unique", b"x")),
        Some(binding("tls-exporter", b"x")),
        None,
    );
    assert_eq!(
        result,
        Err(Failure::Server(Error::ChannelBinding(
            "unsupported-channel-binding-type"
        )))
    );
    // Downgrade: someone stripped the -PLUS names from the list; the client says "y" and the
    // server, which does support binding, refuses.
    let (result, _) = run(
        Some(binding("tls-exporter", b"x")),
        Some(binding("tls-exporter", b"x")),
        Some("SCRAM-SHA-256 PLAIN"),
    );
    assert_eq!(
        result,
        Err(Failure::Server(Error::ChannelBinding(
            "server-does-support-channel-binding"
        )))
    );
    // "y" when the server really has no binding is fine.
    let (result, _) = run(Some(binding("tls-exporter", b"x")), None, None);
    assert_eq!(result, Ok("SCRAM-SHA-512"));
    // -PLUS without p=, and p= without -PLUS, are refused by the server.
    let mut server = server_on(store_copy(&store), Arc::new(OsRandom));
    server.set_channel_binding(Some(binding("tls-unique", b"x")));
    assert!(
        server
            .start("SCRAM-SHA-256-PLUS", Some(b"n,,n=user,r=abc"))
            .is_err()
    );
    let mut server = server_on(store_copy(&store), Arc::new(OsRandom));
    server.set_channel_binding(Some(binding("tls-unique", b"x")));
    assert!(
        server
            .start("SCRAM-SHA-256-PLUS", Some(b"y,,n=user,r=abc"))
            .is_err()
    );
    let mut server = server_on(store_copy(&store), Arc::new(OsRandom));
    assert!(
        server
            .start("SCRAM-SHA-256", Some(b"p=tls-unique,,n=user,r=abc"))
            .is_err()
    );
}

#[test]
fn no_initial_response_gets_an_empty_challenge() {
    let mut server = plain_server("user", "pencil");
    let mut client = client_on(Credentials::new("user", "pencil"), Arc::new(OsRandom));
    client.start("SCRAM-SHA-256").unwrap();
    assert_eq!(
        server.start("SCRAM-SHA-256", None),
        Ok(ServerStep::Continue(Vec::new()))
    );
    let ClientStep::Continue(first) = client.step(b"").unwrap() else {
        panic!()
    };
    assert!(first.starts_with(b"n,,n=user,r="));
    let ServerStep::Continue(challenge) = server.step(&first).unwrap() else {
        panic!()
    };
    let ClientStep::Continue(last) = client.step(&challenge).unwrap() else {
        panic!()
    };
    let ServerStep::Done {
        additional_data, ..
    } = server.step(&last).unwrap()
    else {
        panic!()
    };
    assert_eq!(
        client.step(&additional_data.unwrap()),
        Ok(ClientStep::Done(None))
    );
}

#[test]
fn authzid_saslprep_and_escaping() {
    // An authzid equal to the user is fine; another one needs the policy's consent.
    let mut server = plain_server("user", "pencil");
    let mut client = client_on(
        Credentials::new("user", "pencil").with_authzid("user"),
        Arc::new(OsRandom),
    );
    assert!(exchange(&mut client, &mut server, Some("SCRAM-SHA-1")).is_ok());
    let mut server = plain_server("user", "pencil");
    let mut client = client_on(
        Credentials::new("user", "pencil").with_authzid("admin,=x"),
        Arc::new(FixedRandom::with_nonces(["abc"])),
    );
    let start = client.start("SCRAM-SHA-1").unwrap();
    assert_eq!(
        start.initial_response.as_deref(),
        Some(&b"n,a=admin=2C=3Dx,n=user,r=abc"[..])
    );
    assert!(matches!(
        server.start("SCRAM-SHA-1", start.initial_response.as_deref()),
        Ok(ServerStep::Continue(_))
    ));

    // User names with , and = travel escaped.
    let mut server = plain_server("a,b=c", "pw");
    let mut client = client_on(Credentials::new("a,b=c", "pw"), Arc::new(OsRandom));
    let (_, identity) = exchange(&mut client, &mut server, Some("SCRAM-SHA-256")).unwrap();
    assert_eq!(identity.authcid, "a,b=c");

    // SASLprep: soft hyphen vanishes, U+2168 becomes "IX", non-ASCII space becomes a space.
    let mut server = plain_server("IX", "I X");
    let mut client = client_on(
        Credentials::new("I\u{00AD}X", "I\u{00A0}X"),
        Arc::new(OsRandom),
    );
    let (_, identity) = exchange(&mut client, &mut server, Some("SCRAM-SHA-256")).unwrap();
    assert_eq!(identity.authcid, "IX");
    let mut server = plain_server("IX", "pw");
    let mut client = client_on(Credentials::new("\u{2168}", "pw"), Arc::new(OsRandom));
    assert!(exchange(&mut client, &mut server, Some("SCRAM-SHA-256")).is_ok());
    // A prohibited character in the user name is refused by the client.
    let mut client = client_on(Credentials::new("bell\u{0007}", "pw"), Arc::new(OsRandom));
    assert!(client.start("SCRAM-SHA-256").is_err());
}

#[test]
fn plain_and_login_verify_against_scram_keys_only() {
    let policy = PasswordPolicy {
        keep_plaintext: false,
        digest_md5: false,
        scram_hashes: vec![ScramHash::Sha256],
        ..PasswordPolicy::default()
    };
    let store = store_for("frank", "hunter2", &policy);
    let entries = store.entries().unwrap();
    assert!(
        entries
            .iter()
            .all(|e| e.property != property::USER_PASSWORD)
    );
    let mut server = server_on(store_copy(&store), Arc::new(OsRandom));
    assert!(matches!(
        server.start("PLAIN", Some(b"\0frank\0hunter2")),
        Ok(ServerStep::Done { .. })
    ));
    let mut server = server_on(store_copy(&store), Arc::new(OsRandom));
    assert_eq!(
        server.start("PLAIN", Some(b"\0frank\0hunter3")),
        Err(Error::AuthenticationFailed)
    );
    // And SCRAM-SHA-256 works from the same keys, while SCRAM-SHA-1 (no keys) fails.
    let mut server = server_on(store_copy(&store), Arc::new(OsRandom));
    let mut client = client_on(Credentials::new("frank", "hunter2"), Arc::new(OsRandom));
    assert!(exchange(&mut client, &mut server, Some("SCRAM-SHA-256")).is_ok());
    let mut server = server_on(store_copy(&store), Arc::new(OsRandom));
    let mut client = client_on(Credentials::new("frank", "hunter2"), Arc::new(OsRandom));
    assert!(exchange(&mut client, &mut server, Some("SCRAM-SHA-1")).is_err());
}

/// The seed corpora must reach the last step, or the fuzz invariants ("accepted implies the
/// right proof / signature") would never be exercised.
#[test]
fn fuzz_seeds_reach_acceptance() {
    use puresasl::fuzzing::{self, scram};
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let mut accepted = 0;
    for entry in std::fs::read_dir(root.join("scram_server")).unwrap() {
        let path = entry.unwrap().path();
        // Written by `src/fuzzing/scram.rs`'s seed test (PURESASL_WRITE_CORPUS).
        if !path.to_string_lossy().contains("accepted-") {
            continue;
        }
        let data = std::fs::read(&path).unwrap();
        let mechanism = scram::MECHANISMS[usize::from((data[0] & 0x7f) % 10)];
        let mut session = fuzzing::server(mechanism);
        if mechanism.ends_with("-PLUS") {
            session.set_channel_binding(Some(scram::binding()));
        }
        let inputs = fuzzing::messages(&data[1..], 4);
        let (_, ok) = fuzzing::drive_server(&mut session, mechanism, data[0] & 0x80 != 0, &inputs);
        assert!(ok, "{} is not accepted", path.display());
        fuzzing::run("scram_server", &data);
        accepted += 1;
    }
    assert!(accepted >= 10);
    let mut done = 0;
    for entry in std::fs::read_dir(root.join("scram_client")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.contains("-sha-") {
            continue;
        }
        let data = std::fs::read(&path).unwrap();
        let mechanism = scram::MECHANISMS[usize::from((data[0] & 0x7f) % 10)];
        let config = ClientConfig::new("imap", REALM, Arc::new(Credentials::new("user", "pencil")))
            .with_random(Arc::new(FixedRandom::with_nonces([scram::CLIENT_NONCE])))
            .with_scram_iterations(1, 4096);
        let mut client = ClientSession::new(Arc::new(config));
        if mechanism.ends_with("-PLUS") {
            client.set_channel_binding(Some(scram::binding()));
        }
        client.start(mechanism).unwrap();
        for message in fuzzing::messages(&data[1..], 4) {
            client.step(message).unwrap();
        }
        assert!(client.is_done(), "{name} does not finish");
        done += 1;
    }
    assert!(done >= 10);
}

/// A client whose configuration keeps derived keys in a [`ScramKeyCache`] logs in as a
/// client without one does (the same client-final, byte for byte), derives once per
/// password, salt and count, and never answers for another password.
#[test]
fn client_key_cache_changes_nothing_on_the_wire() {
    let cache = Arc::new(ScramKeyCache::new());
    let config = |password: &str, cached: bool| {
        let config = ClientConfig::new(
            "imap",
            "mail.example.org",
            Arc::new(Credentials::new("tim", password)),
        )
        .with_mechanisms(["SCRAM-SHA-256"])
        .unwrap()
        .with_random(Arc::new(FixedRandom::new(5)));
        Arc::new(if cached {
            config.with_scram_key_cache(cache.clone())
        } else {
            config
        })
    };
    let login = |password: &str, cached: bool| {
        let mut server = ServerSession::new(crate::pair::server_config(&["SCRAM-SHA-256"]));
        let mut client = ClientSession::new(config(password, cached));
        crate::pair::run(&mut server, &mut client, true)
    };
    let plain = login("tanstaaftanstaaf", false);
    assert!(plain.result.is_ok());
    for round in 0..2 {
        let cached = login("tanstaaftanstaaf", true);
        assert!(cached.result.is_ok(), "round {round}");
        assert_eq!(cached.transcript, plain.transcript, "round {round}");
        assert_eq!(cache.len(), 1);
    }
    assert!(login("wrong", true).result.is_err());
    assert_eq!(cache.len(), 2, "the wrong password has its own entry");
    assert!(login("tanstaaftanstaaf", true).result.is_ok());
    cache.clear();
    assert!(cache.is_empty());
}
