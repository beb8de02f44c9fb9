//! Interactive sign-in and sign-out, blocking and async: `login`, `device_login`,
//! `begin_login`/`complete_login`, `logout`. Callbacks (`on_url`, `on_code`) run on the
//! caller's thread (the waiting thread, or the event loop's), never on a runtime thread.

use std::future::Future;
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyString;
use tokenbroker::UrlCallback;
use tokenbroker::{Broker, DeviceLoginOptions, LoginOptions};

use super::{PyBroker, outcome, run, run_async};
use crate::asyncio;
use crate::convert;
use crate::errors::to_pyerr;
use crate::login::{PyDeviceCode, PyPendingLogin};
use crate::token::PyAccessToken;
use crate::wait::{self, Emitter};

/// `login`'s options; `on_url` is reported through the emitter, when there is a callback.
fn login_call(
    broker: Broker,
    profile: String,
    mut options: LoginOptions,
    on_url: Option<Emitter<String>>,
) -> impl Future<Output = tokenbroker::Result<PyAccessToken>> + Send + 'static {
    options.on_url = on_url
        .map(|emitter| Arc::new(move |url: &str| emitter.emit(url.to_owned())) as UrlCallback);
    async move { broker.login(&profile, &options).await.map(PyAccessToken) }
}

fn login_options(
    py: Python<'_>,
    open_browser: bool,
    timeout: Option<&Bound<'_, PyAny>>,
    scopes: Option<&Bound<'_, PyAny>>,
) -> PyResult<LoginOptions> {
    let timeout = convert::seconds(timeout, "timeout")?;
    LoginOptions::from_args(Some(open_browser), timeout, convert::scopes(scopes)?, None)
        .map_err(|e| to_pyerr(py, &e))
}

fn device_options(
    py: Python<'_>,
    scopes: Option<&Bound<'_, PyAny>>,
    timeout: Option<&Bound<'_, PyAny>>,
) -> PyResult<DeviceLoginOptions> {
    let timeout = convert::seconds(timeout, "timeout")?;
    DeviceLoginOptions::from_args(convert::scopes(scopes)?, timeout).map_err(|e| to_pyerr(py, &e))
}

async fn device_call(
    broker: Broker,
    profile: String,
    options: DeviceLoginOptions,
    on_code: Emitter<PyDeviceCode>,
) -> tokenbroker::Result<PyAccessToken> {
    let report = |auth: &_| on_code.emit(PyDeviceCode::from(auth));
    let token = broker.device_login(&profile, &options, report).await;
    token.map(PyAccessToken)
}

/// A callback argument: `None` when absent or `None`.
fn given<'py>(callback: Option<Bound<'py, PyAny>>) -> Option<Bound<'py, PyAny>> {
    callback.filter(|f| !f.is_none())
}

#[pymethods]
impl PyBroker {
    /// Signs in with the authorization code flow through a loopback listener on 127.0.0.1:
    /// `on_url(url)` is called (on this thread) with the authorization URL; the browser is
    /// opened unless `open_browser=False`; `timeout` (seconds or a timedelta) bounds the wait
    /// for the browser. Returns the access token; the refresh token is stored for later
    /// `token()` calls. An exception from `on_url` stops the sign-in and is raised here.
    #[pyo3(
        signature = (profile, *, open_browser = true, timeout = None, scopes = None, on_url = None),
        text_signature = "($self, profile, *, open_browser=True, timeout=300, scopes=None, on_url=None)"
    )]
    fn login<'py>(
        &self,
        py: Python<'py>,
        profile: String,
        open_browser: bool,
        timeout: Option<&Bound<'py, PyAny>>,
        scopes: Option<&Bound<'py, PyAny>>,
        on_url: Option<Bound<'py, PyAny>>,
    ) -> PyResult<PyAccessToken> {
        let broker = self.broker()?;
        let options = login_options(py, open_browser, timeout, scopes)?;
        let on_url = given(on_url);
        let wants_url = on_url.is_some();
        let result = wait::block_with(
            py,
            |emitter| login_call(broker, profile, options, wants_url.then_some(emitter)),
            |_, url: String| match &on_url {
                Some(f) => f.call1((url,)).map(drop),
                None => Ok(()),
            },
        )?;
        result.map_err(|e| to_pyerr(py, &e))
    }

    /// Like `login()`, for asyncio: `on_url(url)` is called on the event loop's thread (keep
    /// it quick). Never blocks the loop; cancelling the await stops the sign-in.
    #[pyo3(
        signature = (profile, *, open_browser = true, timeout = None, scopes = None, on_url = None),
        text_signature = "($self, profile, *, open_browser=True, timeout=300, scopes=None, on_url=None)"
    )]
    fn login_async<'py>(
        &self,
        py: Python<'py>,
        profile: String,
        open_browser: bool,
        timeout: Option<&Bound<'py, PyAny>>,
        scopes: Option<&Bound<'py, PyAny>>,
        on_url: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let broker = self.broker()?;
        let options = login_options(py, open_browser, timeout, scopes)?;
        let on_url = given(on_url);
        let wants_url = on_url.is_some();
        asyncio::to_asyncio_with(
            py,
            |emitter| login_call(broker, profile, options, wants_url.then_some(emitter)),
            |py, url: String| Ok(PyString::new(py, &url).into_any().unbind()),
            on_url,
            outcome,
        )
    }

    /// Signs in with the device flow (RFC 8628): `on_code(DeviceCode)` is called (on this
    /// thread) with what to show the user, then the provider is polled until the user
    /// approves, denies, the code expires or `timeout` (seconds or a timedelta; default: until
    /// the code expires) passes. An exception from `on_code` stops the polling and is raised
    /// here.
    #[pyo3(signature = (profile, *, scopes = None, on_code = None, timeout = None))]
    fn device_login<'py>(
        &self,
        py: Python<'py>,
        profile: String,
        scopes: Option<&Bound<'py, PyAny>>,
        on_code: Option<Bound<'py, PyAny>>,
        timeout: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<PyAccessToken> {
        let broker = self.broker()?;
        let options = device_options(py, scopes, timeout)?;
        let on_code = given(on_code);
        let result = wait::block_with(
            py,
            |emitter| device_call(broker, profile, options, emitter),
            |py, code: PyDeviceCode| match &on_code {
                Some(f) => f.call1((Bound::new(py, code)?,)).map(drop),
                None => Ok(()),
            },
        )?;
        result.map_err(|e| to_pyerr(py, &e))
    }

    /// Like `device_login()`, for asyncio: `on_code(DeviceCode)` is called on the event
    /// loop's thread, and the loop keeps running while the provider is polled.
    #[pyo3(signature = (profile, *, scopes = None, on_code = None, timeout = None))]
    fn device_login_async<'py>(
        &self,
        py: Python<'py>,
        profile: String,
        scopes: Option<&Bound<'py, PyAny>>,
        on_code: Option<Bound<'py, PyAny>>,
        timeout: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let broker = self.broker()?;
        let options = device_options(py, scopes, timeout)?;
        asyncio::to_asyncio_with(
            py,
            |emitter| device_call(broker, profile, options, emitter),
            |py, code: PyDeviceCode| Py::new(py, code).map(Py::into_any),
            given(on_code),
            outcome,
        )
    }

    /// Starts a sign-in whose browser step the app runs itself: returns a `PendingLogin`
    /// whose `url` the user must open; the redirect comes back to `redirect_uri`.
    #[pyo3(signature = (profile, redirect_uri, *, scopes = None))]
    fn begin_login(
        &self,
        py: Python<'_>,
        profile: String,
        redirect_uri: String,
        scopes: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyPendingLogin> {
        let broker = self.broker()?;
        let scopes = convert::scope_list(py, scopes)?;
        run(py, async move {
            let pending = broker.begin_login(&profile, &redirect_uri, scopes).await;
            pending.map(PyPendingLogin)
        })
    }

    /// Like `begin_login()`, for asyncio. Never blocks the loop.
    #[pyo3(signature = (profile, redirect_uri, *, scopes = None))]
    fn begin_login_async<'py>(
        &self,
        py: Python<'py>,
        profile: String,
        redirect_uri: String,
        scopes: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let broker = self.broker()?;
        let scopes = convert::scope_list(py, scopes)?;
        run_async(py, async move {
            let pending = broker.begin_login(&profile, &redirect_uri, scopes).await;
            pending.map(PyPendingLogin)
        })
    }

    /// Completes a sign-in from the redirect URL the app received.
    fn complete_login(
        &self,
        py: Python<'_>,
        pending: &Bound<'_, PyPendingLogin>,
        redirect_url: String,
    ) -> PyResult<PyAccessToken> {
        let broker = self.broker()?;
        let pending = pending.get().0.clone();
        run(py, async move {
            let token = broker.complete_login(&pending, &redirect_url).await;
            token.map(PyAccessToken)
        })
    }

    /// Like `complete_login()`, for asyncio. Never blocks the loop.
    fn complete_login_async<'py>(
        &self,
        py: Python<'py>,
        pending: &Bound<'py, PyPendingLogin>,
        redirect_url: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let broker = self.broker()?;
        let pending = pending.get().0.clone();
        run_async(py, async move {
            let token = broker.complete_login(&pending, &redirect_url).await;
            token.map(PyAccessToken)
        })
    }

    /// Completes a sign-in from a `response_mode=form_post` body the app's endpoint received.
    fn complete_login_form(
        &self,
        py: Python<'_>,
        pending: &Bound<'_, PyPendingLogin>,
        body: Vec<u8>,
    ) -> PyResult<PyAccessToken> {
        let broker = self.broker()?;
        let pending = pending.get().0.clone();
        run(py, async move {
            let token = broker.complete_login_form(&pending, &body).await;
            token.map(PyAccessToken)
        })
    }

    /// Like `complete_login_form()`, for asyncio. Never blocks the loop.
    fn complete_login_form_async<'py>(
        &self,
        py: Python<'py>,
        pending: &Bound<'py, PyPendingLogin>,
        body: Vec<u8>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let broker = self.broker()?;
        let pending = pending.get().0.clone();
        run_async(py, async move {
            let token = broker.complete_login_form(&pending, &body).await;
            token.map(PyAccessToken)
        })
    }

    /// Signs out: revokes the stored refresh token where the provider can (RFC 7009), then
    /// forgets the profile's tokens. Returns whether a token was revoked at the server.
    fn logout(&self, py: Python<'_>, profile: String) -> PyResult<bool> {
        let broker = self.broker()?;
        run(py, async move { broker.logout(&profile).await })
    }

    /// Like `logout()`, for asyncio. Never blocks the loop.
    fn logout_async<'py>(&self, py: Python<'py>, profile: String) -> PyResult<Bound<'py, PyAny>> {
        let broker = self.broker()?;
        run_async(py, async move { broker.logout(&profile).await })
    }
}
