//! Concurrent sessions on one shared `ServerConfig` and one store: the library's promise is
//! that a config (and its store, decoys and randomness) may serve any number of threads.
//! Also the Rust half of the ThreadSanitizer run (`scripts/tsan.sh`).

use std::sync::Arc;

use puresasl::auxprop::property;
use puresasl::sasldb::SasldbStore;
use puresasl::{
    Auxprop, ClientSession, Credentials, MemoryStore, OsRandom, Secret, ServerConfig, ServerSession,
};

use crate::interop::scratch;
use crate::pair::{client_config, run};

const MECHANISMS: [&str; 5] = ["SCRAM-SHA-256", "DIGEST-MD5", "CRAM-MD5", "PLAIN", "LOGIN"];
const THREADS: usize = 4;
const ROUNDS: usize = 6;

fn shared_config(store: Arc<dyn Auxprop>) -> Arc<ServerConfig> {
    Arc::new(
        ServerConfig::builder("imap", "mail.example.org")
            .user_realm("example.org")
            .store(store)
            .mechanisms(MECHANISMS)
            .random(Arc::new(OsRandom))
            .scram_iterations(4096)
            .build()
            .unwrap(),
    )
}

/// Every thread logs in with every mechanism, right and wrong passwords and unknown users
/// interleaved, all through the same config; each verdict is the one a lone session gets.
fn hammer(config: &Arc<ServerConfig>) {
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let config = Arc::clone(config);
            scope.spawn(move || {
                for round in 0..ROUNDS {
                    let mechanism = MECHANISMS[(thread + round) % MECHANISMS.len()];
                    let (user, password, expected) = match (thread + round) % 3 {
                        0 => ("tim", "tanstaaftanstaaf", true),
                        1 => ("tim", "wrong", false),
                        _ => (format!("nobody{thread}").leak() as &str, "x", false),
                    };
                    let mut server = ServerSession::new(Arc::clone(&config));
                    let mut client = ClientSession::new(client_config(
                        mechanism,
                        Credentials::new(user, password),
                    ));
                    let outcome = run(&mut server, &mut client, round % 2 == 0);
                    assert_eq!(
                        outcome.result.is_ok(),
                        expected,
                        "{mechanism} {user}: {:?}",
                        outcome.result
                    );
                }
            });
        }
    });
}

#[test]
fn sessions_share_one_config_and_memory_store_across_threads() {
    let store = MemoryStore::new().with_password("tim", "example.org", "tanstaaftanstaaf");
    hammer(&shared_config(Arc::new(store)));
}

#[test]
fn sessions_share_one_config_and_sasldb_store_across_threads() {
    let dir = scratch("concurrency");
    let path = dir.join("sasldb2");
    let _ = std::fs::remove_file(&path);
    let store = SasldbStore::new(&path);
    store
        .store(
            "tim",
            "example.org",
            property::USER_PASSWORD,
            &[Secret::from("tanstaaftanstaaf")],
        )
        .unwrap();
    hammer(&shared_config(Arc::new(store)));
    let _ = std::fs::remove_dir_all(&dir);
}
