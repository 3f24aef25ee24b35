//! Cyrus sasldb2 files: the embedded default credential store, read and written in pure Rust.
//!
//! A sasldb2 file is a Berkeley DB 5.3 hash database (read and written by our own pure-Rust
//! reader and writer) whose keys are `user \0 realm \0 property` (no trailing NUL) and whose
//! values are the raw secrets, one per key. The same file works with Cyrus's libsasl2,
//! `saslpasswd2` and `sasldblistusers2`, so a deployment can switch between Cyrus and
//! puresasl in either direction without losing a user.
//!
//! [`SasldbStore`] follows Cyrus's semantics: the file is opened lazily, on the first lookup
//! (after the application may have chrooted), a missing file means "no users", and every
//! lookup sees the file's current contents: the parsed file is cached and re-read when its
//! inode, size or modification time changes.
//!
//! Updates never leave a broken file: the whole new file is written beside the old one,
//! fsynced and renamed over it, so a reader or a crash sees either the old or the new file.
//! Writers are serialised by an exclusive `flock` on `<file>.lock`. The file's owner, group
//! and mode are kept; a new file gets mode 0640.

pub(crate) mod bdb_hash;

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read as _, Write as _};
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use zeroize::Zeroizing;

use crate::auxprop::{Auxprop, Entry};
use crate::error::StoreError;
use crate::random::{OsRandom, Random};
use crate::secret::Secret;

use bdb_hash::{HashDb, WriteOptions};

/// Cyrus's default sasldb path (`sasldb_path`).
pub const DEFAULT_PATH: &str = "/etc/sasldb2";

/// The largest file the store reads into memory (far beyond any real sasldb2 file).
pub const MAX_FILE_SIZE: u64 = 1 << 30;

/// Mode of a newly created file (Debian's convention, with group `sasl`).
const NEW_FILE_MODE: u32 = 0o640;

/// The sasldb key of a property: `user \0 realm \0 property`.
pub fn key(user: &str, realm: &str, property: &str) -> Result<Vec<u8>, StoreError> {
    if [user, realm, property]
        .iter()
        .any(|part| part.contains('\0'))
    {
        return Err(StoreError::Io(
            "user, realm and property names must not contain NUL".into(),
        ));
    }
    Ok([user.as_bytes(), realm.as_bytes(), property.as_bytes()].join(&0u8))
}

/// Splits a sasldb key into user, realm and property; `None` for keys of another shape.
pub fn split_key(key: &[u8]) -> Option<Entry> {
    let mut parts = key.splitn(3, |&b| b == 0);
    let user = std::str::from_utf8(parts.next()?).ok()?;
    let realm = std::str::from_utf8(parts.next()?).ok()?;
    let property = std::str::from_utf8(parts.next()?).ok()?;
    Some(Entry {
        user: user.to_owned(),
        realm: realm.to_owned(),
        property: property.to_owned(),
    })
}

/// What identifies one version of the file on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileIdentity {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl FileIdentity {
    fn of(metadata: &fs::Metadata) -> Self {
        FileIdentity {
            dev: metadata.dev(),
            ino: metadata.ino(),
            size: metadata.size(),
            mtime: (metadata.mtime(), metadata.mtime_nsec()),
            ctime: (metadata.ctime(), metadata.ctime_nsec()),
        }
    }
}

struct Cached {
    identity: FileIdentity,
    db: Arc<HashDb>,
}

/// A sasldb2 file as an [`Auxprop`] store.
pub struct SasldbStore {
    path: PathBuf,
    cache: Mutex<Option<Cached>>,
    random: Arc<dyn Random>,
}

impl std::fmt::Debug for SasldbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SasldbStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn io_error(path: &Path, what: &str, error: &io::Error) -> StoreError {
    StoreError::Io(format!("{what} {}: {error}", path.display()))
}

/// Reads and parses the file at `path`; `None` if it does not exist.
fn read_file(path: &Path) -> Result<Option<(FileIdentity, HashDb)>, StoreError> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(io_error(path, "cannot open", &error)),
    };
    let metadata = file
        .metadata()
        .map_err(|error| io_error(path, "cannot stat", &error))?;
    if metadata.len() > MAX_FILE_SIZE {
        return Err(StoreError::Corrupt(format!(
            "{} is larger than {MAX_FILE_SIZE} bytes",
            path.display()
        )));
    }
    let mut data = Zeroizing::new(Vec::with_capacity(
        usize::try_from(metadata.len()).unwrap_or(0),
    ));
    (&mut file)
        .take(MAX_FILE_SIZE + 1)
        .read_to_end(&mut data)
        .map_err(|error| io_error(path, "cannot read", &error))?;
    let db = HashDb::parse(std::mem::take(&mut *data)).map_err(|error| match error {
        StoreError::Corrupt(what) => StoreError::Corrupt(format!("{}: {what}", path.display())),
        other => other,
    })?;
    Ok(Some((FileIdentity::of(&metadata), db)))
}

impl SasldbStore {
    /// A store on the file at `path`. Nothing is opened until the first use.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        SasldbStore {
            path: path.into(),
            cache: Mutex::new(None),
            random: Arc::new(OsRandom),
        }
    }

    /// Replaces the randomness used for new files' IDs.
    pub fn with_random(mut self, random: Arc<dyn Random>) -> Self {
        self.random = random;
        self
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's current contents, `None` if it does not exist. Re-reads the file only
    /// when it changed since the last call.
    pub fn database(&self) -> Result<Option<Arc<HashDb>>, StoreError> {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let current = match fs::metadata(&self.path) {
            Ok(metadata) => FileIdentity::of(&metadata),
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                *cache = None;
                return Ok(None);
            }
            Err(error) => return Err(io_error(&self.path, "cannot stat", &error)),
        };
        if let Some(cached) = cache.as_ref()
            && cached.identity == current
        {
            return Ok(Some(Arc::clone(&cached.db)));
        }
        match read_file(&self.path)? {
            Some((identity, db)) => {
                let db = Arc::new(db);
                *cache = Some(Cached {
                    identity,
                    db: Arc::clone(&db),
                });
                Ok(Some(db))
            }
            None => {
                *cache = None;
                Ok(None)
            }
        }
    }

    /// Applies `change` to the file as one update: under the writer lock, the current
    /// contents are read, `change` edits them through an [`Auxprop`] view, and if anything
    /// changed the new file replaces the old one atomically. Many properties (a whole
    /// `set_password`, or thousands of users) thus cost one rewrite.
    pub fn edit<R>(
        &self,
        change: impl FnOnce(&Edit) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let lock_path = sibling(&self.path, "", ".lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(NEW_FILE_MODE)
            .open(&lock_path)
            .map_err(|error| io_error(&lock_path, "cannot open lock file", &error))?;
        lock.lock()
            .map_err(|error| io_error(&lock_path, "cannot lock", &error))?;

        let existing = match fs::metadata(&self.path) {
            Ok(metadata) => Some(metadata),
            Err(error) if error.kind() == io::ErrorKind::NotFound => None,
            Err(error) => return Err(io_error(&self.path, "cannot stat", &error)),
        };
        let mut pairs = BTreeMap::new();
        if let Some((_, db)) = read_file(&self.path)? {
            for (key, value) in db.pairs()? {
                pairs.insert(key, value);
            }
        }
        let edit = Edit {
            pairs: Mutex::new(pairs),
            changed: Mutex::new(false),
        };
        let result = change(&edit)?;
        let changed = *edit.changed.lock().unwrap_or_else(|p| p.into_inner());
        if changed {
            let pairs = edit.pairs.into_inner().unwrap_or_else(|p| p.into_inner());
            self.replace(&pairs, existing.as_ref())?;
        }
        drop(lock);
        Ok(result)
    }

    /// Writes `pairs` as the new file: temporary file, fsync, rename, fsync the directory.
    fn replace(
        &self,
        pairs: &BTreeMap<Vec<u8>, Zeroizing<Vec<u8>>>,
        existing: Option<&fs::Metadata>,
    ) -> Result<(), StoreError> {
        let mut uid = [0u8; 20];
        self.random.fill(&mut uid[..16]);
        let borrowed: Vec<(&[u8], &[u8])> = pairs
            .iter()
            .map(|(key, value)| (key.as_slice(), value.as_slice()))
            .collect();
        let bytes = Zeroizing::new(bdb_hash::write(&borrowed, &WriteOptions::new(uid))?);

        let temporary = sibling(&self.path, ".", ".puresasl-new");
        let mode = existing.map_or(NEW_FILE_MODE, |m| m.mode() & 0o7777);
        let _ = fs::remove_file(&temporary);
        let mut file = OpenOptions::new()
            .create_new(true)
            .write(true)
            .mode(0o600)
            .open(&temporary)
            .map_err(|error| io_error(&temporary, "cannot create", &error))?;
        let written = (|| -> io::Result<()> {
            if let Some(old) = existing {
                let new = file.metadata()?;
                if new.uid() != old.uid() || new.gid() != old.gid() {
                    std::os::unix::fs::fchown(&file, Some(old.uid()), Some(old.gid()))?;
                }
            }
            file.set_permissions(fs::Permissions::from_mode(mode))?;
            file.write_all(&bytes)?;
            file.sync_all()?;
            fs::rename(&temporary, &self.path)?;
            if let Some(directory) = self.path.parent() {
                let directory = if directory.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    directory
                };
                File::open(directory)?.sync_all()?;
            }
            Ok(())
        })();
        if let Err(error) = written {
            let _ = fs::remove_file(&temporary);
            return Err(io_error(&self.path, "cannot write", &error));
        }
        Ok(())
    }
}

/// `dir/<prefix><file name><suffix>` beside `path`.
fn sibling(path: &Path, prefix: &str, suffix: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "sasldb2".into());
    path.with_file_name(format!("{prefix}{name}{suffix}"))
}

impl Auxprop for SasldbStore {
    /// A name containing NUL cannot be in the file: no values, like an unknown user (never
    /// an error a peer could tell apart).
    fn lookup(&self, user: &str, realm: &str, property: &str) -> Result<Vec<Secret>, StoreError> {
        let Ok(key) = key(user, realm, property) else {
            return Ok(Vec::new());
        };
        let Some(db) = self.database()? else {
            return Ok(Vec::new());
        };
        Ok(db
            .get(&key)?
            .map(|mut value| vec![Secret::new(std::mem::take(&mut *value))])
            .unwrap_or_default())
    }

    /// One check of the file (and one read if it changed) for all of `properties`, so every
    /// value comes from the same version of the file.
    fn lookup_many(
        &self,
        user: &str,
        realm: &str,
        properties: &[&str],
    ) -> Result<Vec<Vec<Secret>>, StoreError> {
        let Some(db) = self.database()? else {
            return Ok(properties.iter().map(|_| Vec::new()).collect());
        };
        // One key buffer, `user \0 realm \0` then each property in turn.
        let Ok(mut key) = key(user, realm, "") else {
            return Ok(properties.iter().map(|_| Vec::new()).collect());
        };
        let prefix = key.len();
        let prefix_hash = bdb_hash::ham_func5(&key);
        key.reserve(properties.iter().map(|p| p.len()).max().unwrap_or(0));
        properties
            .iter()
            .map(|property| {
                if property.contains('\0') {
                    return Ok(Vec::new());
                }
                key.truncate(prefix);
                key.extend_from_slice(property.as_bytes());
                let hash = bdb_hash::ham_func5_continue(prefix_hash, property.as_bytes());
                Ok(db
                    .get_hashed(&key, hash)?
                    .map(|mut value| vec![Secret::new(std::mem::take(&mut *value))])
                    .unwrap_or_default())
            })
            .collect()
    }

    /// Stores the first of `values` (sasldb keeps one value per key); none deletes.
    fn store(
        &self,
        user: &str,
        realm: &str,
        property: &str,
        values: &[Secret],
    ) -> Result<(), StoreError> {
        self.edit(|edit| edit.store(user, realm, property, values))
    }

    /// Every change in one [`edit`](Self::edit): one rewrite of the file, all or nothing.
    fn store_many(
        &self,
        user: &str,
        realm: &str,
        changes: &[(String, Vec<Secret>)],
    ) -> Result<(), StoreError> {
        self.edit(|edit| {
            changes
                .iter()
                .try_for_each(|(property, values)| edit.store(user, realm, property, values))
        })
    }

    fn entries(&self) -> Result<Vec<Entry>, StoreError> {
        let Some(db) = self.database()? else {
            return Ok(Vec::new());
        };
        Ok(db.keys()?.iter().filter_map(|key| split_key(key)).collect())
    }
}

/// The contents of the file during [`SasldbStore::edit`], as an [`Auxprop`] store.
pub struct Edit {
    pairs: Mutex<BTreeMap<Vec<u8>, Zeroizing<Vec<u8>>>>,
    changed: Mutex<bool>,
}

impl Edit {
    /// Sets (or, with `None`, deletes) the raw value of a sasldb key.
    pub fn set_raw(&self, key: Vec<u8>, value: Option<&[u8]>) {
        let mut pairs = self.pairs.lock().unwrap_or_else(|p| p.into_inner());
        let changed = match value {
            Some(value) => {
                let old = pairs.insert(key, Zeroizing::new(value.to_vec()));
                old.is_none_or(|old| old.as_slice() != value)
            }
            None => pairs.remove(&key).is_some(),
        };
        if changed {
            *self.changed.lock().unwrap_or_else(|p| p.into_inner()) = true;
        }
    }

    /// Removes every property of `user` in `realm`; returns how many were removed.
    pub fn delete_user(&self, user: &str, realm: &str) -> Result<usize, StoreError> {
        let prefix = key(user, realm, "")?;
        let mut pairs = self.pairs.lock().unwrap_or_else(|p| p.into_inner());
        let before = pairs.len();
        pairs.retain(|key, _| !key.starts_with(&prefix));
        let removed = before - pairs.len();
        if removed > 0 {
            *self.changed.lock().unwrap_or_else(|p| p.into_inner()) = true;
        }
        Ok(removed)
    }
}

impl Auxprop for Edit {
    fn lookup(&self, user: &str, realm: &str, property: &str) -> Result<Vec<Secret>, StoreError> {
        let Ok(key) = key(user, realm, property) else {
            return Ok(Vec::new());
        };
        let pairs = self.pairs.lock().unwrap_or_else(|p| p.into_inner());
        Ok(pairs
            .get(&key)
            .map(|value| vec![Secret::from(value.as_slice())])
            .unwrap_or_default())
    }

    fn store(
        &self,
        user: &str,
        realm: &str,
        property: &str,
        values: &[Secret],
    ) -> Result<(), StoreError> {
        let key = key(user, realm, property)?;
        self.set_raw(key, values.first().map(Secret::expose));
        Ok(())
    }

    fn entries(&self) -> Result<Vec<Entry>, StoreError> {
        let pairs = self.pairs.lock().unwrap_or_else(|p| p.into_inner());
        Ok(pairs.keys().filter_map(|key| split_key(key)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auxprop::property;

    #[test]
    fn keys_split_back() {
        let key = key("alice", "EXAMPLE.ORG", "userPassword").unwrap_or_default();
        assert_eq!(key, b"alice\0EXAMPLE.ORG\0userPassword");
        let entry = split_key(&key);
        assert_eq!(
            entry.map(|e| (e.user, e.realm, e.property)),
            Some(("alice".into(), "EXAMPLE.ORG".into(), "userPassword".into()))
        );
        assert_eq!(split_key(b"no separators"), None);
        assert!(super::key("a\0b", "r", "p").is_err());
    }

    #[test]
    fn lazy_missing_file_and_nul_names() {
        let dir = std::env::temp_dir().join(format!("puresasl-sasldb-unit-{}", std::process::id()));
        let path = dir.join("absent").join("sasldb2");
        // Construction touches nothing; a missing file (even directory) means no users.
        let store = SasldbStore::new(&path);
        assert!(!path.exists());
        let values = store.lookup("alice", "r", property::USER_PASSWORD);
        assert!(values.is_ok_and(|v| v.is_empty()));
        assert!(store.entries().is_ok_and(|e| e.is_empty()));
        // A peer-supplied name with NUL is simply unknown, not a store error.
        let values = store.lookup("alice\0r", "x", property::USER_PASSWORD);
        assert!(values.is_ok_and(|v| v.is_empty()));
        // Writing needs the directory: an I/O error, not a panic.
        let stored = store.store("alice", "r", property::USER_PASSWORD, &[Secret::from("pw")]);
        assert!(matches!(stored, Err(StoreError::Io(_))));
    }

    #[test]
    fn edit_tracks_changes() {
        let dir = std::env::temp_dir().join(format!("puresasl-sasldb-edit-{}", std::process::id()));
        let _ = fs::create_dir_all(&dir);
        let path = dir.join("sasldb2");
        let store = SasldbStore::new(&path);
        // Deleting from a missing file changes nothing and creates nothing.
        let removed = store.edit(|edit| edit.delete_user("nobody", "r"));
        assert_eq!(removed, Ok(0));
        assert!(!path.exists());
        let pw = [Secret::from("pw")];
        assert_eq!(
            store.store("bob", "r", property::USER_PASSWORD, &pw),
            Ok(())
        );
        assert_eq!(
            store.store("bob", "r", property::AUTH_PASSWORD, &pw),
            Ok(())
        );
        assert_eq!(
            store.store("bobby", "r", property::USER_PASSWORD, &pw),
            Ok(())
        );
        assert_eq!(store.entries().map(|e| e.len()), Ok(3));
        assert_eq!(store.edit(|edit| edit.delete_user("bob", "r")), Ok(2));
        let left = store.entries().unwrap_or_default();
        assert_eq!(left.len(), 1);
        assert_eq!(left.first().map(|e| e.user.as_str()), Some("bobby"));
        let _ = fs::remove_dir_all(&dir);
    }
}
