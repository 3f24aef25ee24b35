//! Credential lookup by property name, the way Cyrus auxprop plugins work.
//!
//! A store answers "what are the values of property `P` of user `U` in realm `R`?". The names
//! are Cyrus's, so the C `prop_*` API, an SQL `%p` template and the sasldb2 file all speak the
//! same language:
//!
//! | property | holds | written by |
//! |---|---|---|
//! | `userPassword` | the plaintext password | `saslpasswd2` without `-n` |
//! | `authPassword` | SCRAM stored keys, RFC 5803 text form, for SCRAM-SHA-1 | Cyrus with `scram_secret_generate` |
//! | `cmusaslsecretSCRAM-SHA-256` (and the other hashes) | SCRAM stored keys for that hash, RFC 5803 text form | our tool |
//! | `cmusaslsecretDIGEST-MD5` | DIGEST-MD5 `H(user:realm:password)`, 16 raw bytes | our tool with `-n` |
//! | `cmusaslsecretCRAM-MD5` | CRAM-MD5 HMAC-MD5 pad states | our tool with `-n` |
//!
//! Mechanisms do not read properties directly; they go through the typed view in
//! [`crate::credentials`].

use std::collections::BTreeMap;
use std::sync::RwLock;

use crate::error::StoreError;
use crate::secret::Secret;

/// Well-known property names.
pub mod property {
    /// The plaintext password.
    pub const USER_PASSWORD: &str = "userPassword";
    /// SCRAM stored keys in RFC 5803 text form (`SCRAM-SHA-1$<iter>:<salt>$<StoredKey>:<ServerKey>`).
    pub const AUTH_PASSWORD: &str = "authPassword";
    /// The prefix of Cyrus's per-mechanism secrets (`cmusaslsecret<MECHANISM>`).
    pub const MECHANISM_SECRET_PREFIX: &str = "cmusaslsecret";
    /// The CRAM-MD5 secret (HMAC-MD5 inner and outer pad states).
    pub const CRAM_MD5_SECRET: &str = "cmusaslsecretCRAM-MD5";
    /// The DIGEST-MD5 secret (`MD5(user:realm:password)`).
    pub const DIGEST_MD5_SECRET: &str = "cmusaslsecretDIGEST-MD5";

    /// Every property a login may read, in the order [`crate::credentials::CredentialView`]
    /// asks for them in its single [`lookup_many`](super::Auxprop::lookup_many): the
    /// plaintext, the SCRAM keys (strongest hash first, then `authPassword`), the DIGEST-MD5
    /// and CRAM-MD5 secrets.
    pub const CREDENTIALS: [&str; 9] = [
        USER_PASSWORD,
        "cmusaslsecretSCRAM-SHA-512",
        "cmusaslsecretSCRAM-SHA-384",
        "cmusaslsecretSCRAM-SHA-256",
        "cmusaslsecretSCRAM-SHA-224",
        "cmusaslsecretSCRAM-SHA-1",
        AUTH_PASSWORD,
        DIGEST_MD5_SECRET,
        CRAM_MD5_SECRET,
    ];

    /// The per-mechanism secret property of `mechanism` (`cmusaslsecret<MECHANISM>`).
    pub fn mechanism_secret(mechanism: &str) -> String {
        format!("{MECHANISM_SECRET_PREFIX}{mechanism}")
    }
}

/// A credential store: named properties of users in realms.
///
/// Implementations: [`MemoryStore`] here, the sasldb2 file store, and in the C library
/// adapters for application callbacks.
pub trait Auxprop: Send + Sync {
    /// The values of `property` for `user` in `realm`; empty if the user or the property does
    /// not exist. An error means the store itself failed.
    fn lookup(&self, user: &str, realm: &str, property: &str) -> Result<Vec<Secret>, StoreError>;

    /// The values of each of `properties` for `user` in `realm`, in the same order, as
    /// [`lookup`](Self::lookup) gives them, in one call. A login asks for everything it may
    /// need at once, so a known and an unknown user cost the same single call; stores with a
    /// per-call cost (a database round trip, a file check) override this. The default asks
    /// [`lookup`](Self::lookup) for each property in turn.
    fn lookup_many(
        &self,
        user: &str,
        realm: &str,
        properties: &[&str],
    ) -> Result<Vec<Vec<Secret>>, StoreError> {
        properties
            .iter()
            .map(|property| self.lookup(user, realm, property))
            .collect()
    }

    /// Replaces the values of `property` for `user` in `realm`; an empty `values` deletes the
    /// property. Stores that cannot be written return [`StoreError::ReadOnly`].
    fn store(
        &self,
        user: &str,
        realm: &str,
        property: &str,
        values: &[Secret],
    ) -> Result<(), StoreError> {
        let _ = (user, realm, property, values);
        Err(StoreError::ReadOnly)
    }

    /// Replaces several properties of `user` in `realm` as [`store`](Self::store) does each:
    /// `changes` pairs a property with its new values (empty deletes). Stores that can apply
    /// them as one update override this (the sasldb2 file: one rewrite, all or nothing, so a
    /// crash never leaves a new password beside old derived secrets); the default stores them
    /// in turn. [`credentials::set_password`](crate::credentials::set_password) writes a user
    /// with one call.
    fn store_many(
        &self,
        user: &str,
        realm: &str,
        changes: &[(String, Vec<Secret>)],
    ) -> Result<(), StoreError> {
        for (property, values) in changes {
            self.store(user, realm, property, values)?;
        }
        Ok(())
    }

    /// Every `(user, realm, property)` the store holds, for listing tools. Stores that cannot
    /// enumerate return [`StoreError::ReadOnly`].
    fn entries(&self) -> Result<Vec<Entry>, StoreError> {
        Err(StoreError::ReadOnly)
    }
}

/// For stores that answer in layers (several stores, plug-ins before a store): asks
/// `store` for the `properties` whose slot in `found` is still empty, in one
/// [`lookup_many`](Auxprop::lookup_many), and fills those slots. Returns whether any property
/// was missing (so the caller can stop early), or the store's error.
pub fn fill_missing(
    store: &dyn Auxprop,
    user: &str,
    realm: &str,
    properties: &[&str],
    found: &mut [Vec<Secret>],
) -> Result<bool, StoreError> {
    let (slots, missing): (Vec<usize>, Vec<&str>) = found
        .iter()
        .zip(properties)
        .enumerate()
        .filter(|(_, (values, _))| values.is_empty())
        .map(|(slot, (_, property))| (slot, *property))
        .unzip();
    if missing.is_empty() {
        return Ok(false);
    }
    let answers = store.lookup_many(user, realm, &missing)?;
    for (slot, values) in slots.into_iter().zip(answers) {
        if let Some(place) = found.get_mut(slot) {
            *place = values;
        }
    }
    Ok(true)
}

/// One `(user, realm, property)` triple of a store, as listed by [`Auxprop::entries`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Entry {
    /// The user name (without realm).
    pub user: String,
    /// The realm.
    pub realm: String,
    /// The property name.
    pub property: String,
}

type Key = (String, String, String);

/// An in-memory store, for tests and for applications that keep credentials themselves.
#[derive(Debug, Default)]
pub struct MemoryStore {
    entries: RwLock<BTreeMap<Key, Vec<Secret>>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `userPassword` of `user` in `realm` (builder style, for tests and examples).
    pub fn with_password(self, user: &str, realm: &str, password: &str) -> Self {
        self.set(
            user,
            realm,
            property::USER_PASSWORD,
            vec![Secret::from(password)],
        );
        self
    }

    /// Replaces the values of a property.
    pub fn set(&self, user: &str, realm: &str, property: &str, values: Vec<Secret>) {
        let key = (user.to_owned(), realm.to_owned(), property.to_owned());
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if values.is_empty() {
            entries.remove(&key);
        } else {
            entries.insert(key, values);
        }
    }
}

impl Auxprop for MemoryStore {
    fn lookup(&self, user: &str, realm: &str, property: &str) -> Result<Vec<Secret>, StoreError> {
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        let key = (user.to_owned(), realm.to_owned(), property.to_owned());
        Ok(entries
            .get(&key)
            .map(|values| values.iter().map(Secret::duplicate).collect())
            .unwrap_or_default())
    }

    fn store(
        &self,
        user: &str,
        realm: &str,
        property: &str,
        values: &[Secret],
    ) -> Result<(), StoreError> {
        self.set(
            user,
            realm,
            property,
            values.iter().map(Secret::duplicate).collect(),
        );
        Ok(())
    }

    fn entries(&self) -> Result<Vec<Entry>, StoreError> {
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        Ok(entries
            .keys()
            .map(|(user, realm, property)| Entry {
                user: user.clone(),
                realm: realm.clone(),
                property: property.clone(),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_store_round_trip() {
        let store = MemoryStore::new().with_password("bob", "example.org", "pw");
        let values = store
            .lookup("bob", "example.org", property::USER_PASSWORD)
            .unwrap_or_default();
        assert_eq!(values.len(), 1);
        assert!(values[0].matches(b"pw"));
        assert!(
            store
                .lookup("bob", "other.org", property::USER_PASSWORD)
                .unwrap_or_default()
                .is_empty()
        );
        assert_eq!(
            store.store("bob", "example.org", property::USER_PASSWORD, &[]),
            Ok(())
        );
        assert_eq!(store.entries().map(|e| e.len()), Ok(0));
    }
}
