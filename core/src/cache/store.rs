//! The contract between the broker and its shared (persistent or distributed) cache tiers.

use std::fmt;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use crate::cache::CacheKey;
use crate::error::Result;
use crate::token::TokenSet;

/// A cache tier shared between processes (the file store) or machines (Redis).
///
/// Implementations encrypt entries at rest, never log secrets, and treat a corrupt or
/// undecryptable entry as absent (removing it and logging a warning) rather than failing.
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
    async fn lease(&self, key: &CacheKey, wait: Duration) -> Result<Box<dyn Lease>>;

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

/// A held fetch lease. Dropping it releases the lease.
pub trait Lease: Send + Sync {
    /// A number that grows with each lease granted for the same key (a fencing token).
    fn fencing_token(&self) -> u64;
}

/// What `list` reports about one entry: never the token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryInfo {
    /// The canonical key text.
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
