//! The memory side of shared failures: provider failures this broker saw or read from the
//! shared tier, by cache key, until they lapse.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::SystemTime;

use super::Inner;
use crate::cache::{CacheKey, FailureRecord, SharedStore};
use crate::error::Error;

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

impl Inner {
    /// The failure another caller published for `key` in the shared tier, remembered in
    /// memory too.
    pub(super) async fn shared_failure(
        &self,
        store: &dyn SharedStore,
        key: &CacheKey,
    ) -> Option<Error> {
        match store.failure(key).await {
            Ok(Some(record)) => {
                tracing::debug!("failing fast: the provider failed for another caller");
                let error = record.to_error();
                self.failures.insert(key, record);
                Some(error)
            }
            Ok(None) => None,
            Err(e) => {
                self.store_error(&e);
                None
            }
        }
    }

    /// Publishes `error`, when it is a provider outage, in memory and in `store` for the
    /// callers that come after.
    pub(super) async fn publish_failure(
        &self,
        store: Option<&dyn SharedStore>,
        key: &CacheKey,
        error: &Error,
    ) {
        // The HTTP layer does not hand the final answer's Retry-After up yet: the default
        // hold applies until errors carry it.
        let retry_after = None;
        if let Some(record) = FailureRecord::from_error(
            error,
            retry_after,
            self.config.cache.failure_hold,
            SystemTime::now(),
        ) {
            if let Some(store) = store {
                if let Err(e) = store.put_failure(key, &record).await {
                    self.store_error(&e);
                }
            }
            self.failures.insert(key, record);
        }
    }
}
