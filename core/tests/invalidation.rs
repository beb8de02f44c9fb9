//! Invalidation reaches every broker: a second broker's `clear_cache`, `forget` or `logout`
//! on the shared tier (file store, Redis) ends the first broker's memory hits within the
//! documented bound, and the first broker's next token is a new one.

#[path = "support/redis.rs"]
mod redis_server;
mod support;

use std::time::Duration;

use support::{client_requests, new_client, provider_url};
use tokenbroker::{Broker, Config, TokenOptions};

/// The documented bound (`tokenbroker::advanced::cache::INVALIDATION_BOUND`, 1 s) and a margin.
const AFTER_BOUND: Duration = Duration::from_millis(1500);

fn opts() -> TokenOptions {
    TokenOptions::default()
}

fn config(cache: &str, id: &str, secret: &str) -> String {
    format!(
        "[cache]\n{cache}\n[profiles.p]\nprovider = \"alvys\"\ntenant = \"t\"\nclient_id = \"{id}\"\n\
         client_secret = \"{secret}\"\ntoken_url = \"{}/api/authentication/t/token\"\n",
        provider_url()
    )
}

fn two_brokers(text: &str) -> (Broker, Broker) {
    let a = Broker::new(Config::from_toml_str(text).unwrap()).unwrap();
    let b = Broker::new(Config::from_toml_str(text).unwrap()).unwrap();
    (a, b)
}

async fn token(broker: &Broker) -> String {
    broker
        .token("p", &opts())
        .await
        .unwrap()
        .secret()
        .to_owned()
}

#[derive(Clone, Copy, Debug)]
enum Invalidate {
    Clear,
    Forget,
    Logout,
}

impl Invalidate {
    async fn run(self, broker: &Broker) {
        match self {
            Self::Clear => broker.clear_cache().await.unwrap(),
            Self::Forget => broker.forget("p").await.unwrap(),
            Self::Logout => {
                broker.logout("p").await.unwrap();
            }
        }
    }
}

/// Broker `a` serves from memory; `b` invalidates; after the bound `a` fetches a new token.
async fn reaches_the_other_broker(cache: &str, id: &str, secret: &str, how: Invalidate) {
    let (a, b) = two_brokers(&config(cache, id, secret));
    let first = token(&a).await;
    assert_eq!(token(&b).await, first, "{how:?}: b reads a's entry");
    assert_eq!(client_requests(id).await, 1);
    // Without an invalidation, memory hits outlive the bound: no request, same token.
    tokio::time::sleep(AFTER_BOUND).await;
    assert_eq!(token(&a).await, first);
    assert_eq!(
        client_requests(id).await,
        1,
        "{how:?}: a warm broker re-fetched"
    );

    how.run(&b).await;
    tokio::time::sleep(AFTER_BOUND).await;
    let second = token(&a).await;
    assert_ne!(
        second, first,
        "{how:?}: broker a kept serving a token invalidated in the shared tier"
    );
    assert_eq!(client_requests(id).await, 2, "{how:?}");
    // The new token went to the shared tier: b reads it without a request.
    assert_eq!(token(&b).await, second, "{how:?}");
    assert_eq!(client_requests(id).await, 2, "{how:?}");
    // A's memory keeps serving it (no further request).
    assert_eq!(token(&a).await, second);
    assert!(
        a.cached_token("p", &opts()).unwrap().is_some(),
        "{how:?}: cached_token right after a checked hit"
    );
}

#[tokio::test]
async fn file_store_invalidation_reaches_a_second_broker() {
    for how in [Invalidate::Clear, Invalidate::Forget, Invalidate::Logout] {
        let dir = support::private_dir("file");
        let (id, secret) = new_client("inval-file").await;
        let cache = format!("store = \"file\"\npath = \"{}\"\n", dir.display());
        reaches_the_other_broker(&cache, &id, &secret, how).await;
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[tokio::test]
async fn redis_invalidation_reaches_a_second_broker() {
    let Some(redis) = redis_server::RedisServer::start(None) else {
        return;
    };
    for how in [Invalidate::Clear, Invalidate::Forget, Invalidate::Logout] {
        let dir = support::private_dir("redis");
        let (id, secret) = new_client("inval-redis").await;
        let cache = format!(
            "store = \"redis\"\nredis_url = \"{}\"\npath = \"{}\"\n",
            redis.url(),
            dir.display()
        );
        reaches_the_other_broker(&cache, &id, &secret, how).await;
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// A memory-only broker has no shared tier to consult: its hits never wait for a check.
#[tokio::test]
async fn memory_only_brokers_keep_their_hits() {
    let (id, secret) = new_client("inval-mem").await;
    let broker =
        Broker::new(Config::from_toml_str(&config("store = \"memory\"", &id, &secret)).unwrap())
            .unwrap();
    let first = token(&broker).await;
    tokio::time::sleep(AFTER_BOUND).await;
    let again = broker.cached_token("p", &opts()).unwrap();
    assert_eq!(again.map(|t| t.secret().to_owned()), Some(first));
    assert_eq!(client_requests(&id).await, 1);
}
