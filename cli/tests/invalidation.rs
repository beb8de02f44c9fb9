//! `cache clear` and `logout` in another process reach a running sidecar: after the
//! documented bound (1 s) its next answer is a new token (file store and Redis).

#[path = "../../core/tests/support/redis.rs"]
mod redis_server;
mod support;

use std::time::Duration;

use serde_json::Value;
use support::{Env, Running, client_requests, new_client, raw_request, temp_dir};

/// The documented bound (1 s) and a margin.
const AFTER_BOUND: Duration = Duration::from_millis(1500);

struct Sidecar {
    _run: Running,
    port: u16,
    secret: String,
}

impl Sidecar {
    fn start(env: &Env) -> Self {
        let mut run = Running::spawn(env.cmd(&["serve", "--port", "0"]));
        let line = run.stdout_line();
        let line: Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("serve printed {line:?}: {e}"));
        let port = line["url"]
            .as_str()
            .and_then(|u| u.strip_prefix("http://127.0.0.1:"))
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no loopback URL in {line}"));
        let secret = line["secret"].as_str().unwrap().to_owned();
        Self {
            _run: run,
            port,
            secret,
        }
    }

    fn token(&self) -> String {
        let host = format!("127.0.0.1:{}", self.port);
        let headers = [
            ("Host", host.as_str()),
            ("X-Tokenbroker-Secret", self.secret.as_str()),
        ];
        let (status, _, body) = raw_request(self.port, "GET", "/v1/token/aos", &headers);
        assert_eq!(status, 200, "{body}");
        let json: Value = serde_json::from_str(&body).unwrap();
        json["access_token"].as_str().unwrap().to_owned()
    }
}

fn profile(id: &str, secret: &str) -> String {
    format!(
        "[profiles.aos]\nprovider = \"alliance\"\nclient_id = \"{id}\"\nclient_secret = \"{secret}\"\ntoken_url = \"{{P}}/API/v2/OAuth/token\"\n"
    )
}

/// The sidecar serves from memory; another process runs `command`; after the bound the
/// sidecar's answer is a new token, fetched once and shared with the CLI.
fn reaches_the_sidecar(env: &Env, id: &str, command: &[&str]) {
    let sidecar = Sidecar::start(env);
    let first = sidecar.token();
    assert_eq!(env.ok(&["token", "--profile", "aos"]).trim(), first);
    assert_eq!(client_requests(id), 1);
    std::thread::sleep(AFTER_BOUND);
    assert_eq!(sidecar.token(), first, "a warm sidecar keeps its token");
    assert_eq!(client_requests(id), 1, "a warm sidecar re-fetched");

    env.ok(command);
    std::thread::sleep(AFTER_BOUND);
    let second = sidecar.token();
    assert_ne!(
        second, first,
        "{command:?} in another process did not reach the sidecar"
    );
    assert_eq!(client_requests(id), 2, "{command:?}");
    assert_eq!(env.ok(&["token", "--profile", "aos"]).trim(), second);
    assert_eq!(sidecar.token(), second);
    assert_eq!(client_requests(id), 2, "{command:?}");
}

const COMMANDS: [&[&str]; 2] = [&["cache", "clear"], &["logout", "--profile", "aos"]];

#[test]
fn cache_clear_and_logout_reach_a_running_sidecar_on_the_file_store() {
    for command in COMMANDS {
        let (id, secret) = new_client("inval-sidecar");
        let env = Env::new(&profile(&id, &secret));
        reaches_the_sidecar(&env, &id, command);
    }
}

#[test]
fn cache_clear_and_logout_reach_a_running_sidecar_on_redis() {
    let Some(redis) = redis_server::RedisServer::start(None) else {
        return;
    };
    for command in COMMANDS {
        let (id, secret) = new_client("inval-sidecar-redis");
        let dir = temp_dir("tb-inval-redis");
        let env = Env::new(&format!(
            "[cache]\nstore = \"redis\"\nredis_url = \"{}\"\npath = \"{}\"\n\n{}",
            redis.url(),
            dir.display(),
            profile(&id, &secret)
        ));
        reaches_the_sidecar(&env, &id, command);
        let _ = std::fs::remove_dir_all(dir);
    }
}
