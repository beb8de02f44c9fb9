//! A resolved profile: one client of one provider, with every template expanded and every
//! value checked.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use url::Url;

use crate::config_fields::Fields;
use crate::error::{Error, Result};
use crate::http::check_endpoint;
use crate::provider::{self, AuthMethod, ParamFormat, Preset};
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

/// One endpoint a profile may have; [`Endpoint::key`] is its configuration key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Endpoint {
    /// The token endpoint (`token_url`).
    Token,
    /// The authorization endpoint (`authorize_url`).
    Authorize,
    /// The device authorization endpoint (`device_url`).
    Device,
    /// The registration / client-management endpoint (`registration_url`).
    Registration,
    /// The revocation endpoint (`revocation_url`).
    Revocation,
    /// The JWKS of ID token signatures (`jwks_url`).
    Jwks,
}

impl Endpoint {
    /// Every endpoint, in configuration order.
    pub const ALL: [Endpoint; 6] = [
        Endpoint::Token,
        Endpoint::Authorize,
        Endpoint::Device,
        Endpoint::Registration,
        Endpoint::Revocation,
        Endpoint::Jwks,
    ];

    /// The configuration key that overrides this endpoint (`"token_url"`, …).
    pub fn key(self) -> &'static str {
        match self {
            Endpoint::Token => "token_url",
            Endpoint::Authorize => "authorize_url",
            Endpoint::Device => "device_url",
            Endpoint::Registration => "registration_url",
            Endpoint::Revocation => "revocation_url",
            Endpoint::Jwks => "jwks_url",
        }
    }

    /// The preset's URL template of this endpoint.
    fn template(self, preset: &Preset) -> Option<&String> {
        match self {
            Endpoint::Token => preset.token_url.as_ref(),
            Endpoint::Authorize => preset.authorize_url.as_ref(),
            Endpoint::Device => preset.device_url.as_ref(),
            Endpoint::Registration => preset.registration_url.as_ref(),
            Endpoint::Revocation => preset.revocation_url.as_ref(),
            Endpoint::Jwks => preset.jwks_url.as_ref(),
        }
    }
}

/// Endpoints of a profile after template expansion and overrides.
#[derive(Debug, Clone, Default)]
pub struct Endpoints {
    /// Token endpoint.
    pub token: Option<Url>,
    /// Authorization endpoint.
    pub authorize: Option<Url>,
    /// Device authorization endpoint.
    pub device: Option<Url>,
    /// Registration / client-management endpoint.
    pub registration: Option<Url>,
    /// Revocation endpoint.
    pub revocation: Option<Url>,
    /// JWKS for ID token signatures.
    pub jwks: Option<Url>,
}

impl Endpoints {
    /// The URL of `endpoint`, when there is one.
    pub fn get(&self, endpoint: Endpoint) -> Option<&Url> {
        match endpoint {
            Endpoint::Token => self.token.as_ref(),
            Endpoint::Authorize => self.authorize.as_ref(),
            Endpoint::Device => self.device.as_ref(),
            Endpoint::Registration => self.registration.as_ref(),
            Endpoint::Revocation => self.revocation.as_ref(),
            Endpoint::Jwks => self.jwks.as_ref(),
        }
    }

    /// The slot of `endpoint`, to fill in.
    pub(crate) fn slot_mut(&mut self, endpoint: Endpoint) -> &mut Option<Url> {
        match endpoint {
            Endpoint::Token => &mut self.token,
            Endpoint::Authorize => &mut self.authorize,
            Endpoint::Device => &mut self.device,
            Endpoint::Registration => &mut self.registration,
            Endpoint::Revocation => &mut self.revocation,
            Endpoint::Jwks => &mut self.jwks,
        }
    }
}

/// One configured client of one provider.
#[derive(Debug, Clone)]
pub struct Profile {
    /// The profile's name.
    pub name: String,
    /// The provider preset.
    pub preset: &'static Preset,
    /// The client id.
    pub client_id: String,
    /// The client secret, when the client has one.
    pub client_secret: Option<Secret>,
    /// How the client authenticates.
    pub auth_method: AuthMethod,
    /// PEM private key for `private_key_jwt`.
    pub private_key: Option<Secret>,
    /// PEM certificate whose `x5t#S256` thumbprint goes in the assertion header.
    pub certificate: Option<String>,
    /// Scopes requested by default.
    pub scopes: Vec<String>,
    /// The grant used by `token()`.
    pub grant: Grant,
    /// Redirect URI for the authorization code flow (default: a loopback listener).
    pub redirect_uri: Option<String>,
    /// Expected issuer (discovery and ID token `iss`).
    pub issuer: Option<String>,
    /// Endpoints (for discovery presets, filled in by discovery).
    pub endpoints: Endpoints,
    /// Why an endpoint template could not be expanded, by endpoint.
    pub unresolved: BTreeMap<Endpoint, String>,
    /// Extra form fields sent on token and authorization requests (`resource`, …).
    pub params: Vec<(String, String)>,
    /// Extra headers sent on token requests (names lower-case; values may be secrets such
    /// as API keys, so they are `env:`/`file:`-resolvable and never printed).
    pub headers: Vec<(String, Secret)>,
    /// Values that filled the URL templates (`tenant`, `org`, …).
    pub values: BTreeMap<String, String>,
    /// `x-api-key` for a provider's management API.
    pub api_key: Option<Secret>,
    /// A refresh token given in the configuration.
    pub refresh_token: Option<Secret>,
    /// Who signs in with this profile (the ID token's `sub`, or any stable name when the
    /// provider issues no ID token): user-grant entries are keyed by it on machines where no
    /// sign-in is recorded, so a fleet shares one user's sign-in.
    pub subject: Option<String>,
    /// Extra CA file for this profile's endpoints.
    pub ca_file: Option<PathBuf>,
    /// Whether authorization responses must carry the RFC 9207 `iss` parameter (the server's
    /// metadata advertises `authorization_response_iss_parameter_supported`).
    pub requires_iss_parameter: bool,
    literal_secret: bool,
    secret_env: Vec<String>,
}

const COMMON_KEYS: &[&str] = &[
    "provider",
    "client_id",
    "client_secret",
    "scopes",
    "auth_method",
    "private_key",
    "certificate",
    "redirect_uri",
    "issuer",
    "grant",
    "ca_file",
    "api_key",
    "refresh_token",
    "subject",
    "headers",
    "token_url",
    "authorize_url",
    "device_url",
    "registration_url",
    "revocation_url",
    "jwks_url",
];

impl Profile {
    /// Resolves a profile from its table.
    pub fn from_map(name: &str, map: Map<String, Value>) -> Result<Self> {
        let mut f = Fields::new(format!("profile '{name}'"), map);
        let preset_name = f.string("provider")?.unwrap_or_else(|| "oidc".into());
        let preset = provider::preset(&preset_name)
            .map_err(|_| f.error("provider", format!("unknown provider '{preset_name}'")))?;
        let mut literal_secret = false;
        let mut secret_env = Vec::new();
        let mut secret = |f: &mut Fields, key: &str| -> Result<Option<Secret>> {
            let Some(raw) = f.string(key)? else {
                return Ok(None);
            };
            let (value, literal) = resolve_secret(&raw).map_err(|reason| f.error(key, reason))?;
            literal_secret |= literal;
            secret_env.extend(raw.strip_prefix("env:").map(str::to_owned));
            Ok(Some(value))
        };
        let client_secret = secret(&mut f, "client_secret")?;
        let private_key = secret(&mut f, "private_key")?;
        let api_key = secret(&mut f, "api_key")?;
        let refresh_token = secret(&mut f, "refresh_token")?;
        let client_id = f
            .string("client_id")?
            .ok_or_else(|| f.error("client_id", "is required"))?;
        let certificate = match f.string("certificate")? {
            Some(raw) => Some(resolve_text(&raw).map_err(|r| f.error("certificate", r))?),
            None => None,
        };
        let auth_method = match f.string("auth_method")? {
            Some(m) => AuthMethod::parse(&m).ok_or_else(|| {
                f.error(
                    "auth_method",
                    format!("'{m}' is not one of client_secret_basic, client_secret_post, private_key_jwt, none"),
                )
            })?,
            None if client_secret.is_none() && private_key.is_some() => AuthMethod::PrivateKeyJwt,
            None if client_secret.is_none() => AuthMethod::None,
            None => preset.auth_method,
        };
        match auth_method {
            AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost
                if client_secret.is_none() =>
            {
                return Err(f.error(
                    "client_secret",
                    format!("is required for auth_method {}", auth_method.as_str()),
                ));
            }
            AuthMethod::PrivateKeyJwt if private_key.is_none() => {
                return Err(f.error("private_key", "is required for private_key_jwt"));
            }
            _ => {}
        }
        let grant_name = f
            .string("grant")?
            .or_else(|| preset.default_grant.clone())
            .unwrap_or_else(|| "client_credentials".into());
        let grant = Grant::parse(&grant_name).ok_or_else(|| {
            f.error(
                "grant",
                format!("'{grant_name}' is not one of client_credentials, authorization_code, refresh_token, device_code"),
            )
        })?;
        if grant == Grant::RefreshToken && refresh_token.is_none() {
            return Err(f.error("refresh_token", "is required for grant refresh_token"));
        }
        let scopes = f
            .strings("scopes")?
            .unwrap_or_else(|| preset.default_scopes.clone());
        let redirect_uri = f.string("redirect_uri")?;
        if let Some(uri) = &redirect_uri {
            Url::parse(uri).map_err(|e| f.error("redirect_uri", format!("not a URL: {e}")))?;
        }
        let issuer = f.string("issuer")?;
        let subject = f.string("subject")?;
        if subject.as_deref().is_some_and(str::is_empty) {
            return Err(f.error("subject", "must not be empty"));
        }
        let ca_file = f.string("ca_file")?.map(PathBuf::from);
        let mut headers = Vec::new();
        for (name, raw) in f.string_map("headers")? {
            let (value, literal) =
                resolve_secret(&raw).map_err(|r| f.error("headers", format!("'{name}': {r}")))?;
            literal_secret |= literal;
            secret_env.extend(raw.strip_prefix("env:").map(str::to_owned));
            headers.push((name.to_ascii_lowercase(), value));
        }

        let (values, params) = preset_params(&mut f, preset)?;
        let mut overrides = BTreeMap::new();
        for endpoint in Endpoint::ALL {
            if let Some(url) = f.string(endpoint.key())? {
                overrides.insert(endpoint, url);
            }
        }
        let mut known: Vec<&str> = COMMON_KEYS.to_vec();
        known.extend(preset.params.keys().map(String::as_str));
        if let Some(key) = f.remaining_keys().next() {
            return Err(f.error(
                key,
                format!(
                    "unknown key for provider '{}' (known: {})",
                    preset.name,
                    known.join(", ")
                ),
            ));
        }

        let mut profile = Profile {
            name: name.to_owned(),
            preset,
            client_id,
            client_secret,
            auth_method,
            private_key,
            certificate,
            scopes,
            grant,
            redirect_uri,
            issuer: None,
            endpoints: Endpoints::default(),
            unresolved: BTreeMap::new(),
            params,
            headers,
            values,
            api_key,
            refresh_token,
            subject,
            ca_file,
            requires_iss_parameter: false,
            literal_secret,
            secret_env,
        };
        profile.resolve_endpoints(&f, &overrides)?;
        profile.issuer = match issuer {
            Some(i) => Some(
                provider::expand(&i, &profile.values)
                    .map_err(|why| f.error("issuer", format!("cannot be built: {why}")))?,
            ),
            None => preset
                .issuer
                .as_deref()
                .and_then(|t| provider::expand(t, &profile.values).ok()),
        };
        if preset.discovery && profile.issuer.is_none() && profile.endpoints.token.is_none() {
            return Err(f.error(
                "issuer",
                "is required for provider 'oidc' (or give token_url)",
            ));
        }
        if let Some(issuer) = &profile.issuer {
            check_endpoint(issuer).map_err(|r| f.error("issuer", r))?;
        }
        if !preset.discovery && profile.endpoints.token.is_none() {
            let why = profile
                .unresolved
                .get(&Endpoint::Token)
                .cloned()
                .unwrap_or_default();
            return Err(f.error("token_url", format!("cannot be built: {why}")));
        }
        f.finish(&known)?;
        Ok(profile)
    }

    fn resolve_endpoints(
        &mut self,
        f: &Fields,
        overrides: &BTreeMap<Endpoint, String>,
    ) -> Result<()> {
        for endpoint in Endpoint::ALL {
            let key = endpoint.key();
            let text = match (overrides.get(&endpoint), endpoint.template(self.preset)) {
                // An override takes the same `{placeholders}` as the preset's template; braces
                // cannot stand in a URL, so one the profile does not fill is an error.
                (Some(url), _) => provider::expand(url, &self.values)
                    .map_err(|why| f.error(key, format!("cannot be built: {why}")))?,
                (None, Some(t)) => match provider::expand(t, &self.values) {
                    Ok(url) => url,
                    Err(why) => {
                        self.unresolved.insert(endpoint, why);
                        continue;
                    }
                },
                (None, None) => continue,
            };
            let url = check_endpoint(&text).map_err(|reason| f.error(key, reason))?;
            *self.endpoints.slot_mut(endpoint) = Some(url);
        }
        Ok(())
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

/// Values for URL placeholders, and form fields, read from a preset's parameters.
type PresetValues = (BTreeMap<String, String>, Vec<(String, String)>);

/// Reads the preset's own parameters: URL placeholders and form fields.
fn preset_params(f: &mut Fields, preset: &Preset) -> Result<PresetValues> {
    let mut values = BTreeMap::new();
    let mut params = Vec::new();
    for (key, spec) in &preset.params {
        let value = match f.string(key)? {
            Some(v) => Some(v),
            None => spec.default.clone(),
        };
        let Some(value) = value else {
            if spec.required {
                return Err(f.error(
                    key,
                    format!("is required by provider '{}' ({})", preset.name, spec.about),
                ));
            }
            continue;
        };
        spec.format.check(&value).map_err(|r| f.error(key, r))?;
        if key == "region" {
            let host = preset.regions.get(&value).ok_or_else(|| {
                let known: Vec<&str> = preset.regions.keys().map(String::as_str).collect();
                f.error(
                    key,
                    format!("unknown region '{value}' (known: {})", known.join(", ")),
                )
            })?;
            values.insert("token_host".to_owned(), host.clone());
        }
        if let Some(wire) = &spec.wire {
            params.push((wire.clone(), value.clone()));
        }
        if spec.placeholder || spec.format == ParamFormat::PathSegment {
            values.insert(key.clone(), value);
        }
    }
    Ok((values, params))
}

/// Resolves `env:NAME`, `file:PATH` or a literal. Returns the value and whether it was literal.
fn resolve_secret(raw: &str) -> std::result::Result<(Secret, bool), String> {
    if let Some(name) = raw.strip_prefix("env:") {
        return match std::env::var(name) {
            Ok(v) if !v.is_empty() => Ok((Secret::new(v), false)),
            _ => Err(format!("environment variable {name} is not set")),
        };
    }
    if raw.starts_with("file:") {
        return resolve_text(raw).map(|v| (Secret::new(v), false));
    }
    Ok((Secret::new(raw), true))
}

/// Resolves `file:PATH` to the file's text (trailing newline trimmed), or returns `raw`.
fn resolve_text(raw: &str) -> std::result::Result<String, String> {
    match raw.strip_prefix("file:") {
        Some(path) => crate::regular_file::read_text(Path::new(path))
            .map(|s| s.trim_end_matches(['\r', '\n']).to_owned())
            .map_err(|e| format!("cannot read file {path}: {e}")),
        None => Ok(raw.to_owned()),
    }
}

#[cfg(test)]
#[path = "profile_tests.rs"]
mod tests;
