//! The broker against the test provider: every seed preset, the memory tier, single flight.

mod support;

use std::time::Duration;

use support::{broker, client_requests, new_client};
use tokenbroker::{ErrorKind, TokenOptions};

const GUID: &str = "6f1c2a4e-0b7d-4c1e-9a55-2f7f1b0e8c3d";

fn opts() -> TokenOptions {
    TokenOptions::default()
}

#[tokio::test]
async fn alliance_sends_requested_scopes_and_enrollment_then_serves_from_memory() {
    let (id, secret) = new_client("aos").await;
    let b = broker(&format!(
        r#"[cache]
store = "memory"
[profiles.aos]
provider = "alliance"
client_id = "{id}"
client_secret = "{secret}"
scopes = ["User.Read.All", "Orders.Read"]
enrollment = "{GUID}"
token_url = "{{P}}/API/v2/OAuth/token""#
    ));
    let first = b.token("aos", &opts()).await.unwrap();
    let second = b.token("aos", &opts()).await.unwrap();
    assert_eq!(first.secret(), second.secret());
    assert_eq!(first.token_type(), "Bearer");
    assert!(first.remaining() > Duration::from_secs(3500));
    assert_eq!(client_requests(&id).await, 1);
    let stats = b.stats();
    assert_eq!((stats.hits, stats.misses, stats.fetches), (1, 1, 1));
}

#[tokio::test]
async fn alvaria_region_preset_with_overridden_host() {
    let (id, secret) = new_client("alvaria").await;
    let b = broker(&format!(
        r#"[cache]
store = "memory"
[profiles.alv]
provider = "alvaria"
region = "eu"
client_id = "{id}"
client_secret = "{secret}"
scopes = ["myaccount.clients.list"]
token_url = "{{P}}/tokenservice/oauth2/access_token""#
    ));
    let t = b.token("alv", &opts()).await.unwrap();
    assert_eq!(t.scopes(), ["myaccount.clients.list"]);
    assert_eq!(client_requests(&id).await, 1);
}

#[tokio::test]
async fn alvys_tenant_in_the_path() {
    let (id, secret) = new_client("alvys").await;
    let b = broker(&format!(
        r#"[cache]
store = "memory"
[profiles.alvys]
provider = "alvys"
tenant = "tenant-42"
client_id = "{id}"
client_secret = "{secret}"
token_url = "{{P}}/api/authentication/tenant-42/token""#
    ));
    b.token("alvys", &opts()).await.unwrap();
    b.token("alvys", &opts()).await.unwrap();
    assert_eq!(client_requests(&id).await, 1);
}

#[tokio::test]
async fn bad_secret_is_a_typed_oauth_error_without_the_secret() {
    let (id, _) = new_client("bad").await;
    let b = broker(&format!(
        r#"[cache]
store = "memory"
[profiles.p]
provider = "alliance"
client_id = "{id}"
client_secret = "wrong-secret-value-123"
token_url = "{{P}}/API/v2/OAuth/token""#
    ));
    let err = b.token("p", &opts()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::OAuth);
    assert_eq!(err.oauth().unwrap().error, "invalid_client");
    assert_eq!(err.status(), Some(401));
    let text = format!("{err} {err:?}");
    assert!(!text.contains("wrong-secret-value-123"), "{text}");
    assert_eq!(b.stats().errors, 1);
}

#[tokio::test]
async fn unknown_profile_is_a_config_error_naming_known_ones() {
    let b = broker(
        "[cache]\nstore = \"memory\"\n[profiles.a]\nprovider = \"alvys\"\ntenant = \"t\"\nclient_id = \"x\"\nclient_secret = \"y\"\n",
    );
    let err = b.token("nope", &opts()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("known: a"), "{err}");
}

#[tokio::test]
async fn a_herd_of_1000_tasks_on_a_cold_key_makes_one_request() {
    let (id, secret) = new_client("herd").await;
    let b = broker(&format!(
        r#"[cache]
store = "memory"
[profiles.h]
provider = "alvys"
tenant = "t1"
client_id = "{id}"
client_secret = "{secret}"
token_url = "{{P}}/api/authentication/t1/token""#
    ));
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let b = b.clone();
            tokio::spawn(async move {
                b.token("h", &TokenOptions::default())
                    .await
                    .map(|t| t.secret().to_owned())
            })
        })
        .collect();
    let mut tokens = std::collections::HashSet::new();
    for t in tasks {
        tokens.insert(t.await.unwrap().unwrap());
    }
    assert_eq!(tokens.len(), 1);
    assert_eq!(client_requests(&id).await, 1);
    let s = b.stats();
    assert_eq!(s.fetches, 1);
    assert!(s.coalesced + s.hits == 999, "{s:?}");
}

#[tokio::test]
async fn scopes_in_any_order_share_one_entry_and_min_ttl_forces_a_fetch() {
    let (id, secret) = new_client("scopes").await;
    let b = broker(&format!(
        r#"[cache]
store = "memory"
[profiles.s]
provider = "alliance"
client_id = "{id}"
client_secret = "{secret}"
token_url = "{{P}}/API/v2/OAuth/token""#
    ));
    let ab = opts().with_scopes(["a", "b"]);
    let ba = opts().with_scopes(["b", "a", "a"]);
    let t1 = b.token("s", &ab).await.unwrap();
    let t2 = b.token("s", &ba).await.unwrap();
    assert_eq!(t1.secret(), t2.secret());
    assert_eq!(client_requests(&id).await, 1);
    let long = ab.clone().with_min_ttl(Duration::from_secs(7200));
    let t3 = b.token("s", &long).await.unwrap();
    assert_ne!(t3.secret(), t1.secret());
    assert_eq!(client_requests(&id).await, 2);
    let forced = ab.with_force_refresh(true);
    b.token("s", &forced).await.unwrap();
    assert_eq!(client_requests(&id).await, 3);
}

#[tokio::test]
async fn cached_token_never_does_io() {
    let (id, secret) = new_client("cached").await;
    let b = broker(&format!(
        r#"[cache]
store = "memory"
[profiles.c]
provider = "alvys"
tenant = "t"
client_id = "{id}"
client_secret = "{secret}"
token_url = "{{P}}/api/authentication/t/token""#
    ));
    assert!(b.cached_token("c", &opts()).unwrap().is_none());
    assert_eq!(client_requests(&id).await, 0);
    let t = b.token("c", &opts()).await.unwrap();
    assert_eq!(
        b.cached_token("c", &opts()).unwrap().unwrap().secret(),
        t.secret()
    );

    // The memory answers only what token() would answer from it: nothing for a forced
    // refresh or for the very token the caller reports as rejected, the cached one for a
    // rejected older token. Bindings' warm paths rely on this instead of their own rule.
    let forced = opts().with_force_refresh(true);
    assert!(b.cached_token("c", &forced).unwrap().is_none());
    let rejected = |id| opts().with_rejected(id);
    assert!(b.cached_token("c", &rejected(t.id())).unwrap().is_none());
    let newer = b.cached_token("c", &rejected(t.id() + 1_000)).unwrap();
    assert_eq!(newer.unwrap().id(), t.id());
    assert_eq!(client_requests(&id).await, 1);
}

#[tokio::test]
async fn azure_refresh_token_grant_persists_each_rotation_before_use() {
    let (id, secret) = new_client("azure").await;
    let rt = support::azure_refresh_token(&id, &secret).await;
    let b = broker(&format!(
        r#"[cache]
store = "memory"
[profiles.pc]
provider = "azure-ad-v1"
tenant = "contoso"
resource = "https://api.partnercenter.microsoft.com"
grant = "refresh_token"
refresh_token = "{rt}"
client_id = "{id}"
client_secret = "{secret}"
token_url = "{{P}}/contoso/oauth2/token"
jwks_url = "{{P}}/contoso/discovery/keys"
issuer = "{{P}}/contoso/""#
    ));
    let forced = opts().with_force_refresh(true);
    // The provider rotates refresh tokens and refuses reuse: three refreshes in a row only
    // succeed if each rotated token was stored and used for the next.
    let mut seen = std::collections::HashSet::new();
    for _ in 0..3 {
        let t = b.token("pc", &forced).await.unwrap();
        assert!(
            t.remaining() > Duration::from_secs(3500),
            "expires_in string parsed"
        );
        seen.insert(t.secret().to_owned());
    }
    assert_eq!(seen.len(), 3);
}

#[tokio::test]
async fn callers_refused_with_the_same_token_share_one_refresh() {
    let (id, secret) = new_client("rejected").await;
    let b = broker(&format!(
        r#"[cache]
store = "memory"
[profiles.r]
provider = "alvys"
tenant = "t"
client_id = "{id}"
client_secret = "{secret}"
token_url = "{{P}}/api/authentication/t/token""#
    ));
    let refused = b.token("r", &opts()).await.unwrap();
    let rejected = opts().with_rejected(refused.id());
    let calls: Vec<_> = (0..10)
        .map(|_| {
            let (b, rejected) = (b.clone(), rejected.clone());
            tokio::spawn(async move { b.token("r", &rejected).await.unwrap().secret().to_owned() })
        })
        .collect();
    let mut fresh = std::collections::HashSet::new();
    for c in calls {
        fresh.insert(c.await.unwrap());
    }
    assert_eq!(fresh.len(), 1);
    assert!(!fresh.contains(refused.secret()));
    assert_eq!(client_requests(&id).await, 2);
    // A late caller that still holds the refused token gets the newer one without a request.
    let late = b.token("r", &rejected).await.unwrap();
    assert!(fresh.contains(late.secret()));
    assert_eq!(client_requests(&id).await, 2);
}
