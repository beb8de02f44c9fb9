//! Token revocation (RFC 7009).

use url::Url;

use crate::error::Result;
use crate::flow::client_auth;
use crate::http::{HttpClient, Request, Retry};
use crate::profile::Profile;
use crate::secret::Secret;
use crate::validate;

/// Asks the server to revoke `token` (`hint`: `refresh_token` or `access_token`). The client
/// authenticates as at the token endpoint (an assertion names the token endpoint as `aud`).
/// Per RFC 7009 §2.2 the server answers 200 for an
/// already-invalid token too, so success means "the token is no longer usable".
pub async fn revoke(
    http: &HttpClient,
    profile: &Profile,
    revocation_url: &Url,
    token: &Secret,
    hint: &str,
) -> Result<()> {
    let fields = vec![
        ("token".to_owned(), token.into()),
        ("token_type_hint".to_owned(), hint.into()),
    ];
    let mut request = Request::form(revocation_url.clone(), fields, Retry::Idempotent);
    client_auth::apply(
        profile,
        &mut request,
        client_auth::assertion_audience(profile)?,
    )?;
    let resp = http.send(&request).await?;
    if (200..300).contains(&resp.status) {
        return Ok(());
    }
    Err(validate::error_response(&resp))
}
