//! Provider presets: how one provider speaks OAuth, as data shipped inside the crate.
//!
//! Each preset is a TOML file under `core/presets/`, one per provider document. A profile
//! names a preset and fills in its parameters; any endpoint can still be overridden.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::error::{Error, Result};

/// How the client proves its identity at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// HTTP Basic with the client id and secret (RFC 6749 §2.3.1).
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
    /// A signed JWT assertion (RFC 7523) made with the client's private key.
    PrivateKeyJwt,
    /// Public client: only `client_id` is sent.
    None,
}

impl AuthMethod {
    /// The method's name as used in configuration and discovery documents.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
            AuthMethod::None => "none",
        }
    }

    /// Parses a configuration value.
    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "client_secret_basic" => AuthMethod::ClientSecretBasic,
            "client_secret_post" => AuthMethod::ClientSecretPost,
            "private_key_jwt" => AuthMethod::PrivateKeyJwt,
            "none" => AuthMethod::None,
            _ => return None,
        })
    }
}

/// What a preset parameter's value must look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamFormat {
    /// Any non-empty text.
    #[default]
    Text,
    /// A GUID such as `6f1c2a4e-0b7d-4c1e-9a55-2f7f1b0e8c3d`.
    Guid,
    /// One URL path segment: letters, digits, `-`, `_` and `.`.
    PathSegment,
}

impl ParamFormat {
    /// Checks `value`, returning what is wrong with it.
    pub fn check(self, value: &str) -> std::result::Result<(), String> {
        if value.is_empty() {
            return Err("must not be empty".into());
        }
        match self {
            ParamFormat::Text => Ok(()),
            ParamFormat::Guid if is_guid(value) => Ok(()),
            ParamFormat::Guid => Err(format!(
                "'{value}' is not a GUID (expected 8-4-4-4-12 hex digits)"
            )),
            ParamFormat::PathSegment
                if value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                    && value != "."
                    && value != ".." =>
            {
                Ok(())
            }
            ParamFormat::PathSegment => Err(format!(
                "'{value}' is not a single path segment (letters, digits, '-', '_', '.')"
            )),
        }
    }
}

fn is_guid(value: &str) -> bool {
    let v = value
        .strip_prefix('{')
        .and_then(|v| v.strip_suffix('}'))
        .unwrap_or(value);
    let groups: Vec<&str> = v.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// One parameter a preset accepts as a plain profile key.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamSpec {
    /// What the parameter means (shown by `tokenbroker providers`).
    pub about: String,
    /// The form field it is sent as on token and authorization requests, if any.
    #[serde(default)]
    pub wire: Option<String>,
    /// Whether it fills a `{placeholder}` in the preset's URL templates.
    #[serde(default)]
    pub placeholder: bool,
    /// Whether a profile must give it.
    #[serde(default)]
    pub required: bool,
    /// Its value when the profile leaves it out.
    #[serde(default)]
    pub default: Option<String>,
    /// What the value must look like.
    #[serde(default)]
    pub format: ParamFormat,
}

/// Which client-management API a preset offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationApi {
    /// RFC 7591 registration and RFC 7592 management.
    Rfc7592,
    /// The Alvaria organisation client-management API (seed 002).
    Alvaria,
}

/// How one provider speaks OAuth 2.0.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preset {
    /// The preset's name, used as `provider = "…"` in profiles.
    pub name: String,
    /// A human-readable title.
    pub title: String,
    /// The provider documents it was built from.
    #[serde(default)]
    pub seeds: Vec<String>,
    /// Token endpoint template.
    #[serde(default)]
    pub token_url: Option<String>,
    /// Authorization endpoint template.
    #[serde(default)]
    pub authorize_url: Option<String>,
    /// Device authorization endpoint template (RFC 8628).
    #[serde(default)]
    pub device_url: Option<String>,
    /// Registration or client-management endpoint template.
    #[serde(default)]
    pub registration_url: Option<String>,
    /// Revocation endpoint template (RFC 7009).
    #[serde(default)]
    pub revocation_url: Option<String>,
    /// JWKS URL template for ID token signatures.
    #[serde(default)]
    pub jwks_url: Option<String>,
    /// Expected ID token issuer template.
    #[serde(default)]
    pub issuer: Option<String>,
    /// Whether endpoints come from discovery of `issuer`.
    #[serde(default)]
    pub discovery: bool,
    /// The form field scopes are sent in.
    pub scope_param: String,
    /// The separator between scopes.
    pub scope_separator: String,
    /// Scopes used when a profile gives none.
    #[serde(default)]
    pub default_scopes: Vec<String>,
    /// Default client authentication.
    pub auth_method: AuthMethod,
    /// `response_mode` for the authorization request (e.g. `form_post`).
    #[serde(default)]
    pub response_mode: Option<String>,
    /// `response_type` for the authorization request.
    #[serde(default = "default_response_type")]
    pub response_type: String,
    /// Whether the provider issues ID tokens that must be validated.
    #[serde(default)]
    pub id_token: bool,
    /// The grant used when the profile does not name one.
    #[serde(default)]
    pub default_grant: Option<String>,
    /// Which client-management API the provider offers.
    #[serde(default)]
    pub registration_api: Option<RegistrationApi>,
    /// Parameters the preset accepts as plain profile keys.
    #[serde(default)]
    pub params: BTreeMap<String, ParamSpec>,
    /// Region name → token host, for `{token_host}`.
    #[serde(default)]
    pub regions: BTreeMap<String, String>,
}

fn default_response_type() -> String {
    "code".into()
}

const PRESET_SOURCES: [(&str, &str); 5] = [
    ("alliance", include_str!("../presets/alliance.toml")),
    ("alvaria", include_str!("../presets/alvaria.toml")),
    ("alvys", include_str!("../presets/alvys.toml")),
    ("azure-ad-v1", include_str!("../presets/azure-ad-v1.toml")),
    ("oidc", include_str!("../presets/oidc.toml")),
];

/// Every preset shipped in the crate, in a stable order.
pub fn presets() -> &'static [Preset] {
    static PRESETS: OnceLock<Vec<Preset>> = OnceLock::new();
    PRESETS.get_or_init(|| {
        PRESET_SOURCES
            .iter()
            .map(|(name, text)| {
                let preset: Preset = toml::from_str(text)
                    .unwrap_or_else(|e| panic!("built-in preset {name} is invalid: {e}"));
                assert_eq!(&preset.name, name, "preset file name and `name` differ");
                preset
            })
            .collect()
    })
}

/// Looks a preset up by name.
pub fn preset(name: &str) -> Result<&'static Preset> {
    presets().iter().find(|p| p.name == name).ok_or_else(|| {
        let known: Vec<&str> = presets().iter().map(|p| p.name.as_str()).collect();
        Error::config(
            "provider",
            format!("unknown provider '{name}' (known: {})", known.join(", ")),
        )
    })
}

/// Expands `{placeholder}`s in `template` from `values`, naming the first one missing.
pub fn expand(
    template: &str,
    values: &BTreeMap<String, String>,
) -> std::result::Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find('}')
            .ok_or_else(|| "has an unclosed '{'".to_owned())?;
        let name = &rest[start + 1..start + end];
        let value = values.get(name).ok_or_else(|| format!("needs '{name}'"))?;
        out.push_str(value);
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_preset_parses() {
        let names: Vec<&str> = presets().iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            ["alliance", "alvaria", "alvys", "azure-ad-v1", "oidc"]
        );
    }

    #[test]
    fn alliance_sends_comma_separated_requested_scopes() {
        let p = preset("alliance").unwrap();
        assert_eq!(p.scope_param, "requested_scopes");
        assert_eq!(p.scope_separator, ",");
        assert_eq!(p.params["enrollment"].format, ParamFormat::Guid);
    }

    #[test]
    fn alvaria_knows_the_regions_of_seed_002() {
        let p = preset("alvaria").unwrap();
        assert_eq!(p.regions["eu"], "myaspect.eu.id.aspect-cloud.net");
        assert_eq!(p.regions["gcp-dsm"], "myaccount.dsm.sre.alvaria.cloud");
        assert_eq!(p.regions.len(), 6);
    }

    #[test]
    fn guid_format() {
        let g = ParamFormat::Guid;
        assert!(g.check("6f1c2a4e-0b7d-4c1e-9a55-2f7f1b0e8c3d").is_ok());
        assert!(g.check("{6F1C2A4E-0B7D-4C1E-9A55-2F7F1B0E8C3D}").is_ok());
        assert!(g.check("6f1c2a4e0b7d4c1e9a552f7f1b0e8c3d").is_err());
        assert!(g.check("not-a-guid").is_err());
    }

    #[test]
    fn path_segments_cannot_escape() {
        let p = ParamFormat::PathSegment;
        assert!(p.check("contoso-42").is_ok());
        assert!(p.check("../admin").is_err());
        assert!(p.check("a/b").is_err());
        assert!(p.check("..").is_err());
    }

    #[test]
    fn expand_names_missing_placeholder() {
        let mut v = BTreeMap::new();
        v.insert("tenant".to_string(), "t1".to_string());
        assert_eq!(
            expand("https://h/{tenant}/t", &v).unwrap(),
            "https://h/t1/t"
        );
        assert_eq!(expand("https://{host}/x", &v).unwrap_err(), "needs 'host'");
    }

    #[test]
    fn unknown_provider_lists_known_ones() {
        let err = preset("nope").unwrap_err().to_string();
        assert!(err.contains("alliance") && err.contains("oidc"), "{err}");
    }
}
