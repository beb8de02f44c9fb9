//! The RFC 7591 §2 checks [`ClientMetadata::validate`] runs before anything is sent.

use url::Url;

use super::{ClientMetadata, SERVER_FIELDS};
use crate::error::{Error, Result};
use crate::http::is_loopback;

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

impl ClientMetadata {
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
