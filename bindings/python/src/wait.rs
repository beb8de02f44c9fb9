//! Running core futures from Python with the GIL released (the asyncio side is in
//! `asyncio.rs`).
//!
//! Both spawn the future on the core's one runtime (`tokenbroker::advanced::runtime::handle()`,
//! rebuilt after a fork), so a caller that gives up (Ctrl-C, a cancelled asyncio task) leaves a
//! token fetch running for the other callers that joined it; a sign-in given up on is stopped.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::Duration;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

/// How often a blocked call wakes up to let Python run signal handlers (Ctrl-C).
const TICK: Duration = Duration::from_millis(50);

/// What the waiting thread receives from the core task.
enum Msg<T, E> {
    /// Something to hand to Python on the waiting thread (a login URL, a device code).
    Event(E),
    /// The result.
    Done(T),
}

/// Runs `future` on the core runtime and waits for it with the GIL released, waking every
/// [`TICK`] to run `check_signals` so that `KeyboardInterrupt` ends the wait promptly. A
/// caller that gives up leaves `future` running (a token fetch others may have joined).
pub(crate) fn block<T, F>(py: Python<'_>, future: F) -> PyResult<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let (tx, rx) = channel();
    tokenbroker::advanced::runtime::handle().spawn(async move {
        let _ = tx.send(Msg::Done(future.await));
    });
    wait(py, rx, |_, never: Infallible| match never {})
}

/// Hands events from the core task to Python: to the waiting thread ([`block_with`]) or to
/// the event loop ([`to_asyncio_with`]). Never takes the GIL itself.
pub(crate) struct Emitter<E>(pub(crate) Arc<dyn Fn(E) + Send + Sync>);

impl<E> Clone for Emitter<E> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<E> Emitter<E> {
    pub(crate) fn emit(&self, event: E) {
        (self.0)(event);
    }
}

/// Like [`block`], for core calls that report progress through callbacks (a sign-in): `make`
/// builds the future with an [`Emitter`], and each event is handed to `on_event` on the
/// waiting thread, with the GIL, while the core keeps running. An error from `on_event` (or
/// Ctrl-C) ends the wait and stops the sign-in: its listener closes, its polling ends.
pub(crate) fn block_with<T, E, F>(
    py: Python<'_>,
    make: impl FnOnce(Emitter<E>) -> F,
    on_event: impl FnMut(Python<'_>, E) -> PyResult<()>,
) -> PyResult<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    let (tx, rx) = channel();
    let events = tx.clone();
    let future = make(Emitter(Arc::new(move |event| {
        let _ = events.send(Msg::Event(event));
    })));
    let task = tokenbroker::advanced::runtime::handle().spawn(async move {
        let _ = tx.send(Msg::Done(future.await));
    });
    let result = wait(py, rx, on_event);
    if result.is_err() {
        task.abort();
    }
    result
}

/// The waiting thread's loop of [`block`] and [`block_with`].
fn wait<T, E>(
    py: Python<'_>,
    mut rx: Receiver<Msg<T, E>>,
    mut on_event: impl FnMut(Python<'_>, E) -> PyResult<()>,
) -> PyResult<T>
where
    T: Send,
    E: Send,
{
    let result = loop {
        let (back, received) = py.detach(move || {
            let received = rx.recv_timeout(TICK);
            (rx, received)
        });
        rx = back;
        match received {
            Ok(Msg::Done(value)) => break Ok(value),
            Ok(Msg::Event(event)) => {
                crate::logging::drain(py);
                if let Err(e) = on_event(py, event) {
                    break Err(e);
                }
            }
            Err(RecvTimeoutError::Timeout) => {
                if let Err(e) = py.check_signals() {
                    break Err(e);
                }
            }
            Err(RecvTimeoutError::Disconnected) => break Err(no_result()),
        }
    };
    // Events logged by the call reach `logging` before the call returns.
    crate::logging::settle(py);
    result
}

fn no_result() -> PyErr {
    PyRuntimeError::new_err("tokenbroker task ended without a result")
}
