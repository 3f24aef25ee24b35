//! SCRAM against real peers, both directions: GNU SASL's `gsasl` command, Python `scramp`
//! and Cyrus SASL's libsasl2 SCRAM plugin, with and without channel binding (-PLUS), with a
//! right and a wrong password.

use std::sync::Arc;

use puresasl::*;

use super::{
    Failure, LineServer, b64, cb, cyrus_client_vs_our_server, cyrus_sasldb,
    gsasl_client_vs_our_server, our_client_vs_cyrus_server, our_client_vs_gsasl_server,
    our_client_vs_line_server, our_server_vs_line_client, scramp, scratch,
};
use crate::scram::{REALM, client_on, server_on};

const USER: &str = "user";
const PASSWORD: &str = "pencil";

fn server_store() -> MemoryStore {
    MemoryStore::new().with_password(USER, REALM, PASSWORD)
}

fn our_server(binding: Option<ChannelBinding>) -> ServerSession {
    let mut server = server_on(server_store(), Arc::new(OsRandom));
    server.set_channel_binding(binding);
    server
}

fn our_client(password: &str, binding: Option<ChannelBinding>) -> ClientSession {
    let mut client = client_on(Credentials::new(USER, password), Arc::new(OsRandom));
    client.set_channel_binding(binding);
    client
}

/// The mechanism name, with -PLUS when there is a binding.
fn plus(mechanism: &str, binding: Option<&ChannelBinding>) -> String {
    match binding {
        Some(_) => format!("{mechanism}-PLUS"),
        None => mechanism.to_owned(),
    }
}

// ---------------------------------------------------------------------------------------
// GNU SASL

const GSASL_MECHANISMS: [&str; 2] = ["SCRAM-SHA-1", "SCRAM-SHA-256"];

fn gsasl_bindings() -> [Option<ChannelBinding>; 3] {
    [
        None,
        Some(cb("tls-unique", b"0123456789ab")),
        Some(cb("tls-exporter", &[0x42; 32])),
    ]
}

/// No --service/--hostname/--realm: with those set, gsasl 2.2 stops asking for
/// channel-binding data on stdin. `-d` turns off its application-data phase.
fn gsasl_args(password: &str) -> [&str; 6] {
    [
        "-d",
        "--authentication-id",
        USER,
        "--password",
        password,
        "--quiet",
    ]
}

/// The lines a `gsasl` client reads for its channel-binding prompts (tls-exporter first,
/// then, if that was empty, tls-unique).
fn gsasl_client_cb_lines(binding: Option<&ChannelBinding>) -> Vec<String> {
    match binding {
        None => vec![String::new(), String::new()],
        Some(b) if b.kind == puresasl::ChannelBindingKind::TlsExporter => vec![b64(&b.data)],
        Some(b) => vec![String::new(), b64(&b.data)],
    }
}

#[test]
fn gsasl_client_against_our_server() {
    for mechanism in GSASL_MECHANISMS {
        for binding in gsasl_bindings() {
            let name = plus(mechanism, binding.as_ref());
            for (password, should_pass) in [(PASSWORD, true), ("wrong", false)] {
                let mut server = our_server(binding.clone());
                let Some(result) = gsasl_client_vs_our_server(
                    &mut server,
                    &name,
                    &gsasl_args(password),
                    &gsasl_client_cb_lines(binding.as_ref()),
                ) else {
                    return;
                };
                if should_pass {
                    // Ok also means gsasl exited with success.
                    let identity = result.unwrap_or_else(|e| panic!("{name}: {e:?}"));
                    assert_eq!(identity.authcid, USER);
                } else {
                    // Err(Ours) also means gsasl exited with failure (no e=invalid-proof
                    // accepted).
                    assert_eq!(
                        result.unwrap_err(),
                        Failure::Ours(Error::AuthenticationFailed),
                        "{name}"
                    );
                }
            }
        }
    }
}

#[test]
fn our_client_against_gsasl_server() {
    for mechanism in GSASL_MECHANISMS {
        for binding in gsasl_bindings() {
            let name = plus(mechanism, binding.as_ref());
            for (password, should_pass) in [(PASSWORD, true), ("wrong", false)] {
                // The gsasl server asks for the binding data after client-first.
                let cb_line = binding.as_ref().map(|b| b64(&b.data));
                let after_first: Vec<&str> = cb_line.iter().map(String::as_str).collect();
                let mut client = our_client(password, binding.clone());
                let Some(result) = our_client_vs_gsasl_server(
                    &mut client,
                    &name,
                    &gsasl_args(PASSWORD),
                    &after_first,
                ) else {
                    return;
                };
                if should_pass {
                    result.unwrap_or_else(|e| panic!("{name}: {e:?}"));
                    assert!(client.is_done(), "{name}: our client verified v=");
                } else {
                    // gsasl sends no e=; it stops talking and exits with failure.
                    assert_eq!(result, Err(Failure::Peer("peer closed".into())), "{name}");
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Python scramp

const SCRAMP_MECHANISMS: [&str; 3] = ["SCRAM-SHA-1", "SCRAM-SHA-256", "SCRAM-SHA-512"];

/// Each mechanism without binding and its -PLUS variant with each binding type.
fn scramp_cases(mechanism: &str) -> Vec<(String, Option<ChannelBinding>)> {
    let mut cases = vec![(mechanism.to_owned(), None)];
    for binding in [
        cb("tls-unique", b"tls unique data"),
        cb("tls-server-end-point", &[0x5a; 32]),
    ] {
        cases.push((format!("{mechanism}-PLUS"), Some(binding)));
    }
    cases
}

#[test]
fn scramp_client_against_our_server() {
    for mechanism in SCRAMP_MECHANISMS {
        for (name, binding) in scramp_cases(mechanism) {
            for (password, should_pass) in [(PASSWORD, true), ("wrong", false)] {
                let Some(mut peer) = scramp("client", &name, USER, password, binding.as_ref())
                else {
                    return;
                };
                let result =
                    our_server_vs_line_client(&mut peer, &mut our_server(binding.clone()), &name);
                if should_pass {
                    assert_eq!(result.map(|id| id.authcid), Ok(USER.to_owned()), "{name}");
                    assert_eq!(peer.line(), "OK", "{name}");
                } else {
                    // Our server ends the exchange at the proof, as Cyrus does.
                    assert_eq!(
                        result,
                        Err(Failure::Ours(Error::AuthenticationFailed)),
                        "{name}"
                    );
                }
                assert_eq!(peer.finish().0, should_pass, "{name}");
            }
        }
    }
    // scramp as a client with binding data but a server that offers no -PLUS sends "y";
    // a server that does support binding must refuse that as a downgrade.
    let binding = cb("tls-unique", b"tls unique data");
    let mut peer = scramp("client", "SCRAM-SHA-256", USER, PASSWORD, Some(&binding)).unwrap();
    let result =
        our_server_vs_line_client(&mut peer, &mut our_server(Some(binding)), "SCRAM-SHA-256");
    assert_eq!(
        result,
        Err(Failure::Ours(Error::ChannelBinding(
            "server-does-support-channel-binding"
        )))
    );
    let _ = peer.finish();
}

#[test]
fn our_client_against_scramp_server() {
    for mechanism in SCRAMP_MECHANISMS {
        for (name, binding) in scramp_cases(mechanism) {
            for (password, should_pass) in [(PASSWORD, true), ("wrong", false)] {
                let Some(mut peer) = scramp("server", &name, USER, PASSWORD, binding.as_ref())
                else {
                    return;
                };
                let mut client = our_client(password, binding.clone());
                let how = LineServer {
                    gsasl: false,
                    after_first: &[],
                };
                let result = our_client_vs_line_server(&mut peer, &mut client, &name, how);
                if should_pass {
                    assert_eq!(result, Ok(()), "{name}");
                    assert_eq!(peer.line(), "OK", "{name}");
                } else {
                    assert_eq!(
                        result,
                        Err(Failure::Ours(Error::PeerError("invalid-proof".into()))),
                        "{name}"
                    );
                }
                assert_eq!(peer.finish().0, should_pass, "{name}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Cyrus SASL (libsasl2 and its SCRAM plugin)

const CYRUS_HASHES: [&str; 5] = [
    "SCRAM-SHA-1",
    "SCRAM-SHA-224",
    "SCRAM-SHA-256",
    "SCRAM-SHA-384",
    "SCRAM-SHA-512",
];

/// Every Cyrus hash without binding, and its -PLUS variant with one of the binding types
/// (libsasl2 takes any type name through SASL_CHANNEL_BINDING).
fn cyrus_cases() -> Vec<(String, Option<ChannelBinding>)> {
    let kinds = ["tls-exporter", "tls-unique", "tls-server-end-point"];
    let mut cases = Vec::new();
    for (i, hash) in CYRUS_HASHES.iter().enumerate() {
        cases.push(((*hash).to_owned(), None));
        let kind = kinds[i % kinds.len()];
        cases.push((
            format!("{hash}-PLUS"),
            Some(cb(kind, &[0x30 + u8::try_from(i).unwrap(); 32])),
        ));
    }
    cases
}

/// The Cyrus peer's options for `binding` (critical, as an application under TLS sets it).
fn cyrus_binding_options(binding: Option<&ChannelBinding>) -> Vec<(&'static str, String)> {
    binding.map_or_else(Vec::new, |b| {
        vec![
            ("cb_name", b.kind.name().to_owned()),
            ("cb_data", b64(&b.data)),
            ("cb_critical", "1".into()),
        ]
    })
}

fn options<'a>(
    base: &[(&'static str, &'a str)],
    extra: &'a [(&str, String)],
) -> Vec<(&'a str, &'a str)> {
    base.iter()
        .copied()
        .chain(extra.iter().map(|(k, v)| (*k, v.as_str())))
        .collect()
}

#[test]
fn cyrus_client_against_our_server() {
    for (mechanism, binding) in cyrus_cases() {
        let mechanism = mechanism.as_str();
        let extra = cyrus_binding_options(binding.as_ref());
        for (password, should_pass) in [(PASSWORD, true), ("wrong", false)] {
            let options = options(&[("user", USER), ("password", password)], &extra);
            let Some(result) =
                cyrus_client_vs_our_server(&mut our_server(binding.clone()), mechanism, &options)
            else {
                return;
            };
            if should_pass {
                // Ok also means Cyrus verified our v= and reported success.
                assert_eq!(
                    result.map(|(id, _)| id.authcid),
                    Ok(USER.to_owned()),
                    "{mechanism}"
                );
            } else {
                assert_eq!(
                    result.err(),
                    Some(Failure::Ours(Error::AuthenticationFailed)),
                    "{mechanism}"
                );
            }
        }
    }
}

#[test]
fn cyrus_channel_binding_mismatch_is_refused() {
    let extra = cyrus_binding_options(Some(&cb("tls-exporter", b"client side")));
    let options = options(&[("user", USER), ("password", PASSWORD)], &extra);
    let Some(result) = cyrus_client_vs_our_server(
        &mut our_server(Some(cb("tls-exporter", b"server side"))),
        "SCRAM-SHA-256-PLUS",
        &options,
    ) else {
        return;
    };
    assert_eq!(
        result.err(),
        Some(Failure::Ours(Error::ChannelBinding(
            "channel-bindings-dont-match"
        )))
    );
}

#[test]
fn our_client_against_cyrus_server() {
    let dir = scratch("scram-cyrus-server");
    let Some(sasldb) = cyrus_sasldb(&dir, &[(USER, REALM, PASSWORD)]) else {
        return;
    };
    let sasldb = sasldb.to_str().unwrap();
    for (mechanism, binding) in cyrus_cases() {
        let mechanism = mechanism.as_str();
        let extra = cyrus_binding_options(binding.as_ref());
        let options = options(&[("sasldb", sasldb), ("realm", REALM)], &extra);
        for (password, should_pass) in [(PASSWORD, true), ("wrong", false)] {
            let mut client = our_client(password, binding.clone());
            // Without SASL_SUCCESS_DATA, libsasl2 sends v= as a challenge and waits for an
            // empty answer before it reports success.
            let Some(result) = our_client_vs_cyrus_server(&mut client, mechanism, &options) else {
                return;
            };
            if should_pass {
                // Ok: Cyrus reports success after the verifier.
                let outcome = result.unwrap_or_else(|e| panic!("{mechanism}: {e:?}"));
                assert!(client.is_done(), "{mechanism}: our client verified v=");
                assert_eq!(outcome.username, format!("{USER}@{REALM}"), "{mechanism}");
            } else {
                // Cyrus refuses the proof (SASL_BADAUTH).
                let failure = result.err().unwrap().peer();
                assert!(failure.starts_with("ERR -13 "), "{mechanism}: {failure}");
            }
        }
    }
}

/// The Cyrus server's GETOPT settings and SASL_SUCCESS_DATA reach libsasl2: with success
/// data, v= arrives with its success (no extra round trip); its `scram_iteration_counter`
/// reaches our client, whose bounds then decide; its `mech_list` hides SCRAM.
#[test]
fn cyrus_server_options_success_data_iterations_mech_list() {
    let dir = scratch("scram-cyrus-options");
    let Some(sasldb) = cyrus_sasldb(&dir, &[(USER, REALM, PASSWORD)]) else {
        return;
    };
    let sasldb = sasldb.to_str().unwrap();
    let bounded = |max: u32| {
        let config = ClientConfig::new(
            "imap",
            "mail.example.org",
            Arc::new(Credentials::new(USER, PASSWORD)),
        )
        .with_scram_iterations(4096, max);
        ClientSession::new(Arc::new(config))
    };
    let options = [
        ("sasldb", sasldb),
        ("realm", REALM),
        ("success_data", "1"),
        ("scram_iteration_counter", "5000"),
    ];
    let mut client = bounded(5000);
    let Some(result) = our_client_vs_cyrus_server(&mut client, "SCRAM-SHA-256", &options) else {
        return;
    };
    result.unwrap_or_else(|e| panic!("{e:?}"));
    assert!(
        client.is_done(),
        "our client verified v= from the success data"
    );

    let mut client = bounded(4999);
    let result = our_client_vs_cyrus_server(&mut client, "SCRAM-SHA-256", &options).unwrap();
    assert_eq!(
        result.err(),
        Some(Failure::Ours(Error::Protocol(ProtocolError::Malformed(
            "SCRAM iteration count outside the configured bounds"
        ))))
    );

    let options = [("sasldb", sasldb), ("realm", REALM), ("mech_list", "PLAIN")];
    let mut client = our_client(PASSWORD, None);
    let failure = our_client_vs_cyrus_server(&mut client, "SCRAM-SHA-256", &options)
        .unwrap()
        .err()
        .unwrap()
        .peer();
    assert!(failure.starts_with("ERR -4 "), "SASL_NOMECH: {failure}");
}
