//! The Postman collection in examples/postman, run by Newman (through
//! examples/postman/run-newman.mjs, the recipe in docs/postman.md) against the test provider's
//! protected API with tokens from `tokenbroker serve`; the sidecar's secret stays off command
//! lines and out of Newman's report.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use support::{Env, Running, client_requests, js_dir, new_client, provider_url, repo_root};

#[test]
fn newman_runs_the_collection_with_one_token_fetch_for_the_whole_run() {
    let (id, secret) = new_client("newman");
    let env = Env::new(&format!(
        "[profiles.newman]\nprovider = \"alliance\"\nclient_id = \"{id}\"\nclient_secret = \"{secret}\"\ntoken_url = \"{{P}}/API/v2/OAuth/token\"\n"
    ));
    let report = env.dir.join("newman.json");
    let runner = runner(&env, &report, &[]);
    let argv = std::fs::read(format!("/proc/{}/cmdline", runner.child.id())).unwrap();
    assert!(
        !String::from_utf8_lossy(&argv).contains("secret"),
        "{argv:?}"
    );
    let (code, text) = finish(runner);
    assert_eq!(code, 0, "newman failed:\n{text}");
    let report_text = std::fs::read_to_string(&report).unwrap();
    assert_no_secret_in(&report_text, None);
    let report: Value = serde_json::from_str(&report_text).unwrap();
    let run = &report["run"];
    assert_eq!(run["stats"]["assertions"]["failed"], 0, "{text}");
    assert_eq!(run["stats"]["prerequestScripts"]["failed"], 0, "{text}");
    let header = |e: &Value, name: &str| -> Option<String> {
        e["request"]["header"]
            .as_array()?
            .iter()
            .find(|h| {
                h["key"]
                    .as_str()
                    .is_some_and(|k| k.eq_ignore_ascii_case(name))
            })
            .map(|h| h["value"].as_str().unwrap_or_default().to_owned())
    };
    let api_calls = run["executions"].as_array().unwrap();
    let mut bearers = std::collections::HashSet::new();
    for e in api_calls {
        assert_eq!(e["response"]["code"], 200, "{}", e["item"]["name"]);
        let auth = header(e, "Authorization")
            .unwrap_or_else(|| panic!("no Authorization on {}", e["item"]["name"]));
        bearers.insert(auth);
    }
    assert_eq!(bearers.len(), 1, "every request carried the same token");
    assert!(bearers.iter().next().unwrap().starts_with("Bearer "));

    // The provider saw 8 authorised API calls, all with the one token it issued once.
    assert_eq!(client_requests(&id), 1, "one token fetch for the whole run");
    let token = env.ok(&["token", "--profile", "newman"]);
    let bearer = format!("Bearer {}", token.trim());
    assert!(
        bearers.len() == 1 && bearers.contains(&bearer),
        "{bearers:?}"
    );
    let log = support::admin("requests?route=resource", None);
    let seen: Vec<&Value> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["headers"]["authorization"] == bearer.as_str())
        .collect();
    assert_eq!(seen.len(), 8, "4 requests x 2 iterations reached the API");
    assert!(seen.iter().all(|r| r["status"] == 200), "{seen:?}");
    assert_eq!(client_requests(&id), 1);
    // The runner's own sidecar logged (TOKENBROKER_LOG=info) one token call for the run.
    let calls = text
        .lines()
        .filter(|l| l.contains("GET /v1/token/newman"))
        .count();
    assert_eq!(calls, 1, "runner output:\n{text}");
}

/// Starts run-newman.mjs on the example collection (2 iterations, JSON report), with `env`'s
/// config and cache, and `extra` environment variables.
fn runner(env: &Env, report: &Path, extra: &[(&str, &str)]) -> Running {
    let js = js_dir();
    let mut cmd = Command::new("node");
    cmd.current_dir(&js)
        .arg(repo_root().join("examples/postman/run-newman.mjs"))
        .arg(repo_root().join("examples/postman/tokenbroker.postman_collection.json"))
        .args(["--env-var", "profile=newman"])
        .args(["--env-var", &format!("api_url={}", provider_url())])
        .args(["--iteration-count", "2", "--reporters", "cli,json"])
        .arg("--reporter-json-export")
        .arg(report)
        .env("TOKENBROKER_BIN", support::bin())
        .env("TOKENBROKER_CONFIG", &env.config)
        .env("TOKENBROKER_CACHE_KEY", &env.cache_key)
        .env("TOKENBROKER_LOG", "info")
        .env_remove("TOKENBROKER_URL")
        .env_remove("TOKENBROKER_SECRET_FILE")
        .env_remove("TOKENBROKER_PROFILE")
        .env_remove("TOKENBROKER_CACHE_DIR")
        .stdin(std::process::Stdio::null());
    for (k, v) in extra {
        cmd.env(k, v);
    }
    Running::spawn(cmd)
}

/// Waits for the runner; returns its exit code and everything it printed (stdout, stderr).
fn finish(mut runner: Running) -> (i32, String) {
    let mut out = String::new();
    std::io::Read::read_to_string(runner.stdout.as_mut().unwrap(), &mut out).unwrap();
    let (code, err) = runner.wait(Duration::from_secs(120));
    (code, format!("{out}\n{err}"))
}

/// The report holds no sidecar secret: not `secret` when known, no 64-hex-digit string (the
/// per-run secret's shape), and no `tokenbroker_secret` among the environment's values.
fn assert_no_secret_in(report: &str, secret: Option<&str>) {
    if let Some(secret) = secret {
        assert!(!report.contains(secret), "the secret is in the report");
    }
    let hex64 = report.as_bytes().windows(64).any(|w| {
        w.iter()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    });
    assert!(
        !hex64,
        "a 64-hex-digit string (a sidecar secret) is in the report"
    );
    let json: Value = serde_json::from_str(report).unwrap();
    let keys: Vec<&str> = json["environment"]["values"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["key"].as_str())
        .collect();
    assert!(!keys.contains(&"tokenbroker_secret"), "{keys:?}");
}

#[test]
fn newman_with_a_running_sidecar_reads_its_secret_file_and_never_shows_it() {
    let (id, secret) = new_client("newman-file");
    let env = Env::new(&format!(
        "[profiles.newman]\nprovider = \"alliance\"\nclient_id = \"{id}\"\nclient_secret = \"{secret}\"\ntoken_url = \"{{P}}/API/v2/OAuth/token\"\n"
    ));
    let file = env.dir.join("state/sidecar-secret");
    env.ok(&[
        "serve",
        "--rotate-secret",
        "--secret-file",
        file.to_str().unwrap(),
    ]);
    let sidecar_secret = std::fs::read_to_string(&file).unwrap().trim().to_owned();
    let mut sidecar = Running::spawn(env.cmd(&[
        "serve",
        "--port",
        "0",
        "--secret-file",
        file.to_str().unwrap(),
    ]));
    let line: Value = serde_json::from_str(&sidecar.stdout_line()).unwrap();
    let url = line["url"].as_str().unwrap().to_owned();

    let report = env.dir.join("newman-file.json");
    let runner = runner(
        &env,
        &report,
        &[
            ("TOKENBROKER_URL", &url),
            ("TOKENBROKER_SECRET_FILE", file.to_str().unwrap()),
        ],
    );
    let argv = std::fs::read(format!("/proc/{}/cmdline", runner.child.id())).unwrap();
    assert!(
        !String::from_utf8_lossy(&argv).contains(&sidecar_secret),
        "the secret is in the runner's argv"
    );
    let (code, text) = finish(runner);
    assert_eq!(code, 0, "newman failed:\n{text}");
    assert!(
        !text.contains(&sidecar_secret),
        "the secret is in Newman's output"
    );
    assert_no_secret_in(
        &std::fs::read_to_string(&report).unwrap(),
        Some(&sidecar_secret),
    );
    assert_eq!(client_requests(&id), 1, "one token fetch for the whole run");
    // SAFETY: signalling our own child process.
    unsafe { libc::kill(sidecar.child.id() as i32, libc::SIGTERM) };
    let (code, log) = sidecar.wait(Duration::from_secs(10));
    assert_eq!(code, 0, "{log}");
    assert!(!log.contains(&sidecar_secret), "{log}");
}
