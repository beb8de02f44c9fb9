//! The core's `tracing` events → the app's [`Logger`] (Logcat, os_log, a file).
//!
//! Which events are passed on (only those of the `tokenbroker` crates, never those of the
//! HTTP, TLS or Redis libraries underneath), their text (with the fields of their spans) and
//! their dotted target are the core's ([`tokenbroker::advanced::logs`]), as for every binding; this
//! module turns its records into [`Logger::log`] calls. The core never puts a secret in an
//! event.
//!
//! The core's layer never calls the app: it queues the record on the core's bounded queue
//! (the oldest dropped, and counted, beyond its cap) and its forwarder thread
//! (`tokenbroker-log`) hands the records to the logger in order. So a logger that blocks, or
//! calls the broker, cannot stall or deadlock a token fetch.

use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use tokenbroker::advanced::logs::{self, Level, LogFilter, LogQueue};

/// How severe a log event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum LogLevel {
    /// A call failed.
    Error,
    /// Something was worked around (a shared-tier failure, a retry).
    Warn,
    /// Tokens fetched, refreshed, revoked.
    Info,
    /// Each step of a fetch.
    Debug,
    /// Everything.
    Trace,
}

/// One event of the core.
#[derive(Debug, Clone, uniffi::Record)]
pub struct LogRecord {
    /// Its level.
    pub level: LogLevel,
    /// The module that wrote it, dotted: `tokenbroker.broker.fetch`.
    pub target: String,
    /// The message, preceded by its spans (`name{field=value}: `) and followed by its fields.
    pub message: String,
}

/// Receives the core's log events, on the `tokenbroker-log` thread, one at a time, in order.
#[uniffi::export(foreign)]
pub trait Logger: Send + Sync {
    /// One event.
    fn log(&self, record: LogRecord);
}

/// Installs `logger` for events at `level` and more severe (replacing any earlier logger);
/// `null`/`nil` stops forwarding.
#[uniffi::export]
pub fn set_logger(logger: Option<Arc<dyn Logger>>, level: LogLevel) {
    let on = logger.is_some();
    *LOGGER.write().unwrap_or_else(PoisonError::into_inner) = logger;
    if on {
        INSTALLED.get_or_init(|| {
            // Fails only if the process already has a global subscriber: then it keeps that.
            let _ = logs::install(&FILTER, |record| QUEUE.push(record));
        });
    }
    FILTER.set(on.then(|| core_level(level)));
}

static LOGGER: RwLock<Option<Arc<dyn Logger>>> = RwLock::new(None);
/// Nothing until a logger is set.
static FILTER: LogFilter = LogFilter::new(None);
static INSTALLED: OnceLock<()> = OnceLock::new();
static QUEUE: LogQueue = LogQueue::with_forwarder(forward);

fn core_level(level: LogLevel) -> Level {
    match level {
        LogLevel::Error => Level::ERROR,
        LogLevel::Warn => Level::WARN,
        LogLevel::Info => Level::INFO,
        LogLevel::Debug => Level::DEBUG,
        LogLevel::Trace => Level::TRACE,
    }
}

fn level_of(level: Level) -> LogLevel {
    match level {
        Level::ERROR => LogLevel::Error,
        Level::WARN => LogLevel::Warn,
        Level::INFO => LogLevel::Info,
        Level::DEBUG => LogLevel::Debug,
        _ => LogLevel::Trace,
    }
}

/// The forwarder thread's delivery: each record to the logger of the moment (none: dropped).
fn forward(records: Vec<logs::LogRecord>) -> bool {
    let Some(logger) = LOGGER
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
    else {
        return true;
    };
    for record in records {
        let record = LogRecord {
            level: level_of(record.level),
            target: record.target,
            message: record.message,
        };
        // A logger that throws must not end forwarding.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| logger.log(record)));
    }
    true
}
