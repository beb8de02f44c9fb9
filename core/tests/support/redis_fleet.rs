//! Throwaway Redis deployments on 127.0.0.1 ephemeral ports, killed on drop: a 3-master
//! Redis Cluster, and a master + replica watched by 3 Sentinels (apt's `redis-server` and
//! `redis-sentinel`). `TB_SKIP_REDIS=1` skips them.
#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The Sentinels' name for the master.
pub const MASTER_NAME: &str = "tbmaster";

/// One child server process and its port.
struct Node {
    child: Child,
    port: u16,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn skip() -> bool {
    if std::env::var("TB_SKIP_REDIS").as_deref() == Ok("1") {
        eprintln!("TB_SKIP_REDIS=1: skipping a Redis fleet test");
        return true;
    }
    false
}

fn need(program: &str) {
    if let Err(e) = Command::new(program).arg("--version").output() {
        panic!(
            "{program} is needed for the Redis fleet tests ({e}): run \
             `apt-get install -y redis-server redis-sentinel` (or `make setup`), or set \
             TB_SKIP_REDIS=1 to skip them"
        );
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "tb-{name}-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(Instant::now().elapsed().as_nanos());
    h.finish() & 0xffff_ffff
}

/// Starts `program` with `args` plus `--port`, in `dir`, retrying on a lost port race.
fn start(program: &str, dir: &PathBuf, args: &[String]) -> Node {
    for _ in 0..5 {
        let port = free_port();
        let mut cmd = Command::new(program);
        if program == "redis-sentinel" {
            // Sentinel needs a config file it can rewrite.
            let conf = dir.join(format!("sentinel-{port}.conf"));
            let mut text = format!("port {port}\nbind 127.0.0.1\ndir {}\n", dir.display());
            for line in args {
                text.push_str(line);
                text.push('\n');
            }
            std::fs::write(&conf, text).unwrap();
            cmd.arg(&conf);
        } else {
            cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
                .arg("--dir")
                .arg(dir)
                .args(args);
        }
        let child = cmd
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {program}: {e}"));
        let mut node = Node { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if node.child.try_wait().ok().flatten().is_some() {
                break; // lost the port: try another
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                std::thread::sleep(Duration::from_millis(50));
                if node.child.try_wait().ok().flatten().is_none() {
                    return node;
                }
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    panic!("{program} did not start on 127.0.0.1");
}

/// Runs `redis-cli -p port args…` and returns its output.
pub fn cli(port: u16, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .output()
        .expect("redis-cli");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn wait_for(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A Redis Cluster of three masters (no replicas), all slots covered.
pub struct RedisCluster {
    nodes: Vec<Node>,
    dir: PathBuf,
}

impl RedisCluster {
    /// Starts the cluster and waits until it serves every slot, or `None` with
    /// `TB_SKIP_REDIS=1`.
    pub fn start() -> Option<Self> {
        if skip() {
            return None;
        }
        need("redis-server");
        let dir = scratch("cluster");
        let nodes: Vec<Node> = (0..3)
            .map(|i| {
                let node_dir = dir.join(format!("n{i}"));
                std::fs::create_dir_all(&node_dir).unwrap();
                let args = [
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                ];
                start("redis-server", &node_dir, &args.map(str::to_owned))
            })
            .collect();
        let addrs: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let out = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addrs)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .expect("redis-cli --cluster create");
        assert!(
            out.status.success(),
            "cluster create failed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let cluster = Self { nodes, dir };
        for node in &cluster.nodes {
            wait_for("the cluster to be ok", Duration::from_secs(20), || {
                cli(node.port, &["cluster", "info"]).contains("cluster_state:ok")
            });
        }
        Some(cluster)
    }

    /// The seed URLs, one per master.
    pub fn urls(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|n| format!("redis://127.0.0.1:{}", n.port))
            .collect()
    }

    /// The masters' ports.
    pub fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(|n| n.port).collect()
    }

    /// Keys stored on each master, in node order.
    pub fn keys_per_node(&self) -> Vec<u64> {
        self.nodes
            .iter()
            .map(|n| cli(n.port, &["dbsize"]).parse().unwrap_or(0))
            .collect()
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        self.nodes.clear();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A master and one replica watched by three Sentinels (quorum 2), with short failure
/// detection so that failovers take about a second or two.
pub struct RedisSentinels {
    /// Master first, then the replica (which may have swapped roles since).
    servers: Vec<Node>,
    sentinels: Vec<Node>,
    dir: PathBuf,
}

impl RedisSentinels {
    /// Starts everything and waits until every Sentinel knows the replica and the other
    /// Sentinels, or `None` with `TB_SKIP_REDIS=1`.
    pub fn start() -> Option<Self> {
        if skip() {
            return None;
        }
        need("redis-server");
        need("redis-sentinel");
        let dir = scratch("sentinel");
        let master = start("redis-server", &dir, &[]);
        let replica_args = [
            "--replicaof".to_owned(),
            "127.0.0.1".to_owned(),
            master.port.to_string(),
        ];
        let replica = start("redis-server", &dir, &replica_args);
        wait_for("the replica to sync", Duration::from_secs(20), || {
            cli(replica.port, &["info", "replication"]).contains("master_link_status:up")
        });
        let conf = [
            format!("sentinel monitor {MASTER_NAME} 127.0.0.1 {} 2", master.port),
            format!("sentinel down-after-milliseconds {MASTER_NAME} 1000"),
            format!("sentinel failover-timeout {MASTER_NAME} 10000"),
            format!("sentinel parallel-syncs {MASTER_NAME} 1"),
        ];
        let sentinels: Vec<Node> = (0..3)
            .map(|_| start("redis-sentinel", &dir, &conf))
            .collect();
        let deployment = Self {
            servers: vec![master, replica],
            sentinels,
            dir,
        };
        for s in &deployment.sentinels {
            wait_for(
                "the sentinels to find each other",
                Duration::from_secs(30),
                || {
                    let info = cli(s.port, &["sentinel", "master", MASTER_NAME]);
                    let field = |name: &str| {
                        let lines: Vec<&str> = info.lines().collect();
                        lines
                            .iter()
                            .position(|l| *l == name)
                            .and_then(|i| lines.get(i + 1))
                            .map(|v| v.to_string())
                    };
                    field("num-slaves").as_deref() == Some("1")
                        && field("num-other-sentinels").as_deref() == Some("2")
                },
            );
        }
        Some(deployment)
    }

    /// The Sentinels' URLs.
    pub fn sentinel_urls(&self) -> Vec<String> {
        self.sentinels
            .iter()
            .map(|n| format!("redis://127.0.0.1:{}", n.port))
            .collect()
    }

    /// The port of the server the Sentinels currently call master.
    pub fn master_port(&self) -> u16 {
        let out = cli(
            self.sentinels[0].port,
            &["sentinel", "get-master-addr-by-name", MASTER_NAME],
        );
        out.lines()
            .nth(1)
            .and_then(|p| p.parse().ok())
            .expect("master address")
    }

    /// Waits until every Sentinel sees a replica it could promote: in sync with the master
    /// and reported on recently. Right after a failover the old master is still being turned
    /// into a replica; a failover asked for before then finds no replica and is aborted.
    pub fn wait_until_promotable(&self) {
        for s in &self.sentinels {
            wait_for(
                "a replica the Sentinels can promote",
                Duration::from_secs(60),
                || promotable(&cli(s.port, &["sentinel", "replicas", MASTER_NAME])),
            );
        }
    }

    /// Asks the Sentinels to fail over now (no need to wait for a failure), once they have a
    /// replica to promote.
    pub fn failover(&self) {
        self.wait_until_promotable();
        let out = cli(
            self.sentinels[0].port,
            &["sentinel", "failover", MASTER_NAME],
        );
        assert_eq!(out, "OK", "SENTINEL FAILOVER: {out}");
    }

    /// Waits until the Sentinels name another master than `old_port`.
    pub fn wait_for_new_master(&self, old_port: u16) -> u16 {
        wait_for("a new master", Duration::from_secs(30), || {
            self.master_port() != old_port
        });
        self.master_port()
    }

    /// Kills the server on `port` (as a crash would).
    pub fn kill_server(&mut self, port: u16) {
        self.servers.retain(|n| n.port != port);
    }

    /// Number of keys on the server on `port`.
    pub fn dbsize(&self, port: u16) -> u64 {
        cli(port, &["dbsize"]).parse().unwrap_or(0)
    }
}

impl Drop for RedisSentinels {
    fn drop(&mut self) {
        self.sentinels.clear();
        self.servers.clear();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether `SENTINEL REPLICAS` output (field and value on alternate lines, per replica) names
/// a replica flagged only `slave` whose link to the master is up.
fn promotable(replicas: &str) -> bool {
    let lines: Vec<&str> = replicas.lines().collect();
    lines.split(|l| *l == "name").skip(1).any(|replica| {
        // The first line is the value of `name`; field-value pairs follow.
        let pairs = replica.get(1..).unwrap_or_default();
        let field = |name: &str| {
            pairs
                .chunks(2)
                .find(|kv| kv[0] == name)
                .and_then(|kv| kv.get(1).copied())
        };
        field("flags") == Some("slave") && field("master-link-status") == Some("ok")
    })
}
