//! The memory tier: O(1) lookups under many threads, bounded by a cap.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use std::sync::RwLock;

use crate::locks;

use crate::cache::CacheKey;
use crate::token::AccessToken;

/// One cached token and its refresh bookkeeping.
#[derive(Debug)]
pub struct Entry {
    /// The token handed out on hits.
    pub token: AccessToken,
    /// When a background refresh should start.
    pub refresh_at: SystemTime,
    /// Set while a background refresh runs, so only one starts.
    pub refreshing: AtomicBool,
    /// Earliest time of the next background attempt after a failed one (unix ms; 0 = none).
    pub retry_at_ms: AtomicU64,
    /// Failed background attempts so far (for backoff).
    pub failures: AtomicU64,
    last_used: AtomicU64,
}

/// What a lookup found.
#[derive(Debug)]
pub enum Lookup {
    /// A token valid for at least the requested time, and its entry when the entry is past
    /// its refresh point (the caller starts the background refresh).
    Hit(AccessToken, Option<Arc<Entry>>),
    /// Nothing usable.
    Miss,
}

/// A bounded map from cache key to token.
///
/// Reads take a shared lock and clone one `Arc`; nothing is allocated on a hit. When an
/// insert finds the map at its cap, expired entries go first, then the least recently used
/// eighth of the map, so eviction cost is amortised over many inserts.
#[derive(Debug)]
pub struct MemoryCache {
    map: RwLock<HashMap<CacheKey, Arc<Entry>, KeyHashing>>,
    cap: usize,
    /// Bumped by every `clear`: a fetch that saw it change may have read an entry that was
    /// invalidated meanwhile.
    epoch: AtomicU64,
}

impl MemoryCache {
    /// An empty cache holding at most `cap` tokens.
    pub fn new(cap: usize) -> Self {
        Self {
            map: RwLock::new(HashMap::with_capacity_and_hasher(
                cap.min(1024),
                KeyHashing::default(),
            )),
            cap: cap.max(1),
            epoch: AtomicU64::new(0),
        }
    }

    /// The token for `key` if it stays valid for at least `min_ttl` after `now`.
    #[inline]
    pub fn get(&self, key: &CacheKey, now: SystemTime, min_ttl: Duration) -> Lookup {
        let map = locks::read(&self.map);
        let Some(entry) = map.get(key) else {
            return Lookup::Miss;
        };
        // A min_ttl past the end of time asks for more than any token has.
        if now
            .checked_add(min_ttl)
            .is_none_or(|wanted| entry.token.expires_at() <= wanted)
        {
            return Lookup::Miss;
        }
        let tick = coarse_tick(now);
        // Written only when it changes, so concurrent hits do not contend on the line.
        if entry.last_used.load(Ordering::Relaxed) != tick {
            entry.last_used.store(tick, Ordering::Relaxed);
        }
        let due = (now >= entry.refresh_at).then(|| entry.clone());
        Lookup::Hit(entry.token.clone(), due)
    }

    /// Stores `token` under `key`, to be refreshed in the background from `refresh_at`.
    pub fn insert(&self, key: CacheKey, token: AccessToken, refresh_at: SystemTime) -> Arc<Entry> {
        let entry = Arc::new(Entry {
            token,
            refresh_at,
            refreshing: AtomicBool::new(false),
            retry_at_ms: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            last_used: AtomicU64::new(coarse_tick(SystemTime::now())),
        });
        let mut map = locks::write(&self.map);
        if map.len() >= self.cap && !map.contains_key(&key) {
            evict(&mut map, self.cap);
        }
        map.insert(key, entry.clone());
        entry
    }

    /// Forgets `key`.
    pub fn remove(&self, key: &CacheKey) {
        locks::write(&self.map).remove(key);
    }

    /// Forgets everything.
    pub fn clear(&self) {
        locks::write(&self.map).clear();
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }

    /// A number that changes with every `clear`.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Write-locks the map until the guard drops (held across a fork, see `crate::fork`).
    pub(crate) fn lock_for_fork(&self) -> impl Sized + '_ {
        locks::write(&self.map)
    }

    /// Number of cached tokens.
    pub fn len(&self) -> usize {
        locks::read(&self.map).len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The map's hashing. A [`CacheKey`] hashes as 8 bytes of its SHA-256, which SipHash (the
/// default) would spend ~20 ns on per lookup; foldhash mixes them with a per-map random seed
/// in a few, so that nobody who can choose scopes can aim keys at one bucket.
type KeyHashing = foldhash::fast::RandomState;

/// Recency in 10 ms steps: fine enough for LRU, coarse enough to be rarely written.
fn coarse_tick(now: SystemTime) -> u64 {
    now.duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64
        / 10
}

fn evict(map: &mut HashMap<CacheKey, Arc<Entry>, KeyHashing>, cap: usize) {
    let now = SystemTime::now();
    map.retain(|_, e| e.token.expires_at() > now);
    if map.len() < cap {
        return;
    }
    let drop_count = (cap / 8).max(1);
    let mut ages: Vec<u64> = map
        .values()
        .map(|e| e.last_used.load(Ordering::Relaxed))
        .collect();
    let (_, cutoff, _) = ages.select_nth_unstable(drop_count - 1);
    let cutoff = *cutoff;
    let mut dropped = 0;
    map.retain(|_, e| {
        let old = e.last_used.load(Ordering::Relaxed) <= cutoff && dropped < drop_count;
        dropped += usize::from(old);
        !old
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::KeyParts;
    use crate::secret::Secret;
    use crate::token::TokenSet;

    fn key(n: usize) -> CacheKey {
        let scopes = vec![format!("s{n}")];
        CacheKey::new(&KeyParts {
            token_url: "http://127.0.0.1/t",
            client_id: "c",
            grant: "client_credentials",
            scopes: &scopes,
            ..Default::default()
        })
    }

    fn token(ttl: u64) -> AccessToken {
        let now = SystemTime::now();
        AccessToken::new(TokenSet {
            access_token: Secret::new("t"),
            token_type: "Bearer".into(),
            expires_at: now + Duration::from_secs(ttl),
            issued_at: now,
            scopes: vec![],
            refresh_token: None,
            id_token: None,
            refresh_in: None,
        })
    }

    #[test]
    fn min_ttl_turns_a_short_lived_hit_into_a_miss() {
        let cache = MemoryCache::new(10);
        cache.insert(key(1), token(60), SystemTime::now());
        let now = SystemTime::now();
        assert!(matches!(
            cache.get(&key(1), now, Duration::ZERO),
            Lookup::Hit(..)
        ));
        assert!(matches!(
            cache.get(&key(1), now, Duration::from_secs(30)),
            Lookup::Hit(..)
        ));
        assert!(matches!(
            cache.get(&key(1), now, Duration::from_secs(61)),
            Lookup::Miss
        ));
        assert!(matches!(
            cache.get(&key(2), now, Duration::ZERO),
            Lookup::Miss
        ));
    }

    /// A `min_ttl` past the end of time (the sidecar's `?min_ttl=18446744073709551615`) is a
    /// miss, not an overflow panic.
    #[test]
    fn min_ttl_beyond_the_clock_is_a_miss() {
        let cache = MemoryCache::new(10);
        cache.insert(key(1), token(60), SystemTime::now());
        let now = SystemTime::now();
        for min_ttl in [Duration::from_secs(u64::MAX), Duration::MAX] {
            assert!(matches!(cache.get(&key(1), now, min_ttl), Lookup::Miss));
        }
    }

    #[test]
    fn cap_evicts_least_recently_used_first() {
        let cache = MemoryCache::new(16);
        for n in 0..16 {
            cache.insert(key(n), token(60), SystemTime::now());
        }
        std::thread::sleep(Duration::from_millis(25));
        let now = SystemTime::now();
        for n in 2..16 {
            assert!(matches!(
                cache.get(&key(n), now, Duration::ZERO),
                Lookup::Hit(..)
            ));
        }
        cache.insert(key(100), token(60), SystemTime::now());
        assert!(cache.len() <= 16);
        assert!(matches!(
            cache.get(&key(0), now, Duration::ZERO),
            Lookup::Miss
        ));
        assert!(matches!(
            cache.get(&key(100), now, Duration::ZERO),
            Lookup::Hit(..)
        ));
        assert!(matches!(
            cache.get(&key(15), now, Duration::ZERO),
            Lookup::Hit(..)
        ));
    }

    #[test]
    fn expired_entries_go_before_live_ones() {
        let cache = MemoryCache::new(4);
        cache.insert(key(0), token(0), SystemTime::now());
        for n in 1..4 {
            cache.insert(key(n), token(60), SystemTime::now());
        }
        cache.insert(key(9), token(60), SystemTime::now());
        assert_eq!(cache.len(), 4);
        let now = SystemTime::now();
        for n in [1, 2, 3, 9] {
            assert!(
                matches!(cache.get(&key(n), now, Duration::ZERO), Lookup::Hit(..)),
                "{n}"
            );
        }
    }
}
