//! `token`, `token_async` and `cached_token`: the warm path stays in memory with the GIL held.

use pyo3::prelude::*;
use pyo3::types::PyString;
use tokenbroker::{AccessToken, TokenOptions};

use super::{PyBroker, closed, run, run_async};
use crate::asyncio;
use crate::convert;
use crate::errors::to_pyerr;
use crate::token::PyAccessToken;

impl PyBroker {
    fn options(
        py: Python<'_>,
        scopes: Option<&Bound<'_, PyAny>>,
        min_ttl: Option<&Bound<'_, PyAny>>,
        force_refresh: bool,
        rejected: Option<&Bound<'_, PyAccessToken>>,
    ) -> PyResult<TokenOptions> {
        TokenOptions::from_args(
            convert::scopes(scopes)?,
            convert::seconds(min_ttl, "min_ttl")?,
            force_refresh,
            rejected.map(|t| t.borrow().0.id()),
        )
        .map_err(|e| to_pyerr(py, &e))
    }

    /// The memory lookup: no I/O, no runtime, the GIL kept. The core decides whether memory
    /// may answer these options (not for `force_refresh`, nor with the `rejected` token).
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

fn same_token(a: &AccessToken, b: &AccessToken) -> bool {
    a.id() == b.id()
}

#[pymethods]
impl PyBroker {
    /// A valid access token for `profile`, from memory when possible, else from the shared
    /// cache or the provider (waiting with the GIL released; Ctrl-C interrupts the wait).
    /// `min_ttl`: seconds or a timedelta the token must still be valid for.
    #[pyo3(
        signature = (profile, *, scopes = None, min_ttl = None, force_refresh = false, rejected = None),
        text_signature = "($self, profile, *, scopes=None, min_ttl=0, force_refresh=False, rejected=None)"
    )]
    fn token<'py>(
        &self,
        py: Python<'py>,
        profile: &Bound<'py, PyString>,
        scopes: Option<&Bound<'py, PyAny>>,
        min_ttl: Option<&Bound<'py, PyAny>>,
        force_refresh: bool,
        rejected: Option<&Bound<'py, PyAccessToken>>,
    ) -> PyResult<Bound<'py, PyAccessToken>> {
        let options = Self::options(py, scopes, min_ttl, force_refresh, rejected)?;
        if let Some(token) = self.lookup(profile, &options)? {
            return Ok(token);
        }
        let broker = self.broker()?;
        let name = profile.to_cow()?.into_owned();
        // A token the file store holds is read on this thread (the GIL released): no hand-off
        // to the core's runtime, which a process that only reads its cache never starts.
        if let Some(token) = py.detach(|| broker.token_at_hand(&name, &options)) {
            return Bound::new(py, PyAccessToken(token));
        }
        let token = run(py, async move { broker.token(&name, &options).await })?;
        Bound::new(py, PyAccessToken(token))
    }

    /// Like `token()`, for asyncio: `await broker.token_async(...)`. Never blocks the loop.
    #[pyo3(
        signature = (profile, *, scopes = None, min_ttl = None, force_refresh = false, rejected = None),
        text_signature = "($self, profile, *, scopes=None, min_ttl=0, force_refresh=False, rejected=None)"
    )]
    fn token_async<'py>(
        &self,
        py: Python<'py>,
        profile: &Bound<'py, PyString>,
        scopes: Option<&Bound<'py, PyAny>>,
        min_ttl: Option<&Bound<'py, PyAny>>,
        force_refresh: bool,
        rejected: Option<&Bound<'py, PyAccessToken>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let options = Self::options(py, scopes, min_ttl, force_refresh, rejected)?;
        if let Some(token) = self.lookup(profile, &options)? {
            return asyncio::ready(py, token.into_any());
        }
        let broker = self.broker()?;
        let name = profile.to_cow()?.into_owned();
        run_async(py, async move {
            broker.token(&name, &options).await.map(PyAccessToken)
        })
    }

    /// The token for `profile` if a valid one is in memory, else `None`. Never does I/O.
    #[pyo3(
        signature = (profile, *, scopes = None, min_ttl = None),
        text_signature = "($self, profile, *, scopes=None, min_ttl=0)"
    )]
    fn cached_token<'py>(
        &self,
        profile: &Bound<'py, PyString>,
        scopes: Option<&Bound<'py, PyAny>>,
        min_ttl: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Option<Bound<'py, PyAccessToken>>> {
        let options = Self::options(profile.py(), scopes, min_ttl, false, None)?;
        self.lookup(profile, &options)
    }
}
