//! Connections to the Redis tier's three deployments: one server, a Redis Cluster, or the
//! master a set of Sentinels names (followed across failovers).

use std::sync::{Arc, Mutex as SyncMutex};
use std::time::{Duration, Instant};

use ::redis::aio::{
    ConnectionLike, ConnectionManager, ConnectionManagerConfig, MultiplexedConnection,
};
use ::redis::cluster::ClusterClientBuilder;
use ::redis::cluster_async::ClusterConnection;
use ::redis::cluster_routing::{MultipleNodeRoutingInfo, RoutingInfo, SingleNodeRoutingInfo};
use ::redis::sentinel::{SentinelClient, SentinelNodeConnectionInfo, SentinelServerType};
use ::redis::{
    AsyncConnectionConfig, Cmd, ErrorKind, IntoConnectionInfo, Pipeline, RedisError, RedisFuture,
    RedisResult, Value,
};

use crate::config::CacheConfig;

/// How long to connect, and to wait for one answer.
const TIMEOUT: Duration = Duration::from_secs(5);
/// How long a command waits for the Sentinels to name a working master after a failure.
pub(crate) const FAILOVER_WAIT: Duration = Duration::from_secs(30);

/// Where the Redis tier runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedisTopology {
    /// One server (`redis://…` or `rediss://…`).
    Single(String),
    /// A Redis Cluster, reached through any of these seed nodes.
    Cluster(Vec<String>),
    /// The master called `master` at these Sentinels.
    Sentinel {
        /// Sentinel URLs; their credentials and TLS also apply to the master.
        sentinels: Vec<String>,
        /// The master's name at the Sentinels.
        master: String,
    },
}

impl RedisTopology {
    /// The topology `[cache]` configures, if any (the config has been checked).
    pub fn from_config(cache: &CacheConfig) -> Option<Self> {
        if let Some(url) = &cache.redis_url {
            return Some(Self::Single(url.clone()));
        }
        if !cache.redis_cluster_nodes.is_empty() {
            return Some(Self::Cluster(cache.redis_cluster_nodes.clone()));
        }
        let master = cache.redis_sentinel_master.clone()?;
        Some(Self::Sentinel {
            sentinels: cache.redis_sentinels.clone(),
            master,
        })
    }

    /// Every URL, for scrubbing passwords out of messages.
    pub(crate) fn urls(&self) -> Vec<&str> {
        match self {
            Self::Single(url) => vec![url.as_str()],
            Self::Cluster(nodes) => nodes.iter().map(String::as_str).collect(),
            Self::Sentinel { sentinels, .. } => sentinels.iter().map(String::as_str).collect(),
        }
    }

    /// A description for messages, without credentials.
    pub(crate) fn describe(&self, redact: impl Fn(&str) -> String) -> String {
        let list = |urls: &[String]| {
            urls.iter()
                .map(|u| redact(u))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            Self::Single(url) => redact(url),
            Self::Cluster(nodes) => format!("cluster [{}]", list(nodes)),
            Self::Sentinel { sentinels, master } => {
                format!("master '{master}' of sentinels [{}]", list(sentinels))
            }
        }
    }
}

/// A connection to whichever deployment is configured; cheap to clone.
#[derive(Clone)]
pub(crate) enum RedisConn {
    /// One server, reconnecting by itself.
    Single(ConnectionManager),
    /// A cluster: commands go to the master owning their keys' slot.
    Cluster(ClusterConnection),
    /// The current master named by the Sentinels.
    Sentinel(SentinelConn),
}

impl RedisConn {
    /// Connects, failing fast when the deployment cannot be reached.
    pub(crate) async fn connect(topology: &RedisTopology) -> RedisResult<Self> {
        match topology {
            RedisTopology::Single(url) => connect_single(url).await,
            RedisTopology::Cluster(nodes) => {
                let client = ClusterClientBuilder::new(nodes.clone())
                    .connection_timeout(TIMEOUT)
                    .response_timeout(TIMEOUT)
                    .retries(4)
                    .build()?;
                Ok(Self::Cluster(client.get_async_connection().await?))
            }
            RedisTopology::Sentinel { sentinels, master } => {
                let conn = SentinelConn::new(sentinels, master)?;
                conn.current().await?;
                Ok(Self::Sentinel(conn))
            }
        }
    }

    /// Every key matching `pattern`, from every master of a cluster (SCAN, never KEYS).
    pub(crate) async fn scan(&mut self, pattern: &str) -> RedisResult<Vec<String>> {
        let mut keys = Vec::new();
        match self {
            Self::Cluster(cluster) => {
                let all = RoutingInfo::MultiNode((MultipleNodeRoutingInfo::AllMasters, None));
                let first = cluster.route_command(&scan_cmd(0, pattern), all).await?;
                let Value::Map(per_node) = first else {
                    return Err(unexpected("SCAN on every master"));
                };
                for (addr, reply) in per_node {
                    let addr: String = ::redis::from_redis_value(&addr)?;
                    let (host, port) = split_addr(&addr)?;
                    let (mut cursor, batch): (u64, Vec<String>) =
                        ::redis::from_redis_value(&reply)?;
                    keys.extend(batch);
                    while cursor != 0 {
                        let node = RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress {
                            host: host.clone(),
                            port,
                        });
                        let reply = cluster
                            .route_command(&scan_cmd(cursor, pattern), node)
                            .await?;
                        let batch: Vec<String>;
                        (cursor, batch) = ::redis::from_redis_value(&reply)?;
                        keys.extend(batch);
                    }
                }
            }
            _ => {
                let mut cursor = 0u64;
                loop {
                    let batch: Vec<String>;
                    (cursor, batch) = scan_cmd(cursor, pattern).query_async(self).await?;
                    keys.extend(batch);
                    if cursor == 0 {
                        break;
                    }
                }
            }
        }
        keys.sort();
        keys.dedup();
        Ok(keys)
    }
}

fn scan_cmd(cursor: u64, pattern: &str) -> Cmd {
    let mut cmd = ::redis::cmd("SCAN");
    cmd.arg(cursor)
        .arg("MATCH")
        .arg(pattern)
        .arg("COUNT")
        .arg(500);
    cmd
}

fn split_addr(addr: &str) -> RedisResult<(String, u16)> {
    addr.rsplit_once(':')
        .and_then(|(host, port)| Some((host.to_owned(), port.parse().ok()?)))
        .ok_or_else(|| unexpected("a cluster node address"))
}

fn unexpected(what: &str) -> RedisError {
    RedisError::from((ErrorKind::TypeError, "unexpected reply", what.to_owned()))
}

async fn connect_single(url: &str) -> RedisResult<RedisConn> {
    let client = ::redis::Client::open(url)?;
    // One direct attempt first, so a wrong password or an unreachable server fails fast
    // instead of going through the manager's reconnection backoff.
    let probe = AsyncConnectionConfig::new()
        .set_connection_timeout(TIMEOUT)
        .set_response_timeout(TIMEOUT);
    drop(
        client
            .get_multiplexed_async_connection_with_config(&probe)
            .await?,
    );
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(TIMEOUT)
        .set_response_timeout(TIMEOUT)
        .set_number_of_retries(2)
        .set_max_delay(1000);
    Ok(RedisConn::Single(
        ConnectionManager::new_with_config(client, config).await?,
    ))
}

impl ConnectionLike for RedisConn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => c.req_packed_command(cmd),
            Self::Sentinel(c) => {
                let c: &SentinelConn = c;
                Box::pin(c.run(move |conn| replicated(c, conn, cmd)))
            }
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(c) => c.req_packed_commands(cmd, offset, count),
            Self::Cluster(c) => c.req_packed_commands(cmd, offset, count),
            Self::Sentinel(c) => Box::pin(c.run(move |mut conn| async move {
                conn.req_packed_commands(cmd, offset, count).await
            })),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(c) => c.get_db(),
            Self::Cluster(c) => c.get_db(),
            Self::Sentinel(c) => c.db,
        }
    }
}

/// The master named by the Sentinels. A command that fails because the master went away or
/// became a replica asks the Sentinels again and is retried until [`FAILOVER_WAIT`] passes.
#[derive(Clone)]
pub(crate) struct SentinelConn {
    sentinel: Arc<tokio::sync::Mutex<SentinelClient>>,
    /// The connection in use and a number that changes with each reconnection.
    current: Arc<SyncMutex<Option<(u64, MultiplexedConnection)>>>,
    master: String,
    db: i64,
}

impl SentinelConn {
    fn new(sentinels: &[String], master: &str) -> RedisResult<Self> {
        let first = sentinels
            .first()
            .ok_or_else(|| unexpected("at least one sentinel"))?
            .as_str()
            .into_connection_info()?;
        let tls_mode = match first.addr {
            ::redis::ConnectionAddr::TcpTls { insecure, .. } => Some(if insecure {
                ::redis::TlsMode::Insecure
            } else {
                ::redis::TlsMode::Secure
            }),
            _ => None,
        };
        let db = first.redis.db;
        let node = SentinelNodeConnectionInfo {
            tls_mode,
            redis_connection_info: Some(first.redis),
        };
        let client = SentinelClient::build(
            sentinels.iter().map(String::as_str).collect(),
            master.to_owned(),
            Some(node),
            SentinelServerType::Master,
        )?;
        Ok(Self {
            sentinel: Arc::new(tokio::sync::Mutex::new(client)),
            current: Arc::new(SyncMutex::new(None)),
            master: master.to_owned(),
            db,
        })
    }

    /// The connection to the current master, asking the Sentinels when there is none.
    async fn current(&self) -> RedisResult<(u64, MultiplexedConnection)> {
        if let Some(current) = self.lock().clone() {
            return Ok(current);
        }
        let mut sentinel = self.sentinel.lock().await;
        if let Some(current) = self.lock().clone() {
            return Ok(current); // another task reconnected while this one waited
        }
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(TIMEOUT)
            .set_response_timeout(TIMEOUT);
        let conn = sentinel.get_async_connection_with_config(&config).await?;
        let mut slot = self.lock();
        let generation = rand::random::<u64>();
        *slot = Some((generation, conn.clone()));
        Ok((generation, conn))
    }

    /// Whether the Sentinels know a replica of the master that is up. A write no replica
    /// acknowledged stands only when there is none (a master left alone, which no failover
    /// can replace by a server lacking the write); otherwise a replica may be being promoted.
    async fn healthy_replica_known(&self) -> RedisResult<bool> {
        let client = self
            .sentinel
            .lock()
            .await
            .async_get_sentinel_client()
            .await?;
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(TIMEOUT)
            .set_response_timeout(TIMEOUT);
        let mut conn = client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        let replicas: Vec<std::collections::HashMap<String, String>> = ::redis::cmd("SENTINEL")
            .arg("REPLICAS")
            .arg(&self.master)
            .query_async(&mut conn)
            .await?;
        Ok(replicas.iter().any(|r| {
            r.get("flags").is_some_and(|flags| {
                !["s_down", "o_down", "disconnected"]
                    .iter()
                    .any(|bad| flags.contains(bad))
            })
        }))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(u64, MultiplexedConnection)>> {
        self.current.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `op` on the master, following a failover when the master is lost.
    async fn run<T, F, Fut>(&self, op: F) -> RedisResult<T>
    where
        F: Fn(MultiplexedConnection) -> Fut,
        Fut: std::future::Future<Output = RedisResult<T>>,
    {
        let deadline = Instant::now() + FAILOVER_WAIT;
        let mut pause = Duration::from_millis(50);
        loop {
            let result = match self.current().await {
                Ok((generation, conn)) => {
                    let result = op(conn).await;
                    if result.as_ref().is_err_and(master_lost) {
                        let mut slot = self.lock();
                        if slot.as_ref().is_some_and(|(g, _)| *g == generation) {
                            *slot = None;
                        }
                    }
                    result
                }
                Err(e) => Err(e),
            };
            match result {
                Err(e) if master_lost(&e) && Instant::now() + pause < deadline => {
                    tracing::debug!(error = %e, "redis master lost; asking the sentinels again");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(1));
                }
                other => return other,
            }
        }
    }
}

/// How long a write on a Sentinel-managed master waits for a replica to have it.
const REPLICA_ACK_WAIT: Duration = Duration::from_millis(500);

/// Runs `cmd`; a write then waits (`WAIT 1`) until a replica has it, so that a failover
/// cannot drop a write the caller saw succeed (the old master keeps accepting writes for a
/// moment after a replica is promoted). Without an acknowledgement the write counts as
/// failed on a lost master and is run again on the next one (the tier's writes repeat
/// safely).
async fn replicated(
    sentinel: &SentinelConn,
    mut conn: MultiplexedConnection,
    cmd: &Cmd,
) -> RedisResult<Value> {
    if is_read(cmd) {
        return conn.req_packed_command(cmd).await;
    }
    let mut pipe = ::redis::pipe();
    pipe.add_command(cmd.clone())
        .cmd("WAIT")
        .arg(1)
        .arg(u64::try_from(REPLICA_ACK_WAIT.as_millis()).unwrap_or(500));
    let mut replies = conn.req_packed_commands(&pipe, 0, 2).await?.into_iter();
    let (Some(reply), Some(acked)) = (replies.next(), replies.next()) else {
        return Err(unexpected("a write and its WAIT"));
    };
    let reply = reply.extract_error()?;
    let acked: i64 = ::redis::from_redis_value(&acked.extract_error()?)?;
    if acked < 1 && sentinel.healthy_replica_known().await? {
        tracing::debug!("no replica acknowledged a write within {REPLICA_ACK_WAIT:?}");
        return Err(RedisError::from((
            ErrorKind::ReadOnly,
            "no replica acknowledged the write",
        )));
    }
    Ok(reply)
}

/// Whether `cmd` only reads (no replica acknowledgement needed).
fn is_read(cmd: &Cmd) -> bool {
    let Some(::redis::Arg::Simple(name)) = cmd.args_iter().next() else {
        return false;
    };
    [
        &b"GET"[..],
        b"MGET",
        b"SCAN",
        b"EXISTS",
        b"PTTL",
        b"TTL",
        b"PING",
        b"ROLE",
    ]
    .iter()
    .any(|read| name.eq_ignore_ascii_case(read))
}

/// Whether an error means the master went away or is no longer the master (a failover).
fn master_lost(e: &RedisError) -> bool {
    e.is_io_error()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_timeout()
        || matches!(
            e.kind(),
            ErrorKind::ReadOnly | ErrorKind::MasterDown | ErrorKind::BusyLoadingError
        )
        || matches!(
            e.kind(),
            ErrorKind::MasterNameNotFoundBySentinel | ErrorKind::NoValidReplicasFoundBySentinel
        )
        || e.code() == Some("LOADING")
}
