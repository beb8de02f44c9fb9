//! The pooled HTTP client: timeouts, proxies, extra CA files, and the retry loop.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
use tracing::Instrument;
use url::Url;

use super::HttpConfig;
use super::endpoint::{endpoint_name, is_loopback};
use super::request::{Body, Request};
use super::response::{Response, read_limited};
use super::retry::{Next, Retry, Wanted, next, parse_retry_after, retry_wait};
use super::transport::{Clients, Transport, TransportKey};
use crate::error::{Error, Result};
use crate::limits;

/// The HTTP client every flow of a broker uses: the per-call policy (timeouts, deadline,
/// retries) over a [`Transport`] shared by every client with the same transport settings.
///
/// Building one does no I/O: the connection pool, the extra CA files and the system's roots
/// are loaded on the first request (see `transport`).
#[derive(Debug, Clone)]
pub struct HttpClient {
    transport: Transport,
    /// Longest time one attempt may take.
    timeout: Duration,
    /// Longest time one call may take, attempts and waits included.
    deadline: Duration,
    max_retries: u32,
    max_wait: Duration,
}

impl HttpClient {
    /// A client for `[http]` settings (plus a profile's extra CA files). Checks the numbers;
    /// the CA files are read on the first request, which reports a file that cannot be read
    /// or is not PEM as a config error naming `ca_file`.
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
        let mut ca_files: Vec<_> = config
            .ca_file
            .iter()
            .chain(extra_ca_files)
            .cloned()
            .collect();
        ca_files.sort();
        ca_files.dedup();
        let key = TransportKey {
            connect_timeout,
            ca_files,
        };
        Ok(Self {
            transport: match proxy {
                None => Transport::shared(key),
                Some(proxy) => Transport::with_proxy(key, proxy),
            },
            timeout,
            deadline,
            max_retries: config.max_retries,
            max_wait,
        })
    }

    /// Sends `request` (see [`HttpClient::send_here`]) on the process's runtime
    /// ([`crate::advanced::runtime`]), where the shared connection pools live: a pooled
    /// connection is served by a task of the runtime that opened it, so every request of the
    /// process runs on the same one. Dropping the returned future cancels the request.
    pub async fn send(&self, request: &Request) -> Result<Response> {
        let endpoint = endpoint_name(&request.url);
        let (this, request) = (self.clone(), request.clone());
        let task = crate::runtime::handle()
            .spawn(async move { this.send_here(&request).await }.in_current_span());
        let mut task = AbortOnDrop(task);
        match (&mut task.0).await {
            Ok(result) => result,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => Err(Error::Transport {
                endpoint,
                reason: "the request was cancelled (the runtime is shutting down)".into(),
            }),
        }
    }

    /// Sends `request` on the current runtime, retrying as its [`Retry`] policy allows, and
    /// reads the body, all
    /// within the deadline: each attempt gets the per-attempt timeout or what is left of the
    /// deadline, whichever is shorter, and no retry starts that the deadline would cut off.
    ///
    /// Any status is returned as a [`Response`]; only transport failures, timeouts, oversized
    /// bodies and a `Retry-After` beyond what the call may wait ([`Error::RateLimited`]) are
    /// errors here. Interpreting the status is `validate`'s job.
    async fn send_here(&self, request: &Request) -> Result<Response> {
        let clients = self.transport.clients()?;
        let endpoint = endpoint_name(&request.url);
        let deadline = tokio::time::Instant::now() + self.deadline;
        let mut attempt = 0u32;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let limit = self.timeout.min(left);
            let span = tracing::debug_span!("http", method = %request.method, endpoint = %endpoint, attempt);
            let once = self
                .send_once(&clients, request, &endpoint)
                .instrument(span);
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
        clients: &Clients,
        request: &Request,
        endpoint: &str,
    ) -> std::result::Result<(Response, Option<Duration>), (Error, bool)> {
        let client = if is_loopback(&request.url) {
            &clients.direct
        } else {
            &clients.proxied
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

/// Aborts the task when dropped (the caller stopped waiting for the request).
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// RFC 6749 §2.3.1: client id and secret are form-encoded before Basic encoding.
fn form_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
