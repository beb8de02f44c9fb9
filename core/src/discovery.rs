//! Authorization server metadata: OpenID Connect Discovery 1.0 with a fallback to RFC 8414.

use serde_json::{Map, Value};
use url::Url;

use crate::error::{Error, Result};
use crate::http::{HttpClient, Request, Response, check_endpoint};
use crate::profile::{Endpoint, Profile};
use crate::validate;

/// The parts of a provider's metadata document that tokenbroker uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    /// The issuer identifier, as the document states it.
    pub issuer: String,
    /// Authorization endpoint.
    pub authorization_endpoint: Option<Url>,
    /// Token endpoint.
    pub token_endpoint: Option<Url>,
    /// Device authorization endpoint (RFC 8628).
    pub device_authorization_endpoint: Option<Url>,
    /// Dynamic client registration endpoint (RFC 7591).
    pub registration_endpoint: Option<Url>,
    /// Revocation endpoint (RFC 7009).
    pub revocation_endpoint: Option<Url>,
    /// Introspection endpoint (RFC 7662).
    pub introspection_endpoint: Option<Url>,
    /// The JWKS with the keys that sign ID tokens.
    pub jwks_uri: Option<Url>,
    /// OpenID Connect userinfo endpoint.
    pub userinfo_endpoint: Option<Url>,
    /// `scopes_supported`.
    pub scopes_supported: Vec<String>,
    /// `response_types_supported`.
    pub response_types_supported: Vec<String>,
    /// `response_modes_supported`.
    pub response_modes_supported: Vec<String>,
    /// `grant_types_supported`.
    pub grant_types_supported: Vec<String>,
    /// `token_endpoint_auth_methods_supported`.
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// `code_challenge_methods_supported`.
    pub code_challenge_methods_supported: Vec<String>,
    /// `id_token_signing_alg_values_supported`.
    pub id_token_signing_alg_values_supported: Vec<String>,
    /// Whether the server sends the RFC 9207 `iss` parameter in authorization responses.
    pub authorization_response_iss_parameter_supported: bool,
}

/// The metadata document locations for `issuer`, in the order they are tried: OpenID
/// Connect Discovery (`{issuer}/.well-known/openid-configuration`), then RFC 8414 §3.1 (the
/// well-known segment goes between the host and the issuer's path).
pub fn metadata_urls(issuer: &Url) -> [Url; 2] {
    let path = issuer.path().trim_end_matches('/');
    let mut oidc = issuer.clone();
    oidc.set_path(&format!("{path}/.well-known/openid-configuration"));
    let mut oauth = issuer.clone();
    oauth.set_path(&format!("/.well-known/oauth-authorization-server{path}"));
    for url in [&mut oidc, &mut oauth] {
        url.set_query(None);
        url.set_fragment(None);
    }
    [oidc, oauth]
}

/// Fetches and checks the metadata of `issuer`.
///
/// Tries OpenID Connect Discovery, then RFC 8414 when the first answers with an error status
/// or a body that is not a JSON object. The document's `issuer` must equal `issuer`
/// (a single trailing `/` may differ; the document's spelling is kept, since ID tokens carry
/// it), and every endpoint must be an https URL (or http on loopback).
pub async fn discover(http: &HttpClient, issuer: &str) -> Result<Metadata> {
    discover_document(http, issuer).await.map(|(m, _)| m)
}

/// [`discover`], with the response the metadata came from (for keeping the document).
pub(crate) async fn discover_document(
    http: &HttpClient,
    issuer: &str,
) -> Result<(Metadata, Response)> {
    let issuer_url = check_endpoint(issuer).map_err(|r| Error::config("issuer", r))?;
    let mut failures = Vec::new();
    for url in metadata_urls(&issuer_url) {
        match fetch_document(http, &url).await {
            Ok((resp, map)) => return parse(&resp, &map, issuer).map(|m| (m, resp)),
            // Not a missing document: the next location would fail the same way.
            Err(e @ (Error::Transport { .. } | Error::Timeout { .. } | Error::Config { .. })) => {
                return Err(e);
            }
            Err(e) => failures.push(e),
        }
    }
    let reasons: Vec<String> = failures.iter().map(ToString::to_string).collect();
    Err(Error::InvalidResponse {
        endpoint: issuer.to_owned(),
        status: failures.last().and_then(Error::status),
        reason: format!("no usable metadata document: {}", reasons.join("; ")),
    })
}

/// Reads a metadata document of `issuer` kept from an earlier fetch, checked as a fetched
/// one is.
pub(crate) fn from_kept(issuer: &str, body: &str) -> Result<Metadata> {
    let endpoint = format!("{} (kept metadata)", issuer.trim_end_matches('/'));
    let resp = Response::kept(endpoint, body);
    let map = validate::json_object(&resp)?;
    parse(&resp, &map, issuer)
}

/// Fetches the metadata document at `url` and checks it against `issuer` as [`discover`]
/// does, without trying other locations.
pub async fn fetch_metadata(http: &HttpClient, url: &Url, issuer: &str) -> Result<Metadata> {
    let (resp, map) = fetch_document(http, url).await?;
    parse(&resp, &map, issuer)
}

async fn fetch_document(http: &HttpClient, url: &Url) -> Result<(Response, Map<String, Value>)> {
    let resp = http.send(&Request::get(url.clone())).await?;
    if !(200..300).contains(&resp.status) {
        return Err(validate::error_response(&resp));
    }
    let map = validate::json_object(&resp)?;
    Ok((resp, map))
}

/// Fills every endpoint the profile does not set already with the discovered one, takes the
/// document's spelling of the issuer, and requires RFC 9207 `iss` in authorization responses
/// when the document advertises it.
pub fn apply(metadata: &Metadata, profile: &mut Profile) {
    for endpoint in Endpoint::ALL {
        let found = match endpoint {
            Endpoint::Token => &metadata.token_endpoint,
            Endpoint::Authorize => &metadata.authorization_endpoint,
            Endpoint::Device => &metadata.device_authorization_endpoint,
            Endpoint::Registration => &metadata.registration_endpoint,
            Endpoint::Revocation => &metadata.revocation_endpoint,
            Endpoint::Jwks => &metadata.jwks_uri,
        };
        let slot = profile.endpoints.slot_mut(endpoint);
        if slot.is_none()
            && let Some(url) = found
        {
            *slot = Some(url.clone());
            profile.unresolved.remove(&endpoint);
        }
    }
    profile.issuer = Some(metadata.issuer.clone());
    profile.requires_iss_parameter = metadata.authorization_response_iss_parameter_supported;
}

/// Checks a metadata document against the configured `expected` issuer.
pub(crate) fn parse(resp: &Response, map: &Map<String, Value>, expected: &str) -> Result<Metadata> {
    // Reasons quote the document's values: scrubbed, printable and bounded.
    let invalid = |reason: String| Error::InvalidResponse {
        endpoint: resp.endpoint.clone(),
        status: Some(resp.status),
        reason: resp.redactor.clean(&reason, 600),
    };
    let issuer = match map.get("issuer") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => return Err(invalid("'issuer' is missing".into())),
    };
    if issuer.trim_end_matches('/') != expected.trim_end_matches('/') {
        let shown: String = issuer
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect();
        return Err(invalid(format!(
            "'issuer' is '{shown}' but the configured issuer is '{expected}'"
        )));
    }
    let url = |key: &str| -> Result<Option<Url>> {
        match map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => check_endpoint(s)
                .map(Some)
                .map_err(|r| invalid(format!("'{key}': {r}"))),
            Some(_) => Err(invalid(format!("'{key}' is not a string"))),
        }
    };
    let list = |key: &str| -> Vec<String> {
        map.get(key)
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    Ok(Metadata {
        authorization_endpoint: url("authorization_endpoint")?,
        token_endpoint: url("token_endpoint")?,
        device_authorization_endpoint: url("device_authorization_endpoint")?,
        registration_endpoint: url("registration_endpoint")?,
        revocation_endpoint: url("revocation_endpoint")?,
        introspection_endpoint: url("introspection_endpoint")?,
        jwks_uri: url("jwks_uri")?,
        userinfo_endpoint: url("userinfo_endpoint")?,
        scopes_supported: list("scopes_supported"),
        response_types_supported: list("response_types_supported"),
        response_modes_supported: list("response_modes_supported"),
        grant_types_supported: list("grant_types_supported"),
        token_endpoint_auth_methods_supported: list("token_endpoint_auth_methods_supported"),
        code_challenge_methods_supported: list("code_challenge_methods_supported"),
        id_token_signing_alg_values_supported: list("id_token_signing_alg_values_supported"),
        authorization_response_iss_parameter_supported: map
            .get("authorization_response_iss_parameter_supported")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        issuer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_locations_follow_both_specs() {
        let plain = Url::parse("https://as.example.com").unwrap();
        let [oidc, oauth] = metadata_urls(&plain);
        assert_eq!(
            oidc.as_str(),
            "https://as.example.com/.well-known/openid-configuration"
        );
        assert_eq!(
            oauth.as_str(),
            "https://as.example.com/.well-known/oauth-authorization-server"
        );
        let pathed = Url::parse("https://as.example.com/tenant/v2/").unwrap();
        let [oidc, oauth] = metadata_urls(&pathed);
        assert_eq!(
            oidc.as_str(),
            "https://as.example.com/tenant/v2/.well-known/openid-configuration"
        );
        assert_eq!(
            oauth.as_str(),
            "https://as.example.com/.well-known/oauth-authorization-server/tenant/v2"
        );
    }
}
