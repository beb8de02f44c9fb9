//! The pooled HTTP client: timeouts, proxies, extra CA files, and the retry loop.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
use tracing::Instrument;
use url::Url;

use super::endpoint::{endpoint_name, is_loopback};
use super::request::{Body, Request};
use super::response::{Response, read_limited};
use super::retry::{Next, Retry, Wanted, next, parse_retry_after, retry_wait};
use crate::config::HttpConfig;
use crate::error::{Error, Result};
use crate::limits;
use crate::regular_file;

/// The pooled HTTP client every flow of a broker shares.
#[derive(Debug, Clone)]
pub struct HttpClient {
    /// For every host but loopback: honours the proxy environment variables.
    client: reqwest::Client,
    /// For loopback hosts: never through a proxy, so local traffic stays local.
    direct: reqwest::Client,
    /// Longest time one attempt may take.
    timeout: Duration,
    /// Longest time one call may take, attempts and waits included.
    deadline: Duration,
    max_retries: u32,
    max_wait: Duration,
}

impl HttpClient {
    /// Builds the client from `[http]` settings (plus a profile's extra CA files).
    pub fn new(config: &HttpConfig, extra_ca_files: &[std::path::PathBuf]) -> Result<Self> {
        Self::with_proxy(config, extra_ca_files, None)
    }

    /// [`HttpClient::new`] with `proxy` instead of the proxy environment variables for
    /// non-loopback hosts (tests use it to inject a proxy without touching the environment).
    pub(crate) fn with_proxy(
        config: &HttpConfig,
        extra_ca_files: &[std::path::PathBuf],
        proxy: Option<reqwest::Proxy>,
    ) -> Result<Self> {
        let timeout = limits::seconds_arg("[http], key 'timeout'", config.timeout_secs)?;
        let deadline = limits::seconds_arg("[http], key 'deadline'", config.deadline_secs)?;
        let connect_timeout =
            limits::seconds_arg("[http], key 'connect_timeout'", config.connect_timeout_secs)?;
        let max_wait =
            limits::seconds_arg("[http], key 'max_retry_wait'", config.max_retry_wait_secs)?;
        let mut certs = Vec::new();
        for path in config.ca_file.iter().chain(extra_ca_files) {
            let pem = regular_file::read_bytes(path).map_err(|e| {
                Error::config("ca_file", format!("cannot read {}: {e}", path.display()))
            })?;
            certs.push(reqwest::Certificate::from_pem(&pem).map_err(|e| {
                Error::config(
                    "ca_file",
                    format!("{} is not a PEM certificate: {e}", path.display()),
                )
            })?);
        }
        let build = |proxy: Option<Option<reqwest::Proxy>>| {
            let mut builder = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(connect_timeout)
                .user_agent(concat!("tokenbroker/", env!("CARGO_PKG_VERSION")));
            builder = match proxy {
                // Loopback: no proxy at all.
                None => builder.no_proxy(),
                // Everything else: the system's proxies, or the injected one.
                Some(None) => builder,
                Some(Some(p)) => builder.proxy(p),
            };
            for cert in &certs {
                builder = builder.add_root_certificate(cert.clone());
            }
            builder
                .build()
                .map_err(|e| Error::config("http", format!("cannot build HTTP client: {e}")))
        };
        Ok(Self {
            client: build(Some(proxy))?,
            direct: build(None)?,
            timeout,
            deadline,
            max_retries: config.max_retries,
            max_wait,
        })
    }

    /// Sends `request`, retrying as its [`Retry`] policy allows, and reads the body, all
    /// within the deadline: each attempt gets the per-attempt timeout or what is left of the
    /// deadline, whichever is shorter, and no retry starts that the deadline would cut off.
    ///
    /// Any status is returned as a [`Response`]; only transport failures, timeouts, oversized
    /// bodies and a `Retry-After` beyond what the call may wait ([`Error::RateLimited`]) are
    /// errors here. Interpreting the status is `validate`'s job.
    pub async fn send(&self, request: &Request) -> Result<Response> {
        let endpoint = endpoint_name(&request.url);
        let deadline = tokio::time::Instant::now() + self.deadline;
        let mut attempt = 0u32;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let limit = self.timeout.min(left);
            let span = tracing::debug_span!("http", method = %request.method, endpoint = %endpoint, attempt);
            let once = self.send_once(request, &endpoint).instrument(span);
            let outcome = tokio::time::timeout(limit, once).await.unwrap_or_else(|_| {
                // Connecting, sending or reading the body took too long.
                let after = if limit < self.timeout {
                    self.deadline
                } else {
                    limit
                };
                let endpoint = endpoint.clone();
                Err((Error::Timeout { endpoint, after }, false))
            });
            let wanted = match &outcome {
                Ok((resp, retry_after)) if retry_wait(request.retry, resp.status) => {
                    retry_after.map_or(Wanted::Backoff, Wanted::After)
                }
                Ok(_) => Wanted::No,
                Err((err, unprocessed)) => {
                    let retryable = matches!(err, Error::Transport { .. } | Error::Timeout { .. })
                        && (request.retry == Retry::Idempotent || *unprocessed);
                    if retryable {
                        Wanted::Backoff
                    } else {
                        Wanted::No
                    }
                }
            };
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match next(wanted, attempt, self.max_retries, self.max_wait, left) {
                Next::Retry(wait) => {
                    tracing::info!(endpoint = %endpoint, wait_ms = wait.as_millis() as u64, "retrying");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Next::RateLimited(retry_after) => {
                    let status = outcome.as_ref().map_or(0, |(resp, _)| resp.status);
                    tracing::info!(endpoint = %endpoint, retry_after_s = retry_after.as_secs(), "rate limited");
                    return Err(Error::RateLimited {
                        endpoint,
                        status,
                        retry_after,
                    });
                }
                Next::Stop => return outcome.map(|(resp, _)| resp).map_err(|(err, _)| err),
            }
        }
    }

    async fn send_once(
        &self,
        request: &Request,
        endpoint: &str,
    ) -> std::result::Result<(Response, Option<Duration>), (Error, bool)> {
        let client = if is_loopback(&request.url) {
            &self.direct
        } else {
            &self.client
        };
        let mut builder = client.request(request.method.clone(), request.url.clone());
        let mut headers = HeaderMap::new();
        for (name, value) in &request.headers {
            let name = reqwest::header::HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                (
                    Error::config("headers", format!("'{name}' is not a valid header name")),
                    false,
                )
            })?;
            let mut value = HeaderValue::from_str(value.expose()).map_err(|_| {
                (
                    Error::config(
                        "headers",
                        format!("value of '{name}' is not a valid header value"),
                    ),
                    false,
                )
            })?;
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        headers.insert(
            reqwest::header::ACCEPT,
            HeaderValue::from_static("application/json"),
        );
        builder = builder.headers(headers);
        if let Some((user, password)) = &request.basic {
            let password = zeroize::Zeroizing::new(form_encode(password.expose()));
            builder = builder.basic_auth(form_encode(user), Some(password.as_str()));
        }
        if let Some(token) = &request.bearer {
            builder = builder.bearer_auth(token.expose());
        }
        builder = match &request.body {
            Body::Empty => builder,
            Body::Form(fields) => {
                // Encoded into a buffer wiped on drop; the HTTP stack gets one copy.
                let mut encoded = zeroize::Zeroizing::new(String::new());
                let mut form = url::form_urlencoded::Serializer::new(&mut *encoded);
                for (name, value) in fields {
                    form.append_pair(name, value.as_str());
                }
                form.finish();
                builder
                    .header(
                        reqwest::header::CONTENT_TYPE,
                        "application/x-www-form-urlencoded",
                    )
                    .body(encoded.as_bytes().to_vec())
            }
            Body::Json(value) => builder.json(value),
        };
        let response = builder.send().await.map_err(|e| {
            let unprocessed = e.is_connect();
            (self.transport_error(endpoint, &e), unprocessed)
        })?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let header = |name| {
            (response.headers().get(name))
                .and_then(|v: &HeaderValue| v.to_str().ok())
                .map(str::to_owned)
        };
        let content_type = header(reqwest::header::CONTENT_TYPE);
        let cache_control = header(reqwest::header::CACHE_CONTROL);
        let body = read_limited(response, endpoint, status)
            .await
            .map_err(|e| (e, false))?;
        tracing::debug!(status = status.as_u16(), bytes = body.len(), "response");
        let mut redactor = request.redactor();
        redactor.add_response_tokens(&body);
        Ok((
            Response {
                endpoint: endpoint.to_owned(),
                status: status.as_u16(),
                content_type,
                cache_control,
                body,
                redactor,
            },
            retry_after,
        ))
    }

    fn transport_error(&self, endpoint: &str, e: &reqwest::Error) -> Error {
        if e.is_timeout() {
            return Error::Timeout {
                endpoint: endpoint.to_owned(),
                after: self.timeout,
            };
        }
        let mut reason = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            reason = format!("{reason}: {s}");
            source = s.source();
        }
        // reqwest errors name the full URL; keep only the endpoint so no query leaks.
        Error::Transport {
            endpoint: endpoint.to_owned(),
            reason: reason.replace(e.url().map(Url::as_str).unwrap_or("\u{0}"), endpoint),
        }
    }
}

/// RFC 6749 §2.3.1: client id and secret are form-encoded before Basic encoding.
fn form_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
