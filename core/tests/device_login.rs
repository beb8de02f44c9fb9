//! The device sign-in as every language calls it: a timeout the core enforces, and the choice
//! between the device flow and the browser that the CLI used to make itself.

mod support;

use std::time::{Duration, Instant};

use tokenbroker::{DeviceLoginOptions, ErrorKind, LoginFlow, ScopesArg};

async fn device_broker(grant: &str) -> tokenbroker::Broker {
    let (id, secret) = support::new_client("device").await;
    support::broker(&format!(
        r#"[cache]
store = "memory"
[profiles.p]
provider = "oidc"
client_id = "{id}"
client_secret = "{secret}"
token_url = "{{P}}/generic/token"
device_url = "{{P}}/generic/device"
authorize_url = "{{P}}/generic/authorize"
grant = "{grant}"
scopes = ["read"]
"#
    ))
}

#[tokio::test]
async fn a_device_code_nobody_approves_ends_at_the_timeout() {
    let broker = device_broker("device_code").await;
    let options = DeviceLoginOptions::from_args(None, Some(1.5)).unwrap();
    let started = Instant::now();
    let mut shown = None;
    let err = broker
        .device_login("p", &options, |auth| shown = Some(auth.user_code.clone()))
        .await
        .unwrap_err();
    assert!(shown.is_some(), "the code was shown before waiting");
    assert_eq!(err.kind(), ErrorKind::Interaction, "{err}");
    assert!(
        err.to_string().contains("not approved within 1.5 s"),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "it waited for the code's expiry"
    );
}

#[tokio::test]
async fn device_login_options_are_checked_and_default_to_the_code_expiry() {
    let default = DeviceLoginOptions::from_args(None, None).unwrap();
    assert_eq!(default.timeout, None);
    for bad in [0.0, -1.0, f64::NAN] {
        let e = DeviceLoginOptions::from_args(None, Some(bad)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
    }
    let scoped = DeviceLoginOptions::from_args(Some(ScopesArg::Text("a b".into())), None).unwrap();
    assert_eq!(scoped.scopes.unwrap(), ["a", "b"]);
}

#[tokio::test]
async fn the_login_flow_follows_the_grant_unless_the_device_is_asked_for() {
    let device = device_broker("device_code").await;
    assert_eq!(device.login_flow("p", false).unwrap(), LoginFlow::Device);
    let code = device_broker("authorization_code").await;
    assert_eq!(code.login_flow("p", false).unwrap(), LoginFlow::Browser);
    assert_eq!(code.login_flow("p", true).unwrap(), LoginFlow::Device);
    let e = code.login_flow("nope", false).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
}
