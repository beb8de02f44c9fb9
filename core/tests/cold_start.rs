//! Zero network for a cached token: a new broker (what a new process builds) with an `issuer`
//! profile answers from the shared tier without a single request, discovery included; on a
//! miss it sends the token request only, the issuer's metadata coming from the shared tier.
//! A refresh checks its ID token with the JWKS the shared tier keeps. The test provider counts
//! every request (`plain.discovery`, `strict.keys`, and token requests by client).

#[path = "support/redis.rs"]
mod redis_server;
mod support;

use std::time::SystemTime;

use support::{admin, client_requests, new_client, requests_at};
use tokenbroker::advanced::cache::{CachedDocument, FileStore, SharedStore};
use tokenbroker::{Broker, TokenOptions};

/// Requests the provider logged for `/plain/{tag}/.well-known/openid-configuration`.
async fn discovery_requests(tag: &str) -> usize {
    let path = format!("/plain/{tag}/.well-known/openid-configuration");
    requests_at("plain.discovery", &path).await
}

fn profile(cache: &str, tag: &str, id: &str, secret: &str, scopes: &str) -> String {
    format!(
        r#"[cache]
{cache}
[profiles.p]
provider = "oidc"
grant = "client_credentials"
issuer = "{{P}}/plain/{tag}"
client_id = "{id}"
client_secret = "{secret}"
scopes = [{scopes}]
"#
    )
}

fn tag(words: &str) -> String {
    let n: u32 = rand::random();
    format!("{words}.t{n:x}")
}

async fn token(broker: &Broker) -> String {
    broker
        .token("p", &TokenOptions::default())
        .await
        .unwrap()
        .secret()
        .to_owned()
}

/// First broker: discovery + token. A new broker, token cached: nothing. A new broker for a
/// scope set not cached yet: the token request only.
async fn a_cached_token_costs_no_request(cache: &str, words: &str, discoveries_on_miss: usize) {
    let tag = tag(words);
    let (id, secret) = new_client("generic").await;
    let text = profile(cache, &tag, &id, &secret, "\"read\"");
    let first = token(&support::broker(&text)).await;
    assert_eq!(discovery_requests(&tag).await, 1);
    assert_eq!(client_requests(&id).await, 1);

    let cold = support::broker(&text);
    assert_eq!(token(&cold).await, first, "the shared tier's token");
    assert_eq!(
        discovery_requests(&tag).await,
        1,
        "a cached token needed discovery"
    );
    assert_eq!(client_requests(&id).await, 1);

    let other_scopes = profile(cache, &tag, &id, &secret, "\"read\", \"write\"");
    let miss = token(&support::broker(&other_scopes)).await;
    assert_ne!(miss, first);
    assert_eq!(client_requests(&id).await, 2, "one token request on a miss");
    assert_eq!(
        discovery_requests(&tag).await,
        1 + discoveries_on_miss,
        "the metadata's Cache-Control was not honoured"
    );
}

#[tokio::test]
async fn file_store_new_broker_makes_no_request_for_a_cached_token() {
    let dir = support::private_dir("file");
    let cache = format!("store = \"file\"\npath = \"{}\"", dir.display());
    a_cached_token_costs_no_request(&cache, "max-age-300", 0).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn redis_new_broker_makes_no_request_for_a_cached_token() {
    let Some(redis) = redis_server::RedisServer::start(None) else {
        return;
    };
    let dir = support::private_dir("redis");
    let cache = format!(
        "store = \"redis\"\nredis_url = \"{}\"\npath = \"{}\"",
        redis.url(),
        dir.display()
    );
    a_cached_token_costs_no_request(&cache, "max-age-300", 0).await;
    let _ = std::fs::remove_dir_all(dir);
}

/// Metadata the server forbids storing is fetched again by each new broker that needs it,
/// and a cached token still needs none.
#[tokio::test]
async fn metadata_marked_no_store_is_not_kept() {
    let dir = support::private_dir("nostore");
    let cache = format!("store = \"file\"\npath = \"{}\"", dir.display());
    a_cached_token_costs_no_request(&cache, "no-store", 1).await;
    let _ = std::fs::remove_dir_all(dir);
}

/// Without a shared tier a broker discovers once, and a forced refresh does not discover again.
#[tokio::test]
async fn a_memory_broker_discovers_once() {
    let tag = tag("max-age-300");
    let (id, secret) = new_client("generic").await;
    let text = profile("store = \"memory\"", &tag, &id, &secret, "\"read\"");
    let broker = support::broker(&text);
    token(&broker).await;
    let forced = TokenOptions::default().with_force_refresh(true);
    broker.token("p", &forced).await.unwrap();
    assert_eq!(discovery_requests(&tag).await, 1);
    assert_eq!(client_requests(&id).await, 2);
}

/// Requests the strict issuer `tag` received for its JWKS.
async fn jwks_requests(tag: &str) -> usize {
    requests_at("strict.keys", &format!("/strict/{tag}/keys")).await
}

/// A refresh's ID token is checked with the JWKS the shared tier keeps: a new broker
/// refreshing a signed-in grant fetches no JWKS. A kept JWKS without the signing key (the
/// provider rotated its keys) is fetched again, and the refresh still succeeds.
#[tokio::test]
async fn refreshes_check_id_tokens_with_the_kept_jwks() {
    let tag = tag("keys-cacheable");
    let dir = support::private_dir("jwks");
    let text = format!(
        r#"[cache]
store = "file"
path = "{}"
[profiles.p]
issuer = "{{P}}/strict/{tag}"
grant = "device_code"
client_id = "generic-client"
client_secret = "generic-secret"
scopes = ["openid", "api"]
"#,
        dir.display()
    );
    let forced = TokenOptions::default().with_force_refresh(true);
    support::device_login(&support::broker(&text), "p")
        .await
        .unwrap();
    let signed_in = jwks_requests(&tag).await;

    let refreshed = support::broker(&text).token("p", &forced).await.unwrap();
    assert!(refreshed.token_set().id_token.is_some());
    assert_eq!(jwks_requests(&tag).await, signed_in + 1, "first refresh");
    support::broker(&text).token("p", &forced).await.unwrap();
    assert_eq!(
        jwks_requests(&tag).await,
        signed_in + 1,
        "a new broker fetched the JWKS the shared tier keeps"
    );

    // Another key set kept under the JWKS's name: the check fails with it, so it is refetched.
    let other_keys = admin("keys", None).await.to_string();
    let store = FileStore::open(Some(dir.clone())).unwrap();
    let url = format!("{}/strict/{tag}/keys", support::provider_url());
    let doc = CachedDocument::new(other_keys, None, SystemTime::now()).unwrap();
    store
        .put_document(&format!("jwks:{url}"), &doc)
        .await
        .unwrap();
    let after_rotation = support::broker(&text).token("p", &forced).await.unwrap();
    assert!(after_rotation.token_set().id_token.is_some());
    assert_eq!(jwks_requests(&tag).await, signed_in + 2, "refetched once");
    let _ = std::fs::remove_dir_all(dir);
}
