//! The Redis master a set of Sentinels names, followed across failovers, with writes that a
//! replica has acknowledged before they count.

use std::sync::{Arc, Mutex as SyncMutex};
use std::time::{Duration, Instant};

use ::redis::aio::{ConnectionLike, MultiplexedConnection};
use ::redis::sentinel::{SentinelClient, SentinelNodeConnectionInfo, SentinelServerType};
use ::redis::{
    AsyncConnectionConfig, Cmd, ErrorKind, IntoConnectionInfo, RedisError, RedisResult, Value,
};

use crate::cache::redis_conn::{TIMEOUT, unexpected};

/// How long a command waits for the Sentinels to name a working master after a failure.
pub(crate) const FAILOVER_WAIT: Duration = Duration::from_secs(30);

/// The master named by the Sentinels. A command that fails because the master went away or
/// became a replica asks the Sentinels again and is retried until [`FAILOVER_WAIT`] passes.
#[derive(Clone)]
pub(crate) struct SentinelConn {
    sentinel: Arc<tokio::sync::Mutex<SentinelClient>>,
    /// The connection in use and a number that changes with each reconnection.
    current: Arc<SyncMutex<Option<(u64, MultiplexedConnection)>>>,
    master: String,
    pub(super) db: i64,
}

impl SentinelConn {
    pub(super) fn new(sentinels: &[String], master: &str) -> RedisResult<Self> {
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
    pub(super) async fn current(&self) -> RedisResult<(u64, MultiplexedConnection)> {
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
    pub(super) async fn run<T, F, Fut>(&self, op: F) -> RedisResult<T>
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
pub(super) async fn replicated(
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
