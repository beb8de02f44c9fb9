//! The loopback redirect listener against hostile local clients (absurd lengths, endless
//! heads, idle and slow connections), and the page the browser gets at the end of a login:
//! the outcome of the code exchange, never "signed in" before it.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokenbroker::advanced::flow::loopback::LoopbackListener;
use tokenbroker::{Broker, Config, ErrorKind, LoginOptions};
use tokenbroker_testkit::hostile::{self, PROMPT};

/// Serialises the tests that queue faults on `alliance.token` (faults are per route).
static TOKEN_FAULTS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Binds a listener and waits for `state` in the background; returns its `host:port`,
/// redirect URI and the wait.
async fn listening(
    state: &'static str,
) -> (
    String,
    String,
    tokio::task::JoinHandle<
        tokenbroker::Result<tokenbroker::advanced::flow::authorization::Callback>,
    >,
) {
    let listener = LoopbackListener::bind(None).await.unwrap();
    let uri = listener.redirect_uri().to_owned();
    let addr = uri
        .trim_start_matches("http://")
        .trim_end_matches("/callback")
        .to_owned();
    let waiting =
        tokio::spawn(listener.complete(state, Duration::from_secs(120), |c| async { Ok(c) }));
    (addr, uri, waiting)
}

/// Runs `f` on a blocking thread.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

#[tokio::test]
async fn loopback_refuses_absurd_lengths_and_endless_heads_promptly() {
    let (addr, uri, waiting) = listening("the-state").await;
    for length in ["18446744073709551615", "99999999999"] {
        let a = addr.clone();
        let req = format!(
            "POST /callback HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {length}\r\n\r\ncode=c&state=the-state"
        );
        let answer = blocking(move || hostile::exchange(&a, req.as_bytes(), PROMPT)).await;
        assert!(
            answer.closed,
            "Content-Length {length}: still open: {answer:?}"
        );
        assert!(
            matches!(answer.status(), Some(400 | 413 | 431)),
            "Content-Length {length}: {answer:?}"
        );
    }

    // A head that never ends: the listener stops reading and answers 431 (or closes).
    let a = addr.clone();
    let answer = blocking(move || hostile::endless_head(&a, "GET /callback HTTP/1.1\r\n")).await;
    assert!(answer.closed && answer.took < PROMPT * 2, "{answer:?}");
    assert!(
        answer.text.is_empty() || answer.status() == Some(431),
        "{answer:?}"
    );
    assert!(
        !waiting.is_finished(),
        "refused requests do not end the wait"
    );

    // The listener still takes the real redirect.
    let resp = reqwest::get(format!("{uri}?code=c&state=the-state"))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(waiting.await.unwrap().unwrap().code.expose(), "c");
}

#[tokio::test]
async fn loopback_answers_while_200_connections_sit_idle() {
    let (addr, uri, waiting) = listening("s-idle").await;
    let a = addr.clone();
    let idle = blocking(move || hostile::idle_connections(&a, 200)).await;
    let a = addr.clone();
    let stray = b"GET /favicon.ico HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    let answer = blocking(move || hostile::exchange(&a, stray, PROMPT)).await;
    assert!(answer.closed && answer.status() == Some(404), "{answer:?}");
    let client = reqwest::Client::builder().timeout(PROMPT).build().unwrap();
    let resp = client
        .get(format!("{uri}?code=c2&state=s-idle"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(waiting.await.unwrap().unwrap().code.expose(), "c2");
    drop(idle);
}

#[tokio::test]
async fn loopback_closes_slow_loris_connections() {
    let (addr, _uri, waiting) = listening("s-slow").await;
    // One byte of head, or of body, every 500 ms: closed by the listener's timeouts (10 s
    // for the head, 10 s for the body), not kept for as long as the client keeps dribbling.
    let limit = Duration::from_secs(60);
    let a = addr.clone();
    let head = std::thread::spawn(move || {
        hostile::slow_loris(&a, b"GET /callback HTTP/1.1\r\nX-Slow: ", limit)
    });
    let a = addr.clone();
    let body = std::thread::spawn(move || {
        let start = b"POST /callback HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n";
        hostile::slow_loris(&a, start, limit)
    });
    for (what, thread) in [("head", head), ("body", body)] {
        let took = blocking(move || thread.join().unwrap()).await;
        assert!(took < Duration::from_secs(25), "slow {what} held {took:?}");
    }
    assert!(!waiting.is_finished());
    waiting.abort();
}

// ------------------------------------------------------------------ the page after a login

const ALLIANCE: &str = r#"[cache]
store = "memory"
[profiles.p]
provider = "alliance"
client_id = "{ID}"
client_secret = "{SECRET}"
resource = "https://aos.example.com/api"
token_url = "{P}/API/v2/OAuth/token"
authorize_url = "{P}/API/v2/OAuth/authorize"
grant = "authorization_code"
"#;

/// What the "browser" saw: the page's status and text, and the provider's log of this
/// client's token requests at the moment the page arrived.
struct Landed {
    status: u16,
    page: String,
    token_requests: Vec<Value>,
}

/// A login whose browser step is a plain HTTP client following the provider's redirect to
/// the loopback listener. Returns the login's result and what the browser saw.
async fn login_through_http(
    broker: &Broker,
    client_id: &str,
) -> (tokenbroker::Result<tokenbroker::AccessToken>, Landed) {
    let (tx, rx) = tokio::sync::oneshot::channel::<Landed>();
    let tx = Arc::new(Mutex::new(Some(tx)));
    let id = client_id.to_owned();
    let options = LoginOptions::default()
        .with_open_browser(false)
        .with_timeout(Duration::from_secs(60))
        .with_on_url(Arc::new(move |url: &str| {
            let (url, id, tx) = (url.to_owned(), id.clone(), tx.clone());
            tokio::spawn(async move {
                let resp = reqwest::get(url).await.unwrap();
                let status = resp.status().as_u16();
                let page = resp.text().await.unwrap();
                let log = support::admin("requests?route=alliance.token", None).await;
                let token_requests = log
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|e| e.to_string().contains(&id))
                    .cloned()
                    .collect();
                let landed = Landed {
                    status,
                    page,
                    token_requests,
                };
                if let Some(tx) = tx.lock().unwrap().take() {
                    let _ = tx.send(landed);
                }
            });
        }));
    let result = broker.login("p", &options).await;
    let landed = tokio::time::timeout(Duration::from_secs(30), rx)
        .await
        .expect("the browser got its page")
        .unwrap();
    (result, landed)
}

fn alliance_broker(id: &str, secret: &str) -> Broker {
    let text = ALLIANCE
        .replace("{ID}", id)
        .replace("{SECRET}", secret)
        .replace("{P}", &support::provider_url());
    Broker::new(Config::from_toml_str(&text).unwrap()).unwrap()
}

#[tokio::test]
async fn login_page_says_signed_in_only_after_the_code_exchange() {
    let _faults = TOKEN_FAULTS.lock().await;
    let (id, secret) = support::new_client("page-ok").await;
    let broker = alliance_broker(&id, &secret);
    // A slow token endpoint: a page sent before the exchange would arrive long before it.
    support::admin(
        "faults",
        Some(json!({"route": "alliance.token", "kind": "delay", "delay_ms": 1500})),
    )
    .await;
    let (result, landed) = login_through_http(&broker, &id).await;
    let token = result.unwrap();
    assert_eq!(landed.status, 200, "{}", landed.page);
    assert!(landed.page.contains("Signed in"), "{}", landed.page);
    assert_eq!(
        landed.token_requests.len(),
        1,
        "the page arrived before the code exchange: {}",
        landed.page
    );
    assert_eq!(landed.token_requests[0]["status"], 200);
    assert!(!landed.page.contains(token.secret()));
}

#[tokio::test]
async fn login_page_shows_why_the_code_exchange_failed() {
    let _faults = TOKEN_FAULTS.lock().await;
    let (id, secret) = support::new_client("page-refused").await;
    let broker = alliance_broker(&id, &secret);
    support::admin(
        "faults",
        Some(json!({"route": "alliance.token", "kind": "status", "status": 400,
            "body": {"error": "invalid_grant", "error_description": "the code was refused by the test"}})),
    )
    .await;
    let (result, landed) = login_through_http(&broker, &id).await;
    let err = result.unwrap_err();
    assert_eq!(landed.token_requests.len(), 1);
    assert!(
        landed.page.contains("Sign-in failed"),
        "the browser was told something else: {}",
        landed.page
    );
    assert!(landed.page.contains("invalid_grant"), "{}", landed.page);
    assert!(
        landed.page.contains("the code was refused by the test"),
        "{}",
        landed.page
    );
    assert!(!landed.page.contains("Signed in"), "{}", landed.page);
    assert!(!landed.page.contains(&secret), "{}", landed.page);
    assert!(err.to_string().contains("invalid_grant"), "{err}");
}

const AZURE: &str = r#"[cache]
store = "memory"
[profiles.p]
provider = "azure-ad-v1"
client_id = "{ID}"
client_secret = "{SECRET}"
tenant = "contoso"
resource = "https://api.partnercenter.microsoft.com"
token_url = "{P}/contoso/oauth2/token"
authorize_url = "{P}/contoso/oauth2/authorize"
jwks_url = "{P}/contoso/discovery/keys"
issuer = "{P}/another-tenant/"
"#;

#[tokio::test]
async fn login_page_shows_an_id_token_that_fails_its_check() {
    let (id, secret) = support::new_client("page-idt").await;
    let text = AZURE
        .replace("{ID}", &id)
        .replace("{SECRET}", &secret)
        .replace("{P}", &support::provider_url());
    let broker = Broker::new(Config::from_toml_str(&text).unwrap()).unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<String>();
    let tx = Arc::new(Mutex::new(Some(tx)));
    let options = LoginOptions::default()
        .with_open_browser(false)
        .with_timeout(Duration::from_secs(60))
        .with_on_url(Arc::new(move |url: &str| {
            let (url, tx) = (url.to_owned(), tx.clone());
            tokio::spawn(async move {
                // form_post: the provider's auto-submitting form, posted by hand.
                let form = tokio::task::spawn_blocking(move || support::drive_login(&url, &[]))
                    .await
                    .unwrap();
                let form: Value = serde_json::from_str(form.trim()).unwrap();
                let fields: Vec<(String, String)> = form["fields"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                    .collect();
                let resp = reqwest::Client::new()
                    .post(form["action"].as_str().unwrap())
                    .form(&fields)
                    .send()
                    .await
                    .unwrap();
                let page = resp.text().await.unwrap();
                if let Some(tx) = tx.lock().unwrap().take() {
                    let _ = tx.send(page);
                }
            });
        }));
    let err = broker.login("p", &options).await.unwrap_err();
    let page = tokio::time::timeout(Duration::from_secs(30), rx)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(err.kind(), ErrorKind::InvalidResponse, "{err}");
    assert!(page.contains("Sign-in failed"), "{page}");
    assert!(page.contains("iss"), "the reason is shown: {page}");
    assert!(!page.contains(&secret), "{page}");
}
