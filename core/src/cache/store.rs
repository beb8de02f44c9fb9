//! The contract between the broker and its shared (persistent or distributed) cache tiers.

use std::fmt;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use crate::cache::{CacheKey, CachedDocument, FailureRecord};
use crate::error::Result;
use crate::token::TokenSet;

/// A cache tier shared between processes (the file store) or machines (Redis).
///
/// Implementations encrypt entries at rest, never log secrets, and treat a corrupt or
/// undecryptable entry as absent rather than failing: they skip it, count it
/// ([`SharedStore::undecryptable`]) and keep it, since under a shared prefix it may be
/// another tenant's.
#[async_trait]
pub trait SharedStore: Send + Sync + fmt::Debug {
    /// The entry for `key`, or `None` when absent, expired past use, or unreadable.
    async fn get(&self, key: &CacheKey) -> Result<Option<TokenSet>>;

    /// Stores `token` under `key`, durably (the write survives a crash once this returns).
    async fn put(&self, key: &CacheKey, token: &TokenSet) -> Result<()>;

    /// Forgets the entry for `key`.
    async fn remove(&self, key: &CacheKey) -> Result<()>;

    /// Describes every entry, without secrets.
    async fn list(&self) -> Result<Vec<EntryInfo>>;

    /// Removes every entry.
    async fn clear(&self) -> Result<()>;

    /// Takes the fetch lease for `key`, so that one process (or machine) fetches while the
    /// others wait. Waits up to `wait` for a holder to finish; on timeout returns an error of
    /// kind `cache`. The lease is released when the returned guard is dropped, or expires by
    /// itself if the holder dies.
    /// A lease that expires (Redis) is renewed in the background while its guard lives; a
    /// holder that lost it anyway (a pause, a partition) finds its fenced writes refused.
    async fn lease(&self, key: &CacheKey, wait: Duration) -> Result<Box<dyn Lease>>;

    /// The provider failure published for `key` while it still applies, if any.
    async fn failure(&self, _key: &CacheKey) -> Result<Option<FailureRecord>> {
        Ok(None)
    }

    /// Publishes a provider failure for `key` until the record lapses.
    async fn put_failure(&self, _key: &CacheKey, _record: &FailureRecord) -> Result<()> {
        Ok(())
    }

    /// The public document (provider metadata) stored under `name` while it is usable.
    /// Stores that keep none answer `None`, and the broker fetches it.
    async fn document(&self, _name: &str) -> Result<Option<CachedDocument>> {
        Ok(None)
    }

    /// Keeps a public document under `name` for as long as it is usable
    /// ([`CachedDocument::keep_for`]), sealed like every entry so that only holders of the
    /// cache key can write one.
    async fn put_document(&self, _name: &str, _doc: &CachedDocument) -> Result<()> {
        Ok(())
    }

    /// How many entries (tokens or secrets) this store skipped so far because they do not
    /// open with its cache key: another tenant's under the same prefix, or damaged ones.
    fn undecryptable(&self) -> u64 {
        0
    }

    // Invalidation (see `crate::cache::invalidation`).

    /// The invalidation generation: a number that `remove` and `clear` change after they
    /// have removed entries, so that every broker drops memory hits the shared tier no longer
    /// backs. Brokers read it at most once per
    /// [`INVALIDATION_BOUND`](crate::cache::INVALIDATION_BOUND). A store whose entries are
    /// never invalidated elsewhere may keep the default (always 0).
    async fn generation(&self) -> Result<u64> {
        Ok(0)
    }
}

/// A held fetch lease. Dropping it releases the lease (and stops its renewal).
#[async_trait]
pub trait Lease: Send + Sync {
    /// A number that grows with each lease granted for the same key (a fencing token).
    fn fencing_token(&self) -> u64;

    /// Whether this is still the newest lease granted for its key.
    async fn is_current(&self) -> Result<bool>;

    /// Stores `token` under `key` only if this lease is still the newest granted and no
    /// later holder wrote there, checked and written in one step. `Ok(false)` means the
    /// lease was lost and nothing was written: re-read instead.
    async fn put_fenced(&self, key: &CacheKey, token: &TokenSet) -> Result<bool>;

    /// Releases the lease now, waiting for the release to be done (a process about to exit
    /// would otherwise leave it to expire). Dropping the guard afterwards does nothing more.
    async fn release(&self);

    /// Stores a secret in this lease's store under the same condition as
    /// [`Lease::put_fenced`].
    async fn set_secret_fenced(&self, name: &str, value: &crate::Secret) -> Result<bool>;
}

/// What `list` reports about one entry: never the token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryInfo {
    /// The canonical key text, with a credential fingerprint shown as `credential=bound`.
    pub key: String,
    /// When the cached access token expires.
    pub expires_at: SystemTime,
    /// The granted scopes.
    pub scopes: Vec<String>,
    /// Whether a refresh token is held.
    pub has_refresh_token: bool,
}

/// Long-lived secrets (refresh tokens, registration access tokens) kept by name.
///
/// The file store implements it on disk; mobile apps implement it over the Keychain or the
/// Android Keystore through the uniffi binding.
#[async_trait]
pub trait SecretStore: Send + Sync + fmt::Debug {
    /// The secret stored under `name`, if any.
    async fn get_secret(&self, name: &str) -> Result<Option<crate::Secret>>;
    /// Stores `value` under `name` durably before returning.
    async fn set_secret(&self, name: &str, value: &crate::Secret) -> Result<()>;
    /// Forgets the secret under `name`.
    async fn delete_secret(&self, name: &str) -> Result<()>;
}
