//! Core futures as asyncio futures of the running loop.
//!
//! The future runs on the core's runtime; its result (and any event it reports on the way, a
//! login URL or a device code) reaches the loop through `call_soon_threadsafe`. Conversions
//! that need the GIL run on a blocking-pool thread, so no runtime worker waits for the GIL.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use tokio::sync::mpsc::unbounded_channel;
use tokio::task::AbortHandle;

use crate::wait::Emitter;

/// How a finished future is turned into a Python value on the event loop's side: the value,
/// or an exception instance (for `set_exception`).
pub(crate) type Outcome = Result<Py<PyAny>, Py<PyAny>>;

static LOOP_OF: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static COMPLETE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static DELIVER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

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

/// Calls `callback(event)` on the event loop's thread unless `future` is settled already; an
/// exception the callback raises becomes `future`'s exception (which stops the core task).
#[pyfunction]
fn _deliver(
    future: &Bound<'_, PyAny>,
    callback: &Bound<'_, PyAny>,
    event: &Bound<'_, PyAny>,
) -> PyResult<()> {
    crate::logging::drain(future.py());
    if future.call_method0("done")?.is_truthy()? {
        return Ok(());
    }
    let Err(raised) = callback.call1((event,)) else {
        return Ok(());
    };
    let py = future.py();
    let raised = raised.into_value(py);
    if future.call_method1("set_exception", (&raised,)).is_err() {
        // asyncio refuses StopIteration here; say so, as asyncio does for a coroutine.
        let wrapped = PyRuntimeError::new_err("a callback raised StopIteration");
        wrapped.set_cause(
            py,
            Some(PyErr::from_value(raised.into_bound(py).into_any())),
        );
        future.call_method1("set_exception", (wrapped.into_value(py),))?;
    }
    Ok(())
}

/// Stops the core task of an async sign-in once its asyncio future is done (settled,
/// failed in a callback, or cancelled); a no-op when the task already ended.
#[pyclass(frozen, module = "tokenbroker._tokenbroker")]
struct StopTask(AbortHandle);

#[pymethods]
impl StopTask {
    fn __call__(&self, _future: &Bound<'_, PyAny>) {
        self.0.abort();
    }
}

/// The running loop and a new future of it.
fn new_future(py: Python<'_>) -> PyResult<(Bound<'_, PyAny>, Bound<'_, PyAny>)> {
    let get_loop = LOOP_OF.get_or_try_init(py, || {
        PyResult::Ok(py.import("asyncio")?.getattr("get_running_loop")?.unbind())
    })?;
    let event_loop = get_loop.bind(py).call0()?;
    let future = event_loop.call_method0("create_future")?;
    Ok((event_loop, future))
}

/// The `#[pyfunction]` in `cell`, made on first use.
fn function(
    py: Python<'_>,
    cell: &'static PyOnceLock<Py<PyAny>>,
    make: fn(Python<'_>) -> PyResult<Bound<'_, pyo3::types::PyCFunction>>,
) -> PyResult<Py<PyAny>> {
    let f = cell.get_or_try_init(py, || PyResult::Ok(make(py)?.into_any().unbind()))?;
    Ok(f.clone_ref(py))
}

/// An asyncio future of the running loop, settled from the core runtime when `future` ends.
/// Cancelling it leaves `future` running (a token fetch others may have joined).
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
    start(
        py,
        |_: Emitter<Infallible>| future,
        |_, never: Infallible| match never {},
        None,
        convert,
        false,
    )
}

/// Like [`to_asyncio`], for core calls that report progress (a sign-in): each event `make`'s
/// [`Emitter`] sends is converted by `event_to_py` and handed to `callback` on the loop's
/// thread, in order, before the result. Once the asyncio future is done (a callback raised,
/// the caller cancelled) the sign-in is stopped.
pub(crate) fn to_asyncio_with<'py, T, E, F, V, C>(
    py: Python<'py>,
    make: impl FnOnce(Emitter<E>) -> F,
    event_to_py: V,
    callback: Option<Bound<'py, PyAny>>,
    convert: C,
) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
    E: Send + 'static,
    V: for<'a> Fn(Python<'a>, E) -> PyResult<Py<PyAny>> + Send + Sync + 'static,
    C: for<'a> FnOnce(Python<'a>, T) -> Outcome + Send + 'static,
{
    let callback = callback.filter(|c| !c.is_none()).map(Bound::unbind);
    start(py, make, event_to_py, callback, convert, true)
}

/// What the core task sends to the task that talks to the loop.
enum Msg<T, E> {
    Event(E),
    Done(T),
}

/// The Python objects the loop-side work needs; shared (not cloned) across threads, since
/// cloning a `Py` needs the GIL.
struct LoopSide {
    event_loop: Py<PyAny>,
    target: Py<PyAny>,
    complete: Py<PyAny>,
    deliver: Py<PyAny>,
    callback: Option<Py<PyAny>>,
}

impl LoopSide {
    fn settle(&self, py: Python<'_>, outcome: Outcome) {
        let (value, failed) = match outcome {
            Ok(v) => (v, false),
            Err(e) => (e, true),
        };
        // A closed loop has no one left to tell: ignore its RuntimeError.
        let _ = self.event_loop.bind(py).call_method1(
            "call_soon_threadsafe",
            (&self.complete, &self.target, value, failed),
        );
    }

    fn deliver(&self, py: Python<'_>, event: Py<PyAny>) {
        if let Some(callback) = &self.callback {
            let _ = self.event_loop.bind(py).call_method1(
                "call_soon_threadsafe",
                (&self.deliver, &self.target, callback, event),
            );
        }
    }
}

fn exception(py: Python<'_>, err: PyErr) -> Py<PyAny> {
    err.into_value(py).into_any()
}

type LoopWork = Box<dyn for<'py> FnOnce(Python<'py>) + Send>;

fn start<'py, T, E, F, V, C>(
    py: Python<'py>,
    make: impl FnOnce(Emitter<E>) -> F,
    event_to_py: V,
    callback: Option<Py<PyAny>>,
    convert: C,
    stop_when_done: bool,
) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
    E: Send + 'static,
    V: for<'a> Fn(Python<'a>, E) -> PyResult<Py<PyAny>> + Send + Sync + 'static,
    C: for<'a> FnOnce(Python<'a>, T) -> Outcome + Send + 'static,
{
    let (event_loop, py_future) = new_future(py)?;
    let side = Arc::new(LoopSide {
        event_loop: event_loop.unbind(),
        target: py_future.clone().unbind(),
        complete: function(py, &COMPLETE, |py| wrap_pyfunction!(_complete, py))?,
        deliver: function(py, &DELIVER, |py| wrap_pyfunction!(_deliver, py))?,
        callback,
    });
    let (tx, mut rx) = unbounded_channel::<Msg<T, E>>();
    let events = tx.clone();
    let future = make(Emitter(Arc::new(move |event| {
        let _ = events.send(Msg::Event(event));
    })));
    let handle = tokenbroker::advanced::runtime::handle();
    let task = handle.spawn(async move {
        let _ = tx.send(Msg::Done(future.await));
    });
    if stop_when_done {
        py_future.call_method1("add_done_callback", (StopTask(task.abort_handle()),))?;
    }
    let blocking = handle.clone();
    let event_to_py = Arc::new(event_to_py);
    let mut convert = Some(convert);
    handle.spawn(async move {
        loop {
            let msg = rx.recv().await;
            let last = !matches!(msg, Some(Msg::Event(_)));
            let side = Arc::clone(&side);
            let work: LoopWork = match (msg, convert.take_if(|_| last)) {
                (Some(Msg::Event(event)), _) => {
                    let event_to_py = Arc::clone(&event_to_py);
                    Box::new(move |py| match event_to_py(py, event) {
                        Ok(obj) => side.deliver(py, obj),
                        Err(e) => side.settle(py, Err(exception(py, e))),
                    })
                }
                (Some(Msg::Done(value)), Some(convert)) => {
                    Box::new(move |py| side.settle(py, convert(py, value)))
                }
                // The core task was stopped (the future is done already) or panicked.
                _ => Box::new(move |py| {
                    let e = PyRuntimeError::new_err("tokenbroker task ended without a result");
                    side.settle(py, Err(exception(py, e)));
                }),
            };
            // Waiting for the GIL belongs on a blocking thread, not on a runtime worker.
            let _ = blocking
                .spawn_blocking(move || Python::try_attach(work))
                .await;
            if last {
                break;
            }
        }
    });
    Ok(py_future)
}

/// Settles an asyncio future at once (a cache hit in an async call).
pub(crate) fn ready<'py>(py: Python<'py>, value: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let (_, py_future) = new_future(py)?;
    py_future.call_method1("set_result", (value,))?;
    Ok(py_future)
}
