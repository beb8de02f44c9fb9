//! `tokenbroker serve`: the loopback sidecar's guards (secret, Host, methods, no CORS) and
//! its token answers.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::{Env, Running, api_me, client_requests, new_client, raw_request, write_private};

struct Sidecar {
    run: Running,
    port: u16,
    secret: String,
    line: Value,
}

fn serve(env: &Env, extra: &[&str]) -> Sidecar {
    let mut args = vec!["serve", "--port", "0"];
    args.extend_from_slice(extra);
    let mut run = Running::spawn(env.cmd(&args));
    let line = run.stdout_line();
    let line: Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("serve printed {line:?}: {e}"));
    let url = line["url"].as_str().unwrap();
    let port = url
        .strip_prefix("http://127.0.0.1:")
        .unwrap_or_else(|| panic!("not a loopback URL: {url}"))
        .parse()
        .unwrap();
    let secret = line["secret"].as_str().unwrap_or_default().to_owned();
    Sidecar {
        run,
        port,
        secret,
        line,
    }
}

fn alliance(id: &str, secret: &str) -> String {
    format!(
        "[profiles.aos]\nprovider = \"alliance\"\nclient_id = \"{id}\"\nclient_secret = \"{secret}\"\ntoken_url = \"{{P}}/API/v2/OAuth/token\"\n"
    )
}

fn no_cors(head: &str) {
    assert!(
        !head.to_ascii_lowercase().contains("access-control-"),
        "CORS header sent: {head}"
    );
}

#[test]
fn serve_refuses_missing_and_wrong_secrets_foreign_hosts_and_preflights() {
    let (id, secret) = new_client("guard");
    let env = Env::new(&alliance(&id, &secret));
    let s = serve(&env, &[]);
    assert_eq!(s.secret.len(), 64, "a random secret per run: {}", s.line);
    let host = format!("127.0.0.1:{}", s.port);
    let get = |path: &str, headers: &[(&str, &str)]| raw_request(s.port, "GET", path, headers);

    let (status, head, body) = get("/v1/token/aos", &[("Host", &host)]);
    assert_eq!(status, 401, "{body}");
    no_cors(&head);
    let (status, head, body) = get(
        "/v1/token/aos",
        &[("Host", &host), ("X-Tokenbroker-Secret", "not-the-secret")],
    );
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("wrong_secret"), "{body}");
    no_cors(&head);
    let almost = format!("{}x", &s.secret[..63]);
    let (status, _, _) = get(
        "/v1/health",
        &[("Host", &host), ("X-Tokenbroker-Secret", &almost)],
    );
    assert_eq!(status, 403);

    // DNS rebinding: the right secret but a foreign Host name is refused.
    let secret_header = ("X-Tokenbroker-Secret", s.secret.as_str());
    for bad in [
        "evil.example",
        &format!("evil.example:{}", s.port),
        &format!("127.0.0.1.nip.io:{}", s.port),
        "127.0.0.1:1",
    ] {
        let (status, head, body) = get("/v1/token/aos", &[("Host", bad), secret_header]);
        assert_eq!(status, 403, "Host {bad}: {body}");
        assert!(body.contains("forbidden_host"), "{body}");
        no_cors(&head);
    }
    let (status, _, _) = get("/v1/health", &[secret_header]);
    assert_eq!(status, 403, "no Host at all");

    // CORS preflights and other methods: 405, never an Access-Control header.
    let (status, head, _) = raw_request(
        s.port,
        "OPTIONS",
        "/v1/token/aos",
        &[
            ("Host", &host),
            ("Origin", "https://evil.example"),
            ("Access-Control-Request-Method", "GET"),
            ("Access-Control-Request-Headers", "x-tokenbroker-secret"),
        ],
    );
    assert_eq!(status, 405);
    no_cors(&head);
    let (status, _, _) = raw_request(
        s.port,
        "POST",
        "/v1/token/aos",
        &[("Host", &host), secret_header],
    );
    assert_eq!(status, 405);

    // With everything right, even from a browser-like Origin, no CORS header is added.
    let (status, head, body) = get(
        "/v1/health",
        &[
            ("Host", &format!("localhost:{}", s.port)),
            secret_header,
            ("Origin", "https://evil.example"),
        ],
    );
    assert_eq!((status, body.trim()), (200, r#"{"ok":true}"#));
    no_cors(&head);
    assert!(head.contains("Cache-Control: no-store"), "{head}");
    assert_eq!(
        client_requests(&id),
        0,
        "no refused request reached the provider"
    );
}

#[test]
fn serve_answers_the_same_json_as_token_format_json_from_one_fetch() {
    let (id, secret) = new_client("sidecar");
    let env = Env::new(&format!(
        "{}\n[profiles.bad]\nprovider = \"alvys\"\ntenant = \"t\"\nclient_id = \"{id}\"\nclient_secret = \"wrong-sidecar-secret-4242\"\ntoken_url = \"{{P}}/api/authentication/t/token\"\n",
        alliance(&id, &secret)
    ));
    let s = serve(&env, &[]);
    let host = format!("127.0.0.1:{}", s.port);
    let headers = [
        ("Host", host.as_str()),
        ("X-Tokenbroker-Secret", s.secret.as_str()),
    ];

    let mut tokens = std::collections::HashSet::new();
    for _ in 0..5 {
        let (status, head, body) = raw_request(s.port, "GET", "/v1/token/aos", &headers);
        assert_eq!(status, 200, "{body}");
        assert!(head.contains("Content-Type: application/json"), "{head}");
        let json: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["token_type"], "Bearer");
        assert!(json["expires_at"].as_str().unwrap().ends_with('Z'));
        assert!(json["expires_in"].as_u64().unwrap() > 3500);
        assert_eq!(json["scopes"], json!(["default"]));
        tokens.insert(json["access_token"].as_str().unwrap().to_owned());
    }
    assert_eq!(tokens.len(), 1);
    assert_eq!(client_requests(&id), 1, "five answers, one fetch");
    let token = tokens.into_iter().next().unwrap();
    assert_eq!(api_me(&token).0, 200);
    // The CLI in another process shares the sidecar's file cache.
    assert_eq!(env.ok(&["token", "--profile", "aos"]).trim(), token);
    assert_eq!(client_requests(&id), 1);

    let (status, _, body) = raw_request(s.port, "GET", "/v1/token/aos?scope=a&scope=b", &headers);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["scopes"],
        json!(["a", "b"])
    );

    let (status, _, body) = raw_request(s.port, "GET", "/v1/token/nope", &headers);
    assert_eq!(status, 404);
    assert!(body.contains("unknown_profile"), "{body}");
    let (status, _, _) = raw_request(s.port, "GET", "/v1/other", &headers);
    assert_eq!(status, 404);

    // A refused client: 502 with the error kind, never the client secret.
    let (status, _, body) = raw_request(s.port, "GET", "/v1/token/bad", &headers);
    assert_eq!(status, 502, "{body}");
    let json: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["error"], "oauth");
    assert!(!body.contains("wrong-sidecar-secret-4242"), "{body}");

    // SIGTERM stops it cleanly.
    // SAFETY: signalling our own child process.
    unsafe { libc::kill(s.run.child.id() as i32, libc::SIGTERM) };
    let (code, stderr) = s.run.wait(Duration::from_secs(10));
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("wrong-sidecar-secret-4242"), "{stderr}");
}

#[test]
fn serve_takes_its_secret_from_a_private_file() {
    let (id, secret) = new_client("secretfile");
    let env = Env::new(&alliance(&id, &secret));
    let file = env.dir.join("sidecar-secret");
    write_private(&file, "a-long-enough-sidecar-secret-0123\n");
    let s = serve(&env, &["--secret-file", file.to_str().unwrap()]);
    assert!(
        s.line.get("secret").is_none(),
        "a file secret is not echoed: {}",
        s.line
    );
    let host = format!("127.0.0.1:{}", s.port);
    let (status, _, body) = raw_request(
        s.port,
        "GET",
        "/v1/health",
        &[
            ("Host", &host),
            ("X-Tokenbroker-Secret", "a-long-enough-sidecar-secret-0123"),
        ],
    );
    assert_eq!(status, 200, "{body}");

    std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let run = env.run(&["serve", "--secret-file", file.to_str().unwrap()]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("chmod 600"), "{}", run.stderr());
    assert!(
        !run.stderr().contains("sidecar-secret-0123"),
        "{}",
        run.stderr()
    );
}
