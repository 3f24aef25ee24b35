//! Full exchanges per mechanism, and each side alone, for PLAIN, LOGIN and CRAM-MD5.
//!
//! Run with `cargo bench --bench mechanisms`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use puresasl::{
    ClientConfig, ClientSession, ClientStep, Credentials, FixedRandom, MemoryStore, ServerConfig,
    ServerSession, ServerStep,
};

const MECHANISMS: [&str; 3] = ["PLAIN", "LOGIN", "CRAM-MD5"];

fn server_config() -> Arc<ServerConfig> {
    let store = MemoryStore::new().with_password("tim", "example.org", "tanstaaftanstaaf");
    Arc::new(
        ServerConfig::builder("imap", "example.org")
            .store(Arc::new(store))
            .random(Arc::new(FixedRandom::new(1)))
            .build()
            .unwrap(),
    )
}

fn client_config(mechanism: &str) -> Arc<ClientConfig> {
    Arc::new(
        ClientConfig::new(
            "imap",
            "example.org",
            Arc::new(Credentials::new("tim", "tanstaaftanstaaf")),
        )
        .with_mechanisms([mechanism])
        .unwrap()
        .with_random(Arc::new(FixedRandom::new(2))),
    )
}

/// One complete exchange; panics unless the server accepts.
fn exchange(server: &Arc<ServerConfig>, client: &Arc<ClientConfig>, mechanism: &str) {
    let mut server = ServerSession::new(server.clone());
    let mut client = ClientSession::new(client.clone());
    let start = client.start(mechanism).unwrap();
    let mut reply = server.start(mechanism, start.initial_response.as_deref());
    loop {
        match reply.unwrap() {
            ServerStep::Continue(challenge) => {
                let response = match client.step(&challenge).unwrap() {
                    ClientStep::Continue(r) => r,
                    ClientStep::Done(r) => r.unwrap_or_default(),
                };
                reply = server.step(&response);
            }
            ServerStep::Done { identity, .. } => {
                black_box(identity);
                return;
            }
        }
    }
}

/// The client's messages for `mechanism`, recorded once, so the server can be timed alone.
/// (CRAM-MD5 depends on the challenge, so its server is timed with the client in the loop.)
fn client_messages(mechanism: &str) -> Vec<Vec<u8>> {
    match mechanism {
        "PLAIN" => vec![b"\0tim\0tanstaaftanstaaf".to_vec()],
        "LOGIN" => vec![b"tim".to_vec(), b"tanstaaftanstaaf".to_vec()],
        _ => Vec::new(),
    }
}

fn benches(c: &mut Criterion) {
    let server = server_config();
    for mechanism in MECHANISMS {
        let client = client_config(mechanism);
        c.bench_function(&format!("{mechanism}/exchange"), |b| {
            b.iter(|| exchange(&server, &client, mechanism))
        });

        let messages = client_messages(mechanism);
        if !messages.is_empty() {
            c.bench_function(&format!("{mechanism}/server"), |b| {
                b.iter(|| {
                    let mut session = ServerSession::new(server.clone());
                    let mut reply = session.start(mechanism, Some(&messages[0]));
                    for message in &messages[1..] {
                        reply = session.step(message);
                    }
                    assert!(matches!(reply, Ok(ServerStep::Done { .. })));
                })
            });
        }

        c.bench_function(&format!("{mechanism}/client"), |b| {
            let challenge = b"<1896.697170952@postoffice.reston.mci.net>";
            b.iter(|| {
                let mut session = ClientSession::new(client.clone());
                let start = session.start(mechanism).unwrap();
                if start.initial_response.is_none() {
                    black_box(session.step(challenge).unwrap());
                    if mechanism == "LOGIN" {
                        black_box(session.step(b"Password:").unwrap());
                    }
                }
                black_box(start);
            })
        });
    }
}

criterion_group!(group, benches);
criterion_main!(group);
