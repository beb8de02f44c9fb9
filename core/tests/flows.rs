//! Interactive flows end to end against real servers: panva's oidc-provider
//! (tests/oidc) and the project's test provider (tests/provider). The browser is
//! tests/oidc/drive_login.mjs, which delivers the redirect to the real loopback listener.

mod support;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};
use tokenbroker::Config;
use tokenbroker::advanced::config::HttpConfig;
use tokenbroker::advanced::discovery;
use tokenbroker::advanced::flow::authorization::{self, AuthorizationRequest, Callback};
use tokenbroker::advanced::flow::device;
use tokenbroker::advanced::flow::loopback::LoopbackListener;
use tokenbroker::advanced::http::HttpClient;
use tokenbroker::advanced::id_token::{self, IdTokenCheck};
use tokenbroker::advanced::profile::{Endpoint, Profile};
use tokenbroker::{ErrorKind, Result};

const TTL: Duration = Duration::from_secs(300);
const LOGIN_TIMEOUT: Duration = Duration::from_secs(60);

/// Serialises device authorizations started in this binary, because one test briefly
/// changes the provider's device-code lifetime.
static DEVICE_START: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn http() -> HttpClient {
    HttpClient::new(&HttpConfig::default(), &[]).unwrap()
}

/// Profile `p` from TOML with `{P}` (test provider) and `{ISSUER}` (oidc-provider) filled in.
fn profile(toml: &str) -> Profile {
    let mut text = toml.replace("{P}", &support::provider_url());
    if text.contains("{ISSUER}") {
        text = text.replace("{ISSUER}", &support::oidc().get("issuer"));
    }
    let config = Config::from_toml_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    config.profile("p").unwrap().clone()
}

/// Runs tests/oidc/drive_login.mjs (the browser) off the runtime and returns what it printed.
async fn drive_login(url: &str, args: &[&str]) -> String {
    let (url, args): (String, Vec<String>) =
        (url.to_owned(), args.iter().map(|a| a.to_string()).collect());
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        support::drive_login(&url, &args)
    })
    .await
    .unwrap()
}

/// Opens the request in the driven browser, which follows the redirect to `listener`.
async fn browser_login(
    listener: LoopbackListener,
    request: &AuthorizationRequest,
) -> Result<Callback> {
    let url = request.url.to_string();
    let (callback, _) = tokio::join!(
        listener.complete(&request.state, LOGIN_TIMEOUT, |c| async { Ok(c) }),
        drive_login(&url, &["--follow"])
    );
    callback
}

/// The test provider's request log for `route`, only entries mentioning `needle`.
async fn logged(route: &str, needle: &str) -> Vec<Value> {
    let all = support::admin(&format!("requests?route={route}"), None).await;
    let entries = all.as_array().cloned().unwrap_or_default();
    entries
        .into_iter()
        .filter(|e| e.to_string().contains(needle))
        .collect()
}

/// Calls the test provider's protected resource with `token`.
async fn call_api(token: &str) -> Value {
    let url = format!("{}/api/whoami", support::provider_url());
    let resp = reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

// ------------------------------------------------------------------ oidc-provider

const OIDC_WEB: &str = r#"[profiles.p]
provider = "oidc"
issuer = "{ISSUER}"
client_id = "oidc-web"
client_secret = "oidc-web-secret"
redirect_uri = "http://127.0.0.1/callback"
grant = "authorization_code"
scopes = ["openid", "offline_access", "api:read"]
"#;

const OIDC_PUBLIC: &str = r#"[profiles.p]
provider = "oidc"
issuer = "{ISSUER}"
client_id = "oidc-public"
auth_method = "none"
redirect_uri = "http://127.0.0.1/callback"
grant = "authorization_code"
scopes = ["api:read"]
"#;

async fn discovered(toml: &str) -> Profile {
    let mut p = profile(toml);
    let metadata = discovery::discover(&http(), p.issuer().unwrap())
        .await
        .unwrap();
    discovery::apply(&metadata, &mut p);
    p
}

#[tokio::test]
async fn oidc_discovery_finds_every_endpoint_and_checks_the_issuer() {
    let issuer = support::oidc().get("issuer");
    let http = http();
    let m = discovery::discover(&http, &issuer).await.unwrap();
    assert_eq!(m.issuer, issuer);
    for (name, url) in [
        ("authorization", &m.authorization_endpoint),
        ("token", &m.token_endpoint),
        ("device", &m.device_authorization_endpoint),
        ("registration", &m.registration_endpoint),
        ("revocation", &m.revocation_endpoint),
        ("jwks", &m.jwks_uri),
    ] {
        let url = url.as_ref().unwrap_or_else(|| panic!("no {name} endpoint"));
        assert!(url.as_str().starts_with(&issuer), "{name}: {url}");
    }
    assert!(
        m.code_challenge_methods_supported
            .iter()
            .any(|c| c == "S256")
    );
    assert!(m.authorization_response_iss_parameter_supported);

    // RFC 8414 location (root, well-known segment before the issuer's path).
    let [_, rfc8414] = discovery::metadata_urls(&url::Url::parse(&issuer).unwrap());
    let m2 = discovery::fetch_metadata(&http, &rfc8414, &issuer)
        .await
        .unwrap();
    assert_eq!(m2.token_endpoint, m.token_endpoint);

    // Same server, other spelling of the issuer: the document's issuer differs.
    let other = issuer.replace("127.0.0.1", "localhost");
    let err = discovery::discover(&http, &other).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidResponse, "{err}");
    assert!(err.to_string().contains("configured issuer"), "{err}");

    // Neither location exists under a made-up path.
    let err = discovery::discover(&http, &format!("{issuer}/nowhere"))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("no usable metadata document"),
        "{err}"
    );

    // apply() keeps what the profile set and fills the rest.
    let mut p = profile(&format!(
        "{OIDC_WEB}token_url = \"http://127.0.0.1:1/mine\"\n"
    ));
    discovery::apply(&m, &mut p);
    assert_eq!(
        p.endpoint(Endpoint::Token).unwrap().as_str(),
        "http://127.0.0.1:1/mine"
    );
    assert_eq!(
        p.endpoint(Endpoint::Authorize).unwrap(),
        m.authorization_endpoint.as_ref().unwrap()
    );
    assert_eq!(
        p.endpoint(Endpoint::Jwks).unwrap(),
        m.jwks_uri.as_ref().unwrap()
    );
}

#[tokio::test]
async fn oidc_authorization_code_with_pkce_through_the_loopback_listener() {
    let p = discovered(OIDC_WEB).await;
    let http = http();
    let listener = LoopbackListener::bind(p.redirect_uri()).await.unwrap();
    let redirect = listener.redirect_uri().to_owned();
    assert!(redirect.starts_with("http://127.0.0.1:") && redirect.ends_with("/callback"));
    let authorize = p.endpoint(Endpoint::Authorize).unwrap();
    let request =
        authorization::authorization_request(&p, authorize, &redirect, p.scopes()).unwrap();
    let callback = browser_login(listener, &request).await.unwrap();
    let issuer = p.issuer().unwrap().to_owned();
    assert_eq!(
        callback.issuer.as_deref(),
        Some(issuer.as_str()),
        "RFC 9207 iss"
    );

    let jwks = id_token::fetch_jwks(&http, p.endpoint(Endpoint::Jwks).unwrap())
        .await
        .unwrap();
    let check = IdTokenCheck::new(&issuer, p.client_id(), &jwks);
    let token_url = p.endpoint(Endpoint::Token).unwrap();
    let set =
        authorization::exchange_code(&http, &p, token_url, &request, &callback, Some(check), TTL)
            .await
            .unwrap();
    assert!(set.token_type.eq_ignore_ascii_case("bearer"));
    assert!(
        set.scopes.iter().any(|s| s == "api:read"),
        "{:?}",
        set.scopes
    );
    let id_token = set.id_token.as_ref().expect("an ID token");
    let claims = id_token::validate(id_token.expose(), &check.with_nonce(&request.nonce)).unwrap();
    assert_eq!(claims["sub"], "test-user");
    let refresh = set.refresh_token.clone().expect("a refresh token");

    // The refresh token works at the real server.
    let refreshed = tokenbroker::advanced::flow::refresh(&http, &p, token_url, &refresh, &[], TTL)
        .await
        .unwrap();
    assert_ne!(refreshed.access_token.expose(), set.access_token.expose());

    // The code is single-use: exchanging it again is refused by the server.
    let again =
        authorization::exchange_code(&http, &p, token_url, &request, &callback, None, TTL).await;
    assert_eq!(
        again.unwrap_err().oauth().map(|e| e.error.as_str()),
        Some("invalid_grant")
    );
}

#[tokio::test]
async fn oidc_public_client_refuses_wrong_state_and_wrong_verifier() {
    let p = discovered(OIDC_PUBLIC).await;
    let http = http();
    let authorize = p.endpoint(Endpoint::Authorize).unwrap();
    let token_url = p.endpoint(Endpoint::Token).unwrap();
    let issuer = p.issuer().unwrap().to_owned();
    let jwks = id_token::fetch_jwks(&http, p.endpoint(Endpoint::Jwks).unwrap())
        .await
        .unwrap();
    let check = IdTokenCheck::new(&issuer, p.client_id(), &jwks);

    let listener = LoopbackListener::bind(p.redirect_uri()).await.unwrap();
    let redirect = listener.redirect_uri().to_owned();
    let request =
        authorization::authorization_request(&p, authorize, &redirect, p.scopes()).unwrap();
    assert!(
        request.scopes.iter().any(|s| s == "openid"),
        "openid is added for OIDC"
    );
    let callback = browser_login(listener, &request).await.unwrap();

    let mut forged = callback.clone();
    forged.state = "someone-elses-state".into();
    let err =
        authorization::exchange_code(&http, &p, token_url, &request, &forged, Some(check), TTL)
            .await
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Interaction);
    assert!(err.to_string().contains("state"), "{err}");

    // The refused attempt did not spend the code: the real exchange (PKCE, no secret) works.
    let set =
        authorization::exchange_code(&http, &p, token_url, &request, &callback, Some(check), TTL)
            .await
            .unwrap();
    assert!(set.id_token.is_some() && set.refresh_token.is_some());

    // A second login exchanged with another request's verifier fails PKCE at the server.
    let listener = LoopbackListener::bind(p.redirect_uri()).await.unwrap();
    let redirect = listener.redirect_uri().to_owned();
    let request =
        authorization::authorization_request(&p, authorize, &redirect, p.scopes()).unwrap();
    let callback = browser_login(listener, &request).await.unwrap();
    let mut other =
        authorization::authorization_request(&p, authorize, &redirect, p.scopes()).unwrap();
    other.state = request.state.clone();
    other.nonce = request.nonce.clone();
    let err =
        authorization::exchange_code(&http, &p, token_url, &other, &callback, Some(check), TTL)
            .await
            .unwrap_err();
    assert_eq!(
        err.oauth().map(|e| e.error.as_str()),
        Some("invalid_grant"),
        "{err}"
    );
}

// ------------------------------------------------------------------ loopback listener

/// Sends raw bytes to `addr` and returns the whole answer.
fn raw_exchange(addr: &str, request: &[u8]) -> String {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    stream.write_all(request).unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).unwrap();
    out
}

#[tokio::test]
async fn loopback_listener_ignores_strays_and_takes_the_matching_form_post() {
    let listener = LoopbackListener::bind(None).await.unwrap();
    let uri = listener.redirect_uri().to_owned();
    let base = uri.trim_end_matches("/callback").to_owned();
    let addr = base.trim_start_matches("http://").to_owned();
    let waiting = tokio::spawn(listener.complete(
        "expected-state",
        Duration::from_secs(30),
        |c| async { Ok(c) },
    ));
    let client = reqwest::Client::new();

    let resp = client
        .get(format!("{base}/favicon.ico"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let resp = client
        .get(format!("{uri}?code=evil&state=wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp.text().await.unwrap().contains("does not match"));
    let resp = client
        .get(format!("{uri}?error=access_denied"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        400,
        "an error without the state must not end the login"
    );
    let resp = client.get(&uri).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.text().await.unwrap().contains("location.hash"),
        "fragment relay page"
    );
    let resp = client.put(&uri).body("x").send().await.unwrap();
    assert_eq!(resp.status(), 405);
    let resp = client
        .post(&uri)
        .json(&json!({"code": "c"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 415);
    let a = addr.clone();
    let head = tokio::task::spawn_blocking(move || {
        // Exactly the limit, never finishing the head.
        let mut big = b"GET /callback HTTP/1.1\r\nX-Pad: ".to_vec();
        big.resize(64 * 1024, b'a');
        raw_exchange(&a, &big)
    });
    assert!(head.await.unwrap().starts_with("HTTP/1.1 431"));
    let a = addr.clone();
    let body = tokio::task::spawn_blocking(move || {
        let req = "POST /callback HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\n";
        raw_exchange(&a, req.as_bytes())
    });
    assert!(body.await.unwrap().starts_with("HTTP/1.1 413"));
    assert!(!waiting.is_finished(), "strays must not end the wait");

    let resp = client
        .post(&uri)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("code=the-code&state=expected-state&id_token=h.p.s")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.text().await.unwrap().contains("close this window"));
    let callback = waiting.await.unwrap().unwrap();
    assert_eq!(callback.code.expose(), "the-code");
    assert_eq!(callback.id_token.unwrap().expose(), "h.p.s");
}

#[tokio::test]
async fn loopback_listener_reports_errors_timeouts_and_binds_configured_uris() {
    // An error response carrying the right state ends the login with that error.
    let listener = LoopbackListener::bind(None).await.unwrap();
    let uri = listener.redirect_uri().to_owned();
    let waiting =
        tokio::spawn(listener.complete("s-1", Duration::from_secs(30), |c| async { Ok(c) }));
    let resp = reqwest::get(format!(
        "{uri}?error=access_denied&error_description=nope&state=s-1"
    ))
    .await
    .unwrap();
    assert!(resp.text().await.unwrap().contains("Sign-in failed"));
    let err = waiting.await.unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Interaction);
    assert!(err.to_string().contains("access_denied: nope"), "{err}");

    let listener = LoopbackListener::bind(None).await.unwrap();
    let err = listener
        .complete("s", Duration::from_millis(200), |c| async { Ok(c) })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Interaction);
    assert!(err.to_string().contains("within 200ms"), "{err}");

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let wanted = format!("http://127.0.0.1:{port}/my/cb");
    let listener = LoopbackListener::bind(Some(&wanted)).await.unwrap();
    assert_eq!(listener.redirect_uri(), wanted);
    let err = LoopbackListener::bind(Some("https://app.example.com/cb"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
}

// ------------------------------------------------------------------ test provider: Azure AD v1, Alliance

fn with_client(template: &str, id: &str, secret: &str) -> Profile {
    profile(&template.replace("{ID}", id).replace("{SECRET}", secret))
}

const AZURE: &str = r#"[profiles.p]
provider = "azure-ad-v1"
client_id = "{ID}"
client_secret = "{SECRET}"
tenant = "contoso"
resource = "https://api.partnercenter.microsoft.com"
token_url = "{P}/contoso/oauth2/token"
authorize_url = "{P}/contoso/oauth2/authorize"
jwks_url = "{P}/contoso/discovery/keys"
issuer = "{P}/contoso/"
"#;

#[tokio::test]
async fn azure_ad_v1_form_post_with_code_id_token() {
    let (id, secret) = support::new_client("azure").await;
    let p = with_client(AZURE, &id, &secret);
    let http = http();
    let listener = LoopbackListener::bind(None).await.unwrap();
    let redirect = listener.redirect_uri().to_owned();
    let authorize = p.endpoint(Endpoint::Authorize).unwrap();
    let request = authorization::authorization_request(&p, authorize, &redirect, &[]).unwrap();
    let callback = browser_login(listener, &request).await.unwrap();
    assert!(
        callback.id_token.is_some(),
        "hybrid response carries an ID token"
    );

    let issuer = p.issuer().unwrap().to_owned();
    let jwks = id_token::fetch_jwks(&http, p.endpoint(Endpoint::Jwks).unwrap())
        .await
        .unwrap();
    let check = IdTokenCheck::new(&issuer, p.client_id(), &jwks);
    let token_url = p.endpoint(Endpoint::Token).unwrap();

    // The front-channel ID token is checked (nonce) before the code is spent.
    let mut replay = request.clone();
    replay.nonce = "another-login".into();
    let err =
        authorization::exchange_code(&http, &p, token_url, &replay, &callback, Some(check), TTL)
            .await
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidResponse);
    assert!(err.to_string().contains("'nonce'"), "{err}");
    assert!(
        logged("azure.token", &id).await.is_empty(),
        "the code must not be sent"
    );

    let set =
        authorization::exchange_code(&http, &p, token_url, &request, &callback, Some(check), TTL)
            .await
            .unwrap();
    // Seed 004 sends "expires_in": "3599" as a string.
    let life = set.lifetime().as_secs();
    assert!((3590..=3599).contains(&life), "lifetime {life}");
    assert!(set.refresh_token.is_some() && set.id_token.is_some());
    let sent = logged("azure.token", &id).await;
    assert_eq!(sent.len(), 1);
    let body = sent[0]["body"].as_str().unwrap();
    for field in [
        "grant_type=authorization_code",
        "resource=https%3A%2F%2Fapi.partnercenter",
        "code_verifier=",
    ] {
        assert!(
            body.contains(field),
            "{field} missing from the token request"
        );
    }
    let api = call_api(set.access_token.expose()).await;
    assert_eq!(api["resource"], "https://api.partnercenter.microsoft.com");
}

const ALLIANCE: &str = r#"[profiles.p]
provider = "alliance"
client_id = "{ID}"
client_secret = "{SECRET}"
resource = "https://aos.example.com/api"
token_url = "{P}/API/v2/OAuth/token"
authorize_url = "{P}/API/v2/OAuth/authorize"
grant = "authorization_code"
"#;

#[tokio::test]
async fn alliance_authorization_code_with_resource() {
    let (id, secret) = support::new_client("aos").await;
    let p = with_client(ALLIANCE, &id, &secret);
    let http = http();
    let listener = LoopbackListener::bind(None).await.unwrap();
    let redirect = listener.redirect_uri().to_owned();
    let authorize = p.endpoint(Endpoint::Authorize).unwrap();
    let request =
        authorization::authorization_request(&p, authorize, &redirect, p.scopes()).unwrap();
    assert!(
        request
            .url
            .as_str()
            .contains("resource=https%3A%2F%2Faos.example.com%2Fapi")
    );
    let callback = browser_login(listener, &request).await.unwrap();
    let token_url = p.endpoint(Endpoint::Token).unwrap();
    let set = authorization::exchange_code(&http, &p, token_url, &request, &callback, None, TTL)
        .await
        .unwrap();
    assert!(set.refresh_token.is_some());
    assert!(set.id_token.is_none());
    assert_eq!(set.lifetime().as_secs() / 10, 359, "expires_in 3599");
    let sent = logged("alliance.token", &id).await;
    assert_eq!(sent.len(), 1);
    let body = sent[0]["body"].as_str().unwrap();
    assert!(
        body.contains("resource=https%3A%2F%2Faos.example.com%2Fapi"),
        "resource on the token request"
    );
    assert_eq!(
        call_api(set.access_token.expose()).await["resource"],
        "https://aos.example.com/api"
    );
}

// ------------------------------------------------------------------ device flow (test provider)

const GENERIC: &str = r#"[profiles.p]
provider = "oidc"
client_id = "{ID}"
client_secret = "{SECRET}"
token_url = "{P}/generic/token"
device_url = "{P}/generic/device"
grant = "device_code"
scopes = ["read", "write"]
"#;

/// A fresh client, its profile, and the Basic credentials that mark its requests in the log.
async fn device_client() -> (Profile, String) {
    let (id, secret) = support::new_client("device").await;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
    (with_client(GENERIC, &id, &secret), basic)
}

async fn start(p: &Profile) -> Result<device::DeviceAuthorization> {
    let _serial = DEVICE_START.lock().await;
    device::start(
        &http(),
        p,
        p.endpoint(Endpoint::Device).unwrap(),
        p.scopes(),
    )
    .await
}

#[tokio::test]
async fn device_flow_polls_until_the_user_approves() {
    let (p, basic) = device_client().await;
    let auth = start(&p).await.unwrap();
    assert_eq!(auth.interval, Duration::from_secs(1));
    assert_eq!(auth.expires_in, Duration::from_secs(600));
    assert!(auth.verification_uri.ends_with("/generic/device/verify"));
    let complete = auth.verification_uri_complete.clone().unwrap();
    assert!(complete.contains("user_code="));
    assert!(!format!("{auth:?}").contains(&basic));

    // The user approves through the verification page after a while.
    let approve = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(2500)).await;
        drive_login(&complete, &[]).await
    });
    let token_url = p.endpoint(Endpoint::Token).unwrap();
    let set = device::poll(&http(), &p, token_url, &auth, TTL)
        .await
        .unwrap();
    assert!(approve.await.unwrap().contains("approved"));
    assert!(set.refresh_token.is_some());
    assert_eq!(set.scopes, ["read", "write"]);
    let polls = logged("generic.token", &basic).await;
    assert!(
        polls.len() >= 2,
        "at least one authorization_pending: {}",
        polls.len()
    );
    assert!(polls.iter().any(|e| e["status"] == 400) && polls.last().unwrap()["status"] == 200);
}

#[tokio::test]
async fn device_flow_slows_down_when_asked() {
    let (p, basic) = device_client().await;
    let mut auth = start(&p).await.unwrap();
    let user_code = auth.user_code.clone();
    // Poll twice as fast as the server allows, so it answers slow_down on the second poll.
    auth.interval = Duration::from_millis(500);
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(2500)).await;
        support::admin("device/approve", Some(json!({ "user_code": user_code }))).await;
    });
    let began = Instant::now();
    let token_url = p.endpoint(Endpoint::Token).unwrap();
    device::poll(&http(), &p, token_url, &auth, TTL)
        .await
        .unwrap();
    let took = began.elapsed();
    // pending at 0.5 s, slow_down at 1 s, approved at 2.5 s, tokens at 6.5 s; without the
    // +5 s it would end at 3 s.
    assert!(took >= Duration::from_millis(6000), "took {took:?}");
    let statuses: Vec<Value> = logged("generic.token", &basic)
        .await
        .iter()
        .map(|e| e["status"].clone())
        .collect();
    assert_eq!(statuses, [json!(400), json!(400), json!(200)]);
}

#[tokio::test]
async fn device_flow_denied_expired_and_other_errors() {
    let token_url = |p: &Profile| p.endpoint(Endpoint::Token).unwrap().clone();

    // The user denies.
    let (p, _) = device_client().await;
    let auth = start(&p).await.unwrap();
    support::admin("device/deny", Some(json!({ "user_code": auth.user_code }))).await;
    let err = device::poll(&http(), &p, &token_url(&p), &auth, TTL)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Interaction);
    assert!(err.to_string().contains("denied"), "{err}");

    // The server's code expires first (its lifetime is lowered only while this code is made).
    let (p, _) = device_client().await;
    let auth = {
        let _serial = DEVICE_START.lock().await;
        let before = support::admin("config", None).await["device_expires_in_s"].clone();
        support::admin("config", Some(json!({ "device_expires_in_s": 1 }))).await;
        let started = device::start(
            &http(),
            &p,
            p.endpoint(Endpoint::Device).unwrap(),
            p.scopes(),
        )
        .await;
        support::admin("config", Some(json!({ "device_expires_in_s": before }))).await;
        started.unwrap()
    };
    let mut auth = auth;
    auth.expires_in = Duration::from_secs(60);
    let err = device::poll(&http(), &p, &token_url(&p), &auth, TTL)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Interaction);
    assert!(err.to_string().contains("expired_token"), "{err}");

    // Our own clock runs out first.
    let (p, _) = device_client().await;
    let mut auth = start(&p).await.unwrap();
    auth.expires_in = Duration::from_millis(1500);
    let err = device::poll(&http(), &p, &token_url(&p), &auth, TTL)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Interaction);
    assert!(err.to_string().contains("expired after"), "{err}");

    // Any other OAuth error passes through unchanged.
    auth.expires_in = Duration::from_secs(600);
    let wrong = with_client(GENERIC, p.client_id(), "not-the-secret");
    let err = device::poll(&http(), &wrong, &token_url(&p), &auth, TTL)
        .await
        .unwrap_err();
    assert_eq!(
        err.oauth().map(|e| e.error.as_str()),
        Some("invalid_client"),
        "{err}"
    );
    let err = start(&wrong).await.unwrap_err();
    assert_eq!(
        err.oauth().map(|e| e.error.as_str()),
        Some("invalid_client"),
        "{err}"
    );
}
