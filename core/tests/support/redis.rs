//! A throwaway `redis-server` on 127.0.0.1 and an ephemeral port, killed on drop.
#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `redis-server` child process.
pub struct RedisServer {
    child: Child,
    port: u16,
    password: Option<String>,
    tls: bool,
}

impl RedisServer {
    /// Starts a server (with `requirepass` when `password` is given), or returns `None` when
    /// `TB_SKIP_REDIS=1`. Panics, saying how to install it, when `redis-server` is missing.
    pub fn start(password: Option<&str>) -> Option<Self> {
        Self::start_with(password, None)
    }

    /// Starts a TLS-only server with a fresh self-signed certificate written to `cert_dir`
    /// (made with the `openssl` command), or `None` when `TB_SKIP_REDIS=1`.
    pub fn start_tls(cert_dir: &Path) -> Option<Self> {
        Self::start_with(None, Some(cert_dir))
    }

    fn start_with(password: Option<&str>, tls: Option<&Path>) -> Option<Self> {
        if std::env::var("TB_SKIP_REDIS").as_deref() == Ok("1") {
            eprintln!("TB_SKIP_REDIS=1: skipping a Redis test");
            return None;
        }
        if let Err(e) = Command::new("redis-server").arg("--version").output() {
            panic!(
                "redis-server is needed for the Redis tests ({e}): run \
                 `apt-get install -y redis-server`, or set TB_SKIP_REDIS=1 to skip them"
            );
        }
        let tls_args = tls.map(self_signed_args);
        for _ in 0..5 {
            if let Some(server) = Self::try_start(password, tls_args.as_deref()) {
                return Some(server);
            }
        }
        panic!("redis-server did not start on 127.0.0.1");
    }

    fn try_start(password: Option<&str>, tls: Option<&[String]>) -> Option<Self> {
        let port = TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let mut cmd = Command::new("redis-server");
        let port_text = port.to_string();
        match tls {
            Some(tls) => cmd
                .args(["--port", "0", "--tls-port", &port_text])
                .args(tls),
            None => cmd.args(["--port", &port_text]),
        };
        cmd.args(["--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .args(["--dir", &std::env::temp_dir().to_string_lossy()])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(password) = password {
            cmd.args(["--requirepass", password]);
        }
        let mut server = Self {
            child: cmd.spawn().expect("spawn redis-server"),
            port,
            password: password.map(str::to_owned),
            tls: tls.is_some(),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if server.child.try_wait().ok()?.is_some() {
                return None; // lost the port to someone else: try another
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                // Another test may have picked the same free port: the answer only counts
                // if our own server is still running a moment later.
                std::thread::sleep(Duration::from_millis(100));
                if server.child.try_wait().ok()?.is_none() {
                    return Some(server);
                }
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None // dropping `server` kills it
    }

    /// The URL to reach it, with the password when there is one.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "rediss" } else { "redis" };
        match &self.password {
            Some(p) => format!("{scheme}://:{p}@127.0.0.1:{}/", self.port),
            None => format!("{scheme}://127.0.0.1:{}/", self.port),
        }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes a self-signed certificate for 127.0.0.1 and returns the server's TLS options.
fn self_signed_args(dir: &Path) -> Vec<String> {
    let (cert, key) = (dir.join("redis-cert.pem"), dir.join("redis-key.pem"));
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("the TLS test needs the openssl command ({e})"));
    assert!(
        status.success(),
        "openssl could not make a test certificate"
    );
    let (cert, key) = (cert.display().to_string(), key.display().to_string());
    vec![
        "--tls-cert-file".into(),
        cert.clone(),
        "--tls-key-file".into(),
        key,
        "--tls-ca-cert-file".into(),
        cert,
        "--tls-auth-clients".into(),
        "no".into(),
    ]
}
