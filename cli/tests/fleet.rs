//! Fleets: many `tokenbroker` processes sharing a Redis Cluster or a Sentinel-managed
//! master (started per test on 127.0.0.1), and the rule that plaintext Redis only goes to
//! loopback.

#[path = "../../core/tests/support/redis_fleet.rs"]
mod redis_fleet;
mod support;

use std::process::{Child, Stdio};
use std::time::Duration;

use redis_fleet::{MASTER_NAME, RedisCluster, RedisSentinels};
use serde_json::json;
use support::{Env, admin, azure_refresh_token, client_requests, new_client};

fn list(urls: &[String]) -> String {
    let quoted: Vec<String> = urls.iter().map(|u| format!("\"{u}\"")).collect();
    format!("[{}]", quoted.join(", "))
}

/// Starts `n` `tokenbroker token` processes at once.
fn herd(env: &Env, n: usize, args: &[&str]) -> Vec<Child> {
    (0..n)
        .map(|_| {
            env.cmd(args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn tokenbroker")
        })
        .collect()
}

fn all_succeed(children: Vec<Child>) {
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "a process failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.stdout.is_empty());
    }
}

#[test]
fn plain_redis_to_another_host_is_a_config_error_unless_allowed() {
    let profile = "[profiles.p]\nprovider = \"alvys\"\ntenant = \"t\"\nclient_id = \"c\"\n\
                   client_secret = \"s\"\ntoken_url = \"{P}/api/authentication/t/token\"\n";
    let cache =
        "[cache]\nstore = \"redis\"\nredis_url = \"redis://:hunter2-pw@cache.example:6379/\"\n";
    let env = Env::new(&format!("{cache}{profile}"));
    let run = env.run(&["token", "-p", "p"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    let stderr = run.stderr();
    assert!(
        stderr.contains("redis_url") && stderr.contains("allow_plaintext"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "{stderr}");

    // Allowed, the config loads (`profiles` connects nowhere).
    let env = Env::new(&format!("{cache}allow_plaintext = true\n{profile}"));
    env.ok(&["profiles"]);
}

#[test]
fn a_cold_herd_of_twenty_processes_on_a_cluster_makes_one_request() {
    let Some(cluster) = RedisCluster::start() else {
        return;
    };
    let (id, secret) = new_client("cluster-herd");
    let env = Env::new(&format!(
        "[cache]\nstore = \"redis\"\nredis_cluster_nodes = {}\n\n\
         [profiles.p]\nprovider = \"alvys\"\ntenant = \"t\"\nclient_id = \"{id}\"\n\
         client_secret = \"{secret}\"\ntoken_url = \"{{P}}/api/authentication/t/token\"\n",
        list(&cluster.urls())
    ));
    // A slow first answer, so that the herd piles up behind the lease.
    admin(
        "faults",
        Some(json!({"route": "alvys.token", "kind": "delay", "delay_ms": 300, "count": 1})),
    );
    all_succeed(herd(&env, 20, &["token", "-p", "p"]));
    assert_eq!(client_requests(&id), 1);
    assert!(cluster.keys_per_node().iter().sum::<u64>() >= 1);
}

#[test]
fn a_sentinel_failover_mid_fetch_keeps_the_herd_to_two_requests_and_every_rotated_token() {
    let Some(fleet) = RedisSentinels::start() else {
        return;
    };
    let cache = format!(
        "[cache]\nstore = \"redis\"\nredis_sentinels = {}\nredis_sentinel_master = \"{MASTER_NAME}\"\n",
        list(&fleet.sentinel_urls())
    );

    // A cold herd: the first fetch takes 1.5 s at the provider, and the master changes while
    // it is under way.
    let (id, secret) = new_client("sentinel-herd");
    let env = Env::new(&format!(
        "{cache}\n[profiles.p]\nprovider = \"alvys\"\ntenant = \"t\"\nclient_id = \"{id}\"\n\
         client_secret = \"{secret}\"\ntoken_url = \"{{P}}/api/authentication/t/token\"\n"
    ));
    admin(
        "faults",
        Some(json!({"route": "alvys.token", "kind": "delay", "delay_ms": 1500, "count": 1})),
    );
    let old = fleet.master_port();
    let children = herd(&env, 20, &["token", "-p", "p"]);
    std::thread::sleep(Duration::from_millis(600));
    fleet.failover();
    all_succeed(children);
    let new = fleet.wait_for_new_master(old);
    assert_ne!(new, old);
    let sent = client_requests(&id);
    assert!((1..=2).contains(&sent), "{sent} token requests");

    // A refresh whose rotated refresh token is written while the master changes back: the
    // provider revokes a reused refresh token, so the forced refreshes after it only work if
    // each rotation was kept.
    let (id, secret) = new_client("sentinel-refresh");
    let rt = azure_refresh_token(&id, &secret);
    let env = Env::new(&format!(
        r#"{cache}
[profiles.pc]
provider = "azure-ad-v1"
tenant = "contoso"
resource = "https://api.partnercenter.microsoft.com"
grant = "refresh_token"
refresh_token = "{rt}"
scopes = ["user_impersonation"]
client_id = "{id}"
client_secret = "{secret}"
token_url = "{{P}}/contoso/oauth2/token"
jwks_url = "{{P}}/contoso/discovery/keys"
issuer = "{{P}}/contoso/"
"#
    ));
    admin(
        "faults",
        Some(json!({"route": "azure.token", "kind": "delay", "delay_ms": 1500, "count": 1})),
    );
    let refreshing = herd(&env, 1, &["token", "-p", "pc"]);
    std::thread::sleep(Duration::from_millis(600));
    fleet.failover();
    all_succeed(refreshing);
    assert_ne!(fleet.wait_for_new_master(new), new);
    for _ in 0..2 {
        env.ok(&["token", "-p", "pc", "--force-refresh"]);
    }
}
