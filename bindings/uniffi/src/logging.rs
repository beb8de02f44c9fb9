//! The core's `tracing` events → the app's [`Logger`] (Logcat, os_log, a file).
//!
//! Like the Python binding's forwarding: only events of the `tokenbroker` crates are passed on
//! (never those of the HTTP, TLS or Redis libraries underneath), as the core wrote them, with
//! the fields of their spans. The core never puts a secret in an event.
//!
//! The layer never calls the app: it queues the event (bounded; the oldest are dropped, and
//! counted, beyond [`QUEUE_CAP`]) and one forwarder thread (`tokenbroker-log`) hands the
//! events to the logger in order. So a logger that blocks, or calls the broker, cannot stall
//! or deadlock a token fetch.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// Most events waiting for the logger; newer ones are dropped (and counted) beyond this.
const QUEUE_CAP: usize = 10_000;

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
    /// The module that wrote it, e.g. `tokenbroker::broker::fetch`.
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
    MAX_LEVEL.store(if on { rank(level) } else { 0 }, Ordering::Release);
    if on {
        INSTALLED.get_or_init(|| {
            let subscriber = tracing_subscriber::registry().with(ForwardLayer);
            // Fails only if the process already has a global subscriber: then it keeps that.
            let _ = tracing::subscriber::set_global_default(subscriber);
        });
    }
}

static LOGGER: RwLock<Option<Arc<dyn Logger>>> = RwLock::new(None);
/// The least severe level forwarded, as [`rank`]; 0: none.
static MAX_LEVEL: AtomicU8 = AtomicU8::new(0);
static INSTALLED: OnceLock<()> = OnceLock::new();
static QUEUE: OnceLock<SyncSender<LogRecord>> = OnceLock::new();
static DROPPED: AtomicU64 = AtomicU64::new(0);

fn rank(level: LogLevel) -> u8 {
    match level {
        LogLevel::Error => 1,
        LogLevel::Warn => 2,
        LogLevel::Info => 3,
        LogLevel::Debug => 4,
        LogLevel::Trace => 5,
    }
}

fn level_of(level: &Level) -> LogLevel {
    match *level {
        Level::ERROR => LogLevel::Error,
        Level::WARN => LogLevel::Warn,
        Level::INFO => LogLevel::Info,
        Level::DEBUG => LogLevel::Debug,
        Level::TRACE => LogLevel::Trace,
    }
}

fn ours(meta: &Metadata<'_>) -> bool {
    meta.target().starts_with("tokenbroker")
}

/// Queues `record` for the forwarder thread (started on first use).
fn push(record: LogRecord) {
    let queue = QUEUE.get_or_init(|| {
        let (sender, receiver) = mpsc::sync_channel(QUEUE_CAP);
        let spawned = std::thread::Builder::new()
            .name("tokenbroker-log".into())
            .spawn(move || forward(receiver));
        // Without the thread the receiver is gone and every send fails: events are dropped.
        drop(spawned);
        sender
    });
    if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) = queue.try_send(record) {
        DROPPED.fetch_add(1, Ordering::Relaxed);
    }
}

fn forward(receiver: Receiver<LogRecord>) {
    for record in receiver {
        let Some(logger) = LOGGER
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
        else {
            continue;
        };
        let dropped = DROPPED.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            deliver(
                &*logger,
                LogRecord {
                    level: LogLevel::Warn,
                    target: "tokenbroker".into(),
                    message: format!("{dropped} log events were dropped (queue full)"),
                },
            );
        }
        deliver(&*logger, record);
    }
}

/// A logger that throws must not end forwarding.
fn deliver(logger: &dyn Logger, record: LogRecord) {
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| logger.log(record)));
}

struct ForwardLayer;

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

impl<S> Layer<S> for ForwardLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        // `sometimes`: the level is the app's to change at any time.
        if ours(meta) {
            Interest::sometimes()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, meta: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        ours(meta) && rank(level_of(meta.level())) <= MAX_LEVEL.load(Ordering::Acquire)
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
        push(LogRecord {
            level: level_of(meta.level()),
            target: meta.target().to_owned(),
            message,
        });
    }
}
