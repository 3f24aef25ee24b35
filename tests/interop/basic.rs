//! PLAIN, LOGIN and CRAM-MD5 against Cyrus SASL and GNU SASL, in both directions, with a
//! right and a wrong password.

use std::sync::Arc;

use puresasl::{ClientSession, Credentials, MemoryStore, ServerConfig, ServerSession};

use super::*;
use crate::pair::client_config;

const MECHANISMS: [&str; 3] = ["PLAIN", "LOGIN", "CRAM-MD5"];
const USER: &str = "tim";
const REALM: &str = "example.org";
const PASSWORD: &str = "tanstaaftanstaaf";

fn our_server(mechanism: &str) -> ServerSession {
    let store = MemoryStore::new().with_password(USER, REALM, PASSWORD);
    let config = ServerConfig::builder("imap", "mail.example.org")
        .user_realm(REALM)
        .store(Arc::new(store))
        .mechanisms([mechanism])
        .build()
        .unwrap();
    ServerSession::new(Arc::new(config))
}

fn our_client(mechanism: &str, password: &str) -> ClientSession {
    ClientSession::new(client_config(mechanism, Credentials::new(USER, password)))
}

#[test]
fn our_client_against_cyrus_server() {
    if !have("saslpasswd2") {
        return;
    }
    let dir = scratch("basic-cyrus-server");
    let sasldb = cyrus_sasldb(&dir, &[(USER, REALM, PASSWORD)]);
    let sasldb = sasldb.to_str().unwrap();
    let env = [("SASLDB", sasldb), ("SASL_USER_REALM", REALM)];
    for mechanism in MECHANISMS {
        let Some(result) =
            our_client_vs_cyrus_server(&mut our_client(mechanism, PASSWORD), mechanism, &env)
        else {
            return;
        };
        let outcome = result.unwrap_or_else(|e| panic!("{mechanism}: {e}"));
        assert_eq!(outcome.username, format!("{USER}@{REALM}"), "{mechanism}");
        assert_eq!(outcome.ssf, 0);

        let failure = expect_failure(our_client_vs_cyrus_server(
            &mut our_client(mechanism, "wrong"),
            mechanism,
            &env,
        ));
        let failure = failure.unwrap();
        assert!(
            failure.contains("FAIL:-13"),
            "{mechanism}: Cyrus should say SASL_BADAUTH: {failure}"
        );
    }
}

#[test]
fn cyrus_client_against_our_server() {
    for mechanism in MECHANISMS {
        let env = [("SASL_AUTHCID", USER), ("SASL_PASSWORD", PASSWORD)];
        let Some(result) = cyrus_client_vs_our_server(&mut our_server(mechanism), mechanism, &env)
        else {
            return;
        };
        let (identity, _) = result.unwrap_or_else(|e| panic!("{mechanism}: {e}"));
        assert_eq!(
            (identity.authcid.as_str(), identity.realm.as_str()),
            (USER, REALM)
        );

        let env = [("SASL_AUTHCID", USER), ("SASL_PASSWORD", "wrong")];
        let failure = expect_failure(cyrus_client_vs_our_server(
            &mut our_server(mechanism),
            mechanism,
            &env,
        ))
        .unwrap();
        assert!(
            failure.contains("authentication failure"),
            "{mechanism}: {failure}"
        );
    }
}

#[test]
fn our_client_against_gsasl_server() {
    for mechanism in MECHANISMS {
        let args = ["-a", USER, "-p", PASSWORD];
        let Some(result) =
            our_client_vs_gsasl_server(&mut our_client(mechanism, PASSWORD), mechanism, &args)
        else {
            return;
        };
        result.unwrap_or_else(|e| panic!("{mechanism}: {e}"));
        let failure = expect_failure(our_client_vs_gsasl_server(
            &mut our_client(mechanism, "wrong"),
            mechanism,
            &args,
        ));
        assert!(failure.unwrap().contains("gsasl server"), "{mechanism}");
    }
}

#[test]
fn gsasl_client_against_our_server() {
    for mechanism in MECHANISMS {
        let Some(result) = gsasl_client_vs_our_server(
            &mut our_server(mechanism),
            mechanism,
            &["-a", USER, "-p", PASSWORD],
        ) else {
            return;
        };
        let identity = result.unwrap_or_else(|e| panic!("{mechanism}: {e}"));
        assert_eq!(identity.authcid, USER);
        let failure = expect_failure(gsasl_client_vs_our_server(
            &mut our_server(mechanism),
            mechanism,
            &["-a", USER, "-p", "wrong"],
        ));
        assert!(
            failure.unwrap().contains("authentication failure"),
            "{mechanism}"
        );
    }
}
