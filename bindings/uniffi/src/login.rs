//! Interactive sign-in: the loopback browser login, the device flow, begin/complete for apps
//! that run the browser step themselves, and logout.

use std::sync::Arc;

use tokenbroker::DeviceAuthorization;
use tokenbroker::LoginOptions;
use tokenbroker::UrlCallback;

use crate::broker::Broker;
use crate::calls::{blocking, on_runtime};
use crate::errors::Result;
use crate::token::{AccessToken, token_object};

/// A sign-in started by `Broker.beginLogin`: open `url()` in a browser (custom tab,
/// ASWebAuthenticationSession), then pass the redirect URL to `Broker.completeLogin`.
#[derive(Debug, uniffi::Object)]
pub struct PendingLogin(pub(crate) tokenbroker::PendingLogin);

#[uniffi::export]
impl PendingLogin {
    /// The authorization URL to open.
    pub fn url(&self) -> String {
        self.0.url().to_owned()
    }

    /// The `state` the redirect must carry.
    pub fn state(&self) -> String {
        self.0.state().to_owned()
    }

    /// The profile being signed in.
    pub fn profile(&self) -> String {
        self.0.profile().to_owned()
    }
}

/// What the user must do to approve a device sign-in (RFC 8628).
#[derive(Debug, Clone, uniffi::Record)]
pub struct DeviceCode {
    /// The code the user types at `verification_uri`.
    pub user_code: String,
    /// Where the user goes to approve.
    pub verification_uri: String,
    /// `verification_uri` with the code filled in, when the server gave one.
    pub verification_uri_complete: Option<String>,
    /// Seconds the code stays valid.
    pub expires_in: f64,
    /// Seconds between polls.
    pub interval: f64,
    /// The scopes requested.
    pub scopes: Vec<String>,
}

impl From<&DeviceAuthorization> for DeviceCode {
    fn from(d: &DeviceAuthorization) -> Self {
        Self {
            user_code: d.user_code.clone(),
            verification_uri: d.verification_uri.clone(),
            verification_uri_complete: d.verification_uri_complete.clone(),
            expires_in: d.expires_in.as_secs_f64(),
            interval: d.interval.as_secs_f64(),
            scopes: d.scopes.clone(),
        }
    }
}

/// Told the authorization URL of a `login` (to show it, or to drive a browser). Called once,
/// from a worker thread, before the browser is opened: return quickly.
#[uniffi::export(foreign)]
pub trait LoginUrlListener: Send + Sync {
    /// The URL the user must open.
    fn on_url(&self, url: String);
}

/// Told what to show the user of a `deviceLogin`. Called once, from a worker thread, before
/// polling starts: return quickly.
#[uniffi::export(foreign)]
pub trait DeviceCodeListener: Send + Sync {
    /// The code and where to enter it.
    fn on_code(&self, code: DeviceCode);
}

fn login_options(
    open_browser: bool,
    timeout: f64,
    scopes: Option<Vec<String>>,
    on_url: Option<Arc<dyn LoginUrlListener>>,
) -> Result<LoginOptions> {
    let on_url = on_url
        .map(|listener| Arc::new(move |url: &str| listener.on_url(url.to_owned())) as UrlCallback);
    Ok(LoginOptions::from_args(
        Some(open_browser),
        Some(timeout),
        scopes.map(tokenbroker::ScopesArg::List),
        on_url,
    )?)
}

fn device_options(
    scopes: Option<Vec<String>>,
    timeout: Option<f64>,
) -> Result<tokenbroker::DeviceLoginOptions> {
    Ok(tokenbroker::DeviceLoginOptions::from_args(
        scopes.map(tokenbroker::ScopesArg::List),
        timeout,
    )?)
}

/// The device flow's `on_code` as the core wants it.
fn tell(on_code: Option<Arc<dyn DeviceCodeListener>>) -> impl FnOnce(&DeviceAuthorization) {
    move |auth| {
        if let Some(listener) = on_code {
            listener.on_code(auth.into());
        }
    }
}

#[uniffi::export]
impl Broker {
    /// Signs in with the authorization code flow (PKCE) through the system browser and a
    /// one-shot listener on 127.0.0.1. `on_url` is told the authorization URL; the browser is
    /// opened unless `open_browser` is false; `timeout` (seconds) bounds the wait for it.
    #[uniffi::method(default(open_browser = true, timeout = 300.0, scopes = None, on_url = None))]
    pub async fn login(
        &self,
        profile: String,
        open_browser: bool,
        timeout: f64,
        scopes: Option<Vec<String>>,
        on_url: Option<Arc<dyn LoginUrlListener>>,
    ) -> Result<Arc<AccessToken>> {
        let options = login_options(open_browser, timeout, scopes, on_url)?;
        let broker = self.core();
        on_runtime(async move { broker.login(&profile, &options).await })
            .await
            .map(token_object)
    }

    /// `login()`, blocking the calling thread.
    #[uniffi::method(default(open_browser = true, timeout = 300.0, scopes = None, on_url = None))]
    pub fn login_blocking(
        &self,
        profile: String,
        open_browser: bool,
        timeout: f64,
        scopes: Option<Vec<String>>,
        on_url: Option<Arc<dyn LoginUrlListener>>,
    ) -> Result<Arc<AccessToken>> {
        let options = login_options(open_browser, timeout, scopes, on_url)?;
        blocking(self.0.login(&profile, &options)).map(token_object)
    }

    /// Signs in with the device flow (RFC 8628): `on_code` is told what to show the user, then
    /// the provider is polled until the user approves, denies, the code expires or `timeout`
    /// seconds pass (default: until the code expires).
    #[uniffi::method(default(scopes = None, on_code = None, timeout = None))]
    pub async fn device_login(
        &self,
        profile: String,
        scopes: Option<Vec<String>>,
        on_code: Option<Arc<dyn DeviceCodeListener>>,
        timeout: Option<f64>,
    ) -> Result<Arc<AccessToken>> {
        let options = device_options(scopes, timeout)?;
        let broker = self.core();
        on_runtime(async move { broker.device_login(&profile, &options, tell(on_code)).await })
            .await
            .map(token_object)
    }

    /// `deviceLogin()`, blocking the calling thread.
    #[uniffi::method(default(scopes = None, on_code = None, timeout = None))]
    pub fn device_login_blocking(
        &self,
        profile: String,
        scopes: Option<Vec<String>>,
        on_code: Option<Arc<dyn DeviceCodeListener>>,
        timeout: Option<f64>,
    ) -> Result<Arc<AccessToken>> {
        let options = device_options(scopes, timeout)?;
        blocking(self.0.device_login(&profile, &options, tell(on_code))).map(token_object)
    }

    /// Starts a sign-in whose browser step the app runs itself; `redirect_uri` is where the
    /// provider sends the browser back (an app link, a custom scheme, a loopback URL).
    #[uniffi::method(default(scopes = None))]
    pub async fn begin_login(
        &self,
        profile: String,
        redirect_uri: String,
        scopes: Option<Vec<String>>,
    ) -> Result<Arc<PendingLogin>> {
        let broker = self.core();
        let pending =
            on_runtime(async move { broker.begin_login(&profile, &redirect_uri, scopes).await })
                .await?;
        Ok(Arc::new(PendingLogin(pending)))
    }

    /// `beginLogin()`, blocking the calling thread.
    #[uniffi::method(default(scopes = None))]
    pub fn begin_login_blocking(
        &self,
        profile: String,
        redirect_uri: String,
        scopes: Option<Vec<String>>,
    ) -> Result<Arc<PendingLogin>> {
        let pending = blocking(self.0.begin_login(&profile, &redirect_uri, scopes))?;
        Ok(Arc::new(PendingLogin(pending)))
    }

    /// Completes a sign-in from the redirect URL the app received: the code is exchanged, the
    /// refresh token stored in the secret store and the access token cached and returned.
    pub async fn complete_login(
        &self,
        pending: Arc<PendingLogin>,
        redirect_url: String,
    ) -> Result<Arc<AccessToken>> {
        let broker = self.core();
        on_runtime(async move { broker.complete_login(&pending.0, &redirect_url).await })
            .await
            .map(token_object)
    }

    /// `completeLogin()`, blocking the calling thread.
    pub fn complete_login_blocking(
        &self,
        pending: Arc<PendingLogin>,
        redirect_url: String,
    ) -> Result<Arc<AccessToken>> {
        blocking(self.0.complete_login(&pending.0, &redirect_url)).map(token_object)
    }

    /// Completes a sign-in from the `form_post` body (`response_mode=form_post`) the app's
    /// redirect URI received.
    pub async fn complete_login_form(
        &self,
        pending: Arc<PendingLogin>,
        body: Vec<u8>,
    ) -> Result<Arc<AccessToken>> {
        let broker = self.core();
        on_runtime(async move { broker.complete_login_form(&pending.0, &body).await })
            .await
            .map(token_object)
    }

    /// `completeLoginForm()`, blocking the calling thread.
    pub fn complete_login_form_blocking(
        &self,
        pending: Arc<PendingLogin>,
        body: Vec<u8>,
    ) -> Result<Arc<AccessToken>> {
        blocking(self.0.complete_login_form(&pending.0, &body)).map(token_object)
    }

    /// Revokes the refresh token where the provider can (RFC 7009), then forgets the profile's
    /// tokens; true when a token was revoked at the server.
    pub async fn logout(&self, profile: String) -> Result<bool> {
        let broker = self.core();
        on_runtime(async move { broker.logout(&profile).await }).await
    }

    /// `logout()`, blocking the calling thread.
    pub fn logout_blocking(&self, profile: String) -> Result<bool> {
        blocking(self.0.logout(&profile))
    }
}
