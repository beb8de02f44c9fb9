//! The Redis tier: one sealed entry per key, shared by brokers on many machines.
//!
//! Keys (all under the configured prefix):
//! - `{prefix}token:{digest}`: the sealed `{canonical key, TokenSet}`, expiring (`PX`) with
//!   the access token, plus a grace period while it holds a refresh token;
//! - `{prefix}secret:{sha256(name)}`: a sealed secret, without expiry;
//! - `{prefix}lease:{digest}`: the fetch lease (`SET NX PX`), holding a random owner id;
//! - `{prefix}fence:{digest}`: the fencing counter, incremented on each lease granted;
//! - `{prefix}generation:store`: the invalidation generation, incremented after each
//!   `remove` and `clear`.
//!
//! Durability of `put` is whatever the server's persistence configuration gives.

use std::fmt;
use std::sync::LazyLock;
use std::time::{Duration, Instant, SystemTime};

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{AsyncCommands, Script};
use async_trait::async_trait;

use crate::cache::crypto::{self, CacheCipher};
use crate::cache::record;
use crate::cache::{CacheKey, EntryInfo, Lease, SecretStore, SharedStore};
use crate::error::{Error, Result};
use crate::secret::{Secret, scrub};
use crate::token::TokenSet;

/// How long a lease lives if its holder never releases it, unless configured.
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(30);
/// How long an expired entry holding a refresh token is kept, unless configured.
pub const DEFAULT_REFRESH_GRACE: Duration = Duration::from_secs(7 * 24 * 3600);

/// Takes the lease and, only if taken, increments the fencing counter (one round trip).
static ACQUIRE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then \
           return redis.call('INCR', KEYS[2]) \
         end \
         return 0",
    )
});

/// Deletes a key only if it still holds the given value.
static DELETE_IF_EQUAL: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "if redis.call('GET', KEYS[1]) == ARGV[1] then \
           return redis.call('DEL', KEYS[1]) \
         end \
         return 0",
    )
});

/// A [`SharedStore`] and [`SecretStore`] over Redis (`redis://` or TLS `rediss://`).
///
/// `get` returns a stored token while it is valid, and after expiry only while it holds a
/// refresh token. Unreadable values are logged, deleted and read as absent (unreadable
/// secrets are kept). [`SharedStore::clear`] removes token entries only.
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
    endpoint: String,
    cipher: CacheCipher,
    lease_ttl: Duration,
    refresh_grace: Duration,
}

impl RedisStore {
    /// Connects to `url` (`redis://[user][:password@]host[:port][/db]` or `rediss://…`),
    /// storing keys under `prefix` and sealing values with `cipher`.
    pub async fn connect(url: &str, prefix: &str, cipher: CacheCipher) -> Result<Self> {
        let endpoint = redact_url(url);
        let userinfo = url_secrets(url);
        let fail = |what: &str, e: ::redis::RedisError| {
            let text = scrub(&e.to_string(), userinfo.iter().map(String::as_str));
            Error::cache(format!("{what} redis at {endpoint}: {text}"))
        };
        let client = ::redis::Client::open(url).map_err(|e| fail("invalid URL for", e))?;
        let timeout = Duration::from_secs(5);
        // One direct attempt first, so a wrong password or an unreachable server fails fast
        // instead of going through the manager's reconnection backoff.
        let probe = ::redis::AsyncConnectionConfig::new()
            .set_connection_timeout(timeout)
            .set_response_timeout(timeout);
        drop(
            client
                .get_multiplexed_async_connection_with_config(&probe)
                .await
                .map_err(|e| fail("cannot connect to", e))?,
        );
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(timeout)
            .set_response_timeout(timeout)
            .set_number_of_retries(2)
            .set_max_delay(1000);
        let conn = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(|e| fail("cannot connect to", e))?;
        Ok(Self {
            conn,
            prefix: prefix.to_owned(),
            endpoint,
            cipher,
            lease_ttl: DEFAULT_LEASE_TTL,
            refresh_grace: DEFAULT_REFRESH_GRACE,
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

    fn key(&self, kind: &str, digest: &str) -> String {
        format!("{}{kind}:{digest}", self.prefix)
    }

    async fn delete(&self, redis_key: String) -> Result<()> {
        let _: i64 = self
            .conn
            .clone()
            .del(redis_key)
            .await
            .map_err(|e| self.failed("DEL", e))?;
        Ok(())
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

    fn failed(&self, what: &str, e: ::redis::RedisError) -> Error {
        Error::cache(format!("redis {what} at {} failed: {e}", self.endpoint))
    }

    /// Opens a sealed token value; on failure logs, deletes it (if unchanged) and returns None.
    async fn open_or_drop(&self, digest: &str, sealed: Vec<u8>) -> Result<Option<TokenSet>> {
        let redis_key = self.key("token", digest);
        match record::open_token(&self.cipher, digest, &sealed) {
            Ok((_, token)) => Ok(Some(token)),
            Err(e) => {
                tracing::warn!(key = %redis_key, reason = %e, "removing unreadable redis cache entry");
                let _: i64 = DELETE_IF_EQUAL
                    .key(&redis_key)
                    .arg(sealed)
                    .invoke_async(&mut self.conn.clone())
                    .await
                    .map_err(|e| self.failed("DEL", e))?;
                Ok(None)
            }
        }
    }

    /// Every token key under the prefix (SCAN, so the server never blocks).
    async fn token_keys(&self) -> Result<Vec<String>> {
        let pattern = format!("{}token:*", glob_escape(&self.prefix));
        let mut conn = self.conn.clone();
        let (mut cursor, mut keys) = (0u64, Vec::new());
        loop {
            let (next, batch): (u64, Vec<String>) = ::redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(500)
                .query_async(&mut conn)
                .await
                .map_err(|e| self.failed("SCAN", e))?;
            keys.extend(batch);
            if next == 0 {
                keys.sort();
                keys.dedup();
                return Ok(keys);
            }
            cursor = next;
        }
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
        let sealed: Option<Vec<u8>> = self
            .conn
            .clone()
            .get(self.key("token", key.digest_hex()))
            .await
            .map_err(|e| self.failed("GET", e))?;
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        let token = self.open_or_drop(key.digest_hex(), sealed).await?;
        Ok(token.filter(|t| record::servable(t, SystemTime::now())))
    }

    async fn put(&self, key: &CacheKey, token: &TokenSet) -> Result<()> {
        let redis_key = self.key("token", key.digest_hex());
        let mut ttl = token.remaining_at(SystemTime::now());
        if token.refresh_token.is_some() {
            ttl += self.refresh_grace;
        }
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
        self.delete(self.key("token", key.digest_hex())).await?;
        self.bump_generation().await
    }

    async fn list(&self) -> Result<Vec<EntryInfo>> {
        let token_prefix = self.key("token", "");
        let now = SystemTime::now();
        let mut out = Vec::new();
        for chunk in self.token_keys().await?.chunks(100) {
            let values: Vec<Option<Vec<u8>>> = ::redis::cmd("MGET")
                .arg(chunk)
                .query_async(&mut self.conn.clone())
                .await
                .map_err(|e| self.failed("MGET", e))?;
            for (redis_key, sealed) in chunk.iter().zip(values) {
                let (Some(digest), Some(sealed)) = (redis_key.strip_prefix(&token_prefix), sealed)
                else {
                    continue;
                };
                let Ok((key, token)) = record::open_token(&self.cipher, digest, &sealed) else {
                    self.open_or_drop(digest, sealed).await?;
                    continue;
                };
                if record::servable(&token, now) {
                    out.push(EntryInfo {
                        key: key.canonical().to_owned(),
                        expires_at: token.expires_at,
                        scopes: token.scopes.clone(),
                        has_refresh_token: token.refresh_token.is_some(),
                    });
                }
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    async fn clear(&self) -> Result<()> {
        for chunk in self.token_keys().await?.chunks(500) {
            let _: i64 = ::redis::cmd("UNLINK")
                .arg(chunk)
                .query_async(&mut self.conn.clone())
                .await
                .map_err(|e| self.failed("UNLINK", e))?;
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

    async fn lease(&self, key: &CacheKey, wait: Duration) -> Result<Box<dyn Lease>> {
        let lease_key = self.key("lease", key.digest_hex());
        let fence_key = self.key("fence", key.digest_hex());
        let owner = crypto::random_hex(16)?;
        let mut conn = self.conn.clone();
        let deadline = Instant::now().checked_add(wait);
        loop {
            let fencing: u64 = ACQUIRE
                .key(&lease_key)
                .key(&fence_key)
                .arg(&owner)
                .arg(millis(self.lease_ttl))
                .invoke_async(&mut conn)
                .await
                .map_err(|e| self.failed("lease", e))?;
            if fencing > 0 {
                return Ok(Box::new(RedisLease {
                    conn,
                    key: lease_key,
                    owner,
                    fencing,
                }));
            }
            let left = deadline.map_or(Duration::MAX, |d| d - Instant::now().min(d));
            if left.is_zero() {
                return Err(Error::cache(format!(
                    "timed out after {wait:?} waiting for the fetch lease on {} held by another \
                     broker",
                    &key.digest_hex()[..12]
                )));
            }
            let jitter = Duration::from_millis(rand::random_range(10..=40));
            tokio::time::sleep(left.min(jitter)).await;
        }
    }
}

#[async_trait]
impl SecretStore for RedisStore {
    async fn get_secret(&self, name: &str) -> Result<Option<Secret>> {
        let redis_key = self.key("secret", &record::name_digest(name));
        let sealed: Option<Vec<u8>> = self
            .conn
            .clone()
            .get(&redis_key)
            .await
            .map_err(|e| self.failed("GET", e))?;
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        match record::open_secret(&self.cipher, name, &sealed) {
            Ok(secret) => Ok(Some(secret)),
            Err(e) => {
                tracing::warn!(key = %redis_key, reason = %e, "ignoring unreadable stored secret");
                Ok(None)
            }
        }
    }

    async fn set_secret(&self, name: &str, value: &Secret) -> Result<()> {
        let redis_key = self.key("secret", &record::name_digest(name));
        let sealed = record::seal_secret(&self.cipher, name, value)?;
        self.conn
            .clone()
            .set::<_, _, ()>(redis_key, sealed)
            .await
            .map_err(|e| self.failed("SET", e))
    }

    async fn delete_secret(&self, name: &str) -> Result<()> {
        self.delete(self.key("secret", &record::name_digest(name)))
            .await
    }
}

/// A held Redis lease. Dropping it releases the lease from a task on the current Tokio
/// runtime; without a runtime (or if that fails) the lease simply expires.
struct RedisLease {
    conn: ConnectionManager,
    key: String,
    owner: String,
    fencing: u64,
}

impl Lease for RedisLease {
    fn fencing_token(&self) -> u64 {
        self.fencing
    }
}

impl Drop for RedisLease {
    fn drop(&mut self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let mut conn = self.conn.clone();
        let (key, owner) = (
            std::mem::take(&mut self.key),
            std::mem::take(&mut self.owner),
        );
        runtime.spawn(async move {
            let released: ::redis::RedisResult<i64> = DELETE_IF_EQUAL
                .key(&key)
                .arg(&owner)
                .invoke_async(&mut conn)
                .await;
            if let Err(e) = released {
                tracing::debug!(key = %key, error = %e, "lease release failed; it will expire");
            }
        });
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// Escapes the glob characters SCAN MATCH understands.
fn glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The URL without user name or password, for messages.
fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            let _ = parsed.set_password(None);
            let _ = parsed.set_username("");
            parsed.to_string()
        }
        Err(_) => "<unparsable redis URL>".to_owned(),
    }
}

/// The password in `url`, raw and percent-decoded, to scrub from error text.
fn url_secrets(url: &str) -> Vec<String> {
    let Some(raw) = url::Url::parse(url)
        .ok()
        .and_then(|u| u.password().map(str::to_owned))
    else {
        return Vec::new();
    };
    // form_urlencoded turns '+' into a space; escaping it first leaves pure %-decoding.
    let query = format!("p={}", raw.replace('+', "%2B"));
    let decoded = url::form_urlencoded::parse(query.as_bytes()).map(|(_, v)| v.into_owned());
    std::iter::once(raw).chain(decoded).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_credentials() {
        let url = "rediss://user:p%40ss-word@cache.example:6380/2";
        assert_eq!(redact_url(url), "rediss://cache.example:6380/2");
        assert_eq!(url_secrets(url), ["p%40ss-word", "p@ss-word"]);
        assert_eq!(url_secrets("redis://:a+b%2B@h/"), ["a+b%2B", "a+b+"]);
        assert_eq!(redact_url("not a url"), "<unparsable redis URL>");
    }

    #[test]
    fn prefixes_are_glob_escaped() {
        assert_eq!(glob_escape("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
    }
}
