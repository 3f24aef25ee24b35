//! DIGEST-MD5 (RFC 2831): the section 4 transcripts replayed byte for byte, every qop and
//! cipher in memory, and each way a peer can lie.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation,
    reason = "test helpers"
)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use puresasl::credentials::set_password;
use puresasl::{
    AuthorizationPolicy, ClientConfig, ClientSession, ClientStep, Credentials, Error, FixedRandom,
    Identity, LogLevel, LogSink, MemoryStore, PasswordPolicy, SecurityProperties, ServerConfig,
    ServerSession, ServerStep,
};

const MECH: &str = "DIGEST-MD5";

/// A `name: value` vector file from tests/data/digest_md5/.
fn vector(name: &str) -> HashMap<String, String> {
    let path = format!(
        "{}/tests/data/digest_md5/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (k, v) = l
                .split_once(": ")
                .unwrap_or_else(|| panic!("bad line {l:?}"));
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

#[derive(Default)]
struct Log(Mutex<Vec<String>>);

impl LogSink for Log {
    fn log(&self, _level: LogLevel, message: &str) {
        self.0.lock().unwrap().push(message.to_owned());
    }
}

struct AllowAll;

impl AuthorizationPolicy for AllowAll {
    fn authorize(&self, _identity: &Identity, _authzid: &str) -> bool {
        true
    }
}

fn props(min_ssf: u32, max_ssf: u32, max_buf_size: u32) -> SecurityProperties {
    SecurityProperties {
        min_ssf,
        max_ssf,
        max_buf_size,
        ..SecurityProperties::default()
    }
}

/// A server for imap on mail.example.org; OS randomness unless `nonces` are given.
fn server_config(store: MemoryStore, nonces: &[&str]) -> ServerConfig {
    let builder = ServerConfig::builder("imap", "mail.example.org")
        .user_realm("example.org")
        .store(Arc::new(store));
    let builder = if nonces.is_empty() {
        builder
    } else {
        builder.random(Arc::new(FixedRandom::with_nonces(nonces.iter().copied())))
    };
    builder.build().unwrap()
}

fn server(props: SecurityProperties) -> ServerSession {
    let store = MemoryStore::new().with_password("tim", "example.org", "tanstaaftanstaaf");
    let mut session = ServerSession::new(Arc::new(server_config(store, &[])));
    session.set_security_properties(props);
    session
}

fn client_with(credentials: Credentials, host: &str, props: SecurityProperties) -> ClientSession {
    let config = ClientConfig::new("imap", host, Arc::new(credentials))
        .with_mechanisms([MECH])
        .unwrap();
    let mut session = ClientSession::new(Arc::new(config));
    session.set_security_properties(props);
    session
}

fn client(props: SecurityProperties) -> ClientSession {
    client_with(
        Credentials::new("tim", "tanstaaftanstaaf"),
        "mail.example.org",
        props,
    )
}

/// The RFC 2831 section 4 IMAP server (chris at elwood.innosoft.com, the RFC's nonce), after
/// its challenge.
fn rfc2831_server() -> ServerSession {
    let v = vector("rfc2831_imap.txt");
    let store = MemoryStore::new().with_password("chris", "elwood.innosoft.com", "secret");
    let config = ServerConfig::builder("imap", "elwood.innosoft.com")
        .store(Arc::new(store))
        .random(Arc::new(FixedRandom::with_nonces([v["nonce"].as_str()])))
        .build()
        .unwrap();
    let mut server = ServerSession::new(Arc::new(config));
    server.start(MECH, None).unwrap();
    server
}

/// Runs the exchange; returns the client's response and the server's result.
fn exchange(
    server: &mut ServerSession,
    client: &mut ClientSession,
) -> (Vec<u8>, Result<ServerStep, Error>) {
    let start = client.start(MECH).unwrap();
    assert_eq!(start.initial_response, None, "the server speaks first");
    let ServerStep::Continue(challenge) = server.start(MECH, None).unwrap() else {
        panic!("DIGEST-MD5 starts with a challenge");
    };
    let ClientStep::Continue(response) = client.step(&challenge).unwrap() else {
        panic!("the client answers the challenge");
    };
    let result = server.step(&response);
    (response, result)
}

/// A completed exchange, client side verified.
fn authenticated(server: &mut ServerSession, client: &mut ClientSession) -> Identity {
    let (_, result) = exchange(server, client);
    let ServerStep::Done {
        additional_data,
        identity,
    } = result.unwrap()
    else {
        panic!("one round trip authenticates");
    };
    let rspauth = additional_data.expect("the server sends rspauth");
    assert!(rspauth.starts_with(b"rspauth="));
    assert_eq!(client.step(&rspauth).unwrap(), ClientStep::Done(None));
    identity
}

fn replay(file: &str, server_props: SecurityProperties) {
    let v = vector(file);
    // Server side: the RFC's challenge for the RFC's nonce, and the RFC's rspauth.
    let store = MemoryStore::new().with_password(&v["user"], &v["realm"], &v["password"]);
    let config = ServerConfig::builder(&v["service"], &v["host"])
        .user_realm(&v["realm"])
        .store(Arc::new(store))
        .random(Arc::new(FixedRandom::with_nonces([v["nonce"].as_str()])))
        .build()
        .unwrap();
    let mut server = ServerSession::new(Arc::new(config));
    server.set_security_properties(server_props);
    assert_eq!(
        server.start(MECH, None).unwrap(),
        ServerStep::Continue(v["challenge"].clone().into_bytes()),
        "{file}: challenge"
    );
    match server.step(v["response"].as_bytes()).unwrap() {
        ServerStep::Done {
            additional_data,
            identity,
        } => {
            assert_eq!(additional_data, Some(v["final"].clone().into_bytes()));
            assert_eq!(identity.authcid, v["user"]);
            assert_eq!(identity.realm, v["realm"]);
        }
        other => panic!("{file}: {other:?}"),
    }
    // Client side: the RFC's response for the RFC's cnonce, and it accepts the rspauth.
    let config = ClientConfig::new(
        &v["service"],
        &v["host"],
        Arc::new(Credentials::new(&v["user"], &v["password"])),
    )
    .with_random(Arc::new(FixedRandom::with_nonces([v["cnonce"].as_str()])));
    let mut client = ClientSession::new(Arc::new(config));
    client.start(MECH).unwrap();
    assert_eq!(
        client.step(v["challenge"].as_bytes()).unwrap(),
        ClientStep::Continue(v["response"].clone().into_bytes()),
        "{file}: response"
    );
    assert_eq!(
        client.step(v["final"].as_bytes()).unwrap(),
        ClientStep::Done(None)
    );
    if let Some(wrap) = v.get("wrap") {
        let packet = client.encode(b"hello").unwrap();
        let hex: String = packet.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(&hex, wrap, "{file}: first wrap");
        assert_eq!(server.decode(&packet).unwrap(), b"hello");
    }
}

#[test]
fn rfc2831_imap_example() {
    replay("rfc2831_imap.txt", props(0, 0, 65536));
}

#[test]
fn rfc2831_acap_example() {
    replay("rfc2831_acap.txt", props(0, 0, 65536));
}

#[test]
fn imap_example_with_auth_int() {
    replay("imap_auth_int.txt", props(1, 1, 65536));
}

#[test]
fn every_qop_and_cipher_round_trips() {
    // (min_ssf, max_ssf) on the client, and the layer strength that results.
    let cases = [
        (0, 0, 0),
        (0, 1, 1),
        (0, 40, 40),
        (41, 55, 55),
        (0, 56, 56),
        (0, 112, 112),
        (0, 128, 128),
        (0, 256, 128),
    ];
    for maxbuf in [64u32, 1000, 4096] {
        for (min, max, ssf) in cases {
            let mut server = server(props(0, 256, maxbuf));
            let mut client = client(props(min, max, maxbuf));
            authenticated(&mut server, &mut client);
            assert_eq!((client.ssf(), server.ssf()), (ssf, ssf), "{min}..{max}");
            if ssf == 0 {
                continue;
            }
            round_trips(&mut client, &mut server, maxbuf, ssf);
            round_trips(&mut server, &mut client, maxbuf, ssf);
        }
    }
}

/// Either session, for sending data both ways (also with real peers, see
/// `interop::digest_md5`).
pub(crate) trait Side {
    fn encode(&mut self, data: &[u8]) -> Result<Vec<u8>, Error>;
    fn decode(&mut self, data: &[u8]) -> Result<Vec<u8>, Error>;
    fn max_outbuf(&self) -> u32;
    fn ssf(&self) -> u32;
}

/// The two sessions have the same security-layer methods, but no common trait.
macro_rules! impl_side {
    ($($session:ty),*) => {$(
        impl Side for $session {
            fn encode(&mut self, data: &[u8]) -> Result<Vec<u8>, Error> {
                <$session>::encode(self, data)
            }
            fn decode(&mut self, data: &[u8]) -> Result<Vec<u8>, Error> {
                <$session>::decode(self, data)
            }
            fn max_outbuf(&self) -> u32 {
                <$session>::max_outbuf(self)
            }
            fn ssf(&self) -> u32 {
                <$session>::ssf(self)
            }
        }
    )*};
}

impl_side!(ServerSession, ClientSession);

fn round_trips(from: &mut dyn Side, to: &mut dyn Side, maxbuf: u32, ssf: u32) {
    let max = from.max_outbuf() as usize;
    assert!(
        max > 0 && max < maxbuf as usize,
        "max_outbuf {max} for maxbuf {maxbuf}"
    );
    let sizes = [0, 1, 7, 8, 9, 15, 16, 17, max / 2, max - 1, max];
    let mut stream = Vec::new();
    let mut expected = Vec::new();
    for size in sizes {
        let data: Vec<u8> = (0..size).map(|i| (i % 253) as u8 ^ 0x5c).collect();
        let packet = from.encode(&data).unwrap();
        let body = packet.len() - 4;
        assert!(
            body <= maxbuf as usize,
            "packet body {body} > maxbuf {maxbuf}"
        );
        assert_eq!(
            u32::from_be_bytes(packet[..4].try_into().unwrap()) as usize,
            body
        );
        if ssf > 1 && size > 16 {
            assert!(
                !packet.windows(16).any(|w| w == &data[..16]),
                "auth-conf must not carry plaintext"
            );
        }
        if ssf == 1 {
            assert_eq!(
                &packet[4..4 + size],
                &data[..],
                "auth-int carries the message"
            );
        }
        assert_eq!(to.decode(&packet).unwrap(), data, "size {size}");
        expected.extend(data);
    }
    for size in sizes {
        stream.extend(from.encode(&expected[..size]).unwrap());
    }
    let expected: Vec<u8> = sizes.iter().flat_map(|&n| expected[..n].to_vec()).collect();
    // Several packets at once, then split at awkward places.
    let mut got = Vec::new();
    for chunk in stream.chunks(13) {
        got.extend(to.decode(chunk).unwrap());
    }
    assert_eq!(got, expected);
    // More than max_outbuf goes out as several packets, each within the peer's maxbuf (as
    // Cyrus's sasl_encode splits).
    let long: Vec<u8> = (0..2 * max + 5).map(|i| (i % 251) as u8).collect();
    let packets = from.encode(&long).unwrap();
    let first = u32::from_be_bytes(packets[..4].try_into().unwrap()) as usize;
    assert!(first <= maxbuf as usize && packets.len() > first + 4 * 3);
    assert_eq!(to.decode(&packets).unwrap(), long, "more than max_outbuf");
}

fn layer_pair(min: u32, max: u32) -> (ServerSession, ClientSession) {
    let mut server = server(props(0, 256, 4096));
    let mut client = client(props(min, max, 4096));
    authenticated(&mut server, &mut client);
    (server, client)
}

#[test]
fn tampered_packets_fail_integrity() {
    for (min, max) in [(1, 1), (40, 40), (55, 55), (112, 112), (128, 128)] {
        for at in [4usize, 9, 14, 20] {
            let (mut server, mut client) = layer_pair(min, max);
            let mut packet = client.encode(b"a message of some length").unwrap();
            packet[at] ^= 0x01;
            assert_eq!(server.decode(&packet), Err(Error::Integrity), "{max} @{at}");
            // The layer stays failed, even for a good packet.
            let good = client.encode(b"next").unwrap();
            assert_eq!(server.decode(&good), Err(Error::Integrity));
        }
    }
}

#[test]
fn replayed_and_reordered_packets_fail() {
    for (min, max) in [(1, 1), (55, 55), (128, 128)] {
        let (mut server, mut client) = layer_pair(min, max);
        let first = client.encode(b"first").unwrap();
        assert_eq!(server.decode(&first).unwrap(), b"first");
        assert_eq!(server.decode(&first), Err(Error::Integrity), "replay");

        let (mut server, mut client) = layer_pair(min, max);
        let first = client.encode(b"first").unwrap();
        let second = client.encode(b"second").unwrap();
        assert_eq!(server.decode(&second), Err(Error::Integrity), "reordered");
        drop(first);

        // A packet sent by the server cannot be reflected back to it.
        let (mut server, _client) = layer_pair(min, max);
        let own = server.encode(b"reflected").unwrap();
        assert_eq!(server.decode(&own), Err(Error::Integrity), "reflection");
    }
}

#[test]
fn oversized_packet_length_is_refused() {
    let (mut server, _client) = layer_pair(1, 1);
    assert_eq!(server.decode(&4097u32.to_be_bytes()), Err(Error::Integrity));
    let (mut server, _client) = layer_pair(1, 1);
    assert_eq!(
        server.decode(&u32::MAX.to_be_bytes()),
        Err(Error::Integrity)
    );
}

#[test]
fn replayed_response_fails() {
    // The same response twice in one session: the offer was consumed.
    let mut server1 = server(props(0, 0, 65536));
    let mut client1 = client(props(0, 0, 65536));
    let (response, result) = exchange(&mut server1, &mut client1);
    assert!(matches!(result, Ok(ServerStep::Done { .. })));
    assert!(server1.step(&response).is_err());

    // The same response in a new session, whose nonce differs.
    let mut server2 = server(props(0, 0, 65536));
    server2.start(MECH, None).unwrap();
    assert_eq!(server2.step(&response), Err(Error::AuthenticationFailed));

    // The same nonce with nc=00000002 (a reauth we do not support, or a replay).
    let v = vector("rfc2831_imap.txt");
    let mut server3 = rfc2831_server();
    let bumped = v["response"].replace("nc=00000001", "nc=00000002");
    assert_eq!(
        server3.step(bumped.as_bytes()),
        Err(Error::AuthenticationFailed)
    );
}

#[test]
fn wrong_digest_uri_fails_unless_any_host_allowed() {
    let store = || MemoryStore::new().with_password("tim", "example.org", "tanstaaftanstaaf");
    let creds = || Credentials::new("tim", "tanstaaftanstaaf");
    let mut strict = ServerSession::new(Arc::new(server_config(store(), &[])));
    let mut other_host = client_with(creds(), "other.example.org", props(0, 256, 65536));
    let (_, result) = exchange(&mut strict, &mut other_host);
    assert_eq!(result, Err(Error::AuthenticationFailed));

    let lenient = |service: &str| {
        let config = ServerConfig::builder(service, "mail.example.org")
            .user_realm("example.org")
            .store(Arc::new(store()))
            .digest_uri_any_host(true)
            .build()
            .unwrap();
        ServerSession::new(Arc::new(config))
    };
    let mut imap_any_host = lenient("imap");
    let mut other_host = client_with(creds(), "other.example.org", props(0, 256, 65536));
    authenticated(&mut imap_any_host, &mut other_host);

    // The service must match even then.
    let mut smtp_any_host = lenient("smtp");
    let mut imap = client_with(creds(), "mail.example.org", props(0, 256, 65536));
    let (_, result) = exchange(&mut smtp_any_host, &mut imap);
    assert_eq!(result, Err(Error::AuthenticationFailed));
}

#[test]
fn malformed_responses_are_protocol_errors() {
    let good = vector("rfc2831_imap.txt")["response"].clone();
    let bad: Vec<String> = vec![
        String::new(),
        "garbage".into(),
        good.replace("username=\"chris\",", ""),
        good.replace(",cnonce=\"OA6MHXh6VqTrRk\"", ""),
        good.replace("nc=00000001", "nc=1"),
        good.replace("nc=00000001", "nc=0000000g"),
        good.replace("response=d388", "response=x388"),
        good.replace(",qop=auth", ",qop=auth-bogus"),
        good.replace("charset=utf-8", "charset=latin1"),
        format!("{good},nonce=\"again\""),
        format!("{good},username=\"eve\""),
        good.replace("\"chris\"", "\"chris"),
        good.replace(",qop=auth", ",qop=auth-conf"),
        good.replace(",qop=auth", ",qop=auth-int,maxbuf=15"),
        good.replace(",qop=auth", ",qop=auth-int,maxbuf=99999999"),
        good.replace("username=\"chris\"", "username=\"ch\\\0ris\""),
        format!("{good},x={}", "y".repeat(4096)),
    ];
    for response in bad {
        let mut server = rfc2831_server();
        let result = server.step(response.as_bytes());
        assert!(
            matches!(result, Err(Error::Protocol(_)) | Err(Error::TooWeak)),
            "{response:?}: {result:?}"
        );
    }
    // Unknown directives are ignored.
    let mut server = rfc2831_server();
    let extended = format!("{good},future-directive=\"whatever\"");
    assert!(matches!(
        server.step(extended.as_bytes()),
        Ok(ServerStep::Done { .. })
    ));
}

#[test]
fn malformed_challenges_fail_the_client() {
    for challenge in [
        &b""[..],
        b"realm=\"x\"",
        b"nonce=\"abc\",nonce=\"def\",algorithm=md5-sess",
        b"nonce=\"abc\"",
        b"nonce=\"abc\",algorithm=md5",
        b"nonce=\"abc,algorithm=md5-sess",
        b"nonce=\"abc\",algorithm=md5-sess,maxbuf=1",
        b"nonce=\"abc\",algorithm=md5-sess,charset=iso-8859-2",
        b"nonce=\"abc\",algorithm=md5-sess,qop=\"auth-int\",maxbuf=0",
    ] {
        let mut client = client(props(0, 0, 65536));
        client.start(MECH).unwrap();
        assert!(client.step(challenge).is_err(), "{challenge:?}");
    }
    let mut client = client(props(0, 0, 65536));
    client.start(MECH).unwrap();
    let long = format!(
        "nonce=\"abc\",algorithm=md5-sess,x=\"{}\"",
        "y".repeat(2048)
    );
    assert!(client.step(long.as_bytes()).is_err(), "over 2048 bytes");
}

#[test]
fn unknown_user_fails_like_wrong_password() {
    let log = Arc::new(Log::default());
    let config = ServerConfig::builder("imap", "mail.example.org")
        .user_realm("example.org")
        .store(Arc::new(MemoryStore::new().with_password(
            "tim",
            "example.org",
            "tanstaaftanstaaf",
        )))
        .log(log.clone())
        .build()
        .unwrap();
    let config = Arc::new(config);
    let mut results = Vec::new();
    for credentials in [
        Credentials::new("tim", "wrong"),
        Credentials::new("nobody", "tanstaaftanstaaf"),
    ] {
        let mut server = ServerSession::new(config.clone());
        let mut client = client_with(credentials, "mail.example.org", props(0, 256, 65536));
        let (_, result) = exchange(&mut server, &mut client);
        results.push(result);
    }
    assert_eq!(results[0], Err(Error::AuthenticationFailed));
    assert_eq!(results[0], results[1]);
    let lines = log.0.lock().unwrap().join("\n");
    assert!(
        lines.contains("incorrect digest response for tim@example.org"),
        "{lines}"
    );
    assert!(
        lines.contains("no DIGEST-MD5 secret for user: nobody@example.org"),
        "{lines}"
    );
}

#[test]
fn wrong_or_missing_rspauth_fails_the_client() {
    for last in [
        &b"rspauth=00000000000000000000000000000000"[..],
        b"",
        b"rspauth=xyz",
        b"other=1",
    ] {
        let mut server = server(props(0, 256, 65536));
        let mut client = client(props(0, 256, 65536));
        let (_, result) = exchange(&mut server, &mut client);
        assert!(matches!(result, Ok(ServerStep::Done { .. })));
        assert_eq!(client.step(last), Err(Error::ServerAuthenticationFailed));
        assert_eq!(client.ssf(), 0, "no layer without mutual authentication");
    }
}

#[test]
fn stored_secret_without_plaintext() {
    for (user, password) in [("tim", "tanstaaftanstaaf"), ("m\u{fc}ller", "p\u{e4}ss")] {
        let store = MemoryStore::new();
        let policy = PasswordPolicy {
            keep_plaintext: false,
            scram_hashes: Vec::new(),
            digest_md5: true,
            cram_md5: false,
            ..PasswordPolicy::default()
        };
        set_password(
            &store,
            user,
            "example.org",
            password.as_bytes(),
            &policy,
            &FixedRandom::new(1),
        )
        .unwrap();
        let mut server = ServerSession::new(Arc::new(server_config(store, &[])));
        let mut client = client_with(
            Credentials::new(user, password),
            "mail.example.org",
            props(0, 256, 65536),
        );
        let identity = authenticated(&mut server, &mut client);
        assert_eq!(
            (identity.authcid.as_str(), identity.realm.as_str()),
            (user, "example.org")
        );
    }
}

#[test]
fn non_ascii_names_and_passwords() {
    for (user, password) in [
        ("m\u{fc}ller", "p\u{e4}ss"),
        ("\u{4e2d}\u{6587}", "\u{20ac}uro"),
    ] {
        let store = MemoryStore::new().with_password(user, "example.org", password);
        let mut server = ServerSession::new(Arc::new(server_config(store, &[])));
        let mut client = client_with(
            Credentials::new(user, password),
            "mail.example.org",
            props(0, 256, 65536),
        );
        assert_eq!(authenticated(&mut server, &mut client).authcid, user);
    }
}

#[test]
fn authzid_is_carried_and_authorized() {
    let store = MemoryStore::new().with_password("tim", "example.org", "tanstaaftanstaaf");
    let config = ServerConfig::builder("imap", "mail.example.org")
        .user_realm("example.org")
        .store(Arc::new(store))
        .authorization(Arc::new(AllowAll))
        .build()
        .unwrap();
    let mut allowing = ServerSession::new(Arc::new(config));
    let mut client = client_with(
        Credentials::new("tim", "tanstaaftanstaaf").with_authzid("admin"),
        "mail.example.org",
        props(0, 256, 65536),
    );
    let identity = authenticated(&mut allowing, &mut client);
    assert_eq!(identity.authzid.as_deref(), Some("admin"));

    // The default policy refuses it, after a correct proof.
    let mut server = server(props(0, 256, 65536));
    let mut client = client_with(
        Credentials::new("tim", "tanstaaftanstaaf").with_authzid("admin"),
        "mail.example.org",
        props(0, 256, 65536),
    );
    let (_, result) = exchange(&mut server, &mut client);
    assert_eq!(result, Err(Error::AuthorizationFailed));
}

#[test]
fn reauth_initial_response_is_ignored() {
    let mut server = server(props(0, 256, 65536));
    let reauth = b"username=\"tim\",realm=\"example.org\",nonce=\"old\",nc=00000002";
    let step = server.start(MECH, Some(reauth)).unwrap();
    let ServerStep::Continue(challenge) = step else {
        panic!("a fresh challenge");
    };
    assert!(challenge.starts_with(b"realm=\"example.org\",nonce=\""));
    let mut client = client(props(0, 256, 65536));
    client.start(MECH).unwrap();
    let ClientStep::Continue(response) = client.step(&challenge).unwrap() else {
        panic!()
    };
    assert!(matches!(
        server.step(&response),
        Ok(ServerStep::Done { .. })
    ));
}

#[test]
fn security_properties_shape_the_offer() {
    let challenge = |p| {
        let mut server = server(p);
        match server.start(MECH, None) {
            Ok(ServerStep::Continue(c)) => Ok(String::from_utf8(c).unwrap()),
            Ok(other) => panic!("{other:?}"),
            Err(e) => Err(e),
        }
    };
    let all = challenge(props(0, 256, 65536)).unwrap();
    assert!(all.contains("qop=\"auth,auth-int,auth-conf\""), "{all}");
    assert!(
        all.contains("cipher=\"rc4-40,rc4-56,rc4,des,3des\""),
        "{all}"
    );
    let int_only = challenge(props(1, 1, 65536)).unwrap();
    assert!(int_only.contains("qop=\"auth-int\"") && !int_only.contains("cipher"));
    let strong = challenge(props(56, 128, 4096)).unwrap();
    assert!(
        strong.contains("qop=\"auth-conf\",cipher=\"rc4-56,rc4,3des\",maxbuf=4096"),
        "{strong}"
    );
    assert!(
        challenge(props(0, 256, 0))
            .unwrap()
            .contains("qop=\"auth\",")
    );
    assert!(
        challenge(props(129, 256, 65536)).is_err(),
        "nothing strong enough"
    );

    // A client that needs more than the server offers gives up.
    let mut weak = server(props(0, 1, 65536));
    let mut client = client(props(40, 256, 65536));
    client.start(MECH).unwrap();
    let ServerStep::Continue(challenge) = weak.start(MECH, None).unwrap() else {
        panic!()
    };
    assert_eq!(client.step(&challenge), Err(Error::TooWeak));
}
