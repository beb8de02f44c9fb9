//! `tracing` events of the core → Python `logging`, under the `tokenbroker` logger.
//!
//! Design (no deadlock, whoever emits): the tracing layer never touches Python. It formats the
//! event and pushes it onto a small in-process queue, guarded by a mutex that is never held
//! while waiting for the GIL. The queue is drained, with the GIL, by
//!
//! - the thread that made a blocking call, just before the call returns (so a caller, or
//!   pytest's `caplog`, sees the call's events when it gets its result), and by the completion
//!   callback of an async call on the event loop's thread;
//! - a forwarder thread (`tokenbroker-log`) for events of background work (refresh-ahead),
//!   which waits on the queue without the GIL and attaches only to log.
//!
//! A runtime worker emitting an event therefore never waits for the GIL, so a Python thread
//! that holds the GIL while it waits for the core (e.g. for a cache lock) cannot deadlock
//! with it. Logger names follow the event's module: `tokenbroker.broker.fetch` etc., children
//! of `tokenbroker`. Only events of the `tokenbroker` crates are forwarded.
//!
//! Fork: `os.register_at_fork` hooks (installed by `tokenbroker/__init__.py`) hold the queue
//! lock across `fork()`; the child starts with an empty queue and its own forwarder thread.
//! The lock is std's futex mutex: its unlock in the child frees it outright, where a
//! parking_lot mutex could hand it to a thread that was waiting in the parent (and does not
//! exist in the child). Between those hooks the parent runs other fork hooks (`logging`'s),
//! Python code that may hand the GIL to another thread; so no thread ever waits for the queue
//! lock while it holds the GIL (the forwarder takes its batch before attaching; a caller
//! holding the GIL only tries the lock, and releases the GIL to wait for it).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// Most events kept waiting for Python; older ones are dropped (and counted) beyond this.
const QUEUE_CAP: usize = 10_000;

struct Record {
    level: u8,
    logger: String,
    message: String,
    file: &'static str,
    line: u32,
}

struct Queue {
    records: VecDeque<Record>,
    /// Batches the forwarder thread has taken but not finished logging.
    in_flight: usize,
}

static QUEUE: Mutex<Queue> = Mutex::new(Queue {
    records: VecDeque::new(),
    in_flight: 0,
});
/// Signalled when records arrive (wakes the forwarder).
static READY: Condvar = Condvar::new();
/// Signalled when the forwarder finished a batch.
static DONE: Condvar = Condvar::new();
/// Longest a returning call waits for the forwarder to finish a batch it took.
const SETTLE_WAIT: Duration = Duration::from_secs(1);
static DROPPED: AtomicU64 = AtomicU64::new(0);
/// The pid whose forwarder thread is running (0: none yet).
static FORWARDER_PID: AtomicU32 = AtomicU32::new(0);

/// The queue, locked (a panic while it was held leaves nothing half-done worth refusing).
fn queue() -> MutexGuard<'static, Queue> {
    QUEUE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Installs the layer as the global `tracing` subscriber of this extension (once).
pub(crate) fn install() {
    let subscriber = tracing_subscriber::registry().with(PyLogLayer);
    // Fails only if already installed (a re-import): keep the first one.
    let _ = tracing::subscriber::set_global_default(subscriber);
}

fn python_level(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 40,
        Level::WARN => 30,
        Level::INFO => 20,
        Level::DEBUG => 10,
        Level::TRACE => 5,
    }
}

fn forwarded(meta: &Metadata<'_>) -> bool {
    meta.target().starts_with("tokenbroker")
}

struct PyLogLayer;

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

impl<S> Layer<S> for PyLogLayer
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
        let logger = meta
            .module_path()
            .unwrap_or_else(|| meta.target())
            .replace("::", ".");
        push(Record {
            level: python_level(meta.level()),
            logger,
            message,
            file: meta.file().unwrap_or("<tokenbroker>"),
            line: meta.line().unwrap_or(0),
        });
    }
}

fn push(record: Record) {
    {
        let mut queue = queue();
        if queue.records.len() >= QUEUE_CAP {
            queue.records.pop_front();
            DROPPED.fetch_add(1, Ordering::Relaxed);
        }
        queue.records.push_back(record);
    }
    READY.notify_one();
    ensure_forwarder();
}

fn ensure_forwarder() {
    let pid = std::process::id();
    let running = FORWARDER_PID.load(Ordering::Acquire);
    if running == pid
        || FORWARDER_PID
            .compare_exchange(running, pid, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
    {
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("tokenbroker-log".into())
        .spawn(move || forward(pid));
    if spawned.is_err() {
        // Try again on the next event; meanwhile callers still drain the queue.
        FORWARDER_PID.store(0, Ordering::Release);
    }
}

fn forward(pid: u32) {
    loop {
        // The batch is taken before attaching and settled after detaching: a thread holding
        // the GIL never waits for the queue lock here. The thread that forks holds that lock
        // while the fork hooks run Python code, which may hand the GIL to this thread.
        let records = {
            let mut queue = queue();
            while queue.records.is_empty() {
                queue = READY.wait(queue).unwrap_or_else(PoisonError::into_inner);
            }
            queue.in_flight += 1;
            queue.records.drain(..).collect::<Vec<_>>()
        };
        if std::process::id() != pid {
            return;
        }
        // `None` once the interpreter is shutting down: nothing is left to log to.
        let attached = Python::try_attach(|py| emit(py, records));
        queue().in_flight -= 1;
        DONE.notify_all();
        if attached.is_none() {
            return;
        }
    }
}

static GET_LOGGER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Takes every queued record, holding the GIL: when the lock is taken (by the forwarder for a
/// moment, or across a fork by a thread that may be waiting for the GIL in a fork hook), it is
/// waited for with the GIL released.
fn take(py: Python<'_>) -> Vec<Record> {
    let mut queue = match QUEUE.try_lock() {
        Ok(queue) => queue,
        Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
        Err(std::sync::TryLockError::WouldBlock) => {
            let records = py.detach(|| queue().records.drain(..).collect::<Vec<_>>());
            return records;
        }
    };
    if queue.records.is_empty() {
        return Vec::new();
    }
    queue.records.drain(..).collect()
}

/// Logs every queued event. Needs the GIL; never holds the queue lock while calling Python.
pub(crate) fn drain(py: Python<'_>) {
    let records = take(py);
    if !records.is_empty() {
        emit(py, records);
    }
}

/// Like [`drain`], and also waits (GIL released, at most [`SETTLE_WAIT`]) for a batch the
/// forwarder thread took meanwhile, so that a blocking call's events are all logged when the
/// call returns even if a handler released the GIL while the forwarder was logging them.
pub(crate) fn settle(py: Python<'_>) {
    drain(py);
    // With the GIL held the lock is only tried (see `take`); a busy one is waited for below.
    if QUEUE.try_lock().is_ok_and(|queue| queue.in_flight == 0) {
        return;
    }
    py.detach(|| {
        let mut queue = queue();
        let deadline = std::time::Instant::now() + SETTLE_WAIT;
        while queue.in_flight > 0 {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                break;
            }
            queue = DONE
                .wait_timeout(queue, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    });
    drain(py);
}

fn emit(py: Python<'_>, records: Vec<Record>) {
    let Ok(get_logger) = GET_LOGGER.get_or_try_init(py, || {
        PyResult::Ok(py.import("logging")?.getattr("getLogger")?.unbind())
    }) else {
        return;
    };
    let dropped = DROPPED.swap(0, Ordering::Relaxed);
    if dropped > 0 {
        let _ = get_logger.bind(py).call1(("tokenbroker",)).and_then(|l| {
            l.call_method1(
                "log",
                (
                    30,
                    format!("{dropped} log events were dropped (queue full)"),
                ),
            )
        });
    }
    for record in records {
        if let Err(e) = log(get_logger.bind(py), record) {
            // A failing handler must not break token calls; show it like logging does.
            e.print(py);
        }
    }
}

/// `logger.handle(logger.makeRecord(...))` when enabled, so that the record carries the Rust
/// source location instead of this module's.
fn log(get_logger: &Bound<'_, PyAny>, r: Record) -> PyResult<()> {
    let logger = get_logger.call1((&r.logger,))?;
    if !logger
        .call_method1("isEnabledFor", (r.level,))?
        .is_truthy()?
    {
        return Ok(());
    }
    let record = logger.call_method1(
        "makeRecord",
        (
            &r.logger,
            r.level,
            r.file,
            r.line,
            r.message,
            pyo3::types::PyTuple::empty(logger.py()),
            logger.py().None(),
        ),
    )?;
    logger.call_method1("handle", (record,))?;
    Ok(())
}

/// Logs queued events now (tests and shutdown hooks; normally not needed).
#[pyfunction]
pub fn _flush_logs(py: Python<'_>) {
    drain(py);
}

thread_local! {
    /// The queue lock held across a fork by the forking thread (`_before_fork`).
    static FORK_GUARD: RefCell<Option<MutexGuard<'static, Queue>>> = const { RefCell::new(None) };
}

/// `os.register_at_fork(before=…)`: no other thread may hold the queue lock across the fork.
#[pyfunction]
pub fn _before_fork() {
    let guard = queue();
    FORK_GUARD.with(|g| *g.borrow_mut() = Some(guard));
}

/// `os.register_at_fork(after_in_parent=…)`.
#[pyfunction]
pub fn _after_fork_parent() {
    FORK_GUARD.with(|g| drop(g.borrow_mut().take()));
}

/// `os.register_at_fork(after_in_child=…)`: the parent's pending events are the parent's.
#[pyfunction]
pub fn _after_fork_child() {
    FORK_GUARD.with(|g| {
        if let Some(mut queue) = g.borrow_mut().take() {
            queue.records.clear();
            queue.in_flight = 0;
        }
    });
}
