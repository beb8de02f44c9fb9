//! The file tier: one encrypted file per entry under the user's cache directory, shared by
//! every broker process of that user.
//!
//! Layout under the cache directory (0700; files 0600):
//! - no key: it is in the OS keyring or the user's config dir ([`UserKey`](crate::cache::UserKey));
//!   a `key` file left here by older versions is moved there on open;
//! - `tokens/<digest>.bin`: one sealed `{canonical key, TokenSet}` per [`CacheKey`];
//! - `secrets/<sha256(name)>.bin`: one sealed `{name, secret}` per
//!   [`SecretStore`](crate::SecretStore) name;
//! - `locks/<digest>.lock`: the `flock` fetch lease and its fencing counter (never deleted);
//! - `failures/<digest>.bin`: a sealed [`FailureRecord`] while it applies;
//! - `documents/<sha256(name)>.bin`: a sealed public document (provider metadata);
//! - `generation`: the invalidation generation, replaced after each `remove` and `clear`;
//! - `swept`: empty, its time that of the last sweep of leftovers (`file_sweep`).
//!
//! Writes go to a unique temp file in the same directory, are fsynced, renamed over the entry
//! and the directory is fsynced, so a reader sees the old entry or the new one, never a mix.

use std::fmt;
use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;

use super::document::CachedDocument;
use super::file_document::DOCUMENTS;
use super::file_io::{
    bump_fence, entry_names, io_error, is_orphan, read_file, remove, remove_durably,
    remove_if_same, try_lock, write_atomic,
};
use super::file_lease::{FileLease, failure_name};
use super::file_sweep::Sweeper;
use crate::cache::crypto::CacheCipher;
use crate::cache::unreadable::Unreadable;
use crate::cache::{CacheKey, EntryInfo, FailureRecord, Lease, SharedStore};
use crate::cache::{disk, file_generation, record};
use crate::error::{Error, Result};
use crate::regular_file;
use crate::secret::Secret;
use crate::token::TokenSet;

/// The environment variable overriding the default cache directory.
pub const DIR_ENV: &str = "TOKENBROKER_CACHE_DIR";

/// Expired entries without a refresh token are deleted once this much past expiry.
const STALE_AFTER: Duration = Duration::from_secs(5 * 60);
const TOKENS: &str = "tokens";
const SECRETS: &str = "secrets";
const LOCKS: &str = "locks";
const FAILURES: &str = "failures";

/// The persistent per-user tier: encrypted files, cross-process leases through `flock`.
///
/// `get` returns a stored token while it is valid, and after expiry only while it holds a
/// refresh token; an expired entry without one reads as absent and is deleted once it is
/// more than five minutes past expiry. Entries that do not open with this store's key read as
/// absent, are counted and kept (a process with another key may own them; the next `put`
/// replaces them). [`SharedStore::clear`] removes token entries only, never secrets or the key.
#[derive(Clone)]
pub struct FileStore {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) root: PathBuf,
    pub(super) cipher: CacheCipher,
    pub(super) unreadable: Unreadable,
    sweeper: Sweeper,
}

impl FileStore {
    /// Opens the store in `dir`, else [`DIR_ENV`], else `~/.cache/tokenbroker`, with the key
    /// from [`CacheCipher::load_default`].
    pub fn open(dir: Option<PathBuf>) -> Result<Self> {
        let root = match dir {
            Some(dir) => dir,
            None => Self::default_dir()?,
        };
        let cipher = CacheCipher::load_default(&root)?;
        Self::with_cipher(root, cipher)
    }

    /// Opens the store in `dir` with an explicit cipher.
    pub fn with_cipher(dir: PathBuf, cipher: CacheCipher) -> Result<Self> {
        disk::ensure_private_dir(&dir, false)?;
        for sub in [TOKENS, SECRETS, LOCKS, FAILURES, DOCUMENTS] {
            disk::ensure_private_dir(&dir.join(sub), true)?;
        }
        Ok(Self {
            inner: Arc::new(Inner {
                root: dir,
                cipher,
                unreadable: Unreadable::default(),
                sweeper: Sweeper::default(),
            }),
        })
    }

    /// [`DIR_ENV`] when set, else `tokenbroker` in the platform cache directory.
    pub fn default_dir() -> Result<PathBuf> {
        if let Some(dir) = std::env::var_os(DIR_ENV).filter(|d| !d.is_empty()) {
            return Ok(PathBuf::from(dir));
        }
        dirs::cache_dir()
            .map(|d| d.join("tokenbroker"))
            .ok_or_else(|| Error::config(DIR_ENV, "no home cache directory; set this variable"))
    }

    /// Where the encryption key came from ([`CacheCipher::key_source`]).
    pub fn key_source(&self) -> &str {
        self.inner.cipher.key_source()
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.inner.root
    }

    /// The file holding the entry for `key`.
    pub fn entry_path(&self, key: &CacheKey) -> PathBuf {
        self.inner.token_path(&self.inner.cipher.entry_name(key))
    }

    /// The file holding the secret `name`.
    pub fn secret_path(&self, name: &str) -> PathBuf {
        self.inner.secret_path(name)
    }

    pub(super) async fn blocking<T, F>(&self, op: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> Result<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        crate::runtime::blocking(move || op(&inner))
            .await
            .map_err(|_| Error::cache("file store task panicked or was cancelled"))?
    }
}

impl fmt::Debug for FileStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileStore")
            .field("dir", &self.inner.root)
            .field("cipher", &self.inner.cipher)
            .finish()
    }
}

/// What reading one entry file found.
enum Loaded {
    Missing,
    Found(CacheKey, TokenSet, u64),
    Corrupt(Error),
}

impl Inner {
    /// Writes an entry, secret, failure record or document atomically ([`write_atomic`]),
    /// after this process's sweep of leftovers when one is due ([`Sweeper`]).
    pub(super) fn write(&self, path: &Path, bytes: &[u8]) -> Result<()> {
        self.sweeper.before_write(
            &self.root,
            &[TOKENS, SECRETS, FAILURES, DOCUMENTS],
            FAILURES,
        );
        write_atomic(path, bytes)
    }

    fn token_path(&self, digest: &str) -> PathBuf {
        self.root.join(TOKENS).join(format!("{digest}.bin"))
    }

    fn secret_path(&self, name: &str) -> PathBuf {
        let digest = record::name_digest(name);
        self.root.join(SECRETS).join(format!("{digest}.bin"))
    }

    fn failure_path(&self, digest: &str) -> PathBuf {
        self.root.join(FAILURES).join(format!("{digest}.bin"))
    }

    /// The failure record for `digest` while it applies; a lapsed one is removed.
    fn failure(&self, digest: &str) -> Result<Option<FailureRecord>> {
        let path = self.failure_path(digest);
        let Some((bytes, ino)) = read_file(&path)? else {
            return Ok(None);
        };
        // One that does not open (another key) is left alone: a writer's sweep removes it
        // once it is older than any record applies.
        let Some(record) = record::open_secret(&self.cipher, &failure_name(digest), &bytes)
            .ok()
            .and_then(|json| FailureRecord::from_json(json.expose()))
        else {
            return Ok(None);
        };
        if !record.is_active(SystemTime::now()) {
            remove_if_same(&path, ino)?;
            return Ok(None);
        }
        Ok(Some(record))
    }

    /// Writes `token` under `key` unless the stored entry was issued later (a late writer
    /// never replaces a newer token). Called with the entry's lease held.
    pub(super) fn put_unless_newer(&self, key: &CacheKey, token: &TokenSet) -> Result<bool> {
        let name = self.cipher.entry_name(key);
        if let Loaded::Found(stored, existing, _) = self.read_token(&name)? {
            if stored.canonical() == key.canonical() && existing.issued_at > token.issued_at {
                return Ok(false);
            }
        }
        let sealed = record::seal_token(&self.cipher, key, token)?;
        self.write(&self.token_path(&name), &sealed)?;
        Ok(true)
    }

    fn read_token(&self, digest: &str) -> Result<Loaded> {
        let path = self.token_path(digest);
        Ok(match read_file(&path)? {
            None => Loaded::Missing,
            Some((bytes, ino)) => match record::open_token(&self.cipher, digest, &bytes) {
                Ok((key, token)) => Loaded::Found(key, token, ino),
                Err(e) => Loaded::Corrupt(e),
            },
        })
    }

    /// Reads an entry, applying the expiry policy and cleaning up what cannot be served.
    fn load(&self, digest: &str, now: SystemTime) -> Result<Option<(CacheKey, TokenSet)>> {
        let path = self.token_path(digest);
        match self.read_token(digest)? {
            Loaded::Missing => Ok(None),
            Loaded::Corrupt(why) => {
                self.unreadable.skip(&path.display().to_string(), &why);
                Ok(None)
            }
            Loaded::Found(key, token, ino) => {
                if record::servable(&token, now) {
                    return Ok(Some((key, token)));
                }
                if now.duration_since(token.expires_at).unwrap_or_default() > STALE_AFTER {
                    remove_if_same(&path, ino)?;
                }
                Ok(None)
            }
        }
    }

    pub(super) fn get(&self, key: &CacheKey) -> Result<Option<TokenSet>> {
        Ok(self
            .load(&self.cipher.entry_name(key), SystemTime::now())?
            .filter(|(stored, _)| stored.canonical() == key.canonical())
            .map(|(_, token)| token))
    }

    fn list(&self) -> Result<Vec<EntryInfo>> {
        let now = SystemTime::now();
        let mut out = Vec::new();
        for name in entry_names(&self.root.join(TOKENS))? {
            let Some(digest) = name.strip_suffix(".bin") else {
                continue;
            };
            if let Some((key, token)) = self.load(digest, now)? {
                out.push(EntryInfo {
                    key: key.listed(),
                    expires_at: token.expires_at,
                    scopes: token.scopes.clone(),
                    has_refresh_token: token.refresh_token.is_some(),
                });
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    fn clear(&self) -> Result<()> {
        let dir = self.root.join(TOKENS);
        for name in entry_names(&dir)? {
            let path = dir.join(&name);
            if name.ends_with(".bin") || is_orphan(&path) {
                remove(&path)?;
            }
        }
        disk::sync_dir(&dir).map_err(|e| io_error("sync", &dir, e))
    }
}

#[async_trait]
impl SharedStore for FileStore {
    async fn get(&self, key: &CacheKey) -> Result<Option<TokenSet>> {
        let key = key.clone();
        self.blocking(move |inner| inner.get(&key)).await
    }

    async fn put(&self, key: &CacheKey, token: &TokenSet) -> Result<()> {
        let sealed = record::seal_token(&self.inner.cipher, key, token)?;
        let path = self.entry_path(key);
        self.blocking(move |inner| inner.write(&path, &sealed))
            .await
    }

    async fn remove(&self, key: &CacheKey) -> Result<()> {
        let path = self.entry_path(key);
        self.blocking(move |inner| {
            remove_durably(&path)?;
            file_generation::bump(&inner.root)
        })
        .await
    }

    async fn list(&self) -> Result<Vec<EntryInfo>> {
        self.blocking(Inner::list).await
    }

    async fn clear(&self) -> Result<()> {
        self.blocking(|inner| {
            inner.clear()?;
            file_generation::bump(&inner.root)
        })
        .await
    }

    async fn failure(&self, key: &CacheKey) -> Result<Option<FailureRecord>> {
        let name = self.inner.cipher.entry_name(key);
        self.blocking(move |inner| inner.failure(&name)).await
    }

    async fn put_failure(&self, key: &CacheKey, failure: &FailureRecord) -> Result<()> {
        let name = self.inner.cipher.entry_name(key);
        let json = Secret::new(failure.to_json());
        let sealed = record::seal_secret(&self.inner.cipher, &failure_name(&name), &json)?;
        let path = self.inner.failure_path(&name);
        self.blocking(move |inner| inner.write(&path, &sealed))
            .await
    }

    async fn document(&self, name: &str) -> Result<Option<CachedDocument>> {
        let name = name.to_owned();
        self.blocking(move |inner| inner.document(&name)).await
    }

    async fn put_document(&self, name: &str, doc: &CachedDocument) -> Result<()> {
        let (name, doc) = (name.to_owned(), doc.clone());
        self.blocking(move |inner| inner.put_document(&name, &doc))
            .await
    }

    async fn lease(&self, key: &CacheKey, wait: Duration) -> Result<Box<dyn Lease>> {
        let name = self.inner.cipher.entry_name(key);
        let path = self.inner.root.join(LOCKS).join(format!("{name}.lock"));
        let file = regular_file::open(
            &path,
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600),
            libc::O_NOFOLLOW,
        )
        .map_err(|e| io_error("open", &path, e))?;
        let deadline = Instant::now().checked_add(wait);
        while !try_lock(&file).map_err(|e| io_error("lock", &path, e))? {
            let left = deadline.map_or(Duration::MAX, |d| d - Instant::now().min(d));
            if left.is_zero() {
                return Err(Error::cache(format!(
                    "timed out after {wait:?} waiting for the fetch lease on {} held by another \
                     process or task",
                    &name[..12]
                )));
            }
            let jitter = Duration::from_millis(rand::random_range(5..=20));
            tokio::time::sleep(left.min(jitter)).await;
        }
        let fencing = bump_fence(&file).map_err(|e| io_error("update", &path, e))?;
        Ok(Box::new(FileLease::new(self.clone(), file, path, fencing)))
    }

    fn undecryptable(&self) -> u64 {
        self.inner.unreadable.count()
    }

    async fn generation(&self) -> Result<u64> {
        self.blocking(|inner| file_generation::read(&inner.root))
            .await
    }
}

impl FileStore {
    /// The invalidation generation ([`SharedStore::generation`]), read on this thread: for
    /// code already on a blocking thread, such as the one that opens the store.
    pub(crate) fn read_generation(&self) -> Result<u64> {
        file_generation::read(&self.inner.root)
    }
}
