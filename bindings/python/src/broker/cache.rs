//! The shared cache: `cache_entries`, `clear_cache`, `forget` and their `_async` twins.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use tokenbroker::EntryInfo;

use super::{Nothing, PyBroker, run, run_async};

/// The shared tier's entries as dicts with `key`, `expires_at` (aware UTC datetime), `scopes`
/// and `has_refresh_token`; never a secret.
struct Entries(Vec<EntryInfo>);

impl<'py> IntoPyObject<'py> for Entries {
    type Target = PyList;
    type Output = Bound<'py, PyList>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let dicts = self
            .0
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
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, dicts)
    }
}

#[pymethods]
impl PyBroker {
    /// Entries of the shared cache (file or Redis) without secrets: dicts with `key`,
    /// `expires_at` (aware UTC datetime), `scopes` and `has_refresh_token`.
    fn cache_entries<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let broker = self.broker()?;
        Entries(run(py, async move { broker.cache_entries().await })?).into_pyobject(py)
    }

    /// Like `cache_entries()`, for asyncio. Never blocks the loop.
    fn cache_entries_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let broker = self.broker()?;
        run_async(py, async move { broker.cache_entries().await.map(Entries) })
    }

    /// Forgets every cached token, in memory and in the shared cache (file or Redis).
    fn clear_cache(&self, py: Python<'_>) -> PyResult<()> {
        let broker = self.broker()?;
        run(py, async move { broker.clear_cache().await })
    }

    /// Like `clear_cache()`, for asyncio. Never blocks the loop.
    fn clear_cache_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let broker = self.broker()?;
        run_async(
            py,
            async move { broker.clear_cache().await.map(|()| Nothing) },
        )
    }

    /// Forgets `profile`'s cached token and stored refresh token without telling the
    /// provider (a local logout).
    fn forget(&self, py: Python<'_>, profile: String) -> PyResult<()> {
        let broker = self.broker()?;
        run(py, async move { broker.forget(&profile).await })
    }

    /// Like `forget()`, for asyncio. Never blocks the loop.
    fn forget_async<'py>(&self, py: Python<'py>, profile: String) -> PyResult<Bound<'py, PyAny>> {
        let broker = self.broker()?;
        run_async(py, async move {
            broker.forget(&profile).await.map(|()| Nothing)
        })
    }
}
