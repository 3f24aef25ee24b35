//! Fuzz body for the sasldb2 (Berkeley DB hash) reader.

use std::collections::BTreeMap;

use crate::sasldb::bdb_hash::{HashDb, WriteOptions, write};

/// The reader on arbitrary bytes: never panics, never produces more item bytes than the
/// file holds; whatever it lists, our writer writes back and the reader finds again.
pub fn reader(data: &[u8]) {
    let Ok(db) = HashDb::parse(data) else {
        return;
    };
    let _ = db.get(b"user\0example.org\0userPassword");
    let Ok(pairs) = db.pairs() else {
        return;
    };
    let total: usize = pairs.iter().map(|(k, v)| k.len() + v.len()).sum();
    assert!(total <= data.len(), "items larger than the file");
    for (key, _) in pairs.iter().take(64) {
        let _ = db.get(key);
    }
    // Duplicate keys can only come from a hostile file; the last one wins, as in a store.
    let unique: BTreeMap<&[u8], &[u8]> = pairs
        .iter()
        .map(|(k, v)| (k.as_slice(), v.as_slice()))
        .collect();
    let list: Vec<(&[u8], &[u8])> = unique.iter().map(|(k, v)| (*k, *v)).collect();
    let file = match write(&list, &WriteOptions::new([0x5a; 20])) {
        Ok(file) => file,
        Err(error) => panic!("writer refused pairs read from a file: {error}"),
    };
    let reread = match HashDb::parse(file) {
        Ok(db) => db,
        Err(error) => panic!("writer output does not parse: {error}"),
    };
    for (key, value) in list {
        match reread.get(key) {
            Ok(Some(found)) => assert!(found.as_slice() == value, "wrong value after rewrite"),
            other => panic!(
                "key lost after rewrite: {:?}",
                other.map(|v| v.map(|v| v.len()))
            ),
        }
    }
}
