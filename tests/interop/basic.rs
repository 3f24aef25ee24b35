//! PLAIN, LOGIN and CRAM-MD5 against Cyrus SASL and GNU SASL, in both directions, with a
//! right and a wrong password.

use std::sync::Arc;

use puresasl::{ClientSession, Credentials, Error, MemoryStore, ServerConfig, ServerSession};

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
    let dir = scratch("basic-cyrus-server");
    let Some(sasldb) = cyrus_sasldb(&dir, &[(USER, REALM, PASSWORD)]) else {
        return;
    };
    let options = [("sasldb", sasldb.to_str().unwrap()), ("realm", REALM)];
    for mechanism in MECHANISMS {
        let mut client = our_client(mechanism, PASSWORD);
        let Some(result) = our_client_vs_cyrus_server(&mut client, mechanism, &options) else {
            return;
        };
        let outcome = result.unwrap_or_else(|e| panic!("{mechanism}: {e:?}"));
        assert_eq!(outcome.username, format!("{USER}@{REALM}"), "{mechanism}");
        assert_eq!(outcome.ssf, 0);

        let mut client = our_client(mechanism, "wrong");
        let failure = our_client_vs_cyrus_server(&mut client, mechanism, &options)
            .unwrap()
            .err()
            .unwrap()
            .peer();
        assert!(
            failure.starts_with("ERR -13 "),
            "{mechanism}: Cyrus should say SASL_BADAUTH: {failure}"
        );
    }
}

#[test]
fn cyrus_client_against_our_server() {
    for mechanism in MECHANISMS {
        let options = [("user", USER), ("password", PASSWORD)];
        let Some(result) =
            cyrus_client_vs_our_server(&mut our_server(mechanism), mechanism, &options)
        else {
            return;
        };
        let (identity, _) = result.unwrap_or_else(|e| panic!("{mechanism}: {e:?}"));
        assert_eq!(
            (identity.authcid.as_str(), identity.realm.as_str()),
            (USER, REALM)
        );

        let options = [("user", USER), ("password", "wrong")];
        let failure = cyrus_client_vs_our_server(&mut our_server(mechanism), mechanism, &options)
            .unwrap()
            .err();
        assert_eq!(
            failure,
            Some(Failure::Ours(Error::AuthenticationFailed)),
            "{mechanism}"
        );
    }
}

#[test]
fn our_client_against_gsasl_server() {
    for mechanism in MECHANISMS {
        let args = ["-d", "--quiet", "-a", USER, "-p", PASSWORD];
        let mut client = our_client(mechanism, PASSWORD);
        let Some(result) = our_client_vs_gsasl_server(&mut client, mechanism, &args, &[]) else {
            return;
        };
        result.unwrap_or_else(|e| panic!("{mechanism}: {e:?}"));
        let mut client = our_client(mechanism, "wrong");
        let failure = our_client_vs_gsasl_server(&mut client, mechanism, &args, &[]).unwrap();
        assert!(
            matches!(failure, Err(Failure::Peer(_))),
            "{mechanism}: {failure:?}"
        );
    }
}

#[test]
fn gsasl_client_against_our_server() {
    for mechanism in MECHANISMS {
        let Some(result) = gsasl_client_vs_our_server(
            &mut our_server(mechanism),
            mechanism,
            &["-d", "--quiet", "-a", USER, "-p", PASSWORD],
            &[],
        ) else {
            return;
        };
        let identity = result.unwrap_or_else(|e| panic!("{mechanism}: {e:?}"));
        assert_eq!(identity.authcid, USER);
        let failure = gsasl_client_vs_our_server(
            &mut our_server(mechanism),
            mechanism,
            &["-d", "--quiet", "-a", USER, "-p", "wrong"],
            &[],
        );
        assert_eq!(
            failure.unwrap().err(),
            Some(Failure::Ours(Error::AuthenticationFailed)),
            "{mechanism}"
        );
    }
}
