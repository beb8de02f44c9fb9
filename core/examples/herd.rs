//! Herd benchmark: how many provider requests a cold start makes.
//!
//! `cargo run --release -p tokenbroker --example herd` starts the test provider (and a
//! redis-server) on 127.0.0.1 and prints a markdown table for: 10,000 concurrent tasks in one
//! broker, 20 processes sharing the file store, and two brokers sharing Redis.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokenbroker::{Broker, Config, TokenOptions};

struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn profile(url: &str, client: &str) -> String {
    format!(
        "[profiles.p]\nprovider = \"alvys\"\ntenant = \"t\"\nclient_id = \"{client}\"\n\
         client_secret = \"{client}-secret\"\ntoken_url = \"{url}/api/authentication/t/token\"\n"
    )
}

fn requests(url: &str, client: &str) -> u64 {
    let out = Command::new("curl")
        .args(["-s", &format!("{url}/_admin/stats")])
        .output()
        .unwrap();
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    stats["by_client"][client].as_u64().unwrap_or(0)
}

fn add_client(url: &str, client: &str) {
    let body = format!(r#"{{"client_id":"{client}","client_secret":"{client}-secret"}}"#);
    let status = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-H",
            "content-type: application/json",
            "--data",
            &body,
        ])
        .arg(format!("{url}/_admin/clients"))
        .status()
        .unwrap();
    assert!(status.success());
}

fn main() {
    if let Ok(config) = std::env::var("TB_HERD_CHILD") {
        let broker = Broker::new(Config::load(config.as_ref()).unwrap()).unwrap();
        tokenbroker::advanced::runtime::block_on(broker.token("p", &TokenOptions::default()))
            .unwrap();
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
    // Each request takes 50 ms at the provider, so a herd has time to pile up.
    let fault = r#"{"route":"alvys.token","kind":"delay","delay_ms":50,"count":1000}"#;
    Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-H",
            "content-type: application/json",
            "--data",
            fault,
        ])
        .arg(format!("{url}/_admin/faults"))
        .status()
        .unwrap();
    println!("| scenario | callers | provider requests | wall time |\n|---|---|---|---|");

    add_client(&url, "herd-tasks");
    let text = format!(
        "[cache]\nstore = \"memory\"\n{}",
        profile(&url, "herd-tasks")
    );
    let broker = Broker::new(Config::from_toml_str(&text).unwrap()).unwrap();
    let started = Instant::now();
    tokenbroker::advanced::runtime::block_on(async {
        let tasks: Vec<_> = (0..10_000)
            .map(|_| {
                let b = broker.clone();
                tokio::spawn(
                    async move { b.token("p", &TokenOptions::default()).await.map(|_| ()) },
                )
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
    });
    let n = requests(&url, "herd-tasks");
    println!(
        "| 10,000 tasks, one broker, cold | 10000 | {n} | {:.0?} |",
        started.elapsed()
    );

    let dir = std::env::temp_dir().join(format!("tb-herd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    add_client(&url, "herd-procs");
    let config = dir.join("config.toml");
    let text = format!(
        "[cache]\nstore = \"file\"\npath = \"{}\"\n{}",
        dir.join("cache").display(),
        profile(&url, "herd-procs")
    );
    std::fs::write(&config, text).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    let started = Instant::now();
    let children: Vec<_> = (0..20)
        .map(|_| {
            Command::new(std::env::current_exe().unwrap())
                .env("TB_HERD_CHILD", &config)
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let n = requests(&url, "herd-procs");
    println!(
        "| 20 processes, file store, cold | 20 | {n} | {:.0?} |",
        started.elapsed()
    );

    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let redis = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .spawn();
    let Ok(redis) = redis else {
        println!("| two brokers, Redis, cold | - | redis-server not installed | - |");
        return;
    };
    let _redis = Kill(redis);
    std::thread::sleep(Duration::from_millis(300));
    add_client(&url, "herd-redis");
    let text = format!(
        "[cache]\nstore = \"redis\"\nredis_url = \"redis://127.0.0.1:{port}/\"\npath = \"{}\"\n{}",
        dir.join("cache").display(),
        profile(&url, "herd-redis")
    );
    let a = Broker::new(Config::from_toml_str(&text).unwrap()).unwrap();
    let b = Broker::new(Config::from_toml_str(&text).unwrap()).unwrap();
    let started = Instant::now();
    tokenbroker::advanced::runtime::block_on(async {
        let tasks: Vec<_> = (0..1000)
            .map(|i| {
                let broker = if i % 2 == 0 { a.clone() } else { b.clone() };
                tokio::spawn(async move {
                    broker
                        .token("p", &TokenOptions::default())
                        .await
                        .map(|_| ())
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
    });
    let n = requests(&url, "herd-redis");
    println!(
        "| two brokers, Redis, 1,000 tasks, cold | 1000 | {n} | {:.0?} |",
        started.elapsed()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
