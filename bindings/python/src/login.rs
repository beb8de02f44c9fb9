//! Types of the interactive sign-in and client-registration calls.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use tokenbroker::DeviceAuthorization;
use tokenbroker::PendingLogin;
use tokenbroker::RegisteredClient;

/// A sign-in started by `Broker.begin_login`: open `url`, then give the redirect the app
/// received to `Broker.complete_login` (or the form_post body to `complete_login_form`).
#[pyclass(frozen, module = "tokenbroker", name = "PendingLogin")]
pub struct PyPendingLogin(pub(crate) PendingLogin);

#[pymethods]
impl PyPendingLogin {
    /// The authorization URL to open.
    #[getter]
    fn url(&self) -> &str {
        self.0.url()
    }

    /// The `state` the redirect must carry.
    #[getter]
    fn state(&self) -> &str {
        self.0.state()
    }

    /// The profile being signed in.
    #[getter]
    fn profile(&self) -> &str {
        self.0.profile()
    }

    fn __repr__(&self) -> String {
        format!("<PendingLogin profile={:?}>", self.0.profile())
    }
}

/// What the user must do to approve a device sign-in (RFC 8628).
#[pyclass(frozen, module = "tokenbroker", name = "DeviceCode", get_all)]
pub struct PyDeviceCode {
    /// The code the user types at `verification_uri`.
    user_code: String,
    /// Where the user goes to approve.
    verification_uri: String,
    /// `verification_uri` with the code filled in, when the server gave one.
    verification_uri_complete: Option<String>,
    /// Seconds the code stays valid.
    expires_in: f64,
    /// Seconds between polls.
    interval: f64,
    /// The scopes requested.
    scopes: Vec<String>,
}

impl From<&DeviceAuthorization> for PyDeviceCode {
    fn from(d: &DeviceAuthorization) -> Self {
        Self {
            user_code: d.user_code.clone(),
            verification_uri: d.verification_uri.clone(),
            verification_uri_complete: d.verification_uri_complete.clone(),
            expires_in: d.expires_in.as_secs_f64(),
            interval: d.interval.as_secs_f64(),
            scopes: d.scopes.clone(),
        }
    }
}

#[pymethods]
impl PyDeviceCode {
    fn __repr__(&self) -> String {
        format!(
            "<DeviceCode user_code={:?} verification_uri={:?} expires_in={}s>",
            self.user_code, self.verification_uri, self.expires_in
        )
    }
}

static JSON_LOADS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// A JSON value → the equal Python value (through `json.loads`).
pub(crate) fn json_to_py<'py>(
    py: Python<'py>,
    value: &serde_json::Value,
) -> PyResult<Bound<'py, PyAny>> {
    let loads = JSON_LOADS.get_or_try_init(py, || {
        PyResult::Ok(py.import("json")?.getattr("loads")?.unbind())
    })?;
    loads.bind(py).call1((value.to_string(),))
}

/// A client registered at a provider. `repr()` never shows a credential.
#[pyclass(frozen, module = "tokenbroker", name = "RegisteredClient")]
pub struct PyRegisteredClient(pub(crate) RegisteredClient);

#[pymethods]
impl PyRegisteredClient {
    #[getter]
    fn client_id(&self) -> &str {
        &self.0.client_id
    }

    /// Shown once, when the client is created (keep it).
    #[getter]
    fn client_secret(&self) -> Option<&str> {
        self.0.client_secret.as_ref().map(|s| s.expose())
    }

    #[getter]
    fn registration_access_token(&self) -> Option<&str> {
        self.0
            .registration_access_token
            .as_ref()
            .map(|s| s.expose())
    }

    #[getter]
    fn registration_client_uri(&self) -> Option<&str> {
        self.0.registration_client_uri.as_ref().map(|u| u.as_str())
    }

    #[getter]
    fn client_id_issued_at(&self) -> Option<u64> {
        self.0.client_id_issued_at
    }

    #[getter]
    fn client_secret_expires_at(&self) -> Option<u64> {
        self.0.client_secret_expires_at
    }

    /// Alvaria's `x_api_key` for the new client.
    #[getter]
    fn api_key(&self) -> Option<&str> {
        self.0.api_key.as_ref().map(|s| s.expose())
    }

    /// The metadata the server kept, as a dict.
    #[getter]
    fn metadata<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &self.0.metadata.to_json())
    }

    /// The client as one dict in the server's field names; credentials only when asked.
    #[pyo3(signature = (include_secrets = false))]
    fn to_dict<'py>(&self, py: Python<'py>, include_secrets: bool) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &self.0.to_json(include_secrets))
    }

    fn __repr__(&self) -> String {
        format!(
            "<RegisteredClient client_id={:?} client_name={:?}>",
            self.0.client_id,
            self.0.metadata.client_name()
        )
    }
}
