//! The Redis tier against a real `redis-server` started per test on 127.0.0.1.

#[path = "support/fixtures.rs"]
mod fixtures;
#[path = "support/lease.rs"]
mod lease;
#[path = "support/redis.rs"]
mod redis_server;

use std::time::{Duration, Instant, SystemTime};

use redis::AsyncCommands;
use redis_server::RedisServer;
use tokenbroker::advanced::cache::{CacheCipher, CacheKey, RedisStore, SecretStore, SharedStore};
use tokenbroker::{ErrorKind, Secret, TokenSet};

const KEY: [u8; 32] = [0x33; 32];
const PREFIX: &str = "tb-test:";

fn key(subject: &str) -> CacheKey {
    fixtures::cache_key(subject, &["api"])
}

fn token(access: &str, expires_in: Duration, refresh: Option<&str>) -> TokenSet {
    fixtures::token_set(access, expires_in, &["api"], refresh)
}

/// `key`'s Redis key of `kind` (`token`, `lease`, …) under [`KEY`].
fn entry_key(kind: &str, key: &CacheKey) -> String {
    let name = CacheCipher::from_bytes(&KEY).unwrap().entry_name(key);
    format!("{PREFIX}{kind}:{{{name}}}")
}

async fn broker(server: &RedisServer) -> RedisStore {
    let cipher = CacheCipher::from_bytes(&KEY).unwrap();
    RedisStore::connect(&server.url(), PREFIX, cipher)
        .await
        .unwrap()
}

async fn raw(server: &RedisServer) -> redis::aio::MultiplexedConnection {
    let client = redis::Client::open(server.url()).unwrap();
    client.get_multiplexed_async_connection().await.unwrap()
}

#[tokio::test]
async fn round_trip_between_two_brokers_encrypted_at_rest() {
    let Some(server) = RedisServer::start(None) else {
        return;
    };
    let (a, b) = (broker(&server).await, broker(&server).await);
    let k = key("alice");
    assert!(b.get(&k).await.unwrap().is_none());
    a.put(
        &k,
        &token("at-redis-1", Duration::from_secs(600), Some("rt-redis-1")),
    )
    .await
    .unwrap();

    let got = b
        .get(&k)
        .await
        .unwrap()
        .expect("visible to the other broker");
    assert_eq!(got.access_token.expose(), "at-redis-1");
    assert_eq!(got.refresh_token.unwrap().expose(), "rt-redis-1");

    let mut conn = raw(&server).await;
    let redis_key = entry_key("token", &k);
    let stored: Vec<u8> = conn.get(&redis_key).await.unwrap();
    let text = String::from_utf8_lossy(&stored);
    assert!(stored.starts_with(b"TBKC\x01"));
    assert!(!text.contains("at-redis-1") && !text.contains("rt-redis") && !text.contains("login"));

    // A value copied under another key's name does not open: skipped, counted, kept.
    let other = key("mallory");
    let other_key = entry_key("token", &other);
    let _: () = conn.set(&other_key, &stored).await.unwrap();
    assert!(b.get(&other).await.unwrap().is_none());
    assert!(conn.exists::<_, bool>(&other_key).await.unwrap());
    assert_eq!(b.undecryptable(), 1);
    let _: () = conn.del(&other_key).await.unwrap();

    // Garbage under a real key reads as absent and is kept (it may be another tenant's).
    let junk = key("junk");
    let junk_key = entry_key("token", &junk);
    let _: () = conn.set(&junk_key, "garbage").await.unwrap();
    let list = a.list().await.unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0].key, k.canonical());
    assert!(list[0].has_refresh_token);
    assert!(conn.exists::<_, bool>(&junk_key).await.unwrap());
    assert_eq!(a.undecryptable(), 1);
    let _: () = conn.del(&junk_key).await.unwrap();
    let shown = format!("{list:?} {a:?}");
    assert!(
        !shown.contains("at-redis-1") && !shown.contains("rt-redis-1"),
        "{shown}"
    );

    a.set_secret("refresh:alice", &Secret::new("rt-kept"))
        .await
        .unwrap();
    a.clear().await.unwrap();
    assert!(b.get(&k).await.unwrap().is_none());
    assert!(b.list().await.unwrap().is_empty());
    assert_eq!(
        b.get_secret("refresh:alice")
            .await
            .unwrap()
            .unwrap()
            .expose(),
        "rt-kept"
    );
    b.delete_secret("refresh:alice").await.unwrap();
    assert!(a.get_secret("refresh:alice").await.unwrap().is_none());
    a.put(&k, &token("at-2", Duration::from_secs(600), None))
        .await
        .unwrap();
    a.remove(&k).await.unwrap();
    assert!(b.get(&k).await.unwrap().is_none());
}

#[tokio::test]
async fn entries_expire_with_the_token_plus_grace_for_refresh_tokens() {
    let Some(server) = RedisServer::start(None) else {
        return;
    };
    let store = broker(&server)
        .await
        .with_refresh_grace(Duration::from_secs(100));
    let mut conn = raw(&server).await;
    let (short, refreshable, dead) = (key("short"), key("refreshable"), key("dead"));
    let name = |k: &CacheKey| entry_key("token", k);

    store
        .put(&short, &token("at-short", Duration::from_millis(700), None))
        .await
        .unwrap();
    store
        .put(
            &refreshable,
            &token("at-r", Duration::from_secs(10), Some("rt")),
        )
        .await
        .unwrap();
    let short_ttl: i64 = conn.pttl(name(&short)).await.unwrap();
    assert!(
        (1..=700).contains(&short_ttl),
        "PX follows the token: {short_ttl}"
    );
    let refresh_ttl: i64 = conn.pttl(name(&refreshable)).await.unwrap();
    assert!(
        (100_000..=110_000).contains(&refresh_ttl),
        "grace added: {refresh_ttl}"
    );

    assert!(store.get(&short).await.unwrap().is_some());
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert!(store.get(&short).await.unwrap().is_none());
    assert!(
        !conn.exists::<_, bool>(name(&short)).await.unwrap(),
        "Redis expired it"
    );

    let mut expired = token("at-dead", Duration::ZERO, None);
    expired.expires_at = SystemTime::now() - Duration::from_secs(5);
    store.put(&dead, &expired).await.unwrap();
    assert!(
        !conn.exists::<_, bool>(name(&dead)).await.unwrap(),
        "nothing stored"
    );
}

#[tokio::test]
async fn lease_excludes_another_broker_and_is_released_on_drop() {
    let Some(server) = RedisServer::start(None) else {
        return;
    };
    let (a, b) = (broker(&server).await, broker(&server).await);
    lease::check_lease_exclusion(
        &a,
        &b,
        &key("lease"),
        &key("other"),
        Duration::from_millis(250),
        Duration::from_secs(5),
    )
    .await;
}

#[tokio::test]
async fn a_paused_holder_loses_its_lease_and_its_late_release_spares_the_new_holder() {
    let Some(server) = RedisServer::start(None) else {
        return;
    };
    let url = server.url();
    let k = key("stuck");
    // The holder runs on its own single-threaded runtime: while its thread is blocked (a GC
    // pause, a stopped VM) nothing renews its lease.
    let (taken_tx, taken_rx) = std::sync::mpsc::channel::<()>();
    let (resume_tx, resume_rx) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn({
        let k = k.clone();
        move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let cipher = CacheCipher::from_bytes(&KEY).unwrap();
                let a = RedisStore::connect(&url, PREFIX, cipher)
                    .await
                    .unwrap()
                    .with_lease_ttl(Duration::from_millis(400));
                let stuck = a.lease(&k, Duration::ZERO).await.unwrap();
                taken_tx.send(()).unwrap();
                resume_rx.recv().unwrap(); // paused: the runtime does not run
                let late = token("at-late", Duration::from_secs(600), Some("rt-late"));
                let refused = !stuck.put_fenced(&k, &late).await.unwrap();
                let fence = stuck.fencing_token();
                drop(stuck); // wakes up late: its release must not free the new lease
                tokio::time::sleep(Duration::from_millis(100)).await;
                (refused, fence)
            })
        }
    });
    taken_rx.recv().unwrap();
    let b = broker(&server).await;
    let started = Instant::now();
    let taken = b.lease(&k, Duration::from_secs(5)).await.unwrap();
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(300),
        "got it too early: {waited:?}"
    );
    assert!(
        waited < Duration::from_secs(2),
        "lease did not expire: {waited:?}"
    );
    resume_tx.send(()).unwrap();
    let (refused, old_fence) = tokio::task::spawn_blocking(move || holder.join().unwrap())
        .await
        .unwrap();
    assert!(refused, "the paused holder's late write was refused");
    assert!(taken.fencing_token() > old_fence);
    assert!(b.get(&k).await.unwrap().is_none());
    assert!(b.lease(&k, Duration::from_millis(100)).await.is_err());
    drop(taken);
}

#[tokio::test]
async fn lease_is_renewed_while_its_holder_works() {
    let Some(server) = RedisServer::start(None) else {
        return;
    };
    let ttl = Duration::from_millis(300);
    let a = broker(&server).await.with_lease_ttl(ttl);
    let b = broker(&server).await;
    lease::check_lease_renewed_while_held(&a, &b, &key("renewed"), ttl).await;
}

#[tokio::test]
async fn writes_under_a_lost_lease_are_refused() {
    let Some(server) = RedisServer::start(None) else {
        return;
    };
    let (a, b) = (broker(&server).await, broker(&server).await);
    let k = key("fenced");
    let mut conn = raw(&server).await;
    let lease_key = entry_key("lease", &k);
    // The lease key gone (expired during a pause, lost in a failover).
    let lose = async move {
        let _: i64 = conn.del(lease_key).await.unwrap();
    };
    lease::check_fenced_writes(&a, &b, &k, lose).await;
}

#[tokio::test]
async fn password_auth_works_and_a_wrong_password_is_never_echoed() {
    let Some(server) = RedisServer::start(Some("right-pass-8d1f")) else {
        return;
    };
    let store = broker(&server).await;
    store
        .put(
            &key("auth"),
            &token("at-auth", Duration::from_secs(60), None),
        )
        .await
        .unwrap();
    assert!(store.get(&key("auth")).await.unwrap().is_some());
    assert!(!format!("{store:?}").contains("right-pass-8d1f"));

    let url = format!("redis://:wrong-pass-77c2@127.0.0.1:{}/", server.port());
    let cipher = CacheCipher::from_bytes(&KEY).unwrap();
    let err = RedisStore::connect(&url, PREFIX, cipher).await.unwrap_err();
    let text = err.to_string();
    assert_eq!(err.kind(), ErrorKind::Cache);
    assert!(
        text.contains(&format!("127.0.0.1:{}", server.port())),
        "{text}"
    );
    assert!(!text.contains("wrong-pass-77c2") && !format!("{err:?}").contains("wrong-pass"));
    eprintln!("{text}");
}

#[tokio::test]
async fn rediss_urls_use_tls_and_refuse_an_untrusted_certificate() {
    let dir = std::env::temp_dir().join(format!("tb-redis-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let Some(server) = RedisServer::start_tls(&dir) else {
        return;
    };
    // The server speaks TLS only: a plain connection must fail...
    let plain = format!("redis://127.0.0.1:{}/", server.port());
    let cipher = CacheCipher::from_bytes(&KEY).unwrap();
    assert!(
        RedisStore::connect(&plain, PREFIX, cipher.clone())
            .await
            .is_err()
    );
    // ...and a TLS one gets as far as the handshake, which rejects the self-signed certificate.
    let url = format!("rediss://user:tls-pass-51ab@127.0.0.1:{}/", server.port());
    let err = RedisStore::connect(&url, PREFIX, cipher).await.unwrap_err();
    let text = err.to_string();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(text.to_lowercase().contains("certificate"), "{text}");
    assert!(
        text.contains("rediss://127.0.0.1:") && !text.contains("tls-pass-51ab"),
        "{text}"
    );
    eprintln!("{text}");
}

#[tokio::test]
async fn secrets_stored_before_hash_tags_are_still_read_and_deleted() {
    let Some(server) = RedisServer::start(None) else {
        return;
    };
    let store = broker(&server).await;
    store
        .set_secret("refresh/old", &Secret::new("rt-from-before"))
        .await
        .unwrap();
    // Move it to the name an older version used: `{prefix}secret:{digest}` without braces.
    let mut conn = raw(&server).await;
    let keys: Vec<String> = conn.keys(format!("{PREFIX}secret:*")).await.unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    let legacy = keys[0].replace(['{', '}'], "");
    assert_ne!(legacy, keys[0], "the current name carries a hash tag");
    let _: () = conn.rename(&keys[0], &legacy).await.unwrap();

    let got = store
        .get_secret("refresh/old")
        .await
        .unwrap()
        .expect("legacy name read");
    assert_eq!(got.expose(), "rt-from-before");
    store.delete_secret("refresh/old").await.unwrap();
    assert!(!conn.exists::<_, bool>(&legacy).await.unwrap());
    assert!(store.get_secret("refresh/old").await.unwrap().is_none());
}
