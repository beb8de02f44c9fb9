//! The file store's lease: an `flock` on `locks/<digest>.lock`, whose content is the fencing
//! counter. Writes under it check that the lock file is still the one locked and still holds
//! this lease's fence.

use std::fs::{self, File};
use std::io::ErrorKind;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;

use super::file::{FileStore, Inner};
use super::file_io::io_error;
use crate::cache::{CacheKey, Lease, record};
use crate::error::Result;
use crate::secret::Secret;
use crate::token::TokenSet;

/// A held `flock` on a lock file; unlocked and closed on drop. An `flock` does not expire,
/// so the lease stays current unless its lock file was replaced (deleted by hand).
pub(super) struct FileLease {
    store: FileStore,
    file: Arc<File>,
    path: PathBuf,
    fencing: u64,
}

impl FileLease {
    /// The lease over the locked lock `file` at `path`, granted with `fencing`.
    pub(super) fn new(store: FileStore, file: File, path: PathBuf, fencing: u64) -> Self {
        Self {
            store,
            file: Arc::new(file),
            path,
            fencing,
        }
    }

    /// Runs `op` on the store if the lease is still current, else returns `false`.
    async fn if_current<F>(&self, op: F) -> Result<bool>
    where
        F: FnOnce(&Inner) -> Result<bool> + Send + 'static,
    {
        let (file, path, fencing) = (self.file.clone(), self.path.clone(), self.fencing);
        self.store
            .blocking(
                move |inner| match lease_is_current(&file, &path, fencing)? {
                    true => op(inner),
                    false => Ok(false),
                },
            )
            .await
    }
}

#[async_trait]
impl Lease for FileLease {
    fn fencing_token(&self) -> u64 {
        self.fencing
    }

    async fn is_current(&self) -> Result<bool> {
        self.if_current(|_| Ok(true)).await
    }

    async fn put_fenced(&self, key: &CacheKey, token: &TokenSet) -> Result<bool> {
        let (key, token) = (key.clone(), token.clone());
        self.if_current(move |inner| inner.put_unless_newer(&key, &token))
            .await
    }

    async fn release(&self) {
        // SAFETY: the descriptor is open for the lifetime of `self.file`.
        unsafe { libc::flock(self.file.as_raw_fd(), libc::LOCK_UN) };
    }

    async fn set_secret_fenced(&self, name: &str, value: &Secret) -> Result<bool> {
        let sealed = record::seal_secret(&self.store.inner.cipher, name, value)?;
        let path = self.store.secret_path(name);
        self.if_current(move |inner| inner.write(&path, &sealed).map(|()| true))
            .await
    }
}

impl Drop for FileLease {
    fn drop(&mut self) {
        // SAFETY: the descriptor is open for the lifetime of `self.file`.
        unsafe { libc::flock(self.file.as_raw_fd(), libc::LOCK_UN) };
    }
}

/// Whether the locked `file` is still the lock file at `path` and holds `fencing`.
fn lease_is_current(file: &File, path: &Path, fencing: u64) -> Result<bool> {
    let held = file.metadata().map_err(|e| io_error("stat", path, e))?;
    let same = match fs::symlink_metadata(path) {
        Ok(meta) => meta.ino() == held.ino() && meta.dev() == held.dev(),
        Err(e) if e.kind() == ErrorKind::NotFound => false,
        Err(e) => return Err(io_error("stat", path, e)),
    };
    Ok(same && read_fence(file).map_err(|e| io_error("read", path, e))? == fencing)
}

pub(super) fn failure_name(digest: &str) -> String {
    format!("failure:{digest}")
}

/// The decimal counter in a lock file (0 when empty or corrupt).
pub(super) fn read_fence(file: &File) -> std::io::Result<u64> {
    let mut buf = [0u8; 32];
    let n = file.read_at(&mut buf, 0)?;
    let text = std::str::from_utf8(&buf[..n]).unwrap_or("").trim();
    Ok(if text.is_empty() {
        0
    } else {
        text.parse::<u64>().unwrap_or_else(|_| {
            tracing::warn!("fencing counter in a lock file is corrupt; restarting it");
            0
        })
    })
}
