//! Core errors as napi errors the JS layer turns back into `TokenBrokerError`s.

use napi::Status;
use serde_json::json;
use tokenbroker::Error;

/// Prefix of every error message this binding produces; the JS layer parses what follows.
const ERROR_PREFIX: &str = "TOKENBROKER_ERROR ";

/// A core error as a napi error whose message is `TOKENBROKER_ERROR {json}`.
pub(crate) fn to_napi(err: Error) -> napi::Error {
    let mut detail = json!({
        "kind": err.kind().as_str(),
        "message": err.to_string(),
    });
    if let Some(status) = err.status() {
        detail["status"] = json!(status);
    }
    if let Some(wait) = err.retry_after() {
        detail["retryAfter"] = json!(wait.as_secs());
    }
    if let Some(oauth) = err.oauth() {
        detail["oauthError"] = json!(oauth.error);
        detail["description"] = json!(oauth.description);
        detail["uri"] = json!(oauth.uri);
        detail["providerCodes"] = json!(oauth.provider_codes);
    }
    napi::Error::new(Status::GenericFailure, format!("{ERROR_PREFIX}{detail}"))
}

/// A config error about `location` as a napi error.
pub(crate) fn config_error(location: &str, reason: impl Into<String>) -> napi::Error {
    to_napi(Error::config(location, reason))
}
