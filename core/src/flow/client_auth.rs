//! Client authentication at the token endpoint: Basic, post, none, and RFC 7523
//! `private_key_jwt` with an optional certificate thumbprint (`x5t#S256`).

use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::http::{FormValue, Request};
use crate::profile::{Endpoint, Profile};
use crate::provider::AuthMethod;
use crate::secret::Secret;

/// The assertion type of RFC 7523 §2.2.
pub const JWT_BEARER_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Lifetime of a client assertion.
const ASSERTION_TTL_SECS: u64 = 120;

#[derive(Serialize)]
struct AssertionClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    jti: String,
    iat: u64,
    nbf: u64,
    exp: u64,
}

/// The `aud` of every client assertion, whichever endpoint it is sent to (token, revocation,
/// device authorization, PAR): the token endpoint URL, a single string.
///
/// RFC 7523 §3 names the token endpoint as a value that identifies the server, OpenID Connect
/// Core §9 says it SHOULD be used, and strict servers (which refuse the URL of the endpoint being
/// called) accept it next to the issuer. draft-ietf-oauth-rfc7523bis prefers the issuer
/// identifier, but Azure AD, one of the presets, accepts only the token endpoint.
pub fn assertion_audience(profile: &Profile) -> Result<&str> {
    profile.endpoint(Endpoint::Token).map(url::Url::as_str)
}

/// Adds the profile's client authentication to a form request; `audience` is
/// [`assertion_audience`]. Every secret the profile holds is marked for scrubbing from
/// whatever the server answers.
pub fn apply(profile: &Profile, request: &mut Request, audience: &str) -> Result<()> {
    request.also_redact(profile.secrets());
    let crate::http::Body::Form(fields) = &mut request.body else {
        return Err(Error::config(
            "auth_method",
            "client authentication needs a form body",
        ));
    };
    match profile.auth_method {
        AuthMethod::ClientSecretBasic => {
            let secret = required_secret(profile)?;
            request.basic = Some((profile.client_id.clone(), secret.clone()));
        }
        AuthMethod::ClientSecretPost => {
            let secret = required_secret(profile)?;
            fields.push(("client_id".into(), profile.client_id.clone().into()));
            fields.push(("client_secret".into(), secret.into()));
        }
        AuthMethod::None => fields.push(("client_id".into(), profile.client_id.clone().into())),
        AuthMethod::PrivateKeyJwt => {
            let assertion = client_assertion(profile, audience)?;
            fields.push(("client_id".into(), profile.client_id.clone().into()));
            fields.push(("client_assertion_type".into(), JWT_BEARER_ASSERTION.into()));
            fields.push(("client_assertion".into(), FormValue::Secret(assertion)));
        }
    }
    Ok(())
}

fn required_secret(profile: &Profile) -> Result<&Secret> {
    profile.client_secret.as_ref().ok_or_else(|| {
        Error::config(
            format!("profile '{}', key 'client_secret'", profile.name),
            "is required for this auth_method",
        )
    })
}

/// Signs a client assertion (RFC 7523 §3) with the profile's private key.
pub fn client_assertion(profile: &Profile, audience: &str) -> Result<Secret> {
    let location = || format!("profile '{}', key 'private_key'", profile.name);
    let pem = profile
        .private_key
        .as_ref()
        .ok_or_else(|| Error::config(location(), "is required for private_key_jwt"))?;
    let (key, alg) = signing_key(pem.expose()).map_err(|r| Error::config(location(), r))?;
    let mut header = Header::new(alg);
    if let Some(cert) = &profile.certificate {
        let thumbprint = certificate_thumbprint(cert).map_err(|r| {
            Error::config(format!("profile '{}', key 'certificate'", profile.name), r)
        })?;
        header.x5t_s256 = Some(thumbprint);
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let jti: [u8; 16] = rand::random();
    let claims = AssertionClaims {
        iss: &profile.client_id,
        sub: &profile.client_id,
        aud: audience,
        jti: URL_SAFE_NO_PAD.encode(jti),
        iat: now,
        nbf: now,
        exp: now + ASSERTION_TTL_SECS,
    };
    jsonwebtoken::encode(&header, &claims, &key)
        .map(Secret::new)
        .map_err(|e| Error::config(location(), format!("cannot sign the client assertion: {e}")))
}

fn signing_key(pem: &str) -> std::result::Result<(EncodingKey, Algorithm), String> {
    if let Ok(key) = EncodingKey::from_rsa_pem(pem.as_bytes()) {
        return Ok((key, Algorithm::RS256));
    }
    if let Ok(key) = EncodingKey::from_ec_pem(pem.as_bytes()) {
        return Ok((key, Algorithm::ES256));
    }
    Err("is not a PEM RSA or P-256 EC private key".into())
}

/// The `x5t#S256` thumbprint: base64url(SHA-256(DER certificate)).
pub fn certificate_thumbprint(pem: &str) -> std::result::Result<String, String> {
    let der = pem_to_der(pem, "CERTIFICATE")?;
    Ok(URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, &der)))
}

fn pem_to_der(pem: &str, label: &str) -> std::result::Result<Vec<u8>, String> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem
        .find(&begin)
        .ok_or_else(|| format!("is not a PEM {label} (no '{begin}' line)"))?
        + begin.len();
    let stop = pem[start..]
        .find(&end)
        .ok_or_else(|| format!("PEM {label} has no '{end}' line"))?
        + start;
    let body: String = pem[start..stop].split_whitespace().collect();
    STANDARD
        .decode(body)
        .map_err(|e| format!("PEM {label} is not valid base64: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_decoding_reports_what_is_wrong() {
        assert!(
            certificate_thumbprint("hello")
                .unwrap_err()
                .contains("no '-----BEGIN")
        );
        let bad = "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----";
        assert!(certificate_thumbprint(bad).unwrap_err().contains("base64"));
        let ok = "-----BEGIN CERTIFICATE-----\nAAEC\n-----END CERTIFICATE-----";
        let expected = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, &[0, 1, 2]));
        assert_eq!(certificate_thumbprint(ok).unwrap(), expected);
    }

    #[test]
    fn non_key_pem_is_a_clear_error() {
        let err = signing_key("-----BEGIN PRIVATE KEY-----\nAAEC\n-----END PRIVATE KEY-----")
            .err()
            .unwrap();
        assert!(err.contains("not a PEM RSA"), "{err}");
    }
}
