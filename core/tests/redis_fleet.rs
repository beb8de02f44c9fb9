//! The Redis tier on a real Redis Cluster (3 masters) and on a master + replica followed
//! through 3 Sentinels, all started per test on 127.0.0.1.

#[path = "support/fixtures.rs"]
mod fixtures;
#[allow(dead_code)]
#[path = "support/lease.rs"]
mod lease;
#[path = "support/redis_fleet.rs"]
mod redis_fleet;

use std::time::Duration;

use redis_fleet::{MASTER_NAME, RedisCluster, RedisSentinels, cli};
use tokenbroker::advanced::cache::{
    CacheCipher, CacheKey, RedisStore, RedisTopology, SecretStore, SharedStore,
};
use tokenbroker::{Secret, TokenSet};

const KEY: [u8; 32] = [0x44; 32];
const PREFIX: &str = "tb-fleet:";

fn key(subject: &str) -> CacheKey {
    fixtures::cache_key(subject, &["api"])
}

fn token(access: &str, refresh: Option<&str>) -> TokenSet {
    fixtures::token_set(access, Duration::from_secs(600), &["api"], refresh)
}

async fn store(topology: &RedisTopology) -> RedisStore {
    let cipher = CacheCipher::from_bytes(&KEY).unwrap();
    RedisStore::connect_to(topology, PREFIX, cipher)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_cluster_keeps_entries_on_every_master_and_lists_and_clears_them_all() {
    let Some(cluster) = RedisCluster::start() else {
        return;
    };
    let topology = RedisTopology::Cluster(cluster.urls());
    let (a, b) = (store(&topology).await, store(&topology).await);
    let keys: Vec<CacheKey> = (0..30).map(|i| key(&format!("user-{i}"))).collect();
    for (i, k) in keys.iter().enumerate() {
        a.put(k, &token(&format!("at-{i}"), Some("rt")))
            .await
            .unwrap();
    }
    let per_node = cluster.keys_per_node();
    assert!(per_node.iter().all(|n| *n > 0), "spread: {per_node:?}");
    let got = b
        .get(&keys[7])
        .await
        .unwrap()
        .expect("seen by another broker");
    assert_eq!(got.access_token.expose(), "at-7");

    // An entry, its lease and its fence hash to one slot, so one script can touch them all.
    let digest = CacheCipher::from_bytes(&KEY).unwrap().entry_name(&keys[3]);
    let slots: Vec<String> = ["token", "lease", "fence"]
        .iter()
        .map(|kind| {
            cli(
                cluster.ports()[0],
                &[
                    "cluster",
                    "keyslot",
                    &format!("{PREFIX}{kind}:{{{digest}}}"),
                ],
            )
        })
        .collect();
    assert!(slots.iter().all(|s| *s == slots[0]), "{slots:?}");
    let lease = a.lease(&keys[3], Duration::from_secs(1)).await.unwrap();
    assert!(lease.fencing_token() > 0);
    drop(lease);

    let listed = b.list().await.unwrap();
    assert_eq!(listed.len(), 30, "every master scanned");
    b.set_secret("refresh/p", &Secret::new("rt-secret"))
        .await
        .unwrap();
    b.clear().await.unwrap();
    assert!(a.list().await.unwrap().is_empty());
    assert!(a.get(&keys[0]).await.unwrap().is_none());
    let kept = a
        .get_secret("refresh/p")
        .await
        .unwrap()
        .expect("secrets survive clear");
    assert_eq!(kept.expose(), "rt-secret");
}

#[tokio::test]
async fn the_lease_excludes_another_broker_on_a_cluster() {
    let Some(cluster) = RedisCluster::start() else {
        return;
    };
    let topology = RedisTopology::Cluster(cluster.urls());
    let (a, b) = (store(&topology).await, store(&topology).await);
    lease::check_lease_exclusion(
        &a,
        &b,
        &key("lease"),
        &key("other"),
        Duration::from_millis(250),
        Duration::from_secs(5),
    )
    .await;

    // Renewal, and fenced writes (scripts over a key and its fence, which share a slot),
    // work on a cluster too.
    let ttl = Duration::from_secs(2);
    let (c, d) = (
        store(&topology).await.with_lease_ttl(ttl),
        store(&topology).await.with_lease_ttl(ttl),
    );
    lease::check_lease_renewed_while_held(&c, &d, &key("renewed"), ttl).await;
    let k = key("fenced");
    let name = CacheCipher::from_bytes(&KEY).unwrap().entry_name(&k);
    let lease_key = format!("{PREFIX}lease:{{{name}}}");
    let port = cluster.ports()[0].to_string();
    let lose = async move {
        let out = std::process::Command::new("redis-cli")
            .args(["-c", "-h", "127.0.0.1", "-p", &port, "DEL", &lease_key])
            .output()
            .unwrap();
        assert!(out.status.success());
    };
    lease::check_fenced_writes(&a, &b, &k, lose).await;
}

#[tokio::test]
async fn sentinel_failover_keeps_every_acknowledged_write_and_follows_the_new_master() {
    let Some(mut fleet) = RedisSentinels::start() else {
        return;
    };
    let topology = RedisTopology::Sentinel {
        sentinels: fleet.sentinel_urls(),
        master: MASTER_NAME.into(),
    };
    let a = store(&topology).await;
    let first = key("before");
    a.put(&first, &token("at-before", Some("rt-1")))
        .await
        .unwrap();

    // A manual failover, with writes going on while it happens: each write that returned
    // must be on the new master.
    let old = fleet.master_port();
    fleet.failover();
    let mut written = Vec::new();
    for i in 0..40 {
        let k = key(&format!("during-{i}"));
        a.put(&k, &token(&format!("at-{i}"), Some("rt")))
            .await
            .unwrap();
        a.set_secret("refresh/p", &Secret::new(format!("rt-{i}")))
            .await
            .unwrap();
        written.push(k);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let new = fleet.wait_for_new_master(old);
    assert_ne!(new, old);

    // A broker that starts now finds the new master, and every write is there.
    let b = store(&topology).await;
    assert!(b.get(&first).await.unwrap().is_some());
    for k in &written {
        assert!(
            b.get(k).await.unwrap().is_some(),
            "write lost in the failover"
        );
    }
    let rt = b.get_secret("refresh/p").await.unwrap().unwrap();
    assert_eq!(rt.expose(), "rt-39");

    // The master crashes: writes wait for the Sentinels to promote the replica, which then
    // takes writes alone (no replica is left that a failover could promote).
    fleet.wait_until_promotable();
    fleet.kill_server(new);
    a.put(&first, &token("at-after-crash", None)).await.unwrap();
    let third = fleet.wait_for_new_master(new);
    assert_eq!(third, old, "the old master, now a replica, was promoted");
    let got = b.get(&first).await.unwrap().unwrap();
    assert_eq!(got.access_token.expose(), "at-after-crash");
}
