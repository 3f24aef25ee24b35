//! Lookups in a 10,000-user sasldb2 file written by our writer: through the raw reader, and
//! through `SasldbStore` (which also stats the file to notice updates).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use puresasl::auxprop::{Auxprop as _, property};
use puresasl::sasldb::SasldbStore;
use puresasl::unstable::bdb_hash::HashDb;

const USERS: usize = 10_000;

fn lookups(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("puresasl-bench-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("sasldb2");
    let store = SasldbStore::new(&path);
    let written = store.edit(|edit| {
        for i in 0..USERS {
            let key =
                puresasl::sasldb::key(&format!("user{i}"), "example.org", property::USER_PASSWORD)?;
            edit.set_raw(key, Some(format!("password{i}").as_bytes()));
        }
        Ok(())
    });
    if let Err(error) = written {
        eprintln!("cannot write the bench file: {error}");
        return;
    }
    let db = match std::fs::read(&path).map(HashDb::parse) {
        Ok(Ok(db)) => db,
        _ => return,
    };
    let keys: Vec<Vec<u8>> = (0..USERS)
        .step_by(37)
        .filter_map(|i| {
            puresasl::sasldb::key(&format!("user{i}"), "example.org", property::USER_PASSWORD).ok()
        })
        .collect();
    let mut next = 0;
    c.bench_function("sasldb/hashdb_get_10000_users", |b| {
        b.iter(|| {
            next = (next + 1) % keys.len();
            black_box(db.get(black_box(&keys[next])).ok())
        })
    });
    let mut i = 0;
    c.bench_function("sasldb/store_lookup_10000_users", |b| {
        b.iter(|| {
            i = (i + 37) % USERS;
            black_box(
                store
                    .lookup(&format!("user{i}"), "example.org", property::USER_PASSWORD)
                    .ok(),
            )
        })
    });
    c.bench_function("sasldb/store_lookup_unknown_user", |b| {
        b.iter(|| {
            black_box(
                store
                    .lookup("nobody", "example.org", property::USER_PASSWORD)
                    .ok(),
            )
        })
    });
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, lookups);
criterion_main!(benches);
