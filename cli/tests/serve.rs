//! `tokenbroker serve`: the loopback sidecar's guards (secret, Host, methods, no CORS) and
//! its token answers.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::{Env, Running, api_me, client_requests, new_client, raw_request, write_private};
use tokenbroker_testkit::hostile;

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

    // One command rotates it; the running sidecar takes the new secret at once.
    let out = env.ok(&[
        "serve",
        "--rotate-secret",
        "--secret-file",
        file.to_str().unwrap(),
    ]);
    assert!(out.contains("\"rotated\":true"), "{out}");
    let rotated = std::fs::read_to_string(&file).unwrap().trim().to_owned();
    assert_eq!(rotated.len(), 64);
    assert!(
        !out.contains(&rotated),
        "the new secret is not printed: {out}"
    );
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&file).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    let health = |secret: &str| {
        raw_request(
            s.port,
            "GET",
            "/v1/health",
            &[("Host", &host), ("X-Tokenbroker-Secret", secret)],
        )
        .0
    };
    assert_eq!(
        health("a-long-enough-sidecar-secret-0123"),
        403,
        "the old secret is dead"
    );
    assert_eq!(health(&rotated), 200);
    // A first rotation makes the file (and a private directory).
    let fresh = env.dir.join("state/tokenbroker/sidecar-secret");
    env.ok(&[
        "serve",
        "--rotate-secret",
        "--secret-file",
        fresh.to_str().unwrap(),
    ]);
    let dir_mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(fresh.parent().unwrap())
            .unwrap()
            .permissions(),
    );
    assert_eq!(dir_mode & 0o777, 0o700);
    assert_eq!(
        env.run(&["serve", "--rotate-secret"]).code(),
        2,
        "needs --secret-file"
    );

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

#[test]
fn serve_refuses_absurd_lengths_and_endless_heads_promptly() {
    let (id, secret) = new_client("limits");
    let env = Env::new(&alliance(&id, &secret));
    let s = serve(&env, &[]);
    let addr = format!("127.0.0.1:{}", s.port);
    let head = format!(
        "GET /v1/health HTTP/1.1\r\nHost: {addr}\r\nX-Tokenbroker-Secret: {}\r\n",
        s.secret
    );
    for length in ["18446744073709551615", "99999999999"] {
        let req = format!("{head}Content-Length: {length}\r\n\r\n");
        let answer = hostile::exchange(&addr, req.as_bytes(), hostile::PROMPT);
        assert!(answer.closed, "Content-Length {length}: {answer:?}");
        assert!(
            matches!(answer.status(), Some(400 | 413 | 431)),
            "Content-Length {length}: {answer:?}"
        );
    }
    let answer = hostile::endless_head(&addr, &head);
    assert!(
        answer.closed && answer.took < hostile::PROMPT * 2,
        "{answer:?}"
    );
    assert!(
        answer.text.is_empty() || answer.status() == Some(431),
        "{answer:?}"
    );
    let (status, _, _) = raw_request(
        s.port,
        "GET",
        "/v1/health",
        &[("Host", &addr), ("X-Tokenbroker-Secret", &s.secret)],
    );
    assert_eq!(status, 200, "still serving");
}

#[test]
fn serve_answers_while_200_connections_sit_idle_and_drops_slow_ones() {
    let (id, secret) = new_client("idle");
    let env = Env::new(&alliance(&id, &secret));
    let s = serve(&env, &[]);
    let addr = format!("127.0.0.1:{}", s.port);
    let idle = hostile::idle_connections(&addr, 200);
    let req = format!(
        "GET /v1/health HTTP/1.1\r\nHost: {addr}\r\nX-Tokenbroker-Secret: {}\r\n\r\n",
        s.secret
    );
    let answer = hostile::exchange(&addr, req.as_bytes(), hostile::PROMPT);
    assert_eq!(answer.status(), Some(200), "{answer:?}");
    drop(idle);

    // A head dribbled one byte per 500 ms is closed by the head timeout (10 s).
    let took = hostile::slow_loris(
        &addr,
        b"GET /v1/health HTTP/1.1\r\nX-Slow: ",
        Duration::from_secs(60),
    );
    assert!(took < Duration::from_secs(25), "slow head held {took:?}");
}

/// A `Retry-After` beyond the deadline: the sidecar answers 429 `rate_limited` with the
/// server's `retry_after`, neither retries early, and `tokenbroker token` in another process
/// exits 8 with the same `retry_after` from the shared failure record. (No other
/// test in this file uses the Alvaria token route, so its faults are this test's own.)
#[test]
fn a_rate_limit_is_429_from_the_sidecar_and_exit_code_8() {
    let env = Env::new(
        "[http]\ndeadline = 10\n[profiles.alvaria]\nprovider = \"alvaria\"\nregion = \"us\"\norg = \"myorg\"\nclient_id = \"alvaria-client\"\nclient_secret = \"alvaria-secret\"\nscopes = [\"myaccount.clients.list\"]\ntoken_url = \"{P}/tokenservice/oauth2/access_token\"\n",
    );
    let limited =
        json!({"route": "alvaria.token", "kind": "status", "status": 429, "retry_after": "120"});
    let s = serve(&env, &[]);
    let host = format!("127.0.0.1:{}", s.port);
    let headers = [
        ("Host", host.as_str()),
        ("X-Tokenbroker-Secret", s.secret.as_str()),
    ];
    support::admin("faults", Some(limited.clone()));
    let (status, _, body) = raw_request(s.port, "GET", "/v1/token/alvaria", &headers);
    assert_eq!(status, 429, "{body}");
    let json: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["error"], "rate_limited", "{body}");
    assert_eq!(json["retry_after"], 120, "{body}");

    // The sidecar published the failure in the shared file store: a second process gets the
    // same rate limit without asking (with no fault queued, a request would get a token).
    let run = env.run(&["token", "--profile", "alvaria"]);
    assert_eq!(run.code(), 8, "{}", run.stderr());
    assert!(
        run.stderr().contains("retry after 120 s"),
        "{}",
        run.stderr()
    );
    assert_eq!(run.stdout(), "");
    let pending = support::admin("stats", None)["faults_pending"].clone();
    assert_eq!(pending, json!([]), "the sidecar's call made its request");
}

/// The sidecar's query options go through the core's parser, as every binding's do, and a
/// broken profile reports its own config error while the others answer.
#[test]
fn serve_parses_options_like_every_binding_and_survives_a_broken_profile() {
    let (id, secret) = new_client("serve-options");
    let text =
        alliance(&id, &secret) + "[profiles.broken]\nprovider = \"nope\"\nclient_id = \"x\"\n";
    let env = Env::new(&text);
    let s = serve(&env, &[]);
    let host = format!("127.0.0.1:{}", s.port);
    let headers = [("Host", host.as_str()), ("X-Tokenbroker-Secret", &s.secret)];
    let get = |path: &str| raw_request(s.port, "GET", path, &headers);

    let (status, _, body) = get("/v1/token/aos?scope=a+b&scope=c&min_ttl=1");
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = get("/v1/token/aos?scope=%22quoted%22");
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("scopes") && body.contains("RFC 6749"),
        "{body}"
    );
    let (status, _, body) = get("/v1/token/aos?min_ttl=-5");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("min_ttl"), "{body}");

    let (status, _, body) = get("/v1/token/broken");
    assert_eq!(status, 500, "{body}");
    assert!(body.contains("unknown provider 'nope'"), "{body}");
    let (status, _, body) = get("/v1/token/missing");
    assert_eq!(status, 404, "{body}");
}
