//! Authorization code grant (RFC 6749 §4.1) with PKCE S256 (RFC 7636), `state`, `nonce`,
//! hybrid `code id_token` and `form_post` responses, and RFC 9207 `iss` checking.
//!
//! The flow is three calls: [`authorization_request`] builds the URL the browser opens, the
//! redirect comes back through [`parse_callback_url`], [`parse_form_post`] or the loopback
//! listener, and [`exchange_code`] turns the code into tokens.

use std::fmt;
use std::time::Duration;

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use url::Url;

use crate::error::{Error, Result};
use crate::flow::{TokenRequest, request_token};
use crate::http::{HttpClient, Retry};
use crate::id_token::{self, IdTokenCheck};
use crate::profile::Profile;
use crate::secret::Secret;
use crate::token::TokenSet;
use crate::untrusted_text::{printable, same};

/// A prepared authorization request: the URL to open and what the answer is checked against.
///
/// Keep it until the redirect arrives; `Debug` never shows the PKCE verifier.
#[derive(Clone)]
pub struct AuthorizationRequest {
    /// The authorization URL to open in the browser.
    pub url: Url,
    /// The `state` sent; the redirect must carry the same value.
    pub state: String,
    /// The `nonce` sent; ID tokens must carry the same value.
    pub nonce: String,
    /// The `redirect_uri` sent; repeated in the code exchange.
    pub redirect_uri: String,
    /// The scopes requested (including any `openid` added).
    pub scopes: Vec<String>,
    verifier: Secret,
}

impl fmt::Debug for AuthorizationRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationRequest")
            .field("url", &self.url.as_str())
            .field("redirect_uri", &self.redirect_uri)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// What the authorization server sent back to the redirect URI.
#[derive(Debug, Clone)]
pub struct Callback {
    /// The authorization code.
    pub code: Secret,
    /// The `state` echoed back.
    pub state: String,
    /// The front-channel ID token of a hybrid (`code id_token`) response.
    pub id_token: Option<Secret>,
    /// The RFC 9207 `iss` parameter, when the server sent one.
    pub issuer: Option<String>,
}

/// Builds an authorization request for `profile`.
///
/// Sends `response_type` (the preset's, default `code`), the preset's `response_mode` if it
/// has one, `client_id`, `redirect_uri`, the scopes in the preset's parameter and separator,
/// `state`, `nonce`, `code_challenge` with `code_challenge_method=S256`, and the profile's
/// `params` (e.g. `resource`). When the preset issues ID tokens and `scopes` lack `openid`,
/// `openid` is put first: without it an OpenID provider issues no ID token and the nonce
/// would protect nothing.
pub fn authorization_request(
    profile: &Profile,
    authorize_url: &Url,
    redirect_uri: &str,
    scopes: &[String],
) -> Result<AuthorizationRequest> {
    Url::parse(redirect_uri).map_err(|e| {
        Error::config(
            format!("profile '{}', key 'redirect_uri'", profile.name),
            format!("'{redirect_uri}' is not a URL: {e}"),
        )
    })?;
    let preset = profile.preset;
    let mut scopes = scopes.to_vec();
    if preset.id_token && !scopes.iter().any(|s| s == "openid") {
        scopes.insert(0, "openid".into());
    }
    let verifier = Secret::new(random_token(32));
    let state = random_token(24);
    let nonce = random_token(24);
    let mut url = authorize_url.clone();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", &preset.response_type);
        if let Some(mode) = &preset.response_mode {
            q.append_pair("response_mode", mode);
        }
        q.append_pair("client_id", &profile.client_id);
        q.append_pair("redirect_uri", redirect_uri);
        if !scopes.is_empty() {
            q.append_pair(&preset.scope_param, &scopes.join(&preset.scope_separator));
        }
        q.append_pair("state", &state);
        q.append_pair("nonce", &nonce);
        q.append_pair("code_challenge", &code_challenge(verifier.expose()));
        q.append_pair("code_challenge_method", "S256");
        for (key, value) in &profile.params {
            q.append_pair(key, value);
        }
    }
    Ok(AuthorizationRequest {
        url,
        state,
        nonce,
        redirect_uri: redirect_uri.to_owned(),
        scopes,
        verifier,
    })
}

/// Parses a redirect URL (or just its path and query) that the browser was sent to. Reads
/// the query and, for hybrid responses, the fragment.
///
/// An `error` parameter becomes an [`Error::Interaction`] naming the error code and its
/// description (`access_denied` when the user said no).
pub fn parse_callback_url(url: &str) -> Result<Callback> {
    let parsed = Url::parse(url)
        .or_else(|_| Url::parse("http://127.0.0.1").and_then(|base| base.join(url)))
        .map_err(|_| Error::interaction("the redirect URL cannot be parsed"))?;
    let mut pairs: Vec<(String, String)> = parsed.query_pairs().into_owned().collect();
    if let Some(fragment) = parsed.fragment() {
        pairs.extend(url::form_urlencoded::parse(fragment.as_bytes()).into_owned());
    }
    callback_from(&pairs)
}

/// Parses a `response_mode=form_post` body (`application/x-www-form-urlencoded`).
pub fn parse_form_post(body: &[u8]) -> Result<Callback> {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
    callback_from(&pairs)
}

/// The value of `name`, if the parameters hold it.
pub(crate) fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Turns redirect parameters into a [`Callback`] or the error they report.
pub(crate) fn callback_from(pairs: &[(String, String)]) -> Result<Callback> {
    for (i, (key, _)) in pairs.iter().enumerate() {
        if pairs[..i].iter().any(|(k, _)| k == key) {
            return Err(Error::interaction(format!(
                "the redirect repeats the parameter '{}'",
                printable(key, 40)
            )));
        }
    }
    if let Some(error) = param(pairs, "error") {
        let description = param(pairs, "error_description")
            .map(|d| format!(": {}", printable(d, 300)))
            .unwrap_or_default();
        let what = match error {
            "access_denied" => "the user or the authorization server denied the request",
            _ => "the authorization server refused the request",
        };
        return Err(Error::interaction(format!(
            "{what} ({}{description})",
            printable(error, 60)
        )));
    }
    let code = param(pairs, "code")
        .filter(|c| !c.is_empty())
        .ok_or_else(|| Error::interaction("the redirect carries neither 'code' nor 'error'"))?;
    let state = param(pairs, "state")
        .ok_or_else(|| Error::interaction("the redirect carries no 'state'"))?;
    Ok(Callback {
        code: Secret::new(code),
        state: state.to_owned(),
        id_token: param(pairs, "id_token")
            .filter(|t| !t.is_empty())
            .map(Secret::new),
        issuer: param(pairs, "iss").map(str::to_owned),
    })
}

/// Exchanges the code of `callback` for tokens.
///
/// Checks, in order: `state` equals the request's (constant time), the RFC 9207 `iss`
/// parameter (when sent, and required when the server's metadata advertises it) equals the
/// expected issuer, the front-channel ID token of a hybrid
/// response (with the request's nonce and its `c_hash`). Then posts `grant_type=
/// authorization_code`, `code`, `redirect_uri` and `code_verifier` (retried only when surely
/// unprocessed, since a code works once) and validates the token endpoint's ID token.
///
/// With `id_check` (its `nonce` is ignored; the request's is used) every ID token is
/// validated: a token-endpoint ID token must carry the nonce unless a front-channel one
/// already did (then a nonce it carries must still match), both must name the same `iss` and
/// `sub`, and an ID token is required when `openid` was requested. Without `id_check` no ID
/// token is kept in the returned set, since [`TokenSet::id_token`] holds only validated ones.
pub async fn exchange_code(
    http: &HttpClient,
    profile: &Profile,
    token_url: &Url,
    request: &AuthorizationRequest,
    callback: &Callback,
    id_check: Option<IdTokenCheck<'_>>,
    default_ttl: Duration,
) -> Result<TokenSet> {
    if !same(&callback.state, &request.state) {
        return Err(Error::interaction(
            "the redirect's state does not match this login (a stale or forged response)",
        ));
    }
    let expected_issuer = id_check.map(|c| c.issuer).or(profile.issuer.as_deref());
    match (&callback.issuer, expected_issuer) {
        (Some(sent), Some(expected))
            if sent.trim_end_matches('/') != expected.trim_end_matches('/') =>
        {
            return Err(Error::interaction(format!(
                "the redirect comes from issuer '{}', expected '{expected}' (mix-up attack?)",
                printable(sent, 100)
            )));
        }
        (None, _) if profile.requires_iss_parameter => {
            return Err(Error::interaction(
                "the redirect carries no 'iss' although the server advertises RFC 9207 \
                 (a response from another server?)",
            ));
        }
        _ => {}
    }
    let front = match (&callback.id_token, &id_check) {
        (Some(token), Some(check)) => {
            let check = check.with_nonce(&request.nonce);
            Some(id_token::validate_with_code(
                token.expose(),
                &check,
                callback.code.expose(),
            )?)
        }
        _ => None,
    };
    let mut set = request_token(
        http,
        TokenRequest {
            profile,
            token_url,
            grant_fields: vec![
                ("grant_type".into(), "authorization_code".into()),
                ("code".into(), (&callback.code).into()),
                ("redirect_uri".into(), request.redirect_uri.clone().into()),
                ("code_verifier".into(), (&request.verifier).into()),
            ],
            scopes: &[],
            retry: Retry::OnlyUnprocessed,
            default_ttl,
        },
    )
    .await?;
    if set.scopes.is_empty() {
        set.scopes = request.scopes.clone();
    }
    let Some(check) = id_check else {
        set.id_token = None;
        return Ok(set);
    };
    let back = match &set.id_token {
        Some(token) => Some(validate_back_channel(
            token.expose(),
            &check,
            request,
            front.as_ref(),
        )?),
        None => None,
    };
    match (&front, &back) {
        (Some(f), Some(b)) if f.get("iss") != b.get("iss") || f.get("sub") != b.get("sub") => {
            return Err(check.rejected(
                "the two ID tokens of the hybrid response name different 'iss' or 'sub'",
            ));
        }
        (None, None) if request.scopes.iter().any(|s| s == "openid") => {
            return Err(check.rejected("no ID token although 'openid' was requested"));
        }
        _ => {}
    }
    if back.is_none() {
        set.id_token = callback.id_token.clone().filter(|_| front.is_some());
    }
    Ok(set)
}

fn validate_back_channel(
    token: &str,
    check: &IdTokenCheck<'_>,
    request: &AuthorizationRequest,
    front: Option<&Value>,
) -> Result<Value> {
    if front.is_none() {
        return id_token::validate(token, &check.with_nonce(&request.nonce));
    }
    let claims = id_token::validate(
        token,
        &IdTokenCheck {
            nonce: None,
            ..*check
        },
    )?;
    match claims.get("nonce") {
        Some(Value::String(n)) if !same(n, &request.nonce) => Err(check.rejected(
            "'nonce' of the token endpoint's ID token does not match the authorization request",
        )),
        _ => Ok(claims),
    }
}

/// The PKCE S256 challenge: base64url(SHA-256(verifier)) (RFC 7636 §4.2).
pub fn code_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()))
}

/// `bytes` random bytes from the system CSPRNG, base64url-encoded.
pub(crate) fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    aws_lc_rs::rand::fill(&mut buf).expect("the system random generator failed");
    URL_SAFE_NO_PAD.encode(buf)
}

#[cfg(test)]
#[path = "authorization_tests.rs"]
mod tests;
