//! The server secret: the key behind the salts SCRAM gives users the store holds no salt for
//! (unknown users, users with only a plaintext password) and behind the other fake answers
//! for unknown users.
//!
//! Those answers must be stable across processes and restarts (else an unknown user's salt
//! changes while a real user's stays, and one round trip tells them apart) and unpredictable
//! to the peer. So the secret is not drawn per process: it lives in a file, created once with
//! fresh randomness (by the first server or tool that needs it) and read by every process
//! after that, or it is given as text in the configuration, which is how several servers
//! sharing one credential database give the same answers.
//!
//! The file holds 64 hexadecimal digits and a newline; any content of 16 bytes or more is
//! accepted (it is hashed into the key), so an administrator may write their own.

use std::fs;
use std::io::{self, Write as _};
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use crate::random::Random;
use crate::secret::Secret;

/// The shortest secret accepted, in bytes.
pub const MIN_LEN: usize = 16;

/// The secret file that goes with a store file: `<store>.puresasl-secret` beside it.
pub fn path_beside(store: &Path) -> PathBuf {
    let mut name = store.as_os_str().to_owned();
    name.push(".puresasl-secret");
    PathBuf::from(name)
}

/// The key for a secret given as text (a configuration option): at least [`MIN_LEN`] bytes.
pub fn from_text(text: &[u8]) -> io::Result<Secret> {
    let text = text.trim_ascii();
    if text.len() < MIN_LEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("the server secret must be at least {MIN_LEN} bytes"),
        ));
    }
    let mut hasher = Sha256::new();
    hasher.update(b"puresasl server secret\0");
    hasher.update(text);
    Ok(Secret::new(hasher.finalize().to_vec()))
}

/// Reads the secret file at `path`, creating it with 32 fresh bytes from `random` if it does
/// not exist. A new file gets mode 0640 and, when `like` names an existing file (the store),
/// that file's owner and group, so whoever may read the store may read the secret.
///
/// Creation is atomic: the file is written beside, synced and linked into place, so a
/// concurrent reader never sees a partial secret and two creators agree on one.
pub fn load_or_create(path: &Path, like: Option<&Path>, random: &dyn Random) -> io::Result<Secret> {
    match fs::read(path) {
        Ok(bytes) => return from_text(&zeroize::Zeroizing::new(bytes)),
        Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(error),
        Err(_) => {}
    }
    let mut raw = zeroize::Zeroizing::new([0u8; 32]);
    random.fill(&mut raw[..]);
    let mut text = zeroize::Zeroizing::new(String::with_capacity(65));
    for byte in raw.iter() {
        text.push_str(&format!("{byte:02x}"));
    }
    text.push('\n');
    let temporary = {
        let mut name = path.as_os_str().to_owned();
        name.push(format!(".new.{}", std::process::id()));
        PathBuf::from(name)
    };
    let written = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o640)
            .open(&temporary)?;
        if let Some(like) = like
            && let Ok(meta) = fs::metadata(like)
        {
            // Best effort: only root may give the file away.
            let _ = std::os::unix::fs::fchown(&file, Some(meta.uid()), Some(meta.gid()));
        }
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        fs::hard_link(&temporary, path)
    })();
    let _ = fs::remove_file(&temporary);
    match written {
        Ok(()) => from_text(text.as_bytes()),
        // Another process created it first: use theirs.
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
            from_text(&zeroize::Zeroizing::new(fs::read(path)?))
        }
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::OsRandom;

    #[test]
    fn created_once_then_read_back() {
        let dir = std::env::temp_dir().join(format!("puresasl-secret-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let path = path_beside(&dir.join("sasldb2"));
        let first = load_or_create(&path, None, &OsRandom).unwrap();
        let again = load_or_create(&path, None, &OsRandom).unwrap();
        assert!(first.matches(again.expose()));
        assert_eq!(first.len(), 32);
        let mode = fs::metadata(&path).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o640);
        fs::write(&path, "short").unwrap();
        assert!(load_or_create(&path, None, &OsRandom).is_err());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn text_secrets_are_hashed_and_bounded() {
        assert!(from_text(b"too short").is_err());
        let a = from_text(b"a shared secret for the fleet").unwrap();
        let b = from_text(b"  a shared secret for the fleet\n").unwrap();
        assert!(a.matches(b.expose()));
    }
}
