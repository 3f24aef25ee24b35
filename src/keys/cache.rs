//! A bounded cache of the keys a SCRAM client derives from its password: see
//! [`ScramKeyCache`].

use std::sync::{Mutex, PoisonError};

use zeroize::Zeroizing;

use super::scram::{ClientKeys, ScramHash};
use crate::random::{OsRandom, Random};
use crate::secret::{Secret, digests_equal};

/// Length of an entry's tag (HMAC-SHA-256).
const TAG_LEN: usize = 32;

/// A bounded, thread-safe cache of the keys a SCRAM client derives from its password,
/// shared by the sessions of one client configuration (or more).
///
/// RFC 5802 lets a client keep `ClientKey` and `ServerKey` (or `SaltedPassword`) for later
/// authentications to the same server, which will likely send the same salt and iteration
/// count again: the PBKDF2 derivation, thousands of HMACs and nearly all of a SCRAM client's
/// work, then runs once per password, salt, count and hash instead of once per login.
///
/// What is kept, and how:
///
/// - each entry holds `ClientKey`, `StoredKey` and `ServerKey` (each a [`Secret`], wiped
///   when the entry is evicted or the cache dropped) and a tag: `HMAC-SHA-256` under a
///   random key of this cache over the hash, the iteration count, the salt and the
///   (normalised) password. Finding an entry needs the password itself; the tags say nothing
///   about it without the cache's key, and no password, nor a plain hash of one, is stored;
/// - at most [`capacity`](ScramKeyCache::capacity) entries, the least recently used evicted
///   first, so a server sending a new salt at every login costs a bounded amount of memory;
/// - nothing on the server side: a server that kept keys derived from its users' plaintext
///   passwords would answer faster for users who logged in recently than for unknown ones,
///   telling them apart (see [`crate::credentials::Decoys`]).
///
/// The cache changes what the client sends in no way: the same proof comes out of a hit as
/// out of a derivation.
pub struct ScramKeyCache {
    tag_key: Secret,
    capacity: usize,
    state: Mutex<State>,
}

impl std::fmt::Debug for ScramKeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScramKeyCache")
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct State {
    entries: Vec<Entry>,
    /// Counts uses, to find the least recently used entry.
    clock: u64,
}

struct Entry {
    tag: Zeroizing<[u8; TAG_LEN]>,
    keys: ClientKeys,
    used: u64,
}

impl ScramKeyCache {
    /// The number of entries [`new`](Self::new) keeps: a client talks to few servers.
    pub const DEFAULT_CAPACITY: usize = 16;

    /// An empty cache of [`DEFAULT_CAPACITY`](Self::DEFAULT_CAPACITY) entries, its tag key
    /// from the OS.
    pub fn new() -> Self {
        ScramKeyCache::with_capacity(Self::DEFAULT_CAPACITY, &OsRandom)
    }

    /// An empty cache of at most `capacity` entries (none: every login derives), its tag key
    /// drawn from `random`.
    pub fn with_capacity(capacity: usize, random: &dyn Random) -> Self {
        let mut tag_key = vec![0u8; TAG_LEN];
        random.fill(&mut tag_key);
        ScramKeyCache {
            tag_key: Secret::new(tag_key),
            capacity,
            state: Mutex::new(State::default()),
        }
    }

    /// The most entries kept.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The entries kept now.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether no entry is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops (and wipes) every entry.
    pub fn clear(&self) {
        self.lock().entries.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn tag(
        &self,
        hash: ScramHash,
        password: &[u8],
        salt: &[u8],
        iterations: u32,
    ) -> Zeroizing<[u8; TAG_LEN]> {
        let salt_len = u64::try_from(salt.len()).unwrap_or(u64::MAX).to_be_bytes();
        let mac = Zeroizing::new(ScramHash::Sha256.hmac(
            self.tag_key.expose(),
            &[
                b"puresasl SCRAM client keys\0",
                hash.mechanism_name().as_bytes(),
                b"\0",
                &iterations.to_be_bytes(),
                &salt_len,
                salt,
                password,
            ],
        ));
        let mut tag = Zeroizing::new([0u8; TAG_LEN]);
        for (byte, mac_byte) in tag.iter_mut().zip(mac.iter()) {
            *byte = *mac_byte;
        }
        tag
    }

    /// The keys `password` (already normalised) gives with `salt` and `iterations`: kept
    /// ones, else derived (no lock held meanwhile) and kept.
    pub(crate) fn client_keys(
        &self,
        hash: ScramHash,
        password: &[u8],
        salt: &[u8],
        iterations: u32,
    ) -> ClientKeys {
        if self.capacity == 0 {
            return ClientKeys::derive(hash, password, salt, iterations);
        }
        let tag = self.tag(hash, password, salt, iterations);
        {
            let mut state = self.lock();
            state.clock += 1;
            let now = state.clock;
            if let Some(entry) = state
                .entries
                .iter_mut()
                .find(|entry| digests_equal(&entry.tag[..], &tag[..]))
            {
                entry.used = now;
                return entry.keys.duplicate();
            }
        }
        let keys = ClientKeys::derive(hash, password, salt, iterations);
        let mut state = self.lock();
        // Another session may have derived the same keys meanwhile: keep one entry.
        if !state
            .entries
            .iter()
            .any(|entry| digests_equal(&entry.tag[..], &tag[..]))
        {
            if state.entries.len() >= self.capacity
                && let Some(oldest) = state
                    .entries
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, entry)| entry.used)
                    .map(|(index, _)| index)
            {
                // Dropping the entry wipes its keys and tag.
                state.entries.swap_remove(oldest);
            }
            state.clock += 1;
            let used = state.clock;
            state.entries.push(Entry {
                tag,
                keys: keys.duplicate(),
                used,
            });
        }
        keys
    }
}

impl Default for ScramKeyCache {
    fn default() -> Self {
        ScramKeyCache::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::FixedRandom;

    fn same(a: &ClientKeys, b: &ClientKeys) -> bool {
        digests_equal(a.client_key.expose(), b.client_key.expose())
            && digests_equal(a.stored_key.expose(), b.stored_key.expose())
            && digests_equal(a.server_key.expose(), b.server_key.expose())
    }

    #[test]
    fn a_hit_gives_the_derived_keys_and_needs_every_input() {
        let cache = ScramKeyCache::with_capacity(4, &FixedRandom::new(7));
        let derived = ClientKeys::derive(ScramHash::Sha256, b"pencil", b"salt", 16);
        let first = cache.client_keys(ScramHash::Sha256, b"pencil", b"salt", 16);
        assert!(same(&first, &derived));
        assert_eq!(cache.len(), 1);
        let again = cache.client_keys(ScramHash::Sha256, b"pencil", b"salt", 16);
        assert!(same(&again, &derived));
        assert_eq!(cache.len(), 1, "a hit adds nothing");
        // Another password, salt, count or hash is another entry, with its own keys.
        let others = [
            (ScramHash::Sha256, &b"pencil!"[..], &b"salt"[..], 16),
            (ScramHash::Sha256, b"pencil", b"salt2", 16),
            (ScramHash::Sha256, b"pencil", b"salt", 17),
            (ScramHash::Sha1, b"pencil", b"salt", 16),
        ];
        for (hash, password, salt, iterations) in others {
            let keys = cache.client_keys(hash, password, salt, iterations);
            assert!(same(
                &keys,
                &ClientKeys::derive(hash, password, salt, iterations)
            ));
            assert!(!same(&keys, &derived));
        }
        assert_eq!(cache.len(), 4);
    }

    #[test]
    fn bounded_least_recently_used_first() {
        let cache = ScramKeyCache::with_capacity(2, &FixedRandom::new(7));
        let keys = |password: &[u8]| cache.client_keys(ScramHash::Sha1, password, b"s", 2);
        keys(b"a");
        keys(b"b");
        keys(b"a");
        keys(b"c");
        assert_eq!(cache.len(), 2);
        // "b" was the least recently used: gone; "a" and "c" kept.
        let state = cache.lock();
        let tags: Vec<_> = state
            .entries
            .iter()
            .map(|entry| entry.tag.clone())
            .collect();
        drop(state);
        for (password, kept) in [(&b"a"[..], true), (b"b", false), (b"c", true)] {
            let tag = cache.tag(ScramHash::Sha1, password, b"s", 2);
            assert_eq!(tags.iter().any(|t| t[..] == tag[..]), kept);
        }
        cache.clear();
        assert!(cache.is_empty());
        let none = ScramKeyCache::with_capacity(0, &FixedRandom::new(7));
        none.client_keys(ScramHash::Sha1, b"a", b"s", 2);
        assert!(none.is_empty());
    }

    #[test]
    fn tags_depend_on_the_cache_key() {
        let one = ScramKeyCache::with_capacity(1, &FixedRandom::new(1));
        let two = ScramKeyCache::with_capacity(1, &FixedRandom::new(2));
        let tag = |cache: &ScramKeyCache| cache.tag(ScramHash::Sha256, b"pw", b"salt", 4096);
        assert_ne!(tag(&one)[..], tag(&two)[..]);
        // Length-prefixed salt: moving bytes between salt and password changes the tag.
        assert_ne!(
            one.tag(ScramHash::Sha256, b"ab", b"c", 1)[..],
            one.tag(ScramHash::Sha256, b"b", b"ca", 1)[..]
        );
    }
}
