//! Token flows. Every grant goes through [`request_token`], so client authentication, scope
//! style, preset parameters and response validation are the same for all of them.

pub mod authorization;
pub mod client_auth;
pub mod device;
pub mod loopback;
pub mod revocation;

use std::time::Duration;

use tracing::Instrument;
use url::Url;

use crate::error::Result;
use crate::http::{FormValue, HttpClient, Request, Retry};
use crate::profile::Profile;
use crate::secret::Secret;
use crate::token::TokenSet;
use crate::validate::{self, Expect};

/// The device grant type of RFC 8628 §3.4.
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// One call to a token endpoint.
#[derive(Debug)]
pub struct TokenRequest<'a> {
    /// The profile (client authentication, preset parameters, headers).
    pub profile: &'a Profile,
    /// The token endpoint.
    pub token_url: &'a Url,
    /// Grant-specific fields (`grant_type`, `code`, `refresh_token`, …); credentials as
    /// [`FormValue::Secret`].
    pub grant_fields: Vec<(String, FormValue)>,
    /// Scopes to request; sent in the preset's parameter with its separator.
    pub scopes: &'a [String],
    /// What may be retried.
    pub retry: Retry,
    /// Lifetime assumed when the response has no expiry.
    pub default_ttl: Duration,
}

/// Sends a token request and validates the answer.
pub async fn request_token(http: &HttpClient, req: TokenRequest<'_>) -> Result<TokenSet> {
    let profile = req.profile;
    let mut request = Request::form(
        req.token_url.clone(),
        profile_fields(profile, req.grant_fields, req.scopes),
        req.retry,
    );
    request.headers = profile.headers.clone();
    client_auth::apply(profile, &mut request, req.token_url.as_str())?;
    let span = tracing::info_span!(
        "token_request",
        profile = %profile.name,
        endpoint = %crate::http::endpoint_name(req.token_url)
    );
    let resp = http.send(&request).instrument(span).await?;
    let expect = Expect {
        requested_scopes: req.scopes,
        default_ttl: req.default_ttl,
    };
    let result = validate::token_response(&resp, &expect);
    match &result {
        Ok(t) => {
            tracing::info!(profile = %profile.name, expires_in = t.lifetime().as_secs(), "token issued")
        }
        Err(e) if is_polling_answer(e) => tracing::debug!(profile = %profile.name, "{e}"),
        Err(e) => {
            tracing::warn!(profile = %profile.name, kind = %e.kind(), "token request failed: {e}")
        }
    }
    result
}

/// `fields` plus the scopes in the preset's parameter and the profile's preset fields.
pub(crate) fn profile_fields(
    profile: &Profile,
    mut fields: Vec<(String, FormValue)>,
    scopes: &[String],
) -> Vec<(String, FormValue)> {
    let preset = profile.preset;
    if !scopes.is_empty() {
        fields.push((
            preset.scope_param.clone(),
            scopes.join(&preset.scope_separator).into(),
        ));
    }
    fields.extend(
        profile
            .params
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().into())),
    );
    fields
}

/// The device flow's "not yet" answers (RFC 8628 §3.5), which are part of normal polling.
fn is_polling_answer(e: &crate::Error) -> bool {
    e.oauth()
        .is_some_and(|o| matches!(o.error.as_str(), "authorization_pending" | "slow_down"))
}

/// Client credentials grant (RFC 6749 §4.4).
pub async fn client_credentials(
    http: &HttpClient,
    profile: &Profile,
    token_url: &Url,
    scopes: &[String],
    default_ttl: Duration,
) -> Result<TokenSet> {
    request_token(
        http,
        TokenRequest {
            profile,
            token_url,
            grant_fields: vec![("grant_type".into(), "client_credentials".into())],
            scopes,
            retry: Retry::Idempotent,
            default_ttl,
        },
    )
    .await
}

/// Refresh token grant (RFC 6749 §6). A response without a new refresh token keeps the old
/// one; a rotated one replaces it in the returned set (the caller persists it before use).
pub async fn refresh(
    http: &HttpClient,
    profile: &Profile,
    token_url: &Url,
    refresh_token: &Secret,
    scopes: &[String],
    default_ttl: Duration,
) -> Result<TokenSet> {
    let mut set = request_token(
        http,
        TokenRequest {
            profile,
            token_url,
            grant_fields: vec![
                ("grant_type".into(), "refresh_token".into()),
                ("refresh_token".into(), refresh_token.into()),
            ],
            scopes,
            retry: Retry::OnlyUnprocessed,
            default_ttl,
        },
    )
    .await?;
    if set.refresh_token.is_none() {
        set.refresh_token = Some(refresh_token.clone());
    }
    Ok(set)
}
