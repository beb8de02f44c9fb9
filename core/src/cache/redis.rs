//! The Redis tier: one sealed entry per key, shared by brokers on many machines.
//!
//! Keys (all under the configured prefix; the digest is a hash tag, so that an entry, its
//! lease and its fence, or a secret and its fence, live in one Redis Cluster slot; secrets
//! stored before the tags, `{prefix}secret:` + digest, are still read and deleted):
//! - `{prefix}token:{digest}`: the sealed `{canonical key, TokenSet}`, expiring (`PX`) with
//!   the access token, plus a grace period while it holds a refresh token;
//! - `{prefix}secret:{sha256(name)}`: a sealed secret, without expiry;
//! - `{prefix}lease:{digest}`: the fetch lease (`SET NX PX`), holding a random owner id;
//! - `{prefix}fence:{digest}`: the fencing counter, incremented on each lease granted;
//! - `{prefix}secret-fence:{sha256(name)}`: the fence of the newest fenced secret write;
//! - `{prefix}failure:{digest}`: a sealed [`FailureRecord`], expiring (`PX`) when it lapses.
//!
//! Writes under a lease are Lua scripts that compare the fence and write in one round trip,
//! with every key passed in `KEYS`, so they run on a Redis Cluster too.
//!
//! The deployment (one server, a Cluster, or Sentinel) is [`RedisTopology`]'s business.
//! - `{prefix}generation:store`: the invalidation generation, incremented after each
//!   `remove` and `clear`.
//!
//! Durability of `put` is whatever the server's persistence configuration gives.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use ::redis::AsyncCommands;

use super::redis_conn::{DELETE_IF_EQUAL, glob_escape};
use async_trait::async_trait;

use crate::cache::crypto::CacheCipher;
use crate::cache::record;
use crate::cache::redis_conn::{RedisConn, RedisTopology};
use crate::cache::redis_url::{redact_url, url_secrets};
use crate::cache::unreadable::Unreadable;
use crate::cache::{CacheKey, CachedDocument, EntryInfo, FailureRecord, Lease, SharedStore};
use crate::error::{Error, Result};
use crate::redact::scrub;
use crate::secret::Secret;
use crate::token::TokenSet;

/// How long a lease lives if its holder never releases it, unless configured.
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(30);
/// How long an expired entry holding a refresh token is kept, unless configured.
pub const DEFAULT_REFRESH_GRACE: Duration = Duration::from_secs(7 * 24 * 3600);

/// A [`SharedStore`] and [`SecretStore`](crate::SecretStore) over Redis (`redis://` or TLS
/// `rediss://`).
///
/// `get` returns a stored token while it is valid, and after expiry only while it holds a
/// refresh token. Values that do not open with this store's key (another tenant's under the
/// same prefix, or damaged) read as absent, are counted and kept. [`SharedStore::clear`]
/// removes the token entries this store can open, only.
#[derive(Clone)]
pub struct RedisStore {
    pub(super) conn: RedisConn,
    prefix: String,
    endpoint: String,
    pub(super) cipher: CacheCipher,
    pub(super) lease_ttl: Duration,
    refresh_grace: Duration,
    pub(super) unreadable: Arc<Unreadable>,
}

impl RedisStore {
    /// Connects to `url` (`redis://[user][:password@]host[:port][/db]` or `rediss://…`),
    /// storing keys under `prefix` and sealing values with `cipher`.
    pub async fn connect(url: &str, prefix: &str, cipher: CacheCipher) -> Result<Self> {
        Self::connect_to(&RedisTopology::Single(url.to_owned()), prefix, cipher).await
    }

    /// Connects to one server, a Cluster or a Sentinel-managed master, storing keys under
    /// `prefix` and sealing values with `cipher`.
    pub async fn connect_to(
        topology: &RedisTopology,
        prefix: &str,
        cipher: CacheCipher,
    ) -> Result<Self> {
        let endpoint = topology.describe(redact_url);
        let userinfo: Vec<String> = topology.urls().into_iter().flat_map(url_secrets).collect();
        let conn = RedisConn::connect(topology).await.map_err(|e| {
            let text = scrub(&e.to_string(), userinfo.iter().map(String::as_str));
            Error::cache(format!("cannot connect to redis at {endpoint}: {text}"))
        })?;
        Ok(Self {
            conn,
            prefix: prefix.to_owned(),
            endpoint,
            cipher,
            lease_ttl: DEFAULT_LEASE_TTL,
            refresh_grace: DEFAULT_REFRESH_GRACE,
            unreadable: Arc::default(),
        })
    }

    /// Sets how long a lease lives when its holder never releases it (default 30 s).
    pub fn with_lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = ttl.max(Duration::from_millis(1));
        self
    }

    /// Sets how long past expiry an entry with a refresh token is kept (default 7 days).
    pub fn with_refresh_grace(mut self, grace: Duration) -> Self {
        self.refresh_grace = grace;
        self
    }

    /// The server address, without credentials.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub(super) fn key(&self, kind: &str, digest: &str) -> String {
        format!("{}{kind}:{{{digest}}}", self.prefix)
    }

    /// The name secrets had before keys carried hash tags, still read (and deleted) so that
    /// an upgrade keeps the refresh tokens a fleet stored.
    pub(super) fn legacy_secret_key(&self, digest: &str) -> String {
        format!("{}secret:{digest}", self.prefix)
    }

    pub(super) async fn delete(&self, redis_key: String) -> Result<()> {
        let _: i64 = self
            .conn
            .clone()
            .del(redis_key)
            .await
            .map_err(|e| self.failed("DEL", e))?;
        Ok(())
    }

    /// How long an entry for `token` is kept: its validity, plus the grace period while it
    /// holds a refresh token.
    pub(super) fn entry_ttl(&self, token: &TokenSet) -> Duration {
        let mut ttl = token.remaining_at(SystemTime::now());
        if token.refresh_token.is_some() {
            ttl += self.refresh_grace;
        }
        ttl
    }

    fn failure_name(digest: &str) -> String {
        format!("failure:{digest}")
    }

    fn generation_key(&self) -> String {
        self.key("generation", "store")
    }

    /// Tells every broker that entries were removed (after removing them).
    async fn bump_generation(&self) -> Result<()> {
        let _: u64 = self
            .conn
            .clone()
            .incr(self.generation_key(), 1)
            .await
            .map_err(|e| self.failed("INCR", e))?;
        Ok(())
    }

    /// `SET redis_key sealed PX ttl`: a sealed record that Redis drops when it lapses.
    async fn set_expiring(&self, redis_key: String, sealed: Vec<u8>, ttl: Duration) -> Result<()> {
        ::redis::cmd("SET")
            .arg(redis_key)
            .arg(sealed)
            .arg("PX")
            .arg(millis(ttl))
            .query_async::<()>(&mut self.conn.clone())
            .await
            .map_err(|e| self.failed("SET", e))
    }

    pub(super) fn failed(&self, what: &str, e: ::redis::RedisError) -> Error {
        Error::cache(format!("redis {what} at {} failed: {e}", self.endpoint))
    }

    /// Opens a sealed token value; one that does not open (another tenant's, or damaged) is
    /// counted and skipped, never deleted.
    fn open_or_skip(&self, digest: &str, sealed: &[u8]) -> Option<(CacheKey, TokenSet)> {
        record::open_token(&self.cipher, digest, sealed)
            .inspect_err(|e| self.unreadable.skip(&self.key("token", digest), e))
            .ok()
    }

    /// Every token entry under the prefix that opens with this store's key: `(redis key,
    /// sealed value, key, token)`.
    async fn own_entries(&self) -> Result<Vec<(String, Vec<u8>, CacheKey, TokenSet)>> {
        let token_prefix = format!("{}token:{{", self.prefix);
        let mut out = Vec::new();
        for chunk in self.token_keys().await?.chunks(100) {
            let values: Vec<Option<Vec<u8>>> = ::redis::cmd("MGET")
                .arg(chunk)
                .query_async(&mut self.conn.clone())
                .await
                .map_err(|e| self.failed("MGET", e))?;
            for (redis_key, sealed) in chunk.iter().zip(values) {
                let digest = redis_key
                    .strip_prefix(&token_prefix)
                    .and_then(|k| k.strip_suffix('}'));
                let (Some(digest), Some(sealed)) = (digest, sealed) else {
                    continue;
                };
                if let Some((key, token)) = self.open_or_skip(digest, &sealed) {
                    out.push((redis_key.clone(), sealed, key, token));
                }
            }
        }
        Ok(out)
    }

    /// Every token key under the prefix (SCAN, so the server never blocks).
    async fn token_keys(&self) -> Result<Vec<String>> {
        let pattern = format!("{}token:{{*}}", glob_escape(&self.prefix));
        self.conn
            .clone()
            .scan(&pattern)
            .await
            .map_err(|e| self.failed("SCAN", e))
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("endpoint", &self.endpoint)
            .field("prefix", &self.prefix)
            .field("lease_ttl", &self.lease_ttl)
            .field("cipher", &self.cipher)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl SharedStore for RedisStore {
    async fn get(&self, key: &CacheKey) -> Result<Option<TokenSet>> {
        let name = self.cipher.entry_name(key);
        let sealed: Option<Vec<u8>> = self
            .conn
            .clone()
            .get(self.key("token", &name))
            .await
            .map_err(|e| self.failed("GET", e))?;
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        let token = self.open_or_skip(&name, &sealed);
        Ok(token
            .map(|(_, t)| t)
            .filter(|t| record::servable(t, SystemTime::now())))
    }

    async fn put(&self, key: &CacheKey, token: &TokenSet) -> Result<()> {
        let redis_key = self.key("token", &self.cipher.entry_name(key));
        let ttl = self.entry_ttl(token);
        let mut conn = self.conn.clone();
        if ttl.is_zero() {
            // Already useless: store nothing, and drop whatever was there.
            let _: i64 = conn
                .del(&redis_key)
                .await
                .map_err(|e| self.failed("DEL", e))?;
            return Ok(());
        }
        let sealed = record::seal_token(&self.cipher, key, token)?;
        ::redis::cmd("SET")
            .arg(&redis_key)
            .arg(sealed)
            .arg("PX")
            .arg(millis(ttl))
            .query_async::<()>(&mut conn)
            .await
            .map_err(|e| self.failed("SET", e))
    }

    async fn remove(&self, key: &CacheKey) -> Result<()> {
        self.delete(self.key("token", &self.cipher.entry_name(key)))
            .await?;
        self.bump_generation().await
    }

    async fn list(&self) -> Result<Vec<EntryInfo>> {
        let now = SystemTime::now();
        let mut out: Vec<EntryInfo> = (self.own_entries().await?.into_iter())
            .filter(|(_, _, _, token)| record::servable(token, now))
            .map(|(_, _, key, token)| EntryInfo {
                key: key.listed(),
                expires_at: token.expires_at,
                scopes: token.scopes.clone(),
                has_refresh_token: token.refresh_token.is_some(),
            })
            .collect();
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    /// Removes the entries this store can open; other tenants' under the prefix stay. Each is
    /// deleted only if unchanged since it was read.
    async fn clear(&self) -> Result<()> {
        let mut conn = self.conn.clone();
        for (redis_key, sealed, _, _) in self.own_entries().await? {
            let _: i64 = DELETE_IF_EQUAL
                .key(&redis_key)
                .arg(sealed)
                .invoke_async(&mut conn)
                .await
                .map_err(|e| self.failed("DEL", e))?;
        }
        self.bump_generation().await
    }

    async fn generation(&self) -> Result<u64> {
        let value: Option<u64> = self
            .conn
            .clone()
            .get(self.generation_key())
            .await
            .map_err(|e| self.failed("GET", e))?;
        Ok(value.unwrap_or(0))
    }

    async fn failure(&self, key: &CacheKey) -> Result<Option<FailureRecord>> {
        let name = self.cipher.entry_name(key);
        let sealed: Option<Vec<u8>> = self
            .conn
            .clone()
            .get(self.key("failure", &name))
            .await
            .map_err(|e| self.failed("GET", e))?;
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        let record = record::open_secret(&self.cipher, &Self::failure_name(&name), &sealed)
            .ok()
            .and_then(|json| FailureRecord::from_json(json.expose()));
        Ok(record.filter(|r| r.is_active(SystemTime::now())))
    }

    async fn put_failure(&self, key: &CacheKey, failure: &FailureRecord) -> Result<()> {
        let name = self.cipher.entry_name(key);
        let hold = failure.remaining(SystemTime::now());
        if hold.is_zero() {
            return Ok(());
        }
        let json = Secret::new(failure.to_json());
        let sealed = record::seal_secret(&self.cipher, &Self::failure_name(&name), &json)?;
        self.set_expiring(self.key("failure", &name), sealed, hold)
            .await
    }

    async fn document(&self, name: &str) -> Result<Option<CachedDocument>> {
        let sealed_name = CachedDocument::sealed_name(name);
        let redis_key = self.key("document", &record::name_digest(&sealed_name));
        let sealed: Option<Vec<u8>> = self
            .conn
            .clone()
            .get(redis_key)
            .await
            .map_err(|e| self.failed("GET", e))?;
        let doc = sealed.and_then(|sealed| {
            record::open_secret(&self.cipher, &sealed_name, &sealed)
                .ok()
                .and_then(|json| CachedDocument::from_json(json.expose()))
        });
        Ok(doc.filter(|d| d.is_usable(SystemTime::now())))
    }

    async fn put_document(&self, name: &str, doc: &CachedDocument) -> Result<()> {
        let keep = doc.keep_for(SystemTime::now());
        if keep.is_zero() {
            return Ok(());
        }
        let sealed_name = CachedDocument::sealed_name(name);
        let json = Secret::new(doc.to_json());
        let sealed = record::seal_secret(&self.cipher, &sealed_name, &json)?;
        let redis_key = self.key("document", &record::name_digest(&sealed_name));
        self.set_expiring(redis_key, sealed, keep).await
    }

    async fn lease(&self, key: &CacheKey, wait: Duration) -> Result<Box<dyn Lease>> {
        super::redis_lease::acquire(self, key, wait).await
    }

    fn undecryptable(&self) -> u64 {
        self.unreadable.count()
    }
}

pub(super) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}
