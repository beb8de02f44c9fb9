//! `Broker`: the core broker behind the GIL-free waits of `wait.rs` and the asyncio futures
//! of `asyncio.rs`. This file holds the object, its lifetime and the shared conversions; the
//! operations are grouped by concept in the sibling files (each its own `#[pymethods]`).

mod cache;
mod clients;
mod sign_in;
mod tokens;

use std::future::Future;
use std::path::PathBuf;

use parking_lot::Mutex;
use pyo3::IntoPyObjectExt;
use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyNone, PyString};
use tokenbroker::{AccessToken, Broker, Config};

use crate::asyncio::{self, Outcome};
use crate::convert;
use crate::errors::{to_exception, to_pyerr};
use crate::token::PyAccessToken;
use crate::wait;

/// The native broker. `tokenbroker.Broker` subclasses it (adding the HTTP-client adapters).
#[pyclass(
    frozen,
    subclass,
    module = "tokenbroker._tokenbroker",
    name = "BrokerBase"
)]
pub struct PyBroker {
    /// Locked only for a memory lookup or to clone the broker, never across a wait.
    state: Mutex<State>,
}

/// The core broker plus a memo of the last conversions, so that the warm path converts
/// nothing it converted before: the profile name of the same `str` object is not decoded
/// again, and the same core token (same `AccessToken::id`) is handed out as the same
/// `AccessToken` object. Both are identity checks; no token state lives
/// here (validity and expiry are decided by the core on every call).
struct State {
    /// `None` once closed.
    broker: Option<Broker>,
    profile_obj: Option<Py<PyString>>,
    profile: String,
    last: Option<(AccessToken, Py<PyAccessToken>)>,
}

fn closed() -> PyErr {
    PyRuntimeError::new_err("this Broker is closed")
}

impl PyBroker {
    /// A clone of the core broker (one `Arc`), for calls that outlive the lock.
    fn broker(&self) -> PyResult<Broker> {
        self.state.lock().broker.clone().ok_or_else(closed)
    }
}

/// Runs a core call to its end with the GIL released; its error as the matching exception.
fn run<X: Send + 'static>(
    py: Python<'_>,
    call: impl Future<Output = tokenbroker::Result<X>> + Send + 'static,
) -> PyResult<X> {
    wait::block(py, call)?.map_err(|e| to_pyerr(py, &e))
}

/// A core call as an asyncio future of the running loop, settled with `call`'s value
/// converted to Python, or with the matching exception.
fn run_async<'py, X>(
    py: Python<'py>,
    call: impl Future<Output = tokenbroker::Result<X>> + Send + 'static,
) -> PyResult<Bound<'py, PyAny>>
where
    X: for<'a> IntoPyObject<'a> + Send + 'static,
{
    asyncio::to_asyncio(py, call, outcome)
}

/// The `None` an async call without a value resolves to (`()` would become `()` in Python).
struct Nothing;

impl<'py> IntoPyObject<'py> for Nothing {
    type Target = PyNone;
    type Output = Borrowed<'py, 'py, PyNone>;
    type Error = std::convert::Infallible;

    fn into_pyobject(self, py: Python<'py>) -> Result<Self::Output, Self::Error> {
        Ok(PyNone::get(py))
    }
}

/// A core result → what an asyncio future is settled with.
fn outcome<X: for<'a> IntoPyObject<'a>>(py: Python<'_>, result: tokenbroker::Result<X>) -> Outcome {
    match result {
        Ok(value) => value
            .into_py_any(py)
            .map_err(|e| e.into_value(py).into_any()),
        Err(e) => {
            Err(to_exception(py, &e).map_or_else(|e| e.into_value(py).into_any(), Bound::unbind))
        }
    }
}

#[pymethods]
impl PyBroker {
    /// `Broker(config=None, *, config_file=None)`: from a dict shaped like the TOML file, from
    /// TOML text, from that file, or (neither given) from `$TOKENBROKER_CONFIG` or
    /// `~/.config/tokenbroker/config.toml`.
    #[new]
    #[pyo3(signature = (config = None, *, config_file = None))]
    fn new(
        py: Python<'_>,
        config: Option<&Bound<'_, PyAny>>,
        config_file: Option<PathBuf>,
    ) -> PyResult<Self> {
        let config = match (config.filter(|c| !c.is_none()), config_file) {
            (Some(_), Some(_)) => {
                return Err(PyTypeError::new_err(
                    "give either a config (dict or TOML text) or config_file, not both",
                ));
            }
            (Some(text), None) if text.is_instance_of::<PyString>() => {
                Config::from_toml_str(&text.extract::<String>()?)
            }
            (Some(dict), None) => Config::from_value(convert::config_value(dict)?),
            (None, path) => Config::discover(path.as_deref()),
        };
        let broker = config.and_then(Broker::new).map_err(|e| to_pyerr(py, &e))?;
        Ok(Self {
            state: Mutex::new(State {
                broker: Some(broker),
                profile_obj: None,
                profile: String::new(),
                last: None,
            }),
        })
    }

    /// The broker's counters: hits, misses, shared_hits, fetches, …, fetch latency in ms.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let stats = self.broker()?.stats();
        let dict = PyDict::new(py);
        for entry in stats.entries() {
            if entry.unit == "count" {
                dict.set_item(entry.name, entry.value as u64)?;
            } else {
                dict.set_item(entry.name, entry.value)?;
            }
        }
        Ok(dict)
    }

    /// Names of the configured profiles, sorted.
    fn profile_names(&self) -> PyResult<Vec<String>> {
        Ok(self.broker()?.profile_names())
    }

    /// An alias of `profile_names()` (the name this package used first).
    fn profiles(&self) -> PyResult<Vec<String>> {
        self.profile_names()
    }

    /// Makes every later call raise `RuntimeError` and drops the core broker's memory cache
    /// and connections now (background work holding them ends on its own).
    fn close(&self) {
        let (broker, profile, last) = {
            let mut state = self.state.lock();
            (
                state.broker.take(),
                state.profile_obj.take(),
                state.last.take(),
            )
        };
        drop((broker, profile, last));
    }

    /// Whether `close()` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.state.lock().broker.is_none()
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let class = slf.get_type().qualname()?;
        let this = slf.get();
        Ok(match this.state.lock().broker.as_ref() {
            Some(b) => format!(
                "<{class} profiles={:?} store={:?}>",
                b.profile_names(),
                b.config().cache().store
            ),
            None => format!("<{class} closed>"),
        })
    }
}
