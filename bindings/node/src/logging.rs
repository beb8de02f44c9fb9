//! `tracing` events of the core → a JavaScript logger (`setLogger`). Which events, their text,
//! target and the default level are the core's ([`tokenbroker::advanced::logs`]), as for every
//! binding; this module turns its records into calls of the JavaScript function.
//!
//! A runtime worker never waits for JavaScript: the core's record is queued on a threadsafe
//! function (unref'd, so it never keeps the process alive) that the event loop drains; that
//! is napi's way onto the JavaScript thread, so it is also the queue, bounded at the core's
//! [`QUEUE_CAP`]; beyond it new records are dropped and counted. Without a logger no
//! subscriber is installed, or its filter is set to nothing, so disabled events cost what
//! they cost without any subscriber; the warm path logs nothing anyway.

// napi-derive registers free functions only outside `cfg(test)`, so a test build (clippy
// --all-targets) sees `set_logger` and what only it uses as dead.
#![cfg_attr(test, allow(dead_code))]

use std::sync::{Arc, Once, PoisonError, RwLock};

use napi::Status;
use napi::bindgen_prelude::{Function, Unknown};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use tokenbroker::advanced::logs::{self, DEFAULT_LEVEL, DropCount, Level, LogFilter, QUEUE_CAP};

use crate::errors::config_error;

/// One core event as the logger receives it.
#[napi(object)]
pub struct LogRecord {
    /// `error`, `warn`, `info`, `debug` or `trace`.
    pub level: String,
    /// The event's module, dotted: `tokenbroker.http.client`.
    pub target: String,
    /// Enclosing spans with their fields, the message, then the event's fields.
    pub message: String,
}

type LogFn =
    ThreadsafeFunction<LogRecord, Unknown<'static>, LogRecord, Status, false, true, QUEUE_CAP>;

/// The logger, when one is set.
static SINK: RwLock<Option<Arc<LogFn>>> = RwLock::new(None);
/// Nothing until a logger is set.
static FILTER: LogFilter = LogFilter::new(None);
static DROPPED: DropCount = DropCount::new();
static INSTALL: Once = Once::new();

/// The level names JavaScript uses, most severe first.
const LEVELS: [(&str, Level); 5] = [
    ("error", Level::ERROR),
    ("warn", Level::WARN),
    ("info", Level::INFO),
    ("debug", Level::DEBUG),
    ("trace", Level::TRACE),
];

fn level_name(level: Level) -> &'static str {
    LEVELS
        .iter()
        .find(|(_, l)| *l == level)
        .map_or("trace", |(name, _)| name)
}

/// Sends the core's events at `level` and above to `callback` (process-wide, replacing any
/// logger set before); `null` stops forwarding.
#[napi(
    ts_args_type = "callback: ((record: LogRecord) => void) | null, level?: 'error' | 'warn' | 'info' | 'debug' | 'trace' | null"
)]
pub fn set_logger(
    callback: Option<Function<'_, LogRecord, Unknown<'static>>>,
    level: Option<String>,
) -> napi::Result<()> {
    let max = match level.as_deref() {
        None => DEFAULT_LEVEL,
        Some(name) => match LEVELS.iter().find(|(n, _)| *n == name) {
            Some((_, level)) => *level,
            None => {
                let names: Vec<&str> = LEVELS.iter().map(|(n, _)| *n).collect();
                return Err(config_error(
                    "setLogger options, key 'level'",
                    format!("'{name}' is not one of {}", names.join(", ")),
                ));
            }
        },
    };
    let sink = match callback {
        None => None,
        Some(f) => Some(Arc::new(
            f.build_threadsafe_function::<LogRecord>()
                .weak::<true>()
                .max_queue_size::<QUEUE_CAP>()
                .build()?,
        )),
    };
    let max = sink.is_some().then_some(max);
    *SINK.write().unwrap_or_else(PoisonError::into_inner) = sink;
    if max.is_some() {
        INSTALL.call_once(|| {
            // Fails only if another subscriber is the global default: it keeps the events.
            let _ = logs::install(&FILTER, send);
        });
    }
    FILTER.set(max);
    Ok(())
}

/// Queues `record` for the event loop (never waits), after the warning about dropped ones.
fn send(record: logs::LogRecord) {
    let Some(sink) = SINK.read().unwrap_or_else(PoisonError::into_inner).clone() else {
        return;
    };
    let dropped = DROPPED.take();
    if dropped > 0
        && sink.call(
            js_record(logs::dropped_notice(dropped)),
            ThreadsafeFunctionCallMode::NonBlocking,
        ) != Status::Ok
    {
        DROPPED.add(dropped);
    }
    // `Closing`: the logger's thread (a worker) has exited; nothing is left to log to.
    if sink.call(js_record(record), ThreadsafeFunctionCallMode::NonBlocking) == Status::QueueFull {
        DROPPED.add(1);
    }
}

fn js_record(record: logs::LogRecord) -> LogRecord {
    LogRecord {
        level: level_name(record.level).to_owned(),
        target: record.target,
        message: record.message,
    }
}
