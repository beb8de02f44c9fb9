//! Core errors → the exception classes of `tokenbroker/_errors.py`.
//!
//! The classes are defined in Python (so they pickle, subclass and document like any Python
//! exception); this module only picks the class by the core's stable kind name and passes the
//! core's message (already free of secrets) and structured fields.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyType};
use tokenbroker::Error;

static BY_KIND: PyOnceLock<Py<PyDict>> = PyOnceLock::new();
static BASE: PyOnceLock<Py<PyType>> = PyOnceLock::new();

fn errors_module(py: Python<'_>) -> PyResult<Bound<'_, PyModule>> {
    py.import("tokenbroker._errors")
}

/// The exception class for `kind` (`"oauth"`, …); the base class for a kind this package
/// does not know yet.
fn class_for<'py>(py: Python<'py>, kind: &str) -> PyResult<Bound<'py, PyType>> {
    let by_kind = BY_KIND.get_or_try_init(py, || {
        errors_module(py)?
            .getattr("BY_KIND")?
            .cast_into::<PyDict>()
            .map(Bound::unbind)
            .map_err(PyErr::from)
    })?;
    if let Some(class) = by_kind.bind(py).get_item(kind)? {
        return Ok(class.cast_into::<PyType>()?);
    }
    let base = BASE.get_or_try_init(py, || {
        errors_module(py)?
            .getattr("TokenBrokerError")?
            .cast_into::<PyType>()
            .map(Bound::unbind)
            .map_err(PyErr::from)
    })?;
    Ok(base.bind(py).clone())
}

/// The exception instance for `err` (not raised yet).
pub(crate) fn to_exception<'py>(py: Python<'py>, err: &Error) -> PyResult<Bound<'py, PyAny>> {
    let kind = err.kind().as_str();
    let class = class_for(py, kind)?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("kind", kind)?;
    kwargs.set_item("status", err.status())?;
    if let Some(wait) = err.retry_after() {
        kwargs.set_item("retry_after", wait.as_secs())?;
    }
    if let Some(oauth) = err.oauth() {
        kwargs.set_item("error", &oauth.error)?;
        kwargs.set_item("description", oauth.description.as_deref())?;
        kwargs.set_item("uri", oauth.uri.as_deref())?;
        kwargs.set_item("provider_codes", oauth.provider_codes.clone())?;
    }
    class.call((err.to_string(),), Some(&kwargs))
}

/// The `PyErr` to raise for `err`.
pub(crate) fn to_pyerr(py: Python<'_>, err: &Error) -> PyErr {
    match to_exception(py, err) {
        Ok(exc) => PyErr::from_value(exc),
        // Only when the package's Python part is broken; still say what happened.
        Err(e) => PyRuntimeError::new_err(format!("{err} (and the exception class failed: {e})")),
    }
}
