//! The broker against a server stricter than oidc-provider (the test provider's `/strict/{tag}`
//! issuer, see tests/provider/README.md): client assertion audience at every endpoint, a
//! refresh token the server no longer accepts, ID tokens of the device flow and of refreshes,
//! RFC 9207 `iss` in authorization responses.

mod support;

use serde_json::json;
use tokenbroker::{AccessToken, Broker, ErrorKind, Result, TokenOptions};

/// A tag no other test uses, so that request logs and server behaviour are this test's own.
fn tag(words: &str) -> String {
    let n: u32 = rand::random();
    format!("{words}.t{n:x}")
}

/// A broker with profile `p` (`generic-client`, secret) on the strict issuer `tag`; `extra` is
/// more TOML for the profile and names its grant when it is not the code flow.
fn code_broker(tag: &str, extra: &str) -> Broker {
    let grant = if extra.contains("grant") {
        String::new()
    } else {
        "grant = \"authorization_code\"".to_owned()
    };
    support::broker(&format!(
        r#"[cache]
store = "memory"
[profiles.p]
issuer = "{{P}}/strict/{tag}"
{grant}
client_id = "generic-client"
client_secret = "generic-secret"
scopes = ["openid", "api"]
{extra}
"#
    ))
}

/// Signs in through the strict issuer's authorization endpoint (drive_login.mjs plays the
/// browser and prints the redirect).
async fn code_login(b: &Broker) -> Result<AccessToken> {
    let pending = b
        .begin_login("p", "http://127.0.0.1:9/callback", None)
        .await?;
    let url = pending.url().to_owned();
    let redirect = tokio::task::spawn_blocking(move || support::drive_login(&url, &[]))
        .await
        .unwrap();
    b.complete_login(&pending, redirect.trim()).await
}

/// Signs in with the device flow, approving the code through the admin API.
async fn device_login(b: &Broker) -> Result<AccessToken> {
    support::device_login(b, "p").await
}

fn forced() -> TokenOptions {
    TokenOptions::default().with_force_refresh(true)
}

/// Requests the strict issuer `tag` received on `route`.
async fn requests_to(tag: &str, route: &str) -> Vec<serde_json::Value> {
    let all = support::admin(&format!("requests?route={route}"), None).await;
    all.as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["path"]
                .as_str()
                .is_some_and(|p| p.starts_with(&format!("/strict/{tag}/")))
        })
        .cloned()
        .collect()
}

/// Registers a `private_key_jwt` client holding oidc-provider's test certificate; returns its
/// id and the key file.
async fn jwt_client() -> (String, String) {
    let keys = support::oidc().get("keys_dir");
    let cert = std::fs::read_to_string(format!("{keys}/client-cert.pem")).unwrap();
    let n: u32 = rand::random();
    let id = format!("strict-jwt-{n:x}");
    support::admin(
        "clients",
        Some(json!({ "client_id": id, "certificate": cert })),
    )
    .await;
    (id, format!("{keys}/client-key.pem"))
}

fn jwt_profile(tag: &str, client_id: &str, key: &str, grant: &str) -> Broker {
    support::broker(&format!(
        r#"[cache]
store = "memory"
[profiles.p]
issuer = "{{P}}/strict/{tag}"
grant = "{grant}"
client_id = "{client_id}"
auth_method = "private_key_jwt"
private_key = "file:{key}"
scopes = ["openid"]
"#
    ))
}

#[tokio::test]
async fn logout_signs_its_assertion_for_the_token_endpoint() {
    let tag = tag("aud");
    let (id, key) = jwt_client().await;
    let b = jwt_profile(&tag, &id, &key, "authorization_code");
    code_login(&b).await.unwrap();
    let revoked = b.logout("p").await;
    assert!(
        revoked.as_ref().is_ok_and(|r| *r),
        "a strict server takes only its issuer or token endpoint as aud: {revoked:?}"
    );
    let log = requests_to(&tag, "strict.revoke").await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["status"], 200);
}

#[tokio::test]
async fn device_authorization_signs_its_assertion_for_the_token_endpoint() {
    let tag = tag("aud");
    let (id, key) = jwt_client().await;
    let b = jwt_profile(&tag, &id, &key, "device_code");
    let token = device_login(&b).await;
    assert!(token.is_ok(), "{:?}", token.err());
}

#[tokio::test]
async fn a_refresh_token_the_server_refuses_is_dropped_and_asks_for_a_new_sign_in() {
    let tag = tag("refresh-dead");
    let b = code_broker(&tag, "");
    code_login(&b).await.unwrap();
    let err = b.token("p", &forced()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Interaction, "{err}");
    assert!(err.to_string().contains("sign in again"), "{err}");
    assert!(err.to_string().contains("invalid_grant"), "{err}");
    let sent = requests_to(&tag, "strict.token").await.len();
    let err = b.token("p", &forced()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Interaction, "{err}");
    assert_eq!(
        requests_to(&tag, "strict.token").await.len(),
        sent,
        "the dead refresh token is not sent again"
    );
}

#[tokio::test]
async fn a_configured_refresh_token_the_server_refuses_is_not_resent() {
    let tag = tag("refresh-dead");
    let b = code_broker(
        &tag,
        "grant = \"refresh_token\"\nrefresh_token = \"rt-of-an-ended-session\"",
    );
    for _ in 0..2 {
        let err = b.token("p", &forced()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Interaction, "{err}");
    }
    assert_eq!(requests_to(&tag, "strict.token").await.len(), 1);
}

#[tokio::test]
async fn device_flow_id_tokens_are_checked() {
    let ok = code_broker(&tag("device-ok"), "grant = \"device_code\"");
    let token = device_login(&ok).await.unwrap();
    assert!(
        token.token_set().id_token.is_some(),
        "a valid ID token is kept"
    );
    for defect in ["sig", "iss", "aud", "exp"] {
        let b = code_broker(&tag(&format!("device-{defect}")), "");
        let err = device_login(&b).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidResponse, "{defect}: {err}");
        assert!(err.to_string().contains("ID token"), "{defect}: {err}");
    }
}

#[tokio::test]
async fn refresh_id_tokens_are_checked_and_keep_the_subject() {
    let ok = code_broker(&tag("refresh-ok"), "");
    code_login(&ok).await.unwrap();
    let refreshed = ok.token("p", &forced()).await.unwrap();
    assert!(refreshed.token_set().id_token.is_some());
    for defect in ["sig", "iss", "aud", "exp", "sub"] {
        let b = code_broker(&tag(&format!("refresh-{defect}")), "");
        code_login(&b).await.unwrap();
        let err = b.token("p", &forced()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidResponse, "{defect}: {err}");
        assert!(err.to_string().contains("ID token"), "{defect}: {err}");
    }
}

#[tokio::test]
async fn rfc9207_iss_is_required_when_discovery_advertises_it() {
    code_login(&code_broker(&tag("iss-ok"), "")).await.unwrap();
    code_login(&code_broker(&tag("iss-unadvertised"), ""))
        .await
        .unwrap();
    for words in ["iss-missing", "iss-wrong"] {
        let err = code_login(&code_broker(&tag(words), "")).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Interaction, "{words}: {err}");
        assert!(err.to_string().contains("iss"), "{words}: {err}");
    }
}

#[tokio::test]
async fn profiles_with_different_secrets_do_not_share_a_cached_token() {
    let (id, secret) = support::new_client("strict-cred").await;
    let n: u32 = rand::random();
    let dir = std::env::temp_dir().join(format!("tb-strict-cred-{n:x}"));
    let text = format!(
        r#"[cache]
store = "file"
path = "{dir}"
[profiles.right]
token_url = "{{P}}/generic/token"
client_id = "{id}"
client_secret = "{secret}"
[profiles.wrong]
token_url = "{{P}}/generic/token"
client_id = "{id}"
client_secret = "not-the-secret"
"#,
        dir = dir.display()
    );
    let first = support::broker(&text);
    first
        .token("right", &TokenOptions::default())
        .await
        .unwrap();
    let err = first
        .token("wrong", &TokenOptions::default())
        .await
        .expect_err("a wrong secret must not be served the right one's token");
    assert_eq!(err.kind(), ErrorKind::OAuth, "{err}");
    // Another process with the right secret still shares the entry through the file store.
    let issued = support::client_requests(&id).await;
    let second = support::broker(&text);
    second
        .token("right", &TokenOptions::default())
        .await
        .unwrap();
    assert_eq!(support::client_requests(&id).await, issued);
    assert_eq!(second.stats().shared_hits, 1);
    let err = second
        .token("wrong", &TokenOptions::default())
        .await
        .expect_err("nor from the file store");
    assert_eq!(err.kind(), ErrorKind::OAuth, "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
