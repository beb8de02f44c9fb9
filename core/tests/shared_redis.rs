//! Tenants sharing one Redis (issue 12, item 5): brokers with different cache keys under one
//! prefix skip each other's entries instead of deleting them, and users with the same profile
//! name never share refresh or access tokens.

#[path = "support/redis.rs"]
mod redis_server;
mod support;

use std::time::{Duration, SystemTime};

use redis::AsyncCommands;
use redis_server::RedisServer;
use support::{client_requests, new_client, provider_url};
use tokenbroker::advanced::cache::{
    CacheCipher, CacheKey, KeyParts, RedisStore, SecretStore, SharedStore,
};
use tokenbroker::{Broker, Config, Secret, TokenOptions, TokenSet};

const PREFIX: &str = "tb-tenants:";

fn key(client: &str) -> CacheKey {
    CacheKey::new(&KeyParts {
        token_url: "https://login.example/token",
        client_id: client,
        grant: "client_credentials",
        ..Default::default()
    })
}

fn token(access: &str) -> TokenSet {
    let now = SystemTime::now();
    TokenSet {
        access_token: Secret::new(access),
        token_type: "Bearer".into(),
        expires_at: now + Duration::from_secs(600),
        issued_at: now,
        scopes: vec![],
        refresh_token: Some(Secret::new(format!("rt-{access}"))),
        id_token: None,
        refresh_in: None,
    }
}

async fn store(server: &RedisServer, key_byte: u8) -> RedisStore {
    let cipher = CacheCipher::from_bytes(&[key_byte; 32]).unwrap();
    RedisStore::connect(&server.url(), PREFIX, cipher)
        .await
        .unwrap()
}

async fn exists(server: &RedisServer, redis_key: &str) -> bool {
    let client = redis::Client::open(server.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    conn.exists(redis_key).await.unwrap()
}

#[tokio::test]
async fn stores_with_different_keys_skip_and_count_each_others_entries() {
    let Some(server) = RedisServer::start(None) else {
        return;
    };
    let (a, b) = (store(&server, 0xa1).await, store(&server, 0xb2).await);
    let (ka, kb) = (key("tenant-a"), key("tenant-b"));
    a.put(&ka, &token("at-a")).await.unwrap();
    b.put(&kb, &token("at-b")).await.unwrap();
    a.set_secret("refresh_token:a", &Secret::new("rt-secret-a"))
        .await
        .unwrap();
    let a_name = CacheCipher::from_bytes(&[0xa1; 32])
        .unwrap()
        .entry_name(&ka);
    let a_entry = format!("{PREFIX}token:{{{a_name}}}");

    // b names entries under its own key, so it does not even find a's entry; it stays.
    assert!(b.get(&ka).await.unwrap().is_none());
    assert!(
        exists(&server, &a_entry).await,
        "get deleted another tenant's entry"
    );
    let listed = b.list().await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].key, kb.listed());
    assert!(
        exists(&server, &a_entry).await,
        "list deleted another tenant's entry"
    );
    assert!(b.get_secret("refresh_token:a").await.unwrap().is_none());
    assert_eq!(b.undecryptable(), 2, "list and get_secret each skipped one");

    // a still has everything, and saw nothing it could not open.
    assert_eq!(
        a.get(&ka).await.unwrap().unwrap().access_token.expose(),
        "at-a"
    );
    assert_eq!(a.list().await.unwrap().len(), 1);
    assert_eq!(
        a.get_secret("refresh_token:a")
            .await
            .unwrap()
            .unwrap()
            .expose(),
        "rt-secret-a"
    );
    assert_eq!(a.undecryptable(), 1, "b's entry, seen by list");

    // Clearing removes only what the clearing tenant can open.
    b.clear().await.unwrap();
    assert!(b.list().await.unwrap().is_empty());
    assert!(
        exists(&server, &a_entry).await,
        "clear deleted another tenant's entry"
    );
    assert!(a.get(&ka).await.unwrap().is_some());
}

fn profile(name: &str, id: &str, secret: &str) -> String {
    format!(
        r#"[profiles.{name}]
provider = "alvys"
tenant = "t"
client_id = "{id}"
client_secret = "{secret}"
token_url = "{}/api/authentication/t/token"
"#,
        provider_url()
    )
}

fn redis_broker(server: &RedisServer, dir: &std::path::Path, profiles: &str) -> Broker {
    let text = format!(
        "[cache]\nstore = \"redis\"\nredis_url = \"{}\"\nredis_prefix = \"{PREFIX}\"\npath = \"{}\"\n{profiles}",
        server.url(),
        dir.display(),
    );
    Broker::new(Config::from_toml_str(&text).unwrap()).unwrap()
}

#[tokio::test]
async fn brokers_with_different_cache_keys_keep_working_and_keep_each_others_entries() {
    let Some(server) = RedisServer::start(None) else {
        return;
    };
    // Two cache dirs, each with its own key (a key file an older release left there is kept
    // when it differs from the user's key, as two users on one Redis would have).
    let (dir_a, dir_b) = (support::private_dir("a"), support::private_dir("b"));
    write_cache_key(&dir_a, rand::random());
    write_cache_key(&dir_b, rand::random());
    let (id1, secret1) = new_client("tenant-1").await;
    let (id2, secret2) = new_client("tenant-2").await;
    let profiles = format!(
        "{}{}",
        profile("one", &id1, &secret1),
        profile("two", &id2, &secret2)
    );
    let opts = TokenOptions::default();
    let a = redis_broker(&server, &dir_a, &profiles);
    let b = redis_broker(&server, &dir_b, &profiles);
    let t1 = a.token("one", &opts).await.unwrap();
    b.token("two", &opts).await.unwrap();
    assert_eq!(b.cache_entries().await.unwrap().len(), 1);

    // A fresh broker of tenant a still finds its entry on Redis.
    let a2 = redis_broker(&server, &dir_a, &profiles);
    assert_eq!(a2.token("one", &opts).await.unwrap().secret(), t1.secret());
    assert_eq!(client_requests(&id1).await, 1);
    assert_eq!(a2.stats().shared_hits, 1);

    // b cannot read a's entry for the same client: it fetches its own and keeps working.
    let tb = b.token("one", &opts).await.unwrap();
    assert_ne!(tb.secret(), t1.secret());
    assert!(b.stats().undecryptable >= 1, "{:?}", b.stats());
    assert_eq!(b.stats().store_errors, 0);
    assert!(a2.stats().undecryptable <= 1);
}

/// Writes the same 32-byte cache key into `dirs`, as users of one fleet key would have.
fn same_cache_key(dirs: &[&std::path::Path]) {
    let key: [u8; 32] = rand::random();
    for dir in dirs {
        write_cache_key(dir, key);
    }
}

/// Leaves `key` in `dir` as an older release's key file.
fn write_cache_key(dir: &std::path::Path, key: [u8; 32]) {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(dir.join("key"))
        .unwrap();
    file.write_all(&key).unwrap();
}

/// A broker of one user: its own cache dir, the shared Redis, and a profile named `web` at
/// oidc-provider (plus `extra` profile lines).
fn user_broker(server: &RedisServer, dir: &std::path::Path, extra: &str) -> Broker {
    let issuer = support::oidc().get("issuer");
    let profile = format!(
        r#"[profiles.web]
issuer = "{issuer}"
grant = "authorization_code"
client_id = "oidc-web"
client_secret = "oidc-web-secret"
scopes = ["openid", "api:read"]
{extra}
"#
    );
    redis_broker(server, dir, &profile)
}

/// Signs in at oidc-provider as `login` (the ID token's `sub`) through the loopback listener.
async fn sign_in(broker: &Broker, login: &str) -> String {
    let login = login.to_owned();
    let options = tokenbroker::LoginOptions::default()
        .with_open_browser(false)
        .with_timeout(Duration::from_secs(30))
        .with_on_url(std::sync::Arc::new(move |url: &str| {
            let (url, login) = (url.to_owned(), login.clone());
            std::thread::spawn(move || {
                support::drive_login(&url, &["--follow", "--login", &login])
            });
        }));
    broker
        .login("web", &options)
        .await
        .unwrap()
        .secret()
        .to_owned()
}

/// The `sub` of the ID token that came with `token`.
fn subject(token: &tokenbroker::AccessToken) -> String {
    let id_token = token.token_set().id_token.as_ref().expect("an ID token");
    tokenbroker::advanced::id_token::validated_subject(id_token.expose()).expect("a sub")
}

#[tokio::test]
async fn users_with_the_same_profile_name_never_share_tokens() {
    let Some(server) = RedisServer::start(None) else {
        return;
    };
    let dirs = ["alice", "bob", "stranger", "fleet"].map(support::private_dir);
    let [alice_dir, bob_dir, stranger_dir, fleet_dir] = &dirs;
    same_cache_key(&dirs.each_ref().map(|d| d.as_path()));
    let alice_token = sign_in(&user_broker(&server, alice_dir, ""), "alice").await;
    let bob_token = sign_in(&user_broker(&server, bob_dir, ""), "bob").await;
    assert_ne!(alice_token, bob_token);

    // New processes of each user are served their own access token from Redis.
    let (alice, bob) = (
        user_broker(&server, alice_dir, ""),
        user_broker(&server, bob_dir, ""),
    );
    let opts = TokenOptions::default();
    assert_eq!(
        alice.token("web", &opts).await.unwrap().secret(),
        alice_token
    );
    assert_eq!(bob.token("web", &opts).await.unwrap().secret(), bob_token);
    assert_eq!((alice.stats().shared_hits, bob.stats().shared_hits), (1, 1));

    // And refresh with their own refresh token: the new ID token names the same user.
    let forced = TokenOptions::default().with_force_refresh(true);
    let alice_refreshed = alice.token("web", &forced).await.unwrap();
    let bob_refreshed = bob.token("web", &forced).await.unwrap();
    assert_eq!(subject(&alice_refreshed), "alice");
    assert_eq!(subject(&bob_refreshed), "bob");

    // A user who never signed in on this machine gets neither's token.
    let stranger = user_broker(&server, stranger_dir, "");
    let err = stranger.token("web", &opts).await.unwrap_err();
    assert_eq!(err.kind(), tokenbroker::ErrorKind::Interaction, "{err}");

    // A fleet machine that names the identity in its config shares that user's sign-in.
    let fleet = user_broker(&server, fleet_dir, "subject = \"alice\"");
    let fleet_token = fleet.token("web", &opts).await.unwrap();
    assert_eq!(fleet_token.secret(), alice_refreshed.secret());
    assert_eq!(fleet.stats().fetches, 0);
}
