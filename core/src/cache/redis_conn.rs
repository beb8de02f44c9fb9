//! Connections to the Redis tier's three deployments: one server, a Redis Cluster, or the
//! master a set of Sentinels names (followed across failovers).

use std::sync::LazyLock;
use std::time::Duration;

use ::redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use ::redis::cluster::ClusterClientBuilder;
use ::redis::cluster_async::ClusterConnection;
use ::redis::cluster_routing::{MultipleNodeRoutingInfo, RoutingInfo, SingleNodeRoutingInfo};
use ::redis::{
    AsyncConnectionConfig, Cmd, ErrorKind, Pipeline, RedisError, RedisFuture, RedisResult, Script,
    Value,
};

use crate::cache::redis_sentinel::{SentinelConn, replicated};
use crate::config::CacheConfig;

/// Deletes a key only if it still holds the given value (a lease's owner releasing it, a
/// remove that must not delete a newer write).
pub(super) static DELETE_IF_EQUAL: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "if redis.call('GET', KEYS[1]) == ARGV[1] then \
           return redis.call('DEL', KEYS[1]) \
         end \
         return 0",
    )
});

/// How long to connect, and to wait for one answer.
pub(super) const TIMEOUT: Duration = Duration::from_secs(5);

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

pub(super) fn unexpected(what: &str) -> RedisError {
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

/// Escapes the glob characters SCAN MATCH understands.
pub(super) fn glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_glob_escaped() {
        assert_eq!(glob_escape("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
    }
}
