//! HTTPS to a provider whose certificate a `ca_file` vouches for (oidc-provider with `--tls`),
//! and when that file is read: on the first request, not when the broker is built.

mod support;

use tokenbroker::{Broker, Config, ErrorKind, TokenOptions};

/// A client-credentials profile at the HTTPS oidc-provider: discovered from its issuer, or
/// with its token endpoint given (so the first request is the token request).
fn config(ca_file: Option<&std::path::Path>, discovered: bool) -> Config {
    let http = match ca_file {
        Some(path) => format!(
            "[http]\nca_file = \"{}\"\nmax_retries = 0\n",
            path.display()
        ),
        None => "[http]\nmax_retries = 0\n".to_owned(),
    };
    let issuer = support::oidc_tls().get("issuer");
    assert!(issuer.starts_with("https://"), "{issuer}");
    let server = match discovered {
        true => format!("issuer = \"{issuer}\""),
        false => format!("token_url = \"{issuer}/token\""),
    };
    let text = format!(
        "[cache]\nstore = \"memory\"\n{http}\n[profiles.p]\nprovider = \"oidc\"\n\
         {server}\nclient_id = \"oidc-basic\"\n\
         client_secret = \"oidc-basic-secret\"\nscopes = [\"api:read\"]\n"
    );
    Config::from_toml_str(&text).unwrap()
}

#[tokio::test]
async fn a_ca_file_is_read_on_the_first_request_not_when_the_broker_is_built() {
    let dir = support::private_dir("lazy");
    let ca = dir.join("ca.pem");
    // Not there yet: building the broker must not look.
    let broker = Broker::new(config(Some(&ca), false)).expect("built without reading ca_file");
    let err = broker
        .token("p", &TokenOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.to_string().contains("ca_file"), "{err}");
    // Discovery reports it as it is: a config error (never shared as a provider outage).
    let discovered = Broker::new(config(Some(&ca), true)).unwrap();
    let err = discovered
        .token("p", &TokenOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.to_string().contains("config error in ca_file"), "{err}");

    std::fs::write(
        &ca,
        "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let err = broker
        .token("p", &TokenOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.to_string().contains("not a PEM certificate"), "{err}");

    // Fixed while the broker lives: the next call reads it and trusts the provider.
    std::fs::copy(support::oidc_tls().get("ca_file"), &ca).unwrap();
    for b in [&broker, &discovered] {
        let token = b.token("p", &TokenOptions::default()).await.unwrap();
        assert!(!token.secret().is_empty());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn without_the_ca_file_the_provider_certificate_is_refused() {
    let broker = Broker::new(config(None, true)).unwrap();
    let err = broker
        .token("p", &TokenOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    let ca = std::path::PathBuf::from(support::oidc_tls().get("ca_file"));
    let broker = Broker::new(config(Some(&ca), true)).unwrap();
    broker.token("p", &TokenOptions::default()).await.unwrap();
}
