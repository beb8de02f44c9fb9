//! Client metadata (RFC 7591 §2): a JSON object with typed accessors, checked before it is
//! sent to any registration endpoint.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Fields the server issues. They are never client metadata: a request carrying one is
/// refused before sending (RFC 7591 §3.2.1, RFC 7592 §2.2).
pub const SERVER_FIELDS: [&str; 7] = [
    "client_id",
    "client_secret",
    "registration_access_token",
    "registration_client_uri",
    "client_id_issued_at",
    "client_secret_expires_at",
    "x_api_key",
];

/// Fields whose values are credentials: redacted by `Debug`.
const SECRET_FIELDS: [&str; 3] = ["client_secret", "registration_access_token", "x_api_key"];

/// Client metadata: a JSON object as RFC 7591 §2 defines it, extension fields included.
///
/// Build one with [`ClientMetadata::new`] and the `with_*` setters, or from JSON with
/// [`ClientMetadata::from_json`]; [`ClientMetadata::validate`] runs before every request.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClientMetadata(Map<String, Value>);

impl fmt::Debug for ClientMetadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (key, value) in &self.0 {
            if SECRET_FIELDS.contains(&key.as_str()) {
                map.entry(key, &"[redacted]");
            } else {
                map.entry(key, value);
            }
        }
        map.finish()
    }
}

impl From<Map<String, Value>> for ClientMetadata {
    fn from(map: Map<String, Value>) -> Self {
        Self(map)
    }
}

impl ClientMetadata {
    /// Empty metadata (every field at its RFC 7591 default).
    pub fn new() -> Self {
        Self::default()
    }

    /// Metadata from a JSON value, which must be an object.
    pub fn from_json(value: Value) -> Result<Self> {
        match value {
            Value::Object(map) => Ok(Self(map)),
            _ => Err(Error::config("client metadata", "must be a JSON object")),
        }
    }

    /// The fields as a JSON object.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    /// The fields as a JSON value.
    pub fn to_json(&self) -> Value {
        Value::Object(self.0.clone())
    }

    /// The value of `field`, if present.
    pub fn get(&self, field: &str) -> Option<&Value> {
        self.0.get(field)
    }

    /// Sets `field` to `value`.
    pub fn set(&mut self, field: &str, value: impl Into<Value>) -> &mut Self {
        self.0.insert(field.to_owned(), value.into());
        self
    }

    /// Removes `field`, returning its value.
    pub fn remove(&mut self, field: &str) -> Option<Value> {
        self.0.remove(field)
    }

    /// This metadata with `field` set to `value`.
    pub fn with(mut self, field: &str, value: impl Into<Value>) -> Self {
        self.set(field, value);
        self
    }

    fn strings(&self, field: &str) -> Option<Vec<String>> {
        self.0
            .get(field)?
            .as_array()?
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect()
    }

    fn string(&self, field: &str) -> Option<&str> {
        self.0.get(field)?.as_str()
    }

    /// `redirect_uris`, when present and a list of strings.
    pub fn redirect_uris(&self) -> Option<Vec<String>> {
        self.strings("redirect_uris")
    }

    /// `grant_types` as given (see [`Self::effective_grant_types`] for the default).
    pub fn grant_types(&self) -> Option<Vec<String>> {
        self.strings("grant_types")
    }

    /// `response_types` as given (see [`Self::effective_response_types`] for the default).
    pub fn response_types(&self) -> Option<Vec<String>> {
        self.strings("response_types")
    }

    /// `contacts`, when present and a list of strings.
    pub fn contacts(&self) -> Option<Vec<String>> {
        self.strings("contacts")
    }

    /// `token_endpoint_auth_method` as given (the RFC 7591 default is `client_secret_basic`).
    pub fn token_endpoint_auth_method(&self) -> Option<&str> {
        self.string("token_endpoint_auth_method")
    }

    /// `scope`: space-separated scope values.
    pub fn scope(&self) -> Option<&str> {
        self.string("scope")
    }

    /// `client_name`.
    pub fn client_name(&self) -> Option<&str> {
        self.string("client_name")
    }

    /// `application_type` (OpenID Connect Registration: `web` or `native`).
    pub fn application_type(&self) -> Option<&str> {
        self.string("application_type")
    }

    /// `grant_types`, or `["authorization_code"]` when absent (RFC 7591 §2).
    pub fn effective_grant_types(&self) -> Vec<String> {
        self.grant_types()
            .unwrap_or_else(|| vec!["authorization_code".into()])
    }

    /// `response_types`, or `["code"]` when absent (RFC 7591 §2).
    pub fn effective_response_types(&self) -> Vec<String> {
        self.response_types().unwrap_or_else(|| vec!["code".into()])
    }

    /// Sets `redirect_uris`.
    pub fn with_redirect_uris<S: Into<String>>(self, uris: impl IntoIterator<Item = S>) -> Self {
        self.with("redirect_uris", string_list(uris))
    }

    /// Sets `grant_types`.
    pub fn with_grant_types<S: Into<String>>(self, grants: impl IntoIterator<Item = S>) -> Self {
        self.with("grant_types", string_list(grants))
    }

    /// Sets `response_types` (an empty list for clients that never use the authorization
    /// endpoint).
    pub fn with_response_types<S: Into<String>>(self, types: impl IntoIterator<Item = S>) -> Self {
        self.with("response_types", string_list(types))
    }

    /// Sets `contacts` (e-mail addresses).
    pub fn with_contacts<S: Into<String>>(self, contacts: impl IntoIterator<Item = S>) -> Self {
        self.with("contacts", string_list(contacts))
    }

    /// Sets `token_endpoint_auth_method`.
    pub fn with_token_endpoint_auth_method(self, method: &str) -> Self {
        self.with("token_endpoint_auth_method", method)
    }

    /// Sets `scope` (space-separated).
    pub fn with_scope(self, scope: &str) -> Self {
        self.with("scope", scope)
    }

    /// Sets `client_name`.
    pub fn with_client_name(self, name: &str) -> Self {
        self.with("client_name", name)
    }

    /// Sets `application_type` (`web` or `native`).
    pub fn with_application_type(self, kind: &str) -> Self {
        self.with("application_type", kind)
    }
}

fn string_list<S: Into<String>>(items: impl IntoIterator<Item = S>) -> Value {
    Value::Array(items.into_iter().map(|s| Value::String(s.into())).collect())
}

#[path = "metadata_rules.rs"]
mod rules;

#[cfg(test)]
#[path = "metadata_tests.rs"]
mod tests;
