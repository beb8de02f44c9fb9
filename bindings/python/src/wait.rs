//! Running core futures from Python: blocking with the GIL released, or as asyncio futures.
//!
//! Both spawn the future on the core's one runtime (`tokenbroker::runtime::handle()`, rebuilt
//! after a fork), so a caller that gives up (Ctrl-C, a cancelled asyncio task) leaves the
//! fetch running for the other callers that joined it.

use std::convert::Infallible;
use std::future::Future;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::Duration;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

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
/// [`TICK`] to run `check_signals` so that `KeyboardInterrupt` ends the wait promptly.
pub(crate) fn block<T, F>(py: Python<'_>, future: F) -> PyResult<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    block_with(
        py,
        |_: Emitter<T, Infallible>| future,
        |_, never| match never {},
    )
}

/// Sends events from the core task to the waiting thread.
pub(crate) struct Emitter<T, E>(Sender<Msg<T, E>>);

impl<T, E> Emitter<T, E> {
    pub(crate) fn emit(&self, event: E) {
        let _ = self.0.send(Msg::Event(event));
    }
}

/// Like [`block`], for core calls that report progress through callbacks: `make` builds the
/// future with an [`Emitter`], and each event is handed to `on_event` on the waiting thread,
/// with the GIL, while the core keeps running. An error from `on_event` ends the wait.
pub(crate) fn block_with<T, E, F>(
    py: Python<'_>,
    make: impl FnOnce(Emitter<T, E>) -> F,
    mut on_event: impl FnMut(Python<'_>, E) -> PyResult<()>,
) -> PyResult<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    let (tx, rx) = channel();
    let future = make(Emitter(tx.clone()));
    tokenbroker::runtime::handle().spawn(async move {
        let _ = tx.send(Msg::Done(future.await));
    });
    let mut rx: Receiver<Msg<T, E>> = rx;
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
            Err(RecvTimeoutError::Disconnected) => {
                break Err(PyRuntimeError::new_err(
                    "tokenbroker task ended without a result",
                ));
            }
        }
    };
    // Events logged by the call reach `logging` before the call returns.
    crate::logging::settle(py);
    result
}

/// How a finished future is turned into a Python value on the event loop's side: the value,
/// or an exception instance (for `set_exception`).
pub(crate) type Outcome = Result<Py<PyAny>, Py<PyAny>>;

static LOOP_OF: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static COMPLETE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Settles `future` unless it was cancelled meanwhile; runs on the event loop's thread.
#[pyfunction]
fn _complete(future: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>, failed: bool) -> PyResult<()> {
    crate::logging::drain(future.py());
    if future.call_method0("done")?.is_truthy()? {
        return Ok(());
    }
    let method = if failed {
        "set_exception"
    } else {
        "set_result"
    };
    future.call_method1(method, (value,))?;
    Ok(())
}

/// An asyncio future of the running loop, settled from the core runtime when `future` ends.
///
/// `convert` runs with the GIL (on a blocking-pool thread, so no runtime worker ever waits for
/// the GIL) and the result reaches the loop through `call_soon_threadsafe`.
pub(crate) fn to_asyncio<'py, T, F, C>(
    py: Python<'py>,
    future: F,
    convert: C,
) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
    C: for<'a> FnOnce(Python<'a>, T) -> Outcome + Send + 'static,
{
    let get_loop = LOOP_OF.get_or_try_init(py, || {
        PyResult::Ok(py.import("asyncio")?.getattr("get_running_loop")?.unbind())
    })?;
    let event_loop = get_loop.bind(py).call0()?;
    let py_future = event_loop.call_method0("create_future")?;
    let complete = COMPLETE.get_or_try_init(py, || {
        PyResult::Ok(wrap_pyfunction!(_complete, py)?.into_any().unbind())
    })?;
    let complete = complete.clone_ref(py);
    let event_loop = event_loop.unbind();
    let target = py_future.clone().unbind();
    let handle = tokenbroker::runtime::handle();
    let blocking = handle.clone();
    handle.spawn(async move {
        let value = future.await;
        // Waiting for the GIL belongs on a blocking thread, not on a runtime worker.
        let _ = blocking
            .spawn_blocking(move || {
                Python::try_attach(|py| {
                    let (value, failed) = match convert(py, value) {
                        Ok(v) => (v, false),
                        Err(e) => (e, true),
                    };
                    // A closed loop has no one left to tell: ignore its RuntimeError.
                    let _ = event_loop
                        .bind(py)
                        .call_method1("call_soon_threadsafe", (complete, target, value, failed));
                })
            })
            .await;
    });
    Ok(py_future)
}

/// Settles an asyncio future at once (a cache hit in an async call).
pub(crate) fn ready<'py>(py: Python<'py>, value: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let get_loop = LOOP_OF.get_or_try_init(py, || {
        PyResult::Ok(py.import("asyncio")?.getattr("get_running_loop")?.unbind())
    })?;
    let py_future = get_loop.bind(py).call0()?.call_method0("create_future")?;
    py_future.call_method1("set_result", (value,))?;
    Ok(py_future)
}
