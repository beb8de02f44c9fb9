//! A hostile provider that quotes the whole request back (the test provider's `echo` fault):
//! no secret the request carried, in any encoding it went out in, and no 12-character window
//! of one (a secret cut at an excerpt boundary), may reach the error's Display/Debug or the
//! DEBUG log. Also: a 2xx body that is not JSON never carries its new tokens into the error.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;
use support::{admin, broker, new_client};
use tokenbroker::{Broker, ErrorKind, TokenOptions};

/// Every `as` of the echo fault.
const PLACES: [&str; 5] = ["oauth", "error_code", "text", "json_text", "tokens_text"];

/// Log lines of every test in this binary, captured at DEBUG.
fn log() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || Sink(sink.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one subscriber");
        buf
    })
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A secret with the characters that encodings treat specially, unique per call.
fn nasty(tag: &str, ascii_only: bool) -> String {
    let n: u64 = rand::random();
    let tail = if ascii_only { "" } else { "ü€" };
    format!("s3cret/+&%=\"\\{tag}{tail}-{n:016x}")
}

fn form(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// Every form `value` may be quoted back in: raw, form- and percent-encoded (either case),
/// JSON-escaped (with and without `\uXXXX` for non-ASCII, `\/` for `/`).
fn encodings(value: &str) -> Vec<String> {
    let formed = form(value);
    let json = serde_json::to_string(value).unwrap();
    let json = json[1..json.len() - 1].to_owned();
    let ascii_json: String = json
        .chars()
        .map(|c| match c {
            c if c.is_ascii() => c.to_string(),
            c => c
                .encode_utf16(&mut [0; 2])
                .iter()
                .map(|u| format!("\\u{u:04x}"))
                .collect(),
        })
        .collect();
    vec![
        value.to_owned(),
        formed.clone(),
        formed.replace('+', "%20"),
        formed.to_lowercase(),
        json.clone(),
        json.replace('/', "\\/"),
        ascii_json,
    ]
}

/// The Basic `Authorization` value's base64 for this client.
fn basic(id: &str, secret: &str) -> String {
    STANDARD.encode(format!("{}:{}", form(id), form(secret)))
}

/// Panics when `text` holds any forbidden string or a 12-character window of one.
fn assert_clean(what: &str, text: &str, forbidden: &[String]) {
    let mut windows: Vec<String> = Vec::new();
    for secret in forbidden {
        let chars: Vec<char> = secret.chars().collect();
        for w in chars.windows(12.min(chars.len())) {
            windows.push(w.iter().collect());
        }
    }
    let finder = aho_corasick::AhoCorasick::builder()
        .kind(Some(aho_corasick::AhoCorasickKind::NoncontiguousNFA))
        .build(&windows)
        .unwrap();
    if let Some(m) = finder.find(text) {
        panic!(
            "{what} leaks {:?}:\n{text}",
            &windows[m.pattern().as_usize()]
        );
    }
}

/// The client assertion of the last request logged on `route`.
async fn last_assertion(route: &str) -> String {
    let log = admin(&format!("requests?route={route}"), None).await;
    let body = log.as_array().unwrap().last().unwrap()["body"]
        .as_str()
        .unwrap()
        .to_owned();
    url::form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == "client_assertion")
        .map(|(_, v)| v.into_owned())
        .expect("client_assertion in the logged body")
}

/// The tokens the last `tokens_text` echo issued.
async fn echoed_tokens() -> Vec<String> {
    let echoes = admin("echoes", None).await;
    let last = echoes.as_array().unwrap().last().unwrap();
    ["access_token", "refresh_token"]
        .iter()
        .map(|k| last[k].as_str().unwrap().to_owned())
        .collect()
}

/// Pads that move the quoted request across every excerpt boundary (120 and 300/500
/// characters), in steps that leave no 12-character window uncut.
fn pads(place: &str) -> Vec<usize> {
    match place {
        "oauth" | "text" | "error_code" => (0..=520).step_by(37).collect(),
        _ => vec![0, 113],
    }
}

enum Call {
    Token,
    ListClients,
}

/// Runs `call` against each echo place and pad on `route`; checks the error and what it
/// logged against `forbidden` plus this request's assertion and echoed tokens.
async fn check_echoes(
    b: &Broker,
    profile: &str,
    route: &str,
    call: Call,
    forbidden: Vec<String>,
    assertion_route: Option<&str>,
) {
    for place in PLACES {
        if matches!(call, Call::ListClients) && place == "tokens_text" {
            continue;
        }
        for pad in pads(place) {
            admin(
                "faults",
                Some(json!({"route": route, "kind": "echo", "as": place, "pad": pad})),
            )
            .await;
            let logged_before = log().lock().unwrap().len();
            let err = match call {
                Call::Token => {
                    let opts = TokenOptions::default().with_force_refresh(true);
                    b.token(profile, &opts).await.map(|_| ()).unwrap_err()
                }
                Call::ListClients => b.list_clients(profile).await.map(|_| ()).unwrap_err(),
            };
            let what = format!("{place} pad {pad}");
            assert!(
                !matches!(err.kind(), ErrorKind::Config | ErrorKind::Transport),
                "{what}: the request was not sent: {err}"
            );
            let mut forbidden = forbidden.clone();
            if let Some(route) = assertion_route {
                forbidden.extend(encodings(&last_assertion(route).await));
            }
            if place == "tokens_text" {
                for token in echoed_tokens().await {
                    forbidden.extend(encodings(&token));
                }
            }
            let logged = log().lock().unwrap()[logged_before..].to_vec();
            let shown = format!(
                "Display: {err}\nDebug: {err:?}\nDEBUG log: {}",
                String::from_utf8_lossy(&logged)
            );
            assert_clean(&what, &shown, &forbidden);
        }
    }
}

fn profile(id: &str, extra: &str) -> String {
    format!(
        r#"[cache]
store = "memory"
[profiles.p]
provider = "oidc"
client_id = "{id}"
token_url = "{{P}}/generic/token"
scopes = ["read"]
{extra}
"#
    )
}

/// A P-256 key in PKCS#8 PEM, written to a private file; returns `file:PATH`.
fn ec_key_file() -> String {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
    let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let der = key.to_pkcs8v1().unwrap();
    let b64 = STANDARD.encode(der.as_ref());
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    );
    let n: u64 = rand::random();
    let path = std::env::temp_dir().join(format!("tb-echo-key-{n:x}.pem"));
    std::fs::write(&path, pem).unwrap();
    format!("file:{}", path.display())
}

#[tokio::test]
async fn token_endpoint_echoes_leak_no_encoding_of_any_secret() {
    log();
    let (id, _) = new_client("echo").await;

    // client_secret_post: the secret in the form body.
    let secret = nasty("post", false);
    let b = broker(&profile(
        &id,
        &format!("client_secret = '{secret}'\nauth_method = \"client_secret_post\""),
    ));
    check_echoes(
        &b,
        "p",
        "generic.token",
        Call::Token,
        encodings(&secret),
        None,
    )
    .await;

    // client_secret_basic: the secret inside the base64 of the Authorization header.
    let secret = nasty("basic", false);
    let b = broker(&profile(
        &id,
        &format!("client_secret = '{secret}'\nauth_method = \"client_secret_basic\""),
    ));
    let mut forbidden = encodings(&secret);
    forbidden.push(basic(&id, &secret));
    check_echoes(&b, "p", "generic.token", Call::Token, forbidden, None).await;

    // A header value (header values are visible ASCII only).
    let secret = nasty("post2", false);
    let header = nasty("hdr", true);
    let b = broker(&profile(
        &id,
        &format!(
            "client_secret = '{secret}'\nauth_method = \"client_secret_post\"\nheaders = {{ x-api-key = '{header}' }}"
        ),
    ));
    let mut forbidden = encodings(&secret);
    forbidden.extend(encodings(&header));
    check_echoes(&b, "p", "generic.token", Call::Token, forbidden, None).await;

    // private_key_jwt: the signed assertion the broker sent.
    let b = broker(&profile(
        &id,
        &format!(
            "private_key = '{}'\nauth_method = \"private_key_jwt\"",
            ec_key_file()
        ),
    ));
    check_echoes(
        &b,
        "p",
        "generic.token",
        Call::Token,
        Vec::new(),
        Some("generic.token"),
    )
    .await;
}

#[tokio::test]
async fn management_api_echoes_leak_neither_api_key_nor_bearer_token() {
    log();
    let (id, secret) = new_client("echo-alv").await;
    let api_key = nasty("apikey", true);
    let n: u64 = rand::random();
    let org = format!("org{n:x}");
    admin("config", Some(json!({"api_key": api_key}))).await;
    let b = broker(&format!(
        r#"[cache]
store = "memory"
[profiles.alv]
provider = "alvaria"
region = "us"
client_id = "{id}"
client_secret = "{secret}"
api_key = '{api_key}'
token_url = "{{P}}/tokenservice/oauth2/access_token"
registration_url = "{{P}}/via/v1/organizations/{org}/oauth/clients"
"#
    ));
    b.list_clients("alv")
        .await
        .expect("the API works before the faults");
    let bearer = admin("requests?route=alvaria.clients", None).await;
    let bearer = bearer.as_array().unwrap().last().unwrap()["headers"]["authorization"]
        .as_str()
        .and_then(|h| h.strip_prefix("Bearer "))
        .expect("bearer token logged")
        .to_owned();
    let mut forbidden = encodings(&api_key);
    forbidden.extend(encodings(&bearer));
    check_echoes(
        &b,
        "alv",
        "alvaria.clients",
        Call::ListClients,
        forbidden,
        None,
    )
    .await;
}
