//! Names in the shared tier do not let someone who reads them (a cache directory listing, Redis
//! key names, `cache list`) test a guessed client secret: a token entry's file or Redis key is
//! named by an HMAC under the cache key, never by a plain digest of its canonical key, and a
//! listed key hides the credential fingerprint.

#[path = "support/redis.rs"]
mod redis_server;
mod support;

use std::time::Duration;

use aws_lc_rs::digest;
use redis::AsyncCommands;
use tokenbroker::advanced::cache::{CacheCipher, CacheKey, FileStore, RedisStore, SharedStore};
use tokenbroker::{TokenOptions, TokenSet};

fn key() -> CacheKey {
    support::fixtures::cache_key("", &["read"])
}

fn token() -> TokenSet {
    support::fixtures::token_set("at-entry-names", Duration::from_secs(600), &["read"], None)
}

/// What anyone can compute from a key's parts: its plain SHA-256, hex.
fn plain_digest(key: &CacheKey) -> String {
    let d = digest::digest(&digest::SHA256, key.canonical().as_bytes());
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

fn token_files(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir.join("tokens"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect()
}

#[tokio::test]
async fn file_entry_names_are_keyed_by_the_cache_key() {
    let k = key();
    let mut names = Vec::new();
    for cache_key in [[0x11u8; 32], [0x22u8; 32]] {
        let dir = support::private_dir("entry-names");
        let cipher = CacheCipher::from_bytes(&cache_key).unwrap();
        let store = FileStore::with_cipher(dir.clone(), cipher).unwrap();
        store.put(&k, &token()).await.unwrap();
        let files = token_files(&dir);
        assert_eq!(files.len(), 1);
        assert_ne!(files[0], format!("{}.bin", plain_digest(&k)));
        assert_eq!(
            store.get(&k).await.unwrap().unwrap().access_token.expose(),
            "at-entry-names"
        );
        names.push(files[0].clone());
        std::fs::remove_dir_all(dir).unwrap();
    }
    assert_ne!(
        names[0], names[1],
        "another cache key names the entry differently"
    );
}

#[tokio::test]
async fn redis_entry_names_are_keyed_by_the_cache_key() {
    let Some(server) = redis_server::RedisServer::start(None) else {
        return;
    };
    let cipher = CacheCipher::from_bytes(&[0x33; 32]).unwrap();
    let store = RedisStore::connect(&server.url(), "tb-names:", cipher)
        .await
        .unwrap();
    let k = key();
    store.put(&k, &token()).await.unwrap();
    let client = redis::Client::open(server.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let names: Vec<String> = conn.keys("tb-names:*").await.unwrap();
    assert!(!names.is_empty());
    let plain = plain_digest(&k);
    for name in &names {
        assert!(!name.contains(&plain), "{name} is the key's plain digest");
    }
    assert!(store.get(&k).await.unwrap().is_some());
}

#[tokio::test]
async fn listed_keys_hide_the_credential_fingerprint() {
    let (id, secret) = support::new_client("generic").await;
    let dir = support::private_dir("entry-names-list");
    let text = format!(
        r#"[cache]
store = "file"
path = "{}"
[profiles.p]
provider = "oidc"
grant = "client_credentials"
token_url = "{{P}}/generic/token"
client_id = "{id}"
client_secret = "{secret}"
"#,
        dir.display()
    );
    let broker = support::broker(&text);
    broker.token("p", &TokenOptions::default()).await.unwrap();
    let entries = broker.cache_entries().await.unwrap();
    assert_eq!(entries.len(), 1);
    let listed = &entries[0].key;
    let fingerprint = listed
        .split_once("credential=")
        .map(|(_, rest)| rest.trim())
        .expect("a secret-bound key says so");
    assert_eq!(
        fingerprint, "bound",
        "the listed key shows the credential fingerprint"
    );
    assert_eq!(broker.profiles_for_entry(&entries[0]), ["p"]);
    std::fs::remove_dir_all(dir).unwrap();
}

/// An entry written by a release that named entries by their key's plain digest still opens
/// (it is listed, and removed once stale like any other) but is never served: the key it is
/// looked up under now has another name.
#[tokio::test]
async fn an_entry_named_by_an_older_release_is_listed_but_not_served() {
    let dir = support::private_dir("entry-names-legacy");
    let cipher = CacheCipher::from_bytes(&[0x44; 32]).unwrap();
    let store = FileStore::with_cipher(dir.clone(), cipher.clone()).unwrap();
    let k = key();
    let plain = plain_digest(&k);
    let record = serde_json::json!({ "key": k.canonical(), "token": token() });
    let sealed = cipher
        .seal(plain.as_bytes(), record.to_string().as_bytes())
        .unwrap();
    std::fs::create_dir_all(dir.join("tokens")).unwrap();
    std::fs::write(dir.join("tokens").join(format!("{plain}.bin")), sealed).unwrap();

    assert!(store.get(&k).await.unwrap().is_none());
    let listed = store.list().await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(store.undecryptable(), 0, "an old entry is not damage");
    std::fs::remove_dir_all(dir).unwrap();
}
