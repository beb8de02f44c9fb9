//! `AccessToken`: a thin wrapper over the core's reference-counted token.
//!
//! Creating one only clones an `Arc`; every attribute is converted when it is read, so the
//! warm `Broker.token()` path allocates one small Python object and nothing else.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyTuple;
use tokenbroker::AccessToken;

/// An OAuth 2.0 access token. `repr()` and `str()` never show the token itself.
#[pyclass(frozen, freelist = 64, module = "tokenbroker", name = "AccessToken")]
pub struct PyAccessToken(pub(crate) AccessToken);

static FROM_TIMESTAMP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static UTC: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

pub(crate) fn utc_datetime(py: Python<'_>, unix: f64) -> PyResult<Bound<'_, PyAny>> {
    let from_ts = FROM_TIMESTAMP.get_or_try_init(py, || {
        PyResult::Ok(
            py.import("datetime")?
                .getattr("datetime")?
                .getattr("fromtimestamp")?
                .unbind(),
        )
    })?;
    let utc = UTC.get_or_try_init(py, || {
        PyResult::Ok(
            py.import("datetime")?
                .getattr("timezone")?
                .getattr("utc")?
                .unbind(),
        )
    })?;
    from_ts.bind(py).call1((unix, utc.bind(py)))
}

#[pymethods]
impl PyAccessToken {
    /// The access token value, to send to the resource server.
    #[getter]
    fn access_token(&self) -> &str {
        self.0.secret()
    }

    /// The token type as the provider spelled it, e.g. `Bearer`.
    #[getter]
    fn token_type(&self) -> &str {
        self.0.token_type()
    }

    /// When the token expires, as an aware UTC `datetime`.
    #[getter]
    fn expires_at<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        utc_datetime(py, self.0.expires_at_unix())
    }

    /// When the token expires, in seconds since the Unix epoch.
    #[getter]
    fn expires_at_unix(&self) -> f64 {
        self.0.expires_at_unix()
    }

    /// Seconds until the token expires (0.0 once expired).
    #[getter]
    fn expires_in(&self) -> f64 {
        self.0.remaining().as_secs_f64()
    }

    /// The granted scopes.
    #[getter]
    fn scopes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.0.scopes())
    }

    /// The value for an `Authorization` header, e.g. `Bearer eyJ…`.
    fn header(&self) -> String {
        self.0.header()
    }

    fn __str__(&self) -> String {
        self.0.to_string()
    }

    fn __repr__(&self) -> String {
        format!(
            "<AccessToken token_type={:?} scopes={:?} expires_in={}s>",
            self.0.token_type(),
            self.0.scopes(),
            self.0.remaining().as_secs()
        )
    }
}
