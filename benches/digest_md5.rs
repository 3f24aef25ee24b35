//! DIGEST-MD5 benchmarks: a full exchange per side, and encode/decode throughput of each
//! security layer (`cargo bench --bench digest_md5`; criterion prints MB/s).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "benchmarks"
)]

use std::hint::black_box;
use std::sync::Arc;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use puresasl::{
    ClientConfig, ClientSession, ClientStep, Credentials, MemoryStore, Random, SecurityProperties,
    ServerConfig, ServerSession, ServerStep,
};

const MECH: &str = "DIGEST-MD5";

/// The same nonce every time, so a recorded response replays against new sessions (for
/// measuring only: a real server must never do this).
struct SameNonce;

impl Random for SameNonce {
    fn fill(&self, dest: &mut [u8]) {
        dest.fill(7);
    }
    fn nonce(&self, _len: usize) -> String {
        "benchmark-nonce-benchmark-nonce".into()
    }
}

fn server_config() -> Arc<ServerConfig> {
    let store = MemoryStore::new().with_password("tim", "example.org", "tanstaaftanstaaf");
    Arc::new(
        ServerConfig::builder("imap", "mail.example.org")
            .user_realm("example.org")
            .store(Arc::new(store))
            .random(Arc::new(SameNonce))
            .build()
            .unwrap(),
    )
}

fn client_config() -> Arc<ClientConfig> {
    Arc::new(
        ClientConfig::new(
            "imap",
            "mail.example.org",
            Arc::new(Credentials::new("tim", "tanstaaftanstaaf")),
        )
        .with_mechanisms([MECH])
        .unwrap(),
    )
}

fn props(min_ssf: u32, max_ssf: u32) -> SecurityProperties {
    SecurityProperties {
        min_ssf,
        max_ssf,
        ..SecurityProperties::default()
    }
}

/// A server's challenge and a client's response to it, for replaying one side.
fn transcript() -> (Vec<u8>, Vec<u8>) {
    let mut server = ServerSession::new(server_config());
    let mut client = ClientSession::new(client_config());
    client.start(MECH).unwrap();
    let ServerStep::Continue(challenge) = server.start(MECH, None).unwrap() else {
        panic!()
    };
    let ClientStep::Continue(response) = client.step(&challenge).unwrap() else {
        panic!()
    };
    (challenge, response)
}

/// An authenticated pair with the layer `(min, max)` selects.
fn pair(min: u32, max: u32) -> (ServerSession, ClientSession) {
    let mut server = ServerSession::new(server_config());
    let mut client = ClientSession::new(client_config());
    client.set_security_properties(props(min, max));
    client.start(MECH).unwrap();
    let ServerStep::Continue(challenge) = server.start(MECH, None).unwrap() else {
        panic!()
    };
    let ClientStep::Continue(response) = client.step(&challenge).unwrap() else {
        panic!()
    };
    let ServerStep::Done {
        additional_data, ..
    } = server.step(&response).unwrap()
    else {
        panic!()
    };
    client.step(&additional_data.unwrap()).unwrap();
    (server, client)
}

fn exchange(c: &mut Criterion) {
    let config = server_config();
    let (_, response) = transcript();
    // The server side: challenge, then verifying the recorded response (same nonce).
    c.bench_function("digest_md5/server_exchange", |b| {
        b.iter(|| {
            let mut server = ServerSession::new(config.clone());
            black_box(server.start(MECH, None).unwrap());
            let done = server.step(black_box(&response)).unwrap();
            assert!(matches!(done, ServerStep::Done { .. }));
        })
    });
    let client_config = client_config();
    let (challenge, _) = transcript();
    c.bench_function("digest_md5/client_exchange", |b| {
        b.iter(|| {
            let mut client = ClientSession::new(client_config.clone());
            client.start(MECH).unwrap();
            black_box(client.step(black_box(&challenge)).unwrap());
        })
    });
    c.bench_function("digest_md5/full_exchange_in_memory", |b| {
        b.iter(|| black_box(pair(0, 0)))
    });
}

fn layers(c: &mut Criterion) {
    let size = 16 * 1024;
    let data = vec![0x5au8; size];
    let mut group = c.benchmark_group("digest_md5/layer");
    group.throughput(Throughput::Bytes(size as u64));
    for (name, min, max) in [
        ("auth-int", 1, 1),
        ("rc4-40", 40, 40),
        ("rc4-56", 56, 56),
        ("rc4", 128, 128),
        ("des", 55, 55),
        ("3des", 112, 112),
    ] {
        let (_server, mut client) = pair(min, max);
        group.bench_function(format!("{name}/encode"), |b| {
            b.iter(|| black_box(client.encode(black_box(&data)).unwrap()))
        });
        // Packets must be decoded in sequence, so a fresh pair (the encode run above moved
        // the client's sequence number on): iter_batched encodes a batch first, then decodes
        // it in the same order.
        let (mut server, mut client) = pair(min, max);
        group.bench_function(format!("{name}/decode"), |b| {
            b.iter_batched(
                || client.encode(&data).unwrap(),
                |packet| black_box(server.decode(&packet).unwrap()),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(300))
        .measurement_time(std::time::Duration::from_secs(1));
    targets = exchange, layers
}
criterion_main!(benches);
