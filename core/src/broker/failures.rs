//! The memory side of shared failures: provider failures this broker saw or read from the
//! shared tier, by cache key, until they lapse.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::SystemTime;

use crate::cache::{CacheKey, FailureRecord};

/// Recent provider failures by cache key.
#[derive(Debug, Default)]
pub(crate) struct Failures {
    records: Mutex<HashMap<CacheKey, FailureRecord>>,
}

impl Failures {
    /// The failure recorded for `key` if it still applies at `now`; lapsed ones are dropped.
    pub(crate) fn get(&self, key: &CacheKey, now: SystemTime) -> Option<FailureRecord> {
        let mut records = crate::locks::lock(&self.records);
        records.retain(|_, r| r.is_active(now));
        records.get(key).cloned()
    }

    /// Remembers `record` for `key`.
    pub(crate) fn insert(&self, key: &CacheKey, record: FailureRecord) {
        crate::locks::lock(&self.records).insert(key.clone(), record);
    }

    /// Forgets the failure for `key` (a fetch succeeded).
    pub(crate) fn clear(&self, key: &CacheKey) {
        crate::locks::lock(&self.records).remove(key);
    }

    /// Holds the lock across a fork.
    pub(crate) fn lock_for_fork(&self) -> impl Sized + '_ {
        crate::locks::lock(&self.records)
    }
}
