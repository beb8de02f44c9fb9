//! ID token validation (OpenID Connect Core §3.1.3.7 and §3.3.2.11) against the provider's
//! JWKS: signature, `iss`, `aud`/`azp`, `exp`, `nbf`, `iat`, `nonce` and, for hybrid
//! responses, `c_hash`.
//!
//! Failures are [`Error::InvalidResponse`] naming the check that failed; the token itself is
//! never quoted.

use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use url::Url;

use crate::error::{Error, Result};
use crate::http::{HttpClient, Request, Response};
use crate::profile::Profile;
use crate::token::TokenSet;
use crate::untrusted_text::{printable, same};
use crate::validate;

/// Clock skew tolerated on `exp`, `nbf` and `iat` unless a check says otherwise.
pub const DEFAULT_SKEW: Duration = Duration::from_secs(60);

/// What an ID token must satisfy.
#[derive(Debug, Clone, Copy)]
pub struct IdTokenCheck<'a> {
    /// The expected `iss`, compared exactly.
    pub issuer: &'a str,
    /// The client id, which `aud` must contain (and `azp`, when present, must equal).
    pub client_id: &'a str,
    /// The nonce sent in the authorization request; when given, the `nonce` claim must be
    /// present and equal.
    pub nonce: Option<&'a str>,
    /// The provider's signing keys.
    pub jwks: &'a JwkSet,
    /// Clock skew tolerated on the time claims.
    pub skew: Duration,
}

impl<'a> IdTokenCheck<'a> {
    /// A check for `issuer` and `client_id` with no nonce and [`DEFAULT_SKEW`].
    pub fn new(issuer: &'a str, client_id: &'a str, jwks: &'a JwkSet) -> Self {
        Self {
            issuer,
            client_id,
            nonce: None,
            jwks,
            skew: DEFAULT_SKEW,
        }
    }

    /// The same check with `nonce` required.
    pub fn with_nonce(self, nonce: &'a str) -> Self {
        Self {
            nonce: Some(nonce),
            ..self
        }
    }

    /// The error for a failed check, naming `what` failed. `what` may quote claim values,
    /// so it is made printable and cut to a bounded length.
    pub(crate) fn rejected(&self, what: impl std::fmt::Display) -> Error {
        let what = crate::redact::truncate(&crate::redact::printable(&what.to_string()), 600);
        Error::InvalidResponse {
            endpoint: self.issuer.to_owned(),
            status: None,
            reason: format!("ID token rejected: {what}"),
        }
    }
}

/// Validates `id_token` and returns its claims.
///
/// The signature is checked with the JWKS key named by the header's `kid`, or, without a
/// `kid`, with each key whose type, curve, `alg` and `use` fit the header's `alg`. Only
/// asymmetric algorithms are accepted (never `none` or HMAC).
pub fn validate(id_token: &str, check: &IdTokenCheck<'_>) -> Result<Value> {
    verify(id_token, check).map(|(_, claims)| claims)
}

/// Validates a front-channel ID token of a hybrid response (`code id_token`) and, when it
/// carries `c_hash`, checks that it is the hash of `code` (OpenID Connect Core §3.3.2.11).
///
/// `c_hash` is not required: the code is bound to this client by PKCE and by client
/// authentication at the token endpoint already.
pub fn validate_with_code(id_token: &str, check: &IdTokenCheck<'_>, code: &str) -> Result<Value> {
    let (alg, claims) = verify(id_token, check)?;
    if let Some(c_hash) = claims.get("c_hash") {
        let expected = half_hash(alg, code);
        if c_hash.as_str() != Some(expected.as_str()) {
            return Err(check.rejected("'c_hash' does not match the authorization code"));
        }
    }
    Ok(claims)
}

/// Checks the ID token of a token response that answers no authorization request of ours (the
/// device flow, a refresh) as the code flow checks its own, without a nonce: signature, `iss`,
/// `aud`/`azp`, `exp`, `nbf`, `iat`; and, given the `sub` of the signed-in user, that it names
/// the same subject (OpenID Connect Core §12.2). Returns the validated `sub`.
///
/// A profile that gives no way to check it (no issuer, no JWKS, a preset without ID tokens)
/// keeps no ID token, since [`TokenSet::id_token`] holds only validated ones.
pub async fn check_response(
    http: &HttpClient,
    profile: &Profile,
    set: &mut TokenSet,
    signed_in: Option<&str>,
) -> Result<Option<String>> {
    let jwks = match jwks_url_for(profile, set) {
        Some(url) => Some(fetch_jwks(http, url).await?),
        None => None,
    };
    check_response_with(jwks.as_ref(), profile, set, signed_in)
}

/// The JWKS that [`check_response`] needs for `set`: `None` when the set has no ID token or
/// the profile gives no way to check one.
pub(crate) fn jwks_url_for<'a>(profile: &'a Profile, set: &TokenSet) -> Option<&'a Url> {
    set.id_token.as_ref()?;
    match (
        &profile.issuer,
        profile.preset.id_token,
        &profile.endpoints.jwks,
    ) {
        (Some(_), true, Some(url)) => Some(url),
        _ => None,
    }
}

/// [`check_response`] with the JWKS from [`jwks_url_for`] already at hand (`None` when that
/// named none: the unverifiable ID token is dropped).
pub(crate) fn check_response_with(
    jwks: Option<&JwkSet>,
    profile: &Profile,
    set: &mut TokenSet,
    signed_in: Option<&str>,
) -> Result<Option<String>> {
    let Some(token) = &set.id_token else {
        return Ok(None);
    };
    let (Some(issuer), Some(jwks)) = (&profile.issuer, jwks) else {
        set.id_token = None;
        return Ok(None);
    };
    let check = IdTokenCheck::new(issuer, &profile.client_id, jwks);
    let claims = validate(token.expose(), &check)?;
    let sub = claims
        .get("sub")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if let Some(before) = signed_in
        && !same(before, &sub)
    {
        return Err(check.rejected("'sub' is not the signed-in user's (OpenID Connect Core §12.2)"));
    }
    Ok(Some(sub))
}

/// The `sub` claim of an ID token that was validated already; `None` when it cannot be read.
pub fn validated_subject(id_token: &str) -> Option<String> {
    let payload = id_token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("sub")?.as_str().map(str::to_owned)
}

/// Fetches a JWKS. Keys this library cannot use (unknown `kty`, encryption-only keys of
/// exotic types) are skipped; a set with no usable key is an error.
pub async fn fetch_jwks(http: &HttpClient, url: &Url) -> Result<JwkSet> {
    fetch_jwks_document(http, url).await.map(|(jwks, _)| jwks)
}

/// [`fetch_jwks`], with the response it came from (for keeping the document).
pub(crate) async fn fetch_jwks_document(
    http: &HttpClient,
    url: &Url,
) -> Result<(JwkSet, Response)> {
    let resp = http.send(&Request::get(url.clone())).await?;
    parse_jwks(&resp).map(|jwks| (jwks, resp))
}

/// Reads a JWKS kept from an earlier fetch of `url`, as a fetched one is read.
pub(crate) fn jwks_from_kept(url: &Url, body: &str) -> Result<JwkSet> {
    let endpoint = format!("{} (kept JWKS)", crate::http::endpoint_name(url));
    parse_jwks(&Response::kept(endpoint, body))
}

/// Reads a JWKS response as [`fetch_jwks`] does.
pub(crate) fn parse_jwks(resp: &Response) -> Result<JwkSet> {
    if !(200..300).contains(&resp.status) {
        return Err(validate::error_response(resp));
    }
    let map = validate::json_object(resp)?;
    let invalid = |reason: &str| Error::InvalidResponse {
        endpoint: resp.endpoint.clone(),
        status: Some(resp.status),
        reason: reason.to_owned(),
    };
    let Some(Value::Array(items)) = map.get("keys") else {
        return Err(invalid("JWKS has no 'keys' array"));
    };
    let keys: Vec<Jwk> = items
        .iter()
        .filter_map(|item| match serde_json::from_value::<Jwk>(item.clone()) {
            Ok(jwk) => Some(jwk),
            Err(e) => {
                tracing::debug!(endpoint = %resp.endpoint, "skipping unusable JWKS key: {e}");
                None
            }
        })
        .collect();
    if keys.is_empty() {
        return Err(invalid("JWKS holds no usable key"));
    }
    Ok(JwkSet { keys })
}

/// Checks the signature and claims, returning the algorithm used and the claims.
fn verify(id_token: &str, check: &IdTokenCheck<'_>) -> Result<(Algorithm, Value)> {
    if id_token.split('.').count() != 3 {
        return Err(check.rejected("not a signed JWT (expected three dot-separated parts)"));
    }
    let header = jsonwebtoken::decode_header(id_token)
        .map_err(|e| check.rejected(format!("header cannot be decoded: {e}")))?;
    let alg = header.alg;
    if matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) {
        return Err(check.rejected(format!(
            "signature algorithm {alg:?} is not accepted (only asymmetric signatures)"
        )));
    }
    let candidates: Vec<&Jwk> = match &header.kid {
        Some(kid) => {
            let named: Vec<&Jwk> = check
                .jwks
                .keys
                .iter()
                .filter(|k| k.common.key_id.as_deref() == Some(kid.as_str()))
                .collect();
            if named.is_empty() {
                return Err(check.rejected(format!("no key with kid '{kid}' in the JWKS")));
            }
            named.into_iter().filter(|k| key_fits(k, alg)).collect()
        }
        None => check
            .jwks
            .keys
            .iter()
            .filter(|k| key_fits(k, alg))
            .collect(),
    };
    if candidates.is_empty() {
        return Err(check.rejected(format!("the JWKS has no key for algorithm {alg:?}")));
    }
    let mut validation = Validation::new(alg);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.leeway = 0;
    let mut claims = None;
    for jwk in candidates {
        let Ok(key) = DecodingKey::from_jwk(jwk) else {
            continue;
        };
        match jsonwebtoken::decode::<Value>(id_token, &key, &validation) {
            Ok(data) => {
                claims = Some(data.claims);
                break;
            }
            Err(e) => tracing::debug!("ID token does not verify with one JWKS key: {e}"),
        }
    }
    let claims = claims
        .ok_or_else(|| check.rejected("signature does not verify with any key of the JWKS"))?;
    check_claims(&claims, check)?;
    Ok((alg, claims))
}

/// Whether `jwk` can verify signatures made with `alg`.
fn key_fits(jwk: &Jwk, alg: Algorithm) -> bool {
    if matches!(
        jwk.common.public_key_use,
        Some(PublicKeyUse::Encryption) | Some(PublicKeyUse::Other(_))
    ) {
        return false;
    }
    if let Some(key_alg) = jwk.common.key_algorithm
        && Algorithm::from_str(&key_alg.to_string()).ok() != Some(alg)
    {
        return false;
    }
    use Algorithm::*;
    match (&jwk.algorithm, alg) {
        (AlgorithmParameters::RSA(_), RS256 | RS384 | RS512 | PS256 | PS384 | PS512) => true,
        (AlgorithmParameters::EllipticCurve(p), ES256) => p.curve == EllipticCurve::P256,
        (AlgorithmParameters::EllipticCurve(p), ES384) => p.curve == EllipticCurve::P384,
        (AlgorithmParameters::OctetKeyPair(p), EdDSA) => p.curve == EllipticCurve::Ed25519,
        _ => false,
    }
}

fn check_claims(claims: &Value, check: &IdTokenCheck<'_>) -> Result<()> {
    match claims.get("iss").and_then(Value::as_str) {
        Some(iss) if iss == check.issuer => {}
        Some(iss) => {
            return Err(check.rejected(format!(
                "'iss' is '{}', expected '{}'",
                printable(iss, 100),
                check.issuer
            )));
        }
        None => return Err(check.rejected("'iss' is missing")),
    }
    let audience_ok = match claims.get("aud") {
        Some(Value::String(aud)) => aud == check.client_id,
        Some(Value::Array(items)) => items.iter().any(|a| a.as_str() == Some(check.client_id)),
        _ => false,
    };
    if !audience_ok {
        return Err(check.rejected(format!(
            "'aud' does not contain the client id '{}'",
            check.client_id
        )));
    }
    if let Some(azp) = claims.get("azp")
        && azp.as_str() != Some(check.client_id)
    {
        return Err(check.rejected("'azp' is not the client id"));
    }
    if !claims.get("sub").is_some_and(Value::is_string) {
        return Err(check.rejected("'sub' is missing"));
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    let skew = check.skew.as_secs_f64();
    let time = |name: &str, required: bool| -> Result<Option<f64>> {
        match claims.get(name) {
            Some(Value::Number(n)) => Ok(n.as_f64()),
            None if !required => Ok(None),
            None => Err(check.rejected(format!("'{name}' is missing"))),
            Some(_) => Err(check.rejected(format!("'{name}' is not a number"))),
        }
    };
    if let Some(exp) = time("exp", true)?
        && exp + skew <= now
    {
        return Err(check.rejected(format!("expired {:.0} s ago ('exp')", now - exp)));
    }
    if let Some(nbf) = time("nbf", false)?
        && nbf - skew > now
    {
        return Err(check.rejected("not valid yet ('nbf' is in the future)"));
    }
    if let Some(iat) = time("iat", true)?
        && iat - skew > now
    {
        return Err(check.rejected("issued in the future ('iat')"));
    }
    if let Some(expected) = check.nonce {
        match claims.get("nonce").and_then(Value::as_str) {
            Some(nonce) if same(nonce, expected) => {}
            Some(_) => {
                return Err(check.rejected("'nonce' does not match the authorization request"));
            }
            None => return Err(check.rejected("'nonce' is missing")),
        }
    }
    Ok(())
}

/// base64url of the left half of the hash that matches `alg` (OpenID Connect Core §3.3.2.11).
fn half_hash(alg: Algorithm, value: &str) -> String {
    use Algorithm::*;
    let hash = match alg {
        RS384 | PS384 | ES384 | HS384 => &digest::SHA384,
        RS512 | PS512 | HS512 | EdDSA => &digest::SHA512,
        _ => &digest::SHA256,
    };
    let d = digest::digest(hash, value.as_bytes());
    let bytes = d.as_ref();
    URL_SAFE_NO_PAD.encode(&bytes[..bytes.len() / 2])
}

#[cfg(test)]
#[path = "id_token_tests.rs"]
mod tests;
