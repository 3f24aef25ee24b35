//! Whether a failed login's user exists, from the lookup the exchange itself made.
//!
//! Cyrus tells the application (never the peer) `SASL_NOUSER` when the user has no
//! credentials, `SASL_BADAUTH` for a wrong password. Every built-in mechanism asks the store
//! for all of a user's credentials in one [`Auxprop::lookup_many`], so what that call found is
//! the answer: asking the store again would cost a second database round trip per failed
//! login, and auxprop plug-ins cannot be asked outside the exchange at all.

use std::sync::{Arc, Mutex, PoisonError};

use puresasl::auxprop::Entry;
use puresasl::{Auxprop, Secret, StoreError};

/// A connection's store, remembering whether its last batch lookup found anything.
pub(crate) struct RememberingStore {
    inner: Arc<dyn Auxprop>,
    last: Mutex<Option<Seen>>,
}

struct Seen {
    user: String,
    realm: String,
    found: bool,
}

impl RememberingStore {
    pub(crate) fn new(inner: Arc<dyn Auxprop>) -> Arc<RememberingStore> {
        Arc::new(RememberingStore {
            inner,
            last: Mutex::new(None),
        })
    }

    /// Whether the last batch lookup of `user` in `realm` found any value; `None` when the
    /// last batch lookup was of someone else (or there was none).
    pub(crate) fn known(&self, user: &str, realm: &str) -> Option<bool> {
        let last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        last.as_ref()
            .filter(|seen| seen.user == user && seen.realm == realm)
            .map(|seen| seen.found)
    }

    fn remember(&self, user: &str, realm: &str, found: bool) {
        *self.last.lock().unwrap_or_else(PoisonError::into_inner) = Some(Seen {
            user: user.to_owned(),
            realm: realm.to_owned(),
            found,
        });
    }
}

impl Auxprop for RememberingStore {
    fn lookup(&self, user: &str, realm: &str, property: &str) -> Result<Vec<Secret>, StoreError> {
        self.inner.lookup(user, realm, property)
    }

    fn lookup_many(
        &self,
        user: &str,
        realm: &str,
        properties: &[&str],
    ) -> Result<Vec<Vec<Secret>>, StoreError> {
        let result = self.inner.lookup_many(user, realm, properties);
        match &result {
            Ok(values) => self.remember(user, realm, values.iter().any(|v| !v.is_empty())),
            // A store that failed knows nothing: the failure, not the name, is the answer.
            Err(_) => *self.last.lock().unwrap_or_else(PoisonError::into_inner) = None,
        }
        result
    }

    fn store(
        &self,
        user: &str,
        realm: &str,
        property: &str,
        values: &[Secret],
    ) -> Result<(), StoreError> {
        self.inner.store(user, realm, property, values)
    }

    fn store_many(
        &self,
        user: &str,
        realm: &str,
        changes: &[(String, Vec<Secret>)],
    ) -> Result<(), StoreError> {
        self.inner.store_many(user, realm, changes)
    }

    fn entries(&self) -> Result<Vec<Entry>, StoreError> {
        self.inner.entries()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use puresasl::MemoryStore;

    #[test]
    fn remembers_the_last_batch_of_the_same_user_only() {
        let store = MemoryStore::new();
        store
            .store(
                "alice",
                "example",
                "userPassword",
                &[Secret::new(b"pw".to_vec())],
            )
            .unwrap();
        let remembering = RememberingStore::new(Arc::new(store));
        assert_eq!(remembering.known("alice", "example"), None);
        remembering
            .lookup_many("alice", "example", &["userPassword", "x"])
            .unwrap();
        assert_eq!(remembering.known("alice", "example"), Some(true));
        assert_eq!(remembering.known("alice", "other"), None);
        remembering
            .lookup_many("bob", "example", &["userPassword"])
            .unwrap();
        assert_eq!(remembering.known("bob", "example"), Some(false));
        assert_eq!(remembering.known("alice", "example"), None);
    }
}
