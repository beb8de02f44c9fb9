//! `Broker::token_at_hand`: a lookup on the calling thread, from memory or the file store, for
//! a host that must not hand a first lookup to other threads (Node's `token()`). A token another
//! broker stored is read there and kept in memory; anything that takes more (a fetch, options
//! `token()` decides, another tier) is left to `token()`.

mod support;

use std::time::Duration;

use support::{client_requests, new_client};
use tokenbroker::{Broker, TokenOptions};

fn config(cache: &str, id: &str, secret: &str) -> String {
    format!(
        r#"[cache]
{cache}
[profiles.p]
provider = "oidc"
grant = "client_credentials"
issuer = "{{P}}/plain/max-age-300.at-hand"
client_id = "{id}"
client_secret = "{secret}"
scopes = ["read"]
"#
    )
}

/// A broker's `token_at_hand` on a thread of its own, outside any runtime.
fn at_hand_on_a_plain_thread(broker: &Broker, options: TokenOptions) -> Option<String> {
    let broker = broker.clone();
    std::thread::spawn(move || {
        broker
            .token_at_hand("p", &options)
            .map(|t| t.secret().to_owned())
    })
    .join()
    .unwrap()
}

#[tokio::test]
async fn a_token_another_broker_stored_is_read_on_the_calling_thread() {
    let dir = support::private_dir("at-hand");
    let (id, secret) = new_client("at-hand").await;
    let text = config(
        &format!("store = \"file\"\npath = \"{}\"", dir.display()),
        &id,
        &secret,
    );
    let first = support::broker(&text);
    let stored = first.token("p", &TokenOptions::default()).await.unwrap();
    let key_source = first.cache_key_source().await.unwrap_or_default();

    let fresh = support::broker(&text);
    let found = at_hand_on_a_plain_thread(&fresh, TokenOptions::default());
    if key_source.starts_with("OS keyring") {
        // Getting this key takes the keyring, which `token_at_hand` never asks.
        assert_eq!(found, None, "key from {key_source}");
        return;
    }
    assert_eq!(
        found.as_deref(),
        Some(stored.secret()),
        "key from {key_source}"
    );
    let stats = fresh.stats();
    assert_eq!((stats.misses, stats.shared_hits), (1, 1));
    // Kept in memory, as `token()` keeps a shared-tier hit.
    let cached = fresh.cached_token("p", &TokenOptions::default()).unwrap();
    assert_eq!(cached.map(|t| t.secret().to_owned()), found);
    assert_eq!(
        client_requests(&id).await,
        1,
        "no request for the stored token"
    );

    // Options `token()` decides, and a token that would not last long enough, are left to it.
    let other = support::broker(&text);
    let left = [
        TokenOptions::default().with_force_refresh(true),
        TokenOptions::default().with_rejected(stored.id()),
        TokenOptions::default().with_min_ttl(Duration::from_secs(3600)),
    ];
    for options in left {
        assert_eq!(
            at_hand_on_a_plain_thread(&other, options.clone()),
            None,
            "{options:?}"
        );
    }
    assert_eq!(other.stats().shared_hits, 0);
    assert_eq!(
        other
            .token_at_hand("nope", &TokenOptions::default())
            .map(|_| ()),
        None
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn nothing_is_at_hand_without_a_file_store_or_before_a_fetch() {
    let (id, secret) = new_client("at-hand-none").await;
    let memory = support::broker(&config("store = \"memory\"", &id, &secret));
    assert!(at_hand_on_a_plain_thread(&memory, TokenOptions::default()).is_none());
    memory.token("p", &TokenOptions::default()).await.unwrap();
    // Memory answers once it holds the token.
    assert!(at_hand_on_a_plain_thread(&memory, TokenOptions::default()).is_some());

    let dir = support::private_dir("at-hand-empty");
    let empty = support::broker(&config(
        &format!("store = \"file\"\npath = \"{}\"", dir.display()),
        &id,
        &secret,
    ));
    assert!(at_hand_on_a_plain_thread(&empty, TokenOptions::default()).is_none());
    assert_eq!(empty.stats().misses, 0, "a miss here is token()'s to count");
    assert_eq!(client_requests(&id).await, 1);
    let _ = std::fs::remove_dir_all(dir);
}
