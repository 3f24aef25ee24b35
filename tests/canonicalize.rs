//! The server's user-name canonicalization hook (`ServerConfigBuilder::canonicalize_user`).

use std::sync::{Arc, Mutex};

use puresasl::{
    CanonicalizeUser, ClientSession, Credentials, Error, FixedRandom, MemoryStore, NameKind,
    ServerConfig, ServerSession,
};

use crate::pair::{PairError, client_config, run};

const MECHANISMS: [&str; 5] = ["SCRAM-SHA-256", "DIGEST-MD5", "CRAM-MD5", "PLAIN", "LOGIN"];

/// The standard server (`tim`/`tanstaaftanstaaf` in `example.org`), canonicalizing with
/// `canonicalize` if given.
fn server(mechanism: &str, canonicalize: Option<Arc<dyn CanonicalizeUser>>) -> ServerSession {
    let store = MemoryStore::new().with_password("tim", "example.org", "tanstaaftanstaaf");
    let mut builder = ServerConfig::builder("imap", "mail.example.org")
        .user_realm("example.org")
        .store(Arc::new(store))
        .mechanisms([mechanism])
        .random(Arc::new(FixedRandom::new(11)));
    if let Some(canonicalize) = canonicalize {
        builder = builder.canonicalize_user(canonicalize);
    }
    ServerSession::new(Arc::new(builder.build().unwrap()))
}

/// Lower-cases names and records what it was asked.
fn lower_case(seen: Arc<Mutex<Vec<(String, NameKind)>>>) -> Arc<dyn CanonicalizeUser> {
    Arc::new(move |name: &str, kind: NameKind| {
        seen.lock().unwrap().push((name.to_owned(), kind));
        Ok(name.to_lowercase())
    })
}

fn client(mechanism: &str, credentials: Credentials) -> ClientSession {
    ClientSession::new(client_config(mechanism, credentials))
}

#[test]
fn lower_casing_lets_upper_case_name_log_in_as_the_stored_user() {
    for mechanism in MECHANISMS {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut server = server(mechanism, Some(lower_case(seen.clone())));
        let mut client = client(mechanism, Credentials::new("TIM", "tanstaaftanstaaf"));
        let exchange = run(&mut server, &mut client, true);
        let identity = exchange
            .result
            .unwrap_or_else(|e| panic!("{mechanism}: {e:?}"));
        assert_eq!(identity.authcid, "tim", "{mechanism}");
        assert_eq!(identity.realm, "example.org", "{mechanism}");
        assert_eq!(identity.username(), "tim", "{mechanism}");
        assert_eq!(server.attempted_user(), Some("tim"), "{mechanism}");
        assert_eq!(
            *seen.lock().unwrap(),
            [("TIM".to_owned(), NameKind::AuthcidAndAuthzid)],
            "{mechanism}"
        );
    }
}

#[test]
fn without_a_canonicalizer_names_are_used_as_sent() {
    for mechanism in MECHANISMS {
        let mut server = server(mechanism, None);
        let mut client = client(mechanism, Credentials::new("TIM", "tanstaaftanstaaf"));
        let exchange = run(&mut server, &mut client, true);
        assert_eq!(
            exchange.result.unwrap_err(),
            PairError::Server(Error::AuthenticationFailed),
            "{mechanism}"
        );
        assert_eq!(server.attempted_user(), Some("TIM"), "{mechanism}");
    }
}

#[test]
fn the_authorization_identity_is_canonicalized_too() {
    // `TIM` asks to act as `Tim`: after lower-casing both are `tim`, so the default policy
    // (a user may act only as themselves) allows it.
    for mechanism in ["SCRAM-SHA-256", "DIGEST-MD5", "PLAIN"] {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut server = server(mechanism, Some(lower_case(seen.clone())));
        let credentials = Credentials::new("TIM", "tanstaaftanstaaf").with_authzid("Tim");
        let exchange = run(&mut server, &mut client(mechanism, credentials), true);
        let identity = exchange
            .result
            .unwrap_or_else(|e| panic!("{mechanism}: {e:?}"));
        assert_eq!(identity.authcid, "tim", "{mechanism}");
        assert_eq!(identity.authzid.as_deref(), Some("tim"), "{mechanism}");
        let seen = seen.lock().unwrap();
        assert!(
            seen.contains(&("Tim".to_owned(), NameKind::Authzid))
                && seen.contains(&("TIM".to_owned(), NameKind::Authcid))
                && seen.len() == 2,
            "{mechanism}: {seen:?}"
        );
    }
}

#[test]
fn a_canonicalizer_error_fails_the_exchange_with_that_error() {
    for mechanism in MECHANISMS {
        let refuse: Arc<dyn CanonicalizeUser> = Arc::new(|name: &str, _kind: NameKind| {
            if name == "tim" {
                Ok(name.to_owned())
            } else {
                Err(Error::Config(format!("no such name {name}")))
            }
        });
        let mut server = server(mechanism, Some(refuse));
        let mut client = client(mechanism, Credentials::new("mallory", "tanstaaftanstaaf"));
        let exchange = run(&mut server, &mut client, true);
        assert_eq!(
            exchange.result.unwrap_err(),
            PairError::Server(Error::Config("no such name mallory".into())),
            "{mechanism}"
        );
        // The session is poisoned with the same error.
        assert_eq!(
            server.step(b"x"),
            Err(Error::Config("no such name mallory".into()))
        );
    }
}

#[test]
fn the_canonical_name_is_what_a_failed_attempt_reports() {
    // Strips a domain: `tim@Elsewhere` is looked up (and reported) as `tim`.
    let strip: Arc<dyn CanonicalizeUser> = Arc::new(|name: &str, _kind: NameKind| {
        Ok(name.split('@').next().unwrap_or(name).to_owned())
    });
    let mut server = server("PLAIN", Some(strip));
    let mut client = client("PLAIN", Credentials::new("tim@Elsewhere", "wrong password"));
    let exchange = run(&mut server, &mut client, true);
    assert_eq!(
        exchange.result.unwrap_err(),
        PairError::Server(Error::AuthenticationFailed)
    );
    assert_eq!(server.attempted_user(), Some("tim"));
}
