use super::*;

fn profile(extra: &str) -> Result<Profile> {
    let text = format!(
        "[profiles.p]\nprovider = \"alvys\"\ntenant = \"t\"\nclient_id = \"c\"\n\
         client_secret = \"s3cr3t-client\"\n{extra}"
    );
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
