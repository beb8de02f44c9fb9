//! The lease contract every `SharedStore` keeps, checked against the file store and Redis.

use std::time::{Duration, Instant};

use tokenbroker::ErrorKind;
use tokenbroker::cache::{CacheKey, SharedStore};

/// `holder` takes the lease on `key`; `other` must time out after `wait` with a cache error,
/// must still get a lease on `unrelated`, and once the holder drops its lease must get `key`
/// within `release_wait` (and within 1 s: released, not left to expire) with a larger
/// fencing token.
pub async fn check_lease_exclusion(
    holder: &dyn SharedStore,
    other: &dyn SharedStore,
    key: &CacheKey,
    unrelated: &CacheKey,
    wait: Duration,
    release_wait: Duration,
) {
    let held = holder.lease(key, Duration::from_secs(1)).await.unwrap();
    let started = Instant::now();
    let err = other
        .lease(key, wait)
        .await
        .err()
        .expect("the lease is held");
    assert!(started.elapsed() >= wait);
    assert_eq!(err.kind(), ErrorKind::Cache);
    assert!(err.to_string().contains("timed out"), "{err}");
    let free = other.lease(unrelated, Duration::ZERO).await.unwrap();

    let fence = held.fencing_token();
    drop(held);
    let started = Instant::now();
    let next = other.lease(key, release_wait).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "released, not expired"
    );
    assert!(next.fencing_token() > fence);
    drop(free);
}
