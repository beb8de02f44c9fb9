//! The core's `tracing` events as [`LogRecord`]s for the bindings: the one place that decides
//! which events leave the core, at which level, and how their text and target read. Each
//! binding only turns a record into its platform's call (Python `logging`, a JavaScript
//! function, the app's Kotlin/Swift `Logger`).
//!
//! The rules:
//! - only events of the `tokenbroker` crates are forwarded (never those of the HTTP, TLS or
//!   Redis libraries underneath), at the [`LogFilter`]'s level and more severe;
//! - the text is the enclosing spans from the root (`name{field=value}: `), the message, then
//!   the event's fields (` field=value`), each value as the core wrote it;
//! - the target is the event's module, dotted: `tokenbroker.broker.fetch`;
//! - secrets never get there: the core logs a [`crate::Secret`] only as itself, which prints
//!   `[redacted]`, and provider text only after [`crate::redact`] cleaned it.
//!
//! A binding whose platform call may block, or must wait for an interpreter lock, hands the
//! records to a [`LogQueue`] (bounded at [`QUEUE_CAP`], the oldest dropped and counted, a
//! warning about them delivered first) and lets its forwarder thread, or its own threads,
//! deliver them, so a core thread never waits for the app's logger.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU8, Ordering};

use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

mod queue;

pub use queue::{Deliver, DropCount, ForkHold, InFlight, LogQueue, dropped_notice};
pub use tracing::Level;

/// Most records kept waiting for a binding's logger; beyond this they are dropped and counted.
pub const QUEUE_CAP: usize = 10_000;

/// The level forwarded when the app names none.
pub const DEFAULT_LEVEL: Level = Level::DEBUG;

/// Target of the records the forwarding itself writes (the dropped-records warning).
pub const ROOT_TARGET: &str = "tokenbroker";

/// Source file given for records that have none.
const UNKNOWN_FILE: &str = "<tokenbroker>";

/// One core event, ready for a platform logger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    /// How severe it is.
    pub level: Level,
    /// The module that wrote it, dotted: `tokenbroker.broker.fetch`.
    pub target: String,
    /// Enclosing spans with their fields, the message, then the event's fields.
    pub message: String,
    /// The Rust source file that wrote it.
    pub file: &'static str,
    /// Its line in [`LogRecord::file`] (0: unknown).
    pub line: u32,
}

/// Which events are forwarded: those of the `tokenbroker` crates at a level the app chose
/// (changeable at any time) and more severe.
#[derive(Debug)]
pub struct LogFilter {
    /// The least severe level forwarded, as [`rank`]; 0: none.
    max: AtomicU8,
}

impl LogFilter {
    /// A filter forwarding `max` and more severe events (`None`: nothing).
    pub const fn new(max: Option<Level>) -> Self {
        Self {
            max: AtomicU8::new(rank_of(max)),
        }
    }

    /// Forwards `max` and more severe events from now on (`None`: nothing). Disabled events
    /// then cost what they cost without any subscriber.
    pub fn set(&self, max: Option<Level>) {
        self.max.store(rank_of(max), Ordering::Release);
        tracing::callsite::rebuild_interest_cache();
    }

    /// The least severe level forwarded (`None`: nothing).
    pub fn max(&self) -> Option<Level> {
        match self.max.load(Ordering::Acquire) {
            0 => None,
            1 => Some(Level::ERROR),
            2 => Some(Level::WARN),
            3 => Some(Level::INFO),
            4 => Some(Level::DEBUG),
            _ => Some(Level::TRACE),
        }
    }

    /// Whether an event or span with this metadata is forwarded.
    pub fn forwards(&self, meta: &Metadata<'_>) -> bool {
        meta.target().starts_with(ROOT_TARGET)
            && rank(*meta.level()) <= self.max.load(Ordering::Acquire)
    }
}

/// 1 (error) … 5 (trace).
const fn rank(level: Level) -> u8 {
    rank_of(Some(level))
}

/// [`rank`], 0 for `None`.
const fn rank_of(level: Option<Level>) -> u8 {
    match level {
        None => 0,
        Some(Level::ERROR) => 1,
        Some(Level::WARN) => 2,
        Some(Level::INFO) => 3,
        Some(Level::DEBUG) => 4,
        Some(_) => 5,
    }
}

/// Installs, as the process's global `tracing` subscriber, a [`ForwardLayer`] handing what
/// `filter` lets through to `sink`. False when the process already had one (which then keeps
/// the events).
pub fn install<F>(filter: &'static LogFilter, sink: F) -> bool
where
    F: Fn(LogRecord) + Send + Sync + 'static,
{
    let subscriber = tracing_subscriber::registry().with(ForwardLayer::new(filter, sink));
    tracing::subscriber::set_global_default(subscriber).is_ok()
}

/// A `tracing` layer turning the events [`LogFilter`] lets through into [`LogRecord`]s for a
/// sink. The sink runs on the thread that emitted the event: it must not block.
pub struct ForwardLayer<F> {
    filter: &'static LogFilter,
    sink: F,
}

impl<F> ForwardLayer<F>
where
    F: Fn(LogRecord) + Send + Sync + 'static,
{
    /// A layer handing what `filter` lets through to `sink`.
    pub fn new(filter: &'static LogFilter, sink: F) -> Self {
        Self { filter, sink }
    }
}

/// Formatted fields of a span, kept in its extensions.
struct SpanFields(String);

/// An event's or span's fields: the message apart, the others as ` name=value`.
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

impl<S, F> Layer<S> for ForwardLayer<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    F: Fn(LogRecord) + Send + Sync + 'static,
{
    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        // [`LogFilter::set`] rebuilds the cached interest when the level changes.
        if self.filter.forwards(meta) {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, meta: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        self.filter.forwards(meta)
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::from(self.filter.max()))
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
        (self.sink)(LogRecord {
            level: *meta.level(),
            target: meta
                .module_path()
                .unwrap_or_else(|| meta.target())
                .replace("::", "."),
            message,
            file: meta.file().unwrap_or(UNKNOWN_FILE),
            line: meta.line().unwrap_or(0),
        });
    }
}

#[cfg(test)]
#[path = "logs_tests.rs"]
mod tests;
