//! Numbers from a hostile provider, served by the test provider's `status` fault with a
//! custom body: every lifetime no clock can hold is a typed invalid_response naming the
//! field, never a panic; a caller's `min_ttl` beyond the limit is a config error.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::{admin, broker, new_client};
use tokenbroker::{ErrorKind, TokenOptions};

fn profile(id: &str, secret: &str) -> String {
    format!(
        "[cache]\nstore = \"memory\"\n\n[profiles.p]\nprovider = \"alvys\"\ntenant = \"t1\"\n\
         client_id = \"{id}\"\nclient_secret = \"{secret}\"\n\
         token_url = \"{{P}}/api/authentication/t1/token\"\n"
    )
}

/// The other tests here use the Alliance route, so they never take this file's faults.
fn alliance(id: &str, secret: &str) -> String {
    format!(
        "[cache]\nstore = \"memory\"\n\n[profiles.p]\nprovider = \"alliance\"\n\
         client_id = \"{id}\"\nclient_secret = \"{secret}\"\n\
         token_url = \"{{P}}/API/v2/OAuth/token\"\n"
    )
}

async fn serve_once(body: Value) {
    let fault = json!({"route": "alvys.token", "kind": "status", "status": 200, "body": body});
    admin("faults", Some(fault)).await;
}

#[tokio::test]
async fn hostile_lifetimes_are_invalid_responses_naming_the_field() {
    let (id, secret) = new_client("numbers").await;
    let b = broker(&profile(&id, &secret));
    let opts = TokenOptions::default().with_force_refresh(true);
    for (field, value) in [
        ("expires_in", json!(1e19)),
        ("expires_in", json!(1e300)),
        ("expires_in", json!("1e300")),
        ("expires_in", json!(1e12)),
        ("expires_on", json!(1e19)),
        ("expires_on", json!("1e300")),
        ("expires_on", json!(1e12)),
        ("refresh_in", json!(1e19)),
        ("refresh_in", json!(1e300)),
    ] {
        let mut body = json!({"access_token": "at-hostile", "token_type": "Bearer"});
        if field == "refresh_in" {
            body["expires_in"] = json!(60);
        }
        body[field] = value.clone();
        serve_once(body).await;
        let err = b.token("p", &opts).await.unwrap_err();
        assert_eq!(
            err.kind(),
            ErrorKind::InvalidResponse,
            "{field}={value}: {err}"
        );
        assert!(err.to_string().contains(field), "{field}={value}: {err}");
    }
    // The broker is still healthy afterwards.
    let token = b.token("p", &opts).await.unwrap();
    assert!(token.remaining() > Duration::from_secs(60));
}

#[tokio::test]
async fn a_min_ttl_beyond_the_limit_is_a_config_error() {
    let (id, secret) = new_client("minttl").await;
    let b = broker(&alliance(&id, &secret));
    b.token("p", &TokenOptions::default()).await.unwrap();
    for min_ttl in [Duration::from_secs(u64::MAX), Duration::MAX] {
        let opts = TokenOptions::default().with_min_ttl(min_ttl);
        let err = b.token("p", &opts).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{err}");
        assert!(err.to_string().contains("min_ttl"), "{err}");
        let err = b.cached_token("p", &opts).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    }
}
