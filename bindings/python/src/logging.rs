//! `tracing` events of the core → Python `logging`, under the `tokenbroker` logger.
//!
//! Which events, their text, their logger name and the queue bound are the core's
//! ([`tokenbroker::advanced::logs`]); this module turns its records into `logging` calls, with the
//! GIL.
//!
//! Design (no deadlock, whoever emits): the core's layer never touches Python. It formats the
//! event and pushes it onto the core's bounded [`LogQueue`], guarded by a mutex that is never
//! held while waiting for the GIL. The queue is drained, with the GIL, by
//!
//! - the thread that made a blocking call, just before the call returns (so a caller, or
//!   pytest's `caplog`, sees the call's events when it gets its result), and by the completion
//!   callback of an async call on the event loop's thread;
//! - a forwarder thread (`tokenbroker-log`) for events of background work (refresh-ahead),
//!   which waits on the queue without the GIL and attaches only to log.
//!
//! A runtime worker emitting an event therefore never waits for the GIL, so a Python thread
//! that holds the GIL while it waits for the core (e.g. for a cache lock) cannot deadlock
//! with it. Logger names are the records' dotted targets (`tokenbroker.broker.fetch` etc.,
//! children of `tokenbroker`); every level is forwarded, `logging` decides what to keep.
//!
//! Fork: `os.register_at_fork` hooks (installed by `tokenbroker/__init__.py`) hold the queue
//! lock across `fork()`; the child starts with an empty queue and its own forwarder thread.
//! Between those hooks the parent runs other fork hooks (`logging`'s), Python code that may
//! hand the GIL to another thread; so no thread ever waits for the queue lock while it holds
//! the GIL (the forwarder takes its batch before attaching; a caller
//! holding the GIL only tries the lock, and releases the GIL to wait for it).

use std::cell::RefCell;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use tokenbroker::advanced::logs::{self, ForkHold, Level, LogFilter, LogQueue, LogRecord};

/// Every level: Python's logger levels decide what is kept.
static FILTER: LogFilter = LogFilter::new(Some(Level::TRACE));
/// Records waiting for Python; its forwarder thread logs those no caller drains.
static QUEUE: LogQueue = LogQueue::with_forwarder(forward);
/// Longest a returning call waits for the forwarder to finish a batch it took.
const SETTLE_WAIT: Duration = Duration::from_secs(1);

/// Installs the core's forwarding layer as the global `tracing` subscriber of this extension
/// (once).
pub(crate) fn install() {
    // Fails only if already installed (a re-import): keep the first one.
    let _ = logs::install(&FILTER, |record| QUEUE.push(record));
}

fn python_level(level: Level) -> u8 {
    match level {
        Level::ERROR => 40,
        Level::WARN => 30,
        Level::INFO => 20,
        Level::DEBUG => 10,
        _ => 5,
    }
}

/// The forwarder thread's delivery. The queue hands it a batch it took before, and settles
/// it after: a thread holding the GIL never waits for the queue lock here. The thread that
/// forks holds that lock while the fork hooks run Python code, which may hand the GIL to
/// this thread. False (the thread ends) once the interpreter is shutting down: nothing is
/// left to log to.
fn forward(records: Vec<LogRecord>) -> bool {
    Python::try_attach(|py| emit(py, records)).is_some()
}

static GET_LOGGER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Takes every queued record, holding the GIL: when the lock is taken (by the forwarder for a
/// moment, or across a fork by a thread that may be waiting for the GIL in a fork hook), it is
/// waited for with the GIL released.
fn take(py: Python<'_>) -> Vec<LogRecord> {
    match QUEUE.try_take() {
        Some(records) => records,
        None => py.detach(|| QUEUE.take()),
    }
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
    if QUEUE.settled_now() {
        return;
    }
    py.detach(|| QUEUE.wait_settled(SETTLE_WAIT));
    drain(py);
}

fn emit(py: Python<'_>, records: Vec<LogRecord>) {
    let Ok(get_logger) = GET_LOGGER.get_or_try_init(py, || {
        PyResult::Ok(py.import("logging")?.getattr("getLogger")?.unbind())
    }) else {
        return;
    };
    for record in records {
        if let Err(e) = log(get_logger.bind(py), record) {
            // A failing handler must not break token calls; show it like logging does.
            e.print(py);
        }
    }
}

/// `logger.handle(logger.makeRecord(...))` when enabled, so that the record carries the Rust
/// source location instead of this module's.
fn log(get_logger: &Bound<'_, PyAny>, r: LogRecord) -> PyResult<()> {
    let level = python_level(r.level);
    let logger = get_logger.call1((&r.target,))?;
    if !logger.call_method1("isEnabledFor", (level,))?.is_truthy()? {
        return Ok(());
    }
    let record = logger.call_method1(
        "makeRecord",
        (
            &r.target,
            level,
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
    static FORK_HOLD: RefCell<Option<ForkHold<'static>>> = const { RefCell::new(None) };
}

/// `os.register_at_fork(before=…)`: no other thread may hold the queue lock across the fork.
#[pyfunction]
pub fn _before_fork() {
    let hold = QUEUE.hold_for_fork();
    FORK_HOLD.with(|h| *h.borrow_mut() = Some(hold));
}

/// `os.register_at_fork(after_in_parent=…)`.
#[pyfunction]
pub fn _after_fork_parent() {
    FORK_HOLD.with(|h| drop(h.borrow_mut().take()));
}

/// `os.register_at_fork(after_in_child=…)`: the parent's pending events are the parent's.
#[pyfunction]
pub fn _after_fork_child() {
    FORK_HOLD.with(|h| {
        if let Some(hold) = h.borrow_mut().take() {
            hold.release_in_child();
        }
    });
}
