//! The user's cache key: kept in the OS keyring where one answers, else in a 0600 file in the
//! user's *config* directory, never beside the entries it protects.
//!
//! Lookup order, cheapest first: the fallback file (a `stat` when it is absent), then the
//! keyring. A key file `key` left in a cache directory by older versions is adopted as the
//! user key when there is none yet (stored in the keyring or the fallback file, then deleted
//! from the cache directory); when a different user key already exists, that directory keeps
//! its old key file, so its entries stay readable, and a warning says so.

use std::fs::{self, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Once;

use aws_lc_rs::rand;
use zeroize::Zeroizing;

use crate::cache::crypto::{CacheCipher, KEY_LEN, create_key_file, read_key_file};
use crate::cache::disk::ensure_private_dir;
use crate::cache::os_keyring::{KeyringEntry, platform_name};
use crate::error::{Error, Result};

/// The keyring service name of the cache key.
pub const KEYRING_SERVICE: &str = "tokenbroker";
/// The keyring account name of the cache key.
pub const KEYRING_ACCOUNT: &str = "cache-key";
/// The name of the key file in a cache directory written by versions before the keyring.
pub const LEGACY_KEY_FILE: &str = "key";

/// Where the user's cache key lives: a keyring entry (when the keyring is used) and the
/// fallback file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserKey {
    /// The keyring entry, or `None` to never try the keyring.
    pub keyring: Option<KeyringEntry>,
    /// The 0600 key file used when the keyring is not available.
    pub fallback_file: PathBuf,
}

impl UserKey {
    /// The keyring entry `tokenbroker` / `cache-key` and the file
    /// `<config dir>/tokenbroker/cache-key` (e.g. `~/.config/tokenbroker/cache-key`).
    pub fn default_location() -> Result<Self> {
        let config = dirs::config_dir().ok_or_else(|| {
            Error::config(
                "cache key",
                "no user config directory for the key file; set TOKENBROKER_CACHE_KEY",
            )
        })?;
        Ok(Self {
            keyring: Some(KeyringEntry::new(KEYRING_SERVICE, KEYRING_ACCOUNT)),
            fallback_file: config.join("tokenbroker").join(KEYRING_ACCOUNT),
        })
    }

    /// The cipher for the cache in `cache_dir`, creating the user key when there is none and
    /// migrating `cache_dir/key` (see the module documentation).
    pub fn load_for(&self, cache_dir: &Path) -> Result<CacheCipher> {
        let legacy_path = cache_dir.join(LEGACY_KEY_FILE);
        let legacy = read_key_file(&legacy_path)?;
        if let Some((key, origin)) = self.find()? {
            return match legacy {
                None => CacheCipher::with_origin(&key, &origin),
                Some(old) if old[..] == key[..] => {
                    remove_legacy(&legacy_path);
                    CacheCipher::with_origin(&key, &origin)
                }
                Some(old) => {
                    tracing::warn!(
                        "{} holds an older cache key that differs from the user key in {origin}; \
                         it is still used for this cache directory. Delete it (and sign in again) \
                         to move this cache to the user key.",
                        legacy_path.display()
                    );
                    CacheCipher::with_origin(&old, &format!("key file {}", legacy_path.display()))
                }
            };
        }
        let _lock = self.creation_lock()?;
        // Another process may have created the key while this one waited for the lock.
        if let Some((key, origin)) = self.find()? {
            return CacheCipher::with_origin(&key, &origin);
        }
        let (key, adopted) = match legacy {
            Some(old) => (old, true),
            None => (random_key()?, false),
        };
        let origin = self.store_new(&key)?;
        if adopted {
            remove_legacy(&legacy_path);
            tracing::info!(
                "moved the cache key from {} to {origin}",
                legacy_path.display()
            );
        }
        CacheCipher::with_origin(&key, &origin)
    }

    /// The cipher for the cache in `cache_dir` when the user key is in the fallback file and
    /// `cache_dir` holds no older key file; `None` when [`UserKey::load_for`] would have to ask
    /// the keyring, create the key or adopt an older one. Never writes, never asks the keyring.
    pub(crate) fn load_from_file(&self, cache_dir: &Path) -> Result<Option<CacheCipher>> {
        if fs::symlink_metadata(cache_dir.join(LEGACY_KEY_FILE)).is_ok() {
            return Ok(None);
        }
        match read_key_file(&self.fallback_file)? {
            Some(key) => CacheCipher::with_origin(&key, &self.file_origin()).map(Some),
            None => Ok(None),
        }
    }

    /// The existing user key and a description of where it is.
    fn find(&self) -> Result<Option<(Zeroizing<Vec<u8>>, String)>> {
        if let Some(key) = read_key_file(&self.fallback_file)? {
            return Ok(Some((key, self.file_origin())));
        }
        let Some(entry) = &self.keyring else {
            return Ok(None);
        };
        match entry.get() {
            Ok(Some(key)) if key.len() == KEY_LEN => Ok(Some((key, keyring_origin(entry)))),
            Ok(Some(_)) => Err(Error::config(
                keyring_origin(entry),
                format!("holds no {KEY_LEN}-byte cache key; delete the entry to start over"),
            )),
            Ok(None) | Err(_) => Ok(None),
        }
    }

    /// Stores a new user key in the keyring (read back to be sure), else in the fallback
    /// file with a warning. Returns where it went.
    fn store_new(&self, key: &[u8]) -> Result<String> {
        let reason = match &self.keyring {
            None => "the OS keyring is not used".to_owned(),
            Some(entry) => match entry.set(key).and_then(|()| entry.get()) {
                Ok(Some(back)) if back[..] == key[..] => return Ok(keyring_origin(entry)),
                Ok(_) => format!("{} did not keep the key", platform_name()),
                Err(e) => format!("{} is not available: {e}", platform_name()),
            },
        };
        warn_fallback_once(&self.fallback_file, &reason);
        create_key_file(&self.fallback_file, Some(key))?;
        Ok(self.file_origin())
    }

    fn file_origin(&self) -> String {
        format!("key file {}", self.fallback_file.display())
    }

    /// An exclusive `flock` on `<fallback file>.lock`, held while the key is created.
    fn creation_lock(&self) -> Result<fs::File> {
        let dir = crate::cache::disk::parent_dir(&self.fallback_file);
        ensure_private_dir(dir, false)?;
        let path = self.fallback_file.with_extension("lock");
        let io = |e: std::io::Error| {
            Error::cache(format!(
                "cannot lock {} to create the key: {e}",
                path.display()
            ))
        };
        let file = {
            use std::os::unix::fs::OpenOptionsExt;
            OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .mode(0o600)
                .open(&path)
                .map_err(io)?
        };
        // SAFETY: flock on a file descriptor this function owns; released when it is closed.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(io(std::io::Error::last_os_error()));
        }
        Ok(file)
    }
}

fn keyring_origin(entry: &KeyringEntry) -> String {
    format!("OS keyring ({}), entry {}", platform_name(), entry.label())
}

fn random_key() -> Result<Zeroizing<Vec<u8>>> {
    let mut key = Zeroizing::new(vec![0u8; KEY_LEN]);
    rand::fill(&mut key[..]).map_err(|_| Error::cache("system random generator failed"))?;
    Ok(key)
}

fn remove_legacy(path: &Path) {
    if let Err(e) = fs::remove_file(path) {
        tracing::warn!("cannot remove the old key file {}: {e}", path.display());
    }
}

fn warn_fallback_once(file: &Path, reason: &str) {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        tracing::warn!(
            "{reason}; the cache key is kept in {} (mode 0600) instead",
            file.display()
        );
    });
}

#[cfg(test)]
#[path = "user_key_tests.rs"]
mod tests;
