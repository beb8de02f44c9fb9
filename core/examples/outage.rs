//! Outage benchmark: ten processes against a provider that answers 503 to everything.
//!
//! `cargo run -p tokenbroker --example outage` starts the test provider (and a redis-server,
//! when installed) on 127.0.0.1, runs ten processes at once on the file store and then on
//! Redis, and prints a markdown table: provider requests, and the fastest and slowest
//! process's wall time (process start-up included).

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokenbroker::{Broker, Config, TokenOptions};

const PROCESSES: usize = 10;

struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn curl(url: &str, body: Option<&str>) -> serde_json::Value {
    let mut cmd = Command::new("curl");
    cmd.arg("-s");
    if let Some(body) = body {
        cmd.args(["-H", "content-type: application/json", "--data", body]);
    }
    let out = cmd.arg(url).output().expect("curl");
    serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
}

fn requests(url: &str) -> u64 {
    curl(&format!("{url}/_admin/stats"), None)["requests"]["alvys.token"]
        .as_u64()
        .unwrap_or(0)
}

/// Runs the processes on `cache` and prints one table row.
fn scenario(name: &str, url: &str, cache: &str, dir: &Path) {
    curl(&format!("{url}/_admin/reset"), Some("{}"));
    let fault = r#"{"route":"alvys.token","kind":"status","status":503,"count":1000000}"#;
    curl(&format!("{url}/_admin/faults"), Some(fault));
    let config = dir.join(format!("{name}.toml"));
    let text = format!(
        "[cache]\n{cache}\n[profiles.p]\nprovider = \"alvys\"\ntenant = \"t\"\n\
         client_id = \"alvys-client\"\nclient_secret = \"alvys-secret\"\n\
         token_url = \"{url}/api/authentication/t/token\"\n"
    );
    std::fs::write(&config, text).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    let started = Instant::now();
    let children: Vec<_> = (0..PROCESSES)
        .map(|_| {
            let child = Command::new(std::env::current_exe().unwrap())
                .env("TB_OUTAGE_CHILD", &config)
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            std::thread::spawn(move || {
                let out = child.wait_with_output().unwrap();
                (
                    started.elapsed(),
                    String::from_utf8_lossy(&out.stdout).into_owned(),
                )
            })
        })
        .collect();
    let mut times = Vec::new();
    let mut errors = std::collections::BTreeSet::new();
    for c in children {
        let (time, out) = c.join().unwrap();
        times.push(time);
        errors.insert(out.trim().to_owned());
    }
    times.sort();
    let (fastest, slowest) = (times[0], times[PROCESSES - 1]);
    println!(
        "| {name} | {PROCESSES} | {} | {:.1?} | {:.1?} | {:.1} | {} |",
        requests(url),
        fastest,
        slowest,
        slowest.as_secs_f64() / fastest.as_secs_f64(),
        errors.into_iter().collect::<Vec<_>>().join(" / ")
    );
}

fn main() {
    if let Ok(config) = std::env::var("TB_OUTAGE_CHILD") {
        let broker = Broker::new(Config::load(config.as_ref()).unwrap()).unwrap();
        let result =
            tokenbroker::advanced::runtime::block_on(broker.token("p", &TokenOptions::default()));
        match result {
            Ok(_) => println!("ok"),
            Err(e) => println!("{} error", e.kind()),
        }
        return;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/provider/server.mjs");
    let mut child = Command::new("node")
        .arg(script)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _provider = Kill(child);
    let url = serde_json::from_str::<serde_json::Value>(&line).unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let dir = std::env::temp_dir().join(format!("tb-outage-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    println!(
        "| shared tier | processes | provider requests | fastest | slowest | slowest / fastest | results |\n\
         |---|---|---|---|---|---|---|"
    );
    let cache_dir = dir.join("cache");
    let file = format!("store = \"file\"\npath = \"{}\"", cache_dir.display());
    scenario("file store", &url, &file, &dir);

    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let redis = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .spawn();
    match redis {
        Ok(redis) => {
            let _redis = Kill(redis);
            std::thread::sleep(Duration::from_millis(300));
            let cache = format!(
                "store = \"redis\"\nredis_url = \"redis://127.0.0.1:{port}/\"\npath = \"{}\"",
                cache_dir.display()
            );
            scenario("Redis", &url, &cache, &dir);
        }
        Err(_) => println!("| Redis | - | redis-server not installed | - | - | - | - |"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}
