//! Resolving a profile from its configuration table: secrets, grant, preset parameters and
//! endpoint templates, each value checked.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use url::Url;

use super::{Endpoint, Endpoints, Grant, Profile};
use crate::config_fields::Fields;
use crate::error::Result;
use crate::http::check_endpoint;
use crate::provider::{self, AuthMethod, ParamFormat, Preset};
use crate::scopes::ScopesArg;
use crate::secret::Secret;

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
        // The scope-token check of every caller's `scopes` (RFC 6749 §3.3).
        let scopes = match f.strings("scopes")? {
            Some(list) => ScopesArg::List(list).parse(&f.location("scopes"))?,
            None => preset.default_scopes.clone(),
        };
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
