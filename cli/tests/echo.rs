//! A hostile provider that quotes the whole request back (the test provider's `echo` fault),
//! seen from the terminal: `tokenbroker token` at every verbosity prints no encoding of the
//! secret (nor a 12-character window of one) and no control character or escape sequence
//! from the server. Child processes (`curl`) inherit neither the cache key nor `env:` secrets.

mod support;

use serde_json::json;
use support::{Env, admin, base64, new_client};

/// Escape sequences a server could use to retitle the terminal and clear the screen.
const ESCAPES: &str = "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{9b}31m\r";

fn form(value: &str) -> String {
    url_encode(value)
}

fn url_encode(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn encodings(value: &str) -> Vec<String> {
    let formed = form(value);
    let json = serde_json::to_string(value).unwrap();
    vec![
        value.to_owned(),
        formed.clone(),
        formed.to_lowercase(),
        json[1..json.len() - 1].to_owned(),
    ]
}

fn assert_clean(what: &str, text: &str, forbidden: &[String]) {
    for secret in forbidden {
        let chars: Vec<char> = secret.chars().collect();
        for w in chars.windows(12.min(chars.len())) {
            let w: String = w.iter().collect();
            assert!(
                !text.contains(&w),
                "{what} leaks {w:?} (of {secret:?}):\n{text}"
            );
        }
    }
}

#[test]
fn token_errors_from_an_echoing_server_hold_no_secret_and_no_escape_sequence() {
    let (id, _) = new_client("cli-echo");
    let n: u64 = rand::random();
    let secret = format!("s3cret/+&%=\"\\ü-{n:016x}");
    let header = format!("h3ader/+&%=\"\\-{n:016x}");
    for method in ["client_secret_post", "client_secret_basic"] {
        let env = Env::new(&format!(
            r#"[profiles.p]
provider = "oidc"
client_id = "{id}"
client_secret = '{secret}'
auth_method = "{method}"
token_url = "{{P}}/generic/token"
headers = {{ x-api-key = '{header}' }}
"#
        ));
        let mut forbidden = encodings(&secret);
        forbidden.extend(encodings(&header));
        forbidden.push(base64(
            format!("{}:{}", form(&id), form(&secret)).as_bytes(),
        ));
        for verbosity in ["-q", "", "-v", "-vv"] {
            for place in ["oauth", "error_code", "text", "json_text", "tokens_text"] {
                for pad in [0, 57, 101, 230, 420] {
                    admin(
                        "faults",
                        Some(
                            json!({"route": "generic.token", "kind": "echo", "as": place,
                            "pad": pad, "prefix": ESCAPES}),
                        ),
                    );
                    let mut args = vec!["token", "--force-refresh"];
                    if !verbosity.is_empty() {
                        args.insert(0, verbosity);
                    }
                    let run = env.run(&args);
                    let what = format!("{method} {verbosity} {place} pad {pad}");
                    assert_ne!(run.code(), 0, "{what}: {}", run.stderr());
                    let mut forbidden = forbidden.clone();
                    if place == "tokens_text" {
                        let echoes = admin("echoes", None);
                        let last = echoes.as_array().unwrap().last().unwrap().clone();
                        for k in ["access_token", "refresh_token"] {
                            forbidden.push(last[k].as_str().unwrap().to_owned());
                        }
                    }
                    let stderr = run.stderr();
                    assert_clean(&what, &stderr, &forbidden);
                    assert!(
                        !stderr
                            .chars()
                            .any(|c| c.is_control() && c != '\n'
                                || ('\u{80}'..'\u{a0}').contains(&c)),
                        "{what}: control characters reach the terminal: {stderr:?}"
                    );
                    // json_text quotes them JSON-escaped (`\u001b]0;pwned`): inert text.
                    if place != "json_text" {
                        assert!(!stderr.contains("]0;pwned"), "{what}: {stderr:?}");
                    }
                    assert!(run.stdout().is_empty(), "{what}: {}", run.stdout());
                }
            }
        }
    }
}

#[test]
fn curl_inherits_neither_the_cache_key_nor_env_secrets() {
    let (id, secret) = new_client("cli-env");
    let n: u64 = rand::random();
    let var = format!("TB_TEST_SECRET_{n:x}");
    let env = Env::new(&format!(
        r#"[profiles.aos]
provider = "alliance"
client_id = "{id}"
client_secret = "env:{var}"
token_url = "{{P}}/API/v2/OAuth/token"
"#
    ));
    let fake = env.dir.join("fake-curl");
    std::fs::write(&fake, "#!/bin/sh\nenv\n").unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let out = env
        .cmd(&["curl", "--", "http://example.invalid/"])
        .env(&var, &secret)
        .env("TOKENBROKER_CURL", &fake)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("PATH="),
        "the child gets the rest of the environment: {text}"
    );
    assert!(!text.contains("TOKENBROKER_CACHE_KEY"), "{text}");
    assert!(!text.contains(&var) && !text.contains(&secret), "{text}");
}
