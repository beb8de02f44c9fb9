use super::*;

fn profile(extra: &str) -> Result<Profile> {
    profile_of(
        "provider = \"alvys\"\ntenant = \"t\"\nclient_secret = \"s3cr3t-client\"",
        extra,
    )
}

/// Profile `p` of a config holding `preset` lines, a client id and `extra` lines.
fn profile_of(preset: &str, extra: &str) -> Result<Profile> {
    let text = format!("[profiles.p]\n{preset}\nclient_id = \"c\"\n{extra}");
    let config = crate::Config::from_toml_str(&text)?;
    Ok(config.profile("p")?.clone())
}

#[test]
fn header_values_are_secrets_resolved_like_any_other() {
    // SAFETY: a variable name only this test uses.
    unsafe { std::env::set_var("TB_PROFILE_TEST_API_KEY", "k3y-from-env") };
    let p = profile("headers = { \"X-Api-Key\" = \"env:TB_PROFILE_TEST_API_KEY\" }").unwrap();
    assert_eq!(p.headers.len(), 1);
    assert_eq!(p.headers[0].0, "x-api-key");
    assert_eq!(p.headers[0].1.expose(), "k3y-from-env");
    let debug = format!("{p:?}");
    assert!(
        !debug.contains("k3y-from-env") && !debug.contains("s3cr3t-client"),
        "{debug}"
    );
}

#[test]
fn a_missing_header_variable_is_a_config_error_naming_the_header() {
    let err = profile("headers = { \"X-Api-Key\" = \"env:TB_PROFILE_TEST_UNSET\" }").unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::Config);
    let text = err.to_string();
    assert!(
        text.contains("headers") && text.contains("X-Api-Key"),
        "{text}"
    );
}

fn alvaria(extra: &str) -> Result<Profile> {
    let preset = "provider = \"alvaria\"\nregion = \"eu\"\nclient_secret = \"s\"\norg = \"org-42\"";
    profile_of(preset, extra)
}

#[test]
fn placeholders_in_an_overridden_url_are_expanded_like_the_preset_s() {
    let p = alvaria(
        "registration_url = \"http://127.0.0.1:3100/via/v1/organizations/{org}/oauth/clients\"",
    )
    .unwrap();
    assert_eq!(
        p.endpoint(Endpoint::Registration).unwrap().as_str(),
        "http://127.0.0.1:3100/via/v1/organizations/org-42/oauth/clients"
    );
}

#[test]
fn an_overridden_url_with_an_unknown_placeholder_is_a_config_error_naming_it() {
    let err = alvaria("token_url = \"http://127.0.0.1:3100/{tenant_id}/token\"").unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::Config);
    let text = err.to_string();
    assert!(
        text.contains("token_url") && text.contains("tenant_id"),
        "{text}"
    );
}

#[test]
fn a_broken_override_is_refused_without_quoting_it() {
    let err = alvaria("token_url = \"http://u:s3cret-pw@127.0.0.1:3100/{org/token\"").unwrap_err();
    let text = err.to_string();
    assert!(text.contains("token_url"), "{text}");
    assert!(!text.contains("s3cret-pw"), "{text}");
}

#[test]
fn each_endpoint_answers_with_its_own_key_s_url() {
    let overrides: String = Endpoint::ALL
        .iter()
        .map(|e| format!("{} = \"http://127.0.0.1:3100/{}\"\n", e.key(), e.key()))
        .collect();
    let p = profile(&overrides).unwrap();
    for endpoint in Endpoint::ALL {
        let url = p.endpoint(endpoint).unwrap();
        assert_eq!(url.path(), format!("/{}", endpoint.key()), "{endpoint:?}");
    }
}

#[test]
fn a_missing_endpoint_is_a_config_error_naming_its_key() {
    let p = profile("").unwrap();
    let err = p.endpoint(Endpoint::Device).unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::Config);
    assert!(err.to_string().contains("'device_url'"), "{err}");
}

#[test]
fn configured_scopes_get_the_same_scope_token_check_as_a_callers() {
    // The same rule as `token(scopes=…)` in every language: a list item holding a space, or a
    // character RFC 6749 §3.3 excludes, is refused naming the profile and key.
    for bad in [
        r#"scopes = ["read write"]"#,
        r#"scopes = ["a\"b"]"#,
        r#"scopes = ["ü"]"#,
    ] {
        let err = profile(bad).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Config, "{bad}");
        let text = err.to_string();
        assert!(
            text.contains("profile 'p'") && text.contains("scopes"),
            "{text}"
        );
    }
    let spaced = profile(r#"scopes = "read  write""#).unwrap();
    assert_eq!(spaced.scopes, ["read", "write"]);
}
