//! A held Redis lease: renewed in the background while its holder works, and fenced writes
//! (a compare of the fence and the write in one Lua script, every key in `KEYS`).

use std::sync::Arc;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ::redis::{AsyncCommands, Script};
use async_trait::async_trait;

use super::redis::{RedisStore, millis};
use super::redis_conn::DELETE_IF_EQUAL;
use crate::cache::{CacheKey, Lease, crypto, record};
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::token::TokenSet;

/// Takes the lease and, only if taken, increments the fencing counter (one round trip).
/// Run again by the same owner (a retry after a failover), it answers the fence it got.
static ACQUIRE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then \
           return redis.call('INCR', KEYS[2]) \
         end \
         if redis.call('GET', KEYS[1]) == ARGV[1] then \
           return tonumber(redis.call('GET', KEYS[2])) or 0 \
         end \
         return 0",
    )
});

/// Extends a lease only while it still holds its owner's id.
static RENEW: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "if redis.call('GET', KEYS[1]) == ARGV[1] then \
           return redis.call('PEXPIRE', KEYS[1], ARGV[2]) \
         end \
         return 0",
    )
});

/// A write conditional on a fence, in one step. `KEYS[1]` gets `ARGV[1]` (with `PX ARGV[3]`
/// unless it is 0; an empty value deletes it). With `ARGV[4]` = `eq`, `KEYS[2]` is the lease's
/// fencing counter and must still equal the writer's fence `ARGV[2]` (no newer lease was
/// granted); with `max`, `KEYS[2]` records the newest fenced writer and must not exceed it.
static FENCED_SET: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "local fence = tonumber(ARGV[2]) \
         local seen = tonumber(redis.call('GET', KEYS[2]) or '0') or 0 \
         if ARGV[4] == 'eq' then \
           if seen ~= fence then return 0 end \
         else \
           if seen > fence then return 0 end \
           redis.call('SET', KEYS[2], ARGV[2]) \
         end \
         if ARGV[1] == '' then \
           redis.call('DEL', KEYS[1]) \
         elseif ARGV[3] == '0' then \
           redis.call('SET', KEYS[1], ARGV[1]) \
         else \
           redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3]) \
         end \
         return 1",
    )
});

/// A held Redis lease, renewed by a background task every third of its lifetime while the
/// guard lives. Dropping it stops the renewal and releases the lease from a task on the
/// current Tokio runtime; without a runtime (or if that fails) the lease simply expires.
pub(super) struct RedisLease {
    store: RedisStore,
    key: String,
    fence_key: String,
    owner: String,
    fencing: u64,
    /// Set by the renewal task once the lease is found taken or expired.
    lost: Arc<AtomicBool>,
    /// Set once [`Lease::release`] has run.
    released: AtomicBool,
    renewal: Option<tokio::task::JoinHandle<()>>,
}

impl RedisLease {
    pub(super) fn start(
        store: RedisStore,
        key: String,
        fence_key: String,
        owner: String,
        fencing: u64,
    ) -> Self {
        let lost = Arc::new(AtomicBool::new(false));
        let renewal = tokio::runtime::Handle::try_current().ok().map(|runtime| {
            let (store, key, owner, lost) =
                (store.clone(), key.clone(), owner.clone(), lost.clone());
            runtime.spawn(async move {
                let every = (store.lease_ttl / 3).max(Duration::from_millis(10));
                let mut conn = store.conn.clone();
                loop {
                    tokio::time::sleep(every).await;
                    let renewed: ::redis::RedisResult<i64> = RENEW
                        .key(&key)
                        .arg(&owner)
                        .arg(millis(store.lease_ttl))
                        .invoke_async(&mut conn)
                        .await;
                    match renewed {
                        Ok(1) => {}
                        Ok(_) => {
                            tracing::warn!(key = %key, "fetch lease lost before its holder finished");
                            lost.store(true, Ordering::Release);
                            return;
                        }
                        Err(e) => tracing::debug!(key = %key, error = %e, "lease renewal failed; retrying"),
                    }
                }
            })
        });
        Self {
            store,
            key,
            fence_key,
            owner,
            fencing,
            lost,
            released: AtomicBool::new(false),
            renewal,
        }
    }

    async fn fenced_set(&self, keys: [&str; 2], value: &[u8], px: u64, mode: &str) -> Result<bool> {
        let written: i64 = FENCED_SET
            .key(keys[0])
            .key(keys[1])
            .arg(value)
            .arg(self.fencing)
            .arg(px)
            .arg(mode)
            .invoke_async(&mut self.store.conn.clone())
            .await
            .map_err(|e| self.store.failed("fenced write", e))?;
        Ok(written == 1)
    }
}

#[async_trait]
impl Lease for RedisLease {
    fn fencing_token(&self) -> u64 {
        self.fencing
    }

    async fn is_current(&self) -> Result<bool> {
        if self.lost.load(Ordering::Acquire) {
            return Ok(false);
        }
        let fence: Option<u64> = self
            .store
            .conn
            .clone()
            .get(&self.fence_key)
            .await
            .map_err(|e| self.store.failed("GET", e))?;
        Ok(fence == Some(self.fencing))
    }

    async fn put_fenced(&self, key: &CacheKey, token: &TokenSet) -> Result<bool> {
        let redis_key = self.store.key("token", &self.store.cipher.entry_name(key));
        let ttl = self.store.entry_ttl(token);
        let sealed = if ttl.is_zero() {
            Vec::new() // already useless: store nothing, and drop whatever was there
        } else {
            record::seal_token(&self.store.cipher, key, token)?
        };
        self.fenced_set([&redis_key, &self.fence_key], &sealed, millis(ttl), "eq")
            .await
    }

    async fn release(&self) {
        if let Some(renewal) = &self.renewal {
            renewal.abort();
        }
        if self.released.swap(true, Ordering::AcqRel) {
            return;
        }
        let released: ::redis::RedisResult<i64> = DELETE_IF_EQUAL
            .key(&self.key)
            .arg(&self.owner)
            .invoke_async(&mut self.store.conn.clone())
            .await;
        if let Err(e) = released {
            tracing::debug!(key = %self.key, error = %e, "lease release failed; it will expire");
        }
    }

    async fn set_secret_fenced(&self, name: &str, value: &Secret) -> Result<bool> {
        // The secret's key and the lease's counter may live in different Cluster slots, so the
        // atomic compare is against the newest fenced writer of this secret (same slot), after
        // checking that the lease is still current.
        if !self.is_current().await? {
            return Ok(false);
        }
        let digest = record::name_digest(name);
        let (redis_key, fence_key) = (
            self.store.key("secret", &digest),
            self.store.key("secret-fence", &digest),
        );
        let sealed = record::seal_secret(&self.store.cipher, name, value)?;
        self.fenced_set([&redis_key, &fence_key], &sealed, 0, "max")
            .await
    }
}

impl Drop for RedisLease {
    fn drop(&mut self) {
        if let Some(renewal) = self.renewal.take() {
            renewal.abort();
        }
        if *self.released.get_mut() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let mut conn = self.store.conn.clone();
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

/// Waits up to `wait` for the fetch lease on `key`.
pub(super) async fn acquire(
    store: &RedisStore,
    key: &CacheKey,
    wait: Duration,
) -> Result<Box<dyn Lease>> {
    let name = store.cipher.entry_name(key);
    let lease_key = store.key("lease", &name);
    let fence_key = store.key("fence", &name);
    let owner = crypto::random_hex(16)?;
    let mut conn = store.conn.clone();
    let deadline = Instant::now().checked_add(wait);
    loop {
        let fencing: u64 = ACQUIRE
            .key(&lease_key)
            .key(&fence_key)
            .arg(&owner)
            .arg(millis(store.lease_ttl))
            .invoke_async(&mut conn)
            .await
            .map_err(|e| store.failed("lease", e))?;
        if fencing > 0 {
            return Ok(Box::new(RedisLease::start(
                store.clone(),
                lease_key,
                fence_key,
                owner,
                fencing,
            )));
        }
        let left = deadline.map_or(Duration::MAX, |d| d - Instant::now().min(d));
        if left.is_zero() {
            return Err(Error::cache(format!(
                "timed out after {wait:?} waiting for the fetch lease on {} held by another \
                 broker",
                &name[..12]
            )));
        }
        let jitter = Duration::from_millis(rand::random_range(10..=40));
        tokio::time::sleep(left.min(jitter)).await;
    }
}
