//! A resolved profile: one client of one provider, with every template expanded and every
//! value checked.

use std::collections::BTreeMap;
use std::path::PathBuf;

use url::Url;

use crate::error::{Error, Result};
use crate::provider::{AuthMethod, Preset};
use crate::secret::Secret;

/// The OAuth grant a profile uses to obtain tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// RFC 6749 §4.4.
    ClientCredentials,
    /// RFC 6749 §4.1 with PKCE; tokens then come from the stored refresh token.
    AuthorizationCode,
    /// A refresh token given in the configuration (seed 004's stored token).
    RefreshToken,
    /// RFC 8628 device authorization; tokens then come from the stored refresh token.
    DeviceCode,
}

impl Grant {
    /// The grant's configuration name.
    pub fn as_str(self) -> &'static str {
        match self {
            Grant::ClientCredentials => "client_credentials",
            Grant::AuthorizationCode => "authorization_code",
            Grant::RefreshToken => "refresh_token",
            Grant::DeviceCode => "device_code",
        }
    }

    fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "client_credentials" => Grant::ClientCredentials,
            "authorization_code" => Grant::AuthorizationCode,
            "refresh_token" => Grant::RefreshToken,
            "device_code" => Grant::DeviceCode,
            _ => return None,
        })
    }
}

/// One configured client of one provider.
#[derive(Debug, Clone)]
pub struct Profile {
    /// The profile's name.
    pub(crate) name: String,
    /// The provider preset.
    pub(crate) preset: &'static Preset,
    /// The client id.
    pub(crate) client_id: String,
    /// The client secret, when the client has one.
    pub(crate) client_secret: Option<Secret>,
    /// How the client authenticates.
    pub(crate) auth_method: AuthMethod,
    /// PEM private key for `private_key_jwt`.
    pub(crate) private_key: Option<Secret>,
    /// PEM certificate whose `x5t#S256` thumbprint goes in the assertion header.
    pub(crate) certificate: Option<String>,
    /// Scopes requested by default.
    pub(crate) scopes: Vec<String>,
    /// The grant used by `token()`.
    pub(crate) grant: Grant,
    /// Redirect URI for the authorization code flow (default: a loopback listener).
    pub(crate) redirect_uri: Option<String>,
    /// Expected issuer (discovery and ID token `iss`).
    pub(crate) issuer: Option<String>,
    /// Endpoints (for discovery presets, filled in by discovery).
    pub(crate) endpoints: Endpoints,
    /// Why an endpoint template could not be expanded, by endpoint.
    pub(crate) unresolved: BTreeMap<Endpoint, String>,
    /// Extra form fields sent on token and authorization requests (`resource`, …).
    pub(crate) params: Vec<(String, String)>,
    /// Extra headers sent on token requests (names lower-case; values may be secrets such
    /// as API keys, so they are `env:`/`file:`-resolvable and never printed).
    pub(crate) headers: Vec<(String, Secret)>,
    /// Values that filled the URL templates (`tenant`, `org`, …).
    pub(crate) values: BTreeMap<String, String>,
    /// `x-api-key` for a provider's management API.
    pub(crate) api_key: Option<Secret>,
    /// A refresh token given in the configuration.
    pub(crate) refresh_token: Option<Secret>,
    /// Who signs in with this profile (the ID token's `sub`, or any stable name when the
    /// provider issues no ID token): user-grant entries are keyed by it on machines where no
    /// sign-in is recorded, so a fleet shares one user's sign-in.
    pub(crate) subject: Option<String>,
    /// Extra CA file for this profile's endpoints.
    pub(crate) ca_file: Option<PathBuf>,
    /// Whether authorization responses must carry the RFC 9207 `iss` parameter (the server's
    /// metadata advertises `authorization_response_iss_parameter_supported`).
    pub(crate) requires_iss_parameter: bool,
    literal_secret: bool,
    secret_env: Vec<String>,
}

impl Profile {
    /// The profile's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The provider preset's name (`oidc`, `alvaria`, …).
    pub fn provider(&self) -> &str {
        &self.preset.name
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// How the client authenticates.
    pub fn auth_method(&self) -> AuthMethod {
        self.auth_method
    }

    /// The grant `token()` uses.
    pub fn grant(&self) -> Grant {
        self.grant
    }

    /// The scopes requested by default.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// The expected issuer, for discovery presets and ID tokens.
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    /// The configured redirect URI (`None`: a loopback listener).
    pub fn redirect_uri(&self) -> Option<&str> {
        self.redirect_uri.as_deref()
    }

    /// Whether a secret was given literally (not `env:` or `file:`).
    pub fn has_literal_secret(&self) -> bool {
        self.literal_secret
    }

    /// Every secret this profile holds (client secret, private key, API key, refresh token,
    /// header values), for scrubbing provider-echoed text.
    pub fn secrets(&self) -> impl Iterator<Item = &Secret> {
        [
            &self.client_secret,
            &self.private_key,
            &self.api_key,
            &self.refresh_token,
        ]
        .into_iter()
        .flatten()
        .chain(self.headers.iter().map(|(_, value)| value))
    }

    /// The environment variables this profile's `env:` secrets were read from; child
    /// processes must not inherit them.
    pub fn secret_env_names(&self) -> &[String] {
        &self.secret_env
    }

    /// The URL of `endpoint`, or a config error saying why it is missing.
    pub fn endpoint(&self, endpoint: Endpoint) -> Result<&Url> {
        self.endpoints.get(endpoint).ok_or_else(|| {
            let why = self
                .unresolved
                .get(&endpoint)
                .map(|w| format!("the preset's template {w}"))
                .unwrap_or_else(|| format!("provider '{}' has none; set it", self.preset.name));
            Error::config(
                format!("profile '{}', key '{}'", self.name, endpoint.key()),
                why,
            )
        })
    }
}

mod endpoint;
mod from_table;

pub use endpoint::{Endpoint, Endpoints};

#[cfg(test)]
#[path = "profile_tests.rs"]
mod tests;
