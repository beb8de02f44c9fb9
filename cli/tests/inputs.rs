//! Hostile local inputs: special files where the CLI expects a config file, a secret file or a
//! cache entry; numbers no duration can hold; proxies for loopback; credentials in URLs. Each
//! must end in a typed error and its exit code, never a hang or a panic.

mod support;

use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use support::{Env, Running, bin, new_client, raw_request};

/// Long enough for a slow machine, short enough that a hang fails the test.
const LIMIT: Duration = Duration::from_secs(20);

fn alliance(id: &str, secret: &str) -> String {
    format!(
        "[profiles.aos]\nprovider = \"alliance\"\nclient_id = \"{id}\"\nclient_secret = \"{secret}\"\ntoken_url = \"{{P}}/API/v2/OAuth/token\"\n"
    )
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().expect("mkfifo");
    assert!(status.success());
}

/// Runs `cmd` with a time limit: the exit code and stderr.
fn run_limited(cmd: Command) -> (i32, String) {
    Running::spawn(cmd).wait(LIMIT)
}

#[test]
fn special_files_as_config_fail_fast_with_a_config_error() {
    let env = Env::new("");
    let fifo = env.dir.join("config-fifo.toml");
    mkfifo(&fifo);
    for path in [Path::new("/dev/zero"), fifo.as_path()] {
        let mut cmd = Command::new(bin());
        cmd.arg("--config").arg(path).args(["token", "-p", "aos"]);
        let (code, stderr) = run_limited(cmd);
        assert_eq!(code, 2, "{}: {stderr}", path.display());
        assert!(stderr.contains(&path.display().to_string()), "{stderr}");
        assert!(stderr.contains("not a regular file"), "{stderr}");
    }
}

#[test]
fn a_fifo_as_secret_file_is_a_config_error_naming_the_key() {
    let env = Env::new("");
    let fifo = env.dir.join("secret-fifo");
    mkfifo(&fifo);
    let env = Env::new(&alliance("someone", &format!("file:{}", fifo.display())));
    let (code, stderr) = run_limited(env.cmd(&["token", "-p", "aos"]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("client_secret"), "{stderr}");
    assert!(stderr.contains("not a regular file"), "{stderr}");
}

#[test]
fn a_fifo_in_place_of_a_cache_entry_never_hangs() {
    let (id, secret) = new_client("fifo");
    let env = Env::new(&alliance(&id, &secret));
    env.ok(&["token", "-p", "aos"]);
    let tokens = env.dir.join("cache").join("tokens");
    let entry = std::fs::read_dir(&tokens)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "bin"))
        .expect("a cache entry");
    std::fs::remove_file(&entry).unwrap();
    mkfifo(&entry);

    let (code, stderr) = run_limited(env.cmd(&["cache", "list"]));
    assert_eq!(code, 6, "{stderr}");
    assert!(stderr.contains("not a regular file"), "{stderr}");
    // `token` goes on without the shared tier for this call (with a warning).
    let (code, stderr) = run_limited(env.cmd(&["token", "-p", "aos"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("not a regular file"), "{stderr}");
}

#[test]
fn numbers_no_duration_can_hold_are_config_errors_naming_the_key() {
    let (id, secret) = new_client("numbers");
    let profile = alliance(&id, &secret);
    for (section, key, value) in [
        ("http", "timeout", "1e308"),
        ("http", "connect_timeout", "1e308"),
        ("http", "max_retry_wait", "1e308"),
        ("http", "max_retries", "1e19"),
        ("cache", "default_ttl", "1e300"),
        ("cache", "max_entries", "1e300"),
    ] {
        let cache = if section == "cache" {
            "store = \"memory\"\n"
        } else {
            ""
        };
        let env = Env::new(&format!("[{section}]\n{cache}{key} = {value}\n\n{profile}"));
        let (code, stderr) = run_limited(env.cmd(&["token", "-p", "aos"]));
        assert_eq!(code, 2, "{key} = {value}: {stderr}");
        assert!(stderr.contains(&format!("key '{key}'")), "{stderr}");
    }
    let env = Env::new(&profile);
    let (code, stderr) =
        run_limited(env.cmd(&["token", "-p", "aos", "--min-ttl", "18446744073709551615"]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("min_ttl"), "{stderr}");
}

#[test]
fn credentials_in_a_configured_url_are_refused_and_never_echoed() {
    let env = Env::new(
        "[profiles.aos]\nprovider = \"alliance\"\nclient_id = \"c\"\nclient_secret = \"s\"\n\
         token_url = \"http://user:hunter2-pass@127.0.0.1:9/API/v2/OAuth/token\"\n",
    );
    for args in [&["token", "-p", "aos"][..], &["profiles"][..]] {
        let (code, stderr) = run_limited(env.cmd(args));
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains("profile 'aos'"), "{stderr}");
        assert!(stderr.contains("token_url"), "{stderr}");
        assert!(!stderr.contains("hunter2"), "{stderr}");
    }
}

/// A stand-in proxy on 127.0.0.1 that counts connections and closes each at once.
fn recording_proxy() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            counter.fetch_add(1, Ordering::SeqCst);
            if let Ok(mut s) = stream {
                let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
                let _ = s.read(&mut [0u8; 1024]);
            }
        }
    });
    (url, hits)
}

#[test]
fn proxy_variables_are_never_used_for_loopback() {
    let (id, secret) = new_client("proxy");
    let env = Env::new(&format!(
        "[http]\ntimeout = 5\nmax_retries = 0\n\n{}",
        alliance(&id, &secret)
    ));
    let (proxy, hits) = recording_proxy();
    for var in ["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"] {
        let mut cmd = env.cmd(&["token", "-p", "aos", "--force-refresh"]);
        cmd.env(var, &proxy)
            .env_remove("NO_PROXY")
            .env_remove("no_proxy");
        let (code, stderr) = run_limited(cmd);
        assert_eq!(code, 0, "{var}: {stderr}");
        assert_eq!(
            hits.load(Ordering::SeqCst),
            0,
            "{var}: the proxy saw loopback traffic"
        );
    }
}

#[test]
fn the_sidecar_answers_a_hostile_min_ttl_with_an_error_and_keeps_serving() {
    let (id, secret) = new_client("sidecar");
    let env = Env::new(&alliance(&id, &secret));
    let mut run = Running::spawn(env.cmd(&["serve", "--port", "0"]));
    let line: serde_json::Value = serde_json::from_str(&run.stdout_line()).unwrap();
    let port: u16 = line["url"]
        .as_str()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let secret = line["secret"].as_str().unwrap_or_default().to_owned();
    let host = format!("127.0.0.1:{port}");
    let headers = [("Host", host.as_str()), ("X-Tokenbroker-Secret", &secret)];
    let (status, _, body) = raw_request(
        port,
        "GET",
        "/v1/token/aos?min_ttl=18446744073709551615",
        &headers,
    );
    assert!((400..500).contains(&status), "{status} {body}");
    assert!(body.contains("min_ttl"), "{body}");
    let (status, _, body) = raw_request(port, "GET", "/v1/token/aos", &headers);
    assert_eq!(status, 200, "{body}");
}

#[test]
fn special_files_given_on_the_command_line_fail_fast() {
    let env = Env::new(&alliance("someone", "secret-value"));
    let fifo = env.dir.join("arg-fifo");
    mkfifo(&fifo);
    // Private, so the sidecar's permission check passes and the read itself is what is tested.
    std::fs::set_permissions(&fifo, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let fifo = fifo.display().to_string();
    for args in [
        vec!["serve", "--port", "0", "--secret-file", &fifo],
        vec!["clients", "register", "-p", "aos", "--metadata", &fifo],
        vec![
            "clients",
            "register",
            "-p",
            "aos",
            "--metadata",
            "/dev/zero",
        ],
        vec![
            "clients",
            "register",
            "-p",
            "aos",
            "--metadata",
            r#"{"client_name":"x"}"#,
            "--initial-access-token-file",
            &fifo,
        ],
    ] {
        let (code, stderr) = run_limited(env.cmd(&args));
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains("not a regular file"), "{args:?}: {stderr}");
    }
}
