//! The needle rule of the leak matrix (tests/leak/README.md): random secrets, their encodings,
//! 12-character windows, and the count of hits in outputs.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

/// tests/leak/cases.json.
pub fn cases_file() -> Value {
    let path = tokenbroker_testkit::repo_root().join("tests/leak/cases.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).expect("tests/leak/cases.json is JSON")
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const NON_ASCII: [char; 7] = ['é', 'ü', 'ß', '€', 'Ω', '中', 'ж'];

/// A fresh secret of `kind` (`text` or `header`).
pub fn secret(kind: &str) -> String {
    let mut chars: Vec<char> = "/+&%=\"\\".chars().collect();
    if kind == "text" {
        for _ in 0..2 {
            chars.push(NON_ASCII[rand::random_range(0..NON_ASCII.len())]);
        }
    }
    while chars.len() < 31 {
        chars.push(ALNUM[rand::random_range(0..ALNUM.len())] as char);
    }
    for i in (1..chars.len()).rev() {
        chars.swap(i, rand::random_range(0..=i));
    }
    chars.insert(1 + rand::random_range(0..chars.len() - 1), ' ');
    chars.into_iter().collect()
}

/// A fresh client id.
pub fn client_id() -> String {
    format!("leak-{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff)
}

fn url_encode(v: &str, space: &str) -> String {
    let mut out = String::new();
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"*-._".contains(&b) {
            out.push(b as char);
        } else if b == b' ' {
            out.push_str(space);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Encodings 1–6 of `v`, and 7 (Basic) when the client id `id` is given.
pub fn encodings(v: &str, id: Option<&str>) -> Vec<String> {
    let quoted = serde_json::to_string(v).unwrap();
    let json = quoted[1..quoted.len() - 1].to_owned();
    let ascii: String = json
        .chars()
        .map(|c| {
            if c.is_ascii() {
                c.to_string()
            } else {
                let mut units = [0u16; 2];
                c.encode_utf16(&mut units)
                    .iter()
                    .map(|u| format!("\\u{u:04x}"))
                    .collect()
            }
        })
        .collect();
    let mut out = vec![
        v.to_owned(),
        url_encode(v, "+"),
        url_encode(v, "%20"),
        json,
        ascii,
        v.replace('\\', "\\\\"),
    ];
    if let Some(id) = id {
        for space in ["+", "%20"] {
            let pair = format!("{}:{}", url_encode(id, space), url_encode(v, space));
            out.push(STANDARD.encode(pair));
        }
        out.push(STANDARD.encode(format!("{id}:{v}")));
    }
    let mut seen = Vec::new();
    for e in out {
        if !seen.contains(&e) {
            seen.push(e);
        }
    }
    seen
}

fn is_control(c: char) -> bool {
    matches!(c, '\0'..='\x08' | '\x0b'..='\x1f' | '\x7f'..='\u{9f}')
}

/// The needle values of a run and the hits they make in outputs.
#[derive(Default)]
pub struct Needles {
    windows: HashMap<String, String>,
    window: usize,
}

impl Needles {
    /// Needles with the window length of cases.json.
    pub fn new(cases: &Value) -> Self {
        Self {
            windows: HashMap::new(),
            window: cases["window"].as_u64().expect("window") as usize,
        }
    }

    /// Adds a needle value (`id`: its case's client id, for the Basic encodings).
    pub fn add(&mut self, label: &str, value: &str, id: Option<&str>) {
        for e in encodings(value, id) {
            let chars: Vec<char> = e.chars().collect();
            if chars.len() <= self.window {
                self.windows.insert(e.clone(), label.to_owned());
            }
            for w in chars.windows(self.window) {
                self.windows.insert(w.iter().collect(), label.to_owned());
            }
        }
    }

    /// Echoed tokens, and the assertions and bearer tokens of requests naming one of `ids`.
    pub fn add_from_provider(&mut self, echoes: &[Value], requests: &[Value], ids: &[String]) {
        let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        for e in echoes {
            self.add("echoed access_token", &s(&e["access_token"]), None);
            self.add("echoed refresh_token", &s(&e["refresh_token"]), None);
        }
        for r in requests {
            let auth = s(&r["headers"]["authorization"]);
            let body = s(&r["body"]);
            let path = s(&r["path"]);
            let basic = auth
                .strip_prefix("Basic ")
                .and_then(|b| STANDARD.decode(b).ok())
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            if !ids
                .iter()
                .any(|id| path.contains(id) || body.contains(id) || basic.contains(id))
            {
                continue;
            }
            for (k, v) in url::form_urlencoded::parse(body.as_bytes()) {
                if k == "client_assertion" {
                    let parts: Vec<&str> = v.split('.').collect();
                    self.add("client_assertion payload", parts[1], None);
                    self.add("client_assertion signature", parts[2], None);
                }
            }
            if let Some(token) = auth.strip_prefix("Bearer ") {
                self.add("bearer token", token, None);
            }
        }
    }

    /// The hits in one output: each needle value found (by label), and control characters.
    pub fn find(&self, text: &str) -> Vec<String> {
        let chars: Vec<char> = text.chars().collect();
        let mut found: BTreeMap<&str, String> = BTreeMap::new();
        for w in chars.windows(self.window) {
            let w: String = w.iter().collect();
            if let Some(label) = self.windows.get(&w) {
                found.entry(label.as_str()).or_insert(w);
            }
        }
        let mut hits: Vec<String> = found.iter().map(|(l, w)| format!("{l} ({w:?})")).collect();
        if let Some(c) = text.chars().find(|&c| is_control(c)) {
            hits.push(format!("control character {c:?}"));
        }
        hits
    }
}

/// One case of the matrix with fresh secrets.
pub struct Case {
    pub name: String,
    pub template: Value,
    pub echo: Value,
    pub id: String,
    pub secrets: BTreeMap<String, String>,
}

impl Case {
    /// The profile template with its placeholders filled.
    pub fn profile(&self, provider: &str, private_key: &str) -> Value {
        fn fill(v: &Value, f: &dyn Fn(&str) -> String) -> Value {
            match v {
                Value::String(s) => Value::String(f(s)),
                Value::Array(a) => Value::Array(a.iter().map(|x| fill(x, f)).collect()),
                Value::Object(o) => Value::Object(
                    o.iter()
                        .map(|(k, x)| (k.clone(), fill(x, f)))
                        .collect::<Map<_, _>>(),
                ),
                other => other.clone(),
            }
        }
        let f = |s: &str| {
            let mut s = s
                .replace("${PROVIDER}", provider)
                .replace("${CLIENT_ID}", &self.id)
                .replace("${PRIVATE_KEY}", private_key);
            for (name, value) in &self.secrets {
                s = s.replace(&format!("${{SECRET:{name}}}"), value);
            }
            s
        };
        fill(&self.template["profile"], &f)
    }

    /// The provider route the echo is put on.
    pub fn route(&self) -> &str {
        self.template["route"].as_str().unwrap()
    }

    /// The action the case runs: `token` or `list_clients`.
    pub fn action(&self) -> &str {
        self.template["action"].as_str().unwrap()
    }

    /// The echo fault for one call, with `align_on` from the case's secrets.
    pub fn fault(&self) -> Value {
        let mut fault = json!({"route": self.route(), "kind": "echo", "count": 1});
        for (k, v) in self.echo.as_object().unwrap() {
            fault[k] = v.clone();
        }
        if self.echo.get("align_at").is_some() {
            let on: Vec<String> = self
                .secrets
                .values()
                .flat_map(|v| encodings(v, Some(&self.id)))
                .collect();
            fault["align_on"] = json!(on);
        }
        fault
    }
}

/// Every case of the matrix with fresh secrets.
pub fn expand_cases(cases: &Value) -> Vec<Case> {
    let mut out = Vec::new();
    for p in cases["profiles"].as_array().unwrap() {
        for (n, echo) in cases["echoes"].as_array().unwrap().iter().enumerate() {
            let secrets = p["secrets"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(name, kind)| (name.clone(), secret(kind.as_str().unwrap())))
                .collect();
            out.push(Case {
                name: format!(
                    "{}/{n}-{}",
                    p["id"].as_str().unwrap(),
                    echo["as"].as_str().unwrap()
                ),
                template: p.clone(),
                echo: echo.clone(),
                id: client_id(),
                secrets,
            });
        }
    }
    out
}

/// The summary line every runner prints.
pub fn summary(lang: &str, cases: usize, outputs: usize, hits: usize) -> String {
    format!("leak matrix ({lang}): {cases} cases, {outputs} outputs checked, {hits} hits")
}
