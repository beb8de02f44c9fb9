//! One request to an OAuth endpoint: method, URL, body, credentials and retry policy, and
//! the secrets it carries.

use std::fmt;

use reqwest::Method;
use url::Url;

use super::endpoint::endpoint_name;
use super::retry::Retry;
use crate::redact::Redactor;
use crate::secret::Secret;

/// One form field's value: plain, or a secret (scrubbed from any text quoting the answer).
#[derive(Debug, Clone)]
pub enum FormValue {
    /// A value that is no secret (`grant_type`, `scope`, `redirect_uri`, …).
    Plain(String),
    /// A credential (`client_secret`, `client_assertion`, `code`, `refresh_token`, …).
    Secret(Secret),
}

impl FormValue {
    pub(super) fn as_str(&self) -> &str {
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
