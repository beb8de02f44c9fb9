//! pyo3 binding of tokenbroker: type and error conversion only.
//!
//! Everything OAuth (flows, caching, single flight, retries) lives in the `tokenbroker` crate.
//! This crate converts arguments and results, releases the GIL around blocking calls, bridges
//! the core's futures to asyncio, maps errors to the Python exception classes defined in
//! `tokenbroker/_errors.py`, and forwards `tracing` events to Python `logging`.
//!
//! The Python package (`python/tokenbroker`) re-exports these classes and adds the `requests`
//! and `httpx` auth adapters.

mod asyncio;
mod bearer;
mod broker;
mod convert;
mod errors;
mod logging;
mod login;
mod token;
mod wait;

use pyo3::prelude::*;

/// Native part of the `tokenbroker` package. Import `tokenbroker`, not this module.
#[pymodule(name = "_tokenbroker", gil_used = true)]
mod tokenbroker_module {
    use pyo3::prelude::*;

    #[pymodule_export]
    use crate::bearer::{keeps_token, retry_with_new_token};
    #[pymodule_export]
    use crate::broker::PyBroker;
    #[pymodule_export]
    use crate::login::{PyDeviceCode, PyPendingLogin, PyRegisteredClient};
    #[pymodule_export]
    use crate::token::PyAccessToken;

    #[pymodule_export]
    use crate::logging::{_after_fork_child, _after_fork_parent, _before_fork, _flush_logs};

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        m.add("__version__", env!("CARGO_PKG_VERSION"))?;
        m.add(
            "ERROR_KINDS",
            tokenbroker::ErrorKind::ALL
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>(),
        )?;
        m.add("_debug_build", cfg!(debug_assertions))?;
        crate::logging::install();
        Ok(())
    }
}
