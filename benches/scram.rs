//! SCRAM costs, each beside its crypto floor: the raw cost (straight `hmac`, `sha2`,
//! `sha1` and `pbkdf2` calls) of exactly the hash work the step must do, so the overhead of
//! our parsing, state handling and allocation shows as a ratio.
//!
//! - `server_stored_keys`: the server's client-final step with RFC 5803 stored keys.
//!   Floor: ClientSignature = HMAC(StoredKey, AuthMessage), H(ClientKey) and
//!   ServerSignature = HMAC(ServerKey, AuthMessage).
//! - `server_plaintext`: the whole server exchange when only `userPassword` is stored.
//!   Floor: PBKDF2, HMAC "Client Key", HMAC "Server Key", H(ClientKey), then the above.
//! - `client`: the whole client exchange. Floor: the same work as `server_plaintext`.
//!
//! Run briefly with `cargo bench --bench scram -- --quick`.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use digest::Digest;
use hmac::{EagerHash, Hmac, KeyInit, Mac};
use puresasl::auxprop::property;
use puresasl::*;

const REALM: &str = "example.org";
const CLIENT_NONCE: &str = "rOprNGfwEbeRWgbNEkqOrOpr";
const SERVER_NONCE: &str = "hvYDpWUa2RaTCAfuxFIljhNl";

/// One recorded exchange: the four messages and the keys behind them.
struct Recorded {
    mechanism: &'static str,
    c1: Vec<u8>,
    s1: Vec<u8>,
    c2: Vec<u8>,
    s2: Vec<u8>,
    keys: StoredKeys,
}

fn server_config(store: Arc<MemoryStore>, nonce: &str) -> Arc<ServerConfig> {
    Arc::new(
        ServerConfig::builder("imap", "mail.example.org")
            .user_realm(REALM)
            .store(store)
            .random(Arc::new(FixedRandom::with_nonces([nonce])))
            .server_secret(Secret::from("bench secret"))
            .build()
            .unwrap(),
    )
}

fn client_config() -> Arc<ClientConfig> {
    Arc::new(
        ClientConfig::new(
            "imap",
            "mail.example.org",
            Arc::new(Credentials::new("user", "pencil")),
        )
        .with_random(Arc::new(FixedRandom::with_nonces([CLIENT_NONCE]))),
    )
}

fn stored_store(keys: &StoredKeys) -> Arc<MemoryStore> {
    let store = MemoryStore::new();
    store.set(
        "user",
        REALM,
        &property::mechanism_secret(keys.hash.mechanism_name()),
        vec![Secret::from(keys.to_rfc5803())],
    );
    Arc::new(store)
}

fn record(hash: ScramHash) -> Recorded {
    let mechanism = hash.mechanism_name();
    let keys = StoredKeys::derive(hash, b"pencil", b"sixteen byte salt", 4096);
    let mut server = ServerSession::new(server_config(stored_store(&keys), SERVER_NONCE));
    let mut client = ClientSession::new(client_config());
    let c1 = client.start(mechanism).unwrap().initial_response.unwrap();
    let ServerStep::Continue(s1) = server.start(mechanism, Some(&c1)).unwrap() else {
        panic!()
    };
    let ClientStep::Continue(c2) = client.step(&s1).unwrap() else {
        panic!()
    };
    let ServerStep::Done {
        additional_data: Some(s2),
        ..
    } = server.step(&c2).unwrap()
    else {
        panic!()
    };
    assert_eq!(client.step(&s2).unwrap(), ClientStep::Done(None));
    Recorded {
        mechanism,
        c1,
        s1,
        c2,
        s2,
        keys,
    }
}

fn hmac<D: EagerHash>(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = <Hmac<D> as KeyInit>::new_from_slice(key).unwrap();
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

/// The AuthMessage of a recorded exchange.
fn auth_message(r: &Recorded) -> Vec<u8> {
    let c2 = std::str::from_utf8(&r.c2).unwrap();
    let without_proof = c2.rsplit_once(",p=").unwrap().0;
    let bare = std::str::from_utf8(&r.c1)
        .unwrap()
        .strip_prefix("n,,")
        .unwrap();
    [bare.as_bytes(), &r.s1, without_proof.as_bytes()].join(&b","[..])
}

/// Floor of stored-key verification: two HMACs over the AuthMessage and one hash.
fn floor_verify<D: EagerHash + Digest>(stored: &[u8], server: &[u8], am: &[u8], proof: &[u8]) {
    let signature = hmac::<D>(stored, &[am]);
    let client_key: Vec<u8> = proof.iter().zip(&signature).map(|(a, b)| a ^ b).collect();
    black_box(<D as Digest>::digest(&client_key));
    black_box(hmac::<D>(server, &[am]));
}

/// Floor of a whole exchange from the password: PBKDF2, the key HMACs, then verification.
fn floor_full<D: EagerHash + Digest + Clone + Sync>(salt: &[u8], am: &[u8]) {
    let mut salted = vec![0u8; <D as Digest>::output_size()];
    pbkdf2::pbkdf2_hmac::<D>(b"pencil", salt, 4096, &mut salted);
    let client_key = hmac::<D>(&salted, &[b"Client Key"]);
    let stored = <D as Digest>::digest(&client_key).to_vec();
    let server = hmac::<D>(&salted, &[b"Server Key"]);
    floor_verify::<D>(&stored, &server, am, &client_key);
}

fn bench_hash<D: EagerHash + Digest + Clone + Sync>(c: &mut Criterion, hash: ScramHash) {
    let r = record(hash);
    let am = auth_message(&r);
    let proof = vec![0x5au8; hash.output_len()];
    let name = r.mechanism;
    let mut group = c.benchmark_group(name);

    // Server, stored keys: the client-final step only.
    let store = stored_store(&r.keys);
    group.bench_function("server_stored_keys", |b| {
        b.iter_batched(
            || {
                let mut server = ServerSession::new(server_config(store.clone(), SERVER_NONCE));
                server.start(name, Some(&r.c1)).unwrap();
                server
            },
            // Returned, so criterion drops the session outside the timed region.
            |mut server| {
                let step = server.step(black_box(&r.c2)).unwrap();
                assert!(matches!(step, ServerStep::Done { .. }));
                server
            },
            BatchSize::SmallInput,
        );
    });
    group.bench_function("floor_server_stored_keys", |b| {
        b.iter(|| {
            floor_verify::<D>(
                r.keys.stored_key.expose(),
                r.keys.server_key.expose(),
                black_box(&am),
                &proof,
            );
        });
    });

    // Server, plaintext password: the whole exchange (keys derived at client-first).
    let plain = Arc::new(MemoryStore::new().with_password("user", REALM, "pencil"));
    let config = server_config(plain.clone(), SERVER_NONCE);
    let mut client = ClientSession::new(client_config());
    let c1 = client.start(name).unwrap().initial_response.unwrap();
    let mut server = ServerSession::new(config);
    let ServerStep::Continue(s1) = server.start(name, Some(&c1)).unwrap() else {
        panic!()
    };
    let ClientStep::Continue(c2) = client.step(&s1).unwrap() else {
        panic!()
    };
    group.bench_function("server_plaintext", |b| {
        b.iter_batched(
            || ServerSession::new(server_config(plain.clone(), SERVER_NONCE)),
            |mut server| {
                server.start(name, Some(black_box(&c1))).unwrap();
                let step = server.step(black_box(&c2)).unwrap();
                assert!(matches!(step, ServerStep::Done { .. }));
                server
            },
            BatchSize::SmallInput,
        );
    });
    group.bench_function("floor_full_exchange", |b| {
        b.iter(|| floor_full::<D>(black_box(b"sixteen byte salt"), black_box(&am)));
    });

    // Client: the whole exchange with PBKDF2.
    group.bench_function("client", |b| {
        b.iter_batched(
            || ClientSession::new(client_config()),
            |mut client| {
                client.start(name).unwrap();
                client.step(black_box(&r.s1)).unwrap();
                let done = client.step(black_box(&r.s2)).unwrap();
                assert_eq!(done, ClientStep::Done(None));
                client
            },
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

fn scram(c: &mut Criterion) {
    bench_hash::<sha1::Sha1>(c, ScramHash::Sha1);
    bench_hash::<sha2::Sha256>(c, ScramHash::Sha256);
    bench_hash::<sha2::Sha512>(c, ScramHash::Sha512);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20);
    targets = scram
}
criterion_main!(benches);
