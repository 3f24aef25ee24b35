//! The typed view of a user's credentials that mechanisms use, on top of [`Auxprop`], and
//! the one password check shared by PLAIN, LOGIN and the C library's `sasl_checkpass`.

use crate::auxprop::{Auxprop, property};
use crate::crypt::{CryptDecoy, PasswordFormat};
use crate::error::StoreError;
use crate::keys::{ScramHash, StoredKeys, cram_md5_secret};
use crate::log::{LogLevel, LogSink};
use crate::random::Random;
use crate::secret::{Secret, digests_equal};

/// Checks plaintext passwords (PLAIN, LOGIN) somewhere other than the credential store:
/// saslauthd, an application callback, PAM.
pub trait PasswordChecker: Send + Sync {
    /// Checks `password` of `user` in `realm`.
    fn check(
        &self,
        user: &str,
        realm: &str,
        password: &[u8],
    ) -> Result<PasswordCheck, crate::error::Error>;
}

/// The credentials of one user in one realm, read from a store on first use.
///
/// The first question asked of a view fetches every credential property
/// ([`property::CREDENTIALS`]) in one [`Auxprop::lookup_many`] call, and later questions are
/// answered from that: a login costs one store call (one database round trip), whatever the
/// mechanism, and an unknown user costs exactly what a known one does (the same call for the
/// same properties), where asking property by property stopped at the first value a known
/// user has and went through the whole list for an unknown one.
///
/// `userPassword` values are read as the [`PasswordFormat`] says (default
/// [`PasswordFormat::Plain`]); set it with [`password_format`](Self::password_format).
pub struct CredentialView<'a> {
    store: &'a dyn Auxprop,
    user: &'a str,
    realm: &'a str,
    format: PasswordFormat,
    log: Option<&'a dyn LogSink>,
    fetched: std::cell::OnceCell<Result<Vec<Vec<Secret>>, StoreError>>,
}

/// The outcome of checking a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordCheck {
    /// The password is right.
    Match,
    /// The user exists and the password is wrong.
    Mismatch,
    /// The store holds nothing the password could be checked against.
    NoSuchUser,
}

impl<'a> CredentialView<'a> {
    /// A view of `user` in `realm` in `store`.
    pub fn new(store: &'a dyn Auxprop, user: &'a str, realm: &'a str) -> Self {
        CredentialView {
            store,
            user,
            realm,
            format: PasswordFormat::Plain,
            log: None,
            fetched: std::cell::OnceCell::new(),
        }
    }

    /// Reads `userPassword` values as `format` says: with [`PasswordFormat::Crypt`] they are
    /// hashes, checked by [`crate::crypt::verify`] and never handed out as passwords.
    pub fn password_format(mut self, format: PasswordFormat) -> Self {
        self.format = format;
        self
    }

    /// Where to log why a stored value could not be used (an unknown hash format, say).
    pub fn log(mut self, sink: &'a dyn LogSink) -> Self {
        self.log = Some(sink);
        self
    }

    /// The values of `property`, one of [`property::CREDENTIALS`], from the one fetch.
    fn values(&self, property: &str) -> Result<&[Secret], StoreError> {
        let fetched = self.fetched.get_or_init(|| {
            self.store
                .lookup_many(self.user, self.realm, &property::CREDENTIALS)
        });
        let values = fetched.as_ref().map_err(Clone::clone)?;
        Ok(property::CREDENTIALS
            .iter()
            .position(|name| *name == property)
            .and_then(|index| values.get(index))
            .map_or(&[], Vec::as_slice))
    }

    fn first(&self, property: &str) -> Result<Option<Secret>, StoreError> {
        Ok(self.values(property)?.first().map(Secret::duplicate))
    }

    /// The plaintext password (`userPassword`). With [`PasswordFormat::Crypt`], only a
    /// Dovecot `{PLAIN}` value is one; a hash is not, so CRAM-MD5, DIGEST-MD5 and SCRAM find
    /// no password for a user who has only a hash.
    pub fn password(&self) -> Result<Option<Secret>, StoreError> {
        let stored = self.first(property::USER_PASSWORD)?;
        Ok(match self.format {
            PasswordFormat::Crypt => {
                stored.and_then(|value| crate::crypt::plaintext(value.expose()))
            }
            PasswordFormat::Plain => stored,
        })
    }

    /// Whether a `userPassword` value is stored, in whatever form (plaintext or hash): with
    /// [`PasswordFormat::Crypt`] a hash-only user has a `userPassword` but no plaintext. To
    /// ask whether a user exists at all, use [`exists`](Self::exists), the one answer to that.
    pub fn has_user_password(&self) -> Result<bool, StoreError> {
        Ok(self.first(property::USER_PASSWORD)?.is_some())
    }

    /// The SCRAM stored keys for `hash`: from `cmusaslsecret<MECHANISM>`, else from the
    /// `authPassword` value whose RFC 5803 scheme is that mechanism. Malformed records are
    /// skipped.
    pub fn scram_keys(&self, hash: ScramHash) -> Result<Option<StoredKeys>, StoreError> {
        let own = property::mechanism_secret(hash.mechanism_name());
        for name in [own.as_str(), property::AUTH_PASSWORD] {
            for value in self.values(name)? {
                if let Some(keys) = StoredKeys::from_rfc5803(value.expose())
                    && keys.hash == hash
                {
                    return Ok(Some(keys));
                }
            }
        }
        Ok(None)
    }

    /// The DIGEST-MD5 secret `MD5(user:realm:password)` (`cmusaslsecretDIGEST-MD5`), if
    /// stored and 16 bytes long.
    pub fn digest_md5_ha1(&self) -> Result<Option<Secret>, StoreError> {
        Ok(self
            .first(property::DIGEST_MD5_SECRET)?
            .filter(|secret| secret.len() == 16))
    }

    /// The CRAM-MD5 secret (`cmusaslsecretCRAM-MD5`: Cyrus's precomputed HMAC-MD5 pad
    /// states), if stored and 32 bytes long.
    pub fn cram_md5_secret(&self) -> Result<Option<Secret>, StoreError> {
        Ok(self
            .first(property::CRAM_MD5_SECRET)?
            .filter(|secret| secret.len() == 32))
    }

    /// Checks `password`: against `userPassword` if stored (as a hash with
    /// [`PasswordFormat::Crypt`]; a value that is no usable hash is logged and counts as a
    /// mismatch), else against the stored SCRAM keys cheapest to derive (deriving them from the
    /// password), else against the DIGEST-MD5 secret. Every comparison is constant time; an
    /// unknown user runs a comparison too.
    pub fn check_password(&self, password: &[u8]) -> Result<PasswordCheck, StoreError> {
        Ok(self.check_password_like(password, Decoy::Compare)?.0)
    }

    /// Like [`check_password`](Self::check_password), but an unknown user costs what `decoy`
    /// says (so it can cost what a known user's check costs), and the result tells which kind
    /// of check a known user needed.
    pub fn check_password_like(
        &self,
        password: &[u8],
        decoy: Decoy,
    ) -> Result<(PasswordCheck, Decoy), StoreError> {
        if self.format == PasswordFormat::Crypt
            && let Some(stored) = self.first(property::USER_PASSWORD)?
        {
            let matches = crate::crypt::verify(stored.expose(), password).unwrap_or_else(|error| {
                if let Some(log) = self.log {
                    log.log(
                        LogLevel::Error,
                        &format!(
                            "userPassword of {}@{} cannot be verified: {error}",
                            self.user, self.realm
                        ),
                    );
                }
                false
            });
            let path = CryptDecoy::of(stored.expose()).map_or(Decoy::Compare, Decoy::Crypt);
            return Ok((verdict(matches), path));
        }
        if let Some(stored) = self.password()? {
            return Ok((verdict(stored.matches(password)), Decoy::Compare));
        }
        if let Some(keys) = self.cheapest_scram_keys()? {
            let path = Decoy::Derive {
                hash: keys.hash,
                iterations: keys.iterations,
            };
            return Ok((verdict(keys.verify_password(password)), path));
        }
        if let Some(ha1) = self.digest_md5_ha1()? {
            let candidate = crate::keys::digest_md5::user_secret(self.user, self.realm, password);
            return Ok((
                verdict(digests_equal(candidate.expose(), ha1.expose())),
                Decoy::Compare,
            ));
        }
        match decoy {
            Decoy::Compare => {
                let _ = Secret::from("\u{0}unknown-user\u{0}").matches(password);
            }
            Decoy::Derive { hash, iterations } => {
                let keys = StoredKeys::derive(hash, b"\0unknown-user\0", b"decoy salt", 1);
                let decoy = StoredKeys { iterations, ..keys };
                let _ = decoy.verify_password(password);
            }
            Decoy::Crypt(decoy) => decoy.run(password),
        }
        Ok((PasswordCheck::NoSuchUser, decoy))
    }
}

/// The kind of work a password check does, so an unknown user can be made to cost the same
/// as a known one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Decoy {
    /// A constant-time comparison of digests (plaintext or DIGEST-MD5 secret stored).
    #[default]
    Compare,
    /// A PBKDF2 derivation (only SCRAM keys stored).
    Derive {
        /// The hash of the keys.
        hash: ScramHash,
        /// Their iteration count.
        iterations: u32,
    },
    /// A crypt(3) hash computation (hashed `userPassword` values).
    Crypt(CryptDecoy),
}

/// What an unknown user costs, learned from the known users this process has seen, so that
/// "no such user" takes the same work as a wrong password through every mechanism.
///
/// Until a known user has been checked, the first user the store lists (when it can list
/// them) sets the cost, so a fresh process (every forked SMTP child) does not start with a
/// cheap path. One `Decoys` is shared by every configuration built for one store (the C
/// library keeps one per `sasl_server_init`), not one per connection.
#[derive(Debug, Default)]
pub struct Decoys {
    state: std::sync::Mutex<DecoyState>,
}

#[derive(Debug, Default, Clone, Copy)]
struct DecoyState {
    learned: Option<Decoy>,
    probed: bool,
}

/// How many store entries the first probe looks at, at most.
const DECOY_PROBE_ENTRIES: usize = 256;

impl Decoys {
    /// No user seen yet.
    pub fn new() -> Self {
        Decoys::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, DecoyState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The cost of an unknown user now: the last known user's, else that of the first user
    /// `store` lists, else a comparison.
    pub fn current(&self, store: &dyn Auxprop, format: PasswordFormat) -> Decoy {
        let state = *self.lock();
        if let Some(decoy) = state.learned {
            return decoy;
        }
        if state.probed {
            return Decoy::Compare;
        }
        let probed = probe_store(store, format);
        let mut state = self.lock();
        state.probed = true;
        if state.learned.is_none() {
            state.learned = probed;
        }
        state.learned.unwrap_or_default()
    }

    /// Records what a known user's check cost.
    pub fn learn(&self, decoy: Decoy) {
        self.lock().learned = Some(decoy);
    }

    /// Checks `password` against `view`; an unknown user costs what [`current`](Self::current)
    /// says, and a known user teaches the cost.
    pub fn check_password(
        &self,
        view: &CredentialView<'_>,
        password: &[u8],
    ) -> Result<PasswordCheck, StoreError> {
        let decoy = self.current(view.store, view.format);
        let (check, path) = view.check_password_like(password, decoy)?;
        if check != PasswordCheck::NoSuchUser {
            self.learn(path);
        }
        Ok(check)
    }
}

/// The cost of the first user in `store` that has credentials (`None` if the store cannot
/// list its users or holds none).
fn probe_store(store: &dyn Auxprop, format: PasswordFormat) -> Option<Decoy> {
    let entries = store.entries().ok()?;
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for entry in entries.iter().take(DECOY_PROBE_ENTRIES) {
        let key = (entry.user.as_str(), entry.realm.as_str());
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let view = CredentialView::new(store, key.0, key.1).password_format(format);
        if let Ok(Some(decoy)) = view.cost() {
            return Some(decoy);
        }
    }
    None
}

impl CredentialView<'_> {
    /// Whether the store holds any credential of this user: a password, SCRAM keys, or a
    /// DIGEST-MD5 or CRAM-MD5 secret. The one answer to "does this user exist".
    pub fn exists(&self) -> Result<bool, StoreError> {
        Ok(self.cost()?.is_some() || self.cram_md5_secret()?.is_some())
    }

    /// What checking a password of this user costs (`None` for an unknown user): the same
    /// order of preference as [`check_password`](Self::check_password).
    pub fn cost(&self) -> Result<Option<Decoy>, StoreError> {
        if self.format == PasswordFormat::Crypt
            && let Some(stored) = self.first(property::USER_PASSWORD)?
        {
            return Ok(Some(
                CryptDecoy::of(stored.expose()).map_or(Decoy::Compare, Decoy::Crypt),
            ));
        }
        if self.password()?.is_some() {
            return Ok(Some(Decoy::Compare));
        }
        if let Some(keys) = self.cheapest_scram_keys()? {
            return Ok(Some(Decoy::Derive {
                hash: keys.hash,
                iterations: keys.iterations,
            }));
        }
        Ok(self.digest_md5_ha1()?.map(|_| Decoy::Compare))
    }

    /// Of the stored SCRAM keys, those a password is cheapest to check against: any of them
    /// proves the password, and deriving SHA-512 keys costs several times what SHA-256 or
    /// SHA-1 keys cost (no SHA-512 instructions on most CPUs), so a user written with keys
    /// for every hash is not checked at the price of the strongest. Ties go to the stronger
    /// hash.
    fn cheapest_scram_keys(&self) -> Result<Option<StoredKeys>, StoreError> {
        let mut best: Option<(u64, StoredKeys)> = None;
        for hash in ScramHash::ALL {
            if let Some(keys) = self.scram_keys(hash)? {
                let cost = u64::from(keys.iterations) * derivation_weight(hash);
                if best.as_ref().is_none_or(|(least, _)| cost < *least) {
                    best = Some((cost, keys));
                }
            }
        }
        Ok(best.map(|(_, keys)| keys))
    }
}

/// The relative cost of one PBKDF2 iteration with `hash`: SHA-1 and SHA-256 (and SHA-224,
/// which is SHA-256's compression) run on the SHA instructions of current x86 and ARM CPUs,
/// SHA-384 and SHA-512 in software, about three times slower (`cargo bench --bench scram`).
fn derivation_weight(hash: ScramHash) -> u64 {
    match hash {
        ScramHash::Sha1 | ScramHash::Sha224 | ScramHash::Sha256 => 1,
        ScramHash::Sha384 | ScramHash::Sha512 => 3,
    }
}

fn verdict(matches: bool) -> PasswordCheck {
    if matches {
        PasswordCheck::Match
    } else {
        PasswordCheck::Mismatch
    }
}

/// How a new password is kept at rest.
#[derive(Debug, Clone)]
pub struct PasswordPolicy {
    /// Keep the plaintext `userPassword` (Cyrus's default; needed by CRAM-MD5 unless its
    /// secret is stored, and by Cyrus itself for DIGEST-MD5).
    pub keep_plaintext: bool,
    /// The SCRAM hashes to store keys for. SCRAM-SHA-1 keys also go to `authPassword`, where
    /// Cyrus reads them.
    pub scram_hashes: Vec<ScramHash>,
    /// The PBKDF2 iteration count for new SCRAM keys (Cyrus's `scram_iteration_counter`).
    pub scram_iterations: u32,
    /// Store the DIGEST-MD5 secret.
    pub digest_md5: bool,
    /// Store the CRAM-MD5 secret (Cyrus's precomputed HMAC-MD5 pad states).
    pub cram_md5: bool,
}

impl Default for PasswordPolicy {
    /// Plaintext plus SCRAM keys for every hash at 4096 iterations, and the DIGEST-MD5 and
    /// CRAM-MD5 secrets.
    fn default() -> Self {
        PasswordPolicy {
            keep_plaintext: true,
            scram_hashes: ScramHash::ALL.to_vec(),
            scram_iterations: 4096,
            digest_md5: true,
            cram_md5: true,
        }
    }
}

/// Salt length for new SCRAM keys, in bytes.
const SALT_LEN: usize = 16;

/// Writes `password` for `user` in `realm` as `policy` says, replacing every credential
/// property the policy manages (so switching to no-plaintext removes `userPassword`).
pub fn set_password(
    store: &dyn Auxprop,
    user: &str,
    realm: &str,
    password: &[u8],
    policy: &PasswordPolicy,
    random: &dyn Random,
) -> Result<(), StoreError> {
    let plaintext = if policy.keep_plaintext {
        vec![Secret::from(password)]
    } else {
        Vec::new()
    };
    let mut changes = vec![(property::USER_PASSWORD.to_owned(), plaintext)];

    let prepared = crate::keys::normalize_password(password);
    let mut auth_password = Vec::new();
    for hash in ScramHash::ALL {
        let name = property::mechanism_secret(hash.mechanism_name());
        if !policy.scram_hashes.contains(&hash) {
            changes.push((name, Vec::new()));
            continue;
        }
        let mut salt = [0u8; SALT_LEN];
        random.fill(&mut salt);
        let record = StoredKeys::derive(hash, prepared.expose(), &salt, policy.scram_iterations)
            .to_rfc5803();
        if hash == ScramHash::Sha1 {
            auth_password.push(Secret::from(record.as_str()));
        }
        changes.push((name, vec![Secret::from(record)]));
    }
    changes.push((property::AUTH_PASSWORD.to_owned(), auth_password));

    let ha1 = if policy.digest_md5 {
        vec![crate::keys::digest_md5::user_secret(user, realm, password)]
    } else {
        Vec::new()
    };
    changes.push((property::DIGEST_MD5_SECRET.to_owned(), ha1));

    let cram = if policy.cram_md5 {
        let secret = zeroize::Zeroizing::new(cram_md5_secret(password));
        vec![Secret::from(&secret[..])]
    } else {
        Vec::new()
    };
    changes.push((property::CRAM_MD5_SECRET.to_owned(), cram));
    // One update: the password and every secret derived from it change together.
    store.store_many(user, realm, &changes)
}

/// Writes what Cyrus's `sasl_setpass` writes, and touches nothing else: `userPassword` (the
/// plaintext; deleted when `password` is `None`, for `SASL_SET_DISABLE`, or when
/// `keep_plaintext` is false, for `SASL_SET_NOPLAIN`) and, when `scram_sha1_iterations` is set
/// (Cyrus's `scram_secret_generate`), SCRAM-SHA-1 stored keys in `authPassword` (deleted
/// along with the password).
///
/// For stores laid out by their administrator, the SQL store above all: there a property is
/// a column (`%p`), or every property is the one column when the templates have no `%p`, so
/// writing or deleting the other properties [`set_password`] manages would fail on a missing
/// column or, worse, overwrite the password with a derived secret.
pub fn set_password_as_cyrus(
    store: &dyn Auxprop,
    user: &str,
    realm: &str,
    password: Option<&[u8]>,
    keep_plaintext: bool,
    scram_sha1_iterations: Option<u32>,
    random: &dyn Random,
) -> Result<(), StoreError> {
    let plaintext = match password {
        Some(password) if keep_plaintext => vec![Secret::from(password)],
        _ => Vec::new(),
    };
    let mut changes = vec![(property::USER_PASSWORD.to_owned(), plaintext)];
    if let Some(iterations) = scram_sha1_iterations {
        let record = match password {
            Some(password) => {
                let prepared = crate::keys::normalize_password(password);
                let mut salt = [0u8; SALT_LEN];
                random.fill(&mut salt);
                let keys =
                    StoredKeys::derive(ScramHash::Sha1, prepared.expose(), &salt, iterations);
                vec![Secret::from(keys.to_rfc5803())]
            }
            None => Vec::new(),
        };
        changes.push((property::AUTH_PASSWORD.to_owned(), record));
    }
    store.store_many(user, realm, &changes)
}

/// Removes every property of `user` in `realm` that [`set_password`] may have written.
pub fn delete_user(store: &dyn Auxprop, user: &str, realm: &str) -> Result<(), StoreError> {
    let mut changes: Vec<(String, Vec<Secret>)> = [
        property::USER_PASSWORD,
        property::AUTH_PASSWORD,
        property::DIGEST_MD5_SECRET,
        property::CRAM_MD5_SECRET,
    ]
    .iter()
    .map(|name| ((*name).to_owned(), Vec::new()))
    .collect();
    for hash in ScramHash::ALL {
        changes.push((
            property::mechanism_secret(hash.mechanism_name()),
            Vec::new(),
        ));
    }
    store.store_many(user, realm, &changes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auxprop::MemoryStore;
    use crate::random::FixedRandom;

    #[test]
    fn plaintext_and_derived_checks() {
        let store = MemoryStore::new();
        let random = FixedRandom::new(1);
        let policy = PasswordPolicy {
            keep_plaintext: false,
            scram_iterations: 64,
            ..PasswordPolicy::default()
        };
        assert_eq!(
            set_password(&store, "bob", "r", b"pw", &policy, &random),
            Ok(())
        );
        let view = CredentialView::new(&store, "bob", "r");
        assert!(view.password().unwrap_or_default().is_none());
        assert_eq!(view.check_password(b"pw"), Ok(PasswordCheck::Match));
        assert_eq!(view.check_password(b"px"), Ok(PasswordCheck::Mismatch));
        let nobody = CredentialView::new(&store, "alice", "r");
        assert_eq!(nobody.check_password(b"pw"), Ok(PasswordCheck::NoSuchUser));

        // Only the DIGEST-MD5 secret left: still verifiable.
        for hash in ScramHash::ALL {
            let _ = store.store(
                "bob",
                "r",
                &property::mechanism_secret(hash.mechanism_name()),
                &[],
            );
        }
        let _ = store.store("bob", "r", property::AUTH_PASSWORD, &[]);
        assert_eq!(view.check_password(b"pw"), Ok(PasswordCheck::Match));
        assert_eq!(view.check_password(b"px"), Ok(PasswordCheck::Mismatch));

        assert_eq!(delete_user(&store, "bob", "r"), Ok(()));
        assert_eq!(store.entries().map(|e| e.len()), Ok(0));
    }

    #[test]
    fn plain_checks_the_stored_keys_cheapest_to_derive() {
        let store = MemoryStore::new();
        let policy = PasswordPolicy {
            keep_plaintext: false,
            digest_md5: false,
            cram_md5: false,
            scram_hashes: ScramHash::ALL.to_vec(),
            scram_iterations: 64,
        };
        set_password(&store, "bob", "r", b"pw", &policy, &FixedRandom::new(1)).unwrap();
        let view = CredentialView::new(&store, "bob", "r");
        let cheapest = Decoy::Derive {
            hash: ScramHash::Sha256,
            iterations: 64,
        };
        assert_eq!(
            view.check_password_like(b"pw", Decoy::Compare),
            Ok((PasswordCheck::Match, cheapest))
        );
        assert_eq!(view.cost(), Ok(Some(cheapest)));
        // Only SHA-512 keys, with fewer iterations than SHA-1 keys cost more: SHA-1 is used.
        let store = MemoryStore::new();
        let mut few = PasswordPolicy {
            scram_hashes: vec![ScramHash::Sha512],
            scram_iterations: 1000,
            ..policy.clone()
        };
        set_password(&store, "bob", "r", b"pw", &few, &FixedRandom::new(1)).unwrap();
        let sha512 = store
            .lookup("bob", "r", "cmusaslsecretSCRAM-SHA-512")
            .unwrap();
        few.scram_hashes = vec![ScramHash::Sha1];
        few.scram_iterations = 2000;
        set_password(&store, "bob", "r", b"pw", &few, &FixedRandom::new(1)).unwrap();
        store.set("bob", "r", "cmusaslsecretSCRAM-SHA-512", sha512);
        let view = CredentialView::new(&store, "bob", "r");
        assert_eq!(
            view.check_password_like(b"pw", Decoy::Compare),
            Ok((
                PasswordCheck::Match,
                Decoy::Derive {
                    hash: ScramHash::Sha1,
                    iterations: 2000
                }
            ))
        );
        assert_eq!(
            view.check_password_like(b"px", Decoy::Compare).map(|r| r.0),
            Ok(PasswordCheck::Mismatch)
        );
    }

    #[test]
    fn the_one_fetch_covers_every_credential_property() {
        let mut expected = vec![property::USER_PASSWORD.to_owned()];
        for hash in ScramHash::ALL {
            expected.push(property::mechanism_secret(hash.mechanism_name()));
        }
        expected.extend(
            [
                property::AUTH_PASSWORD,
                property::DIGEST_MD5_SECRET,
                property::CRAM_MD5_SECRET,
            ]
            .map(str::to_owned),
        );
        assert_eq!(property::CREDENTIALS.to_vec(), expected);
    }

    #[test]
    fn unknown_users_cost_what_the_decoy_says() {
        let store = MemoryStore::new();
        let policy = PasswordPolicy {
            keep_plaintext: false,
            digest_md5: false,
            cram_md5: false,
            scram_hashes: vec![ScramHash::Sha256],
            scram_iterations: 64,
        };
        set_password(&store, "bob", "r", b"pw", &policy, &FixedRandom::new(1)).unwrap();
        let derive = Decoy::Derive {
            hash: ScramHash::Sha256,
            iterations: 64,
        };
        let view = CredentialView::new(&store, "bob", "r");
        assert_eq!(
            view.check_password_like(b"pw", Decoy::Compare),
            Ok((PasswordCheck::Match, derive))
        );
        let nobody = CredentialView::new(&store, "nobody", "r");
        assert_eq!(
            nobody.check_password_like(b"pw", derive),
            Ok((PasswordCheck::NoSuchUser, derive))
        );
        let plain = MemoryStore::new().with_password("carol", "r", "pw");
        assert_eq!(
            CredentialView::new(&plain, "carol", "r").check_password_like(b"x", derive),
            Ok((PasswordCheck::Mismatch, Decoy::Compare))
        );
    }
}
