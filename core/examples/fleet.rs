//! Fleet benchmark: provider requests of a cold herd on a Redis Cluster and across a
//! Sentinel failover, and the latency of a Redis hit from a cold process.
//!
//! `cargo run --release -p tokenbroker --example fleet` (`make bench-fleet`) starts the test
//! provider, a 3-master Redis Cluster, a master + replica with 3 Sentinels and one plain
//! `redis-server` on 127.0.0.1, and prints a markdown table.

#[path = "../tests/support/redis_fleet.rs"]
mod redis_fleet;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use redis_fleet::{MASTER_NAME, RedisCluster, RedisSentinels};
use serde_json::json;
use tokenbroker::{Broker, Config, TokenOptions};
use tokenbroker_testkit as kit;

const CHILD_ENV: &str = "TB_FLEET_CHILD";
const KEY_B64: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

fn main() {
    if let Ok(config) = std::env::var(CHILD_ENV) {
        // One process of the herd: time from nothing to a token, printed in microseconds.
        let started = Instant::now();
        let broker = Broker::new(Config::load(config.as_ref()).unwrap()).unwrap();
        let profile = std::env::var("TB_FLEET_PROFILE").unwrap();
        tokenbroker::advanced::runtime::block_on(broker.token(&profile, &TokenOptions::default()))
            .unwrap();
        println!("{}", started.elapsed().as_micros());
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = std::env::temp_dir().join(format!("tb-fleet-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    println!("| scenario | processes | provider requests | wall time |\n|---|---|---|---|");

    let cluster = RedisCluster::start().expect("redis-server");
    let (id, secret) = rt.block_on(kit::new_client("fleet-cluster"));
    let cache = format!("redis_cluster_nodes = {}", list(&cluster.urls()));
    let config = write_config(&dir, "cluster", &cache, &alvys(&id, &secret));
    rt.block_on(kit::admin(
        "faults",
        Some(json!({"route": "alvys.token", "kind": "delay", "delay_ms": 50, "count": 1})),
    ));
    let started = Instant::now();
    herd(&config, "p", 20);
    let n = rt.block_on(kit::client_requests(&id));
    println!(
        "| cold herd, Redis Cluster (3 masters) | 20 | **{n}** | {:.0?} |",
        started.elapsed()
    );
    drop(cluster);

    let fleet = RedisSentinels::start().expect("redis-sentinel");
    let (id, secret) = rt.block_on(kit::new_client("fleet-sentinel"));
    let rt_token = rt.block_on(kit::azure_refresh_token(&id, &secret));
    let cache = format!(
        "redis_sentinels = {}\nredis_sentinel_master = \"{MASTER_NAME}\"",
        list(&fleet.sentinel_urls())
    );
    let config = write_config(&dir, "sentinel", &cache, &azure(&id, &secret, &rt_token));
    let before = rt.block_on(kit::client_requests(&id));
    rt.block_on(kit::admin(
        "faults",
        Some(json!({"route": "azure.token", "kind": "delay", "delay_ms": 1500, "count": 1})),
    ));
    let started = Instant::now();
    let children = spawn_herd(&config, "pc", 20);
    std::thread::sleep(Duration::from_millis(600));
    fleet.failover();
    let _ = collect(children);
    let n = rt.block_on(kit::client_requests(&id)) - before;
    println!(
        "| refresh herd, Sentinel failover mid-refresh | 20 | **{n}** | {:.0?} |",
        started.elapsed()
    );
    drop(fleet);

    // A warm entry on one server; every process starts cold and reads it.
    let server = PlainRedis::start();
    let (id, secret) = rt.block_on(kit::new_client("fleet-hit"));
    let cache = format!("redis_url = \"redis://127.0.0.1:{}/\"", server.port);
    let config = write_config(&dir, "hit", &cache, &alvys(&id, &secret));
    herd(&config, "p", 1);
    let mut times: Vec<u128> = Vec::new();
    for _ in 0..10 {
        times.extend(collect(spawn_herd(&config, "p", 10)));
    }
    times.sort_unstable();
    let pick = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize] as f64 / 1000.0;
    let n = rt.block_on(kit::client_requests(&id));
    println!(
        "| Redis hit from a cold process (config, connect, GET), p50 / p99 | {} | {n} | {:.1} ms / {:.1} ms |",
        times.len(),
        pick(0.5),
        pick(0.99)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A plain `redis-server`, killed on drop.
struct PlainRedis {
    child: std::process::Child,
    port: u16,
}

impl PlainRedis {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server");
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { child, port }
    }
}

impl Drop for PlainRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn list(urls: &[String]) -> String {
    let quoted: Vec<String> = urls.iter().map(|u| format!("\"{u}\"")).collect();
    format!("[{}]", quoted.join(", "))
}

fn alvys(id: &str, secret: &str) -> String {
    format!(
        "[profiles.p]\nprovider = \"alvys\"\ntenant = \"t\"\nclient_id = \"{id}\"\n\
         client_secret = \"{secret}\"\ntoken_url = \"{}/api/authentication/t/token\"\n",
        kit::provider_url()
    )
}

fn azure(id: &str, secret: &str, refresh_token: &str) -> String {
    let p = kit::provider_url();
    format!(
        "[profiles.pc]\nprovider = \"azure-ad-v1\"\ntenant = \"contoso\"\n\
         resource = \"https://api.partnercenter.microsoft.com\"\ngrant = \"refresh_token\"\n\
         refresh_token = \"{refresh_token}\"\nscopes = [\"user_impersonation\"]\n\
         client_id = \"{id}\"\nclient_secret = \"{secret}\"\n\
         token_url = \"{p}/contoso/oauth2/token\"\njwks_url = \"{p}/contoso/discovery/keys\"\n\
         issuer = \"{p}/contoso/\"\n"
    )
}

fn write_config(
    dir: &std::path::Path,
    name: &str,
    cache: &str,
    profile: &str,
) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(format!("{name}.toml"));
    let text = format!(
        "[cache]\nstore = \"redis\"\npath = \"{}\"\n{cache}\n\n{profile}",
        dir.join("cache").display()
    );
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

fn spawn_herd(config: &std::path::Path, profile: &str, n: usize) -> Vec<std::process::Child> {
    (0..n)
        .map(|_| {
            Command::new(std::env::current_exe().unwrap())
                .env(CHILD_ENV, config)
                .env("TB_FLEET_PROFILE", profile)
                .env("TOKENBROKER_CACHE_KEY", KEY_B64)
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect()
}

/// Waits for every process; each must succeed. Returns their times in microseconds.
fn collect(children: Vec<std::process::Child>) -> Vec<u128> {
    children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            assert!(out.status.success(), "a herd process failed");
            String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
        })
        .collect()
}

fn herd(config: &std::path::Path, profile: &str, n: usize) {
    collect(spawn_herd(config, profile, n));
}
