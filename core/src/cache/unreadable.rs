//! Entries a tier cannot open: another tenant's (a different cache key under the same Redis
//! prefix or directory), or damaged. They are skipped and counted, never deleted.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::error::Error;

/// Counts the entries a store skipped because they do not open with its key, and logs the
/// first one.
#[derive(Debug, Default)]
pub(crate) struct Unreadable {
    count: AtomicU64,
    logged: AtomicBool,
}

impl Unreadable {
    /// Records one skipped entry. `location` names it (a file or a Redis key, never a value);
    /// `why` is the opening error, which holds no secret.
    pub(crate) fn skip(&self, location: &str, why: &Error) {
        self.count.fetch_add(1, Ordering::Relaxed);
        if !self.logged.swap(true, Ordering::Relaxed) {
            tracing::warn!(entry = %location, reason = %why,
                "skipping a cache entry that does not open with this cache key (another \
                 tenant's, or damaged); it is kept. Further ones are counted in stats \
                 `undecryptable`");
        } else {
            tracing::debug!(entry = %location, reason = %why, "skipping unreadable cache entry");
        }
    }

    /// How many entries were skipped so far.
    pub(crate) fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}
