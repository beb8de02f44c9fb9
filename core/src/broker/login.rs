//! Interactive sign-in: authorization code through the browser and a loopback listener,
//! begin/complete for apps that run the browser step themselves, and the device flow.
//! Each ends the same way: the refresh token is stored, then the access token is cached.

use std::sync::Arc;
use std::time::Duration;

use super::{Broker, ProfileState};
use crate::error::Result;
use crate::flow::authorization::{self, AuthorizationRequest, Callback};
use crate::flow::device::{self, DeviceAuthorization};
use crate::flow::loopback::LoopbackListener;
use crate::flow::revocation;
use crate::id_token::{self, IdTokenCheck};
use crate::profile::{Endpoint, Profile};
use crate::token::{AccessToken, TokenSet};

/// Called with the authorization URL the user must open.
pub type UrlCallback = Arc<dyn Fn(&str) + Send + Sync>;

/// Options of [`Broker::login`] (`from_args`, or `default()` and the `with_*` builders).
#[derive(Clone)]
#[non_exhaustive]
pub struct LoginOptions {
    /// Open the system browser on the authorization URL.
    pub open_browser: bool,
    /// How long to wait for the browser to come back.
    pub timeout: Duration,
    /// Scopes to request instead of the profile's.
    pub scopes: Option<Vec<String>>,
    /// Told the authorization URL (to print it, or to drive a browser in tests).
    pub on_url: Option<UrlCallback>,
}

impl Default for LoginOptions {
    fn default() -> Self {
        Self {
            open_browser: true,
            timeout: Duration::from_secs(300),
            scopes: None,
            on_url: None,
        }
    }
}

impl std::fmt::Debug for LoginOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginOptions")
            .field("open_browser", &self.open_browser)
            .field("timeout", &self.timeout)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// Options of [`Broker::device_login`] (`from_args`, or `default()` and the `with_*` builders).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct DeviceLoginOptions {
    /// Scopes to request instead of the profile's.
    pub scopes: Option<Vec<String>>,
    /// How long to wait for the user's approval; `None`: until the device code expires.
    pub timeout: Option<Duration>,
}

/// The sign-in a profile takes (see [`Broker::login_flow`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginFlow {
    /// Authorization code through the browser ([`Broker::login`]).
    Browser,
    /// The device flow ([`Broker::device_login`]).
    Device,
}

/// A sign-in started by [`Broker::begin_login`]: open [`PendingLogin::url`], then give the
/// redirect the app received to [`Broker::complete_login`].
#[derive(Debug, Clone)]
pub struct PendingLogin {
    profile: String,
    request: AuthorizationRequest,
}

impl PendingLogin {
    /// The authorization URL to open.
    pub fn url(&self) -> &str {
        self.request.url.as_str()
    }

    /// The `state` the redirect must carry.
    pub fn state(&self) -> &str {
        &self.request.state
    }

    /// The profile being signed in.
    pub fn profile(&self) -> &str {
        &self.profile
    }
}

impl Broker {
    /// Signs in with the authorization code flow: a one-shot listener on 127.0.0.1 receives
    /// the redirect (query or `form_post`), the code is exchanged with PKCE, the refresh token
    /// is stored and the access token returned; the browser's page shows that outcome.
    pub async fn login(&self, profile: &str, options: &LoginOptions) -> Result<AccessToken> {
        let (state, resolved) = self.login_profile(profile).await?;
        let listener = LoopbackListener::bind(resolved.redirect_uri.as_deref()).await?;
        let scopes = options
            .scopes
            .clone()
            .unwrap_or_else(|| resolved.scopes.clone());
        let authorize_url = resolved.endpoint(Endpoint::Authorize)?;
        let request = authorization::authorization_request(
            &resolved,
            authorize_url,
            listener.redirect_uri(),
            &scopes,
        )?;
        if let Some(on_url) = &options.on_url {
            on_url(request.url.as_str());
        }
        if options.open_browser {
            open_browser(request.url.as_str(), &self.inner.config);
        }
        // The browser's page waits for the exchange, so it shows the real outcome.
        let (state, resolved, request) = (&state, &resolved, &request);
        listener
            .complete(&request.state, options.timeout, |callback| async move {
                let scopes = options.scopes.as_deref();
                self.finish_code(state, resolved, request, &callback, scopes)
                    .await
            })
            .await
    }

    /// Starts a sign-in whose browser step the app runs itself (custom tab,
    /// ASWebAuthenticationSession, a web backend): returns the URL to open.
    pub async fn begin_login(
        &self,
        profile: &str,
        redirect_uri: &str,
        scopes: Option<Vec<String>>,
    ) -> Result<PendingLogin> {
        let (_, resolved) = self.login_profile(profile).await?;
        let scopes = scopes.unwrap_or_else(|| resolved.scopes.clone());
        let authorize_url = resolved.endpoint(Endpoint::Authorize)?;
        let request =
            authorization::authorization_request(&resolved, authorize_url, redirect_uri, &scopes)?;
        Ok(PendingLogin {
            profile: profile.to_owned(),
            request,
        })
    }

    /// Completes a sign-in from the redirect URL the app received.
    pub async fn complete_login(
        &self,
        pending: &PendingLogin,
        redirect: &str,
    ) -> Result<AccessToken> {
        let callback = authorization::parse_callback_url(redirect)?;
        self.complete_with(pending, &callback).await
    }

    /// Completes a sign-in from a `response_mode=form_post` body the app's endpoint received.
    pub async fn complete_login_form(
        &self,
        pending: &PendingLogin,
        body: &[u8],
    ) -> Result<AccessToken> {
        let callback = authorization::parse_form_post(body)?;
        self.complete_with(pending, &callback).await
    }

    async fn complete_with(
        &self,
        pending: &PendingLogin,
        callback: &Callback,
    ) -> Result<AccessToken> {
        let (state, resolved) = self.login_profile(&pending.profile).await?;
        let scopes =
            (pending.request.scopes != resolved.scopes).then(|| pending.request.scopes.clone());
        self.finish_code(
            &state,
            &resolved,
            &pending.request,
            callback,
            scopes.as_deref(),
        )
        .await
    }

    /// Signs in with the device flow (RFC 8628): `on_code` is told what to show the user,
    /// then the token endpoint is polled until the user approves, denies, the code expires or
    /// `options.timeout` passes (an interaction error).
    pub async fn device_login(
        &self,
        profile: &str,
        options: &DeviceLoginOptions,
        on_code: impl FnOnce(&DeviceAuthorization),
    ) -> Result<AccessToken> {
        let (state, resolved) = self.login_profile(profile).await?;
        let scopes = options.scopes.clone();
        let requested = scopes.clone().unwrap_or_else(|| resolved.scopes.clone());
        let http = self.http();
        let auth = device::start(
            &http,
            &resolved,
            resolved.endpoint(Endpoint::Device)?,
            &requested,
        )
        .await?;
        on_code(&auth);
        let poll = device::poll(
            &http,
            &resolved,
            resolved.endpoint(Endpoint::Token)?,
            &auth,
            self.default_ttl(),
        );
        let mut set = match options.timeout {
            None => poll.await?,
            Some(limit) => tokio::time::timeout(limit, poll).await.map_err(|_| {
                crate::Error::interaction(format!(
                    "the device code was not approved within {} s",
                    limit.as_secs_f64()
                ))
            })??,
        };
        id_token::check_response(&http, &resolved, &mut set, None).await?;
        self.finish_login(&state, set, scopes.as_deref()).await
    }

    /// Which sign-in `profile` takes when the caller does not say: the device flow for a
    /// `device_code` profile or when `device` is asked for, else the browser.
    pub fn login_flow(&self, profile: &str, device: bool) -> Result<LoginFlow> {
        let grant = self.inner.config.profile(profile)?.grant;
        Ok(if device || grant == crate::profile::Grant::DeviceCode {
            LoginFlow::Device
        } else {
            LoginFlow::Browser
        })
    }

    /// Signs out: revokes the stored refresh token where the provider has a revocation
    /// endpoint (RFC 7009), then forgets the profile's cached token and refresh token. The
    /// local state is forgotten even when revocation fails; the error is still returned.
    /// Returns whether a token was revoked at the server.
    pub async fn logout(&self, profile: &str) -> Result<bool> {
        let (state, resolved) = self.login_profile(profile).await?;
        let secrets = self.inner.secret_store().await;
        let stored = match self.inner.identify(&state).await {
            Ok(()) => secrets.get_secret(&state.refresh_secret_name()).await?,
            Err(_) => None,
        };
        let revoked = match (stored, &resolved.endpoints.revocation) {
            (Some(rt), Some(url)) => {
                revocation::revoke(&self.http(), &resolved, url, &rt, "refresh_token")
                    .await
                    .map(|()| true)
            }
            _ => Ok(false),
        };
        self.forget(profile).await?;
        revoked
    }

    async fn login_profile(&self, profile: &str) -> Result<(Arc<ProfileState>, Arc<Profile>)> {
        let state = self.inner.state(profile)?;
        let resolved = self.inner.resolved(&state).await?;
        Ok((state, resolved))
    }

    fn default_ttl(&self) -> Duration {
        Duration::from_secs(self.inner.config.cache.default_ttl_secs)
    }

    async fn finish_code(
        &self,
        state: &ProfileState,
        profile: &Profile,
        request: &AuthorizationRequest,
        callback: &Callback,
        scopes: Option<&[String]>,
    ) -> Result<AccessToken> {
        let http = self.http();
        let jwks = match (
            &profile.issuer,
            profile.preset.id_token,
            &profile.endpoints.jwks,
        ) {
            (Some(_), true, Some(url)) => Some(id_token::fetch_jwks(&http, url).await?),
            _ => None,
        };
        let check = match (&profile.issuer, &jwks) {
            (Some(issuer), Some(jwks)) => Some(IdTokenCheck::new(issuer, &profile.client_id, jwks)),
            _ => None,
        };
        let token_url = profile.endpoint(Endpoint::Token)?;
        let set = authorization::exchange_code(
            &http,
            profile,
            token_url,
            request,
            callback,
            check,
            self.default_ttl(),
        )
        .await?;
        self.finish_login(state, set, scopes).await
    }

    /// Stores the refresh token durably, then caches and returns the access token.
    async fn finish_login(
        &self,
        state: &ProfileState,
        mut set: TokenSet,
        scopes: Option<&[String]>,
    ) -> Result<AccessToken> {
        let secrets = self.inner.secret_store().await;
        let subject = set
            .id_token
            .as_ref()
            .and_then(|t| id_token::validated_subject(t.expose()));
        let identity = super::identity::signed_in_identity(state.profile(), subject.as_deref())?;
        state.set_identity(Some(identity.clone()));
        let subject_name = state.subject_secret_name();
        match subject {
            Some(sub) => secrets.set_secret(&subject_name, &sub.into()).await?,
            None => secrets.delete_secret(&subject_name).await?,
        }
        match set.refresh_token.take() {
            Some(rt) => {
                secrets
                    .set_secret(&state.refresh_secret_name(), &rt)
                    .await?
            }
            None => {
                tracing::warn!(profile = %state.profile().name, "sign-in returned no refresh token; the next expiry needs a new login")
            }
        }
        self.inner.record_identity(state, identity).await?;
        let key = state.key(scopes);
        if let Some(store) = self.inner.shared().await {
            if let Err(e) = store.put(&key, &set).await {
                self.inner.store_error(&e);
            }
        }
        Ok(self.inner.remember(&key, set))
    }
}

/// Opens `url` in the system browser; failures are logged, since the URL is also handed to
/// `on_url` for the caller to show.
/// The browser inherits neither the cache key nor any `env:` secret.
fn open_browser(url: &str, config: &crate::config::Config) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let mut command = std::process::Command::new(opener);
    crate::child_env::remove_secrets(&mut command, config);
    match command
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
    {
        Ok(_) => {}
        Err(e) => tracing::warn!("could not open a browser with {opener}: {e}"),
    }
}
