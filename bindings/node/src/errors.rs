//! Core errors as napi errors the JS layer turns back into `TokenBrokerError`s.

use napi::Status;
use napi_derive::napi;
use serde_json::json;
use tokenbroker::{Error, ErrorKind};

/// Prefix of every error message this binding produces; the JS layer parses what follows.
const ERROR_PREFIX: &str = "TOKENBROKER_ERROR ";

/// The core's error kind names (`"config"`, `"oauth"`, …) in declaration order: `errors.js`
/// gives each its `ERR_TOKENBROKER_…` code.
#[napi(js_name = "errorKinds")]
pub fn error_kinds() -> Vec<String> {
    ErrorKind::ALL
        .iter()
        .map(|k| k.as_str().to_owned())
        .collect()
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_kinds_are_the_cores_names_in_order() {
        let names: Vec<&str> = ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(error_kinds(), names);
    }
}
