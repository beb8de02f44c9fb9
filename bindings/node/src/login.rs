//! Sign-in: the loopback and device flows, and a sign-in whose browser step the app runs.

use std::sync::Arc;

use napi::bindgen_prelude::{Buffer, Either, Object};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, Status};
use napi_derive::napi;
use tokenbroker::DeviceAuthorization;
use tokenbroker::{DeviceLoginOptions, LoginOptions, PendingLogin as CorePendingLogin};

use crate::broker::NativeBroker;
use crate::errors::to_napi;
use crate::promise;
use crate::token::{JsScopes, TokenData, scopes_arg};

/// What a device login shows the user.
#[napi(object)]
pub struct DeviceCode {
    /// The code the user types.
    pub user_code: String,
    /// Where the user goes.
    pub verification_uri: String,
    /// The verification URI with the code filled in, when the server gave one.
    pub verification_uri_complete: Option<String>,
    /// Seconds the code stays valid.
    pub expires_in: f64,
    /// Seconds between polls.
    pub interval: f64,
    /// The scopes requested.
    pub scopes: Vec<String>,
}

impl From<&DeviceAuthorization> for DeviceCode {
    fn from(a: &DeviceAuthorization) -> Self {
        Self {
            user_code: a.user_code.clone(),
            verification_uri: a.verification_uri.clone(),
            verification_uri_complete: a.verification_uri_complete.clone(),
            expires_in: a.expires_in.as_secs_f64(),
            interval: a.interval.as_secs_f64(),
            scopes: a.scopes.clone(),
        }
    }
}

/// A sign-in started by `beginLogin`: open `url`, then pass the redirect to `completeLogin`.
#[napi]
pub struct PendingLogin {
    inner: CorePendingLogin,
}

#[napi]
impl PendingLogin {
    /// The authorization URL to open.
    #[napi(getter)]
    pub fn url(&self) -> String {
        self.inner.url().to_owned()
    }

    /// The `state` the redirect must carry.
    #[napi(getter)]
    pub fn state(&self) -> String {
        self.inner.state().to_owned()
    }

    /// The profile being signed in.
    #[napi(getter)]
    pub fn profile(&self) -> String {
        self.inner.profile().to_owned()
    }
}

/// `beginLogin`'s scopes, parsed and checked by the core.
fn begin_scopes(scopes: Option<JsScopes>) -> napi::Result<Option<Vec<String>>> {
    scopes_arg(scopes)
        .map(|s| s.parse("option 'scopes'"))
        .transpose()
        .map_err(to_napi)
}

#[napi]
impl NativeBroker {
    /// Authorization code sign-in through the browser and a loopback listener.
    #[napi(
        ts_return_type = "Promise<[accessToken: string, tokenType: string, header: string, expiresAtMs: number, id: number, ...scopes: string[]]>"
    )]
    pub fn login<'env>(
        &self,
        env: &'env Env,
        profile: String,
        open_browser: Option<bool>,
        timeout: Option<f64>,
        #[napi(ts_arg_type = "string | string[]")] scopes: Option<JsScopes>,
        on_url: Option<ThreadsafeFunction<String, napi::Unknown<'static>, String, Status, false>>,
    ) -> napi::Result<Object<'env>> {
        let on_url = on_url.map(|callback| {
            Arc::new(move |url: &str| {
                callback.call(url.to_owned(), ThreadsafeFunctionCallMode::NonBlocking);
            }) as tokenbroker::UrlCallback
        });
        let opts = LoginOptions::from_args(open_browser, timeout, scopes_arg(scopes), on_url);
        let broker = self.inner.clone();
        promise::spawn(env, async move {
            let opts = opts.map_err(to_napi)?;
            let token = broker.login(&profile, &opts).await.map_err(to_napi)?;
            Ok(TokenData(token))
        })
    }

    /// Device authorization sign-in; `on_code` is told what to show the user.
    #[napi(
        ts_return_type = "Promise<[accessToken: string, tokenType: string, header: string, expiresAtMs: number, id: number, ...scopes: string[]]>"
    )]
    pub fn device_login<'env>(
        &self,
        env: &'env Env,
        profile: String,
        #[napi(ts_arg_type = "string | string[]")] scopes: Option<JsScopes>,
        on_code: Option<
            ThreadsafeFunction<DeviceCode, napi::Unknown<'static>, DeviceCode, Status, false>,
        >,
        timeout: Option<f64>,
    ) -> napi::Result<Object<'env>> {
        let opts = DeviceLoginOptions::from_args(scopes_arg(scopes), timeout);
        let broker = self.inner.clone();
        promise::spawn(env, async move {
            let token = broker
                .device_login(&profile, &opts.map_err(to_napi)?, |auth| {
                    if let Some(callback) = &on_code {
                        callback.call(auth.into(), ThreadsafeFunctionCallMode::NonBlocking);
                    }
                })
                .await
                .map_err(to_napi)?;
            Ok(TokenData(token))
        })
    }

    /// Starts a sign-in whose browser step the app runs itself.
    #[napi(ts_return_type = "Promise<PendingLogin>")]
    pub fn begin_login<'env>(
        &self,
        env: &'env Env,
        profile: String,
        redirect_uri: String,
        #[napi(ts_arg_type = "string | string[]")] scopes: Option<JsScopes>,
    ) -> napi::Result<Object<'env>> {
        let scopes = begin_scopes(scopes);
        let broker = self.inner.clone();
        promise::spawn(env, async move {
            let pending = broker
                .begin_login(&profile, &redirect_uri, scopes?)
                .await
                .map_err(to_napi)?;
            Ok(PendingLogin { inner: pending })
        })
    }

    /// Completes a sign-in from the redirect URL the app received.
    #[napi(
        ts_return_type = "Promise<[accessToken: string, tokenType: string, header: string, expiresAtMs: number, id: number, ...scopes: string[]]>"
    )]
    pub fn complete_login<'env>(
        &self,
        env: &'env Env,
        pending: &PendingLogin,
        redirect_url: String,
    ) -> napi::Result<Object<'env>> {
        let pending = pending.inner.clone();
        let broker = self.inner.clone();
        promise::spawn(env, async move {
            let token = broker.complete_login(&pending, &redirect_url).await;
            Ok(TokenData(token.map_err(to_napi)?))
        })
    }

    /// Completes a sign-in from the `form_post` body the redirect URI received.
    #[napi(
        ts_return_type = "Promise<[accessToken: string, tokenType: string, header: string, expiresAtMs: number, id: number, ...scopes: string[]]>"
    )]
    pub fn complete_login_form<'env>(
        &self,
        env: &'env Env,
        pending: &PendingLogin,
        body: Either<Buffer, String>,
    ) -> napi::Result<Object<'env>> {
        let pending = pending.inner.clone();
        let body = match body {
            Either::A(bytes) => bytes.to_vec(),
            Either::B(text) => text.into_bytes(),
        };
        let broker = self.inner.clone();
        promise::spawn(env, async move {
            let token = broker.complete_login_form(&pending, &body).await;
            Ok(TokenData(token.map_err(to_napi)?))
        })
    }
}
