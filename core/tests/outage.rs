//! A provider outage shared by many processes: the lease holder's failure is published in the
//! shared tier (file store, Redis) and in memory, so waiters and later callers fail fast with
//! the same error and one retry cycle reaches the failing provider.

#[path = "support/redis.rs"]
mod redis_server;
mod support;

use std::collections::HashSet;
use std::process::{Command, Stdio};

use serde_json::json;
use support::{admin, new_client, provider_url};
use tokenbroker::{Broker, Config, TokenOptions};

/// Attempts one call makes against a provider answering 503 (`[http] max_retries` = 3).
const ONE_RETRY_CYCLE: usize = 4;

fn config(cache: &str, id: &str, secret: &str) -> String {
    format!(
        "[cache]\n{cache}\nfailure_hold = 30\n[profiles.p]\nprovider = \"alvys\"\ntenant = \"t\"\n\
         client_id = \"{id}\"\nclient_secret = \"{secret}\"\n\
         token_url = \"{}/api/authentication/t/token\"\n",
        provider_url()
    )
}

/// Makes every token request of `client_id` answer 503.
async fn outage(client_id: &str) {
    let fault = json!({"route": "alvys.token", "kind": "status", "status": 503,
        "count": 100000, "client_id": client_id});
    admin("faults", Some(fault)).await;
}

/// Token requests the provider received from `client_id`.
async fn sent(client_id: &str) -> usize {
    let log = admin("requests?route=alvys.token", None).await;
    log.as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            let body = e["body"].as_str().unwrap_or("");
            url::form_urlencoded::parse(body.as_bytes())
                .any(|(k, v)| k == "client_id" && v == client_id)
        })
        .count()
}

/// Child mode: one call, printing `FAILED <kind> <message>` or `OK`.
#[tokio::test]
#[ignore = "run as a child process by the outage tests"]
async fn child_call() {
    let Ok(path) = std::env::var("TB_CHILD_CONFIG") else {
        return;
    };
    let broker = Broker::new(Config::load(std::path::Path::new(&path)).unwrap()).unwrap();
    match broker.token("p", &TokenOptions::default()).await {
        Ok(_) => println!("RESULT OK"),
        Err(e) => println!("RESULT FAILED {} {e}", e.kind()),
    }
}

/// Runs `n` child processes at once on `config` and returns what each printed.
fn run_children(n: usize, config: &std::path::Path) -> Vec<String> {
    let children: Vec<_> = (0..n)
        .map(|_| {
            Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "child_call", "--ignored", "--nocapture"])
                .args(["--test-threads=1"])
                .env("TB_CHILD_CONFIG", config)
                .env("TB_TEST_PROVIDER", provider_url())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    children
        .into_iter()
        .map(|child| {
            let out = child.wait_with_output().unwrap();
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            text.lines()
                .find_map(|l| l.split_once("RESULT ").map(|(_, r)| r))
                .unwrap_or_else(|| panic!("child printed no result: {text}"))
                .to_owned()
        })
        .collect()
}

async fn ten_processes_share_one_retry_cycle(cache: &str, name: &str) {
    let dir = support::private_dir(name);
    let (id, secret) = new_client(name).await;
    let path = dir.join("config.toml");
    let cache = cache.replace("{DIR}", &dir.join("cache").display().to_string());
    std::fs::write(&path, config(&cache, &id, &secret)).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    outage(&id).await;

    let results = tokio::task::spawn_blocking(move || run_children(10, &path))
        .await
        .unwrap();
    let distinct: HashSet<_> = results.iter().collect();
    assert_eq!(
        distinct.len(),
        1,
        "every process saw the same error: {results:#?}"
    );
    assert!(
        results[0].starts_with("FAILED oauth ") && results[0].contains("503"),
        "{}",
        results[0]
    );
    assert!(!results[0].contains(&secret));
    let requests = sent(&id).await;
    assert!(
        requests <= ONE_RETRY_CYCLE,
        "{requests} requests reached the failing provider"
    );
}

#[tokio::test]
async fn ten_processes_on_the_file_store_share_one_retry_cycle() {
    ten_processes_share_one_retry_cycle("store = \"file\"\npath = \"{DIR}\"", "outage-file").await;
}

#[tokio::test]
async fn ten_processes_on_redis_share_one_retry_cycle() {
    let Some(redis) = redis_server::RedisServer::start(None) else {
        return;
    };
    let cache = format!(
        "store = \"redis\"\nredis_url = \"{}\"\npath = \"{{DIR}}\"",
        redis.url()
    );
    ten_processes_share_one_retry_cycle(&cache, "outage-redis").await;
}

#[tokio::test]
async fn a_second_call_in_the_same_broker_fails_fast_and_a_cached_token_is_still_served() {
    let dir = support::private_dir("memory");
    let (id, secret) = new_client("outage-mem").await;
    let cache = format!("store = \"file\"\npath = \"{}\"", dir.display());
    let broker =
        Broker::new(Config::from_toml_str(&config(&cache, &id, &secret)).unwrap()).unwrap();
    let scoped = |s: &str| TokenOptions::default().with_scopes([s.to_owned()]);
    // A token for one key is cached before the outage; the other key has none.
    let cached = broker.token("p", &scoped("a")).await.unwrap();
    outage(&id).await;
    let before = sent(&id).await;
    let first = broker.token("p", &scoped("b")).await.unwrap_err();
    assert_eq!(sent(&id).await - before, ONE_RETRY_CYCLE);
    let second = broker.token("p", &scoped("b")).await.unwrap_err();
    assert_eq!(second.kind(), first.kind());
    assert_eq!(second.to_string(), first.to_string());
    assert_eq!(
        sent(&id).await - before,
        ONE_RETRY_CYCLE,
        "the second call failed fast"
    );
    // Another process on the same file store fails fast too.
    let other = Broker::new(Config::from_toml_str(&config(&cache, &id, &secret)).unwrap()).unwrap();
    let third = other.token("p", &scoped("b")).await.unwrap_err();
    assert_eq!(third.to_string(), first.to_string());
    assert_eq!(sent(&id).await - before, ONE_RETRY_CYCLE);
    // The valid token keeps being served, from memory and from the shared tier.
    assert_eq!(
        broker.token("p", &scoped("a")).await.unwrap().secret(),
        cached.secret()
    );
    assert_eq!(
        other.token("p", &scoped("a")).await.unwrap().secret(),
        cached.secret()
    );
}
