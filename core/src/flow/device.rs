//! Device authorization grant (RFC 8628): get a user code, show it, poll for tokens.

use std::time::Duration;

use serde_json::{Map, Value};
use tokio::time::Instant;
use url::Url;

use crate::error::{Error, Result};
use crate::flow::{DEVICE_CODE_GRANT, TokenRequest, client_auth, request_token};
use crate::http::{HttpClient, Request, Retry};
use crate::profile::Profile;
use crate::secret::Secret;
use crate::token::TokenSet;
use crate::validate;

/// Poll interval when the server names none (RFC 8628 §3.2).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);

/// Shortest poll interval used, whatever the server says.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);

/// Added to the interval on each `slow_down` (RFC 8628 §3.5).
pub const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

/// Longest interval reached by backing off after timeouts.
const MAX_INTERVAL: Duration = Duration::from_secs(60);

/// A pending device authorization: what to show the user, and the code to poll with.
#[derive(Debug, Clone)]
pub struct DeviceAuthorization {
    /// The code the user types at the verification URI.
    pub user_code: String,
    /// Where the user goes to approve.
    pub verification_uri: String,
    /// The verification URI with the user code filled in, when the server gave one.
    pub verification_uri_complete: Option<String>,
    /// How long the codes stay valid.
    pub expires_in: Duration,
    /// How long to wait between polls.
    pub interval: Duration,
    /// The scopes requested.
    pub scopes: Vec<String>,
    device_code: Secret,
    started: Instant,
}

/// Starts a device authorization at `device_url` (RFC 8628 §3.1).
///
/// The client authenticates as at the token endpoint; the preset's scope parameter and the
/// profile's `params` and headers are sent. An interval under [`MIN_INTERVAL`] is raised to it.
pub async fn start(
    http: &HttpClient,
    profile: &Profile,
    device_url: &Url,
    scopes: &[String],
) -> Result<DeviceAuthorization> {
    let fields = crate::flow::profile_fields(profile, Vec::new(), scopes);
    let mut request = Request::form(device_url.clone(), fields, Retry::Idempotent);
    request.headers = profile.headers.clone();
    client_auth::apply(
        profile,
        &mut request,
        client_auth::assertion_audience(profile)?,
    )?;
    let started = Instant::now();
    let resp = http.send(&request).await?;
    if !(200..300).contains(&resp.status) {
        return Err(validate::error_response(&resp));
    }
    let map = validate::json_object(&resp)?;
    let invalid = |reason: String| Error::InvalidResponse {
        endpoint: resp.endpoint.clone(),
        status: Some(resp.status),
        reason,
    };
    let text = |key: &str| match map.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    };
    let device_code =
        text("device_code").ok_or_else(|| invalid("'device_code' is missing".into()))?;
    let user_code = text("user_code").ok_or_else(|| invalid("'user_code' is missing".into()))?;
    // Some servers (Google, early drafts) spell it verification_url.
    let verification_uri = text("verification_uri")
        .or_else(|| text("verification_url"))
        .ok_or_else(|| invalid("'verification_uri' is missing".into()))?;
    let expires_in = seconds(&map, "expires_in")
        .map_err(invalid)?
        .ok_or_else(|| invalid("'expires_in' is missing".into()))?;
    let interval = seconds(&map, "interval")
        .map_err(invalid)?
        .unwrap_or(DEFAULT_INTERVAL)
        .max(MIN_INTERVAL);
    Ok(DeviceAuthorization {
        user_code,
        verification_uri,
        verification_uri_complete: text("verification_uri_complete"),
        expires_in,
        interval,
        scopes: scopes.to_vec(),
        device_code: Secret::new(device_code),
        started,
    })
}

/// Polls the token endpoint until the user approves (RFC 8628 §3.4–3.5).
///
/// Waits `interval` before each poll. `authorization_pending` keeps polling; `slow_down`
/// adds 5 s to the interval for this and every later poll; a timeout doubles it (up to 60
/// s). `expired_token`, `access_denied`, and the codes' lifetime running out locally end
/// with [`Error::Interaction`]; any other error is returned as it is.
pub async fn poll(
    http: &HttpClient,
    profile: &Profile,
    token_url: &Url,
    auth: &DeviceAuthorization,
    default_ttl: Duration,
) -> Result<TokenSet> {
    let deadline = auth.started + auth.expires_in;
    let mut interval = auth.interval;
    loop {
        if Instant::now() + interval >= deadline {
            return Err(Error::interaction(format!(
                "the device code expired after {:?} before the user approved it at {}",
                auth.expires_in, auth.verification_uri
            )));
        }
        tokio::time::sleep(interval).await;
        let result = request_token(
            http,
            TokenRequest {
                profile,
                token_url,
                grant_fields: vec![
                    ("grant_type".into(), DEVICE_CODE_GRANT.into()),
                    ("device_code".into(), (&auth.device_code).into()),
                ],
                scopes: &[],
                retry: Retry::OnlyUnprocessed,
                default_ttl,
            },
        )
        .await;
        let err = match result {
            Ok(mut set) => {
                if set.scopes.is_empty() {
                    set.scopes = auth.scopes.clone();
                }
                return Ok(set);
            }
            Err(err) => err,
        };
        match err.oauth().map(|e| e.error.as_str()) {
            Some("authorization_pending") => {}
            Some("slow_down") => {
                interval += SLOW_DOWN_STEP;
                tracing::info!(
                    interval_s = interval.as_secs(),
                    "device flow: server asked to slow down"
                );
            }
            Some("expired_token") => {
                return Err(Error::interaction(
                    "the device code expired before the user approved it (expired_token)",
                ));
            }
            Some("access_denied") => {
                return Err(Error::interaction(
                    "the user denied the device authorization (access_denied)",
                ));
            }
            _ if matches!(err, Error::Timeout { .. }) => {
                interval = (interval * 2).min(MAX_INTERVAL);
            }
            _ => return Err(err),
        }
    }
}

/// Reads seconds (number or numeric string) no longer than a year.
fn seconds(map: &Map<String, Value>, key: &str) -> std::result::Result<Option<Duration>, String> {
    match crate::validate::seconds(map, key)? {
        Some(v) if v <= Duration::from_secs(86_400 * 365) => Ok(Some(v)),
        Some(_) => Err(format!("'{key}' is more than a year")),
        None => Ok(None),
    }
}
