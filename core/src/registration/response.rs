//! Turning registration and management responses into results: any non-2xx status becomes
//! an [`Error::Registration`] whose reason says what the status means and what the server
//! said (RFC 7591 §3.2.2 error bodies included).

use serde_json::Value;

use crate::error::{Error, Result};
use crate::http::{Body, HttpClient, Request, Response, Retry};
use crate::secret::Secret;
use crate::validate::excerpt;

/// Longest server-supplied description quoted in a reason.
const DESCRIPTION_CHARS: usize = 300;

/// Longest server-supplied error code quoted in a reason.
const CODE_CHARS: usize = 100;

/// Sends `request` and returns the response when its status is 2xx, else the registration
/// error for it. Every secret the request carried is scrubbed from quoted server text.
pub(crate) async fn send_checked(http: &HttpClient, request: &Request) -> Result<Response> {
    let resp = http.send(request).await?;
    if (200..300).contains(&resp.status) {
        Ok(resp)
    } else {
        Err(registration_error(&resp))
    }
}

/// A JSON request with a bearer token: the shape of every registration call.
pub(crate) fn json_request(
    method: reqwest::Method,
    url: url::Url,
    body: Option<Value>,
    bearer: Option<&Secret>,
    retry: Retry,
) -> Request {
    let mut request = Request::new(method, url).with_retry(retry);
    request.body = body.map(Body::Json).unwrap_or_default();
    request.bearer = bearer.cloned();
    request
}

/// The registration error for a non-2xx response: the status, what it means for a
/// registration or management call, and the server's `error` / `error_description` (or a
/// short scrubbed excerpt of a non-JSON body), cleaned by the response's redactor.
pub fn registration_error(resp: &Response) -> Error {
    let meaning = match resp.status {
        400 => "the server refused the request",
        401 => {
            "not authenticated: the access token is missing, invalid or expired (a rotated \
             registration access token, or a deleted client, also answer this)"
        }
        403 => "forbidden: the token lacks the needed scope, or the API key is missing or wrong",
        404 => "no such client (or no such endpoint)",
        405 => "method not allowed at this endpoint",
        429 => "too many requests: throttled, and still so after the allowed retries",
        500..=599 => "server error",
        _ => "unexpected HTTP status",
    };
    let detail = match serde_json::from_slice::<Value>(&resp.body) {
        Ok(Value::Object(map)) if map.get("error").is_some_and(Value::is_string) => {
            let code = map["error"].as_str().unwrap_or_default();
            let text = |key: &str| {
                map.get(key)
                    .and_then(Value::as_str)
                    .map(|s| resp.redactor.clean(s, DESCRIPTION_CHARS))
            };
            let mut detail = format!(": {}", resp.redactor.clean(code, CODE_CHARS));
            if let Some(hint) = error_hint(code) {
                detail.push_str(&format!(" ({hint})"));
            }
            if let Some(description) = text("error_description").or_else(|| text("message")) {
                detail.push_str(&format!(": {description}"));
            }
            detail
        }
        _ if resp.body.iter().all(u8::is_ascii_whitespace) => String::new(),
        _ => format!(": {}", excerpt(resp)),
    };
    Error::Registration {
        endpoint: resp.endpoint.clone(),
        status: Some(resp.status),
        reason: format!("{meaning}{detail}"),
    }
}

/// What the error codes of RFC 7591 §3.2.2 and RFC 6750 §3.1 mean.
fn error_hint(code: &str) -> Option<&'static str> {
    Some(match code {
        "invalid_redirect_uri" => "a redirect URI was refused",
        "invalid_client_metadata" => "a client metadata field was refused",
        "invalid_software_statement" => "the software statement is invalid",
        "unapproved_software_statement" => "the software statement is not approved",
        "invalid_token" => "the access token was not accepted",
        "insufficient_scope" => "the access token lacks a needed scope",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, body: &str) -> Response {
        Response {
            endpoint: "https://as.example/reg".into(),
            status,
            content_type: Some("application/json".into()),
            cache_control: None,
            body: body.as_bytes().to_vec(),
            redactor: crate::redact::Redactor::new(["leaked-token-value"]),
        }
    }

    fn reason(status: u16, body: &str) -> String {
        match registration_error(&resp(status, body)) {
            Error::Registration {
                status: s, reason, ..
            } => {
                assert_eq!(s, Some(status));
                reason
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_documented_status_has_a_reason() {
        let body = "";
        assert!(reason(400, body).starts_with("the server refused"));
        assert!(reason(401, body).starts_with("not authenticated"));
        assert!(reason(403, body).starts_with("forbidden"));
        assert!(reason(404, body).starts_with("no such client"));
        assert!(reason(405, body).starts_with("method not allowed"));
        assert!(reason(429, body).starts_with("too many requests"));
        assert!(reason(500, body).starts_with("server error"));
        assert!(reason(418, body).starts_with("unexpected"));
    }

    #[test]
    fn rfc7591_error_bodies_are_parsed_and_scrubbed() {
        let r = reason(
            400,
            r#"{"error":"invalid_redirect_uri","error_description":"bad uri leaked-token-value"}"#,
        );
        assert_eq!(
            r,
            "the server refused the request: invalid_redirect_uri (a redirect URI was refused): \
             bad uri [redacted]"
        );
        let r = reason(400, r#"{"error":"invalid_client_metadata"}"#);
        assert!(r.ends_with("invalid_client_metadata (a client metadata field was refused)"));
        let r = reason(500, "<html>oops leaked-token-value</html>");
        assert!(
            r.contains("oops") && !r.contains("leaked-token-value"),
            "{r}"
        );
    }
}
