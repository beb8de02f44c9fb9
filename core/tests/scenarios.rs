//! Runs the language-neutral conformance scenarios of `tests/scenarios.json` (the same list
//! every binding's runner executes) against the test provider and oidc-provider.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Map, Value};
use tokenbroker::{Broker, Config, ErrorKind, TokenOptions};

struct Env {
    provider: String,
    issuer: String,
    keys: String,
}

impl Env {
    fn fill(&self, value: &Value) -> Value {
        match value {
            Value::String(s) => Value::String(
                s.replace("${PROVIDER}", &self.provider)
                    .replace("${ISSUER}", &self.issuer)
                    .replace("${KEYS}", &self.keys),
            ),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.fill(v)).collect()),
            Value::Object(map) => {
                Value::Object(map.iter().map(|(k, v)| (k.clone(), self.fill(v))).collect())
            }
            other => other.clone(),
        }
    }
}

async fn post(url: String, body: &Value) {
    let resp = reqwest::Client::new()
        .post(&url)
        .json(body)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{url}: {}", resp.status());
}

async fn provider_requests(env: &Env) -> BTreeMap<String, u64> {
    let stats: Value = reqwest::get(format!("{}/_admin/stats", env.provider))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    stats["requests"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default()
}

/// Runs one scenario; returns what went wrong, if anything.
async fn run(env: &Env, scenario: &Value) -> Result<(), String> {
    if scenario["server"] == "provider" {
        post(
            format!("{}/_admin/reset", env.provider),
            &Value::Object(Map::new()),
        )
        .await;
    }
    let mut profile = env.fill(&scenario["profile"]);
    let mut config = serde_json::json!({"cache": {"store": "memory"}, "profiles": {}});
    config["profiles"]["p"] = profile.take();
    let broker = Config::from_value(config).and_then(Broker::new);
    let mut tokens = Vec::new();
    let mut last_error = None;
    for step in scenario["steps"].as_array().into_iter().flatten() {
        if let Some(fault) = step.get("fault") {
            post(format!("{}/_admin/faults", env.provider), fault).await;
        } else if let Some(cfg) = step.get("admin_config") {
            post(format!("{}/_admin/config", env.provider), cfg).await;
        } else if let Some(token) = step.get("token") {
            let options = TokenOptions::default()
                .with_force_refresh(token["force_refresh"].as_bool().unwrap_or(false));
            let result = match &broker {
                Ok(b) => b.token("p", &options).await,
                Err(e) => Err(e.clone()),
            };
            match result {
                Ok(t) => {
                    last_error = None;
                    tokens.push(t);
                }
                Err(e) => last_error = Some(e),
            }
        }
    }
    let expect = &scenario["expect"];
    match (expect["error_kind"].as_str(), &last_error) {
        (Some(kind), Some(err)) => {
            let want = ErrorKind::ALL.iter().find(|k| k.as_str() == kind).copied();
            if Some(err.kind()) != want {
                return Err(format!(
                    "expected a {kind} error, got {}: {err}",
                    err.kind()
                ));
            }
            if let Some(code) = expect["oauth_error"].as_str() {
                let got = err.oauth().map(|o| o.error.as_str());
                if got != Some(code) {
                    return Err(format!("expected oauth error {code}, got {got:?}"));
                }
            }
        }
        (Some(kind), None) => return Err(format!("expected a {kind} error, the call succeeded")),
        (None, Some(err)) => return Err(format!("unexpected error: {err}")),
        (None, None) => {}
    }
    if let Some(token_type) = expect["token_type"].as_str() {
        let got = tokens.last().map(|t| t.token_type().to_owned());
        if got.as_deref() != Some(token_type) {
            return Err(format!("token_type {got:?}, expected {token_type}"));
        }
    }
    if let Some(approx) = expect["expires_in_approx"].as_u64() {
        let left = tokens.last().map(|t| t.remaining().as_secs()).unwrap_or(0);
        if left.abs_diff(approx) > 60 {
            return Err(format!("expires in {left}s, expected about {approx}s"));
        }
    }
    if let Some(same) = expect["same_token"].as_bool() {
        let (first, last) = (tokens.first(), tokens.last());
        let got = first.zip(last).map(|(a, b)| a.secret() == b.secret());
        if got != Some(same) {
            return Err(format!("same_token {got:?}, expected {same}"));
        }
    }
    if let Some(counts) = expect["provider_requests"].as_object() {
        let seen = provider_requests(env).await;
        for (route, n) in counts {
            let got = seen.get(route).copied().unwrap_or(0);
            if Some(got) != n.as_u64() {
                return Err(format!("{route}: {got} requests, expected {n}"));
            }
        }
    }
    Ok(())
}

#[tokio::test]
async fn every_scenario_passes() {
    let server = support::harness();
    let env = Env {
        provider: server.get("provider"),
        issuer: server.get("issuer"),
        keys: server.get("keys_dir"),
    };
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/scenarios.json");
    let scenarios: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(scenarios.len() >= 20, "scenario list is unexpectedly short");
    let mut failures = Vec::new();
    for scenario in &scenarios {
        let id = scenario["id"].as_str().unwrap_or("?");
        let outcome = tokio::time::timeout(Duration::from_secs(60), run(&env, scenario))
            .await
            .unwrap_or_else(|_| Err("timed out".into()));
        match outcome {
            Ok(()) => println!("ok   {id}"),
            Err(why) => {
                println!("FAIL {id}: {why}");
                failures.push(format!("{id}: {why}"));
            }
        }
    }
    println!(
        "{} passed, {} failed",
        scenarios.len() - failures.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "failed scenarios:\n{}",
        failures.join("\n")
    );
}
