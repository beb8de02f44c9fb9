//! Sign-in through the broker's loopback listener, then logout: the refresh token is revoked
//! at oidc-provider (RFC 7009) and forgotten locally.

mod support;

use std::sync::Arc;
use std::time::Duration;

use tokenbroker::advanced::flow;
use tokenbroker::advanced::profile::Endpoint;
use tokenbroker::{Broker, Config, ErrorKind, LoginOptions, TokenOptions};

fn broker() -> Broker {
    let issuer = support::oidc().get("issuer");
    let text = format!(
        r#"[cache]
store = "memory"
[profiles.web]
issuer = "{issuer}"
grant = "authorization_code"
client_id = "oidc-web"
client_secret = "oidc-web-secret"
scopes = ["openid", "api:read"]
"#
    );
    Broker::new(Config::from_toml_str(&text).unwrap()).unwrap()
}

/// Plays the browser: drive_login.mjs signs in at oidc-provider and delivers the redirect
/// to the broker's loopback listener.
fn browser() -> LoginOptions {
    LoginOptions::default()
        .with_open_browser(false)
        .with_timeout(Duration::from_secs(30))
        .with_on_url(Arc::new(|url: &str| {
            let url = url.to_owned();
            std::thread::spawn(move || support::drive_login(&url, &["--follow"]));
        }))
}

/// Name under which the broker stores the refresh token of the user drive_login signs in as.
fn refresh_token_name(b: &Broker) -> String {
    let profile = b.config().profile("web").unwrap().clone();
    let issuer = profile.issuer().unwrap().to_owned();
    let state = tokenbroker::advanced::broker::ProfileState::new(profile);
    state.set_identity(Some(format!("iss={issuer} sub=test-user")));
    state.refresh_secret_name()
}

/// Sends `refresh_token` to oidc-provider directly, as a broker that kept it would.
async fn refresh_with(b: &Broker, refresh_token: &tokenbroker::Secret) -> tokenbroker::Error {
    let profile = b.resolved_profile("web").await.unwrap();
    let token_url = profile.endpoint(Endpoint::Token).unwrap();
    flow::refresh(
        &b.http(),
        &profile,
        token_url,
        refresh_token,
        &[],
        Duration::from_secs(60),
    )
    .await
    .expect_err("oidc-provider must refuse this refresh token")
}

#[tokio::test]
async fn logout_revokes_the_refresh_token_and_forgets_the_sign_in() {
    let b = broker();
    let first = b.login("web", &browser()).await.unwrap();
    let refreshed = b
        .token("web", &TokenOptions::default().with_force_refresh(true))
        .await
        .unwrap();
    assert_ne!(
        first.secret(),
        refreshed.secret(),
        "the stored refresh token works"
    );

    let store = b.secret_store().await;
    let state_name = refresh_token_name(&b);
    let rt = store
        .get_secret(&state_name)
        .await
        .unwrap()
        .expect("refresh token stored");

    assert!(
        b.logout("web").await.unwrap(),
        "oidc-provider has a revocation endpoint"
    );
    let err = refresh_with(&b, &rt).await;
    assert_eq!(
        err.oauth().map(|o| o.error.as_str()),
        Some("invalid_grant"),
        "{err}"
    );
    let err = b.token("web", &TokenOptions::default()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Interaction, "sign in again: {err}");
    assert!(store.get_secret(&state_name).await.unwrap().is_none());
}

#[tokio::test]
async fn a_rotated_refresh_token_is_stored_and_the_old_one_is_refused() {
    let b = broker();
    b.login("web", &browser()).await.unwrap();
    let store = b.secret_store().await;
    let name = refresh_token_name(&b);
    let before = store
        .get_secret(&name)
        .await
        .unwrap()
        .expect("stored at sign-in");
    b.token("web", &TokenOptions::default().with_force_refresh(true))
        .await
        .unwrap();
    let after = store
        .get_secret(&name)
        .await
        .unwrap()
        .expect("still stored");
    assert_ne!(
        before, after,
        "oidc-provider rotates refresh tokens; the new one is stored"
    );
    // Reusing the rotated-out token must fail at the server (so a broker that kept using it
    // would be caught). oidc-provider then revokes the whole grant, so this runs last.
    let err = refresh_with(&b, &before).await;
    assert_eq!(
        err.oauth().map(|o| o.error.as_str()),
        Some("invalid_grant"),
        "{err}"
    );
}
