//! The HTTP policy: one pooled client per broker, timeouts, HTTPS except on loopback, no
//! redirects on token calls, bounded bodies, and retries with backoff that honour
//! `Retry-After`.

use std::fmt;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use tracing::Instrument;
use url::Url;

use crate::config::HttpConfig;
use crate::error::{Error, Result};
use crate::limits;
use crate::redact::Redactor;
use crate::regular_file;
use crate::secret::Secret;

/// Largest response body read from any endpoint.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Checks that `text` is an absolute http(s) URL and that plain http is used only for
/// loopback hosts. Returns the parsed URL or what is wrong with it.
pub fn check_endpoint(text: &str) -> std::result::Result<Url, String> {
    // Text holding '@' may carry credentials: never quoted back.
    let shown = if text.contains('@') { "the URL" } else { text };
    let url = Url::parse(text).map_err(|e| format!("'{shown}' is not a URL: {e}"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "must not contain a user name or password; give credentials as \
                    client_id / client_secret"
                .into(),
        );
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(format!(
            "'{text}' must use https (plain http is allowed only for 127.0.0.1, [::1] and localhost)"
        )),
        other => Err(format!("'{text}' has unsupported scheme '{other}'")),
    }
}

/// Whether the URL's host is a loopback address or `localhost`.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// Which failures may be retried for a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Retry connection failures, timeouts, 429, 500, 502, 503 and 504: the request can be
    /// repeated without harm (client credentials, discovery, reads).
    Idempotent,
    /// Retry only when the request surely did not take effect (connection refused, 429, 503):
    /// for one-shot inputs such as authorization codes and rotating refresh tokens.
    OnlyUnprocessed,
}

/// One form field's value: plain, or a secret (scrubbed from any text quoting the answer).
#[derive(Debug, Clone)]
pub enum FormValue {
    /// A value that is no secret (`grant_type`, `scope`, `redirect_uri`, …).
    Plain(String),
    /// A credential (`client_secret`, `client_assertion`, `code`, `refresh_token`, …).
    Secret(Secret),
}

impl FormValue {
    fn as_str(&self) -> &str {
        match self {
            FormValue::Plain(v) => v,
            FormValue::Secret(s) => s.expose(),
        }
    }
}

impl From<&str> for FormValue {
    fn from(value: &str) -> Self {
        FormValue::Plain(value.to_owned())
    }
}

impl From<String> for FormValue {
    fn from(value: String) -> Self {
        FormValue::Plain(value)
    }
}

impl From<&Secret> for FormValue {
    fn from(value: &Secret) -> Self {
        FormValue::Secret(value.clone())
    }
}

/// Form fields that carry credentials whatever their declared type: a field added as
/// [`FormValue::Plain`] by mistake is still scrubbed.
const SECRET_FIELDS: [&str; 11] = [
    "client_secret",
    "client_assertion",
    "code",
    "code_verifier",
    "refresh_token",
    "device_code",
    "token",
    "assertion",
    "password",
    "subject_token",
    "actor_token",
];

/// The body of a request.
#[derive(Clone, Default)]
pub enum Body {
    /// No body.
    #[default]
    Empty,
    /// `application/x-www-form-urlencoded` fields.
    Form(Vec<(String, FormValue)>),
    /// A JSON document.
    Json(serde_json::Value),
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Body::Empty => f.write_str("Empty"),
            Body::Form(fields) => f
                .debug_tuple("Form")
                .field(&fields.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>())
                .finish(),
            Body::Json(_) => f.write_str("Json(..)"),
        }
    }
}

/// One request to an OAuth endpoint. Its `Debug` names fields and headers, never values.
#[derive(Clone)]
pub struct Request {
    pub(crate) method: Method,
    pub(crate) url: Url,
    pub(crate) body: Body,
    /// Extra headers (names lower-case); every value is treated as a secret.
    pub(crate) headers: Vec<(String, Secret)>,
    /// HTTP Basic credentials.
    pub(crate) basic: Option<(String, Secret)>,
    /// A bearer token for the `Authorization` header.
    pub(crate) bearer: Option<Secret>,
    pub(crate) retry: Retry,
    /// Secrets the request does not carry but a server might know and quote (the rest of
    /// the profile's credentials).
    pub(crate) also_redact: Vec<Secret>,
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("endpoint", &endpoint_name(&self.url))
            .field("body", &self.body)
            .field(
                "headers",
                &self
                    .headers
                    .iter()
                    .map(|(k, _)| k.as_str())
                    .collect::<Vec<_>>(),
            )
            .field("basic", &self.basic.is_some())
            .field("bearer", &self.bearer.is_some())
            .field("retry", &self.retry)
            .finish()
    }
}

impl Request {
    /// A POST of form fields, retried as `retry` allows.
    pub fn form(url: Url, fields: Vec<(String, FormValue)>, retry: Retry) -> Self {
        Self {
            body: Body::Form(fields),
            retry,
            ..Self::new(Method::POST, url)
        }
    }

    /// A GET.
    pub fn get(url: Url) -> Self {
        Self::new(Method::GET, url)
    }

    pub(crate) fn new(method: Method, url: Url) -> Self {
        Self {
            method,
            url,
            body: Body::Empty,
            headers: Vec::new(),
            basic: None,
            bearer: None,
            retry: Retry::Idempotent,
            also_redact: Vec::new(),
        }
    }

    /// The same request with another retry policy.
    pub fn with_retry(mut self, retry: Retry) -> Self {
        self.retry = retry;
        self
    }

    /// Also scrubs `secrets` from any text quoting the answer.
    pub(crate) fn also_redact<'a>(&mut self, secrets: impl IntoIterator<Item = &'a Secret>) {
        self.also_redact.extend(secrets.into_iter().cloned());
    }

    /// Every secret this request carries, in every encoding it goes out in.
    pub(crate) fn redactor(&self) -> Redactor {
        let mut r = Redactor::default();
        if let Body::Form(fields) = &self.body {
            for (name, value) in fields {
                if matches!(value, FormValue::Secret(_)) || SECRET_FIELDS.contains(&name.as_str()) {
                    r.add(value.as_str());
                }
            }
        }
        for (_, value) in &self.headers {
            r.add(value.expose());
        }
        if let Some((user, password)) = &self.basic {
            r.add_basic(user, password.expose());
        }
        if let Some(token) = &self.bearer {
            r.add(token.expose());
        }
        for secret in &self.also_redact {
            r.add(secret.expose());
        }
        r
    }
}

/// A response with its body read (at most [`MAX_BODY_BYTES`]). Its `Debug` shows the body's
/// length only.
#[derive(Clone)]
pub struct Response {
    /// The URL that answered, without query or fragment (safe to put in messages).
    pub endpoint: String,
    /// The HTTP status.
    pub status: u16,
    /// The `Content-Type`, if any.
    pub content_type: Option<String>,
    /// The body.
    pub body: Vec<u8>,
    /// Every secret the request carried and every token the body carries: whatever quotes
    /// this response goes through it.
    pub redactor: Redactor,
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("endpoint", &self.endpoint)
            .field("status", &self.status)
            .field("content_type", &self.content_type)
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

/// The pooled HTTP client every flow of a broker shares.
#[derive(Debug, Clone)]
pub struct HttpClient {
    /// For every host but loopback: honours the proxy environment variables.
    client: reqwest::Client,
    /// For loopback hosts: never through a proxy, so local traffic stays local.
    direct: reqwest::Client,
    timeout: Duration,
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
                .timeout(timeout)
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
            max_retries: config.max_retries,
            max_wait,
        })
    }

    /// Sends `request`, retrying as its [`Retry`] policy allows, and reads the body.
    ///
    /// Any status is returned as a [`Response`]; only transport failures, timeouts and
    /// oversized bodies are errors here. Interpreting the status is `validate`'s job.
    pub async fn send(&self, request: &Request) -> Result<Response> {
        let endpoint = endpoint_name(&request.url);
        let mut attempt = 0u32;
        loop {
            let span = tracing::debug_span!("http", method = %request.method, endpoint = %endpoint, attempt);
            let outcome = self.send_once(request, &endpoint).instrument(span).await;
            let wait = match &outcome {
                Ok((resp, retry_after)) => match retry_wait(request.retry, resp.status) {
                    true => Some(retry_after.unwrap_or_else(|| backoff(attempt))),
                    false => None,
                },
                Err((err, unprocessed)) => {
                    let retryable = matches!(err, Error::Transport { .. } | Error::Timeout { .. })
                        && (request.retry == Retry::Idempotent || *unprocessed);
                    retryable.then(|| backoff(attempt))
                }
            };
            match (wait, attempt < self.max_retries) {
                (Some(wait), true) => {
                    let wait = wait.min(self.max_wait);
                    tracing::info!(endpoint = %endpoint, wait_ms = wait.as_millis() as u64, "retrying");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                _ => return outcome.map(|(resp, _)| resp).map_err(|(err, _)| err),
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
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
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

async fn read_limited(
    mut response: reqwest::Response,
    endpoint: &str,
    status: StatusCode,
) -> Result<Vec<u8>> {
    let too_big = || Error::InvalidResponse {
        endpoint: endpoint.to_owned(),
        status: Some(status.as_u16()),
        reason: format!("body is larger than {} KiB", MAX_BODY_BYTES / 1024),
    };
    if response
        .content_length()
        .is_some_and(|n| n as usize > MAX_BODY_BYTES)
    {
        return Err(too_big());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| Error::Transport {
        endpoint: endpoint.to_owned(),
        reason: format!("body could not be read: {e}"),
    })? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(too_big());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// RFC 6749 §2.3.1: client id and secret are form-encoded before Basic encoding.
fn form_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

fn retry_wait(retry: Retry, status: u16) -> bool {
    match retry {
        Retry::Idempotent => matches!(status, 429 | 500 | 502 | 503 | 504),
        Retry::OnlyUnprocessed => matches!(status, 429 | 503),
    }
}

/// Exponential backoff with full jitter: a random wait in [base/2, base] with
/// base = 200 ms × 2^attempt.
fn backoff(attempt: u32) -> Duration {
    let base = 200u64.saturating_mul(1 << attempt.min(10));
    let jitter = rand::random_range(base / 2..=base);
    Duration::from_millis(jitter)
}

/// Parses `Retry-After` as delay-seconds or an HTTP date.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(SystemTime::now()).unwrap_or_default())
}

/// The URL without query and fragment, for messages and logs.
pub fn endpoint_name(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    let _ = u.set_password(None);
    let _ = u.set_username("");
    u.to_string()
}

#[cfg(test)]
#[path = "http_tests.rs"]
mod tests;
