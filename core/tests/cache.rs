//! Cache behaviour against the test provider: expiry, refresh-ahead, failures during
//! refresh-ahead, the shared file store across brokers and processes, a corrupt entry, and
//! two brokers on Redis.
//!
//! These tests change the provider's token lifetime, so they run one at a time (`GUARD`).

#[path = "support/redis.rs"]
mod redis_server;
mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;
use support::{admin, client_requests, new_client, provider_url};
use tokenbroker::{Broker, Config, TokenOptions};

static GUARD: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn opts() -> TokenOptions {
    TokenOptions::default()
}

fn alvys_profile(id: &str, secret: &str) -> String {
    format!(
        r#"[profiles.p]
provider = "alvys"
tenant = "t"
client_id = "{id}"
client_secret = "{secret}"
token_url = "{}/api/authentication/t/token"
"#,
        provider_url()
    )
}

fn memory_broker(id: &str, secret: &str, cache: &str) -> Broker {
    let text = format!(
        "[cache]\nstore = \"memory\"\n{cache}\n{}",
        alvys_profile(id, secret)
    );
    Broker::new(Config::from_toml_str(&text).unwrap()).unwrap()
}

async fn set_lifetime(seconds: u64) {
    admin("config", Some(json!({ "token_lifetime_s": seconds }))).await;
}

#[tokio::test]
async fn refresh_ahead_replaces_the_token_without_a_caller_waiting() {
    let _g = GUARD.lock().await;
    set_lifetime(4).await;
    let (id, secret) = new_client("ahead").await;
    let b = memory_broker(&id, &secret, "refresh_share = 0.5\nrefresh_jitter = 0.0");
    let first = b.token("p", &opts()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2300)).await;
    // Past the refresh point: the caller gets the still-valid token at once...
    let started = Instant::now();
    let during = b.token("p", &opts()).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(20),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(during.secret(), first.secret());
    // ...and a background refresh replaces it.
    let mut replaced = None;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let t = b.cached_token("p", &opts()).unwrap().unwrap();
        if t.secret() != first.secret() {
            replaced = Some(t);
            break;
        }
    }
    let replaced = replaced.expect("background refresh did not replace the token");
    assert!(replaced.remaining() > Duration::from_secs(3));
    assert_eq!(client_requests(&id).await, 2);
    let s = b.stats();
    assert_eq!(s.background_refreshes, 1);
    assert_eq!(s.fetches, 2);
    set_lifetime(3600).await;
}

#[tokio::test]
async fn a_failing_refresh_ahead_keeps_serving_the_valid_token_then_recovers() {
    let _g = GUARD.lock().await;
    set_lifetime(6).await;
    let (id, secret) = new_client("failing").await;
    let b = memory_broker(&id, &secret, "refresh_share = 0.3\nrefresh_jitter = 0.0");
    let first = b.token("p", &opts()).await.unwrap();
    admin(
        "faults",
        Some(
            json!({"route": "alvys.token", "kind": "status", "status": 400,
            "body": {"error": "temporarily_unavailable"}, "count": 2}),
        ),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(2000)).await;
    for _ in 0..10 {
        let t = b
            .token("p", &opts())
            .await
            .expect("a valid token is still served");
        assert_eq!(t.secret(), first.secret());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Backoff retries the refresh; once the faults are used up it succeeds.
    let mut recovered = false;
    for _ in 0..60 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let t = b.token("p", &opts()).await.unwrap();
        if t.secret() != first.secret() {
            recovered = true;
            break;
        }
    }
    assert!(recovered, "refresh never recovered: {:?}", b.stats());
    assert!(b.stats().background_refreshes >= 2, "{:?}", b.stats());
    set_lifetime(3600).await;
}

#[tokio::test]
async fn an_expired_token_makes_the_caller_wait_for_a_new_one() {
    let _g = GUARD.lock().await;
    set_lifetime(1).await;
    let (id, secret) = new_client("expiry").await;
    let b = memory_broker(&id, &secret, "refresh_share = 0.99\nrefresh_jitter = 0.0");
    let first = b.token("p", &opts()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(
        b.cached_token("p", &opts()).unwrap().is_none(),
        "expired tokens are never served"
    );
    set_lifetime(3600).await;
    let second = b.token("p", &opts()).await.unwrap();
    assert_ne!(first.secret(), second.secret());
    assert_eq!(client_requests(&id).await, 2);
}

fn file_config(dir: &std::path::Path, id: &str, secret: &str) -> String {
    format!(
        "[cache]\nstore = \"file\"\npath = \"{}\"\n{}",
        dir.display(),
        alvys_profile(id, secret)
    )
}

#[tokio::test]
async fn two_brokers_share_the_file_store_and_a_corrupt_entry_is_refetched() {
    let _g = GUARD.lock().await;
    let dir = support::private_dir("shared");
    let (id, secret) = new_client("filestore").await;
    let text = file_config(&dir, &id, &secret);
    let a = Broker::new(Config::from_toml_str(&text).unwrap()).unwrap();
    let t1 = a.token("p", &opts()).await.unwrap();
    let b = Broker::new(Config::from_toml_str(&text).unwrap()).unwrap();
    let t2 = b.token("p", &opts()).await.unwrap();
    assert_eq!(t1.secret(), t2.secret());
    assert_eq!(client_requests(&id).await, 1);
    assert_eq!(b.stats().shared_hits, 1);
    // Corrupt every entry on disk: a third broker discards it and refetches, without error.
    for entry in std::fs::read_dir(dir.join("tokens")).unwrap() {
        std::fs::write(entry.unwrap().path(), b"TBKC\x01garbage").unwrap();
    }
    let c = Broker::new(Config::from_toml_str(&text).unwrap()).unwrap();
    let t3 = c.token("p", &opts()).await.unwrap();
    assert_ne!(t3.secret(), t1.secret());
    assert_eq!(client_requests(&id).await, 2);
    let listed = c.cache_entries().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(!format!("{listed:?}").contains(t3.secret()));
}

/// Child mode of the cross-process test: fetch once through the file store and print a
/// fingerprint of the token (never the token).
#[tokio::test]
#[ignore = "run as a child process by processes_cold_starting_together_make_one_request"]
async fn child_fetch() {
    let Ok(path) = std::env::var("TB_CHILD_CONFIG") else {
        return;
    };
    let b = Broker::new(Config::load(std::path::Path::new(&path)).unwrap()).unwrap();
    let t = b.token("p", &opts()).await.unwrap();
    let fingerprint = t
        .secret()
        .bytes()
        .fold(0u64, |h, c| h.wrapping_mul(31).wrapping_add(u64::from(c)));
    println!("FINGERPRINT {fingerprint:x}");
}

#[tokio::test]
async fn processes_cold_starting_together_make_one_request() {
    let _g = GUARD.lock().await;
    let dir = support::private_dir("procs");
    let (id, secret) = new_client("procs").await;
    let config = dir.join("config.toml");
    std::fs::write(&config, file_config(&dir.join("cache"), &id, &secret)).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    let children: Vec<_> = (0..8)
        .map(|_| {
            Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "child_fetch",
                    "--ignored",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env("TB_CHILD_CONFIG", &config)
                .env("TB_TEST_PROVIDER", provider_url())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut prints = std::collections::HashSet::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text
            .split_whitespace()
            .skip_while(|w| *w != "FINGERPRINT")
            .nth(1)
            .unwrap_or_else(|| {
                panic!(
                    "child printed no token: {text}\n{}",
                    String::from_utf8_lossy(&out.stderr)
                )
            });
        prints.insert(line.to_owned());
    }
    assert_eq!(prints.len(), 1, "every process got the same token");
    assert_eq!(client_requests(&id).await, 1);
}

#[tokio::test]
async fn two_brokers_on_redis_make_one_request_for_a_cold_key() {
    let _g = GUARD.lock().await;
    let Some(redis) = redis_server::RedisServer::start(None) else {
        return;
    };
    let dir = support::private_dir("redis");
    let (id, secret) = new_client("redis").await;
    let text = format!(
        "[cache]\nstore = \"redis\"\nredis_url = \"{}\"\npath = \"{}\"\n{}",
        redis.url(),
        dir.display(),
        alvys_profile(&id, &secret)
    );
    let a = Broker::new(Config::from_toml_str(&text).unwrap()).unwrap();
    let b = Broker::new(Config::from_toml_str(&text).unwrap()).unwrap();
    let calls: Vec<_> = (0..50)
        .map(|i| {
            let broker = if i % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move {
                broker
                    .token("p", &TokenOptions::default())
                    .await
                    .map(|t| t.secret().to_owned())
            })
        })
        .collect();
    let mut tokens = std::collections::HashSet::new();
    for c in calls {
        tokens.insert(c.await.unwrap().unwrap());
    }
    assert_eq!(tokens.len(), 1);
    assert_eq!(client_requests(&id).await, 1);
    assert_eq!(a.stats().fetches + b.stats().fetches, 1);
}
