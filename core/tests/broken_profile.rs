//! One broken profile does not take the config file down: the others work, and the broken one
//! reports its own error whenever it is used (and in `Config::broken`, for `doctor`).

mod support;

use std::os::unix::fs::PermissionsExt;

use tokenbroker::{Config, ErrorKind, TokenOptions};

fn text(id: &str, secret: &str) -> String {
    format!(
        r#"[cache]
store = "memory"
[profiles.good]
provider = "oidc"
grant = "client_credentials"
token_url = "{{P}}/generic/token"
client_id = "{id}"
client_secret = "{secret}"
[profiles.bad_guid]
provider = "alliance"
client_id = "aos-client"
client_secret = "aos-secret"
token_url = "{{P}}/API/v2/OAuth/token"
enrollment = "not-a-guid"
[profiles.bad_number]
provider = "oidc"
token_url = "{{P}}/generic/token"
client_id = "x"
default_ttl = nan
"#
    )
}

#[tokio::test]
async fn the_other_profiles_work_and_the_broken_ones_say_why_when_used() {
    let (id, secret) = support::new_client("broken").await;
    let broker = support::broker(&text(&id, &secret));
    broker
        .token("good", &TokenOptions::default())
        .await
        .unwrap();

    let broken: Vec<&str> = broker.config().broken().map(|(name, _)| name).collect();
    assert_eq!(broken, ["bad_guid", "bad_number"]);
    for (name, key) in [("bad_guid", "enrollment"), ("bad_number", "default_ttl")] {
        let err = broker
            .token(name, &TokenOptions::default())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{err}");
        let shown = err.to_string();
        assert!(shown.contains(name) && shown.contains(key), "{shown}");
        let err = broker.config().profile(name).unwrap_err();
        assert!(err.to_string().contains(key), "{err}");
    }
    assert!(!broker.profile_names().contains(&"bad_guid".to_owned()));
    let unknown = broker
        .token("nope", &TokenOptions::default())
        .await
        .unwrap_err();
    assert!(unknown.to_string().contains("no such profile"), "{unknown}");
}

#[test]
fn a_file_others_can_read_with_a_broken_profile_is_refused_whole() {
    // The broken profile may hold a literal secret that was never parsed.
    let dir = support::private_dir("broken-profile");
    let path = dir.join("config.toml");
    std::fs::write(
        &path,
        "[profiles.bad]\nprovider = \"alliance\"\nclient_id = \"c\"\nclient_secret = \"s\"\nenrollment = \"x\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = Config::load(&path).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("chmod 600"), "{err}");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let config = Config::load(&path).unwrap();
    assert!(config.broken().any(|(name, _)| name == "bad"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_bad_section_still_fails_the_file() {
    let err = Config::from_toml_str("[cache]\nstore = \"floppy\"\n").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
}
