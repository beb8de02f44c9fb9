//! Upgrading to identity-keyed refresh tokens: a refresh token an older release stored under
//! the profile name in the user's own file store is adopted, not lost.

mod support;

use std::time::Duration;

use tokenbroker::advanced::broker::ProfileState;
use tokenbroker::advanced::cache::{FileStore, SecretStore};
use tokenbroker::advanced::flow;
use tokenbroker::advanced::profile::Endpoint;
use tokenbroker::{Broker, Config, TokenOptions};

fn tempdir() -> std::path::PathBuf {
    let n: u64 = rand::random();
    let dir = std::env::temp_dir().join(format!("tb-identity-upgrade-{n:x}"));
    std::fs::create_dir_all(&dir).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    dir
}

#[tokio::test]
async fn a_refresh_token_stored_under_the_profile_name_is_adopted() {
    let (id, secret) = support::new_client("legacy").await;
    let configured = support::azure_refresh_token(&id, &secret).await;
    let dir = tempdir();
    let text = format!(
        r#"[cache]
store = "file"
path = "{}"
[profiles.pc]
provider = "azure-ad-v1"
tenant = "contoso"
resource = "https://api.partnercenter.microsoft.com"
grant = "refresh_token"
refresh_token = "{configured}"
client_id = "{id}"
client_secret = "{secret}"
token_url = "{{P}}/contoso/oauth2/token"
jwks_url = "{{P}}/contoso/discovery/keys"
issuer = "{{P}}/contoso/"
"#,
        dir.display()
    )
    .replace("{P}", &support::provider_url());
    let config = Config::from_toml_str(&text).unwrap();

    // What an older release left: the configured token rotated, the new one stored under a
    // key naming the profile.
    let old = Broker::new(config.clone()).unwrap();
    let profile = old.resolved_profile("pc").await.unwrap();
    let rotated = flow::refresh(
        &old.http(),
        &profile,
        profile.endpoint(Endpoint::Token).unwrap(),
        &tokenbroker::Secret::new(configured),
        &[],
        Duration::from_secs(60),
    )
    .await
    .unwrap()
    .refresh_token
    .expect("rotated");
    let legacy = ProfileState::new(config.profile("pc").unwrap().clone());
    legacy.set_identity(Some("pc".into()));
    let legacy_name = legacy.refresh_secret_name();
    let files = FileStore::open(Some(dir.clone())).unwrap();
    files.set_secret(&legacy_name, &rotated).await.unwrap();

    // The provider refuses the configured (rotated-away) token: only the adopted one works.
    let b = Broker::new(config).unwrap();
    let forced = TokenOptions::default().with_force_refresh(true);
    b.token("pc", &forced).await.unwrap();
    b.token("pc", &forced).await.unwrap();
    assert!(files.get_secret(&legacy_name).await.unwrap().is_none());
}
