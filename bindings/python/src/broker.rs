//! `Broker`: the core broker, its blocking and asyncio calls.

use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::Mutex;
use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use tokenbroker::broker::UrlCallback;
use tokenbroker::registration::ClientMetadata;
use tokenbroker::{AccessToken, Broker, Config, LoginOptions, Secret, TokenOptions};

use crate::convert;
use crate::errors::{to_exception, to_pyerr};
use crate::login::{PyDeviceCode, PyPendingLogin, PyRegisteredClient};
use crate::token::PyAccessToken;
use crate::wait::{self, Outcome};

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

    fn options(
        scopes: Option<&Bound<'_, PyAny>>,
        min_ttl: Option<&Bound<'_, PyAny>>,
        force_refresh: bool,
        rejected: Option<&Bound<'_, PyAccessToken>>,
    ) -> PyResult<TokenOptions> {
        Ok(TokenOptions {
            scopes: convert::scopes(scopes)?,
            min_ttl: convert::duration(min_ttl, "min_ttl")?,
            force_refresh,
            rejected: rejected.map(|t| t.borrow().0.id()),
        })
    }

    /// The memory lookup: no I/O, no runtime, the GIL kept.
    fn lookup<'py>(
        &self,
        profile: &Bound<'py, PyString>,
        options: &TokenOptions,
    ) -> PyResult<Option<Bound<'py, PyAccessToken>>> {
        let py = profile.py();
        let mut stale = None;
        let found = {
            let mut state = self.state.lock();
            let state = &mut *state;
            let broker = state.broker.as_ref().ok_or_else(closed)?;
            if !state.profile_obj.as_ref().is_some_and(|p| p.is(profile)) {
                state.profile = profile.to_cow()?.into_owned();
                stale = state.profile_obj.replace(profile.clone().unbind());
            }
            match broker.cached_token(&state.profile, options) {
                Err(e) => return Err(to_pyerr(py, &e)),
                Ok(None) => None,
                Ok(Some(token)) => match &state.last {
                    Some((last, obj)) if same_token(last, &token) => Some(obj.bind(py).clone()),
                    _ => {
                        let obj = Bound::new(py, PyAccessToken(token.clone()))?;
                        let old = state.last.replace((token, obj.clone().unbind()));
                        drop(old);
                        Some(obj)
                    }
                },
            }
        };
        drop(stale);
        Ok(found)
    }
}

fn client_metadata(py: Python<'_>, metadata: &Bound<'_, PyAny>) -> PyResult<ClientMetadata> {
    ClientMetadata::from_json(convert::json_value(metadata, "metadata")?)
        .map_err(|e| to_pyerr(py, &e))
}

fn same_token(a: &AccessToken, b: &AccessToken) -> bool {
    a.id() == b.id()
}

fn token_outcome(py: Python<'_>, result: tokenbroker::Result<tokenbroker::AccessToken>) -> Outcome {
    let value = match result {
        Ok(token) => Py::new(py, PyAccessToken(token)).map(Py::into_any),
        Err(e) => {
            return Err(
                to_exception(py, &e).map_or_else(|e| e.into_value(py).into_any(), Bound::unbind)
            );
        }
    };
    value.map_err(|e| e.into_value(py).into_any())
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

    /// A valid access token for `profile`, from memory when possible, else from the shared
    /// cache or the provider (waiting with the GIL released; Ctrl-C interrupts the wait).
    #[pyo3(signature = (profile, *, scopes = None, min_ttl = None, force_refresh = false, rejected = None))]
    fn token<'py>(
        &self,
        py: Python<'py>,
        profile: &Bound<'py, PyString>,
        scopes: Option<&Bound<'py, PyAny>>,
        min_ttl: Option<&Bound<'py, PyAny>>,
        force_refresh: bool,
        rejected: Option<&Bound<'py, PyAccessToken>>,
    ) -> PyResult<Bound<'py, PyAccessToken>> {
        let options = Self::options(scopes, min_ttl, force_refresh, rejected)?;
        if !force_refresh
            && rejected.is_none()
            && let Some(token) = self.lookup(profile, &options)?
        {
            return Ok(token);
        }
        let broker = self.broker()?;
        let name = profile.to_cow()?.into_owned();
        let result = wait::block(py, async move { broker.token(&name, &options).await })?;
        let token = result.map_err(|e| to_pyerr(py, &e))?;
        Bound::new(py, PyAccessToken(token))
    }

    /// Like `token()`, for asyncio: `await broker.token_async(...)`. Never blocks the loop.
    #[pyo3(signature = (profile, *, scopes = None, min_ttl = None, force_refresh = false, rejected = None))]
    fn token_async<'py>(
        &self,
        py: Python<'py>,
        profile: &Bound<'py, PyString>,
        scopes: Option<&Bound<'py, PyAny>>,
        min_ttl: Option<&Bound<'py, PyAny>>,
        force_refresh: bool,
        rejected: Option<&Bound<'py, PyAccessToken>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let options = Self::options(scopes, min_ttl, force_refresh, rejected)?;
        if !force_refresh
            && rejected.is_none()
            && let Some(token) = self.lookup(profile, &options)?
        {
            return wait::ready(py, token.into_any());
        }
        let broker = self.broker()?;
        let name = profile.to_cow()?.into_owned();
        wait::to_asyncio(
            py,
            async move { broker.token(&name, &options).await },
            token_outcome,
        )
    }

    /// The token for `profile` if a valid one is in memory, else `None`. Never does I/O.
    #[pyo3(signature = (profile, *, scopes = None, min_ttl = None))]
    fn cached_token<'py>(
        &self,
        profile: &Bound<'py, PyString>,
        scopes: Option<&Bound<'py, PyAny>>,
        min_ttl: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Option<Bound<'py, PyAccessToken>>> {
        let options = Self::options(scopes, min_ttl, false, None)?;
        self.lookup(profile, &options)
    }

    /// The broker's counters: hits, misses, shared_hits, fetches, …, fetch latency in ms.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let stats = self.broker()?.stats();
        let dict = PyDict::new(py);
        for (name, value) in stats.fields() {
            if name.ends_with("_ms") {
                dict.set_item(name, value)?;
            } else {
                dict.set_item(name, value as u64)?;
            }
        }
        Ok(dict)
    }

    /// Names of the configured profiles, sorted.
    fn profiles(&self) -> PyResult<Vec<String>> {
        Ok(self.broker()?.profile_names())
    }

    /// Forgets every cached token, in memory and in the shared cache (file or Redis).
    fn clear_cache(&self, py: Python<'_>) -> PyResult<()> {
        let broker = self.broker()?;
        wait::block(py, async move { broker.clear_cache().await })?.map_err(|e| to_pyerr(py, &e))
    }

    /// Forgets `profile`'s cached token and stored refresh token (a local logout).
    fn forget(&self, py: Python<'_>, profile: String) -> PyResult<()> {
        let broker = self.broker()?;
        wait::block(py, async move { broker.forget(&profile).await })?.map_err(|e| to_pyerr(py, &e))
    }

    /// Entries of the shared cache (file or Redis) without secrets: dicts with `key`,
    /// `expires_at` (aware UTC datetime), `scopes` and `has_refresh_token`.
    fn cache_entries<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let broker = self.broker()?;
        let entries = wait::block(py, async move { broker.cache_entries().await })?
            .map_err(|e| to_pyerr(py, &e))?;
        entries
            .into_iter()
            .map(|e| {
                let d = PyDict::new(py);
                d.set_item("key", e.key)?;
                let unix = e
                    .expires_at
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_secs_f64();
                d.set_item("expires_at", crate::token::utc_datetime(py, unix)?)?;
                d.set_item("scopes", e.scopes)?;
                d.set_item("has_refresh_token", e.has_refresh_token)?;
                Ok(d)
            })
            .collect()
    }

    /// Signs in with the authorization code flow through a loopback listener on 127.0.0.1:
    /// `on_url(url)` is called (on this thread) with the authorization URL; the browser is
    /// opened unless `open_browser=False`. Returns the access token; the refresh token is
    /// stored for later `token()` calls.
    #[pyo3(signature = (profile, *, open_browser = true, timeout = None, scopes = None, on_url = None))]
    fn login<'py>(
        &self,
        py: Python<'py>,
        profile: String,
        open_browser: bool,
        timeout: Option<&Bound<'py, PyAny>>,
        scopes: Option<&Bound<'py, PyAny>>,
        on_url: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAccessToken>> {
        let broker = self.broker()?;
        let timeout = crate::login::login_timeout(timeout)?;
        let scopes = convert::scopes(scopes)?;
        let wants_url = on_url.as_ref().is_some_and(|f| !f.is_none());
        let result = wait::block_with(
            py,
            move |emitter| {
                let on_url: Option<UrlCallback> = wants_url.then(|| {
                    let emitter = std::sync::Mutex::new(emitter);
                    Arc::new(move |url: &str| {
                        if let Ok(e) = emitter.lock() {
                            e.emit(url.to_owned());
                        }
                    }) as UrlCallback
                });
                let options = LoginOptions {
                    open_browser,
                    timeout,
                    scopes,
                    on_url,
                };
                async move { broker.login(&profile, &options).await }
            },
            |_, url: String| match &on_url {
                Some(f) => f.call1((url,)).map(drop),
                None => Ok(()),
            },
        )?;
        let token = result.map_err(|e| to_pyerr(py, &e))?;
        Bound::new(py, PyAccessToken(token))
    }

    /// Signs in with the device flow (RFC 8628): `on_code(DeviceCode)` is called (on this
    /// thread) with what to show the user, then the provider is polled until the user
    /// approves, denies, or the code expires.
    #[pyo3(signature = (profile, *, scopes = None, on_code = None))]
    fn device_login<'py>(
        &self,
        py: Python<'py>,
        profile: String,
        scopes: Option<&Bound<'py, PyAny>>,
        on_code: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAccessToken>> {
        let broker = self.broker()?;
        let scopes = convert::scopes(scopes)?;
        let result = wait::block_with(
            py,
            move |emitter| async move {
                broker
                    .device_login(&profile, scopes, |auth| {
                        emitter.emit(PyDeviceCode::from(auth))
                    })
                    .await
            },
            |py, code: PyDeviceCode| match &on_code {
                Some(f) if !f.is_none() => f.call1((Bound::new(py, code)?,)).map(drop),
                _ => Ok(()),
            },
        )?;
        let token = result.map_err(|e| to_pyerr(py, &e))?;
        Bound::new(py, PyAccessToken(token))
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
        let scopes = convert::scopes(scopes)?;
        let pending = wait::block(py, async move {
            broker.begin_login(&profile, &redirect_uri, scopes).await
        })?;
        pending.map(PyPendingLogin).map_err(|e| to_pyerr(py, &e))
    }

    /// Completes a sign-in from the redirect URL the app received.
    fn complete_login<'py>(
        &self,
        py: Python<'py>,
        pending: &Bound<'py, PyPendingLogin>,
        redirect_url: String,
    ) -> PyResult<Bound<'py, PyAccessToken>> {
        let broker = self.broker()?;
        let pending = pending.get().0.clone();
        let result = wait::block(py, async move {
            broker.complete_login(&pending, &redirect_url).await
        })?;
        Bound::new(py, PyAccessToken(result.map_err(|e| to_pyerr(py, &e))?))
    }

    /// Completes a sign-in from a `response_mode=form_post` body the app's endpoint received.
    fn complete_login_form<'py>(
        &self,
        py: Python<'py>,
        pending: &Bound<'py, PyPendingLogin>,
        body: Vec<u8>,
    ) -> PyResult<Bound<'py, PyAccessToken>> {
        let broker = self.broker()?;
        let pending = pending.get().0.clone();
        let result = wait::block(py, async move {
            broker.complete_login_form(&pending, &body).await
        })?;
        Bound::new(py, PyAccessToken(result.map_err(|e| to_pyerr(py, &e))?))
    }

    /// Signs out: revokes the stored refresh token where the provider can (RFC 7009), then
    /// forgets the profile's tokens. Returns whether a token was revoked at the server.
    fn logout(&self, py: Python<'_>, profile: String) -> PyResult<bool> {
        let broker = self.broker()?;
        wait::block(py, async move { broker.logout(&profile).await })?.map_err(|e| to_pyerr(py, &e))
    }

    /// Registers a client at `profile`'s provider (RFC 7591, or Alvaria's API) with
    /// `metadata` (a dict of RFC 7591 fields). The returned client holds the new secret.
    #[pyo3(signature = (profile, metadata, *, initial_access_token = None))]
    fn register_client(
        &self,
        py: Python<'_>,
        profile: String,
        metadata: &Bound<'_, PyAny>,
        initial_access_token: Option<String>,
    ) -> PyResult<PyRegisteredClient> {
        let broker = self.broker()?;
        let metadata = client_metadata(py, metadata)?;
        let iat = initial_access_token.map(Secret::new);
        let client = wait::block(py, async move {
            broker
                .register_client(&profile, &metadata, iat.as_ref())
                .await
        })?;
        client.map(PyRegisteredClient).map_err(|e| to_pyerr(py, &e))
    }

    /// Reads a client's registration.
    fn read_client(
        &self,
        py: Python<'_>,
        profile: String,
        client_id: String,
    ) -> PyResult<PyRegisteredClient> {
        let broker = self.broker()?;
        let client = wait::block(
            py,
            async move { broker.read_client(&profile, &client_id).await },
        )?;
        client.map(PyRegisteredClient).map_err(|e| to_pyerr(py, &e))
    }

    /// Replaces a client's metadata (full replacement: start from `read_client().metadata`).
    fn update_client(
        &self,
        py: Python<'_>,
        profile: String,
        client_id: String,
        metadata: &Bound<'_, PyAny>,
    ) -> PyResult<PyRegisteredClient> {
        let broker = self.broker()?;
        let metadata = client_metadata(py, metadata)?;
        let client = wait::block(py, async move {
            broker.update_client(&profile, &client_id, &metadata).await
        })?;
        client.map(PyRegisteredClient).map_err(|e| to_pyerr(py, &e))
    }

    /// Deletes a client (and forgets its stored registration token).
    fn delete_client(&self, py: Python<'_>, profile: String, client_id: String) -> PyResult<()> {
        let broker = self.broker()?;
        wait::block(py, async move {
            broker.delete_client(&profile, &client_id).await
        })?
        .map_err(|e| to_pyerr(py, &e))
    }

    /// Lists the clients of the profile's organisation (Alvaria).
    fn list_clients(&self, py: Python<'_>, profile: String) -> PyResult<Vec<PyRegisteredClient>> {
        let broker = self.broker()?;
        let clients = wait::block(py, async move { broker.list_clients(&profile).await })?
            .map_err(|e| to_pyerr(py, &e))?;
        Ok(clients.into_iter().map(PyRegisteredClient).collect())
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
                b.config().cache.store
            ),
            None => format!("<{class} closed>"),
        })
    }
}
