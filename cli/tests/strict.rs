//! A refresh token the server no longer accepts (`invalid_grant`: the session ended) is a
//! "sign in again": exit code 7 from the CLI, HTTP 409 from the sidecar (docs/cli.md).

mod support;

use serde_json::Value;
use support::{Env, Running, raw_request};

const DEAD: &str = "refresh-token-of-an-ended-session-7c1e";

/// A profile whose configured refresh token the test provider refuses with `invalid_grant`.
fn dead_session() -> Env {
    Env::new(&format!(
        "[profiles.u]\nprovider = \"oidc\"\ngrant = \"refresh_token\"\nrefresh_token = \"{DEAD}\"\nclient_id = \"generic-client\"\nclient_secret = \"generic-secret\"\ntoken_url = \"{{P}}/generic/token\"\n"
    ))
}

#[test]
fn a_refused_refresh_token_exits_7_and_asks_for_a_new_sign_in() {
    let env = dead_session();
    for _ in 0..2 {
        let run = env.run(&["-vv", "token", "-p", "u"]);
        let stderr = run.stderr();
        assert_eq!(run.code(), 7, "{stderr}");
        assert_eq!(run.stdout(), "");
        assert!(stderr.contains("sign in again"), "{stderr}");
        assert!(!stderr.contains(DEAD), "refresh token in stderr: {stderr}");
    }
}

#[test]
fn the_sidecar_answers_409_for_a_refused_refresh_token() {
    let env = dead_session();
    let mut run = Running::spawn(env.cmd(&["serve", "--port", "0"]));
    let line: Value = serde_json::from_str(&run.stdout_line()).unwrap();
    let port: u16 = line["url"]
        .as_str()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let host = format!("127.0.0.1:{port}");
    let secret = line["secret"].as_str().unwrap_or_default().to_owned();
    let headers = [
        ("Host", host.as_str()),
        ("X-Tokenbroker-Secret", secret.as_str()),
    ];
    let (status, _, body) = raw_request(port, "GET", "/v1/token/u", &headers);
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("interaction"), "{body}");
    assert!(!body.contains(DEAD), "{body}");
}
