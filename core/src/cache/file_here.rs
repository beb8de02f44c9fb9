//! The file store opened and read on the calling thread, for a lookup that must not hand work
//! to another thread and wait for it (`Broker::token_at_hand`): a few local file reads, never
//! the OS keyring.

use std::path::PathBuf;

use super::crypto::KeySource;
use super::file::FileStore;
use crate::cache::CacheKey;
use crate::error::Result;
use crate::token::TokenSet;

impl FileStore {
    /// Opens the store as [`FileStore::open`] does, when its key is in the environment or a
    /// file; `None` when getting it takes the OS keyring, a new key or adopting an older one
    /// (then [`FileStore::open`] is for a thread that may wait).
    pub(crate) fn open_without_keyring(dir: Option<PathBuf>) -> Result<Option<Self>> {
        let root = match dir {
            Some(dir) => dir,
            None => Self::default_dir()?,
        };
        match KeySource::default_for(&root)?.load_without_keyring()? {
            Some(cipher) => Self::with_cipher(root, cipher).map(Some),
            None => Ok(None),
        }
    }

    /// The entry for `key`, read on the calling thread.
    pub(crate) fn get_here(&self, key: &CacheKey) -> Result<Option<TokenSet>> {
        self.inner.get(key)
    }
}
