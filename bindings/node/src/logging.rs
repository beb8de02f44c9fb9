//! `tracing` events of the core → a JavaScript logger (`setLogger`), like the Python
//! binding's forwarding to `logging`: the same events (only those of the `tokenbroker`
//! crates, so nothing a dependency logs), the same text (span fields, then the message and
//! the event's fields, all as the core formats them) and the same target names
//! (`tokenbroker.broker.fetch`: the event's module path).
//!
//! A runtime worker never waits for JavaScript: an event is formatted and queued on a
//! threadsafe function (unref'd, so it never keeps the process alive) that the event loop
//! drains; beyond [`QUEUE_CAP`] waiting events new ones are dropped and counted. Without a
//! logger no subscriber is installed, or its interest is rebuilt to "never", so disabled
//! events cost what they cost without any subscriber; the warm path logs nothing anyway.

// napi-derive registers free functions only outside `cfg(test)`, so a test build (clippy
// --all-targets) sees `set_logger` and what only it uses as dead.
#![cfg_attr(test, allow(dead_code))]

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Once, PoisonError, RwLock};

use napi::Status;
use napi::bindgen_prelude::{Function, Unknown};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

use crate::errors::config_error;

/// Most events waiting for the event loop; new ones are dropped (and counted) beyond this.
const QUEUE_CAP: usize = 10_000;

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
/// The most verbose level forwarded: 0 none, 1 error … 5 trace.
static MAX_LEVEL: AtomicU8 = AtomicU8::new(0);
static DROPPED: AtomicU64 = AtomicU64::new(0);
static INSTALL: Once = Once::new();

const LEVELS: [&str; 5] = ["error", "warn", "info", "debug", "trace"];

fn rank(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 1,
        Level::WARN => 2,
        Level::INFO => 3,
        Level::DEBUG => 4,
        Level::TRACE => 5,
    }
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
        None => 4,
        Some(name) => match LEVELS.iter().position(|l| *l == name) {
            Some(i) => i as u8 + 1,
            None => {
                return Err(config_error(
                    "setLogger options, key 'level'",
                    format!("'{name}' is not one of {}", LEVELS.join(", ")),
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
    let max = if sink.is_some() { max } else { 0 };
    *SINK.write().unwrap_or_else(PoisonError::into_inner) = sink;
    MAX_LEVEL.store(max, Ordering::Release);
    if max > 0 {
        INSTALL.call_once(|| {
            let subscriber = tracing_subscriber::registry().with(JsLogLayer);
            // Fails only if another subscriber is the global default: it keeps the events.
            let _ = tracing::subscriber::set_global_default(subscriber);
        });
    }
    tracing::callsite::rebuild_interest_cache();
    Ok(())
}

fn forwarded(meta: &Metadata<'_>) -> bool {
    meta.target().starts_with("tokenbroker")
        && rank(meta.level()) <= MAX_LEVEL.load(Ordering::Acquire)
}

fn send(record: LogRecord) {
    let Some(sink) = SINK.read().unwrap_or_else(PoisonError::into_inner).clone() else {
        return;
    };
    let dropped = DROPPED.swap(0, Ordering::Relaxed);
    if dropped > 0 {
        let note = LogRecord {
            level: "warn".into(),
            target: "tokenbroker".into(),
            message: format!("{dropped} log events were dropped (queue full)"),
        };
        if sink.call(note, ThreadsafeFunctionCallMode::NonBlocking) != Status::Ok {
            DROPPED.fetch_add(dropped, Ordering::Relaxed);
        }
    }
    // `Closing`: the logger's thread (a worker) has exited; nothing is left to log to.
    if sink.call(record, ThreadsafeFunctionCallMode::NonBlocking) == Status::QueueFull {
        DROPPED.fetch_add(1, Ordering::Relaxed);
    }
}

struct JsLogLayer;

/// Formatted fields of a span, kept in its extensions.
struct SpanFields(String);

#[derive(Default)]
struct Fields {
    message: String,
    rest: String,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.rest, " {}={}", field.name(), value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.rest, " {}={:?}", field.name(), value);
        }
    }
}

impl<S> Layer<S> for JsLogLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        if forwarded(meta) {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, meta: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        forwarded(meta)
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(match MAX_LEVEL.load(Ordering::Acquire) {
            0 => LevelFilter::OFF,
            1 => LevelFilter::ERROR,
            2 => LevelFilter::WARN,
            3 => LevelFilter::INFO,
            4 => LevelFilter::DEBUG,
            _ => LevelFilter::TRACE,
        })
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut()
                .insert(SpanFields(fields.rest.trim_start().to_owned()));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        let mut fields = Fields::default();
        event.record(&mut fields);
        let mut message = String::new();
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                message.push_str(span.name());
                if let Some(f) = span.extensions().get::<SpanFields>()
                    && !f.0.is_empty()
                {
                    let _ = write!(message, "{{{}}}", f.0);
                }
                message.push_str(": ");
            }
        }
        message.push_str(&fields.message);
        message.push_str(&fields.rest);
        send(LogRecord {
            level: LEVELS[usize::from(rank(meta.level()) - 1)].to_owned(),
            target: meta
                .module_path()
                .unwrap_or_else(|| meta.target())
                .replace("::", "."),
            message,
        });
    }
}
