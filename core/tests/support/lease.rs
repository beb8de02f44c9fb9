//! The lease contract every `SharedStore` keeps, checked against the file store and Redis.

use std::time::{Duration, Instant};

use tokenbroker::ErrorKind;
use tokenbroker::advanced::cache::{CacheKey, SharedStore};

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

/// A token issued now, valid for ten minutes, holding `refresh`.
pub fn fresh_token(access: &str, refresh: &str) -> tokenbroker::TokenSet {
    let now = std::time::SystemTime::now();
    tokenbroker::TokenSet {
        access_token: tokenbroker::Secret::new(access),
        token_type: "Bearer".into(),
        expires_at: now + Duration::from_secs(600),
        issued_at: now,
        scopes: vec!["api".into()],
        refresh_token: Some(tokenbroker::Secret::new(refresh)),
        id_token: None,
        refresh_in: None,
    }
}

/// A holder that keeps working holds its lease well past the lease's lifetime `ttl`: the
/// lease is renewed while its guard lives, and freed when it is dropped.
pub async fn check_lease_renewed_while_held(
    holder: &dyn SharedStore,
    other: &dyn SharedStore,
    key: &CacheKey,
    ttl: Duration,
) {
    let held = holder.lease(key, Duration::ZERO).await.unwrap();
    tokio::time::sleep(ttl * 3).await;
    assert!(
        other.lease(key, Duration::ZERO).await.is_err(),
        "the lease expired while its holder was working"
    );
    assert!(held.is_current().await.unwrap());
    drop(held);
    other.lease(key, Duration::from_secs(2)).await.unwrap();
}

/// Writes under a lease are fenced: `lose` takes the lease away from the holder (an expiry
/// during a pause, a lock file replaced); then a new holder writes, and the old holder's late
/// token and secret writes are refused and leave the new holder's values in place.
pub async fn check_fenced_writes<S>(
    holder: &S,
    other: &S,
    key: &CacheKey,
    lose: impl std::future::Future<Output = ()>,
) where
    S: SharedStore + tokenbroker::SecretStore,
{
    let old = holder.lease(key, Duration::ZERO).await.unwrap();
    assert!(old.is_current().await.unwrap());
    assert!(
        old.put_fenced(key, &fresh_token("at-1", "rt-1"))
            .await
            .unwrap()
    );
    assert!(
        old.set_secret_fenced("fenced-rt", &"rt-1".into())
            .await
            .unwrap()
    );
    lose.await;
    let new = other.lease(key, Duration::from_secs(2)).await.unwrap();
    assert!(new.fencing_token() > old.fencing_token());
    assert!(
        new.put_fenced(key, &fresh_token("at-2", "rt-2"))
            .await
            .unwrap()
    );
    assert!(
        new.set_secret_fenced("fenced-rt", &"rt-2".into())
            .await
            .unwrap()
    );

    assert!(!old.is_current().await.unwrap());
    let late = fresh_token("at-3", "rt-3");
    assert!(
        !old.put_fenced(key, &late).await.unwrap(),
        "late token write"
    );
    assert!(
        !old.set_secret_fenced("fenced-rt", &"rt-3".into())
            .await
            .unwrap(),
        "late secret write"
    );
    let stored = other.get(key).await.unwrap().unwrap();
    assert_eq!(stored.access_token.expose(), "at-2");
    let secret = other.get_secret("fenced-rt").await.unwrap().unwrap();
    assert_eq!(secret.expose(), "rt-2");
    drop((old, new));
}
