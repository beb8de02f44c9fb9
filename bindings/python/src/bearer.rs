//! The core's rules for sending a token through an HTTP client ([`tokenbroker::bearer`]),
//! for the `requests` and `httpx` adapters.

use pyo3::prelude::*;

/// Whether a token sent for `request_url` may also go to `url` (same origin only).
#[pyfunction]
pub(crate) fn keeps_token(request_url: &str, url: &str) -> bool {
    tokenbroker::bearer::keeps_token(request_url, url)
}

/// Whether to ask for a token with `rejected=` and send the request once more.
#[pyfunction]
#[pyo3(signature = (status, request_url, answered_url, *, carried_token, retried))]
pub(crate) fn retry_with_new_token(
    status: u16,
    request_url: &str,
    answered_url: &str,
    carried_token: bool,
    retried: bool,
) -> bool {
    tokenbroker::bearer::Answer {
        status,
        request_url,
        answered_url,
        carried_token,
        retried,
    }
    .retry_with_new_token()
}
