//! The core's rules for sending a token through an HTTP client ([`tokenbroker::bearer`]),
//! for the `fetch` helper and the axios interceptor.

// napi-derive leaves free `#[napi]` functions out of `cfg(test)` builds.
#![cfg_attr(test, allow(dead_code))]

use napi_derive::napi;

/// Whether a token sent for `requestUrl` may also go to `url` (same origin only).
#[napi]
pub fn keeps_token(request_url: String, url: String) -> bool {
    tokenbroker::bearer::keeps_token(&request_url, &url)
}

/// Whether to ask for a token with `rejected` and send the request once more.
#[napi]
pub fn retry_with_new_token(
    status: u16,
    request_url: String,
    answered_url: String,
    carried_token: bool,
    retried: bool,
) -> bool {
    tokenbroker::bearer::Answer {
        status,
        request_url: &request_url,
        answered_url: &answered_url,
        carried_token,
        retried,
    }
    .retry_with_new_token()
}
