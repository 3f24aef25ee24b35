//! Fuzz bodies for what the library reads from files, databases and daemons: `<app>.conf`,
//! the sasldb2 writer, the stored-secret formats, SQL templates and authdaemond replies.

use std::collections::BTreeMap;

use hmac::{Hmac, KeyInit, Mac};
use md5::Md5;

use super::messages;
use crate::config::Config;
use crate::credentials::PasswordCheck;
use crate::keys::StoredKeys;
use crate::keys::cram_md5::{cram_md5_secret, digest_from_secret};
use crate::pwcheck::authdaemond::verdict;
use crate::sasldb::bdb_hash::{HashDb, WriteOptions, write};
use crate::sql::template::{Bindings, Dialect, Escape, Piece, Template};

/// The `<app>.conf` reader: deterministic, and what it reads survives being written out as
/// `key: value` lines and read again.
pub fn config_parse(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(config) = Config::parse(&text) else {
        return;
    };
    let mut written = String::new();
    for (key, value) in config.options() {
        assert!(
            !key.is_empty() && !value.is_empty(),
            "an empty key or value"
        );
        assert!(!value.contains('\n'), "a value spans lines");
        written.push_str(&format!("{key}: {value}\n"));
    }
    let Ok(again) = Config::parse(&written) else {
        panic!("written configuration does not parse: {written:?}");
    };
    assert!(
        again.options().eq(config.options()),
        "configuration does not round-trip"
    );
}

/// The sasldb2 writer on arbitrary keys and values (messages alternate key, value; a value's
/// first byte can repeat it to overflow-page sizes): whatever it writes, the reader finds
/// every pair again and no other.
pub fn sasldb_writer(data: &[u8]) {
    let parts = messages(data, 512);
    let mut pairs: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    for pair in parts.chunks(2) {
        let key = pair.first().copied().unwrap_or_default();
        let value = pair.get(1).copied().unwrap_or_default();
        let repeat = value.first().map_or(1, |&b| usize::from(b % 16) * 64 + 1);
        let value = value.repeat(repeat.min(4096 / value.len().max(1)).max(1));
        if !key.is_empty() {
            pairs.insert(key.to_vec(), value); // the last value of a key wins
        }
    }
    let list: Vec<(&[u8], &[u8])> = pairs
        .iter()
        .map(|(k, v)| (k.as_slice(), v.as_slice()))
        .collect();
    let Ok(file) = write(&list, &WriteOptions::new([0x5a; 20])) else {
        return; // refused (too large); nothing written
    };
    let Ok(db) = HashDb::parse(file) else {
        panic!("writer output does not parse");
    };
    for (key, value) in &list {
        match db.get(key) {
            Ok(Some(found)) => assert!(found.as_slice() == *value, "wrong value read back"),
            _ => panic!("a written key is missing"),
        }
    }
    match db.pairs() {
        Ok(read) => assert_eq!(read.len(), list.len(), "pairs appeared or vanished"),
        Err(error) => panic!("written file does not list: {error}"),
    }
}

/// The stored-secret formats: RFC 5803 `authPassword` SCRAM keys round-trip through their
/// writer; Cyrus's CRAM-MD5 pad states are accepted only at 32 bytes, and the states of a key
/// give the HMAC-MD5 of that key (computed here independently).
pub fn stored_secrets(data: &[u8]) {
    if let Some(keys) = StoredKeys::from_rfc5803(data) {
        let text = keys.to_rfc5803();
        let Some(again) = StoredKeys::from_rfc5803(text.as_bytes()) else {
            panic!("written authPassword does not parse: {text}");
        };
        assert!(
            again.hash == keys.hash
                && again.iterations == keys.iterations
                && again.salt == keys.salt
                && again.stored_key.expose() == keys.stored_key.expose()
                && again.server_key.expose() == keys.server_key.expose(),
            "authPassword does not round-trip"
        );
    }
    let (secret, challenge) = data.split_at(data.len().min(32));
    assert_eq!(
        digest_from_secret(secret, challenge).is_some(),
        secret.len() == 32,
        "pad states of the wrong length"
    );
    let (key, challenge) = data.split_at(
        data.len()
            .min(usize::from(data.first().copied().unwrap_or(0))),
    );
    let states = cram_md5_secret(key);
    let mut mac = <Hmac<Md5> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| panic!("HMAC takes any key"));
    mac.update(challenge);
    let expected: [u8; 16] = mac.finalize().into_bytes().into();
    assert_eq!(
        digest_from_secret(&states, challenge),
        Some(expected),
        "CRAM-MD5 pad states disagree with HMAC-MD5"
    );
}

/// User, realm and value that must never reach SQL text: each holds every character that
/// could end a literal or start a comment, and a marker.
const HOSTILE: [&str; 3] = [
    "u'\"\\`;--/*%INJECT-USER",
    "r')) OR 1=1 -- %INJECT-REALM",
    "v\\'; DROP TABLE x; --INJECT-VALUE",
];

/// The SQL template parser, per dialect (first byte): a template it accepts yields statement
/// text that depends only on the property, never on the user, realm or value (they travel
/// as bound parameters, carried verbatim), with one placeholder per parameter.
pub fn sql_template(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let dialect = [Dialect::Postgres, Dialect::Mysql, Dialect::Sqlite][usize::from(selector % 3)];
    let text = String::from_utf8_lossy(rest);
    let Ok(template) = Template::parse(&text, dialect) else {
        return;
    };
    for property in ["userPassword", "*cmusaslsecretPLAIN", "bad'prop"] {
        let Some(statement) = template.statement(property) else {
            assert!(
                template.has_raw_property(),
                "a statement refused without raw %p"
            );
            continue;
        };
        // The text comes from the template and the property alone (`statement` never sees
        // the user, realm or value): asking again gives the same text.
        assert_eq!(
            template.statement(property).map(|again| again.text),
            Some(statement.text.clone()),
            "statement text not deterministic"
        );
        let placeholders = match dialect {
            Dialect::Postgres | Dialect::Sqlite => (1..=statement.parameters.len()).all(|n| {
                let mark = if dialect == Dialect::Postgres {
                    "$"
                } else {
                    "?"
                };
                statement.text.contains(&format!("{mark}{n}"))
            }),
            Dialect::Mysql => statement.text.matches('?').count() >= statement.parameters.len(),
        };
        assert!(placeholders, "a parameter without its placeholder");
        let bindings = Bindings {
            user: HOSTILE[0],
            realm: HOSTILE[1],
            property,
            value: Some(HOSTILE[2].as_bytes()),
        };
        let values = statement.values(&bindings);
        assert_eq!(values.len(), statement.parameters.len());
        // Each bound value carries the hostile bytes verbatim: bound, not escaped or cut.
        for (pieces, value) in statement.parameters.iter().zip(&values) {
            let Some(value) = value else {
                panic!("a parameter became NULL with a value given");
            };
            for (escape, hostile) in [
                (Escape::User, HOSTILE[0]),
                (Escape::Realm, HOSTILE[1]),
                (Escape::Value, HOSTILE[2]),
            ] {
                if pieces.contains(&Piece::Escape(escape)) {
                    assert!(
                        value
                            .windows(hostile.len())
                            .any(|window| window == hostile.as_bytes()),
                        "a bound value was altered"
                    );
                }
            }
        }
    }
}

/// The authdaemond reply reader: the verdict does not depend on how the reply was split
/// into reads, and is the first line that is exactly `.` or `FAIL` (found here
/// independently).
pub fn authdaemond_reply(data: &[u8]) {
    let Some((&split, reply)) = data.split_first() else {
        return;
    };
    let expected = reply.split(|&b| b == b'\n').find_map(|line| match line {
        b"." => Some(PasswordCheck::Match),
        b"FAIL" => Some(PasswordCheck::Mismatch),
        _ => None,
    });
    let whole = verdict(reply, &mut 0, true);
    assert_eq!(whole, expected, "wrong verdict");
    // Fed in chunks of `split` bytes, as reads return them.
    let chunk = usize::from(split).max(1);
    let mut scanned = 0;
    let mut found = None;
    let mut end = 0;
    while found.is_none() && end < reply.len() {
        end = (end + chunk).min(reply.len());
        found = verdict(reply.get(..end).unwrap_or_default(), &mut scanned, false);
    }
    if found.is_none() {
        found = verdict(reply, &mut scanned, true);
    }
    assert_eq!(found, expected, "the verdict depends on the reads");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::ScramHash;

    /// Seeds for `stored_secrets`: an RFC 5803 value per hash, and CRAM-MD5 pad states with a
    /// challenge; with `PURESASL_WRITE_CORPUS` set, written to `fuzz/corpus/stored_secrets/`.
    #[test]
    fn stored_secret_seeds_parse() {
        let mut seeds = Vec::new();
        for hash in ScramHash::ALL {
            let keys = StoredKeys::derive(hash, b"pencil", b"salt-of-sixteen!", 4096);
            let text = keys.to_rfc5803();
            assert!(StoredKeys::from_rfc5803(text.as_bytes()).is_some());
            seeds.push((
                format!("rfc5803-{}", hash.mechanism_name()),
                text.into_bytes(),
            ));
        }
        let states = cram_md5_secret(b"pencil");
        seeds.push((
            "cram-md5-states".to_owned(),
            [&states[..], b"<1896.697170952@postoffice.example.net>"].concat(),
        ));
        for (_, seed) in &seeds {
            stored_secrets(seed);
        }
        if std::env::var_os("PURESASL_WRITE_CORPUS").is_some() {
            let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/corpus/stored_secrets");
            std::fs::create_dir_all(dir).unwrap();
            for (name, seed) in &seeds {
                std::fs::write(format!("{dir}/{name}"), seed).unwrap();
            }
        }
    }
}
