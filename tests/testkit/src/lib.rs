//! Test support shared by the Rust test suites (core, CLI): the project's test servers and
//! their admin API.
//!
//! Each server runs as a child process with `--exit-on-stdin-close`, one per test binary, so it
//! dies with the binary even on a panic or SIGKILL. When `TB_TEST_PROVIDER` / `TB_TEST_ISSUER`
//! (and `TB_TEST_KEYS`) are set, the already running servers are shared instead.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use serde_json::{Value, json};

pub mod hostile;

/// A running server and what it printed at start.
pub struct Server {
    /// The JSON line the server printed.
    pub info: Value,
    _child: Option<Child>,
}

impl Server {
    /// A string field of the start line.
    pub fn get(&self, key: &str) -> String {
        self.info[key]
            .as_str()
            .unwrap_or_else(|| panic!("server info lacks {key}"))
            .to_owned()
    }
}

/// The repository's root directory.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn start(script: &str, env_key: &str, field: &str) -> Server {
    if let Ok(url) = std::env::var(env_key) {
        let mut info = json!({ field: url });
        if let Ok(keys) = std::env::var("TB_TEST_KEYS") {
            info["keys_dir"] = Value::String(keys);
        }
        return Server { info, _child: None };
    }
    start_script(script, &["--exit-on-stdin-close"])
}

fn start_script(script: &str, args: &[&str]) -> Server {
    let mut child = Command::new("node")
        .arg(repo_root().join(script))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start node {script}: {e} (is Node.js installed?)"));
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .expect("read server start line");
    let info: Value = serde_json::from_str(line.trim())
        .unwrap_or_else(|e| panic!("{script} printed {line:?}, not its JSON start line: {e}"));
    // Keep stdin open for the life of the test binary: the server exits when it closes.
    std::mem::forget(child.stdin.take());
    Server {
        info,
        _child: Some(child),
    }
}

/// Installs tests/oidc's npm dependencies when missing (as `make setup` does).
fn setup_oidc() {
    if repo_root()
        .join("tests/oidc/node_modules/oidc-provider")
        .is_dir()
    {
        return;
    }
    let status = Command::new("bash")
        .arg(repo_root().join("tests/harness/setup.sh"))
        .status()
        .expect("run tests/harness/setup.sh");
    assert!(status.success(), "tests/harness/setup.sh failed");
}

/// The programmable test provider (`tests/provider/server.mjs`), shared by a test binary.
pub fn provider() -> &'static Server {
    static S: OnceLock<Server> = OnceLock::new();
    S.get_or_init(|| start("tests/provider/server.mjs", "TB_TEST_PROVIDER", "url"))
}

/// The base URL of the test provider.
pub fn provider_url() -> String {
    provider().get("url")
}

/// panva's oidc-provider (`tests/oidc/server.mjs`), shared by a test binary.
pub fn oidc() -> &'static Server {
    static S: OnceLock<Server> = OnceLock::new();
    S.get_or_init(|| {
        setup_oidc();
        start("tests/oidc/server.mjs", "TB_TEST_ISSUER", "issuer")
    })
}

/// panva's oidc-provider serving HTTPS (`tests/oidc/server.mjs --tls`), shared by a test
/// binary: its `issuer` is `https://127.0.0.1:PORT` and `ca_file` is the PEM of the test CA
/// that issued its certificate.
pub fn oidc_tls() -> &'static Server {
    static S: OnceLock<Server> = OnceLock::new();
    S.get_or_init(|| {
        setup_oidc();
        start_script("tests/oidc/server.mjs", &["--tls", "--exit-on-stdin-close"])
    })
}

/// The issuer URL of oidc-provider.
pub fn issuer() -> String {
    oidc().get("issuer")
}

/// Both servers started together by `tests/harness/up.mjs` (which also registers the
/// `cert-client` key pair on the provider): `{provider, issuer, keys_dir}`.
pub fn harness() -> &'static Server {
    static S: OnceLock<Server> = OnceLock::new();
    S.get_or_init(|| {
        if let (Ok(provider), Ok(issuer), Ok(keys)) = (
            std::env::var("TB_TEST_PROVIDER"),
            std::env::var("TB_TEST_ISSUER"),
            std::env::var("TB_TEST_KEYS"),
        ) {
            let info = json!({"provider": provider, "issuer": issuer, "keys_dir": keys});
            return Server { info, _child: None };
        }
        setup_oidc();
        start_script("tests/harness/up.mjs", &[])
    })
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Calls the test provider's admin API: GET without a body, POST with one.
pub async fn admin(path: &str, body: Option<Value>) -> Value {
    let url = format!("{}/_admin/{path}", provider_url());
    let req = match body {
        Some(b) => client().post(&url).json(&b),
        None => client().get(&url),
    };
    let resp = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("admin call {url}: {e}"));
    assert!(
        resp.status().is_success(),
        "admin call {url}: HTTP {}",
        resp.status()
    );
    resp.json().await.unwrap_or(Value::Null)
}

/// Registers a fresh confidential client on the test provider and returns its id and
/// secret, so that a test's request counts are its own.
pub async fn new_client(prefix: &str) -> (String, String) {
    let n: u64 = rand::random();
    let id = format!("{prefix}-{n:x}");
    let secret = format!("secret-{n:x}-{n:x}");
    admin(
        "clients",
        Some(json!({"client_id": id, "client_secret": secret})),
    )
    .await;
    (id, secret)
}

/// How many requests the test provider has counted for `client_id`.
pub async fn client_requests(client_id: &str) -> u64 {
    admin("stats", None).await["by_client"][client_id]
        .as_u64()
        .unwrap_or(0)
}

/// How many requests the test provider has counted on `route` (e.g. `alliance.token`).
pub async fn requests(route: &str) -> u64 {
    admin("stats", None).await["requests"][route]
        .as_u64()
        .unwrap_or(0)
}

/// How many requests the test provider logged on `route` at exactly `path` (its request log
/// keeps the last 500), so that a test counts its own issuer's requests.
pub async fn requests_at(route: &str, path: &str) -> usize {
    let log = admin(&format!("requests?route={route}"), None).await;
    log.as_array().map_or(0, |entries| {
        entries
            .iter()
            .filter(|e| e["path"].as_str() == Some(path))
            .count()
    })
}

/// Signs in once at the test provider's Azure-AD-v1 endpoints (query response mode) and
/// returns the refresh token, as seed 004's one-time consent step would.
pub async fn azure_refresh_token(client_id: &str, client_secret: &str) -> String {
    let base = provider_url();
    let redirect = "http://127.0.0.1:9/callback";
    let resource = "https://api.partnercenter.microsoft.com";
    let authorize = url::Url::parse_with_params(
        &format!("{base}/contoso/oauth2/authorize"),
        &[
            ("client_id", client_id),
            ("redirect_uri", redirect),
            ("response_type", "code"),
            ("response_mode", "query"),
            ("resource", resource),
            ("state", "s"),
        ],
    )
    .unwrap();
    let resp = client().get(authorize).send().await.unwrap();
    let location = resp
        .headers()
        .get("location")
        .unwrap_or_else(|| panic!("authorize answered {} without a redirect", resp.status()))
        .to_str()
        .unwrap()
        .to_owned();
    let code = url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("code in redirect");
    let body: Value = client()
        .post(format!("{base}/contoso/oauth2/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", redirect),
            ("resource", resource),
            ("client_id", client_id),
            ("client_secret", client_secret),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["refresh_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no refresh_token in {body}"))
        .to_owned()
}

/// Plays the browser: runs `tests/oidc/drive_login.mjs` on an authorization URL (signing in at
/// oidc-provider or our provider; `--follow` delivers the redirect to its redirect URI) and
/// returns what it printed. Blocks; call it from a thread or `spawn_blocking`.
pub fn drive_login(url: &str, args: &[&str]) -> String {
    setup_oidc();
    let out = Command::new("node")
        .arg(repo_root().join("tests/oidc/drive_login.mjs"))
        .args(args)
        .arg(url)
        .output()
        .expect("cannot run node");
    assert!(
        out.status.success(),
        "drive_login failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("drive_login prints UTF-8")
}
