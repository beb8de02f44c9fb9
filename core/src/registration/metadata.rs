//! Client metadata (RFC 7591 §2): a JSON object with typed accessors, checked before it is
//! sent to any registration endpoint.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use url::Url;

use crate::error::{Error, Result};
use crate::http::is_loopback;

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

const STRING_LISTS: [&str; 4] = ["redirect_uris", "grant_types", "response_types", "contacts"];

const STRINGS: [&str; 13] = [
    "scope",
    "client_name",
    "token_endpoint_auth_method",
    "application_type",
    "client_uri",
    "logo_uri",
    "tos_uri",
    "policy_uri",
    "jwks_uri",
    "software_id",
    "software_version",
    "software_statement",
    "client_description",
];

/// Grant types that redirect the user agent, and so need `redirect_uris`.
const REDIRECT_GRANTS: [&str; 2] = ["authorization_code", "implicit"];

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

    /// Checks the metadata as RFC 7591 §2 asks, before anything is sent. The error is a
    /// config error whose location names the field.
    ///
    /// - server-issued fields (`client_id`, `client_secret`, …) are refused;
    /// - known fields have the right JSON types;
    /// - `redirect_uris` are absolute, without fragment, and https, or http on a loopback
    ///   host (127.0.0.1, [::1], localhost), or a private-use scheme such as
    ///   `com.example.app:/cb` (RFC 8252 §7.1) unless `application_type` is `web`; they are
    ///   required when a redirect-based grant is registered;
    /// - `grant_types` and `response_types` agree (`authorization_code` ↔ `code`,
    ///   `implicit` ↔ `token`), the RFC defaults (`["authorization_code"]`, `["code"]`)
    ///   standing in for absent lists;
    /// - `contacts` look like e-mail addresses, `scope` holds valid scope tokens,
    ///   `application_type` is `web` or `native`, and `jwks` and `jwks_uri` are not both set.
    pub fn validate(&self) -> Result<()> {
        for field in SERVER_FIELDS {
            if self.0.contains_key(field) {
                return Err(field_error(
                    field,
                    "is issued by the server and cannot be sent as client metadata",
                ));
            }
        }
        for field in STRING_LISTS {
            if self.0.contains_key(field) && self.strings(field).is_none() {
                return Err(field_error(field, "must be a list of strings"));
            }
        }
        for field in STRINGS {
            if self.0.get(field).is_some_and(|v| !v.is_string()) {
                return Err(field_error(field, "must be a string"));
            }
        }
        self.check_redirect_uris()?;
        self.check_grants_and_responses()?;
        self.check_other_fields()
    }

    fn check_redirect_uris(&self) -> Result<()> {
        let uris = self.redirect_uris().unwrap_or_default();
        let grants = self.effective_grant_types();
        if uris.is_empty() {
            if let Some(g) = grants
                .iter()
                .find(|g| REDIRECT_GRANTS.contains(&g.as_str()))
            {
                let why = if self.grant_types().is_none() {
                    " (grant_types defaults to [\"authorization_code\"]; a machine client sets \
                     grant_types = [\"client_credentials\"] and response_types = [])"
                } else {
                    ""
                };
                return Err(field_error(
                    "redirect_uris",
                    format!("is required for grant type '{g}'{why}"),
                ));
            }
        }
        let web = self.application_type() == Some("web");
        for uri in &uris {
            check_redirect_uri(uri, web).map_err(|r| field_error("redirect_uris", r))?;
        }
        Ok(())
    }

    fn check_grants_and_responses(&self) -> Result<()> {
        let grants = self.effective_grant_types();
        let responses = self.effective_response_types();
        let has_grant = |g: &str| grants.iter().any(|x| x == g);
        let defaulted = |field: &str| match self.0.contains_key(field) {
            true => String::new(),
            false => format!(" ({field} was left out, so the RFC 7591 default applies)"),
        };
        let mut parts_seen = (false, false);
        for response in &responses {
            let parts: Vec<&str> = response.split(' ').filter(|p| !p.is_empty()).collect();
            if parts.is_empty() {
                return Err(field_error("response_types", "contains an empty value"));
            }
            let code = parts.contains(&"code");
            let token = parts.contains(&"token");
            parts_seen.0 |= code;
            parts_seen.1 |= token || parts.contains(&"id_token");
            for (needed, grant) in [(code, "authorization_code"), (token, "implicit")] {
                if !needed || has_grant(grant) {
                    continue;
                }
                if !self.0.contains_key("response_types") {
                    return Err(field_error(
                        "response_types",
                        format!(
                            "defaults to [\"{response}\"] (RFC 7591 §2), which needs grant type \
                             '{grant}'; send response_types = [] for a client that never uses \
                             the authorization endpoint"
                        ),
                    ));
                }
                return Err(field_error(
                    "grant_types",
                    format!(
                        "must include '{grant}' because response_types has '{response}'{}",
                        defaulted("grant_types")
                    ),
                ));
            }
        }
        for (grant, seen, response) in [
            ("authorization_code", parts_seen.0, "code"),
            ("implicit", parts_seen.1, "token"),
        ] {
            if has_grant(grant) && !seen {
                return Err(field_error(
                    "response_types",
                    format!(
                        "must include '{response}' because grant_types has '{grant}'{}",
                        defaulted("response_types")
                    ),
                ));
            }
        }
        if grants.iter().any(String::is_empty) {
            return Err(field_error("grant_types", "contains an empty value"));
        }
        Ok(())
    }

    fn check_other_fields(&self) -> Result<()> {
        for contact in self.contacts().unwrap_or_default() {
            if !looks_like_email(&contact) {
                return Err(field_error(
                    "contacts",
                    format!("'{contact}' is not an e-mail address"),
                ));
            }
        }
        if let Some(scope) = self.scope() {
            let bad = |c: char| !matches!(c, '\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e');
            if let Some(token) = scope.split(' ').find(|t| !t.is_empty() && t.contains(bad)) {
                return Err(field_error(
                    "scope",
                    format!("'{token}' is not a valid scope value (RFC 6749 §3.3)"),
                ));
            }
        }
        if let Some(kind) = self.application_type() {
            if kind != "web" && kind != "native" {
                return Err(field_error(
                    "application_type",
                    format!("'{kind}' is not 'web' or 'native'"),
                ));
            }
        }
        if let Some(method) = self.token_endpoint_auth_method() {
            if method.is_empty() || method.contains(char::is_whitespace) {
                return Err(field_error(
                    "token_endpoint_auth_method",
                    "must be a method name such as client_secret_basic",
                ));
            }
        }
        if self.0.contains_key("jwks") && self.0.contains_key("jwks_uri") {
            return Err(field_error(
                "jwks",
                "must not be given together with jwks_uri (RFC 7591 §2)",
            ));
        }
        for field in [
            "client_uri",
            "logo_uri",
            "tos_uri",
            "policy_uri",
            "jwks_uri",
        ] {
            if let Some(text) = self.string(field) {
                Url::parse(text)
                    .map_err(|e| field_error(field, format!("'{text}' is not a URL: {e}")))?;
            }
        }
        Ok(())
    }
}

fn string_list<S: Into<String>>(items: impl IntoIterator<Item = S>) -> Value {
    Value::Array(items.into_iter().map(|s| Value::String(s.into())).collect())
}

fn field_error(field: &str, reason: impl Into<String>) -> Error {
    Error::config(format!("client metadata, field '{field}'"), reason)
}

/// Checks one redirect URI (RFC 6749 §3.1.2, RFC 8252 §7).
fn check_redirect_uri(text: &str, web: bool) -> std::result::Result<(), String> {
    let url = Url::parse(text).map_err(|e| format!("'{text}' is not an absolute URI: {e}"))?;
    if url.fragment().is_some() {
        return Err(format!("'{text}' must not have a fragment"));
    }
    match url.scheme() {
        "https" if url.host().is_some() => Ok(()),
        "https" => Err(format!("'{text}' has no host")),
        "http" if is_loopback(&url) => Ok(()),
        "http" => Err(format!(
            "'{text}' must use https (plain http only for loopback: 127.0.0.1, [::1], localhost)"
        )),
        scheme if scheme.contains('.') && !web => Ok(()),
        scheme if scheme.contains('.') => Err(format!(
            "'{text}' uses a private-use scheme, which only native apps may register \
             (application_type is 'web')"
        )),
        scheme => Err(format!(
            "'{text}' has scheme '{scheme}': use https, loopback http, or a reverse-domain \
             private-use scheme such as com.example.app:/callback"
        )),
    }
}

/// A plain `local@domain.tld` shape check; not a full RFC 5322 parser.
fn looks_like_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && !text.chars().any(|c| c.is_whitespace() || c.is_control())
        && domain.contains('.')
        && domain.split('.').all(|label| !label.is_empty())
}

#[cfg(test)]
#[path = "metadata_tests.rs"]
mod tests;
