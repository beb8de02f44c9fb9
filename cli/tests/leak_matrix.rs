//! The leak matrix (tests/leak/README.md) through the CLI: for every case, `tokenbroker` stderr
//! (and stdout) at `-q`, the default level, `-v` and `-vv`, the sidecar's JSON error body, and
//! the sidecar's own `-vv` stderr must hold no secret in any encoding and no control character.

mod leak_needles;
mod support;

use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;

use leak_needles::{Case, Needles, cases_file, expand_cases, summary};
use serde_json::{Value, json};
use support::{Env, raw_request};

const LEVELS: [&str; 4] = ["-q", "", "-v", "-vv"];

/// The test provider's admin API on `base`.
fn admin(base: &str, path: &str, body: Option<Value>) -> Value {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = reqwest::Client::new();
        let url = format!("{base}/_admin/{path}");
        let req = match body {
            Some(b) => client.post(&url).json(&b),
            None => client.get(&url),
        };
        let resp = req.send().await.unwrap_or_else(|e| panic!("{url}: {e}"));
        assert!(resp.status().is_success(), "{url}: {}", resp.status());
        resp.json().await.unwrap_or(Value::Null)
    })
}

/// A TOML value: JSON string and array literals are valid TOML; objects become inline tables.
fn toml_value(v: &Value) -> String {
    match v {
        Value::Object(o) => {
            let fields: Vec<String> = o
                .iter()
                .map(|(k, x)| format!("{} = {}", json!(k), toml_value(x)))
                .collect();
            format!("{{ {} }}", fields.join(", "))
        }
        Value::Array(a) => {
            let items: Vec<String> = a.iter().map(toml_value).collect();
            format!("[{}]", items.join(", "))
        }
        other => other.to_string(),
    }
}

fn config(cases: &[Case], provider: &str, private_key: &str) -> String {
    let mut text = String::new();
    for (n, c) in cases.iter().enumerate() {
        text.push_str(&format!("[profiles.c{n}]\n"));
        for (k, v) in c.profile(provider, private_key).as_object().unwrap() {
            text.push_str(&format!("{k} = {}\n", toml_value(v)));
        }
        text.push('\n');
    }
    text
}

/// Fails (after clearing it) when the case's echo fault is still queued: nothing reached it.
fn assert_used(provider: &str, case: &Case, what: &str, output: &str) {
    let stats = admin(provider, "stats", None);
    let pending = stats["faults_pending"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["route"] == case.route());
    if pending {
        admin(provider, "faults/clear", Some(json!({})));
    }
    assert!(
        !pending,
        "{} {what}: the echo fault was not used: {output}",
        case.name
    );
}

/// `tokenbroker -vv serve`: its port, secret, and a thread collecting its stderr.
struct Sidecar {
    child: std::process::Child,
    port: u16,
    secret: String,
    stderr: std::thread::JoinHandle<String>,
}

impl Sidecar {
    fn start(env: &Env) -> Self {
        let mut child = env
            .cmd(&["-vv", "serve", "--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tokenbroker serve");
        let mut err = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = err.read_to_string(&mut text);
            text
        });
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let line: Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("serve printed {line:?}: {e}"));
        let port = line["url"].as_str().unwrap().rsplit(':').next().unwrap();
        Self {
            child,
            port: port.parse().unwrap(),
            secret: line["secret"].as_str().unwrap().to_owned(),
            stderr,
        }
    }

    fn token(&self, profile: &str) -> String {
        let host = format!("127.0.0.1:{}", self.port);
        let path = format!("/v1/token/{profile}");
        let headers = [
            ("Host", host.as_str()),
            ("X-Tokenbroker-Secret", self.secret.as_str()),
        ];
        raw_request(self.port, "GET", &path, &headers).2
    }

    /// Stops the sidecar (SIGTERM) and returns everything it wrote on stderr.
    fn stop(mut self) -> String {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
        self.stderr.join().unwrap()
    }
}

#[test]
fn no_secret_in_any_message_log_or_sidecar_answer() {
    let harness = tokenbroker_testkit::harness();
    let provider = harness.get("provider");
    let private_key = std::fs::read_to_string(
        std::path::Path::new(&harness.get("keys_dir")).join("client-key.pem"),
    )
    .unwrap();
    let file = cases_file();
    let cases = expand_cases(&file);
    let env = Env::new(&config(&cases, &provider, &private_key));
    let echoes_from = admin(&provider, "echoes", None).as_array().unwrap().len();
    let sidecar = Sidecar::start(&env);
    let mut needles = Needles::new(&file);
    let mut outputs: Vec<(String, String, String)> = Vec::new();
    // Per case, the JSON of the requests the provider logged for its route.
    let mut requests: Vec<String> = Vec::new();

    for (n, case) in cases.iter().enumerate() {
        let profile = format!("c{n}");
        for level in LEVELS {
            let mut args: Vec<&str> = if level.is_empty() {
                vec![]
            } else {
                vec![level]
            };
            match case.action() {
                "list_clients" => args.extend(["clients", "list", "-p", profile.as_str()]),
                _ => args.extend(["token", "-p", profile.as_str()]),
            }
            admin(&provider, "faults", Some(case.fault()));
            let run = env.run(&args);
            let what = format!(
                "tokenbroker {}",
                if level.is_empty() { "(default)" } else { level }
            );
            let text = format!("{}{}", run.stderr(), run.stdout());
            assert_used(&provider, case, &what, &text);
            outputs.push((case.name.clone(), what, text));
        }
        if case.action() == "token" {
            admin(&provider, "faults", Some(case.fault()));
            let body = sidecar.token(&profile);
            assert_used(&provider, case, "sidecar", &body);
            outputs.push((case.name.clone(), "sidecar answer".into(), body));
        }
        // What the broker sent (assertions, bearer tokens), read now: the log keeps 500 requests.
        let sent = admin(&provider, &format!("requests?route={}", case.route()), None);
        needles.add_from_provider(
            &[],
            sent.as_array().unwrap(),
            std::slice::from_ref(&case.id),
        );
        requests.push(sent.to_string());
    }
    outputs.push(("all".into(), "sidecar -vv stderr".into(), sidecar.stop()));

    for case in &cases {
        for (name, value) in &case.secrets {
            needles.add(
                &format!("{} secret {name}", case.name),
                value,
                Some(&case.id),
            );
        }
    }
    let echoes = admin(&provider, "echoes", None).as_array().unwrap()[echoes_from..].to_vec();
    needles.add_from_provider(&echoes, &[], &[]);
    // The control: the needles must find each secret of a case in what the broker sent for it,
    // or a clean result would prove nothing.
    let blind: Vec<String> = cases
        .iter()
        .zip(&requests)
        .flat_map(|(case, sent)| {
            let found = needles.find(sent);
            case.secrets
                .keys()
                .map(|n| format!("{} secret {n}", case.name))
                .filter(|label| !found.iter().any(|h| h.starts_with(&format!("{label} ("))))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        blind.is_empty(),
        "the needles miss secrets in the requests sent: {:?}",
        &blind[..blind.len().min(5)]
    );
    let hits: Vec<String> = outputs
        .iter()
        .flat_map(|(name, what, text)| {
            needles
                .find(text)
                .into_iter()
                .map(move |h| format!("{name} {what}: {h}"))
        })
        .collect();
    println!("{}", summary("cli", cases.len(), outputs.len(), hits.len()));
    for h in hits.iter().take(20) {
        println!("  {h}");
    }
    assert!(
        hits.is_empty(),
        "{} leaks, first: {}",
        hits.len(),
        hits[..hits.len().min(5)].join("; ")
    );
}
