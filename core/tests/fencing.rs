//! Fencing on the Redis tier: a lease of one second, a provider that stalls longer than it,
//! refresh tokens that rotate with reuse detection, and several brokers refreshing at once.

#[path = "support/redis.rs"]
mod redis_server;
mod support;

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{Value, json};
use support::{admin, new_client};
use tokenbroker::{Broker, Config, TokenOptions};

fn azure_profile(id: &str, secret: &str, rt: &str) -> String {
    format!(
        r#"[profiles.pc]
provider = "azure-ad-v1"
tenant = "contoso"
resource = "https://api.partnercenter.microsoft.com"
grant = "refresh_token"
refresh_token = "{rt}"
client_id = "{id}"
client_secret = "{secret}"
token_url = "{p}/contoso/oauth2/token"
jwks_url = "{p}/contoso/discovery/keys"
issuer = "{p}/contoso/"
"#,
        p = support::provider_url()
    )
}

/// The refresh tokens this client sent to the provider, in order.
async fn refresh_tokens_sent(client_id: &str) -> Vec<String> {
    let log = admin("requests?route=azure.token", None).await;
    log.as_array()
        .unwrap()
        .iter()
        .filter_map(|entry| {
            let body = entry["body"].as_str()?;
            let form: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
                .into_owned()
                .collect();
            let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
            (field("client_id")? == client_id && field("grant_type")? == "refresh_token")
                .then(|| field("refresh_token"))
                .flatten()
        })
        .collect()
}

#[tokio::test]
async fn a_refresh_stalled_past_the_redis_lease_uses_each_refresh_token_once() {
    let Some(redis) = redis_server::RedisServer::start(None) else {
        return;
    };
    let dir = support::private_dir("stall-redis");
    let cache = format!(
        "store = \"redis\"\nredis_url = \"{}\"\npath = \"{}\"\nlease_ttl = 1",
        redis.url(),
        dir.display()
    );
    stalled_refresh_uses_each_refresh_token_once(&cache).await;
}

#[tokio::test]
async fn a_stalled_refresh_on_the_file_store_uses_each_refresh_token_once() {
    let dir = support::private_dir("stall-file");
    let cache = format!("store = \"file\"\npath = \"{}\"", dir.display());
    stalled_refresh_uses_each_refresh_token_once(&cache).await;
}

/// Four brokers on the shared tier `cache` refresh one grant while the first refresh stalls
/// for 2.6 s: no broker fails, each refresh token reaches the provider once, and the stored
/// one is the newest.
async fn stalled_refresh_uses_each_refresh_token_once(cache: &str) {
    let (id, secret) = new_client("fence").await;
    let rt = support::azure_refresh_token(&id, &secret).await;
    let text = format!("[cache]\n{cache}\n{}", azure_profile(&id, &secret, &rt));
    // The first refresh stalls for well over two lease lifetimes.
    let stall: Value = json!({"route": "azure.token", "kind": "delay", "delay_ms": 2600,
        "client_id": id});
    admin("faults", Some(stall)).await;
    let brokers: Vec<Broker> = (0..4)
        .map(|_| Broker::new(Config::from_toml_str(&text).unwrap()).unwrap())
        .collect();
    let forced = TokenOptions::default().with_force_refresh(true);
    let mut calls = Vec::new();
    for (i, broker) in brokers.iter().enumerate() {
        let (broker, forced) = (broker.clone(), forced.clone());
        calls.push(tokio::spawn(async move {
            // The later brokers start while the first one's refresh is stalled.
            tokio::time::sleep(Duration::from_millis(300 * i as u64)).await;
            let plain = broker.token("pc", &TokenOptions::default()).await?;
            let again = broker.token("pc", &forced).await?;
            Ok::<_, tokenbroker::Error>((plain, again))
        }));
    }
    for call in calls {
        call.await.unwrap().expect("no broker errors");
    }
    let sent = refresh_tokens_sent(&id).await;
    let unique: HashSet<_> = sent.iter().collect();
    assert_eq!(unique.len(), sent.len(), "a refresh token was sent twice");
    assert!(sent.len() >= 2, "forced refreshes reached the provider");

    // The stored refresh token is the newest: a fresh broker refreshes with it.
    let fresh = Broker::new(Config::from_toml_str(&text).unwrap()).unwrap();
    fresh
        .token("pc", &forced)
        .await
        .expect("the stored refresh token is valid");
    let after = refresh_tokens_sent(&id).await;
    assert_eq!(after.len(), sent.len() + 1);
    assert!(!sent.contains(after.last().unwrap()));
}
