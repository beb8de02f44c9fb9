//! `tokenbroker login` and `logout`: the authorization code flow completed headlessly by
//! tests/oidc/drive_login.mjs and by a real Chromium, and the device flow against the test
//! provider approved (or denied) through its admin API.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Env, Running, admin, api_me, chromium, js_dir, new_client};

const LIMIT: Duration = Duration::from_secs(90);

const OIDC_WEB: &str = r#"[profiles.web]
provider = "oidc"
issuer = "{ISSUER}"
client_id = "oidc-web"
client_secret = "oidc-web-secret"
redirect_uri = "http://127.0.0.1/callback"
grant = "authorization_code"
scopes = ["openid", "api:read"]
"#;

// No "offline_access": oidc-provider issues refresh tokens to this client anyway (see
// tests/oidc), and the core leaves a profile's own scopes out of refresh requests.

const OIDC_PUBLIC: &str = r#"[profiles.pub]
provider = "oidc"
issuer = "{ISSUER}"
client_id = "oidc-public"
auth_method = "none"
redirect_uri = "http://127.0.0.1/callback"
grant = "authorization_code"
scopes = ["openid", "api:read", "api:write"]
"#;

/// Starts `login --no-browser` and returns the process and the URL it printed on stderr.
fn start_login(env: &Env, extra: &[&str]) -> (Running, String) {
    let mut args = vec!["login", "--no-browser", "--timeout", "60"];
    args.extend_from_slice(extra);
    let mut run = Running::spawn(env.cmd(&args));
    let (url, _) = run.stderr_until(|line| line.starts_with("http").then(|| line.to_owned()));
    (run, url)
}

fn node(args: &[&str]) -> String {
    let out = Command::new("node").args(args).output().expect("run node");
    assert!(
        out.status.success(),
        "node {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn login_without_a_browser_is_completed_by_drive_login_and_logout_forgets_it() {
    let env = Env::new(OIDC_WEB);
    let (run, url) = start_login(&env, &[]);
    assert!(url.contains("code_challenge_method=S256"), "{url}");
    assert!(
        url.contains("redirect_uri=http%3A%2F%2F127.0.0.1%3A"),
        "{url}"
    );
    let landed = tokenbroker_testkit::drive_login(&url, &["--follow"]);
    assert!(landed.contains("code="), "{landed}");
    let (code, stderr) = run.wait(LIMIT);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("Signed in to 'web'"), "{stderr}");

    // The login's token is cached; a forced refresh in a new process uses the stored
    // refresh token (oidc-provider rotates it and revokes the grant on reuse).
    let first: Value = serde_json::from_str(&env.ok(&["token", "-f", "json"])).unwrap();
    assert_eq!(first["scopes"], json!(["api:read"]));
    let second = env.ok(&["token", "--force-refresh"]);
    assert_ne!(second.trim(), first["access_token"].as_str().unwrap());
    let third = env.ok(&["token", "--force-refresh"]);
    assert_ne!(third, second);

    env.ok(&["logout"]);
    let run = env.run(&["token"]);
    assert_eq!(run.code(), 7, "signed out: {}", run.stderr());
    assert!(
        run.stderr().contains("no refresh token"),
        "{}",
        run.stderr()
    );
}

#[test]
fn login_that_nobody_completes_times_out_with_exit_code_7() {
    let env = Env::new(OIDC_WEB);
    let started = Instant::now();
    let run = env.run(&["login", "--no-browser", "--timeout", "2"]);
    assert_eq!(run.code(), 7, "{}", run.stderr());
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(
        !run.stderr().contains("oidc-web-secret"),
        "{}",
        run.stderr()
    );
}

#[test]
fn a_zero_timeout_is_refused_by_the_core_check_like_every_language() {
    // Not quietly raised to one second: Python, Node, Kotlin and Swift refuse it too.
    let env = Env::new(OIDC_WEB);
    let run = env.run(&["login", "--no-browser", "--timeout", "0"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("above zero"), "{}", run.stderr());
}

fn device_profile(id: &str, secret: &str) -> String {
    format!(
        r#"[profiles.dev]
provider = "oidc"
grant = "device_code"
client_id = "{id}"
client_secret = "{secret}"
scopes = ["read"]
token_url = "{{P}}/generic/token"
device_url = "{{P}}/generic/device"
"#
    )
}

fn user_code(run: &mut Running) -> (String, String) {
    run.stderr_until(|line| {
        line.split_once("enter the code: ")
            .map(|(_, code)| code.trim().to_owned())
    })
}

#[test]
fn device_flow_shows_the_code_and_completes_when_approved() {
    let (id, secret) = new_client("device");
    let env = Env::new(&device_profile(&id, &secret));
    // grant = "device_code" makes `login` use the device flow without --device.
    let mut run = Running::spawn(env.cmd(&["login"]));
    let (code, shown) = user_code(&mut run);
    assert!(shown.contains("/generic/device/verify"), "{shown}");
    admin("device/approve", Some(json!({"user_code": code})));
    let (exit, stderr) = run.wait(LIMIT);
    assert_eq!(exit, 0, "{shown}{stderr}");
    assert!(stderr.contains("Signed in to 'dev'"), "{stderr}");

    let token = env.ok(&["token"]);
    let (status, me) = api_me(token.trim());
    assert_eq!(
        (status, me["client_id"].as_str()),
        (200, Some(id.as_str())),
        "{me}"
    );
    // A new process refreshes with the stored (rotating) refresh token.
    let refreshed = env.ok(&["token", "--force-refresh"]);
    assert_ne!(refreshed, token);
    assert_eq!(api_me(refreshed.trim()).0, 200);
}

#[test]
fn device_flow_denied_exits_with_7() {
    let (id, secret) = new_client("denied");
    let env = Env::new(&device_profile(&id, &secret));
    let mut run = Running::spawn(env.cmd(&["login", "--device", "--timeout", "60"]));
    let (code, _) = user_code(&mut run);
    admin("device/deny", Some(json!({"user_code": code})));
    let (exit, stderr) = run.wait(LIMIT);
    assert_eq!(exit, 7, "{stderr}");
    assert!(!stderr.contains(&secret), "{stderr}");
}

#[test]
fn a_real_headless_chromium_signs_in_on_oidc_providers_pages() {
    let Some(chromium) = chromium() else {
        return;
    };
    let js = js_dir();
    let env = Env::new(OIDC_PUBLIC);
    let (run, url) = start_login(&env, &[]);
    let started = Instant::now();
    let out = node(&[
        js.join("browser_login.mjs").to_str().unwrap(),
        &url,
        "--chromium",
        chromium.to_str().unwrap(),
        "--login",
        "chromium-user",
    ]);
    let landed: Value = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{out}: {e}"));
    assert_eq!(landed["title"], "Signed in", "{landed}");
    assert_eq!(landed["steps"], 2, "login page then consent page: {landed}");
    let (code, stderr) = run.wait(LIMIT);
    assert_eq!(code, 0, "{stderr}");
    eprintln!("chromium sign-in took {:?}", started.elapsed());
    let json: Value = serde_json::from_str(&env.ok(&["token", "-f", "json"])).unwrap();
    assert_eq!(json["scopes"], json!(["api:read", "api:write"]));
}
