//! Test support for the CLI: the project's test servers, the built binary with a private
//! config and cache per test, the test provider's admin API, raw HTTP, and Node tools.
//!
//! The servers come from the shared `tokenbroker-testkit` crate: one child process per test
//! binary, or the already running ones named by `TB_TEST_PROVIDER` / `TB_TEST_ISSUER`.
#![allow(dead_code, unused_imports)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, ChildStdout, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

// ------------------------------------------------------------------ servers

pub use tokenbroker_testkit::{issuer, provider_url, repo_root};

// ------------------------------------------------------------------ HTTP to the servers

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap()
    })
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Calls the test provider's admin API: GET without a body, POST with one.
pub fn admin(path: &str, body: Option<Value>) -> Value {
    runtime().block_on(tokenbroker_testkit::admin(path, body))
}

/// A fresh confidential client on the test provider, so that request counts are a test's own.
pub fn new_client(prefix: &str) -> (String, String) {
    runtime().block_on(tokenbroker_testkit::new_client(prefix))
}

/// Requests the test provider counted for `client_id`.
pub fn client_requests(client_id: &str) -> u64 {
    runtime().block_on(tokenbroker_testkit::client_requests(client_id))
}

/// Requests the test provider logged on `route` at exactly `path`.
pub fn requests_at(route: &str, path: &str) -> usize {
    runtime().block_on(tokenbroker_testkit::requests_at(route, path))
}

/// Requests the test provider counted on `route` (e.g. `generic.device`).
pub fn route_requests(route: &str) -> u64 {
    runtime().block_on(tokenbroker_testkit::requests(route))
}

/// GET `{provider}/api/me` with `token`: the status and the JSON body.
pub fn api_me(token: &str) -> (u16, Value) {
    let url = format!("{}/api/me", provider_url());
    runtime().block_on(async {
        let resp = client().get(url).bearer_auth(token).send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    })
}

/// Signs in once at the test provider's Azure AD v1 endpoints and returns the refresh token.
pub fn azure_refresh_token(client_id: &str, client_secret: &str) -> String {
    runtime().block_on(tokenbroker_testkit::azure_refresh_token(
        client_id,
        client_secret,
    ))
}

/// One raw HTTP/1.1 GET (or `method`) to 127.0.0.1:`port` with exactly the given headers
/// (including Host): status, head text, body.
pub fn raw_request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, String, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("Connection: close\r\n\r\n");
    stream.write_all(req.as_bytes()).unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    (status, head.to_owned(), body.to_owned())
}

// ------------------------------------------------------------------ the CLI

/// The built `tokenbroker` binary.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_tokenbroker")
}

/// A private world for one test: a temp dir with a config file (0600), a cache dir and
/// its own cache key.
pub struct Env {
    pub dir: PathBuf,
    pub config: PathBuf,
    pub cache_key: String,
}

impl Env {
    /// `toml` holds profiles; `{P}` is the test provider, `{ISSUER}` oidc-provider. A
    /// `[cache]` table with a private path is added unless `toml` has one.
    pub fn new(toml: &str) -> Self {
        let dir = temp_dir("tb-cli");
        let mut text = toml.replace("{P}", &provider_url());
        if text.contains("{ISSUER}") {
            text = text.replace("{ISSUER}", &issuer());
        }
        if !text.contains("[cache]") {
            text = format!(
                "[cache]\npath = \"{}\"\n\n{text}",
                dir.join("cache").display()
            );
        }
        let config = dir.join("config.toml");
        write_private(&config, &text);
        let key: [u8; 32] = rand::random();
        Self {
            dir,
            config,
            cache_key: base64(&key),
        }
    }

    /// The CLI with `--config` and this env's cache key; inherited tokenbroker variables
    /// are removed.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(bin());
        cmd.arg("--config")
            .arg(&self.config)
            .args(args)
            .env("TOKENBROKER_CACHE_KEY", &self.cache_key)
            .env_remove("TOKENBROKER_CONFIG")
            .env_remove("TOKENBROKER_PROFILE")
            .env_remove("TOKENBROKER_CACHE_DIR")
            .env_remove("TOKENBROKER_LOG")
            .stdin(Stdio::null());
        cmd
    }

    /// Runs the CLI to completion.
    pub fn run(&self, args: &[&str]) -> Run {
        Run(self.cmd(args).output().expect("run tokenbroker"))
    }

    /// Runs the CLI and expects exit code 0; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let run = self.run(args);
        assert_eq!(
            run.code(),
            0,
            "tokenbroker {args:?} failed: {}",
            run.stderr()
        );
        run.stdout()
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A finished CLI run.
pub struct Run(pub Output);

impl Run {
    pub fn code(&self) -> i32 {
        self.0.status.code().unwrap_or(-1)
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }
}

/// A CLI process left running, with line readers on its pipes; killed on drop.
pub struct Running {
    pub child: Child,
    pub stdout: Option<BufReader<ChildStdout>>,
    pub stderr: Option<BufReader<ChildStderr>>,
}

impl Running {
    pub fn spawn(mut cmd: Command) -> Self {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tokenbroker");
        Self {
            stdout: child.stdout.take().map(BufReader::new),
            stderr: child.stderr.take().map(BufReader::new),
            child,
        }
    }

    /// Reads stderr lines until `pick` returns something; returns it and every line read.
    pub fn stderr_until<T>(&mut self, mut pick: impl FnMut(&str) -> Option<T>) -> (T, String) {
        let reader = self.stderr.as_mut().expect("stderr taken");
        let mut seen = String::new();
        loop {
            let mut line = String::new();
            let n = reader.read_line(&mut line).unwrap();
            assert!(
                n > 0,
                "stderr closed before the expected line; it said:\n{seen}"
            );
            seen.push_str(&line);
            if let Some(found) = pick(line.trim()) {
                return (found, seen);
            }
        }
    }

    /// The first stdout line.
    pub fn stdout_line(&mut self) -> String {
        let mut line = String::new();
        self.stdout.as_mut().unwrap().read_line(&mut line).unwrap();
        line
    }

    /// Waits up to `limit` for the exit; returns the code and the rest of stderr.
    pub fn wait(mut self, limit: Duration) -> (i32, String) {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let mut rest = String::new();
                if let Some(mut err) = self.stderr.take() {
                    let _ = err.read_to_string(&mut rest);
                }
                return (status.code().unwrap_or(-1), rest);
            }
            assert!(
                started.elapsed() < limit,
                "tokenbroker did not exit within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ------------------------------------------------------------------ files

/// A fresh private directory under the system temp dir.
pub fn temp_dir(prefix: &str) -> PathBuf {
    use std::os::unix::fs::DirBuilderExt;
    let n: u64 = rand::random();
    let dir = std::env::temp_dir().join(format!("{prefix}-{}-{n:x}", std::process::id()));
    std::fs::DirBuilder::new().mode(0o700).create(&dir).unwrap();
    dir
}

/// Writes `text` to `path` with mode 0600.
pub fn write_private(path: &Path, text: &str) {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

// ------------------------------------------------------------------ Node tools

/// `cli/tests/js` with its npm dependencies (newman, playwright-core) installed from the
/// committed lockfile. Serialised across test processes with a lock file.
pub fn js_dir() -> PathBuf {
    static READY: OnceLock<PathBuf> = OnceLock::new();
    READY
        .get_or_init(|| {
            let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/js");
            let lock = std::fs::File::create(std::env::temp_dir().join("tb-cli-npm.lock")).unwrap();
            lock.lock().unwrap();
            let stamp = dir.join("node_modules/.tb-lock-stamp");
            let lockfile = std::fs::read(dir.join("package-lock.json")).unwrap();
            if std::fs::read(&stamp).ok().as_ref() != Some(&lockfile) {
                let out = Command::new("npm")
                    .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                    .current_dir(&dir)
                    .output()
                    .expect("run npm ci (is npm installed?)");
                assert!(
                    out.status.success(),
                    "npm ci in {} failed: {}",
                    dir.display(),
                    String::from_utf8_lossy(&out.stderr)
                );
                std::fs::write(&stamp, &lockfile).unwrap();
            }
            dir
        })
        .clone()
}

/// Debian's Chromium, installed with apt when missing; `None` only with `TB_SKIP_BROWSER=1`.
pub fn chromium() -> Option<PathBuf> {
    if std::env::var("TB_SKIP_BROWSER").as_deref() == Ok("1") {
        eprintln!("SKIPPED: the real-browser login test, because TB_SKIP_BROWSER=1");
        return None;
    }
    let path =
        PathBuf::from(std::env::var("TB_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()));
    if !path.exists() {
        let lock = std::fs::File::create(std::env::temp_dir().join("tb-cli-apt.lock")).unwrap();
        lock.lock().unwrap();
        if !path.exists() {
            eprintln!(
                "installing Debian's chromium with apt-get (set TB_SKIP_BROWSER=1 to skip this test)"
            );
            let sh = "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium";
            let out = Command::new("sh")
                .args(["-c", sh])
                .output()
                .expect("run apt-get");
            assert!(
                out.status.success() && path.exists(),
                "cannot install chromium with apt-get (run as root, or set TB_SKIP_BROWSER=1): {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    Some(path)
}
