//! The `[cache]` section: which shared tier backs the cache and how it behaves.

use std::path::PathBuf;

use serde_json::{Map, Value};

use crate::config_fields::Fields;
use crate::error::Result;
use crate::limits;

/// Most tokens `[cache] max_entries` may keep in memory.
const MAX_ENTRIES: u64 = 10_000_000;

/// Which shared tier backs the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreKind {
    /// Memory only: nothing survives the process.
    Memory,
    /// Encrypted files in the user cache dir, shared by every process on the machine.
    File,
    /// Redis, shared by a fleet.
    Redis,
}

/// `[cache]` settings.
#[derive(Debug, Clone)]
pub struct CacheConfig {
    /// The shared tier.
    pub store: StoreKind,
    /// Directory of the file store (default: the user cache dir).
    pub path: Option<PathBuf>,
    /// Redis URL (`redis://` or `rediss://`), for `store = "redis"` on one server.
    pub redis_url: Option<String>,
    /// Seed nodes of a Redis Cluster (instead of `redis_url`).
    pub redis_cluster_nodes: Vec<String>,
    /// Sentinels that name the current master (instead of `redis_url`).
    pub redis_sentinels: Vec<String>,
    /// The master's name at the sentinels, with `redis_sentinels`.
    pub redis_sentinel_master: Option<String>,
    /// Allows plain `redis://` to a host that is not loopback.
    pub allow_plaintext: bool,
    /// Prefix for every Redis key.
    pub redis_prefix: String,
    /// Most tokens kept in memory.
    pub max_entries: usize,
    /// Share of a token's lifetime after which it is refreshed in the background.
    pub refresh_share: f64,
    /// Random spread added to the refresh point, as a share of the lifetime.
    pub refresh_jitter: f64,
    /// Lifetime assumed when a provider sends no expiry, in seconds.
    pub default_ttl_secs: u64,
    /// How long a Redis fetch lease lives unless its holder renews it (`lease_ttl`).
    pub lease_ttl: std::time::Duration,
    /// How long a provider outage is shared with later callers when the server gave no
    /// `Retry-After` (`failure_hold`, at most 30 s).
    pub failure_hold: std::time::Duration,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            store: StoreKind::File,
            path: None,
            redis_url: None,
            redis_cluster_nodes: Vec::new(),
            redis_sentinels: Vec::new(),
            redis_sentinel_master: None,
            allow_plaintext: false,
            redis_prefix: "tokenbroker:".into(),
            max_entries: 10_000,
            refresh_share: 0.8,
            refresh_jitter: 0.05,
            default_ttl_secs: 300,
            lease_ttl: std::time::Duration::from_secs(30),
            failure_hold: limits::DEFAULT_FAILURE_HOLD,
        }
    }
}

pub(super) fn parse(map: Map<String, Value>) -> Result<CacheConfig> {
    let mut f = Fields::new("[cache]", map);
    let mut c = CacheConfig::default();
    if let Some(store) = f.string("store")? {
        c.store = match store.as_str() {
            "memory" => StoreKind::Memory,
            "file" => StoreKind::File,
            "redis" => StoreKind::Redis,
            other => {
                return Err(f.error(
                    "store",
                    format!("'{other}' is not one of memory, file, redis"),
                ));
            }
        };
    }
    c.path = f.string("path")?.map(PathBuf::from);
    super::redis::parse(&mut f, &mut c)?;
    if let Some(prefix) = f.string("redis_prefix")? {
        c.redis_prefix = prefix;
    }
    if let Some(n) = f.number("max_entries")? {
        c.max_entries = limits::count(n, 1..=MAX_ENTRIES).ok_or_else(|| {
            f.error(
                "max_entries",
                format!("must be a whole number from 1 to {MAX_ENTRIES}"),
            )
        })? as usize;
    }
    if let Some(share) = f.number("refresh_share")? {
        if !(0.1..=0.99).contains(&share) {
            return Err(f.error("refresh_share", "must be between 0.1 and 0.99"));
        }
        c.refresh_share = share;
    }
    if let Some(j) = f.number("refresh_jitter")? {
        if !(0.0..=0.2).contains(&j) {
            return Err(f.error("refresh_jitter", "must be between 0 and 0.2"));
        }
        c.refresh_jitter = j;
    }
    if let Some(ttl) = f.number("default_ttl")? {
        let ttl =
            limits::span(ttl).ok_or_else(|| f.error("default_ttl", limits::out_of_range()))?;
        c.default_ttl_secs = ttl.as_secs().max(1);
    }
    if let Some(ttl) = f.number("lease_ttl")? {
        if !(0.1..=3600.0).contains(&ttl) {
            return Err(f.error("lease_ttl", "must be between 0.1 and 3600 seconds"));
        }
        c.lease_ttl = std::time::Duration::from_secs_f64(ttl);
    }
    if let Some(hold) = f.number("failure_hold")? {
        let max = limits::MAX_FAILURE_HOLD.as_secs_f64();
        if !(1.0..=max).contains(&hold) {
            return Err(f.error(
                "failure_hold",
                format!("must be between 1 and {max} seconds"),
            ));
        }
        c.failure_hold = std::time::Duration::from_secs_f64(hold);
    }
    let mut known = vec![
        "store",
        "path",
        "redis_prefix",
        "max_entries",
        "refresh_share",
        "refresh_jitter",
        "default_ttl",
        "lease_ttl",
        "failure_hold",
    ];
    known.extend(super::redis::KEYS);
    f.finish(&known)?;
    Ok(c)
}
