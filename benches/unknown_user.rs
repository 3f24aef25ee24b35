//! What a wrong password and an unknown user cost, side by side, per mechanism and per kind of
//! store: the two columns of each pair should match (the security promise "same work, same
//! reply"). A benchmark, not a test: timing assertions do not belong in tests.
//!
//! Run with `cargo bench --bench unknown_user`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use puresasl::credentials::{PasswordPolicy, set_password};
use puresasl::{Auxprop as _, FixedRandom, MemoryStore, ServerConfig, ServerSession};

fn config(keep_plaintext: bool) -> Arc<ServerConfig> {
    let store = MemoryStore::new();
    let policy = PasswordPolicy {
        keep_plaintext,
        ..PasswordPolicy::default()
    };
    if keep_plaintext {
        // Plaintext only, as `saslpasswd2` writes it.
        let _ = store.store(
            "tim",
            "example.org",
            puresasl::auxprop::property::USER_PASSWORD,
            &[puresasl::Secret::from("tanstaaftanstaaf")],
        );
    } else {
        set_password(
            &store,
            "tim",
            "example.org",
            b"tanstaaftanstaaf",
            &policy,
            &FixedRandom::new(1),
        )
        .unwrap();
    }
    Arc::new(
        ServerConfig::builder("imap", "example.org")
            .store(Arc::new(store))
            .build()
            .unwrap(),
    )
}

fn unknown_vs_known(c: &mut Criterion) {
    for (store, plaintext) in [("plaintext", true), ("keys-only", false)] {
        let config = config(plaintext);
        for user in ["tim", "nobody"] {
            let plain = format!("\0{user}\0wrong password");
            c.bench_function(&format!("PLAIN {store} store, {user}"), |b| {
                b.iter(|| {
                    let mut server = ServerSession::new(config.clone());
                    black_box(server.start("PLAIN", Some(plain.as_bytes())).is_err())
                })
            });
            let first = format!("n,,n={user},r=clientnonce");
            c.bench_function(
                &format!("SCRAM-SHA-256 client-first {store} store, {user}"),
                |b| {
                    b.iter(|| {
                        let mut server = ServerSession::new(config.clone());
                        black_box(
                            server
                                .start("SCRAM-SHA-256", Some(first.as_bytes()))
                                .is_ok(),
                        )
                    })
                },
            );
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = unknown_vs_known
}
criterion_main!(benches);
