//! The core's rules for sending a token through the app's HTTP client
//! ([`tokenbroker::bearer`]): an OkHttp `Authenticator`/interceptor or a `URLSession`
//! delegate calls these instead of writing its own.

/// Whether a token sent for `request_url` may also go to `url` (same origin only): drop the
/// `Authorization` header on any redirect hop for which this is false.
#[uniffi::export]
pub fn keeps_token(request_url: String, url: String) -> bool {
    tokenbroker::bearer::keeps_token(&request_url, &url)
}

/// Whether to call `token(rejected = <the token sent>)` and send the request once more: a
/// first 401 at the caller's origin to a request that carried the token.
#[uniffi::export]
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
