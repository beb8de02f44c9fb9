use super::*;
use crate::config::Config;

fn profile(toml: &str) -> Profile {
    Config::from_toml_str(toml)
        .unwrap()
        .profile("p")
        .unwrap()
        .clone()
}

#[test]
fn pkce_s256_matches_rfc7636_appendix_b() {
    assert_eq!(
        code_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    );
    let v = random_token(32);
    assert_eq!(v.len(), 43, "32 bytes give the shortest allowed verifier");
    assert_ne!(v, random_token(32));
}

#[test]
fn request_carries_every_parameter_and_hides_the_verifier() {
    let p = profile(
        r#"[profiles.p]
        provider = "azure-ad-v1"
        client_id = "app-1"
        client_secret = "s3cr3t-value"
        resource = "https://api.example.com"
        "#,
    );
    let authorize = Url::parse("https://login.example.com/t/oauth2/authorize?x=1").unwrap();
    let req = authorization_request(&p, &authorize, "http://127.0.0.1:5/cb", &["profile".into()])
        .unwrap();
    let q: Vec<(String, String)> = req.url.query_pairs().into_owned().collect();
    let get = |k: &str| param(&q, k).unwrap_or_else(|| panic!("no {k} in {q:?}"));
    assert_eq!(get("x"), "1");
    assert_eq!(get("response_type"), "code id_token");
    assert_eq!(get("response_mode"), "form_post");
    assert_eq!(get("client_id"), "app-1");
    assert_eq!(get("redirect_uri"), "http://127.0.0.1:5/cb");
    assert_eq!(get("scope"), "openid profile");
    assert_eq!(get("state"), req.state);
    assert_eq!(get("nonce"), req.nonce);
    assert_eq!(get("code_challenge"), code_challenge(req.verifier.expose()));
    assert_eq!(get("code_challenge_method"), "S256");
    assert_eq!(get("resource"), "https://api.example.com");
    assert!(!req.url.as_str().contains("s3cr3t"));
    let debug = format!("{req:?}");
    assert!(!debug.contains(req.verifier.expose()), "{debug}");
}

#[test]
fn callback_from_query_and_fragment() {
    let cb =
        parse_callback_url("http://127.0.0.1:9/cb?code=c-1&state=s-1&iss=https%3A%2F%2Fi").unwrap();
    assert_eq!((cb.code.expose(), cb.state.as_str()), ("c-1", "s-1"));
    assert_eq!(cb.issuer.as_deref(), Some("https://i"));
    assert!(cb.id_token.is_none());
    let cb = parse_callback_url("http://127.0.0.1:9/cb#code=c-2&id_token=a.b.c&state=s-2").unwrap();
    assert_eq!(cb.code.expose(), "c-2");
    assert_eq!(cb.id_token.as_ref().map(Secret::expose), Some("a.b.c"));
    let cb = parse_callback_url("/cb?state=s&code=c").unwrap();
    assert_eq!(cb.code.expose(), "c");
    assert!(format!("{cb:?}").contains("[redacted]"));
}

#[test]
fn callback_errors_name_the_code_and_description() {
    let err = parse_callback_url(
        "http://h/cb?error=access_denied&error_description=User%20said%0Ano&state=s",
    )
    .unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::Interaction);
    let text = err.to_string();
    assert!(
        text.contains("access_denied: User said no") && text.contains("denied"),
        "{text}"
    );
    let err = parse_callback_url("http://h/cb?error=invalid_scope&state=s").unwrap_err();
    assert!(
        err.to_string()
            .contains("refused the request (invalid_scope)"),
        "{err}"
    );
    let err = parse_callback_url("http://h/cb?state=s").unwrap_err();
    assert!(
        err.to_string().contains("neither 'code' nor 'error'"),
        "{err}"
    );
    let err = parse_callback_url("http://h/cb?code=c").unwrap_err();
    assert!(err.to_string().contains("no 'state'"), "{err}");
    let err = parse_callback_url("http://h/cb?code=c&state=a&state=b").unwrap_err();
    assert!(
        err.to_string().contains("repeats the parameter 'state'"),
        "{err}"
    );
}

#[test]
fn form_post_body() {
    let cb = parse_form_post(b"code=abc%2Bdef&id_token=h.p.s&state=st&session_state=x").unwrap();
    assert_eq!(cb.code.expose(), "abc+def");
    assert_eq!(cb.id_token.unwrap().expose(), "h.p.s");
    assert_eq!(cb.state, "st");
    let err = parse_form_post(
        b"error=server_error&error_description=AADSTS50000%3A%20x%0D%0ATrace%20ID%3A%201&state=st",
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("server_error: AADSTS50000: x Trace ID: 1"),
        "{err}"
    );
}
