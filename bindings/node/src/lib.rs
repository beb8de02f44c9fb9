//! napi-rs binding of tokenbroker: converts types and errors, nothing else.
//!
//! The JavaScript layer in `node/lib` wraps this native class: it turns the encoded errors
//! back into `TokenBrokerError`s (an async rejection cannot carry a custom `code`), wraps
//! tokens so that they never print themselves, and adds `fetch` and the axios interceptor.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use napi::bindgen_prelude::{Buffer, Either, Object, ToNapiValue};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, Status, check_status, sys};
use napi_derive::napi;
use serde_json::{Value, json};
use tokenbroker::broker::{LoginOptions, PendingLogin as CorePendingLogin};
use tokenbroker::flow::device::DeviceAuthorization;
use tokenbroker::registration::{ClientMetadata, RegisteredClient};
use tokenbroker::{AccessToken, Broker, Config, Error, Secret, TokenOptions};

mod warm;

/// Prefix of every error message this binding produces; the JS layer parses what follows.
const ERROR_PREFIX: &str = "TOKENBROKER_ERROR ";

/// One tokio runtime per process, shared by napi's async functions and the core.
///
/// Runs once when the `.node` file is loaded (a constructor of the shared library), so
/// every `worker_threads` worker uses the same runtime.
#[napi_derive::module_init]
fn init() {
    let rt = napi::tokio::runtime::Builder::new_multi_thread()
        .thread_name("tokenbroker")
        .enable_all()
        .build()
        .expect("cannot start the tokenbroker runtime");
    // False when a runtime is already in use in this process: then both keep working, each
    // on its own runtime, which is still correct (only less frugal).
    let _ = tokenbroker::runtime::adopt(rt.handle().clone());
    napi::bindgen_prelude::create_custom_tokio_runtime(rt);
}

/// A core error as a napi error whose message is `TOKENBROKER_ERROR {json}`.
fn to_napi(err: Error) -> napi::Error {
    let mut detail = json!({
        "kind": err.kind().as_str(),
        "message": err.to_string(),
    });
    if let Some(status) = err.status() {
        detail["status"] = json!(status);
    }
    if let Some(wait) = err.retry_after() {
        detail["retryAfter"] = json!(wait.as_secs());
    }
    if let Some(oauth) = err.oauth() {
        detail["oauthError"] = json!(oauth.error);
        detail["description"] = json!(oauth.description);
        detail["uri"] = json!(oauth.uri);
        detail["providerCodes"] = json!(oauth.provider_codes);
    }
    napi::Error::new(Status::GenericFailure, format!("{ERROR_PREFIX}{detail}"))
}

fn config_error(location: &str, reason: impl Into<String>) -> napi::Error {
    to_napi(Error::config(location, reason))
}

/// A token as handed to JavaScript: the array
/// `[accessToken, tokenType, header, expiresAtMs, ...scopes]`, which the JS layer wraps in
/// `AccessToken`. An array is several times cheaper to build than an object with named
/// properties, and this is the hot path of every cached call.
pub struct TokenData(AccessToken);

impl ToNapiValue for TokenData {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        let t = &val.0;
        let expires_at = t
            .expires_at()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as f64)
            .unwrap_or(0.0);
        let scopes = t.scopes();
        let mut array = std::ptr::null_mut();
        // SAFETY: `env` is the live environment napi hands to this conversion; every value
        // set below is created in it.
        unsafe {
            check_status!(sys::napi_create_array_with_length(
                env,
                5 + scopes.len(),
                &mut array
            ))?;
            let items = [
                <&str>::to_napi_value(env, t.secret())?,
                <&str>::to_napi_value(env, t.token_type())?,
                String::to_napi_value(env, t.header())?,
                f64::to_napi_value(env, expires_at)?,
                f64::to_napi_value(env, t.id() as f64)?,
            ];
            for (i, item) in items.into_iter().enumerate() {
                check_status!(sys::napi_set_element(env, array, i as u32, item))?;
            }
            for (i, scope) in scopes.iter().enumerate() {
                let value = <&str>::to_napi_value(env, scope)?;
                check_status!(sys::napi_set_element(env, array, (5 + i) as u32, value))?;
            }
        }
        Ok(array)
    }
}

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

/// A registered client: its public fields as RFC 7591 JSON, its credentials apart.
#[napi(object)]
pub struct RegisteredClientData {
    /// `client_id`, the metadata the server kept, `registration_client_uri`, … (no secret).
    pub info: Value,
    /// The client secret, when the server sent one.
    pub client_secret: Option<String>,
    /// The RFC 7592 registration access token, when issued or rotated.
    pub registration_access_token: Option<String>,
    /// Alvaria's `x_api_key`, when issued.
    pub api_key: Option<String>,
}

impl From<RegisteredClient> for RegisteredClientData {
    fn from(c: RegisteredClient) -> Self {
        let expose = |s: &Option<Secret>| s.as_ref().map(|s| s.expose().to_owned());
        Self {
            info: c.to_json(false),
            client_secret: expose(&c.client_secret),
            registration_access_token: expose(&c.registration_access_token),
            api_key: expose(&c.api_key),
        }
    }
}

fn metadata(value: Value) -> napi::Result<ClientMetadata> {
    ClientMetadata::from_json(value).map_err(to_napi)
}

/// One entry of the shared cache tier, without secrets.
#[napi(object)]
pub struct CacheEntry {
    /// The canonical key text.
    pub key: String,
    /// Expiry in milliseconds since the Unix epoch.
    pub expires_at: f64,
    /// The granted scopes.
    pub scopes: Vec<String>,
    /// Whether a refresh token is held.
    pub has_refresh_token: bool,
}

fn options(
    scopes: Option<Vec<String>>,
    min_ttl: Option<f64>,
    force_refresh: Option<bool>,
) -> napi::Result<TokenOptions> {
    let min_ttl = match min_ttl {
        None => Duration::ZERO,
        Some(s) => tokenbroker::seconds_arg("token options, key 'minTtl'", s).map_err(to_napi)?,
    };
    Ok(TokenOptions {
        scopes,
        min_ttl,
        force_refresh: force_refresh.unwrap_or(false),
        rejected: None,
    })
}

/// The native broker; `node/lib` exposes it as `Broker`.
#[napi]
pub struct NativeBroker {
    inner: Broker,
}

#[napi]
impl NativeBroker {
    /// A broker over a config object of the same shape as the TOML file, or TOML text; without
    /// one, over the config file (`TOKENBROKER_CONFIG`, else the user's default), as in Python.
    #[napi(constructor)]
    pub fn new(config: Option<Value>) -> napi::Result<Self> {
        let config = match config {
            None | Some(Value::Null) => Config::discover(None),
            Some(Value::String(text)) => Config::from_toml_str(&text),
            Some(value) => Config::from_value(value),
        }
        .map_err(to_napi)?;
        Ok(Self {
            inner: Broker::new(config).map_err(to_napi)?,
        })
    }

    /// A broker over the config file (explicit path, `TOKENBROKER_CONFIG`, or the default).
    #[napi(factory)]
    pub fn from_config(path: Option<String>) -> napi::Result<Self> {
        let path = path.map(std::path::PathBuf::from);
        Ok(Self {
            inner: Broker::from_config_file(path.as_deref()).map_err(to_napi)?,
        })
    }

    /// A valid token: from memory, the shared tier, or the provider.
    #[napi(
        ts_return_type = "Promise<[accessToken: string, tokenType: string, header: string, expiresAtMs: number, id: number, ...scopes: string[]]>"
    )]
    pub async fn token(
        &self,
        profile: String,
        scopes: Option<Vec<String>>,
        min_ttl: Option<f64>,
        force_refresh: Option<bool>,
        rejected: Option<f64>,
    ) -> napi::Result<TokenData> {
        let mut opts = options(scopes, min_ttl, force_refresh)?;
        opts.rejected = rejected.map(|id| id as u64);
        let token = self.inner.token(&profile, &opts).await.map_err(to_napi)?;
        Ok(TokenData(token))
    }

    /// The token in memory, or null; synchronous, never does I/O.
    #[napi(
        ts_return_type = "[accessToken: string, tokenType: string, header: string, expiresAtMs: number, id: number, ...scopes: string[]] | null"
    )]
    pub fn cached_token(
        &self,
        profile: String,
        scopes: Option<Vec<String>>,
        min_ttl: Option<f64>,
    ) -> napi::Result<Option<TokenData>> {
        let opts = options(scopes, min_ttl, None)?;
        let token = self.inner.cached_token(&profile, &opts).map_err(to_napi)?;
        Ok(token.map(TokenData))
    }

    /// Like `cachedToken`, but answers `true` instead of the token when the cached token's
    /// id is `knownId`: the JS layer then reuses the object it converted last time.
    #[napi(
        ts_return_type = "true | [accessToken: string, tokenType: string, header: string, expiresAtMs: number, id: number, ...scopes: string[]] | null"
    )]
    pub fn cached_token_unless(
        &self,
        profile: String,
        scopes: Option<Vec<String>>,
        min_ttl: Option<f64>,
        known_id: Option<f64>,
    ) -> napi::Result<Option<Either<bool, TokenData>>> {
        let opts = options(scopes, min_ttl, None)?;
        let token = self.inner.cached_token(&profile, &opts).map_err(to_napi)?;
        Ok(token.map(|t| known(t, known_id)))
    }

    /// The warm path of `profile` (its own scopes, no `minTtl`): a function that answers
    /// `true` while the cached token is the one it returned last, else that token or null.
    #[napi(
        ts_return_type = "() => true | [accessToken: string, tokenType: string, header: string, expiresAtMs: number, id: number, ...scopes: string[]] | null"
    )]
    pub fn warm(&self, profile: String) -> napi::Result<warm::WarmFn> {
        let handle = self.inner.profile_handle(&profile).map_err(to_napi)?;
        Ok(warm::WarmFn(handle))
    }

    /// The broker's counters as a plain object.
    #[napi]
    pub fn stats<'env>(&self, env: &'env Env) -> napi::Result<Object<'env>> {
        let mut obj = Object::new(env)?;
        for (name, value) in self.inner.stats().fields() {
            obj.set(name, value)?;
        }
        Ok(obj)
    }

    /// Names of the configured profiles, sorted.
    #[napi]
    pub fn profile_names(&self) -> Vec<String> {
        self.inner.profile_names()
    }

    /// Forgets every cached token, in memory and in the shared tier.
    #[napi]
    pub async fn clear_cache(&self) -> napi::Result<()> {
        self.inner.clear_cache().await.map_err(to_napi)
    }

    /// Forgets `profile`'s cached token and stored refresh token.
    #[napi]
    pub async fn forget(&self, profile: String) -> napi::Result<()> {
        self.inner.forget(&profile).await.map_err(to_napi)
    }

    /// Signs out: revokes the stored refresh token where the provider can (RFC 7009), then
    /// forgets the profile's tokens here even if revocation failed. Whether a token was revoked.
    #[napi]
    pub async fn logout(&self, profile: String) -> napi::Result<bool> {
        self.inner.logout(&profile).await.map_err(to_napi)
    }

    /// Entries of the shared tier, without secrets.
    #[napi]
    pub async fn cache_entries(&self) -> napi::Result<Vec<CacheEntry>> {
        let entries = self.inner.cache_entries().await.map_err(to_napi)?;
        Ok(entries
            .into_iter()
            .map(|e| CacheEntry {
                key: e.key,
                expires_at: e
                    .expires_at
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_millis() as f64)
                    .unwrap_or(0.0),
                scopes: e.scopes,
                has_refresh_token: e.has_refresh_token,
            })
            .collect())
    }

    /// Authorization code sign-in through the browser and a loopback listener.
    #[napi(
        ts_return_type = "Promise<[accessToken: string, tokenType: string, header: string, expiresAtMs: number, id: number, ...scopes: string[]]>"
    )]
    pub async fn login(
        &self,
        profile: String,
        open_browser: Option<bool>,
        timeout: Option<f64>,
        scopes: Option<Vec<String>>,
        on_url: Option<ThreadsafeFunction<String, napi::Unknown<'static>, String, Status, false>>,
    ) -> napi::Result<TokenData> {
        let mut opts = LoginOptions {
            scopes,
            ..LoginOptions::default()
        };
        if let Some(open) = open_browser {
            opts.open_browser = open;
        }
        match timeout {
            None => {}
            Some(s) if s > 0.0 => {
                opts.timeout =
                    tokenbroker::seconds_arg("login options, key 'timeout'", s).map_err(to_napi)?
            }
            Some(_) => {
                return Err(config_error(
                    "login options, key 'timeout'",
                    "must be a positive number of seconds",
                ));
            }
        }
        if let Some(callback) = on_url {
            let callback = Arc::new(callback);
            opts.on_url = Some(Arc::new(move |url: &str| {
                callback.call(url.to_owned(), ThreadsafeFunctionCallMode::NonBlocking);
            }));
        }
        let token = self.inner.login(&profile, &opts).await.map_err(to_napi)?;
        Ok(TokenData(token))
    }

    /// Device authorization sign-in; `on_code` is told what to show the user.
    #[napi(
        ts_return_type = "Promise<[accessToken: string, tokenType: string, header: string, expiresAtMs: number, id: number, ...scopes: string[]]>"
    )]
    pub async fn device_login(
        &self,
        profile: String,
        scopes: Option<Vec<String>>,
        on_code: Option<
            ThreadsafeFunction<DeviceCode, napi::Unknown<'static>, DeviceCode, Status, false>,
        >,
    ) -> napi::Result<TokenData> {
        let token = self
            .inner
            .device_login(&profile, scopes, |auth| {
                if let Some(callback) = &on_code {
                    callback.call(auth.into(), ThreadsafeFunctionCallMode::NonBlocking);
                }
            })
            .await
            .map_err(to_napi)?;
        Ok(TokenData(token))
    }

    /// Starts a sign-in whose browser step the app runs itself.
    #[napi]
    pub async fn begin_login(
        &self,
        profile: String,
        redirect_uri: String,
        scopes: Option<Vec<String>>,
    ) -> napi::Result<PendingLogin> {
        let pending = self
            .inner
            .begin_login(&profile, &redirect_uri, scopes)
            .await
            .map_err(to_napi)?;
        Ok(PendingLogin { inner: pending })
    }

    /// Completes a sign-in from the redirect URL, or from a `form_post` body.
    #[napi(
        ts_return_type = "Promise<[accessToken: string, tokenType: string, header: string, expiresAtMs: number, id: number, ...scopes: string[]]>"
    )]
    pub async fn complete_login(
        &self,
        pending: &PendingLogin,
        redirect: Either<String, Buffer>,
    ) -> napi::Result<TokenData> {
        let pending = pending.inner.clone();
        let token = match redirect {
            Either::A(url) => self.inner.complete_login(&pending, &url).await,
            Either::B(body) => self.inner.complete_login_form(&pending, &body).await,
        };
        Ok(TokenData(token.map_err(to_napi)?))
    }

    /// Registers a client at the profile's provider (RFC 7591, or Alvaria's API).
    #[napi]
    pub async fn register_client(
        &self,
        profile: String,
        metadata_json: Value,
        initial_access_token: Option<String>,
    ) -> napi::Result<RegisteredClientData> {
        let md = metadata(metadata_json)?;
        let iat = initial_access_token.map(Secret::new);
        let client = self
            .inner
            .register_client(&profile, &md, iat.as_ref())
            .await
            .map_err(to_napi)?;
        Ok(client.into())
    }

    /// Reads a client's registration.
    #[napi]
    pub async fn read_client(
        &self,
        profile: String,
        client_id: String,
    ) -> napi::Result<RegisteredClientData> {
        let client = self
            .inner
            .read_client(&profile, &client_id)
            .await
            .map_err(to_napi)?;
        Ok(client.into())
    }

    /// Replaces a client's metadata.
    #[napi]
    pub async fn update_client(
        &self,
        profile: String,
        client_id: String,
        metadata_json: Value,
    ) -> napi::Result<RegisteredClientData> {
        let md = metadata(metadata_json)?;
        let client = self
            .inner
            .update_client(&profile, &client_id, &md)
            .await
            .map_err(to_napi)?;
        Ok(client.into())
    }

    /// Deletes a client.
    #[napi]
    pub async fn delete_client(&self, profile: String, client_id: String) -> napi::Result<()> {
        self.inner
            .delete_client(&profile, &client_id)
            .await
            .map_err(to_napi)
    }

    /// Lists the clients of the profile's organisation (Alvaria).
    #[napi]
    pub async fn list_clients(&self, profile: String) -> napi::Result<Vec<RegisteredClientData>> {
        let clients = self.inner.list_clients(&profile).await.map_err(to_napi)?;
        Ok(clients.into_iter().map(Into::into).collect())
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

/// `true` when `token` is the one the JS layer already converted, else the token's data.
fn known(token: AccessToken, known_id: Option<f64>) -> Either<bool, TokenData> {
    if known_id == Some(token.id() as f64) {
        Either::A(true)
    } else {
        Either::B(TokenData(token))
    }
}
