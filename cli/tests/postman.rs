//! The Postman collection in examples/postman, run by Newman against the test provider's
//! protected API with tokens from `tokenbroker serve`.

mod support;

use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use support::{Env, Running, client_requests, js_dir, new_client, provider_url, repo_root};

#[test]
fn newman_runs_the_collection_with_one_token_fetch_for_the_whole_run() {
    let js = js_dir();
    let (id, secret) = new_client("newman");
    let env = Env::new(&format!(
        "[profiles.newman]\nprovider = \"alliance\"\nclient_id = \"{id}\"\nclient_secret = \"{secret}\"\ntoken_url = \"{{P}}/API/v2/OAuth/token\"\n"
    ));
    let mut sidecar = Running::spawn(env.cmd(&["-v", "serve", "--port", "0"]));
    let line: Value = serde_json::from_str(&sidecar.stdout_line()).unwrap();
    let (url, sidecar_secret) = (
        line["url"].as_str().unwrap(),
        line["secret"].as_str().unwrap(),
    );

    let report = env.dir.join("newman.json");
    let collection = repo_root().join("examples/postman/tokenbroker.postman_collection.json");
    let out = Command::new("node")
        .arg(js.join("node_modules/newman/bin/newman.js"))
        .arg("run")
        .arg(&collection)
        .args(["--env-var", &format!("tokenbroker_url={url}")])
        .args(["--env-var", &format!("tokenbroker_secret={sidecar_secret}")])
        .args(["--env-var", "profile=newman"])
        .args(["--env-var", &format!("api_url={}", provider_url())])
        .args(["--iteration-count", "2", "--reporters", "cli,json"])
        .arg("--reporter-json-export")
        .arg(&report)
        .output()
        .expect("run newman");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "newman failed:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let report: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
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
    // SAFETY: signalling our own child process.
    unsafe { libc::kill(sidecar.child.id() as i32, libc::SIGTERM) };
    let (code, log) = sidecar.wait(Duration::from_secs(10));
    assert_eq!(code, 0, "{log}");
    let calls = log
        .lines()
        .filter(|l| l.contains("GET /v1/token/newman"))
        .count();
    assert_eq!(calls, 1, "sidecar log:\n{log}");
}
